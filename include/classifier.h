/*
 * classifier.h: the digit classifier behind gan_eval's quality score.
 *
 * A 784 -> 256 -> 10 perceptron (ReLU, softmax), trained by this project's own
 * code on the shipped digits (all ten classes) with random shifts of up to 2
 * pixels, Adam. Its 256 hidden activations are the features of the Fréchet
 * distance (the MNIST analogue of FID).
 */
#ifndef GAN_CLASSIFIER_H
#define GAN_CLASSIFIER_H

#include <stdint.h>

#include "common.h"
#include "mlp.h"

enum { CLASSIFIER_HIDDEN = 256, CLASSIFIER_CLASSES = 10 };

typedef struct {
    mlp net; /* in = rows*cols, hidden = 256, out = 10 */
} classifier;

/* Train on (n, X) bytes with labels; `held_out` images (a seeded split) are not
 * trained on and their accuracy is returned in *held_out_accuracy. */
void classifier_train(classifier *c, const uint8_t *pixels, const uint8_t *labels, int n, int X,
                      int held_out, int epochs, uint64_t seed, double *held_out_accuracy, double *train_accuracy);

/* images (n, X) in [0, 1] -> probabilities (n, 10) and, if features is not
 * NULL, the hidden activations (n, 256). */
void classifier_apply(const classifier *c, const float *images, int n, float *probs, float *features);

int classifier_save(const classifier *c, const char *path, double held_out_accuracy, int held_out, err_buf *err);
int classifier_load(classifier *c, const char *path, err_buf *err);
void classifier_free(classifier *c);

#endif
