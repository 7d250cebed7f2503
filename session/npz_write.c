/* .npz archives (npz_write.h) through libzip: the archive is written into a
 * buffer source, then to the file by fs_write_atomic, so that a crash
 * leaves the old file or the new one whole. */
#include "npz_write.h"

#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "npy.h"

#define NPZ_MAX_BYTES 0xffffffffu   /* no zip64 */
#define ZIP_DOS_DATE 0x21           /* 1980-01-01, for bytes that do not depend on the clock */

void npz_init(npz_writer *w)
{
    memset(w, 0, sizeof *w);
}

void npz_free(npz_writer *w)
{
    if (w->zip)
        zip_discard(w->zip);
    if (w->buf)
        zip_source_free(w->buf);
    memset(w, 0, sizeof *w);
}

static int zip_failed(const char *what, zip_error_t *ze, qsdc_error *err)
{
    return qsdc_fail(err, "%s: %s", what, zip_error_strerror(ze));
}

/* The in-memory archive, made on the first array. */
static int npz_open(npz_writer *w, qsdc_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    w->buf = zip_source_buffer_create(NULL, 0, 0, &ze);
    w->zip = w->buf ? zip_open_from_source(w->buf, ZIP_TRUNCATE, &ze) : NULL;
    if (!w->zip) {
        int rc = zip_failed("cannot start an .npz archive", &ze, err);
        zip_error_fini(&ze);
        return rc;
    }
    zip_source_keep(w->buf);   /* zip_close would free it otherwise */
    return 0;
}

int npz_add(npz_writer *w, const char *name, int rank, const int64_t *dims, const float *v,
            qsdc_error *err)
{
    char head[256], file[512];
    size_t head_len = npy_header_f32(head, sizeof head, rank, dims);
    int fn = snprintf(file, sizeof file, "%s.npy", name);
    if (head_len == 0 || fn < 0 || (size_t)fn >= sizeof file)
        return qsdc_fail(err, "%s: name or shape too long for an .npz entry", name);
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    if (n > (NPZ_MAX_BYTES - head_len) / 4)
        return qsdc_fail(err, "%s: the .npz would pass 4 GiB", name);
    if (!w->zip && npz_open(w, err) != 0)
        return -1;
    size_t size = head_len + 4 * n;
    unsigned char *data = malloc(size);
    if (!data)
        return qsdc_fail(err, "%s: out of memory for the .npz", name);
    memcpy(data, head, head_len);
    npy_f32_bytes(v, n, data + head_len);
    zip_source_t *s = zip_source_buffer(w->zip, data, size, 1);
    if (!s) {
        free(data);
        return zip_failed(name, zip_get_error(w->zip), err);
    }
    zip_int64_t i = zip_file_add(w->zip, file, s, ZIP_FL_ENC_UTF_8);
    if (i < 0) {
        zip_source_free(s);
        return zip_failed(name, zip_get_error(w->zip), err);
    }
    if (zip_set_file_compression(w->zip, (zip_uint64_t)i, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_dostime(w->zip, (zip_uint64_t)i, 0, ZIP_DOS_DATE, 0) != 0)
        return zip_failed(name, zip_get_error(w->zip), err);
    return 0;
}

/* The closed archive's bytes, read back out of its buffer source. */
static int archive_bytes(zip_source_t *buf, unsigned char **data, zip_uint64_t *size,
                         const char *path, qsdc_error *err)
{
    zip_stat_t st;
    if (zip_source_stat(buf, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return zip_failed(path, zip_source_error(buf), err);
    if (st.size > NPZ_MAX_BYTES)
        return qsdc_fail(err, "%s: the .npz would pass 4 GiB", path);
    *size = st.size;
    *data = malloc(st.size ? st.size : 1);
    if (!*data)
        return qsdc_fail(err, "%s: out of memory", path);
    if (zip_source_open(buf) != 0)
        return zip_failed(path, zip_source_error(buf), err);
    zip_int64_t got = zip_source_read(buf, *data, st.size);
    zip_source_close(buf);
    if (got != (zip_int64_t)st.size)
        return qsdc_fail(err, "%s: could not read the archive back from memory", path);
    return 0;
}

int npz_write(npz_writer *w, const char *path, qsdc_error *err)
{
    if (!w->zip)
        return qsdc_fail(err, "%s: no arrays to write", path);
    if (zip_close(w->zip) != 0)
        return zip_failed(path, zip_get_error(w->zip), err);
    w->zip = NULL;
    unsigned char *data = NULL;
    zip_uint64_t size = 0;
    int rc = archive_bytes(w->buf, &data, &size, path, err);
    if (rc == 0)
        rc = fs_write_atomic(path, data, (size_t)size, NULL, 0, err);
    free(data);
    return rc;
}
