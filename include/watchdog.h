/*
 * watchdog.h: end the job when a collective waits too long.
 *
 * MPI notices a rank whose connections drop, but not one that stops responding with its
 * connections open (a stopped process, a node swapping or stuck in I/O): every other rank
 * then waits in its next collective forever. Each rank records, around each collective,
 * which one it entered, when, and at which step (watch_enter / watch_leave: a few plain
 * stores, no system call, no lock). A thread per rank wakes once a second; when the rank
 * has been inside the same collective for longer than the timeout, it prints one line
 * naming the rank, its host, the step and the collective, and ends the whole job with
 * MPI_Abort(EXIT_HANG) (common.h).
 */
#ifndef GAN_WATCHDOG_H
#define GAN_WATCHDOG_H

#include <stdatomic.h>

/* The record the thread reads. seq is odd while the rank is inside a collective; the other
 * fields are written before seq turns odd, so the thread reads a consistent record
 * whenever seq is odd and unchanged across its read. */
typedef struct {
    atomic_uint seq;
    atomic_llong step;                 /* the current step (iterations completed) */
    _Atomic(const char *) collective;  /* a static string naming the collective */
    _Atomic double entered;            /* watch_now() when it was entered */
} watch_record;

extern watch_record watch_rec;

/* Seconds on a monotonic clock (vDSO: no system call). */
double watch_now(void);

/* The step to report (call once per step; a relaxed store). */
static inline void watch_step(long long step)
{
    atomic_store_explicit(&watch_rec.step, step, memory_order_relaxed);
}

/* About to wait in `collective` (a string literal: MPI_CHECK passes the call's text and
 * its file:line). Calls do not nest. Only the main thread writes the record, so plain
 * release stores suffice (no locked instruction). */
static inline void watch_enter(const char *collective)
{
    unsigned s = atomic_load_explicit(&watch_rec.seq, memory_order_relaxed);
    atomic_store_explicit(&watch_rec.collective, collective, memory_order_relaxed);
    atomic_store_explicit(&watch_rec.entered, watch_now(), memory_order_relaxed);
    atomic_store_explicit(&watch_rec.seq, s + 1, memory_order_release); /* odd: inside */
}

/* Left the collective entered last. */
static inline void watch_leave(void)
{
    unsigned s = atomic_load_explicit(&watch_rec.seq, memory_order_relaxed);
    atomic_store_explicit(&watch_rec.seq, s + 1, memory_order_release); /* even: outside */
}

/*
 * Start the watching thread with this timeout in seconds (0: do nothing). `rank` and this
 * host's name go into the message. If the thread cannot start, it says so on stderr and the
 * run goes on unwatched.
 */
void watchdog_start(double timeout_s, int rank);

/* Stop and join the thread (before MPI_Finalize); safe if it never started. */
void watchdog_stop(void);

#endif
