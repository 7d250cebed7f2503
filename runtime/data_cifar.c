/* CIFAR-10 binary loader: each file is a sequence of 3073-byte records, one
 * label byte (0 to 9) and 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
 * each 32 rows of 32), which is already the [3, 32, 32] channel-first layout
 * of a sample. Files are read plainly (the data set ships them unpacked). */
#include "data.h"
#include "file_io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_CLASSES 10

/* The number of records in path, from its size. */
static int count_records(const char *path, int64_t *records, qsdc_error *err)
{
    int64_t size;
    int fd = fs_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    close(fd);
    if (size == 0)
        return qsdc_fail(err, "%s: offset 0: empty file, expected CIFAR-10 records of %d "
                         "bytes", path, CIFAR_RECORD);
    if (size % CIFAR_RECORD != 0)
        return qsdc_fail(err, "%s: offset %" PRId64 ": truncated record: the file has %"
                         PRId64 " bytes, not a whole number of %d-byte CIFAR-10 records",
                         path, size / CIFAR_RECORD * CIFAR_RECORD, size, CIFAR_RECORD);
    *records = size / CIFAR_RECORD;
    return 0;
}

/* Reads path's records into x and y from sample `first` on. */
static int read_file(const char *path, int64_t records, int64_t classes, float *x,
                     int32_t *y, qsdc_error *err)
{
    FILE *f = fs_fopen_regular(path, NULL, err);
    if (!f)
        return -1;
    uint8_t rec[CIFAR_RECORD];
    int rc = 0;
    for (int64_t r = 0; r < records && rc == 0; r++) {
        int64_t at = r * CIFAR_RECORD;
        if (fread(rec, 1, sizeof rec, f) != sizeof rec) {
            rc = ferror(f) ? qsdc_fail(err, "%s: offset %" PRId64 ": read error: %s", path,
                                       at, strerror(errno))
                           : qsdc_fail(err, "%s: offset %" PRId64 ": unexpected end of file "
                                       "(the file shrank while being read)", path, at);
            break;
        }
        if (rec[0] >= CIFAR_CLASSES)
            rc = qsdc_fail(err, "%s: offset %" PRId64 ": label %d of record %" PRId64
                           " is not a CIFAR-10 class (0 to 9)", path, at, rec[0], r);
        else if (rec[0] >= classes)
            rc = qsdc_fail(err, "%s: offset %" PRId64 ": label %d of record %" PRId64
                           " is outside the model's %" PRId64 " classes", path, at, rec[0],
                           r, classes);
        y[r] = rec[0];
        for (int i = 0; i < CIFAR_PIXELS; i++)
            x[r * CIFAR_PIXELS + i] = (float)rec[1 + i] / 255.0f;
    }
    fclose(f);
    return rc;
}

int cifar_load(const char *const *paths, int n_paths, int64_t classes, dataset *out,
               qsdc_error *err)
{
    int64_t total = 0, records[16];
    if (n_paths < 1 || n_paths > 16)
        return qsdc_fail(err, "cifar10: %d files given, 1 to 16 supported", n_paths);
    for (int i = 0; i < n_paths; i++) {
        if (count_records(paths[i], &records[i], err) < 0)
            return -1;
        total += records[i];
    }
    char what[64];
    snprintf(what, sizeof what, "%" PRId64 " CIFAR-10 samples", total);
    if (data_check_size(paths[0], (uint64_t)total, (CIFAR_PIXELS + 1) * sizeof(float),
                        what, err) < 0)
        return -1;
    dataset d = {.count = total, .rank = 3, .dims = {3, CIFAR_SIDE, CIFAR_SIDE},
                 .sample_elems = CIFAR_PIXELS};
    d.x = malloc((size_t)total * CIFAR_PIXELS * sizeof *d.x);
    d.y = malloc((size_t)total * sizeof *d.y);
    if (!d.x || !d.y) {
        dataset_free(&d);
        return qsdc_fail(err, "%s: out of memory for %" PRId64 " CIFAR-10 samples", paths[0],
                         total);
    }
    int64_t first = 0;
    for (int i = 0; i < n_paths; i++) {
        if (read_file(paths[i], records[i], classes, d.x + first * CIFAR_PIXELS, d.y + first,
                      err) < 0) {
            dataset_free(&d);
            return -1;
        }
        first += records[i];
    }
    for (int64_t i = 0; i < total; i++)
        if (d.y[i] + 1 > d.n_classes)
            d.n_classes = d.y[i] + 1;
    *out = d;
    return 0;
}
