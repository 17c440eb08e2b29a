/*
 * mpi_util.h: the few MPI helpers the trainer and the run layer share.
 *
 * Only src/train and src/programs/gan_train.c include MPI: the core, I/O and scoring
 * code and the serial tools never do.
 */
#ifndef GAN_MPI_UTIL_H
#define GAN_MPI_UTIL_H

#include <mpi.h>

#include "watchdog.h"

#define MPI_STR_(x) #x
#define MPI_STR(x) MPI_STR_(x)
/* Check an MPI call: on failure print MPI's error string and abort the job. The call is
 * recorded for the collective watchdog (watchdog.h) as "CALL(ARGS) @FILE:LINE" while it runs. */
#define MPI_CHECK(call)                                                            \
    do {                                                                           \
        watch_enter(#call " @" __FILE__ ":" MPI_STR(__LINE__));                    \
        int mpi_rc_ = (call);                                                      \
        watch_leave();                                                             \
        if (mpi_rc_ != MPI_SUCCESS) mpi_fatal(__FILE__, __LINE__, #call, mpi_rc_); \
    } while (0)
_Noreturn void mpi_fatal(const char *file, int line, const char *call, int rc);

/* After MPI_Init: errors are returned (MPI_CHECK reports them), and FATAL anywhere
 * in the program ends the whole job with MPI_Abort instead of leaving ranks waiting. */
void mpi_setup_errors(void);

int mpi_rank(void);  /* in MPI_COMM_WORLD */
int mpi_world(void);

/* Rank 0's outcome of a fallible step, shared with every rank (one MPI_Bcast). */
int mpi_agree(int rc);

#endif
