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

/* In-place sum over every rank: one MPI_Allreduce, or (hierarchical) a reduce to each node's
 * first rank over shared memory, an allreduce among those, and a broadcast back in the node, so
 * only one rank per node puts the payload on the network. Every rank ends with the same bytes. */
static void allreduce(comm_ctx *c, void *buf, size_t count, MPI_Datatype type, MPI_Op op)
{
    int size;
    if (count > INT32_MAX) FATAL("a reduction of %zu elements exceeds MPI's int count", count);
    MPI_CHECK(MPI_Type_size(type, &size));
    c->wire_bytes += (double)count * size;
    if (!c->hierarchical) {
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, type, op, c->world));
        return;
    }
    int node_rank;
    MPI_CHECK(MPI_Comm_rank(c->node, &node_rank));
    if (node_rank == 0) MPI_CHECK(MPI_Reduce(MPI_IN_PLACE, buf, (int)count, type, op, 0, c->node));
    else MPI_CHECK(MPI_Reduce(buf, NULL, (int)count, type, op, 0, c->node));
    if (c->leaders != MPI_COMM_NULL) MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, type, op, c->leaders));
    MPI_CHECK(MPI_Bcast(buf, (int)count, type, 0, c->node));
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
    g->exact = xmalloc(g->n);
    memset(g->exact, 1, g->n);
    for (int k = 0; k < 2; k++) {
        if ((long long)rank * (rows[k] + cols[k]) >= (long long)rows[k] * cols[k]) continue;
        const int i = g->n_mats++;
        g->mat_rows[i] = rows[k], g->mat_cols[i] = cols[k], g->mat_offset[i] = offset[k];
        memset(g->exact + offset[k], 0, (size_t)rows[k] * cols[k]);
        g->n_p += (size_t)rows[k] * rank;
        g->n_q += (size_t)cols[k] * rank;
    }
    for (size_t i = 0; i < g->n; i++) g->n_exact += g->exact[i];
    g->q = xmalloc(sizeof(float) * (g->n_q ? g->n_q : 1));
    g->p_msg = xmalloc(sizeof(float) * (g->n_p + g->n_exact));
    g->q_msg = xmalloc(sizeof(float) * (g->n_q ? g->n_q : 1));
    reducer_reset(g, seed);
}

void reducer_free(grad_reducer *g)
{
    free(g->error), free(g->wire), free(g->q), free(g->p_msg), free(g->q_msg), free(g->exact);
    memset(g, 0, sizeof *g);
}

void reducer_reset(grad_reducer *g, uint64_t seed)
{
    if (g->error) memset(g->error, 0, sizeof(float) * g->net->n_params);
    if (g->kind != COMPRESS_POWERSGD) return;
    rng_t rng = rng_make(seed, RNG_STREAM_POWERSGD);
    rng_fill_uniform(&rng, g->q, (long)g->n_q);
}

/* bf16 with error feedback: send bf16(g + e), keep e = (g + e) - bf16(g + e). */
static void sum_bf16(grad_reducer *g, comm_ctx *c, float *grads)
{
    const size_t np = g->net->n_params;
    for (size_t i = 0; i < np; i++) grads[i] += g->error[i];
    bf16_from_float(g->wire, grads, g->n);
    for (size_t i = 0; i < np; i++) g->error[i] = grads[i] - bf16_to_float(g->wire[i]);
    allreduce(c, g->wire, g->n, MPI_UINT16_T, c->bf16_sum);
    for (size_t i = 0; i < g->n; i++) grads[i] = bf16_to_float(g->wire[i]);
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
 *   M += e;  P = sum over ranks of M Q;  orthonormalise P;  Q = sum over ranks of M^T P;
 *   the sum is P Q^T;  e = M - P Q^T / world;  Q is kept for the next step.
 * The exact floats ride in P's message. */
static void sum_powersgd(grad_reducer *g, comm_ctx *c, float *grads)
{
    const int R = g->rank;
    int world;
    MPI_CHECK(MPI_Comm_size(c->world, &world));
    size_t pp = 0, qq = 0, x = g->n_p;
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k];
        float *M = grads + g->mat_offset[k], *e = g->error + g->mat_offset[k];
        for (size_t i = 0; i < (size_t)m * n; i++) M[i] += e[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, R, n, 1.0f, M, n, g->q + qq, R, 0.0f, g->p_msg + pp, R);
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
    for (size_t i = 0; i < g->n; i++)
        if (g->exact[i]) g->p_msg[x++] = grads[i];
    allreduce(c, g->p_msg, g->n_p + g->n_exact, MPI_FLOAT, MPI_SUM);
    x = g->n_p;
    for (size_t i = 0; i < g->n; i++)
        if (g->exact[i]) grads[i] = g->p_msg[x++];
    pp = qq = 0;
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k];
        orthonormalise(g->p_msg + pp, m, R);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, R, m, 1.0f, grads + g->mat_offset[k], n,
                    g->p_msg + pp, R, 0.0f, g->q_msg + qq, R);
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
    allreduce(c, g->q_msg, g->n_q, MPI_FLOAT, MPI_SUM);
    memcpy(g->q, g->q_msg, sizeof(float) * g->n_q); /* the warm start */
    pp = qq = 0;
    for (int k = 0; k < g->n_mats; k++) {
        const int m = g->mat_rows[k], n = g->mat_cols[k];
        float *M = grads + g->mat_offset[k], *e = g->error + g->mat_offset[k];
        memcpy(e, M, sizeof(float) * m * n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, R, 1.0f, g->p_msg + pp, R, g->q + qq, R, 0.0f, M, n);
        for (size_t i = 0; i < (size_t)m * n; i++) e[i] -= M[i] / (float)world;
        pp += (size_t)m * R, qq += (size_t)n * R;
    }
}

void reducer_sum(grad_reducer *g, comm_ctx *c, float *grads)
{
    if (g->kind == COMPRESS_BF16) sum_bf16(g, c, grads);
    else if (g->kind == COMPRESS_POWERSGD) sum_powersgd(g, c, grads);
    else allreduce(c, grads, g->n, MPI_FLOAT, MPI_SUM);
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
