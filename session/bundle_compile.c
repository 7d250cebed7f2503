/* Compiling a model to a bundle folder (include/qsdc.h: qsdc_compile,
 * qsdc_compile_bundle): its plans for inference and, with training, for
 * the training step, their kernels and, for a device, program binaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "bundle_load.h"
#include "cl_runtime.h"
#include "compile.h"
#include "executor.h"
#include "file_io.h"
#include "session.h"
#include "yaml_doc.h"

/* What one compilation made: the plans (inference, then training) and the
 * graph and fusion of the last. */
typedef struct compiled {
    plan plans[2];
    int n;
    graph g;
    fusion f;
    bool has_graph;  /* g and f are set */
} compiled;

static int compile_plans(const model *m, int64_t batch, bool training,
                         const codegen_target *target, compiled *c, qsdc_error *err)
{
    memset(c, 0, sizeof *c);
    if (compile_plan(m, MODE_INFER, batch, target, &c->plans[0], training ? NULL : &c->g,
                     training ? NULL : &c->f, err) < 0)
        return -1;
    c->n = 1;
    if (training &&
        compile_plan(m, MODE_TRAIN, batch, target, &c->plans[1], &c->g, &c->f, err) < 0)
        return -1;
    c->n = training ? 2 : 1;
    c->has_graph = true;
    return 0;
}

static void compiled_free(compiled *c)
{
    if (c->has_graph) {
        graph_free(&c->g);
        fusion_free(&c->f);
    }
    for (int i = 0; i < c->n; i++)
        plan_free(&c->plans[i]);
}

static int write_bundle(const char *dir, const compiled *c, qsdc_error *err)
{
    const plan *pp[2] = {&c->plans[0], &c->plans[1]};
    return bundle_write(dir, pp, c->n, &c->g, &c->f, err);
}

int qsdc_compile(const qsdc_model *q, const char *dir, int64_t batch, int training,
                 qsdc_error *err)
{
    const model *m = &q->m;
    codegen_target target;
    codegen_target_default(&target);
    compiled c;
    int rc = compile_plans(m, batch > 0 ? batch : m->train.batch, training, &target, &c, err);
    if (rc == 0)
        rc = write_bundle(dir, &c, err);
    compiled_free(&c);
    return rc;
}

/* Builds each plan's kernels for env's device and keeps the binaries in the
 * plans, for the bundle to store beside their sources (runs without an
 * OpenCL C compiler: FPGA flows). */
static int build_binaries(cl_env *env, compiled *c, qsdc_error *err)
{
    int rc = 0;
    for (int i = 0; i < c->n && rc == 0; i++) {
        cl_build_result br;
        rc = cl_build_program(env, c->plans[i].source, "", &br, err);
        if (rc == 0) {
            rc = cl_program_binary(env, br.program, &c->plans[i].binary,
                                   &c->plans[i].binary_len, err);
            clReleaseProgram(br.program);
        }
    }
    return rc;
}

/* The model's text beside the plans, for qsdc train|infer DIR. */
static int store_model(const char *dir, const char *model_path, qsdc_error *err)
{
    unsigned char *text;
    size_t len;
    if (fs_read_file_max(model_path, YDOC_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    char path[QSDC_PATH_MAX + 16];
    bundle_model_path(dir, path, sizeof path);
    int rc = fs_write_atomic(path, text, len, NULL, 0, err);
    free(text);
    return rc;
}

/* Device memory of one plan: the three single allocations, its arena and
 * labels, against the lower bound of the same allocations plus the largest
 * set of activations live at once. */
static void summarise(const plan *p, qsdc_plan_summary *s)
{
    int64_t fixed = p->param_elems + (p->loss_offset >= 0 ? p->grad_elems : 0) + p->state_elems;
    s->nodes = p->nodes_before_fusion;
    s->kernels = p->kernels;
    s->arena_bytes = p->arena_elems * 4;
    s->arena_unplanned_bytes = p->arena_unplanned_elems * 4;
    s->memory_bytes = (fixed + p->arena_elems + p->label_elems) * 4;
    s->memory_bound_bytes = (fixed + p->arena_live_peak_elems) * 4;
    snprintf(s->binary, sizeof s->binary, "%s", p->binary ? bundle_binary_name(p) : "");
}

static void describe(const model *m, const compiled *c, const char *dir,
                     qsdc_bundle_info *out)
{
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    snprintf(out->model, sizeof out->model, "%s", m->name);
    out->layers = m->n_layers;
    out->batch = c->plans[0].batch;
    /* the P allocation less its alignment padding */
    for (int i = 0; i < c->plans[0].n_tensors; i++)
        if (c->plans[0].tensors[i].buffer == BUF_P)
            out->params += c->plans[0].tensors[i].nelem;
    out->n_plans = c->n;
    for (int i = 0; i < c->n; i++)
        summarise(&c->plans[i], &out->plans[i]);
}

static int compile_bundle(const qsdc_model *q, const char *dir, const qsdc_compile_options *o,
                          qsdc_bundle_info *out, qsdc_error *err)
{
    const model *m = &q->m;
    int64_t batch = o->batch > 0 ? o->batch : m->train.batch;
    codegen_target target;
    codegen_target_default(&target);
    cl_env env;
    memset(&env, 0, sizeof env);
    /* opened, not only listed: its loop limit is measured then */
    bool device = o->device || o->emit_binary;
    if (device && cl_env_open(o->device, false, &env, err) < 0)
        return -1;
    if (device) {
        exec_target(&env.dev, &target);
        snprintf(out->device, sizeof out->device, "%s", env.dev.name);
    }
    char name[QSDC_PATH_MAX];
    snprintf(name, sizeof name, "%.*s.qsdc", QSDC_NAME_MAX, m->name);
    if (!dir)
        dir = name;
    compiled c;
    int rc = compile_plans(m, batch, o->training, &target, &c, err);
    if (rc == 0 && o->emit_binary)
        rc = build_binaries(&env, &c, err);
    if (device)
        cl_env_close(&env);
    if (rc == 0 && o->graph_out) {
        strbuf sb;
        sb_init(&sb);
        graph_dump(&c.g, &sb);
        fputs(sb_str(&sb), o->graph_out);
        sb_free(&sb);
    }
    if (rc == 0)
        rc = write_bundle(dir, &c, err);
    if (rc == 0)
        rc = store_model(dir, m->path, err);
    if (rc == 0)
        describe(m, &c, dir, out);
    compiled_free(&c);
    return rc;
}

int qsdc_compile_bundle(const qsdc_model *m, const char *dir, const qsdc_compile_options *o,
                        qsdc_bundle_info *out, qsdc_error *err)
{
    if (!m || !out)
        return qsdc_fail(err, "qsdc_compile_bundle: %s is NULL", m ? "out" : "m");
    qsdc_compile_options none = {0};
    memset(out, 0, sizeof *out);
    return compile_bundle(m, dir, o ? o : &none, out, err);
}
