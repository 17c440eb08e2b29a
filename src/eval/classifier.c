/* classifier.c: the digit classifier (see classifier.h). */
#include "classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "nn.h"
#include "rng.h"

/* ReLU + dense + softmax on (n, X) images in [0, 1]. hidden is (n, 256) scratch. */
static void forward(const classifier *c, const float *x, int n, float *hidden, float *logits)
{
    const mlp *m = &c->net;
    dense_forward(NULL, hidden, x, m->w1, m->b1, n, m->in, m->hidden);
    leaky_relu_forward(hidden, hidden, n * m->hidden, 0.0f);
    dense_forward(NULL, logits, hidden, m->w2, m->b2, n, m->hidden, m->out);
}

static void softmax_rows(float *z, int n, int k)
{
    for (int r = 0; r < n; r++) {
        float *row = z + (size_t)r * k, top = row[0], sum = 0;
        for (int j = 1; j < k; j++) top = fmaxf(top, row[j]);
        for (int j = 0; j < k; j++) sum += row[j] = expf(row[j] - top);
        for (int j = 0; j < k; j++) row[j] /= sum;
    }
}

/* Image `src` (bytes) shifted by (dx, dy) with zero fill, scaled to [0, 1]. */
static void shifted(float *dst, const uint8_t *src, int side, int dx, int dy)
{
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int sx = x - dx, sy = y - dy;
            dst[y * side + x] = sx < 0 || sy < 0 || sx >= side || sy >= side ? 0.0f : src[sy * side + sx] / 255.0f;
        }
}

void classifier_train(classifier *c, const uint8_t *pixels, const uint8_t *labels, int n, int X, int classes,
                      int held_out, int epochs, uint64_t seed, double *held_out_accuracy, double *train_accuracy,
                      FILE *progress)
{
    const double start = now_seconds();
    enum { B = 64 };
    const int side = (int)lrint(sqrt((double)X)), K = classes, H = CLASSIFIER_HIDDEN;
    mlp_init(&c->net, X, H, K);
    rng_t r = rng_make(seed, 77);
    mlp_init_glorot(&c->net, &r);
    int *order = xmalloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(&r, order, n); /* order[0 .. held_out) is the held-out split */
    const int n_train = n - held_out;
    int *train = order + held_out;
    float *x = xmalloc(sizeof(float) * B * X), *h = xmalloc(sizeof(float) * B * H);
    float *z = xmalloc(sizeof(float) * B * K), *dh = xmalloc(sizeof(float) * B * H);
    const adam_config adam = {1e-3, 0.9, 0.999, 1e-8};
    for (int e = 0; e < epochs; e++) {
        rng_shuffle(&r, train, n_train);
        for (int s = 0; s + B <= n_train; s += B) {
            for (int b = 0; b < B; b++) /* random shifts of up to 2 pixels */
                shifted(x + (size_t)b * X, pixels + (size_t)train[s + b] * X, side, (int)rng_below(&r, 5) - 2,
                        (int)rng_below(&r, 5) - 2);
            forward(c, x, B, h, z);
            softmax_rows(z, B, K);
            for (int b = 0; b < B; b++) z[b * K + labels[train[s + b]]] -= 1.0f; /* dCE/dlogit = p - onehot */
            for (int i = 0; i < B * K; i++) z[i] /= B;
            dense_backward(NULL, dh, c->net.dw2, c->net.db2, z, h, c->net.w2, B, H, K);
            leaky_relu_backward(dh, dh, h, B * H, 0.0f); /* h > 0 exactly where the pre-activation was */
            dense_backward(NULL, NULL, c->net.dw1, c->net.db1, dh, x, c->net.w1, B, X, H);
            mlp_adam_step(&c->net, &adam, 1.0f);
        }
        if (progress) fprintf(progress, "classifier: epoch %d/%d, %.1f s\n", e + 1, epochs, now_seconds() - start);
        if (progress) fflush(progress);
    }
    /* Accuracy on both splits, unshifted. */
    int right[2] = {0, 0};
    float *probs = xmalloc(sizeof(float) * K);
    for (int i = 0; i < n; i++) {
        shifted(x, pixels + (size_t)order[i] * X, side, 0, 0);
        classifier_apply(c, x, 1, probs, NULL);
        int best = 0;
        for (int k = 1; k < K; k++) best = probs[k] > probs[best] ? k : best;
        right[i >= held_out] += best == labels[order[i]];
    }
    *held_out_accuracy = held_out ? (double)right[0] / held_out : NAN;
    *train_accuracy = (double)right[1] / n_train;
    free(order), free(x), free(h), free(z), free(dh), free(probs);
}

void classifier_apply(const classifier *c, const float *images, int n, float *probs, float *features)
{
    float *h = features ? features : xmalloc(sizeof(float) * n * CLASSIFIER_HIDDEN);
    forward(c, images, n, h, probs);
    softmax_rows(probs, n, c->net.out);
    if (!features) free(h);
}

