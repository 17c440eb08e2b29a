/*
 * gan_bench.c: how fast is one training step, and where does its time go.
 *
 *   mpirun -n R gan_bench --batch B [--repeats K] [--seconds S] [--probe-wait]
 *       R ranks training the default model on the shipped digits at per-rank batch B:
 *       K timed repeats of about S seconds each; prints the median throughput, the
 *       step breakdown (data, forward, backward, allreduce, Adam, amortised I/O)
 *       and the FLOPs of one iteration per sample. --probe-wait puts a barrier before
 *       each gradient allreduce and reports the time in it as "wait": how long a rank
 *       waited for the slowest one, apart from the allreduce's own cost.
 *       --precision fp32|bf16 (as gan_train's; default fp32) sets the products' precision.
 *   gan_bench --sgemm [--size N] [--repeats K] [--precision bf16]
 *       single-thread OpenBLAS sgemm of N x N matrices: the machine's compute limit; with
 *       bf16, the same product through gemm.h's bf16 path (oneDNN where the CPU has it).
 *   mpirun -n R gan_bench --allreduce
 *       MPI_Allreduce time of 4 B to 4 MiB of floats, for fitting alpha and beta.
 *
 * Output lines start with "RESULT" and hold key=value pairs (tests/bench/run_bench.sh
 * parses them). Rank 0 prints.
 */
#include <cblas.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "build_info.h"
#include "checkpoint.h"
#include "options.h"
#include "h5util.h"
#include "history.h"
#include "idx.h"
#include "paths.h"
#include "train.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double arg_double(int argc, char **argv, const char *flag, double fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0) return atof(argv[i + 1]);
    return fallback;
}

/* --precision's value through gan_train's own option table: GEMM_FP32 or GEMM_BF16. */
static int arg_precision(int argc, char **argv)
{
    gan_config cfg;
    options_defaults(&cfg);
    err_buf err;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--precision") == 0 && option_set(&cfg, find_option("precision"), argv[i + 1], argv[i], &err)) {
            fprintf(stderr, "gan_bench: %s\n", err.msg);
            exit(2);
        }
    return cfg.precision == PRECISION_BF16 ? GEMM_BF16 : GEMM_FP32;
}

static int bench_sgemm(int n, int repeats, int precision)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    rng_t r = rng_make(1, 1);
    for (int i = 0; i < n * n; i++) a[i] = rng_uniform(&r), b[i] = rng_uniform(&r);
    double gflops[64];
    gemm mm;
    gemm_init(&mm, precision);
    gemm_product(&mm, c, a, 0, b, 0, NULL, n, n, n); /* warm-up (and oneDNN's primitive) */
    for (int k = 0; k < repeats; k++) {
        double t0 = MPI_Wtime();
        gemm_product(&mm, c, a, 0, b, 0, NULL, n, n, n);
        gflops[k] = 2.0 * n * n * (double)n / (MPI_Wtime() - t0) / 1e9;
    }
    char kernel[256];
    gemm_describe(&mm, kernel, sizeof kernel);
    printf("RESULT mode=sgemm precision=%s core=%s threads=%d size=%d gflops=%.2f\n", precision == GEMM_BF16 ? "bf16" : "fp32",
           openblas_get_corename(), openblas_get_num_threads(), n, median(gflops, repeats));
    printf("KERNEL precision=%s %s\n", precision == GEMM_BF16 ? "bf16" : "fp32", kernel); /* free text: its own line */
    gemm_free(&mm);
    free(a), free(b), free(c);
    return 0;
}

static void bench_allreduce(int rank)
{
    size_t max = 1u << 20; /* floats: 4 MiB */
    float *buf = xcalloc(max, sizeof(float));
    for (size_t n = 1; n <= max; n *= 4) {
        int reps = n < 4096 ? 2000 : n < 65536 ? 300 : 40;
        double times[5];
        for (int k = 0; k < 5; k++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int r = 0; r < reps; r++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double mine = (MPI_Wtime() - t0) / reps, slowest = 0;
            MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            times[k] = slowest;
        }
        if (rank == 0) printf("RESULT mode=allreduce bytes=%zu us=%.3f\n", 4 * n, 1e6 * median(times, 5));
    }
    free(buf);
}

/* FLOPs of one iteration per sample (multiply-add = 2), as gan.c computes it. */
static double iteration_flops(int Z, int H, int X)
{
    double g_forward = 2.0 * Z * H + 2.0 * H * X;
    double d_forward = 2.0 * X * H + 2.0 * H;        /* per row; the D step runs 2 rows per sample */
    double d_backward = 2.0 * X * H + 2.0 * H + 2.0 * H; /* dW1 and dW2 (+ the tiny dh) per row */
    double d_input_grad = 2.0 * H + 2.0 * H * X;    /* G step: through D to its input only */
    double g_backward = 2.0 * H * X /* dW2 */ + 2.0 * H * X /* dh */ + 2.0 * Z * H /* dW1 */;
    return g_forward + 2 * d_forward + 2 * d_backward + d_forward + d_input_grad + g_backward;
}

