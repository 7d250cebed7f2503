/* libFuzzer harness: the bundle reader, plan_yaml_read, on the input as
 * plan.yaml in a bundle directory that also holds model.yaml (make_corpus.py's
 * TINY_MODEL) and the kernels.cl and train.cl it compiles to. A rejected file
 * must fail with a message naming it. An accepted one must survive a round
 * trip: its plans written by plan_yaml_write, read back and written again
 * give the same text. And a plan that bundle_verify_plan accepts must be the
 * one the model compiles to in everything the kernels rely on: its buffers,
 * the ranges the host writes and reads, its launches and its source. */
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "bundle_verify.h"
#include "compile.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same text as make_corpus.py's TINY_MODEL, whose bundle the plan seeds are. */
static const char model_text[] = "name: tiny\n"
                                 "input: {shape: [1, 4, 4]}\n"
                                 "layers:\n"
                                 "  - flatten\n"
                                 "  - {op: dense, units: 8}\n"
                                 "  - relu\n"
                                 "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}\n"
                                 "  - {op: dense, units: 3}\n"
                                 "  - softmax\n"
                                 "train: {batch: 4, optimizer: adam}\n";

static model tiny;
static plan compiled[2]; /* inference, training: qsdc tiny.yaml --train */

static void die(const qsdc_error *err)
{
    fprintf(stderr, "fuzz_plan setup: %s\n", err->message);
    abort();
}

static void write_bundle(void)
{
    static int done;
    if (done)
        return;
    qsdc_error err = {{0}};
    codegen_target target;
    codegen_target_default(&target);
    if (model_load_string("model.yaml", model_text, sizeof model_text - 1, &tiny, &err) < 0 ||
        compile_plan(&tiny, MODE_INFER, tiny.train.batch, &target, &compiled[0], NULL, NULL,
                     &err) < 0 ||
        compile_plan(&tiny, MODE_TRAIN, tiny.train.batch, &target, &compiled[1], NULL, NULL,
                     &err) < 0)
        die(&err);
    fuzz_write(BUNDLE_MODEL, (const uint8_t *)model_text, sizeof model_text - 1);
    for (int i = 0; i < 2; i++)
        fuzz_write(bundle_source_name(&compiled[i]), (const uint8_t *)compiled[i].source,
                   strlen(compiled[i].source));
    done = 1;
}

/* plan_yaml_write of plans, failing loudly: the plans loaded, so they must
 * be writable. */
static void render(const plan *plans, int n, strbuf *out)
{
    const plan *ptrs[2];
    if (n > 2)
        abort();
    for (int i = 0; i < n; i++)
        ptrs[i] = &plans[i];
    qsdc_error err = {{0}};
    sb_init(out);
    if (plan_yaml_write(out, ptrs, n, &err) < 0 || sb_check(out, &err) < 0) {
        fprintf(stderr, "a loaded plan cannot be written: %s\n", err.message);
        abort();
    }
}

static void round_trip(const plan *plans, int n)
{
    strbuf first, second;
    render(plans, n, &first);
    const char *path =
        fuzz_write("again.yaml", (const uint8_t *)first.data, first.len);
    plan *back;
    int n_back;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &back, &n_back, &err) < 0) {
        fprintf(stderr, "a written plan does not read back: %s\n%s", err.message,
                first.data);
        abort();
    }
    render(back, n_back, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        fprintf(stderr, "plan.yaml round trip differs:\n%s\n---\n%s", first.data,
                second.data);
        abort();
    }
    plan_yaml_free(back, n_back);
    sb_free(&first);
    sb_free(&second);
}

static bool same_launches(const plan *p, const plan *ref)
{
    if (p->n_launches != ref->n_launches)
        return false;
    for (int i = 0; i < p->n_launches; i++) {
        const plan_launch *a = &p->launches[i], *b = &ref->launches[i];
        if (a->kind != b->kind || strcmp(a->kernel, b->kernel) != 0 ||
            a->work_dim != b->work_dim || memcmp(a->global, b->global, sizeof a->global) ||
            memcmp(a->local, b->local, sizeof a->local) ||
            memcmp(&a->gemm, &b->gemm, sizeof a->gemm))
            return false;
    }
    return true;
}

/* What the kernels rely on: a verified plan that differs here would let
 * them read or write outside their buffers. */
static void expect_consistent(const plan *p)
{
    const plan *ref = &compiled[p->loss_offset >= 0];
    bool same = p->param_elems == ref->param_elems && p->grad_elems == ref->grad_elems &&
                p->state_elems == ref->state_elems && p->arena_elems == ref->arena_elems &&
                p->label_elems == ref->label_elems && p->batch == ref->batch &&
                p->input_offset == ref->input_offset && p->input_elems == ref->input_elems &&
                p->output_offset == ref->output_offset &&
                p->output_elems == ref->output_elems && p->loss_offset == ref->loss_offset &&
                strcmp(p->source, ref->source) == 0 && same_launches(p, ref);
    if (!same) {
        fprintf(stderr, "bundle_verify_plan accepted a plan unlike the model's\n");
        abort();
    }
}

static void verify(const plan *plans, int n)
{
    for (int i = 0; i < n; i++) {
        qsdc_error err = {{0}};
        if (bundle_verify_plan(fuzz_dir(), &tiny, &plans[i], &err) < 0)
            fuzz_expect_error(&err, fuzz_dir());
        else
            expect_consistent(&plans[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_bundle();
    const char *path = fuzz_write("plan.yaml", data, size);
    plan *plans;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &plans, &n, &err) < 0) {
        fuzz_expect_error(&err, path);
        return 0;
    }
    round_trip(plans, n);
    verify(plans, n);
    plan_yaml_free(plans, n);
    return 0;
}
