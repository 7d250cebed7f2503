/* libFuzzer harness: the PNG decoder of image folders (runtime/data_png.c)
 * against a model input taken from the input:
 *
 *   byte 0      bit 0: three channels, else one
 *   bytes 1-2   height and width, each 1 + byte % 16
 *   the rest    the PNG file
 *
 * A decoded image must be all in [0, 1]; a rejected one must fail with a
 * message naming the file. */
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const int64_t chw[3] = {data[0] & 1 ? 3 : 1, 1 + data[1] % 16, 1 + data[2] % 16};
    float out[3 * 16 * 16];
    qsdc_error err = {{0}};
    if (png_read_sample("f.png", data + 3, size - 3, chw, out, &err) < 0) {
        fuzz_expect_error(&err, "f.png: ");
        return 0;
    }
    for (int64_t i = 0; i < chw[0] * chw[1] * chw[2]; i++)
        if (!(out[i] >= 0 && out[i] <= 1))
            abort();
    return 0;
}
