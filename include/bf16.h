/*
 * bf16.h: rounding fp32 to bfloat16 (the top 16 bits of an fp32: 8 exponent bits, 7 of
 * mantissa), the one definition every bf16 path of gan_train uses.
 *
 * Rounding is to nearest, ties to even, as Intel's VCVTNEPS2BF16 and oneDNN's reorders do;
 * NaN stays NaN (quiet), infinities stay infinite, and a finite value that rounds above
 * bf16's largest becomes infinite. The loops vectorise; they have no reductions.
 */
#ifndef GAN_BF16_H
#define GAN_BF16_H

#include <stddef.h>
#include <stdint.h>

/* dst (n) = the bf16 nearest each src (n), as raw 16-bit patterns. */
void bf16_from_float(uint16_t *dst, const float *src, size_t n);

/* dst (n) = src (n) rounded to bf16 and held in fp32 (exact: bf16 values are fp32 values);
 * dst may alias src. What a bf16 product sees of its inputs. */
void bf16_round(float *dst, const float *src, size_t n);

/* The fp32 value of one bf16 pattern (exact). */
static inline float bf16_to_float(uint16_t h)
{
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}

#endif
