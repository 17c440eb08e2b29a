/* evaluator.c: the in-training quality score (see evaluator.h). */
#include "evaluator.h"

#include <stdlib.h>
#include <string.h>

#include "gan.h"
#include "rng.h"

int evaluator_init(evaluator *e, const char *classifier_path, int digit, const uint8_t *pixels, int n, int rows,
                   int cols, int noise_dim, int g_hidden, uint64_t seed, err_buf *err)
{
    memset(e, 0, sizeof *e);
    const int X = rows * cols;
    if (classifier_load(&e->clf, classifier_path, err)) {
        err_buf detail = *err;
        return err_set(err, "--classifier %s (or --eval-every 0)", detail.msg);
    }
    e->clf_loaded = 1;
    if (classifier_check(&e->clf, classifier_path, rows, cols, digit, err)) {
        err_buf detail = *err;
        return err_set(err, "--classifier: %s (or --eval-every 0)", detail.msg);
    }
    float *real = xmalloc(sizeof(float) * n * X); /* the selected real images in [0, 1] */
    for (size_t i = 0; i < (size_t)n * X; i++) real[i] = pixels[i] / 255.0f;
    e->noise = xmalloc(sizeof(float) * EVAL_SAMPLES * noise_dim);
    e->hidden = xmalloc(sizeof(float) * EVAL_SAMPLES * g_hidden);
    e->images = xmalloc(sizeof(float) * EVAL_SAMPLES * X);
    rng_t r = rng_make(seed, RNG_STREAM_SAMPLES + 1);
    rng_fill_noise(&r, e->noise, (long)EVAL_SAMPLES * noise_dim);
    const int half = n / 2;
    quality_ref other_half;
    quality_ref_init(&other_half, &e->clf, digit, real + (size_t)half * X, n - half, real, n, X);
    e->floor = quality_score(&other_half, real, half);
    quality_ref_free(&other_half);
    quality_ref_init(&e->ref, &e->clf, digit, real, n, real, n, X);
    free(real); /* the reference keeps what it needs */
    return 0;
}

quality evaluator_score(evaluator *e, const mlp *g, float leaky_alpha)
{
    generator_sample01(g, leaky_alpha, e->noise, EVAL_SAMPLES, e->hidden, e->images);
    return quality_score(&e->ref, e->images, EVAL_SAMPLES);
}

void evaluator_free(evaluator *e)
{
    if (e->clf_loaded) classifier_free(&e->clf);
    quality_ref_free(&e->ref);
    free(e->noise), free(e->hidden), free(e->images);
    memset(e, 0, sizeof *e);
}
