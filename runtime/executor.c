#include "executor.h"

#include <clblast_c.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_guard.h"
#include "progress.h"

static int fits_one_allocation(const cl_device_info_rec *dev, uint64_t bytes,
                               const char *what, qsdc_error *err)
{
    if (bytes > dev->max_alloc)
        return qsdc_fail(err, "%s need %" PRIu64 " bytes in one allocation, more than "
                         "%s can hold (CL_DEVICE_MAX_MEM_ALLOC_SIZE %" PRIu64 " bytes, "
                         "CL_DEVICE_GLOBAL_MEM_SIZE %" PRIu64 "); try a smaller --batch",
                         what, bytes, dev->name, dev->max_alloc, dev->global_mem);
    return 0;
}

int exec_check_memory(const cl_device_info_rec *dev, const plan *const *plans, int n_plans,
                      qsdc_error *err)
{
    const plan *p0 = plans[0];
    uint64_t state = 4 * (uint64_t)p0->state_elems, params = 4 * (uint64_t)p0->param_elems;
    uint64_t total = 2 * params + state;
    if (fits_one_allocation(dev, params, "the parameters", err) < 0 ||
        fits_one_allocation(dev, state, "the optimiser state", err) < 0)
        return -1;
    for (int i = 0; i < n_plans; i++) {
        char what[96];
        snprintf(what, sizeof what, "the activations of the %s pass",
                 plans[i]->loss_offset >= 0 ? "training" : "inference");
        uint64_t arena = 4 * (uint64_t)plans[i]->arena_elems;
        if (fits_one_allocation(dev, arena, what, err) < 0)
            return -1;
        total += arena + 4 * (uint64_t)plans[i]->label_elems;
    }
    if (total > dev->global_mem)
        return qsdc_fail(err, "%s at batch %lld needs %" PRIu64 " bytes of device memory, "
                         "more than %s has (CL_DEVICE_GLOBAL_MEM_SIZE %" PRIu64 " bytes); "
                         "try a smaller --batch", p0->name, (long long)p0->batch, total,
                         dev->name, dev->global_mem);
    return 0;
}

static int create_buffer(cl_env *env, int64_t elems, size_t elem_size, cl_mem *out,
                         const char *what, qsdc_error *err)
{
    size_t bytes = (size_t)(elems > 0 ? elems : 1) * elem_size;
    if (fits_one_allocation(&env->dev, bytes, what, err) < 0)
        return -1;
    cl_int rc;
    *out = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (cl_check(rc, "clCreateBuffer", err) < 0)
        return qsdc_error_wrap(err, "allocating %zu bytes for %s", bytes, what);
    float zero = 0.0f;
    rc = clEnqueueFillBuffer(env->queue, *out, &zero, sizeof zero, 0,
                             bytes / sizeof zero * sizeof zero, 0, NULL, NULL);
    return cl_check(rc, "clEnqueueFillBuffer", err);
}

int model_state_create(cl_env *env, int64_t n_params, int64_t n_state, model_state *ms,
                       qsdc_error *err)
{
    memset(ms, 0, sizeof *ms);
    ms->n_params = n_params;
    ms->n_state = n_state;
    if (create_buffer(env, n_params, 4, &ms->P, "the parameters", err) < 0 ||
        create_buffer(env, n_params, 4, &ms->G, "the gradients", err) < 0 ||
        create_buffer(env, n_state, 4, &ms->S, "the optimiser state", err) < 0) {
        model_state_free(ms);
        return -1;
    }
    return 0;
}

void model_state_free(model_state *ms)
{
    cl_mem *all[] = {&ms->P, &ms->G, &ms->S};
    for (int i = 0; i < 3; i++)
        if (*all[i])
            clReleaseMemObject(*all[i]);
    memset(ms, 0, sizeof *ms);
}

int model_state_write(cl_env *env, model_state *ms, const float *params,
                      const float *state, qsdc_error *err)
{
    cl_int rc = clEnqueueWriteBuffer(env->queue, ms->P, CL_TRUE, 0,
                                     (size_t)ms->n_params * 4, params, 0, NULL, NULL);
    if (rc == CL_SUCCESS && state && ms->n_state > 0)
        rc = clEnqueueWriteBuffer(env->queue, ms->S, CL_TRUE, 0, (size_t)ms->n_state * 4,
                                  state, 0, NULL, NULL);
    return cl_check(rc, "clEnqueueWriteBuffer", err);
}

