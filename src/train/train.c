/* train.c: sharding, minibatches and the distributed training step (see train.h). */
#include "train.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Take rank's block of a seeded permutation of all n_total images (n_total >= world,
 * checked by the caller). `all` is (n_total, X) and is copied. */
static void shard_init(data_shard *s, const uint8_t *all, int n_total, int X, uint64_t seed, int rank,
                       int world)
{
    memset(s, 0, sizeof *s);
    /* Every rank computes the same global permutation and keeps its block. */
    int *perm = xmalloc(sizeof(int) * (size_t)n_total);
    for (int i = 0; i < n_total; i++) perm[i] = i;
    rng_t split = rng_make(seed, RNG_STREAM_SHARD);
    rng_shuffle(&split, perm, n_total);
    int begin = (int)((long long)n_total * rank / world), end = (int)((long long)n_total * (rank + 1) / world);
    s->n = end - begin;
    s->X = X;
    s->pixels = xmalloc((size_t)s->n * X);
    for (int i = 0; i < s->n; i++) memcpy(s->pixels + (size_t)i * X, all + (size_t)perm[begin + i] * X, (size_t)X);
    free(perm);

    s->order = xmalloc(sizeof(int) * (size_t)s->n);
    for (int i = 0; i < s->n; i++) s->order[i] = i;
    s->rng = rng_make(seed, RNG_STREAM_DATA + (uint64_t)rank);
    rng_shuffle(&s->rng, s->order, s->n);
}

static void shard_free(data_shard *s)
{
    free(s->pixels);
    free(s->order);
    memset(s, 0, sizeof *s);
}

void shard_next_batch(data_shard *s, float *rows, int B)
{
    for (int b = 0; b < B; b++) {
        if (s->cursor == s->n) { /* epoch done: reshuffle and start over */
            rng_shuffle(&s->rng, s->order, s->n);
            s->cursor = 0;
            s->epoch++;
        }
        const uint8_t *img = s->pixels + (size_t)s->order[s->cursor++] * s->X;
        float *row = rows + (size_t)b * s->X;
        for (int i = 0; i < s->X; i++) row[i] = (float)img[i] * (2.0f / 255.0f) - 1.0f;
    }
}

void allreduce_sum(float *buf, size_t n, MPI_Comm comm)
{
    if (n > INT_MAX) FATAL("gradient slab of %zu floats exceeds MPI's int count", n);
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, comm));
}

void trainer_init(trainer *t, const gan_hparams *hp, int batch, const uint8_t *all_images,
                  int n_images, uint64_t seed, MPI_Comm comm)
{
    memset(t, 0, sizeof *t);
    t->comm = comm;
    t->lr_factor = 1.0;
    MPI_CHECK(MPI_Comm_rank(comm, &t->rank));
    MPI_CHECK(MPI_Comm_size(comm, &t->world));
    gan_init(&t->model, hp, batch);
    if (t->rank == 0) {
        rng_t init = rng_make(seed, RNG_STREAM_INIT);
        gan_init_weights(&t->model, &init);
    }
    MPI_CHECK(MPI_Bcast(t->model.g.params, (int)t->model.g.n_params, MPI_FLOAT, 0, comm));
    MPI_CHECK(MPI_Bcast(t->model.d.params, (int)t->model.d.n_params, MPI_FLOAT, 0, comm));
    shard_init(&t->shard, all_images, n_images, hp->image_size, seed, t->rank, t->world);
    t->rng = rng_make(seed, RNG_STREAM_NOISE + (uint64_t)t->rank);
    t->seed = seed;
    comm_init(&t->grad_comm, comm, 0);
    reducer_init(&t->reduce_d, &t->model.d, COMPRESS_NONE, 0, seed);
    reducer_init(&t->reduce_g, &t->model.g, COMPRESS_NONE, 0, seed);
}

