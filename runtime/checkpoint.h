/* Training checkpoints: the parameter and optimiser-state allocations plus
 * the counters needed to resume a run exactly, in DIR/checkpoint.bin.
 *
 * File format (version 2), all integers little-endian:
 *   offset  0  char[8]  "QSDCCKPT"
 *           8  u32      format version
 *          12  u64      model_hash, epoch, step, seed, batch
 *          52  i64      n_params, n_state
 *          68  f32      params[n_params], then state[n_state]
 *        end-4 u32      crc32 (zlib) of every byte before it
 * The same checkpoint always serialises to the same bytes. */
#ifndef QSDC_CHECKPOINT_H
#define QSDC_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define CHECKPOINT_VERSION 2u

typedef struct checkpoint {
    uint64_t model_hash;   /* hash of the model's architecture, to reject a mismatched checkpoint */
    uint64_t epoch;        /* completed epochs */
    uint64_t step;         /* completed optimiser steps (also the RNG position: masks are keyed by step) */
    uint64_t seed;
    uint64_t batch;        /* the global batch: step counts batches of this size */
    int64_t n_params;  float *params;   /* the single parameter allocation */
    int64_t n_state;   float *state;    /* optimiser state allocation, may be 0 */
} checkpoint;

/* Writes DIR/checkpoint.bin (creating DIR and its parents if missing)
 * through a fresh DIR/checkpoint.bin.tmp-XXXXXX, fsync and rename, then
 * fsyncs DIR: after a crash the file is either the old checkpoint or the
 * new one. */
int checkpoint_save(const char *dir, const checkpoint *c, qsdc_error *err);
/* Before a run writes checkpoints to DIR: creates DIR, checks that a file
 * can be made in it, and locks it (DIR/checkpoint.lock, flock, holding our
 * pid) so that a second run on it fails at once, naming the first's pid;
 * then removes the temporary files of saves that a crash cut short.
 * Returns the lock's descriptor (close it when the run ends), or -1. */
int checkpoint_claim_dir(const char *dir, qsdc_error *err);
/* Before a run starts over in DIR (not resuming): when refuse and DIR
 * already holds a checkpoint, fails naming its epoch and step and how to
 * go on (--resume) or start over (--overwrite). */
int checkpoint_start_fresh(const char *dir, bool refuse, qsdc_error *err);
/* Reads DIR/checkpoint.bin into *out, allocating params and state (state is
 * NULL when n_state is 0). Verifies magic, version, sizes against the file
 * size (before allocating) and the checksum. */
int checkpoint_load(const char *dir, checkpoint *out, qsdc_error *err);
/* Fails with a message naming dir when the checkpoint was written for a
 * different model (hash or parameter count) or optimiser (state count). */
int checkpoint_check(const checkpoint *c, uint64_t model_hash, int64_t n_params,
                     int64_t n_state, const char *dir, qsdc_error *err);
/* Fails, naming dir and the first one, when a parameter is NaN or
 * infinite: a valid checksum only says the file holds what was saved. */
int checkpoint_check_finite(const checkpoint *c, const char *dir, qsdc_error *err);
/* checkpoint_load, then both checks, any optimiser state: the weights to
 * evaluate or predict with; *out is freed on failure. */
int checkpoint_load_weights(const char *dir, uint64_t model_hash, int64_t n_params,
                            checkpoint *out, qsdc_error *err);
void checkpoint_free(checkpoint *c);

#endif
