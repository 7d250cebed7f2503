/* The kernels of one fused group (codegen_group): a GEMM's, generated
 * (codegen_gemm.c) or run by CLBlast with its epilogue after it, and the
 * elementwise, row-wise (softmax cross-entropy, MSE) and column-sum
 * kernels (the lane family's row-wise and column sums: codegen_reduce.c);
 * every other kind of group goes to its generator. */
#include "codegen_int.h"

#include <stdio.h>
#include <string.h>

static void describe(const graph *g, const kgroup *k, plan_launch *l)
{
    size_t len = 0;
    l->nodes[0] = '\0';
    for (int i = 0; i < k->n && len < sizeof l->nodes; i++)
        len += (size_t)snprintf(l->nodes + len, sizeof l->nodes - len, "%s%s",
                                i ? "+" : "", op_kind_name(g->n[k->nodes[i]].op));
}

static const int buffer_of[] = {[T_INPUT] = BUF_A, [T_LABEL] = BUF_L, [T_PARAM] = BUF_P,
                                [T_GRAD] = BUF_G, [T_ACT] = BUF_A, [T_LOSS] = BUF_A};

static void operand(const graph *g, int t, int *buf, int64_t *off)
{
    int s = graph_storage(g, t);
    *buf = buffer_of[g->t[s].kind];
    *off = g->t[s].offset;
}

static bool same_shape(const plan_gemm *x, const plan_gemm *y)
{
    return x->m == y->m && x->n == y->n && x->k == y->k && x->trans_a == y->trans_a &&
           x->trans_b == y->trans_b && x->batch == y->batch;
}

static bool uses_clblast(const codegen_target *t, const plan_gemm *gm)
{
    for (int i = 0; i < t->n_picks; i++)
        if (t->picks[i].clblast && same_shape(&t->picks[i].shape, gm))
            return true;
    return false;
}

/* The tuning of a generated GEMM: the tiles chosen for its shape, else the
 * target's family. A per-sample product (bmm), measured over its samples,
 * follows its pick only on a target of the tiled family: the panel
 * family's batch of products stays as it was (pocl's kernels). */
static gemm_tuning tuning_for(const codegen_ctx *c, const plan_gemm *gm, bool bmm)
{
    gemm_tuning t = c->tuning;
    t.tiles = c->target->gemm_tiles;
    for (int i = 0; (!bmm || gemm_tiled(&t.tiles)) && i < c->target->n_picks; i++)
        if (!c->target->picks[i].clblast && same_shape(&c->target->picks[i].shape, gm))
            t.tiles = c->target->picks[i].tiles;
    return t;
}

/* CLBlast computes the product into the group's result; the epilogue chain,
 * if any, then runs in place as its own kernel over that result. */
static int gen_clblast(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l,
                       int *n_launches)
{
    l->kind = LAUNCH_CLBLAST_GEMM;
    l->work_dim = 1;
    l->global[0] = 1;
    snprintf(l->kernel, sizeof l->kernel, "%s", name);
    if (k->n == 1)
        return 0;
    const graph *g = c->g;
    plan_launch *e = l + 1;
    memset(e, 0, sizeof *e);
    snprintf(e->kernel, sizeof e->kernel, "%.50s_epilogue", name);
    char out[64];
    codegen_ref(g, g->n[k->nodes[k->n - 1]].out, out, sizeof out);
    codegen_signature(c->src, e->kernel);
    long long m = (long long)l->gemm.m, n = (long long)l->gemm.n;
    sb_printf(c->src,
              "{\n    const uint idx = get_global_id(0);\n"
              "    if (idx >= %lldu) return;\n"
              "    const uint row = idx / %lldu, col = idx %% %lldu;\n"
              "    float v = %s[idx];\n",
              m * n, n, n, out);
    codegen_store_head(c, k, c->src);
    codegen_render_chain(c, k, 1, false, c->src);
    sb_printf(c->src, "    %s[idx] = v;\n}\n\n", out);
    e->work_dim = 1;
    e->global[0] = (uint64_t)(m * n);
    e->bytes = 8.0 * (double)(m * n);
    *n_launches = 2;
    return 0;
}

