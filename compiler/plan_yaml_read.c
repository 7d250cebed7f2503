/* plan.yaml's reader: libyaml's document loader, then a walk over the layout
 * plan_yaml.c writes. Every key is required unless marked optional, unknown
 * keys are errors, and every size and offset is checked against its buffer,
 * so the executor can trust a plan that loads. Errors name path:line:col. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bundle.h"
#include "file_io.h"
#include "plan_yaml_names.h"

typedef struct reader {
    const char *path;
    const char *text; /* the file, for marks libyaml reports only as offsets */
    yaml_document_t *doc;
    qsdc_error *err;
} reader;

static int fail_mark(const reader *r, yaml_mark_t mk, const char *fmt, ...)
    QSDC_PRINTF(3, 4);

static int fail_mark(const reader *r, yaml_mark_t mk, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qsdc_fail_at(r->err, r->path, (int)mk.line + 1, (int)mk.column + 1, "%s", msg);
}

#define fail(r, n, ...) fail_mark(r, (n)->start_mark, __VA_ARGS__)

static yaml_node_t *node_at(const reader *r, int id)
{
    return yaml_document_get_node(r->doc, id);
}

static const char *kind_word(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

static const char *scalar_of(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (strcmp(scalar_of(n), nulls[i]) == 0)
            return true;
    return false;
}

static int expect(const reader *r, const yaml_node_t *n, yaml_node_type_t type,
                  const char *what, const char *want)
{
    if (is_null(n))
        return fail(r, n, "%s: missing value, expected %s", what, want);
    if (n->type != type)
        return fail(r, n, "%s: expected %s, got %s", what, want, kind_word(n));
    return 0;
}

/* Checks n is a mapping with exactly the keys in keys[] (NULL-terminated; a
 * '?' prefix marks an optional key) and sets vals[i] to key i's value node,
 * NULL for an absent optional key. */
static int read_map(const reader *r, const yaml_node_t *n, const char *what,
                    const char *const *keys, yaml_node_t **vals)
{
    if (expect(r, n, YAML_MAPPING_NODE, what, "a mapping") < 0)
        return -1;
    int nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(r, pr->key), *v = node_at(r, pr->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return fail(r, k ? k : n, "%s: keys must be plain words", what);
        int i = 0;
        while (i < nk && strcmp(keys[i] + (keys[i][0] == '?'), scalar_of(k)) != 0)
            i++;
        if (i == nk)
            return fail(r, k, "%s: unknown key '%s'", what, scalar_of(k));
        if (vals[i])
            return fail(r, k, "%s: key '%s' given twice", what, scalar_of(k));
        vals[i] = v;
    }
    for (int i = 0; i < nk; i++)
        if (!vals[i] && keys[i][0] != '?')
            return fail(r, n, "%s: missing key '%s'", what, keys[i]);
    return 0;
}

static int read_str(const reader *r, const yaml_node_t *n, const char *what, char *buf,
                    size_t cap)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(r, n, "%s: expected a string, got %s", what, kind_word(n));
    size_t len = n->data.scalar.length;
    if (len == 0 && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        return fail(r, n, "%s: missing value, expected a string", what);
    if (memchr(scalar_of(n), '\0', len))
        return fail(r, n, "%s: contains a NUL character", what);
    if (len >= cap)
        return fail(r, n, "%s: longer than %zu bytes", what, cap - 1);
    memcpy(buf, scalar_of(n), len + 1);
    return 0;
}

static int read_int(const reader *r, const yaml_node_t *n, const char *what, int64_t lo,
                    int64_t hi, int64_t *out)
{
    if (expect(r, n, YAML_SCALAR_NODE, what, "an integer") < 0)
        return -1;
    const char *s = scalar_of(n);
    size_t i = s[0] == '-';
    bool digits = s[i] != '\0' && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    for (; digits && s[i]; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    if (!digits)
        return fail(r, n, "%s: expected an integer, got '%s'", what, s);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi) {
        if (hi == INT64_MAX)
            return fail(r, n, "%s: %s out of range (at least %lld)", what, s,
                        (long long)lo);
        return fail(r, n, "%s: %s out of range [%lld, %lld]", what, s, (long long)lo,
                    (long long)hi);
    }
    *out = v;
    return 0;
}

static int read_count(const reader *r, const yaml_node_t *n, const char *what, int *out)
{
    int64_t v;
    if (read_int(r, n, what, 0, INT_MAX, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* A finite, non-negative amount (flops, bytes). */
static int read_amount(const reader *r, const yaml_node_t *n, const char *what,
                       double *out)
{
    if (expect(r, n, YAML_SCALAR_NODE, what, "a number") < 0)
        return -1;
    const char *s = scalar_of(n);
    char *end;
    double v = strtod(s, &end);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || end == s || *end != '\0' ||
        !isfinite(v) || v < 0)
        return fail(r, n, "%s: expected a non-negative number, got '%s'", what, s);
    *out = v;
    return 0;
}

static int read_word(const reader *r, const yaml_node_t *n, const char *what,
                     const char *const *words, int n_words, int *out)
{
    if (expect(r, n, YAML_SCALAR_NODE, what, "a word") < 0)
        return -1;
    for (int i = 0; i < n_words; i++)
        if (strcmp(scalar_of(n), words[i]) == 0) {
            *out = i;
            return 0;
        }
    return fail(r, n, "%s: unknown value '%s'", what, scalar_of(n));
}

/* A flow list of exactly n integers (or at most n when exact is false). */
static int read_ints(const reader *r, const yaml_node_t *n, const char *what, int max,
                     bool exact, int64_t lo, int64_t *out, int *count)
{
    if (expect(r, n, YAML_SEQUENCE_NODE, what, "a list") < 0)
        return -1;
    yaml_node_item_t *it = n->data.sequence.items.start;
    ptrdiff_t len = n->data.sequence.items.top - it;
    if (len > max || (exact && len != max))
        return fail(r, n, "%s: expected %s%d entries, got %td", what,
                    exact ? "" : "at most ", max, len);
    for (int i = 0; i < (int)len; i++) {
        yaml_node_t *x = node_at(r, it[i]);
        if (!x || read_int(r, x, what, lo, INT64_MAX, &out[i]) < 0)
            return x ? -1 : fail(r, n, "%s: broken list", what);
    }
    *count = (int)len;
    return 0;
}

/* [offset, offset + elems) must lie inside buffer b. */
static int check_span(const reader *r, const yaml_node_t *n, const char *what,
                      const plan *p, int b, int64_t offset, int64_t elems)
{
    int64_t size = plan_buffer_elems(p, b);
    if (elems > size || offset > size - elems)
        return fail(r, n, "%s: elements [%lld, %lld) lie outside buffer %s (%lld elements)",
                    what, (long long)offset, (long long)offset + (long long)elems,
                    plan_buffer_names[b], (long long)size);
    return 0;
}

static int read_buffers(const reader *r, const yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"P", "G", "S", "A", "L", NULL};
    static const char *const size_keys[] = {"elems", "bytes", NULL};
    yaml_node_t *v[BUF_COUNT], *s[2];
    if (read_map(r, n, "buffers", keys, v) < 0)
        return -1;
    for (int b = 0; b < BUF_COUNT; b++) {
        int64_t elems, bytes;
        if (read_map(r, v[b], keys[b], size_keys, s) < 0 ||
            read_int(r, s[0], "elems", 0, INT64_MAX / 4, &elems) < 0 ||
            read_int(r, s[1], "bytes", 0, INT64_MAX, &bytes) < 0)
            return -1;
        if (bytes != 4 * elems)
            return fail(r, s[1], "bytes: %lld is not 4 x %lld elements", (long long)bytes,
                        (long long)elems);
        *(int64_t *)((char *)p + plan_buffer_field[b]) = elems;
    }
    return 0;
}

static int read_range(const reader *r, const yaml_node_t *n, const char *what,
                      const plan *p, int64_t *offset, int64_t *elems)
{
    static const char *const keys[] = {"offset", "elems", NULL};
    yaml_node_t *v[2];
    if (read_map(r, n, what, keys, v) < 0 ||
        read_int(r, v[0], "offset", 0, INT64_MAX, offset) < 0 ||
        read_int(r, v[1], "elems", 0, INT64_MAX, elems) < 0)
        return -1;
    return check_span(r, n, what, p, BUF_A, *offset, *elems);
}

static int read_tensor(const reader *r, const yaml_node_t *n, const plan *p,
                       plan_tensor *t)
{
    static const char *const keys[] = {"name", "buffer", "offset", "dims",
                                       "?init", "?fan_in", "?fan_out", NULL};
    yaml_node_t *v[7];
    if (read_map(r, n, "tensor", keys, v) < 0 ||
        read_str(r, v[0], "name", t->name, sizeof t->name) < 0 ||
        read_word(r, v[1], "buffer", plan_buffer_names, BUF_COUNT, &t->buffer) < 0 ||
        read_int(r, v[2], "offset", 0, INT64_MAX, &t->offset) < 0 ||
        read_ints(r, v[3], "dims", QSDC_MAX_RANK, false, 1, t->dims, &t->rank) < 0)
        return -1;
    if (!t->name[0])
        return fail(r, v[0], "name: empty");
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, t->name) == 0)
            return fail(r, v[0], "name: a second tensor called '%s'", t->name);
    t->nelem = 1;
    for (int i = 0; i < t->rank; i++)
        if (__builtin_mul_overflow(t->nelem, t->dims[i], &t->nelem))
            return fail(r, v[3], "dims: too many elements");
    if (check_span(r, n, t->name, p, t->buffer, t->offset, t->nelem) < 0)
        return -1;
    bool param = t->buffer == BUF_P;
    for (int i = 4; i < 7; i++)
        if (!v[i] != !param)
            return fail(r, v[i] ? v[i] : n, "%s: '%s' is %s for parameters (buffer P)",
                        t->name, keys[i] + 1, param ? "required" : "only");
    if (!param)
        return 0;
    int init;
    if (read_word(r, v[4], "init", plan_init_names, PLAN_INIT_COUNT, &init) < 0 ||
        read_int(r, v[5], "fan_in", 0, INT64_MAX, &t->fan_in) < 0 ||
        read_int(r, v[6], "fan_out", 0, INT64_MAX, &t->fan_out) < 0)
        return -1;
    t->init = (init_kind)init;
    return 0;
}

