/* mpi_util.c: MPI error handling and small collectives (see mpi_util.h). */
#include "mpi_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

_Noreturn static void abort_job(int status)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

void mpi_setup_errors(void)
{
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    fatal_setup("gan_train", mpi_rank(), abort_job);
}

void mpi_fatal(const char *file, int line, const char *call, int rc)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", rc);
    fatal_at(file, line, "%s failed: %s", call, text);
}

int mpi_rank(void)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int mpi_world(void)
{
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    return world;
}

int mpi_agree(int rc)
{
    MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return rc;
}
