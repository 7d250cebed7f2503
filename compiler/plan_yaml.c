/* plan.yaml's writer, through libyaml's emitter so every string is quoted
 * and escaped as YAML needs. The layout (plan_yaml_read.c reads it back):
 *
 *   format: 3
 *   plans:
 *   - name: mlp
 *     source: kernels.cl
 *     source_checksum: 8f1c0d3e5a7b9c2d   # checksum.h, of the file's bytes
 *     binary: kernels.bin                  # and binary_checksum: only with
 *     binary_checksum: 03a9...             #   --emit-binary
 *     target: {cpu: true, vector_width: 8} # what the source was made for;
 *                                          # loop_limit, gemm_tiles,
 *                                          # gemm_direct and
 *                                          # compute_units where set
 *     batch: 128
 *     buffers:
 *       P: {elems: 6370, bytes: 25480}   # and G, S, A, L
 *     input: {offset: 0, elems: 100352}
 *     output: {offset: 101376, elems: 1280}
 *     loss_offset: -1                      # training plans: >= 0, and
 *     schedule: {type: cosine, lr: 0.1,    #   the learning-rate schedule
 *                warmup_epochs: 0, step_epochs: 0, gamma: 0.1, min_lr: 0,
 *                epochs: 10}
 *     tensors:
 *     - {name: d1.weight, buffer: P, offset: 0, dims: [784, 8], init: he,
 *        fan_in: 784, fan_out: 8}           # init and fans for P only
 *     launches:
 *     - {kernel: k0_matmul, work_dim: 2, global: [8, 128], local: [0, 0],
 *        nodes: matmul+bias_add+relu, flops: 1605632, bytes: 0}
 *     stats: {nodes_before_fusion: 6, kernels: 3, arena_unplanned_elems: 2304,
 *             arena_live_peak_elems: 1152}
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bundle.h"
#include "checksum.h"
#include "plan_yaml_names.h"

const char *bundle_source_name(const plan *p)
{
    return p->loss_offset >= 0 ? "train.cl" : "kernels.cl";
}

const char *bundle_binary_name(const plan *p)
{
    return p->loss_offset >= 0 ? "train.bin" : "kernels.bin";
}

/* After the first failure every call is a no-op, like strbuf's oom flag. */
typedef struct emitter {
    yaml_emitter_t e;
    bool ok;
} emitter;

static void put(emitter *m, yaml_event_t *ev, int made)
{
    if (!made || !yaml_emitter_emit(&m->e, ev))
        m->ok = false;
}

static void scalar_styled(emitter *m, const char *s, yaml_scalar_style_t style)
{
    if (!m->ok)
        return;
    yaml_event_t ev;
    put(m, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s,
                                             (int)strlen(s), 1, 1, style));
}

static void text(emitter *m, const char *s)
{
    scalar_styled(m, s, YAML_ANY_SCALAR_STYLE);
}

static void integer(emitter *m, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    scalar_styled(m, b, YAML_PLAIN_SCALAR_STYLE);
}

/* The shortest %g form that reads back as the same double. */
static void real(emitter *m, double v)
{
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    scalar_styled(m, b, YAML_PLAIN_SCALAR_STYLE);
}

static void begin_map(emitter *m, bool flow)
{
    if (!m->ok)
        return;
    yaml_event_t ev;
    put(m, &ev, yaml_mapping_start_event_initialize(
                    &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE
                                             : YAML_BLOCK_MAPPING_STYLE));
}

