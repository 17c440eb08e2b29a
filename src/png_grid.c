/* png_grid.c: sample grids as PNG files through libpng (see png_grid.h). */
#include "png_grid.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

enum { BORDER = 2 };

/* libpng reports errors by longjmp; keep its message for ours. */
static void on_png_error(png_structp png, png_const_charp msg)
{
    snprintf(png_get_error_ptr(png), ERR_LEN / 2, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg;
}

int png_write_grid(const char *path, const float *images, int n, int rows, int cols, int zoom, err_buf *err)
{
    const int grid_cols = (int)ceil(sqrt((double)n)), grid_rows = (n + grid_cols - 1) / grid_cols;
    const int cell_w = cols * zoom + BORDER, cell_h = rows * zoom + BORDER;
    const int width = grid_cols * cell_w + BORDER, height = grid_rows * cell_h + BORDER;
    unsigned char *pixels = xcalloc((size_t)width * height, 1); /* border: black */
    for (int k = 0; k < n; k++) {
        const float *img = images + (size_t)k * rows * cols;
        int x0 = BORDER + (k % grid_cols) * cell_w, y0 = BORDER + (k / grid_cols) * cell_h;
        for (int y = 0; y < rows * zoom; y++)
            for (int x = 0; x < cols * zoom; x++) {
                float v = img[(y / zoom) * cols + x / zoom];
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                pixels[(size_t)(y0 + y) * width + x0 + x] = (unsigned char)lrintf(v * 255.0f);
            }
    }

    char tmp[PATH_LEN + 48], detail[ERR_LEN / 2] = "";
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(pixels);
        return err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, detail, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *row_ptrs = xmalloc(sizeof(png_bytep) * height);
    int rc = -1;
    if (png && info && setjmp(png_jmpbuf(png)) == 0) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_GRAY,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        for (int y = 0; y < height; y++) row_ptrs[y] = pixels + (size_t)y * width;
        png_set_rows(png, info, row_ptrs);
        png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
        rc = 0;
    }
    png_destroy_write_struct(&png, &info);
    free(row_ptrs);
    free(pixels);
    if (fclose(f) != 0 && rc == 0) snprintf(detail, sizeof detail, "%s", strerror(errno)), rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) snprintf(detail, sizeof detail, "rename: %s", strerror(errno)), rc = -1;
    if (rc) {
        unlink(tmp);
        return err_set(err, "%s: cannot write PNG: %s", path, detail[0] ? detail : "libpng failed");
    }
    return 0;
}
