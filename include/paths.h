/*
 * paths.h: where files are. The shipped dataset and classifier: a build finds them in its
 * source tree; an installed build (cmake --install) in PREFIX/share/gan_train, so the
 * programs' defaults work from any directory and after the source tree is gone. And the
 * names of what gan_train writes into its output directory (--out), in one place.
 */
#ifndef GAN_PATHS_H
#define GAN_PATHS_H

#include <stddef.h>

/* The path of the shipped file `name` (e.g. GAN_DATA_FILE from build_info.h), the first
 * readable of: the source tree's copy; the configured install prefix's; BIN/../share/gan_train/
 * beside this executable (an install moved or made with `cmake --install --prefix`). Else
 * the source tree's path, so that a message names where it was expected. Written into buf. */
const char *shipped_file(const char *name, char *buf, size_t len);

/* What a run writes into OUT (docs/hdf5-layout.md). The *_AT names take the step. */
#define OUT_CHECKPOINT "checkpoint.h5"
#define OUT_CHECKPOINT_AT "checkpoint_%010lld.h5" /* --keep-checkpoints */
#define OUT_BEST "best.h5"
#define OUT_HISTORY "history.h5"
#define OUT_CONFIG "config.ini"
#define OUT_STATUS "status"
#define OUT_LOCK ".lock"
#define OUT_SAMPLES "samples"
#define OUT_SAMPLE_AT "samples/step_%08lld.png"
#define OUT_SAMPLE_LATEST "samples/latest.png"

/* "DIR/NAME" into buf, NAME formatted with the arguments that follow; returns buf. Buffers of
 * PATH_LEN + 64 hold any of the names above after a directory shorter than PATH_LEN. */
const char *out_path(char *buf, size_t len, const char *dir, const char *name, ...)
    __attribute__((format(printf, 4, 5)));

#endif
