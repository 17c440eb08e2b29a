/*
 * common.h: error handling and strict number parsing shared by every part of gan_train.
 *
 * Two kinds of failure (docs/design.md, "Errors"):
 *  - recoverable ones (bad flag, bad dataset, unwritable output) are returned
 *    up to the program as -1 with a one-line message in an err_buf; gan_train prints
 *    it once, from rank 0, and every rank exits with the same status;
 *  - fatal ones (out of memory, an MPI call failing, a broken invariant) go through
 *    FATAL, which names the program (and rank), file and line, then calls the abort
 *    handler: exit() in the serial tools, MPI_Abort in gan_train (mpi_util.h), so no
 *    rank is left waiting in a collective.
 * Nothing here depends on MPI, so the I/O and scoring code and the tools do not either.
 */
#ifndef GAN_COMMON_H
#define GAN_COMMON_H

#include <stddef.h>

/* Exit statuses of gan_train, documented in docs/design.md. */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* dataset, I/O or checkpoint error */
    EXIT_USAGE = 2,   /* bad command line, bad launch, or --out in use by another run */
    EXIT_DIVERGED = 3, /* a non-finite loss, gradient or weight with --on-nonfinite stop (or weights
                          that went non-finite): the last checkpoint is kept, nothing non-finite written */
    EXIT_PREEMPTED = 75, /* stopped by SIGTERM/SIGINT/SIGUSR1 after a checkpoint (EX_TEMPFAIL): resume */
    EXIT_HANG = 76    /* a rank waited longer than --collective-timeout in a collective (MPI_Abort) */
};

#define ERR_LEN 1024
#define PATH_LEN 4096

/* A message for the user, filled by the function that failed. */
typedef struct {
    char msg[ERR_LEN];
} err_buf;

/* printf into e->msg; always returns -1 so callers can `return err_set(...)`. */
int err_set(err_buf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Who is reporting a fatal error and how to stop: `rank` < 0 for a serial tool;
 * `abort_fn` must not return (NULL: exit(EXIT_RUNTIME)). */
void fatal_setup(const char *program, int rank, void (*abort_fn)(int status));

/* Print "PROGRAM: [rank R: ]fatal: MSG (FILE:LINE)" to stderr and stop the whole job. */
_Noreturn void fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define FATAL(...) fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* Seconds on a monotonic clock, for progress lines and timings. */
double now_seconds(void);

/* malloc/calloc that stop the job with a message instead of returning NULL. */
void *xmalloc(size_t bytes);
void *xcalloc(size_t count, size_t size);

/*
 * Strict numbers for every command-line parser: the whole text must be the number
 * ("5x", "", " 5" and out-of-range values are refused) and lie in [min, max].
 * On error err says "FLAG: 'TEXT' is not an integer in [min, max]" (or "a number").
 */
int parse_int64(const char *flag, const char *text, long long min, long long max, long long *out, err_buf *err);
/* An integer count, optionally with a k, M or G suffix (x 1e3, 1e6, 1e9): "2.56M" is
 * 2560000; the result must be a whole number in [min, max]. */
int parse_count(const char *flag, const char *text, long long min, long long max, long long *out, err_buf *err);
int parse_double(const char *flag, const char *text, double min, double max, double *out, err_buf *err);

#endif
