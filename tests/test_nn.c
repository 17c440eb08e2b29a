/*
 * test_nn.c: every layer's and loss's backward pass against central finite
 * differences, the whole D and G steps against finite differences of their
 * losses, BCE-with-logits at extreme logits, and Adam's first steps against
 * values computed by hand.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "best.h"
#include "blas.h"
#include "config.h"
#include "options.h"
#include "schedule.h"
#include "check.h"
#include "gan.h"
#include "mlp.h"
#include "nn.h"

/* Float finite differences: step and tolerance suited to O(1) values. In bf16 the loss is
 * computed from rounded inputs (relative error up to 2^-8 each), so its differences are that
 * much noisier: a wider tolerance, still far below the gradients' O(0.1-1) size. */
#define FD_H 1e-2f
#define FD_TOL 2e-3
#define FD_H_BF16 5e-2f /* larger steps: the rounding noise over 2h shrinks faster than the curvature grows */
#define FD_TOL_BF16 3e-2

static void fill(float *x, int n, rng_t *r, float scale)
{
    for (int i = 0; i < n; i++) x[i] = (2.0f * rng_uniform(r) - 1.0f) * scale;
}

/* L = Σ c_i y_i for a fixed random c: then dL/dy = c. */
static double weighted_sum(const float *y, const float *c, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)y[i] * c[i];
    return s;
}

static void test_dense(void)
{
    enum { B = 3, IN = 5, OUT = 4 };
    rng_t r = rng_make(1, 1);
    float x[B * IN], w[IN * OUT], b[OUT], y[B * OUT], c[B * OUT];
    float dx[B * IN], dw[IN * OUT] = {0}, db[OUT] = {0};
    fill(x, B * IN, &r, 1), fill(w, IN * OUT, &r, 1), fill(b, OUT, &r, 1), fill(c, B * OUT, &r, 1);
    dense_backward(NULL, dx, dw, db, c, x, w, B, IN, OUT);

    /* Hand check of one output: y[1][2] = Σ_k x[1][k] w[k][2] + b[2]. */
    dense_forward(NULL, y, x, w, b, B, IN, OUT);
    double want = b[2];
    for (int k = 0; k < IN; k++) want += (double)x[IN + k] * w[k * OUT + 2];
    CHECK_NEAR(y[OUT + 2], want, 1e-5);

    float *vars[] = {x, w, b}, *grads[] = {dx, dw, db};
    int sizes[] = {B * IN, IN * OUT, OUT};
    for (int v = 0; v < 3; v++) {
        for (int i = 0; i < sizes[v]; i++) {
            float saved = vars[v][i];
            vars[v][i] = saved + FD_H;
            dense_forward(NULL, y, x, w, b, B, IN, OUT);
            double up = weighted_sum(y, c, B * OUT);
            vars[v][i] = saved - FD_H;
            dense_forward(NULL, y, x, w, b, B, IN, OUT);
            double down = weighted_sum(y, c, B * OUT);
            vars[v][i] = saved;
            CHECK_NEAR(grads[v][i], (up - down) / (2 * FD_H), FD_TOL);
        }
    }
    /* Backward overwrites dw/db: a second call into stale buffers gives the same values. */
    float dw2[IN * OUT], db2[OUT];
    for (int i = 0; i < IN * OUT; i++) dw2[i] = 1e3f;
    for (int i = 0; i < OUT; i++) db2[i] = -1e3f;
    dense_backward(NULL, NULL, dw2, db2, c, x, w, B, IN, OUT);
    CHECK(memcmp(dw2, dw, sizeof dw) == 0, "dense_backward must overwrite dw");
    CHECK(memcmp(db2, db, sizeof db) == 0, "dense_backward must overwrite db");
    /* The out == 1 special case of dx equals the GEMM path's definition. */
    float dx1[B * IN], c1[B];
    fill(c1, B, &r, 1);
    dense_backward(NULL, dx1, NULL, NULL, c1, NULL, w, B, IN, 1);
    CHECK_NEAR(dx1[IN + 3], c1[1] * w[3], 1e-6);
}

