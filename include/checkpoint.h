/*
 * checkpoint.h: DIR/checkpoint.h5, written atomically by rank 0.
 *
 * Layout (float32, kernels (in, out) so that y = x·W + b):
 *   /generator/dense1/{kernel (Z,Hg), bias (Hg)}  /generator/dense2/{kernel (Hg,X), bias (X)}
 *   /discriminator/dense1/{kernel (X,Hd), bias (Hd)} /discriminator/dense2/{kernel (Hd,1), bias (1)}
 *   /optimizer/{generator,discriminator}/{m, v}: Adam moments, flat, in slab order
 *     (dense1 kernel, dense1 bias, dense2 kernel, dense2 bias); attribute `step` = Adam's t
 *   root attributes: format_version, step, every option, world_size, global_batch, data, ...
 */
#ifndef GAN_CHECKPOINT_H
#define GAN_CHECKPOINT_H

#include "common.h"
#include "config.h"
#include "gan.h"

#define CHECKPOINT_FORMAT_VERSION 1

/*
 * Write the model and optimizer state at `step` to DIR/checkpoint.h5: first to
 * a temporary file in DIR, flushed and fsync'd, then renamed over the old one,
 * so that a crash or a full disk at any moment leaves the previous checkpoint
 * intact. Returns 0, or -1 with a message (the temporary file is removed).
 */
int checkpoint_write(const char *dir, const gan *m, long long step, const run_facts *run,
                     err_buf *err);

#endif
