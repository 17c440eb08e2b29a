/*
 * options.c: the option table (options.h) and everything that walks it: the defaults, the
 * presets, setting one value from text, --help, the HDF5 attributes and config.ini's values.
 * A new option is one row here and one field in gan_config; nothing else lists options.
 */
#include "options.h"

#include "classifier_store.h"
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "build_info.h"
#include "paths.h"

/* ---- the table -------------------------------------------------------------------------- */

static const char *const smoothing_words[] = {"target", "scale", NULL};   /* enum smoothing_style */
const char *const scale_rule_words[] = {"sqrt", "linear", "none", NULL};  /* enum scale_rule */
static const char *const preset_words[] = {"default", "seed", NULL};      /* enum preset */
static const char *const nonfinite_words[] = {"skip", "stop", NULL};      /* enum on_nonfinite */
const char *const precision_words[] = {"fp32", "bf16", "auto", NULL}; /* enum precision */
const char *const compress_words[] = {"none", "bf16", "powersgd:", NULL}; /* enum compress */
const char *const hierarchical_words[] = {"auto", "on", "off", NULL};  /* enum hierarchical */
const char *const overlap_words[] = {"off", "on", NULL};                /* enum overlap */
static const char *const augment_words[] = {"translate", "cutout", NULL}; /* bit i: AUG_TRANSLATE, AUG_CUTOUT */
_Static_assert(AUG_TRANSLATE == 1 << 0 && AUG_CUTOUT == 1 << 1, "augment_words follows the AUG_ bits");

#define F(field) offsetof(gan_config, field), sizeof(((gan_config *)0)->field)
#define RANGE(lo, hi) lo, hi, NULL, NULL, 0
#define WORDS(list) 0, 0, list, NULL, 0
#define TEXT 0, 0, NULL, NULL, 0

/*
 * The defaults are those of issue 11, chosen by measurement (docs/quality.md, "More ranks,
 * better digits sooner: the defaults"): a budget of 5.12M images, Adam scaled by the
 * square-root rule, D's inputs translated and cut out, a cool-down over the last quarter, and
 * no moving average of G (with augmentation it lowered the distance at 8 ranks but not the
 * share classified as the digit, for 5-17% more time). The collective timeout is ten minutes, PyTorch's default
 * for its NCCL watchdog: a step, a checkpoint and a score take seconds here, so only a rank
 * that stopped responding waits that long (docs/cluster.md, "Hangs").
 */
