/* Training-batch augmentation: every output sample is its input cropped
 * from the zero-padded image at the drawn offset and mirrored when drawn
 * (checked against a padded-buffer reference), draws depend only on (seed,
 * epoch, sample), cover every offset and both flips, and no augmentation
 * leaves the batch untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "augment.h"

enum { C = 2, H = 5, W = 6, N = 1000 };

static void fill(float *x, int64_t count)
{
    for (int64_t i = 0; i < count * C * H * W; i++)
        x[i] = (float)(i % (C * H * W) + 1) + 0.001f * (float)(i / (C * H * W));
}

/* Pads sample `in` by pad into a buffer, takes the window at (dy, dx), then
 * mirrors its columns when flip. */
static void reference(const float *in, float *out, int64_t pad, augment_draw d)
{
    int64_t ph = H + 2 * pad, pw = W + 2 * pad;
    float *padded = calloc((size_t)(C * ph * pw), sizeof *padded);
    assert_non_null(padded);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                padded[(c * ph + y + pad) * pw + x + pad] = in[(c * H + y) * W + x];
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = padded[(c * ph + y + d.dy) * pw + x + d.dx];
                out[(c * H + y) * W + (d.flip ? W - 1 - x : x)] = v;
            }
    free(padded);
}

static void test_crop_and_flip(void **s)
{
    (void)s;
    train_config t;
    train_config_defaults(&t);
    t.crop_pad = 2;
    t.flip = true;
    t.seed = 42;
    float *x = malloc(sizeof(float) * N * C * H * W), *in = malloc(sizeof(float) * N * C * H * W);
    int64_t *idx = malloc(sizeof(int64_t) * N);
    assert_non_null(x);
    assert_non_null(in);
    assert_non_null(idx);
    for (int64_t b = 0; b < N; b++)
        idx[b] = (b * 7919) % 100003; /* sample indices, not batch positions */
    fill(in, N);
    memcpy(x, in, sizeof(float) * N * C * H * W);
    qsdc_error err = {""};
    assert_int_equal(augment_batch(&t, 3, idx, N, C, H, W, x, &err), 0);
    bool seen[5][5][2] = {{{false}}};
    float want[C * H * W];
    for (int64_t b = 0; b < N; b++) {
        augment_draw d = augment_draw_for(&t, 3, idx[b]);
        assert_true(d.dy >= 0 && d.dy <= 4 && d.dx >= 0 && d.dx <= 4);
        seen[d.dy][d.dx][d.flip] = true;
        reference(in + b * C * H * W, want, 2, d);
        assert_memory_equal(x + b * C * H * W, want, sizeof want);
    }
    for (int i = 0; i < 50; i++)
        if (!seen[i / 10][i / 2 % 5][i % 2])
            fail_msg("offset (%d, %d) flip %d never drawn in %d samples", i / 10, i / 2 % 5,
                     i % 2, N);
    /* keyed by (seed, epoch, sample): the same again, other epochs differ */
    int differ = 0;
    for (int64_t b = 0; b < N; b++) {
        augment_draw d = augment_draw_for(&t, 3, idx[b]), e = augment_draw_for(&t, 4, idx[b]);
        augment_draw again = augment_draw_for(&t, 3, idx[b]);
        assert_true(d.dy == again.dy && d.dx == again.dx && d.flip == again.flip);
        differ += d.dy != e.dy || d.dx != e.dx || d.flip != e.flip;
    }
    assert_true(differ > N / 2);
    free(x);
    free(in);
    free(idx);
}

static void test_crop_only_and_none(void **s)
{
    (void)s;
    train_config t;
    train_config_defaults(&t);
    float x[4 * C * H * W], in[4 * C * H * W];
    int64_t idx[4] = {0, 1, 2, 3};
    fill(in, 4);
    memcpy(x, in, sizeof x);
    qsdc_error err = {""};
    assert_int_equal(augment_batch(&t, 0, idx, 4, C, H, W, x, &err), 0);
    assert_memory_equal(x, in, sizeof x);
    t.crop_pad = 1;
    for (int64_t i = 0; i < 200; i++)
        assert_false(augment_draw_for(&t, 0, i).flip);
    t.crop_pad = 0;
    t.flip = true;
    for (int64_t i = 0; i < 200; i++) {
        augment_draw d = augment_draw_for(&t, 0, i);
        assert_true(d.dy == 0 && d.dx == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crop_and_flip),
        cmocka_unit_test(test_crop_only_and_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
