#include "yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file_io.h"
#include "strbuf.h"

static int fail_mark(ydoc *d, yaml_mark_t m, const char *fmt, ...)
    QSDC_PRINTF(3, 4);

static int fail_mark(ydoc *d, yaml_mark_t m, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qsdc_fail_at(d->err, d->path, (int)m.line + 1, (int)m.column + 1,
                        "%s", msg);
}

/* Reader errors (bad encoding, control characters) carry a byte offset,
 * not a mark, so the line and column are counted here. */
static yaml_mark_t mark_of_offset(const char *text, size_t len, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
    }
    return m;
}

static int parser_error(ydoc *d, const yaml_parser_t *p, const char *text,
                        size_t len)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return qsdc_fail(d->err, "%s: out of memory while parsing YAML",
                         d->path);
    case YAML_READER_ERROR: {
        yaml_mark_t m = mark_of_offset(text, len, p->problem_offset);
        if (p->problem_value != -1)
            return fail_mark(d, m, "invalid YAML: %s (#%X)", problem,
                             (unsigned)p->problem_value);
        return fail_mark(d, m, "invalid YAML: %s", problem);
    }
    default:
        if (p->context)
            return fail_mark(d, p->problem_mark,
                             "invalid YAML: %s (%s at %d:%d)", problem,
                             p->context, (int)p->context_mark.line + 1,
                             (int)p->context_mark.column + 1);
        return fail_mark(d, p->problem_mark, "invalid YAML: %s", problem);
    }
}

/* Refuses what would make the loaded node graph unsafe to walk (aliases
 * make it a DAG or worse, depth and size are unbounded) before libyaml's
 * loader builds it; tags are refused because types come from the schema. */
static int check_event(ydoc *d, const yaml_event_t *ev, int *depth, long *nodes,
                       int *docs)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail_mark(d, ev->start_mark, "a second YAML document; the "
                                                "file must hold one YAML document");
        return 0;
    case YAML_ALIAS_EVENT:
        return fail_mark(d, ev->start_mark, "YAML aliases are not supported");
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        ++*depth;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        ++*depth;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        --*depth;
        return 0;
    default:
        return 0;
    }
    if (anchor)
        return fail_mark(d, ev->start_mark, "YAML anchors are not supported");
    if (tag)
        return fail_mark(d, ev->start_mark, "YAML tags are not supported");
    if (*depth > YDOC_MAX_DEPTH)
        return fail_mark(d, ev->start_mark, "nesting deeper than %d levels",
                         YDOC_MAX_DEPTH);
    if (++*nodes > YDOC_MAX_NODES)
        return fail_mark(d, ev->start_mark, "more than %d YAML nodes",
                         YDOC_MAX_NODES);
    return 0;
}

static int prescan(ydoc *d, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return qsdc_fail(d->err, "%s: out of memory", d->path);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int depth = 0, docs = 0, rc = 0;
    long nodes = 0;
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parser_error(d, &p, text, len);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = check_event(d, &ev, &depth, &nodes, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc == 0 && docs == 0)
        rc =
            qsdc_fail_at(d->err, d->path, 1, 1, "empty file: no YAML document");
    return rc;
}

int ydoc_load(ydoc *d, const char *path, const char *text, size_t len,
              qsdc_error *err)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    d->err = err;
    if (len > YDOC_MAX_BYTES)
        return qsdc_fail(err, "%s: file too large (%zu bytes, limit %u MiB)",
                         path, len, YDOC_MAX_BYTES >> 20);
    if (prescan(d, text, len) < 0)
        return -1;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return qsdc_fail(err, "%s: out of memory", path);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&p, &d->doc);
    int rc = ok ? 0 : parser_error(d, &p, text, len);
    yaml_parser_delete(&p);
    if (rc == 0 && !yaml_document_get_root_node(&d->doc)) {
        yaml_document_delete(&d->doc);
        rc = qsdc_fail_at(err, path, 1, 1, "empty file: no YAML document");
    }
    if (rc < 0)
        memset(&d->doc, 0, sizeof d->doc);
    return rc;
}

