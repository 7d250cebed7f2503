/* .npz data sets: numpy's zip of .npy arrays (npz_read.h), the samples
 * array and the labels array each parsed as a .npy file. */
#include "data.h"

#include <stdio.h>

#include "npz_read.h"

/* The member named first, else second; NULL when there is neither. */
static npz_entry *member(npz_file *f, const char *first, const char *second)
{
    npz_entry *e = npz_find(f, first);
    return e ? e : npz_find(f, second);
}

int npz_load(const char *path, bool need_labels, dataset *out, qsdc_error *err)
{
    npz_file f;
    if (npz_open(path, &f, err) < 0)
        return -1;
    npz_entry *x = member(&f, "x", "arr_0"), *y = member(&f, "y", "arr_1");
    if (!x) {
        npz_close(&f);
        return qsdc_fail(err, "%s: the archive holds no samples: no array x (x.npy) or arr_0",
                         path);
    }
    char x_name[1200], y_name[1200];
    snprintf(x_name, sizeof x_name, "%s:%s.npy", path, x->name);
    int rc = data_check_size(x_name, x->len, 1, "bytes", err);
    if (rc == 0 && !y && need_labels)
        rc = qsdc_fail(err, "%s: the archive holds no labels: no array y (y.npy) or arr_1",
                       path);
    if (rc == 0 && y) {
        snprintf(y_name, sizeof y_name, "%s:%s.npy", path, y->name);
        rc = data_check_size(y_name, y->len, 1, "bytes", err);
    }
    if (rc == 0)
        rc = npy_load_bytes(x_name, x->data, x->len, y ? y_name : NULL, y ? y->data : NULL,
                            y ? y->len : 0, out, err);
    npz_close(&f);
    return rc;
}
