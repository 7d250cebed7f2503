/* The YAML front end: valid models read back field by field, and
 * robustness against truncated and corrupted input. (Errors are in
 * test_model_errors.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "compile.h"
#include "model.h"
#include "support.h"

static int load(const char *text, model *m, qsdc_error *err)
{
    return model_load_string("<string>", text, strlen(text), m, err);
}

static void load_ok(const char *text, model *m)
{
    qsdc_error err = {{0}};
    if (load(text, m, &err) != 0)
        fail_msg("unexpected error: %s", err.message);
}

static const layer *find(const model *m, const char *name)
{
    int i = model_find(m, name);
    assert_true(i >= 0);
    return &m->layers[i];
}

/* ---- valid models ---------------------------------------------------- */

static const char mlp[] =
    "name: mlp\n"                                             /* 1 */
    "input: {shape: [1, 28, 28], dtype: float32}\n"           /* 2 */
    "layers:\n"                                               /* 3 */
    "  - flatten\n"                                           /* 4 */
    "  - {op: dense, units: 1024, bias: false, init: glorot}\n" /* 5 */
    "  - relu\n"                                              /* 6 */
    "  - {op: qsd, p: 0.25, sites: 4, q_cv: 0.5, p_concentration: 4,"
    " share: channel}\n"                                      /* 7 */
    "  - {op: dropout, p: 0.5, share: time}\n"                /* 8 */
    "  - {op: dense, units: 10, name: logits}\n"              /* 9 */
    "  - tanh\n"                                              /* 10 */
    "  - sigmoid\n"                                           /* 11 */
    "  - softmax\n"                                           /* 12 */
    "output: logits\n";                                       /* 13 */

static void test_layers_form(void **state)
{
    (void)state;
    model m;
    load_ok(mlp, &m);
    assert_string_equal(m.path, "<string>");
    assert_string_equal(m.name, "mlp");
    assert_int_equal(m.input_rank, 3);
    assert_int_equal(m.input_shape[0], 1);
    assert_int_equal(m.input_shape[1], 28);
    assert_int_equal(m.input_shape[2], 28);
    assert_int_equal(m.input_loc.line, 2);
    assert_int_equal(m.input_loc.col, 8);
    assert_int_equal(m.n_layers, 9);
    assert_string_equal(m.output, "logits");
    assert_false(m.has_train);

    static const char *const names[] = {"flatten0", "dense1", "relu2", "qsd3",
                                        "dropout4", "logits", "tanh6",
                                        "sigmoid7", "softmax8"};
    static const layer_kind kinds[] = {
        LAYER_FLATTEN, LAYER_DENSE,  LAYER_RELU,    LAYER_QSD,    LAYER_DROPOUT,
        LAYER_DENSE,   LAYER_TANH,   LAYER_SIGMOID, LAYER_SOFTMAX};
    for (int i = 0; i < 9; i++) {
        const layer *l = &m.layers[i];
        assert_string_equal(l->name, names[i]);
        assert_int_equal(l->kind, kinds[i]);
        assert_int_equal(l->loc.line, 4 + i);
        assert_int_equal(l->loc.col, 5);
        assert_int_equal(l->n_inputs, 1);
        assert_string_equal(l->inputs[0], i ? names[i - 1] : "input");
        assert_int_equal(l->input_loc[0].line, 0); /* implicit */
        assert_int_equal(model_find(&m, names[i]), i);
    }
    assert_int_equal(model_find(&m, "nope"), -1);

    const layer *d = &m.layers[1];
    assert_int_equal(d->units, 1024);
    assert_false(d->bias);
    assert_int_equal(d->init, INIT_GLOROT);
    const layer *q = &m.layers[3];
    assert_true(q->qsd.p == 0.25);
    assert_int_equal(q->qsd.sites, 4);
    assert_true(q->qsd.q_cv == 0.5);
    assert_true(q->qsd.p_concentration == 4);
    assert_int_equal(q->qsd.share, SHARE_CHANNEL);
    const layer *dr = &m.layers[4];
    assert_true(dr->qsd.p == 0.5);
    assert_int_equal(dr->qsd.sites, 1);
    assert_true(dr->qsd.q_cv == 0);
    assert_true(dr->qsd.p_concentration == 0);
    assert_int_equal(dr->qsd.share, SHARE_TIME);
    const layer *logits = &m.layers[5];
    assert_int_equal(logits->units, 10);
    assert_true(logits->bias);
    assert_int_equal(logits->init, INIT_AUTO);
    model_free(&m);
    assert_null(m.layers);
}

