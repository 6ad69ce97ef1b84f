/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of the filesystem layer: the node table (node.c), the
 * control files (control.c), the low-level operations (ops.c, with the
 * attributes in attr.c and the extended attributes in xattr.c) and the
 * mount (mount.c, preflight.c). The parking lot (park.h) and the mount
 * watcher (watch.h) are objects of their own that struct fs holds.
 */
#ifndef WIKIFS_FS_H
#define WIKIFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>

#include "conf.h"
#include "mountinfo.h"
#include "park.h"
#include "watch.h"
#include "wiki.h"

#define ROOT_INO    FUSE_ROOT_ID
#define CTLDIR_NAME WIKIFS_CTLDIR

enum node_type { NODE_ROOT, NODE_CTLDIR, NODE_CTL, NODE_OWNER, NODE_REPO, NODE_PAGE, NODE_VERSION };

/* The files of the control directory (CTL_MAX of them), then a repository's .versions. */
enum ctl_kind {
	CTL_PROGRESS,
	CTL_PROGRESS_JSON,
	CTL_CONTROL,
	CTL_ERRORS,
	CTL_METRICS,
	CTL_MAX,
	CTL_VERSIONS
};

#define VERSIONS_FILE ".versions" /* in a repository directory: its branches and tags */

/*
 * An inode. Directories and control files live as long as the mount. A page
 * node shows one page of one plan (struct wiki_page): a refresh that brings
 * a new plan makes new page nodes, and the old ones live on, unlisted, while
 * the kernel knows them (nlookup), a handle or a caller uses them (refs), so
 * a file opened at one commit keeps its size and bytes. A page regenerated
 * at its commit (retry) while open is retired the same way, @frozen at
 * the size the kernel was told (@told), since the wiki page answers the new
 * version's. Fields other than the counters, @shown, @told and @frozen
 * never change after creation (@page is dropped at exit, by
 * fs_nodes_drop_pages()).
 */
struct node {
	fuse_ino_t ino;
	uint64_t generation; /* unique with ino: inode numbers are reused */
	enum node_type type;
	fuse_ino_t parent;
	char *name;		/* entry name ("Home.md" for pages) */
	size_t repo;		/* NODE_REPO, NODE_PAGE, NODE_VERSION, CTL_VERSIONS */
	enum ctl_kind ctl;	/* NODE_CTL */
	char *ref;		/* NODE_VERSION: the ref its name asks for */
	struct plan *plan;	/* NODE_VERSION: the plan (and commit) it shows, a reference */
	char *slug;		/* NODE_PAGE: name without ".md" */
	struct wiki_page *page; /* NODE_PAGE: the version shown (a reference) */
	fuse_ino_t *kids;	/* NODE_ROOT, NODE_OWNER, NODE_CTLDIR, NODE_VERSION: fixed */
	size_t nkids;
	/* NODE_PAGE and NODE_VERSION lifetime: atomics, see node.c */
	uint64_t nlookup; /* the kernel's lookup count */
	uint64_t refs;	  /* fs_node_get() references, and one while listed */
	bool shown;	  /* in its repository's listing; NODE_VERSION: a name that never moves */
	uint64_t told;	  /* NODE_PAGE: 1 + its size, fixed once told the kernel; 0 if not yet */
	bool frozen;	  /* retired by a regeneration: reports @told, opens fail */
	uint64_t opens;	  /* NODE_PAGE: open handles (fs_page_opened/closed) */
};

/* Per-repository view: the plan shown and its page nodes, in plan order. */
struct fs_repo {
	fuse_ino_t ino;
	fuse_ino_t versions_ino; /* its VERSIONS_FILE, reached by name only */
	struct plan *plan;	 /* the plan the page list was built from, or NULL */
	struct node **pages;
	size_t npages;
	struct node **retired; /* unlisted, kernel not told yet; hold their listing refs */
	size_t nretired;
};

struct fh_head;

/*
 * One mount. Lock order, outermost first: handles_lock, lock, then the
 * wiki's lock (wiki_* calls); the parking lot's lock comes before the
 * wiki's too (park.c) and is never held with the two above. libfuse's
 * req->lock (interrupt hooks) comes before the wiki's and the lot's.
 * Fields above @lock are set before the session runs and then only read.
 */
