/* NumPy .npz archives of float32 arrays: a zip of NAME.npy files, stored
 * (uncompressed, as numpy.savez writes them), built in memory by libzip and
 * written atomically. No zip64: an archive stays under 4 GiB. */
#ifndef QSDC_NPZ_WRITE_H
#define QSDC_NPZ_WRITE_H

#include <stdint.h>
#include <zip.h>

#include "error.h"

typedef struct npz_writer {
    zip_source_t *buf;   /* the archive's bytes, once npz_write closed it */
    zip_t *zip;          /* open until npz_write */
} npz_writer;

void npz_init(npz_writer *w);
void npz_free(npz_writer *w);
/* Adds the array name (numpy's key; the file is name.npy) of rank dims. */
int npz_add(npz_writer *w, const char *name, int rank, const int64_t *dims, const float *v,
            qsdc_error *err);
/* Writes the archive to path; once per writer. */
int npz_write(npz_writer *w, const char *path, qsdc_error *err);

#endif
