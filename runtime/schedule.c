/* Learning-rate schedules: linear warm-up, then constant, step or cosine. */
#include <math.h>

#include "train.h"

double train_lr_at(const lr_schedule *t, int64_t step, int64_t steps_per_epoch)
{
    double spe = (double)(steps_per_epoch > 0 ? steps_per_epoch : 1);
    double epoch = (double)step / spe;
    double warm = t->warmup_epochs;
    /* a warm-up that is not a whole number of steps ends on a step past
     * its length: that step gets lr, not more */
    if (warm > 0 && epoch < warm)
        return t->lr * fmin(1.0, (epoch + 1.0 / spe) / warm);
    switch (t->kind) {
    case SCHED_STEP:
        return t->lr * pow(t->step_gamma, floor(epoch / (double)lr_schedule_step_epochs(t)));
    case SCHED_COSINE: {
        double span = (double)t->epochs - warm;
        double frac = span > 0 ? (epoch - warm) / span : 1.0;
        if (frac > 1)
            frac = 1;
        return t->min_lr + 0.5 * (t->lr - t->min_lr) * (1.0 + cos(M_PI * frac));
    }
    default:
        return t->lr;
    }
}
