#include "window_shapes.h"

#include <string.h>

window_shape window_shape_of(const graph *g, const gnode *n)
{
    bool forward = n->op == OP_IM2COL || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL;
    const int64_t *d = g->t[forward ? n->in[0] : n->out].dims;
    return (window_shape){.op = n->op, .n = d[0], .c = d[1], .h = d[2], .w = d[3],
                          .win = n->win};
}

bool window_shape_equal(const window_shape *a, const window_shape *b)
{
    return a->op == b->op && a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w &&
           memcmp(&a->win, &b->win, sizeof a->win) == 0;
}

int window_shapes(const graph *g, const fusion *f, window_shape *out, int max)
{
    int n = 0;
    for (int k = 0; k < f->n_groups && n < max; k++) {
        const gnode *head = &g->n[f->groups[k].nodes[0]];
        if (f->groups[k].kind != GROUP_WINDOW || head->op == OP_QSD_DRAW)
            continue;
        window_shape s = window_shape_of(g, head);
        bool seen = false;
        for (int i = 0; i < n && !seen; i++)
            seen = window_shape_equal(&out[i], &s);
        if (!seen)
            out[n++] = s;
    }
    return n;
}

bool window_lanes(const codegen_target *t, const window_shape *s)
{
    if (t->windows != WINDOWS_BY_FAMILY)
        return t->windows == WINDOWS_LANES;
    for (int i = 0; i < t->n_row_windows; i++)
        if (window_shape_equal(&t->row_windows[i], s))
            return false;
    return codegen_lanes(t);
}
