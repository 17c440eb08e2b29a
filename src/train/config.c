/*
 * config.c: the option table and the command-line parser.
 *
 * Each option is one row: flag, type, where it lives in gan_config, valid
 * range, help. Parsing, range checks, --help (with defaults read from a
 * default config) and the HDF5 attributes all walk the same rows, so an
 * option cannot be added to one and forgotten in another.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "paths.h"

typedef enum { OPT_INT, OPT_INT64, OPT_DOUBLE, OPT_STRING } opt_type;

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
    {"steps", OPT_INT, F(steps), 1, 2000000000, "training iterations (each: a D step, then a G step)", NULL, 0},
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
    {"eval-every", OPT_INT, F(eval_every), 0, 2000000000, "steps between quality scores (gan_eval's, 500 samples) in history.h5 (0: off)", NULL, 0},
    {"classifier", OPT_STRING, F(classifier), NOLIMIT, "digit classifier weights for --eval-every", NULL, 0},
    {"keep-checkpoints", OPT_INT, F(keep_checkpoints), 0, 1000000,
     "also keep the last K checkpoints as OUT/checkpoint_STEP.h5 (0: none)", NULL, 0},
    {"collective-timeout", OPT_DOUBLE, F(collective_timeout), 0, 1e6,
     "end the job (exit 76) when a rank waits longer than this many seconds in a collective (0: off)", NULL, 1},
    {"on-nonfinite", OPT_STRING, F(on_nonfinite), NOLIMIT,
     "skip: drop a step with a non-finite loss or gradient; stop: end the run (exit 3)", NULL, 0},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

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
    cfg->steps = 10000;
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
    cfg->eval_every = 2000;
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
    cfg->dropout = 0.0;
    strcpy(cfg->smoothing_style, "scale");
}

static const option *find_option(const char *flag)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].flag, flag) == 0) return &options[i];
    return NULL;
}

static int set_option(gan_config *cfg, const option *o, const char *text, err_buf *err)
{
    char *field = (char *)cfg + o->offset, flag[80];
    snprintf(flag, sizeof flag, "--%s", o->flag);
    if (o->type == OPT_STRING) {
        if (text[0] == '\0') return err_set(err, "%s: empty value, expected a string", flag);
        if (strlen(text) >= o->size)
            return err_set(err, "%s: value is %zu characters long, the limit is %zu", flag, strlen(text),
                           o->size - 1);
        memcpy(field, text, strlen(text) + 1);
        return 0;
    }
    if (o->type == OPT_DOUBLE) return parse_double(flag, text, o->min, o->max, (double *)field, err);
    long long v;
    if (parse_int64(flag, text, (long long)o->min, (long long)o->max, &v, err)) return -1;
    if (o->type == OPT_INT64) *(long long *)field = v;
    else *(int *)field = (int)v;
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
        if (o->type == OPT_STRING) snprintf(def, sizeof def, "%s", field[0] ? field : "auto");
        else if (o->type == OPT_DOUBLE) snprintf(def, sizeof def, "%g", *(const double *)field);
        else if (o->type == OPT_INT64) snprintf(def, sizeof def, "%lld", *(const long long *)field);
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
            *info = "gan_train " GAN_VERSION "\n";
            return CONFIG_EXIT_OK;
        }
    }
    /* Pass 1: the preset, so that any other flag overrides it wherever it stands. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const option *o = NULL;
            const char *value = NULL;
            if (next_flag(argc, argv, &i, &o, &value, err)) return CONFIG_ERROR;
            int is_preset = strcmp(o->flag, "preset") == 0;
            if (is_preset != (pass == 0)) continue;
            if (set_option(cfg, o, value, err)) return CONFIG_ERROR;
            if (is_preset) {
                if (strcmp(cfg->preset, "seed") == 0) apply_seed_preset(cfg);
                else if (strcmp(cfg->preset, "default") != 0)
                    return err_set(err, "--preset: '%s' is not a preset, expected default or seed",
                                   cfg->preset);
            }
        }
    }
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
        else if (o->type == OPT_INT64) attrs_int(out, name, *(const long long *)field);
        else attrs_int(out, name, *(const int *)field);
    }
}
