/*
 * config.c: the command-line parser, and everything else that walks the option table
 * (options.c): --config files, --help (with defaults read from a default config), the HDF5
 * attributes and OUT/config.ini's values, so an option cannot be added to one and
 * forgotten in another. Also the --scale-rule formulas.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "build_info.h"
#include "config_file.h"
#include "options.h"

static const char *help_text(void)
{
    static char buf[8192];
    gan_config d;
    config_defaults(&d);
    size_t n = (size_t)snprintf(buf, sizeof buf,
        "gan_train " GAN_VERSION ": data-parallel MLP GAN trainer (MPI, HDF5, OpenBLAS)\n\n"
        "usage: mpirun -n RANKS gan_train [options]\n\n"
        "Trains a generator and a discriminator on the images of one digit, averaging\n"
        "gradients over ranks. Rank 0 writes OUT/checkpoint.h5 and OUT/history.h5.\n\n"
        "options (default in brackets):\n");
    for (size_t i = 0; i < n_options && n < sizeof buf; i++) {
        const option *o = &options[i];
        const char *field = (const char *)&d + o->offset;
        char def[PATH_LEN + 8];
        if (o->type == OPT_STRING) snprintf(def, sizeof def, "%s", field[0] ? field : o->unrecorded ? "none" : "auto");
        else if (o->type == OPT_DOUBLE) snprintf(def, sizeof def, "%g", *(const double *)field);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) snprintf(def, sizeof def, "%lld", *(const long long *)field);
        else if (field == (const char *)&d.eval_every && d.eval_every == EVAL_EVERY_AUTO) snprintf(def, sizeof def, "auto");
        else snprintf(def, sizeof def, "%d", *(const int *)field);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "  --%-18s %s [%s]\n", o->flag, o->help,
                              o->implicit ? "off" : def);
    }
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n,
                 "  --%-18s %s\n  --%-18s %s\n\n"
                 "Flags take a value as '--flag VALUE' or '--flag=VALUE'.\n"
                 "Exit status: 0 done, 1 runtime error (data, I/O), 2 bad command line or launch, or --out\n"
                 "in use by another run, 3 non-finite loss or gradient with --on-nonfinite stop (or\n"
                 "non-finite weights), 75 stopped by a signal after writing a checkpoint (continue with\n"
                 "--resume), 76 a rank waited longer than --collective-timeout (the job was aborted).\n",
                 "help", "print this help and exit", "version", "print the version and exit");
    return buf;
}

/* Split "--flag=value" / "--flag value"; returns the option or NULL. */
static int next_flag(int argc, char **argv, int *i, const option **o, const char **value,
                     err_buf *err)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return err_set(err, "unexpected argument '%s' (options start with --; see --help)", arg);
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (len >= sizeof name) return err_set(err, "unknown option '%s' (see --help)", arg);
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    *o = find_option(name);
    if (!*o) return err_set(err, "unknown option '--%s' (see --help)", name);
    if (eq) {
        *value = eq + 1;
    } else if ((*o)->implicit && (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)) {
        *value = (*o)->implicit;
    } else {
        if (*i + 1 >= argc) return err_set(err, "--%s needs a value", name);
        *value = argv[++*i];
    }
    return 0;
}

static int read_config_file(const char *file, ini_entry **entries, int *n, err_buf *err);

