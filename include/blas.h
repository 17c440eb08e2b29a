/*
 * blas.h: making sure OpenBLAS runs fast kernels, with one thread per rank.
 *
 * OpenBLAS chooses its kernels once, when the library loads: from
 * OPENBLAS_CORETYPE if set, else from its own CPU detection. Older builds
 * (Debian 12's 0.3.21) do not recognise every newer CPU and then fall back to
 * generic SSE kernels that run at a fraction of the speed. gan_train checks
 * at start-up; if the CPU has AVX-512 (or AVX2+FMA) but a slower kernel was
 * picked and the user did not set OPENBLAS_CORETYPE, it re-executes itself
 * with the right core type, before MPI starts. A user's choice always wins.
 *
 * Threads likewise: OpenBLAS sizes its thread pool when it loads. Unless the
 * user set OPENBLAS_NUM_THREADS, gan_train re-executes with it set to 1 (one
 * rank per core already fills the machine; idle pool threads measurably slowed
 * a 2-rank run here).
 */
#ifndef GAN_BLAS_H
#define GAN_BLAS_H

/* The core type to ask for, or NULL to keep `detected`: pure decision logic. */
const char *blas_better_coretype(const char *detected, int cpu_avx512, int cpu_avx2_fma);

/*
 * Call first in main, before MPI_Init. May not return (re-exec with
 * OPENBLAS_NUM_THREADS and/or OPENBLAS_CORETYPE set). Afterwards blas_choice_note() describes what was
 * done ("" if nothing), for the start-up log.
 */
void blas_ensure_fast_kernels(char **argv);
const char *blas_choice_note(void);

/* One OpenBLAS thread per rank unless OPENBLAS_NUM_THREADS is set. */
void blas_set_threads(void);

#endif
