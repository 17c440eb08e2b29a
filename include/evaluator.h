/*
 * evaluator.h: gan_eval's quality score during training (rank 0, --eval-every).
 *
 * Prepared once: the classifier, a fixed batch of evaluation noise, the real images'
 * reference statistics, and the real/real floor (half of the real images against the
 * other half). Each score then samples G on the same noise, so scores along a run are
 * comparable.
 */
#ifndef GAN_EVALUATOR_H
#define GAN_EVALUATOR_H

#include <stdint.h>

#include "common.h"
#include "mlp.h"
#include "quality.h"

/* Samples per score: 2,000, so that the share classified as the digit, which best.h5's guard
 * tests, is known to about +-0.2 point (at 500, picks read from 0.3 below to 0.6 above their
 * value on 5,000 fresh samples; docs/quality.md). A score takes about 0.05 s. */
enum { EVAL_SAMPLES = 2000 };

typedef struct {
    classifier clf;
    int clf_loaded;
    float *noise, *hidden, *images; /* fixed eval noise (EVAL_SAMPLES, Z) and scratch; owned */
    quality_ref ref;                /* all real images, prepared once */
    quality floor;                  /* half of the real images against the other half */
} evaluator;

/*
 * Load the classifier at `classifier_path` and prepare scoring of G (noise_dim ->
 * g_hidden -> rows*cols) against the n real images `pixels` (bytes) of `digit`; the
 * noise comes from `seed`. Returns 0, or -1 with a message that names --classifier or
 * --eval-every. evaluator_free is safe after a failure.
 */
int evaluator_init(evaluator *e, const char *classifier_path, int digit, const uint8_t *pixels, int n, int rows,
                   int cols, int noise_dim, int g_hidden, uint64_t seed, err_buf *err);

/* Score generator g (dropout off) on the fixed noise. */
quality evaluator_score(evaluator *e, const mlp *g, float leaky_alpha);

void evaluator_free(evaluator *e);

#endif
