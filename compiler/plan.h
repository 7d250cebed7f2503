/* A compiled plan: the OpenCL C source of every kernel and the ordered
 * launches that run one pass (inference, or one training step). Every kernel
 * has the same signature, so the executor needs nothing but this record:
 *
 *   __kernel void NAME(__global float *P,  // parameters (one allocation)
 *                      __global float *G,  // their gradients (one allocation)
 *                      __global float *S,  // optimiser state (one allocation)
 *                      __global float *A,  // arena: activations, inputs, loss
 *                      __global const int *L, // labels of the batch
 *                      const uint seed, const uint step, const float lr,
 *                      const uint sample0) // global index of the batch's
 *                                          // first sample (data parallelism)
 *
 * Offsets and shapes are compile-time constants inside the kernels. QSD
 * masks are keyed by global sample index: a plan for a shard of the global
 * batch draws the masks the whole-batch plan draws for those samples. */
#ifndef QSDC_PLAN_H
#define QSDC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

#define QSDC_KERNEL_ARGS 9

enum plan_buffer { BUF_P, BUF_G, BUF_S, BUF_A, BUF_L, BUF_COUNT };

/* A matrix multiply C[m,n] (+)= op(A)[m,k] op(B)[k,n] over plan buffers,
 * row-major, offsets and leading dimensions in elements. Own GEMM kernels
 * carry it for tuning; CLBlast launches are nothing else. */
typedef struct plan_gemm {
    int64_t m, n, k;
    int trans_a, trans_b;
    int a_buf, b_buf, c_buf;       /* enum plan_buffer */
    int64_t a_off, b_off, c_off;
    int64_t lda, ldb, ldc;
    int accumulate;                /* beta = 1 */
    /* a per-sample product's samples, over which the tuner measures it as
     * independent products side by side, as the batch runs them (up to 4
     * per compute unit: gemm_select.c); 0 for a plain product */
    int64_t batch;
} plan_gemm;

enum launch_kind { LAUNCH_KERNEL, LAUNCH_CLBLAST_GEMM };

typedef struct plan_launch {
    int kind;            /* enum launch_kind */
    plan_gemm gemm;      /* m > 0 for GEMMs of either kind */
    char kernel[QSDC_NAME_MAX];
    int work_dim;
    uint64_t global[3];
    uint64_t local[3];   /* all zero: the runtime picks */
    /* the global work offset: nonzero in the second and later of a run of
     * launches of one kernel that each do a slice of its work (an lstm's
     * time steps on a device that cuts long loops short) */
    uint64_t offset[3];
    double flops;        /* for profiles */
    double bytes;
    char nodes[256];     /* which graph nodes it runs, for reports */
} plan_launch;

typedef struct plan_tensor {
    char name[2 * QSDC_NAME_MAX];
    int buffer;          /* enum plan_buffer */
    int64_t offset;      /* elements */
    int64_t nelem;
    int rank;
    int64_t dims[QSDC_MAX_RANK];
    init_kind init;      /* parameters only */
    int64_t fan_in, fan_out;
} plan_tensor;

/* One region a --check-finite scan reads after a training step: a node's
 * output, in launch order, named as --dump-graph names it. */
typedef enum probe_phase { PROBE_INPUT, PROBE_FORWARD, PROBE_LOSS, PROBE_GRADIENT,
                           PROBE_UPDATE } probe_phase;

typedef struct plan_probe {
    char tensor[2 * QSDC_NAME_MAX];  /* "dense4.matmul", "d.relu2", "dense1.weight" */
    char op[32];                     /* the node's op ("matmul"), "input" */
    char layer[QSDC_NAME_MAX];       /* its model layer, "" when none */
    int phase;                       /* enum probe_phase */
    int buffer;                      /* enum plan_buffer */
    int64_t offset, nelem;
} plan_probe;

typedef struct plan {
    char name[QSDC_NAME_MAX];
    char *source;        /* kernels.cl, self-contained OpenCL 1.2 C */
    /* the codegen_target facts the source was generated for, so that a
     * bundle's plan can be compiled again from its model and compared */
    bool target_cpu;
    unsigned target_vector_width;
    uint32_t target_loop_limit;  /* codegen_target.loop_limit, 0: none */
    /* codegen_target.gemm_tiles (items_m, items_n, block_m, block_n, k),
     * all 0 for the panel family */
    int64_t target_gemm_tiles[5];
    bool target_gemm_direct;  /* gemm_tiles.direct */
    /* a GPU's compute units, which the tiled family's products are split
     * to fill (gemm_tuning.lane_groups); 0 for other devices and the panel
     * family */
    unsigned target_compute_units;
    /* source built for one device (--emit-binary), NULL when there is none */
    unsigned char *binary;
    size_t binary_len;
    plan_launch *launches;
    int n_launches;
    plan_tensor *tensors; /* every tensor the host may touch */
    int n_tensors;
    int64_t batch;
    int64_t param_elems, grad_elems, state_elems, arena_elems, label_elems;
    /* arena offsets the host uses: input batch, output, per-sample loss */
    int64_t input_offset, input_elems;
    int64_t output_offset, output_elems;
    int64_t loss_offset;  /* -1 in inference plans */
    lr_schedule schedule; /* training plans: the graph's (graph_train) */
    /* compile report */
    int nodes_before_fusion, kernels;
    int64_t arena_unplanned_elems, arena_live_peak_elems;
    /* with codegen_target.observe_all: every node's output, in launch order */
    plan_probe *probes;
    int n_probes;
} plan;

void plan_free(plan *p);
/* Index of the tensor called name, or -1. */
int plan_find_tensor(const plan *p, const char *name);

/* The nodes text of the optimiser's launches (gradient-norm clipping, then
 * the update): they read the whole gradient of the step. */
#define PLAN_NODES_CLIP "clip_norm"
#define PLAN_NODES_UPDATE "update"
/* Index of the first launch that reads the finished gradient (where data
 * parallelism sums it across replicas), or -1 in plans without an update. */
int plan_update_launch(const plan *p);

#endif
