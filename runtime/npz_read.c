/* .npz archives read back (npz_read.h). */
#include "npz_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define NPZ_MAX_BYTES ((zip_uint64_t)4 << 30)  /* all members together */
#define NPZ_MAX_ENTRIES 65535

void npz_close(npz_file *f)
{
    for (int i = 0; i < f->count; i++)
        free(f->entries[i].data);
    free(f->entries);
    memset(f, 0, sizeof *f);
}

/* Reads up to size bytes of f into *data (NULL when out of memory),
 * growing the buffer as bytes arrive: the size is the archive's word, and a
 * few hundred crafted bytes may claim gigabytes. Returns the count read. */
static zip_int64_t read_grown(zip_file_t *f, size_t size, unsigned char **data)
{
    size_t cap = size < (1u << 20) ? size : 1u << 20, used = 0;
    *data = malloc(cap + 1);
    while (*data && used < size) {
        if (used == cap) {
            cap = cap > size / 2 ? size : cap * 2;
            unsigned char *grown = realloc(*data, cap + 1);
            if (!grown) {
                free(*data);
                *data = NULL;
                break;
            }
            *data = grown;
        }
        zip_int64_t got = zip_fread(f, *data + used, cap - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    return *data ? (zip_int64_t)used : -1;
}

/* Member i of z into e; *total counts the bytes read so far. */
static int read_member(zip_t *z, const char *path, zip_uint64_t i, npz_entry *e,
                       zip_uint64_t *total, qsdc_error *err)
{
    const char *name = zip_get_name(z, i, 0);
    size_t n = name ? strlen(name) : 0;
    if (n < 5 || n - 4 >= sizeof e->name || strcmp(name + n - 4, ".npy") != 0)
        return qsdc_fail(err, "%s: member '%s' is not a .npy file", path, name ? name : "");
    memcpy(e->name, name, n - 4);
    e->name[n - 4] = '\0';
    zip_stat_t st;
    if (zip_stat_index(z, i, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE))
        return qsdc_fail(err, "%s: %s does not say its size", path, name);
    if (st.size > NPZ_MAX_BYTES - *total)
        return qsdc_fail(err, "%s: its arrays pass 4 GiB", path);
    *total += st.size;
    zip_file_t *zf = zip_fopen_index(z, i, 0);
    zip_int64_t got = zf ? read_grown(zf, (size_t)st.size, &e->data) : -1;
    if (zf && !e->data) {
        zip_fclose(zf);
        return qsdc_fail(err, "%s: out of memory for %s", path, name);
    }
    /* a CRC mismatch shows once the member is read to its end */
    if ((zf && zip_fclose(zf) != 0) || got != (zip_int64_t)st.size)
        return qsdc_fail(err, "%s: %s is damaged (read %lld of %llu bytes, or a bad CRC-32)",
                         path, name, (long long)got, (unsigned long long)st.size);
    e->len = (size_t)st.size;
    return 0;
}

int npz_open(const char *path, npz_file *f, qsdc_error *err)
{
    memset(f, 0, sizeof *f);
    int code;
    zip_t *z = zip_open(path, ZIP_RDONLY, &code);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        int rc = qsdc_fail(err, "%s: not a readable .npz (zip) archive: %s", path,
                           zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_int64_t n = zip_get_num_entries(z, 0);
    int rc = n >= 0 && n <= NPZ_MAX_ENTRIES ? 0
             : qsdc_fail(err, "%s: %lld members; at most %d", path, (long long)n,
                         NPZ_MAX_ENTRIES);
    f->entries = rc == 0 ? calloc((size_t)(n ? n : 1), sizeof *f->entries) : NULL;
    if (rc == 0 && !f->entries)
        rc = qsdc_fail(err, "%s: out of memory", path);
    zip_uint64_t total = 0;
    for (zip_int64_t i = 0; rc == 0 && i < n; i++) {
        f->count = (int)i + 1;
        rc = read_member(z, path, (zip_uint64_t)i, &f->entries[i], &total, err);
    }
    zip_discard(z);
    if (rc < 0)
        npz_close(f);
    return rc;
}

npz_entry *npz_find(npz_file *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    return NULL;
}
