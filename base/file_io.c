#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "is a directory";
    if (S_ISFIFO(mode))
        return "not a regular file (a FIFO)";
    if (S_ISCHR(mode))
        return "not a regular file (a character device)";
    if (S_ISBLK(mode))
        return "not a regular file (a block device)";
    if (S_ISSOCK(mode))
        return "not a regular file (a socket)";
    return "not a regular file";
}

int fs_open_regular(const char *path, int64_t *size, qsdc_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return qsdc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return qsdc_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return qsdc_fail(err, "%s: cannot open: %s", path, file_kind(st.st_mode));
    }
    if (size)
        *size = (int64_t)st.st_size;
    return fd;
}

FILE *fs_fopen_regular(const char *path, int64_t *size, qsdc_error *err)
{
    int fd = fs_open_regular(path, size, err);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        qsdc_fail(err, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int fs_read_file_max(const char *path, size_t max, unsigned char **data, size_t *len,
                     qsdc_error *err)
{
    *data = NULL;
    *len = 0;
    int64_t size;
    int fd = fs_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    if ((uint64_t)size > max) {
        close(fd);
        return qsdc_fail(err, "%s: file too large (%" PRId64 " bytes, limit %zu MiB)", path,
                         size, max >> 20);
    }
    /* The size from fstat bounds the read: data appended meanwhile is not
     * read, and a file that shrank reads short. */
    unsigned char *buf = malloc((size_t)size + 1);
    if (!buf) {
        close(fd);
        return qsdc_fail(err, "%s: out of memory reading the file (%" PRId64 " bytes)",
                         path, size);
    }
    size_t n = 0;
    while (n < (size_t)size) {
        ssize_t r = read(fd, buf + n, (size_t)size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return qsdc_fail(err, "%s: offset %zu: read error: %s", path, n, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int fs_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err)
{
    return fs_read_file_max(path, FS_MAX_FILE_BYTES, data, len, err);
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
