#include "compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_tuner.h"
#include "kernel_sources.h"
#include "conv_direct.h"
#include "memplan.h"
#include "window_shapes.h"

void codegen_target_default(codegen_target *t)
{
    memset(t, 0, sizeof *t);
    t->is_cpu = true;
    t->pref_vector_width = 8;
}

void plan_free(plan *p)
{
    free(p->source);
    free(p->binary);
    free(p->launches);
    free(p->tensors);
    free(p->probes);
    memset(p, 0, sizeof *p);
}

int plan_find_tensor(const plan *p, const char *name)
{
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return i;
    return -1;
}

int plan_update_launch(const plan *p)
{
    for (int i = 0; i < p->n_launches; i++)
        if (strcmp(p->launches[i].nodes, PLAN_NODES_CLIP) == 0 ||
            strcmp(p->launches[i].nodes, PLAN_NODES_UPDATE) == 0)
            return i;
    return -1;
}

static bool host_needed(const graph *g, int t)
{
    return g->t[t].kind == T_PARAM || t == g->input || t == g->output || t == g->loss ||
           t == g->label;
}

static int tensor_buffer(const tensor *x)
{
    static const int buf[] = {[T_INPUT] = BUF_A, [T_LABEL] = BUF_L, [T_PARAM] = BUF_P,
                              [T_GRAD] = BUF_G, [T_ACT] = BUF_A, [T_LOSS] = BUF_A};
    return buf[x->kind];
}

/* The tensors the host needs, then the observed ones: a tensor's index
 * keys its initialisation (params_init), so observing must not move it. */
static void fill_tensors(const graph *g, plan *p)
{
    for (int i = 0; i < 2 * g->nt; i++) {
        int t = i % g->nt;
        if (i < g->nt ? !host_needed(g, t) : !g->t[t].observed || host_needed(g, t))
            continue;
        const tensor *x = &g->t[t];
        plan_tensor *pt = &p->tensors[p->n_tensors++];
        memset(pt, 0, sizeof *pt);
        snprintf(pt->name, sizeof pt->name, "%s", x->name);
        pt->buffer = tensor_buffer(x);
        pt->offset = x->kind == T_LABEL ? 0 : g->t[graph_storage(g, t)].offset;
        pt->nelem = x->nelem;
        pt->rank = x->rank;
        memcpy(pt->dims, x->dims, sizeof pt->dims);
        pt->init = x->init;
        pt->fan_in = x->fan_in;
        pt->fan_out = x->fan_out;
    }
}

static void add_probe(plan *p, const char *name, const char *op, const char *layer,
                      probe_phase phase, int buffer, int64_t offset, int64_t nelem)
{
    plan_probe *pr = &p->probes[p->n_probes++];
    snprintf(pr->tensor, sizeof pr->tensor, "%s", name);
    snprintf(pr->op, sizeof pr->op, "%s", op);
    snprintf(pr->layer, sizeof pr->layer, "%s", layer);
    pr->phase = phase;
    pr->buffer = buffer;
    pr->offset = offset;
    pr->nelem = nelem;
}

static probe_phase node_phase(const graph *g, int i)
{
    op_kind op = g->n[i].op;
    if (op == OP_UPDATE)
        return PROBE_UPDATE;
    if (op == OP_SOFTMAX_XENT || op == OP_MSE)
        return PROBE_LOSS;
    return i < g->n_forward ? PROBE_FORWARD : PROBE_GRADIENT;
}

/* The input, then each node's output in launch order (a tensor written by
 * several nodes under the first of them); the update's outputs are every
 * parameter tensor and the optimiser state. */
