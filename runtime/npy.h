/* NumPy .npy arrays: the header parser and element reader behind the npy
 * data format, and the float32 writer behind qsdc predict's OUT.npy. */
#ifndef QSDC_NPY_H
#define QSDC_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NPY_MAX_RANK 5   /* the sample count and a sample of up to 4 dims */

typedef struct npy_array {
    int rank;
    int64_t dims[NPY_MAX_RANK];
    char kind;                  /* 'f' float, 'u' unsigned, 'i' signed integer */
    int size;                   /* bytes per element: 1, 4 or 8 */
    bool big_endian;
    uint64_t count;             /* elements: the product of dims */
    const unsigned char *data;  /* into the parsed buffer */
    size_t data_offset;         /* of data in the file */
} npy_array;

/* Parses the .npy file b[0, len) read from path; the array's data stay in
 * b. Errors name path and offset: bad magic, a version other than 1.0 or
 * 2.0, a header that is not exactly numpy's dict, fortran_order True, an
 * unsupported dtype, or data that do not fill the file exactly. */
int npy_parse(const char *path, const unsigned char *b, size_t len, npy_array *out,
              qsdc_error *err);
/* Element i of a as a double (exact for every integer below 2^53). */
double npy_element(const npy_array *a, uint64_t i);
/* The version 1.0 header of a little-endian float32 array of rank dims
 * (rank <= NPY_MAX_RANK), padded as numpy pads it, into head (cap bytes;
 * 256 hold any). Returns its length, or 0 when it does not fit. */
size_t npy_header_f32(char *head, size_t cap, int rank, const int64_t *dims);
/* n floats as little-endian bytes into out (4 n bytes). */
void npy_f32_bytes(const float *x, size_t n, unsigned char *out);
/* Writes rows x cols float32 values to path as a version 1.0 .npy,
 * atomically. */
int npy_write_f32(const char *path, const float *x, int64_t rows, int64_t cols,
                  qsdc_error *err);

#endif
