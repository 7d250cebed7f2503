/* Checkpoint files: explicit little-endian serialisation (never a struct
 * dump, so no padding bytes and no host byte order leak into the file),
 * written atomically, verified by size and crc32 on load. */
#include "checkpoint.h"
#include "dir_lock.h"
#include "file_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "QSDCCKPT"
#define CKPT_FILE "checkpoint.bin"
#define CKPT_TMP CKPT_FILE ".tmp-XXXXXX"
#define CKPT_PROBE "checkpoint.probe-XXXXXX"
#define CKPT_LOCK "checkpoint.lock"
#define CKPT_HEADER_BYTES 68
#define CKPT_TRAILER_BYTES 4
#define CKPT_COUNTS_OFFSET 52   /* n_params, then n_state */
#define IO_CHUNK 65536

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int make_path(char *buf, const char *dir, const char *name,
                     qsdc_error *err)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX)
        return qsdc_fail(err, "%s: checkpoint directory path is too long", dir);
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir, qsdc_error *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof buf)
        return qsdc_fail(err, "%s: checkpoint directory path is too long", dir);
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return qsdc_fail(err, "%s: cannot create directory: %s", buf,
                             strerror(errno));
        buf[i] = saved;
    }
    return 0;
}

static int sync_dir(const char *dir, qsdc_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return qsdc_fail(err, "%s: cannot open directory to sync: %s", dir,
                         strerror(errno));
    /* Some file systems cannot sync a directory and say EINVAL: nothing
     * more can be done there. */
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    int e = errno;
    close(fd);
    if (rc != 0)
        return qsdc_fail(err, "%s: cannot sync directory: %s", dir, strerror(e));
    return 0;
}

/* Buffered output that keeps the running crc32 of everything written. */
typedef struct writer {
    FILE *f;
    uint32_t crc;
    size_t len;
    int error;    /* errno of the first failed write, 0 if none */
    uint8_t buf[IO_CHUNK];
} writer;

static void writer_flush(writer *w)
{
    w->crc = (uint32_t)crc32(w->crc, w->buf, (uInt)w->len);
    if (!w->error && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->error = errno ? errno : EIO;
    w->len = 0;
}

static void write_bytes(writer *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t take = IO_CHUNK - w->len < n ? IO_CHUNK - w->len : n;
        memcpy(w->buf + w->len, p, take);
        w->len += take;
        p += take;
        n -= take;
        if (w->len == IO_CHUNK)
            writer_flush(w);
    }
}

static void write_floats(writer *w, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        uint8_t le[4];
        memcpy(&bits, &x[i], 4);
        put_u32(le, bits);
        write_bytes(w, le, 4);
    }
}

static void encode_header(const checkpoint *c, uint8_t h[CKPT_HEADER_BYTES])
{
    memcpy(h, CKPT_MAGIC, 8);
    put_u32(h + 8, CHECKPOINT_VERSION);
    put_u64(h + 12, c->model_hash);
    put_u64(h + 20, c->epoch);
    put_u64(h + 28, c->step);
    put_u64(h + 36, c->seed);
    put_u64(h + 44, c->batch);
    put_u64(h + CKPT_COUNTS_OFFSET, (uint64_t)c->n_params);
    put_u64(h + CKPT_COUNTS_OFFSET + 8, (uint64_t)c->n_state);
}

/* Writes the whole file to an open temp file and makes it durable. */
static int write_file(FILE *f, const char *tmp, const checkpoint *c,
                      qsdc_error *err)
{
    writer *w = malloc(sizeof *w);
    if (!w)
        return qsdc_fail(err, "%s: out of memory", tmp);
    w->f = f;
    w->crc = (uint32_t)crc32(0, Z_NULL, 0);
    w->len = 0;
    w->error = 0;
    uint8_t header[CKPT_HEADER_BYTES];
    encode_header(c, header);
    write_bytes(w, header, sizeof header);
    write_floats(w, c->params, c->n_params);
    write_floats(w, c->state, c->n_state);
    writer_flush(w);
    uint8_t trailer[CKPT_TRAILER_BYTES];
    put_u32(trailer, w->crc);
    int e = w->error;
    free(w);
    if (!e && (fwrite(trailer, 1, sizeof trailer, f) != sizeof trailer ||
               fflush(f) != 0 || fsync(fileno(f)) != 0))
        e = errno ? errno : EIO;
    if (e)
        return qsdc_fail(err, "%s: write failed: %s", tmp, strerror(e));
    return 0;
}

