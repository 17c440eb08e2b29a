/* common.c: error reporting, checked allocation and strict number parsing (see common.h). */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int err_set(err_buf *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *fatal_program = "gan_train";
static int fatal_rank = -1;
static void (*fatal_abort)(int status);

void fatal_setup(const char *program, int rank, void (*abort_fn)(int status))
{
    fatal_program = program;
    fatal_rank = rank;
    fatal_abort = abort_fn;
}

void fatal_at(const char *file, int line, const char *fmt, ...)
{
    char msg[ERR_LEN], who[32] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (fatal_rank >= 0) snprintf(who, sizeof who, "rank %d: ", fatal_rank);
    fprintf(stderr, "%s: %sfatal: %s (%s:%d)\n", fatal_program, who, msg, file, line);
    fflush(stderr);
    if (fatal_abort) fatal_abort(EXIT_RUNTIME);
    exit(EXIT_RUNTIME);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) FATAL("out of memory allocating %zu bytes", bytes);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) FATAL("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

int parse_int64(const char *flag, const char *text, long long min, long long max, long long *out, err_buf *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    int bad = end == text || *end != '\0' || errno == ERANGE || text[0] == ' ' || text[0] == '\t';
    if (bad) return err_set(err, "%s: '%s' is not an integer in [%lld, %lld]", flag, text, min, max);
    if (v < min || v > max)
        return err_set(err, "%s: %s is out of range, expected an integer in [%lld, %lld]", flag, text, min, max);
    *out = v;
    return 0;
}

int parse_double(const char *flag, const char *text, double min, double max, double *out, err_buf *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    int bad = end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || text[0] == ' ' || text[0] == '\t';
    if (bad) return err_set(err, "%s: '%s' is not a number in [%g, %g]", flag, text, min, max);
    if (v < min || v > max)
        return err_set(err, "%s: %s is out of range, expected a number in [%g, %g]", flag, text, min, max);
    *out = v;
    return 0;
}

int parse_count(const char *flag, const char *text, long long min, long long max, long long *out, err_buf *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    double scale = 1;
    if (end != text && *end && end[1] == '\0') {
        if (*end == 'k' || *end == 'K') scale = 1e3, end++;
        else if (*end == 'M') scale = 1e6, end++;
        else if (*end == 'G') scale = 1e9, end++;
    }
    v *= scale;
    const double whole = nearbyint(v); /* "2.56M": 2.56 x 1e6 is 2560000 only up to rounding */
    if (fabs(v - whole) <= 1e-9 * fmax(1.0, fabs(v))) v = whole;
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || text[0] == ' ' || v != floor(v))
        return err_set(err, "%s: '%s' is not a whole count in [%lld, %lld] (k, M, G suffixes allowed)", flag, text,
                       min, max);
    if (v < (double)min || v > (double)max)
        return err_set(err, "%s: %s is out of range, expected a count in [%lld, %lld]", flag, text, min, max);
    *out = (long long)v;
    return 0;
}
