/*
 * record.h: what a run records about itself, so that it can be repeated and compared:
 * OUT/config.ini (every resolved option, and as comments the command line, the build, the
 * libraries, ranks and hosts) and OUT/status (running / finished / stopped / failed, read by
 * jobs/collect.py); and the --dry-run report, which prints the same without writing.
 */
#ifndef GAN_RECORD_H
#define GAN_RECORD_H

#include "run.h"

/* Collective, after the outputs are open: OUT/config.ini (rewritten at every start, a
 * resume's too) and OUT/status "running". Returns the agreed outcome (0 or -1). */
int record_run(run *r, int argc, char **argv);

/* Collective --dry-run at the point where a real run starts writing: check --out as the
 * run would find it, print the configuration and the work, write nothing. Exit status. */
int record_dry_run(run *r, int argc, char **argv);

/* Rank 0: OUT/status, "running pid P host H" (status < 0) or "STATE step S of N exit E". */
int record_status(const run *r, const char *state, int status, err_buf *err);

#endif
