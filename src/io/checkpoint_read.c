/* checkpoint_read.c: the validating checkpoint reader (see checkpoint.h). */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "build_info.h"
#include "checkpoint_layout.h"
#include "files.h"
#include "h5util.h"

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* The four tensors under /PREFIX/ into params (laid out like net's slab). */
static int read_tensors(hid_t file, const char *path, const char *prefix, const mlp *net, float *params,
                        err_buf *err)
{
    char obj[128];
    tensor t[4];
    network_tensors(net, t);
    for (int i = 0; i < 4; i++) {
        snprintf(obj, sizeof obj, "/%s/%s", prefix, t[i].name);
        if (h5_read_exact(file, path, obj, t[i].rank, t[i].dims, H5T_NATIVE_FLOAT, params + t[i].offset, err))
            return -1;
    }
    return 0;
}

static int read_network(hid_t file, const char *path, const char *name, mlp *net, err_buf *err)
{
    char obj[128];
    if (read_tensors(file, path, name, net, net->params, err)) return -1;
    const hsize_t flat[1] = {(hsize_t)net->n_params};
    snprintf(obj, sizeof obj, "/optimizer/%s/m", name);
    if (h5_read_exact(file, path, obj, 1, flat, H5T_NATIVE_FLOAT, net->m, err)) return -1;
    snprintf(obj, sizeof obj, "/optimizer/%s/v", name);
    if (h5_read_exact(file, path, obj, 1, flat, H5T_NATIVE_FLOAT, net->v, err)) return -1;
    if (!all_finite(net->params, net->n_params) || !all_finite(net->m, net->n_params) ||
        !all_finite(net->v, net->n_params))
        return err_set(err, "%s: the %s's weights or Adam moments contain NaN or infinity; "
                            "resume from an earlier checkpoint", path, name);
    for (size_t i = 0; i < net->n_params; i++)
        if (net->v[i] < 0.0f) return err_set(err, "%s: /optimizer/%s/v has negative entries", path, name);
    snprintf(obj, sizeof obj, "/optimizer/%s", name);
    hid_t group = H5Gopen2(file, obj, H5P_DEFAULT);
    int rc = group >= 0 ? h5_read_attr_int(group, "step", &net->adam_t) : -1;
    if (group >= 0) H5Gclose(group);
    if (rc || net->adam_t < 0) return err_set(err, "%s: %s has no valid Adam step attribute", path, obj);
    return 0;
}

/* The tensors under /ema/generator into a new slab, if the checkpoint has them. */
static int read_ema(hid_t file, const char *path, const mlp *g, float **ema, err_buf *err)
{
    *ema = NULL;
    if (H5LTpath_valid(file, "/ema/generator", 1) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    *ema = xmalloc(sizeof(float) * g->n_params);
    if (read_tensors(file, path, "ema/generator", g, *ema, err)) return -1;
    if (!all_finite(*ema, g->n_params))
        return err_set(err, "%s: the generator's moving average contains NaN or infinity", path);
    return 0;
}

/* One float dataset of --compress's state, if the checkpoint has it: its shape must be
 * (rows, n) (rank 2) or (n) (rows 0), n < 2^28, every value finite. *n = 0 when absent. */
static int read_comm(hid_t file, const char *path, const char *name, int rows, int *n, float **out, err_buf *err)
{
    *n = 0;
    if (H5LTpath_valid(file, name, 1) <= 0) return 0;
    int rank = 0;
    hsize_t dims[2] = {0, 0};
    if (H5LTget_dataset_ndims(file, name, &rank) < 0 || rank != (rows ? 2 : 1) ||
        H5LTget_dataset_info(file, name, dims, NULL, NULL) < 0 || (rows && dims[0] != (hsize_t)rows) ||
        dims[rank - 1] < 1 || dims[rank - 1] >= (1u << 28))
        return err_set(err, "%s: %s does not have the shape of --compress state for %d ranks", path, name, rows);
    *n = (int)dims[rank - 1];
    const size_t count = (size_t)*n * (rows ? (size_t)rows : 1);
    *out = xmalloc(sizeof(float) * count);
    if (h5_read_exact(file, path, name, rank, dims, H5T_NATIVE_FLOAT, *out, err)) return -1;
    for (size_t i = 0; i < count; i++)
        if (!isfinite((*out)[i])) return err_set(err, "%s: %s contains NaN or infinity", path, name);
    return 0;
}

static int read_state(hid_t file, const char *path, checkpoint_info *info, err_buf *err)
{
    run_state *rs = &info->state;
    rs->world = info->world_size;
    const hsize_t ranks[2] = {(hsize_t)rs->world, RANK_STATE_LEN};
    rs->ranks = xmalloc(sizeof(int64_t) * RANK_STATE_LEN * rs->world);
    if (h5_read_exact(file, path, "/state/ranks", 2, ranks, H5T_NATIVE_INT64, rs->ranks, err)) return -1;
    int max_shard = 0;
    for (int r = 0; r < rs->world; r++) {
        int64_t n = rs->ranks[r * RANK_STATE_LEN + 4], cursor = rs->ranks[r * RANK_STATE_LEN + 2];
        if (n < 1 || n > (1 << 30) || cursor < 0 || cursor > n)
            return err_set(err, "%s: /state/ranks row %d is inconsistent (shard %lld, cursor %lld)", path, r,
                           (long long)n, (long long)cursor);
        if (n > max_shard) max_shard = (int)n;
    }
    rs->max_shard = max_shard;
    const hsize_t orders[2] = {(hsize_t)rs->world, (hsize_t)max_shard};
    rs->orders = xmalloc(sizeof(int32_t) * (size_t)max_shard * rs->world);
    if (h5_read_exact(file, path, "/state/orders", 2, orders, H5T_NATIVE_INT32, rs->orders, err)) return -1;
    unsigned char *seen = xmalloc((size_t)max_shard);
    int rc = 0;
    for (int r = 0; r < rs->world && rc == 0; r++) {
        int64_t n = rs->ranks[r * RANK_STATE_LEN + 4];
        memset(seen, 0, (size_t)max_shard);
        for (int i = 0; i < max_shard && rc == 0; i++) {
            int32_t v = rs->orders[(size_t)r * max_shard + i];
            int bad = i < n ? (v < 0 || v >= n || seen[v]++) : v != -1;
            if (bad) rc = err_set(err, "%s: /state/orders row %d is not a permutation of its shard", path, r);
        }
    }
    free(seen);
    if (rc || read_comm(file, path, "/state/comm_rank", rs->world, &rs->n_comm_rank, &rs->comm_rank, err) ||
        read_comm(file, path, "/state/comm_shared", 0, &rs->n_comm_shared, &rs->comm_shared, err))
        return -1;
    /* Loss sums since the last log: absent from checkpoints of earlier versions (then the
     * first /metrics row after the resume averages only the steps after it). */
    if (H5LTpath_valid(file, "/state/stats", 1) <= 0) return 0;
    const hsize_t stats[2] = {(hsize_t)rs->world, RANK_STATS_LEN};
    rs->stats = xmalloc(sizeof(double) * RANK_STATS_LEN * rs->world);
    if (h5_read_exact(file, path, "/state/stats", 2, stats, H5T_NATIVE_DOUBLE, rs->stats, err)) return -1;
    for (int r = 0; r < rs->world; r++) {
        const double *row = rs->stats + (size_t)r * RANK_STATS_LEN, count = row[RANK_STATS_LEN - 1];
        int ok = count >= 0 && count <= (double)info->step && count == floor(count); /* steps since a row */
        for (int k = 0; k < RANK_STATS_LEN; k++) ok = ok && isfinite(row[k]);
        if (!ok) return err_set(err, "%s: /state/stats row %d is not a set of finite sums and a step count", path, r);
    }
    return 0;
}

/* Check the header in the user block against the bytes after it (see checkpoint.h). */
static int verify_header(const unsigned char *bytes, size_t len, const char *name, err_buf *err)
{
    static const char hdf5_signature[8] = {'\211', 'H', 'D', 'F', '\r', '\n', '\032', '\n'};
    const size_t magic_len = strlen(CHECKPOINT_MAGIC);
    if (len < CHECKPOINT_HEADER_BYTES || memcmp(bytes, CHECKPOINT_MAGIC, magic_len) != 0) {
        if (len >= 8 && memcmp(bytes, hdf5_signature, 8) == 0)
            return err_set(err, "%s: an HDF5 file without gan_train's checkpoint header: not a gan_train "
                                "checkpoint", name);
        if (len > 0 && len < CHECKPOINT_HEADER_BYTES && memcmp(bytes, CHECKPOINT_MAGIC, len < magic_len ? len : magic_len) == 0)
            return err_set(err, "%s: truncated: %zu bytes, not even a checkpoint header", name, len);
        return err_set(err, "%s: not a gan_train checkpoint (no checkpoint header)", name);
    }
    char header[CHECKPOINT_HEADER_BYTES + 1];
    memcpy(header, bytes, CHECKPOINT_HEADER_BYTES);
    header[CHECKPOINT_HEADER_BYTES] = '\0';
    int version = -1;
    unsigned long long payload = 0;
    unsigned long crc = 0;
    const char *p = header + magic_len;
    if (sscanf(p, "format %d\nhdf5 bytes %llu\ncrc32 %lx\n", &version, &payload, &crc) != 3)
        return err_set(err, "%s: damaged checkpoint header", name);
    if (version != CHECKPOINT_FORMAT_VERSION)
        return err_set(err, "%s: checkpoint format version %d; this gan_train (%s) reads version %d", name, version,
                       GAN_VERSION, CHECKPOINT_FORMAT_VERSION);
    if (payload != len - CHECKPOINT_HEADER_BYTES)
        return err_set(err, "%s: truncated or padded: its header says %llu bytes of HDF5 data, the file has %zu",
                       name, payload, len - CHECKPOINT_HEADER_BYTES);
    uLong got = crc32_z(crc32(0L, Z_NULL, 0), bytes + CHECKPOINT_HEADER_BYTES, len - CHECKPOINT_HEADER_BYTES);
    if (got != crc)
        return err_set(err, "%s: checksum mismatch (crc32 %08lx, header says %08lx): the file is corrupt, or was "
                            "modified after gan_train wrote it (jobs/restamp_checkpoint.py re-seals an edited one)",
                       name, (unsigned long)got, crc);
    return 0;
}

/* Open the HDF5 bytes after the header in memory (the core driver copies them once). */
static hid_t open_image(const unsigned char *bytes, size_t len)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    H5Pset_file_image(fapl, (void *)(bytes + CHECKPOINT_HEADER_BYTES), len - CHECKPOINT_HEADER_BYTES);
    hid_t file = H5Fopen("checkpoint image", H5F_ACC_RDONLY, fapl); /* a name only: nothing is read from disk */
    H5Pclose(fapl);
    return file;
}

int checkpoint_read_image(const void *bytes, size_t len, const char *name, gan *m, checkpoint_info *info,
                          err_buf *err)
{
    memset(info, 0, sizeof *info);
    if (verify_header(bytes, len, name, err)) return -1;
    /* HDF5 only ever parses bytes whose checksum matched: a corrupt file is refused above. */
    hid_t file = open_image(bytes, len);
    if (file < 0) return h5_fail(err, name, "cannot open checkpoint");
    int rc = -1;
    long long version = -1, world = 0, n_images = 0;
    if (h5_read_attr_int(file, "format_version", &version) || version != CHECKPOINT_FORMAT_VERSION) {
        err_set(err, "%s: format_version attribute %lld disagrees with the header's %d", name, version,
                CHECKPOINT_FORMAT_VERSION);
    } else if (h5_read_attr_int(file, "step", &info->step) || info->step < 0 ||
               h5_read_attr_int(file, "world_size", &world) || world < 1 || world > (1 << 24) ||
               h5_read_attr_int(file, "n_images", &n_images) || h5_read_attr_int(file, "seed", &info->seed)) {
        err_set(err, "%s: missing or invalid step, world_size, n_images or seed attribute", name);
    } else {
        info->world_size = (int)world;
        info->n_images = (int)n_images;
        if (read_network(file, name, "generator", &m->g, err) == 0 &&
            read_network(file, name, "discriminator", &m->d, err) == 0 && read_state(file, name, info, err) == 0 &&
            read_ema(file, name, &m->g, &info->ema, err) == 0)
            rc = 0;
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (rc) {
        run_state_free(&info->state);
        free(info->ema);
        info->ema = NULL;
    }
    return rc;
}

int checkpoint_read(const char *path, gan *m, checkpoint_info *info, err_buf *err)
{
    memset(info, 0, sizeof *info);
    unsigned char *bytes;
    size_t len;
    if (read_whole_file(path, &bytes, &len, err)) {
        err_buf detail = *err;
        return err_set(err, "--resume %s", detail.msg);
    }
    int rc = checkpoint_read_image(bytes, len, path, m, info, err);
    free(bytes);
    return rc;
}

/* The model sizes and the run's image shape, from the root attributes. */
static int read_model_attrs(hid_t file, const char *path, generator_file *gf, err_buf *err)
{
    long long z = 0, hg = 0, r = 0, c = 0;
    double alpha = -1;
    hid_t attr = H5Aexists(file, "leaky_alpha") > 0 ? H5Aopen(file, "leaky_alpha", H5P_DEFAULT) : -1;
    if (attr >= 0) {
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &alpha) < 0) alpha = -1;
        H5Aclose(attr);
    }
    if (h5_read_attr_int(file, "noise_dim", &z) || h5_read_attr_int(file, "g_hidden", &hg) ||
        h5_read_attr_int(file, "image_rows", &r) || h5_read_attr_int(file, "image_cols", &c) ||
        h5_read_attr_int(file, "step", &gf->step) || z < 1 || hg < 1 || r < 1 || c < 1 || z > 65536 ||
        hg > 65536 || r > 4096 || c > 4096 || !(alpha >= 0 && alpha <= 1))
        return err_set(err, "%s: missing or invalid model-size attributes", path);
    gf->noise_dim = (int)z, gf->g_hidden = (int)hg, gf->rows = (int)r, gf->cols = (int)c;
    gf->leaky_alpha = (float)alpha;
    return 0;
}

