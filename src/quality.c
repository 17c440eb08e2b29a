/* quality.c: the quality score (see quality.h). */
#include "quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Eigenvalues (and, if v, eigenvectors as columns) of the symmetric d x d matrix a,
 * by cyclic Jacobi rotations; a is destroyed, its diagonal holds the eigenvalues. */
static void jacobi_eigen(double *a, double *v, int d)
{
    if (v)
        for (int i = 0; i < d * d; i++) v[i] = i / d == i % d;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double sq = a[i * d + j] * a[i * d + j];
                if (i == j) diag += sq;
                else off += sq;
            }
        if (off <= 1e-22 * diag) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < d; k++) { /* columns p, q */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                if (v)
                    for (int k = 0; k < d; k++) {
                        double vkp = v[k * d + p], vkq = v[k * d + q];
                        v[k * d + p] = c * vkp - s * vkq;
                        v[k * d + q] = s * vkp + c * vkq;
                    }
            }
    }
}

/* Fréchet distance between N(mu1, s1) and N(mu2, s2), d-dimensional:
 * |mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr((s1^(1/2) s2 s1^(1/2))^(1/2)). */
static double frechet_distance(const double *mu1, const double *s1, const double *mu2, const double *s2, int d)
{
    size_t dd = (size_t)d * d;
    double *e = xmalloc(sizeof(double) * dd), *v = xmalloc(sizeof(double) * dd);
    double *root = xcalloc(dd, sizeof(double)), *t = xcalloc(dd, sizeof(double)), *m = xcalloc(dd, sizeof(double));
    /* root = s1^(1/2) = V sqrt(L) V^T */
    memcpy(e, s1, sizeof(double) * dd);
    jacobi_eigen(e, v, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double sum = 0;
            for (int k = 0; k < d; k++) sum += v[i * d + k] * sqrt(fmax(e[k * d + k], 0)) * v[j * d + k];
            root[i * d + j] = sum;
        }
    /* m = root s2 root: symmetric PSD, tr sqrt(s1 s2) = sum of sqrt of its eigenvalues */
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double r = root[i * d + k];
            for (int j = 0; j < d; j++) t[i * d + j] += r * s2[k * d + j];
        }
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double r = t[i * d + k];
            for (int j = 0; j < d; j++) m[i * d + j] += r * root[k * d + j];
        }
    jacobi_eigen(m, NULL, d);
    double trace_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
    for (int i = 0; i < d; i++) {
        trace_sqrt += sqrt(fmax(m[i * d + i], 0));
        tr1 += s1[i * d + i];
        tr2 += s2[i * d + i];
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    }
    free(e), free(v), free(root), free(t), free(m);
    return fmax(dmu + tr1 + tr2 - 2 * trace_sqrt, 0);
}

/* Mean and covariance of (n, d) features. */
static void moments(const float *f, int n, int d, double *mu, double *cov)
{
    memset(mu, 0, sizeof(double) * d);
    memset(cov, 0, sizeof(double) * d * d);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++) mu[i] += f[(size_t)r * d + i] / (double)n;
    for (int r = 0; r < n; r++) {
        const float *x = f + (size_t)r * d;
        for (int i = 0; i < d; i++) {
            double xi = x[i] - mu[i];
            for (int j = i; j < d; j++) cov[i * d + j] += xi * (x[j] - mu[j]);
        }
    }
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= (n > 1 ? n - 1 : 1);
}

static double dist(const float *a, const float *b, int X)
{
    double s = 0;
    for (int i = 0; i < X; i++) s += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

static double mean_pairwise(const float *x, int n, int X)
{
    double s = 0;
    long pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++, pairs++) s += dist(x + (size_t)i * X, x + (size_t)j * X, X);
    return pairs ? s / pairs : 0;
}

/* Mean over a of the distance to the nearest image of b (skipping identical ones). */
static double mean_nearest(const float *a, int na, const float *b, int nb, int X)
{
    double s = 0;
    for (int i = 0; i < na; i++) {
        double best = INFINITY;
        for (int j = 0; j < nb; j++) {
            double dd = dist(a + (size_t)i * X, b + (size_t)j * X, X);
            if (dd > 0 && dd < best) best = dd;
        }
        s += best;
    }
    return s / na;
}

quality quality_score(const classifier *c, int digit, const float *images, int n, const float *reference,
                      int n_ref, const float *train, int n_train, int X)
{
    enum { D = CLASSIFIER_HIDDEN, K = CLASSIFIER_CLASSES, PAIRS = 400 };
    quality q = {0};
    float *probs = xmalloc(sizeof(float) * n * K), *feat = xmalloc(sizeof(float) * n * D);
    float *rprobs = xmalloc(sizeof(float) * n_ref * K), *rfeat = xmalloc(sizeof(float) * n_ref * D);
    classifier_apply(c, images, n, probs, feat);
    classifier_apply(c, reference, n_ref, rprobs, rfeat);
    long hits = 0;
    for (int r = 0; r < n; r++) {
        const float *p = probs + (size_t)r * K;
        int best = 0;
        for (int k = 1; k < K; k++) best = p[k] > p[best] ? k : best;
        hits += best == digit;
        q.confidence += p[digit];
    }
    q.frac_target = (double)hits / n; /* a count, so that "all of them" is exactly 1 */
    q.confidence /= n;
    double *mu1 = xmalloc(sizeof(double) * D), *mu2 = xmalloc(sizeof(double) * D);
    double *s1 = xmalloc(sizeof(double) * D * D), *s2 = xmalloc(sizeof(double) * D * D);
    moments(feat, n, D, mu1, s1);
    moments(rfeat, n_ref, D, mu2, s2);
    q.frechet = frechet_distance(mu1, s1, mu2, s2, D);
    /* Pairwise and nearest-neighbour distances on at most PAIRS images each (O(n^2)). */
    int m = n < PAIRS ? n : PAIRS, mr = n_ref < PAIRS ? n_ref : PAIRS;
    q.diversity = mean_pairwise(images, m, X) / mean_pairwise(reference, mr, X);
    q.nn_ratio = mean_nearest(images, m, train, n_train, X) / mean_nearest(reference, mr, train, n_train, X);
    free(probs), free(feat), free(rprobs), free(rfeat), free(mu1), free(mu2), free(s1), free(s2);
    return q;
}
