/*
 * gan_eval.c: a quality score for generated digits that users can trust.
 *
 *   gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]
 *            [--data IMAGES] [--labels LABELS] [--classifier FILE|auto] [--raw]
 *   gan_eval --train-classifier [--data IMAGES] [--labels LABELS] [--classifier FILE] [--epochs E]
 *
 * Scores N images (generated from a checkpoint with dropout off, or read from a
 * gan_sample file's /images) against the real images of the class the run trained on
 * (the data, labels and digit its file records; flags override them): the share the
 * classifier of that data labels as the class and its mean confidence, the Fréchet
 * distance between classifier features, the diversity ratio and the
 * nearest-neighbour (memorisation) ratio. It prints the same scores for two halves
 * of the real images as a floor. The last line is machine-readable (RESULT ...).
 * The classifier is found or trained as classifier_store.h says.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "checkpoint.h"
#include "classifier_store.h"
#include "h5util.h"
#include "idx.h"
#include "paths.h"
#include "quality.h"

static const char usage[] =
    "usage: gan_eval --checkpoint PATH | --samples FILE.h5  [-n N] [--seed S] [--digit D]\n"
    "                [--data IMAGES|DIR] [--labels LABELS] [--classifier FILE|auto] [--raw]\n"
    "         (scored against the data, labels and digit the file records, with a classifier of that data;\n"
    "          a checkpoint's moving-average generator is used when it has one; --raw: the raw weights)\n"
    "       gan_eval --train-classifier [--data IMAGES|DIR] [--labels LABELS] [--classifier FILE] [--epochs E]\n";

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

/* --train-classifier: into --classifier, or under auto where gan_eval and gan_train look for the
 * data's classifier (the shipped file for the shipped data, else the cache). */
static int train_classifier(const char *data, const char *labels, const char *named, int epochs)
{
    err_buf err = {{0}};
    idx_images img;
    if (idx_load_digit(data, labels, IDX_ALL, &img, &err)) return fail(err.msg);
    const uint64_t fingerprint = img.fingerprint;
    idx_free(&img);
    char path[PATH_LEN];
    if (strcmp(named, CLASSIFIER_AUTO) == 0) {
        int found = classifier_find(CLASSIFIER_AUTO, NULL, fingerprint, data, path, sizeof path, &err);
        if (found < 0) return fail(err.msg);
    } else {
        snprintf(path, sizeof path, "%s", named);
    }
    if (classifier_make(data, labels, epochs, path, 0, stdout, &err)) return fail(err.msg);
    printf("gan_eval: wrote %s\n", path);
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
    const char *checkpoint, *samples, *classifier, *data, *labels; /* data, labels: NULL unless given */
    long long n, digit, epochs, seed; /* digit: -1 unless given */
    int train, raw;
    char default_data[PATH_LEN];
} eval_args;

