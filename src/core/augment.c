/* augment.c: translation and cutout of D's inputs, forward and backward (see augment.h). */
#include "augment.h"

#include <string.h>

void augment_draw(augment_params *p, int n, int rows, int cols, rng_t *rng)
{
    for (int i = 0; i < n; i++) {
        p[i].dx = (int8_t)((int)rng_below(rng, 2 * AUG_SHIFT + 1) - AUG_SHIFT);
        p[i].dy = (int8_t)((int)rng_below(rng, 2 * AUG_SHIFT + 1) - AUG_SHIFT);
        p[i].cut_x = (int16_t)rng_below(rng, (uint32_t)cols);
        p[i].cut_y = (int16_t)rng_below(rng, (uint32_t)rows);
    }
}

/* Is output pixel (r, c) inside image p's cutout square? */
static inline int in_cutout(const augment_params *p, int r, int c)
{
    const int lo_r = p->cut_y - AUG_CUT / 2, lo_c = p->cut_x - AUG_CUT / 2;
    return r >= lo_r && r < lo_r + AUG_CUT && c >= lo_c && c < lo_c + AUG_CUT;
}

/* The input pixel that output pixel (r, c) shows, or -1 for the black fill. */
static inline int source_pixel(const augment_params *p, int flags, int rows, int cols, int r, int c)
{
    if ((flags & AUG_CUTOUT) && in_cutout(p, r, c)) return -1;
    int sr = r, sc = c;
    if (flags & AUG_TRANSLATE) sr -= p->dy, sc -= p->dx;
    if (sr < 0 || sr >= rows || sc < 0 || sc >= cols) return -1;
    return sr * cols + sc;
}

void augment_forward(const augment_params *p, int flags, int n, int rows, int cols, const float *in, float *out)
{
    const int X = rows * cols;
    for (int i = 0; i < n; i++) {
        const float *x = in + (size_t)i * X;
        float *y = out + (size_t)i * X;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                int s = source_pixel(&p[i], flags, rows, cols, r, c);
                y[r * cols + c] = s < 0 ? -1.0f : x[s];
            }
    }
}

void augment_backward(const augment_params *p, int flags, int n, int rows, int cols, const float *dout,
                      float *din)
{
    const int X = rows * cols;
    memset(din, 0, sizeof(float) * (size_t)n * X);
    for (int i = 0; i < n; i++) {
        const float *dy = dout + (size_t)i * X;
        float *dx = din + (size_t)i * X;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                int s = source_pixel(&p[i], flags, rows, cols, r, c);
                if (s >= 0) dx[s] += dy[r * cols + c]; /* each input pixel feeds at most one output */
            }
    }
}