static const char dag[] =
    "name: res\n"                                                      /* 1 */
    "input: {shape: [8]}\n"                                            /* 2 */
    "nodes:\n"                                                         /* 3 */
    "  - {name: out, op: dense, inputs: sum, units: 3, init: normal}\n" /* 4 */
    "  - {name: fc1, op: dense, inputs: input, units: 8, init: he}\n"  /* 5 */
    "  - {name: r1, op: relu, inputs: [fc1]}\n"                        /* 6 */
    "  - name: fc2\n"                                                  /* 7 */
    "    op: dense\n"                                                  /* 8 */
    "    inputs: r1\n"                                                 /* 9 */
    "    units: 8\n"                                                   /* 10 */
    "    init: zeros\n"                                                /* 11 */
    "  - {name: sum, op: add, inputs: [fc2, input]}\n";                /* 12 */

static void test_nodes_form(void **state)
{
    (void)state;
    model m;
    load_ok(dag, &m);
    assert_int_equal(m.n_layers, 5);
    assert_int_equal(m.input_rank, 1);
    assert_int_equal(m.input_shape[0], 8);
    assert_string_equal(m.output, "sum"); /* the last in the file */
    const layer *fc2 = find(&m, "fc2");
    assert_int_equal(fc2->kind, LAYER_DENSE);
    assert_int_equal(fc2->loc.line, 7);
    assert_int_equal(fc2->loc.col, 5);
    assert_int_equal(fc2->init, INIT_ZEROS);
    assert_string_equal(fc2->inputs[0], "r1");
    assert_int_equal(fc2->input_loc[0].line, 9);
    assert_int_equal(fc2->input_loc[0].col, 13);
    assert_int_equal(find(&m, "fc1")->init, INIT_HE);
    assert_int_equal(find(&m, "out")->init, INIT_NORMAL);
    const layer *r1 = find(&m, "r1");
    assert_int_equal(r1->n_inputs, 1);
    assert_string_equal(r1->inputs[0], "fc1");
    assert_int_equal(r1->input_loc[0].col, 35);
    const layer *sum = find(&m, "sum");
    assert_int_equal(sum->kind, LAYER_ADD);
    assert_int_equal(sum->n_inputs, 2);
    assert_string_equal(sum->inputs[0], "fc2");
    assert_string_equal(sum->inputs[1], "input");
    assert_int_equal(sum->input_loc[1].line, 12);
    assert_int_equal(sum->input_loc[1].col, 40);

    /* Every layer after its inputs, whatever the file order. */
    int order[5], pos[5];
    qsdc_error err = {{0}};
    assert_int_equal(model_topo_order(&m, order, &err), 0);
    for (int i = 0; i < 5; i++)
        pos[order[i]] = i;
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < m.layers[i].n_inputs; k++) {
            int j = model_find(&m, m.layers[i].inputs[k]);
            if (j >= 0)
                assert_true(pos[j] < pos[i]);
        }
    model_free(&m);
}

/* The step schedule's period of the schedule t gives. */
static int64_t step_epochs(const train_config *t)
{
    lr_schedule s = train_schedule(t);
    return lr_schedule_step_epochs(&s);
}

