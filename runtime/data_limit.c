/* The bound on a data set's size in memory, so that a small compressed or
 * crafted file cannot make a run take all of the machine's memory. */
#include "data.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "file_io.h"

#define DEFAULT_MAX_DATA_MIB 4096

int data_max_bytes(uint64_t *out, qsdc_error *err)
{
    const char *env = getenv("QSDC_MAX_DATA_MIB");
    uint64_t mib = DEFAULT_MAX_DATA_MIB;
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end || env[0] == '-' || v == 0 || v > (UINT64_MAX >> 20))
            return qsdc_fail(err, "QSDC_MAX_DATA_MIB=%s: expected a positive number of "
                             "MiB", env);
        mib = v;
    }
    *out = mib << 20;
    return 0;
}

int data_check_size(const char *path, uint64_t count, uint64_t item_bytes,
                    const char *what, qsdc_error *err)
{
    uint64_t max;
    if (data_max_bytes(&max, err) < 0)
        return -1;
    if (item_bytes == 0 || count <= max / item_bytes)
        return 0;
    return qsdc_fail(err, "%s: %s would take %.0f MiB of memory, over the limit of %"
                     PRIu64 " MiB (QSDC_MAX_DATA_MIB raises it)", path, what,
                     ceil((double)count * (double)item_bytes / (1 << 20)), max >> 20);
}

int data_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err)
{
    uint64_t max;
    if (data_max_bytes(&max, err) < 0)
        return -1;
    return fs_read_file_max(path, max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max, data,
                            len, err);
}
