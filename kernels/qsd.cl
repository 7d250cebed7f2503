/* Quantal Synaptic Dilution masks (docs: QSD.md). One draw of the multiplier
 *   P ~ Beta(p c, (1-p) c) (P = p when c = 0),  K ~ Binomial(n, P),
 *   G ~ Gamma(K / v^2, scale v^2) (G = K when v = 0),  m = G / (n p).
 * Needs philox.cl before it. tests/ref_qsd.c is the host twin of this file:
 * a change to the order in which words are drawn or to the float operations
 * must be made in both.
 *
 * Word stream: Philox4x32-10 with key {seed, rng_id} and counter
 * {group, step, 0, block}; a draw consumes 32-bit words in a fixed order
 * (beta, then binomial, then quantal gamma), block advancing every 4 words.
 * A homogeneous draw with n <= 32 and v <= 1 usually (when the first
 * Marsaglia-Tsang attempt is accepted, > 95%) takes three words: one for K
 * by inversion, a normal and a uniform for the gamma, so one Philox block
 * serves it. No sin/cos and no library log: the normal is an inverse CDF
 * that needs a log (qsd_log, basic operations only) for 15% of words.
 * FP_CONTRACT is off inside these functions so that a*b+c rounds as on the
 * host reference (no fused multiply-add). */

#define QSD_BINOMIAL_CHUNK 32   /* sites per binomial inversion word */
#define QSD_MAX_TRIES 64        /* Marsaglia-Tsang attempts per gamma draw */

/* Philox4x32-10 output for counter {c0, c1, c2, c3} under key {k0, k1},
 * returned as a vector: with the stream's state in plain values, rather than
 * Random123's structs, the compiler keeps it in registers. */
