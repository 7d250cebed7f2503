/* Code generation: one OpenCL kernel per fused group, specialised to the
 * graph's static shapes and memory plan. */
#ifndef QSDC_CODEGEN_H
#define QSDC_CODEGEN_H

#include "codegen_gemm.h"
#include "fusion.h"
#include "strbuf.h"

/* A conv2d layer as the direct-or-GEMM choice keys it: input channels and
 * size, output channels, window. */
typedef struct conv_shape {
    int64_t c, h, w, co;
    window2d win;
} conv_shape;

typedef struct codegen_target {
    bool is_cpu;
    unsigned pref_vector_width;
    /* GEMM shapes measured faster with CLBlast on this device (m, n, k and
     * transposes are compared); the rest use generated kernels */
    const plan_gemm *clblast;
    int n_clblast;
    /* keep each hidden activation (the output of every relu, tanh and
     * sigmoid layer) to the end of the pass, host-visible by layer name */
    bool observe;
    /* keep every node's output to the end of the pass and list them in
     * plan.probes, for --check-finite */
    bool observe_all;
    /* conv2d layers run as direct convolutions (conv_direct.c) instead of
     * im2col + per-sample GEMM: every one, or those of the listed shapes */
    bool direct_conv_all;
    const conv_shape *direct_conv;
    int n_direct_conv;
    /* the device ends a work-item's loops after this many iterations (0:
     * never); kernels are shaped to stay under half of it */
    uint32_t loop_limit;
} codegen_target;

typedef struct codegen_ctx {
    const graph *g;
    const fusion *f;
    const model *m;
    const codegen_target *target;
    gemm_tuning tuning;
    int64_t scratch;     /* arena offset of the update's scratch space */
    /* scratch elements the kernels need beyond it (sliced products'
     * partials; they and the update never run at once) */
    int64_t scratch_needed;
    strbuf *src;
} codegen_ctx;

/* "k3_matmul": the name of group k's kernel (the update's clipping kernels
 * add _norm and _scale). */
void codegen_kernel_name(const graph *g, const fusion *f, int k, char *buf, size_t n);
/* Appends the kernel(s) of group k and their launches (at most 3). A GEMM
 * group run by CLBlast is a library launch plus, when the group has an
 * epilogue, an in-place kernel for it. */
int codegen_group(codegen_ctx *c, int k, plan_launch *launches, int *n_launches,
                  qsdc_error *err);
/* Whether the target runs a GEMM of this shape with CLBlast. */
bool codegen_uses_clblast(const codegen_target *t, const plan_gemm *gm);
/* The optimiser's kernels: clipping reductions, then the update. */
int codegen_update(codegen_ctx *c, const char *name, plan_launch *launches,
                   int *n_launches, qsdc_error *err);
/* The kernels of a GROUP_SEQUENCE group (codegen_rnn.c): at most 2 launches. */
int codegen_sequence(codegen_ctx *c, int k, const char *name, plan_launch *launches,
                     int *n_launches, qsdc_error *err);
/* codegen_lstm.c: the kernels of an OP_LSTM (2 launches) or OP_LSTM_GRAD (1). */
void codegen_lstm(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                  int *n_launches);
/* A 1-D launch of kernel name over n work-items in groups of local (0: the
 * runtime picks), and a kernel's header with idx over n work-items. */
void codegen_launch_1d(plan_launch *l, const char *name, const char *nodes, int64_t n,
                       int64_t local, double bytes);
void codegen_open_flat(strbuf *src, const char *name, int64_t n);
/* Vectors of vw floats for the next kernel: its type VT and its loads and
 * stores LD(p), ST(v, p) at a float pointer (scalars for vw 1), undefined
 * after the kernel with CG_VECTOR_UNDEF; and the widest vw of 16, 8, 4, 2, 1
 * that divides n. */
void codegen_vector_macros(strbuf *src, long long vw);
#define CG_VECTOR_UNDEF "#undef VT\n#undef LD\n#undef ST\n\n"
long long codegen_vector_width(long long n);
/* "(A + 1234)": where tensor t lives, as an OpenCL pointer expression. */
void codegen_ref(const graph *g, int t, char *buf, size_t n);
/* A float literal OpenCL C accepts ("4.0f", "1e-08f"), written into buf. */
const char *codegen_float(char *buf, double x);
#define CG_F(x) codegen_float((char[40]){0}, (x))
/* "qsd_group_channel(idx, C, HW)": the QSD sharing group of element idx of
 * n's output under n->qsd.share ("idx" for element). */
void codegen_qsd_group(const graph *g, const gnode *n, char *buf, size_t len);
/* The Philox counter of that group across the global batch: the group plus
 * sample0 times the groups per sample, so that a shard of the batch draws
 * what the whole batch draws for its samples. */
void codegen_qsd_counter(const graph *g, const gnode *n, char *buf, size_t len);
/* Statements folding the 16 lanes of the float16 vec into the float out
 * (declared by the caller): their sum, or with max their largest. Through
 * private memory: oclgrind 21.10's uninitialised-value check crashes on
 * swizzles (.lo, .hi) of a vector a loop carries. */
void codegen_fold16(strbuf *src, const char *vec, const char *out, bool max);
/* The standard kernel signature for name. */
void codegen_signature(strbuf *src, const char *name);
/* Statements for the group's nodes from `from` on over the running value
 * v at flat index idx, storing the values read outside the group. */
void codegen_render_chain(const codegen_ctx *c, const kgroup *k, int from, strbuf *sb);
/* After the group's head value v is computed for element idx: the head's
 * own store when it is read outside the group, the chain, the group's
 * result. */
void codegen_chain_store(const codegen_ctx *c, const kgroup *k, strbuf *sb);

/* codegen_conv.c: kernels of GROUP_WINDOW and GROUP_CHANNELS groups, and
 * chain statements for the channel-indexed elementwise ops. */
int codegen_window(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
/* Group k's rows for one sample (gm_bat) as statements, looping over the
 * rows a window kernel's NDRange would run: im2col before, col2im after a
 * per-sample GEMM in the GEMM's kernel (see fusion.h). */
void codegen_window_phase(const codegen_ctx *c, const kgroup *k, strbuf *sb);
/* codegen_conv_direct.c: the kernel of a GROUP_CONV group (OP_CONV2D and its
 * elementwise epilogue). */
int codegen_conv_direct(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
int codegen_channels(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
void codegen_conv_stmt(const graph *g, const gnode *n, strbuf *sb);
/* Group k's head value and chain on a float vector vv of cw elements from
 * idx on, within one row of a map (one channel), as vector statements with
 * the stores codegen_chain_store would make; false (nothing written) when
 * a node has no vector form: those are ReLU, its derivative, the channel
 * bias and a QSD scale shared per channel. */
bool codegen_vector_chain(const codegen_ctx *c, const kgroup *k, int cw, strbuf *sb);

#define UPDATE_SCRATCH 80 /* arena elements the update's reductions need */

#endif
