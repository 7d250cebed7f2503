#include "dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int dir_lock_open(const char *dir, const char *name, char *path, size_t cap,
                  qsdc_error *err)
{
    if ((size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap)
        return qsdc_fail(err, "%s: path too long", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return qsdc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    return fd;
}

int dir_lock_exclusive(const char *dir, const char *name, const char *holder,
                       qsdc_error *err)
{
    char path[4096];
    int fd = dir_lock_open(dir, name, path, sizeof path, err);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[24] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e != EWOULDBLOCK)
            return qsdc_fail(err, "%s: cannot lock: %s", path, strerror(e));
        return qsdc_fail(err, "%s: in use by %s (pid %s, holding %s); wait for it to end "
                         "or choose another directory", dir, holder, pid[0] ? pid : "unknown",
                         path);
    }
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        qsdc_fail(err, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
