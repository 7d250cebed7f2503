/* Initial weights against docs/model-format.md: with init: auto a weight
 * read by a ReLU is He-initialised, any other Glorot, a conv2d's fan-in is
 * channels * kernel_h * kernel_w (fan-out filters * kernel_h * kernel_w),
 * and explicit he/glorot/zeros/normal choices hold. Scales are checked by
 * the standard deviation of the drawn weights: He's sqrt(2 / fan_in),
 * Glorot's sqrt(2 / (fan_in + fan_out)), the standard normal's 1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graph_check.h"
#include "init.h"

static const char model_text[] =
    "name: inits\ninput: {shape: [3, 12, 12]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 40, kernel: [3, 5], padding: same}\n" /* conv2d0: He */
    "  - relu\n"
    "  - {op: conv2d, filters: 30, kernel: 3, init: glorot}\n"        /* conv2d2 */
    "  - relu\n"
    "  - {op: conv2d, filters: 20, kernel: 1}\n"                      /* conv2d4: Glorot */
    "  - flatten\n"
    "  - {op: dense, units: 60}\n"                                   /* dense6: Glorot */
    "  - {op: dense, units: 50, init: he}\n"                         /* dense7 */
    "  - sigmoid\n"
    "  - {op: dense, units: 40}\n"                                   /* dense9: He */
    "  - relu\n"
    "  - {op: dense, units: 30, init: normal}\n"                     /* dense11 */
    "  - {op: dense, units: 3, init: zeros}\n";                      /* dense12 */

/* A weight tensor and the scale the documentation gives it. */
typedef struct expected {
    const char *name;
    int64_t fan_in, fan_out;
    enum { HE, GLOROT, NORMAL, ZEROS } kind;
} expected;

static const expected weights[] = {
    {"conv2d0.weight", 3 * 3 * 5, 40 * 3 * 5, HE},
    {"conv2d2.weight", 40 * 3 * 3, 30 * 3 * 3, GLOROT},
    {"conv2d4.weight", 30, 20, GLOROT},
    {"dense6.weight", 20 * 10 * 10, 60, GLOROT},
    {"dense7.weight", 60, 50, HE},
    {"dense9.weight", 50, 40, HE},
    {"dense11.weight", 40, 30, NORMAL},
    {"dense12.weight", 30, 3, ZEROS},
};

static double expected_sd(const expected *e)
{
    switch (e->kind) {
    case HE: return sqrt(2.0 / (double)e->fan_in);
    case GLOROT: return sqrt(2.0 / (double)(e->fan_in + e->fan_out));
    case NORMAL: return 1.0;
    default: return 0.0;
    }
}

static void test_initial_scales(void **s)
{
    (void)s;
    gc_run r;
    gc_setup(&r, model_text, 2, MODE_TRAIN);
    float *w = malloc((size_t)r.p.param_elems * sizeof *w);
    params_init(&r.p, 11, w);
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        const expected *e = &weights[i];
        int t = plan_find_tensor(&r.p, e->name);
        assert_true(t >= 0);
        const plan_tensor *pt = &r.p.tensors[t];
        double sum = 0, sq = 0, n = (double)pt->nelem;
        for (int64_t k = 0; k < pt->nelem; k++) {
            double v = w[pt->offset + k];
            sum += v;
            sq += v * v;
        }
        double mean = sum / n, sd = sqrt(fmax(0, sq / n - mean * mean)), want = expected_sd(e);
        printf("  %-15s %6lld weights: sd %.5f, documented %.5f\n", e->name,
               (long long)pt->nelem, sd, want);
        if (e->kind == ZEROS) {
            assert_true(sq == 0);
            continue;
        }
        /* the sample sd's standard error: sd sqrt((kurtosis - 1) / (4 n)),
         * kurtosis 1.8 for a uniform, 3 for a normal; 5 of them */
        double kurtosis = e->kind == NORMAL ? 3.0 : 1.8;
        double bound = 5 * want * sqrt((kurtosis - 1) / (4 * n));
        if (fabs(sd - want) > bound || fabs(mean) > 5 * want / sqrt(n))
            fail_msg("%s: mean %.5f, sd %.5f; documented sd %.5f (fan-in %lld, fan-out %lld) "
                     "within %.5f", e->name, mean, sd, want, (long long)e->fan_in,
                     (long long)e->fan_out, bound);
    }
    free(w);
    gc_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
