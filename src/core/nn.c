/*
 * nn.c: dense, LeakyReLU, tanh, dropout and the logistic loss (see nn.h).
 * The matrix products go to gemm.h (OpenBLAS in fp32); everything else is a flat loop that
 * the compiler vectorises.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

#include "clones.h"

void dense_forward(gemm *mm, float *y, const float *x, const float *w, const float *b, int B, int in, int out)
{
    gemm_product(mm, y, x, 0, w, 0, b, B, out, in);
}

void dense_backward(gemm *mm, float *dx, float *dw, float *db, const float *dy, const float *x,
                    const float *w, int B, int in, int out)
{
    if (dw) {
        /* Overwritten (no beta = 1): every step writes each gradient once, so no slab needs zeroing first. */
        gemm_product(mm, dw, x, 1, dy, 0, NULL, in, out, B);
        memcpy(db, dy, sizeof(float) * (size_t)out);
        for (int r = 1; r < B; r++) {
            const float *row = dy + (size_t)r * out;
            for (int j = 0; j < out; j++) db[j] += row[j];
        }
    }
    if (dx) {
        if (out == 1) {
            /* D's last layer: dx is an outer product, sgemm would waste its setup. */
            for (int r = 0; r < B; r++)
                for (int i = 0; i < in; i++) dx[(size_t)r * in + i] = dy[r] * w[i];
        } else {
            gemm_product(mm, dx, dy, 0, w, 1, NULL, B, in, out);
        }
    }
}

HOT_LOOP void leaky_relu_forward(float *y, const float *x, int n, float alpha)
{
    for (int i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}

HOT_LOOP void leaky_relu_backward(float *dx, const float *dy, const float *x, int n, float alpha)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
}

/*
 * tanh as Eigen's rational approximation (odd degree-13 numerator, even degree-6
 * denominator): absolute error below 5e-7 (tested: 3.2e-7), and plain arithmetic that the
 * compiler vectorises. glibc's scalar tanhf took 28% of a batch-64 step.
 */
static inline float fast_tanhf(float x)
{
    const float clamp = 7.90531110763549805f; /* beyond it tanh is 1 in float */
    float c = x > clamp ? clamp : x; /* selects, not fminf, and no branch: it vectorises */
    c = c < -clamp ? -clamp : c;
    float x2 = c * c;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return c * p / q;
}

HOT_LOOP void tanh_forward(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = fast_tanhf(x[i]);
}

HOT_LOOP void tanh_backward(float *dx, const float *dy, const float *y, int n)
{
    for (int i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

HOT_LOOP void dropout_make_mask(float *mask, int n, float p, rng_t *rng)
{
    const float keep_scale = 1.0f / (1.0f - p);
    rng_fill_uniform(rng, mask, n);
    for (int i = 0; i < n; i++) mask[i] = mask[i] < p ? 0.0f : keep_scale;
}

HOT_LOOP void dropout_apply(float *y, const float *x, const float *mask, int n)
{
    for (int i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

float bce_with_logits(float logit, float target)
{
    return fmaxf(logit, 0.0f) - logit * target + log1pf(expf(-fabsf(logit)));
}

float sigmoidf_stable(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
