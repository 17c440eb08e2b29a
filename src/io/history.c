/*
 * history.c: the SWMR metrics and samples writer (see history.h).
 *
 * Continuing after a resume rebuilds the file: the rows up to the checkpoint's
 * step are copied (read in SWMR-read mode, which also works on a file whose
 * writer was killed) into a new file that then replaces the old one. That
 * drops rows logged after the checkpoint and never appends to a file that a
 * crash may have left flagged as "open for writing".
 */
#include "history.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "h5util.h"
#include "paths.h"

static const char *const metric_names[HISTORY_N_METRICS] = {
    [METRIC_D_LOSS] = "d_loss", [METRIC_G_LOSS] = "g_loss", [METRIC_D_REAL] = "d_real", [METRIC_D_FAKE] = "d_fake",
    [METRIC_SAMPLES_PER_SEC] = "samples_per_sec", [METRIC_ELAPSED_S] = "elapsed_s", [METRIC_EVAL_FRAC] = "eval_frac",
    [METRIC_EVAL_CONF] = "eval_conf", [METRIC_EVAL_FD] = "eval_fd", [METRIC_EVAL_DIV] = "eval_div",
    [METRIC_EVAL_NN] = "eval_nn", [METRIC_EVAL_BG] = "eval_bg", [METRIC_EVAL_SPECKLE] = "eval_speckle",
    [METRIC_EVAL_S] = "eval_s", [METRIC_SKIPPED_STEPS] = "skipped_steps", [METRIC_COMPUTE_S] = "compute_s",
    [METRIC_COMM_S] = "comm_s"};
enum { FIRST_LATER_METRIC = METRIC_EVAL_BG }; /* from here on: columns a continued older history may lack */

/* An empty, unlimited dataset along its first axis, chunked `chunk0` rows at a time. */
static hid_t create_extendible(hid_t file, const char *name, hid_t type, int rank,
                               const hsize_t *row_dims, hsize_t chunk0)
{
    hsize_t dims[4] = {0}, maxdims[4] = {H5S_UNLIMITED}, chunk[4] = {chunk0};
    for (int i = 1; i < rank; i++) dims[i] = maxdims[i] = chunk[i] = row_dims[i - 1];
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t set = H5Dcreate2(file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    return set;
}

/* Grow `set` by `count` rows along axis 0 and write `rows` (count x row_dims) there. */
static int append_rows(hid_t set, hsize_t at, hsize_t count, int rank, const hsize_t *row_dims,
                       hid_t mem_type, const void *rows)
{
    if (count == 0) return 0;
    hsize_t size[4] = {at + count}, start[4] = {at}, shape[4] = {count};
    for (int i = 1; i < rank; i++) size[i] = shape[i] = row_dims[i - 1];
    if (H5Dset_extent(set, size) < 0) return -1;
    hid_t file_space = H5Dget_space(set);
    hid_t mem_space = H5Screate_simple(rank, shape, NULL);
    int rc = -1;
    if (file_space >= 0 && mem_space >= 0 &&
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, shape, NULL) >= 0 &&
        H5Dwrite(set, mem_type, mem_space, file_space, H5P_DEFAULT, rows) >= 0)
        rc = 0;
    if (mem_space >= 0) H5Sclose(mem_space);
    if (file_space >= 0) H5Sclose(file_space);
    return rc;
}

static void history_reset(history *h, const char *path, const history_layout *lay)
{
    memset(h, 0, sizeof *h);
    h->file = h->step_set = h->images_set = h->image_steps_set = -1;
    for (int i = 0; i < HISTORY_N_METRICS; i++) h->metric_sets[i] = -1;
    h->n_samples = lay->n_samples;
    h->rows = lay->rows;
    h->cols = lay->cols;
    snprintf(h->path, sizeof h->path, "%s", path);
}

