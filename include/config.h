/*
 * config.h: every option of gan_train, its default, its valid range and its
 * help text, in one table (config.c) that drives parsing, validation, --help
 * and the hyperparameter attributes written to the HDF5 files (config_attrs).
 */
#ifndef GAN_CONFIG_H
#define GAN_CONFIG_H

#include <stdio.h>

#include "attrs.h"
#include "common.h"

typedef struct {
    /* model */
    int noise_dim;            /* Z: length of the generator's input noise */
    int g_hidden;             /* generator hidden width */
    int d_hidden;             /* discriminator hidden width */
    double leaky_alpha;       /* LeakyReLU negative slope */
    double dropout;           /* generator dropout rate (training only) */
    /* loss */
    double label_smoothing;   /* s: one-sided smoothing of the real label */
    char smoothing_style[16]; /* "target": D's real target is 1-s; "scale": the
                                 tutorial's quirk, D-real and G losses times 1-s */
    /* Adam */
    double lr, beta1, beta2, epsilon;
    double cooldown;          /* the last share of the steps in which the lr decays linearly to 0 */
    /* run */
    int batch_size;           /* per rank */
    int steps;                /* iterations; 0 = images / global batch (set by the run) */
    long long images;         /* the run's length in training images; 0 = --steps decides */
    char scale_rule[16];      /* sqrt | linear | none: Adam's settings derived from the global batch */
    int reference_batch;      /* the global batch the Adam settings are given for */
    char augment[32];         /* none, or a comma list of translate, cutout: D's inputs */
    int patience;             /* stop after this many scores without improvement; 0 = never */
    long long seed;
    int digit;                /* label to train on */
    char data[PATH_LEN];      /* images IDX file */
    char labels[PATH_LEN];    /* labels IDX file; "" = derived from data */
    char out[PATH_LEN];       /* output directory */
    char preset[16];
    char resume[PATH_LEN + 32]; /* checkpoint to continue from; "" = start fresh */
    int keep_checkpoints;       /* step-numbered checkpoints to keep besides checkpoint.h5 */
    double ema_decay;           /* exponential moving average of G's weights; 0 = off */
    int eval_every;             /* steps between quality scores in history.h5; 0 = off;
                                   EVAL_EVERY_AUTO: steps / 20, set once the steps are known */
    char classifier[PATH_LEN];  /* the digit classifier's weights (gan_eval) */
    /* outputs */
    int sample_every, log_every, checkpoint_every, n_samples;
    /* safety (docs/cluster.md) */
    double collective_timeout;  /* seconds a rank may wait in one collective; 0 = no watchdog */
    char on_nonfinite[8];       /* "skip" or "stop": a non-finite loss or gradient on any rank */
    /* this invocation (not recorded: they change nothing in the run) */
    char config[PATH_LEN];      /* options file read before the command line; "" = none */
    int dry_run;                /* 1: check everything, print the configuration, write nothing */
} gan_config;

enum { EVAL_EVERY_AUTO = -1 };

/* Adam's settings for the global batch, from cfg's by its --scale-rule (see config.c). */
typedef struct {
    double kappa;             /* global batch / reference batch */
    double lr, beta1, beta2, epsilon;
    int clamped;              /* 1 if beta1 or beta2 had to be clamped at 0 */
} adam_scaled;
adam_scaled config_scale_adam(const gan_config *cfg, long long global_batch);

/* The multiplier of Adam's lr for step `step` + 1 of `steps` under --cooldown, and the number of
 * steps its decay lasts (see config.c). */
double config_lr_factor(double cooldown, long long step, long long steps);
long long config_cooldown_steps(double cooldown, long long steps);

/* Fill cfg with the defaults (the classic tutorial model, batch 64). */
void config_defaults(gan_config *cfg);

/* What config_parse decided. */
enum { CONFIG_RUN = 0, CONFIG_EXIT_OK = 1, CONFIG_ERROR = -1 };

/*
 * Parse argv into cfg (which config_parse first fills with defaults). With
 * --config FILE, FILE's `key = value` lines are applied first and the command
 * line's flags override them (a --preset, from either, is applied before both).
 * Returns CONFIG_RUN, CONFIG_EXIT_OK after --help/--version (text in *info,
 * a static buffer), or CONFIG_ERROR with a message naming the flag in err (for
 * a line of FILE: "FILE:LINE: KEY: ..."). Prints nothing: the caller prints once,
 * from rank 0.
 */
int config_parse(gan_config *cfg, int argc, char **argv, const char **info, err_buf *err);

/* Every recorded option as an attribute named like its flag with '_' for '-'
 * (the HDF5 files' root attributes). */
void config_attrs(const gan_config *cfg, attr_list *out);

/* Every recorded option as a `key = value` line (the flag's name; numbers written so that
 * they read back exactly): the body of OUT/config.ini, which --config reads back. */
void config_write_values(const gan_config *cfg, FILE *f);

#endif
