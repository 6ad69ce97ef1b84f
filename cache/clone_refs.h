/* SPDX-License-Identifier: MIT */
/*
 * The refs of a clone, read locally: what a version directory (REPO@REF)
 * resolves to, and the listing of a repository's branches and tags. Never
 * touches the network and never writes to the clone: a ref that is not
 * there is -ENOENT, and fetching it is the caller's decision
 * (clone_cache_sync() with CLONE_FETCH).
 *
 * Thread-safety: every function opens its own git_repository, so all are
 * thread-safe once gitrepo_global_init() has run. They block on file I/O
 * of the clone (a ref lookup, a pack index): background threads, or an
 * open of a small file.
 */
#ifndef WIKIFS_CLONE_REFS_H
#define WIKIFS_CLONE_REFS_H

#include "buf.h"
#include "err.h"

#define CLONE_REFS_ABBREV_MIN 7 /* hex digits an abbreviated commit id needs */

enum clone_ref_kind { CLONE_REF_BRANCH, CLONE_REF_TAG, CLONE_REF_COMMIT };

/* "branch", "tag", "commit". */
const char *clone_ref_kind_name(enum clone_ref_kind k);

/*
 * Resolves @ref in the bare clone @git_dir: a branch (refs/heads), else a
 * tag (refs/tags, annotated tags peeled), else a full or unambiguous
 * abbreviated commit id of at least CLONE_REFS_ABBREV_MIN hex digits. 0
 * with the commit in @commit and its kind in *@kind; -ENOENT (not there,
 * ambiguous, or not a commit) or -errno with @err saying why.
 */
int clone_refs_resolve(const char *git_dir, const char *ref, char commit[41],
		       enum clone_ref_kind *kind, struct wf_err *err);

/*
 * Appends one line per branch, then per tag, each sorted by name, to @out:
 * "COMMIT KIND NAME\n" (KIND as clone_ref_kind_name(); a tag's commit is
 * the one it peels to; a tag of no commit is left out). 0 or -errno with
 * @err.
 */
int clone_refs_list(const char *git_dir, struct buf *out, struct wf_err *err);

#endif