int ydoc_load_file(ydoc *d, const char *path, qsdc_error *err)
{
    unsigned char *text;
    size_t len;
    if (fs_read_file_max(path, YDOC_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    int rc = ydoc_load(d, path, (const char *)text, len, err);
    free(text);
    return rc;
}

void ydoc_free(ydoc *d)
{
    yaml_document_delete(&d->doc);
    memset(d, 0, sizeof *d);
}

yaml_node_t *ydoc_root(ydoc *d)
{
    return yaml_document_get_root_node(&d->doc);
}

yaml_node_t *ydoc_node(ydoc *d, int id)
{
    return yaml_document_get_node(&d->doc, id);
}

src_loc ydoc_loc(const yaml_node_t *n)
{
    return (src_loc){(int)n->start_mark.line + 1,
                     (int)n->start_mark.column + 1};
}

int ydoc_fail(const ydoc *d, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    src_loc l = ydoc_loc(n);
    return qsdc_fail_at(d->err, d->path, l.line, l.col, "%s", msg);
}

const char *ydoc_text(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                       : NULL;
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static size_t digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

static bool is_int_text(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    size_t n = digits(s);
    return n > 0 && s[n] == '\0';
}

static bool is_nonfinite_text(const char *s)
{
    static const char *const words[] = {".inf", ".Inf", ".INF", ".nan",
                                        ".NaN", ".NAN", NULL};
    if (*s == '+' || *s == '-')
        s++;
    return one_of(s, words) || strcasecmp(s, "inf") == 0 ||
           strcasecmp(s, "infinity") == 0 || strcasecmp(s, "nan") == 0;
}

/* Decimal floats only: [-+]? (d+ | d+.d* | .d+) ([eE][-+]?d+)? */
static bool is_float_text(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    size_t whole = digits(s), frac = 0;
    s += whole;
    if (*s == '.') {
        frac = digits(s + 1);
        s += 1 + frac;
    }
    if (whole + frac == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        size_t e = digits(s);
        if (e == 0)
            return false;
        s += e;
    }
    return *s == '\0';
}

const char *ydoc_kind(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {"true",  "True",  "TRUE", "false",
                                        "False", "FALSE", NULL};
    if (n->type == YAML_MAPPING_NODE)
        return "mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "list";
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return "string";
    const char *s = ydoc_text(n);
    if (one_of(s, nulls))
        return "null";
    if (one_of(s, bools))
        return "bool";
    if (is_int_text(s))
        return "integer";
    if (is_float_text(s) || is_nonfinite_text(s))
        return "float";
    return "string";
}

static bool kind_is(const yaml_node_t *n, const char *kind)
{
    return strcmp(ydoc_kind(n), kind) == 0;
}

/* "list", "null", "integer 12", "string 'abc'": what a message says was
 * found instead of what was expected. */
static const char *describe(const yaml_node_t *n, char *buf, size_t size)
{
    const char *kind = ydoc_kind(n);
    if (n->type != YAML_SCALAR_NODE || strcmp(kind, "null") == 0)
        return kind;
    const char *q = strcmp(kind, "string") == 0 ? "'" : "";
    snprintf(buf, size, "%s %s%.40s%s%s", kind, q, ydoc_text(n),
             strlen(ydoc_text(n)) > 40 ? "..." : "", q);
    return buf;
}

int ydoc_fail_found(ydoc *d, yaml_node_t *n, const char *expected)
{
    char buf[96];
    return ydoc_fail(d, n, "expected %s, found %s", expected,
                     describe(n, buf, sizeof buf));
}

static int fail_type(ydoc *d, yaml_node_t *n, const char *expected,
                     const char *key)
{
    char what[160];
    snprintf(what, sizeof what, "%s for '%s'", expected, key);
    return ydoc_fail_found(d, n, what);
}

static void join(strbuf *sb, const char *const *list)
{
    for (const char *const *s = list; *s; s++)
        sb_printf(sb, "%s%s", s == list ? "" : ", ", *s);
}

int ydoc_check_keys(ydoc *d, yaml_node_t *map, const char *const *allowed,
                    const char *noun, const char *suffix)
{
    yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
    size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = ydoc_node(d, pairs[i].key);
        if (k->type != YAML_SCALAR_NODE)
            return ydoc_fail(d, k, "expected a string key, found %s",
                             ydoc_kind(k));
        const char *name = ydoc_text(k);
        if (!one_of(name, allowed)) {
            strbuf sb;
            sb_init(&sb);
            join(&sb, allowed);
            int rc =
                ydoc_fail(d, k, "unknown %s '%.64s'%s (expected one of: %s)",
                          noun, name, suffix, sb_str(&sb));
            sb_free(&sb);
            return rc;
        }
        /* Every earlier key is allowed and distinct, so this loop is short
         * however long the mapping. */
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *prev = ydoc_node(d, pairs[j].key);
            if (strcmp(ydoc_text(prev), name) == 0)
                return ydoc_fail(d, k, "duplicate key '%s' (first at line %d)",
                                 name, ydoc_loc(prev).line);
        }
    }
    return 0;
}

static yaml_node_pair_t *find_pair(ydoc *d, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ydoc_node(d, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(ydoc_text(k), key) == 0)
            return p;
    }
    return NULL;
}

yaml_node_t *ydoc_get(ydoc *d, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p = find_pair(d, map, key);
    return p ? ydoc_node(d, p->value) : NULL;
}

