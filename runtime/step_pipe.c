#include "step_pipe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int step_pipe_init(step_pipe *sp, int64_t x_elems, int64_t y_elems, int64_t n_loss,
                   qsdc_error *err)
{
    memset(sp, 0, sizeof *sp);
    sp->n_loss = n_loss;
    for (int i = 0; i < 2; i++) {
        step_slot *s = &sp->slot[i];
        s->x = malloc((size_t)(x_elems > 0 ? x_elems : 1) * sizeof *s->x);
        s->y = malloc((size_t)(y_elems > 0 ? y_elems : 1) * sizeof *s->y);
        s->loss = malloc((size_t)(n_loss > 0 ? n_loss : 1) * sizeof *s->loss);
        if (!s->x || !s->y || !s->loss) {
            step_pipe_free(sp);
            return qsdc_fail(err, "out of memory");
        }
    }
    return 0;
}

static void release(cl_event *ev)
{
    if (*ev) {
        clWaitForEvents(1, ev);
        clReleaseEvent(*ev);
        *ev = NULL;
    }
}

void step_pipe_free(step_pipe *sp)
{
    for (int i = 0; i < 2; i++) {
        step_slot *s = &sp->slot[i];
        release(&s->uploaded);
        release(&s->loss_read);
        free(s->x);
        free(s->y);
        free(s->loss);
    }
    memset(sp, 0, sizeof *sp);
}

static step_slot *slot_of(step_pipe *sp, int64_t n)
{
    return &sp->slot[n % 2];
}

int step_pipe_collect(step_pipe *sp, int64_t in_flight, qsdc_error *err)
{
    while (sp->issued - sp->collected > in_flight) {
        step_slot *s = slot_of(sp, sp->collected);
        cl_int rc = s->loss_read ? clWaitForEvents(1, &s->loss_read) : CL_SUCCESS;
        release(&s->loss_read);
        release(&s->uploaded);
        if (rc != CL_SUCCESS) {
            sp->fault = rc;
            return cl_check(rc, "clWaitForEvents", err);
        }
        sp->collected++;
        double sum = 0;
        for (int64_t i = 0; i < sp->n_loss; i++)
            sum += s->loss[i];
        if (!isfinite(sum) && !sp->nonfinite) {
            sp->nonfinite = true;
            sp->nonfinite_step = s->step;
        }
        sp->loss_sum += sum;
        sp->loss_count += sp->n_loss;
    }
    return 0;
}

int step_pipe_next(step_pipe *sp, step_slot **slot, qsdc_error *err)
{
    if (step_pipe_collect(sp, 1, err) < 0)
        return -1;
    *slot = slot_of(sp, sp->issued);
    return 0;
}

int step_pipe_issue(step_pipe *sp, replicas *r, uint32_t seed, uint64_t step, float lr,
                    qsdc_error *err)
{
    step_slot *s = slot_of(sp, sp->issued);
    s->step = step;
    if (r->n > 1 || r->ranks.size > 1) {
        if (replicas_step(r, s->x, s->y, seed, (uint32_t)step, lr, err) < 0 ||
            replicas_read_loss(r, s->loss, err) < 0)
            return -1;
        sp->issued++;
        return 0;
    }
    executor *ex = r->ex[0];
    int64_t loss_offset = ex->p->loss_offset;
    if (exec_set_batch_async(ex, s->x, s->y, &s->uploaded, err) < 0 ||
        exec_run(ex, seed, (uint32_t)step, lr, err) < 0 ||
        exec_read_arena_async(ex, loss_offset, sp->n_loss, s->loss, &s->loss_read, err) < 0) {
        release(&s->uploaded);
        release(&s->loss_read);
        return -1;
    }
    sp->issued++;
    return 0;
}
