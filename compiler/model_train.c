/* The train: section of a model file. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_parse.h"

void train_config_defaults(train_config *t)
{
    memset(t, 0, sizeof *t);
    t->batch = 128;
    t->epochs = 10;
    t->seed = 1;
    t->loss = LOSS_XENT;
    t->optimizer = OPTIM_SGD;
    t->lr = 0.1;
    t->momentum = 0.9;
    t->beta1 = 0.9;
    t->beta2 = 0.999;
    t->eps = 1e-8;
    t->schedule = SCHED_CONSTANT;
    t->step_gamma = 0.1;
    t->vocab = 10000;
    t->text_split[0] = 0.9;
    t->text_split[1] = 0.05;
    t->test_split = 0.2;
    snprintf(t->label_column, sizeof t->label_column, "label");
}

const char *const sched_kind_names[] = {
    [SCHED_CONSTANT] = "constant", [SCHED_STEP] = "step", [SCHED_COSINE] = "cosine", NULL,
};

lr_schedule train_schedule(const train_config *t)
{
    return (lr_schedule){.kind = t->schedule, .lr = t->lr, .warmup_epochs = t->warmup_epochs,
                         .step_epochs = t->step_epochs, .step_gamma = t->step_gamma,
                         .min_lr = t->min_lr, .epochs = t->epochs};
}

int64_t lr_schedule_step_epochs(const lr_schedule *s)
{
    if (s->step_epochs > 0)
        return s->step_epochs;
    return s->epochs > 3 ? (s->epochs + 2) / 3 : 1;
}

/* The numeric keys of train:, its optimizer: and its schedule:. */
typedef struct num_field {
    const char *key;
    size_t offset; /* of an int64_t when integer, else of a double */
    bool integer;
    double lo, hi;
    unsigned open; /* YDOC_LO_OPEN, YDOC_HI_OPEN */
} num_field;

#define F(key, member, integer, lo, hi, open) \
    {key, offsetof(train_config, member), integer, lo, hi, open}
static const num_field num_fields[] = {
    F("batch", batch, true, 1, INT32_MAX, 0),
    F("epochs", epochs, true, 1, INT32_MAX, 0),
    F("val_split", val_split, false, 0, 1, YDOC_HI_OPEN),
    F("clip_norm", clip_norm, false, 0, INFINITY, 0),
    /* float32 on the device: a normal, finite value */
    F("lr", lr, false, FLT_MIN, FLT_MAX, 0),
    F("momentum", momentum, false, 0, 1, YDOC_HI_OPEN),
    F("beta1", beta1, false, 0, 1, YDOC_HI_OPEN),
    F("beta2", beta2, false, 0, 1, YDOC_HI_OPEN),
    F("eps", eps, false, 0, INFINITY, YDOC_LO_OPEN),
    F("weight_decay", weight_decay, false, 0, INFINITY, 0),
    F("warmup_epochs", warmup_epochs, false, 0, INFINITY, 0),
    F("step_epochs", step_epochs, true, 1, INT32_MAX, 0),
    F("gamma", step_gamma, false, 0, 1, YDOC_LO_OPEN),
    F("min_lr", min_lr, false, 0, INFINITY, 0),
};
#undef F

/* Returns 0 when key is a numeric field and was read, 1 when it is not one
 * of them, -1 on error. */
static int read_num(ydoc *d, yaml_node_t *v, const char *key, train_config *t)
{
    for (size_t i = 0; i < sizeof num_fields / sizeof num_fields[0]; i++) {
        const num_field *f = &num_fields[i];
        if (strcmp(f->key, key) != 0)
            continue;
        char *at = (char *)t + f->offset;
        if (f->integer)
            return ydoc_int(d, v, key, (int64_t)f->lo, (int64_t)f->hi,
                            (int64_t *)at);
        return ydoc_float(d, v, key, f->lo, f->hi, f->open, (double *)at);
    }
    return 1;
}

/* Reads every numeric key of mapping n; the others are the caller's. */
static int read_nums(ydoc *d, yaml_node_t *n, train_config *t)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++)
        if (read_num(d, ydoc_node(d, p->value), ydoc_text(ydoc_node(d, p->key)),
                     t) < 0)
            return -1;
    return 0;
}

