/*
 * gan_sample.c: new images from a checkpoint alone.
 *
 *   gan_sample --checkpoint PATH [-n N] [--seed S] --out FILE.h5|FILE.png
 *
 * Draws N noise vectors z ~ U(-1, 1) from --seed, runs the generator with dropout
 * off (the exponential moving average of its weights when the checkpoint has one),
 * and writes either HDF5 (/images (N, rows, cols) float32 in [0, 1], /noise (N, Z),
 * attributes step and checkpoint) or a PNG grid, by the extension of --out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "h5util.h"
#include "png_grid.h"

static const char usage[] =
    "usage: gan_sample --checkpoint PATH [-n N] [--seed S] --out FILE.h5|FILE.png\n"
    "  --checkpoint PATH  a checkpoint written by gan_train\n"
    "  -n N               number of images [64]\n"
    "  --seed S           seed of the noise [0]\n"
    "  --out FILE         .h5: /images (N, rows, cols) in [0, 1] and /noise (N, Z); .png: a grid\n";

static int fail(int status, const char *msg)
{
    fprintf(stderr, "gan_sample: error: %s\n", msg);
    return status;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int write_h5(const char *path, const float *images, const float *noise, int n, int z, int rows, int cols,
                    long long step, const char *checkpoint, err_buf *err)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return h5_fail(err, path, "cannot create");
    const hsize_t idims[3] = {(hsize_t)n, (hsize_t)rows, (hsize_t)cols}, ndims[2] = {(hsize_t)n, (hsize_t)z};
    int ok = h5_write_floats(file, "/images", 3, idims, images) == 0 &&
             h5_write_floats(file, "/noise", 2, ndims, noise) == 0 && h5_attr_int(file, "step", step) == 0 &&
             h5_attr_string(file, "checkpoint", checkpoint) == 0;
    if (H5Fclose(file) < 0) ok = 0;
    return ok ? 0 : h5_fail(err, path, "writing samples");
}

int main(int argc, char **argv)
{
    const char *checkpoint = NULL, *out = NULL;
    long n = 64;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return fputs(usage, stdout), 0;
        if (!v) return fprintf(stderr, "gan_sample: error: %s needs a value\n%s", a, usage), 2;
        if (strcmp(a, "--checkpoint") == 0) checkpoint = v;
        else if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "-n") == 0 && ((n = strtol(v, &end, 10)) < 1 || n > 1000000 || *end))
            return fprintf(stderr, "gan_sample: error: -n: '%s', expected an integer in [1, 1000000]\n", v), 2;
        else if (strcmp(a, "--seed") == 0 && (seed = strtoull(v, &end, 10), *end || v[0] == '-'))
            return fprintf(stderr, "gan_sample: error: --seed: '%s', expected a non-negative integer\n", v), 2;
        else if (strcmp(a, "--checkpoint") && strcmp(a, "--out") && strcmp(a, "-n") && strcmp(a, "--seed"))
            return fprintf(stderr, "gan_sample: error: unknown option '%s'\n%s", a, usage), 2;
        i++;
    }
    if (!checkpoint || !out) return fprintf(stderr, "gan_sample: error: --checkpoint and --out are required\n%s", usage), 2;
    if (!ends_with(out, ".h5") && !ends_with(out, ".png"))
        return fprintf(stderr, "gan_sample: error: --out %s: expected a .h5 or .png file name\n", out), 2;

    h5_init();
    err_buf err = {{0}};
    gan_hparams hp;
    int rows, cols;
    if (checkpoint_read_config(checkpoint, &hp, &rows, &cols, &err)) return fail(1, err.msg);
    gan m;
    gan_init(&m, &hp, 1);
    checkpoint_info info;
    if (checkpoint_read(checkpoint, &m, &info, &err)) return fail(1, err.msg);
    run_state_free(&info.state);
    if (info.ema) { /* the moving average of G's weights generates better samples */
        memcpy(m.g.params, info.ema, sizeof(float) * m.g.n_params);
        free(info.ema);
    }

    float *noise = xmalloc(sizeof(float) * n * hp.noise_dim), *hidden = xmalloc(sizeof(float) * n * hp.g_hidden);
    float *images = xmalloc(sizeof(float) * n * hp.image_size);
    rng_t r = rng_make(seed, RNG_STREAM_SAMPLES);
    rng_fill_noise(&r, noise, n * hp.noise_dim);
    generator_infer(&m.g, hp.leaky_alpha, noise, (int)n, hidden, images);
    for (long i = 0; i < n * hp.image_size; i++) images[i] = 0.5f * (images[i] + 1.0f);
    int rc = ends_with(out, ".png") ? png_write_grid(out, images, (int)n, rows, cols, 2, &err)
                                    : write_h5(out, images, noise, (int)n, hp.noise_dim, rows, cols, info.step,
                                               checkpoint, &err);
    if (rc == 0) printf("gan_sample: %ld images from %s (step %lld) -> %s\n", n, checkpoint, info.step, out);
    free(noise), free(hidden), free(images);
    gan_free(&m);
    return rc ? fail(1, err.msg) : 0;
}