/* Parse argv into a; returns -1 to go on, else the exit status (after --help or an error). */
static int parse_args(eval_args *a, int argc, char **argv)
{
    *a = (eval_args){.n = 1000, .digit = -1, .classifier = CLASSIFIER_AUTO};
    err_buf err = {{0}};
    static const struct option longopts[] = {
        {"checkpoint", required_argument, NULL, 'c'}, {"samples", required_argument, NULL, 's'},
        {"classifier", required_argument, NULL, 'k'}, {"data", required_argument, NULL, 'd'},
        {"labels", required_argument, NULL, 'l'},
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
        case 'l': a->labels = optarg; break;
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

/* n images in [0, 1] from gf's generator, the noise drawn from seed. */
static float *generate(const generator_file *gf, long long n, long long seed)
{
    float *z = xmalloc(sizeof(float) * n * gf->noise_dim), *h = xmalloc(sizeof(float) * n * gf->g_hidden);
    float *images = xmalloc(sizeof(float) * n * gf->rows * gf->cols);
    rng_t r = rng_make((uint64_t)seed, RNG_STREAM_SAMPLES);
    rng_fill_noise(&r, z, (long)n * gf->noise_dim);
    generator_sample01(&gf->g, gf->leaky_alpha, z, (int)n, h, images);
    free(z), free(h);
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
    printf("  %-28s %10.5f %12.5f\n", "salt and pepper", q->impulse, floor->impulse);
    printf("RESULT step=%lld n=%lld frac=%.4f conf=%.4f fd=%.4f div=%.4f nn=%.4f floor_frac=%.4f floor_fd=%.4f "
           "floor_div=%.4f floor_nn=%.4f bg=%.4f speckle=%.5f floor_bg=%.4f floor_speckle=%.5f impulse=%.5f "
           "floor_impulse=%.5f\n", step, n,
           q->frac_target, q->confidence, q->frechet, q->diversity, q->nn_ratio, floor->frac_target, floor->frechet,
           floor->diversity, floor->nn_ratio, q->background, q->speckle, floor->background, floor->speckle, q->impulse,
           floor->impulse);
}

/* The real images to score against: the flags, else what the scored file records (`src`), else
 * the shipped digits and label 0. Prints the first line, which names them. */
static int load_reference(eval_args *a, const run_source *src, idx_images *real, char *data, char *labels,
                          err_buf *err)
{
    const int recorded = !a->data && src->data[0];
    const char *data_arg = a->data ? a->data : recorded ? src->data
                                                        : shipped_file(GAN_DATA_FILE, a->default_data, PATH_LEN);
    const char *labels_arg = a->labels ? a->labels : recorded && src->labels[0] ? src->labels : NULL;
    if (a->digit < 0) a->digit = src->digit >= 0 ? src->digit : 0;
    int was_dir;
    if (idx_resolve(data_arg, labels_arg, data, labels, &was_dir, err) ||
        idx_load_digit(data, labels, (int)a->digit, real, err)) {
        if (!recorded) return -1;
        err_buf why = *err;
        return err_set(err, "%s (the data %s recorded; give --data and --labels where they are now)", why.msg,
                       a->checkpoint ? a->checkpoint : a->samples);
    }
    printf("gan_eval: scoring %s against the %d real images of label %lld in %s (%s)\n",
           a->checkpoint ? a->checkpoint : a->samples, real->n, a->digit, data,
           recorded ? "as the run recorded" : a->data ? "--data" : "the shipped data");
    if (recorded && src->fingerprint && src->fingerprint != real->fingerprint)
        printf("gan_eval: warning: %s has changed since the run (fingerprint %016llx, the run's %016llx)\n", data,
               (unsigned long long)real->fingerprint, (unsigned long long)src->fingerprint);
    return 0;
}

/* The classifier of data (found, or trained into the cache), checked against the images. */
static int load_classifier(const eval_args *a, const run_source *src, const idx_images *real, const char *data,
                           const char *labels, classifier *c, err_buf *err)
{
    char path[PATH_LEN];
    int found = classifier_find(a->classifier, src->classifier, real->fingerprint, data, path, sizeof path, err);
    if (found < 0 && strcmp(a->classifier, CLASSIFIER_AUTO) != 0) {
        err_buf why = *err;
        return err_set(err, "--classifier: %s (leave it out, or auto, to use or train one for this data)", why.msg);
    }
    if (found < 0) return -1;
    if (found == CLASSIFIER_NONE && classifier_make(data, labels, 0, path, 1, stdout, err)) return -1;
    if (classifier_load(c, path, err)) return -1;
    if (classifier_check(c, path, real->rows, real->cols, (int)a->digit, err)) return classifier_free(c), -1;
    printf("gan_eval: classifier %s (%d classes, held-out accuracy %.4f)\n", path, c->net.out,
           c->info.held_out_accuracy);
    return 0;
}

/* The images to score: n generated by the checkpoint's G, or a samples file's (a->n becomes
 * their count). NULL with a message when they do not fit the real images. */
static float *images_to_score(eval_args *a, const generator_file *gf, const idx_images *real, const char *data,
                              long long *step, err_buf *err)
{
    const int X = real->rows * real->cols;
    if (!a->checkpoint) {
        int n_read = 0;
        float *images = read_samples(a->samples, &n_read, X, err);
        a->n = n_read;
        return images;
    }
    if (gf->rows * gf->cols != X) {
        err_set(err, "%s makes %dx%d images, the real images of %s are %dx%d", a->checkpoint, gf->rows, gf->cols,
                data, real->rows, real->cols);
        return NULL;
    }
    *step = gf->step;
    printf("gan_eval: generator weights: %s, step %lld\n", gf->is_ema ? "moving average (EMA)" : "raw", gf->step);
    return generate(gf, a->n, a->seed);
}

int main(int argc, char **argv)
{
    fatal_setup("gan_eval", -1, NULL);
    eval_args a;
    int status = parse_args(&a, argc, argv);
    if (status >= 0) return status;
    h5_init();
    err_buf err = {{0}};
    char data[PATH_LEN], labels[PATH_LEN];
    int was_dir;
    if (a.train) {
        const char *images = a.data ? a.data : shipped_file(GAN_DATA_FILE, a.default_data, PATH_LEN);
        if (idx_resolve(images, a.labels, data, labels, &was_dir, &err)) return fail(err.msg);
        return train_classifier(data, labels, a.classifier, (int)a.epochs);
    }
    if (!a.checkpoint == !a.samples) return usage_error("give one of --checkpoint or --samples");

    /* What is scored first: it says which data it belongs to. */
    generator_file gf = {0};
    run_source src = {.digit = -1};
    if (a.checkpoint && checkpoint_load_generator(a.checkpoint, !a.raw, &gf, &err)) return fail(err.msg);
    if (a.checkpoint) src = gf.source;
    else run_source_read(a.samples, &src);

    idx_images real;
    classifier c;
    if (load_reference(&a, &src, &real, data, labels, &err)) return generator_file_free(&gf), fail(err.msg);
    if (load_classifier(&a, &src, &real, data, labels, &c, &err))
        return generator_file_free(&gf), idx_free(&real), fail(err.msg);
    const int X = real.rows * real.cols;
    long long step = -1;
    float *images = images_to_score(&a, &gf, &real, data, &step, &err);
    generator_file_free(&gf);
    if (!images) return classifier_free(&c), idx_free(&real), fail(err.msg);
    float *all = xmalloc(sizeof(float) * real.n * X);
    to_unit(all, real.pixels, (size_t)real.n * X);

    /* The floor: one half of the real images scored against the other half. */
    const int half = real.n / 2;
    quality_ref ref;
    quality_ref_init(&ref, &c, (int)a.digit, all + (size_t)half * X, real.n - half, all, real.n, X);
    quality floor = quality_score(&ref, all, half);
    quality_ref_free(&ref);
    quality_ref_init(&ref, &c, (int)a.digit, all, real.n, all, real.n, X);
    quality q = quality_score(&ref, images, (int)a.n);
    quality_ref_free(&ref);
    printf("gan_eval: %lld images from %s%s vs %d real images of label %lld\n", a.n,
           a.checkpoint ? a.checkpoint : a.samples, step >= 0 ? "" : " (samples file)", real.n, a.digit);
    print_report(&q, &floor, step, a.n);
    free(images), free(all);
    idx_free(&real);
    classifier_free(&c);
    return 0;
}
