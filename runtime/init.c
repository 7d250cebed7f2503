#include "init.h"

#include <math.h>
#include <string.h>
#include <Random123/philox.h>

double philox_uniform(uint64_t seed, uint32_t stream, uint64_t i)
{
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32) ^ stream}};
    philox4x32_ctr_t c = {{(uint32_t)i, (uint32_t)(i >> 32), stream, 0x51d3u}};
    philox4x32_ctr_t r = philox4x32(c, k);
    uint64_t bits = ((uint64_t)r.v[0] << 21) ^ (uint64_t)r.v[1];
    return (double)(bits & ((1ULL << 53) - 1)) / 9007199254740992.0;
}

void philox_permutation(uint64_t seed, uint32_t stream, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(philox_uniform(seed, stream, (uint64_t)i) * (double)(i + 1));
        if (j > i)
            j = i;
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void params_init(const plan *p, uint64_t seed, float *params)
{
    memset(params, 0, (size_t)p->param_elems * sizeof *params);
    for (int t = 0; t < p->n_tensors; t++) {
        const plan_tensor *pt = &p->tensors[t];
        if (pt->buffer != BUF_P || pt->init == INIT_ZEROS)
            continue;
        if (pt->init == INIT_BN_AFFINE || pt->init == INIT_BN_RUNNING) {
            /* [2, C]: gamma 1 then beta 0; running mean 0 then variance 1 */
            int64_t half = pt->nelem / 2, ones = pt->init == INIT_BN_AFFINE ? 0 : half;
            for (int64_t i = 0; i < half; i++)
                params[pt->offset + ones + i] = 1.0f;
            continue;
        }
        if (pt->init == INIT_NORMAL) {
            /* Box-Muller on two uniforms per element */
            for (int64_t i = 0; i < pt->nelem; i++) {
                double u1 = philox_uniform(seed, 0x1000u + (uint32_t)t, 2 * (uint64_t)i);
                double u2 = philox_uniform(seed, 0x1000u + (uint32_t)t, 2 * (uint64_t)i + 1);
                params[pt->offset + i] =
                    (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
            }
            continue;
        }
        double limit = pt->init == INIT_HE
                           ? sqrt(6.0 / (double)pt->fan_in)
                           : sqrt(6.0 / (double)(pt->fan_in + pt->fan_out));
        for (int64_t i = 0; i < pt->nelem; i++) {
            double u = philox_uniform(seed, 0x1000u + (uint32_t)t, (uint64_t)i);
            params[pt->offset + i] = (float)((2.0 * u - 1.0) * limit);
        }
    }
}