int model_state_read(cl_env *env, const model_state *ms, float *params, float *state,
                     qsdc_error *err)
{
    cl_int rc = clEnqueueReadBuffer(env->queue, ms->P, CL_TRUE, 0,
                                    (size_t)ms->n_params * 4, params, 0, NULL, NULL);
    if (rc == CL_SUCCESS && state && ms->n_state > 0)
        rc = clEnqueueReadBuffer(env->queue, ms->S, CL_TRUE, 0, (size_t)ms->n_state * 4,
                                 state, 0, NULL, NULL);
    return cl_check(rc, "clEnqueueReadBuffer", err);
}

void exec_target(const cl_device_info_rec *dev, codegen_target *t)
{
    memset(t, 0, sizeof *t);
    t->is_cpu = (dev->type & CL_DEVICE_TYPE_CPU) != 0;
    t->pref_vector_width = dev->pref_vector_float ? dev->pref_vector_float : 1;
    t->loop_limit = dev->loop_limit;
    device_profile *d = &t->profile;
    d->is_cpu = t->is_cpu;
    d->is_gpu = (dev->type & CL_DEVICE_TYPE_GPU) != 0;
    d->compute_units = dev->compute_units;
    d->max_work_group = dev->max_work_group;
    for (int i = 0; i < 3; i++)
        d->max_items[i] = dev->max_items[i];
    d->local_mem = dev->local_mem;
    d->local_mem_dedicated = dev->local_mem_dedicated;
    d->pref_vector_float = dev->pref_vector_float;
    d->pref_vector_int = dev->pref_vector_int;
    d->subgroup_size = dev->subgroup_size;
    d->max_alloc = dev->max_alloc;
    /* GPUs run the tiled family unless measured otherwise, CPUs the panel
     * family; QSDC_GEMM=tiled, =direct or =panel forces one (gemm_select.h) */
    const char *force = getenv("QSDC_GEMM");
    bool tiled = force && !strcmp(force, "tiled"), panel = force && !strcmp(force, "panel");
    if (tiled || (d->is_gpu && !panel))
        t->gemm_tiles = gemm_tiles_default(d);
    if (force && !strcmp(force, "direct"))
        t->gemm_tiles = gemm_tiles_direct_default(d);
    /* QSDC_LSTM=scalar: every recurrence one unit per work-item, unmeasured
     * (lstm_select.h) */
    const char *lstm = getenv("QSDC_LSTM");
    t->scalar_lstm_all = lstm && !strcmp(lstm, "scalar");
    /* QSDC_WINDOW=rows or =lanes: every window kernel so, whatever the
     * family, unmeasured (window_select.h) */
    const char *window = getenv("QSDC_WINDOW");
    if (window && !strcmp(window, "rows"))
        t->windows = WINDOWS_ROWS;
    if (window && !strcmp(window, "lanes"))
        t->windows = WINDOWS_LANES;
}

static bool debug_kernels(void)
{
    const char *d = getenv("QSDC_DEBUG");
    return d && strstr(d, "kernels");
}

/* cl_check for the calls of a step, remembering the code for the caller. */
static int step_check(executor *ex, cl_int rc, const char *what, qsdc_error *err)
{
    if (rc != CL_SUCCESS)
        ex->fault = rc;
    return cl_check(rc, what, err);
}

/* Builds the plan's source, with the loop guard on a device that needs it
 * (and its flag buffer: no kernel cut short yet, guard loops of 2). */
static int build_source(executor *ex, cl_build_result *br, qsdc_error *err)
{
    if (!ex->loop_limit)
        return cl_build_program(ex->env, ex->p->source, "", br, err);
    strbuf guarded;
    sb_init(&guarded);
    int rc = loop_guard_source(ex->p->source, &guarded, err) < 0
                 ? -1
                 : cl_build_program(ex->env, sb_str(&guarded), "", br, err);
    sb_free(&guarded);
    if (rc < 0)
        return -1;
    cl_uint init[2] = {0, 2};
    cl_int cl_rc;
    ex->loop_flag = clCreateBuffer(ex->env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                   sizeof init, init, &cl_rc);
    return cl_check(cl_rc, "clCreateBuffer (loop guard)", err);
}

