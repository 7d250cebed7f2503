/* flock(2) locks on a file inside a directory: qsdc experiment's grid and
 * run locks (experiment_lock.c) and qsdc train's checkpoint lock
 * (checkpoint.c). A crashed process leaves none behind. */
#ifndef QSDC_DIR_LOCK_H
#define QSDC_DIR_LOCK_H

#include <stddef.h>

#include "error.h"

/* Opens DIR/NAME for locking (created when absent), its path in path; the
 * descriptor, or -1. */
int dir_lock_open(const char *dir, const char *name, char *path, size_t cap,
                  qsdc_error *err);
/* Holds DIR/NAME exclusively with this process's pid written in it; the
 * descriptor (close it to let go), or -1 when another process holds it (the
 * message names its pid and says it is `holder`) or on error. */
int dir_lock_exclusive(const char *dir, const char *name, const char *holder,
                       qsdc_error *err);

#endif
