/*
 * quality.h: how good are generated digits, measured against real ones.
 * All image sets are (n, X) floats in [0, 1].
 */
#ifndef GAN_QUALITY_H
#define GAN_QUALITY_H

#include "classifier.h"

typedef struct {
    double frac_target;  /* share of images the classifier labels as the target digit */
    double confidence;   /* mean classifier probability of the target digit */
    double frechet;      /* Fréchet distance of classifier features vs the reference set */
    double diversity;    /* mean pairwise L2 distance / the reference set's own */
    double nn_ratio;     /* mean distance to the nearest training image / real-to-real's */
} quality;

/*
 * Score `images` against `reference` (real images of the digit) and `train`
 * (the images the GAN trained on; for the nearest-neighbour ratio, whose
 * baseline is the reference set's distance to `train`).
 */
quality quality_score(const classifier *c, int digit, const float *images, int n, const float *reference,
                      int n_ref, const float *train, int n_train, int X);

#endif