/* A scalar `type` or a mapping with an optional type: key (default
 * index 0) and the keys allowed[type] (NULL-terminated lists). */
static int read_typed(ydoc *d, yaml_node_t *n, const char *what,
                      const char *const *types,
                      const char *const *const *allowed, int *type)
{
    if (n->type == YAML_SCALAR_NODE)
        return ydoc_choice(d, n, what, types, type);
    char key[32], suffix[96];
    if (n->type != YAML_MAPPING_NODE) {
        snprintf(suffix, sizeof suffix, "a name or a mapping for '%s'", what);
        return ydoc_fail_found(d, n, suffix);
    }
    snprintf(key, sizeof key, "%s type", what);
    yaml_node_t *v = ydoc_get(d, n, "type");
    *type = 0;
    if (v && ydoc_choice(d, v, key, types, type) < 0)
        return -1;
    snprintf(suffix, sizeof suffix, " for %s '%s'", what, types[*type]);
    return ydoc_check_keys(d, n, allowed[*type], "key", suffix);
}

static int parse_optimizer(ydoc *d, yaml_node_t *n, train_config *t)
{
    static const char *const types[] = {"sgd", "adam", "adamw", NULL};
    static const char *const sgd[] = {"type",     "lr",           "momentum",
                                      "nesterov", "weight_decay", NULL};
    static const char *const adam[] = {"type", "beta1",        "beta2", "eps",
                                       "lr",   "weight_decay", NULL};
    static const char *const *const allowed[] = {sgd, adam, adam};
    int type;
    if (read_typed(d, n, "optimizer", types, allowed, &type) < 0)
        return -1;
    t->optimizer = (optim_kind)type;
    t->lr = t->optimizer == OPTIM_SGD ? 0.1 : 1e-3;
    if (n->type == YAML_SCALAR_NODE)
        return 0;
    if (read_nums(d, n, t) < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, "nesterov");
    if (v && ydoc_bool(d, v, "nesterov", &t->nesterov) < 0)
        return -1;
    if (t->nesterov && t->momentum == 0)
        return ydoc_fail(d, v, "'nesterov' needs 'momentum' > 0");
    return 0;
}

static int parse_schedule(ydoc *d, yaml_node_t *n, train_config *t)
{
    static const char *const constant[] = {"type", "warmup_epochs", NULL};
    static const char *const step[] = {"type", "warmup_epochs", "step_epochs",
                                       "gamma", NULL};
    static const char *const cosine[] = {"type", "warmup_epochs", "min_lr",
                                         NULL};
    static const char *const *const allowed[] = {constant, step, cosine};
    int type;
    if (read_typed(d, n, "schedule", sched_kind_names, allowed, &type) < 0)
        return -1;
    t->schedule = (sched_kind)type;
    return n->type == YAML_MAPPING_NODE ? read_nums(d, n, t) : 0;
}

/* The data cache scripts/fetch-data fills: $QSDC_DATA_DIR, else
 * $XDG_CACHE_HOME/qsdc/data, else $HOME/.cache/qsdc/data. */