/* Elementwise layers: check dx against finite differences, away from kinks. */
static void test_elementwise(void)
{
    enum { N = 16 };
    rng_t r = rng_make(2, 1);
    float x[N], y[N], c[N], dx[N];
    fill(x, N, &r, 2), fill(c, N, &r, 1);
    for (int i = 0; i < N; i++)
        if (fabsf(x[i]) < 0.05f) x[i] = 0.5f; /* LeakyReLU has a kink at 0 */
    const float alpha = 0.01f;

    leaky_relu_forward(y, x, N, alpha);
    leaky_relu_backward(dx, c, x, N, alpha);
    for (int i = 0; i < N; i++) {
        float xp = x[i] + 1e-3f, xm = x[i] - 1e-3f, yp, ym;
        leaky_relu_forward(&yp, &xp, 1, alpha), leaky_relu_forward(&ym, &xm, 1, alpha);
        CHECK_NEAR(dx[i], c[i] * (yp - ym) / 2e-3, 1e-3);
    }
    CHECK_NEAR(y[0], x[0] > 0 ? x[0] : alpha * x[0], 0);

    /* The fast tanh against libm's double tanh, densely over [-20, 20]. */
    double worst = 0.0;
    for (int i = -200000; i <= 200000; i++) {
        float v = i * 1e-4f, t;
        tanh_forward(&t, &v, 1);
        worst = fmax(worst, fabs(t - tanh((double)v)));
        if (t < -1.0f || t > 1.0f) worst = 1.0;
    }
    CHECK(worst < 5e-7, "fast tanh: max |error| %g over [-20, 20]", worst); /* measured 3.2e-7 */
    float extremes[4] = {-1e30f, 1e30f, 0.0f, -0.0f}, tx[4];
    tanh_forward(tx, extremes, 4);
    CHECK(tx[0] == -1.0f && tx[1] == 1.0f && tx[2] == 0.0f, "tanh(-inf-ish, inf-ish, 0) = %g %g %g", tx[0], tx[1], tx[2]);

    tanh_forward(y, x, N);
    tanh_backward(dx, c, y, N);
    for (int i = 0; i < N; i++) {
        double fd = (tanh((double)x[i] + 1e-4) - tanh((double)x[i] - 1e-4)) / 2e-4;
        CHECK_NEAR(dx[i], c[i] * fd, 1e-4);
    }

    /* Dropout: the mask is 0 or 1/(1-p), drops about p, and backward is the same mask. */
    enum { M = 20000 };
    float *mask = malloc(sizeof(float) * M);
    rng_t dr = rng_make(3, 1);
    dropout_make_mask(mask, M, 0.2f, &dr);
    int dropped = 0, bad = 0;
    for (int i = 0; i < M; i++) {
        dropped += mask[i] == 0.0f;
        bad += mask[i] != 0.0f && mask[i] != 1.25f;
    }
    CHECK(bad == 0, "%d mask values are neither 0 nor 1/(1-p)", bad);
    CHECK(fabs(dropped / (double)M - 0.2) < 0.01, "dropped fraction %g, want 0.2", dropped / (double)M);
    free(mask);
}

static void test_bce(void)
{
    /* Against the naive formula where it is safe. */
    for (float l = -5.0f; l <= 5.0f; l += 0.75f)
        for (float t = 0.0f; t <= 1.0f; t += 0.45f) {
            double p = 1.0 / (1.0 + exp(-(double)l));
            CHECK_NEAR(bce_with_logits(l, t), -(t * log(p) + (1 - t) * log(1 - p)), 1e-5);
            double fd = (bce_with_logits(l + 1e-2f, t) - bce_with_logits(l - 1e-2f, t)) / 2e-2;
            CHECK_NEAR(sigmoidf_stable(l) - t, fd, 1e-3);
        }
    /* Stable at ±100, where the naive form gives inf or nan. */
    CHECK_NEAR(bce_with_logits(100.0f, 1.0f), 0.0, 1e-30);
    CHECK_NEAR(bce_with_logits(-100.0f, 0.0f), 0.0, 1e-30);
    CHECK_NEAR(bce_with_logits(100.0f, 0.0f), 100.0, 1e-4);
    CHECK_NEAR(bce_with_logits(-100.0f, 1.0f), 100.0, 1e-4);
    CHECK_NEAR(bce_with_logits(100.0f, 0.9f), 10.0, 1e-4);
    CHECK_NEAR(sigmoidf_stable(100.0f), 1.0, 0);
    CHECK_NEAR(sigmoidf_stable(-100.0f), 0.0, 1e-40);
    CHECK(isfinite(bce_with_logits(-1000.0f, 1.0f)), "finite at -1000");
}

/* Adam against hand-computed values (lr 0.1, b1 0.9, b2 0.999, eps 1e-8):
 *   t=1, g=0.5:   m=0.05, v=0.00025, m̂=0.5, v̂=0.25, p = 1 - 0.1·0.5/0.5 = 0.9
 *   t=2, g=-0.25: m=0.045-0.025=0.02, v=0.00024975+0.0000625=0.00031225,
 *                 m̂=0.02/0.19=0.1052631579, v̂=0.00031225/0.001999=0.1562031016,
 *                 p = 0.9 - 0.1·0.1052631579/(0.3952253807+1e-8) = 0.8733662967 */
