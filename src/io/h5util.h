/*
 * h5util.h: small HDF5 helpers shared by the checkpoint, history, classifier and sample files.
 * HDF5's own error printing is switched off (h5_init); a failed call is
 * turned into one message that names the file, the object and, when HDF5
 * knows it, the operating system's reason (e.g. "No space left on device").
 */
#ifndef GAN_H5UTIL_H
#define GAN_H5UTIL_H

#include <hdf5.h>
#include <hdf5_hl.h>

#include "attrs.h"
#include "common.h"

/* Call before any other HDF5 function: stop HDF5 from printing its error
 * stack (we report errors ourselves) and from running its exit handler. */
void h5_init(void);

/* Fill err with "PATH: WHAT: <innermost HDF5 error>" and return -1. */
int h5_fail(err_buf *err, const char *path, const char *what);

/* Create a float32 dataset of rank `rank` and write `data` into it. */
int h5_write_floats(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data);

/* Scalar attributes on an object. Return 0 or a negative HDF5 code. */
int h5_attr_int(hid_t obj, const char *name, long long v);
int h5_attr_double(hid_t obj, const char *name, double v);
int h5_attr_string(hid_t obj, const char *name, const char *v);

/* Create a dataset of file_type (any HDF5 number type) and write `data`, of mem_type. */
int h5_write_array(hid_t loc, const char *name, int rank, const hsize_t *dims, hid_t file_type,
                  hid_t mem_type, const void *data);

/* Read a scalar integer attribute; -1 if it is missing or not a number. */
int h5_read_attr_int(hid_t obj, const char *name, long long *v);

/* Read a scalar number attribute as a double; -1 if it is missing or not a number. */
int h5_read_attr_double(hid_t obj, const char *name, double *v);

/* Read a scalar string attribute (variable or fixed length) into buf; -1 if it is missing, not
 * a string, or does not fit in len bytes. */
int h5_read_attr_string(hid_t obj, const char *name, char *buf, size_t len);

/* Read dataset `name` whose shape must be exactly dims[0..rank) into out (mem_type).
 * On a missing dataset or another shape, fills err naming both shapes. */
int h5_read_exact(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                  hid_t mem_type, void *out, err_buf *err);

/* Every value of the list as a scalar attribute of obj, in order. */
int h5_write_attrs(hid_t obj, const attr_list *a);

#endif
