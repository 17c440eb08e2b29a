/*
 * gan.h: the GAN's training step on one rank's batch, without any MPI.
 *
 * Letters used in shape comments: B = rows per step (the per-rank batch),
 * Z = noise length, Hg / Hd = hidden widths of G / D, X = pixels per image.
 *
 *   G: z (B,Z) -> dense -> LeakyReLU -> dropout -> dense -> tanh -> (B,X)
 *   D: x (B,X) -> dense -> LeakyReLU -> dense -> logit (B)
 *
 * One iteration, as train.c drives it:
 *   gan_generator_forward          sample z and dropout, G's forward (kept for the G step)
 *   gan_discriminator_forward      D's forward on [real; fake]
 *   gan_discriminator_backward     D's loss and gradients
 *   (allreduce D's grads, Adam step on D)
 *   gan_discriminator_forward_fake D's forward on fake with the UPDATED D
 *   gan_generator_backward         G's loss, backprop through D to G's gradients
 *   (allreduce G's grads, Adam step on G)
 * Gradients are batch means; averaging them over ranks gives the global mean.
 * In bf16 (gemm.h) each forward pass rounds the weights it runs on (gemm_hold) and the
 * backward pass after it reuses them: change weights only between an Adam step and a forward.
 */
#ifndef GAN_GAN_H
#define GAN_GAN_H

#include "augment.h"
#include "gemm.h"
#include "mlp.h"
#include "rng.h"

typedef struct {
    int noise_dim, g_hidden, d_hidden, image_size; /* Z, Hg, Hd, X */
    float leaky_alpha;
    float dropout;       /* generator dropout rate in training; 0 = none */
    float smoothing;     /* one-sided label smoothing s */
    int smooth_by_scale; /* 0: D's real target is 1-s; 1: D-real and G losses x (1-s) */
    int augment;         /* AUG_* flags (augment.h): D's inputs, real and fake; 0 = none */
    int image_cols;      /* image width (rows = X / cols), for the augmentation */
    int precision;       /* GEMM_FP32 or GEMM_BF16: the matrix products of both passes (gemm.h) */
    float r1;            /* R1 penalty weight gamma (gan_r1_penalty); 0 = none */
    adam_config adam;
} gan_hparams;

typedef struct {
    gan_hparams hp;
    int B;
    mlp g, d;            /* fp32 master weights, gradients and Adam moments in every precision */
    gemm mm;             /* the products of the step, in hp.precision; owned */
    /* Activations, allocated once for B rows. */
    float *z;        /* (B, Z)    noise */
    float *g_pre1;   /* (B, Hg)   G dense1 output, before LeakyReLU */
    float *g_act1;   /* (B, Hg)   after LeakyReLU and dropout: G dense2's input */
    float *g_mask;   /* (B, Hg)   dropout mask: 0 or 1/(1-p) */
    float *d_in;     /* (2B, X)   D's input: rows [0,B) real images, [B,2B) G's output */
    float *d_pre1;   /* (2B, Hd)  D dense1 output, before LeakyReLU */
    float *d_act1;   /* (2B, Hd) */
    float *d_logit;  /* (2B) */
    float *d_dlogit; /* (2B)      dLoss/dlogit */
    float *d_dh;     /* (2B, Hd)  gradient scratch inside D */
    float *g_dout;   /* (B, X)    dLoss/dG(z) */
    float *g_dh;     /* (B, Hg)   gradient scratch inside G */
    float *d_terms;  /* (2B)      the D loss's term of each row (gan_discriminator_half) */
    float *d_prob;   /* (2B)      D's output, sigmoid(logit), of each row (gan_discriminator_half) */
    /* With augmentation only (NULL otherwise): */
    augment_params *aug; /* (2B) this step's draws, real rows then fake rows */
    float *d_aug;    /* (2B, X)   what D sees: d_in augmented */
    float *g_daug;   /* (B, X)    dLoss/d(augmented G(z)) */
    /* With the R1 penalty only (NULL otherwise): */
    float *r1_gh;    /* (B, Hd)   dD/d(hidden pre-activation) of the real rows, then its gradient */
    float *r1_gx;    /* (B, X)    dD/dx of the real rows */
    double r1_value; /* this step's penalty */
} gan;

