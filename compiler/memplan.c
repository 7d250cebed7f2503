/* Memory planning: places every stored arena tensor at an offset so that
 * tensors whose lifetimes (producing group .. last reading group) do not
 * overlap share memory. First fit over offsets, in order of production. */
#include "memplan.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16 /* elements (64 bytes) */

typedef struct live {
    int t;
    int def, last;
    int64_t size, offset;
} live;

static bool in_arena(const tensor *t)
{
    return t->kind == T_ACT || t->kind == T_INPUT || t->kind == T_LOSS;
}

static int cmp_def(const void *a, const void *b)
{
    const live *x = a, *y = b;
    if (x->def != y->def)
        return x->def < y->def ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int cmp_offset(const void *a, const void *b)
{
    const live *x = *(live *const *)a, *y = *(live *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int memplan_arena(graph *g, const fusion *f, memplan_stats *st, qsdc_error *err)
{
    live *v = malloc((size_t)g->nt * sizeof *v);
    live **act = malloc((size_t)g->nt * sizeof *act);
    int *def = malloc((size_t)g->nt * sizeof *def);
    if (!v || !act || !def) {
        free(v);
        free(act);
        free(def);
        return qsdc_fail(err, "out of memory");
    }
    for (int t = 0; t < g->nt; t++)
        def[t] = -1;
    for (int i = 0; i < g->nn; i++) {
        if (g->n[i].out >= 0)
            def[graph_storage(g, g->n[i].out)] = f->group_of[i];
        if (g->n[i].mask > 0)
            def[g->n[i].mask] = f->group_of[i];
    }
    int nv = 0;
    for (int t = 0; t < g->nt; t++) {
        if (!in_arena(&g->t[t]) || g->t[t].alias >= 0 || !f->stored[t])
            continue;
        int last = f->last_use[t] > def[t] ? f->last_use[t] : def[t];
        v[nv++] = (live){t, def[t], last,
                         (g->t[t].nelem + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN, 0};
    }
    qsort(v, (size_t)nv, sizeof *v, cmp_def);
    int64_t top = 0, total = 0, peak_live = 0;
    int n_act = 0;
    for (int i = 0; i < nv; i++) {
        /* retire tensors no longer read once this one is produced */
        int k = 0;
        for (int j = 0; j < n_act; j++)
            if (act[j]->last >= v[i].def)
                act[k++] = act[j];
        n_act = k;
        qsort(act, (size_t)n_act, sizeof *act, cmp_offset);
        int64_t at = 0;
        for (int j = 0; j < n_act; j++) {
            if (act[j]->offset - at >= v[i].size)
                break;
            if (act[j]->offset + act[j]->size > at)
                at = act[j]->offset + act[j]->size;
        }
        v[i].offset = at;
        act[n_act++] = &v[i];
        if (at + v[i].size > top)
            top = at + v[i].size;
        total += v[i].size;
        int64_t now = 0;
        for (int j = 0; j < n_act; j++)
            now += act[j]->size;
        if (now > peak_live)
            peak_live = now;
    }
    for (int i = 0; i < nv; i++)
        g->t[v[i].t].offset = v[i].offset;
    for (int t = 0; t < g->nt; t++)
        if (g->t[t].alias >= 0)
            g->t[t].offset = g->t[graph_storage(g, t)].offset;
    st->arena_elems = top;
    st->unplanned_elems = total;
    st->live_peak_elems = peak_live;
    free(v);
    free(act);
    free(def);
    return 0;
}