/* PowerSGD's first Q of each network: its own stream of the seed. */
static uint64_t reducer_seed(const trainer *t, const grad_reducer *g)
{
    return g == &t->reduce_d ? t->seed : t->seed ^ 0x9e3779b97f4a7c15ULL;
}

void trainer_set_comm(trainer *t, int compress, int rank, int hierarchical, int overlap)
{
    t->overlap = overlap;
    free(t->d_half);
    t->d_half = overlap ? xmalloc(sizeof(float) * t->model.d.n_params) : NULL;
    comm_free(&t->grad_comm);
    reducer_free(&t->reduce_d);
    reducer_free(&t->reduce_g);
    comm_init(&t->grad_comm, t->comm, hierarchical);
    reducer_init(&t->reduce_d, &t->model.d, compress, rank, reducer_seed(t, &t->reduce_d));
    reducer_init(&t->reduce_g, &t->model.g, compress, rank, reducer_seed(t, &t->reduce_g));
}

void trainer_enable_ema(trainer *t, float decay)
{
    t->ema_decay = decay;
    if (t->rank != 0) return; /* only rank 0 scores and writes it: the others would update it for nothing */
    t->ema = xmalloc(sizeof(float) * t->model.g.n_params);
    memcpy(t->ema, t->model.g.params, sizeof(float) * t->model.g.n_params);
}

void trainer_free(trainer *t)
{
    trainer_flush(t); /* no sum left in flight */
    free(t->ema);
    free(t->d_half);
    reducer_free(&t->reduce_d);
    reducer_free(&t->reduce_g);
    comm_free(&t->grad_comm);
    gan_free(&t->model);
    shard_free(&t->shard);
}

/* Add the time since *mark to phase, and move the mark. */
static inline void lap(trainer *t, int phase, double *mark)
{
    double now = MPI_Wtime();
    t->phase_seconds[phase] += now - *mark;
    *mark = now;
}

/* Sum a gradient slab over the ranks (see probe_wait in train.h). */
static void sync_gradients(trainer *t, grad_reducer *g, float *grads, double *mark)
{
    if (t->probe_wait) {
        MPI_CHECK(MPI_Barrier(t->comm));
        lap(t, PHASE_WAIT, mark);
    }
    reducer_sum(g, &t->grad_comm, grads);
    lap(t, PHASE_ALLREDUCE, mark);
}

/* Spare floats after each gradient slab (mlp.h): what rides along in its allreduce. */
enum { SPARE_STOP, SPARE_NONFINITE_LOSS };

/* 1 if no float of x[0..n) is a NaN or an infinity (exponent bits all ones), in one pass
 * that the compiler vectorises. */
