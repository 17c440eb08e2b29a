/* resume.c: continuing a run from a checkpoint (see trainer_resume in train.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "train.h"

int trainer_resume(trainer *t, const char *path, long long seed, int n_images, int *saved_world, err_buf *err)
{
    checkpoint_info info;
    int rc = 0;
    if (t->rank == 0) rc = checkpoint_read(path, &t->model, &info, err);
    if (mpi_agree(rc)) return -1;
    mlp *nets[2] = {&t->model.g, &t->model.d};
    for (int k = 0; k < 2; k++) {
        MPI_CHECK(MPI_Bcast(nets[k]->params, (int)nets[k]->n_params, MPI_FLOAT, 0, t->comm));
        MPI_CHECK(MPI_Bcast(nets[k]->m, (int)nets[k]->n_params, MPI_FLOAT, 0, t->comm));
        MPI_CHECK(MPI_Bcast(nets[k]->v, (int)nets[k]->n_params, MPI_FLOAT, 0, t->comm));
        MPI_CHECK(MPI_Bcast(&nets[k]->adam_t, 1, MPI_LONG_LONG, 0, t->comm));
    }
    /* The moving average (rank 0's alone) continues if the checkpoint has one, else restarts
     * from G. */
    if (t->ema) memcpy(t->ema, info.ema ? info.ema : nets[0]->params, sizeof(float) * nets[0]->n_params);
    long long facts[4] = {info.step, info.world_size, info.n_images, info.seed};
    MPI_CHECK(MPI_Bcast(facts, 4, MPI_LONG_LONG, 0, t->comm));
    t->step = facts[0];
    *saved_world = (int)facts[1];
    int exact = facts[1] == t->world && facts[2] == n_images && facts[3] == seed, comm_restored = 0;
    if (exact) {
        comm_restored = trainer_scatter_state(t, t->rank == 0 ? &info.state : NULL);
    } else {
        trainer_rederive_streams(t, (uint64_t)seed);
        trainer_fold_stats(t, t->rank == 0 ? &info.state : NULL);
    }
    if (t->rank == 0) {
        if (exact)
            printf("resume: %s at step %lld: networks, Adam state, random streams and data order restored\n", path,
                   t->step);
        else
            printf("resume: %s at step %lld was written by %lld rank%s (seed %lld, %lld images), this run has %d "
                   "(seed %lld, %d images): networks and Adam state restored, data shards and random streams "
                   "re-derived\n", path, t->step, facts[1], facts[1] == 1 ? "" : "s", facts[3], facts[2], t->world,
                   seed, n_images);
        const int compressed = reducer_rank_state(&t->reduce_d) + reducer_shared_state(&t->reduce_d) > 0;
        if ((compressed || info.state.n_comm_rank || info.state.n_comm_shared) && !comm_restored)
            printf("resume: --compress state (error feedback%s) starts afresh: the checkpoint holds %s\n",
                   t->reduce_d.kind == COMPRESS_POWERSGD ? ", PowerSGD's Q" : "",
                   !exact ? "another rank count or data split" : "the state of another --compress form, or none");
        run_state_free(&info.state);
        free(info.ema);
    }
    return 0;
}