int config_parse(gan_config *cfg, int argc, char **argv, const char **info, err_buf *err)
{
    config_defaults(cfg);
    *info = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *info = help_text();
            return CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            *info = build_describe();
            return CONFIG_EXIT_OK;
        }
    }
    /* The --config file (the last one named) and whether the command line sets the preset. */
    const char *file = NULL;
    int preset_on_command_line = 0;
    for (int i = 1; i < argc; i++) {
        const option *o = NULL;
        const char *value = NULL;
        if (next_flag(argc, argv, &i, &o, &value, err)) return CONFIG_ERROR;
        if (strcmp(o->flag, "config") == 0) file = value;
        preset_on_command_line |= strcmp(o->flag, "preset") == 0;
    }
    int steps_given = 0, images_given = 0; /* on the command line */
    int file_steps = 0, file_images = 0;   /* in the config file */
    ini_entry *entries = NULL;
    int n_entries = 0;
    if (file && read_config_file(file, &entries, &n_entries, err)) return CONFIG_ERROR;
    /* Pass 0: the preset (the command line's, else the file's), so that any other value
     * overrides it wherever it stands. Pass 1: the file, then the command line over it. */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n_entries; k++) {
            const option *o = find_option(entries[k].key);
            int is_preset = strcmp(o->flag, "preset") == 0;
            if (is_preset != (pass == 0) || (is_preset && preset_on_command_line)) continue;
            if (apply_option(cfg, o, entries[k].value, o->flag, err)) {
                err_buf inner = *err;
                err_set(err, "%s:%d: %s", file, entries[k].line, inner.msg);
                ini_free(entries, n_entries);
                return CONFIG_ERROR;
            }
            file_steps |= strcmp(o->flag, "steps") == 0;
            file_images |= strcmp(o->flag, "images") == 0;
        }
        /* A file that gives one of --steps and --images sets the length by it alone. */
        if (pass == 1 && file_steps != file_images) {
            if (file_steps) cfg->images = 0;
            else cfg->steps = 0;
        }
        for (int i = 1; i < argc; i++) {
            const option *o = NULL;
            const char *value = NULL;
            char flag[80];
            if (next_flag(argc, argv, &i, &o, &value, err)) return ini_free(entries, n_entries), CONFIG_ERROR;
            int is_preset = strcmp(o->flag, "preset") == 0;
            if (is_preset != (pass == 0)) continue;
            snprintf(flag, sizeof flag, "--%s", o->flag);
            if (apply_option(cfg, o, value, flag, err)) return ini_free(entries, n_entries), CONFIG_ERROR;
            steps_given |= strcmp(o->flag, "steps") == 0;
            images_given |= strcmp(o->flag, "images") == 0;
        }
    }
    ini_free(entries, n_entries);
    /* The run's length: --steps or --images on the command line, whichever was given, wins
     * over a preset's or a file's (a config.ini has both; the run checks that they agree). */
    if (steps_given && images_given)
        return err_set(err, "--steps and --images both set the run's length; give one of them");
    if (steps_given) cfg->images = 0;
    if (images_given) cfg->steps = 0;
    if (cfg->patience > 0 && cfg->eval_every == 0)
        return err_set(err, "--patience %d needs scores: give --eval-every too", cfg->patience);
    if (strcmp(cfg->smoothing_style, "target") != 0 && strcmp(cfg->smoothing_style, "scale") != 0)
        return err_set(err, "--smoothing-style: '%s', expected target or scale", cfg->smoothing_style);
    if (strcmp(cfg->on_nonfinite, "skip") != 0 && strcmp(cfg->on_nonfinite, "stop") != 0)
        return err_set(err, "--on-nonfinite: '%s', expected skip or stop", cfg->on_nonfinite);
    if (strcmp(cfg->resume, RESUME_FROM_OUT) == 0) {
        int n = snprintf(cfg->resume, sizeof cfg->resume, "%s/checkpoint.h5", cfg->out);
        if (n >= (int)sizeof cfg->resume) return err_set(err, "--out: path too long");
    }
    if ((long long)cfg->n_samples * cfg->noise_dim > (1LL << 28))
        return err_set(err, "--n-samples x --noise-dim is too large");
    /* Activations are indexed with int: keep every (rows x width) product below 2^31. */
    long long widest = cfg->noise_dim > cfg->g_hidden ? cfg->noise_dim : cfg->g_hidden;
    if (cfg->d_hidden > widest) widest = cfg->d_hidden;
    if (widest < 784) widest = 784; /* image size of MNIST-like data; larger images are checked again at load */
    if (2LL * cfg->batch_size * widest > 2147483647LL ||
        (long long)cfg->noise_dim * cfg->g_hidden + (long long)cfg->g_hidden * 784 > 2147483647LL ||
        (long long)cfg->d_hidden * 784 > 2147483647LL)
        return err_set(err, "--batch-size %d with these layer widths needs buffers beyond 2^31 elements; "
                            "use a smaller --batch-size or hidden size", cfg->batch_size);
    return CONFIG_RUN;
}

void config_attrs(const gan_config *cfg, attr_list *out)
{
    for (size_t i = 0; i < n_options; i++) {
        const option *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        if (o->unrecorded) continue;
        char name[64];
        size_t k = 0;
        for (; o->flag[k] && k + 1 < sizeof name; k++) name[k] = o->flag[k] == '-' ? '_' : o->flag[k];
        name[k] = '\0';
        if (o->type == OPT_STRING) attrs_string(out, name, field);
        else if (o->type == OPT_DOUBLE) attrs_double(out, name, *(const double *)field);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) attrs_int(out, name, *(const long long *)field);
        else attrs_int(out, name, *(const int *)field);
    }
}