static int all_finite(const float *x, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* After a gradient sum: 1 if some rank's loss or the summed gradients of step `step` are
 * non-finite; the same answer on every rank. Describes it in t->nonfinite_what. */
static int step_nonfinite(trainer *t, const mlp *net, grad_reducer *g, const char *name, long long step)
{
    const float losses = net->grads[net->n_params + SPARE_NONFINITE_LOSS];
    if (losses > 0.0f)
        snprintf(t->nonfinite_what, sizeof t->nonfinite_what, "%s's loss on %.0f of %d rank%s", name,
                 (double)losses, t->world, t->world > 1 ? "s" : "");
    else if (!all_finite(net->grads, net->n_params))
        snprintf(t->nonfinite_what, sizeof t->nonfinite_what, "%s's gradient (summed over the ranks)", name);
    else
        return 0;
    t->skipped = 1;
    t->skipped_at = step;
    t->diverged = t->on_nonfinite == NONFINITE_STOP;
    reducer_reset(g, reducer_seed(t, g)); /* no NaN carried into the next steps' error feedback */
    return 1;
}

static void add_stats(trainer *t, const gan_stats *st)
{
    t->sum.d_loss += st->d_loss;
    t->sum.g_loss += st->g_loss;
    t->sum.d_real += st->d_real;
    t->sum.d_fake += st->d_fake;
    t->sum_steps++;
}

/* G's Adam step and moving average, once its summed gradient was found finite. */
static void update_g(trainer *t, const adam_config *adam)
{
    mlp *g = &t->model.g;
    mlp_adam_step(g, adam, 1.0f / (float)t->world); /* Adam scales the sums into means */
    if (!t->ema) return;
    const float d = t->ema_decay, one_minus_d = 1.0f - d;
    for (size_t i = 0; i < g->n_params; i++) t->ema[i] = d * t->ema[i] + one_minus_d * g->params[i];
}

/* D's sum (the stop flag and the loss's verdict ride in its spare floats), verdict and update.
 * Returns 0 if D's update was dropped. */
static int sum_and_update_d(trainer *t, const gan_stats *st, const adam_config *adam, double *mark)
{
    mlp *d = &t->model.d;
    float *spare = d->grads + d->n_params;
    spare[SPARE_STOP] = t->stop_requested ? 1.0f : 0.0f;
    spare[SPARE_NONFINITE_LOSS] = isfinite(st->d_loss) ? 0.0f : 1.0f;
    sync_gradients(t, &t->reduce_d, d->grads, mark);
    t->stopping = spare[SPARE_STOP] > 0.0f;
    const int dropped = step_nonfinite(t, d, &t->reduce_d, "D", t->step + 1);
    if (!dropped) mlp_adam_step(d, adam, 1.0f / (float)t->world);
    lap(t, PHASE_ADAM, mark);
    return !dropped;
}

/* The G step's gradient, reusing G's forward pass from the D step: D (just updated) forward on
 * the fake rows, then back through D to its input and through G. */
static void g_gradients(trainer *t, gan_stats *st, double *mark)
{
    gan *m = &t->model;
    gan_discriminator_forward_fake(m);
    lap(t, PHASE_FORWARD, mark);
    gan_generator_backward(m, st);
    lap(t, PHASE_BACKWARD, mark);
    float *spare = m->g.grads + m->g.n_params;
    spare[SPARE_STOP] = 0.0f;
    spare[SPARE_NONFINITE_LOSS] = isfinite(st->g_loss) ? 0.0f : 1.0f;
}

/* --overlap off: the step as written, every sum blocking. */
static void step_blocking(trainer *t, const adam_config *adam, double *mark)
{
    gan *m = &t->model;
    gan_stats st;
    gan_generator_forward(m, &t->rng);
    gan_augment(m, &t->rng); /* no-op without --augment: the stream is then unchanged */
    gan_discriminator_forward(m);
    lap(t, PHASE_FORWARD, mark);
    gan_discriminator_backward(m, &st);
    lap(t, PHASE_BACKWARD, mark);
    if (!sum_and_update_d(t, &st, adam, mark)) return; /* G's step is not run when D's was dropped */
    g_gradients(t, &st, mark);
    sync_gradients(t, &t->reduce_g, m->g.grads, mark);
    if (!step_nonfinite(t, &m->g, &t->reduce_g, "G", t->step + 1)) update_g(t, adam);
    lap(t, PHASE_ADAM, mark);
    if (!t->skipped) add_stats(t, &st);
}

/* Let G's sum in flight progress (between the products of the real half). */
static void progress_g(void *arg)
{
    trainer *t = arg;
    if (t->g_pending) reducer_test(&t->reduce_g);
}

static void no_progress(void *arg) { (void)arg; }

/* --overlap on: finish G's sum of the step before (its verdict, update and losses). */
static void finish_g(trainer *t, double *mark)
{
    if (!t->g_pending) return;
    reducer_wait(&t->reduce_g);
    lap(t, PHASE_ALLREDUCE, mark);
    t->g_pending = 0;
    if (step_nonfinite(t, &t->model.g, &t->reduce_g, "G", t->step)) return;
    update_g(t, &t->g_adam);
    add_stats(t, &t->g_stats);
    lap(t, PHASE_ADAM, mark);
}

/* --overlap on: D's pass over the real half needs only D, already updated, so it runs while G's
 * sum of the step before is in flight; then G's update lands, and the step goes on as written,
 * G's sum left in flight. Returns 0 if G's late verdict stopped the run before this step. */
static int step_overlapped(trainer *t, const adam_config *adam, double *mark)
{
    gan *m = &t->model;
    gan_stats st;
    gan_draw(m, &t->rng); /* the blocking step's draws, in its order */
    gan_discriminator_half(m, 0, m->d.grads, progress_g, t);
    lap(t, PHASE_BACKWARD, mark);
    finish_g(t, mark);
    if (t->diverged) return 0;
    gan_generator_forward_fixed(m);
    gan_discriminator_half(m, 1, t->d_half, no_progress, NULL);
    for (size_t i = 0; i < m->d.n_params; i++) m->d.grads[i] += t->d_half[i];
    gan_discriminator_stats(m, &st);
    lap(t, PHASE_BACKWARD, mark);
    if (!sum_and_update_d(t, &st, adam, mark)) return 1;
    g_gradients(t, &st, mark);
    reducer_start(&t->reduce_g, &t->grad_comm, m->g.grads, 0);
    lap(t, PHASE_ALLREDUCE, mark);
    t->g_pending = 1, t->g_adam = *adam, t->g_stats = st;
    return 1;
}

void trainer_step(trainer *t)
{
    gan *m = &t->model;
    double mark = MPI_Wtime();
    watch_step(t->step + 1);
    t->skipped = 0;
    shard_next_batch(&t->shard, gan_real_rows(m), m->B);
    lap(t, PHASE_DATA, &mark);
    adam_config adam = m->hp.adam;
    adam.lr *= t->lr_factor;
    if (!t->overlap) step_blocking(t, &adam, &mark);
    else if (!step_overlapped(t, &adam, &mark)) return;
    t->step++;
}

void trainer_flush(trainer *t)
{
    double mark = MPI_Wtime();
    finish_g(t, &mark);
}

long long trainer_skipped_steps(const trainer *t)
{
    return t->step - t->model.g.adam_t;
}

int trainer_finite(const trainer *t)
{
    const mlp *nets[2] = {&t->model.g, &t->model.d};
    for (int k = 0; k < 2; k++)
        if (!all_finite(nets[k]->params, nets[k]->n_params) || !all_finite(nets[k]->m, nets[k]->n_params) ||
            !all_finite(nets[k]->v, nets[k]->n_params))
            return 0;
    return !t->ema || all_finite(t->ema, t->model.g.n_params);
}

gan_stats trainer_take_stats(trainer *t)
{
    /* Communication is the time in the gradient sums (and the benchmark's barrier before them):
     * what they did not hide. Compute is the rest of the step. */
    double comm = t->phase_seconds[PHASE_ALLREDUCE] + t->phase_seconds[PHASE_WAIT], compute = -comm;
    for (int p = 0; p < PHASE_COUNT; p++) compute += t->phase_seconds[p];
    double buf[7] = {t->sum.d_loss, t->sum.g_loss, t->sum.d_real, t->sum.d_fake, (double)t->sum_steps,
                     compute - t->taken_compute_s, comm - t->taken_comm_s};
    t->taken_compute_s = compute, t->taken_comm_s = comm;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, 7, MPI_DOUBLE, MPI_SUM, t->comm));
    t->interval_compute_s = buf[5] / t->world, t->interval_comm_s = buf[6] / t->world;
    double n = buf[4] > 0 ? buf[4] : NAN; /* NaN: every step since the last call was skipped */
    gan_stats mean = {.d_loss = buf[0] / n, .g_loss = buf[1] / n, .d_real = buf[2] / n, .d_fake = buf[3] / n};
    memset(&t->sum, 0, sizeof t->sum);
    t->sum_steps = 0;
    return mean;
}