static void test_defaults(void **state)
{
    (void)state;
    model m;
    load_ok("name: d\ninput: {shape: [3]}\nlayers:\n"
            "  - {op: dense, units: 2}\n  - {op: qsd, p: 0.5}\n",
            &m);
    assert_string_equal(m.output, "qsd1");
    assert_true(m.layers[0].bias);
    assert_int_equal(m.layers[0].init, INIT_AUTO);
    const qsd_params *q = &m.layers[1].qsd;
    assert_true(q->p == 0.5);
    assert_int_equal(q->sites, 1);
    assert_true(q->q_cv == 0);
    assert_true(q->p_concentration == 0);
    assert_int_equal(q->share, SHARE_ELEMENT);
    assert_false(m.has_train);

    train_config t;
    train_config_defaults(&t);
    assert_memory_equal(&t, &m.train, sizeof t);
    assert_int_equal(t.batch, 128);
    assert_int_equal(t.epochs, 10);
    assert_int_equal(t.seed, 1);
    assert_true(t.val_split == 0);
    assert_int_equal(t.loss, LOSS_XENT);
    assert_int_equal(t.optimizer, OPTIM_SGD);
    assert_true(t.lr == 0.1 && t.momentum == 0.9 && !t.nesterov);
    assert_true(t.beta1 == 0.9 && t.beta2 == 0.999 && t.eps == 1e-8);
    assert_true(t.weight_decay == 0 && t.clip_norm == 0);
    assert_int_equal(t.schedule, SCHED_CONSTANT);
    assert_true(t.warmup_epochs == 0 && t.step_gamma == 0.1 && t.min_lr == 0);
    assert_string_equal(t.train_images, "");
    assert_int_equal(step_epochs(&t), 4); /* ceil(10 / 3) */
    t.epochs = 9;
    assert_int_equal(step_epochs(&t), 3);
    t.epochs = 1;
    assert_int_equal(step_epochs(&t), 1);
    t.step_epochs = 5;
    assert_int_equal(step_epochs(&t), 5);
    model_free(&m);
}

static const char head[] = "name: t\ninput: {shape: [3]}\nlayers: [relu]\n";

static void load_train(const char *train, model *m)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", head, train);
    load_ok(text, m);
    assert_true(m->has_train);
}

static void test_train_full(void **state)
{
    (void)state;
    static const char text[] =
        "name: t\ninput: {shape: [3]}\nlayers: [relu]\n"
        "train:\n"
        "  data:\n"
        "    train_images: data/tr-img.idx\n"
        "    train_labels: /abs/tr-lab.idx\n"
        "    test_images: te-img.idx\n"
        "    test_labels: ../te-lab.idx\n"
        "  batch: 64\n"
        "  epochs: 30\n"
        "  seed: 12345678901\n"
        "  val_split: 0.2\n"
        "  loss: mse\n"
        "  optimizer: {type: adamw, lr: 0.002, beta1: 0.8, beta2: 0.99,"
        " eps: 1e-6, weight_decay: 0.01}\n"
        "  clip_norm: 5\n"
        "  schedule: {type: step, warmup_epochs: 1.5, step_epochs: 7,"
        " gamma: 0.5}\n";
    const char *path = ts_write("full.yaml", text, strlen(text));
    model m;
    qsdc_error err = {{0}};
    if (model_load(path, &m, &err) != 0)
        fail_msg("%s", err.message);
    const train_config *t = &m.train;
    char want[1200];
    snprintf(want, sizeof want, "%s/data/tr-img.idx", ts_tmpdir());
    assert_string_equal(t->train_images, want);
    assert_string_equal(t->train_labels, "/abs/tr-lab.idx");
    snprintf(want, sizeof want, "%s/te-img.idx", ts_tmpdir());
    assert_string_equal(t->test_images, want);
    snprintf(want, sizeof want, "%s/../te-lab.idx", ts_tmpdir());
    assert_string_equal(t->test_labels, want);
    assert_int_equal(t->data_loc.line, 6);
    assert_int_equal(t->data_loc.col, 5);
    assert_int_equal(t->batch, 64);
    assert_int_equal(t->epochs, 30);
    assert_true(t->seed == 12345678901ull);
    assert_true(t->val_split == 0.2);
    assert_int_equal(t->loss, LOSS_MSE);
    assert_int_equal(t->optimizer, OPTIM_ADAMW);
    assert_true(t->lr == 0.002 && t->beta1 == 0.8 && t->beta2 == 0.99);
    assert_true(t->eps == 1e-6 && t->weight_decay == 0.01);
    assert_true(t->clip_norm == 5);
    assert_int_equal(t->schedule, SCHED_STEP);
    assert_true(t->warmup_epochs == 1.5 && t->step_gamma == 0.5);
    assert_int_equal(t->step_epochs, 7);
    assert_int_equal(step_epochs(t), 7);
    model_free(&m);
}