/* Fails, naming the kernel, when a guarded kernel was cut short. */
static int check_loop_guard(executor *ex, qsdc_error *err)
{
    cl_uint cut = 0;
    cl_int rc = clEnqueueReadBuffer(ex->env->queue, ex->loop_flag, CL_TRUE, 0, sizeof cut,
                                    &cut, 0, NULL, NULL);
    if (step_check(ex, rc, "clEnqueueReadBuffer (loop guard)", err) < 0)
        return -1;
    if (!cut)
        return 0;
    char name[128];
    loop_guard_kernel_name(ex->p->source, (int)cut - 1, name, sizeof name);
    return qsdc_fail(err, "%s cut kernel %s of %s short: it ends a work-item's loops after "
                     "%u iterations, and this kernel's work-items run more, so its "
                     "results would be wrong; qsdc refuses this model on this device "
                     "(choose another with --device, or a smaller --batch)",
                     ex->env->dev.name, name, ex->p->name, ex->loop_limit);
}

int exec_create(cl_env *env, const plan *p, model_state *ms, executor *ex,
                qsdc_error *err)
{
    return exec_create_from(env, p, ms, NULL, ex, err);
}

int exec_create_from(cl_env *env, const plan *p, model_state *ms, const char *binary,
                     executor *ex, qsdc_error *err)
{
    memset(ex, 0, sizeof *ex);
    ex->env = env;
    ex->p = p;
    ex->timing = debug_kernels();
    const char *lose = getenv("QSDC_TEST_LOSE_DEVICE_AT_STEP");
    ex->lose_at_step = lose && p->loss_offset >= 0 ? atoll(lose) : -1;
    ex->update_launch = plan_update_launch(p);
    if (ex->timing)
        fprintf(stderr, "qsdc: kernels of %s (batch %lld):\n%s\n", p->name,
                (long long)p->batch, p->source);
    ex->loop_limit = env->dev.loop_limit;
    if (ex->loop_limit && (binary || p->binary))
        return qsdc_fail(err, "%s ends a work-item's loops after %u iterations "
                         "(loop_guard.h), and a prebuilt program binary (%s) cannot be "
                         "checked for that: compile the model for this device instead",
                         env->dev.name, ex->loop_limit, binary ? binary : "of the bundle");
    cl_build_result br;
    if (binary ? cl_load_program_binary(env, binary, "", &br, err) < 0
        : p->binary ? cl_build_program_binary(env, p->binary, p->binary_len,
                                              "of the bundle", "", &br, err) < 0
                    : build_source(ex, &br, err) < 0)
        return qsdc_error_wrap(err, "building the kernels of %s", p->name);
    const char *origin = binary     ? binary
                         : p->binary ? "the bundle's program binary"
                                     : "its generated source";
    ex->program = br.program;
    ex->cache_hit = br.cache_hit;
    ex->from_binary = binary || p->binary;
    ex->kernels = calloc((size_t)p->n_launches, sizeof *ex->kernels);
    ex->launch_ms = calloc((size_t)p->n_launches, sizeof *ex->launch_ms);
    if (!ex->kernels || !ex->launch_ms) {
        exec_destroy(ex);
        return qsdc_fail(err, "out of memory");
    }
    if (create_buffer(env, p->arena_elems, 4, &ex->A, "the activations", err) < 0 ||
        create_buffer(env, p->label_elems, 4, &ex->L, "the labels", err) < 0) {
        exec_destroy(ex);
        return -1;
    }
    cl_mem bufs[BUF_COUNT] = {ms->P, ms->G, ms->S, ex->A, ex->L};
    memcpy(ex->bufs, bufs, sizeof bufs);
    for (int i = 0; i < p->n_launches; i++) {
        if (p->launches[i].kind != LAUNCH_KERNEL)
            continue;
        cl_int rc;
        ex->kernels[i] = clCreateKernel(ex->program, p->launches[i].kernel, &rc);
        for (cl_uint a = 0; rc == CL_SUCCESS && a < BUF_COUNT; a++)
            rc = clSetKernelArg(ex->kernels[i], a, sizeof(cl_mem), &bufs[a]);
        if (rc == CL_SUCCESS && ex->loop_flag)
            rc = clSetKernelArg(ex->kernels[i], LOOP_GUARD_ARG, sizeof(cl_mem), &ex->loop_flag);
        if (cl_check(rc, "clCreateKernel", err) < 0) {
            qsdc_error_wrap(err, "kernel %s of plan %s, from %s", p->launches[i].kernel,
                            p->name, origin);
            exec_destroy(ex);
            return -1;
        }
    }
    return 0;
}

