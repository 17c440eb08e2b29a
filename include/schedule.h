/*
 * schedule.h: Adam's settings for the run, from the options: scaled to the global batch by
 * --scale-rule once at the start, and the lr's factor at each step under --cooldown. Pure
 * functions of the options, the global batch and the step, so a resume continues them.
 */
#ifndef GAN_SCHEDULE_H
#define GAN_SCHEDULE_H

#include "config.h"

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
