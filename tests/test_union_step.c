/*
 * test_union_step.c (run under mpirun -n 1, 2, 3): the trainer's own distributed step
 * against one process on the union of the ranks' batches.
 *
 * Every rank runs the real trainer_step (its shard, its random stream, the two gradient
 * allreduces, Adam with the 1/world scale and the lr factor). Rank 0 then gathers what each
 * rank drew in that step (its real rows, its noise, its dropout mask and its augmentation
 * draws) and runs one single-process step with the same gan_* functions on the
 * concatenation, a batch of world x B rows, from the parameters and Adam moments every rank
 * held before the step. For D and G, the parameters, both Adam moments and Adam's step count
 * must agree: bitwise on one rank (the same computation), and within float tolerance on 2
 * and 3 ranks (the sums run in another order). The losses averaged over the ranks must equal
 * the union batch's. 13 images give uneven shards (6 + 7, 4 + 4 + 5), and the warm-up steps
 * wrap some ranks into a new epoch before the step that is compared.
 *
 * Two configurations: dropout and augmentation (translate and cutout) on, with a cool-down
 * lr factor; and both off, with the tutorial's loss scaling (--smoothing-style scale).
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "train.h"

static int rank, world;

enum { SIDE = 12, X = SIDE * SIDE, N_IMAGES = 13, WARMUP = 3 };

typedef struct {
    const char *name;
    gan_hparams hp;
    int B;
    double lr_factor;
} config;

static uint8_t *make_images(int n)
{
    uint8_t *px = malloc((size_t)n * X);
    rng_t r = rng_make(5, 11);
    for (int i = 0; i < n * X; i++) px[i] = (uint8_t)rng_below(&r, 256);
    return px;
}

/* A copy of one network's parameters and Adam state. */
typedef struct {
    float *p, *m, *v;
    long long t;
} net_state;

static net_state save(const mlp *net)
{
    size_t bytes = sizeof(float) * net->n_params;
    net_state s = {malloc(bytes), malloc(bytes), malloc(bytes), net->adam_t};
    memcpy(s.p, net->params, bytes), memcpy(s.m, net->m, bytes), memcpy(s.v, net->v, bytes);
    return s;
}

static void restore(mlp *net, const net_state *s)
{
    size_t bytes = sizeof(float) * net->n_params;
    memcpy(net->params, s->p, bytes), memcpy(net->m, s->m, bytes), memcpy(net->v, s->v, bytes);
    net->adam_t = s->t;
}

static void drop(net_state *s)
{
    free(s->p), free(s->m), free(s->v);
}

/* sqrt(sum (a-b)^2 / sum b^2) over n floats (b - base and a - base when base is given: the
 * relative error of an update rather than of the values it was added to). */
static double rel_error(const float *a, const float *b, const float *base, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i] - (base ? (double)base[i] : 0.0), y = b[i] - (base ? (double)base[i] : 0.0);
        num += (x - y) * (x - y);
        den += y * y;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Gather `bytes` bytes from every rank into `all` on rank 0, in rank order. */
static void gather(void *all, const void *mine, size_t bytes)
{
    MPI_Gather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
}

/* Rank 0: one network after the trainer's step (got) against the union reference (want),
 * both started from `before`. */
static void compare_net(const char *cfg, const char *name, const mlp *got, const mlp *want, const net_state *before)
{
    size_t n = got->n_params, bytes = sizeof(float) * n;
    CHECK(got->adam_t == want->adam_t && got->adam_t == before->t + 1, "%s: %s Adam t %lld, union %lld, before %lld",
          cfg, name, got->adam_t, want->adam_t, before->t);
    int moved = memcmp(got->params, before->p, bytes) != 0;
    CHECK(moved, "%s: the step did not change %s's parameters", cfg, name);
    if (world == 1) {
        CHECK(memcmp(got->params, want->params, bytes) == 0, "%s: %s parameters not bitwise equal on 1 rank", cfg, name);
        CHECK(memcmp(got->m, want->m, bytes) == 0, "%s: %s Adam m not bitwise equal on 1 rank", cfg, name);
        CHECK(memcmp(got->v, want->v, bytes) == 0, "%s: %s Adam v not bitwise equal on 1 rank", cfg, name);
        printf("  %s: %s bitwise equal to the single-process step\n", cfg, name);
        return;
    }
    /* The step's change of the parameters, and the new moments, to a relative error of 1e-5
     * (measured: below 1e-7 for m and v, below 1e-6 for the parameters' update). */
    double e_p = rel_error(got->params, want->params, before->p, n);
    double e_m = rel_error(got->m, want->m, NULL, n), e_v = rel_error(got->v, want->v, NULL, n);
    CHECK(e_p <= 1e-5, "%s: %s parameter update: relative error %g vs the union batch", cfg, name, e_p);
    CHECK(e_m <= 1e-5, "%s: %s Adam m: relative error %g vs the union batch", cfg, name, e_m);
    CHECK(e_v <= 1e-5, "%s: %s Adam v: relative error %g vs the union batch", cfg, name, e_v);
    printf("  %s: %s relative error vs the union batch: update %.2e, m %.2e, v %.2e\n", cfg, name, e_p, e_m, e_v);
}

