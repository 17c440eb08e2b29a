/*
 * bf16.c: fp32 -> bfloat16 rounding (see bf16.h). Integer arithmetic on the bit pattern:
 * adding 0x7fff plus the lowest kept bit, then dropping 16 bits, rounds to nearest with
 * ties to even, and carries correctly into the exponent (up to infinity).
 */
#include "bf16.h"

#include <string.h>

#include "clones.h"

static inline uint32_t rounded_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u), quiet_nan = u | 0x00400000u;
    /* A select, not a branch, so that the loops vectorise (a branch cost 6x here). */
    return ((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded) & 0xffff0000u;
}

HOT_LOOP_INT void bf16_from_float(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (uint16_t)(rounded_bits(src[i]) >> 16);
}

HOT_LOOP_INT void bf16_round(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = rounded_bits(src[i]);
        memcpy(&dst[i], &u, sizeof u);
    }
}