static void test_train_forms(void **state)
{
    (void)state;
    model m;
    load_train("train: {data: fashion-mnist, optimizer: adam}\n", &m);
    assert_string_equal(m.train.train_images, "/usr/share/datasets/fashion-mnist/"
                                              "train-images-idx3-ubyte.gz");
    assert_string_equal(m.train.train_labels, "/usr/share/datasets/fashion-mnist/"
                                              "train-labels-idx1-ubyte.gz");
    assert_string_equal(m.train.test_images, "/usr/share/datasets/fashion-mnist/"
                                             "t10k-images-idx3-ubyte.gz");
    assert_string_equal(m.train.test_labels, "/usr/share/datasets/fashion-mnist/"
                                             "t10k-labels-idx1-ubyte.gz");
    assert_int_equal(m.train.optimizer, OPTIM_ADAM);
    assert_true(m.train.lr == 1e-3); /* adam's default rate */
    model_free(&m);

    load_train("train:\n  optimizer: {type: sgd, lr: 0.05, nesterov: true}\n"
               "  schedule: {type: cosine, min_lr: 0.001}\n"
               "  data: {train_images: a, train_labels: b}\n",
               &m);
    assert_int_equal(m.train.optimizer, OPTIM_SGD);
    assert_true(m.train.lr == 0.05 && m.train.momentum == 0.9);
    assert_true(m.train.nesterov);
    assert_int_equal(m.train.schedule, SCHED_COSINE);
    assert_true(m.train.min_lr == 0.001);
    /* "<string>" has no folder: relative paths stay as written. */
    assert_string_equal(m.train.train_images, "a");
    assert_string_equal(m.train.test_images, "");
    model_free(&m);

    load_train("train: {schedule: step, epochs: 12, optimizer: {lr: 1}}\n", &m);
    assert_int_equal(m.train.schedule, SCHED_STEP);
    assert_int_equal(m.train.step_epochs, 0);
    assert_int_equal(step_epochs(&m.train), 4);
    assert_int_equal(m.train.optimizer, OPTIM_SGD); /* type defaults to sgd */
    assert_true(m.train.lr == 1);
    model_free(&m);

    load_train("train: {}\n", &m);
    train_config t;
    train_config_defaults(&t);
    assert_memory_equal(&t, &m.train, sizeof t);
    model_free(&m);
}

/* format: sentiment keeps a long text's first tokens unless keep: last */
static void test_sentiment_keep(void **state)
{
    (void)state;
    static const char *const data[] = {"{format: sentiment, csv: a.csv, vocab: 10}",
                                       "{format: sentiment, csv: a.csv, vocab: 10, keep: first}",
                                       "{format: sentiment, csv: a.csv, vocab: 10, keep: last}"};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "name: s\ninput: {shape: [4], dtype: int32}\n"
                 "layers:\n  - {op: embedding, vocab: 12, dim: 2}\n"
                 "  - {op: lstm, units: 2, return: last}\n  - {op: dense, units: 2}\n"
                 "train:\n  data: %s\n", data[i]);
        model m;
        load_ok(text, &m);
        assert_int_equal(m.train.format, DATA_SENTIMENT);
        assert_int_equal(m.train.keep_last, i == 2);
        model_free(&m);
    }
}

static void test_example_models(void **state)
{
    (void)state;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/models", ts_source_root());
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    int loaded = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        model m;
        qsdc_error err = {{0}};
        if (model_load(path, &m, &err) != 0)
            fail_msg("%s", err.message);
        model_free(&m);
        loaded++;
    }
    closedir(dp);
    assert_true(loaded >= 3);

    char path[2400];
    snprintf(path, sizeof path, "%s/mlp_fashion_qsd.yaml", dir);
    model m;
    qsdc_error err = {{0}};
    assert_int_equal(model_load(path, &m, &err), 0);
    assert_int_equal(m.n_layers, 9);
    assert_int_equal(m.layers[3].kind, LAYER_QSD);
    assert_true(m.layers[3].qsd.p == 0.5 && m.layers[3].qsd.sites == 6 &&
                m.layers[3].qsd.q_cv == 0.5);
    assert_int_equal(m.layers[7].units, 10);
    assert_true(m.train.nesterov && m.train.lr == 0.05);
    assert_int_equal(m.train.schedule, SCHED_COSINE);
    assert_true(m.train.val_split == 0.1);
    model_free(&m);
}

