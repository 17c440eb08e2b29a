/* run.c: one training run, open / train / close (see run.h). */
#include "run.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "augment.h"
#include "best.h"
#include "blas.h"
#include "build_info.h"
#include "checkpoint.h"
#include "files.h"
#include "h5util.h"
#include "idx.h"
#include "launch.h"
#include "png_grid.h"
#include "record.h"
#include "watchdog.h"

static void format_duration(char *buf, size_t len, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

/* ---- open ----------------------------------------------------------------------------- */

/* Rank 0 reads and validates the dataset, then broadcasts the selected images. */
static int load_images(gan_config *cfg, idx_images *img, err_buf *err)
{
    int rc = 0;
    if (mpi_rank() == 0) {
        struct stat st;
        if (stat(cfg->data, &st) == 0 && S_ISDIR(st.st_mode)) { /* --data DIR: its standard IDX names */
            char dir[sizeof cfg->data];
            memcpy(dir, cfg->data, sizeof dir);
            if (idx_find_in_dir(dir, cfg->data, sizeof cfg->data, cfg->labels[0] ? NULL : cfg->labels,
                                sizeof cfg->labels, err)) {
                err_buf inner = *err;
                rc = err_set(err, "--data %s: %s", dir, inner.msg);
            } else {
                printf("data: --data %s is a directory: took %s and %s\n", dir, cfg->data, cfg->labels);
            }
        }
        if (rc == 0 && !cfg->labels[0] && idx_labels_path(cfg->data, cfg->labels, sizeof cfg->labels) != 0)
            rc = err_set(err, "--data %s: cannot derive the labels file (the name has no 'images-idx3'); "
                              "give it with --labels", cfg->data);
        if (rc == 0) rc = idx_load_digit(cfg->data, cfg->labels, cfg->digit, img, err);
    }
    if (mpi_agree(rc)) return -1;
    int dims[4] = {img->n, img->rows, img->cols, img->total};
    MPI_CHECK(MPI_Bcast(dims, 4, MPI_INT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(cfg->data, sizeof cfg->data, MPI_CHAR, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(cfg->labels, sizeof cfg->labels, MPI_CHAR, 0, MPI_COMM_WORLD));
    if (mpi_rank() != 0) {
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

/* The files' root attributes: every option, then the facts of this run. */
static void build_attrs(run *r)
{
    config_attrs(&r->cfg, &r->attrs);
    attrs_string(&r->attrs, "data", r->cfg.data); /* the paths used, after defaults */
    attrs_string(&r->attrs, "labels", r->cfg.labels);
    attrs_int(&r->attrs, "world_size", r->world);
    attrs_int(&r->attrs, "global_batch", r->global_batch);
    attrs_int(&r->attrs, "n_images", r->n_images);
    attrs_int(&r->attrs, "image_rows", r->image_rows);
    attrs_int(&r->attrs, "image_cols", r->image_cols);
    attrs_string(&r->attrs, "gan_train_version", GAN_VERSION);
    /* What the optimizer actually ran with, next to what was asked (--lr etc. above). */
    attrs_double(&r->attrs, "scale_kappa", r->adam.kappa);
    attrs_double(&r->attrs, "effective_lr", r->adam.lr);
    attrs_double(&r->attrs, "effective_beta1", r->adam.beta1);
    attrs_double(&r->attrs, "effective_beta2", r->adam.beta2);
    attrs_double(&r->attrs, "effective_epsilon", r->adam.epsilon);
}

static void print_banner(const run *r)
{
    const gan_config *c = &r->cfg;
    const gan *m = &r->t.model;
    char hosts[1024];
    launch_describe_hosts(hosts, sizeof hosts, r->world);
    if (r->rank != 0) return;
    printf("gan_train %s: %d rank%s%s; OpenBLAS %s kernels%s, %d thread%s per rank\n", GAN_VERSION, r->world,
           r->world > 1 ? "s" : "", hosts, openblas_get_corename(), blas_choice_note(), openblas_get_num_threads(),
           openblas_get_num_threads() > 1 ? "s" : "");
    printf("data: %s: %d of %d images have label %d (%dx%d); %d-%d per rank\n", c->data, r->n_images,
           r->total_images, c->digit, r->image_rows, r->image_cols, r->n_images / r->world,
           (r->n_images + r->world - 1) / r->world);
    printf("model: G %d-%d-%d (%zu params), D %d-%d-1 (%zu params); batch %d per rank, global %lld; %d steps\n",
           m->hp.noise_dim, m->hp.g_hidden, m->hp.image_size, m->g.n_params, m->hp.image_size, m->hp.d_hidden,
           m->d.n_params, c->batch_size, r->global_batch, c->steps);
    if (c->images > 0)
        printf("length: %lld images = %d steps of %lld (--images)\n", c->images, c->steps, r->global_batch);
    const adam_scaled *a = &r->adam;
    printf("optimizer: Adam lr %.4g, beta1 %.4g, beta2 %.6g, epsilon %.3g (--scale-rule %s, global batch %lld = "
           "%.4g x reference %d; given lr %g, beta1 %g, beta2 %g, epsilon %g)%s\n", a->lr, a->beta1, a->beta2,
           a->epsilon, c->scale_rule, r->global_batch, a->kappa, c->reference_batch, c->lr, c->beta1, c->beta2,
           c->epsilon, c->augment[0] && strcmp(c->augment, "none") ? "; D's inputs augmented" : "");
    const long long decay = config_cooldown_steps(c->cooldown, c->steps);
    if (decay > 0)
        printf("schedule: lr constant to step %lld, then linearly to 0 at step %d (--cooldown %g)\n",
               c->steps - decay, c->steps, c->cooldown);
    if (a->clamped)
        printf("warning: --scale-rule sqrt at %.4g x the reference batch would make a beta negative: clamped at 0 "
               "(Adam without that moment); a smaller --batch-size or --scale-rule linear avoids it\n", a->kappa);
    fflush(stdout);
}

/* Rank 0: the output directory, the history file (continued after a resume) and the
 * fixed sample noise behind every grid. */
static int open_outputs(run *r)
{
    const gan_config *c = &r->cfg;
    const gan_hparams *hp = &r->t.model.hp;
    r->noise = xmalloc(sizeof(float) * c->n_samples * hp->noise_dim);
    r->hidden = xmalloc(sizeof(float) * c->n_samples * hp->g_hidden);
    r->images = xmalloc(sizeof(float) * c->n_samples * hp->image_size);
    rng_t rng = rng_make((uint64_t)c->seed, RNG_STREAM_SAMPLES);
    rng_fill_noise(&rng, r->noise, (long)c->n_samples * hp->noise_dim);
    char samples_dir[PATH_LEN + 16];
    snprintf(samples_dir, sizeof samples_dir, "%s/samples", c->out);
    if (make_dirs(c->out, "--out", &r->err) || make_dirs(samples_dir, "--out", &r->err)) return -1;
    const history_layout lay = {c->n_samples, hp->noise_dim, r->image_rows, r->image_cols, &r->attrs};
    int found = 0;
    if (c->resume[0] && history_reopen(&r->hist, c->out, r->t.step, &lay, &found, &r->err)) return -1;
    if (!found && history_create(&r->hist, c->out, r->noise, &lay, &r->err)) return -1;
    r->hist_open = 1;
    printf("output: %s/checkpoint.h5, %s/history.h5%s\n", c->out, c->out,
           found ? " (continued after the checkpoint's step)" : "");
    fflush(stdout);
    return 0;
}

int run_open(run *r, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    mpi_setup_errors();
    r->rank = mpi_rank();
    r->world = mpi_world();
    gan_config *c = &r->cfg;
    const char *info = NULL;
    int parsed = config_parse(c, argc, argv, &info, &r->err);
    if (parsed == CONFIG_EXIT_OK) {
        if (r->rank == 0) fputs(info, stdout);
        return EXIT_OK;
    }
    if (parsed == CONFIG_ERROR || launch_check_not_singleton(r->world, &r->err)) return EXIT_USAGE;
    watchdog_start(c->collective_timeout, r->rank); /* before the first collective */
    launch_install_stop_signals();
    h5_init();
    blas_set_threads(); /* one per rank: the ranks already fill the cores */

    idx_images img = {0};
    if (load_images(c, &img, &r->err)) return EXIT_RUNTIME;
    if (img.n < r->world) {
        err_set(&r->err, "%s: only %d images have label %d, fewer than the %d ranks; each rank needs at least one",
                c->data, img.n, c->digit, r->world);
        idx_free(&img);
        return EXIT_RUNTIME;
    }
    r->n_images = img.n, r->total_images = img.total, r->image_rows = img.rows, r->image_cols = img.cols;
    r->global_batch = (long long)c->batch_size * r->world;
    if (c->images > 0) { /* the length in images: steps = images / global batch, rounded up */
        long long steps = (c->images + r->global_batch - 1) / r->global_batch;
        if (steps > 2000000000LL)
            err_set(&r->err, "--images %lld at a global batch of %lld is %lld steps, more than 2e9", c->images,
                    r->global_batch, steps);
        else if (c->steps != 0 && c->steps != steps) /* both from a config file: they must agree */
            err_set(&r->err, "steps %d and images %lld disagree at a global batch of %lld (%lld steps): give "
                             "--steps or --images on the command line", c->steps, c->images, r->global_batch, steps);
        if (steps > 2000000000LL || (c->steps != 0 && c->steps != steps)) {
            idx_free(&img);
            return EXIT_USAGE;
        }
        c->steps = (int)steps;
    }
    if (c->eval_every == EVAL_EVERY_AUTO) c->eval_every = c->steps >= 20 ? c->steps / 20 : 1;
    r->adam = config_scale_adam(c, r->global_batch);
    r->best_fd = INFINITY;
    build_attrs(r);

    gan_hparams hp = {
        .noise_dim = c->noise_dim, .g_hidden = c->g_hidden, .d_hidden = c->d_hidden,
        .image_size = img.rows * img.cols, .leaky_alpha = (float)c->leaky_alpha,
        .dropout = (float)c->dropout, .smoothing = (float)c->label_smoothing,
        .smooth_by_scale = strcmp(c->smoothing_style, "scale") == 0,
        .image_cols = img.cols,
        .adam = {r->adam.lr, r->adam.beta1, r->adam.beta2, r->adam.epsilon},
    };
    augment_parse(c->augment, &hp.augment); /* checked by config_parse */
    trainer_init(&r->t, &hp, c->batch_size, img.pixels, img.n, (uint64_t)c->seed, MPI_COMM_WORLD);
    r->trainer_ready = 1;
    r->t.on_nonfinite = strcmp(c->on_nonfinite, "stop") == 0 ? NONFINITE_STOP : NONFINITE_SKIP;
    int rc = r->rank == 0 && c->eval_every > 0
                 ? evaluator_init(&r->eval, c->classifier, c->digit, img.pixels, img.n, img.rows, img.cols,
                                  hp.noise_dim, hp.g_hidden, (uint64_t)c->seed, &r->err)
                 : 0;
    idx_free(&img);
    if (mpi_agree(rc)) return EXIT_RUNTIME;
    /* One run per --out, before anything is written there (lock.h). */
    rc = r->rank != 0 ? 0 : c->dry_run ? run_lock_check(c->out, &r->err) : run_lock_take(&r->lock, c->out, &r->err);
    rc = mpi_agree(rc);
    if (rc) return rc == LOCK_BUSY ? EXIT_USAGE : EXIT_RUNTIME;

    print_banner(r);
    if (r->rank == 0 && c->eval_every > 0)
        printf("scores: every %d steps, %d samples; OUT/best.h5 when the Frechet distance improves with a "
               "nearest-neighbour ratio >= 0.9 and >= %.2f%% classified as %d (real images: %.2f%%)%s\n",
               c->eval_every, EVAL_SAMPLES, 100 * best_min_frac(r), c->digit, 100 * r->eval.floor.frac_target,
               c->patience ? "; --patience counts scores without improvement" : "");
    if (c->ema_decay > 0) trainer_enable_ema(&r->t, (float)c->ema_decay);
    int saved_world = r->world;
    if (c->resume[0] && trainer_resume(&r->t, c->resume, c->seed, r->n_images, &saved_world, &r->err))
        return EXIT_RUNTIME;
    if (r->rank == 0 && saved_world != r->world && strcmp(c->scale_rule, "none") != 0)
        printf("optimizer: the checkpoint was trained on %d rank%s; Adam's settings above are re-derived for this "
               "run's global batch of %lld (--scale-rule %s)\n", saved_world, saved_world == 1 ? "" : "s",
               r->global_batch, c->scale_rule);
    /* The cool-down follows this run's length in steps, which a larger --steps, or --images on
     * another rank count, changes: say where the schedule stands. */
    if (c->resume[0] && r->rank == 0 && config_cooldown_steps(c->cooldown, c->steps) > 0)
        printf("schedule: resuming at step %lld of %d with the lr at %.4g of its value (--cooldown %g of %d "
               "steps)\n", r->t.step, c->steps, config_lr_factor(c->cooldown, r->t.step, c->steps), c->cooldown,
               c->steps);
    if (c->resume[0] && r->rank == 0 && c->eval_every > 0) best_recall(r);
    if (c->dry_run) return record_dry_run(r, argc, argv);
    if (mpi_agree(r->rank == 0 ? open_outputs(r) : 0)) return EXIT_RUNTIME;
    if (record_run(r, argc, argv)) return EXIT_RUNTIME;
    if (r->rank == 0 && r->t.step >= c->steps)
        printf("already at step %lld of %d: nothing to train\n", r->t.step, c->steps);
    return RUN_READY;
}

/* ---- train ---------------------------------------------------------------------------- */

/* Rank 0: G on the fixed noise (no dropout) in [0, 1], appended to the history and
 * drawn as OUT/samples/step_STEP.png, linked as OUT/samples/latest.png. */
static int write_samples(run *r, long long step)
{
    const gan *m = &r->t.model;
    const char *out = r->cfg.out;
    generator_sample01(&m->g, m->hp.leaky_alpha, r->noise, r->cfg.n_samples, r->hidden, r->images);
    if (history_append_samples(&r->hist, step, r->images, &r->err)) return -1;
    char png[PATH_LEN + 64], latest[PATH_LEN + 64];
    snprintf(png, sizeof png, "%s/samples/step_%08lld.png", out, step);
    snprintf(latest, sizeof latest, "%s/samples/latest.png", out);
    if (png_write_grid(png, r->images, r->cfg.n_samples, r->image_rows, r->image_cols, 2, &r->err)) return -1;
    return atomic_link(png, latest, &r->err);
}

/* Rank 0: say that a step's update was dropped (the first few times; /metrics counts all). */
static void note_skipped(const trainer *t)
{
    static int shown;
    if (shown >= 10) return;
    printf("step %lld: update dropped on every rank: non-finite %s (--on-nonfinite skip; counted in "
           "/metrics/skipped_steps)%s\n", t->step, t->nonfinite_what, ++shown == 10 ? "; further ones are only counted" : "");
    fflush(stdout);
}

enum { STEP_OK = 0, STEP_PATIENCE = 1 }; /* rank 0's verdict on an interval step; < 0: error */

int run_train(run *r)
{
    const gan_config *c = &r->cfg;
    trainer *t = &r->t;
    r->first_step = t->step;
    r->start = MPI_Wtime();
    double last_time = r->start;
    long long last_step = r->first_step;
    int rc = STEP_OK;
    while (t->step < c->steps && rc == STEP_OK && !t->stopping) {
        t->stop_requested = launch_stop_requested();
        t->lr_factor = config_lr_factor(c->cooldown, t->step, c->steps);
        trainer_step(t);
        const long long step = t->step;
        if (t->skipped && r->rank == 0 && !t->diverged) note_skipped(t);
        if (t->diverged) break; /* --on-nonfinite stop: nothing more is written */
        /* Rows, scores and samples follow their intervals and the run's end. A stop for a
         * signal only checkpoints (with the loss sums since the last row), so that the
         * resumed run's history is exactly the uninterrupted run's. */
        const int end = step == c->steps;
        const int do_eval = c->eval_every > 0 && (step % c->eval_every == 0 || end);
        const int do_log = step % c->log_every == 0 || end || do_eval;
        const int do_samples = (c->sample_every > 0 && step % c->sample_every == 0) || end;
        int do_checkpoint = (c->checkpoint_every > 0 && step % c->checkpoint_every == 0) || end || t->stopping;
        if (!do_log && !do_samples && !do_checkpoint) continue;

        gan_stats mean = {0};
        if (do_log) mean = trainer_take_stats(t);
        run_state state = {0};
        if (do_checkpoint || do_eval) trainer_gather_state(t, &state); /* best.h5 is a whole checkpoint too */
        if (r->rank == 0) {
            double now = MPI_Wtime(), rate = (double)(step - last_step) * r->global_batch / (now - last_time);
            if (do_log) {
                char eta[32];
                format_duration(eta, sizeof eta,
                                (double)(c->steps - step) * (now - r->start) / (double)(step - r->first_step));
                printf("step %*lld/%d  d_loss %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f  %.0f img/s  ETA %s\n",
                       (int)snprintf(NULL, 0, "%d", c->steps), step, c->steps, mean.d_loss, mean.g_loss,
                       mean.d_real, mean.d_fake, rate, eta);
                fflush(stdout);
                history_row row = {step, {mean.d_loss, mean.g_loss, mean.d_real, mean.d_fake, rate, now - r->start,
                                          NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
                                          (double)trainer_skipped_steps(t)}};
                double eval_seconds = 0;
                if (do_eval) {
                    quality q = best_score(r, step, &row);
                    if (best_keep(r, &q, step, &state) < 0) rc = -1;
                    else if (c->patience > 0 && r->scores_since_best >= c->patience) rc = STEP_PATIENCE;
                    eval_seconds = MPI_Wtime() - now;
                    row.values[13] = eval_seconds;
                }
                if (rc >= 0 && history_append_metrics(&r->hist, &row, &r->err)) rc = -1;
                last_time = now + eval_seconds, last_step = step; /* scoring is not training time */
            }
            if (rc == STEP_PATIENCE) do_checkpoint = 1; /* the run ends here: its final checkpoint */
            if (rc >= 0 && do_samples && write_samples(r, step)) rc = -1;
            if (rc >= 0 && do_checkpoint && !trainer_finite(t)) /* never over the last finite checkpoint */
                rc = RUN_NONFINITE, err_set(&r->err, "step %lld: the weights or Adam state are no longer finite; "
                                                      "stopped without writing %s/checkpoint.h5", step, c->out);
            if (rc >= 0 && do_checkpoint &&
                checkpoint_write(c->out, &t->model, t->ema, step, &state, &r->attrs, c->keep_checkpoints, &r->err))
                rc = -1;
            run_state_free(&state);
        }
        rc = mpi_agree(rc);
    }
    if (r->rank == 0) {
        err_buf close_err;
        r->hist_open = 0;
        if (history_close(&r->hist, &close_err) && rc >= 0) rc = -1, r->err = close_err;
        if (rc == STEP_PATIENCE)
            printf("stopped early at step %lld of %d: %d scores without improvement (--patience %d); best "
                   "Frechet distance %.2f at step %lld in %s/best.h5\n", t->step, c->steps, r->scores_since_best,
                   c->patience, r->best_fd, r->best_step, c->out);
    }
    rc = mpi_agree(rc);
    if (t->diverged)
        err_set(&r->err, "step %lld: non-finite %s (--on-nonfinite stop); stopped without applying it or writing "
                         "a checkpoint: %s/checkpoint.h5, if any, holds the last finite state", t->step,
                t->nonfinite_what, c->out);
    if (t->diverged || rc == RUN_NONFINITE) return EXIT_DIVERGED;
    if (rc < 0) return EXIT_RUNTIME;
    return t->stopping ? EXIT_PREEMPTED : EXIT_OK;
}

/* ---- close ---------------------------------------------------------------------------- */

int run_close(run *r, int status)
{
    const gan_config *c = &r->cfg;
    if (r->rank == 0) {
        if (status == EXIT_USAGE || status == EXIT_RUNTIME || status == EXIT_DIVERGED) {
            fprintf(stderr, "gan_train: error: %s\n", r->err.msg);
        } else if (status == EXIT_PREEMPTED) {
            printf("stopped by a signal at step %lld of %d; checkpoint written to %s/checkpoint.h5; "
                   "continue with --resume (exit status %d)\n", r->t.step, c->steps, c->out, EXIT_PREEMPTED);
        } else if (r->trainer_ready && !c->dry_run) {
            char wall[32];
            format_duration(wall, sizeof wall, MPI_Wtime() - r->start);
            printf("done: step %lld of %d (%lld this run) in %s; wrote %s/checkpoint.h5\n", r->t.step, c->steps,
                   r->t.step - r->first_step, wall, c->out);
        }
        if (r->hist_open) history_close(&r->hist, &(err_buf){{0}});
        if (r->status_file)
            record_status(r, status == EXIT_OK ? "finished" : status == EXIT_PREEMPTED ? "stopped" : "failed", status,
                         &(err_buf){{0}});
    }
    free(r->noise), free(r->hidden), free(r->images);
    evaluator_free(&r->eval);
    if (r->trainer_ready) trainer_free(&r->t);
    attrs_free(&r->attrs);
    run_lock_release(&r->lock); /* every file is closed */
    fflush(stdout);
    watch_enter("MPI_Finalize() @" __FILE__);
    MPI_Finalize();
    watch_leave();
    watchdog_stop();
    return status;
}
