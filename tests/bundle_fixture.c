/* Shared by test_bundle.c and test_plan_yaml_errors.c. */
#include "bundle_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

#define SIG(name)                                                                   \
    "__kernel void " name "(__global float *P, __global float *G, __global float *S,\n" \
    "    __global float *A, __global const int *L, const uint seed,\n"                 \
    "    const uint step, const float lr, const uint sample0)\n"

/* x[4,6] -> dense 3 (P: weight [6,3] at 0, bias [3] at 18) -> relu -> softmax;
 * arena: x at 0, logits at 24, probabilities at 36, per-sample loss at 48. */
const char bundle_infer_source[] =
    SIG("k0_matmul")
    "{\n    const uint col = get_global_id(0), row = get_global_id(1);\n"
    "    float v = P[18 + col];\n"
    "    for (uint k = 0; k < 6u; k++) v += A[row * 6u + k] * P[k * 3u + col];\n"
    "    A[24 + row * 3u + col] = fmax(v, 0.0f);\n}\n\n"
    SIG("k1_softmax")
    "{\n    const uint row = get_global_id(0);\n    float m = A[24 + row * 3u], s = 0.0f;\n"
    "    for (uint j = 1; j < 3u; j++) m = fmax(m, A[24 + row * 3u + j]);\n"
    "    for (uint j = 0; j < 3u; j++) s += exp(A[24 + row * 3u + j] - m);\n"
    "    for (uint j = 0; j < 3u; j++) A[36 + row * 3u + j] = exp(A[24 + row * 3u + j] - m) / s;\n"
    "}\n";

const char bundle_train_source[] =
    SIG("k0_update")
    "{\n    const uint i = get_global_id(0);\n    P[i] -= lr * G[i];\n    S[i] = G[i];\n}\n";

static void add_tensor(plan *p, const char *name, int buffer, int64_t offset, int rank,
                       const int64_t *dims, init_kind init)
{
    plan_tensor *t = &p->tensors[p->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->buffer = buffer;
    t->offset = offset;
    t->rank = rank;
    t->nelem = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->nelem *= dims[i];
    }
    if (buffer == BUF_P) {
        t->init = init;
        t->fan_in = 6;
        t->fan_out = 3;
    }
}

static void add_launch(plan *p, const char *kernel, int work_dim, const uint64_t *global,
                       const uint64_t *local, const char *nodes, double flops,
                       double bytes)
{
    plan_launch *l = &p->launches[p->n_launches++];
    snprintf(l->kernel, sizeof l->kernel, "%s", kernel);
    snprintf(l->nodes, sizeof l->nodes, "%s", nodes);
    l->work_dim = work_dim;
    memcpy(l->global, global, (size_t)work_dim * sizeof *global);
    memcpy(l->local, local, (size_t)work_dim * sizeof *local);
    l->flops = flops;
    l->bytes = bytes;
}

void make_plans(plan *infer, plan *train, int64_t batch)
{
    static const int64_t x[] = {4, 6}, w[] = {6, 3}, b[] = {3}, y[] = {4, 3}, l[] = {4};
    memset(infer, 0, sizeof *infer);
    memset(train, 0, sizeof *train);
    plan *ps[2] = {infer, train};
    for (int i = 0; i < 2; i++) {
        plan *p = ps[i];
        snprintf(p->name, sizeof p->name, "mlp: v2 # \"test\"");
        p->batch = batch;
        p->target_cpu = true;
        p->target_vector_width = 8;
        p->param_elems = 21;
        p->arena_elems = 60 + 80 * i;
        p->input_offset = 0;
        p->input_elems = 24;
        p->output_offset = 36;
        p->output_elems = 12;
        p->loss_offset = i ? 48 : -1;
        p->tensors = calloc(6, sizeof *p->tensors);
        p->launches = calloc(4, sizeof *p->launches);
        assert_non_null(p->tensors);
        assert_non_null(p->launches);
        add_tensor(p, "x", BUF_A, 0, 2, x, INIT_AUTO);
        add_tensor(p, "d1.weight", BUF_P, 0, 2, w, INIT_HE);
        add_tensor(p, "null", BUF_P, 18, 1, b, INIT_ZEROS);
        add_tensor(p, "1e3: 'out'", BUF_A, 36, 2, y, INIT_AUTO);
        p->nodes_before_fusion = 4 + 7 * i;
        p->arena_unplanned_elems = 72 + i;
        p->arena_live_peak_elems = 48 + i;
    }
    infer->source = strdup(bundle_infer_source);
    train->source = strdup(bundle_train_source);
    add_launch(infer, "k0_matmul", 2, (uint64_t[]){3, 4}, (uint64_t[]){0, 0},
               "matmul+bias_add+relu", 144, 0.1);
    add_launch(infer, "k1_softmax", 1, (uint64_t[]){4}, (uint64_t[]){2}, "softmax",
               3.0000000000000004, 1e20);
    infer->kernels = 2;
    train->grad_elems = 21;
    train->state_elems = 42;
    train->label_elems = 4;
    /* decimals no double holds exactly, to be read back bit for bit */
    train->schedule = (lr_schedule){.kind = SCHED_STEP, .lr = 0.1, .warmup_epochs = 0.3,
                                    .step_epochs = 2, .step_gamma = 0.7, .min_lr = 1e-5,
                                    .epochs = 7};
    add_tensor(train, "labels", BUF_L, 0, 1, l, INIT_AUTO);
    add_tensor(train, "loss", BUF_A, 48, 1, l, INIT_AUTO);
    add_launch(train, "k0_update", 1, (uint64_t[]){21}, (uint64_t[]){0}, "", 0, 420);
    train->kernels = 1;
}

const char *path_in(const char *dir, const char *name)
{
    static char buf[4][1400];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "%.1300s/%.64s", dir, name);
    return p;
}

const char *bundle_dir(const char *name)
{
    static char buf[4][1200];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 1200, "%s/%s", ts_tmpdir(), name);
    return p;
}
