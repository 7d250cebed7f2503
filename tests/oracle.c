#include "oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void or_dense(const double *x, int64_t n, int64_t in, const float *w, const float *b,
              int64_t units, double *y)
{
    for (int64_t s = 0; s < n; s++)
        for (int64_t u = 0; u < units; u++) {
            double acc = b ? b[u] : 0.0;
            for (int64_t i = 0; i < in; i++)
                acc += x[s * in + i] * w[i * units + u];
            y[s * units + u] = acc;
        }
}

void or_relu(double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0;
}

void or_tanh(double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = tanh(x[i]);
}

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

void or_sigmoid(double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = sigmoid(x[i]);
}

void or_softmax(double *x, int64_t rows, int64_t cols)
{
    for (double *r = x; r < x + rows * cols; r += cols) {
        double top = r[0], sum = 0;
        for (int64_t j = 1; j < cols; j++)
            top = fmax(top, r[j]);
        for (int64_t j = 0; j < cols; j++)
            sum += r[j] = exp(r[j] - top);
        for (int64_t j = 0; j < cols; j++)
            r[j] /= sum;
    }
}

/* Output size of one dimension, docs/model-format.md's formula. */
static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* The input element under window position (i, j) of output (oy, ox), or
 * false when it falls in the padding. */
static bool tap(or_map in, or_window k, int64_t oy, int64_t ox, int64_t i, int64_t j,
                int64_t *y, int64_t *x)
{
    *y = oy * k.sh - k.ph + i * k.dh;
    *x = ox * k.sw - k.pw + j * k.dw;
    return *y >= 0 && *y < in.h && *x >= 0 && *x < in.w;
}

or_map or_conv2d(const double *x, or_map in, const float *w, const float *b, int64_t filters,
                 or_window k, double *y)
{
    or_map o = {in.n, filters, out_size(in.h, k.kh, k.sh, k.ph, k.dh),
                out_size(in.w, k.kw, k.sw, k.pw, k.dw)};
    for (int64_t s = 0; s < in.n; s++)
        for (int64_t f = 0; f < filters; f++)
            for (int64_t oy = 0; oy < o.h; oy++)
                for (int64_t ox = 0; ox < o.w; ox++) {
                    double acc = b ? b[f] : 0.0;
                    for (int64_t c = 0; c < in.c; c++)
                        for (int64_t i = 0; i < k.kh; i++)
                            for (int64_t j = 0; j < k.kw; j++) {
                                int64_t iy, ix;
                                if (tap(in, k, oy, ox, i, j, &iy, &ix))
                                    acc += x[((s * in.c + c) * in.h + iy) * in.w + ix] *
                                           w[((f * in.c + c) * k.kh + i) * k.kw + j];
                            }
                    y[((s * o.c + f) * o.h + oy) * o.w + ox] = acc;
                }
    return o;
}

or_map or_pool(const double *x, or_map in, or_window k, bool max, double *y)
{
    or_map o = {in.n, in.c, out_size(in.h, k.kh, k.sh, k.ph, 1),
                out_size(in.w, k.kw, k.sw, k.pw, 1)};
    k.dh = k.dw = 1;
    for (int64_t m = 0; m < in.n * in.c; m++)
        for (int64_t oy = 0; oy < o.h; oy++)
            for (int64_t ox = 0; ox < o.w; ox++) {
                double acc = max ? -INFINITY : 0.0;
                for (int64_t i = 0; i < k.kh; i++)
                    for (int64_t j = 0; j < k.kw; j++) {
                        int64_t iy, ix;
                        if (!tap(in, k, oy, ox, i, j, &iy, &ix))
                            continue;
                        double v = x[(m * in.h + iy) * in.w + ix];
                        acc = max ? fmax(acc, v) : acc + v;
                    }
                y[(m * o.h + oy) * o.w + ox] = max ? acc : acc / (double)(k.kh * k.kw);
            }
    return o;
}

void or_global_avgpool(const double *x, or_map in, double *y)
{
    int64_t hw = in.h * in.w;
    for (int64_t m = 0; m < in.n * in.c; m++) {
        double sum = 0;
        for (int64_t i = 0; i < hw; i++)
            sum += x[m * hw + i];
        y[m] = sum / (double)hw;
    }
}

void or_batchnorm(double *x, int64_t n, int64_t c, int64_t spatial, const float *affine,
                  const float *running, double eps)
{
    for (int64_t s = 0; s < n; s++)
        for (int64_t ch = 0; ch < c; ch++) {
            double scale = affine[ch] / sqrt((double)running[c + ch] + eps);
            double *v = x + (s * c + ch) * spatial;
            for (int64_t i = 0; i < spatial; i++)
                v[i] = scale * (v[i] - running[ch]) + affine[c + ch];
        }
}

void or_embedding(const float *ids, int64_t n, int64_t t, const float *table, int64_t vocab,
                  int64_t dim, double *y)
{
    for (int64_t i = 0; i < n * t; i++) {
        int64_t id = (int64_t)ids[i];
        for (int64_t d = 0; d < dim; d++)
            y[i * dim + d] = id >= 0 && id < vocab ? table[id * dim + d] : 0.0;
    }
}

void or_lstm(const double *x, const bool *real, int64_t n, int64_t t, int64_t f,
             const float *w, const float *r, const float *b, int64_t units, double *y)
{
    int64_t g4 = 4 * units;
    double *h = calloc((size_t)units, sizeof *h), *c = calloc((size_t)units, sizeof *c);
    double *z = malloc((size_t)g4 * sizeof *z);
    for (int64_t s = 0; s < n; s++) {
        memset(h, 0, (size_t)units * sizeof *h);
        memset(c, 0, (size_t)units * sizeof *c);
        for (int64_t k = 0; k < t; k++) {
            const double *xt = x + (s * t + k) * f;
            if (!real || real[s * t + k]) {
                for (int64_t j = 0; j < g4; j++) {
                    z[j] = b[j];
                    for (int64_t i = 0; i < f; i++)
                        z[j] += xt[i] * w[i * g4 + j];
                    for (int64_t i = 0; i < units; i++)
                        z[j] += h[i] * r[i * g4 + j];
                }
                for (int64_t u = 0; u < units; u++) {
                    double ig = sigmoid(z[u]), fg = sigmoid(z[units + u]);
                    double gg = tanh(z[2 * units + u]), og = sigmoid(z[3 * units + u]);
                    c[u] = fg * c[u] + ig * gg;
                    h[u] = og * tanh(c[u]);
                }
            }
            memcpy(y + (s * t + k) * units, h, (size_t)units * sizeof *h);
        }
    }
    free(h);
    free(c);
    free(z);
}

void or_pool_sequence(const double *x, const bool *real, int64_t n, int64_t t, int64_t u,
                      bool mean, double *y)
{
    for (int64_t s = 0; s < n; s++) {
        double *out = y + s * u;
        int64_t count = 0;
        memset(out, 0, (size_t)u * sizeof *out);
        for (int64_t k = 0; k < t; k++) {
            if (real && !real[s * t + k])
                continue;
            const double *step = x + (s * t + k) * u;
            for (int64_t j = 0; j < u; j++)
                out[j] = mean ? out[j] + step[j] : step[j];
            count++;
        }
        for (int64_t j = 0; mean && count > 0 && j < u; j++)
            out[j] /= (double)count;
    }
}
