#include "window_select.h"

#include <string.h>

#include "compile.h"
#include "measured_choice.h"
#include "plan_run.h"

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
 * element ([1]) per work-item. */
typedef struct window_time {
    window_shape s;
    double ms[2][2];
} window_time;

/* The selection: its target, shapes and answers. */
typedef struct window_selection {
    const codegen_target *target;
    const window_shape *shapes;
    bool *rows;
} window_selection;

/* Window kernel op's row of layer_ops (the compiler asks about window
 * kernels alone). */
static int layer_of(op_kind op)
{
    int i = 0;
    while (i < N_LAYERS - 1 && layer_ops[i][0] != op && layer_ops[i][1] != op)
        i++;
    return i;
}

#define FIELDS "%lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf %lf"

/* A cache line: the forward's op name, then FIELDS in the order of
 * window_time, the first 13 fields its key. */
static bool parse(const char *line, void *entry)
{
    window_time *t = entry;
    char op[16];
    long long b, c, h, w;
    window2d *k = &t->s.win;
    if (sscanf(line, "%15s " FIELDS, op, &b, &c, &h, &w, &k->kh, &k->kw, &k->sh, &k->sw,
               &k->ph, &k->pw, &k->dh, &k->dw, &t->ms[0][0], &t->ms[0][1], &t->ms[1][0],
               &t->ms[1][1]) != 17)
        return false;
    int layer = 0;
    while (layer < N_LAYERS && strcmp(op, op_kind_name(layer_ops[layer][0])) != 0)
        layer++;
    if (layer == N_LAYERS)
        return false;
    t->s.op = layer_ops[layer][0];
    t->s.n = b, t->s.c = c, t->s.h = h, t->s.w = w;
    return true;
}

static void format(strbuf *sb, const void *entry)
{
    const window_time *t = entry;
    const window2d *k = &t->s.win;
    sb_printf(sb, "%s " FIELDS "\n", op_kind_name(t->s.op), (long long)t->s.n,
              (long long)t->s.c, (long long)t->s.h, (long long)t->s.w, k->kh, k->kw, k->sh,
              k->sw, k->ph, k->pw, k->dh, k->dw, t->ms[0][0], t->ms[0][1], t->ms[1][0],
              t->ms[1][1]);
}

/* A window kernel's key is its layer's: the forward's op. */
static void key(const void *sel, int i, void *entry)
{
    window_time *t = entry;
    t->s = ((const window_selection *)sel)->shapes[i];
    t->s.op = layer_ops[layer_of(t->s.op)][0];
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

static int measure_entry(cl_env *env, const void *sel, void *entry, qsdc_error *err)
{
    window_time *t = entry;
    if (measure(env, ((const window_selection *)sel)->target, layer_of(t->s.op), t, err) < 0)
        return qsdc_error_wrap(err, "measuring window kernels");
    return 0;
}

/* Window kernel i's times in its layer's t, a row and an element per
 * work-item: the forward's or the backward's. */
static const double *kernel_ms(const window_selection *s, int i, const window_time *t)
{
    op_kind op = s->shapes[i].op;
    return t->ms[layer_ops[layer_of(op)][1] == op];
}

static void choose(void *sel, int i, const void *entry)
{
    window_selection *s = sel;
    const double *ms = kernel_ms(s, i, entry);
    s->rows[i] = ms[0] < ms[1];
}

static void report(FILE *report, const void *sel, int i, const void *entry)
{
    const window_selection *s = sel;
    const window_shape *w = &s->shapes[i];
    const window2d *k = &w->win;
    const double *ms = kernel_ms(s, i, entry);
    fprintf(report, "window %-12s batch %lld, %lldx%lldx%lld, %dx%d stride %dx%d: "
                    "rows %8.3f ms  lanes %8.3f ms  -> %s\n",
            op_kind_name(w->op), (long long)w->n, (long long)w->c, (long long)w->h,
            (long long)w->w, k->kh, k->kw, k->sh, k->sw, ms[0], ms[1],
            s->rows[i] ? "rows" : "lanes");
}

static const measured_choice window_choice = {
    .name = "window", .what = "window kernels", .per = "layer shape and batch",
    .size = sizeof(window_time), .key_fields = 13, .parse = parse, .format = format,
    .key = key, .measure = measure_entry, .choose = choose, .report = report};

int window_select(cl_env *env, const codegen_target *target, const window_shape *shapes, int n,
                  bool remeasure, FILE *report, bool *rows, qsdc_error *err)
{
    if (measure_forced("QSDC_WINDOW", "lanes", "rows", rows, n))
        return 0;
    window_selection s = {.target = target, .shapes = shapes, .rows = rows};
    return choose_by_measuring(env, &window_choice, &s, n, remeasure, report, err);
}
