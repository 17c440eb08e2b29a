/*
 * gan.c: forward and backward passes of one GAN iteration (see gan.h).
 *
 * The D step runs D once on a stacked (2B, X) batch of real and fake images,
 * so each of D's layers is one well-shaped GEMM. The G step reuses G's forward
 * pass (and dropout mask) from the D step, and backpropagates through D only
 * to D's input: D's parameter gradients are not needed there.
 */
#include "gan.h"

#include <cblas.h>
#include <stdlib.h>

#include "common.h"
#include "nn.h"

void gan_init(gan *m, const gan_hparams *hp, int B)
{
    const size_t Z = hp->noise_dim, Hg = hp->g_hidden, Hd = hp->d_hidden, X = hp->image_size;
    m->hp = *hp;
    m->B = B;
    mlp_init(&m->g, (int)Z, (int)Hg, (int)X);
    mlp_init(&m->d, (int)X, (int)Hd, 1);
    m->z = xmalloc(sizeof(float) * B * Z);
    m->g_pre1 = xmalloc(sizeof(float) * B * Hg);
    m->g_act1 = xmalloc(sizeof(float) * B * Hg);
    m->g_mask = xmalloc(sizeof(float) * B * Hg);
    m->d_in = xmalloc(sizeof(float) * 2 * B * X);
    m->d_pre1 = xmalloc(sizeof(float) * 2 * B * Hd);
    m->d_act1 = xmalloc(sizeof(float) * 2 * B * Hd);
    m->d_logit = xmalloc(sizeof(float) * 2 * B);
    m->d_dlogit = xmalloc(sizeof(float) * 2 * B);
    m->d_dh = xmalloc(sizeof(float) * 2 * B * Hd);
    m->g_dout = xmalloc(sizeof(float) * B * X);
    m->g_dh = xmalloc(sizeof(float) * B * Hg);
    m->d_terms = xmalloc(sizeof(float) * 2 * B);
    m->d_prob = xmalloc(sizeof(float) * 2 * B);
    m->aug = NULL, m->d_aug = NULL, m->g_daug = NULL;
    gemm_init(&m->mm, hp->precision);
    if (hp->augment) {
        if (hp->image_cols < 1 || X % hp->image_cols) FATAL("augmentation needs the image width");
        m->aug = xmalloc(sizeof(augment_params) * 2 * B);
        m->d_aug = xmalloc(sizeof(float) * 2 * B * X);
        m->g_daug = xmalloc(sizeof(float) * B * X);
    }
    m->r1_gh = NULL, m->r1_gx = NULL, m->r1_value = 0;
    if (hp->r1 > 0) {
        m->r1_gh = xmalloc(sizeof(float) * B * Hd);
        m->r1_gx = xmalloc(sizeof(float) * B * X);
    }
}

void gan_free(gan *m)
{
    mlp_free(&m->g);
    mlp_free(&m->d);
    gemm_free(&m->mm);
    float *bufs[] = {m->z,       m->g_pre1,  m->g_act1,   m->g_mask, m->d_in,   m->d_pre1,
                     m->d_act1,  m->d_logit, m->d_dlogit, m->d_dh,   m->g_dout, m->g_dh, m->d_terms, m->d_prob};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(m->aug), free(m->d_aug), free(m->g_daug), free(m->r1_gh), free(m->r1_gx);
}

void gan_init_weights(gan *m, rng_t *rng)
{
    mlp_init_glorot(&m->g, rng);
    mlp_init_glorot(&m->d, rng);
}

/* G's draws: z, then the dropout mask. */
static void draw_generator(gan *m, rng_t *rng)
{
    const gan_hparams *hp = &m->hp;
    rng_fill_noise(rng, m->z, (long)m->B * hp->noise_dim);
    if (hp->dropout > 0.0f) dropout_make_mask(m->g_mask, m->B * hp->g_hidden, hp->dropout, rng);
}

void gan_generator_forward(gan *m, rng_t *rng)
{
    draw_generator(m, rng);
    gan_generator_forward_fixed(m);
}

void gan_draw(gan *m, rng_t *rng)
{
    const gan_hparams *hp = &m->hp;
    draw_generator(m, rng);
    if (hp->augment) augment_draw(m->aug, 2 * m->B, hp->image_size / hp->image_cols, hp->image_cols, rng);
}

