/* The experiment grid: settings x seeds, one directory per run, resumable. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "experiment.h"
#include "experiment_lock.h"
#include "file_io.h"
#include "strbuf.h"

/* What a run is: everything its numbers depend on, as text. Two runs with
 * the same description are the same run. */
static int describe(const experiment *e, const qsdc_model *m, const exp_grid *g,
                    uint64_t seed, strbuf *sb, qsdc_error *err)
{
    char *model_text;
    if (qsdc_model_describe(m, &model_text, err) < 0)
        return -1;
    sb_printf(sb, "experiment %s seed %" PRIu64 " epochs %lld train_samples %lld "
                  "test_samples %lld mask_draws %lld",
              e->name, seed, (long long)g->epochs, (long long)g->train_samples,
              (long long)g->test_samples, (long long)e->mask_draws);
    /* only when set: the runs of earlier grids keep their fingerprints */
    if (g->train_subset > 0)
        sb_printf(sb, " train_subset %lld", (long long)g->train_subset);
    sb_printf(sb, "\n%s", model_text);
    free(model_text);
    return 0;
}

static void fingerprint(const char *text, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = text; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    snprintf(out, 17, "%016" PRIx64, h);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The fingerprint a run directory's run.txt records (its first 16 bytes;
 * nothing after them is read). */
static int recorded_fingerprint(const char *path, char out[17], qsdc_error *err)
{
    FILE *f = fs_fopen_regular(path, NULL, err);
    if (!f)
        return -1;
    size_t len = fread(out, 1, 16, f);
    int rc = ferror(f) ? qsdc_fail(err, "%s: read error: %s", path, strerror(errno))
             : len < 16 ? qsdc_fail(err, "%s: damaged (no fingerprint)", path)
                        : 0;
    fclose(f);
    out[len] = '\0';
    return rc;
}

typedef struct grid_run {
    const experiment *e;
    const exp_grid *g;
    const exp_run_options *o;
    const exp_setting *s;
    int setting_index;
    uint64_t seed;
    char dir[QSDC_PATH_MAX];
} grid_run;

static int path_in(const grid_run *gr, const char *name, char *out, qsdc_error *err)
{
    return result_path(out, err, "%s/%s", gr->dir, name);
}

/* What a run's directory holds, as far as this process is concerned. */
typedef enum run_status {
    RUN_FAILED = -1,  /* err says why: a different run there, or I/O */
    RUN_TO_TRAIN,     /* to train, or to resume from its checkpoint */
    RUN_FINISHED,     /* its result.json is there */
    RUN_ELSEWHERE,    /* another qsdc experiment process holds its lock */
} run_status;

/* RUN_FINISHED, or RUN_TO_TRAIN with *resume set when a checkpoint of this
 * very run is there; RUN_FAILED when the directory holds a different run. */
static run_status run_status_of(const grid_run *gr, const char *fp, bool *resume,
                                qsdc_error *err)
{
    char path[QSDC_PATH_MAX], had[17];
    *resume = false;
    if (path_in(gr, "result.json", path, err) < 0)
        return RUN_FAILED;
    if (exists(path)) {
        run_result r;
        if (result_read(path, &r, err) < 0)
            return RUN_FAILED;
        snprintf(had, sizeof had, "%s", r.fingerprint);
        result_free(&r);
        if (strcmp(had, fp) != 0)
            return (run_status)qsdc_fail(
                err, "%s holds a run of a different experiment grid (another model, training "
                     "or grid size): choose another results directory with -o, or delete it",
                gr->dir);
        return RUN_FINISHED;
    }
    if (path_in(gr, "checkpoint.bin", path, err) < 0)
        return RUN_FAILED;
    if (!exists(path))
        return RUN_TO_TRAIN;
    if (path_in(gr, "run.txt", path, err) < 0 || recorded_fingerprint(path, had, err) < 0)
        return RUN_FAILED;
    if (strcmp(had, fp) != 0)
        return (run_status)qsdc_fail(err, "%s holds a partial run of a different experiment "
                                          "grid: choose another results directory with -o, "
                                          "or delete it",
                                     gr->dir);
    *resume = true;
    return RUN_TO_TRAIN;
}

/* The run's model trained in a session of its own on the grid's device,
 * then measured there (measuring it fills r). */
