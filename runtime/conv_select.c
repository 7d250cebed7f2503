#include "conv_select.h"

#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "clock.h"
#include "conv_direct.h"
#include "executor.h"
#include "file_io.h"

#define REPS 5

/* One conv2d layer's measured times at a batch size. */
typedef struct conv_time {
    int64_t batch;
    conv_shape s;
    double direct_ms, im2col_ms, gemm_ms;
} conv_time;

#define FIELDS "%lld %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf"

/* The cache file: one line per layer shape and batch, FIELDS in the order
 * of conv_time. */
static int load_cache(const char *path, conv_time **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = path[0] ? fs_fopen_regular(path, NULL, NULL) : NULL;
    if (!f)
        return 0;
    long long b, c, h, w, co;
    conv_time t;
    window2d *k = &t.s.win;
    int cap = 0;
    while (fscanf(f, FIELDS, &b, &c, &h, &w, &co, &k->kh, &k->kw, &k->sh, &k->sw, &k->ph,
                  &k->pw, &k->dh, &k->dw, &t.direct_ms, &t.im2col_ms, &t.gemm_ms) == 16) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            conv_time *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p)
                break;
            *out = p;
        }
        t.batch = b;
        t.s.c = c, t.s.h = h, t.s.w = w, t.s.co = co;
        (*out)[(*n)++] = t;
    }
    fclose(f);
    return 0;
}

static void save_cache(const char *path, const conv_time *t, int n)
{
    if (!path[0])
        return;
    strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++) {
        const window2d *k = &t[i].s.win;
        sb_printf(&sb, FIELDS "\n", (long long)t[i].batch, (long long)t[i].s.c,
                  (long long)t[i].s.h, (long long)t[i].s.w, (long long)t[i].s.co, k->kh,
                  k->kw, k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, t[i].direct_ms,
                  t[i].im2col_ms, t[i].gemm_ms);
    }
    if (!sb.oom)
        fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, NULL);
    sb_free(&sb);
}

/* The index of the n-th (0-based) launch whose nodes begin with op. */
static int nth_launch(const plan *p, const char *op, int n)
{
    size_t len = strlen(op);
    for (int i = 0; i < p->n_launches; i++) {
        const char *s = p->launches[i].nodes;
        if (strncmp(s, op, len) == 0 && (s[len] == '\0' || s[len] == '+') && n-- == 0)
            return i;
    }
    return -1;
}

/* Runs plan p once on scratch state, then times the given launches. */
static int time_launches(cl_env *env, const plan *p, const int *launch, int n, double *ms,
                         qsdc_error *err)
{
    model_state st;
    executor ex;
    memset(&st, 0, sizeof st);
    memset(&ex, 0, sizeof ex);
    int rc = model_state_create(env, p->param_elems, 0, &st, err);
    if (rc == 0)
        rc = exec_create(env, p, &st, &ex, err);
    if (rc == 0)
        rc = exec_run(&ex, 0, 0, 0, err);
    for (int i = 0; i < n && rc == 0; i++)
        if ((ms[i] = exec_launch_ms(&ex, launch[i], REPS, err)) < 0)
            rc = -1;
    exec_destroy(&ex);
    model_state_free(&st);
    return rc;
}

/* Times every conv2d layer of m at batch both ways: the inference plan's
 * im2col and GEMM launches (one launch where fusion joined them), and its
 * direct convolutions. */
static int measure(cl_env *env, const model *m, int64_t batch, const codegen_target *base,
                   conv_time *t, int n, qsdc_error *err)
{
    codegen_target target = *base;
    plan gemm, direct;
    memset(&direct, 0, sizeof direct);
    target.direct_conv_all = false;
    if (compile_plan(m, MODE_INFER, batch, &target, &gemm, NULL, NULL, err) < 0)
        return -1;
    target.direct_conv_all = true;
    int rc = compile_plan(m, MODE_INFER, batch, &target, &direct, NULL, NULL, err);
    int *launch = malloc(2 * (size_t)n * sizeof *launch);
    double *ms = malloc(2 * (size_t)n * sizeof *ms);
    if (rc == 0 && (!launch || !ms))
        rc = qsdc_fail(err, "out of memory");
    bool *joined = calloc((size_t)n, sizeof *joined);
    if (rc == 0 && !joined)
        rc = qsdc_fail(err, "out of memory");
    for (int i = 0; i < n && rc == 0; i++) {
        launch[2 * i] = nth_launch(&gemm, "im2col", i);
        if (launch[2 * i] < 0 || nth_launch(&direct, "conv2d", i) < 0) {
            rc = qsdc_fail(err, "conv2d layer %d has no im2col or direct launch", i);
            break;
        }
        /* the GEMM reading its col: the next launch, or this one when fusion
         * joined them (then all of its time counts as the GEMM's) */
        joined[i] = strstr(gemm.launches[launch[2 * i]].nodes, "+bmatmul") != NULL;
        launch[2 * i + 1] = launch[2 * i] + !joined[i];
    }
    if (rc == 0)
        rc = time_launches(env, &gemm, launch, 2 * n, ms, err);
    for (int i = 0; i < n && rc == 0; i++) {
        t[i].im2col_ms = joined[i] ? 0.0 : ms[2 * i];
        t[i].gemm_ms = ms[2 * i + 1];
        launch[i] = nth_launch(&direct, "conv2d", i);
    }
    if (rc == 0)
        rc = time_launches(env, &direct, launch, n, ms, err);
    for (int i = 0; i < n && rc == 0; i++)
        t[i].direct_ms = ms[i];
    free(joined);
    free(launch);
    free(ms);
    plan_free(&gemm);
    plan_free(&direct);
    return rc;
}

