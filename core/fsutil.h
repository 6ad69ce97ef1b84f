/* SPDX-License-Identifier: MIT */
/*
 * File-system helpers: directory creation, crash-safe writes, bounded reads,
 * recursive removal. All return 0 or -errno and are thread-safe (they touch
 * no shared state).
 */
#ifndef WIKIFS_FSUTIL_H
#define WIKIFS_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with @mode for every directory it creates. */
int mkdir_p(const char *path, mode_t mode);

/*
 * Crash-safe replace of @path: write a temporary file "@path.tmp.XXXXXX" in
 * the same directory, fsync it, rename it over @path, fsync the directory.
 * After a crash @path is either the old or the new contents, never a mix.
 * @hdr (may be NULL) is written before @data.
 */
int write_atomic(const char *path, const void *hdr, size_t hdr_len, const void *data, size_t len,
		 mode_t mode);

/* Reads all of @path into a malloc'ed NUL-terminated buffer; -EFBIG past @max. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* rm -rf; a missing @path is success. Does not follow symlinks. */
int rm_rf(const char *path);

/* Removes "*.tmp.*" files left behind by write_atomic() in @dir (not recursive). */
int remove_stale_temps(const char *dir, size_t *removed);

/* 1 if @dir exists and is empty, 0 if not empty, -errno otherwise. */
int dir_is_empty(const char *dir);

/* Expands a leading "~/" with $HOME. Returns a malloc'ed string or NULL. */
char *path_expand_home(const char *path);

/* 1 if @path is @dir or below it (both must be absolute and normalised). */
int path_is_below(const char *path, const char *dir);

/*
 * 0 if @n more descriptors can be opened now, else -EMFILE or -ENFILE. A
 * hint, not a reservation (another thread may take them next): for work
 * that would rather not start than fail half-way inside a library.
 */
int fd_headroom(unsigned n);

/* What a repository open by libgit2 may take: config, refs, pack indexes and packs. */
#define FD_HEADROOM_REPO 16

#endif