static int train_and_measure(grid_run *gr, const qsdc_model *m, const char *metrics,
                             bool resume, run_result *r, bool *stopped, qsdc_error *err)
{
    qsdc_open_options oo = {.device = gr->o->device};
    qsdc_train_options to = {.epochs = gr->g->epochs, .seed_set = 1, .seed = gr->seed,
                             .checkpoint_dir = gr->dir, .resume = resume,
                             .metrics_path = metrics, .train_samples = gr->g->train_samples,
                             .test_samples = gr->g->test_samples,
                             .train_subset = gr->g->train_subset, .stop = gr->o->stop};
    qsdc_train_result trained;
    qsdc_session *s;
    if (qsdc_session_open_model(m, &oo, &s, err) < 0)
        return -1;
    int rc = qsdc_session_train(s, &to, &trained, err);
    *stopped = rc == 0 && trained.interrupted;
    exp_measure mc = {.s = s, .m = m, .trained = &trained,
                      .test_samples = gr->g->test_samples, .mask_draws = gr->e->mask_draws};
    if (rc == 0 && !*stopped)
        rc = experiment_measure(&mc, r, err);
    qsdc_session_close(s);
    return rc;
}

/* Trains the run into its directory and writes its result.json: 0, or 1
 * when the stop flag stopped it (its checkpoint then holds the step reached). */
static int train_run(grid_run *gr, const qsdc_model *m, const char *fp, const char *text,
                     bool resume, qsdc_error *err)
{
    char path[QSDC_PATH_MAX], metrics[QSDC_PATH_MAX];
    if (path_in(gr, "run.txt", path, err) < 0 || path_in(gr, "metrics.jsonl", metrics, err) < 0)
        return -1;
    char head[18];
    snprintf(head, sizeof head, "%s\n", fp);
    if (!resume && fs_write_atomic(path, head, 17, text, strlen(text), err) < 0)
        return -1;
    run_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.experiment, sizeof r.experiment, "%s", gr->e->name);
    snprintf(r.setting, sizeof r.setting, "%s", gr->s->name);
    snprintf(r.fingerprint, sizeof r.fingerprint, "%s", fp);
    r.setting_index = gr->setting_index;
    r.kind = gr->s->kind;
    r.match = gr->s->match;
    r.qsd = gr->s->qsd;
    r.seed = gr->seed;
    r.quick = gr->o->quick;
    r.metric = gr->e->metric;
    bool stopped;
    int rc = train_and_measure(gr, m, metrics, resume, &r, &stopped, err);
    if (rc == 0 && stopped) {
        result_free(&r);
        return 1;
    }
    if (rc == 0)
        rc = result_read_metrics(metrics, &r, err);
    for (int i = 0; rc == 0 && i < r.n_epochs; i++)
        r.train_seconds += r.epochs[i].seconds;
    if (rc == 0)
        rc = path_in(gr, "result.json", path, err);
    if (rc == 0)
        rc = result_write(path, &r, err);
    result_free(&r);
    if (rc < 0)
        return qsdc_error_wrap(err, "run %s", gr->dir);
    /* the result holds what the report needs; checkpoints would cost a model each */
    if (path_in(gr, "checkpoint.bin", path, err) < 0)
        return -1;
    unlink(path);
    return 0;
}