static bool is_identifier(const char *s)
{
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static int read_launch(const reader *r, const yaml_node_t *n, plan_launch *l)
{
    static const char *const keys[] = {"kernel", "work_dim", "global", "local",
                                       "nodes", "flops", "bytes", NULL};
    yaml_node_t *v[7];
    int64_t wd, global[3], local[3];
    int count;
    if (read_map(r, n, "launch", keys, v) < 0 ||
        read_str(r, v[0], "kernel", l->kernel, sizeof l->kernel) < 0)
        return -1;
    if (!is_identifier(l->kernel))
        return fail(r, v[0], "kernel: '%s' is not an OpenCL C identifier", l->kernel);
    if (read_int(r, v[1], "work_dim", 1, 3, &wd) < 0 ||
        read_ints(r, v[2], "global", (int)wd, true, 1, global, &count) < 0 ||
        read_ints(r, v[3], "local", (int)wd, true, 0, local, &count) < 0 ||
        read_str(r, v[4], "nodes", l->nodes, sizeof l->nodes) < 0 ||
        read_amount(r, v[5], "flops", &l->flops) < 0 ||
        read_amount(r, v[6], "bytes", &l->bytes) < 0)
        return -1;
    l->work_dim = (int)wd;
    bool runtime_picks = true;
    for (int i = 0; i < l->work_dim; i++)
        runtime_picks = runtime_picks && local[i] == 0;
    for (int i = 0; i < l->work_dim; i++) {
        if (!runtime_picks && (local[i] == 0 || global[i] % local[i] != 0))
            return fail(r, v[3], "local: must be all 0 or divide global in every "
                                 "dimension (OpenCL 1.2)");
        l->global[i] = (uint64_t)global[i];
        l->local[i] = (uint64_t)local[i];
    }
    return 0;
}

static int read_stats(const reader *r, const yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"nodes_before_fusion", "kernels",
                                       "arena_unplanned_elems", "arena_live_peak_elems",
                                       NULL};
    yaml_node_t *v[4];
    if (read_map(r, n, "stats", keys, v) < 0 ||
        read_count(r, v[0], keys[0], &p->nodes_before_fusion) < 0 ||
        read_count(r, v[1], keys[1], &p->kernels) < 0 ||
        read_int(r, v[2], keys[2], 0, INT64_MAX, &p->arena_unplanned_elems) < 0 ||
        read_int(r, v[3], keys[3], 0, INT64_MAX, &p->arena_live_peak_elems) < 0)
        return -1;
    return 0;
}

