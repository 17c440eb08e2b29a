/*
 * classifier_store.h: which classifier scores a dataset.
 *
 * A classifier belongs to the data it was trained on: classifier.h5 records the fingerprint
 * of its images and labels files (idx.h), and gan_train and gan_eval never score data with a
 * classifier of other data. For data of fingerprint FP the classifier is:
 *   - the one the user named (--classifier FILE), which must have been trained on FP; or
 *   - with --classifier auto (the default), the first trained on FP of: the one a checkpoint
 *     recorded (gan_eval), the shipped datasets/classifier.h5, the cache's classifier-FP.h5;
 *   - and when none is, a new one trained on every class of the data (classifier_make: a
 *     few seconds to a minute) and kept in the cache, where the next run on that data finds it.
 * The cache is $GAN_CACHE_DIR, else $XDG_CACHE_HOME/gan_train, else $HOME/.cache/gan_train.
 */
#ifndef GAN_CLASSIFIER_STORE_H
#define GAN_CLASSIFIER_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

#define CLASSIFIER_AUTO "auto" /* --classifier: find one trained on the data, or train one */

/* Epochs of classifier_make when none are given: about this many images seen in all, at most
 * CLASSIFIER_MAX_EPOCHS (the shipped classifier's 60 on 8,500 digits; 12 on 51,000 Fashion-MNIST
 * images, about 15 s on one core). */
#define CLASSIFIER_IMAGE_BUDGET 600000
enum { CLASSIFIER_MAX_EPOCHS = 60 };

enum { CLASSIFIER_FOUND = 0, CLASSIFIER_NONE = 1 };

/*
 * The classifier for data of `fingerprint` (`data` names it in messages) into path:
 * CLASSIFIER_FOUND; CLASSIFIER_NONE when `named` is auto and nothing fits (path is then the
 * cache file to train into); or -1 with a message when `named` is a file that cannot be read
 * or was trained on other data. `recorded` (may be NULL) is tried first under auto.
 */
int classifier_find(const char *named, const char *recorded, uint64_t fingerprint, const char *data, char *path,
                    size_t len, err_buf *err);

/*
 * Train a classifier on every class of the IDX pair data + labels (epochs 0: from
 * CLASSIFIER_IMAGE_BUDGET) and write it to path atomically, making its directory first; progress
 * lines go to `progress` (may be NULL). It holds PATH.lock meanwhile: with `reuse`, a classifier
 * of this data that another process wrote there while this one waited is taken instead of
 * trained again (runs of a sweep starting together train it once). Returns 0, or -1 with a message.
 */
int classifier_make(const char *data, const char *labels, int epochs, const char *path, int reuse, FILE *progress,
                    err_buf *err);

/* The epochs classifier_make trains for n training images when given 0. */
int classifier_auto_epochs(int n);

#endif
