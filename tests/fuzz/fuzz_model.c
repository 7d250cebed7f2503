/* libFuzzer harness: a model file through the YAML front end, shape
 * inference, autodiff, fusion, memory planning and code generation (both
 * plans, at the model's batch, for the default CPU target), then graph.dot,
 * --dump-graph and plan.yaml rendering. No device is needed. A rejected
 * model must fail with a message; a parse error must name the file; the two
 * plans of an accepted one must agree on the parameter layout. */
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "compile.h"
#include "fuzz_common.h"
#include "model.h"

#define FUZZ_MODEL_PATH "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The two plans share one parameter allocation (a checkpoint of one loads
 * into the other): same size, every parameter at the same place. */
static void check_shared_params(const plan *infer, const plan *train)
{
    if (infer->param_elems != train->param_elems)
        abort();
    for (int i = 0; i < infer->n_tensors; i++) {
        const plan_tensor *a = &infer->tensors[i];
        if (a->buffer != BUF_P)
            continue;
        int j = plan_find_tensor(train, a->name);
        if (j < 0)
            abort();
        const plan_tensor *b = &train->tensors[j];
        if (b->buffer != BUF_P || b->offset != a->offset || b->nelem != a->nelem ||
            a->offset < 0 || a->offset + a->nelem > infer->param_elems)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model m;
    qsdc_error err = {{0}};
    if (model_load_string(FUZZ_MODEL_PATH, (const char *)data, size, &m, &err) < 0) {
        fuzz_expect_error(&err, FUZZ_MODEL_PATH ":");
        return 0;
    }
    codegen_target target;
    codegen_target_default(&target);
    target.observe = size % 2; /* hidden activations kept to the end, or not */
    static const graph_mode modes[2] = {MODE_INFER, MODE_TRAIN};
    plan plans[2];
    const plan *done[2];
    int n = 0;
    strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < 2; i++) {
        graph g;
        fusion f;
        qsdc_error e = {{0}};
        if (compile_plan(&m, modes[i], m.train.batch, &target, &plans[n], &g, &f, &e) < 0) {
            fuzz_expect_error(&e, NULL);
            continue;
        }
        graph_dot(&g, &f, &sb);
        graph_dump(&g, &sb);
        graph_free(&g);
        fusion_free(&f);
        done[n] = &plans[n];
        n++;
    }
    if (n == 2)
        check_shared_params(&plans[0], &plans[1]);
    if (n > 0 && plan_yaml_write(&sb, done, n, &err) < 0)
        fuzz_expect_error(&err, NULL);
    sb_free(&sb);
    for (int i = 0; i < n; i++)
        plan_free(&plans[i]);
    model_free(&m);
    return 0;
}