static void test_adam(void)
{
    mlp net;
    mlp_init(&net, 1, 1, 1); /* 4 parameters */
    const adam_config cfg = {0.1, 0.9, 0.999, 1e-8};
    for (size_t i = 0; i < net.n_params; i++) net.params[i] = 1.0f, net.grads[i] = 0.5f;
    mlp_adam_step(&net, &cfg, 1.0f);
    /* float tolerances: a few ulps of each value */
    CHECK_NEAR(net.m[0], 0.05, 2e-8);
    CHECK_NEAR(net.v[0], 0.00025, 1e-10);
    CHECK_NEAR(net.params[0], 0.9, 1e-6);
    for (size_t i = 0; i < net.n_params; i++) net.grads[i] = -0.25f;
    mlp_adam_step(&net, &cfg, 1.0f);
    CHECK_NEAR(net.m[3], 0.02, 1e-8);
    CHECK_NEAR(net.v[3], 0.00031225, 1e-10);
    CHECK_NEAR(net.params[3], 0.8733662967, 1e-6);
    CHECK(net.adam_t == 2, "adam_t %lld", net.adam_t);
    mlp_free(&net);
}

/* The loader may run the AVX2 clone of Adam (src/clones.h); it must give bitwise what the
 * plain scalar formula gives, compiled here for the x86-64 baseline. 1081 parameters: the
 * vector body and its scalar tail both run. */
static void test_adam_bitwise(void)
{
    mlp net;
    mlp_init(&net, 10, 90, 1); /* 10·90 + 90 + 90 + 1 = 1081 parameters */
    const size_t n = net.n_params;
    const adam_config cfg = {1e-3, 0.9, 0.999, 1e-8};
    rng_t r = rng_make(7, 7);
    fill(net.params, (int)n, &r, 1), fill(net.grads, (int)n, &r, 3), fill(net.m, (int)n, &r, 0.1f);
    for (size_t i = 0; i < n; i++) net.v[i] = rng_uniform(&r) * 0.01f;
    float *p = malloc(sizeof(float) * n), *m = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n);
    memcpy(p, net.params, sizeof(float) * n), memcpy(m, net.m, sizeof(float) * n), memcpy(v, net.v, sizeof(float) * n);
    mlp_adam_step(&net, &cfg, 0.5f);
    const float step = (float)(cfg.lr / (1.0 - cfg.beta1));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - cfg.beta2));
    const float b1 = 0.9f, b2 = 0.999f, omb1 = (float)(1.0 - 0.9), omb2 = (float)(1.0 - 0.999), eps = 1e-8f;
    for (size_t i = 0; i < n; i++) {
        const float g = net.grads[i] * 0.5f;
        m[i] = b1 * m[i] + omb1 * g;
        v[i] = b2 * v[i] + omb2 * g * g;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
    CHECK(memcmp(m, net.m, sizeof(float) * n) == 0, "Adam m differs from the scalar formula");
    CHECK(memcmp(v, net.v, sizeof(float) * n) == 0, "Adam v differs from the scalar formula");
    CHECK(memcmp(p, net.params, sizeof(float) * n) == 0, "Adam parameters differ from the scalar formula");
    free(p), free(m), free(v);
    mlp_free(&net);

    /* tanh: the vector body gives what one element at a time (the scalar tail) gives. */
    enum { N = 203 };
    float x[N], y[N], one;
    fill(x, N, &r, 9);
    tanh_forward(y, x, N);
    int same = 1;
    for (int i = 0; i < N; i++) tanh_forward(&one, &x[i], 1), same &= memcmp(&one, &y[i], sizeof one) == 0;
    CHECK(same, "tanh: vector and scalar paths differ");
}

/* The bulk draws are n single draws, in order, and leave the generator where they would. */
static void test_rng_bulk(void)
{
    enum { N = 1003 };
    rng_t a = rng_make(5, 9), b = a;
    float bulk[N], one[N];
    rng_fill_uniform(&a, bulk, N);
    for (int i = 0; i < N; i++) one[i] = rng_uniform(&b);
    CHECK(memcmp(bulk, one, sizeof bulk) == 0, "rng_fill_uniform differs from rng_uniform");
    CHECK(a.state == b.state, "rng_fill_uniform leaves a different state");
    rng_fill_noise(&a, bulk, N);
    int in_range = 1;
    for (int i = 0; i < N; i++) in_range &= bulk[i] == 2.0f * rng_uniform(&b) - 1.0f && bulk[i] >= -1.0f && bulk[i] < 1.0f;
    CHECK(in_range, "rng_fill_noise is not 2u - 1 of the same draws");
}

