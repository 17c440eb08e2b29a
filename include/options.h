/*
 * options.h: the option table, one row per flag of gan_train: its kind, where it lives in
 * gan_config, its default, its valid range or words, and its help. Everything that knows
 * about options walks these rows: the parser (config.c), --help, the defaults, the presets,
 * the HDF5 attributes and the values of OUT/config.ini (options.c). An option is one row.
 */
#ifndef GAN_OPTIONS_H
#define GAN_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "attrs.h"
#include "config.h"

typedef enum {
    OPT_INT,    /* int in [min, max] */
    OPT_INT64,  /* long long in [min, max] */
    OPT_COUNT,  /* long long with a k, M or G suffix: "2.56M" */
    OPT_DOUBLE, /* double in [min, max] */
    OPT_STRING, /* char[size], not empty */
    OPT_CHOICE, /* int: the index of one of `words`; a word ending in ':' takes ":N" (stored at arg_offset) */
    OPT_SET     /* int: a comma list of `words`, word i = bit i; "none" is 0 */
} opt_type;

typedef struct {
    const char *flag;          /* without the leading "--" */
    opt_type type;
    size_t offset;             /* into gan_config */
    size_t size;               /* buffer size for OPT_STRING */
    double min, max;           /* inclusive range for numbers */
    const char *const *words;  /* OPT_CHOICE, OPT_SET: the words, NULL-terminated */
    const char *special;       /* numbers: one more word the value may be, e.g. "auto" ... */
    long long special_value;   /* ... and the value it stores */
    const char *def;           /* the default, parsed like a user's value; NULL: unset (0 or "") */
    int def_shipped;           /* 1: def names a file shipped with gan_train (paths.h) */
    const char *help;
    const char *implicit;      /* value when the flag is given without one; NULL: a value is required */
    int unrecorded;            /* 1: not written to the HDF5 files or config.ini (changes nothing in the run) */
    size_t arg_offset;         /* OPT_CHOICE: the int field of a word's ":N", N in [min, max] */
} option;

#define RESUME_FROM_OUT "-" /* --resume alone: the checkpoint in --out */

extern const option options[];
extern const size_t n_options;

/* The words of the choices, indexed by their enums (config.h): for messages. */
extern const char *const scale_rule_words[];
extern const char *const precision_words[];
extern const char *const compress_words[];
extern const char *const hierarchical_words[];
extern const char *const overlap_words[];

/* The row of `flag` (without "--"), or NULL. */
const option *find_option(const char *flag);

/* Fill cfg with every row's default. */
void options_defaults(gan_config *cfg);

/* Set one option from text, and apply what it implies (a preset's settings). `flag` is how
 * messages name it ("--lr", or "lr" in a file). Returns 0, or -1 with a message in err. */
int option_set(gan_config *cfg, const option *o, const char *text, const char *flag, err_buf *err);

/* The value of o in cfg as text that option_set reads back to the same value (a double's
 * shortest exact decimal, a choice's word). "" for an unset string or count. */
void option_format(const gan_config *cfg, const option *o, char *buf, size_t len);

/* "--help"'s text: the usage and every row with its default. A static buffer. */
const char *options_help(void);

/* Every recorded option as an attribute named like its flag with '_' for '-' (the HDF5
 * files' root attributes). */
void options_attrs(const gan_config *cfg, attr_list *out);

/* Every recorded option as a `key = value` line, the body of OUT/config.ini (which --config
 * reads back); an unset one as a "# KEY is not set" comment. */
void options_write_values(const gan_config *cfg, FILE *f);

#endif