static int data_cache_dir(char *out, size_t n)
{
    const char *dir = getenv("QSDC_DATA_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (dir && dir[0])
        return snprintf(out, n, "%s/", dir);
    if (xdg && xdg[0])
        return snprintf(out, n, "%s/qsdc/data/", xdg);
    return snprintf(out, n, "%s/.cache/qsdc/data/", home ? home : "");
}

/* Relative paths resolve against the model file's folder, and @data/NAME
 * to NAME in the data cache. */
static int resolve_path(ydoc *d, yaml_node_t *n, const char *key,
                        const char *model_path, char out[QSDC_PATH_MAX])
{
    const char *s;
    if (ydoc_string(d, n, key, &s) < 0)
        return -1;
    char dir[QSDC_PATH_MAX];
    const char *slash = strrchr(model_path, '/');
    int dir_len = s[0] == '/' || !slash ? 0 : (int)(slash - model_path + 1);
    snprintf(dir, sizeof dir, "%.*s", dir_len, model_path);
    if (strncmp(s, "@data/", 6) == 0) {
        data_cache_dir(dir, sizeof dir);
        s += 6;
    }
    int len = snprintf(out, QSDC_PATH_MAX, "%s%s", dir, s);
    if (len < 0 || len >= QSDC_PATH_MAX)
        return ydoc_fail(d, n, "path for '%s' is too long (limit %d bytes)",
                         key, QSDC_PATH_MAX - 1);
    return 0;
}

static void set_fashion_mnist(train_config *t)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    snprintf(t->train_images, QSDC_PATH_MAX, "%s/train-images-idx3-ubyte.gz",
             dir);
    snprintf(t->train_labels, QSDC_PATH_MAX, "%s/train-labels-idx1-ubyte.gz",
             dir);
    snprintf(t->test_images, QSDC_PATH_MAX, "%s/t10k-images-idx3-ubyte.gz",
             dir);
    snprintf(t->test_labels, QSDC_PATH_MAX, "%s/t10k-labels-idx1-ubyte.gz",
             dir);
}

/* format: cifar10, train: a path or a list of paths (required), test: a
 * path. */
static int parse_cifar(ydoc *d, yaml_node_t *n, const char *model_path,
                       train_config *t)
{
    static const char *const keys[] = {"format", "train", "test", NULL};
    if (ydoc_check_keys(d, n, keys, "key", " in 'data' (format cifar10)") < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, "train");
    if (!v)
        return ydoc_fail(d, n, "missing required key 'train' in 'data'");
    yaml_node_item_t *items = NULL;
    long count = 1;
    if (v->type == YAML_SEQUENCE_NODE) {
        items = v->data.sequence.items.start;
        count = (long)(v->data.sequence.items.top - items);
        if (count < 1 || count > QSDC_MAX_DATA_FILES)
            return ydoc_fail(d, v, "'train' lists %ld files; give 1 to %d", count,
                             QSDC_MAX_DATA_FILES);
    }
    for (int i = 0; i < count; i++)
        if (resolve_path(d, items ? ydoc_node(d, items[i]) : v, "train", model_path,
                         t->train_files[i]) < 0)
            return -1;
    t->n_train_files = (int)count;
    v = ydoc_get(d, n, "test");
    return v ? resolve_path(d, v, "test", model_path, t->test_file) : 0;
}

/* format: text, corpus: PATH, level: word | char, vocab: N, split: [TRAIN,
 * VALID]; format: sentiment, csv: PATH, vocab: N, test_split: F, keep: first | last */
static int parse_text(ydoc *d, yaml_node_t *n, const char *model_path,
                      train_config *t)
{
    static const char *const text_keys[] = {"format", "corpus", "level", "vocab",
                                            "split", NULL};
    static const char *const csv_keys[] = {"format", "csv", "vocab", "test_split", "keep",
                                           NULL};
    static const char *const levels[] = {"word", "char", NULL};
    static const char *const keeps[] = {"first", "last", NULL};
    bool lm = t->format == DATA_TEXT;
    const char *path_key = lm ? "corpus" : "csv";
    if (ydoc_check_keys(d, n, lm ? text_keys : csv_keys, "key",
                        lm ? " in 'data' (format text)" : " in 'data' (format sentiment)") < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, path_key);
    if (!v)
        return ydoc_fail(d, n, "missing required key '%s' in 'data'", path_key);
    if (resolve_path(d, v, path_key, model_path, t->text_path) < 0)
        return -1;
    int level;
    if ((v = ydoc_get(d, n, "level"))) {
        if (ydoc_choice(d, v, "level", levels, &level) < 0)
            return -1;
        t->text_chars = level == 1;
    }
    if ((v = ydoc_get(d, n, "vocab")) && ydoc_int(d, v, "vocab", 1, 1 << 24, &t->vocab) < 0)
        return -1;
    if ((v = ydoc_get(d, n, "test_split")) &&
        ydoc_float(d, v, "test_split", 0, 1, YDOC_LO_OPEN | YDOC_HI_OPEN, &t->test_split) < 0)
        return -1;
    int keep;
    if ((v = ydoc_get(d, n, "keep"))) {
        if (ydoc_choice(d, v, "keep", keeps, &keep) < 0)
            return -1;
        t->keep_last = keep == 1;
    }
    if (!(v = ydoc_get(d, n, "split")))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top -
                                         v->data.sequence.items.start != 2)
        return ydoc_fail_found(d, v, "[training, validation] fractions for 'split'");
    for (int i = 0; i < 2; i++)
        if (ydoc_float(d, ydoc_node(d, v->data.sequence.items.start[i]), "split", 0, 1,
                       i == 0 ? YDOC_LO_OPEN : 0, &t->text_split[i]) < 0)
            return -1;
    if (t->text_split[0] + t->text_split[1] > 1)
        return ydoc_fail(d, v, "'split' fractions sum to %g, more than 1",
                         t->text_split[0] + t->text_split[1]);
    return 0;
}

