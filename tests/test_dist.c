/*
 * test_dist.c (run under mpirun -n 1, 2, 4): the distributed step against a
 * single process.
 *  1. D's and G's gradients averaged over ranks equal the gradients that one
 *     process computes on the union of all ranks' batches (same z, same
 *     dropout masks), to a relative error of 1e-5.
 *  2. After several full steps, every rank holds bitwise-identical parameters
 *     and Adam moments.
 *  3. Uneven shards (including ranks with a single image and batches larger
 *     than the shard) run the same number of steps and finish.
 *  4. The ranks' shards together hold every image exactly once (by index).
 * (test_union_step checks the trainer's own step, trainer_step, against the union batch.)
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "train.h"

static int rank, world;

static const gan_hparams hp = {.noise_dim = 10, .g_hidden = 16, .d_hidden = 12, .image_size = 20,
                               .leaky_alpha = 0.01f, .dropout = 0.2f, .smoothing = 0.1f,
                               .smooth_by_scale = 0, .adam = {1e-3, 0.9, 0.999, 1e-8}};

/* n random images; the first two pixels of image i hold i (n <= 65536), so a shard's
 * images say which of the whole set they are. */
static uint8_t *make_images(int n)
{
    uint8_t *px = malloc((size_t)n * hp.image_size);
    rng_t r = rng_make(99, 7);
    for (int i = 0; i < n * hp.image_size; i++) px[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < n; i++) {
        px[(size_t)i * hp.image_size] = (uint8_t)(i & 255);
        px[(size_t)i * hp.image_size + 1] = (uint8_t)(i >> 8);
    }
    return px;
}

/* Collective: 1 if the ranks' shards together hold every image exactly once (by the index
 * make_images wrote into it), on every rank. */