/* Per-step losses and mean discriminator outputs, on this rank's batch. */
typedef struct {
    double d_loss, g_loss;
    double d_real; /* mean D(x) = sigmoid(logit) on real images */
    double d_fake; /* mean D(G(z)) before D's update */
    double r1;     /* the R1 penalty added to D's loss (not counted in d_loss); 0 without it */
} gan_stats;

/* Allocate both networks (zeroed; see gan_init_weights) and all activations. */
void gan_init(gan *m, const gan_hparams *hp, int B);
void gan_free(gan *m);

/* Glorot-uniform kernels, zero biases: G first, then D, from one stream. */
void gan_init_weights(gan *m, rng_t *rng);

/* The B real-image rows of D's input, (B, X), for the caller to fill in [-1, 1]. */
static inline float *gan_real_rows(gan *m) { return m->d_in; }
/* G's output rows, (B, X), in [-1, 1], valid after gan_generator_forward. */
static inline float *gan_fake_rows(gan *m) { return m->d_in + (size_t)m->B * m->hp.image_size; }

/* Draw z ~ U(-1,1) and the dropout mask from rng, and run G forward. */
void gan_generator_forward(gan *m, rng_t *rng);

/* G's forward again on the current z and dropout mask (tests, gradient checks). */
void gan_generator_forward_fixed(gan *m);

/* With augmentation on: draw this step's transformations from rng and apply them to the
 * real and fake rows (after gan_generator_forward and the real rows are filled). D then
 * sees the augmented rows in both steps; G's gradient flows back through them. */
void gan_augment(gan *m, rng_t *rng);

/*
 * The D step in halves, for a trainer that computes while a sum is in flight (--overlap): the
 * same draws, products and loss as gan_augment + gan_discriminator_forward +
 * gan_discriminator_backward, but each half of the batch on its own, so that the real half can
 * run before G's update lands.
 *   gan_draw                 the step's draws, in the order the unsplit step makes them: G's noise
 *                            and dropout mask, then the augmentation of D's 2B inputs
 *   gan_discriminator_half   half 0 (the real rows, once filled) or 1 (G's rows, after
 *                            gan_generator_forward_fixed): augmentation, D forward, the loss's
 *                            gradient, and D's weight gradients of those rows written into dslab
 *                            (D's slab layout); between(arg) is called between its products
 *   gan_discriminator_stats  the D loss and mean outputs over both halves (st's d_* fields)
 * D's gradient is the sum of the two halves' slabs: the same sum as the stacked backward, in
 * another order (not bitwise equal to it).
 */
void gan_draw(gan *m, rng_t *rng);
void gan_discriminator_half(gan *m, int half, float *dslab, void (*between)(void *), void *arg);
void gan_discriminator_stats(const gan *m, gan_stats *st);

/* D step, forward: D on the stacked (2B, X) batch of real and fake rows. */
void gan_discriminator_forward(gan *m);

/* D step, backward (after gan_discriminator_forward): D's loss, and D's
 * gradients written into m->d.grads (every entry but the spare floats). Fills st->d_loss,
 * d_real, d_fake. */
void gan_discriminator_backward(gan *m, gan_stats *st);

/* G step, forward: D on the fake rows only; run it after D's update. */
void gan_discriminator_forward_fake(gan *m);

/* G step, backward (after gan_discriminator_forward_fake): G's non-saturating
 * loss, backpropagated through D to its input only (D's parameter gradients
 * are not computed), and G's gradients written into m->g.grads. Fills st->g_loss. */
void gan_generator_backward(gan *m, gan_stats *st);

/* Inference (no dropout): images (n, X) in [-1, 1] from z (n, Z); hidden is (n, Hg) scratch.
 * Always fp32, from the master weights: samples and scores do not depend on --precision's
 * rounding of the products, only on the weights it trained. */
void generator_infer(const mlp *g, float leaky_alpha, const float *z, int n, float *hidden,
                     float *images);

/* The same mapped to [0, 1], as images are stored and scored: every tool samples G with this. */
void generator_sample01(const mlp *g, float leaky_alpha, const float *z, int n, float *hidden, float *images);

#endif
