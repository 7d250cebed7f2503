/* libFuzzer harness: standardisation statistics saved with a checkpoint
 * (runtime/feature_stats.c, DIR/standardize.txt). Byte 0 chooses:
 *
 *   below 128   the rest is the body, under a header the harness writes
 *               with byte 0 % 16 + 1 features and the body's true checksum,
 *               so the fuzzer reaches the line parser;
 *   otherwise   the rest is the whole file, header included.
 *
 * Read statistics must hold the header's count of finite means and
 * positive finite deviations; a rejected file must fail with a message
 * naming it. */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "feature_stats.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path;
    int64_t want = -1;
    if (data[0] < 128) {
        want = data[0] % 16 + 1;
        char head[128];
        int k = snprintf(head, sizeof head,
                         "qsdc standardize 1\nfeatures %" PRId64 "\nchecksum %016" PRIx64 "\n",
                         want, checksum_of(data + 1, size - 1));
        uint8_t *file = malloc((size_t)k + size - 1);
        if (!file)
            abort();
        memcpy(file, head, (size_t)k);
        memcpy(file + k, data + 1, size - 1);
        path = fuzz_write("standardize.txt", file, (size_t)k + size - 1);
        free(file);
    } else {
        path = fuzz_write("standardize.txt", data + 1, size - 1);
    }
    feature_stats s;
    qsdc_error err = {{0}};
    if (feature_stats_read(fuzz_dir(), &s, &err) < 0) {
        fuzz_expect_error(&err, path);
        return 0;
    }
    if (s.n < 1 || (want > 0 && s.n != want))
        abort();
    for (int64_t f = 0; f < s.n; f++)
        if (!isfinite(s.mean[f]) || !isfinite(s.std[f]) || !(s.std[f] > 0))
            abort();
    feature_stats_free(&s);
    return 0;
}
