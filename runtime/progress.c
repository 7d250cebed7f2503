#include "progress.h"

#include <string.h>
#include <unistd.h>

void progress_start(progress *p, FILE *out, const char *label, int64_t first, int64_t total,
                    int64_t batch)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->first = first >= 0 && first < p->total ? first : 0;
    p->batch = batch;
    p->t0 = p->last = now_seconds();
}

void progress_set_run(progress *p, int64_t steps, double seconds)
{
    p->run_steps = steps > 0 ? steps : 0;
    p->run_s = seconds > 0 ? seconds : 0;
}

void progress_update(progress *p, int64_t done, double loss)
{
    double t = now_seconds();
    int decile = (int)(10 * done / p->total);
    bool due = p->tty ? t - p->last >= 0.2 || done == p->total : decile > p->last_decile;
    if (!due)
        return;
    p->last = t;
    p->last_decile = decile;
    int64_t ran = done - p->first;
    double el = t - p->t0, per_step = ran > 0 ? el / (double)ran : 0;
    double rate = per_step > 0 ? (double)p->batch / per_step : 0;
    double eta = per_step * (double)(p->total - done);
    char run[48] = "";
    if (p->run_steps > 0 || p->run_s > 0)
        snprintf(run, sizeof run, " (run %.0f s)",
                 eta + per_step * (double)p->run_steps + p->run_s);
    if (p->tty) {
        int width = 24, fill = (int)(width * done / p->total);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(p->out, "\r%s [%s] %lld/%lld  %.0f samples/s  ETA %.0f s%s  loss %.4f ",
                p->label, bar, (long long)done, (long long)p->total, rate, eta, run, loss);
    } else {
        fprintf(p->out, "%s %3d%%  %lld/%lld batches  %.0f samples/s  ETA %.0f s%s  loss %.4f\n",
                p->label, 10 * decile, (long long)done, (long long)p->total, rate, eta, run,
                loss);
    }
    fflush(p->out);
}

void progress_end(progress *p)
{
    if (p->tty) {
        fprintf(p->out, "\r%*s\r", 110, "");
        fflush(p->out);
    }
}
