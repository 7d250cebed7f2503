/* The optimiser step as kernels over the single parameter, gradient and
 * state allocations: optional global-norm clipping (partial sums, then one
 * work-item for the scale), Adam's bias corrections (one work-item: pocl
 * evaluates pow per work-item otherwise, which cost more than the update's
 * memory traffic), then one fused update of every trainable parameter, the
 * first grad_elems of the allocation (the running statistics after them are
 * left alone). */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

#define NORM_PARTS 64

/* The squares of part w's run of the gradient summed into A[sc + w]: on
 * the lane family by a work-group of items, consecutive work-items on
 * consecutive elements, folded as a tree; else by one work-item, 16 floats
 * at a time. */
static void gen_norm_parts(codegen_ctx *c, const char *part, int64_t items)
{
    long long np = (long long)c->g->grad_elems, sc = (long long)c->scratch;
    long long run = (np + NORM_PARTS - 1) / NORM_PARTS;
    codegen_signature(c->src, part);
    if (items) {
        sb_printf(c->src,
                  "{\n    __local float red[%lld];\n"
                  "    const uint w = get_group_id(0), lid = get_local_id(0);\n"
                  "    const uint hi = min((w + 1) * %lldu, %lldu);\n"
                  "    float s = 0.0f;\n"
                  "    for (uint i = w * %lldu + lid; i < hi; i += %lldu) s += G[i] * G[i];\n",
                  (long long)items, run, np, run, (long long)items);
        codegen_tree(c->src, "s", items, 1, false);
        sb_printf(c->src, "    if (lid == 0) A[%lld + w] = red[0];\n}\n\n", sc);
        return;
    }
    run = (run + 15) / 16 * 16;
    sb_printf(c->src,
              "{\n    const uint w = get_global_id(0);\n"
              "    const uint hi = min((w + 1) * %lldu, %lldu);\n"
              "    uint i = w * %lldu;\n"
              "    float16 s16 = (float16)(0.0f);\n"
              "    for (; i + 16 <= hi; i += 16) { const float16 g = vload16(0, G + i); s16 += g * g; }\n"
              "    float s;\n",
              run, np, run);
    codegen_fold16(c->src, "s16", "s", false);
    sb_printf(c->src,
              "    for (; i < hi; i++) s += G[i] * G[i];\n"
              "    A[%lld + w] = s;\n}\n\n",
              sc);
}

static void gen_clip(codegen_ctx *c, const char *name, plan_launch *l)
{
    long long np = (long long)c->g->grad_elems, sc = (long long)c->scratch;
    char part[QSDC_NAME_MAX], fin[QSDC_NAME_MAX];
    snprintf(part, sizeof part, "%s_norm", name);
    snprintf(fin, sizeof fin, "%s_scale", name);
    int64_t items = codegen_lanes(c->target) ? codegen_lane_items(c->target) : 0;
    gen_norm_parts(c, part, items);
    codegen_signature(c->src, fin);
    sb_printf(c->src,
              "{\n    float s = 0.0f;\n"
              "    for (uint w = 0; w < %du; w++) s += A[%lld + w];\n"
              "    const float norm = sqrt(s);\n"
              "    A[%lld] = norm > %s ? %s / norm : 1.0f;\n}\n\n",
              NORM_PARTS, sc, sc + NORM_PARTS, CG_F(c->g->train.clip_norm),
              CG_F(c->g->train.clip_norm));
    memset(l, 0, 2 * sizeof *l);
    snprintf(l[0].kernel, sizeof l[0].kernel, "%s", part);
    l[0].work_dim = 1;
    l[0].global[0] = NORM_PARTS;
    l[0].local[0] = 8; /* 8 work-groups: every core takes part */
    if (items)
        codegen_launch_groups(&l[0], NORM_PARTS * items, items);
    l[0].bytes = 4.0 * (double)np;
    snprintf(l[0].nodes, sizeof l[0].nodes, PLAN_NODES_CLIP);
    snprintf(l[1].kernel, sizeof l[1].kernel, "%s", fin);
    l[1].work_dim = 1;
    l[1].global[0] = 1;
    snprintf(l[1].nodes, sizeof l[1].nodes, "clip_scale");
}

