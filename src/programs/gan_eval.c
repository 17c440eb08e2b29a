/*
 * gan_eval.c: a quality score for generated digits that users can trust.
 *
 *   gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]
 *            [--classifier FILE] [--data IMAGES] [--raw]
 *   gan_eval --train-classifier [--classifier FILE] [--data IMAGES] [--epochs E]
 *
 * Scores N images (generated from a checkpoint with dropout off, or read from a
 * gan_sample file's /images) against the real images of the digit: the share the
 * digit classifier labels as the digit and its mean confidence, the Fréchet
 * distance between classifier features, the diversity ratio and the
 * nearest-neighbour (memorisation) ratio. It prints the same scores for two halves
 * of the real images as a floor. The last line is machine-readable (RESULT ...).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "checkpoint.h"
#include "h5util.h"
#include "idx.h"
#include "paths.h"
#include "quality.h"

static const char usage[] =
    "usage: gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]\n"
    "                [--classifier FILE] [--data IMAGES] [--raw]\n"
    "         (a checkpoint's moving-average generator is used when it has one; --raw: the raw weights)\n"
    "       gan_eval --train-classifier [--classifier FILE] [--data IMAGES] [--epochs E]\n";

static int fail(const char *msg)
{
    fprintf(stderr, "gan_eval: error: %s\n", msg);
    return EXIT_RUNTIME;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "gan_eval: error: %s\n%s", msg, usage);
    return EXIT_USAGE;
}

static void to_unit(float *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] / 255.0f;
}

static int train_classifier(const char *data, const char *labels_path, const char *out, int epochs)
{
    /* Every class of the dataset: labels 0 .. max, each with at least one image. */
    err_buf err = {{0}};
    idx_images img;
    if (idx_load_digit(data, labels_path, IDX_ALL, &img, &err)) return fail(err.msg);
    int classes = 0;
    for (int i = 0; i < img.n; i++) classes = img.labels[i] + 1 > classes ? img.labels[i] + 1 : classes;
    if (classes < 2) {
        idx_free(&img);
        return fail("--train-classifier: the labels file has fewer than 2 classes");
    }
    const int X = img.rows * img.cols, held_out = img.n * 15 / 100;
    classifier c;
    double acc_held, acc_train;
    classifier_train(&c, img.pixels, img.labels, img.n, X, classes, held_out, epochs, 2024, &acc_held, &acc_train);
    printf("gan_eval: classifier for %d classes of %dx%d images trained on %d images (%d epochs): train accuracy "
           "%.4f, held-out accuracy %.4f on %d images\n", classes, img.rows, img.cols, img.n - held_out, epochs,
           acc_train, acc_held, held_out);
    int rc = classifier_save(&c, out, data, acc_held, held_out, &err);
    classifier_free(&c);
    idx_free(&img);
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
    if (!images) err_set(err, "%s: no /images dataset of shape (N>1, rows, cols) with rows x cols = %d", path, X);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    H5Fclose(file);
    return images;
}

/* The command line. */
typedef struct {
    const char *checkpoint, *samples, *classifier, *data;
    long long n, digit, epochs, seed;
    int train, raw;
    char default_classifier[PATH_LEN], default_data[PATH_LEN];
} eval_args;