inline uint4 qsd_philox(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    __attribute__((always_inline));
inline uint4 qsd_philox(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
{
    philox4x32_ctr_t ctr = {{c0, c1, c2, c3}};
    philox4x32_key_t key = {{k0, k1}};
    philox4x32_ctr_t out = philox4x32_R(10, ctr, key);
    return (uint4)(out.v[0], out.v[1], out.v[2], out.v[3]);
}

/* The word stream of one draw: Philox output block `block` of counter
 * {group, step, space, block} under key {seed, rng_id}; space 0 holds the
 * per-element draws, space 1 hetero: unit's per-unit ones (group: the unit). */
typedef struct qsd_stream {
    uint seed, rng_id, group, step, space, block;
    uint4 out;              /* Philox output for the current block */
    uint used;              /* words of out already consumed */
} qsd_stream;

inline qsd_stream qsd_stream_in(uint seed, uint rng_id, uint step, uint group, uint space)
    __attribute__((always_inline));
inline qsd_stream qsd_stream_in(uint seed, uint rng_id, uint step, uint group, uint space)
{
    qsd_stream s;
    s.seed = seed;
    s.rng_id = rng_id;
    s.group = group;
    s.step = step;
    s.space = space;
    s.block = 0u;
    s.out = qsd_philox(group, step, space, 0u, seed, rng_id);
    s.used = 0u;
    return s;
}

inline qsd_stream qsd_stream_start(uint seed, uint rng_id, uint step, uint group)
    __attribute__((always_inline));
inline qsd_stream qsd_stream_start(uint seed, uint rng_id, uint step, uint group)
{
    return qsd_stream_in(seed, rng_id, step, group, 0u);
}

inline uint qsd_next_word(qsd_stream *s) __attribute__((always_inline));
inline uint qsd_next_word(qsd_stream *s)
{
    if (s->used == 4u) {
        s->block += 1u;
        s->out = qsd_philox(s->group, s->step, s->space, s->block, s->seed, s->rng_id);
        s->used = 0u;
    }
    uint i = s->used++;
    /* selects rather than indexing: no dynamically indexed private vector */
    return i == 0u ? s->out.s0 : i == 1u ? s->out.s1 : i == 2u ? s->out.s2 : s->out.s3;
}

/* [0, 1) with 24-bit resolution, exact in float: for Bernoulli (u < P) and
 * binomial inversion. */
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

/* Natural log of a positive normal float x (no caller passes zero, a
 * subnormal, infinity or NaN) from basic float operations only, so that it
 * rounds alike on every device and on the host, and costs no library call:
 * x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), s = f / (2 + f),
 * log(1 + f) = 2s + s R(s^2), R(z) = 2z/3 + 2z^2/5 + 2z^3/7 + 2z^4/9 (series
 * remainder < 7e-10 relative for |s| <= 0.172), arranged as in fdlibm's
 * logf to keep the rounding small, with k log 2 in two parts (k * ln2_hi
 * exact). Within 0.86 ulp of log on the host; tests/test_qsd_numerics.c
 * checks the device's within 1 ulp. */
inline float qsd_log(float x) __attribute__((always_inline));
inline float qsd_log(float x)
{
#pragma OPENCL FP_CONTRACT OFF
    uint ix = as_uint(x) + (0x3f800000u - 0x3f3504f3u);
    float k = (float)((int)(ix >> 23) - 0x7f);
    float f = as_float((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float s = f / (2.0f + f), z = s * s, w = z * z;
    float R = z * (0x1.555556p-1f + w * 0x1.24924ap-2f) +
              w * (0x1.99999ap-2f + w * 0x1.c71c72p-3f);
    float hfsq = 0.5f * f * f;
    return s * (hfsq + R) + k * 0x1.7f7d1cp-20f - hfsq + f + k * 0x1.62e4p-1f;
}

/* Standard normal from one word by inverting its CDF: the low 31 bits j
 * give u = (j + 1/2) / 2^32 in (0, 1/2] (rounded to float), z = PPND7(u) <= 0
 * by Wichura's AS 241 (1988; PPND7 is good to about 1e-7 relative), and the
 * top bit negates z. u >= 2^-33 keeps sqrt(-log u) <= 4.8, inside the range
 * (<= 5) of PPND7's middle rational function, so its third one is never
 * needed; |z| <= 6.34. In float, within 1.5e-6 of the exact quantile on
 * the host; tests/test_qsd_numerics.c checks the device's within 2^-17. */
inline float qsd_normal(uint w) __attribute__((always_inline));
inline float qsd_normal(uint w)
{
#pragma OPENCL FP_CONTRACT OFF
    float u = ((float)(w & 0x7fffffffu) + 0.5f) * 0x1.0p-32f;
    float q = u - 0.5f, z;
    if (q >= -0.425f) {
        float r = 0.180625f - q * q;
        z = q * (((59.109374720f * r + 159.29113202f) * r + 50.434271938f) * r +
                 3.3871327179f) /
            (((67.187563600f * r + 78.757757664f) * r + 17.895169469f) * r + 1.0f);
    } else {
        float r = sqrt(-qsd_log(u)) - 1.6f;
        z = -(((0.17023821103f * r + 1.3067284816f) * r + 2.7568153900f) * r +
              1.4234372777f) /
            ((0.12021132975f * r + 0.73700164250f) * r + 1.0f);
    }
    return (w >> 31) ? -z : z;
}

/* One Marsaglia-Tsang (2000) attempt for Gamma(a, 1), a >= 1, with
 * d = a - 1/3, c = 1/sqrt(9 d), from a normal z and a uniform u: accepted
 * (1, and *g = d v^3, v = 1 + c z) with probability > 0.95. Straight-line
 * code: where v <= 0 the log is of garbage and the result unused. */
inline int qsd_mt_accept(float d, float c, float z, float u, float *g)
    __attribute__((always_inline));
inline int qsd_mt_accept(float d, float c, float z, float u, float *g)
{
#pragma OPENCL FP_CONTRACT OFF
    float v = 1.0f + c * z;
    float v3 = v * v * v, z2 = z * z;
    *g = d * v3;
    return v > 0.0f && (u < 1.0f - 0.0331f * z2 * z2 ||
                        qsd_log(u) < 0.5f * z2 + d * (1.0f - v3 + qsd_log(v3)));
}

/* Gamma(a, 1) for a >= 1 by Marsaglia-Tsang, two words per attempt (a
 * normal and a uniform). QSD_MAX_TRIES failures (< 1e-83) never happen in
 * practice; the loop still ends then, returning d = a - 1/3 (a value near
 * the mode), so a kernel cannot hang whatever the words are. */
inline float qsd_gamma_ge1(qsd_stream *s, float a) __attribute__((always_inline));
inline float qsd_gamma_ge1(qsd_stream *s, float a)
{
#pragma OPENCL FP_CONTRACT OFF
    float d = a - 1.0f / 3.0f;
    float c = 1.0f / sqrt(9.0f * d);
    for (int i = 0; i < QSD_MAX_TRIES; i++) {
        float z = qsd_normal(qsd_next_word(s));
        float g, u = qsd_uniform_open(qsd_next_word(s));
        if (qsd_mt_accept(d, c, z, u, &g))
            return g;
    }
    return d;
}

/* log(U) / a, the log of the boost factor U^(1/a) that turns a
 * Gamma(a + 1, 1) draw into a Gamma(a, 1) draw for a < 1. */
float qsd_gamma_boost_log(qsd_stream *s, float a)
{
    return qsd_log(qsd_uniform_open(qsd_next_word(s))) / a;
}

/* Gamma(a, 1), a > 0. */
inline float qsd_gamma(qsd_stream *s, float a) __attribute__((always_inline));
inline float qsd_gamma(qsd_stream *s, float a)
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
        return qsd_log(qsd_gamma_ge1(s, a));
    float g = qsd_gamma_ge1(s, a + 1.0f);
    return qsd_log(g) + qsd_gamma_boost_log(s, a);
}

/* Beta(p c, (1-p) c) as X / (X + Y) = 1 / (1 + exp(log Y - log X)). 0 < p < 1. */
float qsd_beta(qsd_stream *s, float p, float conc)
{
#pragma OPENCL FP_CONTRACT OFF
    float lx = qsd_log_gamma(s, p * conc);
    float ly = qsd_log_gamma(s, (1.0f - p) * conc);
    return 1.0f / (1.0f + exp(ly - lx));
}

/* Binomial(m, P), 1 <= m <= QSD_BINOMIAL_CHUNK, by inversion of one word:
 * K = #{k < m : u >= F_k}, F_k = sum_{j <= k} C(m, j) P^j (1-P)^(m-j).
 * Products, sums and exact integer binomial coefficients only, so it rounds
 * the same on every device and on the host; the loops are unrolled (a
 * compiler without the pragma just loops) so that literal m and P fold to
 * m constant compares. Rounding and u's 2^-24 grid keep each Pr[K = k]
 * within (4m + 8) 2^-24 of the binomial probability: 1.4e-6 for m = 4
 * (tests/test_qsd_numerics.c derives and checks the bound). */
inline int qsd_binomial_chunk(uint w, int m, float P) __attribute__((always_inline));
inline int qsd_binomial_chunk(uint w, int m, float P)
{
#pragma OPENCL FP_CONTRACT OFF
    float u = qsd_uniform(w), Q = 1.0f - P;
    float qpow[QSD_BINOMIAL_CHUNK + 1]; /* qpow[i] = Q^i */
    qpow[0] = 1.0f;
#pragma unroll
    for (int i = 1; i <= QSD_BINOMIAL_CHUNK; i++)
        qpow[i] = i <= m ? qpow[i - 1] * Q : 0.0f;
    float ppow = 1.0f, F = 0.0f; /* P^j, F_(j-1) */
    ulong binom = 1;             /* C(m, j) */
    int k = 0;
#pragma unroll
    for (int j = 0; j < QSD_BINOMIAL_CHUNK; j++) {
        if (j < m) {
            F += (float)binom * ppow * qpow[m - j];
            k += u >= F;
            ppow *= P;
            binom = binom * (ulong)(m - j) / (ulong)(j + 1);
        }
    }
    return k;
}

/* Binomial(n, P): for n = 1 the Bernoulli u < P (exactly dropout's draw),
 * else a sum of inversion draws over chunks of at most QSD_BINOMIAL_CHUNK
 * sites, one word each (one chunk written out so that a literal n folds). */
inline int qsd_binomial(qsd_stream *s, int n, float P) __attribute__((always_inline));
inline int qsd_binomial(qsd_stream *s, int n, float P)
{
    if (n == 1)
        return qsd_uniform(qsd_next_word(s)) < P;
    if (n <= QSD_BINOMIAL_CHUNK)
        return qsd_binomial_chunk(qsd_next_word(s), n, P);
    int k = 0;
    for (int done = 0; done < n; done += QSD_BINOMIAL_CHUNK)
        k += qsd_binomial_chunk(qsd_next_word(s), min(n - done, QSD_BINOMIAL_CHUNK), P);
    return k;
}

/* The whole QSD draw: qsd_mask's fallback. */
inline float qsd_mask_draw(uint seed, uint rng_id, uint step, uint group,
                           float p, int sites, float q_cv, float conc)
    __attribute__((always_inline));
inline float qsd_mask_draw(uint seed, uint rng_id, uint step, uint group,
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

/* qsd_mask from the first Philox block alone, in straight-line code (no
 * loop, no library call), so that a loop of these vectorises; -1 where the
 * draw needs more: a beta P, sites > QSD_BINOMIAL_CHUNK, a gamma shape
 * below 1, or a rejected first Marsaglia-Tsang attempt (< 5% of gamma
 * draws). Never -1 without gamma and beta draws and with sites <=
 * QSD_BINOMIAL_CHUNK (dropout among them). Where it is not -1 it equals
 * qsd_mask bit for bit: the same words, the same operations. */
inline float qsd_mask_try(uint seed, uint rng_id, uint step, uint group,
                          float p, int sites, float q_cv, float conc)
    __attribute__((always_inline));
inline float qsd_mask_try(uint seed, uint rng_id, uint step, uint group,
                          float p, int sites, float q_cv, float conc)
{
#pragma OPENCL FP_CONTRACT OFF
    if ((conc > 0.0f && p < 1.0f) || sites > QSD_BINOMIAL_CHUNK)
        return -1.0f;
    uint4 w = qsd_philox(group, step, 0u, 0u, seed, rng_id);
    int k = sites == 1 ? qsd_uniform(w.s0) < p : qsd_binomial_chunk(w.s0, sites, p);
    float scale = 1.0f / ((float)sites * p);
    if (q_cv == 0.0f || k == 0)
        return (float)k * scale;
    float v2 = q_cv * q_cv, a = (float)k / v2;
    float d = a - 1.0f / 3.0f, c = 1.0f / sqrt(9.0f * d), g;
    int accepted = qsd_mt_accept(d, c, qsd_normal(w.s1), qsd_uniform_open(w.s2), &g);
    return a >= 1.0f && accepted ? g * (v2 * scale) : -1.0f;
}

/* qsd_mask given tried = qsd_mask_try(same arguments): the whole draw where
 * the try gave -1. A kernel that draws many masks fills a block with
 * qsd_mask_try first (a loop that vectorises), then fixes each. */
inline float qsd_mask_fix(float tried, uint seed, uint rng_id, uint step, uint group,
                          float p, int sites, float q_cv, float conc)
    __attribute__((always_inline));
inline float qsd_mask_fix(float tried, uint seed, uint rng_id, uint step, uint group,
                          float p, int sites, float q_cv, float conc)
{
    if (q_cv == 0.0f && !(conc > 0.0f && p < 1.0f) && sites <= QSD_BINOMIAL_CHUNK)
        return tried;
    return tried >= 0.0f ? tried
                         : qsd_mask_draw(seed, rng_id, step, group, p, sites, q_cv, conc);
}

/* The QSD multiplier m for one draw. Key (seed, rng_id), counter (group,
 * step, 0, block). p in (0, 1], sites >= 1, q_cv >= 0, conc >= 0 (0 =
 * homogeneous). Call with literal parameters: the branches on them then fold,
 * and dropout (sites 1, q_cv 0, conc 0) is one Philox call and a compare,
 * m = (u < p) ? 1/p : 0. qsd_mask_try first, the whole draw where it gives
 * -1; where it never does, no fallback is compiled in, so loops of such
 * draws (dropout) still vectorise. */
inline float qsd_mask(uint seed, uint rng_id, uint step, uint group,
                      float p, int sites, float q_cv, float conc)
    __attribute__((always_inline));
inline float qsd_mask(uint seed, uint rng_id, uint step, uint group,
                      float p, int sites, float q_cv, float conc)
{
    return qsd_mask_fix(qsd_mask_try(seed, rng_id, step, group, p, sites, q_cv, conc),
                        seed, rng_id, step, group, p, sites, q_cv, conc);
}

/* hetero: unit (QSD.md): unit's release probability P_j ~ Beta(p c_t,
 * (1-p) c_t), c_t = conc (1 + anneal step), and quantal gain A_j ~
 * Gamma(1/v^2, v^2), from the unit's stream (space 1), shared by every
 * sample of the step. Generated plans draw them once per unit and step
 * (one kernel per QSD node) and keep them in the arena for the elements. */
inline void qsd_unit_draw(uint seed, uint rng_id, uint step, uint unit, float p, float q_cv,
                          float conc, float anneal, float *P, float *gain)
    __attribute__((always_inline));
inline void qsd_unit_draw(uint seed, uint rng_id, uint step, uint unit, float p, float q_cv,
                          float conc, float anneal, float *P, float *gain)
{
#pragma OPENCL FP_CONTRACT OFF
    qsd_stream u = qsd_stream_in(seed, rng_id, step, unit, 1u);
    float c = conc * (1.0f + anneal * (float)step);
    *P = (conc > 0.0f && p < 1.0f) ? qsd_beta(&u, p, c) : p;
    float v2 = q_cv * q_cv;
    *gain = q_cv > 0.0f ? qsd_gamma(&u, 1.0f / v2) * v2 : 1.0f;
}

/* An element's multiplier given its unit's P and gain: K ~ Binomial(sites,
 * P) from the group's own stream, and m = K gain / (sites p). */
inline float qsd_mask_given(uint seed, uint rng_id, uint step, uint group, float P,
                            float gain, float p, int sites) __attribute__((always_inline));
inline float qsd_mask_given(uint seed, uint rng_id, uint step, uint group, float P,
                            float gain, float p, int sites)
{
#pragma OPENCL FP_CONTRACT OFF
    qsd_stream s = qsd_stream_start(seed, rng_id, step, group);
    int k = qsd_binomial(&s, sites, P);
    return (float)k * gain * (1.0f / ((float)sites * p));
}

/* The whole hetero: unit draw of one element: its unit's P and gain, then
 * its own K (for samplers that draw few elements per unit). */
inline float qsd_mask_unit(uint seed, uint rng_id, uint step, uint group, uint unit,
                           float p, int sites, float q_cv, float conc, float anneal)
    __attribute__((always_inline));
inline float qsd_mask_unit(uint seed, uint rng_id, uint step, uint group, uint unit,
                           float p, int sites, float q_cv, float conc, float anneal)
{
    float P, gain;
    qsd_unit_draw(seed, rng_id, step, unit, p, q_cv, conc, anneal, &P, &gain);
    return qsd_mask_given(seed, rng_id, step, group, P, gain, p, sites);
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
