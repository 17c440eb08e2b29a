/* paths.c: locating the shipped data files (see paths.h). */
#include "paths.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build_info.h"
#include "common.h"

/* DIR/../share/gan_train/NAME for the directory DIR of this executable: an install
 * that was moved, or installed with `cmake --install --prefix` elsewhere. */
static int beside_executable(const char *name, char *out, size_t len)
{
    char exe[PATH_LEN];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    snprintf(out, len, "%s/../share/gan_train/%s", dirname(exe), name);
    return access(out, R_OK);
}

const char *shipped_file(const char *name, char *buf, size_t len)
{
    char candidate[PATH_LEN + 64];
    snprintf(buf, len, "%s/%s", GAN_SOURCE_DATA_DIR, name);
    if (access(buf, R_OK) == 0) return buf;
    snprintf(candidate, sizeof candidate, "%s/%s", GAN_INSTALLED_DATA_DIR, name);
    if (access(candidate, R_OK) == 0 || beside_executable(name, candidate, sizeof candidate) == 0)
        snprintf(buf, len, "%s", candidate);
    return buf;
}

const char *out_path(char *buf, size_t len, const char *dir, const char *name, ...)
{
    int n = snprintf(buf, len, "%s/", dir);
    va_list ap;
    va_start(ap, name);
    if (n >= 0 && (size_t)n < len) n += vsnprintf(buf + n, len - (size_t)n, name, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) FATAL("the path %s/%s does not fit in %zu bytes", dir, name, len);
    return buf;
}