/* A fresh file in dir named after template, its name in tmp: unique, so
 * that no other writer can rename it from under us. */
static FILE *open_temp(const char *dir, const char *template, char tmp[PATH_MAX],
                       qsdc_error *err)
{
    if (make_path(tmp, dir, template, err) != 0)
        return NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        qsdc_fail(err, "%s: cannot create %s: %s", dir, template, strerror(errno));
        return NULL;
    }
    fchmod(fd, 0644); /* as fopen would have made it */
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        qsdc_fail(err, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* The temporary files of writers that died mid-save: with the lock held, no
 * other writer's can be among them. */
static void remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, CKPT_FILE ".tmp", strlen(CKPT_FILE ".tmp")) == 0 &&
            make_path(path, dir, e->d_name, NULL) == 0)
            unlink(path);
    closedir(d);
}

int checkpoint_claim_dir(const char *dir, qsdc_error *err)
{
    char tmp[PATH_MAX];
    if (make_dirs(dir, err) != 0)
        return -1;
    FILE *probe = open_temp(dir, CKPT_PROBE, tmp, err);
    if (!probe)
        return qsdc_error_wrap(err, "checkpoint directory %s is not writable", dir);
    fclose(probe);
    unlink(tmp);
    int fd = dir_lock_exclusive(dir, CKPT_LOCK, "another qsdc train", err);
    if (fd >= 0)
        remove_stale_temps(dir);
    return fd;
}

int checkpoint_start_fresh(const char *dir, bool refuse, qsdc_error *err)
{
    char path[PATH_MAX];
    if (!refuse)
        return 0;
    if (make_path(path, dir, CKPT_FILE, err) != 0)
        return -1;
    if (access(path, F_OK) != 0)
        return 0;
    checkpoint c;
    if (checkpoint_load(dir, &c, err) < 0)
        return qsdc_error_wrap(err, "%s already holds a checkpoint; start over with "
                               "--overwrite", dir);
    uint64_t epoch = c.epoch, step = c.step;
    checkpoint_free(&c);
    return qsdc_fail(err, "%s already holds a run (checkpoint after %" PRIu64 " epochs, step "
                     "%" PRIu64 "): continue it with --resume, or start over with "
                     "--overwrite", dir, epoch, step);
}

