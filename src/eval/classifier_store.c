/* classifier_store.c: finding, checking and making the classifier of a dataset (see classifier_store.h). */
#include "classifier_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "build_info.h"
#include "classifier.h"
#include "files.h"
#include "idx.h"
#include "paths.h"

/* The cache directory into buf; -1 when neither GAN_CACHE_DIR, XDG_CACHE_HOME nor HOME is set. */
static int cache_dir(char *buf, size_t len)
{
    const char *dir = getenv("GAN_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = dir && dir[0] ? snprintf(buf, len, "%s", dir)
            : xdg && xdg[0] ? snprintf(buf, len, "%s/gan_train", xdg)
            : home && home[0] ? snprintf(buf, len, "%s/.cache/gan_train", home)
                              : -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* 1 if the classifier at path was trained on data of this fingerprint; 0 (why in err) if not or
 * if it cannot be read. */
static int fits(const char *path, uint64_t fingerprint, const char *data, err_buf *err)
{
    classifier c;
    if (classifier_load(&c, path, err)) return 0;
    const classifier_info i = c.info;
    classifier_free(&c);
    if (i.fingerprint == fingerprint) return 1;
    if (i.fingerprint == 0)
        return err_set(err, "%s records no data fingerprint (an older gan_eval made it): it cannot be matched to "
                            "%s; retrain it with gan_eval --train-classifier", path, data), 0;
    return err_set(err, "%s was trained on %s (fingerprint %016llx), not on %s (fingerprint %016llx)", path,
                   i.data[0] ? i.data : "other data", (unsigned long long)i.fingerprint, data,
                   (unsigned long long)fingerprint), 0;
}

int classifier_find(const char *named, const char *recorded, uint64_t fingerprint, const char *data, char *path,
                    size_t len, err_buf *err)
{
    err_buf why = {{0}};
    if (strcmp(named, CLASSIFIER_AUTO) != 0) {
        snprintf(path, len, "%s", named);
        return fits(named, fingerprint, data, err) ? CLASSIFIER_FOUND : -1;
    }
    char shipped[PATH_LEN], cached[PATH_LEN];
    shipped_file(GAN_CLASSIFIER_FILE, shipped, sizeof shipped);
    int have_cache = cache_dir(cached, sizeof cached) == 0;
    if (have_cache) {
        size_t n = strlen(cached);
        int w = snprintf(cached + n, sizeof cached - n, "/classifier-%016llx.h5", (unsigned long long)fingerprint);
        have_cache = w > 0 && (size_t)w < sizeof cached - n;
    }
    const char *candidates[] = {recorded, shipped, have_cache ? cached : NULL};
    for (int i = 0; i < 3; i++)
        if (candidates[i] && candidates[i][0] && access(candidates[i], R_OK) == 0 &&
            fits(candidates[i], fingerprint, data, &why)) {
            snprintf(path, len, "%s", candidates[i]);
            return CLASSIFIER_FOUND;
        }
    if (!have_cache)
        return err_set(err, "no classifier fits %s and there is no cache to train one into (set GAN_CACHE_DIR, "
                            "give --classifier FILE, or --eval-every 0)", data);
    snprintf(path, len, "%s", cached);
    return CLASSIFIER_NONE;
}

int classifier_auto_epochs(int n)
{
    int epochs = (int)((CLASSIFIER_IMAGE_BUDGET + n - 1) / (n > 0 ? n : 1));
    return epochs < 1 ? 1 : epochs > CLASSIFIER_MAX_EPOCHS ? CLASSIFIER_MAX_EPOCHS : epochs;
}

/* mkdir -p of path's directory. */
static int make_parent(const char *path, err_buf *err)
{
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    return make_dirs(dir, "the classifier's directory", err);
}

/* An exclusive lock on PATH.lock, so that of the runs that need the same classifier one trains it
 * and the others wait and take it (flock: per open file, released on close or exit). -1 if none. */
static int lock_path(const char *path, err_buf *err)
{
    char lock[PATH_LEN + 16];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot create the classifier's lock file: %s", lock, strerror(errno));
    if (flock(fd, LOCK_EX) != 0) {
        err_set(err, "%s: cannot lock: %s", lock, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int classifier_make(const char *data, const char *labels, int epochs, const char *path, int reuse, FILE *progress,
                    err_buf *err)
{
    idx_images img;
    if (idx_load_digit(data, labels, IDX_ALL, &img, err)) return -1;
    if (img.classes < 2) {
        idx_free(&img);
        return err_set(err, "%s: the labels file has fewer than 2 classes; a classifier needs 2 or more", labels);
    }
    /* The directory and the lock before the work: an unwritable cache fails in a second, not after it. */
    int lock = make_parent(path, err) ? -1 : lock_path(path, err);
    if (lock < 0) return idx_free(&img), -1;
    err_buf ignored;
    if (reuse && access(path, R_OK) == 0 && fits(path, img.fingerprint, data, &ignored)) {
        if (progress) fprintf(progress, "classifier: %s was made by another run meanwhile; taking it\n", path);
        close(lock);
        idx_free(&img);
        return 0;
    }
    const int held_out = img.n * 15 / 100;
    if (epochs <= 0) epochs = classifier_auto_epochs(img.n - held_out);
    if (progress)
        fprintf(progress, "classifier: training one for %s (%d classes of %dx%d, %d images, %d held out), %d epochs\n",
                data, img.classes, img.rows, img.cols, img.n - held_out, held_out, epochs);
    classifier c;
    double acc_held, acc_train;
    classifier_train(&c, img.pixels, img.labels, img.n, img.rows * img.cols, img.classes, held_out, epochs, 2024,
                     &acc_held, &acc_train, progress);
    c.info = (classifier_info){.fingerprint = img.fingerprint, .rows = img.rows, .cols = img.cols,
                               .images = img.n - held_out, .held_out = held_out, .held_out_accuracy = acc_held};
    snprintf(c.info.data, sizeof c.info.data, "%s", data);
    snprintf(c.info.labels, sizeof c.info.labels, "%s", labels);
    absolute_path(c.info.data), absolute_path(c.info.labels);
    if (progress)
        fprintf(progress, "classifier: train accuracy %.4f, held-out accuracy %.4f on %d images; writing %s\n",
                acc_train, acc_held, held_out, path);
    char tmp[PATH_LEN + 128], host[64] = "";
    gethostname(host, sizeof host - 1); /* this process's own name, also across hosts sharing the cache */
    snprintf(tmp, sizeof tmp, "%s.%s.%ld.tmp", path, host, (long)getpid());
    int rc = make_parent(path, err) || classifier_save(&c, tmp, err) || atomic_commit(tmp, path, err) ? -1 : 0;
    if (rc) unlink(tmp);
    close(lock);
    classifier_free(&c);
    idx_free(&img);
    return rc;
}
