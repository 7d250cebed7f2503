/* libFuzzer harness: the .npy loader (runtime/data_npy.c, data_npy_load.c)
 * on a samples file and, optionally, a labels file, both from the input:
 *
 *   byte 0      bit 0: there is a labels file; bit 1: fit the samples to a
 *               [C, H, W] input with layout nhwc, else to a flat one
 *   bytes 1-2   with labels: the samples file's length (little-endian,
 *               reduced modulo what is left)
 *   the rest    the samples file, then the labels file
 *
 * A loaded set must be self-consistent, and fitting it must succeed or fail
 * naming the samples file; a rejected file must fail with a message naming
 * one of the two files and an offset. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loaded(dataset *d, const char *samples, const char *labels, bool nhwc)
{
    int64_t elems = 1;
    for (int i = 0; i < d->rank; i++)
        elems *= d->dims[i];
    if (d->count < 1 || d->rank < 1 || d->rank > 4 || elems != d->sample_elems ||
        (labels && !d->y) || (!labels && d->y))
        abort();
    for (int64_t i = 0; d->y && i < d->count; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            abort();
    int64_t shape[3] = {d->sample_elems, 1, 1};
    if (nhwc && d->rank == 3) {
        shape[0] = d->dims[2];
        shape[1] = d->dims[0];
        shape[2] = d->dims[1];
    }
    qsdc_error err = {{0}};
    int rc = dataset_fit_input(d, samples, shape, nhwc ? 3 : 1,
                               nhwc ? LAYOUT_NHWC : LAYOUT_AUTO, &err);
    if (rc < 0)
        fuzz_expect_error(&err, samples);
    else if (d->sample_elems != shape[0] * (nhwc ? shape[1] * shape[2] : 1))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool with_labels = data[0] & 1, nhwc = data[0] & 2;
    size_t head = with_labels ? 3 : 1;
    if (size < head)
        return 0;
    size_t rest = size - head, n_samples = rest;
    if (with_labels)
        n_samples = ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1);
    const char *samples = fuzz_write("x.npy", data + head, n_samples);
    const char *labels =
        with_labels ? fuzz_write("y.npy", data + head + n_samples, rest - n_samples) : NULL;
    dataset d;
    qsdc_error err = {{0}};
    if (npy_load(samples, labels, &d, &err) < 0) {
        bool names_labels = labels && strncmp(err.message, labels, strlen(labels)) == 0;
        fuzz_expect_error(&err, names_labels ? labels : samples);
        if (!strstr(err.message, ": offset "))
            abort();
        return 0;
    }
    check_loaded(&d, samples, labels, nhwc);
    dataset_free(&d);
    return 0;
}
