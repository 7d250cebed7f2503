/* The lane family's reductions (codegen_lanes): the row-wise ops (softmax,
 * its gradient, softmax cross-entropy, MSE and their gradients) with one
 * work-group per row, and column sums (the bias gradient) with one
 * work-group per block of columns. Consecutive work-items take consecutive
 * elements, and each work-group folds its partial values as a tree through
 * __local memory (codegen_tree): the panel family's one row or column run
 * per work-item leaves all but a few lanes idle on such devices. */
#include <stdio.h>

#include "codegen_int.h"

static int64_t pow2_at_least(int64_t n)
{
    int64_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

/* Group k's head over x[m, n] and where x and its output live. */
typedef struct lane_head {
    const gnode *nd;
    long long m, n;
    char rx[64], ry[64];
} lane_head;

static lane_head head_of(const codegen_ctx *c, const kgroup *k)
{
    lane_head h = {.nd = &c->g->n[k->nodes[0]]};
    const tensor *x = &c->g->t[h.nd->in[0]];
    h.m = (long long)x->dims[0];
    h.n = (long long)x->dims[1];
    codegen_ref(c->g, h.nd->in[0], h.rx, sizeof h.rx);
    codegen_ref(c->g, h.nd->out, h.ry, sizeof h.ry);
    return h;
}

/* The kernel's head for work-groups of items: red, lid. */
static void open_kernel(codegen_ctx *c, const char *name, int64_t items)
{
    codegen_signature(c->src, name);
    sb_printf(c->src, "{\n    __local float red[%lld];\n    const uint lid = get_local_id(0);\n",
              (long long)items);
}

/* A row of n elements x[j] for work-group r, each work-item taking
 * j = lid, lid + items, ... */
typedef struct lane_row {
    strbuf *src;
    long long n, items;
} lane_row;

static void each(const lane_row *r, const char *stmt)
{
    sb_printf(r->src, "    for (uint j = lid; j < %lldu; j += %lldu) %s\n", r->n, r->items,
              stmt);
}

/* v folded over the row and given to every work-item; the barrier after
 * it lets the next fold write red again. */
static void fold(const lane_row *r, const char *v, bool max)
{
    codegen_tree(r->src, v, r->items, 1, max);
    sb_printf(r->src, "    %s = red[0];\n    barrier(CLK_LOCAL_MEM_FENCE);\n", v);
}

/* The loss (lid 0 writes it) and gradient of softmax cross-entropy or MSE
 * over row r of m, with the label lab. */
static void loss_rows(codegen_ctx *c, const kgroup *k, const lane_row *r, long long m)
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    bool mse = head->op == OP_MSE || head->op == OP_MSE_GRAD;
    int loss, grad;
    codegen_loss_outputs(g, k, &loss, &grad);
    char ry[64], rd[64], stmt[256];
    sb_printf(r->src, "    const int lab = L[r];\n"
                      "    const int ok = lab >= 0 && lab < %lld;\n", r->n);
    if (grad >= 0) {
        codegen_ref(g, grad, rd, sizeof rd);
        sb_printf(r->src, "    __global float *d = %s + r * %lldu;\n", rd, r->n);
    }
    if (mse) {
        if (loss >= 0) {
            sb_append(r->src, "    float e = 0.0f;\n");
            each(r, "{ const float t = x[j] - (j == (uint)lab ? 1.0f : 0.0f); e += t * t; }");
            fold(r, "e", false);
        }
        snprintf(stmt, sizeof stmt, "d[j] = (x[j] - (j == (uint)lab ? 1.0f : 0.0f)) * %s;",
                 CG_F(2.0 / ((double)m * (double)r->n)));
    } else {
        sb_append(r->src, "    float mx = -INFINITY, s = 0.0f;\n");
        each(r, "mx = fmax(mx, x[j]);");
        fold(r, "mx", true);
        each(r, grad >= 0 ? "{ const float e = exp(x[j] - mx); s += e; d[j] = e; }"
                          : "s += exp(x[j] - mx);");
        fold(r, "s", false);
        sb_append(r->src, "    const float lse = mx + log(s);\n");
        if (grad >= 0)
            sb_printf(r->src, "    const float k = 1.0f / (s * %s);\n", CG_F((double)m));
        /* (uint)lab matches a j only when the label is in range */
        snprintf(stmt, sizeof stmt, "d[j] = d[j] * k - (j == (uint)lab ? %s : 0.0f);",
                 CG_F(1.0 / (double)m));
    }
    if (loss >= 0) {
        codegen_ref(g, loss, ry, sizeof ry);
        if (mse)
            sb_printf(r->src, "    if (lid == 0) %s[r] = ok ? e / %s : NAN;\n", ry,
                      CG_F((double)r->n));
        else
            sb_printf(r->src, "    if (lid == 0) %s[r] = ok ? lse - x[ok ? lab : 0] : NAN;\n", ry);
    }
    if (grad >= 0)
        each(r, stmt);
}