int checkpoint_save(const char *dir, const checkpoint *c, qsdc_error *err)
{
    if (c->n_params < 0 || c->n_state < 0 || (c->n_params > 0 && !c->params) ||
        (c->n_state > 0 && !c->state))
        return qsdc_fail(err, "%s: invalid checkpoint to save (%" PRId64
                         " parameters, %" PRId64 " state values)", dir,
                         c->n_params, c->n_state);
    char path[PATH_MAX], tmp[PATH_MAX];
    if (make_path(path, dir, CKPT_FILE, err) != 0 || make_dirs(dir, err) != 0)
        return -1;
    FILE *f = open_temp(dir, CKPT_TMP, tmp, err);
    if (!f)
        return -1;
    int rc = write_file(f, tmp, c, err);
    if (fclose(f) != 0 && rc == 0)
        rc = qsdc_fail(err, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = qsdc_fail(err, "%s: cannot rename to %s: %s", tmp, path,
                       strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    return sync_dir(dir, err);
}

/* Reads exactly n bytes, adding them to *crc; a short read is a truncated
 * file, reported at the offset where it ends. */
static int read_exact(FILE *f, const char *path, uint8_t *buf, size_t n,
                      uint64_t *offset, uint32_t *crc, qsdc_error *err)
{
    size_t got = fread(buf, 1, n, f);
    *offset += got;
    if (got < n) {
        if (ferror(f))
            return qsdc_fail(err, "%s: offset %" PRIu64 ": read error: %s",
                             path, *offset, strerror(errno));
        return qsdc_fail(err, "%s: offset %" PRIu64 ": unexpected end of file",
                         path, *offset);
    }
    if (crc)
        *crc = (uint32_t)crc32(*crc, buf, (uInt)n);
    return 0;
}

static int read_floats(FILE *f, const char *path, float *x, int64_t n,
                       uint64_t *offset, uint32_t *crc, uint8_t *buf,
                       qsdc_error *err)
{
    for (int64_t done = 0; done < n;) {
        int64_t take = n - done < IO_CHUNK / 4 ? n - done : IO_CHUNK / 4;
        if (read_exact(f, path, buf, (size_t)take * 4, offset, crc, err) != 0)
            return -1;
        for (int64_t i = 0; i < take; i++) {
            uint32_t bits = get_u32(buf + 4 * i);
            memcpy(&x[done + i], &bits, 4);
        }
        done += take;
    }
    return 0;
}

/* Checks the header against the file's size before anything is allocated;
 * `got` is how many header bytes the file holds. */
static int check_header(const char *path, const uint8_t *h, size_t got,
                        uint64_t size, checkpoint *c, qsdc_error *err)
{
    if (memcmp(h, CKPT_MAGIC, got < 8 ? got : 8) != 0)
        return qsdc_fail(err, "%s: offset 0: bad magic: not a qsdc checkpoint",
                         path);
    uint32_t version = got >= 12 ? get_u32(h + 8) : CHECKPOINT_VERSION;
    if (version == 1)
        return qsdc_fail(err, "%s: offset 8: checkpoint format version 1, written by an "
                         "older qsdc whose checkpoints did not record the model's "
                         "activations, regularisers or batch; this build reads version "
                         "%u: train again to make a checkpoint it can check", path,
                         CHECKPOINT_VERSION);
    if (version != CHECKPOINT_VERSION)
        return qsdc_fail(err, "%s: offset 8: unsupported checkpoint format "
                         "version %" PRIu32 " (this build reads version %u)",
                         path, version, CHECKPOINT_VERSION);
    if (got < CKPT_HEADER_BYTES)
        return qsdc_fail(err, "%s: offset %zu: unexpected end of file, "
                         "expected %d bytes of header", path, got,
                         CKPT_HEADER_BYTES);
    c->model_hash = get_u64(h + 12);
    c->epoch = get_u64(h + 20);
    c->step = get_u64(h + 28);
    c->seed = get_u64(h + 36);
    c->batch = get_u64(h + 44);
    uint64_t np = get_u64(h + CKPT_COUNTS_OFFSET), ns = get_u64(h + CKPT_COUNTS_OFFSET + 8);
    /* Counts this large cannot be in any file; below the bound the byte
     * count cannot overflow, and it is checked against the file's size. */
    if (np > INT64_MAX / 8 || ns > INT64_MAX / 8)
        return qsdc_fail(err, "%s: offset %d: header declares %" PRId64
                         " parameters and %" PRId64 " state values: impossible "
                         "sizes, the file is corrupt", path, CKPT_COUNTS_OFFSET,
                         (int64_t)np, (int64_t)ns);
    uint64_t expected = CKPT_HEADER_BYTES + 4 * (np + ns) + CKPT_TRAILER_BYTES;
    if (size < expected)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": unexpected end of file, "
                         "header declares %" PRIu64 " parameters and %" PRIu64
                         " state values, expected %" PRIu64 " bytes", path,
                         size, np, ns, expected);
    if (size > expected)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": %" PRIu64 " unexpected "
                         "bytes after the checksum", path, expected,
                         size - expected);
    c->n_params = (int64_t)np;
    c->n_state = (int64_t)ns;
    return 0;
}

