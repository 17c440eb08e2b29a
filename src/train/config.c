/*
 * config.c: the option table and the command-line parser.
 *
 * Each option is one row: flag, type, where it lives in gan_config, valid
 * range, help. Parsing, range checks, --help (with defaults read from a
 * default config) and the HDF5 attributes all walk the same rows, so an
 * option cannot be added to one and forgotten in another. The same rows read
 * --config files (the block at the end) and write OUT/config.ini's values.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "augment.h"
#include "build_info.h"
#include "config_file.h"
#include "paths.h"

typedef enum { OPT_INT, OPT_INT64, OPT_COUNT, OPT_DOUBLE, OPT_STRING } opt_type; /* COUNT: int64, "2.56M" */

typedef struct {
    const char *flag;   /* without the leading "--" */
    opt_type type;
    size_t offset;      /* into gan_config */
    size_t size;        /* buffer size for OPT_STRING */
    double min, max;    /* inclusive range for numbers */
    const char *help;
    const char *implicit; /* value when the flag is given without one; NULL: a value is required */
    int unrecorded;       /* 1: not written to the HDF5 files (changes nothing in the run) */
} option;

#define F(field) offsetof(gan_config, field), sizeof(((gan_config *)0)->field)
#define NOLIMIT 0, 0
#define RESUME_FROM_OUT "-" /* --resume alone: the checkpoint in --out */

