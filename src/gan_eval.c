/*
 * gan_eval.c: a quality score for generated digits that users can trust.
 *
 *   gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]
 *            [--classifier FILE] [--data IMAGES]
 *   gan_eval --train-classifier [--classifier FILE] [--epochs E]
 *
 * Scores N images (generated from a checkpoint with dropout off, or read from a
 * gan_sample file's /images) against the real images of the digit: the share the
 * digit classifier labels as the digit and its mean confidence, the Fréchet
 * distance between classifier features, the diversity ratio and the
 * nearest-neighbour (memorisation) ratio. It prints the same scores for two halves
 * of the real images as a floor. The last line is machine-readable (RESULT ...).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "h5util.h"
#include "idx.h"
#include "quality.h"

static const char usage[] =
    "usage: gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]\n"
    "                [--classifier FILE] [--data IMAGES] [--raw]\n"
    "         (a checkpoint's moving-average generator is used when it has one; --raw: the raw weights)\n"
    "       gan_eval --train-classifier [--classifier FILE] [--epochs E]\n";

static int fail(const char *msg)
{
    fprintf(stderr, "gan_eval: error: %s\n", msg);
    return 1;
}

static void to_unit(float *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] / 255.0f;
}

static int train_classifier(const char *data, const char *labels_path, const char *out, int epochs)
{
    /* All ten classes: load each digit and stack them with their labels. */
    uint8_t *pixels = NULL, *labels = NULL;
    int n = 0, X = 0;
    err_buf err = {{0}};
    for (int d = 0; d < 10; d++) {
        idx_images img;
        if (idx_load_digit(data, labels_path, d, &img, &err)) return fail(err.msg);
        X = img.rows * img.cols;
        pixels = realloc(pixels, (size_t)(n + img.n) * X);
        labels = realloc(labels, (size_t)(n + img.n));
        if (!pixels || !labels) return fail("out of memory");
        memcpy(pixels + (size_t)n * X, img.pixels, (size_t)img.n * X);
        memset(labels + n, d, (size_t)img.n);
        n += img.n;
        idx_free(&img);
    }
    const int held_out = n * 15 / 100;
    classifier c;
    double acc_held, acc_train;
    classifier_train(&c, pixels, labels, n, X, held_out, epochs, 2024, &acc_held, &acc_train);
    printf("gan_eval: classifier trained on %d images (%d epochs): train accuracy %.4f, held-out accuracy "
           "%.4f on %d images\n", n - held_out, epochs, acc_train, acc_held, held_out);
    int rc = classifier_save(&c, out, acc_held, held_out, &err);
    classifier_free(&c);
    free(pixels), free(labels);
    if (rc) return fail(err.msg);
    printf("gan_eval: wrote %s\n", out);
    return 0;
}

/* /images (n, rows, cols) of a gan_sample file. */
static float *read_samples(const char *path, int *n, int X, err_buf *err)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        err_set(err, "%s: cannot open samples file", path);
        return NULL;
    }
    float *images = NULL;
    hid_t set = H5Dopen2(file, "/images", H5P_DEFAULT);
    hid_t space = set >= 0 ? H5Dget_space(set) : -1;
    hsize_t dims[3] = {0};
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == 3 && H5Sget_simple_extent_dims(space, dims, NULL) == 3 &&
        dims[1] * dims[2] == (hsize_t)X && dims[0] > 1 && dims[0] < (1u << 24)) {
        images = xmalloc(sizeof(float) * dims[0] * X);
        if (H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, images) < 0) free(images), images = NULL;
        *n = (int)dims[0];
    }
    if (!images) err_set(err, "%s: no /images dataset of shape (N>1, 28, 28)", path);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    H5Fclose(file);
    return images;
}

