/* Graph-level checks of a parsed model: names, input references, cycles. */
#include <stdlib.h>
#include <string.h>

#include "model_parse.h"
#include "strbuf.h"

/* Open addressing from layer name to layer index; -1 marks a free slot. */
typedef struct name_table {
    int *slot;
    size_t mask;
} name_table;

static size_t hash_name(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int table_init(name_table *t, int n)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    t->slot = malloc(cap * sizeof *t->slot);
    t->mask = cap - 1;
    if (!t->slot)
        return -1;
    for (size_t i = 0; i < cap; i++)
        t->slot[i] = -1;
    return 0;
}

/* The slot holding name, or the free slot where it would go. */
static size_t table_probe(const name_table *t, const model *m, const char *name)
{
    size_t i = hash_name(name) & t->mask;
    while (t->slot[i] >= 0 && strcmp(m->layers[t->slot[i]].name, name) != 0)
        i = (i + 1) & t->mask;
    return i;
}

static int table_find(const name_table *t, const model *m, const char *name)
{
    return t->slot[table_probe(t, m, name)];
}

/* Adds layer i under its name; returns the index already there, or -1. */
static int table_add(name_table *t, const model *m, int i)
{
    size_t s = table_probe(t, m, m->layers[i].name);
    if (t->slot[s] >= 0)
        return t->slot[s];
    t->slot[s] = i;
    return -1;
}

/* src[i * QSDC_MAX_INPUTS + k]: the layer feeding input k of layer i, -1
 * for the model input. Returns -1 with *bad = i * QSDC_MAX_INPUTS + k when
 * a name is undefined. */
static int resolve_inputs(const model *m, const name_table *t, int *src,
                          int *bad)
{
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            int j = strcmp(l->inputs[k], "input") == 0
                        ? -1
                        : table_find(t, m, l->inputs[k]);
            if (j < 0 && strcmp(l->inputs[k], "input") != 0) {
                *bad = i * QSDC_MAX_INPUTS + k;
                return -1;
            }
            src[i * QSDC_MAX_INPUTS + k] = j;
        }
    }
    return 0;
}

/* Kahn's algorithm over the resolved inputs. Returns how many layers it
 * ordered (n_layers when acyclic); indeg[j] > 0 afterwards marks the
 * layers on or behind a cycle. */
static int kahn(const model *m, const int *src, int *order, int *indeg)
{
    int n = m->n_layers;
    int *first = calloc((size_t)n + 1, sizeof *first);
    int *users = malloc(((size_t)n * QSDC_MAX_INPUTS + 1) * sizeof *users);
    if (!first || !users) {
        free(first);
        free(users);
        return -1;
    }
    memset(indeg, 0, (size_t)n * sizeof *indeg);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m->layers[i].n_inputs; k++)
            if (src[i * QSDC_MAX_INPUTS + k] >= 0) {
                first[src[i * QSDC_MAX_INPUTS + k] + 1]++;
                indeg[i]++;
            }
    for (int j = 0; j < n; j++)
        first[j + 1] += first[j];
    int *fill = order; /* borrowed as a cursor array before ordering */
    memcpy(fill, first, (size_t)n * sizeof *fill);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m->layers[i].n_inputs; k++)
            if (src[i * QSDC_MAX_INPUTS + k] >= 0)
                users[fill[src[i * QSDC_MAX_INPUTS + k]]++] = i;
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0)
            order[tail++] = i;
    while (head < tail) {
        int j = order[head++];
        for (int u = first[j]; u < first[j + 1]; u++)
            if (--indeg[users[u]] == 0)
                order[tail++] = users[u];
    }
    free(first);
    free(users);
    return tail;
}

/* Follows unordered inputs from the first unordered layer until a layer
 * repeats, and reports that loop in data-flow order. */
