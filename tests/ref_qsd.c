/* Host twin of kernels/qsd.cl: the words are drawn in the same order and
 * combined with the same float operations (C11 mode: no fused multiply-add),
 * with the C library's float math in place of OpenCL's. */
#include "ref_qsd.h"

#include <math.h>
#include <Random123/philox.h>

#define COUNT_MAX_SITES 64
#define INVERSION_CHUNK 64
#define MAX_TRIES 64

typedef struct stream {
    philox4x32_key_t key;
    philox4x32_ctr_t ctr;
    philox4x32_ctr_t out;
    unsigned used;
    float spare;
    int has_spare;
} stream;

static stream stream_start(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group)
{
    stream s = {
        .key = {{seed, rng_id}},
        .ctr = {{group, step, 0, 0}},
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

static float normal(stream *s)
{
    if (s->has_spare) {
        s->has_spare = 0;
        return s->spare;
    }
    float r = sqrtf(-2.0f * logf(uniform_open(next_word(s))));
    float t = 6.28318530717958648f * uniform(next_word(s));
    s->spare = r * sinf(t);
    s->has_spare = 1;
    return r * cosf(t);
}

static float gamma_ge1(stream *s, float a)
{
    float d = a - 1.0f / 3.0f;
    float c = 1.0f / sqrtf(9.0f * d);
    for (int i = 0; i < MAX_TRIES; i++) {
        float z = normal(s);
        float v = 1.0f + c * z;
        if (v <= 0.0f)
            continue;
        v = v * v * v;
        float u = uniform_open(next_word(s));
        float z2 = z * z;
        if (u < 1.0f - 0.0331f * z2 * z2)
            return d * v;
        if (logf(u) < 0.5f * z2 + d * (1.0f - v + logf(v)))
            return d * v;
    }
    return d;
}

static float gamma_boost_log(stream *s, float a)
{
    return logf(uniform_open(next_word(s))) / a;
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
        return logf(gamma_ge1(s, a));
    float g = gamma_ge1(s, a + 1.0f);
    return logf(g) + gamma_boost_log(s, a);
}

static float beta_draw(stream *s, float p, float conc)
{
    float lx = log_gamma_draw(s, p * conc);
    float ly = log_gamma_draw(s, (1.0f - p) * conc);
    return 1.0f / (1.0f + expf(ly - lx));
}

static int binomial_inversion(stream *s, int n, float P)
{
    int flip = P > 0.5f;
    float q = flip ? 1.0f - P : P;
    float odds = q / (1.0f - q);
    int k = 0;
    for (int done = 0; done < n; done += INVERSION_CHUNK) {
        int sites = n - done < INVERSION_CHUNK ? n - done : INVERSION_CHUNK;
        float f = expf((float)sites * log1pf(-q));
        float u = uniform(next_word(s));
        int j = 0;
        while (j < sites && u >= f) {
            u -= f;
            j++;
            f *= odds * (float)(sites - j + 1) / (float)j;
        }
        k += j;
    }
    return flip ? n - k : k;
}

static int binomial(stream *s, int n, float P)
{
    if (n > COUNT_MAX_SITES)
        return binomial_inversion(s, n, P);
    int k = 0;
    for (int i = 0; i < n; i++)
        k += uniform(next_word(s)) < P;
    return k;
}

float ref_qsd_mask(uint32_t seed, uint32_t rng_id, uint32_t step, uint32_t group,
                   float p, int sites, float q_cv, float conc)
{
    stream s = stream_start(seed, rng_id, step, group);
    float P = (conc > 0.0f && p < 1.0f) ? beta_draw(&s, p, conc) : p;
    int k = binomial(&s, sites, P);
    float scale = 1.0f / ((float)sites * p);
    if (q_cv == 0.0f || k == 0)
        return (float)k * scale;
    float v2 = q_cv * q_cv;
    return gamma_draw(&s, (float)k / v2) * (v2 * scale);
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