/* layout: nchw | nhwc, for formats whose samples have a shape. */
static int parse_layout(ydoc *d, yaml_node_t *n, train_config *t)
{
    static const char *const layouts[] = {"nchw", "nhwc", NULL};
    yaml_node_t *v = ydoc_get(d, n, "layout");
    int layout;
    if (!v)
        return 0;
    if (ydoc_choice(d, v, "layout", layouts, &layout) < 0)
        return -1;
    t->layout = layout == 0 ? LAYOUT_NCHW : LAYOUT_NHWC;
    return 0;
}

/* Formats whose one path holds samples and labels: format: csv, train:
 * PATH, test: PATH, label: COLUMN, standardize: BOOL; format: npz, train:
 * PATH, test: PATH, layout: nchw | nhwc; format: images, train: DIR, test:
 * DIR. */
static int parse_joint(ydoc *d, yaml_node_t *n, const char *model_path, train_config *t)
{
    static const char *const csv_keys[] = {"format", "train", "test", "label",
                                           "standardize", NULL};
    static const char *const npz_keys[] = {"format", "train", "test", "layout", NULL};
    static const char *const image_keys[] = {"format", "train", "test", NULL};
    bool csv = t->format == DATA_TABLE, npz = t->format == DATA_NPZ;
    if (ydoc_check_keys(d, n, csv ? csv_keys : npz ? npz_keys : image_keys, "key",
                        csv ? " in 'data' (format csv)" : npz ? " in 'data' (format npz)"
                                                             : " in 'data' (format images)") < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, "train");
    if (!v)
        return ydoc_fail(d, n, "missing required key 'train' in 'data'");
    if (resolve_path(d, v, "train", model_path, t->train_images) < 0)
        return -1;
    if ((v = ydoc_get(d, n, "test")) && resolve_path(d, v, "test", model_path,
                                                     t->test_images) < 0)
        return -1;
    if (!csv)
        return parse_layout(d, n, t);
    if ((v = ydoc_get(d, n, "standardize")) && ydoc_bool(d, v, "standardize",
                                                         &t->standardize) < 0)
        return -1;
    const char *label;
    if (!(v = ydoc_get(d, n, "label")))
        return 0;
    if (ydoc_string(d, v, "label", &label) < 0)
        return -1;
    if (!label[0] || strlen(label) >= sizeof t->label_column || strchr(label, ','))
        return ydoc_fail(d, v, "'label' must name a column: 1 to %zu bytes, no comma",
                         sizeof t->label_column - 1);
    snprintf(t->label_column, sizeof t->label_column, "%s", label);
    return 0;
}

/* data: fashion-mnist, or a mapping of IDX or .npy paths (format: idx, the
 * default, or npy), CIFAR-10 files, a numeric CSV, .npz archives, image
 * folders or text. The training
 * pair is required, the test pair optional but all or nothing. */
