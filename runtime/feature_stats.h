/* Per-feature standardisation of flat samples (train: data: {format: csv,
 * standardize: true}): the mean and standard deviation of each feature over
 * the training split, applied to every sample the model reads, and saved
 * beside the checkpoint (DIR/standardize.txt) for eval, infer and predict. */
#ifndef QSDC_FEATURE_STATS_H
#define QSDC_FEATURE_STATS_H

#include <stdint.h>

#include "data.h"
#include "qsdc.h"

typedef struct feature_stats {
    int64_t n;      /* features: a sample's elements */
    float *mean;
    float *std;     /* 1 for a feature constant over the split */
} feature_stats;

/* The statistics of d's samples rows[0, n_rows), n_rows >= 1. */
int feature_stats_fit(const dataset *d, const int64_t *rows, int64_t n_rows,
                      feature_stats *out, qsdc_error *err);
/* x = (x - mean) / std for every sample of d (sample_elems == s->n). */
void feature_stats_apply(const feature_stats *s, dataset *d);
/* Standardises d, read from path, with the statistics saved in dir; errors
 * name the statistics file (missing, damaged) or path (another width). */
int feature_stats_apply_saved(const char *dir, const char *path, dataset *d,
                              qsdc_error *err);
int feature_stats_write(const char *dir, const feature_stats *s, qsdc_error *err);
int feature_stats_read(const char *dir, feature_stats *out, qsdc_error *err);
void feature_stats_free(feature_stats *s);

#endif