const option options[] = {
    {"noise-dim", OPT_INT, F(noise_dim), RANGE(1, 65536), "100", 0, "length Z of the generator's uniform(-1,1) noise", NULL, 0, 0},
    {"g-hidden", OPT_INT, F(g_hidden), RANGE(1, 65536), "128", 0, "generator hidden units", NULL, 0, 0},
    {"d-hidden", OPT_INT, F(d_hidden), RANGE(1, 65536), "128", 0, "discriminator hidden units", NULL, 0, 0},
    {"leaky-alpha", OPT_DOUBLE, F(leaky_alpha), RANGE(0, 1), "0.01", 0, "LeakyReLU negative slope", NULL, 0, 0},
    {"dropout", OPT_DOUBLE, F(dropout), RANGE(0, 0.99), "0.2", 0, "generator dropout rate, training only", NULL, 0, 0},
    {"r1", OPT_DOUBLE, F(r1), RANGE(0, 1e4), "0.1", 0,
     "R1 penalty gamma: D's loss + gamma/2 mean |dD/dx|^2 on real images, which keeps D flat around the data "
     "(0: off; docs/quality.md)", NULL, 0, 0},
    {"label-smoothing", OPT_DOUBLE, F(label_smoothing), RANGE(0, 0.5), "0.1", 0,
     "one-sided smoothing s of the real label", NULL, 0, 0},
    {"smoothing-style", OPT_CHOICE, F(smoothing_style), WORDS(smoothing_words), "target", 0,
     "target: real target 1-s; scale: D-real and G losses times 1-s (tutorial)", NULL, 0, 0},
    {"lr", OPT_DOUBLE, F(lr), RANGE(1e-12, 10), "0.001", 0, "Adam learning rate", NULL, 0, 0},
    {"beta1", OPT_DOUBLE, F(beta1), RANGE(0, 0.999999), "0.9", 0, "Adam beta1, in [0, 1)", NULL, 0, 0},
    {"beta2", OPT_DOUBLE, F(beta2), RANGE(0, 0.999999999), "0.999", 0, "Adam beta2, in [0, 1)", NULL, 0, 0},
    {"epsilon", OPT_DOUBLE, F(epsilon), RANGE(1e-30, 1), "1e-8", 0, "Adam epsilon", NULL, 0, 0},
    {"cooldown", OPT_DOUBLE, F(cooldown), RANGE(0, 1), "0.25", 0,
     "decay the lr linearly to 0 over this last share of the steps (0: constant lr)", NULL, 0, 0},
    {"batch-size", OPT_INT, F(batch_size), 1, 1 << 20, NULL, "auto", BATCH_AUTO, "auto", 0,
     "images per rank per step (global = x ranks); auto: 64, or fewer when 64 x ranks would exceed the training "
     "images (then the most whose global batch does not)", NULL, 0, 0},
    {"steps", OPT_INT, F(steps), 1, 2000000000, NULL, "auto", 0, "auto", 0,
     "training iterations (each: a D step, then a G step); auto: --images / global batch", NULL, 0, 0},
    {"images", OPT_COUNT, F(images), RANGE(1, 1e15), "5120000", 0,
     "the run's length in training images over all ranks (k, M, G suffixes: 2.56M); the alternative to --steps",
     NULL, 0, 0},
    {"scale-rule", OPT_CHOICE, F(scale_rule), WORDS(scale_rule_words), "sqrt", 0,
     "sqrt | linear | none: derive Adam's lr, betas and epsilon from the global batch (docs/quality.md)", NULL, 0, 0},
    {"reference-batch", OPT_INT, F(reference_batch), RANGE(1, 1 << 30), "64", 0,
     "the global batch that --lr, --beta1, --beta2, --epsilon are given for", NULL, 0, 0},
    {"augment", OPT_SET, F(augment), WORDS(augment_words), "translate,cutout", 0,
     "none | translate,cutout (either or both): random, differentiable augmentation of D's inputs, real and fake",
     NULL, 0, 0},
    {"precision", OPT_CHOICE, F(precision), WORDS(precision_words), "fp32", 0,
     "fp32 | bf16 | auto: the matrix products' inputs (bf16: summed in fp32 by oneDNN; weights, gradients and "
     "Adam stay fp32); auto: bf16 on native bf16 CPUs (AVX512-BF16, AMX) from batch 8",
     NULL, 0, 0},
    {"patience", OPT_INT, F(patience), RANGE(0, 1000000), "0", 0,
     "with --eval-every: stop after this many scores without improvement (0: never)", NULL, 0, 0},
    {"seed", OPT_INT64, F(seed), RANGE(0, 9.007199254740992e15), "42", 0,
     "random seed (init, data split, noise, dropout)", NULL, 0, 0},
    {"digit", OPT_INT, F(digit), RANGE(0, 255), "0", 0, "label of the images to train on", NULL, 0, 0},
    {"data", OPT_STRING, F(data), TEXT, GAN_DATA_FILE, 1, "images file, IDX format, raw or .gz", NULL, 0, 0},
    {"labels", OPT_STRING, F(labels), TEXT, NULL, 0, "labels file (default: --data with images-idx3 -> labels-idx1)",
     NULL, 0, 0},
    {"out", OPT_STRING, F(out), TEXT, "runs/latest", 0, "output directory (created if missing)", NULL, 0, 0},
    {"sample-every", OPT_INT, F(sample_every), RANGE(0, 2000000000), "500", 0,
     "steps between sample grids in history.h5 (0: end only)", NULL, 0, 0},
    {"log-every", OPT_INT, F(log_every), RANGE(1, 2000000000), "100", 0,
     "steps between progress lines and /metrics rows", NULL, 0, 0},
    {"checkpoint-every", OPT_INT, F(checkpoint_every), RANGE(0, 2000000000), "1000", 0,
     "steps between checkpoints (0: end only)", NULL, 0, 0},
    {"n-samples", OPT_INT, F(n_samples), RANGE(1, 4096), "64", 0, "fixed-noise samples per grid", NULL, 0, 0},
    {"preset", OPT_CHOICE, F(preset), WORDS(preset_words), "default", 0,
     "default | seed (the original tutorial as it ran); other flags override it", NULL, 0, 0},
    {"resume", OPT_STRING, F(resume), TEXT, NULL, 0, "continue from PATH, or without a value from OUT/checkpoint.h5",
     RESUME_FROM_OUT, 1, 0},
    {"ema-decay", OPT_DOUBLE, F(ema_decay), RANGE(0, 0.999999), "0", 0,
     "keep an EMA of G's weights with this decay (0: off); gan_sample/gan_eval use it", NULL, 0, 0},
    {"eval-every", OPT_INT, F(eval_every), 0, 2000000000, NULL, "auto", EVAL_EVERY_AUTO, "auto", 0,
     "steps between quality scores (gan_eval's, 2000 samples) in history.h5 and best.h5 (0: off; auto: 20 scores "
     "per run)", NULL, 0, 0},
    {"classifier", OPT_STRING, F(classifier), TEXT, CLASSIFIER_AUTO, 0,
     "FILE | auto: the classifier of --data's images behind --eval-every (auto: the shipped one, or the one "
     "cached for this data, or one trained for it first; a FILE must have been trained on --data)", NULL, 0, 0},
    {"keep-checkpoints", OPT_INT, F(keep_checkpoints), RANGE(0, 1000000), "0", 0,
     "also keep the last K checkpoints as OUT/checkpoint_STEP.h5 (0: none)", NULL, 0, 0},
    {"config", OPT_STRING, F(config), TEXT, NULL, 0,
     "read options from FILE first (key = value lines, e.g. a run's OUT/config.ini); flags override it", NULL, 1, 0},
    {"dry-run", OPT_INT, F(dry_run), RANGE(0, 1), "0", 0,
     "check options, data, classifier and --out, print the configuration and steps, write nothing", "1", 1, 0},
    {"collective-timeout", OPT_DOUBLE, F(collective_timeout), RANGE(0, 1e6), "600", 0,
     "end the job (exit 76) when a rank waits longer than this many seconds in a collective (0: off)", NULL, 1, 0},
    {"on-nonfinite", OPT_CHOICE, F(on_nonfinite), WORDS(nonfinite_words), "skip", 0,
     "skip: drop a step with a non-finite loss or gradient; stop: end the run (exit 3)", NULL, 0, 0},
    {"compress", OPT_CHOICE, F(compress), 1, 1024, compress_words, NULL, 0, "none", 0,
     "none | bf16 | powersgd:R: the gradients on the wire: fp32 (exact), bfloat16 or rank-R PowerSGD, both "
     "with error feedback (docs/performance.md)", NULL, 0, offsetof(gan_config, compress_rank)},
    {"hierarchical", OPT_CHOICE, F(hierarchical), WORDS(hierarchical_words), "auto", 0,
     "auto | on | off: sum within each node over shared memory first, then across nodes with one rank per "
     "node (auto: when nodes hold several ranks)", NULL, 0, 0},
    {"overlap", OPT_CHOICE, F(overlap), WORDS(overlap_words), "off", 0,
     "on: G's gradient sum runs behind the next step's D pass over real images (non-blocking "
     "collectives); off: every sum blocks, as written", NULL, 0, 0},
};
const size_t n_options = sizeof options / sizeof options[0];

