/*
 * idx.h: the MNIST IDX file format, raw or gzip-compressed.
 *
 * Images: big-endian u32 magic 0x00000803, u32 count, u32 rows, u32 cols, then
 * count*rows*cols bytes. Labels: magic 0x00000801, u32 count, count bytes.
 */
#ifndef GAN_IDX_H
#define GAN_IDX_H

#include <stdint.h>

#include "common.h"

typedef struct {
    uint8_t *pixels; /* (n, rows*cols), owned */
    uint8_t *labels; /* (n) their labels, owned */
    int n, rows, cols;
    int total;       /* images in the file before selecting one label */
    int classes;     /* the largest label in the file + 1 */
    uint64_t fingerprint; /* of the whole content of both files, whatever is selected (idx_hash below) */
} idx_images;

enum { IDX_ALL = -1 };

/* A dataset's fingerprint: 64-bit FNV-1a over the decoded content (the image count, rows, cols, every
 * label, every pixel), so a raw and a gzip copy of the same files agree and any changed byte differs.
 * It keys the classifiers (classifier.h5's data_fingerprint). */
typedef struct {
    uint64_t h;
} idx_hash;
idx_hash idx_hash_start(void);
void idx_hash_bytes(idx_hash *h, const void *bytes, size_t n);

/*
 * Read an images file and its labels file, check that both are well-formed
 * and agree on the count, and keep only the images whose label is `digit`
 * (IDX_ALL: every image).
 * On success returns 0 and fills *out (free it with idx_free). On error
 * returns -1 with a message naming the file and what was wrong; *out is empty.
 */
int idx_load_digit(const char *images_path, const char *labels_path, int digit, idx_images *out,
                   err_buf *err);

/* The labels path that belongs to an images path: "images-idx3" -> "labels-idx1".
 * Returns -1 if the name does not contain "images-idx3". */
int idx_labels_path(const char *images_path, char *out, size_t len);

/*
 * The standard training files in directory `dir`: train-images-idx3-ubyte (or .gz) into
 * images, and, when labels is not NULL, train-labels-idx1-ubyte (or .gz) into labels. The
 * uncompressed name wins when both exist. Returns 0, or -1 with a message saying which
 * names were looked for (the caller puts the flag and directory in front of it).
 */
int idx_find_in_dir(const char *dir, char *images, size_t images_len, char *labels, size_t labels_len,
                    err_buf *err);

/*
 * The files of `--data DATA [--labels LABELS]` into images and labels (PATH_LEN each): DATA, or for
 * a directory its standard names (idx_find_in_dir); LABELS when given (not NULL or ""), else the
 * directory's or the name derived from DATA (idx_labels_path). *was_dir says which. Returns 0, or
 * -1 with a message that names --data.
 */
int idx_resolve(const char *data, const char *labels, char *images_out, char *labels_out, int *was_dir,
                err_buf *err);

void idx_free(idx_images *img);

#endif