/* Glorot: kernels inside ±sqrt(6/(in+out)), biases zero. */
static void test_init(void)
{
    mlp net;
    mlp_init(&net, 784, 128, 1);
    rng_t r = rng_make(4, 1);
    mlp_init_glorot(&net, &r);
    float limit1 = sqrtf(6.0f / (784 + 128)), limit2 = sqrtf(6.0f / 129), max1 = 0;
    int outside = 0;
    for (int i = 0; i < 784 * 128; i++) {
        outside += fabsf(net.w1[i]) > limit1;
        max1 = fmaxf(max1, fabsf(net.w1[i]));
    }
    for (int i = 0; i < 128; i++) outside += fabsf(net.w2[i]) > limit2 || net.b1[i] != 0.0f;
    CHECK(outside == 0, "%d values outside Glorot bounds or non-zero biases", outside);
    CHECK(max1 > 0.95f * limit1, "kernel max %g does not reach the bound %g", max1, limit1);
    /* A view over another slab (the EMA's) puts each layer at the same offset. */
    float *other = calloc(net.n_params, sizeof(float));
    mlp view = mlp_view(&net, other);
    CHECK(view.w1 == other && view.b1 - other == net.b1 - net.params && view.w2 - other == net.w2 - net.params &&
              view.b2 - other == net.b2 - net.params && view.grads == NULL && view.n_params == net.n_params,
          "mlp_view: layers not at the network's offsets");
    free(other);
    mlp_free(&net);
}

/* The whole D and G steps against finite differences of their own losses. */
static double d_loss_at(gan *m)
{
    gan_stats st;
    gan_discriminator_forward(m);
    gan_discriminator_backward(m, &st);
    return st.d_loss + st.r1; /* the loss D's gradients are of */
}

static double g_loss_at(gan *m)
{
    gan_stats st;
    gan_generator_forward_fixed(m);
    if (m->hp.augment) /* the same draws on the new G(z) */
        augment_forward(m->aug, m->hp.augment, 2 * m->B, m->hp.image_size / m->hp.image_cols, m->hp.image_cols,
                        m->d_in, m->d_aug);
    gan_discriminator_forward_fake(m);
    gan_generator_backward(m, &st);
    return st.g_loss;
}

static void check_net_grads(gan *m, mlp *net, double (*loss)(gan *), const char *what)
{
    const int bf16 = m->hp.precision == GEMM_BF16;
    const double tol = bf16 ? FD_TOL_BF16 : FD_TOL;
    const float h = bf16 ? FD_H_BF16 : FD_H;
    float *analytic = malloc(sizeof(float) * net->n_params);
    loss(m);
    memcpy(analytic, net->grads, sizeof(float) * net->n_params);
    double worst = 0.0;
    for (size_t i = 0; i < net->n_params; i++) {
        float saved = net->params[i];
        net->params[i] = saved + h;
        double up = loss(m);
        net->params[i] = saved - h;
        double down = loss(m);
        net->params[i] = saved;
        double fd = (up - down) / (2 * h), diff = fabs(fd - analytic[i]);
        if (diff > worst) worst = diff;
        CHECK(diff <= tol + 2e-2 * fabs(fd), "%s param %zu: analytic %g, finite difference %g", what, i,
              analytic[i], fd);
    }
    printf("  %s: %zu parameters, worst |analytic - fd| = %.2e\n", what, net->n_params, worst);
    free(analytic);
}

/* The R1 penalty's value against gamma/2 · mean |dD/dx|² with dD/dx by central differences of
 * D's logit in each real input pixel (D's input as it saw it: augmented when that is on). */
static void check_r1_value(gan *m, double got)
{
    const int B = m->B, X = m->hp.image_size, Hd = m->hp.d_hidden;
    float *in = m->d_aug ? m->d_aug : m->d_in;
    double want = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < X; i++) {
            double logit[2];
            for (int k = 0; k < 2; k++) {
                float *x = in + (size_t)b * X, saved = x[i];
                x[i] = saved + (k ? -1e-3f : 1e-3f);
                double z = m->d.b2[0];
                for (int j = 0; j < Hd; j++) {
                    double a = m->d.b1[j];
                    for (int p = 0; p < X; p++) a += (double)x[p] * m->d.w1[(size_t)p * Hd + j];
                    z += (a > 0 ? a : m->hp.leaky_alpha * a) * m->d.w2[j];
                }
                logit[k] = z;
                x[i] = saved;
            }
            const double g = (logit[0] - logit[1]) / 2e-3;
            want += g * g;
        }
    want *= 0.5 * m->hp.r1 / B;
    CHECK(fabs(got - want) <= 1e-3 * want + 1e-6, "R1 penalty %g, by finite differences of the logit %g", got, want);
    printf("  R1 penalty %.6f, by finite differences %.6f\n", got, want);
}

