#include "fusion.h"

#include <stdlib.h>
#include <string.h>

bool op_is_elementwise(op_kind op)
{
    switch (op) {
    case OP_BIAS_ADD: case OP_RELU: case OP_TANH: case OP_SIGMOID: case OP_ADD: case OP_MUL:
    case OP_QSD: case OP_RELU_GRAD: case OP_TANH_GRAD: case OP_SIGMOID_GRAD:
    case OP_CHANNEL_BIAS: case OP_BN_APPLY: case OP_BN_GRAD_INPUT: case OP_GROUP_SCALE:
        return true;
    default:
        return false;
    }
}

static group_kind producer_kind(op_kind op)
{
    switch (op) {
    case OP_MATMUL: case OP_BMATMUL: return GROUP_GEMM;
    case OP_CONV2D: return GROUP_CONV;
    case OP_IM2COL: case OP_COL2IM: case OP_MAXPOOL: case OP_AVGPOOL:
    case OP_MAXPOOL_GRAD: case OP_AVGPOOL_GRAD: case OP_QSD_DRAW:
        return GROUP_WINDOW;
    case OP_SUM_CHANNELS: case OP_BN_STATS: case OP_BN_GRAD_STATS:
        return GROUP_CHANNELS;
    case OP_SOFTMAX: case OP_SOFTMAX_XENT: case OP_MSE: case OP_XENT_GRAD:
    case OP_MSE_GRAD: case OP_SOFTMAX_GRAD:
        return GROUP_ROWS;
    case OP_SUM_ROWS: return GROUP_SUM_ROWS;
    case OP_UPDATE: return GROUP_UPDATE;
    case OP_EMBED: case OP_EMBED_GRAD: case OP_LSTM: case OP_LSTM_GRAD: case OP_SEQ_SHIFT:
    case OP_SEQ_POOL: case OP_SEQ_POOL_GRAD:
        return GROUP_SEQUENCE;
    default: return GROUP_ELEMENTWISE;
    }
}

static bool produced_in(const graph *g, const kgroup *k, int t)
{
    t = graph_storage(g, t);
    for (int i = 0; i < k->n; i++)
        if (graph_storage(g, g->n[k->nodes[i]].out) == t)
            return true;
    return false;
}

/* Can node n extend group k, taking the group's current value in registers? */
static bool can_chain(const graph *g, const kgroup *k, const gnode *n)
{
    if (!op_is_elementwise(n->op))
        return false;
    const gnode *tail = &g->n[k->nodes[k->n - 1]];
    if (k->kind == GROUP_GEMM && g->n[k->nodes[0]].accumulate)
        return false;
    /* a GEMM or convolution kernel stores only its epilogue's result */
    if ((k->kind == GROUP_GEMM || k->kind == GROUP_CONV) && producer_kind(tail->op) == k->kind &&
        g->t[tail->out].observed)
        return false;
    if (k->kind != GROUP_GEMM && k->kind != GROUP_ELEMENTWISE && k->kind != GROUP_WINDOW &&
        k->kind != GROUP_CONV)
        return false;
    if (n->in[0] != tail->out || g->t[tail->out].alias >= 0)
        return false;
    for (int j = 1; j < n->n_in; j++)
        if (produced_in(g, k, n->in[j]))
            return false;
    return g->t[n->out].nelem == g->t[tail->out].nelem;
}

/* A convolution's per-sample GEMM and the im2col before it (n the GEMM), or
 * the input gradient's GEMM and the col2im after it (n the col2im): one
 * kernel that runs both for a sample in turn, the col matrix between them
 * still in cache (codegen_window_phase). */
static bool can_join_conv(const graph *g, const kgroup *k, const gnode *n)
{
    const gnode *head = &g->n[k->nodes[0]];
    /* one work-group per sample needs samples: a batch of one stays apart */
    if (k->n != 1 || g->t[head->out].alias >= 0 || g->t[head->out].dims[0] < 2)
        return false;
    if (head->op == OP_IM2COL && n->op == OP_BMATMUL)
        return n->in[1] == head->out && !n->trans_a && !n->trans_b && !n->accumulate &&
               g->t[n->in[0]].kind == T_PARAM && g->t[n->out].kind == T_ACT;
    if (head->op == OP_BMATMUL && n->op == OP_COL2IM)
        return n->in[0] == head->out && head->trans_a && !head->accumulate &&
               g->t[head->out].kind == T_ACT && g->t[head->in[1]].kind == T_ACT;
    return false;
}

