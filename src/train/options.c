/* options.c: the option table, the defaults and the presets (see options.h). */
#include "options.h"

#include <string.h>

#include "augment.h"
#include "build_info.h"
#include "paths.h"

#define F(field) offsetof(gan_config, field), sizeof(((gan_config *)0)->field)
#define NOLIMIT 0, 0

const option options[] = {
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
    {"cooldown", OPT_DOUBLE, F(cooldown), 0, 1, "decay the lr linearly to 0 over this last share of the "
     "steps (0: constant lr)", NULL, 0},
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
    {"eval-every", OPT_INT, F(eval_every), 0, 2000000000, "steps between quality scores (gan_eval's, 2000 samples) "
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
const size_t n_options = sizeof options / sizeof options[0];

/* The defaults of issue 11, chosen by measurement (docs/quality.md, "Defaults"). */
#define GAN_DEFAULT_IMAGES 5120000LL
#define GAN_DEFAULT_SCALE_RULE "sqrt"
#define GAN_DEFAULT_AUGMENT "translate,cutout"
#define GAN_DEFAULT_COOLDOWN 0.25

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
    cfg->cooldown = GAN_DEFAULT_COOLDOWN;
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
    cfg->cooldown = 0.0;
    cfg->dropout = 0.0;
    strcpy(cfg->smoothing_style, "scale");
}

const option *find_option(const char *flag)
{
    for (size_t i = 0; i < n_options; i++)
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
int apply_option(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err)
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

