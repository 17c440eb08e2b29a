/*
 * paths.h: where the shipped dataset and classifier are. A build finds them in its
 * source tree; an installed build (cmake --install) in PREFIX/share/gan_train, so the
 * programs' defaults work from any directory and after the source tree is gone.
 */
#ifndef GAN_PATHS_H
#define GAN_PATHS_H

#include <stddef.h>

/* The path of the shipped file `name` (e.g. GAN_DATA_FILE from build_info.h), the first
 * readable of: the source tree's copy; the configured install prefix's; BIN/../share/gan_train/
 * beside this executable (an install moved or made with `cmake --install --prefix`). Else
 * the source tree's path, so that a message names where it was expected. Written into buf. */
const char *shipped_file(const char *name, char *buf, size_t len);

#endif
