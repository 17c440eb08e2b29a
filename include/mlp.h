/*
 * mlp.h: a two-layer perceptron (in -> hidden -> out) with its Adam state.
 *
 * Both networks of the GAN have this shape: G is Z -> H -> X, D is X -> H -> 1.
 * Parameters, gradients and Adam's two moments each live in ONE contiguous
 * slab of n_params floats, in the order
 *     w1 (in, hidden) | b1 (hidden) | w2 (hidden, out) | b2 (out)
 * so a whole network's gradients move in one MPI_Allreduce and Adam is one loop.
 * The gradient slab has MLP_SPARE spare floats after the gradients (grads[n_params + k]):
 * train.c sends its stop flag and its count of ranks with a non-finite loss through the same
 * allreduce in them.
 */
#ifndef GAN_MLP_H
#define GAN_MLP_H

#include <stddef.h>

#include "rng.h"

enum { MLP_SPARE = 2 }; /* spare floats after the gradients in grads */

typedef struct {
    int in, hidden, out;
    size_t n_params;
    float *params, *grads, *m, *v; /* (n_params) each, owned; grads has MLP_SPARE more */
    float *w1, *b1, *w2, *b2;      /* views into params */
    float *dw1, *db1, *dw2, *db2;  /* the same views into grads */
    long long adam_t;              /* Adam steps taken (bias correction) */
} mlp;

typedef struct {
    double lr, beta1, beta2, epsilon; /* double so that 1 - beta is exact before rounding */
} adam_config;

/* Allocate a zeroed network; aborts the job if memory runs out. */
void mlp_init(mlp *net, int in, int hidden, int out);
void mlp_free(mlp *net);

/* A view of net's layers over another parameter slab of the same layout (e.g. a moving
 * average of the parameters): no gradients or Adam state, owns nothing, do not free. */
mlp mlp_view(const mlp *net, float *params);

/* Glorot-uniform kernels (U(±sqrt(6/(fan_in+fan_out)))), zero biases. */
void mlp_init_glorot(mlp *net, rng_t *rng);

/*
 * One Adam step over the whole slab (Kingma & Ba; PyTorch's form), with g = grad_scale·grads:
 *   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;  t += 1
 *   p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * grad_scale = 1/world turns an allreduced sum into the mean without a pass of its own.
 */
void mlp_adam_step(mlp *net, const adam_config *cfg, float grad_scale);

#endif