/* Parse argv into a; returns -1 to go on, else the exit status (after --help or an error). */
static int parse_args(eval_args *a, int argc, char **argv)
{
    *a = (eval_args){.n = 1000, .epochs = 60};
    a->classifier = shipped_file(GAN_CLASSIFIER_FILE, a->default_classifier, sizeof a->default_classifier);
    a->data = shipped_file(GAN_DATA_FILE, a->default_data, sizeof a->default_data);
    err_buf err = {{0}};
    static const struct option longopts[] = {
        {"checkpoint", required_argument, NULL, 'c'}, {"samples", required_argument, NULL, 's'},
        {"classifier", required_argument, NULL, 'k'}, {"data", required_argument, NULL, 'd'},
        {"digit", required_argument, NULL, 'D'},      {"epochs", required_argument, NULL, 'e'},
        {"seed", required_argument, NULL, 'S'},       {"raw", no_argument, NULL, 'r'},
        {"train-classifier", no_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1;) {
        int bad = 0;
        switch (opt) {
        case 'c': a->checkpoint = optarg; break;
        case 's': a->samples = optarg; break;
        case 'k': a->classifier = optarg; break;
        case 'd': a->data = optarg; break;
        case 'r': a->raw = 1; break;
        case 'T': a->train = 1; break;
        case 'n': bad = parse_int64("-n", optarg, 2, 100000, &a->n, &err); break;
        case 'D': bad = parse_int64("--digit", optarg, 0, 255, &a->digit, &err); break;
        case 'e': bad = parse_int64("--epochs", optarg, 1, 1000, &a->epochs, &err); break;
        case 'S': bad = parse_int64("--seed", optarg, 0, INT64_MAX, &a->seed, &err); break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': err_set(&err, "%s needs a value", argv[optind - 1]), bad = 1; break;
        default: err_set(&err, "unknown option '%s'", argv[optind - 1]), bad = 1; break;
        }
        if (bad) return usage_error(err.msg);
    }
    if (optind < argc) return usage_error("unexpected argument (options start with - or --)");
    return -1;
}

/* n images in [0, 1] from the checkpoint's generator (its moving average unless raw), the
 * noise drawn from seed; NULL with err on failure. *step is the checkpoint's. */
static float *generate(const eval_args *a, int rows, int cols, long long *step, err_buf *err)
{
    const int X = rows * cols;
    generator_file gf;
    if (checkpoint_load_generator(a->checkpoint, !a->raw, &gf, err)) return NULL;
    if (gf.rows * gf.cols != X) {
        err_set(err, "%s makes %dx%d images, the real images of --data are %dx%d", a->checkpoint, gf.rows, gf.cols,
                rows, cols);
        generator_file_free(&gf);
        return NULL;
    }
    printf("gan_eval: generator weights: %s\n", gf.is_ema ? "moving average (EMA)" : "raw");
    *step = gf.step;
    const long long n = a->n;
    float *z = xmalloc(sizeof(float) * n * gf.noise_dim), *h = xmalloc(sizeof(float) * n * gf.g_hidden);
    float *images = xmalloc(sizeof(float) * n * X);
    rng_t r = rng_make((uint64_t)a->seed, RNG_STREAM_SAMPLES);
    rng_fill_noise(&r, z, (long)n * gf.noise_dim);
    generator_sample01(&gf.g, gf.leaky_alpha, z, (int)n, h, images);
    free(z), free(h);
    generator_file_free(&gf);
    return images;
}

/* The table of scores beside the real/real floor, and the machine-readable RESULT line. */
static void print_report(const quality *q, const quality *floor, long long step, long long n)
{
    printf("  %-28s %10s %12s\n", "", "samples", "real/real");
    printf("  %-28s %10.4f %12.4f\n", "classified as the digit", q->frac_target, floor->frac_target);
    /* The share is a count over n samples: its binomial standard error says how far another n
     * samples of the same generator may read (docs/quality.md: about 0.3 point at 1,000). */
    printf("  %-28s %10.4f\n", "  its standard error", sqrt(q->frac_target * (1.0 - q->frac_target) / (double)n));
    printf("  %-28s %10.4f %12.4f\n", "mean confidence", q->confidence, floor->confidence);
    printf("  %-28s %10.3f %12.3f\n", "Frechet distance (features)", q->frechet, floor->frechet);
    printf("  %-28s %10.4f %12.4f\n", "diversity ratio (1 = real)", q->diversity, floor->diversity);
    printf("  %-28s %10.4f %12.4f\n", "nearest-neighbour ratio", q->nn_ratio, floor->nn_ratio);
    printf("  %-28s %10.4f %12.4f\n", "background grey (1 = real)", q->background, floor->background);
    printf("  %-28s %10.5f %12.5f\n", "background speckle", q->speckle, floor->speckle);
    printf("RESULT step=%lld n=%lld frac=%.4f conf=%.4f fd=%.4f div=%.4f nn=%.4f floor_frac=%.4f floor_fd=%.4f "
           "floor_div=%.4f floor_nn=%.4f bg=%.4f speckle=%.5f floor_bg=%.4f floor_speckle=%.5f\n", step, n,
           q->frac_target, q->confidence, q->frechet, q->diversity, q->nn_ratio, floor->frac_target, floor->frechet,
           floor->diversity, floor->nn_ratio, q->background, q->speckle, floor->background, floor->speckle);
}

int main(int argc, char **argv)
{
    fatal_setup("gan_eval", -1, NULL);
    eval_args a;
    int status = parse_args(&a, argc, argv);
    if (status >= 0) return status;
    h5_init();
    err_buf err = {{0}};
    char labels[PATH_LEN];
    if (idx_labels_path(a.data, labels, sizeof labels)) return fail("--data: cannot derive the labels file name");
    if (a.train) return train_classifier(a.data, labels, a.classifier, (int)a.epochs);
    if (!a.checkpoint == !a.samples) return usage_error("give one of --checkpoint or --samples");

    classifier c;
    if (classifier_load(&c, a.classifier, &err)) return fail(err.msg);
    idx_images real;
    if (idx_load_digit(a.data, labels, (int)a.digit, &real, &err)) return fail(err.msg);
    const int X = real.rows * real.cols;
    if (classifier_check(&c, a.classifier, real.rows, real.cols, (int)a.digit, &err)) return fail(err.msg);
    float *all = xmalloc(sizeof(float) * real.n * X);
    to_unit(all, real.pixels, (size_t)real.n * X);

    long long step = -1;
    int n_read = 0;
    float *images = a.samples ? read_samples(a.samples, &n_read, X, &err) : generate(&a, real.rows, real.cols, &step, &err);
    if (!images) return fail(err.msg);
    if (a.samples) a.n = n_read;

    /* The floor: one half of the real images scored against the other half. */
    const int half = real.n / 2;
    quality_ref ref;
    quality_ref_init(&ref, &c, (int)a.digit, all + (size_t)half * X, real.n - half, all, real.n, X);
    quality floor = quality_score(&ref, all, half);
    quality_ref_free(&ref);
    quality_ref_init(&ref, &c, (int)a.digit, all, real.n, all, real.n, X);
    quality q = quality_score(&ref, images, (int)a.n);
    quality_ref_free(&ref);
    printf("gan_eval: %lld images from %s%s vs %d real images of digit %lld\n", a.n,
           a.checkpoint ? a.checkpoint : a.samples, step >= 0 ? "" : " (samples file)", real.n, a.digit);
    print_report(&q, &floor, step, a.n);
    free(images), free(all);
    idx_free(&real);
    classifier_free(&c);
    return 0;
}