static void read_source(hid_t file, run_source *s)
{
    char fingerprint[32];
    long long digit = -1;
    memset(s, 0, sizeof *s);
    if (h5_read_attr_string(file, "data", s->data, sizeof s->data)) s->data[0] = '\0';
    if (h5_read_attr_string(file, "labels", s->labels, sizeof s->labels)) s->labels[0] = '\0';
    if (h5_read_attr_string(file, "classifier", s->classifier, sizeof s->classifier)) s->classifier[0] = '\0';
    if (h5_read_attr_string(file, "data_fingerprint", fingerprint, sizeof fingerprint) == 0)
        s->fingerprint = strtoull(fingerprint, NULL, 16);
    s->digit = h5_read_attr_int(file, "digit", &digit) == 0 && digit >= 0 && digit <= 255 ? (int)digit : -1;
    H5Eclear2(H5E_DEFAULT);
}

void run_source_attrs(const run_source *s, attr_list *out)
{
    char fingerprint[17];
    snprintf(fingerprint, sizeof fingerprint, "%016llx", (unsigned long long)s->fingerprint);
    if (s->data[0]) attrs_string(out, "data", s->data);
    if (s->labels[0]) attrs_string(out, "labels", s->labels);
    if (s->classifier[0]) attrs_string(out, "classifier", s->classifier);
    if (s->digit >= 0) attrs_int(out, "digit", s->digit);
    if (s->fingerprint) attrs_string(out, "data_fingerprint", fingerprint);
}

