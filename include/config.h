/*
 * config.h: every option of gan_train, its default, its valid range and its
 * help text, in one table (config.c) that drives parsing, validation, --help
 * and the hyperparameter attributes written to the HDF5 files (config_attrs).
 */
#ifndef GAN_CONFIG_H
#define GAN_CONFIG_H

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
    /* run */
    int batch_size;           /* per rank */
    int steps;
    long long seed;
    int digit;                /* label to train on */
    char data[PATH_LEN];      /* images IDX file */
    char labels[PATH_LEN];    /* labels IDX file; "" = derived from data */
    char out[PATH_LEN];       /* output directory */
    char preset[16];
    char resume[PATH_LEN + 32]; /* checkpoint to continue from; "" = start fresh */
    int keep_checkpoints;       /* step-numbered checkpoints to keep besides checkpoint.h5 */
    double ema_decay;           /* exponential moving average of G's weights; 0 = off */
    int eval_every;             /* steps between quality scores in history.h5; 0 = off */
    char classifier[PATH_LEN];  /* the digit classifier's weights (gan_eval) */
    /* outputs */
    int sample_every, log_every, checkpoint_every, n_samples;
    /* safety (docs/cluster.md) */
    double collective_timeout;  /* seconds a rank may wait in one collective; 0 = no watchdog */
    char on_nonfinite[8];       /* "skip" or "stop": a non-finite loss or gradient on any rank */
} gan_config;

/* Fill cfg with the defaults (the classic tutorial model, batch 64). */
void config_defaults(gan_config *cfg);

/* What config_parse decided. */
enum { CONFIG_RUN = 0, CONFIG_EXIT_OK = 1, CONFIG_ERROR = -1 };

/*
 * Parse argv into cfg (which config_parse first fills with defaults).
 * Returns CONFIG_RUN, CONFIG_EXIT_OK after --help/--version (text in *info,
 * a static buffer), or CONFIG_ERROR with a message naming the flag in err.
 * Prints nothing: the caller prints once, from rank 0.
 */
int config_parse(gan_config *cfg, int argc, char **argv, const char **info, err_buf *err);

/* Every recorded option as an attribute named like its flag with '_' for '-'
 * (the HDF5 files' root attributes). */
void config_attrs(const gan_config *cfg, attr_list *out);

#endif