static const option options[] = {
    {"noise-dim", OPT_INT, F(noise_dim), 1, 65536, "length Z of the generator's uniform(-1,1) noise", NULL, 0},
    {"g-hidden", OPT_INT, F(g_hidden), 1, 65536, "generator hidden units", NULL, 0},
    {"d-hidden", OPT_INT, F(d_hidden), 1, 65536, "discriminator hidden units", NULL, 0},
    {"leaky-alpha", OPT_DOUBLE, F(leaky_alpha), 0, 1, "LeakyReLU negative slope", NULL, 0},
    {"dropout", OPT_DOUBLE, F(dropout), 0, 0.99, "generator dropout rate, training only", NULL, 0},
    {"label-smoothing", OPT_DOUBLE, F(label_smoothing), 0, 0.5, "one-sided smoothing s of the real label", NULL, 0},
    {"smoothing-style", OPT_STRING, F(smoothing_style), NOLIMIT,
     "target: real target 1-s; scale: D-real and G losses times 1-s (tutorial)", NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 1e-12, 10, "Adam learning rate", NULL, 0},
    {"beta1", OPT_DOUBLE, F(beta1), 0, 0.999999, "Adam beta1, in [0, 1)", NULL, 0},
    {"beta2", OPT_DOUBLE, F(beta2), 0, 0.999999999, "Adam beta2, in [0, 1)", NULL, 0},
    {"epsilon", OPT_DOUBLE, F(epsilon), 1e-30, 1, "Adam epsilon", NULL, 0},
    {"batch-size", OPT_INT, F(batch_size), 1, 1 << 20, "images per rank per step (global = x ranks)", NULL, 0},
    {"steps", OPT_INT, F(steps), 1, 2000000000, "training iterations (each: a D step, then a G step); "
     "default: --images / global batch", NULL, 0},
    {"images", OPT_COUNT, F(images), 1, 1e15, "the run's length in training images over all ranks (k, M, G "
     "suffixes: 2.56M); the alternative to --steps", NULL, 0},
    {"scale-rule", OPT_STRING, F(scale_rule), NOLIMIT, "sqrt | linear | none: derive Adam's lr, betas and "
     "epsilon from the global batch (docs/quality.md)", NULL, 0},
    {"reference-batch", OPT_INT, F(reference_batch), 1, 1 << 30, "the global batch that --lr, --beta1, "
     "--beta2, --epsilon are given for", NULL, 0},
    {"augment", OPT_STRING, F(augment), NOLIMIT, "none | translate,cutout (either or both): random, "
     "differentiable augmentation of D's inputs, real and fake", NULL, 0},
    {"patience", OPT_INT, F(patience), 0, 1000000, "with --eval-every: stop after this many scores without "
     "improvement (0: never)", NULL, 0},
    {"seed", OPT_INT64, F(seed), 0, 9.007199254740992e15, "random seed (init, data split, noise, dropout)", NULL, 0},
    {"digit", OPT_INT, F(digit), 0, 255, "label of the images to train on", NULL, 0},
    {"data", OPT_STRING, F(data), NOLIMIT, "images file, IDX format, raw or .gz", NULL, 0},
    {"labels", OPT_STRING, F(labels), NOLIMIT, "labels file (default: --data with images-idx3 -> labels-idx1)", NULL, 0},
    {"out", OPT_STRING, F(out), NOLIMIT, "output directory (created if missing)", NULL, 0},
    {"sample-every", OPT_INT, F(sample_every), 0, 2000000000, "steps between sample grids in history.h5 (0: end only)", NULL, 0},
    {"log-every", OPT_INT, F(log_every), 1, 2000000000, "steps between progress lines and /metrics rows", NULL, 0},
    {"checkpoint-every", OPT_INT, F(checkpoint_every), 0, 2000000000, "steps between checkpoints (0: end only)", NULL, 0},
    {"n-samples", OPT_INT, F(n_samples), 1, 4096, "fixed-noise samples per grid", NULL, 0},
    {"preset", OPT_STRING, F(preset), NOLIMIT, "default | seed (the original tutorial as it ran); other flags override it", NULL, 0},
    {"resume", OPT_STRING, F(resume), NOLIMIT, "continue from PATH, or without a value from OUT/checkpoint.h5",
     RESUME_FROM_OUT, 1},
    {"ema-decay", OPT_DOUBLE, F(ema_decay), 0, 0.999999, "keep an EMA of G's weights with this decay (0: off); gan_sample/gan_eval use it", NULL, 0},
    {"eval-every", OPT_INT, F(eval_every), 0, 2000000000, "steps between quality scores (gan_eval's, 500 samples) "
     "in history.h5 and best.h5 (0: off; default: 20 scores per run)", NULL, 0},
    {"classifier", OPT_STRING, F(classifier), NOLIMIT, "digit classifier weights for --eval-every", NULL, 0},
    {"keep-checkpoints", OPT_INT, F(keep_checkpoints), 0, 1000000,
     "also keep the last K checkpoints as OUT/checkpoint_STEP.h5 (0: none)", NULL, 0},
    {"config", OPT_STRING, F(config), NOLIMIT,
     "read options from FILE first (key = value lines, e.g. a run's OUT/config.ini); flags override it", NULL, 1},
    {"dry-run", OPT_INT, F(dry_run), 0, 1,
     "check options, data, classifier and --out, print the configuration and steps, write nothing", "1", 1},
    {"collective-timeout", OPT_DOUBLE, F(collective_timeout), 0, 1e6,
     "end the job (exit 76) when a rank waits longer than this many seconds in a collective (0: off)", NULL, 1},
    {"on-nonfinite", OPT_STRING, F(on_nonfinite), NOLIMIT,
     "skip: drop a step with a non-finite loss or gradient; stop: end the run (exit 3)", NULL, 0},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* The defaults of issue 11, chosen by measurement (docs/quality.md, "Defaults"). */
#define GAN_DEFAULT_IMAGES 5120000LL
#define GAN_DEFAULT_SCALE_RULE "sqrt"
#define GAN_DEFAULT_AUGMENT "translate,cutout"

/* Ten minutes (PyTorch's default for its NCCL watchdog): a step, a checkpoint and a
 * quality score take seconds here, so only a rank that stopped responding waits this long
 * (docs/cluster.md, "Hangs"). */
#define GAN_DEFAULT_COLLECTIVE_TIMEOUT 600.0

/* Off, chosen by measurement: with gan_eval at equal steps a moving average of G
 * (decay 0.999 or 0.99) did not score better than the raw weights (README "Quality"). */
#define GAN_DEFAULT_EMA_DECAY 0.0

void config_defaults(gan_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->noise_dim = 100;
    cfg->g_hidden = 128;
    cfg->d_hidden = 128;
    cfg->leaky_alpha = 0.01;
    cfg->dropout = 0.2;
    cfg->label_smoothing = 0.1;
    strcpy(cfg->smoothing_style, "target");
    cfg->lr = 1e-3;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->epsilon = 1e-8;
    cfg->batch_size = 64;
    cfg->steps = 0; /* from the image budget */
    cfg->images = GAN_DEFAULT_IMAGES;
    strcpy(cfg->scale_rule, GAN_DEFAULT_SCALE_RULE);
    cfg->reference_batch = 64;
    strcpy(cfg->augment, GAN_DEFAULT_AUGMENT);
    cfg->patience = 0;
    cfg->seed = 42;
    cfg->digit = 0;
    shipped_file(GAN_DATA_FILE, cfg->data, sizeof cfg->data);
    strcpy(cfg->out, "runs/latest");
    strcpy(cfg->preset, "default");
    cfg->sample_every = 500;
    cfg->log_every = 100;
    cfg->checkpoint_every = 1000;
    cfg->n_samples = 64;
    cfg->ema_decay = GAN_DEFAULT_EMA_DECAY;
    cfg->eval_every = EVAL_EVERY_AUTO;
    shipped_file(GAN_CLASSIFIER_FILE, cfg->classifier, sizeof cfg->classifier);
    cfg->collective_timeout = GAN_DEFAULT_COLLECTIVE_TIMEOUT;
    strcpy(cfg->on_nonfinite, "skip");
}

/*
 * The original tutorial as it actually ran: batch 1, 10,000 iterations, the
 * smoothed losses scaled by 0.9 instead of smoothing the target, and no
 * dropout (its tf.layers.dropout left training=False, so it never dropped).
 */
static void apply_seed_preset(gan_config *cfg)
{
    cfg->batch_size = 1;
    cfg->steps = 10000;
    cfg->images = 0;
    strcpy(cfg->scale_rule, "none"); /* its batch of 1 ran with these very settings */
    strcpy(cfg->augment, "none");
    cfg->dropout = 0.0;
    strcpy(cfg->smoothing_style, "scale");
}

static const option *find_option(const char *flag)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].flag, flag) == 0) return &options[i];
    return NULL;
}

