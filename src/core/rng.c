/* rng.c: bulk draws, in exactly the order of n calls of rng_uniform (see rng.h). */
#include "rng.h"

#include "clones.h"

/* SplitMix64 is a counter: draw i of the batch is mix(state + (i+1)·gamma). Written that
 * way the draws are independent, and the loop vectorises. */
HOT_LOOP void rng_fill_uniform(rng_t *r, float *out, long n)
{
    const uint64_t s = r->state;
    for (long i = 0; i < n; i++) {
        const uint32_t bits = (uint32_t)(splitmix64_mix(s + (uint64_t)(i + 1) * RNG_GAMMA) >> 40);
        out[i] = (float)(int32_t)bits * (1.0f / 16777216.0f); /* via int32: AVX2 has no u64->float */
    }
    r->state = s + (uint64_t)n * RNG_GAMMA;
}

HOT_LOOP void rng_fill_noise(rng_t *r, float *out, long n)
{
    rng_fill_uniform(r, out, n);
    for (long i = 0; i < n; i++) out[i] = 2.0f * out[i] - 1.0f;
}
