/* plan.yaml's reader: a walk over the layout plan_yaml.c writes, on the
 * front end's located YAML access (yaml_doc.h). Every key is required unless
 * said otherwise, unknown keys are errors, and every size and offset is
 * checked against its buffer, so the executor can trust a plan that loads.
 * Errors name path:line:col. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "checksum.h"
#include "file_io.h"
#include "plan_yaml_names.h"
#include "yaml_doc.h"

/* Checks n is a mapping whose keys are all in keys[] (NULL-terminated), and
 * sets vals[i] to key i's value; keys from index optional_from on may be
 * absent (NULL). */
static int read_map(ydoc *d, yaml_node_t *n, const char *what, const char *const *keys,
                    int optional_from, yaml_node_t **vals)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, " in %s", what);
    if (ydoc_expect(d, n, what, YAML_MAPPING_NODE) < 0 ||
        ydoc_check_keys(d, n, keys, "key", suffix) < 0)
        return -1;
    for (int i = 0; keys[i]; i++) {
        vals[i] = ydoc_get(d, n, keys[i]);
        if (!vals[i] && i < optional_from)
            return ydoc_fail(d, n, "missing required key '%s' in %s", keys[i], what);
    }
    return 0;
}

#define ALL_REQUIRED INT_MAX

/* Any scalar is text here: the schema says these fields are strings, so a
 * name that looks like a number or a bool is still a name. */
static int read_text(ydoc *d, yaml_node_t *n, const char *key, char *buf, size_t cap)
{
    bool null = n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
                n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (n->type != YAML_SCALAR_NODE || null) {
        char expected[64];
        snprintf(expected, sizeof expected, "a string for '%s'", key);
        return ydoc_fail_found(d, n, expected);
    }
    size_t len = n->data.scalar.length;
    if (strlen(ydoc_text(n)) != len)
        return ydoc_fail(d, n, "'%s' must not contain NUL characters", key);
    if (len >= cap)
        return ydoc_fail(d, n, "'%s' is longer than %zu bytes", key, cap - 1);
    memcpy(buf, ydoc_text(n), len + 1);
    return 0;
}

