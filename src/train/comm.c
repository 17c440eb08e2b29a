/* comm.c: the gradient reductions, flat or hierarchical, exact or compressed (see comm.h). */
#include "comm.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "common.h"
#include "mpi_util.h"
#include "rng.h"

/* ---- where the reductions travel ---------------------------------------------------------- */

/* MPI_Op: inout = bf16(in + inout), the sum taken in fp32, in chunks that the bf16 rounding
 * loop vectorises. */
static void bf16_sum(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const uint16_t *a = in;
    uint16_t *b = inout;
    float s[256];
    for (int i = 0; i < *len; i += 256) {
        const int k = *len - i < 256 ? *len - i : 256;
        for (int j = 0; j < k; j++) s[j] = bf16_to_float(a[i + j]) + bf16_to_float(b[i + j]);
        bf16_from_float(b + i, s, (size_t)k);
    }
}

void comm_init(comm_ctx *c, MPI_Comm world, int hierarchical)
{
    memset(c, 0, sizeof *c);
    c->world = world;
    c->node = c->leaders = MPI_COMM_NULL;
    int rank, node_rank, node_size;
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_rank(world, &rank));
    MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_rank(node, &node_rank));
    MPI_CHECK(MPI_Comm_size(node, &node_size));
    int leader = node_rank == 0;
    MPI_CHECK(MPI_Allreduce(&leader, &c->n_nodes, 1, MPI_INT, MPI_SUM, world));
    MPI_CHECK(MPI_Allreduce(&node_size, &c->max_per_node, 1, MPI_INT, MPI_MAX, world));
    c->hierarchical = hierarchical < 0 ? c->n_nodes > 1 && c->max_per_node > 1 : hierarchical;
    if (c->hierarchical) {
        c->node = node;
        MPI_CHECK(MPI_Comm_split(world, leader ? 0 : MPI_UNDEFINED, rank, &c->leaders));
    } else {
        MPI_CHECK(MPI_Comm_free(&node));
    }
    MPI_CHECK(MPI_Op_create(bf16_sum, 1, &c->bf16_sum));
}

void comm_free(comm_ctx *c)
{
    if (c->node != MPI_COMM_NULL) MPI_Comm_free(&c->node);
    if (c->leaders != MPI_COMM_NULL) MPI_Comm_free(&c->leaders);
    if (c->bf16_sum != MPI_OP_NULL) MPI_Op_free(&c->bf16_sum);
    memset(c, 0, sizeof *c);
}

/* ---- a network's reduction ------------------------------------------------------------------ */

void reducer_init(grad_reducer *g, const mlp *net, int kind, int rank, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->kind = kind, g->rank = rank, g->net = net;
    g->n = net->n_params + MLP_SPARE;
    if (kind == COMPRESS_NONE) return;
    g->error = xcalloc(net->n_params, sizeof(float));
    if (kind == COMPRESS_BF16) {
        g->wire = xmalloc(sizeof(uint16_t) * g->n);
        return;
    }
    /* PowerSGD: a matrix is compressed where R (m + n) < m n; everything else travels exactly. */
    const int rows[2] = {net->in, net->hidden}, cols[2] = {net->hidden, net->out};
    const size_t offset[2] = {0, (size_t)net->in * net->hidden + net->hidden};
    size_t exact_from = 0; /* the slab is w1 | b1 | w2 | b2 | spares: between compressed matrices, runs */
    for (int k = 0; k < 2; k++) {
        if ((long long)rank * (rows[k] + cols[k]) >= (long long)rows[k] * cols[k]) continue;
        const int i = g->n_mats++;
        g->mat_rows[i] = rows[k], g->mat_cols[i] = cols[k], g->mat_offset[i] = offset[k];
        g->n_p += (size_t)rows[k] * rank;
        g->n_q += (size_t)cols[k] * rank;
        if (offset[k] > exact_from)
            g->range_start[g->n_ranges] = exact_from, g->range_len[g->n_ranges++] = offset[k] - exact_from;
        exact_from = offset[k] + (size_t)rows[k] * cols[k];
    }
    g->range_start[g->n_ranges] = exact_from, g->range_len[g->n_ranges++] = g->n - exact_from;
    for (int r = 0; r < g->n_ranges; r++) g->n_exact += g->range_len[r];
    g->q = xmalloc(sizeof(float) * (g->n_q ? g->n_q : 1));
    g->p_msg = xmalloc(sizeof(float) * (g->n_p + g->n_exact));
    g->q_msg = xmalloc(sizeof(float) * (g->n_q ? g->n_q : 1));
    reducer_reset(g, seed);
}

void reducer_free(grad_reducer *g)
{
    free(g->error), free(g->wire), free(g->q), free(g->p_msg), free(g->q_msg);
    memset(g, 0, sizeof *g);
}

