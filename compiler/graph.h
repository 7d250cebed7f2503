/* The graph IR: tensors with static shapes and primitive ops in topological
 * order. The model lowers into it (forward), autodiff appends the backward
 * and optimiser nodes, fusion groups its nodes into kernels. */
#ifndef QSDC_GRAPH_H
#define QSDC_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "strbuf.h"

typedef enum tensor_kind {
    T_INPUT,  /* one batch of samples, written by the host */
    T_LABEL,  /* int class per sample (separate int buffer) */
    T_PARAM,  /* lives in the single parameter allocation */
    T_GRAD,   /* gradient of a parameter: the single gradient allocation */
    T_ACT,    /* activation or activation gradient: the arena */
    T_LOSS,   /* per-sample loss, in the arena, read by the host */
} tensor_kind;

typedef struct tensor {
    char name[2 * QSDC_NAME_MAX];
    tensor_kind kind;
    int rank;
    int64_t dims[QSDC_MAX_RANK]; /* dims[0] is the batch for T_INPUT/T_ACT */
    int64_t nelem;
    int alias;        /* >= 0: a view (flatten) sharing that tensor's memory */
    int grad;         /* for a T_PARAM: its T_GRAD tensor, else -1 */
    init_kind init;   /* for a T_PARAM */
    int64_t fan_in, fan_out;
    int64_t offset;   /* elements into its buffer; set by the planner */
    bool observed;    /* kept in memory to the end of the pass and host-visible */
    bool running_stat; /* a T_PARAM its forward node updates, not the optimiser
                          (batchnorm's running statistics): no gradient */
} tensor;

#define GRAPH_MAX_INPUTS 5

/* A 2-D window over [N, C, H, W] maps (conv2d's im2col, pooling):
 * out = (in + 2 pad - dil (k - 1) - 1) / stride + 1 per dimension. */
typedef struct window2d {
    int kh, kw, sh, sw, ph, pw, dh, dw;
} window2d;

typedef enum op_kind {
    OP_MATMUL,        /* out[M,N] (+)= op(a)[M,K] op(b)[K,N] */
    OP_BIAS_ADD,      /* out[M,N] = a[M,N] + b[N] */
    OP_RELU, OP_TANH, OP_SIGMOID,
    OP_ADD,           /* out = a + b, same shape */
    OP_MUL,           /* out = a * b, same shape */
    OP_QSD,           /* out = m * a; m from (seed, rng_id, step); also dropout */
    OP_SOFTMAX,       /* row-wise over the last dim */
    OP_SOFTMAX_XENT,  /* loss[M] from logits a[M,N] and labels b[M] */
    OP_MSE,           /* loss[M] from a[M,N] and one-hot of labels b[M] */
    /* conv2d, pooling, batchnorm. A tensor's channel is dims[1] and its
     * "pixels" the dims after it (none for [N, C]). */
    OP_IM2COL,        /* out[N, C kh kw, Ho Wo] from a[N,C,H,W] (win) */
    OP_BMATMUL,       /* out_n (+)= op(a_n) op(b_n) per sample n: activations are
                         [N] matrices [dims[1], rest], parameters and gradients
                         one matrix [dims[0], rest] shared by all n; a
                         parameter-shaped out sums over n */
    OP_CONV2D,        /* out[N,Co,Ho,Wo] = a[N,C,H,W] convolved with b[Co,C,kh,kw]
                         directly (win); im2col + bmatmul where the target
                         chose it (conv_direct.c); mask: the col tensor the
                         backward recomputes for the weight gradient */
    OP_CHANNEL_BIAS,  /* out = a + b[channel] */
    OP_MAXPOOL,       /* out[N,C,Ho,Wo] = window max of a (win); in training
                         mask receives each max's index in its H x W plane */
    OP_AVGPOOL,       /* out[N,C,Ho,Wo] = window sum of a / (kh kw) (win) */
    OP_BN_STATS,      /* out[2,C] = batch mean and (biased) variance of
                         a per channel; updates the running statistics b[2,C]
                         (mean, variance) with momentum */
    OP_BN_APPLY,      /* out = (a - b[0,c]) / sqrt(b[1,c] + eps) * c[0,c] + c[1,c]:
                         b = batch or running statistics, c = (gamma, beta) */
    OP_QSD_DRAW,      /* out[N,C]: one QSD mask per (sample, channel) group
                         (qsd, rng_id), no inputs: share: channel in training */
    OP_GROUP_SCALE,   /* out[N,C,H,W] = a * b[n, c]: applies drawn masks, and is
                         their backward */
    /* backward */
    OP_RELU_GRAD,     /* out = a * (b > 0), b = relu output */
    OP_TANH_GRAD,     /* out = a * (1 - b^2), b = tanh output */
    OP_SIGMOID_GRAD,  /* out = a * b * (1 - b), b = sigmoid output */
    OP_SOFTMAX_GRAD,  /* out = b * (a - sum(a*b)), b = softmax output */
    OP_XENT_GRAD,     /* out = (softmax(a) - onehot(b)) / M */
    OP_MSE_GRAD,      /* out = 2 (a - onehot(b)) / (M N) */
    OP_SUM_ROWS,      /* out[N] (+)= sum over rows of a[M,N] */
    OP_COL2IM,        /* out[N,C,H,W] = sum of the a[N, C kh kw, Ho Wo] entries
                         im2col copied each element to (win) */
    OP_SUM_CHANNELS,  /* out[C] = sum of a over all but the channel */
    OP_MAXPOOL_GRAD,  /* out[N,C,H,W]: a[N,C,Ho,Wo] routed to each window's
                         max, whose index the forward stored in b */
    OP_AVGPOOL_GRAD,  /* out[N,C,H,W]: a[N,C,Ho,Wo] / (kh kw) over the windows */
    OP_BN_GRAD_STATS, /* out[2,C] = (sum a xhat, sum a): gamma's and beta's
                         gradients from dy = a, x = b, batch statistics c */
    OP_BN_GRAD_INPUT, /* out = dx of OP_BN_APPLY in training from dy = a, x = b,
                         statistics c, (gamma, beta) d, their gradients e */
    /* recurrent networks (lower_rnn.c, codegen_rnn.c) */
    OP_EMBED,         /* out[B,T,D] = b[a[r]] rows; a: ids [B,T] as floats, b [V,D] */
    OP_EMBED_GRAD,    /* out[V,D] = sum of a[r,:] over rows r with ids b[r] = v */
    OP_LSTM,          /* out h[B,T,H] from gate inputs a[B*T,4H] and b = U[H,4H];
                         mask: saved [B*T*5H + 4H*H]: i, f, g, o, c per
                         step as [B,T,5H], then U^T [4H,H]; then the carry
                         when stateful, then the token ids when padded */
    OP_LSTM_GRAD,     /* out d gates[B*T,4H] from in dh[B,T,H], saved, U, ids */
    OP_SEQ_SHIFT,     /* out[B*T,H] = a[B,T,H] one step later: h_{t-1}, 0 at t = 0 */
    OP_SEQ_POOL,      /* out[B,H] = last step or mean over time of a[B,T,H],
                         of its real steps when the token ids follow */
    OP_SEQ_POOL_GRAD, /* out[B,T,H] from dy[B,H], ids */
    /* optimiser: one node updates the whole parameter allocation */
    OP_UPDATE,
    OP_KIND_COUNT
} op_kind;

