/* NumPy .npz archives (data sets, weights) read back through libzip:
 * every NAME.npy member (stored by numpy.savez, deflated by
 * savez_compressed, ZIP64 or not) read whole into memory, its CRC-32
 * checked. */
#ifndef QSDC_NPZ_READ_H
#define QSDC_NPZ_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct npz_entry {
    char name[256];        /* without .npy */
    unsigned char *data;   /* the .npy file */
    size_t len;
    bool used;             /* for the caller: taken */
} npz_entry;

typedef struct npz_file {
    npz_entry *entries;
    int count;
} npz_file;

int npz_open(const char *path, npz_file *f, qsdc_error *err);
/* The entry name (without .npy), or NULL. */
npz_entry *npz_find(npz_file *f, const char *name);
void npz_close(npz_file *f);

#endif
