/* .npz archives read back (npz_read.h). */
#include "npz_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file_io.h"

#define NPZ_MAX_BYTES ((size_t)1 << 32)   /* no zip64 */
#define NPZ_MAX_ENTRIES 65535

static uint32_t le(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void npz_close(npz_file *f)
{
    for (int i = 0; i < f->count; i++)
        free(f->entries[i].inflated);
    free(f->entries);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

static int inflate_entry(const char *path, npz_entry *e, const unsigned char *src, size_t len,
                         size_t size, qsdc_error *err)
{
    e->inflated = malloc(size ? size : 1);
    if (!e->inflated)
        return qsdc_fail(err, "%s: out of memory for %s.npy (%zu bytes)", path, e->name, size);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return qsdc_fail(err, "%s: cannot inflate %s.npy", path, e->name);
    z.next_in = (unsigned char *)src;
    z.avail_in = (uInt)len;
    z.next_out = e->inflated;
    z.avail_out = (uInt)size;
    int rc = inflate(&z, Z_FINISH);
    size_t out = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out != size)
        return qsdc_fail(err, "%s: %s.npy does not inflate to its %zu bytes", path, e->name,
                         size);
    e->data = e->inflated;
    e->len = size;
    return 0;
}

/* Central directory entry at p (within the file): the entry it describes. */
static int read_entry(const char *path, npz_file *f, const unsigned char *p,
                      const unsigned char *end, npz_entry *e, size_t *entry_len,
                      qsdc_error *err)
{
    if (end - p < 46 || le(p, 4) != 0x02014b50)
        return qsdc_fail(err, "%s: a damaged zip central directory", path);
    uint32_t method = le(p + 10, 2), csize = le(p + 20, 4), size = le(p + 24, 4);
    size_t name_len = le(p + 28, 2), extra = le(p + 30, 2), comment = le(p + 32, 2);
    uint32_t offset = le(p + 42, 4);
    *entry_len = 46 + name_len + extra + comment;
    if ((size_t)(end - p) < *entry_len)
        return qsdc_fail(err, "%s: a damaged zip central directory", path);
    if (name_len < 5 || name_len - 4 >= sizeof e->name || memcmp(p + 46 + name_len - 4, ".npy", 4))
        return qsdc_fail(err, "%s: entry '%.*s' is not a .npy file", path, (int)name_len,
                         (const char *)p + 46);
    memcpy(e->name, p + 46, name_len - 4);
    e->name[name_len - 4] = '\0';
    if (offset > f->len || f->len - offset < 30 || le(f->bytes + offset, 4) != 0x04034b50)
        return qsdc_fail(err, "%s: %s.npy: no local header at offset %u", path, e->name, offset);
    size_t start = (size_t)offset + 30 + le(f->bytes + offset + 26, 2) +
                   le(f->bytes + offset + 28, 2);
    if (start > f->len || f->len - start < csize)
        return qsdc_fail(err, "%s: %s.npy runs past the end of the file", path, e->name);
    if (method == 0 && csize == size) {
        e->data = f->bytes + start;
        e->len = size;
    } else if (method == 8) {
        if (inflate_entry(path, e, f->bytes + start, csize, size, err) < 0)
            return -1;
    } else {
        return qsdc_fail(err, "%s: %s.npy is compressed with zip method %u (numpy.savez and "
                         "savez_compressed write 0 and 8)", path, e->name, method);
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), e->data, (uInt)e->len);
    if (crc != le(p + 16, 4))
        return qsdc_fail(err, "%s: %s.npy fails its CRC-32 (a damaged file)", path, e->name);
    return 0;
}

int npz_open(const char *path, npz_file *f, qsdc_error *err)
{
    memset(f, 0, sizeof *f);
    if (fs_read_file_max(path, NPZ_MAX_BYTES, &f->bytes, &f->len, err) < 0)
        return -1;
    /* the end record, the last 22 bytes when the archive has no comment */
    if (f->len < 22 || le(f->bytes + f->len - 22, 4) != 0x06054b50) {
        npz_close(f);
        return qsdc_fail(err, "%s: not a .npz (zip) file, or one with a comment", path);
    }
    const unsigned char *eocd = f->bytes + f->len - 22;
    uint32_t n = le(eocd + 10, 2), dir_size = le(eocd + 12, 4), dir_at = le(eocd + 16, 4);
    if (dir_at > f->len - 22 || dir_size > f->len - 22 - dir_at || n > NPZ_MAX_ENTRIES) {
        npz_close(f);
        return qsdc_fail(err, "%s: a damaged zip end record", path);
    }
    f->entries = calloc(n ? n : 1, sizeof *f->entries);
    if (!f->entries) {
        npz_close(f);
        return qsdc_fail(err, "%s: out of memory", path);
    }
    const unsigned char *p = f->bytes + dir_at, *end = p + dir_size;
    for (uint32_t i = 0; i < n; i++) {
        size_t used = 0;
        int rc = read_entry(path, f, p, end, &f->entries[i], &used, err);
        f->count = (int)i + 1;
        if (rc < 0) {
            npz_close(f);
            return -1;
        }
        p += used;
    }
    return 0;
}

npz_entry *npz_find(npz_file *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    return NULL;
}
