/*
 * options.h (private to src/train): the option table, one row per flag: its type, where it
 * lives in gan_config, its valid range and its help. config.c walks the rows to parse the
 * command line and --config files, print --help and record the options; options.c holds
 * the rows, the defaults and the presets.
 */
#ifndef GAN_OPTIONS_H
#define GAN_OPTIONS_H

#include <stddef.h>

#include "config.h"

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

#define RESUME_FROM_OUT "-" /* --resume alone: the checkpoint in --out */

extern const option options[];
extern const size_t n_options;

/* The row of `flag` (without "--"), or NULL. */
const option *find_option(const char *flag);

/* Set one option from text and apply what it implies (a preset's settings; the words a
 * choice allows). `flag` is how messages name it ("--lr", or "lr" in a file). */
int apply_option(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err);

#endif
