/* record.c: what a run records about itself, --version and --dry-run (see record.h). */
#include "record.h"

#include <cblas.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_info.h"
#include "files.h"
#include "gemm.h"
#include "git_commit.h"
#include "options.h"
#include "paths.h"
#include "schedule.h"

/* ---- the build -------------------------------------------------------------------------- */

#if defined(__clang__)
#define GAN_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define GAN_COMPILER "GCC " __VERSION__
#else
#define GAN_COMPILER "an unknown C compiler"
#endif

const char *record_build(void)
{
    static char buf[2048];
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(mpi, &len); /* allowed before MPI_Init */
    mpi[strcspn(mpi, ",\n")] = '\0';    /* "Open MPI v4.1.4" */
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    char dnnl[128];
    gemm_library(dnnl, sizeof dnnl);
    char *blas = openblas_get_config();
    const char *config = blas + strspn(blas, " \t"); /* its text, without surrounding blanks */
    int end = (int)strlen(config);
    while (end > 0 && strchr(" \t\r\n", config[end - 1])) end--;
    snprintf(buf, sizeof buf,
             "gan_train %s (git %s)\n"
             "compiler: %s\n"
             "MPI: %s (MPI %d.%d)\n"
             "HDF5: %u.%u.%u\n"
             "OpenBLAS: %.*s; kernels: %s\n"
             "oneDNN: %s\n",
             GAN_VERSION, GAN_GIT_COMMIT, GAN_COMPILER, mpi, MPI_VERSION, MPI_SUBVERSION, major, minor, release,
             end, config, openblas_get_corename(), dnnl);
    return buf;
}

/* ---- OUT/config.ini ---------------------------------------------------------------------- */

static void write_header(FILE *f, const run_facts *x)
{
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
    for (const char *p = record_build(); *p;) { /* every line of --version, as a comment */
        size_t n = strcspn(p, "\n");
        fprintf(f, "# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fprintf(f, "\n");
}

static void write_derived(FILE *f, const gan_config *cfg, const run_facts *x)
{
    fprintf(f, "\n# derived from the options and the data (not options; not read back):\n"
               "# world-size = %d\n# global-batch = %lld\n"
               "# images = %d of %d have label %d (%dx%d)\n",
            x->world, x->global_batch, x->n_images, x->total_images, cfg->digit, x->image_rows, x->image_cols);
    if (x->batch_capped)
        fprintf(f, "# batch-size = %d: --batch-size auto, as %d x %d ranks would exceed the %d training images\n",
                cfg->batch_size, BATCH_DEFAULT, x->world, x->n_images);
    fprintf(f, "# images-per-run = %lld (steps x global batch)\n", (long long)cfg->steps * x->global_batch);
    const adam_scaled a = schedule_adam(cfg, x->global_batch);
    fprintf(f, "# effective Adam (--scale-rule %s, %.6g x reference batch %d): lr = %.9g, beta1 = %.9g, "
               "beta2 = %.9g, epsilon = %.9g%s\n", scale_rule_words[cfg->scale_rule], a.kappa, cfg->reference_batch,
            a.lr, a.beta1, a.beta2, a.epsilon, a.clamped ? " (clamped at 0)" : "");
}

char *record_format_ini(const gan_config *cfg, const run_facts *facts)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) FATAL("out of memory formatting config.ini");
    write_header(f, facts);
    options_write_values(cfg, f);
    write_derived(f, cfg, facts);
    if (fclose(f) != 0) FATAL("out of memory formatting config.ini");
    return text;
}

int record_write_ini(const gan_config *cfg, const run_facts *facts, err_buf *err)
{
    char path[PATH_LEN + 64];
    char *text = record_format_ini(cfg, facts);
    int rc = atomic_write_file(out_path(path, sizeof path, cfg->out, OUT_CONFIG), text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- OUT/status and --dry-run ------------------------------------------------------------ */

int record_status(const char *out, const char *state, long long step, int steps, int status, err_buf *err)
{
    char path[PATH_LEN + 64], line[512], host[256] = "?";
    gethostname(host, sizeof host - 1);
    if (status < 0) snprintf(line, sizeof line, "running pid %ld host %s\n", (long)getpid(), host);
    else snprintf(line, sizeof line, "%s step %lld of %d exit %d\n", state, step, steps, status);
    return atomic_write_file(out_path(path, sizeof path, out, OUT_STATUS), line, strlen(line), err);
}

void record_dry_run(const gan_config *c, const run_facts *facts)
{
    long long todo = facts->first_step < c->steps ? c->steps - facts->first_step : 0;
    printf("dry run: would train steps %lld to %d: %lld steps of %lld images (%lld images), writing to %s/\n",
           facts->first_step, c->steps, todo, facts->global_batch, todo * facts->global_batch, c->out);
    char *text = record_format_ini(c, facts);
    printf("the run's config.ini would be:\n%s", text);
    printf("dry run: everything checked; nothing written\n");
    free(text);
}
