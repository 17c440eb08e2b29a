/*
 * augment.h: differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020),
 * for training on few images: D sees every real and every fake image randomly shifted and
 * with a square cut out, so it cannot memorise the 1,001 shipped zeros; G is trained through
 * the same transformations (exact backward pass), so G still learns un-augmented digits.
 *
 * Both transformations are linear in the pixels (up to the constant fill), per image:
 *   translate: shift by (dx, dy) in [-AUG_SHIFT, AUG_SHIFT] pixels, vacated pixels black (-1)
 *   cutout:    an AUG_CUT x AUG_CUT square at a random centre (clipped at the border) set black
 * Images are rows of (rows x cols) floats in [-1, 1].
 */
#ifndef GAN_AUGMENT_H
#define GAN_AUGMENT_H

#include <stdint.h>

#include "rng.h"

enum { AUG_TRANSLATE = 1, AUG_CUTOUT = 2 };
/* A 6 x 6 cutout, not 8 x 8: with 8 the generator drew more broken rings, and a smaller square
 * raised the share classified as 0 by 0.06-0.35 point at the same distance (docs/quality.md). */
enum { AUG_SHIFT = 3, AUG_CUT = 6 };

/* One image's random draws. */
typedef struct {
    int8_t dx, dy;      /* translation */
    int16_t cut_x, cut_y; /* cutout centre */
} augment_params;

/* Draw the parameters of n images from rng (4 draws per image, whatever the flags). */
void augment_draw(augment_params *p, int n, int rows, int cols, rng_t *rng);

/* out = T(in) for n images; out and in must not overlap. */
void augment_forward(const augment_params *p, int flags, int n, int rows, int cols, const float *in, float *out);

/* din = T^T(dout): the gradient with respect to the input, given the one with respect to
 * the output (the fill is constant, so it gets no gradient). Overwrites din. */
void augment_backward(const augment_params *p, int flags, int n, int rows, int cols, const float *dout,
                      float *din);

#endif
