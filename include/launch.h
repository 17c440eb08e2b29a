/*
 * launch.h: facts of how the job was launched, checked and reported at start, and the
 * signals that ask it to stop (SIGTERM, SIGINT, SIGUSR1: checkpoint at the next step
 * boundary, agreed by all ranks, exit 75).
 */
#ifndef GAN_LAUNCH_H
#define GAN_LAUNCH_H

#include <stddef.h>

#include "common.h"

/* The "singleton" trap: the launcher started several tasks but MPI reports a world of
 * one (srun without a matching --mpi plugin): each would train alone. -1 with a message. */
int launch_check_not_singleton(int world, err_buf *err);

/* Collective: " on M hosts: a (4), b (4)" (ranks per host) into rank 0's out. */
void launch_describe_hosts(char *out, size_t len, int world);

/* Before MPI_Init: ask Open MPI's non-blocking collectives (libnbc) for the ring algorithm in
 * MPI_Iallreduce, unless the user chose one (OMPI_MCA_coll_libnbc_iallreduce_algorithm). Open MPI
 * 4.1 otherwise takes a binomial tree for every in-place sum, which sends the whole gradient
 * through one rank's link: --overlap on measured slower than blocking with it, and faster with the
 * ring (docs/performance.md). Only --overlap on makes non-blocking sums. */
void launch_prefer_ring_iallreduce(void);

/* Install the stop handlers; launch_stop_requested() is then 1 once a signal came. */
void launch_install_stop_signals(void);
int launch_stop_requested(void);

#endif
