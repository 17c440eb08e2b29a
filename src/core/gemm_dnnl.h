/*
 * gemm_dnnl.h: oneDNN's bf16 matmul, for gemm.c only (private to src/core/). Built as stubs
 * when CMake found no oneDNN: gemm_dnnl_support() then says so and nothing else is called.
 */
#ifndef GAN_GEMM_DNNL_H
#define GAN_GEMM_DNNL_H

#include "gemm.h"

/* GEMM_BF16_UNBUILT, _EMULATED or _NATIVE (enum gemm_bf16): oneDNN's effective ISA. */
int gemm_dnnl_support(void);

/* oneDNN's engine and stream, and OpenMP at one thread unless OMP_NUM_THREADS is set (one
 * rank per core already fills the machine). Stops the job if oneDNN fails. */
gemm_dnnl *gemm_dnnl_new(void);
void gemm_dnnl_free(gemm_dnnl *d);

/* gemm_product's contract (gemm.h), with bf16 inputs: a and b are rounded into the
 * gemm_dnnl's own bf16 buffers, then the shape's primitive runs. */
void gemm_dnnl_product(gemm_dnnl *d, float *c, const float *a, int trans_a, const float *b, int trans_b,
                       const float *bias, int M, int N, int K);

/* gemm_hold's contract (gemm.h). */
void gemm_dnnl_hold(gemm_dnnl *d, const float *x, size_t n);

/* gemm_library's text (gemm.h). */
void gemm_dnnl_library(char *buf, size_t len);

/* "oneDNN 2.6.3, brg:avx512_core_bf16": the version and the implementation oneDNN picks for
 * the step's largest product (64 x 784 x 128). */
void gemm_dnnl_describe(gemm_dnnl *d, char *buf, size_t len);

#endif
