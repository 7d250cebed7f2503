#include "augment.h"

#include <stdlib.h>
#include <string.h>

#include "init.h"

#define AUGMENT_STREAM 0xa06e0000u

augment_draw augment_draw_for(const train_config *t, uint64_t epoch, int64_t sample)
{
    uint64_t counter = epoch << 32 ^ (uint64_t)sample;
    int64_t span = 2 * t->crop_pad + 1;
    augment_draw d = {t->crop_pad, t->crop_pad, false};
    if (t->crop_pad > 0) {
        d.dy = (int64_t)(philox_uniform(t->seed, AUGMENT_STREAM, counter) * (double)span);
        d.dx = (int64_t)(philox_uniform(t->seed, AUGMENT_STREAM + 1, counter) * (double)span);
    }
    d.flip = t->flip && philox_uniform(t->seed, AUGMENT_STREAM + 2, counter) < 0.5;
    return d;
}

/* out[ch, y, x] = in[ch, y + dy - pad, x' + dx - pad] (0 outside), x' the
 * column x or, flipped, w - 1 - x. */
static void transform(const float *in, float *out, int64_t c, int64_t h, int64_t w,
                      int64_t pad, augment_draw d)
{
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++) {
            int64_t sy = y + d.dy - pad;
            for (int64_t x = 0; x < w; x++) {
                int64_t sx = (d.flip ? w - 1 - x : x) + d.dx - pad;
                bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                out[(ch * h + y) * w + x] = inside ? in[(ch * h + sy) * w + sx] : 0.0f;
            }
        }
}

int augment_batch(const train_config *t, uint64_t epoch, const int64_t *idx, int64_t count,
                  int64_t c, int64_t h, int64_t w, float *x, qsdc_error *err)
{
    if (t->crop_pad == 0 && !t->flip)
        return 0;
    size_t n = (size_t)(c * h * w);
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return qsdc_fail(err, "out of memory");
    for (int64_t b = 0; b < count; b++) {
        float *s = x + (size_t)b * n;
        memcpy(tmp, s, n * sizeof *tmp);
        transform(tmp, s, c, h, w, t->crop_pad, augment_draw_for(t, epoch, idx[b]));
    }
    free(tmp);
    return 0;
}