/*
 * --preset seed: the original tutorial as it actually ran: batch 1, 10,000 iterations with
 * the lr, betas and epsilon as given, no augmentation, no cool-down and no R1 penalty, the smoothed losses
 * scaled by 0.9 instead of smoothing the target, and no dropout (its tf.layers.dropout left
 * training=False, so it never dropped). Its length is in steps, so --images is unset.
 */
static const char *const seed_preset[][2] = {
    {"batch-size", "1"}, {"steps", "10000"}, {"scale-rule", "none"}, {"augment", "none"},
    {"cooldown", "0"},   {"dropout", "0"},   {"smoothing-style", "scale"}, {"r1", "0"},
};

const option *find_option(const char *flag)
{
    for (size_t i = 0; i < n_options; i++)
        if (strcmp(options[i].flag, flag) == 0) return &options[i];
    return NULL;
}

/* ---- values ------------------------------------------------------------------------------ */

static int word_index(const char *const *words, const char *text, size_t len)
{
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == len && strncmp(words[i], text, len) == 0) return i;
    return -1;
}

/* "a, b or c" (last: " or "), for messages. */
static void list_words(const char *const *words, const char *last, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; words[i] && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s%s", i == 0 ? "" : words[i + 1] ? ", " : last, words[i],
                              words[i][strlen(words[i]) - 1] == ':' ? "N" : "");
}