static int shards_cover_all_once(const data_shard *s, int n_images)
{
    int *mine = malloc(sizeof(int) * (size_t)(s->n > 0 ? s->n : 1));
    for (int i = 0; i < s->n; i++) mine[i] = s->pixels[(size_t)i * s->X] | s->pixels[(size_t)i * s->X + 1] << 8;
    int *counts = malloc(sizeof(int) * world), *offsets = malloc(sizeof(int) * world), total = 0;
    MPI_Allgather(&s->n, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    for (int r = 0; r < world; r++) offsets[r] = total, total += counts[r];
    int *all = malloc(sizeof(int) * (size_t)total), *seen = calloc((size_t)n_images, sizeof(int));
    MPI_Allgatherv(mine, s->n, MPI_INT, all, counts, offsets, MPI_INT, MPI_COMM_WORLD);
    int ok = total == n_images;
    for (int i = 0; i < total; i++) {
        if (all[i] < 0 || all[i] >= n_images || seen[all[i]]++) ok = 0;
    }
    for (int i = 0; i < n_images; i++) ok &= seen[i] == 1;
    free(mine), free(counts), free(offsets), free(all), free(seen);
    return ok;
}

static double rel_error(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Gather this rank's `count` floats from every rank into `all`, in rank order. */
static void gather(float *all, const float *mine, int count)
{
    MPI_Allgather(mine, count, MPI_FLOAT, all, count, MPI_FLOAT, MPI_COMM_WORLD);
}

static void test_gradients_match_union_batch(void)
{
    enum { B = 3, N = 13 };
    uint8_t *px = make_images(N);
    trainer t;
    trainer_init(&t, &hp, B, px, N, 1234, MPI_COMM_WORLD);
    gan *m = &t.model;
    shard_next_batch(&t.shard, gan_real_rows(m), B);
    gan_generator_forward(m, &t.rng);

    /* One process, the union batch: same parameters, same data, z and masks. */
    gan u;
    gan_init(&u, &hp, B * world);
    memcpy(u.g.params, m->g.params, sizeof(float) * m->g.n_params);
    memcpy(u.d.params, m->d.params, sizeof(float) * m->d.n_params);
    gather(gan_real_rows(&u), gan_real_rows(m), B * hp.image_size);
    gather(u.z, m->z, B * hp.noise_dim);
    gather(u.g_mask, m->g_mask, B * hp.g_hidden);
    gan_generator_forward_fixed(&u);

    gan_stats st, ust;
    gan_discriminator_forward(m);
    gan_discriminator_backward(m, &st);
    allreduce_sum(m->d.grads, m->d.n_params, MPI_COMM_WORLD);
    for (size_t i = 0; i < m->d.n_params; i++) m->d.grads[i] /= (float)world;
    gan_discriminator_forward(&u);
    gan_discriminator_backward(&u, &ust);
    double err_d = rel_error(m->d.grads, u.d.grads, m->d.n_params);
    CHECK(err_d <= 1e-5, "D gradient: relative error %g vs the union batch", err_d);

    gan_discriminator_forward_fake(m);
    gan_generator_backward(m, &st);
    allreduce_sum(m->g.grads, m->g.n_params, MPI_COMM_WORLD);
    for (size_t i = 0; i < m->g.n_params; i++) m->g.grads[i] /= (float)world;
    gan_discriminator_forward_fake(&u);
    gan_generator_backward(&u, &ust);
    double err_g = rel_error(m->g.grads, u.g.grads, m->g.n_params);
    CHECK(err_g <= 1e-5, "G gradient: relative error %g vs the union batch", err_g);
    if (rank == 0) printf("  %d ranks: relative error vs union batch: D %.2e, G %.2e\n", world, err_d, err_g);

    gan_free(&u);
    trainer_free(&t);
    free(px);
}

/* Rank 0's copy of buf, compared bitwise with this rank's. Returns 1 if equal everywhere. */
static int same_everywhere(const float *buf, size_t n)
{
    float *root = malloc(sizeof(float) * n);
    memcpy(root, buf, sizeof(float) * n);
    MPI_Bcast(root, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    int same = memcmp(root, buf, sizeof(float) * n) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    free(root);
    return all;
}

static void test_steps(int n_images, int batch, int steps)
{
    uint8_t *px = make_images(n_images);
    trainer t;
    trainer_init(&t, &hp, batch, px, n_images, 77, MPI_COMM_WORLD);
    float before = t.model.g.params[0];
    for (int s = 0; s < steps; s++) trainer_step(&t);
    gan_stats mean = trainer_take_stats(&t);
    CHECK(t.step == steps, "ran %lld of %d steps", t.step, steps);
    CHECK(t.model.g.params[0] != before, "parameters did not move");
    CHECK(isfinite(mean.d_loss) && isfinite(mean.g_loss), "losses %g %g", mean.d_loss, mean.g_loss);
    const mlp *nets[2] = {&t.model.g, &t.model.d};
    for (int k = 0; k < 2; k++) {
        CHECK(same_everywhere(nets[k]->params, nets[k]->n_params), "%s params differ across ranks", k ? "D" : "G");
        CHECK(same_everywhere(nets[k]->m, nets[k]->n_params), "%s Adam m differs across ranks", k ? "D" : "G");
        CHECK(same_everywhere(nets[k]->v, nets[k]->n_params), "%s Adam v differs across ranks", k ? "D" : "G");
    }
    /* Every rank's shard is its block of the split: together they hold every image once. */
    CHECK(shards_cover_all_once(&t.shard, n_images), "the %d ranks' shards do not hold each of the %d images exactly once",
          world, n_images);
    trainer_free(&t);
    free(px);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);

    test_gradients_match_union_batch();
    test_steps(50, 4, 25);        /* even-ish shards */
    test_steps(world + 1, 5, 12); /* uneven: one rank has 2 images, the rest 1; batch > shard */

    int failed = 0;
    MPI_Allreduce(&check_failed, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int rc = rank == 0 ? check_summary("test_dist") : (check_failed ? 1 : 0);
    MPI_Finalize();
    return failed ? 1 : rc;
}
