/* .npy data sets: samples from one array (the first dimension counts them),
 * labels from another. Floats stay as they are, uint8 is scaled to [0, 1]
 * as IDX bytes are, and int32/int64 samples are token ids kept exact. */
#include "data.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

static int fill_samples(const char *path, const npy_array *a, dataset *d, qsdc_error *err)
{
    if (a->rank < 2)
        return qsdc_fail(err, "%s: offset %zu: a samples array of rank %d; expected 2 to %d "
                         "(the sample count, then the sample shape)", path, a->data_offset,
                         a->rank, NPY_MAX_RANK);
    if (a->count == 0)
        return qsdc_fail(err, "%s: offset %zu: the array holds no samples", path,
                         a->data_offset);
    char what[64];
    snprintf(what, sizeof what, "%" PRIu64 " float elements", a->count);
    if (data_check_size(path, a->count, sizeof(float), what, err) < 0)
        return -1;
    d->count = a->dims[0];
    d->rank = a->rank - 1;
    d->sample_elems = (int64_t)(a->count / (uint64_t)d->count);
    memcpy(d->dims, a->dims + 1, (size_t)d->rank * sizeof *d->dims);
    d->integers = a->kind == 'i';
    if (!(d->x = malloc((size_t)a->count * sizeof *d->x)))
        return qsdc_fail(err, "%s: out of memory", path);
    float scale = a->kind == 'u' ? 1.0f / 255.0f : 1.0f;
    for (uint64_t i = 0; i < a->count; i++) {
        d->x[i] = a->kind == 'u' ? (float)npy_element(a, i) * scale : (float)npy_element(a, i);
        if (!isfinite(d->x[i]))
            return qsdc_fail(err, "%s: offset %zu: element %" PRIu64 " is not a finite "
                             "float32", path, a->data_offset + (size_t)i * (size_t)a->size, i);
    }
    return 0;
}

static int fill_labels(const char *path, const npy_array *a, dataset *d, qsdc_error *err)
{
    if (a->kind == 'f')
        return qsdc_fail(err, "%s: offset %zu: labels are floats; expected an integer "
                         "dtype (uint8, int32 or int64)", path, a->data_offset);
    if (a->rank != 1 || a->dims[0] != d->count)
        return qsdc_fail(err, "%s: offset %zu: labels of rank %d and %" PRId64 " elements; "
                         "expected one label for each of %" PRId64 " samples", path,
                         a->data_offset, a->rank, a->rank ? a->dims[0] : 0, d->count);
    if (!(d->y = malloc((size_t)d->count * sizeof *d->y + 1)))
        return qsdc_fail(err, "%s: out of memory", path);
    for (int64_t i = 0; i < d->count; i++) {
        double v = npy_element(a, (uint64_t)i);
        if (v < 0 || v > INT32_MAX)
            return qsdc_fail(err, "%s: offset %zu: label %.0f at index %" PRId64 " is not a "
                             "class (0 or more)", path,
                             a->data_offset + (size_t)i * (size_t)a->size, v, i);
        d->y[i] = (int32_t)v;
        if (d->y[i] + 1 > d->n_classes)
            d->n_classes = d->y[i] + 1;
    }
    return 0;
}

int npy_load_bytes(const char *x_name, const unsigned char *x, size_t x_len,
                   const char *labels_name, const unsigned char *y, size_t y_len, dataset *out,
                   qsdc_error *err)
{
    dataset d = {0};
    npy_array xa, ya;
    int rc = npy_parse(x_name, x, x_len, &xa, err) < 0 ||
             (labels_name && npy_parse(labels_name, y, y_len, &ya, err) < 0) ||
             fill_samples(x_name, &xa, &d, err) < 0 ||
             (labels_name && fill_labels(labels_name, &ya, &d, err) < 0) ? -1 : 0;
    if (rc < 0)
        dataset_free(&d);
    else
        *out = d;
    return rc;
}

int npy_load(const char *x_path, const char *labels_path, dataset *out, qsdc_error *err)
{
    unsigned char *xf = NULL, *yf = NULL;
    size_t x_len = 0, y_len = 0;
    int rc = data_read_file(x_path, &xf, &x_len, err) < 0 ||
             (labels_path && data_read_file(labels_path, &yf, &y_len, err) < 0) ||
             npy_load_bytes(x_path, xf, x_len, labels_path, yf, y_len, out, err) < 0 ? -1 : 0;
    free(xf);
    free(yf);
    return rc;
}
