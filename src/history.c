/* history.c: the SWMR metrics and samples writer (see history.h). */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"

static const char *metric_names[HISTORY_N_METRICS] = {"d_loss", "g_loss", "d_real",
                                                      "d_fake", "samples_per_sec", "elapsed_s"};

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

/* Grow `set` by one along axis 0 and write `row` (its remaining dims) there. */
static int append_row(hid_t set, hsize_t at, int rank, const hsize_t *row_dims, hid_t mem_type,
                      const void *row)
{
    hsize_t size[4] = {at + 1}, start[4] = {at}, count[4] = {1};
    for (int i = 1; i < rank; i++) size[i] = count[i] = row_dims[i - 1];
    if (H5Dset_extent(set, size) < 0) return -1;
    hid_t file_space = H5Dget_space(set);
    hid_t mem_space = H5Screate_simple(rank, count, NULL);
    int rc = -1;
    if (file_space >= 0 && mem_space >= 0 &&
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dwrite(set, mem_type, mem_space, file_space, H5P_DEFAULT, row) >= 0 && H5Dflush(set) >= 0)
        rc = 0;
    if (mem_space >= 0) H5Sclose(mem_space);
    if (file_space >= 0) H5Sclose(file_space);
    return rc;
}

int history_create(history *h, const char *dir, const float *noise, int n_samples, int noise_dim,
                   const run_facts *run, err_buf *err)
{
    memset(h, 0, sizeof *h);
    h->file = h->step_set = h->images_set = h->image_steps_set = -1;
    for (int i = 0; i < HISTORY_N_METRICS; i++) h->metric_sets[i] = -1;
    h->n_samples = n_samples;
    h->rows = run->image_rows;
    h->cols = run->image_cols;
    snprintf(h->path, sizeof h->path, "%s/history.h5", dir);

    /* SWMR needs the latest file format. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    h->file = H5Fcreate(h->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (h->file < 0) return h5_fail(err, h->path, "cannot create history file");

    const hsize_t image_dims[3] = {(hsize_t)n_samples, (hsize_t)h->rows, (hsize_t)h->cols};
    const hsize_t noise_dims[2] = {(hsize_t)n_samples, (hsize_t)noise_dim};
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
             h5_write_run_attrs(h->file, run) == 0 && H5Fstart_swmr_write(h->file) >= 0;
    }
    if (!ok) {
        h5_fail(err, h->path, "setting up the history file");
        history_close(h, &(err_buf){{0}});
        return -1;
    }
    return 0;
}

/* Number of leading entries of the int64 dataset `set` that are <= step (they increase). */
static int rows_up_to(hid_t set, long long step, hsize_t *rows)
{
    hid_t space = H5Dget_space(set);
    if (space < 0 || H5Sget_simple_extent_ndims(space) != 1) return -1;
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, NULL);
    H5Sclose(space);
    long long *steps = xmalloc(sizeof(long long) * (n ? n : 1));
    int rc = n ? (H5Dread(set, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps) < 0 ? -1 : 0) : 0;
    *rows = 0;
    while (rc == 0 && *rows < n && steps[*rows] <= step) ++*rows;
    free(steps);
    return rc;
}

/* Shrink `set` to `rows` along axis 0, keeping its other dimensions. */
static int truncate_rows(hid_t set, hsize_t rows)
{
    hsize_t dims[4] = {0};
    hid_t space = H5Dget_space(set);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank < 1 || rank > 4) return -1;
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    dims[0] = rows;
    return H5Dset_extent(set, dims) < 0 ? -1 : 0;
}

int history_reopen(history *h, const char *dir, long long step, int n_samples,
                   const run_facts *run, int *found, err_buf *err)
{
    memset(h, 0, sizeof *h);
    h->file = h->step_set = h->images_set = h->image_steps_set = -1;
    for (int i = 0; i < HISTORY_N_METRICS; i++) h->metric_sets[i] = -1;
    h->n_samples = n_samples;
    h->rows = run->image_rows;
    h->cols = run->image_cols;
    snprintf(h->path, sizeof h->path, "%s/history.h5", dir);
    *found = access(h->path, F_OK) == 0;
    if (!*found) return 0;

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    h->file = H5Fopen(h->path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (h->file < 0) return h5_fail(err, h->path, "cannot reopen the history file to continue it");

    int ok = (h->step_set = H5Dopen2(h->file, "/metrics/step", H5P_DEFAULT)) >= 0;
    for (int i = 0; i < HISTORY_N_METRICS && ok; i++) {
        char name[64];
        snprintf(name, sizeof name, "/metrics/%s", metric_names[i]);
        ok = (h->metric_sets[i] = H5Dopen2(h->file, name, H5P_DEFAULT)) >= 0;
    }
    ok = ok && (h->images_set = H5Dopen2(h->file, "/samples/images", H5P_DEFAULT)) >= 0 &&
         (h->image_steps_set = H5Dopen2(h->file, "/samples/step", H5P_DEFAULT)) >= 0;
    if (ok) {
        /* The grids must have the shape this run will append. */
        hsize_t dims[4] = {0};
        hid_t space = H5Dget_space(h->images_set);
        ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 4;
        if (ok) H5Sget_simple_extent_dims(space, dims, NULL);
        if (space >= 0) H5Sclose(space);
        if (ok && (dims[1] != (hsize_t)n_samples || dims[2] != (hsize_t)h->rows || dims[3] != (hsize_t)h->cols)) {
            history_close(h, &(err_buf){{0}});
            return err_set(err, "%s: its sample grids are %llux%llux%llu, this run makes %dx%dx%d "
                                "(--n-samples); use a new --out or the same options",
                           h->path, (unsigned long long)dims[1], (unsigned long long)dims[2],
                           (unsigned long long)dims[3], n_samples, h->rows, h->cols);
        }
    }
    ok = ok && rows_up_to(h->step_set, step, &h->n_rows) == 0 &&
         rows_up_to(h->image_steps_set, step, &h->n_grids) == 0 && truncate_rows(h->step_set, h->n_rows) == 0 &&
         truncate_rows(h->images_set, h->n_grids) == 0 && truncate_rows(h->image_steps_set, h->n_grids) == 0;
    for (int i = 0; i < HISTORY_N_METRICS && ok; i++) ok = truncate_rows(h->metric_sets[i], h->n_rows) == 0;
    if (!ok || H5Fstart_swmr_write(h->file) < 0) {
        h5_fail(err, h->path, "continuing the history file");
        history_close(h, &(err_buf){{0}});
        return -1;
    }
    return 0;
}

int history_append_metrics(history *h, const history_row *row, err_buf *err)
{
    int rc = append_row(h->step_set, h->n_rows, 1, NULL, H5T_NATIVE_LLONG, &row->step);
    for (int i = 0; i < HISTORY_N_METRICS && rc == 0; i++)
        rc = append_row(h->metric_sets[i], h->n_rows, 1, NULL, H5T_NATIVE_DOUBLE, &row->values[i]);
    if (rc) return h5_fail(err, h->path, "appending to /metrics");
    h->n_rows++;
    return 0;
}

int history_append_samples(history *h, long long step, const float *images, err_buf *err)
{
    const hsize_t image_dims[3] = {(hsize_t)h->n_samples, (hsize_t)h->rows, (hsize_t)h->cols};
    if (append_row(h->images_set, h->n_grids, 4, image_dims, H5T_NATIVE_FLOAT, images) ||
        append_row(h->image_steps_set, h->n_grids, 1, NULL, H5T_NATIVE_LLONG, &step))
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
