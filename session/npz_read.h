/* NumPy .npz archives read back: the zip's central directory indexed, each
 * NAME.npy entry stored (numpy.savez) or deflated (numpy.savez_compressed,
 * inflated on open), every offset and size checked against the file. */
#ifndef QSDC_NPZ_READ_H
#define QSDC_NPZ_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct npz_entry {
    char name[256];              /* without .npy */
    const unsigned char *data;   /* the .npy file */
    size_t len;
    unsigned char *inflated;     /* data, when it was deflated */
    bool used;                   /* for the caller: taken */
} npz_entry;

typedef struct npz_file {
    unsigned char *bytes;
    size_t len;
    npz_entry *entries;
    int count;
} npz_file;

int npz_open(const char *path, npz_file *f, qsdc_error *err);
/* The entry name (without .npy), or NULL. */
npz_entry *npz_find(npz_file *f, const char *name);
void npz_close(npz_file *f);

#endif
