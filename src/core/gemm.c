/*
 * gemm.c: one matrix product in the run's precision (see gemm.h): OpenBLAS in fp32, oneDNN
 * in bf16 where the CPU has it, and otherwise the bf16 rounding in front of OpenBLAS.
 */
#include "gemm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "gemm_dnnl.h"

int gemm_bf16_support(void)
{
    return gemm_dnnl_support();
}

void gemm_init(gemm *g, int precision)
{
    memset(g, 0, sizeof *g);
    g->precision = precision;
    if (precision == GEMM_BF16 && gemm_dnnl_support() == GEMM_BF16_NATIVE) g->dnnl = gemm_dnnl_new();
}

void gemm_free(gemm *g)
{
    gemm_dnnl_free(g->dnnl);
    free(g->round_a), free(g->round_b);
    memset(g, 0, sizeof *g);
}

/* The fp32 product: the bias broadcast into c, then sgemm adds op(a)·op(b) (beta = 1). */
static void sgemm(float *c, const float *a, int trans_a, const float *b, int trans_b, const float *bias, int M,
                  int N, int K)
{
    if (bias)
        for (int r = 0; r < M; r++) memcpy(c + (size_t)r * N, bias, sizeof(float) * (size_t)N);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                1.0f, a, trans_a ? M : K, b, trans_b ? K : N, bias ? 1.0f : 0.0f, c, N);
}

/* src (n) rounded to bf16 into *buf, grown to n floats if needed. */
static const float *rounded(float **buf, size_t *len, const float *src, size_t n)
{
    if (n > *len) {
        free(*buf);
        *buf = xmalloc(sizeof(float) * n), *len = n;
    }
    bf16_round(*buf, src, n);
    return *buf;
}

void gemm_product(gemm *g, float *c, const float *a, int trans_a, const float *b, int trans_b, const float *bias,
                  int M, int N, int K)
{
    if (!g || g->precision == GEMM_FP32) {
        sgemm(c, a, trans_a, b, trans_b, bias, M, N, K);
    } else if (g->dnnl) {
        gemm_dnnl_product(g->dnnl, c, a, trans_a, b, trans_b, bias, M, N, K);
    } else { /* emulated bf16: products of bf16 values are exact in fp32, so sgemm sums them */
        const float *a16 = rounded(&g->round_a, &g->round_a_len, a, (size_t)M * K);
        const float *b16 = rounded(&g->round_b, &g->round_b_len, b, (size_t)K * N);
        sgemm(c, a16, trans_a, b16, trans_b, bias, M, N, K);
    }
}

void gemm_hold(gemm *g, const float *x, size_t n)
{
    if (g->dnnl) gemm_dnnl_hold(g->dnnl, x, n);
}

void gemm_describe(const gemm *g, char *buf, size_t len)
{
    if (g->precision == GEMM_FP32) {
        snprintf(buf, len, "fp32: OpenBLAS %s kernels", openblas_get_corename());
    } else if (g->dnnl) {
        char kernel[128];
        gemm_dnnl_describe(g->dnnl, kernel, sizeof kernel);
        snprintf(buf, len, "bf16 products, fp32 master weights: %s", kernel);
    } else {
        snprintf(buf, len, "bf16 products emulated (inputs rounded to bf16, then OpenBLAS %s kernels in fp32)",
                 openblas_get_corename());
    }
}

void gemm_library(char *buf, size_t len)
{
    gemm_dnnl_library(buf, len);
}