static int read_count(ydoc *d, yaml_node_t *n, const char *key, int *out)
{
    int64_t v;
    if (ydoc_int(d, n, key, 0, INT_MAX, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* The items of list n: *items and *len. */
static int list_of(ydoc *d, yaml_node_t *n, const char *key, yaml_node_item_t **items,
                   int *len)
{
    if (ydoc_expect(d, n, key, YAML_SEQUENCE_NODE) < 0)
        return -1;
    *items = n->data.sequence.items.start;
    *len = (int)(n->data.sequence.items.top - *items); /* bounded by YDOC_MAX_NODES */
    return 0;
}

/* A list of at most max integers >= lo (exactly max when exact). */
static int read_ints(ydoc *d, yaml_node_t *n, const char *key, int max, bool exact,
                     int64_t lo, int64_t *out, int *count)
{
    yaml_node_item_t *it;
    if (list_of(d, n, key, &it, count) < 0)
        return -1;
    if (*count > max || (exact && *count != max))
        return ydoc_fail(d, n, "'%s' needs %s%d entries, found %d", key,
                         exact ? "" : "at most ", max, *count);
    for (int i = 0; i < *count; i++)
        if (ydoc_int(d, ydoc_node(d, it[i]), key, lo, INT64_MAX, &out[i]) < 0)
            return -1;
    return 0;
}

/* [offset, offset + elems) must lie inside buffer b. */
static int check_span(ydoc *d, yaml_node_t *n, const char *what, const plan *p, int b,
                      int64_t offset, int64_t elems)
{
    int64_t size = plan_buffer_elems(p, b);
    if (elems > size || offset > size - elems)
        return ydoc_fail(d, n, "%s: elements [%lld, %llu) lie outside buffer %s (%lld "
                               "elements)", what, (long long)offset,
                         /* both are at most INT64_MAX: the sum fits unsigned */
                         (unsigned long long)offset + (unsigned long long)elems,
                         plan_buffer_names[b], (long long)size);
    return 0;
}

static int read_buffers(ydoc *d, yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"P", "G", "S", "A", "L", NULL};
    static const char *const size_keys[] = {"elems", "bytes", NULL};
    yaml_node_t *v[BUF_COUNT], *s[2];
    if (read_map(d, n, "buffers", keys, ALL_REQUIRED, v) < 0)
        return -1;
    for (int b = 0; b < BUF_COUNT; b++) {
        int64_t elems, bytes;
        char what[32];
        snprintf(what, sizeof what, "buffer %s", keys[b]);
        if (read_map(d, v[b], what, size_keys, ALL_REQUIRED, s) < 0 ||
            ydoc_int(d, s[0], "elems", 0, INT64_MAX / 4, &elems) < 0 ||
            ydoc_int(d, s[1], "bytes", 0, INT64_MAX, &bytes) < 0)
            return -1;
        if (bytes != 4 * elems)
            return ydoc_fail(d, s[1], "'bytes' is %lld, not 4 x %lld elements",
                             (long long)bytes, (long long)elems);
        *(int64_t *)((char *)p + plan_buffer_field[b]) = elems;
    }
    return 0;
}

static int read_range(ydoc *d, yaml_node_t *n, const char *what, const plan *p,
                      int64_t *offset, int64_t *elems)
{
    static const char *const keys[] = {"offset", "elems", NULL};
    yaml_node_t *v[2];
    if (read_map(d, n, what, keys, ALL_REQUIRED, v) < 0 ||
        ydoc_int(d, v[0], "offset", 0, INT64_MAX, offset) < 0 ||
        ydoc_int(d, v[1], "elems", 0, INT64_MAX, elems) < 0)
        return -1;
    return check_span(d, n, what, p, BUF_A, *offset, *elems);
}

static int read_tensor(ydoc *d, yaml_node_t *n, const plan *p, plan_tensor *t)
{
    static const char *const keys[] = {"name", "buffer", "offset", "dims",
                                       "init", "fan_in", "fan_out", NULL};
    enum { FIRST_PARAM_KEY = 4 };
    yaml_node_t *v[7];
    int buffer;
    if (read_map(d, n, "tensor", keys, FIRST_PARAM_KEY, v) < 0 ||
        read_text(d, v[0], "name", t->name, sizeof t->name) < 0 ||
        ydoc_choice(d, v[1], "buffer", plan_buffer_names, &buffer) < 0 ||
        ydoc_int(d, v[2], "offset", 0, INT64_MAX, &t->offset) < 0 ||
        read_ints(d, v[3], "dims", QSDC_MAX_RANK, false, 1, t->dims, &t->rank) < 0)
        return -1;
    t->buffer = buffer;
    if (!t->name[0])
        return ydoc_fail(d, v[0], "a tensor's 'name' must not be empty");
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, t->name) == 0)
            return ydoc_fail(d, v[0], "a second tensor called '%s'", t->name);
    t->nelem = 1;
    for (int i = 0; i < t->rank; i++)
        if (__builtin_mul_overflow(t->nelem, t->dims[i], &t->nelem))
            return ydoc_fail(d, v[3], "'dims' multiply to more than 2^63 elements");
    char what[2 * QSDC_NAME_MAX + 8];
    snprintf(what, sizeof what, "tensor %s", t->name);
    if (check_span(d, n, what, p, t->buffer, t->offset, t->nelem) < 0)
        return -1;
    bool param = t->buffer == BUF_P;
    for (int i = FIRST_PARAM_KEY; keys[i]; i++)
        if (!v[i] != !param)
            return ydoc_fail(d, v[i] ? v[i] : n, "tensor %s: '%s' is %s parameters "
                             "(buffer P)", t->name, keys[i],
                             param ? "required for" : "only for");
    if (!param)
        return 0;
    int init;
    if (ydoc_choice(d, v[4], "init", plan_init_names, &init) < 0 ||
        ydoc_int(d, v[5], "fan_in", 0, INT64_MAX, &t->fan_in) < 0 ||
        ydoc_int(d, v[6], "fan_out", 0, INT64_MAX, &t->fan_out) < 0)
        return -1;
    t->init = (init_kind)init;
    return 0;
}

/* A GEMM's operands must lie inside their buffers: the span of a row-major
 * [rows, cols] matrix with leading dimension ld is (rows - 1) * ld + cols. */