int main(int argc, char **argv)
{
    const char *checkpoint = NULL, *samples = NULL, *classifier_path = GAN_DEFAULT_CLASSIFIER;
    const char *data = GAN_DEFAULT_DATA;
    int n = 1000, digit = 0, epochs = 60, train = 0, raw = 0;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage, stdout), 0;
        if (!strcmp(a, "--train-classifier")) { train = 1; continue; }
        if (!strcmp(a, "--raw")) { raw = 1; continue; }
        if (!v) return fprintf(stderr, "gan_eval: error: %s needs a value\n%s", a, usage), 2;
        if (!strcmp(a, "--checkpoint")) checkpoint = v;
        else if (!strcmp(a, "--samples")) samples = v;
        else if (!strcmp(a, "--classifier")) classifier_path = v;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "-n") && ((n = atoi(v)) < 2 || n > 100000))
            return fprintf(stderr, "gan_eval: error: -n: '%s', expected an integer in [2, 100000]\n", v), 2;
        else if (!strcmp(a, "--digit") && ((digit = atoi(v)) < 0 || digit > 9 || v[0] < '0' || v[0] > '9'))
            return fprintf(stderr, "gan_eval: error: --digit: '%s', expected 0-9\n", v), 2;
        else if (!strcmp(a, "--epochs") && ((epochs = atoi(v)) < 1 || epochs > 1000))
            return fprintf(stderr, "gan_eval: error: --epochs: '%s', expected 1-1000\n", v), 2;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "-n") && strcmp(a, "--digit") && strcmp(a, "--epochs"))
            return fprintf(stderr, "gan_eval: error: unknown option '%s'\n%s", a, usage), 2;
        i++;
    }
    h5_init();
    char labels[PATH_LEN];
    if (idx_labels_path(data, labels, sizeof labels)) return fail("--data: cannot derive the labels file name");
    if (train) return train_classifier(data, labels, classifier_path, epochs);
    if (!checkpoint == !samples)
        return fprintf(stderr, "gan_eval: error: give one of --checkpoint or --samples\n%s", usage), 2;

    err_buf err = {{0}};
    classifier c;
    if (classifier_load(&c, classifier_path, &err)) return fail(err.msg);
    idx_images real;
    if (idx_load_digit(data, labels, digit, &real, &err)) return fail(err.msg);
    const int X = real.rows * real.cols;
    if (X != 784) return fail("the classifier reads 28x28 images");
    float *all = xmalloc(sizeof(float) * real.n * X);
    to_unit(all, real.pixels, (size_t)real.n * X);

    float *images = NULL;
    long long step = -1;
    if (samples) {
        images = read_samples(samples, &n, X, &err);
        if (!images) return fail(err.msg);
    } else {
        gan_hparams hp;
        int rows, cols;
        if (checkpoint_read_config(checkpoint, &hp, &rows, &cols, &err)) return fail(err.msg);
        if (rows * cols != X) return fail("the checkpoint's images are not 28x28");
        gan m;
        gan_init(&m, &hp, 1);
        checkpoint_info info;
        if (checkpoint_read(checkpoint, &m, &info, &err)) return fail(err.msg);
        run_state_free(&info.state);
        const int use_ema = info.ema != NULL && !raw;
        if (use_ema) memcpy(m.g.params, info.ema, sizeof(float) * m.g.n_params);
        printf("gan_eval: generator weights: %s\n", use_ema ? "moving average (EMA)" : "raw");
        free(info.ema);
        step = info.step;
        float *z = xmalloc(sizeof(float) * n * hp.noise_dim), *h = xmalloc(sizeof(float) * n * hp.g_hidden);
        images = xmalloc(sizeof(float) * n * X);
        rng_t r = rng_make(seed, RNG_STREAM_SAMPLES);
        rng_fill_noise(&r, z, (long)n * hp.noise_dim);
        generator_infer(&m.g, hp.leaky_alpha, z, n, h, images);
        for (long i = 0; i < (long)n * X; i++) images[i] = 0.5f * (images[i] + 1.0f);
        free(z), free(h);
        gan_free(&m);
    }

    /* The floor: one half of the real images scored against the other half. */
    const int half = real.n / 2;
    quality_ref ref;
    quality_ref_init(&ref, &c, digit, all + (size_t)half * X, real.n - half, all, real.n, X);
    quality floor = quality_score(&ref, all, half);
    quality_ref_free(&ref);
    quality_ref_init(&ref, &c, digit, all, real.n, all, real.n, X);
    quality q = quality_score(&ref, images, n);
    quality_ref_free(&ref);
    printf("gan_eval: %d images from %s%s vs %d real images of digit %d\n", n, checkpoint ? checkpoint : samples,
           step >= 0 ? "" : " (samples file)", real.n, digit);
    printf("  %-28s %10s %12s\n", "", "samples", "real/real");
    printf("  %-28s %10.4f %12.4f\n", "classified as the digit", q.frac_target, floor.frac_target);
    printf("  %-28s %10.4f %12.4f\n", "mean confidence", q.confidence, floor.confidence);
    printf("  %-28s %10.3f %12.3f\n", "Frechet distance (features)", q.frechet, floor.frechet);
    printf("  %-28s %10.4f %12.4f\n", "diversity ratio (1 = real)", q.diversity, floor.diversity);
    printf("  %-28s %10.4f %12.4f\n", "nearest-neighbour ratio", q.nn_ratio, floor.nn_ratio);
    printf("RESULT step=%lld n=%d frac=%.4f conf=%.4f fd=%.4f div=%.4f nn=%.4f floor_frac=%.4f floor_fd=%.4f "
           "floor_div=%.4f floor_nn=%.4f\n", step, n, q.frac_target, q.confidence, q.frechet, q.diversity, q.nn_ratio,
           floor.frac_target, floor.frechet, floor.diversity, floor.nn_ratio);
    free(images), free(all);
    idx_free(&real);
    classifier_free(&c);
    return 0;
}
