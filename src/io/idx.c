/*
 * idx.c: a validating reader for MNIST IDX files (see idx.h).
 *
 * zlib's gzread reads gzip and plain files alike, so one code path serves
 * both. Every header field is checked before anything is allocated from it,
 * and a file must end exactly where its header says.
 */
#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { IDX_MAGIC_LABELS = 0x00000801, IDX_MAGIC_IMAGES = 0x00000803 };
#define IDX_MAX_PIXELS (1u << 30) /* 1 GiB of pixels is far beyond any IDX dataset */

idx_hash idx_hash_start(void)
{
    return (idx_hash){0xcbf29ce484222325ull};
}

void idx_hash_bytes(idx_hash *h, const void *bytes, size_t n)
{
    const unsigned char *b = bytes;
    uint64_t v = h->h;
    for (size_t i = 0; i < n; i++) v = (v ^ b[i]) * 0x100000001b3ull;
    h->h = v;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Read exactly len bytes; returns 0, or -1 with a message about `what`. */
static int read_exact(gzFile f, const char *path, void *buf, size_t len, const char *what,
                      err_buf *err)
{
    size_t done = 0;
    while (done < len) {
        unsigned chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned)(len - done);
        int got = gzread(f, (char *)buf + done, chunk);
        if (got < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            return err_set(err, "%s: corrupt %s (%s)", path, what, msg);
        }
        if (got == 0)
            return err_set(err, "%s: truncated: %s is %zu bytes short", path, what, len - done);
        done += (size_t)got;
    }
    return 0;
}

/* After the payload there must be nothing left (a longer file is not an IDX file). */
static int expect_eof(gzFile f, const char *path, err_buf *err)
{
    char extra;
    int got = gzread(f, &extra, 1);
    if (got < 0) {
        int code;
        return err_set(err, "%s: corrupt data (%s)", path, gzerror(f, &code));
    }
    if (got > 0) return err_set(err, "%s: unexpected bytes after the data its header describes", path);
    return 0;
}

static gzFile open_idx(const char *path, err_buf *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) err_set(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    return f;
}

/* Read the whole labels file into *labels (malloc'd), its count into *count. */
static int read_labels(const char *path, uint8_t **labels, uint32_t *count, err_buf *err)
{
    unsigned char h[8];
    gzFile f = open_idx(path, err);
    if (!f) return -1;
    int rc = -1;
    *labels = NULL;
    if (read_exact(f, path, h, sizeof h, "labels header", err)) goto done;
    if (be32(h) != IDX_MAGIC_LABELS) {
        err_set(err, "%s: not an IDX labels file (magic 0x%08x, expected 0x%08x)", path, be32(h),
                IDX_MAGIC_LABELS);
        goto done;
    }
    *count = be32(h + 4);
    if (*count == 0 || *count > IDX_MAX_PIXELS) {
        err_set(err, "%s: implausible label count %u", path, *count);
        goto done;
    }
    *labels = malloc(*count);
    if (!*labels) {
        err_set(err, "%s: out of memory for %u labels", path, *count);
        goto done;
    }
    if (read_exact(f, path, *labels, *count, "label data", err) || expect_eof(f, path, err)) goto done;
    rc = 0;
done:
    gzclose(f);
    if (rc) {
        free(*labels);
        *labels = NULL;
    }
    return rc;
}

/* Read and check an images file's header: u8 images of rank 3, a plausible size, one image
 * per label. */
static int read_images_header(gzFile f, const char *images_path, const char *labels_path, uint32_t n_labels,
                              uint32_t *n, uint32_t *rows, uint32_t *cols, err_buf *err)
{
    unsigned char h[16];
    if (read_exact(f, images_path, h, sizeof h, "images header", err)) return -1;
    uint32_t magic = be32(h);
    *n = be32(h + 4), *rows = be32(h + 8), *cols = be32(h + 12);
    if (magic != IDX_MAGIC_IMAGES)
        return err_set(err, "%s: not an IDX images file (magic 0x%08x, expected 0x%08x for u8 images of rank 3)",
                       images_path, magic, IDX_MAGIC_IMAGES);
    if (*rows == 0 || *cols == 0 || *rows > 4096 || *cols > 4096)
        return err_set(err, "%s: implausible image size %ux%u", images_path, *rows, *cols);
    if (*n == 0 || (uint64_t)*n * *rows * *cols > IDX_MAX_PIXELS)
        return err_set(err, "%s: implausible image count %u of %ux%u", images_path, *n, *rows, *cols);
    if (*n != n_labels)
        return err_set(err, "%s has %u images but %s has %u labels; they must match", images_path, *n, labels_path,
                       n_labels);
    return 0;
}