static int read_gemm(ydoc *d, yaml_node_t *n, const plan *p, plan_gemm *g)
{
    static const char *const keys[] = {"m", "n", "k", "trans_a", "trans_b", "a", "a_off",
                                       "lda", "b", "b_off", "ldb", "c", "c_off", "ldc",
                                       "accumulate", NULL};
    yaml_node_t *v[15];
    int64_t ta, tb, acc;
    if (read_map(d, n, "gemm", keys, ALL_REQUIRED, v) < 0 ||
        ydoc_int(d, v[0], "m", 1, INT32_MAX, &g->m) < 0 ||
        ydoc_int(d, v[1], "n", 1, INT32_MAX, &g->n) < 0 ||
        ydoc_int(d, v[2], "k", 1, INT32_MAX, &g->k) < 0 ||
        ydoc_int(d, v[3], "trans_a", 0, 1, &ta) < 0 ||
        ydoc_int(d, v[4], "trans_b", 0, 1, &tb) < 0 ||
        ydoc_choice(d, v[5], "a", plan_buffer_names, &g->a_buf) < 0 ||
        ydoc_int(d, v[6], "a_off", 0, INT64_MAX, &g->a_off) < 0 ||
        ydoc_int(d, v[7], "lda", 1, INT32_MAX, &g->lda) < 0 ||
        ydoc_choice(d, v[8], "b", plan_buffer_names, &g->b_buf) < 0 ||
        ydoc_int(d, v[9], "b_off", 0, INT64_MAX, &g->b_off) < 0 ||
        ydoc_int(d, v[10], "ldb", 1, INT32_MAX, &g->ldb) < 0 ||
        ydoc_choice(d, v[11], "c", plan_buffer_names, &g->c_buf) < 0 ||
        ydoc_int(d, v[12], "c_off", 0, INT64_MAX, &g->c_off) < 0 ||
        ydoc_int(d, v[13], "ldc", 1, INT32_MAX, &g->ldc) < 0 ||
        ydoc_int(d, v[14], "accumulate", 0, 1, &acc) < 0)
        return -1;
    g->trans_a = (int)ta;
    g->trans_b = (int)tb;
    g->accumulate = (int)acc;
    int64_t ar = ta ? g->k : g->m, ac = ta ? g->m : g->k;
    int64_t br = tb ? g->n : g->k, bc = tb ? g->k : g->n;
    const struct { const char *what; int buf; int64_t off, rows, cols, ld; yaml_node_t *at; } ops[] = {
        {"gemm operand a", g->a_buf, g->a_off, ar, ac, g->lda, v[7]},
        {"gemm operand b", g->b_buf, g->b_off, br, bc, g->ldb, v[10]},
        {"gemm result c", g->c_buf, g->c_off, g->m, g->n, g->ldc, v[13]},
    };
    for (int i = 0; i < 3; i++) {
        if (ops[i].ld < ops[i].cols || ops[i].buf == BUF_L)
            return ydoc_fail(d, ops[i].at, "%s: leading dimension %lld is below its %lld "
                             "columns, or it names the label buffer", ops[i].what,
                             (long long)ops[i].ld, (long long)ops[i].cols);
        if (check_span(d, ops[i].at, ops[i].what, p, ops[i].buf, ops[i].off,
                       (ops[i].rows - 1) * ops[i].ld + ops[i].cols) < 0)
            return -1;
    }
    return 0;
}

static int read_launch(ydoc *d, yaml_node_t *n, const plan *p, plan_launch *l)
{
    static const char *const keys[] = {"kind", "kernel", "work_dim", "global", "local",
                                       "nodes", "flops", "bytes", "gemm", "offset", NULL};
    enum { GEMM_KEY = 8, OFFSET_KEY = 9 };
    yaml_node_t *v[10];
    int64_t wd, global[3], local[3], offset[3] = {0, 0, 0};
    int count;
    if (read_map(d, n, "launch", keys, GEMM_KEY, v) < 0 ||
        ydoc_choice(d, v[0], "kind", plan_launch_kind_names, &l->kind) < 0 ||
        ydoc_ident(d, v[1], "kernel", l->kernel) < 0 ||
        ydoc_int(d, v[2], "work_dim", 1, 3, &wd) < 0 ||
        read_ints(d, v[3], "global", (int)wd, true, 1, global, &count) < 0 ||
        read_ints(d, v[4], "local", (int)wd, true, 0, local, &count) < 0 ||
        read_text(d, v[5], "nodes", l->nodes, sizeof l->nodes) < 0 ||
        ydoc_float(d, v[6], "flops", 0, INFINITY, 0, &l->flops) < 0 ||
        ydoc_float(d, v[7], "bytes", 0, INFINITY, 0, &l->bytes) < 0 ||
        (v[GEMM_KEY] && read_gemm(d, v[GEMM_KEY], p, &l->gemm) < 0) ||
        (v[OFFSET_KEY] &&
         read_ints(d, v[OFFSET_KEY], "offset", (int)wd, true, 0, offset, &count) < 0))
        return -1;
    if (l->kind == LAUNCH_CLBLAST_GEMM && !v[GEMM_KEY])
        return ydoc_fail(d, n, "a clblast_gemm launch needs its 'gemm' operands");
    l->work_dim = (int)wd;
    bool runtime_picks = true;
    for (int i = 0; i < l->work_dim; i++)
        runtime_picks = runtime_picks && local[i] == 0;
    for (int i = 0; i < l->work_dim; i++) {
        if (!runtime_picks && (local[i] == 0 || global[i] % local[i] != 0))
            return ydoc_fail(d, v[4], "'local' must be all 0 or divide 'global' in "
                                      "every dimension (OpenCL 1.2)");
        l->global[i] = (uint64_t)global[i];
        l->local[i] = (uint64_t)local[i];
        l->offset[i] = (uint64_t)offset[i];
    }
    return 0;
}