static void print_duration(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

/* The grid's progress: runs done or skipped, and the time left, from the
 * runs trained so far or, before the first, the file's expected time. */
typedef struct grid_clock {
    int total, trained, skipped, elsewhere;
    double t0, expected_s;
} grid_clock;

static void print_progress(const grid_clock *c, int index, const grid_run *gr)
{
    char el[32], eta[48];
    double spent = now_seconds() - c->t0;
    int left = c->total - index;
    print_duration(el, sizeof el, spent);
    if (c->trained > 0) {
        print_duration(eta, sizeof eta, spent / c->trained * left);
    } else if (c->expected_s > 0) {
        char d[32];
        print_duration(d, sizeof d, c->expected_s * left / c->total);
        snprintf(eta, sizeof eta, "%s (expected)", d);
    } else {
        snprintf(eta, sizeof eta, "after the first run");
    }
    printf("[run %d/%d] %s: %s seed %" PRIu64 " (%d trained, %d skipped; %s so far, ETA %s)\n",
           index + 1, c->total, gr->dir, gr->s->name, gr->seed, c->trained, c->skipped, el,
           eta);
    fflush(stdout);
}

/* The run's model and its description. */
static int run_model(const grid_run *gr, qsdc_model **m, strbuf *text, qsdc_error *err)
{
    if (experiment_model(gr->e, gr->s, m, err) < 0)
        return -1;
    sb_init(text);
    if (describe(gr->e, *m, gr->g, gr->seed, text, err) == 0 && sb_check(text, err) == 0)
        return 0;
    sb_free(text);
    qsdc_model_free(*m);
    return -1;
}

static int one_run(grid_run *gr, grid_clock *clock, int index, qsdc_error *err)
{
    qsdc_model *m;
    strbuf text;
    if (run_model(gr, &m, &text, err) < 0)
        return -1;
    char fp[17];
    fingerprint(sb_str(&text), fp);
    int lock = -1, rc = fs_make_dirs(gr->dir, err);
    int mine = rc == 0 ? run_lock_try(gr->dir, &lock, err) : -1;
    bool resume = false;
    run_status status = mine < 0  ? RUN_FAILED
                        : mine == 0 ? RUN_ELSEWHERE
                                    : run_status_of(gr, fp, &resume, err);
    if (status == RUN_ELSEWHERE) {
        printf("[run %d/%d] %s: being trained by another qsdc experiment, left to it\n",
               index + 1, clock->total, gr->dir);
        clock->elsewhere++;
    } else if (status == RUN_FINISHED) {
        printf("[run %d/%d] %s: finished before, skipped\n", index + 1, clock->total, gr->dir);
        clock->skipped++;
    } else if (status == RUN_TO_TRAIN) {
        print_progress(clock, index, gr);
        if (resume)
            printf("resuming from %s/checkpoint.bin\n", gr->dir);
        rc = train_run(gr, m, fp, sb_str(&text), resume, err);
        clock->trained += rc == 0;
    }
    if (lock >= 0)
        close(lock);
    sb_free(&text);
    qsdc_model_free(m);
    return status == RUN_FAILED ? -1 : rc;
}

static grid_run grid_run_at(const experiment *e, const exp_run_options *o, int k, int i)
{
    const exp_grid *g = o->quick ? &e->quick : &e->full;
    return (grid_run){.e = e, .g = g, .o = o, .s = &e->settings[i], .setting_index = i,
                      .seed = g->seeds[k]};
}

/* A setting's runs per seed: one, or one per strength it sweeps. */
static int n_runs_of(const exp_setting *s)
{
    return s->n_strengths > 0 ? s->n_strengths : 1;
}

/* Run c of setting s: s itself, or its candidate c as a setting of one
 * strength in *cand. */
static const exp_setting *candidate(const exp_setting *s, int c, exp_setting *cand)
{
    if (s->n_strengths == 0)
        return s;
    *cand = *s;
    cand->qsd = s->candidates[c];
    cand->n_strengths = 0;
    return cand;
}

/* The grid's fingerprint: that of its runs' descriptions, in order. */
static int grid_fingerprint(const experiment *e, const exp_run_options *o, char fp[17],
                            qsdc_error *err)
{
    const exp_grid *g = o->quick ? &e->quick : &e->full;
    strbuf all;
    sb_init(&all);
    int rc = 0;
    for (int k = 0; rc == 0 && k < g->n_seeds; k++)
        for (int i = 0; rc == 0 && i < e->n_settings; i++)
            for (int c = 0; rc == 0 && c < n_runs_of(&e->settings[i]); c++) {
                exp_setting cand;
                grid_run gr = grid_run_at(e, o, k, i);
                gr.s = candidate(gr.s, c, &cand);
                qsdc_model *m;
                strbuf text;
                rc = run_model(&gr, &m, &text, err);
                if (rc < 0)
                    break;
                sb_append(&all, sb_str(&text));
                sb_free(&text);
                qsdc_model_free(m);
            }
    if (rc == 0 && (rc = sb_check(&all, err)) == 0)
        fingerprint(sb_str(&all), fp);
    sb_free(&all);
    return rc;
}

/* Trains (or skips, or leaves to another process) run `index` of the grid
 * into gr->dir: 0, 1 when the stop flag stopped the grid before or in it,
 * -1 on error. */
static int grid_step(grid_run *gr, grid_clock *clock, int index, qsdc_error *err)
{
    const exp_run_options *o = gr->o;
    if (o->stop && *o->stop) {
        printf("grid stopped before run %d/%d (%d trained, %d skipped); the same command "
               "resumes it\n",
               index + 1, clock->total, clock->trained, clock->skipped);
        return 1;
    }
    int rc = one_run(gr, clock, index, err);
    if (rc == 1) {
        char ck[QSDC_PATH_MAX];
        bool saved = path_in(gr, "checkpoint.bin", ck, err) == 0 && exists(ck);
        printf("grid stopped in run %d/%d (%d trained, %d skipped)%s%s%s; the same command "
               "resumes the grid there\n",
               index + 1, clock->total, clock->trained, clock->skipped, saved ? ": " : "",
               saved ? ck : "", saved ? " holds the step reached" : "");
    }
    return rc;
}

/* Setting i's runs of seed k: the setting's own, or each strength it
 * sweeps, then the one chosen on validation. */
static int setting_runs(const experiment *e, const exp_run_options *o, int k, int i,
                        grid_clock *clock, int *index, qsdc_error *err)
{
    grid_run gr = grid_run_at(e, o, k, i);
    const exp_setting *s = gr.s;
    char dir[QSDC_PATH_MAX];
    if (result_path(dir, err, "%s/%s-seed%" PRIu64, o->results_dir, s->name, gr.seed) < 0)
        return -1;
    for (int c = 0; c < n_runs_of(s); c++) {
        exp_setting cand;
        gr.s = candidate(s, c, &cand);
        char sub[48] = "";
        if (s->n_strengths > 0)
            experiment_candidate_dir(s, c, sub);
        int rc = result_path(gr.dir, err, "%s%s%s", dir, sub[0] ? "/" : "", sub);
        if (rc == 0)
            rc = grid_step(&gr, clock, (*index)++, err);
        if (rc != 0)
            return rc;
    }
    if (s->n_strengths == 0)
        return 0;
    double chosen;
    int rc = experiment_select(s, i, dir, &chosen, err);
    if (rc == 0)
        printf("%s: %s %g chosen on validation\n", dir, s->swept_p0 ? "dropout_p" : "p",
               chosen);
    return rc < 0 ? -1 : 0;
}

static int run_grid(const experiment *e, const exp_run_options *o, qsdc_error *err)
{
    const exp_grid *g = o->quick ? &e->quick : &e->full;
    int per_seed = 0;
    for (int i = 0; i < e->n_settings; i++)
        per_seed += n_runs_of(&e->settings[i]);
    grid_clock clock = {.total = g->n_seeds * per_seed, .t0 = now_seconds(),
                        .expected_s = 60 * g->expected_minutes};
    printf("experiment %s%s: %d settings x %d seeds, %lld epochs each", e->name,
           o->quick ? " (quick)" : "", e->n_settings, g->n_seeds, (long long)g->epochs);
    if (g->expected_minutes > 0)
        printf("; expected %.0f minutes on a 2-core machine", g->expected_minutes);
    printf("\nresults in %s\n", o->results_dir);
    fflush(stdout);
    /* seed by seed, so that an interrupted grid already pairs whole seeds */
    int index = 0;
    for (int k = 0; k < g->n_seeds; k++)
        for (int i = 0; i < e->n_settings; i++) {
            int rc = setting_runs(e, o, k, i, &clock, &index, err);
            if (rc != 0)
                return rc;
        }
    char el[32];
    print_duration(el, sizeof el, now_seconds() - clock.t0);
    if (clock.elsewhere > 0)
        printf("grid pass done: %d runs (%d trained, %d skipped, %d being trained by other "
               "processes) in %s; 'qsdc report %s' once they finish\n",
               clock.total, clock.trained, clock.skipped, clock.elsewhere, el, o->results_dir);
    else
        printf("grid done: %d runs (%d trained, %d skipped) in %s; 'qsdc report %s' "
               "summarises them\n",
               clock.total, clock.trained, clock.skipped, el, o->results_dir);
    return 0;
}

/* The experiment's plan, with the seeds of the grid that runs, into
 * results_dir/plan.json before the first run; a plan there already must
 * be the same: primary contrasts, margins and the number of seeds are
 * stated before the results, not chosen after them. */
static int state_plan(const experiment *e, const exp_grid *g, const char *results_dir,
                      qsdc_error *err)
{
    char path[QSDC_PATH_MAX];
    if (result_path(path, err, "%s/plan.json", results_dir) < 0)
        return -1;
    exp_plan plan = e->plan;
    plan.seeds = g->n_seeds;
    if (!exists(path))
        return plan.n_primary > 0 ? plan_write(path, &plan, err) : 0;
    exp_plan had;
    if (plan_read(path, &had, err) < 0)
        return -1;
    if (!plan_equal(&had, &plan))
        return qsdc_fail(err, "%s states other primary contrasts, margins or number of seeds "
                              "than %s: a plan is stated before the runs, not changed after "
                              "them; use another results directory (-o) for a new plan",
                         path, e->path);
    return 0;
}

int experiment_run(const experiment *e, const exp_run_options *o, qsdc_error *err)
{
    char fp[17];
    if (grid_fingerprint(e, o, fp, err) < 0 || fs_make_dirs(o->results_dir, err) < 0 ||
        state_plan(e, o->quick ? &e->quick : &e->full, o->results_dir, err) < 0)
        return -1;
    int lock = grid_lock_join(o->results_dir, fp, err);
    if (lock < 0)
        return -1;
    int rc = run_grid(e, o, err);
    close(lock);
    return rc;
}
