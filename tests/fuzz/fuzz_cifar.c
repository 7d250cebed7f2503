/* libFuzzer harness: the CIFAR-10 binary loader (runtime/data_cifar.c) on
 * one or two files taken from the input:
 *
 *   byte 0      bit 0: two files; bits 1-4: the model's classes - 1
 *   bytes 1-2   with two files: the first's length (little-endian, reduced
 *               modulo what is left)
 *   the rest    the first file, then the second
 *
 * A loaded set must hold 3x32x32 samples in [0, 1] with labels below the
 * model's classes; a rejected one must fail with a message naming one of
 * the files. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loaded(const dataset *d, int64_t classes)
{
    if (d->count < 1 || d->rank != 3 || d->dims[0] != 3 || d->dims[1] != 32 ||
        d->dims[2] != 32 || d->sample_elems != 3 * 32 * 32 || !d->y)
        abort();
    for (int64_t i = 0; i < d->count; i++)
        if (d->y[i] < 0 || d->y[i] >= classes)
            abort();
    for (int64_t i = 0; i < d->count * d->sample_elems; i++)
        if (!(d->x[i] >= 0.0f && d->x[i] <= 1.0f))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool two = data[0] & 1;
    int64_t classes = ((data[0] >> 1) & 15) + 1;
    size_t head = two ? 3 : 1;
    if (size < head)
        return 0;
    size_t rest = size - head, first = rest;
    if (two)
        first = ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1);
    const char *paths[2] = {fuzz_write("a.bin", data + head, first), NULL};
    if (two)
        paths[1] = fuzz_write("b.bin", data + head + first, rest - first);
    dataset d;
    qsdc_error err = {{0}};
    if (cifar_load(paths, two ? 2 : 1, classes, &d, &err) < 0) {
        bool names_b = two && strncmp(err.message, paths[1], strlen(paths[1])) == 0;
        fuzz_expect_error(&err, names_b ? paths[1] : paths[0]);
        return 0;
    }
    check_loaded(&d, classes);
    dataset_free(&d);
    return 0;
}
