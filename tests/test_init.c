/* Seeded initialisation against the documented scales (docs/model-format.md,
 * dense and conv2d `init`): with `init: auto`, weights read by a ReLU are He,
 * others Glorot; He is uniform on +-sqrt(6 / fan_in), Glorot on
 * +-sqrt(6 / (fan_in + fan_out)), a conv2d's fan-in channels * kernel_h *
 * kernel_w and its fan-out filters * kernel_h * kernel_w. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "init.h"

static const char model_text[] =
    "name: inits\ninput: {shape: [3, 6, 6]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 8, kernel: 3}\n"    /* read by a ReLU: He */
    "  - relu\n"
    "  - {op: conv2d, filters: 4, kernel: [3, 1]}\n" /* read by tanh: Glorot */
    "  - tanh\n"
    "  - flatten\n"
    "  - {op: dense, units: 24}\n"                 /* He */
    "  - relu\n"
    "  - {op: dense, units: 16, init: glorot}\n"   /* asked for: Glorot */
    "  - relu\n"
    "  - {op: dense, units: 10}\n"                 /* read by softmax: Glorot */
    "  - softmax\n";

typedef struct expected_weight {
    const char *name;
    init_kind init;
    int64_t fan_in, fan_out;
} expected_weight;

static const expected_weight weights[] = {
    {"conv2d0.weight", INIT_HE, 3 * 3 * 3, 8 * 3 * 3},
    {"conv2d2.weight", INIT_GLOROT, 8 * 3 * 1, 4 * 3 * 1},
    {"dense5.weight", INIT_HE, 4 * 2 * 4, 24}, /* [4, 2, 4] maps flattened */
    {"dense7.weight", INIT_GLOROT, 24, 16},
    {"dense9.weight", INIT_GLOROT, 16, 10},
};

/* Each weight's kind and fans, and its values: all inside the limit, and
 * the largest within 10% of it (every tensor here has 96 or more values:
 * a uniform draw misses the top 10% that often with probability
 * 0.9^96 < 5e-5, and the seed is fixed). */
static void test_documented_scales(void **state)
{
    (void)state;
    model m;
    plan p;
    qsdc_error err = {""};
    codegen_target target;
    codegen_target_default(&target);
    if (model_load_string("<test>", model_text, strlen(model_text), &m, &err) < 0 ||
        compile_plan(&m, MODE_TRAIN, 2, &target, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    float *params = malloc((size_t)p.param_elems * sizeof *params);
    assert_non_null(params);
    params_init(&p, 7, params);
    for (size_t w = 0; w < sizeof weights / sizeof *weights; w++) {
        const expected_weight *e = &weights[w];
        int t = plan_find_tensor(&p, e->name);
        if (t < 0)
            fail_msg("no tensor %s", e->name);
        const plan_tensor *pt = &p.tensors[t];
        if (pt->init != e->init || pt->fan_in != e->fan_in || pt->fan_out != e->fan_out)
            fail_msg("%s: init %d, fans %lld and %lld; documented %d, %lld and %lld", e->name,
                     pt->init, (long long)pt->fan_in, (long long)pt->fan_out, e->init,
                     (long long)e->fan_in, (long long)e->fan_out);
        double limit = e->init == INIT_HE ? sqrt(6.0 / (double)e->fan_in)
                                          : sqrt(6.0 / (double)(e->fan_in + e->fan_out));
        double largest = 0;
        for (int64_t i = 0; i < pt->nelem; i++)
            largest = fmax(largest, fabs(params[pt->offset + i]));
        if (!(largest <= limit && largest >= 0.9 * limit))
            fail_msg("%s: largest |w| %.6g of %lld values, documented limit %.6g", e->name,
                     largest, (long long)pt->nelem, limit);
    }
    free(params);
    plan_free(&p);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
