/*
 * watchdog.c: the collective watchdog's thread (see watchdog.h).
 *
 * The thread sleeps on a condition variable (so watchdog_stop wakes it at once) and
 * checks the record once a second, or every timeout/10 for timeouts under 10 s. It makes
 * no MPI call but MPI_Abort, which Open MPI and MPICH allow from any thread in practice:
 * it asks the launcher to kill every process of the job. If MPI_Abort returns, the
 * process exits with the same status, and the launcher ends the rest.
 */
#include "watchdog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mpi_util.h"

watch_record watch_rec;

double watch_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running, quit;
    double timeout, period;
    int rank;
    char host[256];
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Read a consistent record: 1 if inside a collective (fields filled), 0 if not. */
static int read_record(const char **collective, double *entered, long long *step, unsigned *seq)
{
    unsigned s = atomic_load_explicit(&watch_rec.seq, memory_order_acquire);
    if (!(s & 1u)) return 0;
    *collective = atomic_load_explicit(&watch_rec.collective, memory_order_relaxed);
    *entered = atomic_load_explicit(&watch_rec.entered, memory_order_relaxed);
    *step = atomic_load_explicit(&watch_rec.step, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    *seq = s;
    return atomic_load_explicit(&watch_rec.seq, memory_order_relaxed) == s;
}

/* "MPI_Allreduce (train.c:58)" from "MPI_Allreduce(ARGS) @/path/to/train.c:58". */
static void short_name(char *out, size_t len, const char *collective)
{
    const char *paren = strchr(collective, '('), *at = strrchr(collective, '@');
    const char *where = at ? at + 1 : "";
    const char *slash = strrchr(where, '/');
    if (slash) where = slash + 1;
    int name_len = paren ? (int)(paren - collective) : (int)strlen(collective);
    snprintf(out, len, "%.*s (%s)", name_len, collective, where);
}

static void *watch(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd.lock);
    double last_tick = watch_now(), resumed = 0;
    while (!wd.quit) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + wd.period;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
        pthread_cond_timedwait(&wd.wake, &wd.lock, &until);
        if (wd.quit) break;
        /* A tick far later than asked for means this process itself was not running (kill
         * -STOP, a suspended VM): count waiting only from when it runs again, so that a
         * stopped rank that is continued does not blame the others. */
        const double tick = watch_now();
        if (tick - last_tick > 3 * wd.period + 1.0) resumed = tick;
        last_tick = tick;
        const char *collective;
        double entered;
        long long step;
        unsigned seq;
        if (!read_record(&collective, &entered, &step, &seq)) continue;
        const double waited = tick - (entered > resumed ? entered : resumed);
        if (waited <= wd.timeout) continue;
        char name[160];
        short_name(name, sizeof name, collective);
        fprintf(stderr, "gan_train: rank %d on %s: waited %.0f s in %s at step %lld "
                        "(--collective-timeout %g): another rank has stopped responding; ending the job "
                        "(exit status %d)\n", wd.rank, wd.host, waited, name, step, wd.timeout, EXIT_HANG);
        fflush(stderr);
        fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, EXIT_HANG);
        _exit(EXIT_HANG);
    }
    pthread_mutex_unlock(&wd.lock);
    return NULL;
}

void watchdog_start(double timeout_s, int rank)
{
    if (timeout_s <= 0 || wd.running) return;
    wd.timeout = timeout_s;
    wd.period = timeout_s < 10 ? timeout_s / 10 : 1.0;
    wd.rank = rank;
    if (gethostname(wd.host, sizeof wd.host - 1) != 0) strcpy(wd.host, "?");
    wd.quit = 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wd.wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&wd.thread, NULL, watch, NULL) != 0) {
        pthread_cond_destroy(&wd.wake);
        fprintf(stderr, "gan_train: warning: rank %d: cannot start the collective watchdog thread; running "
                        "without it\n", rank);
        return;
    }
    wd.running = 1;
}

void watchdog_stop(void)
{
    if (!wd.running) return;
    pthread_mutex_lock(&wd.lock);
    wd.quit = 1;
    pthread_cond_signal(&wd.wake);
    pthread_mutex_unlock(&wd.lock);
    pthread_join(wd.thread, NULL);
    pthread_cond_destroy(&wd.wake);
    wd.running = 0;
}
