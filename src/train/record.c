/* record.c: what a run records about itself, and the --dry-run report (see record.h). */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "files.h"
#include "launch.h"

/* Collective: the facts config.ini records (hosts is filled on rank 0). */
static run_facts gather_facts(const run *r, int argc, char **argv, char *hosts, size_t len)
{
    launch_describe_hosts(hosts, len, r->world);
    return (run_facts){argc, argv, r->world, hosts, r->global_batch, r->n_images, r->total_images,
                       r->image_rows, r->image_cols, r->t.step, r->cfg.resume};
}

/* Rank 0: OUT/status, one line that jobs/collect.py reads: "running pid P host H" at the
 * start, then "finished|stopped|failed step S of N exit E" at the end. */
int record_status(const run *r, const char *state, int status, err_buf *err)
{
    char path[PATH_LEN + 16], line[512], host[256] = "?";
    snprintf(path, sizeof path, "%s/status", r->cfg.out);
    gethostname(host, sizeof host - 1);
    if (status < 0) snprintf(line, sizeof line, "running pid %ld host %s\n", (long)getpid(), host);
    else snprintf(line, sizeof line, "%s step %lld of %d exit %d\n", state, r->t.step, r->cfg.steps, status);
    return atomic_write_file(path, line, strlen(line), err);
}

/* Collective, after open_outputs: OUT/config.ini (rewritten at every start, a resume's too)
 * and OUT/status. Returns the agreed outcome. */
int record_run(run *r, int argc, char **argv)
{
    char hosts[1024];
    run_facts facts = gather_facts(r, argc, argv, hosts, sizeof hosts);
    int rc = 0;
    if (r->rank == 0) {
        rc = config_write_ini(&r->cfg, &facts, &r->err);
        if (rc == 0) rc = record_status(r, "running", -1, &r->err);
        r->status_file = rc == 0;
    }
    return mpi_agree(rc);
}

/* Collective --dry-run, at the point where the real run starts writing: the remaining check
 * (--out, as make_dirs would find it), then the configuration and the work, and exit 0. */
int record_dry_run(run *r, int argc, char **argv)
{
    const gan_config *c = &r->cfg;
    char hosts[1024], samples_dir[PATH_LEN + 16];
    run_facts facts = gather_facts(r, argc, argv, hosts, sizeof hosts);
    snprintf(samples_dir, sizeof samples_dir, "%s/samples", c->out);
    int rc = r->rank == 0 ? check_dirs(c->out, "--out", &r->err) || check_dirs(samples_dir, "--out", &r->err) : 0;
    if (mpi_agree(rc)) return EXIT_RUNTIME;
    if (r->rank != 0) return EXIT_OK;
    long long todo = r->t.step < c->steps ? c->steps - r->t.step : 0;
    printf("dry run: would train steps %lld to %d: %lld steps of %lld images (%lld images), writing to %s/\n",
           r->t.step, c->steps, todo, r->global_batch, todo * r->global_batch, c->out);
    char *text = config_format_ini(c, &facts);
    printf("the run's config.ini would be:\n%s", text);
    printf("dry run: everything checked; nothing written\n");
    free(text);
    return EXIT_OK;
}

