/*
 * run_state.h: the per-rank part of a checkpoint, as plain data (no MPI), so that the
 * trainer fills it (train.h) and the checkpoint code writes and reads it (checkpoint.h)
 * without either depending on the other.
 */
#ifndef GAN_RUN_STATE_H
#define GAN_RUN_STATE_H

#include <stdint.h>

/* What each rank contributes to a checkpoint so that a resumed run continues
 * exactly: its random streams, its place in its shard's current epoch, and the loss
 * sums since the last log (so the first /metrics row after a resume averages the same
 * steps as the uninterrupted run's). */
enum { RANK_STATE_LEN = 5, RANK_STATS_LEN = 5 };
typedef struct {
    int world;
    int max_shard;           /* largest shard: width of orders */
    int64_t *ranks;          /* (world, RANK_STATE_LEN): noise rng, data rng, cursor, epoch, shard size */
    int32_t *orders;         /* (world, max_shard): each rank's epoch order, padded with -1 */
    double *stats;           /* (world, RANK_STATS_LEN): sums of d_loss, g_loss, d_real, d_fake and their
                                step count since the last log; NULL from checkpoints without them */
    int n_comm_rank;         /* floats of each rank's --compress state (its error feedback); 0: none */
    float *comm_rank;        /* (world, n_comm_rank), or NULL */
    int n_comm_shared;       /* floats of --compress state every rank shares (PowerSGD's Q); 0: none */
    float *comm_shared;      /* (n_comm_shared), or NULL */
} run_state;

void run_state_free(run_state *rs);

#endif