/* --compress's state into rs on rank 0: every rank's error feedback (D's, then G's) and the
 * state the ranks share (PowerSGD's Q's, rank 0's copy). */
static void gather_comm_state(const trainer *t, run_state *rs)
{
    const size_t nd = reducer_rank_state(&t->reduce_d), n = nd + reducer_rank_state(&t->reduce_g);
    const size_t sd = reducer_shared_state(&t->reduce_d), s = sd + reducer_shared_state(&t->reduce_g);
    if (n == 0 && s == 0) return;
    float *mine = xmalloc(sizeof(float) * (n ? n : 1)), *shared = xmalloc(sizeof(float) * (s ? s : 1));
    reducer_save(&t->reduce_d, mine, shared);
    reducer_save(&t->reduce_g, mine + nd, shared + sd);
    if (t->rank == 0) {
        rs->n_comm_rank = (int)n, rs->n_comm_shared = (int)s;
        rs->comm_rank = n ? xmalloc(sizeof(float) * n * t->world) : NULL;
        rs->comm_shared = s ? shared : NULL;
    }
    if (n) MPI_CHECK(MPI_Gather(mine, (int)n, MPI_FLOAT, rs->comm_rank, (int)n, MPI_FLOAT, 0, t->comm));
    if (t->rank != 0 || !s) free(shared);
    free(mine);
}

