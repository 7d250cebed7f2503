/* A libyaml document with located, typed access: every read either returns
 * a checked value or fails with "path:line:col: error: ..." at the node.
 * Loading enforces the limits that make walking the tree safe: one document,
 * no anchors, aliases or tags (so the node graph is a tree), bounded nesting
 * depth and node count. */
#ifndef QSDC_YAML_DOC_H
#define QSDC_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "error.h"
#include "source.h"

#define YDOC_MAX_BYTES (16u << 20)
#define YDOC_MAX_DEPTH 32
#define YDOC_MAX_NODES 500000

typedef struct ydoc {
    yaml_document_t doc;
    const char *path; /* borrowed, for messages */
    qsdc_error *err;
} ydoc;

/* Parses text (len bytes) into d. Fails with a located error on invalid
 * YAML, an empty stream, more than one document, anchors, aliases, tags, or
 * the limits above. */
int ydoc_load(ydoc *d, const char *path, const char *text, size_t len,
              qsdc_error *err);
/* The same on the file at path, read whole up to YDOC_MAX_BYTES. */
int ydoc_load_file(ydoc *d, const char *path, qsdc_error *err);
void ydoc_free(ydoc *d);
yaml_node_t *ydoc_root(ydoc *d);
yaml_node_t *ydoc_node(ydoc *d, int id);

src_loc ydoc_loc(const yaml_node_t *n);
/* Fails at n's position. */
int ydoc_fail(const ydoc *d, const yaml_node_t *n, const char *fmt, ...)
    QSDC_PRINTF(3, 4);
/* What n holds, for "found ..." messages: "mapping", "list", "null",
 * "bool", "integer", "float" or "string". */
const char *ydoc_kind(const yaml_node_t *n);
/* Fails with "expected <expected>, found <what n holds>", the found part
 * quoting short scalars: "found integer 5", "found string 'abc'". */
int ydoc_fail_found(ydoc *d, yaml_node_t *n, const char *expected);
/* The scalar's text (NUL-terminated by libyaml), or NULL for collections. */
const char *ydoc_text(const yaml_node_t *n);

/* Checks that every key of mapping `map` is a string listed in allowed
 * (NULL-terminated) and occurs once. Errors read
 * "unknown <noun> 'k'<suffix> (expected one of: ...)". */
int ydoc_check_keys(ydoc *d, yaml_node_t *map, const char *const *allowed,
                    const char *noun, const char *suffix);
/* The value under key in a mapping whose keys were checked, or NULL. */
yaml_node_t *ydoc_get(ydoc *d, yaml_node_t *map, const char *key);
/* The key node itself, for messages about the key rather than its value. */
yaml_node_t *ydoc_key(ydoc *d, yaml_node_t *map, const char *key);

/* Typed reads of a value found under `key` (named in messages). */
int ydoc_expect(ydoc *d, yaml_node_t *n, const char *key,
                yaml_node_type_t type);
int ydoc_int(ydoc *d, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
             int64_t *out);

/* Bounds for ydoc_float: closed unless the matching open flag is set. */
enum { YDOC_LO_OPEN = 1, YDOC_HI_OPEN = 2 };
int ydoc_float(ydoc *d, yaml_node_t *n, const char *key, double lo, double hi,
               unsigned open, double *out);
int ydoc_bool(ydoc *d, yaml_node_t *n, const char *key, bool *out);
/* A non-empty string, not a number, bool or null. */
int ydoc_string(ydoc *d, yaml_node_t *n, const char *key, const char **out);
/* One of names (NULL-terminated); *out is its index. */
int ydoc_choice(ydoc *d, yaml_node_t *n, const char *key,
                const char *const *names, int *out);
/* An identifier [A-Za-z_][A-Za-z0-9_]* shorter than QSDC_NAME_MAX. */
int ydoc_ident(ydoc *d, yaml_node_t *n, const char *key,
               char out[QSDC_NAME_MAX]);

#endif