static void test_gan_steps(int smooth_by_scale, int augment, int precision, float r1)
{
    /* 8x8 images with augmentation (a shift and a cutout must fit), 8 pixels without. */
    const gan_hparams hp = {.noise_dim = 5, .g_hidden = 7, .d_hidden = 6, .image_size = augment ? 64 : 8,
                            .leaky_alpha = 0.2f, .dropout = 0.3f, .smoothing = 0.1f,
                            .smooth_by_scale = smooth_by_scale, .augment = augment, .image_cols = 8,
                            .precision = precision, .r1 = r1, .adam = {1e-3, 0.9, 0.999, 1e-8}};
    gan m;
    gan_init(&m, &hp, 4);
    rng_t r = rng_make(5, 1);
    gan_init_weights(&m, &r);
    /* Non-zero biases so every term of the backward pass is exercised. */
    fill(m.g.b1, hp.g_hidden, &r, 0.3f), fill(m.d.b1, hp.d_hidden, &r, 0.3f), fill(m.d.b2, 1, &r, 0.3f);
    fill(gan_real_rows(&m), m.B * hp.image_size, &r, 1.0f);
    gan_generator_forward(&m, &r);
    gan_augment(&m, &r);

    char what[64];
    const char *style = augment ? "augmented" : smooth_by_scale ? "scale" : "target";
    snprintf(what, sizeof what, "D step (%s%s%s)", style, precision == GEMM_BF16 ? ", bf16" : "", r1 > 0 ? ", R1" : "");
    check_net_grads(&m, &m.d, d_loss_at, what);
    what[0] = 'G';
    check_net_grads(&m, &m.g, g_loss_at, what);

    /* The D loss by hand for one configuration: mean CE(real) + mean CE(fake). */
    gan_stats st;
    gan_discriminator_forward(&m);
    gan_discriminator_backward(&m, &st);
    double want = 0.0, t = smooth_by_scale ? 1.0 : 0.9, w = smooth_by_scale ? 0.9 : 1.0;
    for (int i = 0; i < m.B; i++) {
        double pr = 1 / (1 + exp(-(double)m.d_logit[i])), pf = 1 / (1 + exp(-(double)m.d_logit[m.B + i]));
        want += -w * (t * log(pr) + (1 - t) * log(1 - pr)) - log(1 - pf);
    }
    CHECK_NEAR(st.d_loss, want / m.B, 1e-5);
    if (r1 > 0) check_r1_value(&m, st.r1);
    gan_free(&m);
}

/* A full-size D and G step in bf16 against the same step in fp32 (itself checked against finite
 * differences above): every gradient within bf16's tolerance of the largest, and two bf16
 * models given the same inputs agree bit for bit (determinism). */
static void test_bf16_gradients(void)
{
    const gan_hparams base = {.noise_dim = 100, .g_hidden = 128, .d_hidden = 128, .image_size = 784,
                              .leaky_alpha = 0.01f, .dropout = 0.2f, .smoothing = 0.1f, .adam = {1e-3, 0.9, 0.999, 1e-8}};
    gan m[3];
    for (int k = 0; k < 3; k++) {
        gan_hparams hp = base;
        hp.precision = k == 0 ? GEMM_FP32 : GEMM_BF16;
        gan_init(&m[k], &hp, 32);
        rng_t init = rng_make(11, 1), data = rng_make(11, 2), noise = rng_make(11, 3);
        gan_init_weights(&m[k], &init);
        fill(gan_real_rows(&m[k]), 32 * 784, &data, 1.0f);
        gan_generator_forward(&m[k], &noise);
        gan_stats st;
        gan_discriminator_forward(&m[k]);
        gan_discriminator_backward(&m[k], &st);
        gan_discriminator_forward_fake(&m[k]); /* D unchanged: the G step's gradients on the same D */
        gan_generator_backward(&m[k], &st);
    }
    const mlp *nets[2][3] = {{&m[0].d, &m[1].d, &m[2].d}, {&m[0].g, &m[1].g, &m[2].g}};
    for (int n = 0; n < 2; n++) {
        double largest = 0, worst = 0;
        for (size_t i = 0; i < nets[n][0]->n_params; i++) largest = fmax(largest, fabs(nets[n][0]->grads[i]));
        for (size_t i = 0; i < nets[n][0]->n_params; i++)
            worst = fmax(worst, fabs(nets[n][1]->grads[i] - nets[n][0]->grads[i]));
        CHECK(worst <= 2e-2 * largest, "%s: bf16 gradient off fp32's by %g (largest %g)", n ? "G" : "D", worst, largest);
        CHECK(memcmp(nets[n][1]->grads, nets[n][2]->grads, sizeof(float) * nets[n][1]->n_params) == 0,
              "%s: two bf16 runs of the same step differ", n ? "G" : "D");
        printf("  %s, bf16 vs fp32, full size: worst gradient difference %.2e of the largest\n", n ? "G" : "D",
               worst / largest);
    }
    for (int k = 0; k < 3; k++) gan_free(&m[k]);
}

