/*
 * common.h: error handling shared by every part of gan_train.
 *
 * Two kinds of failure (see README "Errors"):
 *  - recoverable ones (bad flag, bad dataset, unwritable output) are returned
 *    up to main as -1 with a one-line message in an err_buf; main prints it once,
 *    from rank 0, and every rank exits with the same status;
 *  - fatal ones (out of memory, an MPI call failing, a broken invariant) go through
 *    FATAL / MPI_CHECK, which name rank, file and line and MPI_Abort the whole job
 *    so no rank is left waiting in a collective.
 */
#ifndef GAN_COMMON_H
#define GAN_COMMON_H

#include <stddef.h>

/* Exit statuses of gan_train, documented in README.md. */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* dataset, I/O or checkpoint error */
    EXIT_USAGE = 2,   /* bad command line */
    EXIT_PREEMPTED = 75 /* stopped by SIGTERM/SIGINT/SIGUSR1 after a checkpoint (EX_TEMPFAIL): resume */
};

#define ERR_LEN 1024

/* A message for the user, filled by the function that failed. */
typedef struct {
    char msg[ERR_LEN];
} err_buf;

/* printf into e->msg; always returns -1 so callers can `return err_set(...)`. */
int err_set(err_buf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "gan_train: rank R: MSG (FILE:LINE)" to stderr and MPI_Abort. */
_Noreturn void fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define FATAL(...) fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* Check an MPI call: on failure print MPI's error string and abort the job. */
#define MPI_CHECK(call)                                                   \
    do {                                                                  \
        int mpi_rc_ = (call);                                             \
        if (mpi_rc_ != MPI_SUCCESS) mpi_fatal(__FILE__, __LINE__, #call, mpi_rc_); \
    } while (0)
_Noreturn void mpi_fatal(const char *file, int line, const char *call, int rc);

/* malloc/calloc that abort the job with a message instead of returning NULL. */
void *xmalloc(size_t bytes);
void *xcalloc(size_t count, size_t size);

#endif