/* A row-wise loss and its gradient read the same logits: one kernel. */
static bool can_pair_rows(const graph *g, const kgroup *k, const gnode *n)
{
    const gnode *head = &g->n[k->nodes[0]];
    return k->kind == GROUP_ROWS && k->n == 1 &&
           ((head->op == OP_SOFTMAX_XENT && n->op == OP_XENT_GRAD) ||
            (head->op == OP_MSE && n->op == OP_MSE_GRAD)) &&
           head->in[0] == n->in[0];
}

int graph_fuse(const graph *g, bool join_conv, fusion *f, qsdc_error *err)
{
    memset(f, 0, sizeof *f);
    f->groups = calloc((size_t)g->nn, sizeof *f->groups);
    f->members = malloc((size_t)g->nn * sizeof *f->members);
    f->group_of = malloc((size_t)g->nn * sizeof *f->group_of);
    f->stored = calloc((size_t)g->nt, sizeof *f->stored);
    f->last_use = malloc((size_t)g->nt * sizeof *f->last_use);
    if (!f->groups || !f->members || !f->group_of || !f->stored || !f->last_use) {
        fusion_free(f);
        return qsdc_fail(err, "out of memory");
    }
    for (int i = 0; i < g->nn; i++) {
        const gnode *n = &g->n[i];
        kgroup *cur = f->n_groups ? &f->groups[f->n_groups - 1] : NULL;
        if (cur && join_conv && can_join_conv(g, cur, n)) {
            cur->kind = GROUP_GEMM;
        } else if (!cur || !(can_chain(g, cur, n) || can_pair_rows(g, cur, n))) {
            cur = &f->groups[f->n_groups++];
            cur->kind = producer_kind(n->op);
            cur->nodes = &f->members[i];
        }
        f->members[i] = i;
        cur->n++;
        f->group_of[i] = f->n_groups - 1;
    }
    /* A tensor is stored when read outside its group, or when it is the
     * group's result, the model output or the loss. */
    for (int t = 0; t < g->nt; t++)
        f->last_use[t] = -1;
    for (int i = 0; i < g->nn; i++) {
        const gnode *n = &g->n[i];
        for (int j = 0; j < n->n_in; j++) {
            int s = graph_storage(g, n->in[j]);
            int gi = f->group_of[i];
            if (gi > f->last_use[s])
                f->last_use[s] = gi;
            if (!produced_in(g, &f->groups[gi], s))
                f->stored[s] = true;
        }
    }
    for (int k = 0; k < f->n_groups; k++) {
        const kgroup *grp = &f->groups[k];
        int out = g->n[grp->nodes[grp->n - 1]].out;
        if (out >= 0)
            f->stored[graph_storage(g, out)] = true;
        /* an lstm's saved state is a second output, always written */
        int second = g->n[grp->nodes[0]].mask;
        if (grp->kind == GROUP_SEQUENCE && second > 0)
            f->stored[second] = true;
        /* a GEMM joined with a window node writes the col matrix between them */
        if (grp->kind == GROUP_GEMM && grp->n > 1 &&
            (g->n[grp->nodes[0]].op == OP_IM2COL || g->n[grp->nodes[1]].op == OP_COL2IM))
            f->stored[graph_storage(g, g->n[grp->nodes[0]].out)] = true;
        /* a paired loss/gradient kernel writes both results */
        if (grp->kind == GROUP_ROWS)
            for (int i = 0; i < grp->n; i++)
                f->stored[graph_storage(g, g->n[grp->nodes[i]].out)] = true;
    }
    int specials[] = {g->output, g->loss, g->input};
    for (int t = 0; t < g->nt + 3; t++) {
        int x = t < g->nt ? (g->t[t].observed ? t : -1) : specials[t - g->nt];
        if (x >= 0) {
            int s = graph_storage(g, x);
            f->stored[s] = true;
            f->last_use[s] = f->n_groups;
        }
    }
    return 0;
}

void fusion_free(fusion *f)
{
    free(f->groups);
    free(f->members);
    free(f->group_of);
    free(f->stored);
    free(f->last_use);
    memset(f, 0, sizeof *f);
}