void reducer_reset(grad_reducer *g, uint64_t seed)
{
    if (g->error) memset(g->error, 0, sizeof(float) * g->net->n_params);
    if (g->kind != COMPRESS_POWERSGD) return;
    rng_t rng = rng_make(seed, RNG_STREAM_POWERSGD);
    rng_fill_uniform(&rng, g->q, (long)g->n_q);
}

/* ---- a sum in stages ------------------------------------------------------------------------ */

/*
 * A sum is one message (the fp32 slab, or its bf16 copy) or two (PowerSGD's P, then its Q), with
 * local work before, between and after. Each message crosses the ranks in one collective (flat)
 * or three (hierarchical: reduce in the node, allreduce among the leaders, broadcast in the node).
 * Blocking, each collective is the blocking call; otherwise the non-blocking one, and the sum
 * advances whenever reducer_test or reducer_wait finds the collective in flight complete.
 */

typedef struct {
    void *buf;
    size_t count;
    MPI_Datatype type;
    MPI_Op op;
} message;

static message current_message(const grad_reducer *g, const comm_ctx *c)
{
    if (g->kind == COMPRESS_BF16) return (message){g->wire, g->n, MPI_UINT16_T, c->bf16_sum};
    if (g->kind == COMPRESS_POWERSGD)
        return g->msg == 0 ? (message){g->p_msg, g->n_p + g->n_exact, MPI_FLOAT, MPI_SUM}
                           : (message){g->q_msg, g->n_q, MPI_FLOAT, MPI_SUM};
    return (message){g->grads, g->n, MPI_FLOAT, MPI_SUM};
}

/* Collective `g->phase` of the current message: 1 if it is now in flight, 0 if it is done (blocking)
 * or this rank takes no part in it (a non-leader between the node phases). */
static int start_phase(grad_reducer *g, comm_ctx *c)
{
    const message m = current_message(g, c);
    const int n = (int)m.count, nb = !g->blocking;
    if (m.count > INT32_MAX) FATAL("a reduction of %zu elements exceeds MPI's int count", m.count);
    if (!c->hierarchical) {
        if (nb) MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, m.buf, n, m.type, m.op, c->world, &g->req));
        else MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, m.buf, n, m.type, m.op, c->world));
        return nb;
    }
    int node_rank;
    MPI_CHECK(MPI_Comm_rank(c->node, &node_rank));
    void *send = node_rank == 0 ? MPI_IN_PLACE : m.buf, *recv = node_rank == 0 ? m.buf : NULL;
    if (g->phase == 0) {
        if (nb) MPI_CHECK(MPI_Ireduce(send, recv, n, m.type, m.op, 0, c->node, &g->req));
        else MPI_CHECK(MPI_Reduce(send, recv, n, m.type, m.op, 0, c->node));
    } else if (g->phase == 1) {
        if (c->leaders == MPI_COMM_NULL) return 0;
        if (nb) MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, m.buf, n, m.type, m.op, c->leaders, &g->req));
        else MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, m.buf, n, m.type, m.op, c->leaders));
    } else {
        if (nb) MPI_CHECK(MPI_Ibcast(m.buf, n, m.type, 0, c->node, &g->req));
        else MPI_CHECK(MPI_Bcast(m.buf, n, m.type, 0, c->node));
    }
    return nb;
}

/* Gram-Schmidt on the R columns of P (rows x R, row-major), in double; a zero column stays 0. */
static void orthonormalise(float *p, int rows, int R)
{
    for (int j = 0; j < R; j++) {
        for (int l = 0; l < j; l++) {
            double dot = 0;
            for (int i = 0; i < rows; i++) dot += (double)p[i * R + j] * p[i * R + l];
            for (int i = 0; i < rows; i++) p[i * R + j] -= (float)(dot * p[i * R + l]);
        }
        double norm = 0;
        for (int i = 0; i < rows; i++) norm += (double)p[i * R + j] * p[i * R + j];
        const float scale = (float)(1.0 / (sqrt(norm) + 1e-8));
        for (int i = 0; i < rows; i++) p[i * R + j] *= scale;
    }
}

/* PowerSGD, for every compressed matrix M (m x n) of the slab, with this rank's error e:
 *   before:  M += e;  P = M Q (this rank's);  the exact floats after the P's
 *   P summed: the exact floats back;  orthonormalise P;  Q = M^T P (this rank's)
 *   Q summed: the sum is P Q^T;  e = M - P Q^T / world;  Q is kept for the next step */
static void powersgd_before(grad_reducer *g)
{
    float *grads = g->grads;
    size_t pp = 0, qq = 0, x = g->n_p;
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k], R = g->rank;
        float *M = grads + g->mat_offset[k], *e = g->error + g->mat_offset[k];
        for (size_t i = 0; i < (size_t)m * n; i++) M[i] += e[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, R, n, 1.0f, M, n, g->q + qq, R, 0.0f, g->p_msg + pp, R);
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
    for (int r = 0; r < g->n_ranges; x += g->range_len[r++])
        memcpy(g->p_msg + x, grads + g->range_start[r], sizeof(float) * g->range_len[r]);
}

