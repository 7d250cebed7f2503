/* Writing a bundle as a whole: everything is rendered in memory first, then
 * written into a fresh sibling directory that is renamed into place, so a
 * crash leaves either the old bundle or the new one (or, in the instant
 * between the two renames, the old one under dir.old-XXXXXX). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "file_io.h"

/* a + sep + b, malloc'd. */
static char *join(const char *a, const char *sep, const char *b)
{
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, sep, b);
    return s;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      qsdc_error *err)
{
    char *path = join(dir, "/", name);
    if (!path)
        return qsdc_fail(err, "%s: out of memory", dir);
    int rc = fs_write_atomic(path, data, len, NULL, 0, err);
    free(path);
    return rc;
}

/* Makes the directory's entries (new names, renames) durable. */
static int sync_dir(const char *dir, qsdc_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return qsdc_fail(err, "%s: cannot open: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : qsdc_fail(err, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *child = join(path, "/", e->d_name);
        if (!child || remove_tree(child) != 0)
            rc = -1;
        free(child);
    }
    closedir(d);
    return rc == 0 ? rmdir(path) : -1;
}

/* dir may be replaced when it is absent, empty, or a bundle (has plan.yaml). */
static int check_replaceable(const char *dir, bool *exists, qsdc_error *err)
{
    struct stat st;
    *exists = false;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : qsdc_fail(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return qsdc_fail(err, "%s: exists and is not a directory; not replacing it", dir);
    *exists = true;
    char *yaml = join(dir, "/", "plan.yaml");
    if (!yaml)
        return qsdc_fail(err, "%s: out of memory", dir);
    bool bundle = access(yaml, F_OK) == 0;
    free(yaml);
    if (bundle)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return qsdc_fail(err, "%s: cannot open: %s", dir, strerror(errno));
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return qsdc_fail(err, "%s: exists and is not a qsdc bundle (no plan.yaml); "
                              "not replacing it", dir);
    return 0;
}

static int fill(const char *tmp, const plan *const *plans, int n_plans,
                const strbuf *yaml, const strbuf *dot, qsdc_error *err)
{
    if (chmod(tmp, 0755) != 0) /* mkdtemp's 0700 would hide the bundle */
        return qsdc_fail(err, "%s: chmod: %s", tmp, strerror(errno));
    for (int i = 0; i < n_plans; i++) {
        const plan *p = plans[i];
        if (write_file(tmp, bundle_source_name(p), p->source, strlen(p->source), err) < 0 ||
            (p->binary &&
             write_file(tmp, bundle_binary_name(p), p->binary, p->binary_len, err) < 0))
            return -1;
    }
    if (dot->len && write_file(tmp, "graph.dot", sb_str(dot), dot->len, err) < 0)
        return -1;
    /* plan.yaml last: a folder with plan.yaml is a complete bundle */
    if (write_file(tmp, "plan.yaml", sb_str(yaml), yaml->len, err) < 0)
        return -1;
    return sync_dir(tmp, err);
}

/* Moves tmp to dir, replacing dir when it exists. */
static int swap_in(const char *tmp, const char *dir, bool exists, const char *parent,
                   qsdc_error *err)
{
    char *old = exists ? join(dir, "", ".old-XXXXXX") : NULL;
    if (exists && (!old || !mkdtemp(old))) {
        qsdc_fail(err, "%s: cannot make a directory beside it: %s", dir,
                  old ? strerror(errno) : "out of memory");
        free(old);
        return -1;
    }
    int rc = 0;
    if (exists && rename(dir, old) != 0) {
        rc = qsdc_fail(err, "%s: cannot move the old bundle aside: %s", dir,
                       strerror(errno));
        rmdir(old);
    } else if (rename(tmp, dir) != 0) {
        rc = qsdc_fail(err, "%s: cannot rename %s into place: %s", dir, tmp,
                       strerror(errno));
        if (exists)
            rename(old, dir);
    } else if (sync_dir(parent, err) < 0) {
        rc = -1;
    } else if (exists && remove_tree(old) != 0) {
        rc = qsdc_fail(err, "%s: written, but the previous bundle (moved to %s) could "
                            "not be removed: %s", dir, old, strerror(errno));
    }
    free(old);
    return rc;
}

/* The folder dir is in: "." for a bare name, "/" at the root. */
static char *parent_of(const char *dir)
{
    char *p = strdup(dir); /* at least 2 bytes: dir is not empty */
    if (!p)
        return NULL;
    char *slash = strrchr(p, '/');
    if (!slash)
        strcpy(p, ".");
    else
        slash[slash == p] = '\0';
    return p;
}

static int write_dir(const char *dir, const plan *const *plans, int n_plans,
                     const strbuf *yaml, const strbuf *dot, qsdc_error *err)
{
    bool exists;
    if (check_replaceable(dir, &exists, err) < 0)
        return -1;
    char *parent = parent_of(dir), *tmp = join(dir, "", ".tmp-XXXXXX");
    int rc = 0;
    if (!parent || !tmp) {
        rc = qsdc_fail(err, "%s: out of memory", dir);
    } else if (fs_make_dirs(parent, err) < 0) {
        rc = -1;
    } else if (!mkdtemp(tmp)) {
        rc = qsdc_fail(err, "%s: cannot make a directory beside it: %s", dir,
                       strerror(errno));
    } else if (fill(tmp, plans, n_plans, yaml, dot, err) < 0 ||
               swap_in(tmp, dir, exists, parent, err) < 0) {
        rc = -1;
        remove_tree(tmp);
    }
    free(parent);
    free(tmp);
    return rc;
}

int bundle_write(const char *dir, const plan *const *plans, int n_plans,
                 const graph *g, const fusion *f, qsdc_error *err)
{
    for (int i = 0; i < n_plans; i++)
        if (!plans[i]->source)
            return qsdc_fail(err, "plan %d (%s) has no kernel source", i, plans[i]->name);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 0)
        return qsdc_fail(err, "empty output directory name");
    char *clean = strndup(dir, len);
    if (!clean)
        return qsdc_fail(err, "%s: out of memory", dir);
    strbuf yaml, dot;
    sb_init(&yaml);
    sb_init(&dot);
    if (g)
        graph_dot(g, f, &dot);
    int rc = plan_yaml_write(&yaml, plans, n_plans, err);
    if (rc == 0 && (sb_check(&yaml, err) < 0 || sb_check(&dot, err) < 0))
        rc = -1;
    if (rc == 0)
        rc = write_dir(clean, plans, n_plans, &yaml, &dot, err);
    sb_free(&yaml);
    sb_free(&dot);
    free(clean);
    return rc;
}
