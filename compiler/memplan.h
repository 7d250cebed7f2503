/* Memory planning of the activation arena by liveness. */
#ifndef QSDC_MEMPLAN_H
#define QSDC_MEMPLAN_H

#include "fusion.h"

typedef struct memplan_stats {
    int64_t arena_elems;     /* the planned arena */
    int64_t unplanned_elems; /* every stored tensor in its own memory */
    int64_t live_peak_elems; /* most elements live at one moment: a lower bound */
} memplan_stats;

/* Sets the offset of every stored arena tensor (and of views into them). */
int memplan_arena(graph *g, const fusion *f, memplan_stats *st, qsdc_error *err);

#endif