/* A GEMM operand as stored: rows x cols, and for OP_BMATMUL's per-sample
 * activations [samples] of them, stride apart. */
typedef struct gemm_matrix {
    int64_t rows, cols, stride, samples;
} gemm_matrix;

static gemm_matrix matrix_of(const tensor *t, bool per_sample_op)
{
    bool per_sample = per_sample_op && (t->kind == T_ACT || t->kind == T_INPUT);
    if (!per_sample)
        return (gemm_matrix){t->dims[0], t->nelem / t->dims[0], 0, 1};
    int64_t rows = t->dims[1], cols = t->nelem / (t->dims[0] * t->dims[1]);
    return (gemm_matrix){rows, cols, rows * cols, t->dims[0]};
}

/* A GEMM group without the window node fusion may have joined to it
 * (fusion.c: im2col first, or col2im second with its chain): *window
 * holds that node and its chain; before and after say which. */
static kgroup gemm_part(const graph *g, const kgroup *grp, kgroup *window, bool *before,
                        bool *after)
{
    kgroup gemm = *grp;
    *window = *grp;
    *before = g->n[grp->nodes[0]].op == OP_IM2COL;
    *after = !*before && grp->n > 1 && g->n[grp->nodes[1]].op == OP_COL2IM;
    if (*before) {
        window->n = 1;
        gemm.nodes++;
        gemm.n--;
    } else if (*after) {
        gemm.n = 1;
        window->nodes++;
        window->n--;
    }
    return gemm;
}

/* The product of GEMM part k, its operands and its result (the last
 * node's output) as stored; a, b and out receive the operands' layouts. */
static plan_gemm product_of(const graph *g, const kgroup *k, gemm_matrix *a, gemm_matrix *b,
                            gemm_matrix *out)
{
    const gnode *mm = &g->n[k->nodes[0]];
    bool bmm = mm->op == OP_BMATMUL;
    *a = matrix_of(&g->t[mm->in[0]], bmm);
    *b = matrix_of(&g->t[mm->in[1]], bmm);
    *out = matrix_of(&g->t[mm->out], bmm);
    int64_t n = mm->trans_b ? b->rows : b->cols;
    plan_gemm gm = {.m = mm->trans_a ? a->cols : a->rows, .n = n,
                    .k = mm->trans_a ? a->rows : a->cols, .trans_a = mm->trans_a,
                    .trans_b = mm->trans_b, .lda = a->cols, .ldb = b->cols, .ldc = n,
                    .accumulate = mm->accumulate};
    operand(g, mm->in[0], &gm.a_buf, &gm.a_off);
    operand(g, mm->in[1], &gm.b_buf, &gm.b_off);
    operand(g, g->n[k->nodes[k->n - 1]].out, &gm.c_buf, &gm.c_off);
    if (bmm)
        gm.batch = a->samples > b->samples ? a->samples : b->samples;
    return gm;
}

int codegen_gemm_shapes(const graph *g, const fusion *f, plan_gemm *out)
{
    int n = 0;
    for (int k = 0; k < f->n_groups; k++) {
        if (f->groups[k].kind != GROUP_GEMM)
            continue;
        kgroup window;
        bool before, after;
        kgroup gemm = gemm_part(g, &f->groups[k], &window, &before, &after);
        gemm_matrix a, b, o;
        out[n++] = product_of(g, &gemm, &a, &b, &o);
    }
    return n;
}

/* Per-sample products (OP_BMATMUL) always run as generated kernels; a
 * window node joined to one runs for each sample in the same work-group,
 * before or after the product. */
