#include "gemm_select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen_gemm.h"
#include "measured_choice.h"
#include "plan_run.h"

#define REPS 5

/* One shape's measurements: the panel family, the fastest tiles of the
 * tiled family, and CLBlast (< 0: not a candidate on this device). */
typedef struct choice {
    plan_gemm shape;
    double panel_ms, clblast_ms, tiled_ms;
    gemm_tiles tiles;
} choice;

typedef enum backend { PANEL, TILED, CLBLAST } backend;

static backend fastest(const choice *c)
{
    backend b = c->tiled_ms < c->panel_ms ? TILED : PANEL;
    double best = b == TILED ? c->tiled_ms : c->panel_ms;
    return c->clblast_ms >= 0 && c->clblast_ms < best ? CLBLAST : b;
}

/* The selection: its target, shapes and answers. */
typedef struct gemm_selection {
    const codegen_target *target;
    const plan_gemm *shapes;
    gemm_pick *picks;
} gemm_selection;

/* A cache line: "m n k trans_a trans_b accumulate batch panel_ms
 * clblast_ms tiled_ms items_m items_n block_m block_n k direct" (the tiled
 * family's fastest tiles), the first 7 its key; lines of older qsdc,
 * without the tiled family, its direct variant or the batch, are none. */
static bool parse(const char *line, void *entry)
{
    choice *c = entry;
    gemm_tiles *t = &c->tiles;
    long long m, n, k, batch;
    int ta, tb, acc, direct;
    if (sscanf(line, "%lld %lld %lld %d %d %d %lld %lf %lf %lf %d %d %d %d %d %d", &m, &n, &k,
               &ta, &tb, &acc, &batch, &c->panel_ms, &c->clblast_ms, &c->tiled_ms,
               &t->items_m, &t->items_n, &t->block_m, &t->block_n, &t->k, &direct) != 16)
        return false;
    t->direct = direct != 0;
    c->shape = (plan_gemm){.m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb,
                           .accumulate = acc, .batch = batch};
    return true;
}

static void format(strbuf *sb, const void *entry)
{
    const choice *c = entry;
    sb_printf(sb, "%lld %lld %lld %d %d %d %lld %.6f %.6f %.6f %d %d %d %d %d %d\n",
              (long long)c->shape.m, (long long)c->shape.n, (long long)c->shape.k,
              c->shape.trans_a, c->shape.trans_b, c->shape.accumulate,
              (long long)c->shape.batch, c->panel_ms,
              c->clblast_ms, c->tiled_ms, c->tiles.items_m, c->tiles.items_n,
              c->tiles.block_m, c->tiles.block_n, c->tiles.k, c->tiles.direct);
}

static void key(const void *sel, int i, void *entry)
{
    ((choice *)entry)->shape = ((const gemm_selection *)sel)->shapes[i];
}

/* The independent products a per-sample product is measured as: 1 for a
 * plain one (batch 0) or a batch of one sample. */
static int64_t measured_samples(const plan_gemm *g, const device_profile *d)
{
    int64_t most = 4 * (int64_t)(d->compute_units > 0 ? d->compute_units : 1);
    return g->batch > most ? most : g->batch > 1 ? g->batch : 1;
}

/* Times the panel family, the tiled family's candidate tiles and (with
 * clblast) CLBlast on scratch operands of c's shape, all in one program; a
 * per-sample product as a batch of independent products (never CLBlast,
 * as it runs), at most 4 per compute unit: enough to keep every unit busy,
 * where all 128 of a CNN's batch took llvmpipe's panel family 17 s. */