static int read_body(FILE *f, const char *path, checkpoint *c, uint32_t crc,
                     qsdc_error *err)
{
    uint64_t offset = CKPT_HEADER_BYTES;
    uint8_t *buf = malloc(IO_CHUNK);
    c->params = c->n_params ? malloc((size_t)c->n_params * 4) : NULL;
    c->state = c->n_state ? malloc((size_t)c->n_state * 4) : NULL;
    if (!buf || (c->n_params && !c->params) || (c->n_state && !c->state)) {
        free(buf);
        return qsdc_fail(err, "%s: out of memory for %" PRId64 " parameters "
                         "and %" PRId64 " state values", path, c->n_params,
                         c->n_state);
    }
    uint8_t trailer[CKPT_TRAILER_BYTES];
    int rc = read_floats(f, path, c->params, c->n_params, &offset, &crc, buf, err);
    if (rc == 0)
        rc = read_floats(f, path, c->state, c->n_state, &offset, &crc, buf, err);
    if (rc == 0)
        rc = read_exact(f, path, trailer, sizeof trailer, &offset, NULL, err);
    free(buf);
    if (rc == 0 && get_u32(trailer) != crc)
        rc = qsdc_fail(err, "%s: checksum mismatch (stored 0x%08" PRIx32
                       ", computed 0x%08" PRIx32 "): the file is corrupt",
                       path, get_u32(trailer), crc);
    return rc;
}

int checkpoint_load(const char *dir, checkpoint *out, qsdc_error *err)
{
    char path[PATH_MAX];
    if (make_path(path, dir, CKPT_FILE, err) != 0)
        return -1;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return qsdc_fail(err, "no checkpoint in %s (%s does not exist)", dir, path);
    int64_t size;
    FILE *f = fs_fopen_regular(path, &size, err);
    if (!f)
        return -1;
    checkpoint c = {0};
    uint8_t header[CKPT_HEADER_BYTES];
    size_t got = fread(header, 1, sizeof header, f);
    int rc = ferror(f) ? qsdc_fail(err, "%s: read error: %s", path, strerror(errno))
                       : check_header(path, header, got, (uint64_t)size, &c, err);
    if (rc == 0) {
        uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), header, sizeof header);
        rc = read_body(f, path, &c, crc, err);
    }
    fclose(f);
    if (rc != 0) {
        checkpoint_free(&c);
        return -1;
    }
    *out = c;
    return 0;
}

int checkpoint_check(const checkpoint *c, uint64_t model_hash, int64_t n_params,
                     int64_t n_state, const char *dir, qsdc_error *err)
{
    if (c->model_hash != model_hash)
        return qsdc_fail(err, "%s/%s: saved for a different model (architecture "
                         "hash %016" PRIx64 ", %" PRId64 " parameters); this "
                         "model has hash %016" PRIx64 ", %" PRId64 " parameters",
                         dir, CKPT_FILE, c->model_hash, c->n_params, model_hash,
                         n_params);
    if (c->n_params != n_params)
        return qsdc_fail(err, "%s/%s: holds %" PRId64 " parameters but the model "
                         "has %" PRId64, dir, CKPT_FILE, c->n_params, n_params);
    if (c->n_state != n_state)
        return qsdc_fail(err, "%s/%s: holds %" PRId64 " optimiser state values "
                         "but this run's optimiser needs %" PRId64 " (was it "
                         "saved with a different optimiser?)", dir, CKPT_FILE,
                         c->n_state, n_state);
    return 0;
}

int checkpoint_check_finite(const checkpoint *c, const char *dir, qsdc_error *err)
{
    for (int64_t i = 0; i < c->n_params; i++)
        if (!isfinite(c->params[i]))
            return qsdc_fail(err, "%s/%s: parameter %" PRId64 " of %" PRId64 " is %g: "
                             "the saved model is unusable", dir, CKPT_FILE, i,
                             c->n_params, (double)c->params[i]);
    return 0;
}

int checkpoint_load_weights(const char *dir, uint64_t model_hash, int64_t n_params,
                            checkpoint *out, qsdc_error *err)
{
    if (checkpoint_load(dir, out, err) < 0)
        return -1;
    if (checkpoint_check(out, model_hash, n_params, out->n_state, dir, err) < 0 ||
        checkpoint_check_finite(out, dir, err) < 0) {
        checkpoint_free(out);
        return -1;
    }
    return 0;
}

void checkpoint_free(checkpoint *c)
{
    free(c->params);
    free(c->state);
    memset(c, 0, sizeof *c);
}