/* The inverse of gather_comm_state, when the saved state has this run's sizes (the same
 * --compress); else the error feedback and Q start afresh. Returns 1 if restored. */
static int scatter_comm_state(trainer *t, const run_state *rs)
{
    const size_t nd = reducer_rank_state(&t->reduce_d), n = nd + reducer_rank_state(&t->reduce_g);
    const size_t sd = reducer_shared_state(&t->reduce_d), s = sd + reducer_shared_state(&t->reduce_g);
    int fits = t->rank == 0 && (size_t)rs->n_comm_rank == n && (size_t)rs->n_comm_shared == s;
    MPI_CHECK(MPI_Bcast(&fits, 1, MPI_INT, 0, t->comm));
    if (!fits || (n == 0 && s == 0)) return fits;
    float *mine = xmalloc(sizeof(float) * (n ? n : 1)), *shared = xmalloc(sizeof(float) * (s ? s : 1));
    if (t->rank == 0 && s) memcpy(shared, rs->comm_shared, sizeof(float) * s);
    if (n) MPI_CHECK(MPI_Scatter(t->rank == 0 ? rs->comm_rank : NULL, (int)n, MPI_FLOAT, mine, (int)n, MPI_FLOAT, 0, t->comm));
    if (s) MPI_CHECK(MPI_Bcast(shared, (int)s, MPI_FLOAT, 0, t->comm));
    reducer_load(&t->reduce_d, mine, shared);
    reducer_load(&t->reduce_g, mine + nd, shared + sd);
    free(mine), free(shared);
    return 1;
}

void trainer_gather_state(const trainer *t, run_state *rs)
{
    const data_shard *s = &t->shard;
    int64_t mine[RANK_STATE_LEN] = {(int64_t)t->rng.state, (int64_t)s->rng.state, s->cursor, s->epoch, s->n};
    double sums[RANK_STATS_LEN] = {t->sum.d_loss, t->sum.g_loss, t->sum.d_real, t->sum.d_fake, (double)t->sum_steps};
    int max_shard = 0;
    MPI_CHECK(MPI_Allreduce(&s->n, &max_shard, 1, MPI_INT, MPI_MAX, t->comm));
    int32_t *order = xmalloc(sizeof(int32_t) * (size_t)max_shard);
    for (int i = 0; i < max_shard; i++) order[i] = i < s->n ? s->order[i] : -1;
    memset(rs, 0, sizeof *rs);
    if (t->rank == 0) {
        rs->world = t->world;
        rs->max_shard = max_shard;
        rs->ranks = xmalloc(sizeof(int64_t) * RANK_STATE_LEN * t->world);
        rs->orders = xmalloc(sizeof(int32_t) * (size_t)max_shard * t->world);
        rs->stats = xmalloc(sizeof(double) * RANK_STATS_LEN * t->world);
    }
    MPI_CHECK(MPI_Gather(mine, RANK_STATE_LEN, MPI_INT64_T, rs->ranks, RANK_STATE_LEN, MPI_INT64_T, 0, t->comm));
    MPI_CHECK(MPI_Gather(order, max_shard, MPI_INT32_T, rs->orders, max_shard, MPI_INT32_T, 0, t->comm));
    MPI_CHECK(MPI_Gather(sums, RANK_STATS_LEN, MPI_DOUBLE, rs->stats, RANK_STATS_LEN, MPI_DOUBLE, 0, t->comm));
    free(order);
    gather_comm_state(t, rs);
}

