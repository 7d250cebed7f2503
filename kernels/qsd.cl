/* Quantal Synaptic Dilution masks (docs: QSD.md). One draw of the multiplier
 *   P ~ Beta(p c, (1-p) c) (P = p when c = 0),  K ~ Binomial(n, P),
 *   G ~ Gamma(K / v^2, scale v^2) (G = K when v = 0),  m = G / (n p).
 * Needs philox.cl before it. tests/ref_qsd.c is the host twin of this file:
 * a change to the order in which words are drawn must be made in both.
 *
 * Word stream: Philox4x32-10 with key {seed, rng_id} and counter
 * {group, step, 0, block}; a draw consumes 32-bit words in a fixed order
 * (beta, then binomial, then quantal gamma), block advancing every 4 words.
 * FP_CONTRACT is off inside these functions so that a*b+c rounds as on the
 * host reference (no fused multiply-add). */

#define QSD_COUNT_MAX_SITES 64  /* K by counting Bernoulli draws up to here */
#define QSD_INVERSION_CHUNK 64  /* sites per inversion chunk above it */
#define QSD_MAX_TRIES 64        /* Marsaglia-Tsang attempts per gamma draw */

typedef struct qsd_stream {
    philox4x32_key_t key;
    philox4x32_ctr_t ctr;
    philox4x32_ctr_t out;   /* Philox output for block ctr.v[3] */
    uint used;              /* words of out already consumed */
    float spare;            /* Box-Muller's second normal, when has_spare */
    int has_spare;
} qsd_stream;

inline qsd_stream qsd_stream_start(uint seed, uint rng_id, uint step, uint group)
    __attribute__((always_inline));
inline qsd_stream qsd_stream_start(uint seed, uint rng_id, uint step, uint group)
{
    qsd_stream s;
    s.key.v[0] = seed;
    s.key.v[1] = rng_id;
    s.ctr.v[0] = group;
    s.ctr.v[1] = step;
    s.ctr.v[2] = 0u;
    s.ctr.v[3] = 0u;
    s.out = philox4x32_R(10, s.ctr, s.key);
    s.used = 0u;
    s.spare = 0.0f;
    s.has_spare = 0;
    return s;
}

inline uint qsd_next_word(qsd_stream *s) __attribute__((always_inline));
inline uint qsd_next_word(qsd_stream *s)
{
    if (s->used == 4u) {
        s->ctr.v[3] += 1u;
        s->out = philox4x32_R(10, s->ctr, s->key);
        s->used = 0u;
    }
    uint i = s->used++;
    /* selects rather than s->out.v[i]: no dynamically indexed private array */
    return i == 0u ? s->out.v[0] : i == 1u ? s->out.v[1] : i == 2u ? s->out.v[2] : s->out.v[3];
}

/* [0, 1) with 24-bit resolution, exact in float: for Bernoulli (u < P). */
inline float qsd_uniform(uint w) __attribute__((always_inline));
inline float qsd_uniform(uint w)
{
    return (float)(w >> 8) * 0x1.0p-24f;
}

/* (0, 1) open, (j + 1/2) / 2^23 for the top 23 bits j: exact in float, and
 * in [2^-24, 1 - 2^-24], so log() is finite and below 0. */
inline float qsd_uniform_open(uint w) __attribute__((always_inline));
inline float qsd_uniform_open(uint w)
{
    return ((float)(w >> 9) + 0.5f) * 0x1.0p-23f;
}

/* Standard normal by Box-Muller; each pair of words gives two normals. */
float qsd_normal(qsd_stream *s)
{
#pragma OPENCL FP_CONTRACT OFF
    if (s->has_spare) {
        s->has_spare = 0;
        return s->spare;
    }
    float r = sqrt(-2.0f * log(qsd_uniform_open(qsd_next_word(s))));
    float t = 6.28318530717958648f * qsd_uniform(qsd_next_word(s));
    s->spare = r * sin(t);
    s->has_spare = 1;
    return r * cos(t);
}

/* Gamma(a, 1) for a >= 1, Marsaglia-Tsang (2000). Each attempt is accepted
 * with probability > 0.95, so QSD_MAX_TRIES failures (< 1e-83) never happen
 * in practice; the loop still ends then, returning d = a - 1/3 (a value near
 * the mode), so a kernel cannot hang whatever the words are. */
float qsd_gamma_ge1(qsd_stream *s, float a)
{
#pragma OPENCL FP_CONTRACT OFF
    float d = a - 1.0f / 3.0f;
    float c = 1.0f / sqrt(9.0f * d);
    for (int i = 0; i < QSD_MAX_TRIES; i++) {
        float z = qsd_normal(s);
        float v = 1.0f + c * z;
        if (v <= 0.0f)
            continue;
        v = v * v * v;
        float u = qsd_uniform_open(qsd_next_word(s));
        float z2 = z * z;
        if (u < 1.0f - 0.0331f * z2 * z2)
            return d * v;
        if (log(u) < 0.5f * z2 + d * (1.0f - v + log(v)))
            return d * v;
    }
    return d;
}

