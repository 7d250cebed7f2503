/* Fusion: groups graph nodes into kernels. A group is a producer (GEMM,
 * elementwise op, row-wise op, column sum, optimiser update) followed by a
 * chain of elementwise ops that consume its value in registers. Tensors that
 * nobody outside the group reads are never written to memory. */
#ifndef QSDC_FUSION_H
#define QSDC_FUSION_H

#include "graph.h"

typedef enum group_kind {
    GROUP_GEMM,        /* matmul + elementwise epilogue; or a convolution's
                          im2col + per-sample GEMM + epilogue, or its input
                          gradient's per-sample GEMM + col2im + chain, run
                          sample by sample in one kernel */
    GROUP_CONV,        /* direct convolution + elementwise epilogue */
    GROUP_ELEMENTWISE, /* elementwise chain over one tensor */
    GROUP_ROWS,        /* softmax, loss and its gradient: one row per work-item */
    GROUP_SUM_ROWS,    /* bias gradient: one column per work-item */
    GROUP_UPDATE,      /* optimiser step over the whole parameter allocation */
    GROUP_SEQUENCE,    /* one recurrent-network node (codegen_rnn.c) */
    GROUP_WINDOW,      /* im2col, col2im, pooling and its gradients, shared QSD
                          mask draws: one output row per work-item, +
                          elementwise chain */
    GROUP_CHANNELS,    /* per-channel reductions: one channel per work-item */
} group_kind;

/* A group's nodes are consecutive in graph order: chains of any length. */
typedef struct kgroup {
    group_kind kind;
    const int *nodes;  /* n node indices, into fusion.members */
    int n;
} kgroup;

typedef struct fusion {
    kgroup *groups;
    int n_groups;
    int *members;      /* node indices, group after group */
    int *group_of;     /* node -> group */
    bool *stored;      /* tensor -> written to memory */
    int *last_use;     /* storage tensor -> last group reading it, -1 if none */
} fusion;

/* Groups g's nodes into kernels. join_conv: a conv's im2col and its
 * per-sample GEMM (and an input gradient's GEMM and col2im) form one group
 * run one work-item a sample; off for devices that cut long loops short,
 * where the GEMM then runs as blocks of its own (codegen_gemm). */
int graph_fuse(const graph *g, bool join_conv, fusion *f, qsdc_error *err);
void fusion_free(fusion *f);
bool op_is_elementwise(op_kind op);

#endif
