#include "gemm_select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "conv_select.h"
#include "executor.h"
#include "file_io.h"

#define REPS 5

typedef struct choice {
    plan_gemm shape;
    double own_ms, clblast_ms;
} choice;

static bool same_shape(const plan_gemm *a, const plan_gemm *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->trans_a == b->trans_a &&
           a->trans_b == b->trans_b && a->accumulate == b->accumulate;
}

/* The cache file: one line per shape, "m n k trans_a trans_b accumulate
 * own_ms clblast_ms". */
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
    while (fscanf(f, "%lld %lld %lld %d %d %d %lf %lf", &m, &nn, &k, &ta, &tb, &acc,
                  &c.own_ms, &c.clblast_ms) == 8) {
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
        sb_printf(&sb, "%lld %lld %lld %d %d %d %.6f %.6f\n", (long long)c[i].shape.m,
                  (long long)c[i].shape.n, (long long)c[i].shape.k, c[i].shape.trans_a,
                  c[i].shape.trans_b, c[i].shape.accumulate, c[i].own_ms, c[i].clblast_ms);
    if (!sb.oom)
        fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, NULL);
    sb_free(&sb);
}

/* Times the generated kernel and CLBlast on scratch operands of this shape. */
static int measure(cl_env *env, const codegen_target *target, const plan_gemm *shape,
                   choice *c, qsdc_error *err)
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
    plan_launch l[2];
    memset(l, 0, sizeof l);
    gemm_tuning t;
    gemm_tuning_default(&t, target->is_cpu, target->pref_vector_width);
    t.loop_budget = target->loop_limit / 2;
    gemm_spec s = {.name = "gemm_tune", .M = g.m, .N = g.n, .K = g.k,
                   .trans_a = g.trans_a, .trans_b = g.trans_b, .a = "(A + 0)",
                   .b = "(P + 0)", .c = "(G + 0)", .lda = g.lda, .ldb = g.ldb,
                   .ldc = g.ldc, .accumulate = g.accumulate};
    strbuf src;
    sb_init(&src);
    int rc = codegen_gemm(&src, &s, &t, &l[0], err);
    l[1] = l[0];
    l[1].kind = LAUNCH_CLBLAST_GEMM;
    l[1].gemm = g;
    p.launches = l;
    p.n_launches = 2;
    p.source = src.data;
    model_state ms;
    executor ex;
    memset(&ms, 0, sizeof ms);
    memset(&ex, 0, sizeof ex);
    if (rc == 0)
        rc = model_state_create(env, p.param_elems, 0, &ms, err);
    if (rc == 0)
        rc = exec_create(env, &p, &ms, &ex, err);
    c->shape = *shape;
    if (rc == 0)
        rc = exec_run(&ex, 0, 0, 0, err);
    if (rc == 0 && (c->own_ms = exec_launch_ms(&ex, 0, REPS, err)) < 0)
        rc = -1;
    if (rc == 0 && (c->clblast_ms = exec_launch_ms(&ex, 1, REPS, err)) < 0)
        rc = -1;
    exec_destroy(&ex);
    model_state_free(&ms);
    sb_free(&src);
    return rc;
}

static int add_clblast(codegen_target *t, const plan_gemm *g)
{
    plan_gemm *p = realloc((void *)t->clblast, (size_t)(t->n_clblast + 1) * sizeof *p);
    if (!p)
        return -1;
    p[t->n_clblast++] = *g;
    t->clblast = p;
    return 0;
}

int gemm_select(cl_env *env, const plan *p, bool remeasure, FILE *report,
                codegen_target *target, qsdc_error *err)
{
    const char *force = getenv("QSDC_GEMM");
    bool own = force && !strcmp(force, "own"), all = force && !strcmp(force, "clblast");
    /* the loop guard cannot see into CLBlast's kernels (loop_guard.h) */
    if (target->loop_limit) {
        if (all)
            return qsdc_fail(err, "QSDC_GEMM=clblast: %s ends a work-item's loops after %u "
                             "iterations, which qsdc can check only in its own kernels",
                             env->dev.name, target->loop_limit);
        own = true;
    }
    char path[1024];
    choice *cache = NULL;
    int n_cache = 0, rc = 0;
    bool dirty = false;
    if (!own && !all) {
        cl_cache_device_file(env, "gemm", "txt", path, sizeof path);
        load_cache(path, &cache, &n_cache);
    }
    for (int i = 0; i < p->n_launches && rc == 0 && !own; i++) {
        const plan_gemm *g = &p->launches[i].gemm;
        if (g->m <= 0 || codegen_uses_clblast(target, g))
            continue;
        if (all) {
            rc = add_clblast(target, g) < 0 ? qsdc_fail(err, "out of memory") : 0;
            continue;
        }
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
            if (measure(env, target, g, &c, err) < 0) {
                rc = qsdc_error_wrap(err, "measuring GEMM %lldx%lldx%lld",
                                     (long long)g->m, (long long)g->n, (long long)g->k);
                break;
            }
            cache[j] = c;
            dirty = true;
        }
        const choice *c = &cache[j];
        if (report)
            fprintf(report, "gemm %5lldx%-5lldx%5lld %s%s  own %8.3f ms  clblast %8.3f ms  -> %s\n",
                    (long long)g->m, (long long)g->n, (long long)g->k, g->trans_a ? "T" : "N",
                    g->trans_b ? "T" : "N", c->own_ms, c->clblast_ms,
                    c->clblast_ms < c->own_ms ? "clblast" : "own");
        if (c->clblast_ms < c->own_ms && add_clblast(target, g) < 0)
            rc = qsdc_fail(err, "out of memory");
    }
    if (dirty)
        save_cache(path, cache, n_cache);
    free(cache);
    return rc;
}

void gemm_select_free(codegen_target *target)
{
    free((void *)target->clblast);
    target->clblast = NULL;
    target->n_clblast = 0;
}

static int compile_with(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                        bool remeasure, FILE *report, bool observe_all, plan *out,
                        qsdc_error *err)
{
    codegen_target target;
    exec_target(&env->dev, &target);
    target.observe_all = observe_all;
    /* before measuring convolutions and GEMMs of a size the device cannot
     * hold: the plan as compiled without measurements (im2col throughout) */
    if (compile_plan(m, mode, batch, &target, out, NULL, NULL, err) < 0)
        return -1;
    int fits = exec_check_memory(&env->dev, (const plan *[]){out}, 1, err);
    plan_free(out);
    if (fits < 0)
        return -1;
    if (conv_select(env, m, mode, batch, remeasure, report, &target, err) < 0)
        return -1;
    if (compile_plan(m, mode, batch, &target, out, NULL, NULL, err) < 0) {
        conv_select_free(&target);
        return -1;
    }
    int rc = gemm_select(env, out, remeasure, report, &target, err);
    if (rc == 0 && target.n_clblast > 0) {
        plan_free(out);
        rc = compile_plan(m, mode, batch, &target, out, NULL, NULL, err);
    } else if (rc < 0) {
        plan_free(out);
    }
    gemm_select_free(&target);
    conv_select_free(&target);
    return rc;
}

int compile_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                       bool remeasure, FILE *report, plan *out, qsdc_error *err)
{
    return compile_with(env, m, mode, batch, remeasure, report, false, out, err);
}

int compile_observed_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                                plan *out, qsdc_error *err)
{
    return compile_with(env, m, mode, batch, false, NULL, true, out, err);
}