void gan_generator_forward_fixed(gan *m)
{
    const gan_hparams *hp = &m->hp;
    const int B = m->B, n_hidden = B * hp->g_hidden;
    gemm_hold(&m->mm, m->g.params, m->g.n_params); /* rounded once for G's forward and backward */
    dense_forward(&m->mm, m->g_pre1, m->z, m->g.w1, m->g.b1, B, hp->noise_dim, hp->g_hidden);
    leaky_relu_forward(m->g_act1, m->g_pre1, n_hidden, hp->leaky_alpha);
    if (hp->dropout > 0.0f) dropout_apply(m->g_act1, m->g_act1, m->g_mask, n_hidden);
    float *fake = gan_fake_rows(m);
    dense_forward(&m->mm, fake, m->g_act1, m->g.w2, m->g.b2, B, hp->g_hidden, hp->image_size);
    tanh_forward(fake, fake, B * hp->image_size);
}

/* What D sees: the augmented rows when augmentation is on. */
static const float *d_input(const gan *m)
{
    return m->d_aug ? m->d_aug : m->d_in;
}

void gan_augment(gan *m, rng_t *rng)
{
    const gan_hparams *hp = &m->hp;
    if (!hp->augment) return;
    const int cols = hp->image_cols, rows = hp->image_size / cols;
    augment_draw(m->aug, 2 * m->B, rows, cols, rng);
    augment_forward(m->aug, hp->augment, 2 * m->B, rows, cols, m->d_in, m->d_aug);
}

/* D forward on `rows` rows of its input starting at row `first`: fills d_pre1, d_act1, d_logit there. */
static void discriminator_forward(gan *m, int first, int rows)
{
    const gan_hparams *hp = &m->hp;
    const size_t X = hp->image_size, Hd = hp->d_hidden;
    float *pre = m->d_pre1 + first * Hd, *act = m->d_act1 + first * Hd;
    gemm_hold(&m->mm, m->d.params, m->d.n_params); /* D may have changed: its weights rounded anew */
    gemm_hold(&m->mm, d_input(m) + first * X, (size_t)rows * X); /* read again by D's backward */
    dense_forward(&m->mm, pre, d_input(m) + first * X, m->d.w1, m->d.b1, rows, (int)X, (int)Hd);
    leaky_relu_forward(act, pre, rows * (int)Hd, hp->leaky_alpha);
    dense_forward(&m->mm, m->d_logit + first, act, m->d.w2, m->d.b2, rows, (int)Hd, 1);
}

void gan_discriminator_forward(gan *m)
{
    discriminator_forward(m, 0, 2 * m->B);
}

void gan_discriminator_forward_fake(gan *m)
{
    discriminator_forward(m, m->B, m->B);
}

/*
 * R1 (Mescheder et al., 2018): gamma/2 · mean over the real rows of |dD/dx|², on D's real inputs
 * as D saw them (augmented when augmentation is on). It keeps D's surface flat around the data,
 * so D cannot answer fine pixel noise with steep slopes. For this D, dD/dx = W1·(s ⊙ w2) with s
 * the LeakyReLU slope of each hidden unit (1 or alpha), piecewise constant: the penalty's
 * gradient reaches W1 and w2 only. Its products run in fp32 on the master weights whatever the
 * precision. Adds the gradient to dslab (D's gradient slab) and keeps the value in m->r1_value.
 */
