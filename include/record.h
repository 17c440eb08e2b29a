/*
 * record.h: what a run records about itself, so that it can be repeated and compared, and
 * the text behind --version and --dry-run. Rank 0 calls these; nothing here communicates.
 *
 *   record_build      the version, git commit, compiler and library versions (--version)
 *   record_format_ini OUT/config.ini's text: every resolved option (options.h), and as
 *                     comments the command line, the build, ranks and hosts, and the values
 *                     derived from the options and the data
 *   record_write_ini  write it to OUT/config.ini (atomically)
 *   record_status     OUT/status: running / finished / stopped / failed (jobs/collect.py)
 *   record_dry_run    --dry-run's report: the work and the config.ini the run would write
 */
#ifndef GAN_RECORD_H
#define GAN_RECORD_H

#include "common.h"
#include "config.h"

/* The facts of a run that config.ini records besides the options. */
typedef struct {
    int argc;
    char **argv;              /* the command line */
    int world;                /* ranks */
    const char *hosts;        /* " on M hosts: a (2), ..." as the start-up line prints it */
    long long global_batch;   /* batch-size x ranks */
    int batch_capped;         /* --batch-size auto lowered the batch to fit the data (schedule_batch) */
    int n_images, total_images, image_rows, image_cols;
    long long first_step;     /* 0, or the step a --resume continues from */
    const char *resumed_from; /* the checkpoint, or "" */
} run_facts;

/* "gan_train VERSION (git COMMIT)" and lines for the compiler and for the Open MPI, HDF5 and
 * OpenBLAS (with its kernels) this process runs with. A static buffer. */
const char *record_build(void);

/* OUT/config.ini's text, malloc'd (caller frees). */
char *record_format_ini(const gan_config *cfg, const run_facts *facts);

/* Write record_format_ini's text to OUT/config.ini atomically. Returns 0 or -1 with err. */
int record_write_ini(const gan_config *cfg, const run_facts *facts, err_buf *err);

/* OUT/status, one line: "running pid P host H" when status < 0, else
 * "STATE step S of N exit STATUS". Returns 0 or -1 with err. */
int record_status(const char *out, const char *state, long long step, int steps, int status, err_buf *err);

/* Print what --dry-run found: the steps the run would train and its config.ini. */
void record_dry_run(const gan_config *cfg, const run_facts *facts);

#endif
