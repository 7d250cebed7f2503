#include "gemm_family.h"

bool gemm_tiles_fit(const gemm_tiles *t, const device_profile *d)
{
    uint64_t items = (uint64_t)t->items_m * (uint64_t)t->items_n;
    uint64_t staged = t->direct ? 0 : 4 * (uint64_t)t->k *
                      ((uint64_t)t->items_m * t->block_m + (uint64_t)t->items_n * t->block_n);
    /* a profile that says nothing (plans compiled again from plan.yaml)
     * holds the sizes OpenCL 1.2 guarantees: 32 KiB of __local memory;
     * work-group sizes have no floor, so those limits are taken as met */
    uint64_t local = d->local_mem ? d->local_mem : 32 * 1024;
    return t->items_m > 0 && t->items_n > 0 && t->block_m > 0 && t->block_n > 0 && t->k > 0 &&
           (!d->max_work_group || items <= d->max_work_group) &&
           (!d->max_items[0] || (uint64_t)t->items_n <= d->max_items[0]) &&
           (!d->max_items[1] || (uint64_t)t->items_m <= d->max_items[1]) && staged <= local;
}

gemm_tiles gemm_tiles_default(const device_profile *d)
{
    gemm_tiles t = {8, 8, 8, 8, 16, false};
    while (!gemm_tiles_fit(&t, d) && t.items_m * t.items_n > 1) {
        if (t.items_n >= t.items_m)
            t.items_n /= 2;
        else
            t.items_m /= 2;
    }
    while (!gemm_tiles_fit(&t, d) && t.k > 1)
        t.k /= 2;
    return t;
}

gemm_tiles gemm_tiles_direct_default(const device_profile *d)
{
    gemm_tiles t = gemm_tiles_default(d);
    t.direct = true;
    t.k = 4;
    return t;
}

int gemm_tiles_candidates(const device_profile *d, gemm_tiles *out, int max)
{
    /* 64 x 64 blocks of C in 64 work-items of 8 x 8 (on llvmpipe 1.3-1.7x
     * CLBlast at the MLP's 1024-wide products, where 256 of 4 x 4 ran 2.5x
     * slower) or in 256 of 4 x 4 (GPUs' usual work-group); 32 x 32 in 64
     * (more work-groups for small products); 32 x 16 in 16 work-items for
     * C narrower than a block (the output layer's 10 columns: 1.5x CLBlast
     * there, 64 x 64 blocks 0.5x); 64 x 64 in 32 work-items of 16 x 8
     * (on llvmpipe, where every work-item's float takes a whole SIMD
     * register and every element loaded costs alike, 1.2-1.5x the 8 x 8's
     * at the MLP's 1024-wide products: a quarter fewer loads a product);
     * and direct, unstaged: 64 x 256 in 128 work-items of 16 x 8, one or
     * four steps of K at a time (on llvmpipe 2-4x the staged tiles' rate
     * at the MLP's 1024-wide products, the order of K steps winning by
     * transpose), and 128 x 64 in 128 of 8 x 8 (its 128 x 10 output
     * layer: 2.5x the wider tiles); and direct 32 x 16 in 16 of 8 x 4
     * for small products summed over a batch (the CNN's first conv2d
     * weight gradient, 32 x 9 x 784 for each of 128 samples: 23 ms a step
     * on llvmpipe, where the staged 32 x 16's barriers took 66 ms) */
    static const gemm_tiles all[] = {
        {8, 8, 8, 8, 16, false}, {16, 16, 4, 4, 16, false}, {8, 8, 4, 4, 16, false},
        {4, 4, 8, 4, 16, false}, {4, 8, 16, 8, 16, false},  {4, 32, 16, 8, 1, true},
        {4, 32, 16, 8, 4, true}, {8, 16, 8, 8, 4, true}, {4, 4, 8, 4, 4, true},
    };
    int n = 0;
    for (int i = 0; i < (int)(sizeof all / sizeof *all) && n < max; i++)
        if (gemm_tiles_fit(&all[i], d))
            out[n++] = all[i];
    return n;
}