static void r1_penalty(gan *m, float *dslab)
{
    const gan_hparams *hp = &m->hp;
    m->r1_value = 0;
    if (!(hp->r1 > 0)) return;
    const int B = m->B, X = hp->image_size, Hd = hp->d_hidden;
    const float *pre = m->d_pre1, *w1 = m->d.w1, *w2 = m->d.w2; /* real rows come first */
    float *gh = m->r1_gh, *gx = m->r1_gx, *dw1 = dslab, *dw2 = dslab + (size_t)X * Hd + Hd;
    for (size_t i = 0; i < (size_t)B * Hd; i++) gh[i] = (pre[i] > 0.0f ? 1.0f : hp->leaky_alpha) * w2[i % Hd];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, X, Hd, 1.0f, gh, Hd, w1, Hd, 0.0f, gx, X);
    double sum = 0;
    for (size_t i = 0; i < (size_t)B * X; i++) sum += (double)gx[i] * gx[i];
    m->r1_value = 0.5 * hp->r1 * sum / B;
    const float scale = hp->r1 / B; /* d(penalty)/d(gx) = scale · gx */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, X, Hd, B, scale, gx, X, gh, Hd, 1.0f, dw1, Hd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Hd, X, scale, gx, X, w1, Hd, 0.0f, gh, Hd);
    for (int j = 0; j < Hd; j++) {
        double acc = 0;
        for (int b = 0; b < B; b++) acc += gh[(size_t)b * Hd + j] * (pre[(size_t)b * Hd + j] > 0.0f ? 1.0f : hp->leaky_alpha);
        dw2[j] += (float)acc;
    }
}

void gan_discriminator_half(gan *m, int half, float *dslab, void (*between)(void *), void *arg)
{
    const gan_hparams *hp = &m->hp;
    const int B = m->B, X = hp->image_size, Hd = hp->d_hidden, first = half * B;
    if (m->d_aug) {
        const float *in = m->d_in + (size_t)first * X;
        augment_forward(m->aug + first, hp->augment, B, X / hp->image_cols, hp->image_cols, in, m->d_aug + (size_t)first * X);
    }
    discriminator_forward(m, first, B);
    between(arg);
    /* The loss's gradient at these logits, as gan_discriminator_backward computes it, and its
     * terms for gan_discriminator_stats. */
    const float t = half ? 0.0f : hp->smooth_by_scale ? 1.0f : 1.0f - hp->smoothing;
    const float w = half || !hp->smooth_by_scale ? 1.0f : 1.0f - hp->smoothing;
    for (int i = first; i < first + B; i++) {
        const float p = sigmoidf_stable(m->d_logit[i]);
        m->d_terms[i] = half ? bce_with_logits(m->d_logit[i], 0.0f) : w * bce_with_logits(m->d_logit[i], t);
        m->d_prob[i] = p;
        m->d_dlogit[i] = half ? p / B : w * (p - t) / B;
    }
    float *dh = m->d_dh + (size_t)first * Hd, *dlogit = m->d_dlogit + first;
    const float *act = m->d_act1 + (size_t)first * Hd, *in = d_input(m) + (size_t)first * X;
    const size_t b1 = (size_t)X * Hd, w2 = b1 + Hd, b2 = w2 + Hd;
    dense_backward(&m->mm, dh, dslab + w2, dslab + b2, dlogit, act, m->d.w2, B, Hd, 1);
    leaky_relu_backward(dh, dh, m->d_pre1 + (size_t)first * Hd, B * Hd, hp->leaky_alpha);
    between(arg);
    dense_backward(&m->mm, NULL, dslab, dslab + b1, dh, in, m->d.w1, B, X, Hd);
    if (half == 0) r1_penalty(m, dslab);
    between(arg);
}

void gan_discriminator_stats(const gan *m, gan_stats *st)
{
    const int B = m->B;
    double loss = 0.0, d_real = 0.0, d_fake = 0.0;
    for (int i = 0; i < B; i++) {
        loss += m->d_terms[i] + m->d_terms[B + i];
        d_real += m->d_prob[i];
        d_fake += m->d_prob[B + i];
    }
    st->d_loss = loss / B;
    st->d_real = d_real / B;
    st->d_fake = d_fake / B;
    st->r1 = m->r1_value;
}

