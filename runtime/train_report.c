#include "train_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

void epoch_report_print(const epoch_report *r)
{
    bool complete = r->first + r->done == r->steps;
    printf("epoch %" PRIu64 "/%lld  train loss %.4f", r->epoch, (long long)r->epochs,
           r->train_loss);
    if (r->language_model && isfinite(r->val_perplexity))
        printf("  val perplexity %.2f", r->val_perplexity);
    if (r->language_model && isfinite(r->test_perplexity))
        printf("  test perplexity %.2f", r->test_perplexity);
    if (r->has_val)
        printf("  val loss %.4f  val accuracy %.2f%%", r->val_loss, r->val_accuracy);
    if (r->has_test)
        printf("  test accuracy %.2f%%", r->test_accuracy);
    printf("  lr %.3g  (%.1f s, %.0f samples/s", r->lr, r->seconds, r->samples_per_s);
    if (r->tokens_per_sample > 0)
        printf(", %.0f tokens/s", r->samples_per_s * (double)r->tokens_per_sample);
    /* the device's one-time work at the first launches (pocl compiles each
     * kernel for its launch size then) weighs on a short first epoch */
    if (r->first_step_s >= 0.1 * r->seconds)
        printf("; includes the first step's %.2f s, one-time kernel setup on the device",
               r->first_step_s);
    if (!complete)
        printf("; stopped after batch %lld of %lld", (long long)(r->first + r->done),
               (long long)r->steps);
    printf(")\n");
    fflush(stdout);
}

/* A JSON number, or null for NAN (an empty split's perplexity). */
static void json_number(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.4f", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

int epoch_report_failed(const char *metrics_path, qsdc_error *err)
{
    return qsdc_fail(err, "%s: cannot write the metrics: %s", metrics_path,
                     strerror(errno ? errno : EIO));
}

int step_report_write(FILE *f, const char *metrics_path, const step_report *r,
                      qsdc_error *err)
{
    errno = 0;
    fprintf(f, "{\"step\": %" PRIu64 ", \"epoch\": %" PRIu64 ", \"batch\": %lld, "
            "\"train_loss\": %.6f, \"lr\": %.6g}\n", r->step, r->epoch, (long long)r->batch,
            r->train_loss, r->lr);
    if (fflush(f) != 0 || ferror(f))
        return epoch_report_failed(metrics_path, err);
    return 0;
}

int epoch_report_write(FILE *f, const char *metrics_path, const epoch_report *r,
                       qsdc_error *err)
{
    if (!f)
        return 0;
    errno = 0;
    fprintf(f,
            "{\"epoch\": %" PRIu64 ", \"first_batch\": %lld, \"batches\": %lld, "
            "\"train_loss\": %.6f",
            r->epoch, (long long)r->first, (long long)r->done, r->train_loss);
    if (r->language_model) {
        json_number(f, "val_perplexity", r->val_perplexity);
        json_number(f, "test_perplexity", r->test_perplexity);
    } else {
        json_number(f, "val_loss", r->has_val ? r->val_loss : NAN);
        json_number(f, "val_accuracy", r->val_accuracy);
        json_number(f, "test_accuracy", r->test_accuracy);
    }
    fprintf(f, ", \"lr\": %.6g, \"seconds\": %.3f, \"samples_per_s\": %.1f", r->lr,
            r->seconds, r->samples_per_s);
    if (r->tokens_per_sample > 0)
        fprintf(f, ", \"tokens_per_s\": %.1f", r->samples_per_s * (double)r->tokens_per_sample);
    fprintf(f, "}\n");
    if (fflush(f) != 0 || ferror(f))
        return epoch_report_failed(metrics_path, err);
    return 0;
}
