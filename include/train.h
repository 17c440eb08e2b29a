/*
 * train.h: data-parallel training over MPI ranks.
 *
 * Every rank holds identical copies of both networks. Each rank keeps only its
 * shard of the images (a seeded permutation of the whole set, split into
 * contiguous blocks by rank) and draws minibatches from it, reshuffling at
 * each epoch. A step sums D's gradient slab over the ranks before D's Adam step and
 * G's before G's: one in-place MPI_Allreduce each by default, or the compressed or
 * hierarchical forms of comm.h. Every rank runs the same number of steps whatever its
 * shard size, so nothing deadlocks.
 *
 * The divergence guard rides on the same two collectives. Each rank puts "my loss is
 * non-finite" (0 or 1) into a spare float of the slab; after the sum, every rank checks
 * the summed gradients for non-finite values (NaN and infinity survive any summation
 * order, and every rank gets the same sums) and the spare for a count above 0. So all
 * ranks reach the same verdict with no extra message, and act on it before Adam.
 */
#ifndef GAN_TRAIN_H
#define GAN_TRAIN_H

#include <mpi.h>
#include <stdint.h>

#include "comm.h"
#include "common.h"
#include "gan.h"
#include "mpi_util.h"
#include "run_state.h"

typedef struct {
    uint8_t *pixels;  /* (n, X) this rank's images, owned */
    int n, X;
    int *order;       /* (n) the current epoch's order, owned */
    int cursor;       /* next position in order */
    long long epoch;
    rng_t rng;        /* epoch shuffles */
} data_shard;

/* The next B images as rows (B, X) scaled to [-1, 1]; wraps into new epochs. */
void shard_next_batch(data_shard *s, float *rows, int B);

/* Where a step's time goes, accumulated by trainer_step (MPI_Wtime, seconds). PHASE_WAIT
 * stays 0 unless probe_wait is set. */
enum { PHASE_DATA, PHASE_FORWARD, PHASE_BACKWARD, PHASE_ALLREDUCE, PHASE_ADAM, PHASE_WAIT, PHASE_COUNT };

/* What a step does when a loss or gradient is non-finite on some rank (--on-nonfinite). */
enum { NONFINITE_SKIP, NONFINITE_STOP };

typedef struct {
    gan model;
    data_shard shard;
    rng_t rng;           /* this rank's noise and dropout stream */
    MPI_Comm comm;
    int rank, world;
    long long step;      /* iterations completed */
    int stop_requested;  /* set on this rank (e.g. by a signal handler) to stop */
    int stopping;        /* 1 once every rank knows that some rank asked to stop */
    double phase_seconds[PHASE_COUNT]; /* time per phase since trainer_init */
    double interval_compute_s, interval_comm_s; /* set by trainer_take_stats: the seconds per rank spent
                                   computing and waiting on the gradient sums since the call before
                                   (mean over the ranks) */
    double taken_compute_s, taken_comm_s;       /* this rank's totals at that call */
    comm_ctx grad_comm;  /* where the gradient sums travel */
    grad_reducer reduce_d, reduce_g; /* D's and G's gradient sums (--compress) */
    int overlap;         /* --overlap: G's sum runs behind the next step's real half */
    int g_pending;       /* G's sum of the last step is in flight (overlap): trainer_flush lands it */
    adam_config g_adam;  /* ... and the Adam settings of that step */
    gan_stats g_stats;   /* ... and its losses, counted once G's sum is found finite */
    float *d_half;       /* (D's n_params) the fake half's D gradient (overlap), owned */
    long long skipped_at; /* the step whose update was dropped last (1-based) */
    uint64_t seed;
    int probe_wait;      /* benchmark only: a barrier before each gradient allreduce, timed as
                            PHASE_WAIT, splits waiting for the slowest rank from moving data */
    double lr_factor;    /* Adam's lr times this in the next step (--cooldown's schedule); 1 by default */
    float *ema;          /* (G's n_params) moving average of G's parameters, on rank 0 only (the
                            one that scores and writes it), else NULL; owned */
    float ema_decay;
    gan_stats sum;       /* summed per-step stats since the last trainer_take_stats (skipped
                            steps are left out) */
    long long sum_steps;
    int on_nonfinite;    /* NONFINITE_SKIP (default) or NONFINITE_STOP */
    int skipped;         /* 1 if the last step's update was dropped (on every rank) */
    int diverged;        /* 1 once a non-finite step with NONFINITE_STOP ended training */
    char nonfinite_what[96]; /* what the last dropped step found, e.g. "D's loss on 1 of 2 ranks" */
} trainer;

