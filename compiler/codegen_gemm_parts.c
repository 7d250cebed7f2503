/* The frame of a GEMM kernel that both families (codegen_gemm.c,
 * codegen_gemm_tiled.c) emit the same way: the signature, the pointers to
 * the operands and to C, the loop over batch indices, and a sliced
 * product's slices and partials. */
#include <inttypes.h>

#include "codegen_gemm_form.h"

void gemm_emit_signature(strbuf *sb, const char *name)
{
    sb_printf(sb,
        "void %s(__global float *P, __global float *G, __global float *S, __global float *A,\n"
        "        __global const int *L, const uint seed, const uint step, const float lr,\n"
        "        const uint sample0)\n"
        "{\n"
        "    (void)P; (void)G; (void)S; (void)A; (void)L; (void)seed; (void)step; (void)lr;\n"
        "    (void)sample0;\n", name);
}

void gemm_emit_c_pointer(strbuf *sb, const gemm_spec *s, const gemm_form *f)
{
    if (s->slice_len > 0)
        gemm_emit_pointer(sb, "    ", "__global float", "gm_c", s->partials, "get_group_id(2)",
                          gemm_partial_span(s));
    else
        gemm_emit_pointer(sb, "    ", "__global float", "gm_c", f->c, "gm_bat",
                          f->batch > 1 && !f->reduce ? f->stride_c : 0);
}

void gemm_emit_batch_loop(strbuf *sb, const gemm_spec *s, const gemm_form *f)
{
    const char *index = "gm_rb";
    if (s->slice_len > 0)
        sb_printf(sb,
            "    const uint gm_rb0 = get_group_id(2) * %" PRId64 "u;\n"
            "    for (uint gm_rb = gm_rb0; gm_rb < min(gm_rb0 + %" PRId64 "u, %" PRId64 "u); "
            "++gm_rb) {\n", s->slice_len, s->slice_len, f->batch);
    else if (f->batch > 1 && f->reduce)
        sb_printf(sb, "    for (uint gm_rb = 0; gm_rb < %" PRId64 "u; ++gm_rb) {\n", f->batch);
    else {
        sb_append(sb, "    {\n");
        index = "gm_bat";
    }
    const char *in_type = "__global const float";
    gemm_emit_pointer(sb, "    ", in_type, "gm_a", f->a, index, f->stride_a);
    gemm_emit_pointer(sb, "    ", in_type, "gm_b", f->b, index, f->stride_b);
}

void gemm_emit_pointer(strbuf *sb, const char *indent, const char *type, const char *name,
                       const char *base, const char *index, int64_t stride)
{
    if (stride > 0)
        sb_printf(sb, "%s%s *%s = %s + %s * %" PRId64 "u;\n", indent, type, name, base,
                  index, stride);
    else
        sb_printf(sb, "%s%s *%s = %s;\n", indent, type, name, base);
}

int64_t gemm_slices(const gemm_spec *s)
{
    return s->slice_len > 0 ? (s->batch + s->slice_len - 1) / s->slice_len : 1;
}

int64_t gemm_partial_span(const gemm_spec *s)
{
    return (s->M - 1) * s->ldc + s->N;
}
