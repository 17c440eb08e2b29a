/* run.c: one training run, open / train / close (see run.h). */
#include "run.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blas.h"
#include "build_info.h"
#include "checkpoint.h"
#include "classifier_store.h"
#include "files.h"
#include "gemm.h"
#include "h5util.h"
#include "idx.h"
#include "launch.h"
#include "options.h"
#include "paths.h"
#include "png_grid.h"
#include "record.h"
#include "watchdog.h"

/* --precision auto's smallest per-rank batch for bf16: below it, rounding whole weight matrices
 * for a few rows costs more than the faster products save (Zen 4: batch 1 0.6x of fp32, batch 4
 * even, batch 8 1.1x, 64 1.7x; docs/performance.md, "bf16"). */
enum { AUTO_BF16_MIN_BATCH = 8 };

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
        int was_dir = 0;
        char data[PATH_LEN];
        snprintf(data, sizeof data, "%s", cfg->data);
        rc = idx_resolve(data, cfg->labels, cfg->data, cfg->labels, &was_dir, err);
        if (rc == 0 && was_dir) printf("data: --data %s is a directory: took %s and %s\n", data, cfg->data, cfg->labels);
        if (rc == 0) rc = idx_load_digit(cfg->data, cfg->labels, cfg->digit, img, err);
        if (rc == 0) absolute_path(cfg->data), absolute_path(cfg->labels); /* the files record where, from anywhere */
    }
    if (mpi_agree(rc)) return -1;
    int dims[4] = {img->n, img->rows, img->cols, img->total};
    MPI_CHECK(MPI_Bcast(dims, 4, MPI_INT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(&img->fingerprint, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));
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
    options_attrs(&r->cfg, &r->attrs);
    attrs_string(&r->attrs, "data", r->cfg.data); /* the paths used, after defaults */
    attrs_string(&r->attrs, "labels", r->cfg.labels);
    char fingerprint[17];
    snprintf(fingerprint, sizeof fingerprint, "%016llx", (unsigned long long)r->fingerprint);
    attrs_string(&r->attrs, "data_fingerprint", fingerprint); /* what the classifier must have been trained on */
    attrs_int(&r->attrs, "world_size", r->world);
    attrs_int(&r->attrs, "global_batch", r->global_batch);
    attrs_int(&r->attrs, "batch_capped", r->batch.capped); /* 1: --batch-size auto fitted it to the data */
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
    attrs_string(&r->attrs, "effective_precision", r->precision == GEMM_BF16 ? "bf16" : "fp32");
}

/* Rank 0: the precision of the products and the kernel that runs them. */
static void print_precision(const run *r)
{
    char kernel[256], why[128] = "";
    gemm_describe(&r->t.model.mm, kernel, sizeof kernel);
    const int support = gemm_bf16_support();
    if (r->cfg.precision == PRECISION_AUTO && support == GEMM_BF16_NATIVE && r->precision == GEMM_FP32)
        snprintf(why, sizeof why, ": batch below %d per rank, where bf16 is not faster", AUTO_BF16_MIN_BATCH);
    else if (r->cfg.precision == PRECISION_AUTO)
        snprintf(why, sizeof why, ": %s", support == GEMM_BF16_UNBUILT ? "built without oneDNN"
                                          : support == GEMM_BF16_NATIVE ? "native bf16 on this CPU"
                                                                        : "no native bf16 on this CPU");
    printf("precision: %s (--precision %s%s)\n", kernel, precision_words[r->cfg.precision], why);
    if (r->precision == GEMM_BF16 && support != GEMM_BF16_NATIVE)
        printf("warning: this CPU has no native bf16 matrix instructions (AVX512-BF16, AMX-BF16): the bf16 products "
               "are emulated, with bf16's rounding at below fp32's speed; --precision fp32 or auto is faster here\n");
}

/* Rank 0: how the gradient sums travel, when that is worth a line: across hosts, in a compressed
 * form, or hierarchical. */