/* Create every dataset in a new file at `path`; SWMR starts later (history_start). */
static int create_file(history *h, const char *path, const float *noise, const history_layout *lay,
                       err_buf *err)
{
    /* SWMR needs the latest file format. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (h->file < 0) return h5_fail(err, path, "cannot create history file");

    const hsize_t image_dims[3] = {(hsize_t)h->n_samples, (hsize_t)h->rows, (hsize_t)h->cols};
    const hsize_t noise_dims[2] = {(hsize_t)h->n_samples, (hsize_t)lay->noise_dim};
    h->step_set = create_extendible(h->file, "/metrics/step", H5T_STD_I64LE, 1, NULL, 256);
    int ok = h->step_set >= 0;
    for (int i = 0; i < HISTORY_N_METRICS && ok; i++) {
        char name[64];
        snprintf(name, sizeof name, "/metrics/%s", metric_names[i]);
        h->metric_sets[i] = create_extendible(h->file, name, H5T_IEEE_F64LE, 1, NULL, 256);
        ok = h->metric_sets[i] >= 0;
    }
    if (ok) {
        h->images_set = create_extendible(h->file, "/samples/images", H5T_IEEE_F32LE, 4, image_dims, 1);
        h->image_steps_set = create_extendible(h->file, "/samples/step", H5T_STD_I64LE, 1, NULL, 64);
        ok = h->images_set >= 0 && h->image_steps_set >= 0 &&
             h5_write_floats(h->file, "/samples/noise", 2, noise_dims, noise) == 0 &&
             h5_write_attrs(h->file, lay->attrs) == 0;
    }
    return ok ? 0 : h5_fail(err, path, "setting up the history file");
}

int history_create(history *h, const char *dir, const float *noise, const history_layout *lay, err_buf *err)
{
    char path[PATH_LEN + 64];
    out_path(path, sizeof path, dir, OUT_HISTORY);
    history_reset(h, path, lay);
    if (create_file(h, path, noise, lay, err) || H5Fstart_swmr_write(h->file) < 0) {
        if (!err->msg[0]) h5_fail(err, path, "starting SWMR writing");
        history_close(h, &(err_buf){{0}});
        return -1;
    }
    return 0;
}

/* ---- continuing after a resume --------------------------------------------------- */

/* Read the whole 1-D or N-D dataset `name` of `old` (malloc'd); its dims into dims. */
static void *read_all(hid_t old, const char *name, hid_t mem_type, size_t elem, int rank, hsize_t *dims)
{
    hid_t set = H5Dopen2(old, name, H5P_DEFAULT);
    if (set < 0) return NULL;
    hid_t space = H5Dget_space(set);
    void *buf = NULL;
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == rank) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        size_t n = 1;
        for (int i = 0; i < rank; i++) n *= dims[i];
        buf = xmalloc(elem * (n ? n : 1));
        if (n && H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (space >= 0) H5Sclose(space);
    H5Dclose(set);
    return buf;
}

/* Leading entries of steps[0..n) that are <= step (steps increase). */
static hsize_t rows_up_to(const long long *steps, hsize_t n, long long step)
{
    hsize_t k = 0;
    while (k < n && steps[k] <= step) k++;
    return k;
}

/* Copy old's first h->n_rows rows of every /metrics column into h. */
static int copy_metrics(history *h, hid_t old)
{
    int ok = 1;
    for (int i = 0; i < HISTORY_N_METRICS && ok; i++) {
        char name[64];
        hsize_t d_metric[1];
        snprintf(name, sizeof name, "/metrics/%s", metric_names[i]);
        double *col = read_all(old, name, H5T_NATIVE_DOUBLE, sizeof(double), 1, d_metric);
        if (!col && i >= FIRST_LATER_METRIC && H5Lexists(old, name, H5P_DEFAULT) == 0) {
            /* A history from before this column existed: no score of that kind (NaN), nothing skipped (0). */
            const double fill = i == METRIC_SKIPPED_STEPS ? 0.0 : NAN;
            col = xmalloc(sizeof(double) * (h->n_rows ? h->n_rows : 1));
            for (hsize_t k = 0; k < h->n_rows; k++) col[k] = fill;
            d_metric[0] = h->n_rows;
        }
        ok = col && d_metric[0] >= h->n_rows &&
             append_rows(h->metric_sets[i], 0, h->n_rows, 1, NULL, H5T_NATIVE_DOUBLE, col) == 0;
        free(col);
    }
    return ok ? 0 : -1;
}

/* Copy old's first h->n_grids sample grids into h, one at a time: only one 200 KB grid in memory. */
static int copy_grids(history *h, hid_t old)
{
    hsize_t d_images[4];
    hid_t images = H5Dopen2(old, "/samples/images", H5P_DEFAULT);
    hid_t old_space = images >= 0 ? H5Dget_space(images) : -1;
    int ok = old_space >= 0 && H5Sget_simple_extent_ndims(old_space) == 4;
    if (ok) H5Sget_simple_extent_dims(old_space, d_images, NULL);
    ok = ok && d_images[0] >= h->n_grids && d_images[1] == (hsize_t)h->n_samples &&
         d_images[2] == (hsize_t)h->rows && d_images[3] == (hsize_t)h->cols;
    const hsize_t grid_dims[3] = {(hsize_t)h->n_samples, (hsize_t)h->rows, (hsize_t)h->cols};
    float *grid = xmalloc(sizeof(float) * h->n_samples * h->rows * h->cols);
    for (hsize_t k = 0; k < h->n_grids && ok; k++) {
        hsize_t start[4] = {k, 0, 0, 0}, count[4] = {1, grid_dims[0], grid_dims[1], grid_dims[2]};
        hid_t mem = H5Screate_simple(4, count, NULL);
        ok = H5Sselect_hyperslab(old_space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dread(images, H5T_NATIVE_FLOAT, mem, old_space, H5P_DEFAULT, grid) >= 0 &&
             append_rows(h->images_set, k, 1, 4, grid_dims, H5T_NATIVE_FLOAT, grid) == 0;
        H5Sclose(mem);
    }
    free(grid);
    if (old_space >= 0) H5Sclose(old_space);
    if (images >= 0) H5Dclose(images);
    return ok ? 0 : -1;
}

/* Copy `old`'s rows up to `step` into the freshly created h. */
static int copy_history(history *h, hid_t old, long long step, const history_layout *lay, const char *tmp_path,
                        err_buf *err)
{
    hsize_t d_steps[1], d_grid_steps[1], d_noise[2];
    long long *steps = read_all(old, "/metrics/step", H5T_NATIVE_LLONG, sizeof(long long), 1, d_steps);
    long long *grid_steps = read_all(old, "/samples/step", H5T_NATIVE_LLONG, sizeof(long long), 1, d_grid_steps);
    float *noise = read_all(old, "/samples/noise", H5T_NATIVE_FLOAT, sizeof(float), 2, d_noise);
    int rc = -1;
    if (!steps || !grid_steps || !noise) {
        h5_fail(err, h->path, "reading the history to continue it");
        goto done;
    }
    if (d_noise[0] != (hsize_t)h->n_samples || d_noise[1] != (hsize_t)lay->noise_dim) {
        err_set(err, "%s: its sample noise is %llux%llu, this run uses %dx%d (--n-samples, --noise-dim); "
                     "use a new --out or the same options", h->path, (unsigned long long)d_noise[0],
                (unsigned long long)d_noise[1], h->n_samples, lay->noise_dim);
        goto done;
    }
    if (create_file(h, tmp_path, noise, lay, err)) goto done;
    h->n_rows = rows_up_to(steps, d_steps[0], step);
    h->n_grids = rows_up_to(grid_steps, d_grid_steps[0], step);
    int ok = append_rows(h->step_set, 0, h->n_rows, 1, NULL, H5T_NATIVE_LLONG, steps) == 0 &&
             append_rows(h->image_steps_set, 0, h->n_grids, 1, NULL, H5T_NATIVE_LLONG, grid_steps) == 0;
    ok = ok && copy_metrics(h, old) == 0 && copy_grids(h, old) == 0;
    rc = ok ? 0 : h5_fail(err, h->path, "copying the history to continue it");
done:
    free(steps);
    free(grid_steps);
    free(noise);
    return rc;
}

int history_reopen(history *h, const char *dir, long long step, const history_layout *lay, int *found,
                   err_buf *err)
{
    char path[PATH_LEN + 64], tmp_path[PATH_LEN + 112];
    out_path(path, sizeof path, dir, OUT_HISTORY);
    atomic_temp_path(path, tmp_path, sizeof tmp_path);
    history_reset(h, path, lay);
    *found = access(path, F_OK) == 0;
    if (!*found) return 0;

    /* SWMR-read opens a file even if its writer died without closing it. */
    hid_t old = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (old < 0) return h5_fail(err, path, "cannot read the history file to continue it "
                                           "(move it away to start a new one)");
    int rc = copy_history(h, old, step, lay, tmp_path, err);
    H5Fclose(old);
    if (rc == 0 && H5Fstart_swmr_write(h->file) < 0) rc = h5_fail(err, tmp_path, "starting SWMR writing");
    if (rc == 0 && H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0) rc = h5_fail(err, tmp_path, "flushing");
    if (rc == 0) rc = atomic_commit(tmp_path, path, err); /* the old history stays until this rename */
    if (rc) {
        history_close(h, &(err_buf){{0}});
        unlink(tmp_path);
    }
    return rc;
}

/* ---- appending -------------------------------------------------------------------- */

int history_append_metrics(history *h, const history_row *row, err_buf *err)
{
    int rc = append_rows(h->step_set, h->n_rows, 1, 1, NULL, H5T_NATIVE_LLONG, &row->step);
    for (int i = 0; i < HISTORY_N_METRICS && rc == 0; i++)
        rc = append_rows(h->metric_sets[i], h->n_rows, 1, 1, NULL, H5T_NATIVE_DOUBLE, &row->values[i]);
    if (rc || H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0) return h5_fail(err, h->path, "appending to /metrics");
    h->n_rows++;
    return 0;
}

int history_append_samples(history *h, long long step, const float *images, err_buf *err)
{
    const hsize_t image_dims[3] = {(hsize_t)h->n_samples, (hsize_t)h->rows, (hsize_t)h->cols};
    if (append_rows(h->images_set, h->n_grids, 1, 4, image_dims, H5T_NATIVE_FLOAT, images) ||
        append_rows(h->image_steps_set, h->n_grids, 1, 1, NULL, H5T_NATIVE_LLONG, &step) ||
        H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
        return h5_fail(err, h->path, "appending to /samples");
    h->n_grids++;
    return 0;
}

int history_close(history *h, err_buf *err)
{
    int rc = 0;
    hid_t sets[] = {h->step_set, h->images_set, h->image_steps_set};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (sets[i] >= 0) rc |= H5Dclose(sets[i]) < 0;
    for (int i = 0; i < HISTORY_N_METRICS; i++)
        if (h->metric_sets[i] >= 0) rc |= H5Dclose(h->metric_sets[i]) < 0;
    if (h->file >= 0) rc |= H5Fclose(h->file) < 0;
    h->file = -1;
    h->step_set = h->images_set = h->image_steps_set = -1;
    for (int i = 0; i < HISTORY_N_METRICS; i++) h->metric_sets[i] = -1;
    return rc ? h5_fail(err, h->path, "closing the history file") : 0;
}
