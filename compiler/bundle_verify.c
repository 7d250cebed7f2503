/* A bundle's plan against its model: plan.yaml's offsets and sizes and the
 * kernels' baked-in offsets must agree, or the kernels write outside their
 * buffers. The plan is compiled again from the bundled model.yaml for the
 * same role, batch and target, and both plans are compared as plan.yaml
 * text, the form that holds every field the runtime reads (and the checksum
 * of the source, so the kernels are compared too) but the schedule. */
#include "bundle_verify.h"

#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "compile.h"

/* One plan's plan.yaml text, without its binary (the compile makes none). */
static int render(const plan *p, strbuf *out, qsdc_error *err)
{
    plan bare = *p;
    bare.binary = NULL;
    bare.binary_len = 0;
    const plan *one = &bare;
    return plan_yaml_write(out, &one, 1, err) < 0 ? -1 : sb_check(out, err);
}

/* The first line where a and b differ: its start in each. */
static void first_difference(const char *a, const char *b, const char **la, const char **lb)
{
    *la = a;
    *lb = b;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n') {
            *la = a + 1;
            *lb = b + 1;
        }
}

static int compare(const char *dir, const plan *p, const plan *ref, qsdc_error *err)
{
    strbuf found, expected;
    sb_init(&found);
    sb_init(&expected);
    int rc = render(p, &found, err);
    if (rc == 0)
        rc = render(ref, &expected, err);
    if (rc == 0 && strcmp(sb_str(&found), sb_str(&expected)) != 0) {
        const char *lf, *le;
        first_difference(sb_str(&found), sb_str(&expected), &lf, &le);
        bool source = strncmp(lf, "  source_checksum:", 18) == 0;
        rc = qsdc_fail(err, "%s/%s: the %s plan is not the one %s/%s compiles to at "
                       "batch %lld (%s '%.*s', the model gives '%.*s'); the bundle was "
                       "edited or made by another qsdc: compile it again", dir,
                       source ? bundle_source_name(p) : "plan.yaml",
                       p->loss_offset >= 0 ? "training" : "inference", dir, BUNDLE_MODEL,
                       (long long)p->batch, source ? "its source's checksum is" : "it has",
                       (int)strcspn(lf, "\n"), lf, (int)strcspn(le, "\n"), le);
    }
    sb_free(&found);
    sb_free(&expected);
    return rc;
}

int bundle_verify_plan(const char *dir, const model *m, const plan *p, qsdc_error *err)
{
    codegen_target target;
    memset(&target, 0, sizeof target);
    target.is_cpu = p->target_cpu;
    target.pref_vector_width = p->target_vector_width;
    target.loop_limit = p->target_loop_limit;
    const int64_t *tl = p->target_gemm_tiles;
    target.gemm_tiles = (gemm_tiles){(int)tl[0], (int)tl[1], (int)tl[2], (int)tl[3], (int)tl[4],
                                     p->target_gemm_direct};
    target.profile.compute_units = p->target_compute_units;
    target.profile.is_gpu = p->target_compute_units > 0;
    plan ref;
    if (compile_plan(m, p->loss_offset >= 0 ? MODE_TRAIN : MODE_INFER, p->batch, &target,
                     &ref, NULL, NULL, err) < 0)
        return qsdc_error_wrap(err, "%s/%s", dir, BUNDLE_MODEL);
    /* the schedule is the bundle's: no kernel depends on it, and a run's
     * --lr and --epochs reach the model compiled here */
    ref.schedule = p->schedule;
    int rc = compare(dir, p, &ref, err);
    plan_free(&ref);
    return rc;
}
