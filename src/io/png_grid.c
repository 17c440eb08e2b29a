/* png_grid.c: sample grids as PNG files through libpng (see png_grid.h). */
#include "png_grid.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

enum { BORDER = 2 };

/* libpng reports errors by longjmp; keep its message for ours. */
static void on_png_error(png_structp png, png_const_charp msg)
{
    snprintf(png_get_error_ptr(png), ERR_LEN / 2, "%s", msg);
    png_longjmp(png, 1);
}

/* libpng writes through this into a growing buffer. */
typedef struct {
    unsigned char *bytes;
    size_t len, cap;
} png_buffer;

static void append_bytes(png_structp png, png_bytep data, png_size_t n)
{
    png_buffer *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->bytes = realloc(b->bytes, b->cap);
        if (!b->bytes) FATAL("out of memory encoding a PNG");
    }
    memcpy(b->bytes + b->len, data, n);
    b->len += n;
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

    /* Encode in memory, then one atomic write: a reader never sees half a PNG. */
    png_buffer out = {0};
    char detail[ERR_LEN / 2] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, detail, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *row_ptrs = xmalloc(sizeof(png_bytep) * height);
    int rc = -1;
    if (png && info && setjmp(png_jmpbuf(png)) == 0) {
        png_set_write_fn(png, &out, append_bytes, NULL);
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
    if (rc) err_set(err, "%s: cannot write PNG: %s", path, detail[0] ? detail : "libpng failed");
    else rc = atomic_write_file(path, out.bytes, out.len, err);
    free(out.bytes);
    return rc;
}
