/* Which process trains which run. Several `qsdc experiment` processes (one
 * per device, say) may work one grid together: each holds the results
 * directory's .lock shared, with the grid's fingerprint written in it, and
 * a run directory's .lock exclusively while it trains that run. A process
 * of a different grid is refused while any holds the directory. Locks are
 * flock(2)s, so a crashed process leaves none behind. */
#ifndef QSDC_EXPERIMENT_LOCK_H
#define QSDC_EXPERIMENT_LOCK_H

#include "error.h"

/* Joins the grid whose fingerprint is grid_fp (16 hex digits) in dir, or
 * starts it there; returns the descriptor holding the lock (close it to
 * leave), or -1 when another grid runs there or the lock cannot be had. */
int grid_lock_join(const char *dir, const char *grid_fp, qsdc_error *err);

/* 1 with *fd holding run_dir's lock (close it when the run is done), 0 when
 * another process is training that run, -1 on error. */
int run_lock_try(const char *run_dir, int *fd, qsdc_error *err);

#endif
