/*
 * run.h: one training run of gan_train, from the command line to the exit status.
 *
 *   run_open   parse the options, load the data, set up the trainer (and resume),
 *              the evaluator and rank 0's outputs (directory, history, sample noise,
 *              config.ini, status); with --dry-run it stops before writing anything
 *   run_train  the training loop and its interval scheduler: /metrics rows and
 *              progress lines, quality scores, sample grids, checkpoints
 *   run_close  the summary line, one cleanup path, MPI_Finalize, the exit status
 *
 * Every rank calls all three. Only rank 0 prints and writes; whenever it does I/O that
 * can fail it broadcasts the outcome, so on an error every rank returns the same status
 * and none is left waiting in a collective.
 */
#ifndef GAN_RUN_H
#define GAN_RUN_H

#include "attrs.h"
#include "best.h"
#include "config.h"
#include "evaluator.h"
#include "history.h"
#include "lock.h"
#include "schedule.h"
#include "train.h"

enum { RUN_READY = -1 }; /* run_open: go on to run_train (any other value is an exit status) */

typedef struct {
    gan_config cfg;
    int rank, world;
    long long global_batch;
    batch_plan batch;  /* --batch-size resolved for the data and the ranks (schedule_batch) */
    int n_images, total_images, image_rows, image_cols; /* the selected digit's images */
    uint64_t fingerprint; /* of the data and labels files (idx.h): the classifier must match it */
    int classes;          /* rank 0: the labels file's largest label + 1 */
    int classifier_pending; /* --dry-run: no classifier fits the data yet; the real run would train one */
    attr_list attrs;   /* options and run facts: the files' root attributes */
    trainer t;
    int trainer_ready;
    evaluator eval;    /* rank 0, with --eval-every */
    best_tracker best; /* rank 0, with --eval-every: OUT/best.h5 and --patience */
    history hist;      /* rank 0 */
    int hist_open;
    float *noise, *hidden, *images; /* rank 0: the fixed sample noise and scratch */
    adam_scaled adam;  /* Adam's settings for this run's global batch (--scale-rule) */
    int precision;     /* GEMM_FP32 or GEMM_BF16: --precision resolved for this build and CPU */
    long long first_step;
    double start;      /* MPI_Wtime at the start of training */
    double compute_s, comm_s; /* this run's training, per rank (mean over the ranks): computing, and
                                 waiting on the gradient sums */
    err_buf err;       /* rank 0's message when a step fails */
    int status_file;   /* rank 0 wrote OUT/status ("running ...") at start: run_close updates it */
    run_lock lock;     /* rank 0: OUT/.lock, held from run_open to run_close */
} run;

/* Returns RUN_READY, or the exit status to pass to run_close (after --help, an error). */
int run_open(run *r, int argc, char **argv);

/* Returns EXIT_OK (also after --patience stopped it), EXIT_PREEMPTED after a signal,
 * EXIT_DIVERGED (a non-finite step with --on-nonfinite stop, or weights that are no longer
 * finite at a checkpoint), or EXIT_RUNTIME. */
int run_train(run *r);

/* Print the outcome (rank 0), free everything, finalize MPI; returns the exit status. */
int run_close(run *r, int status);

#endif
