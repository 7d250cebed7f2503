#include "progress.h"

#include <string.h>
#include <unistd.h>

void progress_start(progress *p, FILE *out, const char *label, int64_t total, int64_t batch)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->batch = batch;
    p->t0 = p->last = now_seconds();
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
    double el = t - p->t0, rate = el > 0 ? (double)(done * p->batch) / el : 0;
    double eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0;
    if (p->tty) {
        int width = 24, fill = (int)(width * done / p->total);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(p->out, "\r%s [%s] %lld/%lld  %.0f samples/s  ETA %.0f s  loss %.4f ",
                p->label, bar, (long long)done, (long long)p->total, rate, eta, loss);
    } else {
        fprintf(p->out, "%s %3d%%  %lld/%lld batches  %.0f samples/s  ETA %.0f s  loss %.4f\n",
                p->label, 10 * decile, (long long)done, (long long)p->total, rate, eta, loss);
    }
    fflush(p->out);
}

void progress_end(progress *p)
{
    if (p->tty) {
        fprintf(p->out, "\r%*s\r", 100, "");
        fflush(p->out);
    }
}
