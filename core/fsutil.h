/* SPDX-License-Identifier: MIT */
/*
 * File-system helpers: directory creation and its safety, crash-safe writes,
 * bounded reads, recursive removal, temp files that tell live from stale.
 * All return 0 or -errno and are thread-safe (they touch no shared state).
 */
#ifndef WIKIFS_FSUTIL_H
#define WIKIFS_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* snprintf() into a path buffer of @n bytes: 0, or -ENAMETOOLONG if it does not fit. */
int pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* mkdir -p with @mode for every directory it creates. */
int mkdir_p(const char *path, mode_t mode);

/*
 * Temporary files and directories ("NAME.tmp.XXXXXX") are live while their
 * maker holds an exclusive flock(2) on them: write_atomic() and
 * mkdtemp_locked() take it before anything is written and keep it until
 * the rename (or removal). remove_stale_temps() removes only temps whose
 * lock it can take, so two processes sharing a directory never remove each
 * other's work in flight, while a crashed process's temps (its locks died
 * with it) are swept. A sweep can win the race against a maker between
 * creating the name and locking it; the maker then sees its temp unlinked
 * (st_nlink == 0) and starts over with a new name.
 */

/*
 * Crash-safe replace of @path: write a temporary file "@path.tmp.XXXXXX" in
 * the same directory (locked, see above), fsync it, rename it over @path,
 * fsync the directory. After a crash @path is either the old or the new
 * contents, never a mix. @hdr (may be NULL) is written before @data.
 */
int write_atomic(const char *path, const void *hdr, size_t hdr_len, const void *data, size_t len,
		 mode_t mode);

/*
 * Writes a new file @path (it must not exist: O_EXCL, no symlink followed)
 * without fsync: for scratch files in a private directory that live no
 * longer than one run, where a crash loses the directory anyway.
 */
int write_new(const char *path, const void *data, size_t len, mode_t mode);

/*
 * write_atomic() that keeps the new file open: on success *ret_fd (the
 * caller's to close) reads it and holds a shared flock(2) on it, taken
 * right after the rename.
 */
int write_atomic_hold(const char *path, const void *hdr, size_t hdr_len, const void *data,
		      size_t len, mode_t mode, int *ret_fd);

/*
 * mkdtemp(@tmpl) holding the new directory's flock: *lock_fd (the caller
 * closes it once the directory is renamed or removed) marks it live.
 */
int mkdtemp_locked(char *tmpl, int *lock_fd);

/* Reads all of @path into a malloc'ed NUL-terminated buffer; -EFBIG past @max. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * rm -rf; a missing @path is success. Does not follow symlinks. Our own
 * read-only directories (0555) are made writable first.
 */
int rm_rf(const char *path);

/*
 * Removes the "*.tmp.*" files and directories in @dir (not recursive) that
 * no live process holds locked: what a crash left behind.
 */
int remove_stale_temps(const char *dir, size_t *removed);

/*
 * Makes sure @path is a directory only this user can change, like ssh's
 * StrictModes: creates it 0700 (and missing parents) if absent; refuses
 * (-EPERM, the fix named in @err) one owned by another user or writable by
 * group or others, and one below a directory that another user owns (root
 * excepted) or that group or others can write without the sticky bit.
 */
int mkdir_private(const char *path, struct wf_err *err);

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