static int parse_data(ydoc *d, yaml_node_t *n, const char *model_path,
                      train_config *t)
{
    static const char *const sets[] = {"fashion-mnist", NULL};
    static const char *const formats[] = {"idx", "cifar10", "text", "sentiment", "npy", "csv",
                                          "npz", "images", NULL};
    static const char *const keys[] = {"train_images", "train_labels", "test_images",
                                       "test_labels", "format", "layout", NULL};
    t->data_loc = ydoc_loc(n);
    if (n->type == YAML_SCALAR_NODE) {
        int unused;
        if (ydoc_choice(d, n, "dataset", sets, &unused) < 0)
            return -1;
        set_fashion_mnist(t);
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return ydoc_fail_found(d, n,
                               "a dataset name or a mapping of paths "
                               "for 'data'");
    yaml_node_t *fmt = ydoc_get(d, n, "format");
    int format = 0;
    if (fmt && ydoc_choice(d, fmt, "format", formats, &format) < 0)
        return -1;
    t->format = (data_format)format;
    if (t->format == DATA_CIFAR10)
        return parse_cifar(d, n, model_path, t);
    if (t->format == DATA_TEXT || t->format == DATA_SENTIMENT)
        return parse_text(d, n, model_path, t);
    if (t->format == DATA_TABLE || t->format == DATA_NPZ || t->format == DATA_IMAGES)
        return parse_joint(d, n, model_path, t);
    if (ydoc_check_keys(d, n, keys, "key", " in 'data'") < 0 || parse_layout(d, n, t) < 0)
        return -1;
    char *dest[] = {t->train_images, t->train_labels, t->test_images,
                    t->test_labels};
    for (int i = 0; i < 4; i++) {
        yaml_node_t *v = ydoc_get(d, n, keys[i]);
        if (v && resolve_path(d, v, keys[i], model_path, dest[i]) < 0)
            return -1;
        if (!v && i < 2)
            return ydoc_fail(d, n, "missing required key '%s' in 'data'",
                             keys[i]);
    }
    if (!t->test_images[0] != !t->test_labels[0])
        return ydoc_fail(d, n,
                         "'test_images' and 'test_labels' go together: "
                         "give both or neither");
    return 0;
}

/* augment: {crop_pad: N, flip: BOOL} */
static int parse_augment(ydoc *d, yaml_node_t *n, train_config *t)
{
    static const char *const keys[] = {"crop_pad", "flip", NULL};
    t->augment_loc = ydoc_loc(n);
    if (ydoc_expect(d, n, "augment", YAML_MAPPING_NODE) < 0 ||
        ydoc_check_keys(d, n, keys, "key", " in 'augment'") < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, "crop_pad");
    if (v && ydoc_int(d, v, "crop_pad", 0, 1024, &t->crop_pad) < 0)
        return -1;
    v = ydoc_get(d, n, "flip");
    return v ? ydoc_bool(d, v, "flip", &t->flip) : 0;
}

int model_parse_train(ydoc *d, yaml_node_t *n, const char *model_path,
                      train_config *t)
{
    static const char *const keys[] = {
        "data", "batch",     "epochs",    "seed",     "val_split",
        "loss", "optimizer", "clip_norm", "schedule", "augment", NULL};
    static const char *const losses[] = {"xent", "mse", NULL};
    if (ydoc_expect(d, n, "train", YAML_MAPPING_NODE) < 0 ||
        ydoc_check_keys(d, n, keys, "key", " in 'train'") < 0 ||
        read_nums(d, n, t) < 0)
        return -1;
    yaml_node_t *v;
    int choice;
    int64_t seed;
    if ((v = ydoc_get(d, n, "seed"))) {
        if (ydoc_int(d, v, "seed", 0, INT64_MAX, &seed) < 0)
            return -1;
        t->seed = (uint64_t)seed;
    }
    if ((v = ydoc_get(d, n, "loss"))) {
        if (ydoc_choice(d, v, "loss", losses, &choice) < 0)
            return -1;
        t->loss = (loss_kind)choice;
    }
    if ((v = ydoc_get(d, n, "data")) && parse_data(d, v, model_path, t) < 0)
        return -1;
    if ((v = ydoc_get(d, n, "optimizer")) && parse_optimizer(d, v, t) < 0)
        return -1;
    if ((v = ydoc_get(d, n, "schedule")) && parse_schedule(d, v, t) < 0)
        return -1;
    if ((v = ydoc_get(d, n, "augment")) && parse_augment(d, v, t) < 0)
        return -1;
    return 0;
}
