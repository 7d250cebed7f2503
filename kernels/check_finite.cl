/* --check-finite (runtime/check_finite.c): flags[p] = 1 when region p of the
 * table holds a NaN or an Inf. table[3p .. 3p+2] = (buffer, offset, count),
 * buffer numbered as enum plan_buffer (0 P, 1 G, 2 S, 3 A). Work-item
 * (lane, p) reads every `lanes`-th element of region p. The exponent test
 * on the bits, not isfinite(), so that no math option can fold it away. */
__kernel void qsdc_find_nonfinite(__global const uint *P, __global const uint *G,
                                  __global const uint *S, __global const uint *A,
                                  __global const long *table, __global int *flags)
{
    size_t lane = get_global_id(0), lanes = get_global_size(0), p = get_global_id(1);
    long buffer = table[3 * p], offset = table[3 * p + 1], count = table[3 * p + 2];
    __global const uint *x = buffer == 0 ? P : buffer == 1 ? G : buffer == 2 ? S : A;
    int bad = 0;
    for (long i = (long)lane; i < count; i += (long)lanes)
        bad |= (x[offset + i] & 0x7f800000u) == 0x7f800000u;
    if (bad)
        atomic_or(&flags[p], 1);
}