/* The items of list n, allocated as *out (NULL when empty). */
static int list_items(const reader *r, const yaml_node_t *n, const char *what,
                      size_t size, void **out, yaml_node_item_t **items, int *count)
{
    if (expect(r, n, YAML_SEQUENCE_NODE, what, "a list") < 0)
        return -1;
    *items = n->data.sequence.items.start;
    ptrdiff_t len = n->data.sequence.items.top - *items;
    if (len > INT_MAX / 2)
        return fail(r, n, "%s: too many entries", what);
    *count = (int)len;
    *out = len ? calloc((size_t)len, size) : NULL;
    if (len && !*out)
        return qsdc_fail(r->err, "%s: out of memory", r->path);
    return 0;
}

static int read_entries(const reader *r, const yaml_node_t *tensors,
                        const yaml_node_t *launches, plan *p)
{
    yaml_node_item_t *it;
    int count;
    if (list_items(r, tensors, "tensors", sizeof *p->tensors, (void **)&p->tensors, &it,
                   &count) < 0)
        return -1;
    for (int i = 0; i < count; i++, p->n_tensors++) {
        yaml_node_t *x = node_at(r, it[i]);
        if (!x || read_tensor(r, x, p, &p->tensors[i]) < 0)
            return x ? -1 : fail(r, tensors, "tensors: broken list");
    }
    if (list_items(r, launches, "launches", sizeof *p->launches, (void **)&p->launches,
                   &it, &count) < 0)
        return -1;
    for (int i = 0; i < count; i++, p->n_launches++) {
        yaml_node_t *x = node_at(r, it[i]);
        if (!x || read_launch(r, x, &p->launches[i]) < 0)
            return x ? -1 : fail(r, launches, "launches: broken list");
    }
    return 0;
}

