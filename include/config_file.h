/*
 * config_file.h: options in files, and what a run records about itself.
 *
 *   ini_read          the lexer of --config files: `key = value` lines and # comments
 *                     (config.c checks the keys and values against the option table)
 *   build_describe    the version, git commit, compiler and library versions (--version)
 *   config_format_ini the text of OUT/config.ini: every resolved option, the derived
 *                     values and the facts of the run as comments; --dry-run prints it
 *   config_write_ini  write it to OUT/config.ini (atomically)
 */
#ifndef GAN_CONFIG_FILE_H
#define GAN_CONFIG_FILE_H

#include "common.h"
#include "config.h"

/* One `key = value` line of a config file. */
typedef struct {
    char *key, *value; /* owned; surrounding blanks removed */
    int line;          /* 1-based line number in the file */
} ini_entry;

/*
 * Read path: blank lines and lines whose first non-blank character is '#' are skipped;
 * every other line must be `key = value` (value may contain '=', '#' and spaces inside;
 * blanks around key and value are removed). On success *entries (malloc'd, free with
 * ini_free) holds the lines in order. Returns -1 with "PATH:LINE: ..." or
 * "--config PATH: cannot open: ..." in err.
 */
int ini_read(const char *path, ini_entry **entries, int *n, err_buf *err);
void ini_free(ini_entry *entries, int n);

/* "gan_train VERSION (git COMMIT)" and lines for the compiler and for the Open MPI,
 * HDF5 and OpenBLAS (with its kernels) this process runs with. A static buffer. */
const char *build_describe(void);

/* The facts of a run that config.ini records besides the options. */
typedef struct {
    int argc;
    char **argv;             /* the command line */
    int world;               /* ranks */
    const char *hosts;       /* " on M hosts: a (2), ..." as the start-up line prints it */
    long long global_batch;  /* batch-size x ranks */
    int n_images, total_images, image_rows, image_cols;
    long long first_step;    /* 0, or the step a --resume continues from */
    const char *resumed_from; /* the checkpoint, or "" */
} run_facts;

/* OUT/config.ini's text, malloc'd (caller frees). */
char *config_format_ini(const gan_config *cfg, const run_facts *facts);

/* Write config_format_ini's text to OUT/config.ini atomically. Returns 0 or -1 with err. */
int config_write_ini(const gan_config *cfg, const run_facts *facts, err_buf *err);

#endif
