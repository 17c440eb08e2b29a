/*
 * clones.h: compile the hot elementwise loops twice, for AVX2+FMA CPUs (x86-64-v3) and for
 * the x86-64 baseline, and let the dynamic loader pick one at startup (GCC target_clones,
 * an ifunc). Distribution builds stay portable while the loops run 8 lanes wide where the
 * CPU has them (measured: README, "Performance").
 *
 * Both clones give bitwise the same results: no floating-point contraction (ISO C mode,
 * and -ffp-contract=off as well), so the AVX2 clone never fuses a multiply and an add into
 * an FMA, and the loops have no reductions whose order vectorisation could change.
 * Plain functions instead with compilers before GCC 11 (no "arch=x86-64-v3"), without
 * glibc (no ifunc), on other CPUs, and when the build already targets AVX2 (-march=native
 * on an AVX2 machine).
 */
#ifndef GAN_CLONES_H
#define GAN_CLONES_H

#include <limits.h> /* defines __GLIBC__ on glibc */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__GLIBC__) && \
    !defined(__AVX2__)
#define HOT_LOOP __attribute__((target_clones("arch=x86-64-v3", "default")))
/* Integer-only loops (bf16.c's rounding) also get an AVX-512 clone (x86-64-v4): it measured
 * 1.6x faster than the AVX2 one on Zen 4, and integer arithmetic is the same in every clone. */
#define HOT_LOOP_INT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT_LOOP
#define HOT_LOOP_INT
#endif

#endif
