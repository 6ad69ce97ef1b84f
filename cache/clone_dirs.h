/* SPDX-License-Identifier: MIT */
/*
 * Clone directories: their names, who uses them, and their removal, in a
 * cache directory that several mounts may share.
 *
 * Names. A clone is named after its repository: CLONES/OWNER/REPO.git for
 * [repo OWNER/REPO], CLONES/REPO.git for [repo REPO]; without a configured
 * name, after the URL's last two path components. If that directory holds
 * a clone of another URL (another mount names another repository so), the
 * clone is CLONES/OWNER/REPO-<16 hex of the URL's hash>.git. A clone made
 * by an earlier version ("TAIL-<16 hex>.git") is renamed to its new name
 * instead of being cloned again.
 *
 * Use. Each process claims the clones it uses (every configured repository,
 * at start) in a file of its own, CLONES/.in-use/PID.RANDOM, that it holds
 * locked (flock) while it runs; a dead process's file is unlocked, so
 * stale. A clone's last use is the mtime of its directory, set when it is
 * claimed, synced, and released.
 *
 * Removal (clone_dirs_gc()). A clone no running process claims and unused
 * for @grace_s seconds is removed (renamed to a temporary, then deleted);
 * so are temporaries (NAME.tmp.*) whose maker is gone: a clone in progress
 * is a temporary its maker holds locked. Claims, temporaries and removal
 * are serialised by CLONES/.gc.lock (shared for claims and new temporaries,
 * exclusive for a removal pass), so a clone is never removed between its
 * claim and its use, nor a temporary before its maker locks it.
 *
 * Thread-safety: all functions are thread-safe; they block on file I/O and
 * on the lock file (never long: a removal pass holds it exclusively only
 * while it renames). The internal mutex is a leaf.
 */
#ifndef WIKIFS_CLONE_DIRS_H
#define WIKIFS_CLONE_DIRS_H

#include <stddef.h>

struct clone_dirs;

/* Creates @clones_dir (0700) and this process's claim file. */
int clone_dirs_new(struct clone_dirs **ret, const char *clones_dir, unsigned grace_s);

/* Stamps the last use of every claimed clone, drops the claim file, frees. NULL is fine. */
void clone_dirs_free(struct clone_dirs *cd);

/*
 * The directory of @url's clone (password ignored), named after @name (may
 * be NULL), written to @out (@n bytes): claimed for this process, renamed
 * from its old name if it had one, not necessarily existing yet. A URL
 * claimed before gets the same directory whatever @name. -ENAMETOOLONG if
 * the path does not fit, -errno on I/O failure.
 */
int clone_dirs_claim(struct clone_dirs *cd, const char *name, const char *url, char *out, size_t n);

/* Stamps now as @git_dir's last use. */
void clone_dirs_touch(const char *git_dir);

/*
 * Creates an empty temporary directory "@git_dir.tmp.XXXXXX" (and its
 * parent) for a clone, locked against removal: *@lock_fd holds the lock
 * until closed (after the temporary is renamed or removed).
 */
int clone_dirs_mktemp(struct clone_dirs *cd, const char *git_dir, char *tmp, size_t n,
		      int *lock_fd);

/*
 * One removal pass (see above); skipped if another process runs one.
 * Returns the number of clones and temporaries removed.
 */
size_t clone_dirs_gc(struct clone_dirs *cd);

#endif
