/*
 * best.h: keeping the best generator (rank 0, with --eval-every). Each in-training score is
 * compared with the best so far; an improvement is written to OUT/best.h5, and the scores
 * since the last one drive --patience. A resumed run recalls the best score from OUT/best.h5.
 */
#ifndef GAN_BEST_H
#define GAN_BEST_H

#include "attrs.h"
#include "evaluator.h"
#include "train.h"

typedef struct {
    double fd;         /* the best Frechet distance so far; +inf before one */
    long long step;    /* the step it was scored at */
    int scores_since;  /* scores without improvement since then (--patience) */
    double min_frac;   /* the share classified as the target a score needs to count */
} best_tracker;

/* No best yet; a score needs a share classified as the target at most BEST_FRAC_SLACK below
 * the real images' own, real_frac. */
void best_init(best_tracker *b, double real_frac);

/* Score G (its moving average when there is one) on rank 0's evaluator, and print it. */
quality best_score(evaluator *e, const trainer *t, int digit, long long step);

/* 1 if q, scored at `step`, improves on the best so far (see best.c for the rule) and the
 * weights are finite: it becomes the best. Else 0, and one more score without improvement. */
int best_improves(best_tracker *b, const quality *q, long long step, int weights_finite);

/* Write the trainer's networks as OUT/best.h5 (the checkpoint layout, atomically), with the
 * score as attributes, and say so. Returns 0 or -1 with err. */
int best_write(const char *out, const trainer *t, const quality *q, long long step, const run_state *state,
               const attr_list *attrs, err_buf *err);

/* After a resume at `step`: the best score and step from OUT/best.h5, if there is one. */
void best_recall(best_tracker *b, const char *out, long long step, int eval_every);

#endif
