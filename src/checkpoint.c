/* checkpoint.c: the atomic checkpoint writer and the validating reader (see checkpoint.h). */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "h5util.h"

/* The four tensors of a network and their shapes, in slab order. */
typedef struct {
    const char *name;
    int rank;
    hsize_t dims[2];
    size_t offset; /* into the parameter slab */
} tensor;

static void network_tensors(const mlp *net, tensor t[4])
{
    const hsize_t in = net->in, hid = net->hidden, out = net->out;
    t[0] = (tensor){"dense1/kernel", 2, {in, hid}, 0};
    t[1] = (tensor){"dense1/bias", 1, {hid, 0}, in * hid};
    t[2] = (tensor){"dense2/kernel", 2, {hid, out}, in * hid + hid};
    t[3] = (tensor){"dense2/bias", 1, {out, 0}, in * hid + hid + hid * out};
}

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
    return h5_write_array(file, "/state/orders", 2, orders, H5T_STD_I32LE, H5T_NATIVE_INT32, rs->orders);
}

/* fsync a file or directory by path, so the rename below is durable. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hard-link checkpoint.h5 as checkpoint_STEP.h5; delete all but the newest `keep`. */
static int keep_numbered(const char *dir, const char *final_path, long long step, int keep, err_buf *err)
{
    char numbered[PATH_LEN + 48];
    snprintf(numbered, sizeof numbered, "%s/checkpoint_%010lld.h5", dir, step);
    unlink(numbered);
    if (link(final_path, numbered) != 0)
        return err_set(err, "cannot link %s as %s: %s", final_path, numbered, strerror(errno));
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "cannot list %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len == 24 && strncmp(e->d_name, "checkpoint_", 11) == 0 && strcmp(e->d_name + 21, ".h5") == 0) {
            names = realloc(names, sizeof *names * (n + 1));
            if (!names) FATAL("out of memory");
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name); /* zero-padded steps: name order is step order */
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        snprintf(numbered, sizeof numbered, "%s/%s", dir, names[i]);
        unlink(numbered);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return 0;
}

