/* Image folders: DIR/CLASS/IMAGE.png, the classes the training folder's
 * sub-folders in byte order of their names (ids from 0), a test folder's
 * classes looked up by name among them; images in byte order of their
 * names within each class. Names starting with a dot are skipped, as are
 * files beside the class folders; anything in a class folder that is not a
 * .png file is an error. */
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct name_list {
    char **names;
    int n;
} name_list;

static void names_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    return snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
           stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The entries of dir that are folders (dirs) or not (files), sorted. */
static int list(const char *dir, bool dirs, name_list *out, qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return qsdc_fail(err, "%s: cannot read the image folder: %s", dir, strerror(errno));
    int cap = 0, rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || is_dir(dir, e->d_name) != dirs)
            continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(out->names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = qsdc_fail(err, "%s: out of memory", dir);
                break;
            }
            out->names = grown;
        }
        if (!(out->names[out->n] = strdup(e->d_name)))
            rc = qsdc_fail(err, "%s: out of memory", dir);
        else
            out->n++;
    }
    closedir(d);
    if (rc < 0)
        names_free(out);
    else if (out->n)
        qsort(out->names, (size_t)out->n, sizeof *out->names, by_bytes);
    return rc;
}

static int class_of(const name_list *classes, const char *name)
{
    for (int i = 0; i < classes->n; i++)
        if (strcmp(classes->names[i], name) == 0)
            return i;
    return -1;
}

/* The images of dir/class, appended to *files with their label. */
static int add_class(const char *dir, const char *class_name, int32_t label,
                     name_list *files, int32_t **labels, qsdc_error *err)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", dir, class_name);
    name_list here;
    if (list(sub, false, &here, err) < 0)
        return -1;
    int rc = 0;
    char **grown = realloc(files->names, (size_t)(files->n + here.n + 1) * sizeof *grown);
    int32_t *grown_y = realloc(*labels, (size_t)(files->n + here.n + 1) * sizeof *grown_y);
    if (grown)
        files->names = grown;
    if (grown_y)
        *labels = grown_y;
    if (!grown || !grown_y)
        rc = qsdc_fail(err, "%s: out of memory", sub);
    for (int i = 0; rc == 0 && i < here.n; i++) {
        size_t n = strlen(here.names[i]);
        if (n < 4 || strcmp(here.names[i] + n - 4, ".png") != 0)
            rc = qsdc_fail(err, "%s/%s: not a .png file; a class folder holds PNG images "
                           "only", sub, here.names[i]);
        else if (!(files->names[files->n] = malloc(strlen(sub) + n + 2)))
            rc = qsdc_fail(err, "%s: out of memory", sub);
        else {
            sprintf(files->names[files->n], "%s/%s", sub, here.names[i]);
            (*labels)[files->n++] = label;
        }
    }
    names_free(&here);
    return rc;
}

/* Every image of dir with its class, by classes_dir's class folders. */
static int list_images(const char *dir, const char *classes_dir, name_list *files,
                       int32_t **labels, qsdc_error *err)
{
    name_list classes, present;
    if (list(classes_dir, true, &classes, err) < 0)
        return -1;
    int rc = classes.n ? 0 : qsdc_fail(err, "%s: no class folders: an image folder holds "
                                       "one sub-folder of images per class", classes_dir);
    if (rc == 0 && strcmp(dir, classes_dir) != 0)
        rc = list(dir, true, &present, err);
    else
        present = (name_list){0};
    for (int i = 0; rc == 0 && i < present.n; i++)
        if (class_of(&classes, present.names[i]) < 0)
            rc = qsdc_fail(err, "%s/%s: a class the training folder %s does not have", dir,
                           present.names[i], classes_dir);
    for (int i = 0; rc == 0 && i < classes.n; i++)
        if (is_dir(dir, classes.names[i]))
            rc = add_class(dir, classes.names[i], i, files, labels, err);
    if (rc == 0 && files->n == 0)
        rc = qsdc_fail(err, "%s: the class folders hold no images", dir);
    names_free(&classes);
    names_free(&present);
    return rc;
}

static int read_images(const name_list *files, const int64_t chw[3], dataset *d,
                       qsdc_error *err)
{
    int64_t elems = chw[0] * chw[1] * chw[2];
    for (int i = 0; i < files->n; i++) {
        unsigned char *b;
        size_t len;
        if (data_read_file(files->names[i], &b, &len, err) < 0)
            return -1;
        int rc = png_read_sample(files->names[i], b, len, chw, d->x + (int64_t)i * elems, err);
        free(b);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int images_load(const char *dir, const char *classes_dir, const int64_t *shape, int rank,
                dataset *out, qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t chw[3] = {1, shape[0], rank > 1 ? shape[1] : 0};
    if (rank == 3)
        memcpy(chw, shape, sizeof chw);
    if ((rank != 2 && rank != 3) || (chw[0] != 1 && chw[0] != 3)) {
        char want[64];
        dataset_format_shape(shape, rank, want, sizeof want);
        return qsdc_fail(err, "%s: image folders are for a model whose input is [C, H, W] "
                         "with 1 or 3 channels, or [H, W]; this one's is %s", dir, want);
    }
    name_list files = {0};
    int rc = list_images(dir, classes_dir, &files, &out->y, err);
    int64_t elems = chw[0] * chw[1] * chw[2];
    char what[64];
    snprintf(what, sizeof what, "%d images of %" PRId64 " floats", files.n, elems);
    if (rc == 0)
        rc = data_check_size(dir, (uint64_t)files.n, (uint64_t)elems * sizeof(float), what,
                             err);
    if (rc == 0 && !(out->x = malloc((size_t)files.n * (size_t)elems * sizeof *out->x)))
        rc = qsdc_fail(err, "%s: out of memory for %s", dir, what);
    if (rc == 0)
        rc = read_images(&files, chw, out, err);
    if (rc == 0) {
        out->count = files.n;
        out->rank = 3;
        memcpy(out->dims, chw, 3 * sizeof *chw);
        out->sample_elems = elems;
        for (int i = 0; i < files.n; i++)
            out->n_classes = out->y[i] >= out->n_classes ? out->y[i] + 1 : out->n_classes;
    } else {
        dataset_free(out);
    }
    names_free(&files);
    return rc;
}
