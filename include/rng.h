/*
 * rng.h: SplitMix64, a tiny, fast, statistically solid generator whose whole
 * state is one 64-bit counter. That makes every stream reproducible from
 * (seed, stream id) and trivially saved in a checkpoint.
 *
 * Streams used by gan_train (see train.c):
 *   RNG_STREAM_INIT     weight initialisation (rank 0 only, then broadcast)
 *   RNG_STREAM_SHARD    the global permutation that splits the data over ranks
 *   RNG_STREAM_SAMPLES  the fixed noise batch behind /samples/images
 *   RNG_STREAM_POWERSGD PowerSGD's first Q (--compress powersgd; the same on every rank)
 *   RNG_STREAM_NOISE + r rank r's noise and dropout masks
 *   RNG_STREAM_DATA + r  rank r's epoch shuffles of its shard
 */
#ifndef GAN_RNG_H
#define GAN_RNG_H

#include <stdint.h>

enum { RNG_STREAM_INIT = 1, RNG_STREAM_SHARD, RNG_STREAM_SAMPLES, RNG_STREAM_POWERSGD };
#define RNG_STREAM_NOISE 0x100000000ULL
#define RNG_STREAM_DATA 0x200000000ULL

typedef struct {
    uint64_t state;
} rng_t;

static inline uint64_t splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define RNG_GAMMA 0x9e3779b97f4a7c15ULL /* SplitMix64's increment: 2^64 / golden ratio */

/* An independent stream for (seed, stream): the start state is a hash of both. */
static inline rng_t rng_make(uint64_t seed, uint64_t stream)
{
    rng_t r = {splitmix64_mix(splitmix64_mix(seed) ^ (stream * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL))};
    return r;
}

static inline uint64_t rng_next(rng_t *r)
{
    r->state += RNG_GAMMA;
    return splitmix64_mix(r->state);
}

/* Uniform in [0, 1) with 24 random bits: every value is an exact float. */
static inline float rng_uniform(rng_t *r)
{
    return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* out[0..n) = n draws of rng_uniform, in order, and r advanced past them; vectorised (rng.c). */
void rng_fill_uniform(rng_t *r, float *out, long n);
/* out[0..n) = 2·u - 1 for n uniform draws: the generator's noise, U(-1, 1). */
void rng_fill_noise(rng_t *r, float *out, long n);

/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method). */
static inline uint32_t rng_below(rng_t *r, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)rng_next(r) * n;
    if ((uint32_t)m < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while ((uint32_t)m < threshold) m = (uint64_t)(uint32_t)rng_next(r) * n;
    }
    return (uint32_t)(m >> 32);
}

/* Fisher-Yates shuffle of idx[0..n). */
static inline void rng_shuffle(rng_t *r, int *idx, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

#endif
