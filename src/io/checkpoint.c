/* checkpoint.c: the checkpoint writer (see checkpoint.h); checkpoint_read.c reads them back. */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint_layout.h"
#include "files.h"
#include "h5util.h"
#include "paths.h"

/* The four tensors of `params` (laid out like net's slab) under /PREFIX/. */
static int write_tensors(hid_t file, const char *prefix, const mlp *net, const float *params)
{
    char path[128];
    tensor t[4];
    network_tensors(net, t);
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/%s/%s", prefix, t[i].name);
        rc |= h5_write_floats(file, path, t[i].rank, t[i].dims, params + t[i].offset);
    }
    return rc;
}

static int write_network(hid_t file, const char *name, const mlp *net)
{
    char path[128];
    int rc = write_tensors(file, name, net, net->params);
    const hsize_t flat[1] = {(hsize_t)net->n_params};
    snprintf(path, sizeof path, "/optimizer/%s/m", name), rc |= h5_write_floats(file, path, 1, flat, net->m);
    snprintf(path, sizeof path, "/optimizer/%s/v", name), rc |= h5_write_floats(file, path, 1, flat, net->v);
    if (rc) return -1;
    snprintf(path, sizeof path, "/optimizer/%s", name);
    hid_t group = H5Gopen2(file, path, H5P_DEFAULT);
    if (group < 0) return -1;
    rc = h5_attr_int(group, "step", net->adam_t);
    H5Gclose(group);
    return rc;
}

static int write_state(hid_t file, const run_state *rs)
{
    const hsize_t ranks[2] = {(hsize_t)rs->world, RANK_STATE_LEN};
    const hsize_t orders[2] = {(hsize_t)rs->world, (hsize_t)rs->max_shard};
    const hsize_t stats[2] = {(hsize_t)rs->world, RANK_STATS_LEN};
    if (h5_write_array(file, "/state/ranks", 2, ranks, H5T_STD_I64LE, H5T_NATIVE_INT64, rs->ranks)) return -1;
    if (h5_write_array(file, "/state/stats", 2, stats, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rs->stats)) return -1;
    const hsize_t comm_rank[2] = {(hsize_t)rs->world, (hsize_t)rs->n_comm_rank}, comm_shared[1] = {(hsize_t)rs->n_comm_shared};
    if (rs->n_comm_rank && h5_write_floats(file, "/state/comm_rank", 2, comm_rank, rs->comm_rank)) return -1;
    if (rs->n_comm_shared && h5_write_floats(file, "/state/comm_shared", 1, comm_shared, rs->comm_shared)) return -1;
    return h5_write_array(file, "/state/orders", 2, orders, H5T_STD_I32LE, H5T_NATIVE_INT32, rs->orders);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if name is OUT_CHECKPOINT_AT of some step (that format is the only spelling of the name). */
static int is_numbered(const char *name)
{
    const char *digits = strchr(name, '_');
    char again[64];
    if (!digits || strlen(name) >= sizeof again) return 0;
    snprintf(again, sizeof again, OUT_CHECKPOINT_AT, strtoll(digits + 1, NULL, 10));
    return strcmp(again, name) == 0;
}

/* Hard-link checkpoint.h5 as checkpoint_STEP.h5; delete all but the newest `keep`. */
static int keep_numbered(const char *dir, const char *final_path, long long step, int keep, err_buf *err)
{
    char numbered[PATH_LEN + 64];
    out_path(numbered, sizeof numbered, dir, OUT_CHECKPOINT_AT, step);
    unlink(numbered);
    if (link(final_path, numbered) != 0)
        return err_set(err, "cannot link %s as %s: %s", final_path, numbered, strerror(errno));
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "cannot list %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (is_numbered(e->d_name)) {
            names = realloc(names, sizeof *names * (n + 1));
            if (!names) FATAL("out of memory");
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name); /* zero-padded steps: name order is step order */
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        out_path(numbered, sizeof numbered, dir, "%s", names[i]);
        unlink(numbered);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return 0;
}

