/* .npz archives (npz_write.h): zip's local file headers, each followed by
 * its stored .npy, then the central directory and its end record. */
#include "npz_write.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file_io.h"
#include "npy.h"

#define ZIP_MAX 0xffffffffu
#define ZIP_VERSION 20      /* 2.0: what a stored file needs */
#define ZIP_DOS_DATE 0x21   /* 1980-01-01, for bytes that do not depend on the clock */

void npz_init(npz_writer *w)
{
    memset(w, 0, sizeof *w);
}

void npz_free(npz_writer *w)
{
    free(w->files);
    free(w->dir);
    memset(w, 0, sizeof *w);
}

static unsigned char *grow(unsigned char **b, size_t *len, size_t *cap, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        unsigned char *nb = realloc(*b, c);
        if (!nb)
            return NULL;
        *b = nb;
        *cap = c;
    }
    unsigned char *p = *b + *len;
    *len += n;
    return p;
}

static unsigned char *le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

/* The fields a local header and a central directory entry share, from
 * "version needed" to the name's length. */
static unsigned char *common(unsigned char *p, uint32_t crc, uint32_t size, size_t name_len)
{
    p = le(p, ZIP_VERSION, 2);
    p = le(p, 0, 2);              /* flags */
    p = le(p, 0, 2);              /* stored */
    p = le(p, 0, 2);              /* time */
    p = le(p, ZIP_DOS_DATE, 2);
    p = le(p, crc, 4);
    p = le(p, size, 4);           /* compressed */
    p = le(p, size, 4);
    return le(p, (uint32_t)name_len, 2);
}

int npz_add(npz_writer *w, const char *name, int rank, const int64_t *dims, const float *v,
            qsdc_error *err)
{
    char head[256], file[512];
    size_t head_len = npy_header_f32(head, sizeof head, rank, dims);
    int fn = snprintf(file, sizeof file, "%s.npy", name);
    if (head_len == 0 || fn < 0 || (size_t)fn >= sizeof file)
        return qsdc_fail(err, "%s: name or shape too long for an .npz entry", name);
    size_t name_len = (size_t)fn, n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    size_t size = head_len + 4 * n, offset = w->files_len;
    if (size > ZIP_MAX || offset + 30 + name_len + size > ZIP_MAX || w->count == 0xffff)
        return qsdc_fail(err, "%s: the .npz would pass 4 GiB or 65535 arrays", name);
    unsigned char *p = grow(&w->files, &w->files_len, &w->files_cap, 30 + name_len + size);
    unsigned char *d = p ? grow(&w->dir, &w->dir_len, &w->dir_cap, 46 + name_len) : NULL;
    if (!d)
        return qsdc_fail(err, "%s: out of memory for the .npz", name);
    unsigned char *data = p + 30 + name_len;
    memcpy(data, head, head_len);
    npy_f32_bytes(v, n, data + head_len);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
    p = le(p, 0x04034b50, 4);
    p = common(p, crc, (uint32_t)size, name_len);
    p = le(p, 0, 2);              /* extra field */
    memcpy(p, file, name_len);
    d = le(d, 0x02014b50, 4);
    d = le(d, ZIP_VERSION, 2);    /* made by */
    d = common(d, crc, (uint32_t)size, name_len);
    d = le(d, 0, 2);              /* extra field */
    d = le(d, 0, 2);              /* comment */
    d = le(d, 0, 2);              /* disk */
    d = le(d, 0, 2);              /* internal attributes */
    d = le(d, 0, 4);              /* external attributes */
    d = le(d, (uint32_t)offset, 4);
    memcpy(d, file, name_len);
    w->count++;
    return 0;
}

int npz_write(npz_writer *w, const char *path, qsdc_error *err)
{
    if (w->files_len + w->dir_len > ZIP_MAX)
        return qsdc_fail(err, "%s: the .npz would pass 4 GiB", path);
    unsigned char *e = grow(&w->dir, &w->dir_len, &w->dir_cap, 22);
    if (!e)
        return qsdc_fail(err, "%s: out of memory", path);
    uint32_t dir_size = (uint32_t)(w->dir_len - 22);
    e = le(e, 0x06054b50, 4);
    e = le(e, 0, 2);              /* this disk */
    e = le(e, 0, 2);              /* the directory's disk */
    e = le(e, (uint32_t)w->count, 2);
    e = le(e, (uint32_t)w->count, 2);
    e = le(e, dir_size, 4);
    e = le(e, (uint32_t)w->files_len, 4);
    le(e, 0, 2);                  /* comment */
    int rc = fs_write_atomic(path, w->files, w->files_len, w->dir, w->dir_len, err);
    w->dir_len -= 22;
    return rc;
}