/* The AUG_ bits that `gan_train --augment TEXT` sets, or -1 if it refuses TEXT. */
static int parse_augment(const char *text)
{
    char flag[] = "--augment", *argv[] = {"gan_train", flag, (char *)text, NULL};
    gan_config c;
    const char *help;
    err_buf err;
    return config_parse(&c, 3, argv, &help, &err) == CONFIG_RUN ? c.augment : -1;
}

/* Augmentation: the forward pass against a hand-computed shift and cutout, and the backward
 * pass against finite differences of a weighted sum of the output. */
static void test_augment(void)
{
    enum { R = 7, C = 9, X = R * C, N = 3 };
    /* --augment's words, through the option table, land on these bits. */
    CHECK(parse_augment("translate,cutout") == (AUG_TRANSLATE | AUG_CUTOUT), "parse both");
    CHECK(parse_augment("cutout,translate") == (AUG_TRANSLATE | AUG_CUTOUT), "parse both, either order");
    CHECK(parse_augment("cutout") == AUG_CUTOUT, "parse cutout");
    CHECK(parse_augment("translate") == AUG_TRANSLATE, "parse translate");
    CHECK(parse_augment("none") == 0, "parse none");
    CHECK(parse_augment("translate,") < 0 && parse_augment("rotate") < 0 && parse_augment("") < 0 &&
          parse_augment("cutout,cutout") < 0 && parse_augment("none,cutout") < 0, "bad augment lists are refused");

    float x[N * X], y[N * X], c[N * X], dx[N * X];
    rng_t r = rng_make(11, 3);
    fill(x, N * X, &r, 1.0f), fill(c, N * X, &r, 1.0f);
    /* By hand: image 0 shifted right 2 and up 1, no cutout. */
    augment_params p[N] = {{2, -1, 0, 0}, {0, 0, 4, 3}, {-3, 3, 8, 6}};
    augment_forward(p, AUG_TRANSLATE, 1, R, C, x, y);
    int wrong = 0;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            int si = i + 1, sj = j - 2;
            float want = si < R && sj >= 0 ? x[si * C + sj] : -1.0f;
            wrong += y[i * C + j] != want;
        }
    CHECK(wrong == 0, "%d pixels of the shifted image are wrong", wrong);
    /* Image 1: no shift, a 6x6 cutout centred at (row 3, col 4): rows 0..5, cols 1..6 black. */
    augment_forward(p + 1, AUG_CUTOUT, 1, R, C, x + X, y + X);
    wrong = 0;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            const int cut = i <= 5 && j >= 1 && j <= 6;
            wrong += y[X + i * C + j] != (cut ? -1.0f : x[X + i * C + j]);
        }
    CHECK(wrong == 0, "%d pixels of the cut-out image are wrong", wrong);

    /* Backward: d(sum c*y)/dx by central differences, for random draws of both. */
    augment_draw(p, N, R, C, &r);
    const int flags = AUG_TRANSLATE | AUG_CUTOUT;
    augment_backward(p, flags, N, R, C, c, dx);
    double worst = 0;
    for (int i = 0; i < N * X; i++) {
        float saved = x[i];
        x[i] = saved + 1e-2f;
        augment_forward(p, flags, N, R, C, x, y);
        double up = weighted_sum(y, c, N * X);
        x[i] = saved - 1e-2f;
        augment_forward(p, flags, N, R, C, x, y);
        double down = weighted_sum(y, c, N * X);
        x[i] = saved;
        double fd = (up - down) / 2e-2, diff = fabs(fd - dx[i]);
        if (diff > worst) worst = diff;
    }
    CHECK(worst < 1e-4, "augment backward vs finite differences: worst %g", worst);
    printf("  augmentation backward: %d pixels, worst |analytic - fd| = %.2e\n", N * X, worst);
}

