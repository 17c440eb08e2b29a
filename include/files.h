/*
 * files.h: durable file operations, the one place that writes a file so that readers
 * see either the old version or the complete new one, never half of it.
 *
 * The pattern: write DIR/.NAME.tmp, fsync it, rename it over DIR/NAME, fsync DIR. A
 * crash, a kill or a full disk at any moment leaves the previous file intact; on a
 * failure the temporary file is removed and err says why (e.g. "No space left on device").
 */
#ifndef GAN_FILES_H
#define GAN_FILES_H

#include <stddef.h>

#include "common.h"

/* The temporary name that atomic_commit renames over `path`: DIR/.NAME.tmp. */
void atomic_temp_path(const char *path, char *tmp, size_t len);

/* fsync tmp (already written and closed, or flushed), rename it over path, fsync the
 * directory. On failure tmp is removed. */
int atomic_commit(const char *tmp, const char *path, err_buf *err);

/* Write all of buf to path atomically (temporary file, fsync, rename). */
int atomic_write_file(const char *path, const void *buf, size_t len, err_buf *err);

/* Make `link_path` another name of `existing` atomically (hard link, then rename). */
int atomic_link(const char *existing, const char *link_path, err_buf *err);

/* Read all of path into *bytes (malloc'd, caller frees). */
int read_whole_file(const char *path, unsigned char **bytes, size_t *len, err_buf *err);

/* mkdir -p path; then check that it is a writable directory (by creating and removing a file in it). `flag` names the option
 * in messages (e.g. "--out"). */
int make_dirs(const char *path, const char *flag, err_buf *err);

/* The checks of make_dirs without creating anything (--dry-run): fails, with the message
 * make_dirs would give, where make_dirs would; 0 if it would succeed. An existing directory is
 * probed as make_dirs does (a file created and removed at once). */
int check_dirs(const char *path, const char *flag, err_buf *err);

/* path (a PATH_LEN buffer) made absolute, when it names an existing file: files that record a
 * path (checkpoints, classifiers) are then read from any directory. */
void absolute_path(char *path);

#endif
