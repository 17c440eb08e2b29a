/*
 * checkpoint.h: DIR/checkpoint.h5, written atomically by rank 0, read back for
 * --resume, and read for G alone by the tools (no MPI, no trainer).
 *
 * Layout (float32, kernels (in, out) so that y = x·W + b):
 *   /generator/dense1/{kernel (Z,Hg), bias (Hg)}  /generator/dense2/{kernel (Hg,X), bias (X)}
 *   /discriminator/dense1/{kernel (X,Hd), bias (Hd)} /discriminator/dense2/{kernel (Hd,1), bias (1)}
 *   /optimizer/{generator,discriminator}/{m, v}: Adam moments, flat, in slab order
 *     (dense1 kernel, dense1 bias, dense2 kernel, dense2 bias); attribute `step` = Adam's t
 *   /ema/generator/...: the moving average of G's weights, same layout (with --ema-decay)
 *   /state/ranks  (W, 5) int64: per rank: noise rng, data rng, cursor, epoch, shard size
 *   /state/orders (W, max shard) int32: per rank: the current epoch's order (-1 padded)
 *   /state/stats  (W, 5) float64: per rank: d_loss, g_loss, D(x), D(G(z)) sums and their step
 *     count since the last /metrics row (optional on reading: absent before this was added)
 *   root attributes: format_version, step, every option, world_size, global_batch, data, ...
 *
 * The first 512 bytes are an HDF5 user block (HDF5 and h5py skip it) holding a
 * text header that `head -c 512` shows:
 *   gan_train checkpoint / format 1 / hdf5 bytes N / crc32 XXXXXXXX
 * The reader checks the size and the crc32 of the HDF5 bytes before HDF5 parses
 * them: a truncated or corrupt file gets a clear error, and never reaches
 * libhdf5's parser (which is not hardened against malformed files).
 */
#ifndef GAN_CHECKPOINT_H
#define GAN_CHECKPOINT_H

#include <stdint.h>

#include "attrs.h"
#include "common.h"
#include "gan.h"
#include "run_state.h"

#define CHECKPOINT_FORMAT_VERSION 1
#define CHECKPOINT_HEADER_BYTES 512
#define CHECKPOINT_MAGIC "gan_train checkpoint\n"

/*
 * Write the model, optimizer and per-rank state at `step` to DIR/checkpoint.h5:
 * first to a temporary file in DIR, flushed and fsync'd, then renamed over the
 * old one, so a crash or a full disk at any moment leaves the previous
 * checkpoint intact (files.h). `attrs` become the root attributes. With keep > 0, also link it as DIR/checkpoint_STEP.h5 and
 * delete all but the newest `keep` of those. Returns 0, or -1 with a message.
 */
int checkpoint_write(const char *dir, const gan *m, const float *ema, long long step, const run_state *rs,
                     const attr_list *attrs, int keep, err_buf *err);

/* The same layout at any path (e.g. OUT/best.h5), with `extra` attributes after `attrs`
 * (may be NULL), written atomically; no numbered copies. */
int checkpoint_write_file(const char *path, const gan *m, const float *ema, long long step, const run_state *rs,
                          const attr_list *attrs, const attr_list *extra, err_buf *err);

/* OUT/best.h5's score and step (attributes best_fd and best_step), after the same header
 * and checksum checks as the other readers. Returns 0, or -1 (missing or unreadable). */
int checkpoint_read_best(const char *path, double *best_fd, long long *best_step);

/* What a checkpoint says about the run that wrote it. */
typedef struct {
    long long step, seed;
    int world_size, n_images;
    run_state state; /* owned; free with run_state_free */
    float *ema;      /* G's moving-average parameters in slab order, or NULL; owned (free) */
} checkpoint_info;

/*
 * Read PATH into m, whose sizes (from the options) the checkpoint must match.
 * Checks the format version, every shape and that every value is finite.
 * Returns 0, or -1 with a message naming the file and the mismatch; on error m
 * may be partly overwritten (the caller exits).
 */
int checkpoint_read(const char *path, gan *m, checkpoint_info *info, err_buf *err);

/* What a run trained on, as its files record it (root attributes data, labels, digit, classifier,
 * data_fingerprint): gan_eval scores against it and gan_sample passes it on. Empty strings,
 * digit -1 and fingerprint 0 where a file does not say. */
typedef struct {
    char data[PATH_LEN], labels[PATH_LEN], classifier[PATH_LEN];
    int digit;
    uint64_t fingerprint; /* of the data and labels files (idx.h) */
} run_source;

/* The attributes, to record in another file (gan_sample's). */
void run_source_attrs(const run_source *s, attr_list *out);
/* From a plain HDF5 file's root (gan_sample's); 0, or -1 if it cannot be opened. */
int run_source_read(const char *path, run_source *s);

/* A checkpoint's generator alone, for sampling and scoring. */
typedef struct {
    int noise_dim, g_hidden, rows, cols;
    float leaky_alpha;
    long long step;
    int is_ema; /* g holds the moving average of G's weights (/ema/generator) */
    mlp g;      /* owned: free with generator_file_free */
    run_source source;
} generator_file;

/* Read PATH's generator (its moving average when prefer_ema and the file has one), with
 * the same integrity checks as checkpoint_read. Returns 0, or -1 with a message. */
int checkpoint_load_generator(const char *path, int prefer_ema, generator_file *gf, err_buf *err);
void generator_file_free(generator_file *gf);

/* The same from the file's bytes in memory; `name` is used in messages. */
int checkpoint_read_image(const void *bytes, size_t len, const char *name, gan *m, checkpoint_info *info,
                          err_buf *err);

#endif
