/*
 * checkpoint_layout.h: where a network's four tensors sit in its parameter slab and in
 * the checkpoint file, shared by the writer (checkpoint.c) and the reader (checkpoint_read.c).
 */
#ifndef GAN_CHECKPOINT_LAYOUT_H
#define GAN_CHECKPOINT_LAYOUT_H

#include <hdf5.h>

#include "mlp.h"

/* The four tensors of a network and their shapes, in slab order. */
typedef struct {
    const char *name;
    int rank;
    hsize_t dims[2];
    size_t offset; /* into the parameter slab */
} tensor;

static inline void network_tensors(const mlp *net, tensor t[4])
{
    const hsize_t in = net->in, hid = net->hidden, out = net->out;
    t[0] = (tensor){"dense1/kernel", 2, {in, hid}, 0};
    t[1] = (tensor){"dense1/bias", 1, {hid, 0}, in * hid};
    t[2] = (tensor){"dense2/kernel", 2, {hid, out}, in * hid + hid};
    t[3] = (tensor){"dense2/bias", 1, {out, 0}, in * hid + hid + hid * out};
}

#endif