static int fail_cycle(const model *m, const int *src, const int *indeg,
                      qsdc_error *err)
{
    int n = m->n_layers;
    int *pos = malloc((size_t)n * sizeof *pos);
    int *path = malloc((size_t)n * sizeof *path);
    if (!pos || !path) {
        free(pos);
        free(path);
        return qsdc_fail(err, "%s: out of memory", m->path);
    }
    for (int i = 0; i < n; i++)
        pos[i] = -1;
    int cur = 0, len = 0;
    while (indeg[cur] == 0)
        cur++;
    while (pos[cur] < 0) {
        pos[cur] = len;
        path[len++] = cur;
        const layer *l = &m->layers[cur];
        for (int k = 0; k < l->n_inputs; k++) {
            int j = src[cur * QSDC_MAX_INPUTS + k];
            if (j >= 0 && indeg[j] > 0) {
                cur = j;
                break;
            }
        }
    }
    /* path[pos[cur]..len) reads each layer's input next; reverse it to
     * the flow direction and start at the earliest layer in the file. */
    int start = pos[cur], lowest = start;
    for (int s = start; s < len; s++)
        if (path[s] < path[lowest])
            lowest = s;
    strbuf sb;
    sb_init(&sb);
    int cycle = len - start, shown = cycle <= 8 ? cycle : 6;
    for (int s = 0; s < shown; s++) {
        int at = start + ((lowest - start) - s + cycle * 2) % cycle;
        sb_printf(&sb, "%s -> ", m->layers[path[at]].name);
    }
    const layer *first = &m->layers[path[lowest]];
    if (shown < cycle)
        sb_printf(&sb, "... (%d nodes) -> ", cycle);
    int rc = qsdc_fail_at(err, m->path, first->loc.line, first->loc.col,
                          "cycle in nodes: %s%s", sb_str(&sb), first->name);
    sb_free(&sb);
    free(pos);
    free(path);
    return rc;
}

/* Shared by the check and model_topo_order: everything but the messages. */
typedef struct graph_scratch {
    name_table names;
    int *src, *indeg, *order;
} graph_scratch;

static int scratch_init(graph_scratch *g, const model *m)
{
    memset(g, 0, sizeof *g);
    size_t n = (size_t)m->n_layers;
    g->src = malloc((n * QSDC_MAX_INPUTS + 1) * sizeof *g->src);
    g->indeg = malloc((n + 1) * sizeof *g->indeg);
    g->order = malloc((n + 1) * sizeof *g->order);
    if (table_init(&g->names, m->n_layers) < 0 || !g->src || !g->indeg ||
        !g->order)
        return -1;
    return 0;
}

static void scratch_free(graph_scratch *g)
{
    free(g->names.slot);
    free(g->src);
    free(g->indeg);
    free(g->order);
}

/* name_loc may be NULL: the layers' own locations are used then. */
static int check_with(graph_scratch *g, const model *m, const src_loc *name_loc,
                      qsdc_error *err)
{
    for (int i = 0; i < m->n_layers; i++) {
        int prev = table_add(&g->names, m, i);
        if (prev >= 0) {
            src_loc at = name_loc ? name_loc[i] : m->layers[i].loc;
            src_loc first = name_loc ? name_loc[prev] : m->layers[prev].loc;
            return qsdc_fail_at(err, m->path, at.line, at.col,
                                "duplicate layer name '%s' (first defined at "
                                "line %d)",
                                m->layers[i].name, first.line);
        }
    }
    int bad;
    if (resolve_inputs(m, &g->names, g->src, &bad) < 0) {
        const layer *l = &m->layers[bad / QSDC_MAX_INPUTS];
        src_loc at = l->input_loc[bad % QSDC_MAX_INPUTS];
        return qsdc_fail_at(err, m->path, at.line, at.col,
                            "undefined input '%s' (not a layer name or "
                            "'input')",
                            l->inputs[bad % QSDC_MAX_INPUTS]);
    }
    int ordered = kahn(m, g->src, g->order, g->indeg);
    if (ordered < 0)
        return qsdc_fail(err, "%s: out of memory", m->path);
    if (ordered < m->n_layers)
        return fail_cycle(m, g->src, g->indeg, err);
    return 0;
}

int model_check_graph(const model *m, const src_loc *name_loc, qsdc_error *err)
{
    graph_scratch g;
    int rc = scratch_init(&g, m) < 0
                 ? qsdc_fail(err, "%s: out of memory", m->path)
                 : check_with(&g, m, name_loc, err);
    scratch_free(&g);
    return rc;
}

int model_topo_order(const model *m, int *order, qsdc_error *err)
{
    graph_scratch g;
    int rc = scratch_init(&g, m) < 0
                 ? qsdc_fail(err, "%s: out of memory", m->path)
                 : check_with(&g, m, NULL, err);
    if (rc == 0)
        memcpy(order, g.order, (size_t)m->n_layers * sizeof *order);
    scratch_free(&g);
    return rc;
}
