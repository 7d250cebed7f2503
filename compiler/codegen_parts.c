/* The parts every kernel generator builds with: where a tensor lives, float
 * literals, the kernel signature and a 1-D launch, vector macros, the
 * expressions of a QSD draw's group and counter, lane folds, and a map's
 * [n, c, pixels] view. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

static const char buffer_letter[] = {[T_INPUT] = 'A', [T_LABEL] = 'L', [T_PARAM] = 'P',
                                     [T_GRAD] = 'G', [T_ACT] = 'A', [T_LOSS] = 'A'};

void codegen_ref(const graph *g, int t, char *buf, size_t n)
{
    int s = graph_storage(g, t);
    snprintf(buf, n, "(%c + %lld)", buffer_letter[g->t[s].kind],
             (long long)g->t[s].offset);
}

const char *codegen_float(char *buf, double x)
{
    int n = snprintf(buf, 32, "%.9g", x);
    if (!strpbrk(buf, ".e"))
        n += snprintf(buf + n, 8, ".0");
    snprintf(buf + n, 4, "f");
    return buf;
}

void codegen_signature(strbuf *src, const char *name)
{
    sb_printf(src,
              "__kernel void %s(__global float *P, __global float *G, __global float *S,\n"
              "    __global float *A, __global const int *L, const uint seed,\n"
              "    const uint step, const float lr, const uint sample0)\n",
              name);
}

void codegen_qsd_group(const graph *g, const gnode *n, char *buf, size_t len)
{
    const tensor *t = &g->t[n->out];
    if (n->qsd.share == SHARE_CHANNEL)
        snprintf(buf, len, "qsd_group_channel(idx, %lldu, %lldu)", (long long)t->dims[1],
                 (long long)(t->dims[2] * t->dims[3]));
    else if (n->qsd.share == SHARE_TIME)
        snprintf(buf, len, "qsd_group_time(idx, %lldu, %lldu)", (long long)t->dims[1],
                 (long long)t->dims[2]);
    else
        snprintf(buf, len, "idx");
}

void codegen_qsd_counter(const graph *g, const gnode *n, char *buf, size_t len)
{
    const tensor *t = &g->t[n->out];
    int64_t per_sample = n->qsd.share == SHARE_CHANNEL ? t->dims[1]
                         : n->qsd.share == SHARE_TIME  ? t->dims[2]
                                                       : t->nelem / t->dims[0];
    char grp[96];
    codegen_qsd_group(g, n, grp, sizeof grp);
    snprintf(buf, len, "%s + sample0 * %lldu", grp, (long long)per_sample);
}

int64_t codegen_qsd_units(const graph *g, const gnode *n)
{
    const tensor *t = &g->t[n->out];
    if (n->op == OP_QSD_DRAW || n->qsd.share == SHARE_CHANNEL)
        return t->dims[1];
    if (n->qsd.share == SHARE_TIME)
        return t->dims[2];
    return t->rank == 4 ? t->dims[1] : t->dims[t->rank - 1];
}

void codegen_qsd_unit_call(const graph *g, const gnode *n, const char *grp, char *buf,
                           size_t len)
{
    const tensor *t = &g->t[n->out];
    long long units = (long long)codegen_qsd_units(g, n);
    char unit[192];
    if (t->rank == 4 && n->op != OP_QSD_DRAW && n->qsd.share == SHARE_ELEMENT)
        snprintf(unit, sizeof unit, "(%s) / %lldu %% %lldu", grp,
                 (long long)(t->dims[2] * t->dims[3]), units);
    else
        snprintf(unit, sizeof unit, "(%s) %% %lldu", grp, units);
    long long at = (long long)n->unit_params;
    snprintf(buf, len, "qsd_mask_given(seed, %uu, step, %s, A[%lldu + %s], A[%lldu + %s], %s, %d)",
             n->rng_id, grp, at, unit, at + units, unit, CG_F(n->qsd.p), n->qsd.sites);
}

void codegen_fold16(strbuf *src, const char *vec, const char *out, bool max)
{
    sb_printf(src, "    { float t16[16];\n      vstore16(%s, 0, t16);\n      %s = t16[0];\n",
              vec, out);
    if (max)
        sb_printf(src, "      for (uint l = 1; l < 16; l++) %s = fmax(%s, t16[l]);\n    }\n",
                  out, out);
    else
        sb_printf(src, "      for (uint l = 1; l < 16; l++) %s += t16[l];\n    }\n", out);
}

int64_t codegen_lane_items(const codegen_target *t)
{
    int64_t items = (int64_t)t->gemm_tiles.items_m * t->gemm_tiles.items_n;
    while (items & (items - 1))
        items &= items - 1;
    return items;
}

void codegen_launch_groups(plan_launch *l, int64_t n, int64_t local)
{
    l->work_dim = 1;
    l->global[0] = (uint64_t)((n + local - 1) / local * local);
    l->local[0] = (uint64_t)local;
}

void codegen_tree(strbuf *src, const char *v, int64_t items, int64_t stride, bool max)
{
    sb_printf(src,
              "    red[lid] = %s;\n"
              "    barrier(CLK_LOCAL_MEM_FENCE);\n"
              "    for (uint h = %lldu; h >= %lldu; h >>= 1) {\n"
              "        if (lid < h) red[lid] = %s;\n"
              "        barrier(CLK_LOCAL_MEM_FENCE);\n"
              "    }\n",
              v, (long long)(items / 2), (long long)stride,
              max ? "fmax(red[lid], red[lid + h])" : "red[lid] + red[lid + h]");
}

void codegen_loss_outputs(const graph *g, const kgroup *k, int *loss, int *grad)
{
    *loss = *grad = -1;
    for (int i = 0; i < k->n; i++) {
        const gnode *nd = &g->n[k->nodes[i]];
        if (nd->op == OP_SOFTMAX_XENT || nd->op == OP_MSE)
            *loss = nd->out;
        else
            *grad = nd->out;
    }
}

void codegen_launch_1d(plan_launch *l, const char *name, const char *nodes, int64_t n,
                       int64_t local, double bytes)
{
    memset(l, 0, sizeof *l);
    snprintf(l->kernel, sizeof l->kernel, "%s", name);
    snprintf(l->nodes, sizeof l->nodes, "%s", nodes);
    l->work_dim = 1;
    l->global[0] = (uint64_t)n;
    l->local[0] = (uint64_t)local;
    l->bytes = bytes;
}

void codegen_open_flat(strbuf *src, const char *name, int64_t n)
{
    codegen_signature(src, name);
    sb_printf(src, "{\n    const uint idx = get_global_id(0);\n"
                   "    if (idx >= %lldu) return;\n", (long long)n);
}

void codegen_vector_macros(strbuf *src, long long vw)
{
    if (vw > 1)
        sb_printf(src, "#define VT float%lld\n#define LD(p) vload%lld(0, (p))\n"
                       "#define ST(v, p) vstore%lld((v), 0, (p))\n",
                  vw, vw, vw);
    else
        sb_append(src, "#define VT float\n#define LD(p) (*(p))\n#define ST(v, p) (*(p) = (v))\n");
}

long long codegen_vector_width(long long n)
{
    long long vw = 16;
    while (n % vw)
        vw /= 2;
    return vw;
}

map_shape codegen_map_shape(const tensor *t)
{
    long long n = (long long)t->dims[0], c = (long long)t->dims[1];
    return (map_shape){n, c, (long long)t->nelem / (n * c)};
}