static int fill_probes(const model *m, const graph *g, const fusion *f, plan *p,
                       qsdc_error *err)
{
    p->probes = calloc((size_t)(g->nn + g->nt + 2), sizeof *p->probes);
    bool *seen = calloc((size_t)g->nt, sizeof *seen);
    if (!p->probes || !seen) {
        free(seen);
        return qsdc_fail(err, "out of memory");
    }
    add_probe(p, g->t[g->input].name, "input", "", PROBE_INPUT, BUF_A,
              g->t[g->input].offset, g->t[g->input].nelem);
    for (int k = 0; k < f->n_groups; k++) {
        for (int j = 0; j < f->groups[k].n; j++) {
            int i = f->groups[k].nodes[j];
            const gnode *n = &g->n[i];
            const char *layer = n->layer >= 0 ? m->layers[n->layer].name : "";
            if (n->op == OP_UPDATE) {
                for (int t = 0; t < g->nt; t++)
                    if (g->t[t].kind == T_PARAM)
                        add_probe(p, g->t[t].name, "update", "", PROBE_UPDATE, BUF_P,
                                  g->t[t].offset, g->t[t].nelem);
                if (g->state_elems > 0)
                    add_probe(p, "optimizer state", "update", "", PROBE_UPDATE, BUF_S, 0,
                              g->state_elems);
                continue;
            }
            int s = n->out >= 0 ? graph_storage(g, n->out) : -1;
            if (s < 0 || seen[s] || g->t[s].kind == T_LABEL)
                continue;
            seen[s] = true;
            add_probe(p, g->t[n->out].name, op_kind_name(n->op), layer, node_phase(g, i),
                      tensor_buffer(&g->t[s]), g->t[s].offset, g->t[n->out].nelem);
        }
    }
    free(seen);
    return 0;
}

static bool has_qsd(const graph *g)
{
    for (int i = 0; i < g->nn; i++)
        if (g->n[i].op == OP_QSD || g->n[i].op == OP_QSD_DRAW)
            return true;
    return false;
}

static int emit(const model *m, graph *g, const fusion *f, const codegen_target *target,
                int64_t scratch, plan *p, qsdc_error *err)
{
    strbuf src;
    sb_init(&src);
    sb_printf(&src, "/* %s: %s pass, batch %lld. Generated by qsdc %s. */\n\n", m->name,
              g->mode == MODE_TRAIN ? "training" : "inference", (long long)g->batch,
              QSDC_VERSION);
    if (has_qsd(g)) {
        const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
        if (!philox || !qsd) {
            sb_free(&src);
            return qsdc_fail(err, "qsd kernels are missing from this build");
        }
        sb_append(&src, philox);
        sb_append(&src, "\n");
        sb_append(&src, qsd);
        sb_append(&src, "\n");
    }
    /* the per-unit draws stay the whole pass, the scratch after them */
    int64_t units = codegen_qsd_units_place(g, scratch);
    p->arena_elems += units;
    codegen_ctx c = {.g = g, .f = f, .target = target, .scratch = scratch + units,
                     .src = &src};
    gemm_tuning_default(&c.tuning, target->is_cpu, target->pref_vector_width);
    c.tuning.loop_budget = target->loop_limit / 2;
    /* a GPU's occupancy rule: on llvmpipe, whose 8 compute units are
     * threads on the host's cores, splitting measured no faster */
    if (codegen_lanes(target) && target->profile.is_gpu)
        c.tuning.lane_groups = 2 * (int)target->profile.compute_units;
    p->launches = calloc(CODEGEN_MAX_GROUP_LAUNCHES, sizeof *p->launches);
    int n_units = p->launches ? codegen_qsd_unit_kernels(&c, p->launches,
                                                         CODEGEN_MAX_GROUP_LAUNCHES, err)
                              : qsdc_fail(err, "out of memory");
    if (n_units < 0) {
        sb_free(&src);
        return -1;
    }
    p->n_launches = n_units;
    for (int k = 0; k < f->n_groups; k++) {
        int n = 0;
        plan_launch *more = realloc(p->launches, (size_t)(p->n_launches +
                                    CODEGEN_MAX_GROUP_LAUNCHES) * sizeof *more);
        if (!more) {
            sb_free(&src);
            return qsdc_fail(err, "out of memory");
        }
        p->launches = more;
        memset(more + p->n_launches, 0, CODEGEN_MAX_GROUP_LAUNCHES * sizeof *more);
        if (codegen_group(&c, k, p->launches + p->n_launches, &n, err) < 0) {
            sb_free(&src);
            return -1;
        }
        p->n_launches += n;
    }
    if (sb_check(&src, err) < 0) {
        sb_free(&src);
        return -1;
    }
    p->source = src.data;
    if (p->arena_elems < c.scratch + c.scratch_needed)
        p->arena_elems = c.scratch + c.scratch_needed;
    for (int i = 0; i < p->n_launches; i++)
        p->kernels += p->launches[i].kind == LAUNCH_KERNEL;
    return 0;
}

