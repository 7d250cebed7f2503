/* Internal to code generation: what the generators share. codegen_group.c
 * writes the GEMM, elementwise and row kernels and hands every other kind
 * of group to its generator below; each writes its chain through
 * codegen_chain.c and its text with codegen_parts.c. Calls run that way
 * only: generator -> chain -> parts. */
#ifndef QSDC_CODEGEN_INT_H
#define QSDC_CODEGEN_INT_H

#include "codegen.h"

/* The optimiser's kernels: clipping reductions, then the update. */
int codegen_update(codegen_ctx *c, const char *name, plan_launch *launches,
                   int *n_launches, qsdc_error *err);
/* The kernels of a GROUP_SEQUENCE group (codegen_rnn.c): at most 2 launches. */
int codegen_sequence(codegen_ctx *c, int k, const char *name, plan_launch *launches,
                     int *n_launches, qsdc_error *err);
/* codegen_lstm.c: the kernels of an OP_LSTM (2 launches, one more per
 * further time slice) or OP_LSTM_GRAD (1, likewise). */
void codegen_lstm(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                  int *n_launches);
/* codegen_window.c: the kernel of a GROUP_WINDOW group (im2col, col2im,
 * pooling and their chains). */
int codegen_window(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
/* Group k's rows for one sample (gm_bat) as statements, looping over the
 * rows a window kernel's NDRange would run: im2col before, col2im after a
 * per-sample GEMM in the GEMM's kernel (see fusion.h). */
void codegen_window_phase(const codegen_ctx *c, const kgroup *k, strbuf *sb);
/* codegen_conv_direct.c: the kernel of a GROUP_CONV group (OP_CONV2D and its
 * elementwise epilogue). */
int codegen_conv_direct(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
/* codegen_conv.c: the kernel of a GROUP_CHANNELS group (per-channel sums). */
int codegen_channels(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);

/* codegen_reduce.c, the lane family's (codegen_lanes) row-wise and
 * column-sum kernels: a work-group per row or per block of columns,
 * reduced as a tree through __local memory. */
int codegen_lane_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);
int codegen_lane_sum_rows(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l);

/* codegen_chain.c, the chain after a group's head. Statements for the
 * group's nodes from `from` on over the running value v at flat index idx,
 * storing the values read outside the group; with tiled, a QSD node takes
 * the draw that codegen_tile_passes left in its slot of gm_tile. */
void codegen_render_chain(const codegen_ctx *c, const kgroup *k, int from, bool tiled,
                          strbuf *sb);
/* The head's value v (a GEMM's product before its epilogue) stored when it
 * is read outside the group (a backward product that both feeds an
 * activation's derivative in the chain and a sum elsewhere). */
void codegen_store_head(const codegen_ctx *c, const kgroup *k, strbuf *sb);
/* After the group's head value v is computed for element idx: the head's
 * own store when it is read outside the group, the chain, the group's
 * result. */
void codegen_chain_store(const codegen_ctx *c, const kgroup *k, strbuf *sb);
/* Group k's head value and chain on a float vector vv of cw elements from
 * idx on, within one row of a map (one channel), as vector statements with
 * the stores codegen_chain_store would make; false (nothing written) when
 * a node has no vector form: those are ReLU, its derivative, the channel
 * bias and a QSD scale shared per channel. */
bool codegen_vector_chain(const codegen_ctx *c, const kgroup *k, int cw, strbuf *sb);
/* A GEMM epilogue's tile passes: qsd_mask_try for each QSD node of the
 * chain into gm_tile (try), then qsd_mask_fix over it (fix), in the order
 * codegen_render_chain numbers their slots, each after idx_decl. The number
 * of slots filled (0: no passes), or -1 when there are more QSD nodes than
 * a tile pass holds. */
int codegen_tile_passes(const graph *g, const kgroup *k, const char *idx_decl,
                        strbuf *try, strbuf *fix);

/* codegen_parts.c, what every generator writes with. A 1-D launch of kernel
 * name over n work-items in groups of local (0: the runtime picks), and a
 * kernel's header with idx over n work-items. */
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
/* "qsd_mask_given(seed, 4u, step, GRP, A[P + UNIT], A[gain + UNIT], ...)":
 * node n's draw with hetero: unit for the group expression grp, UNIT the
 * feature the group belongs to (a map's channel, a sequence's or a layer's
 * unit, a [N, K] mask's k), reading the unit's P and gain that the node's
 * unit kernel (codegen_qsd_unit.c) left at n->unit_params. */
void codegen_qsd_unit_call(const graph *g, const gnode *n, const char *grp, char *buf,
                           size_t len);
/* The units of a hetero: unit node: the modulus of its UNIT expression. */
int64_t codegen_qsd_units(const graph *g, const gnode *n);
/* Statements folding the 16 lanes of the float16 vec into the float out
 * (declared by the caller): their sum, or with max their largest. Through
 * private memory: oclgrind 21.10's uninitialised-value check crashes on
 * swizzles (.lo, .hi) of a vector a loop carries. */
void codegen_fold16(strbuf *src, const char *vec, const char *out, bool max);
/* The lane family's work-group: the tiled GEMM's work-items (which fit the
 * device), rounded down to a power of two for the trees below. */
int64_t codegen_lane_items(const codegen_target *t);
/* A 1-D launch of n work-items in work-groups of local, n rounded up to a
 * whole number of them (the kernel guards the rest). */
void codegen_launch_groups(plan_launch *l, int64_t n, int64_t local);
/* Statements folding v, the float of each work-item lid of a work-group of
 * items (a power of two), through __local float red[items]: the sum (or
 * with max the largest) of v over lid, lid + stride, lid + 2 stride, ...
 * ends in red[lid] for each lid < stride. Every work-item runs every
 * barrier. */
void codegen_tree(strbuf *src, const char *v, int64_t items, int64_t stride, bool max);
/* The loss and gradient tensors of a row group of softmax cross-entropy or
 * MSE (-1 for one it does not compute). */
void codegen_loss_outputs(const graph *g, const kgroup *k, int *loss, int *grad);
/* The standard kernel signature for name. */
void codegen_signature(strbuf *src, const char *name);
/* A map as [n, c, pixels]: channel dims[1], pixels the rest (1 for [N, C]). */
typedef struct map_shape {
    long long n, c, px;
} map_shape;
map_shape codegen_map_shape(const tensor *t);

#endif
