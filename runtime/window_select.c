#include "window_select.h"

#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "clock.h"
#include "compile.h"
#include "file_io.h"
#include "measure_slot.h"
#include "plan_run.h"
#include "window_shapes.h"

#define REPS 5
/* The measured conv2d layer's filters: few, since its im2col and col2im do
 * not depend on them. */
#define FILTERS 4

/* The layers whose kernels are window kernels: forward, backward. */
static const op_kind layer_ops[][2] = {
    {OP_IM2COL, OP_COL2IM}, {OP_MAXPOOL, OP_MAXPOOL_GRAD}, {OP_AVGPOOL, OP_AVGPOOL_GRAD}};
#define N_LAYERS (int)(sizeof layer_ops / sizeof layer_ops[0])

/* One layer shape's measured kernel times: s keyed by the forward's op,
 * ms[0] the forward's, ms[1] the backward's, each a row ([0]) and an
 * element ([1]) per work-item; measured: in this selection (a layer's
 * second kernel is not measured again). */
typedef struct window_time {
    window_shape s;
    double ms[2][2];
    bool measured;
} window_time;

/* Window kernel op's row of layer_ops (the compiler asks about window
 * kernels alone) and side: 0 forward, 1 backward. */
static int layer_of(op_kind op, int *side)
{
    int i = 0;
    while (i < N_LAYERS - 1 && layer_ops[i][0] != op && layer_ops[i][1] != op)
        i++;
    *side = layer_ops[i][1] == op;
    return i;
}

#define FIELDS "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf %lf"

/* The cache file: one line per layer shape, the forward's op name, then
 * FIELDS in the order of window_time. */
static void load_cache(const char *path, window_time **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = path[0] ? fs_fopen_regular(path, NULL, NULL) : NULL;
    if (!f)
        return;
    char op[16];
    long long b, c, h, w;
    window_time t = {.measured = false};
    window2d *k = &t.s.win;
    int cap = 0;
    while (fscanf(f, "%15s " FIELDS, op, &b, &c, &h, &w, &k->kh, &k->kw, &k->sh, &k->sw,
                  &k->ph, &k->pw, &k->dh, &k->dw, &t.ms[0][0], &t.ms[0][1], &t.ms[1][0],
                  &t.ms[1][1]) == 17) {
        int layer = 0;
        while (layer < N_LAYERS && strcmp(op, op_kind_name(layer_ops[layer][0])) != 0)
            layer++;
        if (layer == N_LAYERS)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            window_time *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p)
                break;
            *out = p;
        }
        t.s.op = layer_ops[layer][0];
        t.s.n = b, t.s.c = c, t.s.h = h, t.s.w = w;
        (*out)[(*n)++] = t;
    }
    fclose(f);
}

static void save_cache(const char *path, const window_time *t, int n)
{
    if (!path[0])
        return;
    strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++) {
        const window2d *k = &t[i].s.win;
        sb_printf(&sb, "%s " FIELDS "\n", op_kind_name(t[i].s.op), (long long)t[i].s.n,
                  (long long)t[i].s.c, (long long)t[i].s.h, (long long)t[i].s.w, k->kh, k->kw,
                  k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, t[i].ms[0][0], t[i].ms[0][1],
                  t[i].ms[1][0], t[i].ms[1][1]);
    }
    if (!sb.oom)
        cl_cache_merge_lines(path, sb_str(&sb), 13);
    sb_free(&sb);
}

/* A model whose training computes the input gradient of layer s (keyed by
 * its forward's op): a 1x1 conv2d (which reads its input as its col
 * matrix, no im2col) makes s's input map, then s, then a dense output. */
static int measured_model(const window_shape *s, model *m, qsdc_error *err)
{
    const window2d *k = &s->win;
    char layer[256], text[768];
    if (s->op == OP_IM2COL)
        snprintf(layer, sizeof layer, "{op: conv2d, filters: %d, kernel: [%d, %d], "
                 "stride: [%d, %d], padding: [%d, %d], dilation: [%d, %d]}", FILTERS, k->kh,
                 k->kw, k->sh, k->sw, k->ph, k->pw, k->dh, k->dw);
    else
        snprintf(layer, sizeof layer, "{op: %s, kernel: [%d, %d], stride: [%d, %d], "
                 "padding: [%d, %d]}", op_kind_name(s->op), k->kh, k->kw, k->sh, k->sw, k->ph,
                 k->pw);
    snprintf(text, sizeof text,
             "name: window_tune\ninput: {shape: [1, %lld, %lld]}\n"
             "layers:\n  - {op: conv2d, filters: %lld, kernel: 1}\n  - %s\n  - flatten\n"
             "  - {op: dense, units: 2}\ntrain: {optimizer: {type: sgd, lr: 0.1}}\n",
             (long long)s->h, (long long)s->w, (long long)s->c, layer);
    return model_load_string("<window measurement>", text, strlen(text), m, err);
}