int codegen_lane_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    lane_head h = head_of(c, k);
    int64_t items = codegen_lane_items(c->target), fit = pow2_at_least(h.n);
    lane_row r = {c->src, h.n, (long long)(fit < items ? fit : items)};
    open_kernel(c, name, r.items);
    sb_printf(c->src,
              "    const uint r = get_group_id(0);\n"
              "    __global const float *x = %s + r * %lldu;\n",
              h.rx, h.n);
    if (h.nd->op == OP_SOFTMAX_GRAD) { /* x = dy, in[1] = y */
        char ry[64];
        codegen_ref(c->g, h.nd->in[1], ry, sizeof ry);
        sb_printf(c->src,
                  "    __global const float *y = %s + r * %lldu;\n"
                  "    __global float *d = %s + r * %lldu;\n"
                  "    float dot = 0.0f;\n",
                  ry, h.n, h.ry, h.n);
        each(&r, "dot += x[j] * y[j];");
        fold(&r, "dot", false);
        each(&r, "d[j] = y[j] * (x[j] - dot);");
    } else if (h.nd->op == OP_SOFTMAX) {
        sb_printf(c->src, "    __global float *y = %s + r * %lldu;\n"
                          "    float mx = -INFINITY, s = 0.0f;\n", h.ry, h.n);
        each(&r, "mx = fmax(mx, x[j]);");
        fold(&r, "mx", true);
        each(&r, "{ y[j] = exp(x[j] - mx); s += y[j]; }");
        fold(&r, "s", false);
        sb_append(c->src, "    const float inv = 1.0f / s;\n");
        each(&r, "y[j] *= inv;");
    } else {
        loss_rows(c, k, &r, h.m);
    }
    sb_append(c->src, "}\n\n");
    codegen_launch_groups(l, h.m * r.items, r.items);
    l->bytes = 4.0 * (double)(h.m * h.n) * (double)(k->n + 1);
    return 0;
}

/* Work-items of a column block: 32 adjacent columns (128 bytes, a GPU's
 * memory transaction) at most, the work-group's other work-items on further
 * rows of them. */
#define LANE_COLUMNS 32

int codegen_lane_sum_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    lane_head h = head_of(c, k);
    long long m = h.m, n = h.n;
    int64_t items = codegen_lane_items(c->target), cols = pow2_at_least(n);
    if (cols > LANE_COLUMNS)
        cols = LANE_COLUMNS;
    if (cols > items)
        cols = items;
    open_kernel(c, name, items);
    sb_printf(c->src,
              "    const uint j = get_group_id(0) * %lldu + lid %% %lldu;\n"
              "    float s = 0.0f;\n"
              "    if (j < %lldu)\n"
              "        for (uint r = lid / %lldu; r < %lldu; r += %lldu) s += %s[r * %lldu + j];\n",
              (long long)cols, (long long)cols, n, (long long)cols, m,
              (long long)(items / cols), h.rx, n);
    codegen_tree(c->src, "s", items, cols, false);
    bool acc = h.nd->accumulate;
    sb_printf(c->src, "    if (lid < %lldu && j < %lldu) %s[j] = red[lid]%s%s%s;\n}\n\n",
              (long long)cols, n, h.ry, acc ? " + " : "", acc ? h.ry : "", acc ? "[j]" : "");
    codegen_launch_groups(l, (n + cols - 1) / cols * items, items);
    l->bytes = 4.0 * (double)(m * n + n);
    return 0;
}