/* Set one option from text; `flag` is how messages name it ("--lr", or "lr" in a file). */
static int set_option(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
{
    char *field = (char *)cfg + o->offset;
    if (o->type == OPT_STRING) {
        if (text[0] == '\0') return err_set(err, "%s: empty value, expected a string", flag);
        if (strlen(text) >= o->size)
            return err_set(err, "%s: value is %zu characters long, the limit is %zu", flag, strlen(text),
                           o->size - 1);
        memcpy(field, text, strlen(text) + 1);
        return 0;
    }
    if (o->type == OPT_DOUBLE) return parse_double(flag, text, o->min, o->max, (double *)field, err);
    if (o->type == OPT_COUNT) return parse_count(flag, text, (long long)o->min, (long long)o->max, (long long *)field, err);
    long long v;
    if (parse_int64(flag, text, (long long)o->min, (long long)o->max, &v, err)) return -1;
    if (o->type == OPT_INT64) *(long long *)field = v;
    else *(int *)field = (int)v;
    return 0;
}

/* set_option, then what one value implies: a preset's settings, the words a choice allows. */
static int apply_option(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
{
    if (set_option(cfg, o, text, flag, err)) return -1;
    if (strcmp(o->flag, "preset") == 0) {
        if (strcmp(cfg->preset, "seed") == 0) apply_seed_preset(cfg);
        else if (strcmp(cfg->preset, "default") != 0)
            return err_set(err, "%s: '%s' is not a preset, expected default or seed", flag, cfg->preset);
    }
    if (strcmp(o->flag, "smoothing-style") == 0 && strcmp(cfg->smoothing_style, "target") != 0 &&
        strcmp(cfg->smoothing_style, "scale") != 0)
        return err_set(err, "%s: '%s', expected target or scale", flag, cfg->smoothing_style);
    if (strcmp(o->flag, "scale-rule") == 0 && strcmp(cfg->scale_rule, "sqrt") != 0 &&
        strcmp(cfg->scale_rule, "linear") != 0 && strcmp(cfg->scale_rule, "none") != 0)
        return err_set(err, "%s: '%s', expected sqrt, linear or none", flag, cfg->scale_rule);
    if (strcmp(o->flag, "augment") == 0 && augment_parse(cfg->augment, NULL) != 0)
        return err_set(err, "%s: '%s', expected none or a comma list of translate and cutout", flag, cfg->augment);
    return 0;
}

static const char *help_text(void)
{
    static char buf[8192];
    gan_config d;
    config_defaults(&d);
    size_t n = (size_t)snprintf(buf, sizeof buf,
        "gan_train " GAN_VERSION ": data-parallel MLP GAN trainer (MPI, HDF5, OpenBLAS)\n\n"
        "usage: mpirun -n RANKS gan_train [options]\n\n"
        "Trains a generator and a discriminator on the images of one digit, averaging\n"
        "gradients over ranks. Rank 0 writes OUT/checkpoint.h5 and OUT/history.h5.\n\n"
        "options (default in brackets):\n");
    for (size_t i = 0; i < N_OPTIONS && n < sizeof buf; i++) {
        const option *o = &options[i];
        const char *field = (const char *)&d + o->offset;
        char def[PATH_LEN + 8];
        if (o->type == OPT_STRING) snprintf(def, sizeof def, "%s", field[0] ? field : o->unrecorded ? "none" : "auto");
        else if (o->type == OPT_DOUBLE) snprintf(def, sizeof def, "%g", *(const double *)field);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) snprintf(def, sizeof def, "%lld", *(const long long *)field);
        else if (field == (const char *)&d.eval_every && d.eval_every == EVAL_EVERY_AUTO) snprintf(def, sizeof def, "auto");
        else snprintf(def, sizeof def, "%d", *(const int *)field);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "  --%-18s %s [%s]\n", o->flag, o->help,
                              o->implicit ? "off" : def);
    }
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n,
                 "  --%-18s %s\n  --%-18s %s\n\n"
                 "Flags take a value as '--flag VALUE' or '--flag=VALUE'.\n"
                 "Exit status: 0 done, 1 runtime error (data, I/O), 2 bad command line or launch, or --out\n"
                 "in use by another run, 3 non-finite loss or gradient with --on-nonfinite stop (or\n"
                 "non-finite weights), 75 stopped by a signal after writing a checkpoint (continue with\n"
                 "--resume), 76 a rank waited longer than --collective-timeout (the job was aborted).\n",
                 "help", "print this help and exit", "version", "print the version and exit");
    return buf;
}

