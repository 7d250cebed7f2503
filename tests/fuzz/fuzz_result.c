/* libFuzzer harness: the experiment result readers (lab/experiment_result.h)
 * and the plan reader (lab/experiment_plan.h) on the input after its first
 * byte, which picks the reader:
 *
 *   bit 2   a plan.json (plan_read), else:
 *   bit 0   metrics lines (result_read_metrics), else a result.json (result_read)
 *   bit 1   metrics scored by perplexity, else by accuracy
 *
 * A rejected file must fail with a message naming it. An accepted
 * result.json must come back from result_write and result_read with the
 * same counts, names and numbers (to the 9 digits the file keeps), and
 * every name in it must reach gnuplot's script and report.md escaped
 * (lab/report_escape.h); accepted metrics lines must give each epoch
 * once; an accepted plan must come back equal from plan_write and
 * plan_read. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "experiment_plan.h"
#include "experiment_result.h"
#include "fuzz_common.h"
#include "fuzz_file.h"
#include "report_escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a write and read must preserve: result.json numbers have 9
 * significant digits (the floats they come from have 7), and a number that
 * is not finite is written as null, read back as NaN. */
static void same_number(double a, double b)
{
    if (!(fabs(a - b) <= 1e-8 * fabs(a) || (!isfinite(a) && isnan(b))))
        abort();
}

static bool is_control(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

/* s as gnuplot's script has it: single-quoted runs with no quote or control
 * character inside, each quote of s a "'" joined on between them. */
static void check_gnuplot(const char *s)
{
    static const char joiner[] = "' . \"'\" . '";
    strbuf sb;
    sb_init(&sb);
    report_put_gnuplot_string(&sb, s);
    const char *p = sb_str(&sb);
    if (*p++ != '\'')
        abort();
    for (; *s; s++) {
        if (*s == '\'') {
            if (strncmp(p, joiner, strlen(joiner)) != 0)
                abort();
            p += strlen(joiner);
        } else if (*p++ != (is_control(*s) ? '?' : *s)) {
            abort();
        }
    }
    if (strcmp(p, "'") != 0)
        abort();
    sb_free(&sb);
}

/* s as report.md has it: '|' and '\' after a backslash, no control
 * character, nothing left out (every name fits REPORT_MD_MAX). */
static void check_markdown(const char *s)
{
    char md[REPORT_MD_MAX];
    const char *p = report_markdown(s, md, sizeof md);
    for (; *s; s++) {
        if ((*s == '|' || *s == '\\') && *p++ != '\\')
            abort();
        if (*p++ != (is_control(*s) ? ' ' : *s))
            abort();
    }
    if (*p)
        abort();
}

static void check_escaped(const char *s)
{
    check_gnuplot(s);
    check_markdown(s);
}

static void check_names(const run_result *r)
{
    check_escaped(r->experiment);
    check_escaped(r->setting);
    check_escaped(r->device);
    for (int i = 0; i < r->n_activity; i++)
        check_escaped(r->activity[i].layer);
    for (int i = 0; i < r->n_params; i++)
        check_escaped(r->params[i].tensor);
    for (int i = 0; i < r->n_masks; i++)
        check_escaped(r->masks[i].layer);
}

static void check_rewrite(const run_result *r)
{
    qsdc_error err = {{0}};
    run_result back;
    char path[4096];
    snprintf(path, sizeof path, "%s/again.json", fuzz_dir());
    if (result_write(path, r, &err) < 0 || result_read(path, &back, &err) < 0) {
        fprintf(stderr, "an accepted result.json does not survive a rewrite: %s\n",
                err.message);
        abort();
    }
    if (back.n_epochs != r->n_epochs || back.n_activity != r->n_activity ||
        back.n_params != r->n_params || back.n_masks != r->n_masks ||
        back.seed != r->seed || back.metric != r->metric || back.kind != r->kind ||
        strcmp(back.setting, r->setting) != 0 || strcmp(back.experiment, r->experiment) != 0 ||
        strcmp(back.device, r->device) != 0)
        abort();
    same_number(back.test, r->test);
    if (back.selection.n != r->selection.n || back.selection.chosen != r->selection.chosen ||
        back.selection.swept_p0 != r->selection.swept_p0)
        abort();
    for (int i = 0; i < r->selection.n; i++) {
        same_number(back.selection.strength[i], r->selection.strength[i]);
        same_number(back.selection.val[i], r->selection.val[i]);
    }
    for (int i = 0; i < r->n_epochs; i++) {
        same_number(back.epochs[i].train_loss, r->epochs[i].train_loss);
        same_number(back.epochs[i].test, r->epochs[i].test);
    }
    result_free(&back);
}

static void check_metrics(const run_result *r)
{
    for (int i = 0; i < r->n_epochs; i++)
        for (int j = 0; j < i; j++)
            if (r->epochs[i].epoch == r->epochs[j].epoch)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t how = data[0];
    qsdc_error err = {{0}};
    run_result r;
    memset(&r, 0, sizeof r);
    const char *path;
    int rc;
    if (how & 4) {
        exp_plan p, back;
        path = fuzz_write("plan.json", data + 1, size - 1);
        rc = plan_read(path, &p, &err);
        if (rc == 0 && (plan_write(path, &p, &err) < 0 || plan_read(path, &back, &err) < 0 ||
                        !plan_equal(&p, &back)))
            abort();
    } else if (how & 1) {
        path = fuzz_write("metrics.jsonl", data + 1, size - 1);
        r.metric = how & 2 ? RESULT_PERPLEXITY : RESULT_ACCURACY;
        rc = result_read_metrics(path, &r, &err);
        if (rc == 0)
            check_metrics(&r);
    } else {
        path = fuzz_write("result.json", data + 1, size - 1);
        rc = result_read(path, &r, &err);
        if (rc == 0) {
            check_rewrite(&r);
            check_names(&r);
        }
    }
    if (rc < 0)
        fuzz_expect_error(&err, path);
    result_free(&r);
    return 0;
}
