/* A choice per device and shape by measurement, what the selectors
 * (conv_select.c, lstm_select.c, window_select.c, gemm_select.c) share:
 * each shape's candidates measured once and their times cached in a
 * per-device file, a line per shape, which later runs read. A selector
 * describes its cache entries, how it measures one and what it chooses by
 * it; choose_by_measuring does the rest. */
#ifndef QSDC_MEASURED_CHOICE_H
#define QSDC_MEASURED_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cl_runtime.h"
#include "strbuf.h"

/* A selector's description. sel is the selector's own selection: its
 * target, shapes and answers. */
typedef struct measured_choice {
    /* the cache file NAME-<device hash>.txt beside the program cache */
    const char *name;
    /* the notice "qsdc: measuring WHAT for this device (once per PER; the
     * results are cached) ..." */
    const char *what, *per;
    /* an entry's bytes: a shape's key and its measured times */
    size_t size;
    /* how many of a cache line's first fields are its key */
    int key_fields;
    /* entry from a cache line; false when the line is none (an older
     * qsdc's, one damaged): its shape is measured again */
    bool (*parse)(const char *line, void *entry);
    /* entry as its cache line, newline included */
    void (*format)(strbuf *sb, const void *entry);
    /* the key of the selection's shape i, set in a zeroed entry */
    void (*key)(const void *sel, int i, void *entry);
    /* entry's times, measured on env; its errors say what was measured */
    int (*measure)(cl_env *env, const void *sel, void *entry, qsdc_error *err);
    /* the selection's answer for shape i, by entry's times */
    void (*choose)(void *sel, int i, const void *entry);
    /* the report line of shape i's answer */
    void (*report)(FILE *report, const void *sel, int i, const void *entry);
} measured_choice;

/* Answers the selection sel's n shapes as c describes: each shape's times
 * come from env's device cache, measured where absent and, with remeasure,
 * measured again unless env measured them since it was opened (a tune
 * compiles the training and the inference plan, which share most shapes;
 * a layer's two window kernels share theirs); each answer is printed to
 * report when not NULL. The first measurement tells stderr (a large
 * model's shapes take a while); measuring adds to env->measure_s, and what
 * was measured goes to the cache. */
int choose_by_measuring(cl_env *env, const measured_choice *c, void *sel, int n,
                        bool remeasure, FILE *report, qsdc_error *err);

/* Whether the environment variable var forces one of a selection's two
 * ways, no or yes: then yes_for[i] (of n) says whether it is yes. */
bool measure_forced(const char *var, const char *no, const char *yes, bool *yes_for, int n);

#endif
