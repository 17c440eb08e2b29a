/* lock.c: the output directory's lock file (see lock.h). */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "paths.h"

/* "host H, pid P, Slurm job J, started T": what the file holds, on one line. */
static void describe_self(char *buf, size_t len)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    const char *job = getenv("SLURM_JOB_ID");
    char started[64] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%S%z", &tm);
    snprintf(buf, len, "host %s, pid %ld, Slurm job %s, started %s\n", host, (long)getpid(),
             job && *job ? job : "none", started);
}

/* Another process holds fd's lock: name it (from the file) in err and close fd. */
static int busy(int fd, const char *out, err_buf *err)
{
    char holder[512] = {0};
    ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
    close(fd);
    if (n > 0 && holder[n - 1] == '\n') holder[n - 1] = '\0';
    err_set(err, "--out %s is in use by another gan_train run (%s); wait for it to end, stop it, "
                 "or choose another --out", out, n > 0 ? holder : "holder unknown");
    return LOCK_BUSY;
}

int run_lock_check(const char *out, err_buf *err)
{
    char path[PATH_LEN + 64];
    out_path(path, sizeof path, out, OUT_LOCK);
    int fd = open(path, O_RDONLY | O_CLOEXEC); /* no file: nobody holds it, and nothing is created */
    if (fd < 0) return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return busy(fd, out, err);
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return 0;
}

int run_lock_take(run_lock *l, const char *out, err_buf *err)
{
    l->held = 0;
    if (make_dirs(out, "--out", err)) return -1;
    char path[PATH_LEN + 64];
    out_path(path, sizeof path, out, OUT_LOCK);
    /* Not O_TRUNC: the holder's description must survive a refused open. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot open the run directory's lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) return busy(fd, out, err);
        /* ENOLCK, EOPNOTSUPP, ENOSYS: a file system without working locks (docs/cluster.md). */
        fprintf(stderr, "gan_train: warning: %s: cannot lock (%s); running without protection against a "
                        "second run on the same --out\n", path, strerror(e));
        close(fd);
        return 0;
    }
    char me[512];
    describe_self(me, sizeof me);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, me, strlen(me), 0) != (ssize_t)strlen(me)) {
        int e = errno;
        close(fd);
        return err_set(err, "%s: cannot write the lock file: %s", path, strerror(e));
    }
    l->fd = fd;
    l->held = 1;
    return 0;
}

void run_lock_release(run_lock *l)
{
    if (l->held) close(l->fd); /* closing the last descriptor drops the flock */
    l->held = 0;
}
