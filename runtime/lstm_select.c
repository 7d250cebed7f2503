#include "lstm_select.h"

#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "clock.h"
#include "compile.h"
#include "file_io.h"
#include "measure_slot.h"
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

#define FIELDS "%lld %lld %lld %lf %lf"

/* The cache file: one line per shape, FIELDS in the order of lstm_time. */
static void load_cache(const char *path, lstm_time **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = path[0] ? fs_fopen_regular(path, NULL, NULL) : NULL;
    if (!f)
        return;
    long long b, t, h;
    lstm_time e;
    int cap = 0;
    while (fscanf(f, FIELDS, &b, &t, &h, &e.vector_ms, &e.scalar_ms) == 5) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            lstm_time *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p)
                break;
            *out = p;
        }
        e.s = (recur_shape){b, t, h};
        (*out)[(*n)++] = e;
    }
    fclose(f);
}

static void save_cache(const char *path, const lstm_time *t, int n)
{
    if (!path[0])
        return;
    strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++)
        sb_printf(&sb, FIELDS "\n", (long long)t[i].s.b, (long long)t[i].s.t,
                  (long long)t[i].s.h, t[i].vector_ms, t[i].scalar_ms);
    if (!sb.oom)
        cl_cache_merge_lines(path, sb_str(&sb), 3);
    sb_free(&sb);
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

static int find(const lstm_time *cache, int n, const recur_shape *s)
{
    for (int i = 0; i < n; i++)
        if (cache[i].s.b == s->b && cache[i].s.t == s->t && cache[i].s.h == s->h)
            return i;
    return -1;
}

int lstm_select(cl_env *env, const codegen_target *target, const recur_shape *shapes, int n,
                bool remeasure, FILE *report, bool *scalar, qsdc_error *err)
{
    if (measure_forced("QSDC_LSTM", "vector", "scalar", scalar, n))
        return 0;
    char path[1024];
    lstm_time *cache = NULL;
    int n_cache = 0, rc = 0;
    bool said = false;
    cl_cache_device_file(env, "lstm", "txt", path, sizeof path);
    load_cache(path, &cache, &n_cache);
    for (int i = 0; i < n && rc == 0; i++) {
        int j = find(cache, n_cache, &shapes[i]);
        if (j < 0 || remeasure) {
            lstm_time t = {.s = shapes[i]};
            lstm_time *grown = measure_slot(cache, n_cache, sizeof *cache, j, "lstm kernels",
                                            "shape", &said, err);
            if (!grown) {
                rc = -1;
                break;
            }
            cache = grown;
            double t0 = now_seconds();
            rc = measure_way(env, target, &t.s, false, &t.vector_ms, err);
            if (rc == 0)
                rc = measure_way(env, target, &t.s, true, &t.scalar_ms, err);
            env->measure_s += now_seconds() - t0;
            if (rc < 0) {
                rc = qsdc_error_wrap(err, "measuring lstm layers");
                break;
            }
            cache[j >= 0 ? j : n_cache++] = t;
            j = find(cache, n_cache, &shapes[i]);
        }
        const lstm_time *c = &cache[j];
        scalar[i] = c->scalar_ms < c->vector_ms;
        if (report)
            fprintf(report, "lstm batch %lld, %lld steps, %lld units: vector %8.3f ms  "
                            "scalar %8.3f ms  -> %s\n",
                    (long long)c->s.b, (long long)c->s.t, (long long)c->s.h, c->vector_ms,
                    c->scalar_ms, scalar[i] ? "scalar" : "vector");
    }
    if (said && rc == 0)
        save_cache(path, cache, n_cache);
    free(cache);
    return rc;
}
