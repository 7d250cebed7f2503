/* A data set's samples against the model's input, dimension by dimension.
 * Shapes match when they are equal once dimensions of size 1 are dropped
 * (a 28x28 image fits [1, 28, 28]), or when either is a flat vector of the
 * same size (a dense model reads any sample flattened). Anything else is an
 * error naming both shapes: an image stored height-width-channel against a
 * [C, H, W] model has the right size but would be read scrambled, so it
 * needs layout nhwc, which transposes it on load. */
#include "data.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dataset_format_shape(const int64_t *dims, int rank, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%" PRId64, i ? "x" : "", dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int squeeze(const int64_t *dims, int rank, int64_t *out)
{
    int n = 0;
    for (int i = 0; i < rank; i++)
        if (dims[i] != 1)
            out[n++] = dims[i];
    return n;
}

static bool shapes_fit(const dataset *d, const int64_t *shape, int rank, int64_t elems)
{
    if (d->sample_elems != elems)
        return false;
    if (d->rank == 1 || rank == 1)
        return true;
    int64_t a[4], b[QSDC_MAX_RANK];
    int na = squeeze(d->dims, d->rank, a), nb = squeeze(shape, rank, b);
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

/* [H, W, C] samples to [C, H, W], in place of d->x. */
static int transpose_hwc(dataset *d, const char *path, qsdc_error *err)
{
    int64_t h = d->dims[0], w = d->dims[1], c = d->dims[2], n = d->sample_elems;
    float *x = malloc((size_t)(d->count * n) * sizeof *x + 1);
    if (!x)
        return qsdc_fail(err, "%s: out of memory transposing to channels first", path);
    for (int64_t i = 0; i < d->count; i++) {
        const float *src = d->x + i * n;
        float *dst = x + i * n;
        for (int64_t y = 0; y < h; y++)
            for (int64_t xx = 0; xx < w; xx++)
                for (int64_t k = 0; k < c; k++)
                    dst[(k * h + y) * w + xx] = src[(y * w + xx) * c + k];
    }
    free(d->x);
    d->x = x;
    return 0;
}

int dataset_fit_input(dataset *d, const char *path, const int64_t *shape, int rank,
                      data_layout layout, qsdc_error *err)
{
    int64_t elems = 1;
    for (int i = 0; i < rank; i++)
        elems *= shape[i];
    char have[96], want[96];
    dataset_format_shape(d->dims, d->rank, have, sizeof have);
    dataset_format_shape(shape, rank, want, sizeof want);
    if (layout == LAYOUT_NHWC) {
        if (rank != 3 || d->rank != 3 || d->dims[0] != shape[1] || d->dims[1] != shape[2] ||
            d->dims[2] != shape[0])
            return qsdc_fail(err, "%s: samples are %s but layout nhwc needs %" PRId64 "x%"
                             PRId64 "x%" PRId64 " (height, width, channels) for the model's "
                             "input %s", path, have, rank == 3 ? shape[1] : 0,
                             rank == 3 ? shape[2] : 0, rank == 3 ? shape[0] : 0, want);
        if (transpose_hwc(d, path, err) < 0)
            return -1;
    } else if (!shapes_fit(d, shape, rank, elems)) {
        bool hwc = rank == 3 && d->rank == 3 && d->dims[0] == shape[1] &&
                   d->dims[1] == shape[2] && d->dims[2] == shape[0];
        return qsdc_fail(err, "%s: samples are %s but the model's input is %s%s", path, have,
                         want, hwc ? " (channels first); samples stored height-width-channel "
                                     "need layout nhwc" : "");
    }
    d->rank = rank;
    memcpy(d->dims, shape, (size_t)rank * sizeof *shape);
    return 0;
}
