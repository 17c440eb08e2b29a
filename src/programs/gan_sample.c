/*
 * gan_sample.c: new images from a checkpoint alone.
 *
 *   gan_sample --checkpoint PATH [-n N] [--seed S] [--raw] --out FILE.h5|FILE.png
 *
 * Draws N noise vectors z ~ U(-1, 1) from --seed, runs the generator with dropout
 * off (the exponential moving average of its weights when the checkpoint has one,
 * unless --raw), and writes either HDF5 (/images (N, rows, cols) float32 in [0, 1],
 * /noise (N, Z), attributes step and checkpoint, and what the run trained on: data, labels,
 * digit, classifier, data_fingerprint, which gan_eval --samples follows) or a PNG grid, by
 * the extension of --out.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "h5util.h"
#include "png_grid.h"

static const char usage[] =
    "usage: gan_sample --checkpoint PATH [-n N] [--seed S] [--raw] --out FILE.h5|FILE.png\n"
    "  --checkpoint PATH  a checkpoint written by gan_train (checkpoint.h5, best.h5, ...)\n"
    "  -n N               number of images [64]\n"
    "  --seed S           seed of the noise [0]\n"
    "  --raw              the raw generator weights, not their moving average\n"
    "  --out FILE         .h5: /images (N, rows, cols) in [0, 1] and /noise (N, Z); .png: a grid\n";

static int fail(int status, const char *msg)
{
    fprintf(stderr, "gan_sample: error: %s\n", msg);
    if (status == EXIT_USAGE) fputs(usage, stderr);
    return status;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int write_h5(const char *path, const float *images, const float *noise, int n, const generator_file *gf,
                    const char *checkpoint, err_buf *err)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return h5_fail(err, path, "cannot create");
    const hsize_t idims[3] = {(hsize_t)n, (hsize_t)gf->rows, (hsize_t)gf->cols};
    const hsize_t ndims[2] = {(hsize_t)n, (hsize_t)gf->noise_dim};
    attr_list source = {0};
    run_source_attrs(&gf->source, &source);
    int ok = h5_write_floats(file, "/images", 3, idims, images) == 0 &&
             h5_write_floats(file, "/noise", 2, ndims, noise) == 0 && h5_attr_int(file, "step", gf->step) == 0 &&
             h5_attr_string(file, "checkpoint", checkpoint) == 0 && h5_write_attrs(file, &source) == 0;
    attrs_free(&source);
    if (H5Fclose(file) < 0) ok = 0;
    return ok ? 0 : h5_fail(err, path, "writing samples");
}

int main(int argc, char **argv)
{
    fatal_setup("gan_sample", -1, NULL);
    const char *checkpoint = NULL, *out = NULL;
    long long n = 64, seed = 0;
    int raw = 0;
    err_buf err = {{0}};
    static const struct option longopts[] = {
        {"checkpoint", required_argument, NULL, 'c'}, {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},       {"raw", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1;) {
        int bad = 0;
        switch (opt) {
        case 'c': checkpoint = optarg; break;
        case 'o': out = optarg; break;
        case 'r': raw = 1; break;
        case 'n': bad = parse_int64("-n", optarg, 1, 1000000, &n, &err); break;
        case 's': bad = parse_int64("--seed", optarg, 0, INT64_MAX, &seed, &err); break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': err_set(&err, "%s needs a value", argv[optind - 1]), bad = 1; break;
        default: err_set(&err, "unknown option '%s'", argv[optind - 1]), bad = 1; break;
        }
        if (bad) return fail(EXIT_USAGE, err.msg);
    }
    if (optind < argc) return fail(EXIT_USAGE, "unexpected argument (options start with - or --)");
    if (!checkpoint || !out) return fail(EXIT_USAGE, "--checkpoint and --out are required");
    if (!ends_with(out, ".h5") && !ends_with(out, ".png")) {
        err_set(&err, "--out %s: expected a .h5 or .png file name", out);
        return fail(EXIT_USAGE, err.msg);
    }

    h5_init();
    generator_file gf;
    if (checkpoint_load_generator(checkpoint, !raw, &gf, &err)) return fail(EXIT_RUNTIME, err.msg);
    float *noise = xmalloc(sizeof(float) * n * gf.noise_dim), *hidden = xmalloc(sizeof(float) * n * gf.g_hidden);
    float *images = xmalloc(sizeof(float) * n * gf.rows * gf.cols);
    rng_t r = rng_make((uint64_t)seed, RNG_STREAM_SAMPLES);
    rng_fill_noise(&r, noise, (long)n * gf.noise_dim);
    generator_sample01(&gf.g, gf.leaky_alpha, noise, (int)n, hidden, images);
    int rc = ends_with(out, ".png") ? png_write_grid(out, images, (int)n, gf.rows, gf.cols, 2, &err)
                                    : write_h5(out, images, noise, (int)n, &gf, checkpoint, &err);
    if (rc == 0)
        printf("gan_sample: %lld images from %s (step %lld%s) -> %s\n", n, checkpoint, gf.step,
               gf.is_ema ? ", moving average" : "", out);
    free(noise), free(hidden), free(images);
    generator_file_free(&gf);
    return rc ? fail(EXIT_RUNTIME, err.msg) : 0;
}