struct fs {
	const struct conf *conf;
	struct wiki *wiki;
	struct fuse_session *se;
	struct park_lot *park; /* requests waiting for a clone or a page */
	struct watch *watch;   /* NULL when the mount is not visible here */
	char *mountpoint;      /* absolute */
	uid_t uid;
	gid_t gid;
	struct timespec start;
	double entry_timeout; /* stable names */
	double attr_timeout;  /* ready pages and directories */
	int64_t wait_ms;      /* deadline of a parked request */

	pthread_rwlock_t lock; /* protects the node table and every fs_repo */
	struct node **nodes;   /* indexed by inode number; NULL = free */
	size_t nnodes, cap;
	fuse_ino_t *free_inos; /* inode numbers to reuse */
	size_t nfree;
	uint64_t generation; /* the last one given out */
	struct fs_repo *repos;
	struct node **versions; /* version directories by name (version.c), a reference each */
	size_t nversions, capversions;

	pthread_mutex_t handles_lock; /* protects @handles */
	struct fh_head *handles;      /* open handles, freed at exit if never released */
};

/*
 * node.c. Thread-safe. A node pointer is used only with a reference:
 * fs_node_get() and fs_node_lookup() give one, fs_node_put() drops it.
 */
int fs_nodes_init(struct fs *fs);
/* Frees the table; call after fs_nodes_drop_pages(). */
void fs_nodes_done(struct fs *fs);
/* Drops every page node's wiki reference: after the session, before wiki_free(). */
void fs_nodes_drop_pages(struct fs *fs);
/* The node @ino, with a reference, or NULL. */
struct node *fs_node_get(struct fs *fs, fuse_ino_t ino);
void fs_node_put(struct fs *fs, struct node *n); /* NULL is fine */
/*
 * Finds @name in directory @dir, with a reference in *ret. -ENOENT,
 * -ENOTDIR, or -EAGAIN if the repository's plan is not shown yet.
 */
int fs_node_lookup(struct fs *fs, fuse_ino_t dir, const char *name, struct node **ret);
/*
 * The kernel learns @n (a lookup or readdirplus entry): call before the
 * reply, and fs_node_forget(fs, n->ino, 1) if the reply fails.
 */
void fs_node_learn(struct fs *fs, struct node *n);
/* FORGET: the kernel dropped @nlookup lookups of @ino; frees an unused old page node. */
void fs_node_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup);
/*
 * The entries of directory @dir, each with a reference (fs_node_put them,
 * free the array), and its parent. -ENOTDIR, -ENOMEM. The control
 * directory is not among the root's: it is reached by name only, so that
 * recursive tools (grep -r, find, cp -r, rsync) never meet its write-only
 * control file nor take the mount's reports for its content.
 */
int fs_dir_entries(struct fs *fs, fuse_ino_t dir, struct node ***ret, size_t *n,
		   fuse_ino_t *parent);
/* Is @n in its directory's listing (false for a page of an older plan)? */
bool fs_node_shown(const struct node *n);
/*
 * The size page node @n shows, remembered as told to the kernel: the wiki
 * page's, or the one it was frozen at. 0, or -ENOENT if not generated.
 */
int fs_page_size(struct fs *fs, struct node *n, uint64_t *size);
/* Was page node @n retired by a regeneration (its bytes are gone for new opens)? */
bool fs_page_frozen(const struct node *n);
/*
 * An open of page node @n got a version of @size bytes: records it as the
 * node's size if none was told, and counts a handle (with a reference) till
 * fs_page_closed(). False if @n shows another version (retired, or told
 * another size: regenerated, page_ready not heard yet); the open must then
 * fail with ESTALE. Not under fs->lock.
 */
bool fs_page_opened(struct fs *fs, struct node *n, uint64_t size);
void fs_page_closed(struct fs *fs, struct node *n);
/*
 * Shows the repository's current plan: new page nodes if the wiki has a new
 * one. 0, -EAGAIN if not planned yet, -ENOMEM (the old view stays). Never
 * talks to the kernel: fs_repo_changed() tells it what was unlisted.
 */
int fs_repo_show(struct fs *fs, size_t repo);
/* Resolves a mount-relative or absolute path to a node, with a reference. */
int fs_path_resolve(struct fs *fs, const char *path, struct node **ret);