/* had[0..n_had) and then the shapes[i] (of n, each size bytes) picked[i]
 * says: a new array, *out, of *n_out. */
static int join_picked(const void *had, int n_had, const void *shapes, const bool *picked,
                       int n, size_t size, void **out, int *n_out, qsdc_error *err)
{
    char *all = malloc((size_t)(n_had + n) * size);
    if (!all)
        return qsdc_fail(err, "out of memory");
    if (n_had > 0)
        memcpy(all, had, (size_t)n_had * size);
    int k = n_had;
    for (int i = 0; i < n; i++)
        if (picked[i])
            memcpy(all + (size_t)k++ * size, (const char *)shapes + (size_t)i * size, size);
    *out = all;
    *n_out = k;
    return 0;
}

/* The tuner's conv2d choices: the layers it runs directly join the
 * target's list (*chosen, which the caller frees). */
static int decide_convs(const graph *g, graph_mode mode, int64_t batch, codegen_target *t,
                        conv_shape **chosen, qsdc_error *err)
{
    int nodes[CONV_MAX_LAYERS];
    conv_shape shapes[CONV_MAX_LAYERS];
    bool direct[CONV_MAX_LAYERS];
    int n = graph_conv_layers(g, nodes, shapes, CONV_MAX_LAYERS);
    if (n == 0 || t->direct_conv_all)
        return 0;
    void *all = NULL;
    if (t->tuner->convs(t->tuner->ctx, mode, batch, shapes, n, direct, err) < 0 ||
        join_picked(t->direct_conv, t->n_direct_conv, shapes, direct, n, sizeof *shapes, &all,
                    &t->n_direct_conv, err) < 0)
        return -1;
    t->direct_conv = *chosen = all;
    return 0;
}

/* The lstm recurrences' shapes in lowering order, each once: n of them. */
static int lstm_shapes(const graph *g, recur_shape *shapes, int max)
{
    int n = 0;
    for (int i = 0; i < g->nn && n < max; i++) {
        if (g->n[i].op != OP_LSTM)
            continue;
        const int64_t *d = g->t[g->n[i].out].dims;
        recur_shape s = {d[0], d[1], d[2]};
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = shapes[k].b == s.b && shapes[k].t == s.t && shapes[k].h == s.h;
        if (!seen)
            shapes[n++] = s;
    }
    return n;
}

/* The tuner's lstm choices: the recurrences it runs on scalar units join
 * the target's list (*chosen, which the caller frees). */
static int decide_lstms(const graph *g, codegen_target *t, recur_shape **chosen,
                        qsdc_error *err)
{
    recur_shape shapes[LSTM_MAX_SHAPES];
    bool scalar[LSTM_MAX_SHAPES];
    int n = lstm_shapes(g, shapes, LSTM_MAX_SHAPES);
    if (n == 0 || t->scalar_lstm_all)
        return 0;
    void *all = NULL;
    if (t->tuner->lstms(t->tuner->ctx, shapes, n, scalar, err) < 0 ||
        join_picked(t->scalar_lstm, t->n_scalar_lstm, shapes, scalar, n, sizeof *shapes, &all,
                    &t->n_scalar_lstm, err) < 0)
        return -1;
    t->scalar_lstm = *chosen = all;
    return 0;
}