static int read_stats(ydoc *d, yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"nodes_before_fusion", "kernels",
                                       "arena_unplanned_elems", "arena_live_peak_elems",
                                       NULL};
    yaml_node_t *v[4];
    if (read_map(d, n, "stats", keys, ALL_REQUIRED, v) < 0 ||
        read_count(d, v[0], keys[0], &p->nodes_before_fusion) < 0 ||
        read_count(d, v[1], keys[1], &p->kernels) < 0 ||
        ydoc_int(d, v[2], keys[2], 0, INT64_MAX, &p->arena_unplanned_elems) < 0 ||
        ydoc_int(d, v[3], keys[3], 0, INT64_MAX, &p->arena_live_peak_elems) < 0)
        return -1;
    return 0;
}

static int read_entries(ydoc *d, yaml_node_t *tensors, yaml_node_t *launches, plan *p)
{
    yaml_node_item_t *it;
    int len;
    if (list_of(d, tensors, "tensors", &it, &len) < 0)
        return -1;
    if (len && !(p->tensors = calloc((size_t)len, sizeof *p->tensors)))
        return qsdc_fail(d->err, "%s: out of memory", d->path);
    for (; p->n_tensors < len; p->n_tensors++)
        if (read_tensor(d, ydoc_node(d, it[p->n_tensors]), p,
                        &p->tensors[p->n_tensors]) < 0)
            return -1;
    if (list_of(d, launches, "launches", &it, &len) < 0)
        return -1;
    if (len && !(p->launches = calloc((size_t)len, sizeof *p->launches)))
        return qsdc_fail(d->err, "%s: out of memory", d->path);
    for (; p->n_launches < len; p->n_launches++)
        if (read_launch(d, ydoc_node(d, it[p->n_launches]), p,
                        &p->launches[p->n_launches]) < 0)
            return -1;
    return 0;
}

/* A checksum as the writer puts it: 16 hex digits. */
static int read_checksum(ydoc *d, yaml_node_t *n, const char *key, uint64_t *out)
{
    char hex[32];
    if (read_text(d, n, key, hex, sizeof hex) < 0)
        return -1;
    char *end;
    *out = strtoull(hex, &end, 16);
    if (strlen(hex) != 16 || *end || strspn(hex, "0123456789abcdef") != 16)
        return ydoc_fail(d, n, "'%s' must be 16 hex digits, found '%s'", key, hex);
    return 0;
}

/* Reads the bundle file named by node n, which lies beside plan.yaml, and
 * checks its bytes against the checksum at node sum. The writer names the
 * file by the plan's role, so it must be `role_name`: another name would
 * not survive a rewrite. */
