/*
 * gemm.h: the matrix products of the forward and backward passes, in the run's precision.
 * This is the one place where precision is decided (--precision; docs/performance.md,
 * "bf16"): the layers (nn.h) call gemm_product and read the same in every precision.
 *
 *   fp32  OpenBLAS's sgemm, called exactly as before this module existed, so fp32 runs
 *         keep their numbers bit for bit.
 *   bf16  mixed precision: both inputs of a product are rounded to bfloat16 (to nearest
 *         even, bf16.h) and the product is accumulated and returned in fp32. Everything
 *         else stays fp32: the master weights, gradients, the allreduce, Adam and its
 *         moments, the losses and the elementwise layers.
 *         - Native (the CPU has AVX512-BF16 or AMX-BF16, as oneDNN reports it): oneDNN's
 *           matmul. One primitive per product shape, created at the shape's first use and
 *           reused; the operands' bf16 copies and oneDNN's scratchpad are buffers of the
 *           gemm that only grow, so after the first step nothing is allocated.
 *         - Emulated (oneDNN finds no native bf16, or oneDNN 2.6 has no bf16 matmul at all,
 *           as on AVX2): the same rounding, then OpenBLAS's sgemm on the rounded inputs. The
 *           numbers have the same meaning (exact bf16 products summed in fp32; only the
 *           order of the sums differs), at below fp32's speed: gan_train warns.
 *         - Not built with oneDNN: bf16 is still the emulated path; gan_train refuses
 *           --precision bf16 (gemm_bf16_support), the tests use it.
 *
 * A gemm is not shared between threads. All matrices are row-major and dense.
 */
#ifndef GAN_GEMM_H
#define GAN_GEMM_H

#include <stddef.h>

#include "common.h"

enum gemm_precision { GEMM_FP32, GEMM_BF16 };

/* How this build and CPU run bf16 products (gemm_bf16_support). */
enum gemm_bf16 {
    GEMM_BF16_UNBUILT,  /* built without oneDNN */
    GEMM_BF16_EMULATED, /* oneDNN, but no native bf16 matrix instructions on this CPU */
    GEMM_BF16_NATIVE    /* oneDNN with AVX512-BF16 or AMX-BF16 */
};

typedef struct gemm_dnnl gemm_dnnl; /* oneDNN's engine, stream, primitives (src/core/gemm_dnnl.h) */

typedef struct {
    int precision;            /* GEMM_FP32 or GEMM_BF16 */
    gemm_dnnl *dnnl;          /* bf16 on a native CPU: oneDNN's state, owned; else NULL */
    float *round_a, *round_b; /* emulated bf16: the inputs rounded to bf16, owned, grown to the largest product */
    size_t round_a_len, round_b_len;
} gemm;

/* What this build and CPU do for bf16 (asks oneDNN, which honours DNNL_MAX_CPU_ISA). */
int gemm_bf16_support(void);

/* A gemm for `precision` (GEMM_FP32 or GEMM_BF16). It allocates nothing yet. Stops the job
 * if oneDNN cannot start (a broken installation). */
void gemm_init(gemm *g, int precision);
void gemm_free(gemm *g);

/*
 * c (M,N) = op(a) · op(b) [+ bias (N), added to every row], with op(a) (M,K) and op(b) (K,N):
 * a is stored (M,K), or (K,M) if trans_a; b is stored (K,N), or (N,K) if trans_b. bias may be
 * NULL. c is overwritten. g == NULL means fp32 (the classifier, inference).
 */
void gemm_product(gemm *g, float *c, const float *a, int trans_a, const float *b, int trans_b, const float *bias,
                  int M, int N, int K);

/*
 * x (n) will not change until it is held again: in native bf16 it is rounded once now, and
 * every product reading inside it uses that copy (a network's weights: the forward pass holds
 * them, its backward pass reuses them). Holding x drops any held operand that overlaps it. A
 * no-op in fp32 and emulated bf16, which read x itself; the numbers are the same either way
 * as long as a held x is not changed before it is held again. At most 6 operands are held.
 */
void gemm_hold(gemm *g, const float *x, size_t n);

/* For --version: "2.6.3; bf16 native (avx512_core_bf16 or AMX)", "...; bf16 emulated
 * (no native bf16 on this CPU)", or "none: --precision bf16 is refused". */
void gemm_library(char *buf, size_t len);

/* For the start-up line: "fp32: OpenBLAS SkylakeX kernels", "bf16: oneDNN 2.6.3,
 * brg:avx512_core_bf16", "bf16 emulated: ...". */
void gemm_describe(const gemm *g, char *buf, size_t len);

#endif
