/* mlp.c: the two-layer network's memory and its Adam update (see mlp.h). */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include "mlp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clones.h"
#include "common.h"

/* Slabs of at least this many bytes get huge pages. Not under AddressSanitizer: there
 * slabs keep their exact size, so that an overrun past n_params is caught. */
#if defined(__SANITIZE_ADDRESS__)
#define HUGE_SLAB_MIN SIZE_MAX
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUGE_SLAB_MIN SIZE_MAX
#endif
#endif
#ifndef HUGE_SLAB_MIN
#define HUGE_SLAB_MIN ((size_t)256 << 10)
#endif

/*
 * A zeroed slab of n floats. Large ones (the default model's are 0.4 MB) go on 2 MiB
 * boundaries with a request for transparent huge pages (THP is often "madvise" only, as
 * here): Adam and the allreduce stream through all four slabs every step, and fewer TLB
 * misses measurably speed both up (README, "Performance").
 */
static float *slab_alloc(size_t n)
{
    if (n * sizeof(float) < HUGE_SLAB_MIN) return xcalloc(n, sizeof(float));
    const size_t huge = (size_t)2 << 20, bytes = (n * sizeof(float) + huge - 1) / huge * huge;
    float *p = aligned_alloc(huge, bytes);
    if (!p) FATAL("out of memory: a parameter slab of %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* only advice: without THP, small pages it is */
#endif
    memset(p, 0, bytes); /* first touch, after the advice */
    return p;
}

/* Point the layer views into the slabs, in the documented order (no grads: no gradient views). */
static void carve_views(mlp *net)
{
    const size_t w1 = 0, b1 = w1 + (size_t)net->in * net->hidden, w2 = b1 + net->hidden,
                 b2 = w2 + (size_t)net->hidden * net->out;
    net->w1 = net->params + w1, net->b1 = net->params + b1, net->w2 = net->params + w2, net->b2 = net->params + b2;
    if (net->grads)
        net->dw1 = net->grads + w1, net->db1 = net->grads + b1, net->dw2 = net->grads + w2, net->db2 = net->grads + b2;
}

void mlp_init(mlp *net, int in, int hidden, int out)
{
    memset(net, 0, sizeof *net);
    net->in = in;
    net->hidden = hidden;
    net->out = out;
    net->n_params = (size_t)in * hidden + hidden + (size_t)hidden * out + out;
    net->params = slab_alloc(net->n_params);
    net->grads = slab_alloc(net->n_params + MLP_SPARE);
    net->m = slab_alloc(net->n_params);
    net->v = slab_alloc(net->n_params);
    carve_views(net);
}

mlp mlp_view(const mlp *net, float *params)
{
    mlp view = {.in = net->in, .hidden = net->hidden, .out = net->out, .n_params = net->n_params,
                .params = params, .adam_t = net->adam_t};
    carve_views(&view);
    return view;
}

void mlp_free(mlp *net)
{
    free(net->params);
    free(net->grads);
    free(net->m);
    free(net->v);
    memset(net, 0, sizeof *net);
}

static void glorot_uniform(float *w, int fan_in, int fan_out, rng_t *rng)
{
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (size_t i = 0; i < (size_t)fan_in * fan_out; i++) w[i] = (2.0f * rng_uniform(rng) - 1.0f) * limit;
}

void mlp_init_glorot(mlp *net, rng_t *rng)
{
    memset(net->params, 0, net->n_params * sizeof(float));
    glorot_uniform(net->w1, net->in, net->hidden, rng);
    glorot_uniform(net->w2, net->hidden, net->out, rng);
}

HOT_LOOP void mlp_adam_step(mlp *net, const adam_config *cfg, float grad_scale)
{
    net->adam_t++;
    /* Bias corrections in double: for large t, b^t in float loses the tail. */
    const float step = (float)(cfg->lr / (1.0 - pow(cfg->beta1, (double)net->adam_t)));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(cfg->beta2, (double)net->adam_t)));
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, eps = (float)cfg->epsilon;
    const float one_minus_b1 = (float)(1.0 - cfg->beta1), one_minus_b2 = (float)(1.0 - cfg->beta2);
    float *restrict p = net->params, *restrict m = net->m, *restrict v = net->v;
    const float *restrict g = net->grads;
    const size_t n = net->n_params;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i] * grad_scale;
        m[i] = b1 * m[i] + one_minus_b1 * gi;
        v[i] = b2 * v[i] + one_minus_b2 * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}