static int read_beside(ydoc *d, yaml_node_t *n, const char *key, const char *role_name,
                       yaml_node_t *sum, unsigned char **data, size_t *len)
{
    char name[256], sum_key[32];
    uint64_t expected;
    snprintf(sum_key, sizeof sum_key, "%s_checksum", key);
    if (read_text(d, n, key, name, sizeof name) < 0 ||
        read_checksum(d, sum, sum_key, &expected) < 0)
        return -1;
    if (strcmp(name, role_name) != 0)
        return ydoc_fail(d, n, "'%s' must name the bundle's %s, found '%s'", key, role_name,
                         name);
    const char *slash = strrchr(d->path, '/');
    int dir_len = slash ? (int)(slash - d->path) + 1 : 0;
    size_t cap = (size_t)dir_len + strlen(name) + 1;
    char *full = malloc(cap);
    if (!full)
        return qsdc_fail(d->err, "%s: out of memory", d->path);
    snprintf(full, cap, "%.*s%s", dir_len, d->path, name);
    qsdc_error why = {{0}};
    int rc = fs_read_file(full, data, len, &why);
    if (rc < 0) {
        free(full);
        return ydoc_fail(d, n, "%s: %s", key, why.message);
    }
    uint64_t found = checksum_of(*data, *len);
    if (found != expected) {
        rc = ydoc_fail(d, sum, "%s does not match the checksum plan.yaml records for it "
                       "(%016llx, the file's is %016llx): it was changed after the bundle "
                       "was compiled; compile the bundle again", full,
                       (unsigned long long)expected, (unsigned long long)found);
        free(*data);
        *data = NULL;
    }
    free(full);
    return rc;
}

static int read_source(ydoc *d, yaml_node_t *n, yaml_node_t *sum, plan *p)
{
    unsigned char *data;
    size_t len;
    if (read_beside(d, n, "source", bundle_source_name(p), sum, &data, &len) < 0)
        return -1;
    if (strlen((char *)data) != len) {
        free(data);
        return ydoc_fail(d, n, "source %s contains a NUL byte", ydoc_text(n));
    }
    p->source = (char *)data;
    return 0;
}

/* binary and binary_checksum come together or not at all. */
static int read_binary(ydoc *d, yaml_node_t *plan_node, yaml_node_t *n, yaml_node_t *sum,
                       plan *p)
{
    if (!n != !sum)
        return ydoc_fail(d, plan_node, "'binary' and 'binary_checksum' go together");
    if (!n)
        return 0;
    if (read_beside(d, n, "binary", bundle_binary_name(p), sum, &p->binary,
                    &p->binary_len) < 0)
        return -1;
    if (p->binary_len == 0)
        return ydoc_fail(d, n, "binary %s is empty", ydoc_text(n));
    return 0;
}

static int read_target(ydoc *d, yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"cpu", "vector_width", "loop_limit", "gemm_tiles",
                                       "compute_units", "gemm_direct", NULL};
    yaml_node_t *v[6];
    int64_t width, loop_limit = 0, units = 0;
    int count;
    if (read_map(d, n, "target", keys, 2, v) < 0 ||
        ydoc_bool(d, v[0], "cpu", &p->target_cpu) < 0 ||
        ydoc_int(d, v[1], "vector_width", 1, 16, &width) < 0 ||
        (v[2] && ydoc_int(d, v[2], "loop_limit", 1, UINT32_MAX, &loop_limit) < 0) ||
        (v[3] && read_ints(d, v[3], "gemm_tiles", 5, true, 1, p->target_gemm_tiles, &count) < 0) ||
        (v[4] && ydoc_int(d, v[4], "compute_units", 1, 65536, &units) < 0) ||
        (v[5] && ydoc_bool(d, v[5], "gemm_direct", &p->target_gemm_direct) < 0))
        return -1;
    if (p->target_gemm_direct && !v[3])
        return ydoc_fail(d, v[5], "'gemm_direct' needs 'gemm_tiles'");
    p->target_compute_units = (unsigned)units;
    p->target_vector_width = (unsigned)width;
    p->target_loop_limit = (uint32_t)loop_limit;
    for (int i = 0; v[3] && i < 5; i++)
        if (p->target_gemm_tiles[i] > 1024)
            return ydoc_fail(d, v[3], "'gemm_tiles' entries must be at most 1024");
    return 0;
}

/* A training plan's schedule (n, NULL when absent); an inference plan has
 * none. The bounds are the model file's (model_train.c). */
