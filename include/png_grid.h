/*
 * png_grid.h: a grid of grayscale images as a PNG file (libpng).
 */
#ifndef GAN_PNG_GRID_H
#define GAN_PNG_GRID_H

#include "common.h"

/*
 * Write n images (n, rows*cols), values in [0, 1], as an 8-bit grayscale PNG: a
 * near-square grid with a 2-pixel dark border between images, each image scaled
 * up `zoom` times. Encoded in memory and written atomically (files.h), so a reader never
 * sees half a picture. Returns 0, or -1 with a message naming the file.
 */
int png_write_grid(const char *path, const float *images, int n, int rows, int cols, int zoom, err_buf *err);

#endif
