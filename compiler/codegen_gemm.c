#include "codegen_gemm.h"

#include <stdio.h>
#include <string.h>

void gemm_tuning_default(gemm_tuning *t, bool is_cpu, unsigned pref_vector_width)
{
    (void)is_cpu;
    (void)pref_vector_width;
    t->tile_m = 1;
    t->tile_n = 1;
}

int codegen_gemm(strbuf *src, const gemm_spec *s, const gemm_tuning *t,
                 plan_launch *launch, qsdc_error *err)
{
    (void)t;
    if (s->accumulate && s->epilogue)
        return qsdc_fail(err, "gemm %s: an epilogue cannot follow accumulation", s->name);
    char ia[96], ib[96];
    if (s->trans_a)
        snprintf(ia, sizeof ia, "k * %lldu + row", (long long)s->lda);
    else
        snprintf(ia, sizeof ia, "row * %lldu + k", (long long)s->lda);
    if (s->trans_b)
        snprintf(ib, sizeof ib, "col * %lldu + k", (long long)s->ldb);
    else
        snprintf(ib, sizeof ib, "k * %lldu + col", (long long)s->ldb);
    sb_printf(src,
              "__kernel void %s(__global float *P, __global float *G, __global float *S,\n"
              "    __global float *A, __global const int *L, const uint seed,\n"
              "    const uint step, const float lr)\n{\n"
              "    const uint row = get_global_id(1), col = get_global_id(0);\n"
              "    if (row >= %lldu || col >= %lldu) return;\n"
              "    float v = 0.0f;\n"
              "    for (uint k = 0; k < %lldu; k++)\n"
              "        v += %s[%s] * %s[%s];\n",
              s->name, (long long)s->M, (long long)s->N, (long long)s->K, s->a, ia,
              s->b, ib);
    if (s->epilogue)
        sb_printf(src, "    %s\n", s->epilogue);
    sb_printf(src, "    %s[row * %lldu + col] %s v;\n}\n\n", s->c, (long long)s->ldc,
              s->accumulate ? "+=" : "=");
    memset(launch, 0, sizeof *launch);
    snprintf(launch->kernel, sizeof launch->kernel, "%s", s->name);
    launch->work_dim = 2;
    launch->global[0] = (uint64_t)s->N;
    launch->global[1] = (uint64_t)s->M;
    launch->flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    return sb_check(src, err);
}