/* One of the words; a word ending in ':' takes a number, "powersgd:4", stored at arg_offset. */
static int set_choice(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
{
    const char *colon = strchr(text, ':');
    int i = word_index(o->words, text, colon ? (size_t)(colon - text) + 1 : strlen(text));
    if (i >= 0 && colon) {
        long long n;
        if (parse_int64(flag, colon + 1, (long long)o->min, (long long)o->max, &n, err)) return -1;
        *(int *)((char *)cfg + o->arg_offset) = (int)n;
    }
    if (i >= 0) return *(int *)((char *)cfg + o->offset) = i, 0;
    char expected[256];
    list_words(o->words, " or ", expected, sizeof expected);
    return err_set(err, "%s: '%s', expected %s", flag, text, expected);
}

/* "none", or a comma list of the words, each at most once. */
static int set_set(int *field, const option *o, const char *text, const char *flag, err_buf *err)
{
    int bits = 0;
    if (strcmp(text, "none") != 0) {
        for (const char *p = text;; p++) {
            size_t len = strcspn(p, ",");
            int i = word_index(o->words, p, len);
            if (i < 0 || (bits & (1 << i))) break;
            bits |= 1 << i;
            p += len;
            if (*p == '\0') return *field = bits, 0;
        }
        char words[256];
        list_words(o->words, " and ", words, sizeof words);
        return err_set(err, "%s: '%s', expected none or a comma list of %s (each once)", flag, text, words);
    }
    *field = bits;
    return 0;
}

static int set_number(char *field, const option *o, const char *text, const char *flag, err_buf *err)
{
    long long v;
    if (o->special && strcmp(text, o->special) == 0) v = o->special_value;
    else if (o->type == OPT_DOUBLE) return parse_double(flag, text, o->min, o->max, (double *)field, err);
    else if (o->type == OPT_COUNT) return parse_count(flag, text, (long long)o->min, (long long)o->max, (long long *)field, err);
    else if (parse_int64(flag, text, (long long)o->min, (long long)o->max, &v, err)) return -1;
    if (o->type == OPT_INT) *(int *)field = (int)v;
    else *(long long *)field = v;
    return 0;
}

static int set_value(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
{
    char *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING:
        if (text[0] == '\0') return err_set(err, "%s: empty value, expected a string", flag);
        if (strlen(text) >= o->size)
            return err_set(err, "%s: value is %zu characters long, the limit is %zu", flag, strlen(text), o->size - 1);
        memcpy(field, text, strlen(text) + 1);
        return 0;
    case OPT_CHOICE: return set_choice(cfg, o, text, flag, err);
    case OPT_SET: return set_set((int *)field, o, text, flag, err);
    default: return set_number(field, o, text, flag, err);
    }
}

int option_set(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
{
    if (set_value(cfg, o, text, flag, err)) return -1;
    if (o->offset == offsetof(gan_config, preset) && cfg->preset == PRESET_SEED) {
        for (size_t i = 0; i < sizeof seed_preset / sizeof seed_preset[0]; i++)
            if (set_value(cfg, find_option(seed_preset[i][0]), seed_preset[i][1], seed_preset[i][0], err))
                FATAL("the seed preset's %s: %s", seed_preset[i][0], err->msg);
        cfg->images = 0; /* the preset gives the length in steps */
    }
    return 0;
}

void options_defaults(gan_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    err_buf err;
    for (size_t i = 0; i < n_options; i++) {
        const option *o = &options[i];
        char shipped[PATH_LEN];
        if (!o->def) continue;
        const char *text = o->def_shipped ? shipped_file(o->def, shipped, sizeof shipped) : o->def;
        if (option_set(cfg, o, text, o->flag, &err)) FATAL("the default of --%s: %s", o->flag, err.msg);
    }
}

/* The shortest decimal that reads back as exactly v. */
static void format_double(char *buf, size_t len, double v)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* "a,b" for the bits of an OPT_SET; "none" for 0. */
static void format_set(const option *o, int bits, char *buf, size_t len)
{
    size_t n = 0;
    snprintf(buf, len, "none");
    for (int i = 0; o->words[i] && n < len; i++)
        if (bits & (1 << i)) n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", o->words[i]);
}

void option_format(const gan_config *cfg, const option *o, char *buf, size_t len)
{
    const char *field = (const char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: snprintf(buf, len, "%s", field); break;
    case OPT_CHOICE: {
        const char *word = o->words[*(const int *)field];
        if (word[strlen(word) - 1] == ':') snprintf(buf, len, "%s%d", word, *(const int *)((const char *)cfg + o->arg_offset));
        else snprintf(buf, len, "%s", word);
        break;
    }
    case OPT_SET: format_set(o, *(const int *)field, buf, len); break;
    case OPT_DOUBLE: format_double(buf, len, *(const double *)field); break;
    case OPT_INT:
        if (o->special && *(const int *)field == o->special_value) snprintf(buf, len, "%s", o->special);
        else snprintf(buf, len, "%d", *(const int *)field);
        break;
    case OPT_COUNT:
        if (*(const long long *)field == 0) { buf[0] = '\0'; break; } /* unset: --steps gives the length */
        /* fall through */
    case OPT_INT64: snprintf(buf, len, "%lld", *(const long long *)field); break;
    }
}

/* ---- what walks the table ---------------------------------------------------------------- */

const char *options_help(void)
{
    static char buf[8192];
    gan_config d;
    options_defaults(&d);
    size_t n = (size_t)snprintf(buf, sizeof buf,
        "gan_train " GAN_VERSION ": data-parallel MLP GAN trainer (MPI, HDF5, OpenBLAS)\n\n"
        "usage: mpirun -n RANKS gan_train [options]\n\n"
        "Trains a generator and a discriminator on the images of one digit, averaging\n"
        "gradients over ranks. Rank 0 writes OUT/checkpoint.h5 and OUT/history.h5.\n\n"
        "options (default in brackets):\n");
    for (size_t i = 0; i < n_options && n < sizeof buf; i++) {
        const option *o = &options[i];
        char def[PATH_LEN + 8];
        if (o->type == OPT_DOUBLE) snprintf(def, sizeof def, "%g", *(const double *)((const char *)&d + o->offset));
        else option_format(&d, o, def, sizeof def);
        if (!def[0]) snprintf(def, sizeof def, "%s", o->unrecorded ? "none" : "auto");
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

void options_attrs(const gan_config *cfg, attr_list *out)
{
    for (size_t i = 0; i < n_options; i++) {
        const option *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        if (o->unrecorded) continue;
        char name[64], text[PATH_LEN + 32];
        size_t k = 0;
        for (; o->flag[k] && k + 1 < sizeof name; k++) name[k] = o->flag[k] == '-' ? '_' : o->flag[k];
        name[k] = '\0';
        if (o->type == OPT_DOUBLE) attrs_double(out, name, *(const double *)field);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) attrs_int(out, name, *(const long long *)field);
        else if (o->type == OPT_INT) attrs_int(out, name, *(const int *)field);
        else option_format(cfg, o, text, sizeof text), attrs_string(out, name, text);
    }
}

void options_write_values(const gan_config *cfg, FILE *f)
{
    for (size_t i = 0; i < n_options; i++) {
        const option *o = &options[i];
        char text[PATH_LEN + 32];
        if (o->unrecorded) continue;
        option_format(cfg, o, text, sizeof text);
        if (!text[0]) fprintf(f, "# %s is not set\n", o->flag); /* "" reads back as unset */
        else fprintf(f, "%s = %s\n", o->flag, text);
    }
}
