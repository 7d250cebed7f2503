#include "file_io.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qsdc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > FS_MAX_FILE_BYTES) {
        fclose(f);
        return qsdc_fail(err, "%s: file too large (%lld bytes, limit %zu MiB)", path,
                         (long long)st.st_size, FS_MAX_FILE_BYTES >> 20);
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        if (cap > FS_MAX_FILE_BYTES) {  /* a pipe or a file still growing */
            free(buf);
            fclose(f);
            return qsdc_fail(err, "%s: file too large (more than %zu MiB)", path,
                             FS_MAX_FILE_BYTES >> 20);
        }
        unsigned char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf)
        return qsdc_fail(err, "%s: out of memory reading the file", path);
    if (failed) {
        free(buf);
        return qsdc_fail(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int fs_write_atomic(const char *path, const void *head, size_t head_len,
                    const void *body, size_t body_len, qsdc_error *err)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return qsdc_fail(err, "%s: out of memory", path);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        qsdc_fail(err, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644);  /* mkstemp's 0600 would hide results from other users */
    FILE *f = fdopen(fd, "wb");
    bool ok = f && (head_len == 0 || fwrite(head, 1, head_len, f) == head_len) &&
              (body_len == 0 || fwrite(body, 1, body_len, f) == body_len) &&
              fflush(f) == 0 &&
              fsync(fileno(f)) == 0;
    int saved = errno;
    if (f) {
        if (fclose(f) != 0 && ok) {
            ok = false;
            saved = errno;
        }
    } else {
        close(fd);
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        qsdc_fail(err, "%s: cannot write: %s", path, strerror(saved));
    }
    free(tmp);
    return ok ? 0 : -1;
}

int fs_make_dirs(const char *path, qsdc_error *err)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return qsdc_fail(err, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return qsdc_fail(err, "%s: cannot create directory: %s", buf,
                                 strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return qsdc_fail(err, "%s: not a directory", path);
    return 0;
}