int idx_load_digit(const char *images_path, const char *labels_path, int digit, idx_images *out,
                   err_buf *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *labels = NULL, *row = NULL;
    uint32_t n_labels = 0, n, rows, cols;
    if (read_labels(labels_path, &labels, &n_labels, err)) return -1;

    int rc = -1;
    gzFile f = open_idx(images_path, err);
    if (!f || read_images_header(f, images_path, labels_path, n_labels, &n, &rows, &cols, err)) goto done;
    size_t pixels = (size_t)rows * cols, selected = 0;
    for (uint32_t i = 0; i < n; i++) {
        selected += digit == IDX_ALL || labels[i] == digit;
        out->classes = labels[i] + 1 > out->classes ? labels[i] + 1 : out->classes;
    }
    idx_hash h = idx_hash_start();
    const uint32_t dims[3] = {n, rows, cols};
    for (int d = 0; d < 3; d++) { /* big-endian, as in the file, so the fingerprint is the same everywhere */
        const unsigned char be[4] = {dims[d] >> 24, dims[d] >> 16 & 255, dims[d] >> 8 & 255, dims[d] & 255};
        idx_hash_bytes(&h, be, 4);
    }
    idx_hash_bytes(&h, labels, n);
    if (selected == 0) {
        err_set(err, "%s: no image has label %d (the labels in %s)", images_path, digit, labels_path);
        goto done;
    }
    out->pixels = malloc(selected * pixels);
    out->labels = malloc(selected);
    row = malloc(pixels);
    if (!out->pixels || !out->labels || !row) {
        err_set(err, "%s: out of memory for %zu images", images_path, selected);
        goto done;
    }
    /* Stream the file one image at a time, keeping only the selected label. */
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (read_exact(f, images_path, row, pixels, "image data", err)) goto done;
        idx_hash_bytes(&h, row, pixels);
        if (digit == IDX_ALL || labels[i] == digit) out->labels[k] = labels[i], memcpy(out->pixels + pixels * k++, row, pixels);
    }
    if (expect_eof(f, images_path, err)) goto done;
    out->n = (int)selected;
    out->rows = (int)rows;
    out->cols = (int)cols;
    out->total = (int)n;
    out->fingerprint = h.h;
    rc = 0;
done:
    if (f) gzclose(f);
    free(labels);
    free(row);
    if (rc) idx_free(out);
    return rc;
}

int idx_labels_path(const char *images_path, char *out, size_t len)
{
    const char *base = strrchr(images_path, '/');
    base = base ? base + 1 : images_path;
    const char *at = strstr(base, "images-idx3");
    if (!at || strlen(images_path) >= len) return -1;
    size_t prefix = (size_t)(at - images_path);
    memcpy(out, images_path, prefix);
    memcpy(out + prefix, "labels-idx1", 11);
    strcpy(out + prefix + 11, at + 11);
    return 0;
}

/* dir/name (then dir/name.gz) into out if it is a readable file; 0 if found. */
static int find_file(const char *dir, const char *name, char *out, size_t len)
{
    for (int gz = 0; gz < 2; gz++) {
        int n = snprintf(out, len, "%s/%s%s", dir, name, gz ? ".gz" : "");
        if (n > 0 && (size_t)n < len && access(out, R_OK) == 0) return 0;
    }
    out[0] = '\0';
    return -1;
}

int idx_find_in_dir(const char *dir, char *images, size_t images_len, char *labels, size_t labels_len,
                    err_buf *err)
{
    if (find_file(dir, "train-images-idx3-ubyte", images, images_len))
        return err_set(err, "a directory without a readable train-images-idx3-ubyte or "
                            "train-images-idx3-ubyte.gz");
    if (labels && find_file(dir, "train-labels-idx1-ubyte", labels, labels_len))
        return err_set(err, "has %s but no readable train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz "
                            "(give the labels file with --labels)", strrchr(images, '/') + 1);
    return 0;
}

int idx_resolve(const char *data, const char *labels, char *images_out, char *labels_out, int *was_dir,
                err_buf *err)
{
    struct stat st;
    const int given = labels && labels[0];
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s", data);
    if (given && labels_out != labels) snprintf(labels_out, PATH_LEN, "%s", labels);
    *was_dir = stat(data, &st) == 0 && S_ISDIR(st.st_mode);
    if (*was_dir) {
        if (idx_find_in_dir(dir, images_out, PATH_LEN, given ? NULL : labels_out, PATH_LEN, err)) {
            err_buf inner = *err;
            return err_set(err, "--data %s: %s", dir, inner.msg);
        }
        return 0;
    }
    snprintf(images_out, PATH_LEN, "%s", dir);
    if (!given && idx_labels_path(dir, labels_out, PATH_LEN) != 0)
        return err_set(err, "--data %s: cannot derive the labels file (the name has no 'images-idx3'); give it "
                            "with --labels", dir);
    return 0;
}

void idx_free(idx_images *img)
{
    free(img->pixels);
    free(img->labels);
    memset(img, 0, sizeof *img);
}
