/*
 * comm.h: how a network's gradients cross the ranks, and what that costs.
 *
 * A trainer sums each network's gradient slab over the ranks once per step (train.h). This
 * module owns that sum: where it travels (flat, or within each node over shared memory first
 * and then between one leader per node: --hierarchical) and in what form (--compress):
 *
 *   none      the fp32 slab, summed exactly by MPI_SUM (the reference)
 *   bf16      every float rounded to bfloat16 on the wire and summed in fp32 at each hop, with
 *             error feedback: each rank adds what rounding lost to its next step's gradient
 *   powersgd  each weight matrix M (m x n) of rank R: P = M Q summed and orthonormalised,
 *             Q = M^T P summed, and the sum taken as P Q^T (Vogels et al. 2019, as in PyTorch's
 *             DDP hook): R (m + n) floats instead of m n, in two reductions, with error feedback
 *             and Q warm-started from the last step. Biases, matrices too small to gain and the
 *             slab's spare floats travel exactly, with P.
 *
 * Every rank ends with the same sums (the same bytes), so the ranks' parameters stay identical.
 * The error feedback is per rank and Q is shared: both are part of a checkpoint (comm_state).
 */
#ifndef GAN_COMM_H
#define GAN_COMM_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mlp.h"

/* Where the reductions travel. */
typedef struct {
    MPI_Comm world;     /* every rank (not owned) */
    MPI_Comm node;      /* the ranks of this node, hierarchical only; else MPI_COMM_NULL (owned) */
    MPI_Comm leaders;   /* node rank 0 of every node, hierarchical only; else MPI_COMM_NULL (owned) */
    int hierarchical;   /* 1: reduce in the node, sum across the leaders, broadcast in the node */
    int n_nodes, max_per_node;
    MPI_Op bf16_sum;    /* a sum of bfloat16 values in fp32 */
} comm_ctx;

/* Collective over world. hierarchical: 1, 0, or -1 for "when a node holds several ranks and there
 * are several nodes". */
void comm_init(comm_ctx *c, MPI_Comm world, int hierarchical);
void comm_free(comm_ctx *c);

/* One network's gradient reduction and its state. */
typedef struct {
    int kind, rank;          /* enum compress (config.h), PowerSGD's R */
    const mlp *net;
    size_t n;                /* floats reduced: the network's n_params and the spare floats */
    float *error;            /* (n_params) this rank's error feedback, owned; NULL with none */
    uint16_t *wire;          /* bf16: (n) the slab as bfloat16, owned */
    int n_mats;              /* powersgd: the compressed matrices (w1, w2 where it gains) */
    size_t mat_offset[2];    /* each one's offset in the slab */
    int mat_rows[2], mat_cols[2];
    float *q;                /* powersgd: (sum of cols x R) the warm-started Q's, owned; shared by all ranks */
    size_t n_q, n_p, n_exact; /* floats of the Q message, of the P's, of the exact part */
    float *p_msg;            /* powersgd: (n_p + n_exact) P's then the exact floats, owned */
    float *q_msg;            /* powersgd: (n_q) this rank's Q contributions, owned */
    int n_ranges;            /* powersgd: the runs of the slab that travel exactly (biases, small */
    size_t range_start[4], range_len[4]; /* matrices, the spare floats): at most 4 in a 2-layer slab */
    /* the sum in progress (reducer_start) */
    comm_ctx *comm;
    float *grads;
    int blocking, busy;      /* busy: a collective is in flight */
    int msg, phase;          /* which message (PowerSGD's P or Q), which of its collectives */
    MPI_Request req;
} grad_reducer;

/* Set up net's reduction of the given kind (R: PowerSGD's rank). Q starts from `seed`, the same
 * on every rank. No communication. */
void reducer_init(grad_reducer *g, const mlp *net, int kind, int rank, uint64_t seed);
void reducer_free(grad_reducer *g);

/* Collective: grads (n floats: the gradient slab and its spares) becomes its sum over the ranks
 * (exact with none; approximate with compression, the spares always exact). Blocking MPI calls
 * only: the reference path (--overlap off). */
void reducer_sum(grad_reducer *g, comm_ctx *c, float *grads);

/* The same sum with non-blocking collectives: start it, let it progress while the caller
 * computes (reducer_test, cheap: returns 1 once the sum is done), and finish it (reducer_wait).
 * grads must not be touched in between. Every rank must start the same sums in the same order. */
void reducer_start(grad_reducer *g, comm_ctx *c, float *grads, int blocking);
int reducer_test(grad_reducer *g);
void reducer_wait(grad_reducer *g);

/* After a step whose update was dropped (a non-finite sum): forget the error feedback and start Q
 * afresh from seed, so that one bad step does not poison the ones after it. */
void reducer_reset(grad_reducer *g, uint64_t seed);

/* The per-rank and the shared state a checkpoint keeps: sizes in floats, then copies out and in.
 * Both are 0 with none. */
size_t reducer_rank_state(const grad_reducer *g);
size_t reducer_shared_state(const grad_reducer *g);
void reducer_save(const grad_reducer *g, float *rank_state, float *shared_state);
void reducer_load(grad_reducer *g, const float *rank_state, const float *shared_state);

/* Bytes one rank hands to the reductions per step for this network (the payload, before MPI's
 * own algorithm multiplies it). */
double reducer_bytes(const grad_reducer *g);

#endif
