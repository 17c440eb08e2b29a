/*
 * main.c: gan_train's command-line program. Parse, load, set up, loop, write.
 *
 * All ranks parse the same argv and reach the same decisions; only rank 0
 * prints and writes files. Whenever rank 0 does I/O that can fail, it
 * broadcasts the outcome, so on an error every rank exits with the same
 * status and none is left waiting in a collective.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blas.h"
#include "checkpoint.h"
#include "common.h"
#include "config.h"
#include "h5util.h"
#include "history.h"
#include "idx.h"
#include "png_grid.h"
#include "quality.h"
#include "train.h"

static int rank0(void)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0;
}

/* Print the message once (rank 0) and shut MPI down on every rank. */
static int finish(int status, const err_buf *err)
{
    if (err && rank0()) fprintf(stderr, "gan_train: error: %s\n", err->msg);
    fflush(stdout);
    MPI_Finalize();
    return status;
}

/* Rank 0's outcome of a fallible step, shared with every rank. */
static int agree(int rc)
{
    MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return rc;
}

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
static int check_not_singleton(int world, err_buf *err)
{
    if (world != 1) return 0;
    long slurm_tasks = getenv("SLURM_STEP_ID") ? (getenv("SLURM_STEP_NUM_TASKS") ? env_long("SLURM_STEP_NUM_TASKS") : env_long("SLURM_NTASKS")) : 0;
    long mpi_tasks = env_long("OMPI_COMM_WORLD_SIZE") > 1 ? env_long("OMPI_COMM_WORLD_SIZE") : env_long("PMI_SIZE");
    long tasks = slurm_tasks > mpi_tasks ? slurm_tasks : mpi_tasks;
    if (tasks > 1)
        return err_set(err, "the launcher started %ld tasks but MPI reports a world of 1 rank: each "
                            "would train alone. Launch with `srun --mpi=pmix` (see `srun --mpi=list`) "
                            "or `mpirun`, using the MPI that gan_train was built with", tasks);
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *path, err_buf *err)
{
    char buf[PATH_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return err_set(err, "cannot create output directory %s: %s", buf, strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, "--out %s: exists and is not a directory", path);
    if (access(path, W_OK | X_OK) != 0)
        return err_set(err, "--out %s: directory is not writable: %s", path, strerror(errno));
    return 0;
}

/* --data's default is baked in at build time: the source tree, else the install. */
static void resolve_default_data(gan_config *cfg, int data_given)
{
#ifdef GAN_INSTALLED_DATA
    if (!data_given && access(cfg->data, R_OK) != 0 && access(GAN_INSTALLED_DATA, R_OK) == 0)
        snprintf(cfg->data, sizeof cfg->data, "%s", GAN_INSTALLED_DATA);
#else
    (void)cfg, (void)data_given;
#endif
}

/* Rank 0 reads and validates the dataset, then broadcasts the selected images. */
static int load_images(gan_config *cfg, idx_images *img, err_buf *err)
{
    int rc = 0;
    if (rank0()) {
        if (!cfg->labels[0] && idx_labels_path(cfg->data, cfg->labels, sizeof cfg->labels) != 0)
            rc = err_set(err, "--data %s: cannot derive the labels file (the name has no 'images-idx3'); "
                              "give it with --labels", cfg->data);
        if (rc == 0) rc = idx_load_digit(cfg->data, cfg->labels, cfg->digit, img, err);
    }
    if (agree(rc)) return -1;
    int dims[4] = {img->n, img->rows, img->cols, img->total};
    MPI_CHECK(MPI_Bcast(dims, 4, MPI_INT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(cfg->labels, sizeof cfg->labels, MPI_CHAR, 0, MPI_COMM_WORLD));
    if (!rank0()) {
        img->n = dims[0], img->rows = dims[1], img->cols = dims[2], img->total = dims[3];
        img->pixels = xmalloc((size_t)img->n * img->rows * img->cols);
    }
    size_t bytes = (size_t)img->n * img->rows * img->cols;
    for (size_t off = 0; off < bytes; off += 1u << 30) { /* MPI counts are ints */
        size_t chunk = bytes - off < (1u << 30) ? bytes - off : (1u << 30);
        MPI_CHECK(MPI_Bcast(img->pixels + off, (int)chunk, MPI_BYTE, 0, MPI_COMM_WORLD));
    }
    return 0;
}

static void format_duration(char *buf, size_t len, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

/* Collective: "N ranks on M hosts: a (4), b (4)" for the start-up log (rank 0's copy). */
static void describe_hosts(char *out, size_t len, int world)
{
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int name_len = 0;
    MPI_CHECK(MPI_Get_processor_name(name, &name_len));
    char *all = rank0() ? xcalloc((size_t)world, MPI_MAX_PROCESSOR_NAME) : NULL;
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

/* Rank 0: G on the fixed noise (no dropout), mapped to [0, 1], appended to history
 * and drawn as OUT/samples/step_STEP.png, linked as OUT/samples/latest.png. */
static int write_samples(history *h, const gan *m, const float *noise, int n, float *hidden,
                         float *images, long long step, const char *out, const run_facts *run, err_buf *err)
{
    generator_infer(&m->g, m->hp.leaky_alpha, noise, n, hidden, images);
    for (size_t i = 0; i < (size_t)n * m->hp.image_size; i++) images[i] = 0.5f * (images[i] + 1.0f);
    if (history_append_samples(h, step, images, err)) return -1;
    char png[PATH_LEN + 64], latest[PATH_LEN + 64], tmp[PATH_LEN + 64];
    snprintf(png, sizeof png, "%s/samples/step_%08lld.png", out, step);
    snprintf(latest, sizeof latest, "%s/samples/latest.png", out);
    snprintf(tmp, sizeof tmp, "%s/samples/.latest.png.tmp", out);
    if (png_write_grid(png, images, n, run->image_rows, run->image_cols, 2, err)) return -1;
    unlink(tmp);
    if (link(png, tmp) != 0 || rename(tmp, latest) != 0)
        return err_set(err, "cannot update %s: %s", latest, strerror(errno));
    return 0;
}

/* ---- quality score during training (rank 0) ------------------------------------------ */

enum { EVAL_SAMPLES = 500 };

typedef struct {
    classifier clf;
    int clf_loaded;
    float *noise, *hidden, *images; /* fixed eval noise (EVAL_SAMPLES, Z) and scratch */
    quality_ref ref; /* all real images, prepared once */
    quality floor;   /* half of the real images against the other half */
} evaluator;

static int evaluator_init(evaluator *e, const gan_config *cfg, const idx_images *img, int noise_dim,
                          int g_hidden, err_buf *err)
{
    memset(e, 0, sizeof *e);
    const int X = img->rows * img->cols;
    if (X != 784)
        return err_set(err, "--eval-every: the classifier reads 28x28 images, these are %dx%d; use --eval-every 0",
                       img->rows, img->cols);
    if (cfg->digit >= CLASSIFIER_CLASSES)
        return err_set(err, "--eval-every: the classifier knows the digits 0-9, not label %d; use --eval-every 0",
                       cfg->digit);
    if (classifier_load(&e->clf, cfg->classifier, err)) {
        err_buf detail = *err;
        return err_set(err, "--classifier %s (or --eval-every 0)", detail.msg);
    }
    e->clf_loaded = 1;
    float *real = xmalloc(sizeof(float) * img->n * X); /* the selected real images in [0, 1] */
    for (size_t i = 0; i < (size_t)img->n * X; i++) real[i] = img->pixels[i] / 255.0f;
    e->noise = xmalloc(sizeof(float) * EVAL_SAMPLES * noise_dim);
    e->hidden = xmalloc(sizeof(float) * EVAL_SAMPLES * g_hidden);
    e->images = xmalloc(sizeof(float) * EVAL_SAMPLES * X);
    rng_t r = rng_make((uint64_t)cfg->seed, RNG_STREAM_SAMPLES + 1);
    rng_fill_noise(&r, e->noise, (long)EVAL_SAMPLES * noise_dim);
    const int half = img->n / 2;
    quality_ref other_half;
    quality_ref_init(&other_half, &e->clf, cfg->digit, real + (size_t)half * X, img->n - half, real, img->n, X);
    e->floor = quality_score(&other_half, real, half);
    quality_ref_free(&other_half);
    quality_ref_init(&e->ref, &e->clf, cfg->digit, real, img->n, real, img->n, X);
    free(real); /* the reference keeps what it needs */
    return 0;
}

/* Score G (its moving average when there is one) on the fixed eval noise. */
static quality evaluate(evaluator *e, const trainer *t)
{
    const mlp g = t->ema ? mlp_view(&t->model.g, t->ema) : t->model.g;
    const int X = t->model.hp.image_size;
    generator_infer(&g, t->model.hp.leaky_alpha, e->noise, EVAL_SAMPLES, e->hidden, e->images);
    for (size_t i = 0; i < (size_t)EVAL_SAMPLES * X; i++) e->images[i] = 0.5f * (e->images[i] + 1.0f);
    return quality_score(&e->ref, e->images, EVAL_SAMPLES);
}

static void evaluator_free(evaluator *e)
{
    if (e->clf_loaded) classifier_free(&e->clf);
    quality_ref_free(&e->ref);
    free(e->noise), free(e->hidden), free(e->images);
}

/* ---- preemption --------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig; /* acted on at the next step boundary, agreed by all ranks */
}

static void install_signal_handlers(void)
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

/* ---- resume ------------------------------------------------------------------------- */

/*
 * Restore the trainer from cfg->resume (read by rank 0, then broadcast).
 * Same world size, seed and dataset: every rank's random streams and data
 * cursor are restored too, so the run continues bit for bit. Otherwise the
 * networks and Adam state are restored and the per-rank streams re-derived.
 */
static int resume_trainer(trainer *t, const gan_config *cfg, int n_images, err_buf *err)
{
    checkpoint_info info;
    int rc = 0;
    if (t->rank == 0) rc = checkpoint_read(cfg->resume, &t->model, &info, err);
    if (agree(rc)) return -1;
    mlp *nets[2] = {&t->model.g, &t->model.d};
    for (int k = 0; k < 2; k++) {
        MPI_CHECK(MPI_Bcast(nets[k]->params, (int)nets[k]->n_params, MPI_FLOAT, 0, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(nets[k]->m, (int)nets[k]->n_params, MPI_FLOAT, 0, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(nets[k]->v, (int)nets[k]->n_params, MPI_FLOAT, 0, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(&nets[k]->adam_t, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
    }
    /* The moving average continues if the checkpoint has one, else restarts from G. */
    int has_ema = t->rank == 0 && info.ema != NULL;
    MPI_CHECK(MPI_Bcast(&has_ema, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (t->ema && has_ema) {
        if (t->rank == 0) memcpy(t->ema, info.ema, sizeof(float) * nets[0]->n_params);
        MPI_CHECK(MPI_Bcast(t->ema, (int)nets[0]->n_params, MPI_FLOAT, 0, MPI_COMM_WORLD));
    } else if (t->ema) {
        memcpy(t->ema, nets[0]->params, sizeof(float) * nets[0]->n_params);
    }
    long long facts[4] = {info.step, info.world_size, info.n_images, info.seed};
    MPI_CHECK(MPI_Bcast(facts, 4, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
    t->step = facts[0];
    int exact = facts[1] == t->world && facts[2] == n_images && facts[3] == cfg->seed;
    if (exact) {
        trainer_scatter_state(t, t->rank == 0 ? &info.state : NULL);
    } else {
        trainer_rederive_streams(t, (uint64_t)cfg->seed);
        trainer_fold_stats(t, t->rank == 0 ? &info.state : NULL);
    }
    if (t->rank == 0) {
        if (exact)
            printf("resume: %s at step %lld: networks, Adam state, random streams and data order restored\n",
                   cfg->resume, t->step);
        else
            printf("resume: %s at step %lld was written by %lld rank%s (seed %lld, %lld images), this run has %d "
                   "(seed %lld, %d images): networks and Adam state restored, data shards and random streams "
                   "re-derived\n", cfg->resume, t->step, facts[1], facts[1] == 1 ? "" : "s", facts[3], facts[2],
                   t->world, cfg->seed, n_images);
        run_state_free(&info.state);
        free(info.ema);
    }
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    blas_ensure_fast_kernels(argv); /* may re-execute this program: before MPI starts */
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, world;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world));

    gan_config cfg;
    err_buf err = {{0}};
    const char *info = NULL;
    int parsed = config_parse(&cfg, argc, argv, &info, &err);
    if (parsed == CONFIG_EXIT_OK) {
        if (rank == 0) fputs(info, stdout);
        return finish(EXIT_OK, NULL);
    }
    if (parsed == CONFIG_ERROR) return finish(EXIT_USAGE, &err);
    if (check_not_singleton(world, &err)) return finish(EXIT_USAGE, &err);
    int data_given = 0;
    for (int i = 1; i < argc; i++) data_given |= strncmp(argv[i], "--data", 6) == 0;
    resolve_default_data(&cfg, data_given);
    install_signal_handlers();
    h5_init();

    blas_set_threads(); /* one per rank: the ranks already fill the cores */

    idx_images img = {0};
    if (load_images(&cfg, &img, &err)) return finish(EXIT_RUNTIME, &err);
    if (img.n < world) {
        err_set(&err, "%s: only %d images have label %d, fewer than the %d ranks; each rank needs at least one",
                cfg.data, img.n, cfg.digit, world);
        idx_free(&img);
        return finish(EXIT_RUNTIME, &err);
    }

    const gan_hparams hp = {
        .noise_dim = cfg.noise_dim, .g_hidden = cfg.g_hidden, .d_hidden = cfg.d_hidden,
        .image_size = img.rows * img.cols, .leaky_alpha = (float)cfg.leaky_alpha,
        .dropout = (float)cfg.dropout, .smoothing = (float)cfg.label_smoothing,
        .smooth_by_scale = strcmp(cfg.smoothing_style, "scale") == 0,
        .adam = {cfg.lr, cfg.beta1, cfg.beta2, cfg.epsilon},
    };
    trainer t;
    trainer_init(&t, &hp, cfg.batch_size, img.pixels, img.n, (uint64_t)cfg.seed, MPI_COMM_WORLD);
    const run_facts run = {&cfg, world, (long long)cfg.batch_size * world, cfg.data, cfg.labels,
                           img.n, img.rows, img.cols};
    const int total_images = img.total;
    evaluator eval = {0};
    int eval_rc = rank == 0 && cfg.eval_every > 0
                      ? evaluator_init(&eval, &cfg, &img, hp.noise_dim, hp.g_hidden, &err) : 0;
    idx_free(&img);
    if (agree(eval_rc)) {
        evaluator_free(&eval);
        trainer_free(&t);
        return finish(EXIT_RUNTIME, &err);
    }

    char hosts[1024];
    describe_hosts(hosts, sizeof hosts, world);
    if (rank == 0) {
        printf("gan_train %s: %d rank%s%s; OpenBLAS %s kernels%s, %d thread%s per rank\n", GAN_VERSION, world,
               world > 1 ? "s" : "", hosts, openblas_get_corename(), blas_choice_note(),
               openblas_get_num_threads(), openblas_get_num_threads() > 1 ? "s" : "");
        printf("data: %s: %d of %d images have label %d (%dx%d); %d-%d per rank\n", cfg.data, run.n_images,
               total_images, cfg.digit, run.image_rows, run.image_cols, run.n_images / world,
               (run.n_images + world - 1) / world);
        printf("model: G %d-%d-%d (%zu params), D %d-%d-1 (%zu params); batch %d per rank, "
               "global %lld; %d steps\n", hp.noise_dim, hp.g_hidden, hp.image_size, t.model.g.n_params,
               hp.image_size, hp.d_hidden, t.model.d.n_params, cfg.batch_size, run.global_batch, cfg.steps);
        fflush(stdout);
    }
    if (cfg.ema_decay > 0) trainer_enable_ema(&t, (float)cfg.ema_decay);
    if (cfg.resume[0] && resume_trainer(&t, &cfg, run.n_images, &err)) {
        evaluator_free(&eval);
        trainer_free(&t);
        return finish(EXIT_RUNTIME, &err);
    }

    /* Rank 0's output state: directory, history file, fixed sample noise. */
    history hist;
    float *noise = NULL, *hidden = NULL, *images = NULL;
    int rc = 0;
    if (rank == 0) {
        noise = xmalloc(sizeof(float) * cfg.n_samples * hp.noise_dim);
        hidden = xmalloc(sizeof(float) * cfg.n_samples * hp.g_hidden);
        images = xmalloc(sizeof(float) * cfg.n_samples * hp.image_size);
        rng_t r = rng_make((uint64_t)cfg.seed, RNG_STREAM_SAMPLES);
        rng_fill_noise(&r, noise, (long)cfg.n_samples * hp.noise_dim);
        int found = 0;
        char samples_dir[PATH_LEN + 16];
        snprintf(samples_dir, sizeof samples_dir, "%s/samples", cfg.out);
        rc = make_dirs(cfg.out, &err);
        if (rc == 0) rc = make_dirs(samples_dir, &err);
        if (rc == 0 && cfg.resume[0]) rc = history_reopen(&hist, cfg.out, t.step, cfg.n_samples, hp.noise_dim, &run, &found, &err);
        if (rc == 0 && !found)
            rc = history_create(&hist, cfg.out, noise, cfg.n_samples, hp.noise_dim, &run, &err);
        if (rc == 0)
            printf("output: %s/checkpoint.h5, %s/history.h5%s\n", cfg.out, cfg.out,
                   found ? " (continued after the checkpoint's step)" : "");
        fflush(stdout);
    }
    if (agree(rc)) {
        free(noise), free(hidden), free(images);
        evaluator_free(&eval);
        trainer_free(&t);
        return finish(EXIT_RUNTIME, &err);
    }
    if (rank == 0 && t.step >= cfg.steps)
        printf("already at step %lld of %d: nothing to train\n", t.step, cfg.steps);

    const long long first_step = t.step;
    double start = MPI_Wtime(), last_time = start;
    long long last_step = first_step;
    while (t.step < cfg.steps && rc == 0 && !t.stopping) {
        t.stop_requested = stop_signal != 0;
        trainer_step(&t);
        const long long step = t.step;
        /* Rows, scores and samples follow their intervals and the run's end. A stop for a
         * signal only checkpoints (with the loss sums since the last row), so that the
         * resumed run's history is exactly the uninterrupted run's. */
        const int end = step == cfg.steps;
        const int do_eval = cfg.eval_every > 0 && (step % cfg.eval_every == 0 || end);
        const int do_log = step % cfg.log_every == 0 || end || do_eval;
        const int do_samples = (cfg.sample_every > 0 && step % cfg.sample_every == 0) || end;
        const int do_checkpoint =
            (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) || end || t.stopping;
        if (!do_log && !do_samples && !do_checkpoint) continue;

        gan_stats mean = {0};
        if (do_log) mean = trainer_take_stats(&t);
        run_state state = {0};
        if (do_checkpoint) trainer_gather_state(&t, &state);
        if (rank == 0) {
            double now = MPI_Wtime(), rate = (double)(step - last_step) * run.global_batch / (now - last_time);
            if (do_log) {
                char eta[32];
                format_duration(eta, sizeof eta,
                                (double)(cfg.steps - step) * (now - start) / (double)(step - first_step));
                printf("step %*lld/%d  d_loss %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f  %.0f img/s  ETA %s\n",
                       (int)snprintf(NULL, 0, "%d", cfg.steps), step, cfg.steps, mean.d_loss, mean.g_loss,
                       mean.d_real, mean.d_fake, rate, eta);
                fflush(stdout);
                history_row row = {step, {mean.d_loss, mean.g_loss, mean.d_real, mean.d_fake, rate, now - start,
                                          NAN, NAN, NAN, NAN, NAN}};
                double eval_seconds = 0;
                if (do_eval) {
                    quality q = evaluate(&eval, &t);
                    eval_seconds = MPI_Wtime() - now;
                    double scores[5] = {q.frac_target, q.confidence, q.frechet, q.diversity, q.nn_ratio};
                    memcpy(row.values + 6, scores, sizeof scores);
                    printf("quality at step %lld%s: %.1f%% classified as %d, Frechet distance %.2f (real/real %.2f), "
                           "diversity %.2f, nearest-neighbour ratio %.2f\n", step, t.ema ? " (EMA)" : "",
                           100 * q.frac_target, cfg.digit, q.frechet, eval.floor.frechet, q.diversity, q.nn_ratio);
                    fflush(stdout);
                }
                rc = history_append_metrics(&hist, &row, &err);
                last_time = now + eval_seconds, last_step = step; /* scoring is not training time */
            }
            if (rc == 0 && do_samples)
                rc = write_samples(&hist, &t.model, noise, cfg.n_samples, hidden, images, step, cfg.out, &run,
                                   &err);
            if (rc == 0 && do_checkpoint)
                rc = checkpoint_write(cfg.out, &t.model, t.ema, step, &state, &run, cfg.keep_checkpoints, &err);
            run_state_free(&state);
        }
        rc = agree(rc);
    }

    int status = EXIT_OK;
    if (rank == 0) {
        err_buf close_err;
        if (history_close(&hist, &close_err) && rc == 0) rc = -1, err = close_err;
        if (rc == 0 && t.stopping) {
            printf("stopped by a signal at step %lld of %d; checkpoint written to %s/checkpoint.h5; "
                   "continue with --resume (exit status %d)\n", t.step, cfg.steps, cfg.out, EXIT_PREEMPTED);
        } else if (rc == 0) {
            char wall[32];
            format_duration(wall, sizeof wall, MPI_Wtime() - start);
            printf("done: step %lld of %d (%lld this run) in %s; wrote %s/checkpoint.h5\n", t.step, cfg.steps,
                   t.step - first_step, wall, cfg.out);
        }
    }
    if (agree(rc)) status = EXIT_RUNTIME;
    else if (t.stopping) status = EXIT_PREEMPTED;
    free(noise);
    free(hidden);
    free(images);
    evaluator_free(&eval);
    trainer_free(&t);
    return finish(status, status == EXIT_RUNTIME ? &err : NULL);
}