/* In training the backward recomputes a direct convolution's im2col, so
 * the direct kernel competes with the GEMM alone. */
static bool direct_wins(const conv_time *t, graph_mode mode)
{
    double gemm = mode == MODE_TRAIN ? t->gemm_ms : t->im2col_ms + t->gemm_ms;
    return t->direct_ms < gemm;
}

static int find(const conv_time *cache, int n, int64_t batch, const conv_shape *s)
{
    for (int i = 0; i < n; i++)
        if (cache[i].batch == batch && conv_shape_equal(&cache[i].s, s))
            return i;
    return -1;
}

/* The conv2d layers of m as the GEMM lowering has them. */
static int conv_layers(const model *m, int64_t batch, conv_shape *shapes, qsdc_error *err)
{
    graph g;
    int nodes[CONV_MAX_LAYERS];
    if (graph_lower(m, MODE_INFER, batch, &g, err) < 0) {
        graph_free(&g);
        return -1;
    }
    int n = graph_conv_layers(&g, nodes, shapes, CONV_MAX_LAYERS);
    graph_free(&g);
    return n;
}

int conv_select(cl_env *env, const model *m, graph_mode mode, int64_t batch, bool remeasure,
                FILE *report, codegen_target *target, qsdc_error *err)
{
    const char *force = getenv("QSDC_CONV");
    if (force && (!strcmp(force, "direct") || !strcmp(force, "gemm"))) {
        target->direct_conv_all = !strcmp(force, "direct");
        return 0;
    }
    conv_shape shapes[CONV_MAX_LAYERS];
    int n = conv_layers(m, batch, shapes, err);
    if (n <= 0)
        return n;
    char path[1024];
    conv_time *cache = NULL;
    int n_cache = 0, missing = 0, rc = 0;
    cl_cache_device_file(env, "conv", "txt", path, sizeof path);
    load_cache(path, &cache, &n_cache);
    for (int i = 0; i < n; i++)
        missing += remeasure || find(cache, n_cache, batch, &shapes[i]) < 0;
    conv_time *t = calloc((size_t)n, sizeof *t);
    conv_shape *chosen = calloc((size_t)n, sizeof *chosen);
    if (!t || !chosen)
        rc = qsdc_fail(err, "out of memory");
    if (rc == 0 && missing) {
        /* a large model's layers take a while: say why nothing else is printed */
        fprintf(stderr, "qsdc: measuring conv2d kernels for this device (once per layer "
                "shape and batch; the results are cached) ...\n");
        for (int i = 0; i < n; i++)
            t[i] = (conv_time){.batch = batch, .s = shapes[i]};
        double t0 = now_seconds();
        rc = measure(env, m, batch, target, t, n, err);
        env->measure_s += now_seconds() - t0;
        conv_time *grown = rc == 0 ? realloc(cache, (size_t)(n_cache + n) * sizeof *grown)
                                   : cache;
        if (!grown)
            rc = qsdc_fail(err, "out of memory");
        else
            cache = grown;
        for (int i = 0; i < n && rc == 0; i++) {
            int j = find(cache, n_cache, batch, &shapes[i]);
            cache[j >= 0 ? j : n_cache++] = t[i];
        }
        if (rc == 0)
            save_cache(path, cache, n_cache);
    }
    int n_chosen = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const conv_time *c = &cache[find(cache, n_cache, batch, &shapes[i])];
        bool direct = direct_wins(c, mode);
        if (report)
            fprintf(report, "conv %lldx%lldx%lld -> %lld, %dx%d stride %dx%d: direct %8.3f ms"
                            "  im2col %8.3f + gemm %8.3f ms  -> %s\n",
                    (long long)c->s.c, (long long)c->s.h, (long long)c->s.w,
                    (long long)c->s.co, c->s.win.kh, c->s.win.kw, c->s.win.sh, c->s.win.sw,
                    c->direct_ms, c->im2col_ms, c->gemm_ms, direct ? "direct" : "gemm");
        if (direct)
            chosen[n_chosen++] = shapes[i];
    }
    free(cache);
    free(t);
    if (rc < 0 || n_chosen == 0) {
        free(chosen);
        return rc < 0 ? qsdc_error_wrap(err, "measuring conv2d layers") : 0;
    }
    target->direct_conv = chosen;
    target->n_direct_conv = n_chosen;
    return 0;
}

void conv_select_free(codegen_target *target)
{
    free((void *)target->direct_conv);
    target->direct_conv = NULL;
    target->n_direct_conv = 0;
}