/* Reads the source file named by node n, beside plan.yaml. */
static int read_source(const reader *r, const yaml_node_t *n, plan *p)
{
    char name[256];
    if (read_str(r, n, "source", name, sizeof name) < 0)
        return -1;
    if (!name[0] || name[0] == '.' || strchr(name, '/'))
        return fail(r, n, "source: '%s' is not a file name in the bundle", name);
    const char *slash = strrchr(r->path, '/');
    int dir_len = slash ? (int)(slash - r->path) + 1 : 0;
    size_t cap = (size_t)dir_len + strlen(name) + 1;
    char *full = malloc(cap);
    if (!full)
        return qsdc_fail(r->err, "%s: out of memory", r->path);
    snprintf(full, cap, "%.*s%s", dir_len, r->path, name);
    unsigned char *data;
    size_t len;
    qsdc_error why = {{0}};
    int rc = fs_read_file(full, &data, &len, &why);
    free(full);
    if (rc < 0)
        return fail(r, n, "source: %s", why.message);
    if (strlen((char *)data) != len) {
        free(data);
        return fail(r, n, "source: %s contains a NUL byte", name);
    }
    p->source = (char *)data;
    return 0;
}

static int read_plan(const reader *r, const yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"name", "source", "batch", "buffers",
                                       "input", "output", "loss_offset", "tensors",
                                       "launches", "stats", NULL};
    yaml_node_t *v[10];
    if (read_map(r, n, "plan", keys, v) < 0 ||
        read_str(r, v[0], "name", p->name, sizeof p->name) < 0 ||
        read_int(r, v[2], "batch", 1, INT64_MAX, &p->batch) < 0 ||
        read_buffers(r, v[3], p) < 0 ||
        read_range(r, v[4], "input", p, &p->input_offset, &p->input_elems) < 0 ||
        read_range(r, v[5], "output", p, &p->output_offset, &p->output_elems) < 0 ||
        read_int(r, v[6], "loss_offset", -1, INT64_MAX, &p->loss_offset) < 0)
        return -1;
    if (p->loss_offset >= 0 &&
        check_span(r, v[6], "loss", p, BUF_A, p->loss_offset, p->batch) < 0)
        return -1;
    if (read_entries(r, v[7], v[8], p) < 0 || read_stats(r, v[9], p) < 0)
        return -1;
    return read_source(r, v[1], p);
}

