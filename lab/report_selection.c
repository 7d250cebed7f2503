/* The strengths chosen on validation: per swept setting and seed, the
 * candidates' validation scores after their last epoch and the one kept. */
#include "report.h"
#include "report_escape.h"

void report_put_selection(strbuf *sb, const rep_task *t)
{
    bool header = false;
    bool lm = t->metric == RESULT_PERPLEXITY;
    for (int i = 0; i < t->n_settings; i++) {
        const rep_setting *s = &t->settings[i];
        for (int j = 0; j < s->n; j++) {
            const selection_record *sel = &s->runs[j]->selection;
            if (sel->n == 0)
                continue;
            if (!header)
                sb_printf(sb, "\n### Strengths chosen on validation\n\nPer seed, the "
                              "strength with the %s validation %s after the last epoch; the "
                              "test set is not looked at.\n\n| setting | seed | swept | "
                              "chosen | validation %s by strength |\n|---|---|---|---|---|\n",
                          lm ? "lowest" : "highest", lm ? "perplexity" : "accuracy",
                          lm ? "perplexity" : "accuracy");
            header = true;
            char name[REPORT_MD_MAX];
            sb_printf(sb, "| %s | %llu | %s | %.6g | ",
                      report_markdown(s->first->setting, name, sizeof name),
                      (unsigned long long)s->runs[j]->seed, sel->swept_p0 ? "dropout_p" : "p",
                      sel->strength[sel->chosen]);
            for (int c = 0; c < sel->n; c++)
                sb_printf(sb, "%s%.6g: %.2f", c ? ", " : "", sel->strength[c], sel->val[c]);
            sb_append(sb, " |\n");
        }
    }
}