/* Split "--flag=value" / "--flag value"; returns the option or NULL. */
static int next_flag(int argc, char **argv, int *i, const option **o, const char **value,
                     err_buf *err)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return err_set(err, "unexpected argument '%s' (options start with --; see --help)", arg);
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (len >= sizeof name) return err_set(err, "unknown option '%s' (see --help)", arg);
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    *o = find_option(name);
    if (!*o) return err_set(err, "unknown option '--%s' (see --help)", name);
    if (eq) {
        *value = eq + 1;
    } else if ((*o)->implicit && (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)) {
        *value = (*o)->implicit;
    } else {
        if (*i + 1 >= argc) return err_set(err, "--%s needs a value", name);
        *value = argv[++*i];
    }
    return 0;
}

static int read_config_file(const char *file, ini_entry **entries, int *n, err_buf *err);

int config_parse(gan_config *cfg, int argc, char **argv, const char **info, err_buf *err)
{
    config_defaults(cfg);
    *info = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *info = help_text();
            return CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            *info = build_describe();
            return CONFIG_EXIT_OK;
        }
    }
    /* The --config file (the last one named) and whether the command line sets the preset. */
    const char *file = NULL;
    int preset_on_command_line = 0;
    for (int i = 1; i < argc; i++) {
        const option *o = NULL;
        const char *value = NULL;
        if (next_flag(argc, argv, &i, &o, &value, err)) return CONFIG_ERROR;
        if (strcmp(o->flag, "config") == 0) file = value;
        preset_on_command_line |= strcmp(o->flag, "preset") == 0;
    }
    int steps_given = 0, images_given = 0; /* on the command line */
    int file_steps = 0, file_images = 0;   /* in the config file */
    ini_entry *entries = NULL;
    int n_entries = 0;
    if (file && read_config_file(file, &entries, &n_entries, err)) return CONFIG_ERROR;
    /* Pass 0: the preset (the command line's, else the file's), so that any other value
     * overrides it wherever it stands. Pass 1: the file, then the command line over it. */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n_entries; k++) {
            const option *o = find_option(entries[k].key);
            int is_preset = strcmp(o->flag, "preset") == 0;
            if (is_preset != (pass == 0) || (is_preset && preset_on_command_line)) continue;
            if (apply_option(cfg, o, entries[k].value, o->flag, err)) {
                err_buf inner = *err;
                err_set(err, "%s:%d: %s", file, entries[k].line, inner.msg);
                ini_free(entries, n_entries);
                return CONFIG_ERROR;
            }
            file_steps |= strcmp(o->flag, "steps") == 0;
            file_images |= strcmp(o->flag, "images") == 0;
        }
        /* A file that gives one of --steps and --images sets the length by it alone. */
        if (pass == 1 && file_steps != file_images) {
            if (file_steps) cfg->images = 0;
            else cfg->steps = 0;
        }
        for (int i = 1; i < argc; i++) {
            const option *o = NULL;
            const char *value = NULL;
            char flag[80];
            if (next_flag(argc, argv, &i, &o, &value, err)) return ini_free(entries, n_entries), CONFIG_ERROR;
            int is_preset = strcmp(o->flag, "preset") == 0;
            if (is_preset != (pass == 0)) continue;
            snprintf(flag, sizeof flag, "--%s", o->flag);
            if (apply_option(cfg, o, value, flag, err)) return ini_free(entries, n_entries), CONFIG_ERROR;
            steps_given |= strcmp(o->flag, "steps") == 0;
            images_given |= strcmp(o->flag, "images") == 0;
        }
    }
    ini_free(entries, n_entries);
    /* The run's length: --steps or --images on the command line, whichever was given, wins
     * over a preset's or a file's (a config.ini has both; the run checks that they agree). */
    if (steps_given && images_given)
        return err_set(err, "--steps and --images both set the run's length; give one of them");
    if (steps_given) cfg->images = 0;
    if (images_given) cfg->steps = 0;
    if (cfg->patience > 0 && cfg->eval_every == 0)
        return err_set(err, "--patience %d needs scores: give --eval-every too", cfg->patience);
    if (strcmp(cfg->smoothing_style, "target") != 0 && strcmp(cfg->smoothing_style, "scale") != 0)
        return err_set(err, "--smoothing-style: '%s', expected target or scale", cfg->smoothing_style);
    if (strcmp(cfg->on_nonfinite, "skip") != 0 && strcmp(cfg->on_nonfinite, "stop") != 0)
        return err_set(err, "--on-nonfinite: '%s', expected skip or stop", cfg->on_nonfinite);
    if (strcmp(cfg->resume, RESUME_FROM_OUT) == 0) {
        int n = snprintf(cfg->resume, sizeof cfg->resume, "%s/checkpoint.h5", cfg->out);
        if (n >= (int)sizeof cfg->resume) return err_set(err, "--out: path too long");
    }
    if ((long long)cfg->n_samples * cfg->noise_dim > (1LL << 28))
        return err_set(err, "--n-samples x --noise-dim is too large");
    /* Activations are indexed with int: keep every (rows x width) product below 2^31. */
    long long widest = cfg->noise_dim > cfg->g_hidden ? cfg->noise_dim : cfg->g_hidden;
    if (cfg->d_hidden > widest) widest = cfg->d_hidden;
    if (widest < 784) widest = 784; /* image size of MNIST-like data; larger images are checked again at load */
    if (2LL * cfg->batch_size * widest > 2147483647LL ||
        (long long)cfg->noise_dim * cfg->g_hidden + (long long)cfg->g_hidden * 784 > 2147483647LL ||
        (long long)cfg->d_hidden * 784 > 2147483647LL)
        return err_set(err, "--batch-size %d with these layer widths needs buffers beyond 2^31 elements; "
                            "use a smaller --batch-size or hidden size", cfg->batch_size);
    return CONFIG_RUN;
}