void exec_destroy(executor *ex)
{
    if (ex->timing && ex->runs > 0)
        for (int i = 0; i < ex->p->n_launches; i++)
            fprintf(stderr, "qsdc: %-24s %8.3f ms/launch  (%s)\n",
                    ex->p->launches[i].kernel, ex->launch_ms[i] / (double)ex->runs,
                    ex->p->launches[i].nodes);
    for (int i = 0; ex->kernels && i < ex->p->n_launches; i++)
        if (ex->kernels[i])
            clReleaseKernel(ex->kernels[i]);
    free(ex->kernels);
    free(ex->launch_ms);
    if (ex->program)
        clReleaseProgram(ex->program);
    if (ex->A)
        clReleaseMemObject(ex->A);
    if (ex->L)
        clReleaseMemObject(ex->L);
    if (ex->loop_flag)
        clReleaseMemObject(ex->loop_flag);
    memset(ex, 0, sizeof *ex);
}

/* Enqueues the batch's writes; blocking, or with *done the last write's
 * event (the queue is in order). */
static int write_batch(executor *ex, const float *x, const int32_t *labels, cl_event *done,
                       qsdc_error *err)
{
    const plan *p = ex->p;
    cl_bool blocking = done ? CL_FALSE : CL_TRUE;
    bool with_labels = labels && p->label_elems > 0;
    cl_int rc = clEnqueueWriteBuffer(ex->env->queue, ex->A, blocking,
                                     (size_t)p->input_offset * 4,
                                     (size_t)p->input_elems * 4, x, 0, NULL,
                                     with_labels ? NULL : done);
    if (rc == CL_SUCCESS && with_labels)
        rc = clEnqueueWriteBuffer(ex->env->queue, ex->L, blocking, 0,
                                  (size_t)p->label_elems * 4, labels, 0, NULL, done);
    return step_check(ex, rc, "clEnqueueWriteBuffer", err);
}

int exec_set_batch(executor *ex, const float *x, const int32_t *labels, qsdc_error *err)
{
    return write_batch(ex, x, labels, NULL, err);
}

int exec_set_batch_async(executor *ex, const float *x, const int32_t *labels, cl_event *done,
                         qsdc_error *err)
{
    return write_batch(ex, x, labels, done, err);
}

int exec_clblast_gemm(executor *ex, const plan_gemm *g, cl_event *ev, qsdc_error *err)
{
    CLBlastStatusCode rc = CLBlastSgemm(
        CLBlastLayoutRowMajor, g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)g->m, (size_t)g->n,
        (size_t)g->k, 1.0f, ex->bufs[g->a_buf], (size_t)g->a_off, (size_t)g->lda,
        ex->bufs[g->b_buf], (size_t)g->b_off, (size_t)g->ldb, g->accumulate ? 1.0f : 0.0f,
        ex->bufs[g->c_buf], (size_t)g->c_off, (size_t)g->ldc, &ex->env->queue, ev);
    if (rc != CLBlastSuccess)
        return qsdc_fail(err, "CLBlastSgemm (%lldx%lldx%lld): CLBlast status %d",
                         (long long)g->m, (long long)g->n, (long long)g->k, (int)rc);
    return 0;
}

