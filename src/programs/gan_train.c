/*
 * gan_train.c: the data-parallel GAN trainer's program. Everything it does is in
 * the run layer (run.h): open, train, close.
 */
#include <mpi.h>

#include "blas.h"
#include "launch.h"
#include "run.h"

int main(int argc, char **argv)
{
    blas_ensure_fast_kernels(argv); /* may re-execute this program: before MPI starts */
    launch_prefer_ring_iallreduce();
    MPI_Init(&argc, &argv);
    run r;
    int status = run_open(&r, argc, argv);
    if (status == RUN_READY) status = run_train(&r);
    return run_close(&r, status);
}