/*
 * Set up a trainer: both networks, initialised on rank 0 (Glorot, from
 * `seed`) and broadcast to all ranks, and this rank's data shard.
 */
void trainer_init(trainer *t, const gan_hparams *hp, int batch, const uint8_t *all_images,
                  int n_images, uint64_t seed, MPI_Comm comm);
void trainer_free(trainer *t);

/* Collective: sum the gradients in this form (enum compress, PowerSGD's rank) and, hierarchical
 * (1, 0, or -1 for auto: comm.h), within each node first. trainer_init sets exact and flat. */
void trainer_set_comm(trainer *t, int compress, int rank, int hierarchical, int overlap);

/* Keep an exponential moving average of G's parameters (decay in (0, 1)), updated
 * after each of G's Adam steps and starting from G's current parameters. */
void trainer_enable_ema(trainer *t, float decay);

/*
 * One iteration: D step then G step, each with one gradient sum. With overlap (--overlap), G's
 * sum is left in flight and lands during the next step, after D's pass over its real half
 * (or at trainer_flush): the same updates in the same order, D's gradient summed from its two
 * halves. A stop
 * request on any rank travels in a spare float of D's gradient allreduce, so
 * after the step every rank has the same t->stopping, at no extra collective.
 * A non-finite loss or gradient sum (on any rank) drops the update on every rank
 * and leaves Adam's state untouched: if D's is non-finite, the whole step (D's
 * update, then G's step is not run); if only G's, G's update (D's finite one
 * stands). Either way the step counts as skipped (t->skipped), its losses are
 * left out of the /metrics averages, and G's Adam t stays behind the step count
 * (trainer_skipped_steps). With NONFINITE_STOP, t->diverged is then set too.
 */
void trainer_step(trainer *t);

/* Collective: land G's sum still in flight from the last step (--overlap): its verdict, update,
 * moving average and losses. Call before reading or writing the state (a checkpoint, a score,
 * samples, a /metrics row) and at the end. A no-op without --overlap. */
void trainer_flush(trainer *t);

/* Steps whose update was dropped since the run began (the step count minus G's Adam t:
 * carried through checkpoints with no field of its own). */
long long trainer_skipped_steps(const trainer *t);

/* 1 if every parameter, Adam moment and moving-average weight is finite (no communication:
 * all ranks hold the same values). A checkpoint is written only when this holds. */
int trainer_finite(const trainer *t);


/* Collective: gather every rank's state on rank 0 (rs is filled on rank 0 only). */
void trainer_gather_state(const trainer *t, run_state *rs);
/* Collective: rank 0's rs (saved with the same world size) back into every rank. Returns 1 if
 * rs held --compress state of this run's form, which is restored too; 0 if it starts afresh. */
int trainer_scatter_state(trainer *t, const run_state *rs);
/* A different world size: keep the (global) networks, re-derive each rank's
 * streams from (seed, step) so no stream repeats the one before the resume. */
void trainer_rederive_streams(trainer *t, uint64_t seed);
/* Any world size (no communication): rank 0 takes over the loss sums of every saved rank
 * (rs is read on rank 0 only); the other ranks start from zero. */
void trainer_fold_stats(trainer *t, const run_state *rs);

/*
 * Collective: continue from the checkpoint at `path` (read by rank 0, broadcast).
 * Same world size, seed and dataset size: every rank's random streams and data cursor
 * are restored too, so the run continues bit for bit. Otherwise the networks and Adam
 * state are restored and the per-rank streams re-derived. Rank 0 prints which.
 * *saved_world is the rank count that wrote the checkpoint. Returns 0, or -1 on every
 * rank with rank 0's message in err.
 */
int trainer_resume(trainer *t, const char *path, long long seed, int n_images, int *saved_world, err_buf *err);

/* Average the stats accumulated since the last call over steps and ranks
 * (one MPI_Allreduce, collective) and reset the sums; also sets interval_compute_s and
 * interval_comm_s. */
gan_stats trainer_take_stats(trainer *t);

/* In-place sum of n floats over the ranks of comm (one MPI_Allreduce). */
void allreduce_sum(float *buf, size_t n, MPI_Comm comm);

#endif
