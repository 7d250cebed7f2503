#include "conv_select.h"

#include <string.h>

#include "compile.h"
#include "compile_tuner.h"
#include "measured_choice.h"
#include "plan_run.h"

#define REPS 5

/* One conv2d layer's measured times at a batch size. */
typedef struct conv_time {
    int64_t batch;
    conv_shape s;
    double direct_ms, im2col_ms, gemm_ms;
} conv_time;

/* The selection: its target, mode, batch, shapes and answers. */
typedef struct conv_selection {
    const codegen_target *target;
    graph_mode mode;
    int64_t batch;
    const conv_shape *shapes;
    bool *direct;
} conv_selection;

#define FIELDS "%lld %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf"

/* A cache line: FIELDS in the order of conv_time, the first 13 its key. */
static bool parse(const char *line, void *entry)
{
    conv_time *t = entry;
    long long b, c, h, w, co;
    window2d *k = &t->s.win;
    if (sscanf(line, FIELDS, &b, &c, &h, &w, &co, &k->kh, &k->kw, &k->sh, &k->sw, &k->ph,
               &k->pw, &k->dh, &k->dw, &t->direct_ms, &t->im2col_ms, &t->gemm_ms) != 16)
        return false;
    t->batch = b;
    t->s.c = c, t->s.h = h, t->s.w = w, t->s.co = co;
    return true;
}

static void format(strbuf *sb, const void *entry)
{
    const conv_time *t = entry;
    const window2d *k = &t->s.win;
    sb_printf(sb, FIELDS "\n", (long long)t->batch, (long long)t->s.c, (long long)t->s.h,
              (long long)t->s.w, (long long)t->s.co, k->kh, k->kw, k->sh, k->sw, k->ph, k->pw,
              k->dh, k->dw, t->direct_ms, t->im2col_ms, t->gemm_ms);
}

static void key(const void *sel, int i, void *entry)
{
    const conv_selection *s = sel;
    conv_time *t = entry;
    t->batch = s->batch;
    t->s = s->shapes[i];
}

/* The index of the first launch whose nodes begin with op. */
static int launch_of(const plan *p, const char *op)
{
    size_t len = strlen(op);
    for (int i = 0; i < p->n_launches; i++) {
        const char *s = p->launches[i].nodes;
        if (strncmp(s, op, len) == 0 && (s[len] == '\0' || s[len] == '+'))
            return i;
    }
    return -1;
}

/* A model of one conv2d layer of shape s (with its bias) over an input of
 * s's size: what the layer's measurements compile. */
static void one_layer(const conv_shape *s, layer *l, model *m)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "conv");
    l->kind = LAYER_CONV2D;
    l->n_inputs = 1;
    snprintf(l->inputs[0], sizeof l->inputs[0], "input");
    l->filters = s->co;
    l->bias = true;
    const window2d *w = &s->win;
    l->win = (window_params){.kernel = {w->kh, w->kw}, .stride = {w->sh, w->sw},
                             .dilation = {w->dh, w->dw}, .pad = PAD_EXPLICIT,
                             .padding = {w->ph, w->pw}};
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "<conv2d measurement>");
    snprintf(m->name, sizeof m->name, "conv_tune");
    m->input_rank = 3;
    m->input_shape[0] = s->c, m->input_shape[1] = s->h, m->input_shape[2] = s->w;
    m->layers = l;
    m->n_layers = 1;
}

/* Every conv2d layer as im2col + GEMM: the answer the gemm way's plan
 * gets, so that its GEMMs are asked of the tuner as the model's are. */
static int convs_as_gemm(void *ctx, graph_mode mode, int64_t batch, const conv_shape *shapes,
                         int n, bool *direct, qsdc_error *err)
{
    (void)ctx, (void)mode, (void)batch, (void)shapes, (void)err;
    for (int i = 0; i < n; i++)
        direct[i] = false;
    return 0;
}

/* Times conv2d layer t->s at t->batch both ways, as one layer's inference
 * plans: its im2col and GEMM launches (one launch where fusion joined
 * them), and its direct convolution. The plans keep base's tuner for
 * their GEMMs and window kernels: on llvmpipe the GEMM family it picks
 * (tiled) ran the CNN's second layer's product at batch 128 in 0.32 s
 * where the family of an untuned target took 8.3 s, so that layer was
 * measured direct (0.42 s) against the wrong GEMM. */
