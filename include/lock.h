/*
 * lock.h: one gan_train run per output directory.
 *
 * Rank 0 takes an exclusive flock(2) on OUT/.lock before it writes anything, and keeps it
 * until the process exits. The file says who holds it (host, pid, Slurm job id, start
 * time), so a second run on the same OUT can name the holder when it refuses to start.
 * The kernel drops a flock when its holder dies, however it dies (kill -9 included), so
 * a lock left by a dead process never blocks a new run; the file itself stays behind and
 * names the last holder. No MPI here: the run layer shares the outcome.
 */
#ifndef GAN_LOCK_H
#define GAN_LOCK_H

#include "common.h"

typedef struct {
    int held; /* 1 while fd holds the lock (a zeroed run_lock holds nothing) */
    int fd;   /* OUT/.lock, locked with LOCK_EX */
} run_lock;

/*
 * Create `out` if missing (mkdir -p), then lock OUT/.lock and write this process's
 * description into it. Returns 0 (locked, or, on a file system that does not support
 * flock, unlocked with a warning on stderr); LOCK_BUSY with a message in err when another
 * process holds the lock (the message names it, from the file); or -1 with a message when
 * OUT cannot be created or written. On an error nothing in OUT has changed (except that a
 * missing OUT was created).
 */
enum { LOCK_BUSY = -2 };
int run_lock_take(run_lock *l, const char *out, err_buf *err);

/* --dry-run: LOCK_BUSY (with the holder in err) if another process holds OUT/.lock now,
 * else 0; creates and changes nothing. */
int run_lock_check(const char *out, err_buf *err);

/* Release the lock (closing the file); safe on a lock never taken or already released. */
void run_lock_release(run_lock *l);

#endif
