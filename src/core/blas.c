/* blas.c: OpenBLAS kernel and thread choice (see blas.h). */
#include "blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REEXEC_MARK "GAN_TRAIN_BLAS_DETECTED" /* set across our own re-exec: what OpenBLAS picked */

/* Kernels that use AVX-512, and those that use at least AVX2+FMA (OpenBLAS core names). */
static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
static const char *const avx2_cores[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", NULL};

static int listed(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(name, *list) == 0) return 1;
    return 0;
}

const char *blas_better_coretype(const char *detected, int cpu_avx512, int cpu_avx2_fma)
{
    if (!detected) return NULL;
    if (cpu_avx512 && !listed(detected, avx512_cores)) return "SkylakeX";
    if (!cpu_avx512 && cpu_avx2_fma && !listed(detected, avx2_cores)) return "Haswell";
    return NULL;
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

static int cpu_has_avx2_fma(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static char note[160];

void blas_ensure_fast_kernels(char **argv)
{
    const char *detected = getenv(REEXEC_MARK);
    if (detected) { /* we are the re-executed process */
        if (strcmp(detected, "-") != 0)
            snprintf(note, sizeof note, " (gan_train chose it: OpenBLAS detected %s on this AVX%s CPU)", detected,
                     cpu_has_avx512() ? "-512" : "2");
        unsetenv(REEXEC_MARK);
        return;
    }
    /* Threads: OpenBLAS starts its thread pool when it loads, sized to the machine. With
     * one rank per core those idle threads compete with the other ranks, and
     * openblas_set_num_threads(1) afterwards does not remove them: ask before it loads. */
    int want_threads = !getenv("OPENBLAS_NUM_THREADS");
    const char *better = getenv("OPENBLAS_CORETYPE") /* the user's choice */
                             ? NULL
                             : blas_better_coretype(openblas_get_corename(), cpu_has_avx512(), cpu_has_avx2_fma());
    if (!want_threads && !better) return;
    if (want_threads) setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (better) setenv("OPENBLAS_CORETYPE", better, 1);
    setenv(REEXEC_MARK, better ? openblas_get_corename() : "-", 1);
    /* Exec the real path, not /proc/self/exe: the process name (ps, top, pgrep, job accounting)
     * is the exec'd file's name, so the ranks stay "gan_train" rather than "exe". */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        execv(self, argv); /* fails if the file was replaced or removed since: then try /proc */
    }
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on, and say what to set */
    unsetenv(REEXEC_MARK);
    if (want_threads) unsetenv("OPENBLAS_NUM_THREADS"); /* so blas_set_threads() still acts */
    if (better) {
        unsetenv("OPENBLAS_CORETYPE");
        snprintf(note, sizeof note, " (slow: set OPENBLAS_CORETYPE=%s for this CPU)", better);
    }
}

const char *blas_choice_note(void)
{
    return note;
}

void blas_set_threads(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1); /* only if the re-exec failed */
}
