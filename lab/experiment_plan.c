/* The analysis plan: its keys in an experiment file, and plan.json. */
#include "experiment_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "file_io.h"
#include "json_string.h"
#include "strbuf.h"

/* "a vs b": two identifiers around " vs ". */
static int parse_contrast(ydoc *d, yaml_node_t *n, const char (*names)[QSDC_NAME_MAX],
                          int n_names, exp_contrast *c)
{
    const char *s;
    if (ydoc_string(d, n, "primary contrast", &s) < 0)
        return -1;
    const char *vs = strstr(s, " vs ");
    char *sides[2] = {c->a, c->b};
    const char *from[2] = {s, vs ? vs + 4 : NULL};
    size_t len[2] = {vs ? (size_t)(vs - s) : 0, vs ? strlen(vs + 4) : 0};
    for (int k = 0; k < 2; k++) {
        bool ident = vs && len[k] > 0 && len[k] < QSDC_NAME_MAX &&
                     !(from[k][0] >= '0' && from[k][0] <= '9');
        for (size_t i = 0; ident && i < len[k]; i++) {
            char ch = from[k][i];
            ident = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9');
        }
        if (!ident)
            return ydoc_fail(d, n, "a primary contrast reads 'SETTING vs SETTING' with two "
                                   "setting names, not '%s'",
                             s);
        memcpy(sides[k], from[k], len[k]);
        sides[k][len[k]] = '\0';
    }
    if (!strcmp(c->a, c->b))
        return ydoc_fail(d, n, "primary contrast '%s' compares a setting with itself", s);
    for (int k = 0; names && k < 2; k++) {
        int i = 0;
        while (i < n_names && strcmp(names[i], sides[k]))
            i++;
        if (i == n_names)
            return ydoc_fail(d, n, "primary contrast '%s' names '%s', which is not a setting",
                             s, sides[k]);
    }
    return 0;
}

int plan_parse(ydoc *d, yaml_node_t *map, const char (*names)[QSDC_NAME_MAX], int n,
               exp_plan *p)
{
    yaml_node_t *prim = ydoc_get(d, map, "primary"), *m = ydoc_get(d, map, "equivalence_margin");
    yaml_node_t *sm = ydoc_get(d, map, "sparsity_margin");
    p->n_primary = 0;
    p->margin = p->sparsity_margin = 0;
    if (!prim) {
        if (m || sm)
            return ydoc_fail(d, m ? m : sm, "'%s' is part of the analysis plan, and there "
                                            "is no 'primary'",
                             m ? "equivalence_margin" : "sparsity_margin");
        return 0;
    }
    if (ydoc_expect(d, prim, "primary", YAML_SEQUENCE_NODE) < 0)
        return -1;
    if (!m)
        return ydoc_fail(d, prim, "'primary' needs 'equivalence_margin': the difference in "
                                  "the task's metric within which two settings count as "
                                  "equivalent");
    if (ydoc_float(d, m, "equivalence_margin", 0, INFINITY, YDOC_LO_OPEN | YDOC_HI_OPEN,
                   &p->margin) < 0)
        return -1;
    if (sm && ydoc_float(d, sm, "sparsity_margin", 0, 1, YDOC_LO_OPEN, &p->sparsity_margin) < 0)
        return -1;
    for (yaml_node_item_t *it = prim->data.sequence.items.start;
         it < prim->data.sequence.items.top; it++) {
        yaml_node_t *item = ydoc_node(d, *it);
        if (p->n_primary == PLAN_MAX_PRIMARY)
            return ydoc_fail(d, item, "at most %d primary contrasts", PLAN_MAX_PRIMARY);
        exp_contrast *c = &p->primary[p->n_primary];
        if (parse_contrast(d, item, names, n, c) < 0)
            return -1;
        for (int i = 0; i < p->n_primary; i++)
            if (!strcmp(p->primary[i].a, c->a) && !strcmp(p->primary[i].b, c->b))
                return ydoc_fail(d, item, "primary contrast '%s vs %s' is listed twice", c->a,
                                 c->b);
        p->n_primary++;
    }
    if (p->n_primary == 0)
        return ydoc_fail(d, prim, "'primary' lists no contrast");
    return 0;
}

int plan_write(const char *path, const exp_plan *p, qsdc_error *err)
{
    strbuf sb;
    sb_init(&sb);
    sb_append(&sb, "{\"format\": \"" PLAN_FORMAT "\", \"experiment\": ");
    json_put_string(&sb, p->experiment);
    sb_append(&sb, ", \"primary\": [");
    for (int i = 0; i < p->n_primary; i++)
        sb_printf(&sb, "%s\"%s vs %s\"", i ? ", " : "", p->primary[i].a, p->primary[i].b);
    sb_printf(&sb, "], \"equivalence_margin\": %.17g, \"seeds\": %d", p->margin, p->seeds);
    if (p->sparsity_margin > 0)
        sb_printf(&sb, ", \"sparsity_margin\": %.17g", p->sparsity_margin);
    sb_append(&sb, "}\n");
    int rc = sb_check(&sb, err);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, err);
    sb_free(&sb);
    return rc;
}

int plan_read(const char *path, exp_plan *p, qsdc_error *err)
{
    static const char *const keys[] = {"format", "experiment", "primary", "equivalence_margin",
                                       "sparsity_margin", "seeds", NULL};
    memset(p, 0, sizeof *p);
    ydoc d;
    if (ydoc_load_file(&d, path, err) < 0)
        return -1;
    yaml_node_t *root = ydoc_root(&d), *f = NULL, *e = NULL, *s = NULL;
    const char *format;
    int64_t seeds = 0;
    int rc = root->type != YAML_MAPPING_NODE
                 ? ydoc_fail_found(&d, root, "a JSON object")
                 : ydoc_check_keys(&d, root, keys, "key", " in a plan");
    /* the format first: an older plan lacks keys this one needs */
    if (rc == 0 && (f = ydoc_get(&d, root, "format")) &&
        (rc = ydoc_string(&d, f, "format", &format)) == 0 && strcmp(format, PLAN_FORMAT))
        rc = ydoc_fail(&d, f, "not a plan of this qsdc (format '%s', expected '%s')", format,
                       PLAN_FORMAT);
    if (rc == 0 && (!f || !(e = ydoc_get(&d, root, "experiment")) ||
                    !ydoc_get(&d, root, "primary") || !(s = ydoc_get(&d, root, "seeds"))))
        rc = ydoc_fail(&d, root, "a plan needs 'format', 'experiment', 'primary' and 'seeds'");
    if (rc == 0)
        rc = ydoc_ident(&d, e, "experiment", p->experiment);
    if (rc == 0)
        rc = plan_parse(&d, root, NULL, 0, p);
    if (rc == 0 && (rc = ydoc_int(&d, s, "seeds", 1, INT32_MAX, &seeds)) == 0)
        p->seeds = (int)seeds;
    ydoc_free(&d);
    return rc;
}

bool plan_equal(const exp_plan *x, const exp_plan *y)
{
    if (strcmp(x->experiment, y->experiment) || x->n_primary != y->n_primary ||
        x->margin != y->margin || x->sparsity_margin != y->sparsity_margin ||
        x->seeds != y->seeds)
        return false;
    for (int i = 0; i < x->n_primary; i++)
        if (strcmp(x->primary[i].a, y->primary[i].a) || strcmp(x->primary[i].b, y->primary[i].b))
            return false;
    return true;
}
