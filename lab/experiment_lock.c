#include "experiment_lock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "dir_lock.h"
#include "source.h"

#define FP_LEN 16
#define LOCK_NAME ".lock"

/* A shared lock, waiting out the moment in which a process that found the
 * directory free converts its exclusive lock (held to write the
 * fingerprint) to a shared one; a grid of an older qsdc holds it
 * exclusively throughout. */
static int lock_shared(int fd, const char *dir, const char *path, qsdc_error *err)
{
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    for (int tries = 0; tries < 50; tries++) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK)
            return qsdc_fail(err, "%s: cannot lock: %s", path, strerror(errno));
        nanosleep(&pause, NULL);
    }
    return qsdc_fail(err, "%s: another qsdc experiment is running there", dir);
}

int grid_lock_join(const char *dir, const char *grid_fp, qsdc_error *err)
{
    char path[QSDC_PATH_MAX];
    int fd = dir_lock_open(dir, LOCK_NAME, path, sizeof path, err);
    if (fd < 0)
        return -1;
    int rc = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        if (ftruncate(fd, 0) != 0 || pwrite(fd, grid_fp, FP_LEN, 0) != FP_LEN)
            rc = qsdc_fail(err, "%s: cannot write: %s", path, strerror(errno));
    } else if (errno != EWOULDBLOCK) {
        rc = qsdc_fail(err, "%s: cannot lock: %s", path, strerror(errno));
    }
    /* the conversion may let another process in first: what counts is the
     * fingerprint found once the shared lock is held */
    if (rc == 0)
        rc = lock_shared(fd, dir, path, err);
    char had[FP_LEN + 1] = {0};
    if (rc == 0 && pread(fd, had, FP_LEN, 0) < 0)
        rc = qsdc_fail(err, "%s: cannot read: %s", path, strerror(errno));
    if (rc == 0 && strcmp(had, grid_fp) != 0)
        rc = qsdc_fail(err, "%s: another qsdc experiment is running a different grid there "
                            "(grid %s, this one %s): wait for it, or choose another results "
                            "directory with -o",
                       dir, had, grid_fp);
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int run_lock_try(const char *run_dir, int *fd, qsdc_error *err)
{
    char path[QSDC_PATH_MAX];
    *fd = dir_lock_open(run_dir, LOCK_NAME, path, sizeof path, err);
    if (*fd < 0)
        return -1;
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 1;
    int busy = errno == EWOULDBLOCK;
    close(*fd);
    *fd = -1;
    return busy ? 0 : qsdc_fail(err, "%s: cannot lock: %s", path, strerror(errno));
}
