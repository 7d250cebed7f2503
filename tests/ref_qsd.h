/* Host reference for kernels/qsd.cl: the same QSD mask draws in plain C with
 * Random123's host Philox, so tests can compare device masks with host ones.
 * Settings without gamma or beta draws (q_cv 0, conc 0) match the device
 * bit for bit; elsewhere the device's exp, sqrt and division may differ by
 * a few ulp. */
#ifndef QSDC_REF_QSD_H
#define QSDC_REF_QSD_H

#include <stdint.h>

/* The multiplier m of one draw: key (seed, rng_id), counter (group, step, 0,
 * block). p in (0, 1], sites >= 1, q_cv >= 0, conc >= 0 (0 = homogeneous). */
float ref_qsd_mask(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                   float p, int sites, float q_cv, float conc);

/* hetero: unit's multiplier (qsd_mask_unit): the unit's P and gain from
 * counter (unit, step, 1, block), then the group's binomial count from
 * (group, step, 0, block); anneal >= 0 grows conc with the step. */
float ref_qsd_mask_unit(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                        uint32_t unit, float p, int sites, float q_cv, float conc,
                        float anneal);

/* qsd_binomial_chunk: Binomial(m, P), 1 <= m <= 32, by inversion of the
 * word w, as the device computes it. */
int ref_qsd_binomial_chunk(uint32_t w, int m, float P);

/* Sharing groups by explicit coordinates. channel: idx over [N, C, HW];
 * time: idx over [B, T, U]. */
uint32_t ref_qsd_group_channel(uint32_t idx, uint32_t C, uint32_t HW);
uint32_t ref_qsd_group_time(uint32_t idx, uint32_t T, uint32_t U);

#endif
