/*
 * gemm_dnnl.c: bf16 products through oneDNN's matmul (see gemm_dnnl.h, gemm.h).
 *
 * A plan is one product shape (M, N, K, transposes, bias): its primitive and the memory
 * objects it runs on, created with no data and pointed at this call's buffers before each
 * run, so running a plan allocates nothing. Measured on oneDNN 2.6.3 (docs/performance.md,
 * "bf16"): fp32 inputs with fpmath_mode bf16 do not reach the bf16 kernels (it picks the
 * fp32 brg:avx512_core), so the inputs are rounded here, into bf16 buffers that only grow.
 * The bias is the matmul's own bias argument (added in fp32 to the fp32 accumulator).
 */
#include "gemm_dnnl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifdef GAN_HAVE_DNNL

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdint.h>

#include "bf16.h"

#define DNNL_CHECK(call)                                                                       \
    do {                                                                                       \
        dnnl_status_t s_ = (call);                                                             \
        if (s_ != dnnl_success) FATAL("oneDNN: %s failed: %s", #call, dnnl_status2str(s_));    \
    } while (0)

typedef struct {
    int M, N, K, trans_a, trans_b, has_bias; /* the shape it runs */
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, bias, c, scratch;   /* no data of their own: set before each run */
} plan;

/* A read-only operand rounded once (gemm_hold): a network's weights for a pass. */
typedef struct {
    const float *src; /* NULL: unused */
    size_t n;
    uint16_t *bf16; /* (n) its rounding, owned */
    size_t cap;
} held;

enum { HELD_MAX = 6 }; /* G's and D's weights, D's input, G's output gradient, and room */

struct gemm_dnnl {
    held held[HELD_MAX];
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    plan *plans; /* (n_plans) one per shape seen, owned */
    int n_plans;
    uint16_t *a16, *b16; /* the inputs in bf16, owned, grown to the largest product */
    size_t a16_len, b16_len;
    void *scratch; /* oneDNN's scratchpad for every plan (user mode), owned */
    size_t scratch_len;
};

int gemm_dnnl_support(void)
{
    /* AMX's value has every bit of AVX512-BF16's: a mask test covers both (dnnl_types.h). */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), bf16 = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & bf16) == bf16 ? GEMM_BF16_NATIVE : GEMM_BF16_EMULATED;
}

gemm_dnnl *gemm_dnnl_new(void)
{
    gemm_dnnl *d = xcalloc(1, sizeof *d);
    if (!getenv("OMP_NUM_THREADS")) omp_set_num_threads(1);
    DNNL_CHECK(dnnl_engine_create(&d->engine, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags));
    return d;
}

void gemm_dnnl_free(gemm_dnnl *d)
{
    if (!d) return;
    for (int i = 0; i < d->n_plans; i++) {
        plan *p = &d->plans[i];
        dnnl_memory_t mems[] = {p->a, p->b, p->bias, p->c, p->scratch};
        for (size_t k = 0; k < sizeof mems / sizeof mems[0]; k++)
            if (mems[k]) dnnl_memory_destroy(mems[k]);
        dnnl_primitive_destroy(p->prim);
    }
    dnnl_stream_destroy(d->stream);
    dnnl_engine_destroy(d->engine);
    free(d->plans), free(d->a16), free(d->b16), free(d->scratch);
    for (int i = 0; i < HELD_MAX; i++) free(d->held[i].bf16);
    free(d);
}

/* A (rows, cols) matrix of type t, stored transposed (cols, rows) if trans. */
static void matrix_md(dnnl_memory_desc_t *md, int rows, int cols, int trans, dnnl_data_type_t t)
{
    dnnl_dims_t dims = {rows, cols}, strides = {cols, 1};
    if (trans) strides[0] = 1, strides[1] = rows;
    DNNL_CHECK(dnnl_memory_desc_init_by_strides(md, 2, dims, t, strides));
}

static dnnl_memory_t empty_memory(const dnnl_memory_desc_t *md, dnnl_engine_t engine)
{
    dnnl_memory_t m;
    DNNL_CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_NONE));
    return m;
}