int main(int argc, char **argv)
{
    blas_ensure_fast_kernels(argv);
    MPI_Init(&argc, &argv);
    int rank, world;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    blas_set_threads();
    h5_init();
    int repeats = (int)arg_double(argc, argv, "--repeats", 5);
    const int precision = arg_precision(argc, argv);
    if (repeats < 1 || repeats > 64) repeats = 5;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--allreduce") == 0) {
            bench_allreduce(rank);
            MPI_Finalize();
            return 0;
        }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--sgemm") == 0) {
            int rc = rank == 0 ? bench_sgemm((int)arg_double(argc, argv, "--size", 2048), repeats, precision) : 0;
            MPI_Finalize();
            return rc;
        }

    const int B = (int)arg_double(argc, argv, "--batch", 64);
    const double seconds = arg_double(argc, argv, "--seconds", 0.6);
    idx_images img;
    err_buf err = {{0}};
    char data[PATH_LEN], labels[PATH_LEN];
    shipped_file(GAN_DATA_FILE, data, sizeof data);
    shipped_file(GAN_LABELS_FILE, labels, sizeof labels);
    if (idx_load_digit(data, labels, 0, &img, &err)) {
        fprintf(stderr, "gan_bench: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const gan_hparams hp = {.noise_dim = 100, .g_hidden = 128, .d_hidden = 128, .image_size = 784,
                            .leaky_alpha = 0.01f, .dropout = 0.2f, .smoothing = 0.1f, .precision = precision,
                            .adam = {1e-3, 0.9, 0.999, 1e-8}};
    trainer t;
    trainer_init(&t, &hp, B, img.pixels, img.n, 42, MPI_COMM_WORLD);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--probe-wait") == 0) t.probe_wait = 1;

    /* Warm up, then size each repeat to about `seconds`. */
    double t0 = MPI_Wtime();
    for (int s = 0; s < 20; s++) trainer_step(&t);
    double per_step = (MPI_Wtime() - t0) / 20;
    int steps = (int)(seconds / per_step) + 10;
    MPI_Bcast(&steps, 1, MPI_INT, 0, MPI_COMM_WORLD);
    memset(t.phase_seconds, 0, sizeof t.phase_seconds);

    double rates[64], total = 0;
    for (int k = 0; k < repeats; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        for (int s = 0; s < steps; s++) trainer_step(&t);
        double mine = MPI_Wtime() - start, slowest = 0;
        MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        rates[k] = (double)B * world * steps / slowest;
        total += slowest;
    }
    double step_time = total / ((double)repeats * steps);

    /* Rank 0's I/O at the default intervals, amortised per step. */
    double io_per_step = 0;
    if (rank == 0) {
        char dir[] = "/tmp/gan_bench_XXXXXX";
        if (!mkdtemp(dir)) return 1;
        gan_config cfg;
        options_defaults(&cfg);
        attr_list attrs = {0}; /* the same attributes as a run's files */
        options_attrs(&cfg, &attrs);
        attrs_string(&attrs, "data", data);
        attrs_string(&attrs, "labels", labels);
        attrs_int(&attrs, "world_size", world);
        attrs_int(&attrs, "global_batch", (long long)B * world);
        attrs_int(&attrs, "n_images", img.n);
        run_state rs = {.world = 1, .max_shard = t.shard.n, .ranks = xcalloc(RANK_STATE_LEN, sizeof(int64_t)),
                        .orders = xcalloc((size_t)t.shard.n, sizeof(int32_t)),
                        .stats = xcalloc(RANK_STATS_LEN, sizeof(double))};
        rs.ranks[4] = t.shard.n;
        history h;
        float *noise = xcalloc(64 * 100, sizeof(float)), *grid = xcalloc(64 * 784, sizeof(float));
        const history_layout lay = {64, 100, 28, 28, &attrs};
        history_create(&h, dir, noise, &lay, &err);
        double ck[16], lg[16], sm[16];
        for (int k = 0; k < 7; k++) {
            double a = MPI_Wtime();
            checkpoint_write(dir, &t.model, NULL, k, &rs, &attrs, 0, &err);
            double b = MPI_Wtime();
            history_row row = {k, {0}};
            history_append_metrics(&h, &row, &err);
            double c = MPI_Wtime();
            history_append_samples(&h, k, grid, &err);
            double d = MPI_Wtime();
            ck[k] = b - a, lg[k] = c - b, sm[k] = d - c;
        }
        history_close(&h, &err);
        io_per_step = median(ck, 7) / cfg.checkpoint_every + median(lg, 7) / cfg.log_every +
                      median(sm, 7) / cfg.sample_every;
        printf("RESULT mode=io checkpoint_ms=%.2f log_ms=%.3f samples_ms=%.3f\n", 1e3 * median(ck, 7),
               1e3 * median(lg, 7), 1e3 * median(sm, 7));
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) fprintf(stderr, "gan_bench: could not remove %s\n", dir);
        free(noise), free(grid), run_state_free(&rs), attrs_free(&attrs);
    }

    if (rank == 0) {
        static const char *names[PHASE_COUNT] = {"data", "forward", "backward", "allreduce", "adam", "wait"};
        double timed = total; /* phases were accumulated over exactly the timed repeats */
        double flops = iteration_flops(hp.noise_dim, hp.g_hidden, hp.image_size);
        printf("RESULT mode=train precision=%s probe_wait=%d ranks=%d batch=%d core=%s steps=%d repeats=%d img_per_s=%.1f "
               "img_per_s_per_rank=%.1f step_us=%.2f flops_per_sample=%.0f gflops_per_rank=%.2f io_frac=%.4f",
               precision == GEMM_BF16 ? "bf16" : "fp32", t.probe_wait, world, B, openblas_get_corename(), steps, repeats, median(rates, repeats),
               median(rates, repeats) / world, 1e6 * step_time, flops, flops * median(rates, repeats) / world / 1e9,
               io_per_step / (step_time + io_per_step));
        for (int p = 0; p < PHASE_COUNT; p++)
            printf(" %s_frac=%.4f", names[p], t.phase_seconds[p] / timed * step_time / (step_time + io_per_step));
        printf("\n");
    }
    idx_free(&img);
    trainer_free(&t);
    MPI_Finalize();
    return 0;
}
