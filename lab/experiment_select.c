/* A strength chosen on validation: a swept setting's candidates of one
 * seed, each a run of its own, and the best of them by its validation
 * score kept as the setting's run of that seed. Chosen per seed, so that
 * each seed replicates the whole procedure (tune on validation, then
 * test) and the paired tests across seeds see the tuning's variability;
 * the test set is never looked at. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment.h"

void experiment_candidate_dir(const exp_setting *s, int c, char out[48])
{
    snprintf(out, 48, "%s%.6g", s->swept_p0 ? "dropout_p" : "p", s->strengths[c]);
}

/* The validation score after the run's last epoch (NaN without one). */
static double last_val(const run_result *r)
{
    return r->n_epochs > 0 ? r->epochs[r->n_epochs - 1].val : NAN;
}

int experiment_select(const exp_setting *s, int i, const char *dir, double *chosen_strength,
                      qsdc_error *err)
{
    run_result runs[EXP_MAX_STRENGTHS];
    int n = 0, rc = 0, best = -1;
    for (; rc == 0 && n < s->n_strengths; n++) {
        char sub[48], path[QSDC_PATH_MAX];
        struct stat st;
        experiment_candidate_dir(s, n, sub);
        rc = result_path(path, err, "%s/%s/result.json", dir, sub);
        if (rc == 0 && stat(path, &st) != 0)
            rc = 1;
        if (rc == 0)
            rc = result_read(path, &runs[n], err);
        if (rc != 0)
            break;
        double v = last_val(&runs[n]);
        if (!isfinite(v))
            rc = qsdc_fail(err, "%s: no validation score after the last epoch, and a strength "
                                "sweep chooses on it: give the model a validation split "
                                "(train: val_split)",
                           path);
        else if (best < 0 || (runs[n].metric == RESULT_PERPLEXITY ? v < last_val(&runs[best])
                                                                  : v > last_val(&runs[best])))
            best = n;
    }
    if (rc == 0) {
        run_result chosen = runs[best];
        selection_record *sel = &chosen.selection;
        sel->n = s->n_strengths;
        sel->swept_p0 = s->swept_p0;
        sel->chosen = best;
        for (int c = 0; c < s->n_strengths; c++) {
            sel->strength[c] = s->strengths[c];
            sel->val[c] = last_val(&runs[c]);
        }
        chosen.setting_index = i;
        snprintf(chosen.setting, sizeof chosen.setting, "%s", s->name);
        char path[QSDC_PATH_MAX];
        rc = result_path(path, err, "%s/result.json", dir);
        if (rc == 0)
            rc = result_write(path, &chosen, err);
        *chosen_strength = s->strengths[best];
    }
    for (int c = 0; c < n; c++)
        result_free(&runs[c]);
    return rc;
}