static int measure(cl_env *env, const codegen_target *target, bool clblast, choice *c,
                   qsdc_error *err)
{
    plan_gemm g = c->shape;
    int64_t ar = g.trans_a ? g.k : g.m, ac = g.trans_a ? g.m : g.k;
    int64_t br = g.trans_b ? g.n : g.k, bc = g.trans_b ? g.k : g.n;
    int64_t batch = measured_samples(&g, &target->profile);
    clblast = clblast && g.batch == 0;
    g.lda = ac;
    g.ldb = bc;
    g.ldc = g.n;
    g.a_buf = BUF_A, g.b_buf = BUF_P, g.c_buf = BUF_G;
    g.a_off = g.b_off = g.c_off = 0;
    plan p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "gemm_tune");
    /* A in the arena, B in P and C in G, which model_state sizes alike */
    p.arena_elems = batch * ar * ac;
    p.param_elems = p.grad_elems = batch * (br * bc > g.m * g.n ? br * bc : g.m * g.n);
    plan_launch *l = calloc(MAX_TILE_CANDIDATES + 2, sizeof *l);
    if (!l)
        return qsdc_fail(err, "out of memory");
    gemm_tiles tiles[MAX_TILE_CANDIDATES];
    int n_tiles = gemm_tiles_candidates(&target->profile, tiles, MAX_TILE_CANDIDATES);
    gemm_tuning t;
    gemm_tuning_default(&t, target->is_cpu, target->pref_vector_width);
    t.loop_budget = target->loop_limit / 2;
    gemm_spec s = {.M = g.m, .N = g.n, .K = g.k,
                   .trans_a = g.trans_a, .trans_b = g.trans_b, .a = "(A + 0)",
                   .b = "(P + 0)", .c = "(G + 0)", .lda = g.lda, .ldb = g.ldb,
                   .ldc = g.ldc, .accumulate = g.accumulate, .batch = batch,
                   .stride_a = batch > 1 ? ar * ac : 0, .stride_b = batch > 1 ? br * bc : 0,
                   .stride_c = batch > 1 ? g.m * g.n : 0};
    strbuf src;
    sb_init(&src);
    int rc = 0;
    for (int i = 0; i <= n_tiles && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "gemm_tune%d", i);
        s.name = name;
        t.tiles = i ? tiles[i - 1] : (gemm_tiles){0};
        rc = codegen_gemm(&src, &s, &t, &l[i], err);
    }
    l[n_tiles + 1] = l[0];
    l[n_tiles + 1].kind = LAUNCH_CLBLAST_GEMM;
    l[n_tiles + 1].gemm = g;
    p.launches = l;
    p.n_launches = n_tiles + 1 + clblast;
    p.source = src.data;
    plan_run r;
    if (rc < 0) {
        plan_free(&p);
        return -1;
    }
    rc = plan_run_open(env, &p, &r, err);
    executor *ex = &r.ex;
    if (rc == 0)
        rc = exec_run(ex, 0, 0, 0, err);
    /* every candidate once, then again those within 2x of the best: the
     * tiled family on pocl runs 100x the panel family, the panel family on
     * llvmpipe up to 50x the tiled one, and their repetitions would take
     * minutes */
    double took[MAX_TILE_CANDIDATES + 2], best = INFINITY;
    for (int i = 0; i < r.p.n_launches && rc == 0; i++)
        if ((took[i] = exec_launch_ms(ex, i, 1, err)) < 0)
            rc = -1;
        else
            best = fmin(best, took[i]);
    for (int i = 0; i < r.p.n_launches && rc == 0; i++)
        if (took[i] < 2 * best && (took[i] = exec_launch_ms(ex, i, REPS, err)) < 0)
            rc = -1;
    c->panel_ms = rc == 0 ? took[0] : -1;
    c->tiled_ms = INFINITY;
    memset(&c->tiles, 0, sizeof c->tiles);
    for (int i = 1; i <= n_tiles && rc == 0; i++)
        if (took[i] < c->tiled_ms) {
            c->tiled_ms = took[i];
            c->tiles = tiles[i - 1];
        }
    c->clblast_ms = rc == 0 && clblast ? took[n_tiles + 1] : -1;
    plan_run_close(&r);
    return rc;
}