/* Fill the user block: a text header with the format and a crc32 of the HDF5 bytes. */
static void stamp_header(unsigned char *image, size_t len)
{
    char header[CHECKPOINT_HEADER_BYTES] = {0};
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), image + CHECKPOINT_HEADER_BYTES, len - CHECKPOINT_HEADER_BYTES);
    snprintf(header, sizeof header, "%sformat %d\nhdf5 bytes %zu\ncrc32 %08lx\n", CHECKPOINT_MAGIC,
             CHECKPOINT_FORMAT_VERSION, len - CHECKPOINT_HEADER_BYTES, (unsigned long)crc);
    memcpy(image, header, CHECKPOINT_HEADER_BYTES);
}

/* The whole checkpoint as an HDF5 file image in memory (HDF5's core driver). */
static unsigned char *build_image(const gan *m, const float *ema, long long step, const run_state *rs,
                                  const attr_list *attrs, const attr_list *extra, size_t *len, err_buf *err)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0); /* grow by 1 MiB, never touch the disk */
    hid_t file = H5Fcreate("checkpoint.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (file < 0) {
        h5_fail(err, "checkpoint.h5", "cannot create the checkpoint in memory");
        return NULL;
    }
    unsigned char *image = NULL;
    int ok = write_network(file, "generator", &m->g) == 0 && write_network(file, "discriminator", &m->d) == 0 &&
             (!ema || write_tensors(file, "ema/generator", &m->g, ema) == 0) &&
             write_state(file, rs) == 0 && h5_attr_int(file, "format_version", CHECKPOINT_FORMAT_VERSION) == 0 &&
             h5_attr_int(file, "step", step) == 0 && h5_write_attrs(file, attrs) == 0 && (!extra || h5_write_attrs(file, extra) == 0) &&
             H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0;
    /* The header goes in front of the HDF5 image: HDF5 looks for its superblock at
     * 0, 512, 1024, ... and treats what comes before it as a user block. */
    ssize_t size = ok ? H5Fget_file_image(file, NULL, 0) : -1;
    if (size > 0) {
        image = xmalloc(CHECKPOINT_HEADER_BYTES + (size_t)size);
        if (H5Fget_file_image(file, image + CHECKPOINT_HEADER_BYTES, (size_t)size) != size) {
            free(image);
            image = NULL;
        }
    }
    if (!image) h5_fail(err, "checkpoint.h5", "building the checkpoint in memory");
    H5Fclose(file);
    *len = CHECKPOINT_HEADER_BYTES + (size_t)size;
    if (image) stamp_header(image, *len);
    return image;
}

int checkpoint_write_file(const char *path, const gan *m, const float *ema, long long step, const run_state *rs,
                          const attr_list *attrs, const attr_list *extra, err_buf *err)
{
    /* HDF5 builds the file in memory; plain write() puts it on disk, so every
     * disk error (ENOSPC, EIO, EDQUOT) is ours to report, and nothing is left
     * half-open inside the HDF5 library when the disk fails. */
    size_t len = 0;
    unsigned char *image = build_image(m, ema, step, rs, attrs, extra, &len, err);
    if (!image) return -1;
    int rc = atomic_write_file(path, image, len, err);
    free(image);
    return rc;
}

int checkpoint_write(const char *dir, const gan *m, const float *ema, long long step, const run_state *rs,
                     const attr_list *attrs, int keep, err_buf *err)
{
    char final_path[PATH_LEN + 64];
    out_path(final_path, sizeof final_path, dir, OUT_CHECKPOINT);
    if (checkpoint_write_file(final_path, m, ema, step, rs, attrs, NULL, err)) return -1;
    return keep > 0 ? keep_numbered(dir, final_path, step, keep, err) : 0;
}

void run_state_free(run_state *rs)
{
    free(rs->ranks);
    free(rs->orders);
    free(rs->stats);
    free(rs->comm_rank);
    free(rs->comm_shared);
    memset(rs, 0, sizeof *rs);
}
