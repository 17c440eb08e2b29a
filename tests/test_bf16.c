/*
 * test_bf16.c: bf16 rounding against hand-made cases, and every matrix product shape of the
 * training step in bf16 against references in double precision:
 *   - exact: against the product of the bf16-ROUNDED inputs, to within fp32 summation error
 *     (what a bf16 product with fp32 accumulation must give, on oneDNN and emulated alike);
 *   - bf16's tolerance: against the product of the unrounded inputs, within 2^-7 (two input
 *     roundings of at most 2^-8 each: bf16 keeps 8 significant bits) of the sum of |a||b|.
 * Runs on any CPU: native bf16 through oneDNN where the CPU has it, the emulated path
 * elsewhere (ctest runs it once more with DNNL_MAX_CPU_ISA=AVX2, which forces that path).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "check.h"
#include "gemm.h"
#include "rng.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_rounding(void)
{
    /* value, expected bf16 pattern */
    const struct { float x; uint16_t want; } cases[] = {
        {1.0f, 0x3f80},                        /* exact */
        {-2.5f, 0xc020},                       /* exact */
        {from_bits(0x3f808000), 0x3f80},       /* a tie, kept bit even: down */
        {from_bits(0x3f818000), 0x3f82},       /* a tie, kept bit odd: up */
        {from_bits(0x3f808001), 0x3f81},       /* just above the tie: up */
        {from_bits(0x7f7fffff), 0x7f80},       /* FLT_MAX rounds up to infinity */
        {INFINITY, 0x7f80}, {-INFINITY, 0xff80}, {0.0f, 0x0000}, {-0.0f, 0x8000},
        {from_bits(0x00000001), 0x0000},       /* the smallest subnormal rounds to 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got;
        bf16_from_float(&got, &cases[i].x, 1);
        CHECK(got == cases[i].want, "bf16(%a) = 0x%04x, want 0x%04x", (double)cases[i].x, got, cases[i].want);
        float r;
        bf16_round(&r, &cases[i].x, 1);
        CHECK(bits(r) == (uint32_t)cases[i].want << 16, "bf16_round(%a) = %a", (double)cases[i].x, (double)r);
    }
    float nan = from_bits(0x7f800001), r; /* a signalling NaN whose payload rounding would lose */
    uint16_t h;
    bf16_from_float(&h, &nan, 1);
    bf16_round(&r, &nan, 1);
    CHECK(isnan(bf16_to_float(h)) && isnan(r), "NaN must stay NaN (got 0x%04x)", h);
    /* Relative error at most 2^-8 (8 significant bits, round to nearest) over a sweep of magnitudes. */
    rng_t g = rng_make(3, 1);
    double worst = 0;
    for (int i = 0; i < 100000; i++) {
        float x = (2 * rng_uniform(&g) - 1) * powf(2.0f, (float)(i % 60 - 30));
        bf16_round(&r, &x, 1);
        double rel = fabs((double)r - x) / fabs((double)x);
        if (rel > worst) worst = rel;
    }
    CHECK(worst <= 1.0 / 256, "relative rounding error %g > 2^-8", worst);
}

/* a (M,K) or its transpose, element (i, k) */
static double at(const float *a, int trans, int rows, int cols, int i, int k)
{
    return trans ? a[(size_t)k * rows + i] : a[(size_t)i * cols + k];
}