static int read_schedule(ydoc *d, yaml_node_t *plan_node, yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"type", "lr", "warmup_epochs", "step_epochs", "gamma",
                                       "min_lr", "epochs", NULL};
    if (!n != (p->loss_offset < 0))
        return ydoc_fail(d, n ? n : plan_node, "%s",
                         n ? "an inference plan has no 'schedule'"
                           : "a training plan needs 'schedule'");
    if (!n)
        return 0;
    yaml_node_t *v[7];
    lr_schedule *s = &p->schedule;
    int kind;
    if (read_map(d, n, "schedule", keys, ALL_REQUIRED, v) < 0 ||
        ydoc_choice(d, v[0], keys[0], sched_kind_names, &kind) < 0 ||
        ydoc_float(d, v[1], keys[1], FLT_MIN, FLT_MAX, 0, &s->lr) < 0 ||
        ydoc_float(d, v[2], keys[2], 0, INFINITY, 0, &s->warmup_epochs) < 0 ||
        ydoc_int(d, v[3], keys[3], 0, INT32_MAX, &s->step_epochs) < 0 ||
        ydoc_float(d, v[4], keys[4], 0, 1, YDOC_LO_OPEN, &s->step_gamma) < 0 ||
        ydoc_float(d, v[5], keys[5], 0, INFINITY, 0, &s->min_lr) < 0 ||
        ydoc_int(d, v[6], keys[6], 1, INT32_MAX, &s->epochs) < 0)
        return -1;
    s->kind = (sched_kind)kind;
    return 0;
}

static int read_plan(ydoc *d, yaml_node_t *n, plan *p)
{
    static const char *const keys[] = {"name", "source", "source_checksum", "target",
                                       "batch", "buffers", "input", "output",
                                       "loss_offset", "tensors", "launches", "stats",
                                       "binary", "binary_checksum", "schedule", NULL};
    enum { BINARY_KEY = 12, SCHEDULE_KEY = 14 };
    yaml_node_t *v[15];
    if (read_map(d, n, "plan", keys, BINARY_KEY, v) < 0 ||
        read_text(d, v[0], "name", p->name, sizeof p->name) < 0 ||
        read_target(d, v[3], p) < 0 ||
        ydoc_int(d, v[4], "batch", 1, INT64_MAX, &p->batch) < 0 ||
        read_buffers(d, v[5], p) < 0 ||
        read_range(d, v[6], "input", p, &p->input_offset, &p->input_elems) < 0 ||
        read_range(d, v[7], "output", p, &p->output_offset, &p->output_elems) < 0 ||
        ydoc_int(d, v[8], "loss_offset", -1, INT64_MAX, &p->loss_offset) < 0)
        return -1;
    if ((p->loss_offset >= 0 &&
         check_span(d, v[8], "loss", p, BUF_A, p->loss_offset, p->batch) < 0) ||
        read_schedule(d, n, v[SCHEDULE_KEY], p) < 0)
        return -1;
    if (read_entries(d, v[9], v[10], p) < 0 || read_stats(d, v[11], p) < 0 ||
        read_source(d, v[1], v[2], p) < 0)
        return -1;
    return read_binary(d, n, v[BINARY_KEY], v[BINARY_KEY + 1], p);
}

static int read_root(ydoc *d, plan **out, int *n_out)
{
    static const char *const keys[] = {"format", "plans", NULL};
    yaml_node_t *v[2];
    int64_t format;
    yaml_node_item_t *it;
    int count;
    if (read_map(d, ydoc_root(d), "plan file", keys, ALL_REQUIRED, v) < 0 ||
        ydoc_int(d, v[0], "format", 0, INT64_MAX, &format) < 0)
        return -1;
    if (format != PLAN_YAML_FORMAT)
        return ydoc_fail(d, v[0], "plan format %lld; this qsdc reads format %d",
                         (long long)format, PLAN_YAML_FORMAT);
    if (list_of(d, v[1], "plans", &it, &count) < 0)
        return -1;
    if (count == 0)
        return ydoc_fail(d, v[1], "'plans' is empty");
    plan *plans = calloc((size_t)count, sizeof *plans);
    if (!plans)
        return qsdc_fail(d->err, "%s: out of memory", d->path);
    int rc = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        yaml_node_t *x = ydoc_node(d, it[i]);
        rc = read_plan(d, x, &plans[i]);
        for (int j = 0; rc == 0 && j < i; j++)
            if ((plans[j].loss_offset >= 0) == (plans[i].loss_offset >= 0))
                rc = ydoc_fail(d, x, "a second %s plan; a bundle holds one of each",
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

int plan_yaml_read(const char *path, plan **plans, int *n_plans, qsdc_error *err)
{
    *plans = NULL;
    *n_plans = 0;
    ydoc d;
    if (ydoc_load_file(&d, path, err) < 0)
        return -1;
    int rc = read_root(&d, plans, n_plans);
    ydoc_free(&d);
    return rc;
}

void plan_yaml_free(plan *plans, int n_plans)
{
    for (int i = 0; i < n_plans; i++)
        plan_free(&plans[i]);
    free(plans);
}
