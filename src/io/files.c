/* files.c: atomic writes, whole-file reads and mkdir -p (see files.h). */
#define _DEFAULT_SOURCE /* realpath */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void atomic_temp_path(const char *path, char *tmp, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(tmp, len, "%.*s/.%s.tmp", (int)(slash - path), path, slash + 1);
    else snprintf(tmp, len, ".%s.tmp", path);
}

/* fsync a file or directory by path. */
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

static void fsync_parent(const char *path)
{
    char dir[PATH_LEN + 64];
    snprintf(dir, sizeof dir, "%s", path);
    fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY); /* not every filesystem allows it: best effort */
}

int atomic_commit(const char *tmp, const char *path, err_buf *err)
{
    int rc = 0;
    if (fsync_path(tmp, O_RDONLY) != 0) rc = err_set(err, "%s: fsync failed: %s", tmp, strerror(errno));
    else if (rename(tmp, path) != 0) rc = err_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return -1;
    }
    fsync_parent(path);
    return 0;
}

int atomic_write_file(const char *path, const void *buf, size_t len, err_buf *err)
{
    char tmp[PATH_LEN + 80];
    atomic_temp_path(path, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err_set(err, "%s: write failed after %zu of %zu bytes: %s", tmp, done, len, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        done += (size_t)n;
    }
    int rc = 0;
    if (fsync(fd) != 0) rc = err_set(err, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = err_set(err, "%s: close failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = err_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return -1;
    }
    fsync_parent(path);
    return 0;
}

int atomic_link(const char *existing, const char *link_path, err_buf *err)
{
    char tmp[PATH_LEN + 80];
    atomic_temp_path(link_path, tmp, sizeof tmp);
    unlink(tmp);
    if (link(existing, tmp) != 0 || rename(tmp, link_path) != 0) {
        err_set(err, "cannot update %s: %s", link_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int read_whole_file(const char *path, unsigned char **bytes, size_t *len, err_buf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 0;
    *bytes = NULL;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : (4u << 20);
            unsigned char *grown = realloc(*bytes, cap);
            if (!grown) FATAL("out of memory reading %s", path);
            *bytes = grown;
        }
        size_t n = fread(*bytes + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(*bytes);
        *bytes = NULL;
        return err_set(err, "%s: read error", path);
    }
    return 0;
}

/* Can a file be created in directory `path`? access(2) is not enough: root passes it everywhere,
 * and /proc, a read-only mount or a full inode table refuse files to anyone. Creates and
 * removes DIR/.gan_probe.PID. */
static int probe_writable(const char *path, const char *flag, err_buf *err)
{
    char probe[PATH_LEN + 128], host[64] = "";
    gethostname(host, sizeof host - 1); /* unique also among hosts that share the directory */
    snprintf(probe, sizeof probe, "%s/.gan_probe.%s.%ld", path, host, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return err_set(err, "%s %s: directory is not writable: cannot create a file in it: %s", flag, path,
                               strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

int make_dirs(const char *path, const char *flag, err_buf *err)
{
    char buf[PATH_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return err_set(err, "cannot create output directory %s: %s", buf, strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, "%s %s: exists and is not a directory", flag, path);
    if (access(path, W_OK | X_OK) != 0)
        return err_set(err, "%s %s: directory is not writable: %s", flag, path, strerror(errno));
    return probe_writable(path, flag, err);
}

int check_dirs(const char *path, const char *flag, err_buf *err)
{
    char buf[PATH_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    struct stat st;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (stat(buf, &st) != 0) {
                if (errno != ENOENT) return err_set(err, "cannot create output directory %s: %s", buf, strerror(errno));
                /* The first missing directory: mkdir needs a writable parent; the rest follow. */
                char parent[PATH_LEN];
                snprintf(parent, sizeof parent, "%s", buf);
                char *slash = strrchr(parent, '/');
                if (slash == parent) slash[1] = '\0';
                else if (slash) *slash = '\0';
                else strcpy(parent, ".");
                if (access(parent, W_OK | X_OK) != 0)
                    return err_set(err, "cannot create output directory %s: %s", buf, strerror(errno));
                err_buf why;
                if (probe_writable(parent, flag, &why))
                    return err_set(err, "cannot create output directory %s: %s", buf, strrchr(why.msg, ':') + 2);
                return 0;
            }
            *p = saved;
            if (saved == '\0') break;
        }
    }
    if (!S_ISDIR(st.st_mode)) return err_set(err, "%s %s: exists and is not a directory", flag, path);
    if (access(path, W_OK | X_OK) != 0)
        return err_set(err, "%s %s: directory is not writable: %s", flag, path, strerror(errno));
    return probe_writable(path, flag, err);
}

void absolute_path(char *path)
{
    char full[PATH_MAX];
    if (realpath(path, full) && strlen(full) < PATH_LEN) strcpy(path, full);
}