static int gen_gemm(codegen_ctx *c, const kgroup *grp, const char *name, plan_launch *l,
                    int *n_launches, qsdc_error *err)
{
    const graph *g = c->g;
    strbuf phase;
    sb_init(&phase);
    kgroup window_part;
    bool before, after;
    kgroup gemm = gemm_part(g, grp, &window_part, &before, &after);
    if (before || after)
        codegen_window_phase(c, &window_part, &phase);
    const kgroup *k = &gemm;
    const gnode *mm = &g->n[k->nodes[0]];
    bool bmm = mm->op == OP_BMATMUL;
    gemm_matrix a, b, out;
    plan_gemm gm = product_of(g, k, &a, &b, &out);
    int last = g->n[k->nodes[k->n - 1]].out;
    char ra[64], rb[64], rc[64];
    codegen_ref(g, mm->in[0], ra, sizeof ra);
    codegen_ref(g, mm->in[1], rb, sizeof rb);
    codegen_ref(g, last, rc, sizeof rc);
    int64_t m = gm.m, kk = gm.k, n = gm.n;
    int64_t batch = a.samples > b.samples ? a.samples : b.samples;
    strbuf epi, tile, fix;
    sb_init(&epi);
    sb_init(&tile);
    sb_init(&fix);
    char idx_decl[96];
    snprintf(idx_decl, sizeof idx_decl, "    const uint idx = bat * %lldu + row * %lldu + col;\n",
             (long long)(m * n), (long long)n);
    int tile_values = codegen_tile_passes(g, k, idx_decl, &tile, &fix);
    if (k->n > 1) {
        sb_printf(&epi, "{\n%s", idx_decl);
        codegen_store_head(c, k, &epi);
        codegen_render_chain(c, k, 1, tile_values > 0, &epi);
        sb_append(&epi, "    }");
    }
    if (!bmm && uses_clblast(c->target, &gm)) {
        sb_free(&phase);
        sb_free(&epi);
        sb_free(&tile);
        sb_free(&fix);
        l->gemm = gm;
        l->flops = 2.0 * (double)m * (double)n * (double)kk;
        return gen_clblast(c, k, name, l, n_launches);
    }
    gemm_spec s = {.name = name, .M = m, .N = n, .K = kk, .trans_a = mm->trans_a,
                   .trans_b = mm->trans_b, .a = ra, .b = rb, .c = rc,
                   .lda = a.cols, .ldb = b.cols, .ldc = n,
                   .accumulate = mm->accumulate, .batch = batch, .stride_a = a.stride,
                   .stride_b = b.stride, .stride_c = out.stride,
                   .reduce_batch = batch > 1 && out.samples == 1,
                   .epilogue = k->n > 1 ? sb_str(&epi) : NULL,
                   .tile_pass = tile_values > 0 ? sb_str(&tile) : NULL,
                   .tile_fix = tile_values > 0 ? sb_str(&fix) : NULL,
                   .tile_values = tile_values,
                   .before = before ? sb_str(&phase) : NULL,
                   .after = after ? sb_str(&phase) : NULL};
    char partials[64];
    gemm_tuning tuning = tuning_for(c, &gm, bmm);
    gemm_choose_slices(&s, &tuning);
    if (s.slice_len > 0) {
        snprintf(partials, sizeof partials, "(A + %lld)", (long long)c->scratch);
        s.partials = partials;
        int64_t need = gemm_slices(&s) * gemm_partial_span(&s);
        c->scratch_needed = need > c->scratch_needed ? need : c->scratch_needed;
    }
    int rc_ = sb_check(&epi, err) || sb_check(&tile, err) || sb_check(&fix, err) ||
                      sb_check(&phase, err)
                  ? -1 : codegen_gemm(c->src, &s, &tuning, l, err);
    if (rc_ == 0 && s.slice_len > 0) {
        rc_ = codegen_gemm_slice_sum(c->src, &s, &l[1], err);
        describe(g, grp, &l[1]);
        *n_launches = 2;
    }
    sb_free(&phase);
    sb_free(&epi);
    sb_free(&tile);
    sb_free(&fix);
    if (!bmm)
        l->gemm = gm;
    return rc_;
}