/*
 * ops.c. fs_answer() is the parking lot's answer callback (park_answer_fn,
 * @ctx the struct fs): it replies to a parked request whose wait is over.
 */
void fs_answer(void *ctx, struct parked *p, int err);
/* Replies to a lookup with @n (a reference held), which the kernel then knows. */
void fs_reply_entry(fuse_req_t req, struct fs *fs, struct node *n);
extern const struct fuse_lowlevel_ops fs_ops;
/*
 * Frees the handles the kernel never released (the session ended first) and
 * drops the wiki references of the node table: call before wiki_free().
 */
void fs_handles_free(struct fs *fs);

/*
 * node.c, for version.c: the table's primitives. fs->lock held for writing
 * but fs_node_free_unlinked(), which must not hold it.
 */
struct node *fs_node_add_locked(struct fs *fs, enum node_type type, fuse_ino_t parent,
				const char *name);
int fs_node_kid_add(struct node *dir, fuse_ino_t kid);
struct node *fs_node_unlink_locked(struct fs *fs, struct node *n);
void fs_node_free_unlinked(struct fs *fs, struct node *n);

/*
 * version.c: version directories, OWNER/REPO@REF (a NODE_VERSION with its
 * page nodes as kids, all fixed: one directory shows one commit). Looked up
 * by name only, never listed: a lookup of a name with '@' in the root or an
 * owner directory comes here, parks until the wiki resolved the version,
 * and answers with the directory of its current commit (a branch that
 * moved gets a new directory; the old one lives on while used).
 */
void fs_version_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t dir, const char *name);
/* The parked lookup @p (PARK_VERSION) may go on (@err 0) or fails. */
void fs_version_answer(struct fs *fs, struct parked *p, int err);
/* The listed version directory named @name in @dir (no reference taken), or NULL. fs->lock held. */
struct node *fs_version_find_locked(struct fs *fs, fuse_ino_t dir, const char *name);
/* user.wikifs.NAME (prefix stripped) of version directory @n, or NULL. */
const char *fs_version_xattr(const struct node *n, const char *name);
/* prefetch and cancel on version directory @d (@slug NULL: all its pages). */
int fs_version_prefetch(struct fs *fs, const struct node *d, const char *slug, struct wf_err *err);
int fs_version_cancel(struct fs *fs, const struct node *d, const char *slug, struct wf_err *err);
/* The wiki's version_dropped event: forget the directory, tell the kernel. */
void fs_version_dropped(void *ctx, size_t repo, const char *ref);

/* readonly.c: the operations of fs_ops that answer EROFS. */
void fs_ro_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void fs_ro_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_ro_unlink(fuse_req_t req, fuse_ino_t parent, const char *name); /* rmdir too */
void fs_ro_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		  const char *newname, unsigned int flags);
void fs_ro_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void fs_ro_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void fs_ro_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi);

/* control.c: renders control file (or .versions) @n into @out. */
int fs_ctl_render(struct fs *fs, const struct node *n, struct buf *out);

/*
 * attr.c: the attributes of node @n (a reference held) and how long the
 * kernel may keep them.
 */
void fs_attr_fill(struct fs *fs, struct node *n, struct stat *st, double *timeout);

/*
 * xattr.c: extended attributes. One attribute: @name without the
 * "user.wikifs." prefix, @value a string that is never empty.
 */
struct fs_xattr {
	const char *name, *value;
};
#define FS_XATTR_MAX 8
/*
 * The attributes of a repository directory whose state is @ri (state,
 * commit, ref, error), into @kv (room for FS_XATTR_MAX); returns how many.
 * The values point into @ri. A directory of a version of a repository
 * answers the same from its own view.
 */
size_t fs_xattr_repo(const struct wiki_repo_info *ri, struct fs_xattr *kv);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* Runs the commands in @data; -EINVAL with the failing line noted in errors. */
int fs_ctl_write(struct fs *fs, const char *data, size_t len);
/* node.c: the wiki's events (struct wiki_events) */
void fs_repo_changed(void *ctx, size_t repo);
void fs_page_ready(void *ctx, size_t repo, const struct wiki_page *page);

#endif
