/*
 * config.h: gan_train's options as the program reads them, and how they are parsed.
 *
 * gan_config holds one field per option. The option table (options.h) owns each option's
 * name, kind, default, valid range or words, and help; config_parse fills a gan_config from
 * the defaults, a --config file and the command line, all through that table.
 */
#ifndef GAN_CONFIG_H
#define GAN_CONFIG_H

#include "common.h"

/* The choices, stored as these values; their words are in the option table (options.c). */
enum smoothing_style {
    SMOOTH_TARGET, /* "target": D's real target is 1 - s */
    SMOOTH_SCALE   /* "scale": the tutorial's quirk, D-real and G losses times 1 - s */
};
enum scale_rule { SCALE_SQRT, SCALE_LINEAR, SCALE_NONE }; /* schedule.h */
enum preset { PRESET_DEFAULT, PRESET_SEED };
enum on_nonfinite { ON_NONFINITE_SKIP, ON_NONFINITE_STOP };
enum precision { PRECISION_FP32, PRECISION_BF16, PRECISION_AUTO }; /* gemm.h; the run resolves auto */
enum compress { COMPRESS_NONE, COMPRESS_BF16, COMPRESS_POWERSGD }; /* comm.h */
enum hierarchical { HIERARCHICAL_AUTO, HIERARCHICAL_ON, HIERARCHICAL_OFF }; /* comm.h */
enum overlap { OVERLAP_OFF, OVERLAP_ON }; /* train.h */
/* --augment is a set of these bits (augment.h's AUG_TRANSLATE, AUG_CUTOUT); 0 is "none". */

typedef struct {
    /* model */
    int noise_dim;            /* Z: length of the generator's input noise */
    int g_hidden;             /* generator hidden width */
    int d_hidden;             /* discriminator hidden width */
    double leaky_alpha;       /* LeakyReLU negative slope */
    double dropout;           /* generator dropout rate (training only) */
    double r1;                /* R1 penalty weight on D's real inputs; 0 = off */
    /* loss */
    double label_smoothing;   /* s: one-sided smoothing of the real label */
    int smoothing_style;      /* enum smoothing_style */
    /* Adam */
    double lr, beta1, beta2, epsilon;
    double cooldown;          /* the last share of the steps in which the lr decays linearly to 0 */
    /* run */
    int batch_size;           /* per rank */
    int steps;                /* iterations; 0 = images / global batch (set by the run) */
    long long images;         /* the run's length in training images; 0 = --steps decides */
    int scale_rule;           /* enum scale_rule: Adam's settings derived from the global batch */
    int reference_batch;      /* the global batch the Adam settings are given for */
    int augment;              /* AUG_* bits: D's inputs */
    int precision;            /* enum precision: the matrix products' inputs (gemm.h) */
    int patience;             /* stop after this many scores without improvement; 0 = never */
    long long seed;
    int digit;                /* label to train on */
    char data[PATH_LEN];      /* images IDX file */
    char labels[PATH_LEN];    /* labels IDX file; "" = derived from data */
    char out[PATH_LEN];       /* output directory */
    int preset;               /* enum preset */
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
    int on_nonfinite;           /* enum on_nonfinite: a non-finite loss or gradient on any rank */
    /* communication (comm.h) */
    int compress;               /* enum compress: the gradients' form on the wire */
    int compress_rank;          /* PowerSGD's rank R (--compress powersgd:R) */
    int hierarchical;           /* enum hierarchical: reduce within each node first */
    int overlap;                /* enum overlap: G's sum behind the next step's real half */
    /* this invocation (not recorded: they change nothing in the run) */
    char config[PATH_LEN];      /* options file read before the command line; "" = none */
    int dry_run;                /* 1: check everything, print the configuration, write nothing */
} gan_config;

enum { EVAL_EVERY_AUTO = -1 };

/* What config_parse decided. */
enum { CONFIG_RUN = 0, CONFIG_HELP = 1, CONFIG_VERSION = 2, CONFIG_ERROR = -1 };

/*
 * Parse argv into cfg (which config_parse first fills with the table's defaults). With
 * --config FILE, FILE's `key = value` lines are applied first and the command line's flags
 * override them (a --preset, from either, is applied before both).
 * Returns CONFIG_RUN; CONFIG_HELP (the text in *help, a static buffer) or CONFIG_VERSION
 * when asked for them; or CONFIG_ERROR with a message naming the flag in err (for a line of
 * FILE: "FILE:LINE: KEY: ..."). Prints nothing: the caller prints once, from rank 0.
 */
int config_parse(gan_config *cfg, int argc, char **argv, const char **help, err_buf *err);

#endif
