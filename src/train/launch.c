/* launch.c: how the job was started, and how it is asked to stop (see launch.h). */
#include "launch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_util.h"

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : 0;
}

/*
 * The "singleton" trap: a launcher started several tasks, but each one's MPI
 * came up alone (e.g. `srun` without a working --mpi plugin). Each would train
 * on its own and write the same files.
 */
int launch_check_not_singleton(int world, err_buf *err)
{
    if (world != 1) return 0;
    long slurm_tasks = getenv("SLURM_STEP_ID") ? (getenv("SLURM_STEP_NUM_TASKS") ? env_long("SLURM_STEP_NUM_TASKS")
                                                                                    : env_long("SLURM_NTASKS"))
                                               : 0;
    long mpi_tasks = env_long("OMPI_COMM_WORLD_SIZE") > 1 ? env_long("OMPI_COMM_WORLD_SIZE") : env_long("PMI_SIZE");
    long tasks = slurm_tasks > mpi_tasks ? slurm_tasks : mpi_tasks;
    if (tasks > 1)
        return err_set(err, "the launcher started %ld tasks but MPI reports a world of 1 rank: each "
                            "would train alone. Launch with `srun --mpi=pmix` (see `srun --mpi=list`) "
                            "or `mpirun`, using the MPI that gan_train was built with", tasks);
    return 0;
}

/* Collective: "N ranks on M hosts: a (4), b (4)" for the start-up log (rank 0's copy). */
void launch_describe_hosts(char *out, size_t len, int world)
{
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int name_len = 0;
    MPI_CHECK(MPI_Get_processor_name(name, &name_len));
    char *all = mpi_rank() == 0 ? xcalloc((size_t)world, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_CHECK(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
                         MPI_COMM_WORLD));
    if (!all) return;
    /* Count ranks per host, hosts in order of first appearance. */
    int hosts = 0;
    size_t n = 0;
    out[0] = '\0';
    for (int r = 0; r < world; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0, count = 0;
        for (int q = 0; q < r && !seen; q++) seen = strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME) == 0;
        if (seen) continue;
        for (int q = r; q < world; q++) count += strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME) == 0;
        if (n < len) n += (size_t)snprintf(out + n, len - n, "%s%s (%d)", hosts ? ", " : "", h, count);
        hosts++;
    }
    char summary[64];
    snprintf(summary, sizeof summary, " on %d host%s: ", hosts, hosts > 1 ? "s" : "");
    if (strlen(summary) + strlen(out) < len) {
        memmove(out + strlen(summary), out, strlen(out) + 1);
        memcpy(out, summary, strlen(summary));
    }
    free(all);
}

/* ---- preemption ---------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig; /* acted on at the next step boundary, agreed by all ranks */
}

void launch_install_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* a signal must not fail a write() in the middle of a checkpoint */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int launch_stop_requested(void)
{
    return stop_signal != 0;
}

void launch_prefer_ring_iallreduce(void)
{
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0); /* 1: ring; 0 overwrite: the user's wins */
}