int run_source_read(const char *path, run_source *s)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        memset(s, 0, sizeof *s);
        s->digit = -1;
        return -1;
    }
    read_source(file, s);
    H5Fclose(file);
    return 0;
}

int checkpoint_load_generator(const char *path, int prefer_ema, generator_file *gf, err_buf *err)
{
    memset(gf, 0, sizeof *gf);
    unsigned char *bytes;
    size_t len;
    if (read_whole_file(path, &bytes, &len, err)) return -1;
    int rc = verify_header(bytes, len, path, err);
    hid_t file = rc == 0 ? open_image(bytes, len) : -1;
    free(bytes);
    if (rc) return -1;
    if (file < 0) return h5_fail(err, path, "cannot open checkpoint");
    rc = read_model_attrs(file, path, gf, err);
    read_source(file, &gf->source);
    if (rc == 0) {
        mlp_init(&gf->g, gf->noise_dim, gf->g_hidden, gf->rows * gf->cols);
        gf->is_ema = prefer_ema && H5LTpath_valid(file, "/ema/generator", 1) > 0;
        H5Eclear2(H5E_DEFAULT);
        rc = read_tensors(file, path, gf->is_ema ? "ema/generator" : "generator", &gf->g, gf->g.params, err);
        if (rc == 0 && !all_finite(gf->g.params, gf->g.n_params))
            rc = err_set(err, "%s: the generator's weights contain NaN or infinity", path);
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (rc) generator_file_free(gf);
    return rc;
}

void generator_file_free(generator_file *gf)
{
    mlp_free(&gf->g);
    memset(gf, 0, sizeof *gf);
}

int checkpoint_read_best(const char *path, double *best_fd, long long *best_step)
{
    unsigned char *bytes;
    size_t len;
    err_buf err;
    if (read_whole_file(path, &bytes, &len, &err)) return -1;
    int rc = verify_header(bytes, len, path, &err);
    hid_t file = rc == 0 ? open_image(bytes, len) : -1;
    free(bytes);
    if (file < 0) return -1;
    rc = -1;
    hid_t attr = H5Aexists(file, "best_fd") > 0 ? H5Aopen(file, "best_fd", H5P_DEFAULT) : -1;
    if (attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, best_fd) >= 0 && isfinite(*best_fd) &&
        h5_read_attr_int(file, "best_step", best_step) == 0)
        rc = 0;
    if (attr >= 0) H5Aclose(attr);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}
