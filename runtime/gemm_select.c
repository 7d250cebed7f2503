#include "gemm_select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "clock.h"
#include "codegen_gemm.h"
#include "file_io.h"
#include "plan_run.h"

#define REPS 5
#define MAX_CANDIDATES 5

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

static bool same_shape(const plan_gemm *a, const plan_gemm *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->trans_a == b->trans_a &&
           a->trans_b == b->trans_b && a->accumulate == b->accumulate;
}

/* The cache file: one line per shape, "m n k trans_a trans_b accumulate
 * panel_ms clblast_ms tiled_ms items_m items_n block_m block_n k" (the
 * tiled family's fastest tiles); lines of older qsdc, without the tiled
 * family, are measured again. */
static int load_cache(const char *path, choice **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = path[0] ? fs_fopen_regular(path, NULL, NULL) : NULL;
    if (!f)
        return 0;
    choice c;
    memset(&c, 0, sizeof c);
    long long m, nn, k;
    int ta, tb, acc, cap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        gemm_tiles *t = &c.tiles;
        if (sscanf(line, "%lld %lld %lld %d %d %d %lf %lf %lf %d %d %d %d %d", &m, &nn, &k,
                   &ta, &tb, &acc, &c.panel_ms, &c.clblast_ms, &c.tiled_ms, &t->items_m,
                   &t->items_n, &t->block_m, &t->block_n, &t->k) != 14)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            choice *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p)
                break;
            *out = p;
        }
        c.shape = (plan_gemm){.m = m, .n = nn, .k = k, .trans_a = ta, .trans_b = tb,
                              .accumulate = acc};
        (*out)[(*n)++] = c;
    }
    fclose(f);
    return 0;
}

static void save_cache(const char *path, const choice *c, int n)
{
    if (!path[0])
        return;
    strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++)
        sb_printf(&sb, "%lld %lld %lld %d %d %d %.6f %.6f %.6f %d %d %d %d %d\n",
                  (long long)c[i].shape.m, (long long)c[i].shape.n, (long long)c[i].shape.k,
                  c[i].shape.trans_a, c[i].shape.trans_b, c[i].shape.accumulate,
                  c[i].panel_ms, c[i].clblast_ms, c[i].tiled_ms, c[i].tiles.items_m,
                  c[i].tiles.items_n, c[i].tiles.block_m, c[i].tiles.block_n, c[i].tiles.k);
    if (!sb.oom)
        cl_cache_merge_lines(path, sb_str(&sb), 6);
    sb_free(&sb);
}

/* Times the panel family, the tiled family's candidate tiles and (with
 * clblast) CLBlast on scratch operands of this shape, all in one program. */
static int measure(cl_env *env, const codegen_target *target, const plan_gemm *shape,
                   bool clblast, choice *c, qsdc_error *err)
{
    plan_gemm g = *shape;
    int64_t ar = g.trans_a ? g.k : g.m, ac = g.trans_a ? g.m : g.k;
    int64_t br = g.trans_b ? g.n : g.k, bc = g.trans_b ? g.k : g.n;
    g.lda = ac;
    g.ldb = bc;
    g.ldc = g.n;
    g.a_buf = BUF_A, g.b_buf = BUF_P, g.c_buf = BUF_G;
    g.a_off = g.b_off = g.c_off = 0;
    plan p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "gemm_tune");
    /* A in the arena, B in P and C in G, which model_state sizes alike */
    p.arena_elems = ar * ac;
    p.param_elems = p.grad_elems = br * bc > g.m * g.n ? br * bc : g.m * g.n;
    plan_launch *l = calloc(MAX_CANDIDATES + 2, sizeof *l);
    if (!l)
        return qsdc_fail(err, "out of memory");
    gemm_tiles tiles[MAX_CANDIDATES];
    int n_tiles = gemm_tiles_candidates(&target->profile, tiles, MAX_CANDIDATES);
    gemm_tuning t;
    gemm_tuning_default(&t, target->is_cpu, target->pref_vector_width);
    t.loop_budget = target->loop_limit / 2;
    gemm_spec s = {.M = g.m, .N = g.n, .K = g.k,
                   .trans_a = g.trans_a, .trans_b = g.trans_b, .a = "(A + 0)",
                   .b = "(P + 0)", .c = "(G + 0)", .lda = g.lda, .ldb = g.ldb,
                   .ldc = g.ldc, .accumulate = g.accumulate};
    strbuf src;
    sb_init(&src);
    int rc = 0;
    for (int i = 0; i <= n_tiles && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "gemm_tune%d", i);
        s.name = name;
        t.tiles = i ? tiles[i - 1] : (gemm_tiles){0, 0, 0, 0, 0};
        rc = codegen_gemm(&src, &s, &t, &l[i], err);
    }
    l[n_tiles + 1] = l[0];
    l[n_tiles + 1].kind = LAUNCH_CLBLAST_GEMM;
    l[n_tiles + 1].gemm = g;
    p.launches = l;
    p.n_launches = n_tiles + 1 + clblast;
    p.source = src.data;
    plan_run r;
    c->shape = *shape;
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
    double took[MAX_CANDIDATES + 2], best = INFINITY;
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

