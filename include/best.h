/*
 * best.h: keeping the best generator (rank 0, with --eval-every). Each score is compared
 * with the best so far; an improvement writes OUT/best.h5, and the scores since the last
 * one drive --patience. A resumed run recalls the best score from OUT/best.h5.
 */
#ifndef GAN_BEST_H
#define GAN_BEST_H

#include "run.h"

/* Score G (its moving average when there is one) into row's eval_* values, and print it. */
quality best_score(run *r, long long step, history_row *row);

/* Write OUT/best.h5 if q improves on the best so far (see best.c for the rule), else count
 * one more score without improvement. Returns 1 (improved), 0, or -1 with r->err. */
int best_keep(run *r, const quality *q, long long step, const run_state *state);

/* The share classified as the target that a score needs to count (the real images' own,
 * less half a point). */
double best_min_frac(const run *r);

/* After a resume: the best score and step from OUT/best.h5, if there is one. */
void best_recall(run *r);

#endif