static int measure(cl_env *env, const codegen_target *base, conv_time *t, qsdc_error *err)
{
    layer l;
    model m;
    one_layer(&t->s, &l, &m);
    codegen_target target = *base;
    compile_tuner tuner;
    if (base->tuner) {
        tuner = *base->tuner;
        tuner.convs = convs_as_gemm;
        target.tuner = &tuner;
    }
    target.n_direct_conv = 0;
    target.direct_conv_all = false;
    plan gemm, direct;
    memset(&direct, 0, sizeof direct);
    if (compile_plan(&m, MODE_INFER, t->batch, &target, &gemm, NULL, NULL, err) < 0)
        return -1;
    target.direct_conv_all = true;
    int rc = compile_plan(&m, MODE_INFER, t->batch, &target, &direct, NULL, NULL, err);
    int im2col = launch_of(&gemm, "im2col"), conv = launch_of(&direct, "conv2d");
    if (rc == 0 && (im2col < 0 || conv < 0))
        rc = qsdc_fail(err, "a conv2d layer compiled without an im2col or direct launch");
    /* the GEMM reading its col: the next launch, or this one when fusion
     * joined them (then all of its time counts as the GEMM's) */
    bool joined = rc == 0 && strstr(gemm.launches[im2col].nodes, "+bmatmul") != NULL;
    double ms[2] = {0, 0};
    if (rc == 0)
        rc = plan_run_time(env, &gemm, (int[]){im2col, im2col + !joined}, 2, REPS, ms, err);
    t->im2col_ms = joined ? 0.0 : ms[0];
    t->gemm_ms = ms[1];
    if (rc == 0)
        rc = plan_run_time(env, &direct, &conv, 1, REPS, &t->direct_ms, err);
    plan_free(&gemm);
    plan_free(&direct);
    return rc;
}

static int measure_entry(cl_env *env, const void *sel, void *entry, qsdc_error *err)
{
    if (measure(env, ((const conv_selection *)sel)->target, entry, err) < 0)
        return qsdc_error_wrap(err, "measuring conv2d layers");
    return 0;
}

/* In training the backward recomputes a direct convolution's im2col, so
 * the direct kernel competes with the GEMM alone. */
static bool direct_wins(const conv_time *t, graph_mode mode)
{
    double gemm = mode == MODE_TRAIN ? t->gemm_ms : t->im2col_ms + t->gemm_ms;
    return t->direct_ms < gemm;
}

static void choose(void *sel, int i, const void *entry)
{
    conv_selection *s = sel;
    s->direct[i] = direct_wins(entry, s->mode);
}

static void report(FILE *report, const void *sel, int i, const void *entry)
{
    const conv_time *c = entry;
    fprintf(report, "conv %lldx%lldx%lld -> %lld, %dx%d stride %dx%d: direct %8.3f ms"
                    "  im2col %8.3f + gemm %8.3f ms  -> %s\n",
            (long long)c->s.c, (long long)c->s.h, (long long)c->s.w, (long long)c->s.co,
            c->s.win.kh, c->s.win.kw, c->s.win.sh, c->s.win.sw, c->direct_ms, c->im2col_ms,
            c->gemm_ms, ((const conv_selection *)sel)->direct[i] ? "direct" : "gemm");
}

static const measured_choice conv_choice = {
    .name = "conv", .what = "conv2d kernels", .per = "layer shape and batch",
    .size = sizeof(conv_time), .key_fields = 13, .parse = parse, .format = format, .key = key,
    .measure = measure_entry, .choose = choose, .report = report};

int conv_select(cl_env *env, const codegen_target *target, graph_mode mode, int64_t batch,
                const conv_shape *shapes, int n, bool remeasure, FILE *report, bool *direct,
                qsdc_error *err)
{
    if (measure_forced("QSDC_CONV", "gemm", "direct", direct, n))
        return 0;
    conv_selection s = {.target = target, .mode = mode, .batch = batch, .shapes = shapes,
                        .direct = direct};
    return choose_by_measuring(env, &conv_choice, &s, n, remeasure, report, err);
}
