/* schedule.c: the --scale-rule formulas and the --cooldown schedule (see schedule.h). */
#include "schedule.h"

#include <math.h>

batch_plan schedule_batch(int asked, long long n_images, int world)
{
    batch_plan p = {asked, 0, 0};
    if (asked == BATCH_AUTO) {
        p.per_rank = BATCH_DEFAULT;
        if ((long long)BATCH_DEFAULT * world > n_images) {
            p.per_rank = n_images / world > 1 ? (int)(n_images / world) : 1;
            p.capped = 1;
        }
    }
    p.over = (long long)p.per_rank * world > n_images;
    return p;
}

/*
 * Adam's settings for a global batch kappa times the reference batch.
 *   sqrt   (Malladi et al. 2022, "On the SDEs and Scaling Rules for Adaptive Gradient
 *          Algorithms"): lr * sqrt(kappa), 1 - beta -> kappa (1 - beta), eps / sqrt(kappa)
 *   linear: lr * kappa, the betas and eps unchanged
 *   none:   as given
 * The same formulas hold below the reference batch (kappa < 1). Where sqrt would push a beta
 * to 0 or below (beta1 at kappa >= 10 with beta1 = 0.9), it is clamped at 0 (Adam without
 * momentum) and the run prints a warning.
 */
adam_scaled schedule_adam(const gan_config *cfg, long long global_batch)
{
    adam_scaled a = {(double)global_batch / cfg->reference_batch, cfg->lr, cfg->beta1, cfg->beta2, cfg->epsilon, 0};
    if (cfg->scale_rule == SCALE_LINEAR) {
        a.lr = cfg->lr * a.kappa;
    } else if (cfg->scale_rule == SCALE_SQRT) {
        const double root = sqrt(a.kappa);
        a.lr = cfg->lr * root;
        a.beta1 = 1.0 - a.kappa * (1.0 - cfg->beta1);
        a.beta2 = 1.0 - a.kappa * (1.0 - cfg->beta2);
        a.epsilon = cfg->epsilon / root;
        if (a.beta1 < 0) a.beta1 = 0, a.clamped = 1;
        if (a.beta2 < 0) a.beta2 = 0, a.clamped = 1;
    }
    return a;
}

/* The steps in --cooldown's decay: a whole number, so that the start-up line and the schedule
 * agree (the 1e-9 keeps 0.29 x 100 at 29). */
long long schedule_cooldown_steps(double cooldown, long long steps)
{
    return (long long)(cooldown * (double)steps + 1e-9);
}

/*
 * --cooldown C: the lr holds for the first steps - D steps (D = C steps, rounded down), then
 * falls linearly to 0 over the last D (as in CycleGAN's linear decay). `step` steps are done;
 * the factor is the schedule's value there and applies to the next step, so the last step still
 * moves (factor 1 / D).
 */
double schedule_lr_factor(double cooldown, long long step, long long steps)
{
    const long long decay = schedule_cooldown_steps(cooldown, steps);
    const long long left = steps - step;
    if (decay <= 0 || left >= decay) return 1.0;
    return left > 0 ? (double)left / (double)decay : 0.0;
}
