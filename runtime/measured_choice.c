#include "measured_choice.h"

#include <stdlib.h>
#include <string.h>

#include "cl_program_cache.h"
#include "clock.h"
#include "file_io.h"

/* The longest cache line read: a longer one is none. */
#define CACHE_LINE_CAP 1024

/* A selector's cache as its lines, each an entry as the selector formats
 * it: a line's key is the shape's. */
typedef struct cache_lines {
    char **line;
    int n;
} cache_lines;

/* entry's cache line (malloc'd); NULL when out of memory. */
static char *line_of(const measured_choice *c, const void *entry)
{
    strbuf sb;
    sb_init(&sb);
    c->format(&sb, entry);
    if (!sb.oom)
        return sb.data;
    sb_free(&sb);
    return NULL;
}

/* The index of the line whose key is line's first key bytes, or -1. */
static int find(const cache_lines *cache, int key_fields, const char *line, size_t key)
{
    for (int j = 0; j < cache->n; j++) {
        const char *l = cache->line[j];
        if (cl_cache_key_length(l, strlen(l), key_fields) == key && !memcmp(l, line, key))
            return j;
    }
    return -1;
}

/* line put in place of cache line j, or added when j < 0; false when out of
 * memory (line is then freed). */
static bool put(cache_lines *cache, int j, char *line)
{
    if (j >= 0) {
        free(cache->line[j]);
        cache->line[j] = line;
        return true;
    }
    char **grown = realloc(cache->line, (size_t)(cache->n + 1) * sizeof *grown);
    if (!grown) {
        free(line);
        return false;
    }
    cache->line = grown;
    cache->line[cache->n++] = line;
    return true;
}

/* The cache file's lines that c parses, each as c formats it (entry: room
 * for one). */
static void load(const char *path, const measured_choice *c, void *entry, cache_lines *cache)
{
    FILE *f = path[0] ? fs_fopen_regular(path, NULL, NULL) : NULL;
    if (!f)
        return;
    char text[CACHE_LINE_CAP];
    while (fgets(text, sizeof text, f)) {
        memset(entry, 0, c->size);
        if (!c->parse(text, entry))
            continue;
        char *line = line_of(c, entry);
        if (!line || !put(cache, -1, line))
            break;
    }
    fclose(f);
}

static void save(const char *path, const measured_choice *c, const cache_lines *cache)
{
    if (!path[0])
        return;
    strbuf sb;
    sb_init(&sb);
    for (int j = 0; j < cache->n; j++)
        sb_append(&sb, cache->line[j]);
    if (!sb.oom)
        cl_cache_merge_lines(path, sb_str(&sb), c->key_fields);
    sb_free(&sb);
}

/* A selection under way: c's, over its cache file's lines. */
typedef struct selection {
    const measured_choice *c;
    cl_env *env;
    const void *sel;
    bool remeasure;
    cache_lines cache;
    int n_measured;
} selection;

/* Whether env measured the shape of id, its "NAME KEY\n" line, since it
 * was opened. */
static bool measured_on(const cl_env *env, const char *id)
{
    size_t len = strlen(id);
    for (const char *p = sb_str(&env->measured); *p; p = strchr(p, '\n') + 1)
        if (!strncmp(p, id, len))
            return true;
    return false;
}

/* entry, whose key is set, completed from the cache, or measured into it
 * where the cache has no line of its key or, with remeasure, where env has
 * not measured it yet. */
static int complete(selection *s, void *entry, qsdc_error *err)
{
    const measured_choice *c = s->c;
    char *line = line_of(c, entry);
    if (!line)
        return qsdc_fail(err, "out of memory");
    size_t key = cl_cache_key_length(line, strlen(line), c->key_fields);
    char id[CACHE_LINE_CAP];
    snprintf(id, sizeof id, "%s %.*s\n", c->name, (int)key, line);
    int j = find(&s->cache, c->key_fields, line, key);
    free(line);
    if (j >= 0 && (!s->remeasure || measured_on(s->env, id))) {
        /* a line load or a measurement formatted */
        (void)c->parse(s->cache.line[j], entry);
        return 0;
    }
    if (s->n_measured == 0)
        fprintf(stderr, "qsdc: measuring %s for this device (once per %s; the results are "
                        "cached) ...\n", c->what, c->per);
    double t0 = now_seconds();
    int rc = c->measure(s->env, s->sel, entry, err);
    s->env->measure_s += now_seconds() - t0;
    if (rc < 0)
        return -1;
    sb_append(&s->env->measured, id);
    line = line_of(c, entry);
    if (!line || !put(&s->cache, j, line))
        return qsdc_fail(err, "out of memory");
    s->n_measured++;
    return 0;
}

int choose_by_measuring(cl_env *env, const measured_choice *c, void *sel, int n,
                        bool remeasure, FILE *report, qsdc_error *err)
{
    void *entry = malloc(c->size);
    if (!entry)
        return qsdc_fail(err, "out of memory");
    selection s = {.c = c, .env = env, .sel = sel, .remeasure = remeasure};
    char path[1024];
    int rc = 0;
    cl_cache_device_file(env, c->name, "txt", path, sizeof path);
    load(path, c, entry, &s.cache);
    for (int i = 0; i < n && rc == 0; i++) {
        memset(entry, 0, c->size);
        c->key(sel, i, entry);
        rc = complete(&s, entry, err);
        if (rc == 0)
            c->choose(sel, i, entry);
        if (rc == 0 && report)
            c->report(report, sel, i, entry);
    }
    if (s.n_measured > 0)
        save(path, c, &s.cache);
    for (int j = 0; j < s.cache.n; j++)
        free(s.cache.line[j]);
    free(s.cache.line);
    free(entry);
    return rc;
}

bool measure_forced(const char *var, const char *no, const char *yes, bool *yes_for, int n)
{
    const char *force = getenv(var);
    if (!force || (strcmp(force, no) != 0 && strcmp(force, yes) != 0))
        return false;
    for (int i = 0; i < n; i++)
        yes_for[i] = !strcmp(force, yes);
    return true;
}