/* The launch whose nodes are op's alone (the measured model chains nothing
 * to its window nodes), or -1: where fusion joined an im2col or col2im to
 * its GEMM (fusion.h) that kernel is not a window kernel. */
static int window_launch(const plan *p, op_kind op)
{
    for (int i = 0; i < p->n_launches; i++)
        if (!strcmp(p->launches[i].nodes, op_kind_name(op)))
            return i;
    return -1;
}

/* Times the window kernels of layer t->s (layer: its row of layer_ops) a
 * row and an element per work-item in the measured model's training plan.
 * A kernel that plan joins to its GEMM has no launch of its own: 0 ms both
 * ways, a tie, which keeps the family's lanes. */
static int measure(cl_env *env, const codegen_target *base, int layer, window_time *t,
                   qsdc_error *err)
{
    model m;
    if (measured_model(&t->s, &m, err) < 0)
        return -1;
    codegen_target target = *base;
    target.tuner = NULL;
    int rc = 0;
    memset(t->ms, 0, sizeof t->ms);
    t->measured = true;
    for (int lanes = 0; lanes < 2 && rc == 0; lanes++) {
        target.windows = lanes ? WINDOWS_LANES : WINDOWS_ROWS;
        plan p;
        rc = compile_plan(&m, MODE_TRAIN, t->s.n, &target, &p, NULL, NULL, err);
        int launch[2], side[2], n = 0;
        for (int d = 0; rc == 0 && d < 2; d++)
            if ((launch[n] = window_launch(&p, layer_ops[layer][d])) >= 0)
                side[n++] = d;
        double ms[2];
        if (rc == 0)
            rc = plan_run_time(env, &p, launch, n, REPS, ms, err);
        for (int i = 0; rc == 0 && i < n; i++)
            t->ms[side[i]][lanes] = ms[i];
    }
    model_free(&m);
    return rc;
}

static int find(const window_time *cache, int n, const window_shape *s)
{
    for (int i = 0; i < n; i++)
        if (window_shape_equal(&cache[i].s, s))
            return i;
    return -1;
}

int window_select(cl_env *env, const codegen_target *target, const window_shape *shapes, int n,
                  bool remeasure, FILE *report, bool *rows, qsdc_error *err)
{
    if (measure_forced("QSDC_WINDOW", "lanes", "rows", rows, n))
        return 0;
    char path[1024];
    window_time *cache = NULL;
    int n_cache = 0, rc = 0;
    bool said = false;
    cl_cache_device_file(env, "window", "txt", path, sizeof path);
    load_cache(path, &cache, &n_cache);
    for (int i = 0; i < n && rc == 0; i++) {
        int side, layer = layer_of(shapes[i].op, &side);
        window_time t = {.s = shapes[i]};
        t.s.op = layer_ops[layer][0];
        int j = find(cache, n_cache, &t.s);
        if (j < 0 || (remeasure && !cache[j].measured)) {
            window_time *grown = measure_slot(cache, n_cache, sizeof *cache, j,
                                              "window kernels", "layer shape and batch", &said,
                                              err);
            if (!grown) {
                rc = -1;
                break;
            }
            cache = grown;
            double t0 = now_seconds();
            int measured = measure(env, target, layer, &t, err);
            env->measure_s += now_seconds() - t0;
            if (measured < 0) {
                rc = qsdc_error_wrap(err, "measuring window kernels");
                break;
            }
            cache[j >= 0 ? j : n_cache++] = t;
            j = find(cache, n_cache, &t.s);
        }
        const double *ms = cache[j].ms[side];
        rows[i] = ms[0] < ms[1];
        if (report) {
            const window2d *k = &shapes[i].win;
            fprintf(report, "window %-12s batch %lld, %lldx%lldx%lld, %dx%d stride %dx%d: "
                            "rows %8.3f ms  lanes %8.3f ms  -> %s\n",
                    op_kind_name(shapes[i].op), (long long)shapes[i].n, (long long)shapes[i].c,
                    (long long)shapes[i].h, (long long)shapes[i].w, k->kh, k->kw, k->sh, k->sw,
                    ms[0], ms[1], rows[i] ? "rows" : "lanes");
        }
    }
    if (said && rc == 0)
        save_cache(path, cache, n_cache);
    free(cache);
    return rc;
}