/* log(U) / a, the log of the boost factor U^(1/a) that turns a
 * Gamma(a + 1, 1) draw into a Gamma(a, 1) draw for a < 1. */
float qsd_gamma_boost_log(qsd_stream *s, float a)
{
    return log(qsd_uniform_open(qsd_next_word(s))) / a;
}

/* Gamma(a, 1), a > 0. */
float qsd_gamma(qsd_stream *s, float a)
{
    if (a >= 1.0f)
        return qsd_gamma_ge1(s, a);
    float g = qsd_gamma_ge1(s, a + 1.0f);
    return g * exp(qsd_gamma_boost_log(s, a));
}

/* log of a Gamma(a, 1) draw, a > 0: finite even where the draw itself would
 * underflow (tiny a), as Beta draws with small p c need. */
float qsd_log_gamma(qsd_stream *s, float a)
{
    if (a >= 1.0f)
        return log(qsd_gamma_ge1(s, a));
    float g = qsd_gamma_ge1(s, a + 1.0f);
    return log(g) + qsd_gamma_boost_log(s, a);
}

/* Beta(p c, (1-p) c) as X / (X + Y) = 1 / (1 + exp(log Y - log X)). 0 < p < 1. */
float qsd_beta(qsd_stream *s, float p, float conc)
{
#pragma OPENCL FP_CONTRACT OFF
    float lx = qsd_log_gamma(s, p * conc);
    float ly = qsd_log_gamma(s, (1.0f - p) * conc);
    return 1.0f / (1.0f + exp(ly - lx));
}

/* Binomial(n, P) by inversion, one word per chunk of at most
 * QSD_INVERSION_CHUNK sites; with q = min(P, 1-P) <= 1/2 the chunk's first
 * probability (1-q)^64 >= 2^-64 stays a normal float. The pmf recurrence
 * rounds, so a word within a few ulp of a CDF step may land on the
 * neighbouring count compared with exact arithmetic (or the host). */
int qsd_binomial_inversion(qsd_stream *s, int n, float P)
{
#pragma OPENCL FP_CONTRACT OFF
    int flip = P > 0.5f;
    float q = flip ? 1.0f - P : P;
    float odds = q / (1.0f - q);
    int k = 0;
    for (int done = 0; done < n; done += QSD_INVERSION_CHUNK) {
        int sites = min(n - done, QSD_INVERSION_CHUNK);
        float f = exp((float)sites * log1p(-q));
        float u = qsd_uniform(qsd_next_word(s));
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

/* Binomial(n, P): exact by counting n Bernoulli words (u < P) for
 * n <= QSD_COUNT_MAX_SITES, else by inversion. */
inline int qsd_binomial(qsd_stream *s, int n, float P) __attribute__((always_inline));
inline int qsd_binomial(qsd_stream *s, int n, float P)
{
    if (n > QSD_COUNT_MAX_SITES)
        return qsd_binomial_inversion(s, n, P);
    int k = 0;
    for (int i = 0; i < n; i++)
        k += qsd_uniform(qsd_next_word(s)) < P;
    return k;
}

/* The QSD multiplier m for one draw. Key (seed, rng_id), counter (group,
 * step, 0, block). p in (0, 1], sites >= 1, q_cv >= 0, conc >= 0 (0 =
 * homogeneous). Call with literal parameters: the branches on them then fold,
 * and dropout (sites 1, q_cv 0, conc 0) is one Philox call and a compare,
 * m = (u < p) ? 1/p : 0. */
inline float qsd_mask(uint seed, uint rng_id, uint step, uint group,
                      float p, int sites, float q_cv, float conc)
    __attribute__((always_inline));
inline float qsd_mask(uint seed, uint rng_id, uint step, uint group,
                      float p, int sites, float q_cv, float conc)
{
#pragma OPENCL FP_CONTRACT OFF
    qsd_stream s = qsd_stream_start(seed, rng_id, step, group);
    float P = (conc > 0.0f && p < 1.0f) ? qsd_beta(&s, p, conc) : p;
    int k = qsd_binomial(&s, sites, P);
    float scale = 1.0f / ((float)sites * p);
    if (q_cv == 0.0f || k == 0)
        return (float)k * scale;
    float v2 = q_cv * q_cv;
    return qsd_gamma(&s, (float)k / v2) * (v2 * scale);
}

/* Sharing groups: the group argument of qsd_mask for element idx of the
 * tensor. element: one draw per element. */
inline uint qsd_group_element(uint idx) __attribute__((always_inline));
inline uint qsd_group_element(uint idx)
{
    return idx;
}

/* channel: one draw per (sample, channel) of an NCHW map [N, C, HW];
 * idx / HW is already sample * C + channel, C only names the layout. */
inline uint qsd_group_channel(uint idx, uint C, uint HW) __attribute__((always_inline));
inline uint qsd_group_channel(uint idx, uint C, uint HW)
{
    (void)C;
    return idx / HW;
}

/* time: one draw per (sample, unit) of a sequence [B, T, U], held over t. */
inline uint qsd_group_time(uint idx, uint T, uint U) __attribute__((always_inline));
inline uint qsd_group_time(uint idx, uint T, uint U)
{
    return idx / (T * U) * U + idx % U;
}
