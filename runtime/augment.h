/* Augmentation of training batches on the host: a random crop of the
 * zero-padded image and a random horizontal flip, drawn per sample from
 * Philox keyed by (seed, epoch, sample index), so a resumed run and any
 * batch order see the same transforms. Evaluation data is never augmented. */
#ifndef QSDC_AUGMENT_H
#define QSDC_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

/* One sample's transform: the crop's offset into the image padded by
 * crop_pad on every side (0 .. 2 crop_pad per axis; crop_pad, crop_pad is
 * the identity), then a mirror of the columns when flip. */
typedef struct augment_draw {
    int64_t dy, dx;
    bool flip;
} augment_draw;

augment_draw augment_draw_for(const train_config *t, uint64_t epoch, int64_t sample);
/* Applies augment_draw_for(t, epoch, idx[b]) to samples b < count of x,
 * each [c, h, w]; does nothing when t asks for no augmentation. Fails only
 * when out of memory. */
int augment_batch(const train_config *t, uint64_t epoch, const int64_t *idx, int64_t count,
                  int64_t c, int64_t h, int64_t w, float *x, qsdc_error *err);

#endif
