/* graph.dot: the graph for Graphviz. Tensors are boxes with their shapes,
 * coloured by kind (parameters orange); ops are ellipses, each fused group a
 * cluster labelled with its kernel's name; activations fusion keeps in
 * registers are dashed. */
#include <stdio.h>

#include "bundle.h"
#include "codegen.h"

static const char *const fill[] = {
    [T_INPUT] = "#cfe2f3", [T_LABEL] = "#cfe2f3", [T_PARAM] = "#f9cb9c",
    [T_GRAD] = "#f4cccc",  [T_ACT] = "#ffffff",   [T_LOSS] = "#d9ead3",
};

/* s as the inside of a DOT string. */
static void escaped(strbuf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_appendn(out, "\\", 1);
        if (*s == '\n')
            sb_append(out, "\\n");
        else
            sb_appendn(out, s, 1);
    }
}

static void tensor_node(strbuf *out, const graph *g, const fusion *f, int t)
{
    const tensor *x = &g->t[t];
    bool in_registers = f && x->kind == T_ACT && x->alias < 0 && !f->stored[t];
    sb_printf(out, "  t%d [shape=box, style=\"filled%s\", fillcolor=\"%s\", label=\"", t,
              in_registers ? ",dashed" : "", fill[x->kind]);
    escaped(out, x->name);
    sb_append(out, "\\n[");
    for (int i = 0; i < x->rank; i++)
        sb_printf(out, "%s%lld", i ? "," : "", (long long)x->dims[i]);
    sb_append(out, "]\"];\n");
}

static void op_node(strbuf *out, const graph *g, int n, const char *indent)
{
    sb_printf(out, "%sn%d [label=\"%s\"];\n", indent, n, op_kind_name(g->n[n].op));
}

void graph_dot(const graph *g, const fusion *f, strbuf *out)
{
    sb_printf(out,
              "digraph qsdc {\n"
              "  graph [fontname=\"Helvetica\", label=\"%s pass, batch %lld\"];\n"
              "  node [fontname=\"Helvetica\", fontsize=10];\n",
              g->mode == MODE_TRAIN ? "training" : "inference", (long long)g->batch);
    for (int t = 0; t < g->nt; t++)
        tensor_node(out, g, f, t);
    for (int k = 0; f && k < f->n_groups; k++) {
        char name[QSDC_NAME_MAX];
        codegen_kernel_name(g, f, k, name, sizeof name);
        sb_printf(out, "  subgraph cluster_k%d {\n    label=\"%s\"; style=rounded;\n", k,
                  name);
        for (int i = 0; i < f->groups[k].n; i++)
            op_node(out, g, f->groups[k].nodes[i], "    ");
        sb_append(out, "  }\n");
    }
    for (int n = 0; n < g->nn; n++)
        if (!f || f->group_of[n] < 0)
            op_node(out, g, n, "  ");
    for (int n = 0; n < g->nn; n++) {
        for (int j = 0; j < g->n[n].n_in; j++)
            sb_printf(out, "  t%d -> n%d;\n", g->n[n].in[j], n);
        if (g->n[n].out >= 0)
            sb_printf(out, "  n%d -> t%d;\n", n, g->n[n].out);
    }
    for (int t = 0; t < g->nt; t++)
        if (g->t[t].alias >= 0)
            sb_printf(out, "  t%d -> t%d [style=dotted, label=\"view\"];\n", g->t[t].alias,
                      t);
    sb_append(out, "}\n");
}
