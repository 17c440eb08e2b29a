/* checkpoint.c: the atomic checkpoint writer (see checkpoint.h). */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"

static int write_network(hid_t file, const char *name, const mlp *net)
{
    char path[128];
    const hsize_t w1[2] = {(hsize_t)net->in, (hsize_t)net->hidden}, b1[1] = {(hsize_t)net->hidden};
    const hsize_t w2[2] = {(hsize_t)net->hidden, (hsize_t)net->out}, b2[1] = {(hsize_t)net->out};
    const hsize_t flat[1] = {(hsize_t)net->n_params};
    int rc = 0;
    snprintf(path, sizeof path, "/%s/dense1/kernel", name), rc |= h5_write_floats(file, path, 2, w1, net->w1);
    snprintf(path, sizeof path, "/%s/dense1/bias", name), rc |= h5_write_floats(file, path, 1, b1, net->b1);
    snprintf(path, sizeof path, "/%s/dense2/kernel", name), rc |= h5_write_floats(file, path, 2, w2, net->w2);
    snprintf(path, sizeof path, "/%s/dense2/bias", name), rc |= h5_write_floats(file, path, 1, b2, net->b2);
    snprintf(path, sizeof path, "/optimizer/%s/m", name), rc |= h5_write_floats(file, path, 1, flat, net->m);
    snprintf(path, sizeof path, "/optimizer/%s/v", name), rc |= h5_write_floats(file, path, 1, flat, net->v);
    if (rc) return -1;
    snprintf(path, sizeof path, "/optimizer/%s", name);
    hid_t group = H5Gopen2(file, path, H5P_DEFAULT);
    if (group < 0) return -1;
    rc = h5_attr_int(group, "step", net->adam_t);
    H5Gclose(group);
    return rc;
}

/* fsync a file or directory by path, so the rename below is durable. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int checkpoint_write(const char *dir, const gan *m, long long step, const run_facts *run,
                     err_buf *err)
{
    char final_path[PATH_LEN + 32], tmp_path[PATH_LEN + 32];
    snprintf(final_path, sizeof final_path, "%s/checkpoint.h5", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s/.checkpoint.h5.tmp", dir);

    hid_t file = H5Fcreate(tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return h5_fail(err, tmp_path, "cannot create checkpoint file");
    int ok = write_network(file, "generator", &m->g) == 0 &&
             write_network(file, "discriminator", &m->d) == 0 &&
             h5_attr_int(file, "format_version", CHECKPOINT_FORMAT_VERSION) == 0 &&
             h5_attr_int(file, "step", step) == 0 && h5_write_run_attrs(file, run) == 0;
    if (!ok) {
        h5_fail(err, tmp_path, "writing the checkpoint");
        H5Fclose(file);
        unlink(tmp_path);
        return -1;
    }
    if (H5Fclose(file) < 0) { /* closing flushes: a full disk often shows up here */
        h5_fail(err, tmp_path, "flushing the checkpoint");
        unlink(tmp_path);
        return -1;
    }
    if (fsync_path(tmp_path, O_RDONLY) != 0) {
        err_set(err, "%s: fsync failed: %s", tmp_path, strerror(errno));
        unlink(tmp_path);
        return -1;
    }
    if (rename(tmp_path, final_path) != 0) {
        err_set(err, "cannot rename %s to %s: %s", tmp_path, final_path, strerror(errno));
        unlink(tmp_path);
        return -1;
    }
    fsync_path(dir, O_RDONLY | O_DIRECTORY); /* best effort: not every filesystem allows it */
    return 0;
}