/* ---- robustness ------------------------------------------------------ */

static const char fuzz_seed[] =
    "name: fz\n"
    "input: {shape: [2, 3]}\n"
    "nodes:\n"
    "  - {name: f, op: flatten, inputs: input}\n"
    "  - name: d\n"
    "    op: dense\n"
    "    inputs: [f]\n"
    "    units: 4\n"
    "  - {name: q, op: qsd, inputs: d, p: 0.3, sites: 8, q_cv: 0.3,"
    " p_concentration: 2}\n"
    "  - {name: s, op: add, inputs: [q, d]}\n"
    "output: s\n"
    "train:\n"
    "  data: {train_images: 'a b', train_labels: \"c\\td\"}\n"
    "  optimizer: {type: adam, lr: 1e-3}\n"
    "  schedule: {type: step, gamma: 0.5}\n";

/* Either loads or fails with a message naming the input. */
static void expect_clean(const char *text, size_t len)
{
    model m;
    qsdc_error err = {{0}};
    if (model_load_string("<string>", text, len, &m, &err) == 0) {
        model_free(&m);
        return;
    }
    if (strncmp(err.message, "<string>:", 9) != 0)
        fail_msg("message without location: \"%s\"", err.message);
}

static void test_prefixes(void **state)
{
    (void)state;
    size_t len = strlen(fuzz_seed);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    for (size_t n = 0; n <= len; n++) {
        memcpy(copy, fuzz_seed, n); /* exact-length heap copy for ASan */
        expect_clean(copy, n);
    }
    free(copy);
    model m;
    load_ok(fuzz_seed, &m);
    model_free(&m);
}

static void test_byte_flips(void **state)
{
    (void)state;
    static const char subst[] = {'\0', '\n', ' ', ':', '-', '[', ']', '{', '}',
                                 ',', '&', '*', '!', '"', '\'', '#', '?', '|',
                                 '\t', '\x80', '\xff', '9', 'x'};
    size_t len = strlen(fuzz_seed);
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, fuzz_seed, len);
            copy[i] = subst[k];
            expect_clean(copy, len);
        }
    free(copy);
}

/* The training plan of text: whether it clips the gradient norm. */
static bool plan_clips(const char *text, double *clip_norm)
{
    model m;
    plan p;
    codegen_target t;
    qsdc_error err = {""};
    codegen_target_default(&t);
    load_ok(text, &m);
    if (compile_plan(&m, MODE_TRAIN, 2, &t, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    bool clips = false;
    for (int i = 0; i < p.n_launches; i++)
        clips = clips || strstr(p.launches[i].nodes, PLAN_NODES_CLIP) != NULL;
    *clip_norm = m.train.clip_norm;
    plan_free(&p);
    model_free(&m);
    return clips;
}

/* clip_norm defaults to 0.25 for a model with an lstm layer and to 0 (off)
 * for any other; a value given, 0 included, wins. */
static void test_clip_norm_default(void **state)
{
    (void)state;
#define SEQ "name: s\ninput: {shape: [3, 2]}\nlayers: [{op: lstm, units: 4, return: last}, " \
            "{op: dense, units: 2}]\n"
    double c;
    assert_true(plan_clips(SEQ, &c));
    assert_true(c == 0.25);
    assert_true(plan_clips(SEQ "train: {epochs: 2}\n", &c));
    assert_true(c == 0.25);
    assert_false(plan_clips(SEQ "train: {clip_norm: 0}\n", &c));
    assert_true(c == 0);
    assert_true(plan_clips(SEQ "train: {clip_norm: 1.5}\n", &c));
    assert_true(c == 1.5);
#undef SEQ
    assert_false(plan_clips("name: d\ninput: {shape: [3]}\nlayers: [{op: dense, units: 2}]\n"
                            "train: {}\n", &c));
    assert_true(c == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_form),
        cmocka_unit_test(test_nodes_form),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_train_full),
        cmocka_unit_test(test_train_forms),
        cmocka_unit_test(test_sentiment_keep),
        cmocka_unit_test(test_clip_norm_default),
        cmocka_unit_test(test_example_models),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_byte_flips),
    };
    return cmocka_run_group_tests_name("model_parse", tests, NULL, ts_teardown);
}