void config_attrs(const gan_config *cfg, attr_list *out)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        if (o->unrecorded) continue;
        char name[64];
        size_t k = 0;
        for (; o->flag[k] && k + 1 < sizeof name; k++) name[k] = o->flag[k] == '-' ? '_' : o->flag[k];
        name[k] = '\0';
        if (o->type == OPT_STRING) attrs_string(out, name, field);
        else if (o->type == OPT_DOUBLE) attrs_double(out, name, *(const double *)field);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) attrs_int(out, name, *(const long long *)field);
        else attrs_int(out, name, *(const int *)field);
    }
}

/*
 * Adam's settings for a global batch kappa times the reference batch.
 *   sqrt   (Malladi et al. 2022, "On the SDEs and Scaling Rules for Adaptive Gradient
 *          Algorithms"): lr * sqrt(kappa), 1 - beta -> kappa (1 - beta), eps / sqrt(kappa)
 *   linear: lr * kappa, the betas and eps unchanged
 *   none:   as given
 * The same formulas hold below the reference batch (kappa < 1). Where sqrt would push a beta
 * to 0 or below (beta1 at kappa >= 10 with beta1 = 0.9), it is clamped at 0 (Adam without
 * momentum) and the run prints a warning.
 */
adam_scaled config_scale_adam(const gan_config *cfg, long long global_batch)
{
    adam_scaled a = {(double)global_batch / cfg->reference_batch, cfg->lr, cfg->beta1, cfg->beta2, cfg->epsilon, 0};
    if (strcmp(cfg->scale_rule, "linear") == 0) {
        a.lr = cfg->lr * a.kappa;
    } else if (strcmp(cfg->scale_rule, "sqrt") == 0) {
        const double root = sqrt(a.kappa);
        a.lr = cfg->lr * root;
        a.beta1 = 1.0 - a.kappa * (1.0 - cfg->beta1);
        a.beta2 = 1.0 - a.kappa * (1.0 - cfg->beta2);
        a.epsilon = cfg->epsilon / root;
        if (a.beta1 < 0) a.beta1 = 0, a.clamped = 1;
        if (a.beta2 < 0) a.beta2 = 0, a.clamped = 1;
    }
    return a;
}

