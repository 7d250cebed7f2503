/* libFuzzer harness: the numeric CSV loader (runtime/data_table.c):
 *
 *   byte 0      bit 0: the label column is required
 *   the rest    the file
 *
 * A loaded set must be self-consistent (finite features, labels that are
 * classes); a rejected file must fail with a message naming it and an
 * offset. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool need_labels = data[0] & 1;
    const char *path = fuzz_write("t.csv", data + 1, size - 1);
    dataset d;
    qsdc_error err = {{0}};
    if (table_load(path, "label", need_labels, &d, &err) < 0) {
        fuzz_expect_error(&err, path);
        if (!strstr(err.message, ": offset "))
            abort();
        return 0;
    }
    if (d.count < 1 || d.rank != 1 || d.sample_elems < 1 || (need_labels && !d.y))
        abort();
    for (int64_t i = 0; i < d.count * d.sample_elems; i++)
        if (!isfinite(d.x[i]))
            abort();
    for (int64_t i = 0; d.y && i < d.count; i++)
        if (d.y[i] < 0 || d.y[i] >= d.n_classes)
            abort();
    dataset_free(&d);
    return 0;
}