int classifier_save(const classifier *c, const char *path, err_buf *err)
{
    const classifier_info *i = &c->info;
    char fingerprint[17];
    snprintf(fingerprint, sizeof fingerprint, "%016llx", (unsigned long long)i->fingerprint);
    char model[128];
    snprintf(model, sizeof model, "%d-%d-%d ReLU softmax, Adam 1e-3, shifts of up to 2 px", c->net.in, c->net.hidden,
             c->net.out);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return h5_fail(err, path, "cannot create");
    const mlp *m = &c->net;
    const hsize_t w1[2] = {(hsize_t)m->in, (hsize_t)m->hidden}, b1[1] = {(hsize_t)m->hidden};
    const hsize_t w2[2] = {(hsize_t)m->hidden, (hsize_t)m->out}, b2[1] = {(hsize_t)m->out};
    int ok = h5_write_floats(file, "/dense1/kernel", 2, w1, m->w1) == 0 &&
             h5_write_floats(file, "/dense1/bias", 1, b1, m->b1) == 0 &&
             h5_write_floats(file, "/dense2/kernel", 2, w2, m->w2) == 0 &&
             h5_write_floats(file, "/dense2/bias", 1, b2, m->b2) == 0 &&
             h5_attr_double(file, "held_out_accuracy", i->held_out_accuracy) == 0 &&
             h5_attr_int(file, "held_out_images", i->held_out) == 0 &&
             h5_attr_int(file, "training_images", i->images) == 0 && h5_attr_string(file, "model", model) == 0 &&
             h5_attr_string(file, "data", i->data) == 0 && h5_attr_string(file, "labels", i->labels) == 0 &&
             h5_attr_string(file, "data_fingerprint", fingerprint) == 0 && h5_attr_int(file, "classes", m->out) == 0 &&
             h5_attr_int(file, "image_rows", i->rows) == 0 && h5_attr_int(file, "image_cols", i->cols) == 0;
    if (H5Fclose(file) < 0) ok = 0;
    return ok ? 0 : h5_fail(err, path, "writing the classifier");
}

/* The shape (dims[0], dims[1]) of a rank-2 dataset, or -1. */
static int matrix_shape(hid_t file, const char *name, hsize_t dims[2])
{
    hid_t set = H5LTpath_valid(file, name, 1) > 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    hid_t space = set >= 0 ? H5Dget_space(set) : -1;
    int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 2 && H5Sget_simple_extent_dims(space, dims, NULL) == 2;
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    H5Eclear2(H5E_DEFAULT);
    return ok ? 0 : -1;
}

/* c->info from the file's attributes; what is missing stays 0 or "". */
static void read_info(hid_t file, classifier *c)
{
    classifier_info *i = &c->info;
    char fingerprint[32];
    long long rows = 0, cols = 0, images = 0, held_out = 0;
    if (h5_read_attr_string(file, "data_fingerprint", fingerprint, sizeof fingerprint) == 0)
        i->fingerprint = strtoull(fingerprint, NULL, 16);
    h5_read_attr_int(file, "image_rows", &rows), h5_read_attr_int(file, "image_cols", &cols);
    h5_read_attr_int(file, "training_images", &images), h5_read_attr_int(file, "held_out_images", &held_out);
    i->rows = (int)rows, i->cols = (int)cols, i->images = (int)images, i->held_out = (int)held_out;
    if (h5_read_attr_double(file, "held_out_accuracy", &i->held_out_accuracy)) i->held_out_accuracy = NAN;
    if (h5_read_attr_string(file, "data", i->data, sizeof i->data)) i->data[0] = '\0';
    if (h5_read_attr_string(file, "labels", i->labels, sizeof i->labels)) i->labels[0] = '\0';
}

int classifier_load(classifier *c, const char *path, err_buf *err)
{
    memset(c, 0, sizeof *c);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return err_set(err, "%s: cannot open the classifier (retrain it: gan_eval --train-classifier)", path);
    hsize_t d1[2], d2[2];
    if (matrix_shape(file, "/dense1/kernel", d1) || matrix_shape(file, "/dense2/kernel", d2) ||
        d1[1] != CLASSIFIER_HIDDEN || d2[0] != CLASSIFIER_HIDDEN || d1[0] < 1 || d1[0] > (1u << 24) || d2[1] < 2 ||
        d2[1] > 256) {
        H5Fclose(file);
        return err_set(err, "%s: not a gan_eval classifier (expected /dense1/kernel (pixels, %d) and "
                            "/dense2/kernel (%d, classes))", path, CLASSIFIER_HIDDEN, CLASSIFIER_HIDDEN);
    }
    mlp_init(&c->net, (int)d1[0], CLASSIFIER_HIDDEN, (int)d2[1]);
    const mlp *m = &c->net;
    const hsize_t b1[1] = {CLASSIFIER_HIDDEN}, b2[1] = {d2[1]};
    int rc = h5_read_exact(file, path, "/dense1/kernel", 2, d1, H5T_NATIVE_FLOAT, m->w1, err) ||
             h5_read_exact(file, path, "/dense1/bias", 1, b1, H5T_NATIVE_FLOAT, m->b1, err) ||
             h5_read_exact(file, path, "/dense2/kernel", 2, d2, H5T_NATIVE_FLOAT, m->w2, err) ||
             h5_read_exact(file, path, "/dense2/bias", 1, b2, H5T_NATIVE_FLOAT, m->b2, err);
    if (rc == 0) read_info(file, c);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (rc) classifier_free(c);
    return rc ? -1 : 0;
}

int classifier_check(const classifier *c, const char *path, int rows, int cols, int label, err_buf *err)
{
    if (c->net.in != rows * cols)
        return err_set(err, "%s reads images of %d pixels, these are %dx%d = %d; train one for this data with "
                            "gan_eval --train-classifier --data IMAGES --classifier NEW.h5", path, c->net.in, rows,
                       cols, rows * cols);
    if (label >= c->net.out)
        return err_set(err, "%s knows %d classes (0-%d), not label %d; train one for this data with "
                            "gan_eval --train-classifier", path, c->net.out, c->net.out - 1, label);
    return 0;
}

void classifier_free(classifier *c)
{
    mlp_free(&c->net);
}
