/* hetero: unit's per-unit draws (QSD.md): every unit's release probability
 * and gain are one draw per unit and step, shared by the batch, so each
 * QSD node with hetero: unit gets a kernel of its own that writes them,
 * [units] P then [units] gains, into the arena before any other launch;
 * the node's element draws read them there (codegen_qsd_unit_call) instead
 * of every element drawing its unit's beta and gamma again. */
#include "codegen_int.h"

#include <stdio.h>

static bool draws_per_unit(const gnode *n)
{
    return (n->op == OP_QSD || n->op == OP_QSD_DRAW) && n->qsd.hetero == HETERO_UNIT;
}

int64_t codegen_qsd_units_place(graph *g, int64_t at)
{
    int64_t used = 0;
    for (int i = 0; i < g->nn; i++)
        if (draws_per_unit(&g->n[i])) {
            g->n[i].unit_params = at + used;
            used += 2 * codegen_qsd_units(g, &g->n[i]);
        }
    return used;
}

int codegen_qsd_unit_kernels(codegen_ctx *c, plan_launch *l, int max, qsdc_error *err)
{
    const graph *g = c->g;
    int n = 0;
    for (int i = 0; i < g->nn; i++) {
        const gnode *q = &g->n[i];
        if (!draws_per_unit(q))
            continue;
        if (n == max)
            return qsdc_fail(err, "more than %d QSD layers with hetero: unit", max);
        long long units = (long long)codegen_qsd_units(g, q), at = (long long)q->unit_params;
        char name[QSDC_NAME_MAX];
        snprintf(name, sizeof name, "qsd_units%u", q->rng_id);
        codegen_open_flat(c->src, name, units);
        sb_printf(c->src,
                  "    float release, gain;\n"
                  "    qsd_unit_draw(seed, %uu, step, idx, %s, %s, %s, %s, &release, &gain);\n"
                  "    A[%lldu + idx] = release;\n    A[%lldu + idx] = gain;\n}\n\n",
                  q->rng_id, CG_F(q->qsd.p), CG_F(q->qsd.q_cv), CG_F(q->qsd.p_concentration),
                  CG_F(q->qsd.anneal), at, at + units);
        codegen_launch_1d(&l[n++], name, "qsd_units", units, 0, 8.0 * (double)units);
    }
    return n;
}