/* The primitive descriptor of one shape: bf16 inputs, fp32 bias and output, user scratchpad. */
static dnnl_primitive_desc_t make_pd(dnnl_engine_t engine, int M, int N, int K, int trans_a, int trans_b,
                                     int has_bias, dnnl_memory_desc_t md[4])
{
    matrix_md(&md[0], M, K, trans_a, dnnl_bf16);
    matrix_md(&md[1], K, N, trans_b, dnnl_bf16);
    matrix_md(&md[2], 1, N, 0, dnnl_f32);
    matrix_md(&md[3], M, N, 0, dnnl_f32);
    dnnl_matmul_desc_t desc;
    DNNL_CHECK(dnnl_matmul_desc_init(&desc, &md[0], &md[1], has_bias ? &md[2] : NULL, &md[3]));
    dnnl_primitive_attr_t attr;
    DNNL_CHECK(dnnl_primitive_attr_create(&attr));
    DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* The plan for this shape: found, or created (the first step only). */
static plan *find_plan(gemm_dnnl *d, int M, int N, int K, int trans_a, int trans_b, int has_bias)
{
    for (int i = 0; i < d->n_plans; i++) {
        plan *p = &d->plans[i];
        if (p->M == M && p->N == N && p->K == K && p->trans_a == trans_a && p->trans_b == trans_b &&
            p->has_bias == has_bias)
            return p;
    }
    d->plans = realloc(d->plans, sizeof(plan) * (size_t)(d->n_plans + 1));
    if (!d->plans) FATAL("out of memory for a oneDNN plan");
    plan *p = &d->plans[d->n_plans++];
    *p = (plan){M, N, K, trans_a, trans_b, has_bias, NULL, NULL, NULL, NULL, NULL, NULL};
    dnnl_memory_desc_t md[4];
    dnnl_primitive_desc_t pd = make_pd(d->engine, M, N, K, trans_a, trans_b, has_bias, md);
    const dnnl_memory_desc_t *scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t need = dnnl_memory_desc_get_size(scratch_md);
    if (need > d->scratch_len) {
        free(d->scratch);
        d->scratch = xmalloc(need), d->scratch_len = need;
    }
    DNNL_CHECK(dnnl_primitive_create(&p->prim, pd));
    p->a = empty_memory(&md[0], d->engine), p->b = empty_memory(&md[1], d->engine);
    p->bias = has_bias ? empty_memory(&md[2], d->engine) : NULL;
    p->c = empty_memory(&md[3], d->engine), p->scratch = empty_memory(scratch_md, d->engine);
    dnnl_primitive_desc_destroy(pd);
    return p;
}

/* buf holds at least n bf16 values (grown, never shrunk). */
static uint16_t *bf16_buffer(uint16_t **buf, size_t *len, size_t n)
{
    if (n > *len) {
        free(*buf);
        *buf = xmalloc(sizeof(uint16_t) * n), *len = n;
    }
    return *buf;
}

/* x (n) in bf16: its held copy if a held operand contains it, else rounded into *buf. */
static const uint16_t *in_bf16(gemm_dnnl *d, const float *x, size_t n, uint16_t **buf, size_t *len)
{
    for (int i = 0; i < HELD_MAX; i++) {
        const held *h = &d->held[i];
        if (h->src && x >= h->src && x + n <= h->src + h->n) return h->bf16 + (x - h->src);
    }
    uint16_t *out = bf16_buffer(buf, len, n);
    bf16_from_float(out, x, n);
    return out;
}

void gemm_dnnl_hold(gemm_dnnl *d, const float *x, size_t n)
{
    held *h = NULL;
    for (int i = 0; i < HELD_MAX; i++) { /* x replaces every held operand it overlaps */
        held *o = &d->held[i];
        if (o->src && x < o->src + o->n && o->src < x + n) o->src = NULL;
    }
    for (int i = 0; i < HELD_MAX && !h; i++)
        if (!d->held[i].src) h = &d->held[i];
    if (!h) FATAL("gemm_hold: more than %d operands held", HELD_MAX);
    h->src = x, h->n = n;
    bf16_from_float(bf16_buffer(&h->bf16, &h->cap, n), x, n);
}

void gemm_dnnl_product(gemm_dnnl *d, float *c, const float *a, int trans_a, const float *b, int trans_b,
                       const float *bias, int M, int N, int K)
{
    plan *p = find_plan(d, M, N, K, trans_a, trans_b, bias != NULL);
    const uint16_t *a16 = in_bf16(d, a, (size_t)M * K, &d->a16, &d->a16_len);
    const uint16_t *b16 = in_bf16(d, b, (size_t)K * N, &d->b16, &d->b16_len);
    /* oneDNN's handles are not const; it only reads the inputs and the bias. */
    DNNL_CHECK(dnnl_memory_set_data_handle(p->a, (void *)a16));
    DNNL_CHECK(dnnl_memory_set_data_handle(p->b, (void *)b16));
    DNNL_CHECK(dnnl_memory_set_data_handle(p->c, c));
    DNNL_CHECK(dnnl_memory_set_data_handle(p->scratch, d->scratch));
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c},
                               {DNNL_ARG_SCRATCHPAD, p->scratch}, {DNNL_ARG_BIAS, p->bias}};
    if (bias) DNNL_CHECK(dnnl_memory_set_data_handle(p->bias, (void *)bias));
    DNNL_CHECK(dnnl_primitive_execute(p->prim, d->stream, bias ? 5 : 4, args));
}

void gemm_dnnl_describe(gemm_dnnl *d, char *buf, size_t len)
{
    dnnl_memory_desc_t md[4];
    dnnl_primitive_desc_t pd = make_pd(d->engine, 64, 128, 784, 0, 0, 1, md);
    const char *impl = "?";
    DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, len, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch, impl);
    dnnl_primitive_desc_destroy(pd);
}

void gemm_dnnl_library(char *buf, size_t len)
{
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, len, "%d.%d.%d; bf16 %s", v->major, v->minor, v->patch,
             gemm_dnnl_support() == GEMM_BF16_NATIVE ? "native (avx512_core_bf16 or AMX)"
                                                     : "emulated (no native bf16 on this CPU)");
}

#else /* built without oneDNN: gemm.c asks gemm_dnnl_support() first and calls nothing else */

int gemm_dnnl_support(void)
{
    return GEMM_BF16_UNBUILT;
}

gemm_dnnl *gemm_dnnl_new(void)
{
    FATAL("built without oneDNN");
}

void gemm_dnnl_free(gemm_dnnl *d)
{
    (void)d;
}

void gemm_dnnl_product(gemm_dnnl *d, float *c, const float *a, int trans_a, const float *b, int trans_b,
                       const float *bias, int M, int N, int K)
{
    (void)d, (void)c, (void)a, (void)trans_a, (void)b, (void)trans_b, (void)bias, (void)M, (void)N, (void)K;
    FATAL("built without oneDNN");
}

void gemm_dnnl_hold(gemm_dnnl *d, const float *x, size_t n)
{
    (void)d, (void)x, (void)n;
}

void gemm_dnnl_library(char *buf, size_t len)
{
    snprintf(buf, len, "none: --precision bf16 is refused");
}

void gemm_dnnl_describe(gemm_dnnl *d, char *buf, size_t len)
{
    (void)d;
    snprintf(buf, len, "built without oneDNN");
}

#endif
