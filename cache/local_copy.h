/* SPDX-License-Identifier: MIT */
/*
 * A repository on a local path, copied the way `git clone --local` copies
 * it: its pack files and loose objects are hard-linked (copied where a link
 * is impossible: another file system, another owner) into the clone, and
 * its branches and tags are set there, nothing else. libgit2 1.5's local
 * transport instead builds a new pack of every object reachable from every
 * ref of the source, pull requests and all, computing deltas from scratch: an
 * 85 MB repository took minutes, and one ref naming a missing object failed
 * the whole clone.
 *
 * A later sync (a fetch) links what is new, moves the branches and tags
 * (pruning those gone from the source) and drops the clone's packs that
 * the source has repacked away once every object in them is in a pack the
 * source still has, so a clone does not grow by a whole pack per upstream
 * `git gc`; a pack holding objects found nowhere else (such as the history
 * of a branch deleted upstream, still named by refs/wikifs/last/) stays.
 *
 * Used in-process by the clone cache (local_copy_run(); a local copy needs
 * no killable helper, and a process start costs more than the copy) and by
 * the clone helper process (cache/clone_helper.c). Errors follow
 * libgit2's convention (a negative GIT_E* code, the message in
 * git_error_last(), per thread), mapped to errno by clone_helper_describe().
 * One call at a time per clone.
 */
#ifndef WIKIFS_LOCAL_COPY_H
#define WIKIFS_LOCAL_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

/*
 * Whether @url names a local repository: an absolute path, or a file:// URL
 * (host empty or "localhost", %XX decoded). The path goes to @path (@n bytes).
 */
bool local_copy_path(const char *url, char *path, size_t n);

/*
 * Called after each file linked or copied and every 64 refs set: files done,
 * files to do, bytes of those files. A negative return stops the copy, which
 * then returns GIT_EUSER.
 */
typedef int (*local_copy_progress_cb)(uint64_t done, uint64_t total, uint64_t bytes, void *payload);

/*
 * Brings the bare clone @dst up to date with the repository at @src (bare or
 * not): objects, then refs/heads/ and refs/tags/ (forced, pruned), then HEAD
 * (the source's HEAD, if it names a branch the clone has, or its commit).
 * 0 or a libgit2 error code: GIT_ENOTFOUND when @src is not a repository,
 * GIT_ERROR when a branch or tag names an object the source lacks.
 */
int local_copy_sync(git_repository *dst, const char *src, local_copy_progress_cb cb, void *payload);

/*
 * The whole of a local clone or fetch, for a caller in-process: opens the
 * bare clone @dir (creates it with @create), makes its remote "origin" @url
 * (the URL as stored; branch and tag refspecs, as the clone helper sets
 * them), runs local_copy_sync() from @src, and flushes the clone's file
 * system (syncfs) so that a new clone may be renamed into place. Same
 * errors as local_copy_sync(). Thread-safe for distinct @dir (libgit2 must
 * be initialised).
 */
int local_copy_run(const char *dir, bool create, const char *url, const char *src,
		   local_copy_progress_cb cb, void *payload);

#endif
