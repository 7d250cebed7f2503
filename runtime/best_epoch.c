#include "best_epoch.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_io.h"

#define RECORD "best-epoch.txt"
#define RECORD_MAX 256

static int path_in(const char *dir, const char *name, char *out, size_t cap, qsdc_error *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return qsdc_fail(err, "%s: checkpoint directory path is too long", dir);
    return 0;
}

int best_epoch_dir(const char *dir, char *out, size_t cap, qsdc_error *err)
{
    return path_in(dir, BEST_EPOCH_DIR, out, cap, err);
}

int best_epoch_load(const char *dir, best_epoch *b, qsdc_error *err)
{
    char path[4096];
    b->known = false;
    if (path_in(dir, RECORD, path, sizeof path, err) < 0)
        return -1;
    if (access(path, F_OK) != 0)
        return 0;
    unsigned char *text;
    size_t len;
    if (fs_read_file_max(path, RECORD_MAX, &text, &len, err) < 0)
        return -1;
    /* the score in hex: the exact double, so a replayed epoch compares equal */
    uint64_t epoch;
    double score;
    int got = sscanf((const char *)text, "epoch %" SCNu64 " score %la", &epoch, &score);
    free(text);
    if (got != 2 || !isfinite(score))
        return qsdc_fail(err, "%s: not a best-epoch record (\"epoch N score X\"); delete it "
                         "to start counting from the next epoch", path);
    b->known = true;
    b->epoch = epoch;
    b->score = score;
    return 0;
}

int best_epoch_save(const char *dir, const best_epoch *b, qsdc_error *err)
{
    char path[4096], text[RECORD_MAX];
    if (path_in(dir, RECORD, path, sizeof path, err) < 0)
        return -1;
    int n = snprintf(text, sizeof text, "epoch %" PRIu64 " score %a\n# %.6g: the best "
                     "validation %s, after epoch %" PRIu64 "\n", b->epoch, b->score, b->score,
                     b->lower_better ? "perplexity" : "accuracy", b->epoch);
    return fs_write_atomic(path, NULL, 0, text, (size_t)n, err);
}

static int remove_file(const char *path, qsdc_error *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return qsdc_fail(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int best_epoch_forget(const char *dir, qsdc_error *err)
{
    char path[4096];
    return path_in(dir, RECORD, path, sizeof path, err) < 0 || remove_file(path, err) < 0 ||
                   path_in(dir, BEST_EPOCH_DIR "/checkpoint.bin", path, sizeof path, err) < 0 ||
                   remove_file(path, err) < 0
               ? -1
               : 0;
}

bool best_epoch_improves(best_epoch *b, uint64_t epoch, double score)
{
    bool better = !b->known || (b->lower_better ? score < b->score : score > b->score);
    if (better) {
        b->known = true;
        b->epoch = epoch;
        b->score = score;
    }
    return better;
}

bool best_epoch_patience_out(const best_epoch *b, uint64_t epoch, int64_t patience)
{
    return patience > 0 && b->known && epoch >= b->epoch + (uint64_t)patience;
}
