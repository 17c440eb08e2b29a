/*
 * history.h: DIR/history.h5, the run's metrics and sample grids, appended as
 * training runs. Written by rank 0 in HDF5's single-writer/multiple-reader
 * (SWMR) mode: every dataset is created up front, chunked and extendible, and
 * each append is flushed, so h5py can read the file while training runs:
 *
 *   /metrics/{step (int64), d_loss, g_loss, d_real, d_fake, samples_per_sec, elapsed_s}  (N)
 *   /metrics/{eval_frac, eval_conf, eval_fd, eval_div, eval_nn, eval_bg, eval_speckle}  (N): gan_eval's score, NaN
 *     on rows without one (see --eval-every); /metrics/eval_s: the seconds that score took
 *   /metrics/skipped_steps  (N): steps whose update was dropped (--on-nonfinite skip) since
 *     the run began (0 in files from before the column existed, when continued)
 *   /samples/noise  (S, Z)  float32: the fixed noise batch behind every grid
 *   /samples/images (K, S, rows, cols) float32 in [0, 1]
 *   /samples/step   (K) int64
 *   root attributes: every option and run fact (as in the checkpoint)
 */
#ifndef GAN_HISTORY_H
#define GAN_HISTORY_H

#include <hdf5.h>

#include "attrs.h"
#include "common.h"

/* The /metrics columns besides step, in file order (history.c names them). */
enum metric {
    METRIC_D_LOSS, METRIC_G_LOSS, METRIC_D_REAL, METRIC_D_FAKE, /* averaged over the interval and the ranks */
    METRIC_SAMPLES_PER_SEC, /* training images per second over all ranks (scoring time left out) */
    METRIC_ELAPSED_S,       /* seconds since training started, scores included */
    /* the quality score (gan_eval's), NaN on rows without one */
    METRIC_EVAL_FRAC, METRIC_EVAL_CONF, METRIC_EVAL_FD, METRIC_EVAL_DIV, METRIC_EVAL_NN, METRIC_EVAL_BG,
    METRIC_EVAL_SPECKLE,
    METRIC_EVAL_S,          /* the seconds the score took */
    METRIC_SKIPPED_STEPS,   /* steps whose update was dropped since the run began */
    METRIC_COMPUTE_S,       /* seconds per rank spent computing in the interval (mean over ranks) */
    METRIC_COMM_S,          /* seconds per rank waiting on the gradient sums in the interval: exposed */
    HISTORY_N_METRICS
};

typedef struct {
    long long step;
    double values[HISTORY_N_METRICS]; /* indexed by enum metric */
} history_row;

typedef struct {
    hid_t file;
    hid_t step_set, metric_sets[HISTORY_N_METRICS];
    hid_t images_set, image_steps_set;
    hsize_t n_rows, n_grids;
    int n_samples, rows, cols;
    char path[PATH_LEN + 64];
} history;

/* What a history file holds besides its rows: the grid size, the noise length, the
 * image shape, and the run's root attributes. */
typedef struct {
    int n_samples, noise_dim, rows, cols;
    const attr_list *attrs;
} history_layout;

/* Create (truncating) DIR/history.h5 with every dataset, write the fixed noise
 * (S, Z), and switch to SWMR writing. Returns 0 or -1 with a message. */
int history_create(history *h, const char *dir, const float *noise, const history_layout *lay, err_buf *err);

/*
 * Continue DIR/history.h5 for a resumed run: its rows and grids up to `step`
 * (the checkpoint's) are copied into a new file that atomically replaces it,
 * so entries logged after the checkpoint are dropped, not duplicated. Works on
 * a history whose writer was killed.
 * Returns 0, or -1 with a message; *found = 0 if there is no history file.
 */
int history_reopen(history *h, const char *dir, long long step, const history_layout *lay, int *found,
                   err_buf *err);

/* Append one /metrics row and flush. */
int history_append_metrics(history *h, const history_row *row, err_buf *err);

/* Append one sample grid, images (S, rows*cols) in [0, 1], and flush. */
int history_append_samples(history *h, long long step, const float *images, err_buf *err);

/* Close the file; safe on a history that failed to open. */
int history_close(history *h, err_buf *err);

#endif
