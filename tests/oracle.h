/* An independent forward oracle: each layer computed in double straight
 * from docs/model-format.md's definitions and the parameter layouts it
 * documents (dense [in, units], conv2d [filters, channels, kh, kw], lstm
 * gates i, f, g, o, batch-norm rows gamma/beta and mean/var). It shares
 * nothing with the compiler's graph or the reference interpreter (ref_*.c),
 * so a wrong lowering that both of those agree on still shows here. */
#ifndef QSDC_ORACLE_H
#define QSDC_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

/* x [n, in] -> y [n, units]: y = x W + b; W [in, units]; b may be NULL. */
void or_dense(const double *x, int64_t n, int64_t in, const float *w, const float *b,
              int64_t units, double *y);
void or_relu(double *x, int64_t n);
void or_tanh(double *x, int64_t n);
void or_sigmoid(double *x, int64_t n);
/* Softmax of each row of x [rows, cols], in place. */
void or_softmax(double *x, int64_t rows, int64_t cols);

/* A feature map's shape, [n, c, h, w] (NCHW). */
typedef struct or_map {
    int64_t n, c, h, w;
} or_map;

/* A window: kernel, stride, padding and dilation, height then width. */
typedef struct or_window {
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} or_window;

/* conv2d with zero padding; w [filters, c, kh, kw], b [filters] or NULL.
 * Returns the output's shape; y must hold it. */
or_map or_conv2d(const double *x, or_map in, const float *w, const float *b, int64_t filters,
                 or_window k, double *y);
/* maxpool (padding never wins) or avgpool (padding counts as zeros). */
or_map or_pool(const double *x, or_map in, or_window k, bool max, double *y);
/* The mean of each channel's map: [n, c]. */
void or_global_avgpool(const double *x, or_map in, double *y);
/* Inference batch normalisation of x [n, c, spatial] in place: affine rows
 * gamma, beta; running rows mean, var (each [c]). */
void or_batchnorm(double *x, int64_t n, int64_t c, int64_t spatial, const float *affine,
                  const float *running, double eps);

/* Token ids [n, t] (exact floats) -> [n, t, dim] rows of table [vocab, dim];
 * an id outside [0, vocab) reads zeros. */
void or_embedding(const float *ids, int64_t n, int64_t t, const float *table, int64_t vocab,
                  int64_t dim, double *y);
/* lstm over x [n, t, f] from a zero state: y [n, t, units], each step's h.
 * real [n, t] (NULL: every step) marks steps that are not padding; a
 * padding step keeps h and c. w [f, 4u], r [u, 4u], b [4u], gates i f g o. */
void or_lstm(const double *x, const bool *real, int64_t n, int64_t t, int64_t f,
             const float *w, const float *r, const float *b, int64_t units, double *y);
/* [n, t, u] -> [n, u]: the last real step, or the mean over real steps;
 * zeros when a sample has none. real may be NULL. */
void or_pool_sequence(const double *x, const bool *real, int64_t n, int64_t t, int64_t u,
                      bool mean, double *y);

#endif
