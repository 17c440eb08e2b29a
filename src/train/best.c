/* best.c: the in-training score, OUT/best.h5 and the count behind --patience (see best.h). */
#include "best.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"

/* Rank 0: score G (its moving average when there is one) into the row and the log. */
quality best_score(run *r, long long step, history_row *row)
{
    const trainer *t = &r->t;
    const mlp g = t->ema ? mlp_view(&t->model.g, t->ema) : t->model.g;
    quality q = evaluator_score(&r->eval, &g, t->model.hp.leaky_alpha);
    double scores[7] = {q.frac_target, q.confidence, q.frechet, q.diversity, q.nn_ratio, q.background, q.speckle};
    memcpy(row->values + 6, scores, sizeof scores);
    printf("quality at step %lld%s: %.1f%% classified as %d, Frechet distance %.2f (real/real %.2f), "
           "diversity %.2f, nearest-neighbour ratio %.2f, background %.2f, speckle %.4f\n", step,
           t->ema ? " (EMA)" : "", 100 * q.frac_target, r->cfg.digit, q.frechet, r->eval.floor.frechet, q.diversity,
           q.nn_ratio, q.background, q.speckle);
    fflush(stdout);
    return q;
}

/*
 * The best generator. A score improves when its Fréchet distance is lower than the best so
 * far AND two guards hold:
 *   - its nearest-neighbour ratio is at least BEST_NN_GUARD, so that a G that starts copying
 *     training images (ratio well below the real images' 1) is never kept, however close
 *     its features are;
 *   - its share of samples classified as the target is at most BEST_FRAC_SLACK below the
 *     real images' own (the real/real floor): a low distance from mostly good samples and a
 *     few unrecognisable ones does not win.
 * Writes OUT/best.h5 (the checkpoint layout, atomically) on every improvement.
 */
#define BEST_NN_GUARD 0.9
#define BEST_FRAC_SLACK 0.005

double best_min_frac(const run *r)
{
    return r->eval.floor.frac_target - BEST_FRAC_SLACK;
}

int best_keep(run *r, const quality *q, long long step, const run_state *state)
{
    /* A non-finite G scores NaN; a non-finite D or Adam state must not reach best.h5 either. */
    /* The share is a count over EVAL_SAMPLES; the tolerance keeps a share exactly at the bound
     * (e.g. 99.1%) from failing on the rounding of floor - slack. */
    if (!(q->frechet < r->best_fd) || !(q->nn_ratio >= BEST_NN_GUARD) ||
        !(q->frac_target >= best_min_frac(r) - 1e-9) ||
        !trainer_finite(&r->t)) {
        r->scores_since_best++;
        return 0;
    }
    r->best_fd = q->frechet, r->best_step = step, r->scores_since_best = 0;
    attr_list best = {0};
    attrs_int(&best, "best_step", step);
    attrs_double(&best, "best_fd", q->frechet);
    attrs_double(&best, "best_nn_ratio", q->nn_ratio);
    attrs_double(&best, "best_diversity", q->diversity);
    char path[PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/best.h5", r->cfg.out);
    const trainer *t = &r->t;
    int rc = checkpoint_write_file(path, &t->model, t->ema, step, state, &r->attrs, &best, &r->err);
    attrs_free(&best);
    if (rc) return -1;
    printf("best so far: Frechet distance %.2f at step %lld -> %s\n", q->frechet, step, path);
    return 1;
}


/* Rank 0, after a resume: the best score so far is OUT/best.h5's, so that a resumed run
 * replaces it only with a better one and --patience counts on. */
void best_recall(run *r)
{
    char path[PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/best.h5", r->cfg.out);
    if (checkpoint_read_best(path, &r->best_fd, &r->best_step) != 0 || r->best_step > r->t.step) {
        r->best_fd = INFINITY, r->best_step = 0;
        return;
    }
    r->scores_since_best = (int)(r->t.step / r->cfg.eval_every - r->best_step / r->cfg.eval_every);
    printf("best so far: Frechet distance %.2f at step %lld (%s)\n", r->best_fd, r->best_step, path);
}

