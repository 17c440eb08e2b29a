/*
 * quality.c: the quality score (see quality.h).
 *
 * Everything about the real images is computed once, in quality_ref_init; a score then
 * costs one classifier pass, a few GEMMs (the feature covariance, R·S·R and two distance
 * matrices) and one symmetric eigensolve of the feature dimension.
 */
#include "quality.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* LAPACK's symmetric eigensolver, from the OpenBLAS build (Fortran ABI: arguments by
 * reference, then the hidden lengths of the two character arguments; 32-bit integers, i.e.
 * an LP64 OpenBLAS as Debian's, not an ILP64 "openblas64" build). */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len,
                    size_t uplo_len);

/* Eigenvalues w (ascending) of the symmetric d x d matrix a. With vectors, a is overwritten
 * by the eigenvectors: LAPACK stores eigenvector k as column k in column-major order, which
 * is row k of a as we index it (row-major). Returns LAPACK's info: 0 on success. */
static int sym_eigen(double *a, int d, double *w, int vectors)
{
    /* The declaration above assumes 32-bit LAPACK integers. OpenBLAS says how it was built:
     * an ILP64 build (USE64BITINT) would read our ints as garbage, so refuse it clearly. */
    if (strstr(openblas_get_config(), "USE64BITINT"))
        FATAL("this OpenBLAS uses 64-bit integers (%s); gan_train needs an LP64 build (libopenblas-dev)",
              openblas_get_config());
    const char jobz = vectors ? 'V' : 'N', uplo = 'L';
    int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
    double work_size = 0;
    dsyevd_(&jobz, &uplo, &d, a, &d, w, &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
    lwork = (int)work_size, liwork = iwork_size;
    double *work = xmalloc(sizeof(double) * (size_t)lwork);
    int *iwork = xmalloc(sizeof(int) * (size_t)liwork);
    if (info == 0) dsyevd_(&jobz, &uplo, &d, a, &d, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work), free(iwork);
    return info;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double *to_double(const float *x, size_t n)
{
    double *y = xmalloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* Mean (d) and covariance (d, d) of n rows of d features: cov = Xcᵀ·Xc / (n - 1). */
static void moments(const float *f, int n, int d, double *mu, double *cov)
{
    double *xc = to_double(f, (size_t)n * d);
    memset(mu, 0, sizeof(double) * d);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++) mu[i] += xc[(size_t)r * d + i];
    for (int i = 0; i < d; i++) mu[i] /= n;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++) xc[(size_t)r * d + i] -= mu[i];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / (n > 1 ? n - 1 : 1), xc, d, xc, d, 0.0,
                cov, d);
    free(xc);
}

/* Squared distances (na, nb) between the rows of a and b, as |a|² + |b|² - 2·a·bᵀ (one
 * dgemm), clamped at 0 against rounding. */
static double *sq_distances(const double *a, int na, const double *b, int nb, int X)
{
    double *d2 = xmalloc(sizeof(double) * (size_t)na * nb), *nb2 = xmalloc(sizeof(double) * nb);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, nb, X, -2.0, a, X, b, X, 0.0, d2, nb);
    for (int j = 0; j < nb; j++) nb2[j] = cblas_ddot(X, b + (size_t)j * X, 1, b + (size_t)j * X, 1);
    for (int i = 0; i < na; i++) {
        const double na2 = cblas_ddot(X, a + (size_t)i * X, 1, a + (size_t)i * X, 1);
        for (int j = 0; j < nb; j++) d2[(size_t)i * nb + j] = fmax(d2[(size_t)i * nb + j] + na2 + nb2[j], 0.0);
    }
    free(nb2);
    return d2;
}

/* Two 8-bit images that differ at all are at least 1/255 apart, i.e. 1.5e-5 in squared
 * distance; below this, two images are the same one (the dgemm form rounds at ~1e-12).
 * The nearest-neighbour distances skip such pairs, so that real images scored against the
 * training set they belong to (the floor, gan_eval --samples of real digits) do not find
 * themselves. A generated image would have to match a training image to within 3e-5 in L2
 * distance (~1e-6 a pixel) to be skipped; memorising shows long before that, as a ratio
 * well below 1. */
#define SAME_IMAGE_D2 1e-9

static double mean_pairwise(const double *x, int n, int X)
{
    double *d2 = sq_distances(x, n, x, n, X), s = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) s += sqrt(d2[(size_t)i * n + j]);
    free(d2);
    return n > 1 ? s / ((double)n * (n - 1) / 2) : 0;
}