static int enqueue(executor *ex, int i, cl_event *ev, qsdc_error *err)
{
    const plan_launch *l = &ex->p->launches[i];
    if (l->kind == LAUNCH_CLBLAST_GEMM)
        return exec_clblast_gemm(ex, &l->gemm, ev, err);
    size_t global[3], local[3], offset[3];
    for (int d = 0; d < l->work_dim; d++) {
        global[d] = (size_t)l->global[d];
        local[d] = (size_t)l->local[d];
        offset[d] = (size_t)l->offset[d];
    }
    cl_int rc = clEnqueueNDRangeKernel(ex->env->queue, ex->kernels[i], (cl_uint)l->work_dim,
                                       offset, global, l->local[0] ? local : NULL, 0, NULL,
                                       ev);
    return step_check(ex, rc, "clEnqueueNDRangeKernel", err);
}

int exec_run(executor *ex, uint32_t seed, uint32_t step, float lr, qsdc_error *err)
{
    return exec_run_launches(ex, 0, ex->p->n_launches, seed, step, lr, err);
}

int exec_run_launches(executor *ex, int first, int end, uint32_t seed, uint32_t step,
                      float lr, qsdc_error *err)
{
    const plan *p = ex->p;
    if (first == 0 && (int64_t)step == ex->lose_at_step)
        return step_check(ex, CL_DEVICE_NOT_AVAILABLE,
                          "clEnqueueNDRangeKernel (QSDC_TEST_LOSE_DEVICE_AT_STEP)", err);
    for (int i = first; i < end; i++) {
        const plan_launch *l = &p->launches[i];
        cl_kernel k = ex->kernels[i];
        cl_int rc = k ? clSetKernelArg(k, 5, sizeof seed, &seed) : CL_SUCCESS;
        if (k && rc == CL_SUCCESS)
            rc = clSetKernelArg(k, 6, sizeof step, &step);
        if (k && rc == CL_SUCCESS)
            rc = clSetKernelArg(k, 7, sizeof lr, &lr);
        if (k && rc == CL_SUCCESS)
            rc = clSetKernelArg(k, 8, sizeof ex->sample0, &ex->sample0);
        cl_event ev = NULL;
        double host0 = ex->timing ? now_seconds() : 0;
        if (step_check(ex, rc, "clSetKernelArg", err) < 0 ||
            enqueue(ex, i, ex->timing ? &ev : NULL, err) < 0)
            return qsdc_error_wrap(err, "launching %s", l->kernel);
        if (ev) {
            cl_ulong t0 = 0, t1 = 0;
            clWaitForEvents(1, &ev);
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            /* Mesa 22's rusticl reports timestamps that do not advance with
             * time (2 and 3 ns): such a launch is timed on the host, from
             * enqueue to completion */
            ex->launch_ms[i] += t1 > t0 + 1000 ? (double)(t1 - t0) * 1e-6
                                               : (now_seconds() - host0) * 1e3;
            clReleaseEvent(ev);
        }
    }
    if (end == p->n_launches)
        ex->runs++;
    return ex->loop_flag ? check_loop_guard(ex, err) : 0;
}

double exec_launch_ms(executor *ex, int i, int reps, qsdc_error *err)
{
    double best = -1;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_seconds();
        if (enqueue(ex, i, NULL, err) < 0 ||
            cl_check(clFinish(ex->env->queue), "clFinish", err) < 0)
            return -1;
        double ms = (now_seconds() - t0) * 1e3;
        if (r > 0 && (best < 0 || ms < best)) /* r = 0 warms caches and compilers */
            best = ms;
    }
    return best;
}

static int read_arena(executor *ex, int64_t offset, int64_t n, float *dst, cl_event *done,
                      qsdc_error *err)
{
    cl_int rc = clEnqueueReadBuffer(ex->env->queue, ex->A, done ? CL_FALSE : CL_TRUE,
                                    (size_t)offset * 4, (size_t)n * 4, dst, 0, NULL, done);
    return step_check(ex, rc, "clEnqueueReadBuffer", err);
}

int exec_read_arena(executor *ex, int64_t offset, int64_t n, float *dst, qsdc_error *err)
{
    return read_arena(ex, offset, n, dst, NULL, err);
}

int exec_read_arena_async(executor *ex, int64_t offset, int64_t n, float *dst, cl_event *done,
                          qsdc_error *err)
{
    if (read_arena(ex, offset, n, dst, done, err) < 0)
        return -1;
    return step_check(ex, clFlush(ex->env->queue), "clFlush", err);
}