static int gen_elementwise(codegen_ctx *c, const kgroup *k, const char *name,
                           plan_launch *l)
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    const tensor *t = &g->t[head->out];
    char in[64], out[64];
    codegen_ref(g, head->in[0], in, sizeof in);
    codegen_ref(g, g->n[k->nodes[k->n - 1]].out, out, sizeof out);
    codegen_signature(c->src, name);
    sb_printf(c->src,
              "{\n    const uint idx = get_global_id(0);\n"
              "    if (idx >= %lldu) return;\n"
              "    const uint col = idx %% %lldu;\n"
              "    float v = %s[idx];\n",
              (long long)t->nelem, (long long)t->dims[t->rank - 1], in);
    codegen_render_chain(c, k, 0, false, c->src);
    sb_printf(c->src, "    %s[idx] = v;\n}\n\n", out);
    l->work_dim = 1;
    l->global[0] = (uint64_t)t->nelem;
    if (codegen_lanes(c->target))
        codegen_launch_groups(l, t->nelem, codegen_lane_items(c->target));
    l->bytes = 4.0 * (double)t->nelem * (double)(k->n + 1);
    return 0;
}

/* Statements of a softmax cross-entropy row x[N] (one of M): lse, and with
 * grad >= 0 its gradient (softmax(x) - onehot(lab)) / M there. 16-wide
 * vectors along the row; the gradient's pass keeps each exp(x - max) in d,
 * so every element costs one exp. */
static void gen_xent_row(codegen_ctx *c, int grad, long long m, long long n)
{
    long long nv = n / 16;
    char d[64];
    sb_printf(c->src,
              "    float16 m16 = (float16)(-INFINITY), s16 = (float16)(0.0f);\n"
              "    for (uint q = 0; q < %lldu; q++) m16 = fmax(m16, vload16(q, x));\n"
              "    float mx, s;\n",
              nv);
    codegen_fold16(c->src, "m16", "mx", true);
    sb_printf(c->src, "    for (uint j = %lldu; j < %lldu; j++) mx = fmax(mx, x[j]);\n", nv * 16, n);
    if (grad >= 0) {
        codegen_ref(c->g, grad, d, sizeof d);
        sb_printf(c->src, "    __global float *d = %s + r * %lldu;\n", d, n);
    }
    sb_printf(c->src,
              "    for (uint q = 0; q < %lldu; q++) {\n"
              "        const float16 e = exp(vload16(q, x) - mx);\n"
              "        s16 += e;%s\n    }\n",
              nv, grad >= 0 ? " vstore16(e, q, d);" : "");
    codegen_fold16(c->src, "s16", "s", false);
    sb_printf(c->src,
              "    for (uint j = %lldu; j < %lldu; j++) {\n"
              "        const float e = exp(x[j] - mx);\n"
              "        s += e;%s\n    }\n"
              "    const float lse = mx + log(s);\n",
              nv * 16, n, grad >= 0 ? " d[j] = e;" : "");
    if (grad < 0)
        return;
    sb_printf(c->src,
              "    const float k = 1.0f / (s * %s);\n"
              "    for (uint q = 0; q < %lldu; q++) vstore16(vload16(q, d) * k, q, d);\n"
              "    for (uint j = %lldu; j < %lldu; j++) d[j] *= k;\n"
              "    if (ok) d[lab] -= %s;\n",
              CG_F((double)m), nv, nv * 16, n, CG_F(1.0 / (double)m));
}

/* Row-wise ops over [M,N]: one row per work-item. A loss and its gradient
 * share the row's max and log-sum-exp. */