void gan_discriminator_backward(gan *m, gan_stats *st)
{
    const gan_hparams *hp = &m->hp;
    const int B = m->B, X = hp->image_size, Hd = hp->d_hidden;

    /* Loss = mean CE(real, t_real)·w_real + mean CE(fake, 0). */
    const float t_real = hp->smooth_by_scale ? 1.0f : 1.0f - hp->smoothing;
    const float w_real = hp->smooth_by_scale ? 1.0f - hp->smoothing : 1.0f;
    double loss = 0.0, d_real = 0.0, d_fake = 0.0;
    for (int i = 0; i < B; i++) {
        float lr = m->d_logit[i], lf = m->d_logit[B + i];
        float pr = sigmoidf_stable(lr), pf = sigmoidf_stable(lf);
        loss += w_real * bce_with_logits(lr, t_real) + bce_with_logits(lf, 0.0f);
        d_real += pr;
        d_fake += pf;
        m->d_dlogit[i] = w_real * (pr - t_real) / B;
        m->d_dlogit[B + i] = pf / B;
    }
    st->d_loss = loss / B;
    st->d_real = d_real / B;
    st->d_fake = d_fake / B;

    dense_backward(&m->mm, m->d_dh, m->d.dw2, m->d.db2, m->d_dlogit, m->d_act1, m->d.w2, 2 * B, Hd, 1);
    leaky_relu_backward(m->d_dh, m->d_dh, m->d_pre1, 2 * B * Hd, hp->leaky_alpha);
    dense_backward(&m->mm, NULL, m->d.dw1, m->d.db1, m->d_dh, d_input(m), m->d.w1, 2 * B, X, Hd);
    r1_penalty(m, m->d.grads);
    st->r1 = m->r1_value;
}

void gan_generator_backward(gan *m, gan_stats *st)
{
    const gan_hparams *hp = &m->hp;
    const int B = m->B, X = hp->image_size, Hd = hp->d_hidden, Hg = hp->g_hidden;

    /* Non-saturating loss: mean CE(D(G(z)), 1), times (1-s) in the tutorial's style. */
    const float w = hp->smooth_by_scale ? 1.0f - hp->smoothing : 1.0f;
    const float *logit = m->d_logit + B;
    float *dlogit = m->d_dlogit + B;
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        loss += w * bce_with_logits(logit[i], 1.0f);
        dlogit[i] = w * (sigmoidf_stable(logit[i]) - 1.0f) / B;
    }
    st->g_loss = loss / B;

    /* Through D to its input only. */
    float *dh = m->d_dh + (size_t)B * Hd;
    dense_backward(&m->mm, dh, NULL, NULL, dlogit, NULL, m->d.w2, B, Hd, 1);
    leaky_relu_backward(dh, dh, m->d_pre1 + (size_t)B * Hd, B * Hd, hp->leaky_alpha);
    if (m->d_aug) { /* D's input was the augmented G(z): back through the augmentation */
        dense_backward(&m->mm, m->g_daug, NULL, NULL, dh, NULL, m->d.w1, B, X, Hd);
        augment_backward(m->aug + B, hp->augment, B, X / hp->image_cols, hp->image_cols, m->g_daug, m->g_dout);
    } else {
        dense_backward(&m->mm, m->g_dout, NULL, NULL, dh, NULL, m->d.w1, B, X, Hd);
    }

    /* Then through G into its parameters. */
    tanh_backward(m->g_dout, m->g_dout, gan_fake_rows(m), B * X);
    gemm_hold(&m->mm, m->g_dout, (size_t)B * X); /* read by both of G dense2's products */
    dense_backward(&m->mm, m->g_dh, m->g.dw2, m->g.db2, m->g_dout, m->g_act1, m->g.w2, B, Hg, X);
    if (hp->dropout > 0.0f) dropout_apply(m->g_dh, m->g_dh, m->g_mask, B * Hg);
    leaky_relu_backward(m->g_dh, m->g_dh, m->g_pre1, B * Hg, hp->leaky_alpha);
    dense_backward(&m->mm, NULL, m->g.dw1, m->g.db1, m->g_dh, m->z, m->g.w1, B, hp->noise_dim, Hg);
}

void generator_infer(const mlp *g, float leaky_alpha, const float *z, int n, float *hidden,
                     float *images)
{
    dense_forward(NULL, hidden, z, g->w1, g->b1, n, g->in, g->hidden);
    leaky_relu_forward(hidden, hidden, n * g->hidden, leaky_alpha);
    dense_forward(NULL, images, hidden, g->w2, g->b2, n, g->hidden, g->out);
    tanh_forward(images, images, n * g->out);
}

void generator_sample01(const mlp *g, float leaky_alpha, const float *z, int n, float *hidden, float *images)
{
    generator_infer(g, leaky_alpha, z, n, hidden, images);
    for (size_t i = 0; i < (size_t)n * g->out; i++) images[i] = 0.5f * (images[i] + 1.0f);
}