/* A[sc + NORM_PARTS + 1] = 1 - beta1^t, A[sc + NORM_PARTS + 2] = 1 - beta2^t */
static void gen_adam_bias(codegen_ctx *c, const char *name, plan_launch *l)
{
    const graph_train *t = &c->g->train;
    long long at = (long long)c->scratch + NORM_PARTS + 1;
    char kname[QSDC_NAME_MAX];
    snprintf(kname, sizeof kname, "%.50s_bias", name);
    codegen_signature(c->src, kname);
    sb_printf(c->src,
              "{\n    const float t = (float)(step + 1u);\n"
              "    A[%lld] = 1.0f - pow(%s, t);\n"
              "    A[%lld] = 1.0f - pow(%s, t);\n}\n\n",
              at, CG_F(t->beta1), at + 1, CG_F(t->beta2));
    memset(l, 0, sizeof *l);
    snprintf(l->kernel, sizeof l->kernel, "%s", kname);
    snprintf(l->nodes, sizeof l->nodes, PLAN_NODES_UPDATE);
    l->work_dim = 1;
    l->global[0] = 1;
}

int codegen_update(codegen_ctx *c, const char *name, plan_launch *launches,
                   int *n_launches, qsdc_error *err)
{
    const graph_train *t = &c->g->train;
    long long np = (long long)c->g->grad_elems, bias = (long long)c->scratch + NORM_PARTS + 1;
    int n = 0;
    if (t->clip_norm > 0) {
        gen_clip(c, name, launches);
        n = 2;
    }
    if (t->optimizer != OPTIM_SGD)
        gen_adam_bias(c, name, &launches[n++]);
    codegen_signature(c->src, name);
    sb_printf(c->src, "{\n    const uint i = get_global_id(0);\n"
                      "    if (i >= %lldu) return;\n", np);
    if (t->clip_norm > 0)
        sb_printf(c->src, "    float g = G[i] * A[%lld];\n",
                  (long long)c->scratch + NORM_PARTS);
    else
        sb_append(c->src, "    float g = G[i];\n");
    sb_append(c->src, "    float p = P[i];\n");
    if (t->weight_decay > 0 && t->optimizer != OPTIM_ADAMW)
        sb_printf(c->src, "    g += %s * p;\n", CG_F(t->weight_decay));
    if (t->optimizer == OPTIM_SGD) {
        if (t->momentum > 0) {
            sb_printf(c->src, "    const float b = %s * S[i] + g;\n    S[i] = b;\n",
                      CG_F(t->momentum));
            if (t->nesterov)
                sb_printf(c->src, "    g += %s * b;\n", CG_F(t->momentum));
            else
                sb_append(c->src, "    g = b;\n");
        }
        sb_append(c->src, "    P[i] = p - lr * g;\n}\n\n");
    } else {
        if (t->optimizer == OPTIM_ADAMW && t->weight_decay > 0)
            sb_printf(c->src, "    p -= lr * %s * p;\n", CG_F(t->weight_decay));
        sb_printf(c->src,
                  "    const float m = %s * S[i] + %s * g;\n"
                  "    const float v = %s * S[%lld + i] + %s * g * g;\n"
                  "    S[i] = m;\n    S[%lld + i] = v;\n"
                  "    const float mh = m / A[%lld];\n"
                  "    const float vh = v / A[%lld];\n"
                  "    P[i] = p - lr * mh / (sqrt(vh) + %s);\n}\n\n",
                  CG_F(t->beta1), CG_F(1.0 - t->beta1), CG_F(t->beta2), np,
                  CG_F(1.0 - t->beta2), np, bias, bias + 1, CG_F(t->eps));
    }
    plan_launch *l = &launches[n++];
    memset(l, 0, sizeof *l);
    snprintf(l->kernel, sizeof l->kernel, "%s", name);
    snprintf(l->nodes, sizeof l->nodes, PLAN_NODES_UPDATE);
    l->work_dim = 1;
    l->global[0] = (uint64_t)np;
    /* the runtime's own choice must divide np, which may leave work-groups
     * of a few work-items: a few lanes busy each */
    if (codegen_lanes(c->target))
        codegen_launch_groups(l, np, codegen_lane_items(c->target));
    l->bytes = 4.0 * (double)np * (t->optimizer == OPTIM_SGD ? 5 : 7);
    *n_launches = n;
    return sb_check(c->src, err);
}
