/* h5util.c: HDF5 helpers (see h5util.h). */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h5_init(void)
{
    /* No cleanup at exit: if a disk failed under an open file, HDF5's exit
     * handler would try to flush it again and can crash. We close our files. */
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Walk the stack inward; keep the last (innermost) description. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *ctx)
{
    (void)n;
    if (e->desc && e->desc[0]) snprintf(ctx, ERR_LEN / 2, "%s", e->desc);
    return 0;
}

int h5_fail(err_buf *err, const char *path, const char *what)
{
    char detail[ERR_LEN / 2] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, detail);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0]) return err_set(err, "%s: %s: %s", path, what, detail);
    return err_set(err, "%s: %s failed", path, what);
}

int h5_write_floats(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data)
{
    return h5_write_array(loc, name, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data);
}

int h5_write_array(hid_t loc, const char *name, int rank, const hsize_t *dims, hid_t file_type,
                  hid_t mem_type, const void *data)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (lcpl < 0 || dcpl < 0) return -1;
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_obj_track_times(dcpl, 0); /* same content, same bytes */
    int rc = -1;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t set = space < 0 ? -1 : H5Dcreate2(loc, name, file_type, space, lcpl, dcpl, H5P_DEFAULT);
    if (set >= 0 && H5Dwrite(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) rc = 0;
    if (set >= 0) H5Dclose(set);
    if (space >= 0) H5Sclose(space);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    return rc;
}

static int write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) return -1; /* replace, e.g. on resume */
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, mem_type, v) >= 0 ? 0 : -1;
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

int h5_attr_int(hid_t obj, const char *name, long long v)
{
    return write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v);
}

int h5_attr_double(hid_t obj, const char *name, double v)
{
    return write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

int h5_attr_string(hid_t obj, const char *name, const char *v)
{
    /* Variable-length UTF-8: h5py reads it as a Python str. */
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    int rc = write_attr(obj, name, type, type, &v);
    H5Tclose(type);
    return rc;
}

/* The scalar attribute `name` of obj and its type, if it exists and is of class `want`; else -1. */
static hid_t open_scalar_attr(hid_t obj, const char *name, H5T_class_t want, hid_t *type)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) return -1;
    hid_t space = H5Aget_space(attr);
    *type = H5Aget_type(attr);
    H5T_class_t cls = *type >= 0 ? H5Tget_class(*type) : H5T_NO_CLASS;
    int ok = space >= 0 && H5Sget_simple_extent_npoints(space) == 1 &&
             (cls == want || (want == H5T_FLOAT && cls == H5T_INTEGER));
    if (space >= 0) H5Sclose(space);
    if (ok) return attr;
    if (*type >= 0) H5Tclose(*type);
    H5Aclose(attr);
    return -1;
}

int h5_read_attr_double(hid_t obj, const char *name, double *v)
{
    hid_t type, attr = open_scalar_attr(obj, name, H5T_FLOAT, &type);
    if (attr < 0) return -1;
    int rc = H5Aread(attr, H5T_NATIVE_DOUBLE, v) >= 0 ? 0 : -1;
    H5Tclose(type);
    H5Aclose(attr);
    return rc;
}

int h5_read_attr_string(hid_t obj, const char *name, char *buf, size_t len)
{
    hid_t type, attr = open_scalar_attr(obj, name, H5T_STRING, &type);
    if (attr < 0) return -1;
    int rc = -1;
    if (H5Tis_variable_str(type) > 0) {
        char *v = NULL;
        hid_t mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, H5T_VARIABLE);
        H5Tset_cset(mem, H5Tget_cset(type)); /* HDF5 converts no character set into another */
        if (H5Aread(attr, mem, &v) >= 0 && v && strlen(v) < len) strcpy(buf, v), rc = 0;
        if (v) H5free_memory(v);
        H5Tclose(mem);
    } else {
        size_t size = H5Tget_size(type);
        hid_t mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, size + 1); /* room for the terminator a fixed-length string may lack */
        H5Tset_cset(mem, H5Tget_cset(type));
        char *v = size + 1 <= len ? calloc(1, size + 1) : NULL;
        if (v && H5Aread(attr, mem, v) >= 0) strcpy(buf, v), rc = 0;
        free(v);
        H5Tclose(mem);
    }
    H5Tclose(type);
    H5Aclose(attr);
    return rc;
}

int h5_read_attr_int(hid_t obj, const char *name, long long *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) return -1;
    hid_t space = H5Aget_space(attr), type = H5Aget_type(attr);
    int rc = -1;
    if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1 && type >= 0 &&
        (H5Tget_class(type) == H5T_INTEGER || H5Tget_class(type) == H5T_FLOAT) &&
        H5Aread(attr, H5T_NATIVE_LLONG, v) >= 0)
        rc = 0;
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    return rc;
}

static void shape_text(char *buf, size_t len, int rank, const hsize_t *dims)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

int h5_read_exact(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                  hid_t mem_type, void *out, err_buf *err)
{
    char want[96], got[96];
    shape_text(want, sizeof want, rank, dims);
    if (H5LTpath_valid(file, name, 1) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return err_set(err, "%s: no dataset %s (expected shape %s)", path, name, want);
    }
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set < 0) return h5_fail(err, path, name);
    hid_t space = H5Dget_space(set);
    int file_rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t file_dims[H5S_MAX_RANK] = {0};
    int rc = -1;
    if (file_rank < 0 || file_rank > H5S_MAX_RANK) {
        h5_fail(err, path, name);
    } else {
        H5Sget_simple_extent_dims(space, file_dims, NULL);
        int same = file_rank == rank;
        for (int i = 0; same && i < rank; i++) same = file_dims[i] == dims[i];
        shape_text(got, sizeof got, file_rank, file_dims);
        if (!same) err_set(err, "%s: %s has shape %s, but the options need %s", path, name, got, want);
        else if (H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) h5_fail(err, path, name);
        else rc = 0;
    }
    if (space >= 0) H5Sclose(space);
    H5Dclose(set);
    return rc;
}

int h5_write_attrs(hid_t obj, const attr_list *a)
{
    int rc = 0;
    for (int k = 0; k < a->n; k++) {
        const attr *e = &a->items[k];
        if (e->type == ATTR_INT) rc |= h5_attr_int(obj, e->name, e->i);
        else if (e->type == ATTR_DOUBLE) rc |= h5_attr_double(obj, e->name, e->d);
        else rc |= h5_attr_string(obj, e->name, e->s);
    }
    return rc ? -1 : 0;
}
