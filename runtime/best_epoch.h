/* The best validation epoch of a run, for early stopping and keeping the
 * best checkpoint: its score and epoch, recorded in DIR/best-epoch.txt
 * (DIR the run's checkpoint folder) so that a resumed run counts on from
 * it, and its checkpoint in DIR/best/ (checkpoint.bin, and a text model's
 * vocab.txt), which qsdc eval and predict read as any checkpoint folder. */
#ifndef QSDC_BEST_EPOCH_H
#define QSDC_BEST_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BEST_EPOCH_DIR "best"

typedef struct best_epoch {
    bool lower_better;  /* perplexity; accuracy: higher */
    bool known;
    uint64_t epoch;     /* the completed epochs it was scored after */
    double score;
} best_epoch;

/* dir's record into b when there is one (a resumed run), else b->known
 * false; b->lower_better is the caller's. */
int best_epoch_load(const char *dir, best_epoch *b, qsdc_error *err);
/* Writes dir's record, atomically. */
int best_epoch_save(const char *dir, const best_epoch *b, qsdc_error *err);
/* Removes the record and best checkpoint an earlier run left in dir. */
int best_epoch_forget(const char *dir, qsdc_error *err);
/* Takes the score after epoch (completed epochs); true when it beats the
 * best so far, or none is known. A replayed epoch's equal score does not. */
bool best_epoch_improves(best_epoch *b, uint64_t epoch, double score);
/* Whether patience epochs have passed since the best (never for patience 0). */
bool best_epoch_patience_out(const best_epoch *b, uint64_t epoch, int64_t patience);
/* dir/best into out. */
int best_epoch_dir(const char *dir, char *out, size_t cap, qsdc_error *err);

#endif