/* Mean over a of the distance to the nearest other image of b. */
static double mean_nearest(const double *a, int na, const double *b, int nb, int X)
{
    double *d2 = sq_distances(a, na, b, nb, X), s = 0;
    for (int i = 0; i < na; i++) {
        double best = INFINITY;
        for (int j = 0; j < nb; j++) {
            const double v = d2[(size_t)i * nb + j];
            if (v > SAME_IMAGE_D2 && v < best) best = v;
        }
        s += sqrt(best);
    }
    free(d2);
    return s / na;
}

/*
 * Backgrounds: real digits are a stroke on clean black; generated ones often carry salt
 * noise. Over n square images: *grey = the share of pixels in [DARK, STROKE] (anti-aliased
 * edges on real digits, haze and dots on noisy ones); *speckle = among the pixels farther
 * than FAR from the stroke's core, the share above DARK. The core is where the 3x3 mean
 * exceeds CORE: a real stroke, 2-3 pixels wide, has one; an isolated bright dot does not,
 * so a dot counts as speckle however bright it is. Real zeros: speckle ~2e-4.
 */
static void background_shares(const float *images, int n, int X, double *grey, double *speckle)
{
    const int side = (int)lrint(sqrt((double)X));
    long grey_count = 0;
    double speckle_sum = 0;
    unsigned char *near = xmalloc((size_t)X);
    for (int i = 0; i < n; i++) {
        const float *x = images + (size_t)i * X;
        memset(near, 0, (size_t)X);
        for (int p = 0; p < X; p++) {
            grey_count += x[p] >= QUALITY_DARK && x[p] <= QUALITY_STROKE;
            if (side * side != X) continue;
            const int r = p / side, c = p % side;
            double box = 0;
            for (int rr = r - 1; rr <= r + 1; rr++)
                for (int cc = c - 1; cc <= c + 1; cc++)
                    if (rr >= 0 && rr < side && cc >= 0 && cc < side) box += x[rr * side + cc];
            if (box / 9 <= QUALITY_CORE) continue;
            for (int rr = r - QUALITY_FAR; rr <= r + QUALITY_FAR; rr++)
                for (int cc = c - QUALITY_FAR; cc <= c + QUALITY_FAR; cc++)
                    if (rr >= 0 && rr < side && cc >= 0 && cc < side) near[rr * side + cc] = 1;
        }
        long far = 0, lit = 0;
        for (int p = 0; p < X; p++)
            if (!near[p]) far++, lit += x[p] > QUALITY_DARK;
        speckle_sum += far ? (double)lit / far : 0;
    }
    free(near);
    *grey = (double)grey_count / ((double)n * X);
    *speckle = speckle_sum / n;
}

/*
 * Salt and pepper anywhere: the share of interior pixels that differ from the median of their 8
 * neighbours by more than QUALITY_IMPULSE. An edge or a stripe has neighbours on both sides
 * of it, so its median follows it; an isolated dark dot in a bright garment (or a bright one
 * on black) does not. The background measures above look only far from the stroke; this one
 * sees the pepper inside a filled shape, which textured data (Fashion-MNIST) shows.
 */
static double impulse_share(const float *images, int n, int X)
{
    const int side = (int)lrint(sqrt((double)X));
    if (side * side != X || side < 3) return NAN; /* unknown, not "none", for images that are not square */
    long count = 0;
    for (int i = 0; i < n; i++) {
        const float *x = images + (size_t)i * X;
        for (int r = 1; r < side - 1; r++)
            for (int c = 1; c < side - 1; c++) {
                float v[8];
                int k = 0;
                for (int rr = r - 1; rr <= r + 1; rr++)
                    for (int cc = c - 1; cc <= c + 1; cc++)
                        if (rr != r || cc != c) v[k++] = x[rr * side + cc];
                for (int a = 1; a < 8; a++) /* insertion sort of 8 */
                    for (int b = a; b > 0 && v[b - 1] > v[b]; b--) {
                        float t = v[b];
                        v[b] = v[b - 1], v[b - 1] = t;
                    }
                count += fabsf(x[r * side + c] - 0.5f * (v[3] + v[4])) > QUALITY_IMPULSE;
            }
    }
    return (double)count / ((double)n * (side - 2) * (side - 2));
}

enum { D = CLASSIFIER_HIDDEN };

