/* The words plan.yaml uses for enum values, shared by its writer and reader. */
#ifndef QSDC_PLAN_YAML_NAMES_H
#define QSDC_PLAN_YAML_NAMES_H

#include <stddef.h>

#include "plan.h"

#define PLAN_YAML_FORMAT 3

/* NULL-terminated, as ydoc_choice wants. */
static const char *const plan_buffer_names[BUF_COUNT + 1] = {
    [BUF_P] = "P", [BUF_G] = "G", [BUF_S] = "S", [BUF_A] = "A", [BUF_L] = "L",
    [BUF_COUNT] = NULL,
};

/* Where each buffer's size lives in the plan record. */
static const size_t plan_buffer_field[BUF_COUNT] = {
    [BUF_P] = offsetof(plan, param_elems), [BUF_G] = offsetof(plan, grad_elems),
    [BUF_S] = offsetof(plan, state_elems), [BUF_A] = offsetof(plan, arena_elems),
    [BUF_L] = offsetof(plan, label_elems),
};

static inline int64_t plan_buffer_elems(const plan *p, int b)
{
    return *(const int64_t *)((const char *)p + plan_buffer_field[b]);
}

static const char *const plan_init_names[] = {
    [INIT_AUTO] = "auto", [INIT_HE] = "he", [INIT_GLOROT] = "glorot",
    [INIT_ZEROS] = "zeros", [INIT_BN_AFFINE] = "bn_affine",
    [INIT_BN_RUNNING] = "bn_running", [INIT_NORMAL] = "normal", NULL,
};

static const char *const plan_launch_kind_names[] = {
    [LAUNCH_KERNEL] = "kernel", [LAUNCH_CLBLAST_GEMM] = "clblast_gemm", NULL,
};

#define PLAN_INIT_COUNT ((int)(sizeof plan_init_names / sizeof plan_init_names[0]) - 1)

#endif
