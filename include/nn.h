/*
 * nn.h: the layers of both networks, as forward/backward pairs.
 *
 * Shapes: B = batch rows (B >= 1), and every matrix is row-major. A dense layer's
 * kernel is (in, out) so that y = x·W + b, the layout of the checkpoint.
 * Conventions: outputs first, then inputs and weights, then sizes. Backward
 * functions OVERWRITE their gradients (dx, dw, db): each is written once per
 * step, so the gradient slabs are never zeroed (a memset of 0.86 MB a step).
 * The dense layers' products run in mm's precision (gemm.h); mm NULL is fp32.
 */
#ifndef GAN_NN_H
#define GAN_NN_H

#include "gemm.h"
#include "rng.h"

/* y (B,out) = x (B,in) · w (in,out) + b (out) */
void dense_forward(gemm *mm, float *y, const float *x, const float *w, const float *b, int B, int in, int out);

/* Given dy (B,out): dw (in,out) = xᵀ·dy, db (out) = Σ_rows dy, dx (B,in) = dy·wᵀ.
 * Any of dx, dw (with db) may be NULL to skip that product. */
void dense_backward(gemm *mm, float *dx, float *dw, float *db, const float *dy, const float *x,
                    const float *w, int B, int in, int out);

/* y = x > 0 ? x : alpha·x, elementwise over n; y may alias x. */
void leaky_relu_forward(float *y, const float *x, int n, float alpha);
/* dx = dy · (x > 0 ? 1 : alpha), where x is the forward INPUT; dx may alias dy. */
void leaky_relu_backward(float *dx, const float *dy, const float *x, int n, float alpha);

/* y = tanh(x); y may alias x. */
void tanh_forward(float *y, const float *x, int n);
/* dx = dy · (1 - y²), where y is the forward OUTPUT; dx may alias dy. */
void tanh_backward(float *dx, const float *dy, const float *y, int n);

/* Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p); y = x·mask. */
void dropout_make_mask(float *mask, int n, float p, rng_t *rng);
void dropout_apply(float *y, const float *x, const float *mask, int n);

/* Sigmoid cross-entropy of one logit against target t in [0,1], in the stable
 * form max(l,0) - l·t + log(1 + e^-|l|); its derivative in l is sigmoid(l) - t. */
float bce_with_logits(float logit, float target);
float sigmoidf_stable(float x);

#endif
