/* libFuzzer harness: the .npz loader (runtime/data_npz.c) on the input as
 * the archive. libzip parses the zip; the members x/arr_0 and y/arr_1 go
 * to the .npy parser, labels required when the input's length is odd. A
 * loaded set must be self-consistent; a rejected archive must fail with a
 * message that names its path. */
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("d.npz", data, size);
    dataset d;
    qsdc_error err = {{0}};
    if (npz_load(path, size % 2, &d, &err) < 0) {
        fuzz_expect_error(&err, path);
        return 0;
    }
    int64_t elems = 1;
    for (int i = 0; i < d.rank; i++)
        elems *= d.dims[i];
    if (d.count < 1 || d.rank < 1 || d.rank > 4 || elems != d.sample_elems || !d.x ||
        (size % 2 && !d.y))
        abort();
    int32_t top = -1;  /* n_classes is one more than the largest label */
    for (int64_t i = 0; d.y && i < d.count; i++) {
        if (d.y[i] < 0)
            abort();
        top = d.y[i] > top ? d.y[i] : top;
    }
    if (d.y && top + 1 != d.n_classes)
        abort();
    dataset_free(&d);
    return 0;
}