void quality_ref_init(quality_ref *r, const classifier *c, int digit, const float *reference, int n_ref,
                      const float *train, int n_train, int X)
{
    memset(r, 0, sizeof *r);
    r->clf = c, r->digit = digit, r->X = X, r->n_train = n_train;
    r->train = to_double(train, (size_t)n_train * X);
    r->mu = xmalloc(sizeof(double) * D);
    r->root = xmalloc(sizeof(double) * D * D);
    const int K = c->net.out;
    float *probs = xmalloc(sizeof(float) * n_ref * K), *feat = xmalloc(sizeof(float) * n_ref * D);
    classifier_apply(c, reference, n_ref, probs, feat);
    double *cov = xmalloc(sizeof(double) * D * D), *w = xmalloc(sizeof(double) * D);
    moments(feat, n_ref, D, r->mu, cov);
    for (int i = 0; i < D; i++) r->trace += cov[i * D + i];
    /* root = cov^(1/2) = Vᵀ·diag(sqrt(L))·V, with eigenvector k as row k of V (= cov now).
     * Real images give finite features, so LAPACK cannot fail here short of a broken
     * library or classifier file. */
    int info = all_finite(cov, (size_t)D * D) ? sym_eigen(cov, D, w, 1) : -1;
    if (info != 0) FATAL("quality score: no eigendecomposition of the real images' feature covariance (info %d)", info);
    double *scaled = xmalloc(sizeof(double) * D * D);
    for (int k = 0; k < D; k++)
        for (int j = 0; j < D; j++) scaled[k * D + j] = sqrt(fmax(w[k], 0)) * cov[k * D + j];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, D, 1.0, cov, D, scaled, D, 0.0, r->root, D);
    const int m = n_ref < QUALITY_PAIRS ? n_ref : QUALITY_PAIRS;
    double *ref = to_double(reference, (size_t)m * X);
    r->pair_mean = mean_pairwise(ref, m, X);
    r->nearest_mean = mean_nearest(ref, m, r->train, n_train, X);
    double unused;
    background_shares(reference, n_ref, X, &r->grey_share, &unused);
    free(probs), free(feat), free(cov), free(w), free(scaled), free(ref);
}

void quality_ref_free(quality_ref *r)
{
    free(r->train), free(r->mu), free(r->root);
    memset(r, 0, sizeof *r);
}

quality quality_score(const quality_ref *r, const float *images, int n)
{
    const int X = r->X;
    /* A diverged generator (NaN or inf pixels) scores NaN throughout: an argmax over NaN
     * probabilities would call every image a 0, and a clamp at 0 would call it a perfect match. */
    for (size_t i = 0; i < (size_t)n * X; i++)
        if (!isfinite(images[i])) return (quality){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    quality q = {0};
    const int K = r->clf->net.out;
    float *probs = xmalloc(sizeof(float) * n * K), *feat = xmalloc(sizeof(float) * n * D);
    classifier_apply(r->clf, images, n, probs, feat);
    long hits = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++) best = p[k] > p[best] ? k : best;
        hits += best == r->digit;
        q.confidence += p[r->digit];
    }
    q.frac_target = (double)hits / n; /* a count, so that "all of them" is exactly 1 */
    q.confidence /= n;

    /* Fréchet distance |mu - mu_r|² + tr(S) + tr(S_r) - 2·tr((R·S·R)^(1/2)), R = S_r^(1/2):
     * R·S·R is symmetric PSD with the eigenvalues of S·S_r. */
    double *mu = xmalloc(sizeof(double) * D), *s = xmalloc(sizeof(double) * D * D);
    double *t = xmalloc(sizeof(double) * D * D), *m = xmalloc(sizeof(double) * D * D), *w = xmalloc(sizeof(double) * D);
    moments(feat, n, D, mu, s);
    q.frechet = NAN; /* only if LAPACK fails: finite images give finite features */
    if (all_finite(mu, D) && all_finite(s, (size_t)D * D)) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, D, D, 1.0, r->root, D, s, D, 0.0, t, D);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, D, D, 1.0, t, D, r->root, D, 0.0, m, D);
        if (sym_eigen(m, D, w, 0) == 0) {
            double trace_sqrt = 0, trace = 0, dmu = 0;
            for (int i = 0; i < D; i++) {
                trace_sqrt += sqrt(fmax(w[i], 0));
                trace += s[i * D + i];
                dmu += (mu[i] - r->mu[i]) * (mu[i] - r->mu[i]);
            }
            q.frechet = fmax(dmu + trace + r->trace - 2 * trace_sqrt, 0);
        }
    }

    /* Pairwise and nearest-neighbour distances on at most QUALITY_PAIRS images. */
    const int k = n < QUALITY_PAIRS ? n : QUALITY_PAIRS;
    double *x = to_double(images, (size_t)k * X);
    q.diversity = mean_pairwise(x, k, X) / r->pair_mean;
    q.nn_ratio = mean_nearest(x, k, r->train, r->n_train, X) / r->nearest_mean;
    double grey;
    background_shares(images, n, X, &grey, &q.speckle);
    q.background = grey / r->grey_share;
    q.impulse = impulse_share(images, n, X);
    free(probs), free(feat), free(mu), free(s), free(t), free(m), free(w), free(x);
    return q;
}
