#include "lstm_select.h"

#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "measured_choice.h"
#include "plan_run.h"

#define REPS 3
/* The measured model's input features: few, since the recurrence's work
 * does not depend on them. */
#define FEATURES 8

/* One lstm shape's measured step times, both ways. */
typedef struct lstm_time {
    recur_shape s;
    double vector_ms, scalar_ms;
} lstm_time;

/* The selection: its target, shapes and answers. */
typedef struct lstm_selection {
    const codegen_target *target;
    const recur_shape *shapes;
    bool *scalar;
} lstm_selection;

#define FIELDS "%lld %lld %lld %lf %lf"

/* A cache line: FIELDS in the order of lstm_time, the first 3 its key. */
static bool parse(const char *line, void *entry)
{
    lstm_time *e = entry;
    long long b, t, h;
    if (sscanf(line, FIELDS, &b, &t, &h, &e->vector_ms, &e->scalar_ms) != 5)
        return false;
    e->s = (recur_shape){b, t, h};
    return true;
}

static void format(strbuf *sb, const void *entry)
{
    const lstm_time *t = entry;
    sb_printf(sb, FIELDS "\n", (long long)t->s.b, (long long)t->s.t, (long long)t->s.h,
              t->vector_ms, t->scalar_ms);
}

static void key(const void *sel, int i, void *entry)
{
    ((lstm_time *)entry)->s = ((const lstm_selection *)sel)->shapes[i];
}

/* The launches of p's recurrences, forward and backward (the forward's
 * time slices each, and its U^T copy): n of them. */
static int recurrence_launches(const plan *p, int *launch)
{
    int n = 0;
    for (int i = 0; i < p->n_launches; i++)
        if (!strcmp(p->launches[i].nodes, "lstm") || !strcmp(p->launches[i].nodes, "lstm_grad"))
            launch[n++] = i;
    return n;
}

/* One training step's recurrence time of shape s, one way, as a one-layer
 * model's training plan. */
static int measure_way(cl_env *env, const codegen_target *base, const recur_shape *s,
                       bool scalar, double *ms, qsdc_error *err)
{
    char text[512];
    snprintf(text, sizeof text,
             "name: lstm_tune\ninput: {shape: [%lld, %d]}\n"
             "layers:\n  - {op: lstm, units: %lld, return: last}\n  - {op: dense, units: 2}\n"
             "train: {optimizer: {type: sgd, lr: 0.1}}\n",
             (long long)s->t, FEATURES, (long long)s->h);
    model m;
    if (model_load_string("<lstm measurement>", text, strlen(text), &m, err) < 0)
        return -1;
    codegen_target target = *base;
    target.tuner = NULL;
    target.n_scalar_lstm = 0;
    target.scalar_lstm_all = scalar;
    plan p;
    int rc = compile_plan(&m, MODE_TRAIN, s->b, &target, &p, NULL, NULL, err);
    model_free(&m);
    if (rc < 0)
        return -1;
    int *launch = malloc((size_t)(p.n_launches + 1) * sizeof *launch);
    double *each = malloc((size_t)(p.n_launches + 1) * sizeof *each);
    int n = launch ? recurrence_launches(&p, launch) : 0;
    if (!launch || !each)
        rc = qsdc_fail(err, "out of memory");
    else if (n < 2)
        rc = qsdc_fail(err, "an lstm layer compiled without its recurrence launches");
    if (rc == 0)
        rc = plan_run_time(env, &p, launch, n, REPS, each, err);
    else
        plan_free(&p);
    *ms = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        *ms += each[i];
    free(launch);
    free(each);
    return rc;
}

/* Both ways' times of shape t->s. */
static int measure(cl_env *env, const void *sel, void *entry, qsdc_error *err)
{
    const codegen_target *target = ((const lstm_selection *)sel)->target;
    lstm_time *t = entry;
    if (measure_way(env, target, &t->s, false, &t->vector_ms, err) < 0 ||
        measure_way(env, target, &t->s, true, &t->scalar_ms, err) < 0)
        return qsdc_error_wrap(err, "measuring lstm layers");
    return 0;
}

static void choose(void *sel, int i, const void *entry)
{
    const lstm_time *c = entry;
    ((lstm_selection *)sel)->scalar[i] = c->scalar_ms < c->vector_ms;
}

static void report(FILE *report, const void *sel, int i, const void *entry)
{
    const lstm_time *c = entry;
    fprintf(report, "lstm batch %lld, %lld steps, %lld units: vector %8.3f ms  "
                    "scalar %8.3f ms  -> %s\n",
            (long long)c->s.b, (long long)c->s.t, (long long)c->s.h, c->vector_ms, c->scalar_ms,
            ((const lstm_selection *)sel)->scalar[i] ? "scalar" : "vector");
}

static const measured_choice lstm_choice = {
    .name = "lstm", .what = "lstm kernels", .per = "shape", .size = sizeof(lstm_time),
    .key_fields = 3, .parse = parse, .format = format, .key = key, .measure = measure,
    .choose = choose, .report = report};

int lstm_select(cl_env *env, const codegen_target *target, const recur_shape *shapes, int n,
                bool remeasure, FILE *report, bool *scalar, qsdc_error *err)
{
    if (measure_forced("QSDC_LSTM", "vector", "scalar", scalar, n))
        return 0;
    lstm_selection s = {.target = target, .shapes = shapes, .scalar = scalar};
    return choose_by_measuring(env, &lstm_choice, &s, n, remeasure, report, err);
}
