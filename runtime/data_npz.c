/* .npz data sets: numpy's zip of .npy arrays, read through libzip (stored
 * or deflated members, ZIP64), each member whole into memory within the
 * data size limit, then parsed as a .npy file. */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <zip.h>

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

/* names[0] if the archive holds it, else names[1]; *data NULL when it
 * holds neither. */
static int read_member(zip_t *z, const char *path, const char *const names[2],
                       unsigned char **data, size_t *len, char *name, size_t cap,
                       qsdc_error *err)
{
    zip_stat_t st;
    int i = 0;
    *data = NULL;
    while (i < 2 && zip_stat(z, names[i], 0, &st) < 0)
        i++;
    if (i == 2)
        return 0;
    snprintf(name, cap, "%s:%s", path, names[i]);
    if (!(st.valid & ZIP_STAT_SIZE))
        return qsdc_fail(err, "%s: the archive does not say its size", name);
    if (data_check_size(name, st.size, 1, "bytes", err) < 0)
        return -1;
    zip_file_t *f = zip_fopen(z, names[i], 0);
    if (!f)
        return qsdc_fail(err, "%s: cannot open: %s", name, zip_strerror(z));
    zip_int64_t got = read_grown(f, (size_t)st.size, data);
    /* a CRC mismatch shows once the member is read to its end */
    int closed = zip_fclose(f);
    if (!*data)
        return qsdc_fail(err, "%s: out of memory", name);
    if (got == (zip_int64_t)st.size && closed == 0) {
        *len = (size_t)st.size;
        return 0;
    }
    zip_error_t ze;
    zip_error_init_with_code(&ze, closed ? closed : ZIP_ER_READ);
    int rc = qsdc_fail(err, "%s: corrupt member: read %lld of %llu bytes (%s)", name,
                       (long long)got, (unsigned long long)st.size, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rc;
}

int npz_load(const char *path, bool need_labels, dataset *out, qsdc_error *err)
{
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
    static const char *const x_names[2] = {"x.npy", "arr_0.npy"};
    static const char *const y_names[2] = {"y.npy", "arr_1.npy"};
    unsigned char *x = NULL, *y = NULL;
    size_t x_len = 0, y_len = 0;
    char x_name[1200], y_name[1200];
    int rc = read_member(z, path, x_names, &x, &x_len, x_name, sizeof x_name, err);
    if (rc == 0 && !x)
        rc = qsdc_fail(err, "%s: the archive holds no samples: no array x (x.npy) or arr_0",
                       path);
    if (rc == 0)
        rc = read_member(z, path, y_names, &y, &y_len, y_name, sizeof y_name, err);
    if (rc == 0 && !y && need_labels)
        rc = qsdc_fail(err, "%s: the archive holds no labels: no array y (y.npy) or arr_1",
                       path);
    if (rc == 0)
        rc = npy_load_bytes(x_name, x, x_len, y ? y_name : NULL, y, y_len, out, err);
    free(x);
    free(y);
    zip_discard(z);
    return rc;
}
