/* NumPy .npz archives of float32 arrays: a zip of NAME.npy files, stored
 * (uncompressed, as numpy.savez writes them), built in memory and written
 * atomically. No zip64: an archive stays under 4 GiB. */
#ifndef QSDC_NPZ_WRITE_H
#define QSDC_NPZ_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct npz_writer {
    unsigned char *files;      /* local headers and the .npy files */
    size_t files_len, files_cap;
    unsigned char *dir;        /* the central directory */
    size_t dir_len, dir_cap;
    int count;
} npz_writer;

void npz_init(npz_writer *w);
void npz_free(npz_writer *w);
/* Adds the array name (numpy's key; the file is name.npy) of rank dims. */
int npz_add(npz_writer *w, const char *name, int rank, const int64_t *dims, const float *v,
            qsdc_error *err);
int npz_write(npz_writer *w, const char *path, qsdc_error *err);

#endif
