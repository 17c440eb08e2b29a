/*
 * schedule.h: Adam's settings for the run, from the options: scaled to the global batch by
 * --scale-rule once at the start, and the lr's factor at each step under --cooldown. Pure
 * functions of the options, the global batch and the step, so a resume continues them.
 */
#ifndef GAN_SCHEDULE_H
#define GAN_SCHEDULE_H

#include "config.h"

/* --batch-size auto: BATCH_DEFAULT per rank, unless the global batch would then exceed the
 * training images: then the most per rank whose global batch does not (at least 1), so that a
 * step never sees an image twice. Measured on the shipped 1,001 zeros: global batches up to 1.02x
 * the data (-n 16) train as well as -n 8, 2x (-n 32, 64 per rank) do not (docs/quality.md). */
enum { BATCH_AUTO = 0, BATCH_DEFAULT = 64 };
typedef struct {
    int per_rank;  /* the batch per rank to train with */
    int capped;    /* 1: auto lowered it below BATCH_DEFAULT to fit the data */
    int over;      /* 1: the global batch exceeds the training images (an explicit --batch-size) */
} batch_plan;
batch_plan schedule_batch(int asked, long long n_images, int world);

/* Adam's settings for the global batch, from cfg's by its --scale-rule. */
typedef struct {
    double kappa;             /* global batch / reference batch */
    double lr, beta1, beta2, epsilon;
    int clamped;              /* 1 if beta1 or beta2 had to be clamped at 0 */
} adam_scaled;
adam_scaled schedule_adam(const gan_config *cfg, long long global_batch);

/* The multiplier of Adam's lr for step `step` + 1 of `steps` under --cooldown, and the number
 * of steps its decay lasts. */
double schedule_lr_factor(double cooldown, long long step, long long steps);
long long schedule_cooldown_steps(double cooldown, long long steps);

#endif