static void print_choice(FILE *report, const choice *c)
{
    const plan_gemm *g = &c->shape;
    static const char *const names[] = {"panel", "tiled", "clblast"};
    fprintf(report, "gemm %5lldx%-5lldx%5lld %s%s  panel %8.3f ms  tiled %8.3f ms "
            "(%dx%d of %dx%d, k %2d)  clblast ", (long long)g->m, (long long)g->n,
            (long long)g->k, g->trans_a ? "T" : "N", g->trans_b ? "T" : "N", c->panel_ms,
            c->tiled_ms, c->tiles.items_m, c->tiles.items_n, c->tiles.block_m,
            c->tiles.block_n, c->tiles.k);
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

int gemm_select(cl_env *env, const codegen_target *target, const plan_gemm *shapes, int n,
                bool remeasure, FILE *report, gemm_pick *picks, qsdc_error *err)
{
    const char *force = getenv("QSDC_GEMM");
    /* own, panel, tiled: generated kernels of the target's family, which
     * exec_target set */
    bool own = force && (!strcmp(force, "own") || !strcmp(force, "panel") ||
                         !strcmp(force, "tiled"));
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
    char path[1024];
    choice *cache = NULL;
    int n_cache = 0, rc = 0;
    bool dirty = false;
    cl_cache_device_file(env, "gemm", "txt", path, sizeof path);
    load_cache(path, &cache, &n_cache);
    for (int i = 0; i < n && rc == 0; i++) {
        const plan_gemm *g = &shapes[i];
        int j = 0;
        while (j < n_cache && !same_shape(&cache[j].shape, g))
            j++;
        if (j == n_cache || remeasure) {
            choice c;
            if (j == n_cache) {
                choice *nc = realloc(cache, (size_t)(n_cache + 1) * sizeof *nc);
                if (!nc) {
                    rc = qsdc_fail(err, "out of memory");
                    break;
                }
                cache = nc;
                n_cache++;
            }
            /* a wide model's shapes take minutes: say why nothing else is printed */
            if (!dirty)
                fprintf(stderr, "qsdc: measuring GEMM kernels for this device (once per "
                        "shape; the results are cached) ...\n");
            double t0 = now_seconds();
            int measured = measure(env, target, g, !target->loop_limit, &c, err);
            env->measure_s += now_seconds() - t0;
            if (measured < 0) {
                rc = qsdc_error_wrap(err, "measuring GEMM %lldx%lldx%lld",
                                     (long long)g->m, (long long)g->n, (long long)g->k);
                break;
            }
            cache[j] = c;
            dirty = true;
        }
        if (report)
            print_choice(report, &cache[j]);
        picks[i] = pick_of(&cache[j], target);
        picks[i].shape = *g;
    }
    if (dirty)
        save_cache(path, cache, n_cache);
    free(cache);
    return rc;
}
