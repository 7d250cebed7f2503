#include "device_lost.h"

#include <inttypes.h>
#include <stdio.h>

#include "checkpoint.h"

int train_device_lost(const char *model_path, const char *checkpoint_dir, uint64_t step,
                      uint64_t epoch, qsdc_error *err)
{
    char call[256], saved[512];
    snprintf(call, sizeof call, "%.250s", err->message);
    checkpoint ck;
    qsdc_error load_err = {""};
    if (!checkpoint_dir)
        snprintf(saved, sizeof saved, "nothing was saved (train with --checkpoint DIR to "
                 "be able to resume)");
    else if (checkpoint_load(checkpoint_dir, &ck, &load_err) < 0)
        snprintf(saved, sizeof saved, "%s holds no intact checkpoint to resume from (%.200s)",
                 checkpoint_dir, load_err.message);
    else {
        snprintf(saved, sizeof saved, "the last checkpoint, %s (epoch %" PRIu64 ", step %"
                 PRIu64 "), is intact: continue with 'qsdc train %s --checkpoint %s --resume'",
                 checkpoint_dir, ck.epoch, ck.step, model_path, checkpoint_dir);
        checkpoint_free(&ck);
    }
    return qsdc_fail(err, "the device was lost at step %" PRIu64 " (epoch %" PRIu64 "): %s; %s",
                     step, epoch + 1, call, saved);
}