/* The tuner's window choices, asked on the lane family alone: the panel
 * family's devices are CPUs, where a row per work-item with float8 loads
 * wins (on pocl the CNN's pools ran 4 to 20x slower as lanes: 0.1 against
 * 0.5 to 2.5 ms at batch 32), so their window kernels stay rows unmeasured.
 * The shapes the tuner runs as rows join the target's list (*chosen, which
 * the caller frees). */
static int decide_windows(const graph *g, const fusion *f, codegen_target *t,
                          window_shape **chosen, qsdc_error *err)
{
    window_shape shapes[WINDOW_MAX_SHAPES];
    bool rows[WINDOW_MAX_SHAPES];
    int n = window_shapes(g, f, shapes, WINDOW_MAX_SHAPES);
    if (n == 0 || t->windows != WINDOWS_BY_FAMILY || !codegen_lanes(t))
        return 0;
    void *all = NULL;
    if (t->tuner->windows(t->tuner->ctx, shapes, n, rows, err) < 0 ||
        join_picked(t->row_windows, t->n_row_windows, shapes, rows, n, sizeof *shapes, &all,
                    &t->n_row_windows, err) < 0)
        return -1;
    t->row_windows = *chosen = all;
    return 0;
}

/* The family a device without one (not a GPU, not forced) takes from the
 * measured picks: the tiled family's, with the tiles of its largest pick,
 * where it won at least twice the products' work the panel family won
 * (rusticl on llvmpipe, a CPU device that runs work-items in lanes, where
 * the panel family's products ran 30x slower); then the lane family's other
 * kernels (codegen_lanes) and the products no pick names (per-sample
 * products) follow it. Zero tiles (the panel family) otherwise: on pocl a
 * tiled pick or two among panel ones is measurement noise on a busy CPU or
 * a small product's win, not a reason to give every kernel the lane shape. */
static gemm_tiles lane_family(const gemm_pick *picks, int n)
{
    double tiled = 0, panel = 0, largest = 0;
    gemm_tiles tiles = {0};
    for (int i = 0; i < n; i++) {
        const plan_gemm *g = &picks[i].shape;
        double work = (double)g->m * (double)g->n * (double)g->k * (g->batch > 1 ? g->batch : 1);
        if (picks[i].clblast)
            continue;
        if (!gemm_tiled(&picks[i].tiles)) {
            panel += work;
            continue;
        }
        tiled += work;
        if (work > largest) {
            largest = work;
            tiles = picks[i].tiles;
        }
    }
    return tiled >= 2 * panel ? tiles : (gemm_tiles){0};
}

/* The tuner's GEMM backends, given p's sizes: the target's picks become
 * *picks (which the caller frees). */
static int decide_gemms(const graph *g, const fusion *f, const plan *p, codegen_target *t,
                        gemm_pick **picks, qsdc_error *err)
{
    plan_gemm *shapes = malloc((size_t)(f->n_groups + 1) * sizeof *shapes);
    *picks = malloc((size_t)(f->n_groups + 1) * sizeof **picks);
    if (!shapes || !*picks) {
        free(shapes);
        return qsdc_fail(err, "out of memory");
    }
    int n = codegen_gemm_shapes(g, f, shapes);
    int rc = t->tuner->gemms(t->tuner->ctx, p, shapes, n, *picks, err);
    free(shapes);
    t->picks = *picks;
    t->n_picks = rc == 0 ? n : 0;
    if (rc == 0 && !gemm_tiled(&t->gemm_tiles))
        t->gemm_tiles = lane_family(*picks, n);
    return rc;
}