static int measure_entry(cl_env *env, const void *sel, void *entry, qsdc_error *err)
{
    const codegen_target *target = ((const gemm_selection *)sel)->target;
    choice *c = entry;
    if (measure(env, target, !target->loop_limit, c, err) < 0)
        return qsdc_error_wrap(err, "measuring GEMM %lldx%lldx%lld", (long long)c->shape.m,
                               (long long)c->shape.n, (long long)c->shape.k);
    return 0;
}

static void report(FILE *report, const void *sel, int i, const void *entry)
{
    (void)i;
    const choice *c = entry;
    const plan_gemm *g = &c->shape;
    const device_profile *d = &((const gemm_selection *)sel)->target->profile;
    static const char *const names[] = {"panel", "tiled", "clblast"};
    char samples[32] = "";
    if (g->batch > 1)
        snprintf(samples, sizeof samples, " x %lld", (long long)measured_samples(g, d));
    fprintf(report, "gemm %5lldx%-5lldx%5lld %s%s%s  panel %8.3f ms  tiled %8.3f ms "
            "(%dx%d of %dx%d, k %2d%s)  clblast ", (long long)g->m, (long long)g->n,
            (long long)g->k, g->trans_a ? "T" : "N", g->trans_b ? "T" : "N", samples, c->panel_ms,
            c->tiled_ms, c->tiles.items_m, c->tiles.items_n, c->tiles.block_m,
            c->tiles.block_n, c->tiles.k, c->tiles.direct ? ", direct" : "");
    if (c->clblast_ms >= 0)
        fprintf(report, "%8.3f ms", c->clblast_ms);
    else
        fprintf(report, "%11s", "-");
    fprintf(report, "  -> %s\n", names[fastest(c)]);
}

/* The backend a measured choice makes on a target: a cache written where
 * CLBlast was a candidate may be read where it is not. */
static gemm_pick pick_of(const choice *c, const codegen_target *target)
{
    backend b = fastest(c);
    if (b == CLBLAST && target->loop_limit)
        b = c->tiled_ms < c->panel_ms ? TILED : PANEL;
    gemm_pick pk = {.shape = c->shape, .clblast = b == CLBLAST};
    if (b == TILED)
        pk.tiles = c->tiles;
    return pk;
}

static void choose(void *sel, int i, const void *entry)
{
    gemm_selection *s = sel;
    s->picks[i] = pick_of(entry, s->target);
    s->picks[i].shape = s->shapes[i];
}

static const measured_choice gemm_choice = {
    .name = "gemm", .what = "GEMM kernels", .per = "shape", .size = sizeof(choice),
    .key_fields = 7, .parse = parse, .format = format, .key = key, .measure = measure_entry,
    .choose = choose, .report = report};

int gemm_select(cl_env *env, const codegen_target *target, const plan_gemm *shapes, int n,
                bool remeasure, FILE *report, gemm_pick *picks, qsdc_error *err)
{
    const char *force = getenv("QSDC_GEMM");
    /* own, panel, tiled, direct: generated kernels of the target's family,
     * which exec_target set */
    bool own = force && (!strcmp(force, "own") || !strcmp(force, "panel") ||
                         !strcmp(force, "tiled") || !strcmp(force, "direct"));
    bool all = force && !strcmp(force, "clblast");
    /* the loop guard cannot see into CLBlast's kernels (loop_guard.h) */
    if (target->loop_limit && all)
        return qsdc_fail(err, "QSDC_GEMM=clblast: %s ends a work-item's loops after %u "
                         "iterations, which qsdc can check only in its own kernels",
                         env->dev.name, target->loop_limit);
    for (int i = 0; i < n && (own || all); i++)
        picks[i] = (gemm_pick){.shape = shapes[i], .tiles = target->gemm_tiles,
                               .clblast = all};
    if (own || all)
        return 0;
    gemm_selection s = {.target = target, .shapes = shapes, .picks = picks};
    return choose_by_measuring(env, &gemm_choice, &s, n, remeasure, report, err);
}