static void end_map(emitter *m)
{
    if (!m->ok)
        return;
    yaml_event_t ev;
    put(m, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void begin_seq(emitter *m, bool flow)
{
    if (!m->ok)
        return;
    yaml_event_t ev;
    put(m, &ev, yaml_sequence_start_event_initialize(
                    &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE
                                             : YAML_BLOCK_SEQUENCE_STYLE));
}

static void end_seq(emitter *m)
{
    if (!m->ok)
        return;
    yaml_event_t ev;
    put(m, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void kv_text(emitter *m, const char *key, const char *v)
{
    text(m, key);
    text(m, v);
}

static void kv_int(emitter *m, const char *key, int64_t v)
{
    text(m, key);
    integer(m, v);
}

static void kv_real(emitter *m, const char *key, double v)
{
    text(m, key);
    real(m, v);
}

static void int_list(emitter *m, const char *key, const void *v, int n, bool u64)
{
    text(m, key);
    begin_seq(m, true);
    for (int i = 0; i < n; i++)
        integer(m, u64 ? (int64_t)((const uint64_t *)v)[i] : ((const int64_t *)v)[i]);
    end_seq(m);
}

static void kv_checksum(emitter *m, const char *key, const void *data, size_t len)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)checksum_of(data, len));
    text(m, key);
    scalar_styled(m, hex, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void range(emitter *m, const char *key, int64_t offset, int64_t elems)
{
    text(m, key);
    begin_map(m, true);
    kv_int(m, "offset", offset);
    kv_int(m, "elems", elems);
    end_map(m);
}

static void emit_buffers(emitter *m, const plan *p)
{
    text(m, "buffers");
    begin_map(m, false);
    for (int b = 0; b < BUF_COUNT; b++) {
        text(m, plan_buffer_names[b]);
        begin_map(m, true);
        kv_int(m, "elems", plan_buffer_elems(p, b));
        kv_int(m, "bytes", plan_buffer_elems(p, b) * 4);
        end_map(m);
    }
    end_map(m);
}

static void emit_tensor(emitter *m, const plan_tensor *t)
{
    begin_map(m, true);
    kv_text(m, "name", t->name);
    kv_text(m, "buffer", plan_buffer_names[t->buffer]);
    kv_int(m, "offset", t->offset);
    int_list(m, "dims", t->dims, t->rank, false);
    if (t->buffer == BUF_P) {
        kv_text(m, "init", plan_init_names[t->init]);
        kv_int(m, "fan_in", t->fan_in);
        kv_int(m, "fan_out", t->fan_out);
    }
    end_map(m);
}

static void emit_gemm(emitter *m, const plan_gemm *g)
{
    text(m, "gemm");
    begin_map(m, true);
    kv_int(m, "m", g->m);
    kv_int(m, "n", g->n);
    kv_int(m, "k", g->k);
    kv_int(m, "trans_a", g->trans_a);
    kv_int(m, "trans_b", g->trans_b);
    kv_text(m, "a", plan_buffer_names[g->a_buf]);
    kv_int(m, "a_off", g->a_off);
    kv_int(m, "lda", g->lda);
    kv_text(m, "b", plan_buffer_names[g->b_buf]);
    kv_int(m, "b_off", g->b_off);
    kv_int(m, "ldb", g->ldb);
    kv_text(m, "c", plan_buffer_names[g->c_buf]);
    kv_int(m, "c_off", g->c_off);
    kv_int(m, "ldc", g->ldc);
    kv_int(m, "accumulate", g->accumulate);
    end_map(m);
}

static void emit_launch(emitter *m, const plan_launch *l)
{
    begin_map(m, true);
    kv_text(m, "kind", plan_launch_kind_names[l->kind]);
    kv_text(m, "kernel", l->kernel);
    kv_int(m, "work_dim", l->work_dim);
    int_list(m, "global", l->global, l->work_dim, true);
    int_list(m, "local", l->local, l->work_dim, true);
    if (l->offset[0] || l->offset[1] || l->offset[2])
        int_list(m, "offset", l->offset, l->work_dim, true);
    kv_text(m, "nodes", l->nodes);
    kv_real(m, "flops", l->flops);
    kv_real(m, "bytes", l->bytes);
    if (l->gemm.m > 0)
        emit_gemm(m, &l->gemm);
    end_map(m);
}

static void emit_schedule(emitter *m, const lr_schedule *s)
{
    text(m, "schedule");
    begin_map(m, true);
    kv_text(m, "type", sched_kind_names[s->kind]);
    kv_real(m, "lr", s->lr);
    kv_real(m, "warmup_epochs", s->warmup_epochs);
    kv_int(m, "step_epochs", s->step_epochs);
    kv_real(m, "gamma", s->step_gamma);
    kv_real(m, "min_lr", s->min_lr);
    kv_int(m, "epochs", s->epochs);
    end_map(m);
}

static void emit_plan(emitter *m, const plan *p)
{
    begin_map(m, false);
    kv_text(m, "name", p->name);
    kv_text(m, "source", bundle_source_name(p));
    kv_checksum(m, "source_checksum", p->source, strlen(p->source));
    if (p->binary) {
        kv_text(m, "binary", bundle_binary_name(p));
        kv_checksum(m, "binary_checksum", p->binary, p->binary_len);
    }
    text(m, "target");
    begin_map(m, true);
    text(m, "cpu");
    scalar_styled(m, p->target_cpu ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
    kv_int(m, "vector_width", p->target_vector_width);
    if (p->target_loop_limit)
        kv_int(m, "loop_limit", p->target_loop_limit);
    if (p->target_gemm_tiles[0])
        int_list(m, "gemm_tiles", p->target_gemm_tiles, 5, false);
    if (p->target_gemm_direct) {
        text(m, "gemm_direct");
        scalar_styled(m, "true", YAML_PLAIN_SCALAR_STYLE);
    }
    if (p->target_compute_units)
        kv_int(m, "compute_units", p->target_compute_units);
    end_map(m);
    kv_int(m, "batch", p->batch);
    emit_buffers(m, p);
    range(m, "input", p->input_offset, p->input_elems);
    range(m, "output", p->output_offset, p->output_elems);
    kv_int(m, "loss_offset", p->loss_offset);
    if (p->loss_offset >= 0)
        emit_schedule(m, &p->schedule);
    text(m, "tensors");
    begin_seq(m, false);
    for (int i = 0; i < p->n_tensors; i++)
        emit_tensor(m, &p->tensors[i]);
    end_seq(m);
    text(m, "launches");
    begin_seq(m, false);
    for (int i = 0; i < p->n_launches; i++)
        emit_launch(m, &p->launches[i]);
    end_seq(m);
    text(m, "stats");
    begin_map(m, true);
    kv_int(m, "nodes_before_fusion", p->nodes_before_fusion);
    kv_int(m, "kernels", p->kernels);
    kv_int(m, "arena_unplanned_elems", p->arena_unplanned_elems);
    kv_int(m, "arena_live_peak_elems", p->arena_live_peak_elems);
    end_map(m);
    end_map(m);
}

/* What the emitter would otherwise write unreadable: enum values out of range
 * and sizes whose byte count overflows. */
static int check_plan(const plan *p, qsdc_error *err)
{
    for (int b = 0; b < BUF_COUNT; b++) {
        int64_t e = plan_buffer_elems(p, b);
        if (e < 0 || e > INT64_MAX / 4)
            return qsdc_fail(err, "plan %s: buffer %s: size %lld out of range", p->name,
                             plan_buffer_names[b], (long long)e);
    }
    for (int i = 0; i < p->n_tensors; i++) {
        const plan_tensor *t = &p->tensors[i];
        if (t->buffer < 0 || t->buffer >= BUF_COUNT || t->rank < 0 ||
            t->rank > QSDC_MAX_RANK ||
            (t->buffer == BUF_P && ((int)t->init < 0 || (int)t->init >= PLAN_INIT_COUNT)))
            return qsdc_fail(err, "plan %s: tensor %s: invalid buffer, rank or init",
                             p->name, t->name);
    }
    for (int i = 0; i < p->n_launches; i++)
        if (p->launches[i].work_dim < 1 || p->launches[i].work_dim > 3 ||
            p->launches[i].kind < LAUNCH_KERNEL || p->launches[i].kind > LAUNCH_CLBLAST_GEMM)
            return qsdc_fail(err, "plan %s: launch %s: work_dim %d or kind out of range", p->name,
                             p->launches[i].kernel, p->launches[i].work_dim);
    if (p->loss_offset >= 0 &&
        (p->schedule.kind < SCHED_CONSTANT || p->schedule.kind > SCHED_COSINE))
        return qsdc_fail(err, "plan %s: schedule type %d out of range", p->name,
                         (int)p->schedule.kind);
    return 0;
}

static int check_roles(const plan *const *plans, int n_plans, qsdc_error *err)
{
    if (n_plans < 1)
        return qsdc_fail(err, "no plans to write");
    for (int i = 0; i < n_plans; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(bundle_source_name(plans[i]), bundle_source_name(plans[j])) == 0)
                return qsdc_fail(err, "plans %d and %d are both %s plans", j, i,
                                 plans[i]->loss_offset >= 0 ? "training" : "inference");
    return 0;
}

static int to_strbuf(void *data, unsigned char *buf, size_t n)
{
    strbuf *sb = data;
    sb_appendn(sb, (const char *)buf, n);
    return !sb->oom;
}

int plan_yaml_write(strbuf *out, const plan *const *plans, int n_plans, qsdc_error *err)
{
    if (check_roles(plans, n_plans, err) < 0)
        return -1;
    for (int i = 0; i < n_plans; i++)
        if (check_plan(plans[i], err) < 0)
            return -1;
    sb_append(out, "# qsdc compiled bundle: the launch plan of each pass.\n"
                   "# Sizes and offsets count elements of 4 bytes (float, int labels).\n");
    emitter m = {.ok = true};
    if (!yaml_emitter_initialize(&m.e))
        return qsdc_fail(err, "out of memory");
    yaml_emitter_set_output(&m.e, to_strbuf, out);
    yaml_emitter_set_unicode(&m.e, 1);
    yaml_emitter_set_width(&m.e, -1);
    yaml_event_t ev;
    put(&m, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (m.ok)
        put(&m, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    begin_map(&m, false);
    kv_int(&m, "format", PLAN_YAML_FORMAT);
    text(&m, "plans");
    begin_seq(&m, false);
    for (int i = 0; i < n_plans; i++)
        emit_plan(&m, plans[i]);
    end_seq(&m);
    end_map(&m);
    if (m.ok)
        put(&m, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (m.ok)
        put(&m, &ev, yaml_stream_end_event_initialize(&ev));
    if (m.ok && !yaml_emitter_flush(&m.e))
        m.ok = false;
    int rc = 0;
    if (out->oom)
        rc = qsdc_fail(err, "out of memory");
    else if (!m.ok)
        rc = qsdc_fail(err, "plan.yaml: %s", m.e.problem ? m.e.problem : "emitter error");
    yaml_emitter_delete(&m.e);
    return rc;
}
