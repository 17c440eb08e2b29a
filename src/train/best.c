/* best.c: the in-training score, OUT/best.h5 and the count behind --patience (see best.h). */
#include "best.h"

#include <math.h>
#include <stdio.h>

#include "checkpoint.h"
#include "paths.h"

/*
 * The best generator. A score improves when its Frechet distance is lower than the best so
 * far AND two guards hold:
 *   - its nearest-neighbour ratio is at least BEST_NN_GUARD, so that a G that starts copying
 *     training images (ratio well below the real images' 1) is never kept, however close
 *     its features are;
 *   - its share of samples classified as the target is at most BEST_FRAC_SLACK below the
 *     real images' own (the real/real floor), or BEST_FRAC_SE standard errors of a share
 *     counted on EVAL_SAMPLES where that is more: a low distance from mostly good samples and
 *     a few unrecognisable ones does not win. The shipped zeros read 99.6% (standard error
 *     0.14 point: the slack stays half a point); real T-shirts read 79% with a classifier of
 *     87% (0.9 point: 2.7 points), where a fixed half point rejected most of a run's better
 *     late scores on sampling noise alone and kept an early, worse generator.
 */
#define BEST_NN_GUARD 0.9
#define BEST_FRAC_SLACK 0.005
#define BEST_FRAC_SE 3.0

void best_init(best_tracker *b, double real_frac)
{
    const double se = sqrt(real_frac * (1.0 - real_frac) / EVAL_SAMPLES);
    *b = (best_tracker){INFINITY, 0, 0, real_frac - fmax(BEST_FRAC_SLACK, BEST_FRAC_SE * se)};
}

quality best_score(evaluator *e, const trainer *t, int digit, long long step)
{
    const mlp g = t->ema ? mlp_view(&t->model.g, t->ema) : t->model.g;
    quality q = evaluator_score(e, &g, t->model.hp.leaky_alpha);
    printf("quality at step %lld%s: %.1f%% classified as %d, Frechet distance %.2f (real/real %.2f), "
           "diversity %.2f, nearest-neighbour ratio %.2f, background %.2f, speckle %.4f, salt and pepper %.4f\n", step,
           t->ema ? " (EMA)" : "", 100 * q.frac_target, digit, q.frechet, e->floor.frechet, q.diversity,
           q.nn_ratio, q.background, q.speckle, q.impulse);
    fflush(stdout);
    return q;
}

int best_improves(best_tracker *b, const quality *q, long long step, int weights_finite)
{
    /* A non-finite G scores NaN; a non-finite D or Adam state must not reach best.h5 either.
     * The share is a count over EVAL_SAMPLES; the tolerance keeps a share exactly at the bound
     * (e.g. 99.1%) from failing on the rounding of floor - slack. */
    if (!(q->frechet < b->fd) || !(q->nn_ratio >= BEST_NN_GUARD) || !(q->frac_target >= b->min_frac - 1e-9) ||
        !weights_finite) {
        b->scores_since++;
        return 0;
    }
    b->fd = q->frechet, b->step = step, b->scores_since = 0;
    return 1;
}

int best_write(const char *out, const trainer *t, const quality *q, long long step, const run_state *state,
               const attr_list *attrs, err_buf *err)
{
    attr_list best = {0};
    attrs_int(&best, "best_step", step);
    attrs_double(&best, "best_fd", q->frechet);
    attrs_double(&best, "best_nn_ratio", q->nn_ratio);
    attrs_double(&best, "best_diversity", q->diversity);
    char path[PATH_LEN + 64];
    out_path(path, sizeof path, out, OUT_BEST);
    int rc = checkpoint_write_file(path, &t->model, t->ema, step, state, attrs, &best, err);
    attrs_free(&best);
    if (rc == 0) printf("best so far: Frechet distance %.2f at step %lld -> %s\n", q->frechet, step, path);
    return rc;
}

/* The best score so far is OUT/best.h5's, so that a resumed run replaces it only with a
 * better one and --patience counts on. */
void best_recall(best_tracker *b, const char *out, long long step, int eval_every)
{
    char path[PATH_LEN + 64];
    out_path(path, sizeof path, out, OUT_BEST);
    if (checkpoint_read_best(path, &b->fd, &b->step) != 0 || b->step > step) {
        b->fd = INFINITY, b->step = 0;
        return;
    }
    b->scores_since = (int)(step / eval_every - b->step / eval_every);
    printf("best so far: Frechet distance %.2f at step %lld (%s)\n", b->fd, b->step, path);
}
