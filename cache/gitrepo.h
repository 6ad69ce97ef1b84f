/* SPDX-License-Identifier: MIT */
/*
 * The one libgit2 module: the process-wide init, the only mapping from
 * libgit2's error space to errno, opening a commit and walking its tree.
 * Every other file of cache/ that uses libgit2 goes through these for
 * errors and for opening commits; no file above cache/ sees libgit2 (the
 * libgit2 types below are only declared, never defined, here).
 *
 * libgit2 wants one git_repository per thread: each function below opens
 * its own or works on the caller's, never a shared one. All functions are
 * thread-safe once gitrepo_global_init() has run.
 */
#ifndef WIKIFS_GITREPO_H
#define WIKIFS_GITREPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct git_repository;
struct git_commit;
struct git_tree;
struct git_oid;

/* Git file modes, as trees store them. */
#define GITREPO_MODE_TREE    0040000
#define GITREPO_MODE_LINK    0120000 /* a symlink: a blob holding the target */
#define GITREPO_MODE_GITLINK 0160000 /* a submodule commit */

/* Bounds of gitrepo_tree_foreach(): deeper or longer entries are skipped. */
#define GITREPO_MAX_DEPTH 1024
#define GITREPO_MAX_PATH  4096

/*
 * Initialises libgit2 for the process; call once from main() before any
 * thread starts, and gitrepo_global_shutdown() once at exit. 0 or -errno.
 */
int gitrepo_global_init(void);
void gitrepo_global_shutdown(void);

/*
 * The errno (negative) for libgit2 return code @code (< 0), judged by the
 * code, then by the class and text of the thread's last libgit2 error
 * (libgit2 keeps an OS errno only inside its message). Call it right after
 * the failing libgit2 call, on the same thread.
 */
int gitrepo_errno(int code);
/* The thread's last libgit2 error message, never NULL. */
const char *gitrepo_error_text(void);
/*
 * Fills @err with "@what '@arg': <libgit2 message>" and returns
 * gitrepo_errno(@code), for "return gitrepo_fail(err, r, ...)".
 */
int gitrepo_fail(struct wf_err *err, int code, const char *what, const char *arg);

/*
 * Opens the bare repository @git_dir and the commit @rev names (any
 * revision git understands; a tag is peeled). The caller frees both with
 * git_commit_free() and git_repository_free(). 0 or -errno with @err
 * filled; on failure both are NULL.
 */
int gitrepo_open_commit(struct git_repository **repo, struct git_commit **commit,
			const char *git_dir, const char *rev, struct wf_err *err);
/* gitrepo_open_commit() and the commit's root tree (the caller frees it with
 * git_tree_free() too); on failure all three are NULL. */
int gitrepo_open_tree(struct git_repository **repo, struct git_commit **commit,
		      struct git_tree **tree, const char *git_dir, const char *rev,
		      struct wf_err *err);

/*
 * What a person asks of a clone's commit: its committer time (seconds
 * since the epoch, as git log --format=%ct) into *@time, and, if @head is
 * not NULL, the branch the clone's HEAD names ("main"; "" if HEAD is
 * detached or unborn) into @head (@n bytes). 0 or -errno with @err filled.
 */
int gitrepo_commit_describe(const char *git_dir, const char *commit, int64_t *time, char *head,
			    size_t n, struct wf_err *err);

/*
 * Calls @fn for every entry of the tree of @commit in @git_dir, depth
 * first: a directory (mode GITREPO_MODE_TREE) comes just before everything
 * below it, so the entries below one directory are contiguous. @path is
 * NUL-terminated, @len bytes, valid during the call; @depth is 1 at the
 * top; @id is the entry's object id. Reads tree objects only,
 * never blobs; entries past GITREPO_MAX_DEPTH levels or GITREPO_MAX_PATH
 * bytes are skipped and counted in *@skipped (may be NULL). A non-zero
 * return from @fn stops the walk and is returned. 0 or -errno with @err
 * filled.
 */
typedef int (*gitrepo_tree_fn)(void *ctx, const char *path, size_t len, unsigned depth,
			       unsigned mode, const struct git_oid *id);
int gitrepo_tree_foreach(const char *git_dir, const char *commit, gitrepo_tree_fn fn, void *ctx,
			 size_t *skipped, struct wf_err *err);
/* The same on a tree the caller opened (a git_tree of @repo). */
int gitrepo_tree_walk(struct git_repository *repo, struct git_tree *root, gitrepo_tree_fn fn,
		      void *ctx, size_t *skipped, struct wf_err *err);

/* @id in hex, 41 bytes with the NUL. */
void gitrepo_oid_hex(const struct git_oid *id, char out[41]);

/*
 * A commit's tree opened once for many path lookups (a manifest's match):
 * tree objects only, never a blob. One snapshot per thread (it holds a
 * git_repository).
 */
struct gitrepo_snapshot;
int gitrepo_snapshot_open(struct gitrepo_snapshot **ret, const char *git_dir, const char *commit,
			  struct wf_err *err);
/*
 * The entry at @path ("" = the root tree): 0 with its git mode (GITREPO_MODE_TREE
 * for a directory) and its object id in hex (41 bytes with the NUL);
 * -ENOENT when nothing is there (or a file stands where a directory is
 * looked up); another -errno on a failure to read the tree.
 */
int gitrepo_snapshot_entry(struct gitrepo_snapshot *s, const char *path, unsigned *mode,
			   char oid[41]);
void gitrepo_snapshot_free(struct gitrepo_snapshot *s); /* NULL is fine */

/*
 * Appends the blob at @path of @commit in @git_dir to @out. -ENOENT when
 * absent, -EISDIR when not a file, -EFBIG past @max bytes; @err says it.
 */
int gitrepo_read_blob(const char *git_dir, const char *commit, const char *path, size_t max,
		      struct buf *out, struct wf_err *err);

/* Sets exists[i] for each of @paths: a file or directory of @commit's tree. */
int gitrepo_paths_exist(const char *git_dir, const char *commit, const char *const *paths, size_t n,
			bool *exists, struct wf_err *err);

/*
 * Writes the tree of @commit into the empty directory @dfd: files 0444
 * (0555 when executable in git), directories 0555 (@dfd itself excepted),
 * symlinks as they are, submodules as empty directories. Entries with a
 * "." , ".." or ".git" component are skipped; of a name a hostile tree holds
 * twice, the first stays. *@bytes is the size written; -EFBIG past @max.
 * 0 or -errno with @err filled (the directory is then half written).
 */
int gitrepo_export(const char *git_dir, const char *commit, int dfd, uint64_t max, uint64_t *bytes,
		   struct wf_err *err);

#endif