/* ---- config files and OUT/config.ini ------------------------------------------------------ */

/* Read FILE's lines (config_file.c) and check every key against the table: each must name
 * an option other than config, once. Errors name the file and line. */
static int read_config_file(const char *file, ini_entry **entries, int *n, err_buf *err)
{
    if (ini_read(file, entries, n, err)) return -1;
    for (int k = 0; k < *n; k++) {
        const ini_entry *e = &(*entries)[k];
        const option *o = find_option(e->key);
        if (!o) err_set(err, "%s:%d: unknown option '%s' (keys are the flags without --; see --help)", file,
                        e->line, e->key);
        else if (strcmp(o->flag, "config") == 0)
            err_set(err, "%s:%d: 'config' cannot be set in a config file", file, e->line);
        for (int j = 0; j < k && o; j++)
            if (strcmp((*entries)[j].key, e->key) == 0) {
                err_set(err, "%s:%d: '%s' is set again (first on line %d)", file, e->line, e->key,
                        (*entries)[j].line);
                o = NULL;
            }
        if (!o) {
            ini_free(*entries, *n);
            *entries = NULL, *n = 0;
            return -1;
        }
    }
    return 0;
}

/* The shortest decimal that reads back as exactly v. */
static void format_double(char *buf, size_t len, double v)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void config_write_values(const gan_config *cfg, FILE *f)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        char num[40];
        if (o->unrecorded) continue;
        if (o->type == OPT_STRING && !field[0]) fprintf(f, "# %s is not set\n", o->flag); /* "" reads back as unset */
        else if (o->type == OPT_STRING) fprintf(f, "%s = %s\n", o->flag, field);
        else if (o->type == OPT_DOUBLE) {
            format_double(num, sizeof num, *(const double *)field);
            fprintf(f, "%s = %s\n", o->flag, num);
        }
        else if (o->type == OPT_COUNT && *(const long long *)field == 0) fprintf(f, "# %s is not set\n", o->flag);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) fprintf(f, "%s = %lld\n", o->flag, *(const long long *)field);
        else fprintf(f, "%s = %d\n", o->flag, *(const int *)field);
    }
}