static void test_union_step(const config *c, const uint8_t *px)
{
    const gan_hparams *hp = &c->hp;
    const int B = c->B, Z = hp->noise_dim, Hg = hp->g_hidden, U = B * world;
    trainer t;
    trainer_init(&t, hp, B, px, N_IMAGES, 2024, MPI_COMM_WORLD);
    t.lr_factor = c->lr_factor;
    for (int s = 0; s < WARMUP; s++) trainer_step(&t); /* non-zero moments; some shards wrap */
    (void)trainer_take_stats(&t);                     /* the sums from here on are the step's */
    net_state g0 = save(&t.model.g), d0 = save(&t.model.d);

    trainer_step(&t);
    CHECK(!t.skipped, "%s: the step was skipped", c->name);
    gan_stats mean = trainer_take_stats(&t); /* the ranks' losses, averaged */

    /* What every rank drew in the step, gathered on rank 0. */
    gan *m = &t.model;
    gan u = {0};
    if (rank == 0) gan_init(&u, hp, U);
    gather(gan_real_rows(&u), gan_real_rows(m), sizeof(float) * B * X);
    gather(u.z, m->z, sizeof(float) * B * Z);
    if (hp->dropout > 0.0f) gather(u.g_mask, m->g_mask, sizeof(float) * B * Hg);
    augment_params *aug = NULL;
    if (hp->augment) { /* (2B) per rank, real rows then fake rows: regrouped below */
        if (rank == 0) aug = malloc(sizeof(augment_params) * 2 * U);
        gather(aug, m->aug, sizeof(augment_params) * 2 * B);
    }

    if (rank == 0) {
        if (aug)
            for (int r = 0; r < world; r++)
                for (int i = 0; i < B; i++) {
                    u.aug[r * B + i] = aug[r * 2 * B + i];         /* real row i of rank r */
                    u.aug[U + r * B + i] = aug[r * 2 * B + B + i]; /* fake row i of rank r */
                }
        restore(&u.g, &g0), restore(&u.d, &d0);
        /* The step as train.c runs it, with the draws replayed and the mean over U rows. */
        adam_config adam = hp->adam;
        adam.lr *= c->lr_factor;
        gan_stats st;
        gan_generator_forward_fixed(&u);
        if (hp->augment) augment_forward(u.aug, hp->augment, 2 * U, X / hp->image_cols, hp->image_cols, u.d_in, u.d_aug);
        gan_discriminator_forward(&u);
        gan_discriminator_backward(&u, &st);
        mlp_adam_step(&u.d, &adam, 1.0f);
        gan_discriminator_forward_fake(&u);
        gan_generator_backward(&u, &st);
        mlp_adam_step(&u.g, &adam, 1.0f);

        printf("%s, %d rank%s of batch %d (union batch %d):\n", c->name, world, world > 1 ? "s" : "", B, U);
        compare_net(c->name, "D", &m->d, &u.d, &d0);
        compare_net(c->name, "G", &m->g, &u.g, &g0);
        double tol_d = 1e-5 * fabs(st.d_loss), tol_g = 1e-5 * fabs(st.g_loss);
        CHECK(fabs(mean.d_loss - st.d_loss) <= tol_d, "%s: D loss %.9g over the ranks, %.9g on the union batch", c->name,
              mean.d_loss, st.d_loss);
        CHECK(fabs(mean.g_loss - st.g_loss) <= tol_g, "%s: G loss %.9g over the ranks, %.9g on the union batch", c->name,
              mean.g_loss, st.g_loss);
        gan_free(&u);
        free(aug);
    }
    drop(&g0), drop(&d0);
    trainer_free(&t);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);

    const adam_config adam = {1e-3, 0.9, 0.999, 1e-8};
    const config configs[] = {
        {"dropout 0.2, translate+cutout, R1 1, lr factor 0.5",
         {.noise_dim = 10, .g_hidden = 16, .d_hidden = 12, .image_size = X, .leaky_alpha = 0.01f, .dropout = 0.2f,
          .smoothing = 0.1f, .smooth_by_scale = 0, .augment = AUG_TRANSLATE | AUG_CUTOUT, .image_cols = SIDE, .r1 = 1.0f,
          .adam = adam},
         3, 0.5},
        {"no dropout, no augmentation, smoothing by scale",
         {.noise_dim = 10, .g_hidden = 16, .d_hidden = 12, .image_size = X, .leaky_alpha = 0.01f, .dropout = 0.0f,
          .smoothing = 0.1f, .smooth_by_scale = 1, .augment = 0, .image_cols = SIDE, .adam = adam},
         2, 1.0},
    };
    uint8_t *px = make_images(N_IMAGES);
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) test_union_step(&configs[i], px);
    free(px);

    int failed = 0;
    MPI_Allreduce(&check_failed, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int rc = rank == 0 ? check_summary("test_union_step") : (check_failed ? 1 : 0);
    MPI_Finalize();
    return failed ? 1 : rc;
}
