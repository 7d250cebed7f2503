/* The plan executor: builds a plan's program for a device and enqueues its
 * launches. Parameters, gradients and optimiser state are one allocation each
 * (model_state), shared by the training and evaluation plans. */
#ifndef QSDC_EXECUTOR_H
#define QSDC_EXECUTOR_H

#include "cl_runtime.h"
#include "codegen_target.h"
#include "plan.h"

typedef struct model_state {
    cl_mem P, G, S;
    int64_t n_params, n_state;
} model_state;

/* Allocates P, G and S (G and S zeroed; n_state may be 0). */
int model_state_create(cl_env *env, int64_t n_params, int64_t n_state, model_state *ms,
                       qsdc_error *err);
void model_state_free(model_state *ms);
int model_state_write(cl_env *env, model_state *ms, const float *params,
                      const float *state, qsdc_error *err);
int model_state_read(cl_env *env, const model_state *ms, float *params, float *state,
                     qsdc_error *err);

/* Fails, naming the bytes and the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE or
 * CL_DEVICE_GLOBAL_MEM_SIZE, when plans (sharing plans[0]'s model_state)
 * need an allocation or a total the device cannot hold: checked before
 * anything is allocated. */
int exec_check_memory(const cl_device_info_rec *dev, const plan *const *plans, int n_plans,
                      qsdc_error *err);

typedef struct executor {
    cl_env *env;
    const plan *p;
    cl_program program;
    cl_kernel *kernels;   /* one per launch */
    cl_mem A, L;
    cl_mem bufs[BUF_COUNT]; /* P, G, S, A, L as the plan numbers them */
    bool cache_hit;
    bool from_binary;     /* loaded from a prebuilt program binary */
    bool timing;          /* QSDC_DEBUG=kernels: time each launch */
    double *launch_ms;    /* accumulated per launch when timing */
    int64_t runs;
    cl_int fault;         /* the OpenCL error a step call failed with, or 0 */
    /* test-only fault injection: QSDC_TEST_LOSE_DEVICE_AT_STEP=N makes a
     * training plan's exec_run of step N fail as a lost device would
     * (CL_DEVICE_NOT_AVAILABLE); -1 = never */
    int64_t lose_at_step;
    uint32_t sample0;     /* global index of the batch's first sample (0) */
    /* plan_update_launch: launches before it compute the step's gradient,
     * it and those after apply it (-1 in plans without an update) */
    int update_launch;
    /* on a device that cuts loops short (loop_guard.h): the guard's flag
     * buffer, read after each run; NULL elsewhere */
    cl_mem loop_flag;
    uint32_t loop_limit;
} executor;

/* What code generation specialises for on this device. */
void exec_target(const cl_device_info_rec *dev, codegen_target *t);

int exec_create(cl_env *env, const plan *p, model_state *ms, executor *ex,
                qsdc_error *err);
/* The same with the program loaded from a prebuilt binary file (the FPGA
 * flow) instead of built from the plan's source; binary may be NULL, and
 * then the plan's own binary (a bundle's), if it has one, is used. */
int exec_create_from(cl_env *env, const plan *p, model_state *ms, const char *binary,
                     executor *ex, qsdc_error *err);
void exec_destroy(executor *ex);
/* Copies one batch in: input (plan->input_elems floats; an int32 input's
 * token ids as exact floats, each below 2^24) and labels (plan->label_elems
 * ints: one per sample, or per sample and step for a sequence output; may be
 * NULL for inference plans). */
int exec_set_batch(executor *ex, const float *x, const int32_t *labels, qsdc_error *err);
/* The same without waiting: x and labels must stay unchanged until *done
 * (which the caller releases) has completed. */
int exec_set_batch_async(executor *ex, const float *x, const int32_t *labels, cl_event *done,
                         qsdc_error *err);
/* Enqueues every launch of the plan for this step. */
int exec_run(executor *ex, uint32_t seed, uint32_t step, float lr, qsdc_error *err);
/* Enqueues launches [first, end) only: data parallelism runs a step in two
 * parts around update_launch, summing the gradients in between. */
int exec_run_launches(executor *ex, int first, int end, uint32_t seed, uint32_t step,
                      float lr, qsdc_error *err);
/* Enqueues C (+)= op(A) op(B) with CLBlast on the executor's buffers. */
int exec_clblast_gemm(executor *ex, const plan_gemm *g, cl_event *ev, qsdc_error *err);
/* Wall milliseconds of launch i alone: the best of reps runs after one
 * warm-up, with the kernel arguments the last exec_run set. */
double exec_launch_ms(executor *ex, int i, int reps, qsdc_error *err);
/* Blocking read of n arena floats at offset. */
int exec_read_arena(executor *ex, int64_t offset, int64_t n, float *dst, qsdc_error *err);
/* The same without waiting: dst is filled when *done (which the caller
 * releases) has completed; the queue is flushed so that the device works
 * through everything enqueued meanwhile. */
int exec_read_arena_async(executor *ex, int64_t offset, int64_t n, float *dst, cl_event *done,
                          qsdc_error *err);

#endif