static int read_root(const reader *r, const yaml_node_t *root, plan **out, int *n_out)
{
    static const char *const keys[] = {"format", "plans", NULL};
    yaml_node_t *v[2];
    int64_t format;
    if (read_map(r, root, "plan file", keys, v) < 0 ||
        read_int(r, v[0], "format", 0, INT64_MAX, &format) < 0)
        return -1;
    if (format != PLAN_YAML_FORMAT)
        return fail(r, v[0], "format: version %lld, this qsdc reads version %d",
                    (long long)format, PLAN_YAML_FORMAT);
    yaml_node_item_t *it;
    int count;
    plan *plans;
    if (list_items(r, v[1], "plans", sizeof *plans, (void **)&plans, &it, &count) < 0)
        return -1;
    if (count == 0)
        return fail(r, v[1], "plans: empty");
    int rc = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        yaml_node_t *x = node_at(r, it[i]);
        rc = x ? read_plan(r, x, &plans[i]) : fail(r, v[1], "plans: broken list");
        for (int j = 0; rc == 0 && j < i; j++)
            if ((plans[j].loss_offset >= 0) == (plans[i].loss_offset >= 0))
                rc = fail(r, x, "plan: a second %s plan (a bundle holds one of each)",
                          plans[i].loss_offset >= 0 ? "training" : "inference");
    }
    if (rc < 0) {
        plan_yaml_free(plans, count);
        return -1;
    }
    *out = plans;
    *n_out = count;
    return 0;
}

/* libyaml's error as path:line:col; reader errors carry only a byte offset. */
static int parse_error(const reader *r, const yaml_parser_t *ps)
{
    if (ps->error == YAML_MEMORY_ERROR)
        return qsdc_fail(r->err, "%s: out of memory", r->path);
    yaml_mark_t mk = ps->problem_mark;
    if (ps->error == YAML_READER_ERROR) {
        memset(&mk, 0, sizeof mk);
        for (size_t i = 0; i < ps->problem_offset && r->text[i]; i++, mk.column++)
            if (r->text[i] == '\n') {
                mk.line++;
                mk.column = (size_t)-1;
            }
    }
    const char *problem = ps->problem ? ps->problem : "invalid YAML";
    if (ps->context)
        return fail_mark(r, mk, "%s %s", ps->context, problem);
    return fail_mark(r, mk, "%s", problem);
}

static int load(reader *r, yaml_parser_t *ps, plan **plans, int *n_plans)
{
    yaml_document_t doc, extra;
    if (!yaml_parser_load(ps, &doc))
        return parse_error(r, ps);
    r->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc;
    if (!root) {
        yaml_mark_t start = {0, 0, 0};
        rc = fail_mark(r, start, "empty file, expected a plan");
    } else if (!yaml_parser_load(ps, &extra)) {
        rc = parse_error(r, ps);
    } else {
        yaml_node_t *more = yaml_document_get_root_node(&extra);
        rc = more ? fail(r, more, "a second YAML document; plan.yaml holds one")
                  : read_root(r, root, plans, n_plans);
        yaml_document_delete(&extra);
    }
    yaml_document_delete(&doc);
    return rc;
}

int plan_yaml_read(const char *path, plan **plans, int *n_plans, qsdc_error *err)
{
    *plans = NULL;
    *n_plans = 0;
    unsigned char *text;
    size_t len;
    if (fs_read_file(path, &text, &len, err) < 0)
        return -1;
    reader r = {.path = path, .text = (const char *)text, .err = err};
    yaml_parser_t ps;
    int rc;
    if (!yaml_parser_initialize(&ps)) {
        rc = qsdc_fail(err, "%s: out of memory", path);
    } else {
        yaml_parser_set_input_string(&ps, text, len);
        rc = load(&r, &ps, plans, n_plans);
        yaml_parser_delete(&ps);
    }
    free(text);
    return rc;
}

void plan_yaml_free(plan *plans, int n_plans)
{
    for (int i = 0; i < n_plans; i++)
        plan_free(&plans[i]);
    free(plans);
}