static void powersgd_between(grad_reducer *g)
{
    size_t pp = 0, qq = 0, x = g->n_p;
    for (int r = 0; r < g->n_ranges; x += g->range_len[r++])
        memcpy(g->grads + g->range_start[r], g->p_msg + x, sizeof(float) * g->range_len[r]);
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k], R = g->rank;
        orthonormalise(g->p_msg + pp, m, R);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, R, m, 1.0f, g->grads + g->mat_offset[k], n,
                    g->p_msg + pp, R, 0.0f, g->q_msg + qq, R);
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
}

static void powersgd_after(grad_reducer *g, int world)
{
    memcpy(g->q, g->q_msg, sizeof(float) * g->n_q); /* the warm start */
    size_t pp = 0, qq = 0;
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k], R = g->rank;
        float *M = g->grads + g->mat_offset[k], *e = g->error + g->mat_offset[k];
        memcpy(e, M, sizeof(float) * m * n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, R, 1.0f, g->p_msg + pp, R, g->q + qq, R, 0.0f, M, n);
        for (size_t i = 0; i < (size_t)m * n; i++) e[i] -= M[i] / (float)world;
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
}

/* The local work after the current message is summed. Returns 1 if another message follows. */
static int finish_message(grad_reducer *g, comm_ctx *c)
{
    if (g->kind == COMPRESS_BF16) {
        for (size_t i = 0; i < g->n; i++) g->grads[i] = bf16_to_float(g->wire[i]);
    } else if (g->kind == COMPRESS_POWERSGD && g->msg == 0) {
        powersgd_between(g);
        g->msg = 1;
        return 1;
    } else if (g->kind == COMPRESS_POWERSGD) {
        int world;
        MPI_CHECK(MPI_Comm_size(c->world, &world));
        powersgd_after(g, world);
    }
    return 0;
}

/* Start collectives until one is in flight, or the sum is done (g->busy = 0). */
static void run_phases(grad_reducer *g)
{
    comm_ctx *c = g->comm;
    for (;;) {
        if (g->phase == (c->hierarchical ? 3 : 1)) {
            if (!finish_message(g, c)) {
                g->busy = 0;
                return;
            }
            g->phase = 0;
        }
        if (start_phase(g, c)) return;
        g->phase++;
    }
}

void reducer_start(grad_reducer *g, comm_ctx *c, float *grads, int blocking)
{
    g->comm = c, g->grads = grads, g->blocking = blocking;
    g->msg = 0, g->phase = 0, g->busy = 1;
    if (g->kind == COMPRESS_BF16) { /* send bf16(g + e), keep e = (g + e) - bf16(g + e) */
        const size_t np = g->net->n_params;
        for (size_t i = 0; i < np; i++) grads[i] += g->error[i];
        bf16_from_float(g->wire, grads, g->n);
        for (size_t i = 0; i < np; i++) g->error[i] = grads[i] - bf16_to_float(g->wire[i]);
    } else if (g->kind == COMPRESS_POWERSGD) {
        powersgd_before(g);
    }
    run_phases(g);
}

int reducer_test(grad_reducer *g)
{
    int done = 0;
    if (!g->busy) return 1;
    MPI_CHECK(MPI_Test(&g->req, &done, MPI_STATUS_IGNORE));
    if (done) g->phase++, run_phases(g);
    return !g->busy;
}

void reducer_wait(grad_reducer *g)
{
    while (g->busy) {
        MPI_CHECK(MPI_Wait(&g->req, MPI_STATUS_IGNORE));
        g->phase++;
        run_phases(g);
    }
}

void reducer_sum(grad_reducer *g, comm_ctx *c, float *grads)
{
    reducer_start(g, c, grads, 1);
}

double reducer_bytes(const grad_reducer *g)
{
    if (g->kind == COMPRESS_BF16) return 2.0 * g->n;
    if (g->kind == COMPRESS_POWERSGD) return 4.0 * (g->n_p + g->n_exact + g->n_q);
    return 4.0 * g->n;
}

/* ---- checkpointed state ---------------------------------------------------------------------- */

size_t reducer_rank_state(const grad_reducer *g) { return g->error ? g->net->n_params : 0; }
size_t reducer_shared_state(const grad_reducer *g) { return g->kind == COMPRESS_POWERSGD ? g->n_q : 0; }

void reducer_save(const grad_reducer *g, float *rank_state, float *shared_state)
{
    if (g->error) memcpy(rank_state, g->error, sizeof(float) * reducer_rank_state(g));
    if (reducer_shared_state(g)) memcpy(shared_state, g->q, sizeof(float) * g->n_q);
}

void reducer_load(grad_reducer *g, const float *rank_state, const float *shared_state)
{
    if (g->error) memcpy(g->error, rank_state, sizeof(float) * reducer_rank_state(g));
    if (reducer_shared_state(g)) memcpy(g->q, shared_state, sizeof(float) * g->n_q);
}