/* --scale-rule against values computed by hand (lr 1e-3, betas 0.9 / 0.999, eps 1e-8, ref 64). */
/* --batch-size auto by hand: 64 per rank until 64 x ranks exceeds the images, then images / ranks. */
static void test_batch_rule(void)
{
    const struct { int asked; long long n; int world, per_rank, capped, over; } cases[] = {
        {BATCH_AUTO, 1001, 8, 64, 0, 0},  /* 512 <= 1001 */
        {BATCH_AUTO, 1024, 16, 64, 0, 0}, /* exactly the data */
        {BATCH_AUTO, 1001, 16, 62, 1, 0}, /* 1024 > 1001: 62 x 16 = 992 */
        {BATCH_AUTO, 1001, 32, 31, 1, 0},
        {BATCH_AUTO, 1001, 64, 15, 1, 0},
        {BATCH_AUTO, 40, 64, 1, 1, 1},    /* fewer images than ranks: 1 each, still over */
        {64, 1001, 32, 64, 0, 1},         /* an explicit batch is kept, flagged */
        {16, 1001, 32, 16, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        batch_plan p = schedule_batch(cases[i].asked, cases[i].n, cases[i].world);
        CHECK(p.per_rank == cases[i].per_rank && p.capped == cases[i].capped && p.over == cases[i].over,
              "schedule_batch(%d, %lld, %d) = {%d, %d, %d}, want {%d, %d, %d}", cases[i].asked, cases[i].n,
              cases[i].world, p.per_rank, p.capped, p.over, cases[i].per_rank, cases[i].capped, cases[i].over);
    }
}

/* best.h5's share guard by hand: half a point below the real share, or 3 standard errors of a
 * share counted on 2,000 samples where that is more. */
static void test_best_guard(void)
{
    best_tracker b;
    best_init(&b, 0.996); /* the shipped zeros: 3 x 0.0014 < 0.005 */
    CHECK_NEAR(b.min_frac, 0.991, 1e-12);
    best_init(&b, 0.786); /* Fashion-MNIST T-shirts: 3 x sqrt(0.786 x 0.214 / 2000) = 0.027513 */
    CHECK_NEAR(b.min_frac, 0.786 - 3 * sqrt(0.786 * 0.214 / 2000), 1e-12);
    CHECK(b.min_frac < 0.7585 && b.min_frac > 0.7584, "guard %g", b.min_frac);
}

static void test_scale_rule(void)
{
    gan_config c;
    options_defaults(&c);
    c.scale_rule = SCALE_SQRT;
    adam_scaled a = schedule_adam(&c, 512); /* kappa 8 */
    CHECK_NEAR(a.kappa, 8.0, 0);
    CHECK_NEAR(a.lr, 2.8284271247e-3, 1e-12);
    CHECK_NEAR(a.beta1, 0.2, 1e-12);
    CHECK_NEAR(a.beta2, 0.992, 1e-12);
    CHECK_NEAR(a.epsilon, 3.5355339059e-9, 1e-18);
    CHECK(!a.clamped, "kappa 8 needs no clamp");
    a = schedule_adam(&c, 32); /* below the reference: kappa 1/2 */
    CHECK_NEAR(a.lr, 7.0710678119e-4, 1e-12);
    CHECK_NEAR(a.beta1, 0.95, 1e-12);
    CHECK_NEAR(a.beta2, 0.9995, 1e-12);
    CHECK_NEAR(a.epsilon, 1.4142135624e-8, 1e-17);
    a = schedule_adam(&c, 1024); /* kappa 16: beta1 would be -0.6 */
    CHECK(a.clamped && a.beta1 == 0.0, "kappa 16: beta1 %g clamped %d", a.beta1, a.clamped);
    CHECK_NEAR(a.beta2, 0.984, 1e-12);
    c.scale_rule = SCALE_LINEAR;
    a = schedule_adam(&c, 512);
    CHECK_NEAR(a.lr, 8e-3, 1e-15);
    CHECK(a.beta1 == 0.9 && a.beta2 == 0.999 && a.epsilon == 1e-8, "linear keeps betas and epsilon");
    c.scale_rule = SCALE_NONE;
    a = schedule_adam(&c, 512);
    CHECK(a.lr == 1e-3 && a.beta1 == 0.9 && a.beta2 == 0.999 && a.epsilon == 1e-8, "none keeps everything");

    /* --cooldown 0.25 over 1000 steps: constant through step 750, then (1000 - step) / 250. */
    CHECK_NEAR(schedule_lr_factor(0.25, 0, 1000), 1.0, 0);
    CHECK_NEAR(schedule_lr_factor(0.25, 750, 1000), 1.0, 0);
    CHECK_NEAR(schedule_lr_factor(0.25, 751, 1000), 0.996, 1e-15);
    CHECK_NEAR(schedule_lr_factor(0.25, 900, 1000), 0.4, 1e-15);
    CHECK_NEAR(schedule_lr_factor(0.25, 999, 1000), 0.004, 1e-15);
    CHECK_NEAR(schedule_lr_factor(0.25, 1000, 1000), 0.0, 0);
    CHECK_NEAR(schedule_lr_factor(0.0, 999, 1000), 1.0, 0);
    CHECK_NEAR(schedule_lr_factor(1.0, 0, 1000), 1.0, 0);
    CHECK_NEAR(schedule_lr_factor(1.0, 500, 1000), 0.5, 1e-15);
    /* A fractional decay is rounded down to whole steps: 0.25 x 26667 = 6666.75 -> 6666, so the
     * lr is full through step 20001 = 26667 - 6666, as the start-up line says. */
    CHECK(schedule_cooldown_steps(0.25, 26667) == 6666, "0.25 x 26667 -> %lld", schedule_cooldown_steps(0.25, 26667));
    CHECK(schedule_cooldown_steps(0.29, 100) == 29, "0.29 x 100 -> %lld", schedule_cooldown_steps(0.29, 100));
    CHECK_NEAR(schedule_lr_factor(0.25, 20001, 26667), 1.0, 0);
    CHECK_NEAR(schedule_lr_factor(0.25, 20002, 26667), 6665.0 / 6666.0, 1e-15);
    CHECK_NEAR(schedule_lr_factor(0.25, 2, 3), 1.0, 0); /* 0.75 steps: no decay at all */

    /* Counts with suffixes, strictly. */
    long long v = 0;
    err_buf err;
    CHECK(parse_count("--images", "2.56M", 1, (long long)1e15, &v, &err) == 0 && v == 2560000, "2.56M -> %lld", v);
    CHECK(parse_count("--images", "10k", 1, (long long)1e15, &v, &err) == 0 && v == 10000, "10k -> %lld", v);
    CHECK(parse_count("--images", "640000", 1, (long long)1e15, &v, &err) == 0 && v == 640000, "640000");
    CHECK(parse_count("--images", "5x", 1, (long long)1e15, &v, &err) != 0, "5x refused");
    CHECK(parse_count("--images", "1.5", 1, (long long)1e15, &v, &err) != 0, "1.5 refused");
    CHECK(parse_count("--images", "0", 1, (long long)1e15, &v, &err) != 0, "0 refused");
}

/* The kernel choice: upgrade only what is slower than the CPU allows. */
static void test_blas_choice(void)
{
    const char *c;
    CHECK((c = blas_better_coretype("Prescott", 1, 1)) && strcmp(c, "SkylakeX") == 0, "AVX-512 CPU, generic kernels");
    CHECK((c = blas_better_coretype("Haswell", 1, 1)) && strcmp(c, "SkylakeX") == 0, "AVX-512 CPU, AVX2 kernels");
    CHECK(blas_better_coretype("Cooperlake", 1, 1) == NULL, "AVX-512 kernels are kept");
    CHECK(blas_better_coretype("SkylakeX", 1, 1) == NULL, "SkylakeX is kept");
    CHECK((c = blas_better_coretype("Sandybridge", 0, 1)) && strcmp(c, "Haswell") == 0, "AVX2 CPU, AVX kernels");
    CHECK(blas_better_coretype("Zen", 0, 1) == NULL, "Zen kernels on an AVX2 CPU are kept");
    CHECK(blas_better_coretype("Prescott", 0, 0) == NULL, "an old CPU keeps what it has");
}

int main(void)
{
    test_blas_choice();
    test_dense();
    test_elementwise();
    test_bce();
    test_adam();
    test_adam_bitwise();
    test_rng_bulk();
    test_init();
    test_gan_steps(0, 0, GEMM_FP32, 0);
    test_gan_steps(1, 0, GEMM_FP32, 0);
    test_gan_steps(0, AUG_TRANSLATE | AUG_CUTOUT, GEMM_FP32, 0);
    test_gan_steps(0, 0, GEMM_BF16, 0);
    test_gan_steps(0, AUG_TRANSLATE | AUG_CUTOUT, GEMM_BF16, 0);
    test_gan_steps(0, 0, GEMM_FP32, 0.7f);
    test_gan_steps(1, AUG_TRANSLATE | AUG_CUTOUT, GEMM_FP32, 2.0f);
    test_bf16_gradients();
    test_augment();
    test_scale_rule();
    test_batch_rule();
    test_best_guard();
    return check_summary("test_nn");
}
