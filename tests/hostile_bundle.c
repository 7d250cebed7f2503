#include "hostile_bundle.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli_fixture.h"
#include "support.h"

const char *hostile_copy(const char *from, const char *name)
{
    static char dir[CLI_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), name);
    char *out = NULL;
    if (ts_run(ts_fmt("rm -rf '%s' && cp -r '%s' '%s'", dir, from, dir), &out) != 0)
        fail_msg("cp: %s", out);
    free(out);
    return dir;
}

/* dir/name, dir inside ts_tmpdir(), as ts_write names it. */
static const char *in_tmp(const char *dir, const char *name)
{
    return ts_fmt("%s/%s", strrchr(dir, '/') + 1, name);
}

/* Rewrites dir/plan.yaml and the sources after edit changed the inference
 * plan: every checksum plan.yaml records then matches its file. */
static void rewrite_bundle(const char *dir, void (*edit)(plan *))
{
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    plan *plans;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &plans, &n, &err) < 0)
        fail_msg("%s", err.message);
    const plan *ptrs[2];
    for (int i = 0; i < n; i++) {
        if (plans[i].loss_offset < 0)
            edit(&plans[i]);
        ptrs[i] = &plans[i];
        ts_write(in_tmp(dir, bundle_source_name(&plans[i])), plans[i].source,
                 strlen(plans[i].source));
    }
    strbuf sb;
    sb_init(&sb);
    assert_int_equal(plan_yaml_write(&sb, ptrs, n, &err), 0);
    ts_write(in_tmp(dir, "plan.yaml"), sb.data, sb.len);
    sb_free(&sb);
    plan_yaml_free(plans, n);
}

/* The arena grows to hold span elements from offset 0. */
static void fit(int64_t *arena, int64_t *offset, int64_t span)
{
    *offset = 0;
    if (span > *arena)
        *arena = span;
}

static void shrink_arena(plan *p)
{
    p->arena_elems = p->input_elems + p->output_elems;
    p->input_offset = 0;
    p->output_offset = p->input_elems;
    for (int i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].buffer == BUF_A)
            fit(&p->arena_elems, &p->tensors[i].offset, p->tensors[i].nelem);
    for (int i = 0; i < p->n_launches; i++) {
        plan_gemm *g = &p->launches[i].gemm;
        int64_t a_rows = g->trans_a ? g->k : g->m, b_rows = g->trans_b ? g->n : g->k;
        if (g->m > 0 && g->c_buf == BUF_A)
            fit(&p->arena_elems, &g->c_off, g->m * g->ldc);
        if (g->m > 0 && g->a_buf == BUF_A)
            fit(&p->arena_elems, &g->a_off, a_rows * g->lda);
        if (g->m > 0 && g->b_buf == BUF_A)
            fit(&p->arena_elems, &g->b_off, b_rows * g->ldb);
    }
}

void hostile_shrink_arena(const char *dir)
{
    rewrite_bundle(dir, shrink_arena);
}

/* A first statement for k0 that writes far below the arena. */
static void write_below(plan *p)
{
    const char *k0 = strstr(p->source, "void k0_");
    assert_non_null(k0);
    const char *body = strchr(k0, '{') + 1;
    size_t at = (size_t)(body - p->source), n = strlen(p->source) + 64;
    char *edited = malloc(n);
    assert_non_null(edited);
    snprintf(edited, n, "%.*s\n    A[-(1L << 28)] = 0.0f;%s", (int)at, p->source, body);
    free(p->source);
    p->source = edited;
}

void hostile_write_below(const char *dir, bool reseal)
{
    if (reseal) {
        rewrite_bundle(dir, write_below);
        return;
    }
    plan p = {.source = cli_read_file(ts_fmt("%s/kernels.cl", dir), &(size_t){0})};
    assert_non_null(p.source);
    write_below(&p);
    ts_write(in_tmp(dir, "kernels.cl"), p.source, strlen(p.source));
    free(p.source);
}

void hostile_garble_binary(const char *dir)
{
    size_t len;
    char *bin = cli_read_file(ts_fmt("%s/kernels.bin", dir), &len);
    assert_non_null(bin);
    for (size_t i = len / 8; i < len; i += 97)
        bin[i] = (char)(bin[i] ^ 0x5a);
    ts_write(in_tmp(dir, "kernels.bin"), bin, len);
    free(bin);
}