yaml_node_t *ydoc_key(ydoc *d, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p = find_pair(d, map, key);
    return p ? ydoc_node(d, p->key) : NULL;
}

int ydoc_expect(ydoc *d, yaml_node_t *n, const char *key, yaml_node_type_t type)
{
    if (n->type == type)
        return 0;
    return fail_type(d, n,
                     type == YAML_MAPPING_NODE    ? "a mapping"
                     : type == YAML_SEQUENCE_NODE ? "a list"
                                                  : "a scalar",
                     key);
}

int ydoc_int(ydoc *d, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
             int64_t *out)
{
    if (!kind_is(n, "integer"))
        return fail_type(d, n, "integer", key);
    errno = 0;
    long long v = strtoll(ydoc_text(n), NULL, 10);
    if (errno == ERANGE)
        return ydoc_fail(d, n, "integer %.40s for '%s' does not fit in 64 bits",
                         ydoc_text(n), key);
    if (v < lo || v > hi) {
        if (hi == INT64_MAX)
            return ydoc_fail(d, n, "'%s' must be >= %lld, found %lld", key,
                             (long long)lo, v);
        return ydoc_fail(d, n, "'%s' must be in [%lld, %lld], found %lld", key,
                         (long long)lo, (long long)hi, v);
    }
    *out = v;
    return 0;
}

static int fail_range(ydoc *d, yaml_node_t *n, const char *key, double lo,
                      double hi, unsigned open)
{
    const char *text = ydoc_text(n);
    if (isinf(hi))
        return ydoc_fail(d, n, "'%s' must be %s %g, found %s", key,
                         open & YDOC_LO_OPEN ? ">" : ">=", lo, text);
    return ydoc_fail(d, n, "'%s' must be in %c%g, %g%c, found %s", key,
                     open & YDOC_LO_OPEN ? '(' : '[', lo, hi,
                     open & YDOC_HI_OPEN ? ')' : ']', text);
}

int ydoc_float(ydoc *d, yaml_node_t *n, const char *key, double lo, double hi,
               unsigned open, double *out)
{
    if (!kind_is(n, "integer") && !kind_is(n, "float"))
        return fail_type(d, n, "a number", key);
    const char *text = ydoc_text(n);
    if (is_nonfinite_text(text))
        return ydoc_fail(d, n, "'%s' must be a finite number, found %s", key,
                         text);
    errno = 0;
    double v = strtod(text, NULL);
    if (errno == ERANGE && isinf(v))
        return ydoc_fail(d, n, "number %.40s for '%s' is out of range", text,
                         key);
    bool below = (open & YDOC_LO_OPEN) ? !(v > lo) : !(v >= lo);
    bool above = (open & YDOC_HI_OPEN) ? !(v < hi) : !(v <= hi);
    if (below || above)
        return fail_range(d, n, key, lo, hi, open);
    *out = v;
    return 0;
}

int ydoc_bool(ydoc *d, yaml_node_t *n, const char *key, bool *out)
{
    if (!kind_is(n, "bool"))
        return fail_type(d, n, "bool (true or false)", key);
    *out = ydoc_text(n)[0] == 't' || ydoc_text(n)[0] == 'T';
    return 0;
}

int ydoc_string(ydoc *d, yaml_node_t *n, const char *key, const char **out)
{
    if (!kind_is(n, "string") || ydoc_text(n)[0] == '\0')
        return fail_type(d, n, "a non-empty string", key);
    if (strlen(ydoc_text(n)) != n->data.scalar.length)
        return ydoc_fail(d, n, "'%s' must not contain NUL characters", key);
    *out = ydoc_text(n);
    return 0;
}

int ydoc_choice(ydoc *d, yaml_node_t *n, const char *key,
                const char *const *names, int *out)
{
    const char *s;
    if (ydoc_string(d, n, key, &s) < 0)
        return -1;
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    strbuf sb;
    sb_init(&sb);
    join(&sb, names);
    int rc = ydoc_fail(d, n, "unknown %s '%.64s' (expected one of: %s)", key, s,
                       sb_str(&sb));
    sb_free(&sb);
    return rc;
}

int ydoc_ident(ydoc *d, yaml_node_t *n, const char *key,
               char out[QSDC_NAME_MAX])
{
    const char *s;
    if (ydoc_string(d, n, key, &s) < 0)
        return -1;
    size_t len = strlen(s);
    bool ok = len < QSDC_NAME_MAX && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; ok && i < len; i++) {
        char c = s[i];
        ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9');
    }
    if (!ok)
        return ydoc_fail(d, n,
                         "'%s' must be an identifier ([A-Za-z_][A-Za-z0-9_]*, "
                         "at most %d characters), found '%.64s'",
                         key, QSDC_NAME_MAX - 1, s);
    memcpy(out, s, len + 1);
    return 0;
}
