/* A device as its OpenCL queries describe it, as plain data: what the
 * runtime reads from the driver (cl_device.c) and the compiler shapes
 * kernels for (codegen_target.h), without OpenCL's headers. */
#ifndef QSDC_DEVICE_PROFILE_H
#define QSDC_DEVICE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct device_profile {
    bool is_cpu, is_gpu;
    unsigned compute_units;
    uint64_t max_work_group;    /* work-items in one work-group */
    uint64_t max_items[3];      /* work-items along each dimension */
    uint64_t local_mem;         /* bytes of __local memory per work-group */
    bool local_mem_dedicated;   /* CL_LOCAL: on-chip, not carved from global */
    unsigned pref_vector_float, pref_vector_int;
    /* lanes of a subgroup (warp, wavefront) where an extension reports it:
     * the widest of cl_intel_required_subgroup_size's, cl_nv's warp,
     * cl_amd's wavefront; 0 when none does */
    unsigned subgroup_size;
    uint64_t max_alloc;         /* bytes of the largest buffer */
} device_profile;

#endif
