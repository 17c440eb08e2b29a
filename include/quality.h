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
    double background;   /* share of grey pixels (neither near-black nor stroke) / the reference's */
    double speckle;      /* share of lit pixels (> 0.1) far from any stroke: salt noise; real ~0 */
    double impulse;      /* share of pixels off the median of their 8 neighbours by > QUALITY_IMPULSE:
                            salt-and-pepper inside a shape as well as around it (textured data);
                            NaN for images that are not square */
} quality;

/* The background measures' thresholds (docs/quality.md, "Backgrounds"): a pixel is near-black
 * below QUALITY_DARK and stroke above QUALITY_STROKE; the stroke's core is where the 3x3 mean
 * exceeds QUALITY_CORE, and a pixel is "far" when no core pixel lies within QUALITY_FAR pixels
 * (a (2·FAR+1)² square). Images must be square for the speckle share. */
#define QUALITY_DARK 0.1
#define QUALITY_STROKE 0.5
#define QUALITY_CORE 0.4
enum { QUALITY_FAR = 3 };
#define QUALITY_IMPULSE 0.3

/* Diversity and nearest-neighbour distances use at most this many images of each set. */
enum { QUALITY_PAIRS = 400 };

/* What a score compares against, computed once: the real images' classifier features
 * (mean, covariance trace and square root) and their own distance baselines. */
typedef struct {
    const classifier *clf; /* borrowed */
    int digit, X, n_train;
    double *train;         /* (n_train, X) the images the GAN trained on; owned */
    double *mu, *root;     /* (D) feature mean, (D, D) covariance^(1/2); owned */
    double trace;          /* trace of the feature covariance */
    double pair_mean;      /* mean pairwise distance within the reference images */
    double nearest_mean;   /* mean distance from a reference image to its nearest other training image */
    double grey_share;     /* the reference images' share of grey pixels */
} quality_ref;

/*
 * Prepare scoring against `reference` (real images of the digit) and `train` (the
 * images the GAN trained on, for the nearest-neighbour ratio, whose baseline is the
 * reference images' own distance to `train`). `c` must outlive r.
 */
void quality_ref_init(quality_ref *r, const classifier *c, int digit, const float *reference, int n_ref,
                      const float *train, int n_train, int X);
void quality_ref_free(quality_ref *r);

/* Score n images (n >= 2) against r; every field is NaN if a pixel is not finite. */
quality quality_score(const quality_ref *r, const float *images, int n);

#endif