/*
 * Adam's settings for a global batch kappa times the reference batch.
 *   sqrt   (Malladi et al. 2022, "On the SDEs and Scaling Rules for Adaptive Gradient
 *          Algorithms"): lr * sqrt(kappa), 1 - beta -> kappa (1 - beta), eps / sqrt(kappa)
 *   linear: lr * kappa, the betas and eps unchanged
 *   none:   as given
 * The same formulas hold below the reference batch (kappa < 1). Where sqrt would push a beta
 * to 0 or below (beta1 at kappa >= 10 with beta1 = 0.9), it is clamped at 0 (Adam without
 * momentum) and the run prints a warning.
 */
adam_scaled config_scale_adam(const gan_config *cfg, long long global_batch)
{
    adam_scaled a = {(double)global_batch / cfg->reference_batch, cfg->lr, cfg->beta1, cfg->beta2, cfg->epsilon, 0};
    if (strcmp(cfg->scale_rule, "linear") == 0) {
        a.lr = cfg->lr * a.kappa;
    } else if (strcmp(cfg->scale_rule, "sqrt") == 0) {
        const double root = sqrt(a.kappa);
        a.lr = cfg->lr * root;
        a.beta1 = 1.0 - a.kappa * (1.0 - cfg->beta1);
        a.beta2 = 1.0 - a.kappa * (1.0 - cfg->beta2);
        a.epsilon = cfg->epsilon / root;
        if (a.beta1 < 0) a.beta1 = 0, a.clamped = 1;
        if (a.beta2 < 0) a.beta2 = 0, a.clamped = 1;
    }
    return a;
}

/* The steps in --cooldown's decay: a whole number, so that the start-up line and the schedule
 * agree (the 1e-9 keeps 0.29 x 100 at 29). */
long long config_cooldown_steps(double cooldown, long long steps)
{
    return (long long)(cooldown * (double)steps + 1e-9);
}

/*
 * --cooldown C: the lr holds for the first steps - D steps (D = C steps, rounded down), then
 * falls linearly to 0 over the last D (as in CycleGAN's linear decay). `step` steps are done;
 * the factor is the schedule's value there and applies to the next step, so the last step still
 * moves (factor 1 / D). A pure function of the step and the length in steps: a resume to the
 * same length continues the same schedule.
 */
double config_lr_factor(double cooldown, long long step, long long steps)
{
    const long long decay = config_cooldown_steps(cooldown, steps);
    const long long left = steps - step;
    if (decay <= 0 || left >= decay) return 1.0;
    return left > 0 ? (double)left / (double)decay : 0.0;
}

/* ---- config files and OUT/config.ini ------------------------------------------------------ */

/* Read FILE's lines (config_file.c) and check every key against the table: each must name
 * an option other than config, once. Errors name the file and line. */
static int read_config_file(const char *file, ini_entry **entries, int *n, err_buf *err)
{
    if (ini_read(file, entries, n, err)) return -1;
    for (int k = 0; k < *n; k++) {
        const ini_entry *e = &(*entries)[k];
        const option *o = find_option(e->key);
        if (!o) err_set(err, "%s:%d: unknown option '%s' (keys are the flags without --; see --help)", file,
                        e->line, e->key);
        else if (strcmp(o->flag, "config") == 0)
            err_set(err, "%s:%d: 'config' cannot be set in a config file", file, e->line);
        for (int j = 0; j < k && o; j++)
            if (strcmp((*entries)[j].key, e->key) == 0) {
                err_set(err, "%s:%d: '%s' is set again (first on line %d)", file, e->line, e->key,
                        (*entries)[j].line);
                o = NULL;
            }
        if (!o) {
            ini_free(*entries, *n);
            *entries = NULL, *n = 0;
            return -1;
        }
    }
    return 0;
}

/* The shortest decimal that reads back as exactly v. */
static void format_double(char *buf, size_t len, double v)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void config_write_values(const gan_config *cfg, FILE *f)
{
    for (size_t i = 0; i < n_options; i++) {
        const option *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        char num[40];
        if (o->unrecorded) continue;
        if (o->type == OPT_STRING && !field[0]) fprintf(f, "# %s is not set\n", o->flag); /* "" reads back as unset */
        else if (o->type == OPT_STRING) fprintf(f, "%s = %s\n", o->flag, field);
        else if (o->type == OPT_DOUBLE) {
            format_double(num, sizeof num, *(const double *)field);
            fprintf(f, "%s = %s\n", o->flag, num);
        }
        else if (o->type == OPT_COUNT && *(const long long *)field == 0) fprintf(f, "# %s is not set\n", o->flag);
        else if (o->type == OPT_INT64 || o->type == OPT_COUNT) fprintf(f, "%s = %lld\n", o->flag, *(const long long *)field);
        else fprintf(f, "%s = %d\n", o->flag, *(const int *)field);
    }
}