static void set_stats(trainer *t, const double *row)
{
    t->sum = (gan_stats){.d_loss = row[0], .g_loss = row[1], .d_real = row[2], .d_fake = row[3]};
    t->sum_steps = (long long)row[4];
}

int trainer_scatter_state(trainer *t, const run_state *rs)
{
    int64_t mine[RANK_STATE_LEN];
    int max_shard = t->rank == 0 ? rs->max_shard : 0;
    MPI_CHECK(MPI_Bcast(&max_shard, 1, MPI_INT, 0, t->comm));
    int32_t *order = xmalloc(sizeof(int32_t) * (size_t)max_shard);
    MPI_CHECK(MPI_Scatter(t->rank == 0 ? rs->ranks : NULL, RANK_STATE_LEN, MPI_INT64_T, mine, RANK_STATE_LEN,
                          MPI_INT64_T, 0, t->comm));
    MPI_CHECK(MPI_Scatter(t->rank == 0 ? rs->orders : NULL, max_shard, MPI_INT32_T, order, max_shard, MPI_INT32_T,
                          0, t->comm));
    /* Same seed and world size give the same shards; the saved size must agree. */
    if (mine[4] != t->shard.n) FATAL("checkpoint shard size %lld != %d", (long long)mine[4], t->shard.n);
    t->rng.state = (uint64_t)mine[0];
    t->shard.rng.state = (uint64_t)mine[1];
    t->shard.cursor = (int)mine[2];
    t->shard.epoch = mine[3];
    for (int i = 0; i < t->shard.n; i++) t->shard.order[i] = order[i];
    free(order);
    /* Each rank's own loss sums, so that the next /metrics row is bitwise the uninterrupted one. */
    int has_stats = t->rank == 0 && rs->stats != NULL;
    MPI_CHECK(MPI_Bcast(&has_stats, 1, MPI_INT, 0, t->comm));
    double sums[RANK_STATS_LEN] = {0};
    if (has_stats)
        MPI_CHECK(MPI_Scatter(t->rank == 0 ? rs->stats : NULL, RANK_STATS_LEN, MPI_DOUBLE, sums, RANK_STATS_LEN,
                              MPI_DOUBLE, 0, t->comm));
    set_stats(t, sums);
    return scatter_comm_state(t, rs);
}

void trainer_fold_stats(trainer *t, const run_state *rs)
{
    double total[RANK_STATS_LEN] = {0};
    if (t->rank == 0 && rs->stats)
        for (int r = 0; r < rs->world; r++)
            for (int k = 0; k < RANK_STATS_LEN; k++) total[k] += rs->stats[r * RANK_STATS_LEN + k];
    set_stats(t, total); /* zeros on the other ranks: trainer_take_stats sums over ranks */
}

void trainer_rederive_streams(trainer *t, uint64_t seed)
{
    const uint64_t salt = splitmix64_mix(seed ^ (uint64_t)t->step * 0x9e3779b97f4a7c15ULL);
    t->rng = rng_make(salt, RNG_STREAM_NOISE + (uint64_t)t->rank);
    t->shard.rng = rng_make(salt, RNG_STREAM_DATA + (uint64_t)t->rank);
    rng_shuffle(&t->shard.rng, t->shard.order, t->shard.n);
    t->shard.cursor = 0;
}