/* c (M,N) in bf16 against both references, each error relative to Σ|a||b| of its element. */
static void check_product(gemm *mm, int M, int N, int K, int ta, int tb, int with_bias, rng_t *g)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *bias = malloc(sizeof(float) * N);
    float *c = malloc(sizeof(float) * M * N), *ar = malloc(sizeof(float) * M * K), *br = malloc(sizeof(float) * K * N);
    for (int i = 0; i < M * K; i++) a[i] = 2 * rng_uniform(g) - 1;
    for (int i = 0; i < K * N; i++) b[i] = (2 * rng_uniform(g) - 1) * 0.1f;
    for (int i = 0; i < N; i++) bias[i] = rng_uniform(g);
    bf16_round(ar, a, (size_t)M * K), bf16_round(br, b, (size_t)K * N);
    gemm_product(mm, c, a, ta, b, tb, with_bias ? bias : NULL, M, N, K);
    double worst_exact = 0, worst_bf16 = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double exact = with_bias ? bias[j] : 0, full = exact, mag = fabs(exact);
            for (int k = 0; k < K; k++) {
                exact += at(ar, ta, M, K, i, k) * at(br, tb, K, N, k, j);
                full += at(a, ta, M, K, i, k) * at(b, tb, K, N, k, j);
                mag += fabs(at(a, ta, M, K, i, k) * at(b, tb, K, N, k, j));
            }
            double got = c[(size_t)i * N + j];
            worst_exact = fmax(worst_exact, fabs(got - exact) / mag);
            worst_bf16 = fmax(worst_bf16, fabs(got - full) / mag);
        }
    /* fp32 sums of K terms: K * 2^-24 bounds any summation order. */
    CHECK(worst_exact <= K * 6e-8, "%dx%dx%d ta%d tb%d: off the rounded inputs' product by %g of sum|ab|", M, N, K,
          ta, tb, worst_exact);
    CHECK(worst_bf16 <= 1.0 / 128, "%dx%dx%d ta%d tb%d: off the fp32 product by %g of sum|ab|", M, N, K, ta, tb,
          worst_bf16);
    printf("  %4d x %4d x %4d%s%s%s: %.1e of sum|ab| from the rounded inputs' product, %.1e from fp32's\n", M, N, K,
           ta ? " a^T" : "", tb ? " b^T" : "", with_bias ? " +bias" : "", worst_exact, worst_bf16);
    free(a), free(b), free(bias), free(c), free(ar), free(br);
}

static void test_products(void)
{
    gemm mm;
    gemm_init(&mm, GEMM_BF16);
    char what[256];
    gemm_describe(&mm, what, sizeof what);
    printf("  %s\n", what);
    rng_t g = rng_make(7, 1);
    enum { B = 16, Z = 100, H = 128, X = 784 };
    /* The step's products (gan.c) at batch B: forward with bias, then the backward ones. */
    const int shapes[][6] = {
        {B, H, Z, 0, 0, 1},     {B, X, H, 0, 0, 1},     {2 * B, H, X, 0, 0, 1}, {2 * B, 1, H, 0, 0, 1},
        {X, H, 2 * B, 1, 0, 0}, {H, 1, 2 * B, 1, 0, 0}, {B, X, H, 0, 1, 0},     {H, X, B, 1, 0, 0},
        {B, H, X, 0, 1, 0},     {Z, H, B, 1, 0, 0},     {1, X, H, 0, 0, 1},     {3, 5, 7, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *s = shapes[i];
        check_product(&mm, s[0], s[1], s[2], s[3], s[4], s[5], &g);
    }
    /* A held operand gives the same numbers as one rounded at the product. */
    float *a = malloc(sizeof(float) * B * X), *w = malloc(sizeof(float) * X * H);
    float *c1 = malloc(sizeof(float) * B * H), *c2 = malloc(sizeof(float) * B * H);
    for (int i = 0; i < B * X; i++) a[i] = 2 * rng_uniform(&g) - 1;
    for (int i = 0; i < X * H; i++) w[i] = 2 * rng_uniform(&g) - 1;
    gemm_product(&mm, c1, a, 0, w, 0, NULL, B, H, X);
    gemm_hold(&mm, w, (size_t)X * H);
    gemm_product(&mm, c2, a, 0, w, 0, NULL, B, H, X);
    CHECK(memcmp(c1, c2, sizeof(float) * B * H) == 0, "a held operand changed the product");
    free(a), free(w), free(c1), free(c2);
    gemm_free(&mm);
}

int main(void)
{
    static const char *support[] = {"not built with oneDNN: emulated", "emulated (no native bf16 on this CPU)",
                                     "native (oneDNN)"};
    printf("test_bf16: bf16 products here: %s\n", support[gemm_bf16_support()]);
    test_rounding();
    test_products();
    return check_summary("test_bf16");
}