typedef struct gnode {
    op_kind op;
    int in[GRAPH_MAX_INPUTS];
    int n_in;
    int out;
    int layer;        /* model layer it came from, -1 when none */
    bool trans_a, trans_b, accumulate;
    qsd_params qsd;   /* OP_QSD */
    uint32_t rng_id;  /* OP_QSD: the node's key */
    int mask;         /* OP_QSD in training: tensor that receives m for the
                         backward, 0 for none (tensor 0 is the input);
                         OP_CONV2D: its im2col tensor for the backward;
                         OP_LSTM: its second output; OP_MAXPOOL: the argmax */
    /* OP_QSD, OP_QSD_DRAW with hetero: unit: the arena offset of the
     * step's per-unit release probabilities [units] and gains [units] that
     * its element draws read (codegen_qsd_units places them) */
    int64_t unit_params;
    seq_mode seq;     /* OP_SEQ_POOL(_GRAD): SEQ_LAST or SEQ_MEAN */
    window2d win;     /* OP_IM2COL, OP_CONV2D, OP_COL2IM, pooling and their gradients */
    double eps, momentum; /* batchnorm */
} gnode;

typedef enum graph_mode { MODE_INFER, MODE_TRAIN } graph_mode;

/* What a training graph's last nodes compute: the loss and the optimiser
 * with its settings, and the schedule of the rate the update is given,
 * copied from the model's train: section at lowering so that the passes
 * after it (autodiff, the update's code, the plan) read the graph, not the
 * front end's model. The data stays the runtime's, read from the model. */
typedef struct graph_train {
    loss_kind loss;
    optim_kind optimizer;
    double momentum;          /* sgd */
    bool nesterov;            /* sgd */
    double beta1, beta2, eps; /* adam(w) */
    double weight_decay;      /* L2 for sgd/adam, decoupled for adamw */
    double clip_norm;         /* global-norm clipping, 0 = off */
    lr_schedule schedule;
} graph_train;

typedef struct graph {
    tensor *t;
    int nt, t_cap;
    gnode *n;
    int nn, n_cap;
    graph_mode mode;
    int64_t batch;
    int input, label, output, loss; /* tensor ids, -1 when absent */
    int n_forward;    /* nodes [0, n_forward) are the forward pass */
    /* parameters: the trainable ones first, grad_elems of them, then the
     * running statistics (param_elems in all) */
    int64_t param_elems, grad_elems, state_elems;
    graph_train train;
} graph;

void graph_init(graph *g, graph_mode mode, int64_t batch);
void graph_free(graph *g);
/* Adds a tensor and returns its id, or -1 on allocation failure. */
int graph_add_tensor(graph *g, const char *name, tensor_kind kind, int rank,
                     const int64_t *dims);
int graph_add_node(graph *g, const gnode *n);
/* Adds out = op(a) or op(a, b) (b < 0: unary) from model layer `layer` (-1:
 * none); returns the node id or -1. */
int graph_add_op(graph *g, op_kind op, int a, int b, int out, int layer);
const char *op_kind_name(op_kind k);
/* The memory a tensor lives in (resolving views). */
int graph_storage(const graph *g, int t);
/* The token ids [B,T] whose padding steps (QSDC_PAD_ID) a sequence node
 * skips: the model input when it is one of n's inputs after the first,
 * else -1. */
int graph_pad_ids(const graph *g, const gnode *n);

/* Lowers a validated model for mode and batch: shapes inferred, every shape
 * mismatch reported at the layer's file:line:col. */
int graph_lower(const model *m, graph_mode mode, int64_t batch, graph *g,
                qsdc_error *err);
/* Appends loss, backward and optimiser nodes (MODE_TRAIN graphs). */
int graph_autodiff(graph *g, qsdc_error *err);
/* Human-readable IR with shapes, for --dump-graph. */
void graph_dump(const graph *g, strbuf *out);

#endif
