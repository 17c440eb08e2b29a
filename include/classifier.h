/*
 * classifier.h: the digit classifier behind gan_eval's quality score.
 *
 * A pixels -> 256 -> classes perceptron (ReLU, softmax), trained by this project's
 * own code (gan_eval --train-classifier) on every class of an IDX dataset with random
 * shifts of up to 2 pixels, Adam: the shipped one on the shipped digits (784-256-10).
 * Its 256 hidden activations are the features of the Fréchet distance (the MNIST
 * analogue of FID).
 */
#ifndef GAN_CLASSIFIER_H
#define GAN_CLASSIFIER_H

#include <stdint.h>

#include "common.h"
#include "mlp.h"

enum { CLASSIFIER_HIDDEN = 256 };

typedef struct {
    mlp net; /* in = rows*cols, hidden = 256, out = classes */
} classifier;

/* Train on (n, X) bytes with labels; `held_out` images (a seeded split) are not
 * trained on and their accuracy is returned in *held_out_accuracy. */
void classifier_train(classifier *c, const uint8_t *pixels, const uint8_t *labels, int n, int X, int classes,
                      int held_out, int epochs, uint64_t seed, double *held_out_accuracy, double *train_accuracy);

/* images (n, X) in [0, 1] -> probabilities (n, classes) and, if features is not
 * NULL, the hidden activations (n, 256). */
void classifier_apply(const classifier *c, const float *images, int n, float *probs, float *features);

/* `data` (the images it was trained on) is recorded as an attribute. */
int classifier_save(const classifier *c, const char *path, const char *data, double held_out_accuracy, int held_out,
                    err_buf *err);
/* Any classifier file gan_eval wrote: its input size and class count come from the file. */
int classifier_load(classifier *c, const char *path, err_buf *err);
/* Does it fit images of rows x cols whose target label is `label`? If not, err says why. */
int classifier_check(const classifier *c, const char *path, int rows, int cols, int label, err_buf *err);
void classifier_free(classifier *c);

#endif
