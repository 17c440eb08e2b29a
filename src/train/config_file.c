/*
 * config_file.c: options in files, and what a run records about itself (config_file.h).
 *
 * A config file is the command line written one option per line, `key = value`, with the
 * flag's name as the key. config.c owns the names, ranges and defaults (the option table);
 * this file only splits lines, and composes OUT/config.ini around the values config.c
 * writes: comments with the command line, the build and the machine, then the options,
 * then the values derived from them (as comments, since they are not options).
 */
#include "config_file.h"

#include <cblas.h>
#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_info.h"
#include "files.h"
#include "git_commit.h"

/* ---- reading ---------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    return strcpy(d, s);
}

int ini_read(const char *path, ini_entry **entries, int *n, err_buf *err)
{
    *entries = NULL, *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return err_set(err, "--config %s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int number = 0, rc = 0, room = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        number++;
        char *text = trim(line);
        if (text[0] == '\0' || text[0] == '#') continue;
        char *eq = strchr(text, '=');
        if (!eq) {
            rc = err_set(err, "%s:%d: expected 'key = value' or a # comment, found '%.60s'", path, number, text);
            break;
        }
        *eq = '\0';
        char *key = trim(text), *value = trim(eq + 1);
        if (key[0] == '\0') {
            rc = err_set(err, "%s:%d: a value without a key", path, number);
            break;
        }
        if (*n == room) {
            room = room ? 2 * room : 32;
            ini_entry *grown = realloc(*entries, sizeof **entries * (size_t)room);
            if (!grown) FATAL("out of memory reading %s", path);
            *entries = grown;
        }
        (*entries)[(*n)++] = (ini_entry){xstrdup(key), xstrdup(value), number};
    }
    if (rc == 0 && ferror(f)) rc = err_set(err, "--config %s: read failed: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (rc) ini_free(*entries, *n), *entries = NULL, *n = 0;
    return rc;
}

void ini_free(ini_entry *entries, int n)
{
    for (int i = 0; i < n; i++) free(entries[i].key), free(entries[i].value);
    free(entries);
}

/* ---- the build ------------------------------------------------------------------------- */

#if defined(__clang__)
#define GAN_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define GAN_COMPILER "GCC " __VERSION__
#else
#define GAN_COMPILER "an unknown C compiler"
#endif

const char *build_describe(void)
{
    static char buf[2048];
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(mpi, &len); /* allowed before MPI_Init */
    mpi[strcspn(mpi, ",\n")] = '\0';    /* "Open MPI v4.1.4" */
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    char *blas = openblas_get_config();
    snprintf(buf, sizeof buf,
             "gan_train %s (git %s)\n"
             "compiler: %s\n"
             "MPI: %s (MPI %d.%d)\n"
             "HDF5: %u.%u.%u\n"
             "OpenBLAS: %s; kernels: %s\n",
             GAN_VERSION, GAN_GIT_COMMIT, GAN_COMPILER, mpi, MPI_VERSION, MPI_SUBVERSION, major, minor, release,
             trim(blas), openblas_get_corename());
    return buf;
}

/* ---- OUT/config.ini -------------------------------------------------------------------- */

char *config_format_ini(const gan_config *cfg, const run_facts *x)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) FATAL("out of memory formatting config.ini");
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", localtime(&now));
    fprintf(f, "# gan_train run configuration: every option as this run resolved it.\n"
               "# Repeat the run:  mpirun -n %d gan_train --config config.ini --out OTHER_DIR\n"
               "# (flags after --config override its values; with %d ranks the checkpoint is byte-identical)\n#\n",
            x->world, x->world);
    fprintf(f, "# written %s at step %lld%s%s\n", when, x->first_step,
            x->resumed_from[0] ? ", resumed from " : "", x->resumed_from);
    fprintf(f, "# command line:");
    for (int i = 0; i < x->argc; i++) fprintf(f, " %s", x->argv[i]);
    fprintf(f, "\n# %d rank%s%s\n", x->world, x->world > 1 ? "s" : "", x->hosts);
    const char *build = build_describe();
    for (const char *p = build; *p;) { /* every line of --version, as a comment */
        size_t n = strcspn(p, "\n");
        fprintf(f, "# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fprintf(f, "\n");
    config_write_values(cfg, f);
    fprintf(f, "\n# derived from the options and the data (not options; not read back):\n"
               "# world-size = %d\n# global-batch = %lld\n"
               "# images = %d of %d have label %d (%dx%d)\n",
            x->world, x->global_batch, x->n_images, x->total_images, cfg->digit, x->image_rows, x->image_cols);
    fprintf(f, "# images-per-run = %lld (steps x global batch)\n", (long long)cfg->steps * x->global_batch);
    const adam_scaled a = config_scale_adam(cfg, x->global_batch);
    fprintf(f, "# effective Adam (--scale-rule %s, %.6g x reference batch %d): lr = %.9g, beta1 = %.9g, "
               "beta2 = %.9g, epsilon = %.9g%s\n", cfg->scale_rule, a.kappa, cfg->reference_batch, a.lr, a.beta1,
            a.beta2, a.epsilon, a.clamped ? " (clamped at 0)" : "");
    if (fclose(f) != 0) FATAL("out of memory formatting config.ini");
    return text;
}

int config_write_ini(const gan_config *cfg, const run_facts *facts, err_buf *err)
{
    char path[PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/config.ini", cfg->out);
    char *text = config_format_ini(cfg, facts);
    int rc = atomic_write_file(path, text, strlen(text), err);
    free(text);
    return rc;
}