static int gen_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    const tensor *x = &g->t[head->in[0]];
    long long m = (long long)x->dims[0], n = (long long)x->dims[1];
    char rx[64], ry[64], r2[64] = "";
    codegen_ref(g, head->in[0], rx, sizeof rx);
    codegen_signature(c->src, name);
    sb_printf(c->src,
              "{\n    const uint r = get_global_id(0);\n    if (r >= %lldu) return;\n"
              "    __global const float *x = %s + r * %lldu;\n", m, rx, n);
    if (head->op == OP_SOFTMAX_GRAD) { /* x = dy, in[1] = y */
        codegen_ref(g, head->in[1], r2, sizeof r2);
        codegen_ref(g, head->out, ry, sizeof ry);
        sb_printf(c->src,
                  "    __global const float *y = %s + r * %lldu;\n"
                  "    __global float *d = %s + r * %lldu;\n"
                  "    float dot = 0.0f;\n"
                  "    for (uint j = 0; j < %lldu; j++) dot += x[j] * y[j];\n"
                  "    for (uint j = 0; j < %lldu; j++) d[j] = y[j] * (x[j] - dot);\n}\n\n",
                  r2, n, ry, n, n, n);
    } else if (head->op == OP_SOFTMAX) {
        codegen_ref(g, head->out, ry, sizeof ry);
        sb_printf(c->src,
                  "    __global float *y = %s + r * %lldu;\n"
                  "    float mx = -INFINITY, s = 0.0f;\n"
                  "    for (uint j = 0; j < %lldu; j++) mx = fmax(mx, x[j]);\n"
                  "    for (uint j = 0; j < %lldu; j++) { y[j] = exp(x[j] - mx); s += y[j]; }\n"
                  "    const float inv = 1.0f / s;\n"
                  "    for (uint j = 0; j < %lldu; j++) y[j] *= inv;\n}\n\n",
                  ry, n, n, n, n);
    } else {
        bool mse = head->op == OP_MSE || head->op == OP_MSE_GRAD;
        int loss, grad;
        codegen_loss_outputs(g, k, &loss, &grad);
        sb_printf(c->src, "    const int lab = L[r];\n"
                          "    const int ok = lab >= 0 && lab < %lld;\n", n);
        if (!mse) {
            gen_xent_row(c, grad, m, n);
            grad = -1;
        }
        if (loss >= 0) {
            codegen_ref(g, loss, ry, sizeof ry);
            if (mse)
                sb_printf(c->src,
                          "    float e = 0.0f;\n"
                          "    for (uint j = 0; j < %lldu; j++) {\n"
                          "        const float t = x[j] - (j == (uint)lab ? 1.0f : 0.0f);\n"
                          "        e += t * t;\n    }\n"
                          "    %s[r] = ok ? e / %s : NAN;\n", n, ry, CG_F((double)n));
            else
                sb_printf(c->src, "    %s[r] = ok ? lse - x[ok ? lab : 0] : NAN;\n", ry);
        }
        if (grad >= 0) {
            codegen_ref(g, grad, r2, sizeof r2);
            sb_printf(c->src, "    __global float *d = %s + r * %lldu;\n"
                              "    for (uint j = 0; j < %lldu; j++) {\n"
                              "        const float t = j == (uint)lab ? 1.0f : 0.0f;\n",
                      r2, n, n);
            if (mse)
                sb_printf(c->src, "        d[j] = (x[j] - t) * %s;\n",
                          CG_F(2.0 / ((double)m * (double)n)));
            else
                sb_printf(c->src, "        d[j] = (exp(x[j] - lse) - t) * %s;\n",
                          CG_F(1.0 / (double)m));
            sb_append(c->src, "    }\n");
        }
        sb_append(c->src, "}\n\n");
    }
    l->work_dim = 1;
    l->global[0] = (uint64_t)m;
    l->bytes = 4.0 * (double)(m * n) * (double)(k->n + 1);
    return 0;
}

