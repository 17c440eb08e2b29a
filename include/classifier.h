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
#include <stdio.h>

#include "common.h"
#include "mlp.h"

enum { CLASSIFIER_HIDDEN = 256 };

/* What a classifier was trained on, recorded in its file: it scores only that data. */
typedef struct {
    uint64_t fingerprint;     /* the training files' idx_images.fingerprint; 0: not recorded (an old file) */
    int rows, cols, images;   /* image size; images trained on (the rest of the file held out) */
    int held_out;             /* images held out of training, scored for held_out_accuracy */
    double held_out_accuracy;
    char data[PATH_LEN], labels[PATH_LEN]; /* the files, as named when it was trained */
} classifier_info;

typedef struct {
    mlp net;              /* in = rows*cols, hidden = 256, out = classes */
    classifier_info info;
} classifier;

/* Train on (n, X) bytes with labels; `held_out` images (a seeded split) are not trained on
 * and their accuracy is returned in *held_out_accuracy. With `progress`, one line per epoch. */
void classifier_train(classifier *c, const uint8_t *pixels, const uint8_t *labels, int n, int X, int classes,
                      int held_out, int epochs, uint64_t seed, double *held_out_accuracy, double *train_accuracy,
                      FILE *progress);

/* images (n, X) in [0, 1] -> probabilities (n, classes) and, if features is not
 * NULL, the hidden activations (n, 256). */
void classifier_apply(const classifier *c, const float *images, int n, float *probs, float *features);

/* The weights and c->info as attributes (docs/hdf5-layout.md). */
int classifier_save(const classifier *c, const char *path, err_buf *err);
/* Any classifier file gan_eval wrote: its input size and class count come from the file, and
 * c->info from its attributes (fingerprint 0 when the file predates them). */
int classifier_load(classifier *c, const char *path, err_buf *err);
/* Does it fit images of rows x cols whose target label is `label`? If not, err says why. */
int classifier_check(const classifier *c, const char *path, int rows, int cols, int label, err_buf *err);
void classifier_free(classifier *c);

#endif