/* Write buf to path, all of it, and fsync; returns 0 or -1 with errno's reason in err. */
static int write_file_synced(const char *path, const void *buf, size_t len, err_buf *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot create: %s", path, strerror(errno));
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err_set(err, "%s: write failed after %zu of %zu bytes: %s", path, done, len, strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        err_set(err, "%s: fsync failed: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (close(fd) != 0) return err_set(err, "%s: close failed: %s", path, strerror(errno));
    return 0;
}

/* Fill the user block: a text header with the format and a crc32 of the HDF5 bytes. */
static void stamp_header(unsigned char *image, size_t len)
{
    char header[CHECKPOINT_HEADER_BYTES] = {0};
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = CHECKPOINT_HEADER_BYTES; off < len;) {
        uInt chunk = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
        crc = crc32(crc, image + off, chunk);
        off += chunk;
    }
    snprintf(header, sizeof header, "%sformat %d\nhdf5 bytes %zu\ncrc32 %08lx\n", CHECKPOINT_MAGIC,
             CHECKPOINT_FORMAT_VERSION, len - CHECKPOINT_HEADER_BYTES, (unsigned long)crc);
    memcpy(image, header, CHECKPOINT_HEADER_BYTES);
}

/* The whole checkpoint as an HDF5 file image in memory (HDF5's core driver). */
static unsigned char *build_image(const gan *m, const float *ema, long long step, const run_state *rs,
                                  const run_facts *run, size_t *len, err_buf *err)
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
             h5_attr_int(file, "step", step) == 0 && h5_write_run_attrs(file, run) == 0 &&
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

int checkpoint_write(const char *dir, const gan *m, const float *ema, long long step, const run_state *rs,
                     const run_facts *run, int keep, err_buf *err)
{
    char final_path[PATH_LEN + 32], tmp_path[PATH_LEN + 32];
    snprintf(final_path, sizeof final_path, "%s/checkpoint.h5", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s/.checkpoint.h5.tmp", dir);

    /* HDF5 builds the file in memory; plain write() puts it on disk, so every
     * disk error (ENOSPC, EIO, EDQUOT) is ours to report, and nothing is left
     * half-open inside the HDF5 library when the disk fails. */
    size_t len = 0;
    unsigned char *image = build_image(m, ema, step, rs, run, &len, err);
    if (!image) return -1;
    int rc = write_file_synced(tmp_path, image, len, err);
    free(image);
    if (rc == 0 && rename(tmp_path, final_path) != 0)
        rc = err_set(err, "cannot rename %s to %s: %s", tmp_path, final_path, strerror(errno));
    if (rc) {
        unlink(tmp_path);
        return -1;
    }
    fsync_path(dir, O_RDONLY | O_DIRECTORY); /* make the rename durable; not every filesystem allows it */
    return keep > 0 ? keep_numbered(dir, final_path, step, keep, err) : 0;
}

/* ---- reading ---------------------------------------------------------------------- */

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static int read_network(hid_t file, const char *path, const char *name, mlp *net, err_buf *err)
{
    char obj[128];
    tensor t[4];
    network_tensors(net, t);
    for (int i = 0; i < 4; i++) {
        snprintf(obj, sizeof obj, "/%s/%s", name, t[i].name);
        if (h5_read_exact(file, path, obj, t[i].rank, t[i].dims, H5T_NATIVE_FLOAT, net->params + t[i].offset, err))
            return -1;
    }
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
    char obj[128];
    tensor t[4];
    network_tensors(g, t);
    *ema = xmalloc(sizeof(float) * g->n_params);
    for (int i = 0; i < 4; i++) {
        snprintf(obj, sizeof obj, "/ema/generator/%s", t[i].name);
        if (h5_read_exact(file, path, obj, t[i].rank, t[i].dims, H5T_NATIVE_FLOAT, *ema + t[i].offset, err))
            return -1;
    }
    if (!all_finite(*ema, g->n_params))
        return err_set(err, "%s: the generator's moving average contains NaN or infinity", path);
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
    if (rc) return rc;
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
    uLong got = crc32(0L, Z_NULL, 0);
    for (size_t off = CHECKPOINT_HEADER_BYTES; off < len;) { /* zlib takes uInt lengths */
        uInt chunk = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
        got = crc32(got, bytes + off, chunk);
        off += chunk;
    }
    if (got != crc)
        return err_set(err, "%s: checksum mismatch (crc32 %08lx, header says %08lx): the file is corrupt, or was "
                            "modified after gan_train wrote it (jobs/restamp_checkpoint.py re-seals an edited one)",
                       name, (unsigned long)got, crc);
    return 0;
}

/* Read all of PATH into *bytes (malloc'd): the checksum is checked before HDF5 sees a byte. */
static int read_whole_file(const char *path, unsigned char **bytes, size_t *len, err_buf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 0;
    *bytes = NULL;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : (4u << 20);
            unsigned char *grown = realloc(*bytes, cap);
            if (!grown) FATAL("out of memory reading %s", path);
            *bytes = grown;
        }
        size_t n = fread(*bytes + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(*bytes);
        *bytes = NULL;
        return err_set(err, "%s: read error", path);
    }
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

int checkpoint_read_config(const char *path, gan_hparams *hp, int *rows, int *cols, err_buf *err)
{
    unsigned char *bytes;
    size_t len;
    if (read_whole_file(path, &bytes, &len, err)) return -1;
    int rc = verify_header(bytes, len, path, err);
    hid_t file = rc == 0 ? open_image(bytes, len) : -1;
    free(bytes);
    if (rc) return -1;
    if (file < 0) return h5_fail(err, path, "cannot open checkpoint");
    long long z = 0, hg = 0, hd = 0, r = 0, c = 0;
    double alpha = 0;
    hid_t attr = H5Aexists(file, "leaky_alpha") > 0 ? H5Aopen(file, "leaky_alpha", H5P_DEFAULT) : -1;
    if (attr >= 0) {
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &alpha) < 0) alpha = -1;
        H5Aclose(attr);
    }
    if (h5_read_attr_int(file, "noise_dim", &z) || h5_read_attr_int(file, "g_hidden", &hg) ||
        h5_read_attr_int(file, "d_hidden", &hd) || h5_read_attr_int(file, "image_rows", &r) ||
        h5_read_attr_int(file, "image_cols", &c) || attr < 0 || z < 1 || hg < 1 || hd < 1 || r < 1 || c < 1 ||
        z > 65536 || hg > 65536 || hd > 65536 || r > 4096 || c > 4096 || alpha < 0 || alpha > 1) {
        rc = err_set(err, "%s: missing or invalid model-size attributes", path);
    } else {
        memset(hp, 0, sizeof *hp);
        hp->noise_dim = (int)z, hp->g_hidden = (int)hg, hp->d_hidden = (int)hd;
        hp->image_size = (int)(r * c), hp->leaky_alpha = (float)alpha;
        *rows = (int)r, *cols = (int)c;
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}