int compile_plan(const model *m, graph_mode mode, int64_t batch,
                 const codegen_target *given, plan *out, graph *gout, fusion *fout,
                 qsdc_error *err)
{
    graph g;
    fusion f;
    memset(&f, 0, sizeof f);
    memset(out, 0, sizeof *out);
    codegen_target decided = *given, *target = &decided;
    conv_shape *direct = NULL;
    recur_shape *scalar = NULL;
    gemm_pick *picks = NULL;
    window_shape *rows = NULL;
    int rc = graph_lower(m, mode, batch, &g, err);
    if (rc == 0 && target->tuner)
        rc = decide_convs(&g, mode, batch, target, &direct, err);
    if (rc == 0 && target->tuner)
        rc = decide_lstms(&g, target, &scalar, err);
    if (rc == 0)
        graph_direct_conv(&g, target);
    if (rc == 0 && mode == MODE_TRAIN)
        rc = graph_autodiff(&g, err);
    for (int i = 0; rc == 0 && (target->observe || target->observe_all) && i < g.nn; i++) {
        op_kind op = g.n[i].op;
        bool hidden = g.n[i].layer >= 0 && (op == OP_RELU || op == OP_TANH || op == OP_SIGMOID);
        if (g.n[i].out >= 0 && (hidden || target->observe_all))
            g.t[g.n[i].out].observed = true;
    }
    if (rc == 0)
        rc = graph_fuse(&g, target->loop_limit == 0, &f, err);
    memplan_stats st = {0};
    if (rc == 0)
        rc = memplan_arena(&g, &f, &st, err);
    int64_t scratch = st.arena_elems;
    if (rc == 0) {
        snprintf(out->name, sizeof out->name, "%s", m->name);
        out->batch = batch;
        out->target_cpu = target->is_cpu;
        out->target_vector_width = target->pref_vector_width;
        out->target_loop_limit = target->loop_limit;
        out->param_elems = g.param_elems;
        out->grad_elems = g.grad_elems;
        out->state_elems = g.state_elems;
        out->arena_elems = st.arena_elems + (mode == MODE_TRAIN ? UPDATE_SCRATCH : 0);
        out->label_elems = g.label >= 0 ? g.t[g.label].nelem : 0; /* B or B*T */
        out->input_offset = g.t[g.input].offset;
        out->input_elems = g.t[g.input].nelem;
        out->output_offset = g.t[graph_storage(&g, g.output)].offset;
        out->output_elems = g.t[g.output].nelem;
        out->loss_offset = g.loss >= 0 ? g.t[g.loss].offset : -1;
        if (mode == MODE_TRAIN)
            out->schedule = g.train.schedule;
        out->nodes_before_fusion = g.nn;
        out->arena_unplanned_elems = st.unplanned_elems;
        out->arena_live_peak_elems = st.live_peak_elems;
        out->tensors = calloc((size_t)g.nt, sizeof *out->tensors);
        if (!out->tensors)
            rc = qsdc_fail(err, "out of memory");
        if (rc == 0 && target->tuner)
            rc = decide_gemms(&g, &f, out, target, &picks, err);
        if (rc == 0 && target->tuner)
            rc = decide_windows(&g, &f, target, &rows, err);
        const gemm_tiles *tl = &target->gemm_tiles; /* as decide_gemms left them */
        int64_t tiles[5] = {tl->items_m, tl->items_n, tl->block_m, tl->block_n, tl->k};
        memcpy(out->target_gemm_tiles, tiles, sizeof tiles);
        out->target_gemm_direct = tl->direct;
        out->target_compute_units =
            gemm_tiled(tl) && target->profile.is_gpu ? target->profile.compute_units : 0;
        if (rc == 0)
            rc = emit(m, &g, &f, target, scratch, out, err);
    }
    free(direct);
    free(scalar);
    free(picks);
    free(rows);
    if (rc == 0 && target->observe_all)
        rc = fill_probes(m, &g, &f, out, err);
    if (rc < 0)
        plan_free(out);
    else
        fill_tensors(&g, out);
    if (rc == 0 && gout)
        *gout = g;
    else
        graph_free(&g);
    if (rc == 0 && fout)
        *fout = f;
    else
        fusion_free(&f);
    return rc;
}