static void print_comm_plan(const run *r)
{
    const trainer *t = &r->t;
    const comm_ctx *k = &t->grad_comm;
    if (r->world < 2 || (k->n_nodes < 2 && r->cfg.compress == COMPRESS_NONE && !k->hierarchical)) return;
    char form[32];
    option_format(&r->cfg, find_option("compress"), form, sizeof form);
    printf("communication: %d rank%s on %d host%s (up to %d per host); per step each rank sums %.0f KB of D's "
           "gradients and %.0f KB of G's (--compress %s)%s\n", r->world, r->world > 1 ? "s" : "", k->n_nodes,
           k->n_nodes > 1 ? "s" : "", k->max_per_node, reducer_bytes(&t->reduce_d) / 1e3,
           reducer_bytes(&t->reduce_g) / 1e3, form,
           k->hierarchical ? "; hierarchical: within each host first, one rank per host on the network" : "");
}

/* Rank 0: when the global batch outgrows the data, what that means and what the run does. */
static void print_batch_fit(const run *r)
{
    const long long n = r->n_images, global = r->global_batch;
    if (r->batch.capped)
        printf("batch: %d per rank x %d ranks would be %lld images a step, more than the %lld training images; "
               "--batch-size auto takes %d per rank (global %lld), so that a step sees each image at most once "
               "(docs/quality.md)\n", BATCH_DEFAULT, r->world, (long long)BATCH_DEFAULT * r->world, n,
               r->cfg.batch_size, global);
    else if (r->batch.over)
        printf("warning: the global batch of %lld is %.1fx the %lld training images: each step sees every image "
               "about %.1f times, which on the shipped zeros makes grainy samples (docs/quality.md); --batch-size "
               "auto would take %d per rank\n", global, (double)global / n, n, (double)global / n,
               schedule_batch(BATCH_AUTO, n, r->world).per_rank);
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
    print_precision(r);
    printf("data: %s: %d of %d images have label %d (%dx%d); %d-%d per rank\n", c->data, r->n_images,
           r->total_images, c->digit, r->image_rows, r->image_cols, r->n_images / r->world,
           (r->n_images + r->world - 1) / r->world);
    printf("model: G %d-%d-%d (%zu params), D %d-%d-1 (%zu params); batch %d per rank, global %lld; %d steps\n",
           m->hp.noise_dim, m->hp.g_hidden, m->hp.image_size, m->g.n_params, m->hp.image_size, m->hp.d_hidden,
           m->d.n_params, c->batch_size, r->global_batch, c->steps);
    if (c->images > 0)
        printf("length: %lld images = %d steps of %lld (--images)\n", c->images, c->steps, r->global_batch);
    print_batch_fit(r);
    const adam_scaled *a = &r->adam;
    char r1[48] = "";
    if (c->r1 > 0) snprintf(r1, sizeof r1, "; D's R1 penalty %g", c->r1);
    printf("optimizer: Adam lr %.4g, beta1 %.4g, beta2 %.6g, epsilon %.3g (--scale-rule %s, global batch %lld = "
           "%.4g x reference %d; given lr %g, beta1 %g, beta2 %g, epsilon %g)%s%s\n", a->lr, a->beta1, a->beta2,
           a->epsilon, scale_rule_words[c->scale_rule], r->global_batch, a->kappa, c->reference_batch, c->lr, c->beta1,
           c->beta2, c->epsilon, c->augment ? "; D's inputs augmented" : "", r1);
    const long long decay = schedule_cooldown_steps(c->cooldown, c->steps);
    if (decay > 0)
        printf("schedule: lr constant to step %lld, then linearly to 0 at step %d (--cooldown %g)\n",
               c->steps - decay, c->steps, c->cooldown);
    if (a->clamped)
        printf("warning: --scale-rule sqrt at %.4g x the reference batch would make a beta negative: clamped at 0 "
               "(Adam without that moment); a smaller --batch-size or --scale-rule linear avoids it\n", a->kappa);
    print_comm_plan(r);
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
    char samples_dir[PATH_LEN + 64];
    out_path(samples_dir, sizeof samples_dir, c->out, OUT_SAMPLES);
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

/* The options; after --help, --version or an error, the exit status. */
static int parse_options(run *r, int argc, char **argv)
{
    const char *help = NULL;
    int parsed = config_parse(&r->cfg, argc, argv, &help, &r->err);
    if (parsed == CONFIG_HELP || parsed == CONFIG_VERSION) {
        if (r->rank == 0) fputs(parsed == CONFIG_HELP ? help : record_build(), stdout);
        return EXIT_OK;
    }
    if (parsed == CONFIG_ERROR || launch_check_not_singleton(r->world, &r->err)) return EXIT_USAGE;
    return RUN_READY;
}

/* The selected images (every rank gets them all; the trainer keeps its shard). */
static int load_data(run *r, idx_images *img)
{
    if (load_images(&r->cfg, img, &r->err)) return EXIT_RUNTIME;
    if (img->n < r->world)
        return err_set(&r->err, "%s: only %d images have label %d, fewer than the %d ranks; each rank needs at least "
                                "one", r->cfg.data, img->n, r->cfg.digit, r->world), EXIT_RUNTIME;
    r->n_images = img->n, r->total_images = img->total, r->image_rows = img->rows, r->image_cols = img->cols;
    r->fingerprint = img->fingerprint, r->classes = img->classes; /* rank 0's */
    return RUN_READY;
}

/* Rank 0, no classifier of the data yet: --dry-run checks that one could be trained and kept;
 * the run trains it (after checking --out is not in use: no minutes of work for a busy --out). */
static int make_classifier(run *r, const char *path)
{
    gan_config *c = &r->cfg;
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0'; /* the cache file's name always follows a directory */
    if (c->dry_run) {
        if (check_dirs(dir, "the classifier cache", &r->err)) return -1;
        printf("scores: no classifier of %s yet: the run would train one first and keep it as %s\n", c->data, path);
        r->classifier_pending = 1;
        return 0;
    }
    if (run_lock_check(c->out, &r->err)) return -1;
    printf("scores: no classifier of %s yet: training one (once; kept as %s)\n", c->data, path);
    fflush(stdout);
    return classifier_make(c->data, c->labels, 0, path, 1, stdout, &r->err);
}

/* With --eval-every: the classifier of this data into cfg->classifier (classifier_store.h). Rank 0
 * finds it, or trains one into the cache while the other ranks wait (seconds: the training is
 * bounded by CLASSIFIER_IMAGE_BUDGET). Data of one class cannot have a classifier: scores are off. */
static int find_classifier(run *r)
{
    gan_config *c = &r->cfg;
    if (c->eval_every == 0) return RUN_READY;
    int rc = 0;
    if (r->rank == 0 && r->classes < 2) {
        printf("scores: off: %s has one class, and a classifier needs two or more (as --eval-every 0)\n", c->labels);
        c->eval_every = 0;
    } else if (r->rank == 0) {
        char path[PATH_LEN];
        const int named = strcmp(c->classifier, CLASSIFIER_AUTO) != 0;
        rc = classifier_find(c->classifier, NULL, r->fingerprint, c->data, path, sizeof path, &r->err);
        if (rc < 0 && named) {
            err_buf why = r->err;
            err_set(&r->err, "--classifier: %s (leave it out, or auto, to use or train one for this data; or "
                             "--eval-every 0)", why.msg);
        }
        if (rc == CLASSIFIER_NONE) rc = make_classifier(r, path);
        if (rc == 0) snprintf(c->classifier, sizeof c->classifier, "%s", path), absolute_path(c->classifier);
    }
    if (mpi_agree(rc)) return EXIT_RUNTIME;
    MPI_CHECK(MPI_Bcast(&c->eval_every, 1, MPI_INT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(c->classifier, sizeof c->classifier, MPI_CHAR, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(&r->classifier_pending, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return RUN_READY;
}

/* --batch-size for the data and the ranks (schedule_batch): the number the run trains with. */
static int size_batch(run *r)
{
    r->batch = schedule_batch(r->cfg.batch_size, r->n_images, r->world);
    r->cfg.batch_size = r->batch.per_rank;
    return RUN_READY;
}

/* --precision for this build and CPU: auto is bf16 where oneDNN finds native bf16 matrix
 * instructions and the per-rank batch is at least AUTO_BF16_MIN_BATCH; bf16 without oneDNN
 * is refused. */
static int choose_precision(run *r)
{
    const int support = gemm_bf16_support(), asked = r->cfg.precision;
    if (asked == PRECISION_BF16 && support == GEMM_BF16_UNBUILT)
        return err_set(&r->err, "--precision bf16: this gan_train was built without oneDNN (install libdnnl-dev and "
                                "rebuild); use --precision fp32 or auto"), EXIT_USAGE;
    const int auto_bf16 = support == GEMM_BF16_NATIVE && r->cfg.batch_size >= AUTO_BF16_MIN_BATCH;
    r->precision = asked == PRECISION_BF16 || (asked == PRECISION_AUTO && auto_bf16) ? GEMM_BF16 : GEMM_FP32;
    return RUN_READY;
}

/* The run's size: the global batch, the steps (from --images when it gives the length), the
 * score interval, Adam's settings for the global batch, and the files' attributes. */
static int size_run(run *r)
{
    gan_config *c = &r->cfg;
    r->global_batch = (long long)c->batch_size * r->world;
    if (c->images > 0) { /* the length in images: steps = images / global batch, rounded up */
        long long steps = (c->images + r->global_batch - 1) / r->global_batch;
        if (steps > 2000000000LL)
            return err_set(&r->err, "--images %lld at a global batch of %lld is %lld steps, more than 2e9", c->images,
                           r->global_batch, steps), EXIT_USAGE;
        if (c->steps != 0 && c->steps != steps) /* both from a config file: they must agree */
            return err_set(&r->err, "steps %d and images %lld disagree at a global batch of %lld (%lld steps): give "
                                    "--steps or --images on the command line", c->steps, c->images, r->global_batch,
                           steps), EXIT_USAGE;
        c->steps = (int)steps;
    }
    if (c->eval_every == EVAL_EVERY_AUTO) c->eval_every = c->steps >= 20 ? c->steps / 20 : 1;
    r->adam = schedule_adam(c, r->global_batch);
    build_attrs(r);
    return RUN_READY;
}

/* Both networks on every rank, each rank's shard, and rank 0's evaluator (with --eval-every). */
static int setup_training(run *r, const idx_images *img)
{
    const gan_config *c = &r->cfg;
    gan_hparams hp = {
        .noise_dim = c->noise_dim, .g_hidden = c->g_hidden, .d_hidden = c->d_hidden,
        .image_size = img->rows * img->cols, .leaky_alpha = (float)c->leaky_alpha,
        .dropout = (float)c->dropout, .smoothing = (float)c->label_smoothing,
        .smooth_by_scale = c->smoothing_style == SMOOTH_SCALE, .augment = c->augment,
        .image_cols = img->cols, .precision = r->precision, .r1 = (float)c->r1,
        .adam = {r->adam.lr, r->adam.beta1, r->adam.beta2, r->adam.epsilon},
    };
    trainer_init(&r->t, &hp, c->batch_size, img->pixels, img->n, (uint64_t)c->seed, MPI_COMM_WORLD);
    r->trainer_ready = 1;
    r->t.on_nonfinite = c->on_nonfinite == ON_NONFINITE_STOP ? NONFINITE_STOP : NONFINITE_SKIP;
    if (c->ema_decay > 0) trainer_enable_ema(&r->t, (float)c->ema_decay);
    const int hierarchical[] = {[HIERARCHICAL_AUTO] = -1, [HIERARCHICAL_ON] = 1, [HIERARCHICAL_OFF] = 0};
    trainer_set_comm(&r->t, c->compress, c->compress_rank, hierarchical[c->hierarchical], c->overlap == OVERLAP_ON);
    int rc = 0;
    if (r->rank == 0 && c->eval_every > 0 && !r->classifier_pending) {
        rc = evaluator_init(&r->eval, c->classifier, c->digit, img->pixels, img->n, img->rows, img->cols,
                            hp.noise_dim, hp.g_hidden, (uint64_t)c->seed, &r->err);
        if (rc == 0) best_init(&r->best, r->eval.floor.frac_target);
    }
    return mpi_agree(rc) ? EXIT_RUNTIME : RUN_READY;
}

/* One run per --out, before anything is written there (lock.h); --dry-run only checks. */
static int lock_out(run *r)
{
    const char *out = r->cfg.out;
    int rc = r->rank != 0 ? 0 : r->cfg.dry_run ? run_lock_check(out, &r->err) : run_lock_take(&r->lock, out, &r->err);
    rc = mpi_agree(rc);
    return rc == 0 ? RUN_READY : rc == LOCK_BUSY ? EXIT_USAGE : EXIT_RUNTIME;
}

/* Rank 0: how scores are taken and what makes best.h5. */
static void print_scoring(const run *r)
{
    const gan_config *c = &r->cfg;
    if (r->rank != 0 || c->eval_every <= 0 || r->classifier_pending) return;
    const classifier_info *k = &r->eval.clf.info;
    printf("scores: the classifier %s (%d classes, held-out accuracy %.4f)\n", c->classifier, r->eval.clf.net.out,
           k->held_out_accuracy);
    printf("scores: every %d steps, %d samples; OUT/best.h5 when the Frechet distance improves with a "
           "nearest-neighbour ratio >= 0.9 and >= %.2f%% classified as %d (real images: %.2f%%)%s\n",
           c->eval_every, EVAL_SAMPLES, 100 * r->best.min_frac, c->digit, 100 * r->eval.floor.frac_target,
           c->patience ? "; --patience counts scores without improvement" : "");
}

/* With --resume: the checkpoint's state, then what changed with it: Adam's settings on
 * another rank count, where the cool-down stands, the best score so far. */
static int resume_run(run *r)
{
    const gan_config *c = &r->cfg;
    int saved_world = r->world;
    if (trainer_resume(&r->t, c->resume, c->seed, r->n_images, &saved_world, &r->err)) return EXIT_RUNTIME;
    if (r->rank != 0) return RUN_READY;
    if (saved_world != r->world && c->scale_rule != SCALE_NONE)
        printf("optimizer: the checkpoint was trained on %d rank%s; Adam's settings above are re-derived for this "
               "run's global batch of %lld (--scale-rule %s)\n", saved_world, saved_world == 1 ? "" : "s",
               r->global_batch, scale_rule_words[c->scale_rule]);
    /* The cool-down follows this run's length in steps, which a larger --steps, or --images on
     * another rank count, changes: say where the schedule stands. */
    if (schedule_cooldown_steps(c->cooldown, c->steps) > 0)
        printf("schedule: resuming at step %lld of %d with the lr at %.4g of its value (--cooldown %g of %d "
               "steps)\n", r->t.step, c->steps, schedule_lr_factor(c->cooldown, r->t.step, c->steps), c->cooldown,
               c->steps);
    if (c->eval_every > 0) best_recall(&r->best, c->out, r->t.step, c->eval_every);
    return RUN_READY;
}

/* Collective: the facts config.ini records (hosts is filled on rank 0). */
static run_facts gather_facts(const run *r, int argc, char **argv, char *hosts, size_t len)
{
    launch_describe_hosts(hosts, len, r->world);
    return (run_facts){argc, argv, r->world, hosts, r->global_batch, r->batch.capped, r->n_images, r->total_images,
                       r->image_rows, r->image_cols, r->t.step, r->cfg.resume};
}

/* Collective --dry-run, at the point where the real run starts writing: the remaining check
 * (--out, as make_dirs would find it), then the configuration and the work. */
static int dry_run(run *r, int argc, char **argv)
{
    char hosts[1024], samples_dir[PATH_LEN + 64];
    run_facts facts = gather_facts(r, argc, argv, hosts, sizeof hosts);
    out_path(samples_dir, sizeof samples_dir, r->cfg.out, OUT_SAMPLES);
    int rc = r->rank == 0 ? check_dirs(r->cfg.out, "--out", &r->err) || check_dirs(samples_dir, "--out", &r->err) : 0;
    if (mpi_agree(rc)) return EXIT_RUNTIME;
    if (r->rank == 0) record_dry_run(&r->cfg, &facts);
    return EXIT_OK;
}

/* Collective: rank 0's outputs, then OUT/config.ini (rewritten at every start, a resume's
 * too) and OUT/status "running". */
static int start_outputs(run *r, int argc, char **argv)
{
    if (mpi_agree(r->rank == 0 ? open_outputs(r) : 0)) return EXIT_RUNTIME;
    char hosts[1024];
    run_facts facts = gather_facts(r, argc, argv, hosts, sizeof hosts);
    int rc = 0;
    if (r->rank == 0) {
        rc = record_write_ini(&r->cfg, &facts, &r->err);
        if (rc == 0) rc = record_status(r->cfg.out, "running", r->t.step, r->cfg.steps, -1, &r->err);
        r->status_file = rc == 0;
    }
    if (mpi_agree(rc)) return EXIT_RUNTIME;
    if (r->rank == 0 && r->t.step >= r->cfg.steps)
        printf("already at step %lld of %d: nothing to train\n", r->t.step, r->cfg.steps);
    return RUN_READY;
}

int run_open(run *r, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    mpi_setup_errors();
    r->rank = mpi_rank();
    r->world = mpi_world();
    int status = parse_options(r, argc, argv);
    if (status != RUN_READY) return status;
    watchdog_start(r->cfg.collective_timeout, r->rank); /* before the first collective */
    launch_install_stop_signals();
    h5_init();
    blas_set_threads(); /* one per rank: the ranks already fill the cores */

    idx_images img = {0};
    status = load_data(r, &img);
    if (status == RUN_READY) status = find_classifier(r);
    if (status == RUN_READY) status = size_batch(r);
    if (status == RUN_READY) status = choose_precision(r);
    if (status == RUN_READY) status = size_run(r);
    if (status == RUN_READY) status = setup_training(r, &img);
    idx_free(&img);
    if (status == RUN_READY) status = lock_out(r);
    if (status != RUN_READY) return status;
    print_banner(r);
    print_scoring(r);
    if (r->cfg.resume[0] && (status = resume_run(r)) != RUN_READY) return status;
    if (r->cfg.dry_run) return dry_run(r, argc, argv);
    return start_outputs(r, argc, argv);
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
    out_path(png, sizeof png, out, OUT_SAMPLE_AT, step);
    out_path(latest, sizeof latest, out, OUT_SAMPLE_LATEST);
    if (png_write_grid(png, r->images, r->cfg.n_samples, r->image_rows, r->image_cols, 2, &r->err)) return -1;
    return atomic_link(png, latest, &r->err);
}

/* Rank 0: say that a step's update was dropped (the first few times; /metrics counts all). */
static void note_skipped(const trainer *t)
{
    static int shown;
    if (shown >= 10) return;
    printf("step %lld: update dropped on every rank: non-finite %s (--on-nonfinite skip; counted in "
           "/metrics/skipped_steps)%s\n", t->skipped_at, t->nonfinite_what, ++shown == 10 ? "; further ones are only counted" : "");
    fflush(stdout);
}

/* Rank 0's verdict on an interval step; < 0: an error (RUN_NONFINITE: the weights are no
 * longer finite). */
enum { STEP_OK = 0, STEP_PATIENCE = 1, RUN_NONFINITE = -2 };

/* What is due after a step: rows, scores and samples follow their intervals and the run's
 * end. A stop for a signal only checkpoints (with the loss sums since the last row), so that
 * the resumed run's history is exactly the uninterrupted run's. */
typedef struct {
    int eval, log, samples, checkpoint;
} due_work;

static due_work work_due(const gan_config *c, long long step, int stopping)
{
    const int end = step == c->steps;
    due_work due;
    due.eval = c->eval_every > 0 && (step % c->eval_every == 0 || end);
    due.log = step % c->log_every == 0 || end || due.eval;
    due.samples = (c->sample_every > 0 && step % c->sample_every == 0) || end;
    due.checkpoint = (c->checkpoint_every > 0 && step % c->checkpoint_every == 0) || end || stopping;
    return due;
}

/* When the last progress line was printed: the rate covers the steps since. */
typedef struct {
    double time;
    long long step;
} interval_mark;

/* Rank 0: a score into the row; a better one becomes best.h5. STEP_OK, STEP_PATIENCE or -1. */
static int score(run *r, long long step, const run_state *state, history_row *row)
{
    const trainer *t = &r->t;
    quality q = best_score(&r->eval, t, r->cfg.digit, step);
    const double values[] = {q.frac_target, q.confidence, q.frechet, q.diversity, q.nn_ratio, q.background, q.speckle};
    memcpy(&row->values[METRIC_EVAL_FRAC], values, sizeof values); /* METRIC_EVAL_FRAC to METRIC_EVAL_SPECKLE */
    if (best_improves(&r->best, &q, step, trainer_finite(t)) &&
        best_write(r->cfg.out, t, &q, step, state, &r->attrs, &r->err))
        return -1;
    return r->cfg.patience > 0 && r->best.scores_since >= r->cfg.patience ? STEP_PATIENCE : STEP_OK;
}

/* Rank 0: the progress line and its /metrics row, with a score when one is due. */
static int log_interval(run *r, const due_work *due, const gan_stats *mean, const run_state *state,
                        interval_mark *last)
{
    const gan_config *c = &r->cfg;
    const long long step = r->t.step;
    double now = MPI_Wtime(), rate = (double)(step - last->step) * r->global_batch / (now - last->time);
    char eta[32];
    format_duration(eta, sizeof eta, (double)(c->steps - step) * (now - r->start) / (double)(step - r->first_step));
    const trainer *t = &r->t;
    char comm[32] = "";
    if (r->world > 1 && t->interval_compute_s + t->interval_comm_s > 0)
        snprintf(comm, sizeof comm, "  comm %.0f%%", 100 * t->interval_comm_s / (t->interval_compute_s + t->interval_comm_s));
    printf("step %*lld/%d  d_loss %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f  %.0f img/s  ETA %s%s\n",
           (int)snprintf(NULL, 0, "%d", c->steps), step, c->steps, mean->d_loss, mean->g_loss, mean->d_real,
           mean->d_fake, rate, eta, comm);
    fflush(stdout);
    history_row row = {.step = step};
    for (int i = 0; i < HISTORY_N_METRICS; i++) row.values[i] = NAN;
    row.values[METRIC_D_LOSS] = mean->d_loss, row.values[METRIC_G_LOSS] = mean->g_loss;
    row.values[METRIC_D_REAL] = mean->d_real, row.values[METRIC_D_FAKE] = mean->d_fake;
    row.values[METRIC_SAMPLES_PER_SEC] = rate, row.values[METRIC_ELAPSED_S] = now - r->start;
    row.values[METRIC_SKIPPED_STEPS] = (double)trainer_skipped_steps(t);
    row.values[METRIC_COMPUTE_S] = t->interval_compute_s, row.values[METRIC_COMM_S] = t->interval_comm_s;
    int rc = STEP_OK;
    double eval_seconds = 0;
    if (due->eval) {
        rc = score(r, step, state, &row);
        eval_seconds = MPI_Wtime() - now;
        row.values[METRIC_EVAL_S] = eval_seconds;
    }
    if (rc >= 0 && history_append_metrics(&r->hist, &row, &r->err)) rc = -1;
    *last = (interval_mark){now + eval_seconds, step}; /* scoring is not training time */
    return rc;
}

/* Rank 0: OUT/checkpoint.h5, never over the last finite one. */
static int write_checkpoint(run *r, const run_state *state)
{
    const trainer *t = &r->t;
    const gan_config *c = &r->cfg;
    if (!trainer_finite(t))
        return err_set(&r->err, "step %lld: the weights or Adam state are no longer finite; stopped without writing "
                                "%s/checkpoint.h5", t->step, c->out), RUN_NONFINITE;
    return checkpoint_write(c->out, &t->model, t->ema, t->step, state, &r->attrs, c->keep_checkpoints, &r->err);
}

/* Collective: what is due after this step. Returns rank 0's verdict (the caller agrees on it). */
static int interval_work(run *r, due_work due, interval_mark *last)
{
    trainer *t = &r->t;
    gan_stats mean = {0};
    if (due.log) mean = trainer_take_stats(t);
    run_state state = {0};
    if (due.checkpoint || due.eval) trainer_gather_state(t, &state); /* best.h5 is a whole checkpoint too */
    if (r->rank != 0) return STEP_OK;
    int rc = due.log ? log_interval(r, &due, &mean, &state, last) : STEP_OK;
    if (rc == STEP_PATIENCE) due.checkpoint = 1; /* the run ends here: its final checkpoint */
    if (rc >= 0 && due.samples && write_samples(r, t->step)) rc = -1;
    if (rc >= 0 && due.checkpoint) {
        int written = write_checkpoint(r, &state);
        if (written < 0) rc = written;
    }
    run_state_free(&state);
    return rc;
}

/* Collective, after the loop: close the history, say why the run ended, the exit status. */
static int finish_training(run *r, int rc)
{
    const gan_config *c = &r->cfg;
    const trainer *t = &r->t;
    double times[2] = {-t->phase_seconds[PHASE_ALLREDUCE] - t->phase_seconds[PHASE_WAIT],
                       t->phase_seconds[PHASE_ALLREDUCE] + t->phase_seconds[PHASE_WAIT]};
    for (int p = 0; p < PHASE_COUNT; p++) times[0] += t->phase_seconds[p];
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, times, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    r->compute_s = times[0] / r->world, r->comm_s = times[1] / r->world;
    if (r->rank == 0) {
        err_buf close_err;
        r->hist_open = 0;
        if (history_close(&r->hist, &close_err) && rc >= 0) rc = -1, r->err = close_err;
        if (rc == STEP_PATIENCE)
            printf("stopped early at step %lld of %d: %d scores without improvement (--patience %d); best "
                   "Frechet distance %.2f at step %lld in %s/best.h5\n", t->step, c->steps, r->best.scores_since,
                   c->patience, r->best.fd, r->best.step, c->out);
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

int run_train(run *r)
{
    const gan_config *c = &r->cfg;
    trainer *t = &r->t;
    r->first_step = t->step;
    r->start = MPI_Wtime();
    interval_mark last = {r->start, r->first_step};
    int rc = STEP_OK;
    while (t->step < c->steps && rc == STEP_OK && !t->stopping) {
        t->stop_requested = launch_stop_requested();
        t->lr_factor = schedule_lr_factor(c->cooldown, t->step, c->steps);
        trainer_step(t);
        due_work due = work_due(c, t->step, t->stopping);
        const int work = due.log || due.samples || due.checkpoint;
        if (work) trainer_flush(t); /* the state whole before it is read or written */
        if (t->skipped && r->rank == 0 && !t->diverged) note_skipped(t);
        if (t->diverged) break; /* --on-nonfinite stop: nothing more is written */
        if (work) rc = mpi_agree(interval_work(r, due, &last));
    }
    return finish_training(r, rc);
}

/* ---- close ---------------------------------------------------------------------------- */

/* Rank 0, at the end: how much of a step waited on the gradient sums. */
static void print_comm_summary(const run *r)
{
    const long long steps = r->t.step - r->first_step;
    if (r->world < 2 || steps <= 0) return;
    const double step_ms = 1e3 * (r->compute_s + r->comm_s) / (double)steps;
    printf("communication: exposed %.2f ms of %.2f ms per step (%.0f%% of step time waiting on the gradient sums; "
           "mean over %d ranks), %.0f img/s per rank in the steps\n", 1e3 * r->comm_s / (double)steps, step_ms,
           100 * r->comm_s / (r->compute_s + r->comm_s), r->world, 1e3 * r->cfg.batch_size / step_ms);
}

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
            print_comm_summary(r);
        }
        if (r->hist_open) history_close(&r->hist, &(err_buf){{0}});
        if (r->status_file)
            record_status(c->out, status == EXIT_OK ? "finished" : status == EXIT_PREEMPTED ? "stopped" : "failed",
                          r->t.step, c->steps, status, &(err_buf){{0}});
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
