/* Host twin of kernels/qsd.cl: the words are drawn in the same order and
 * combined with the same float operations (C11 mode: no fused multiply-add),
 * with the C library's sqrt and exp in place of OpenCL's. */
#include "ref_qsd.h"

#include <math.h>
#include <string.h>
#include <Random123/philox.h>

#define BINOMIAL_CHUNK 32
#define MAX_TRIES 64

typedef struct stream {
    philox4x32_key_t key;
    philox4x32_ctr_t ctr;
    philox4x32_ctr_t out;
    unsigned used;
} stream;

static stream stream_in(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                        uint32_t space)
{
    stream s = {
        .key = {{seed, rng_id}},
        .ctr = {{group, step, space, 0}},
    };
    s.out = philox4x32_R(10, s.ctr, s.key);
    return s;
}

static uint32_t next_word(stream *s)
{
    if (s->used == 4) {
        s->ctr.v[3]++;
        s->out = philox4x32_R(10, s->ctr, s->key);
        s->used = 0;
    }
    return s->out.v[s->used++];
}

static float uniform(uint32_t w) /* [0, 1), 24 bits */
{
    return (float)(w >> 8) * 0x1.0p-24f;
}

static float uniform_open(uint32_t w) /* (0, 1), (j + 1/2) / 2^23 */
{
    return ((float)(w >> 9) + 0.5f) * 0x1.0p-23f;
}

/* qsd_log: log of a positive normal float from basic operations only */
static float log_basic(float x)
{
    uint32_t ix;
    memcpy(&ix, &x, sizeof ix);
    ix += 0x3f800000u - 0x3f3504f3u;
    float k = (float)((int)(ix >> 23) - 0x7f);
    uint32_t mbits = (ix & 0x007fffffu) + 0x3f3504f3u;
    float m;
    memcpy(&m, &mbits, sizeof m);
    float f = m - 1.0f;
    float s = f / (2.0f + f), z = s * s, w = z * z;
    float R = z * (0x1.555556p-1f + w * 0x1.24924ap-2f) +
              w * (0x1.99999ap-2f + w * 0x1.c71c72p-3f);
    float hfsq = 0.5f * f * f;
    return s * (hfsq + R) + k * 0x1.7f7d1cp-20f - hfsq + f + k * 0x1.62e4p-1f;
}

/* qsd_normal: -PPND7 of the low 31 bits, sign from the top bit */
static float normal(uint32_t w)
{
    float u = ((float)(w & 0x7fffffffu) + 0.5f) * 0x1.0p-32f;
    float q = u - 0.5f, z;
    if (q >= -0.425f) {
        float r = 0.180625f - q * q;
        z = q * (((59.109374720f * r + 159.29113202f) * r + 50.434271938f) * r +
                 3.3871327179f) /
            (((67.187563600f * r + 78.757757664f) * r + 17.895169469f) * r + 1.0f);
    } else {
        float r = sqrtf(-log_basic(u)) - 1.6f;
        z = -(((0.17023821103f * r + 1.3067284816f) * r + 2.7568153900f) * r +
              1.4234372777f) /
            ((0.12021132975f * r + 0.73700164250f) * r + 1.0f);
    }
    return (w >> 31) ? -z : z;
}

static float gamma_ge1(stream *s, float a)
{
    float d = a - 1.0f / 3.0f;
    float c = 1.0f / sqrtf(9.0f * d);
    for (int i = 0; i < MAX_TRIES; i++) {
        float z = normal(next_word(s));
        float u = uniform_open(next_word(s));
        float v = 1.0f + c * z;
        if (v <= 0.0f)
            continue;
        v = v * v * v;
        float z2 = z * z;
        if (u < 1.0f - 0.0331f * z2 * z2)
            return d * v;
        if (log_basic(u) < 0.5f * z2 + d * (1.0f - v + log_basic(v)))
            return d * v;
    }
    return d;
}

static float gamma_boost_log(stream *s, float a)
{
    return log_basic(uniform_open(next_word(s))) / a;
}

static float gamma_draw(stream *s, float a)
{
    if (a >= 1.0f)
        return gamma_ge1(s, a);
    float g = gamma_ge1(s, a + 1.0f);
    return g * expf(gamma_boost_log(s, a));
}

static float log_gamma_draw(stream *s, float a)
{
    if (a >= 1.0f)
        return log_basic(gamma_ge1(s, a));
    float g = gamma_ge1(s, a + 1.0f);
    return log_basic(g) + gamma_boost_log(s, a);
}

static float beta_draw(stream *s, float p, float conc)
{
    float lx = log_gamma_draw(s, p * conc);
    float ly = log_gamma_draw(s, (1.0f - p) * conc);
    return 1.0f / (1.0f + expf(ly - lx));
}

int ref_qsd_binomial_chunk(uint32_t w, int m, float P)
{
    float u = uniform(w), Q = 1.0f - P;
    float qpow[BINOMIAL_CHUNK + 1];
    qpow[0] = 1.0f;
    for (int i = 1; i <= m; i++)
        qpow[i] = qpow[i - 1] * Q;
    float ppow = 1.0f, F = 0.0f;
    uint64_t binom = 1;
    int k = 0;
    for (int j = 0; j < m; j++) {
        F += (float)binom * ppow * qpow[m - j];
        k += u >= F;
        ppow *= P;
        binom = binom * (uint64_t)(m - j) / (uint64_t)(j + 1);
    }
    return k;
}

static int binomial(stream *s, int n, float P)
{
    if (n == 1)
        return uniform(next_word(s)) < P;
    int k = 0;
    for (int done = 0; done < n; done += BINOMIAL_CHUNK) {
        int m = n - done < BINOMIAL_CHUNK ? n - done : BINOMIAL_CHUNK;
        k += ref_qsd_binomial_chunk(next_word(s), m, P);
    }
    return k;
}

float ref_qsd_mask(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                   float p, int sites, float q_cv, float conc)
{
    stream s = stream_in(seed, rng_id, step, group, 0);
    float P = (conc > 0.0f && p < 1.0f) ? beta_draw(&s, p, conc) : p;
    int k = binomial(&s, sites, P);
    float scale = 1.0f / ((float)sites * p);
    if (q_cv == 0.0f || k == 0)
        return (float)k * scale;
    float v2 = q_cv * q_cv;
    return gamma_draw(&s, (float)k / v2) * (v2 * scale);
}

float ref_qsd_mask_unit(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                        uint32_t unit, float p, int sites, float q_cv, float conc,
                        float anneal)
{
    stream u = stream_in(seed, rng_id, step, unit, 1);
    float c = conc * (1.0f + anneal * (float)step);
    float P = (conc > 0.0f && p < 1.0f) ? beta_draw(&u, p, c) : p;
    float v2 = q_cv * q_cv;
    float gain = q_cv > 0.0f ? gamma_draw(&u, 1.0f / v2) * v2 : 1.0f;
    stream s = stream_in(seed, rng_id, step, group, 0);
    int k = binomial(&s, sites, P);
    return (float)k * gain * (1.0f / ((float)sites * p));
}

uint32_t ref_qsd_group_channel(uint32_t idx, uint32_t C, uint32_t HW)
{
    uint32_t sample = idx / (C * HW), channel = idx / HW % C;
    return sample * C + channel;
}

uint32_t ref_qsd_group_time(uint32_t idx, uint32_t T, uint32_t U)
{
    uint32_t sample = idx / (T * U), unit = idx % U;
    return sample * U + unit;
}
