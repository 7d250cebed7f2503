/* libFuzzer harness: the IDX loader (runtime/data_idx.c) on an image file
 * and, optionally, a label file, both taken from the input:
 *
 *   byte 0      bit 0: there is a label file
 *   bytes 1-2   with labels: the image file's length (little-endian,
 *               reduced modulo what is left)
 *   the rest    the image file, then the label file
 *
 * Every element type the format defines is read. The files are written to
 * a private directory (the loader reads paths and detects gzip by
 * content). A loaded set must be self-consistent and pass
 * or fail dataset_check with a message naming a path; a rejected one must
 * fail with a message naming one of the two files. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loaded(const dataset *d, const char *images, const char *labels)
{
    int64_t elems = 1;
    for (int i = 0; i < d->rank; i++)
        elems *= d->dims[i];
    if (d->count < 1 || d->rank < 1 || d->rank > 3 || elems != d->sample_elems ||
        (labels && !d->y) || (!labels && d->y))
        abort();
    /* bytes scale to [0, 1]; the other types keep their values, all finite */
    for (int64_t i = 0; i < d->count * d->sample_elems; i++)
        if (!isfinite(d->x[i]))
            abort();
    qsdc_error err = {{0}};
    if (dataset_check(d, labels, 10, images, d->sample_elems, &err) < 0)
        fuzz_expect_error(&err, labels);
    if (dataset_check(d, labels, 10, images, d->sample_elems + 1, &err) == 0)
        abort();
    fuzz_expect_error(&err, images);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int with_labels = data[0] & 1;
    size_t head = with_labels ? 3 : 1;
    if (size < head)
        return 0;
    size_t rest = size - head, n_images = rest;
    if (with_labels)
        n_images = ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1);
    const char *images = fuzz_write("images.idx", data + head, n_images);
    const char *labels =
        with_labels ? fuzz_write("labels.idx", data + head + n_images, rest - n_images) : NULL;
    dataset d;
    qsdc_error err = {{0}};
    if (idx_load(images, labels, 0, &d, &err) < 0) {
        bool names_labels = labels && strncmp(err.message, labels, strlen(labels)) == 0;
        fuzz_expect_error(&err, names_labels ? labels : images);
        return 0;
    }
    check_loaded(&d, images, labels);
    dataset_free(&d);
    return 0;
}
