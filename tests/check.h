/*
 * check.h: a dozen lines of test harness. CHECK* print both values and the
 * line on failure and count it; check_summary() prints "N passed, M failed"
 * and returns the exit status (non-zero if anything failed).
 */
#ifndef GAN_CHECK_H
#define GAN_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) check_passed++;                                               \
        else {                                                                  \
            check_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* |got - want| <= tol */
#define CHECK_NEAR(got, want, tol)                                              \
    CHECK(fabs((double)(got) - (double)(want)) <= (tol), "got %.9g, want %.9g (tol %g)", \
          (double)(got), (double)(want), (double)(tol))

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