/* Column sums of [M,N] (the bias gradient): each work-item sums a run of
 * w adjacent columns as one vector of w floats, so every row contributes one
 * contiguous load; rows are added in order, as one column per work-item
 * would. */
static int gen_sum_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *nd = &g->n[k->nodes[0]];
    const tensor *x = &g->t[nd->in[0]];
    long long m = (long long)x->dims[0], n = (long long)x->dims[1];
    int w = 16;
    while (n % w)
        w /= 2;
    char rx[64], ry[64], vt[16] = "float", ld[96], sum[128];
    codegen_ref(g, nd->in[0], rx, sizeof rx);
    codegen_ref(g, nd->out, ry, sizeof ry);
    if (w > 1) {
        snprintf(vt, sizeof vt, "float%d", w);
        snprintf(ld, sizeof ld, "vload%d(0, %s + j)", w, ry);
        snprintf(sum, sizeof sum, "vload%d(0, %s + r * %lldu + j)", w, rx, n);
    } else {
        snprintf(ld, sizeof ld, "%s[j]", ry);
        snprintf(sum, sizeof sum, "%s[r * %lldu + j]", rx, n);
    }
    codegen_signature(c->src, name);
    sb_printf(c->src,
              "{\n    const uint j = get_global_id(0) * %du;\n    if (j >= %lldu) return;\n"
              "    %s s = 0.0f;\n"
              "    for (uint r = 0; r < %lldu; r++) s += %s;\n",
              w, n, vt, m, sum);
    if (nd->accumulate)
        sb_printf(c->src, "    s += %s;\n", ld);
    if (w > 1)
        sb_printf(c->src, "    vstore%d(s, 0, %s + j);\n}\n\n", w, ry);
    else
        sb_printf(c->src, "    %s[j] = s;\n}\n\n", ry);
    l->work_dim = 1;
    l->global[0] = (uint64_t)(n / w);
    l->bytes = 4.0 * (double)(m * n + n);
    return 0;
}

void codegen_kernel_name(const graph *g, const fusion *f, int k, char *buf, size_t n)
{
    snprintf(buf, n, "k%d_%s", k, op_kind_name(g->n[f->groups[k].nodes[0]].op));
}

int codegen_group(codegen_ctx *c, int k, plan_launch *launches, int *n_launches,
                  qsdc_error *err)
{
    const kgroup *grp = &c->f->groups[k];
    char name[QSDC_NAME_MAX];
    codegen_kernel_name(c->g, c->f, k, name, sizeof name);
    plan_launch *l = &launches[0];
    memset(l, 0, sizeof *l);
    *n_launches = 1;
    int rc = 0;
    bool lanes = codegen_lanes(c->target);
    switch (grp->kind) {
    case GROUP_GEMM: rc = gen_gemm(c, grp, name, l, n_launches, err); break;
    case GROUP_ELEMENTWISE: rc = gen_elementwise(c, grp, name, l); break;
    case GROUP_ROWS:
        rc = lanes ? codegen_lane_rows(c, grp, name, l) : gen_rows(c, grp, name, l);
        break;
    case GROUP_SUM_ROWS:
        rc = lanes ? codegen_lane_sum_rows(c, grp, name, l) : gen_sum_rows(c, grp, name, l);
        break;
    case GROUP_WINDOW: rc = codegen_window(c, grp, name, l); break;
    case GROUP_CONV: rc = codegen_conv_direct(c, grp, name, l); break;
    case GROUP_CHANNELS: rc = codegen_channels(c, grp, name, l); break;
    case GROUP_UPDATE: return codegen_update(c, name, launches, n_launches, err);
    case GROUP_SEQUENCE: return codegen_sequence(c, k, name, launches, n_launches, err);
    }
    if (rc < 0)
        return -1;
    snprintf(l->kernel, sizeof l->kernel, "%s", name);
    describe(c->g, grp, l);
    return sb_check(c->src, err);
}
