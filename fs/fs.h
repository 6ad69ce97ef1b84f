/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of the filesystem layer: the node table (node.c), the
 * parking lot for requests that wait on a clone or a page (park.c), the
 * control files (control.c) and the low-level operations (ops.c).
 */
#ifndef WIKIFS_FS_H
#define WIKIFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>

#include "conf.h"
#include "wiki.h"

#define ROOT_INO    FUSE_ROOT_ID
#define CTLDIR_NAME ".wikifs"

enum node_type { NODE_ROOT, NODE_CTLDIR, NODE_CTL, NODE_OWNER, NODE_REPO, NODE_PAGE };

enum ctl_kind { CTL_PROGRESS, CTL_PROGRESS_JSON, CTL_CONTROL, CTL_ERRORS, CTL_MAX };

/*
 * An inode. Directories and control files live as long as the mount. A page
 * node shows one page of one plan (struct wiki_page): a refresh that brings
 * a new plan makes new page nodes, and the old ones live on, unlisted, while
 * the kernel knows them (nlookup), a handle or a caller uses them (refs), so
 * a file opened at one commit keeps its size and bytes. Fields other than
 * the counters and @shown never change after creation (@page is dropped
 * at exit, by fs_nodes_drop_pages()).
 */
struct node {
	fuse_ino_t ino;
	uint64_t generation; /* unique with ino: inode numbers are reused */
	enum node_type type;
	fuse_ino_t parent;
	char *name;		/* entry name ("Home.md" for pages) */
	size_t repo;		/* NODE_REPO, NODE_PAGE */
	enum ctl_kind ctl;	/* NODE_CTL */
	char *slug;		/* NODE_PAGE: name without ".md" */
	struct wiki_page *page; /* NODE_PAGE: the version shown (a reference) */
	fuse_ino_t *kids;	/* NODE_ROOT, NODE_OWNER, NODE_CTLDIR: fixed at mount */
	size_t nkids;
	/* NODE_PAGE lifetime: atomics, see node.c */
	uint64_t nlookup; /* the kernel's lookup count */
	uint64_t refs;	  /* fs_node_get() references, and one while listed */
	bool shown;	  /* in its repository's listing */
};

/* Per-repository view: the plan shown and its page nodes, in plan order. */
struct fs_repo {
	fuse_ino_t ino;
	struct plan *plan; /* the plan the page list was built from, or NULL */
	struct node **pages;
	size_t npages;
	struct node **retired; /* unlisted, kernel not told yet; hold their listing refs */
	size_t nretired;
};

struct fs {
	const struct conf *conf;
	struct wiki *wiki;
	struct fuse_session *se;
	char *mountpoint; /* absolute */
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
 * free the array), and its parent. -ENOTDIR, -ENOMEM.
 */
int fs_dir_entries(struct fs *fs, fuse_ino_t dir, struct node ***ret, size_t *n,
		   fuse_ino_t *parent);
/* Is @n in its directory's listing (false for a page of an older plan)? */
bool fs_node_shown(const struct node *n);
/*
 * Shows the repository's current plan: new page nodes if the wiki has a new
 * one. 0, -EAGAIN if not planned yet, -ENOMEM (the old view stays). Never
 * talks to the kernel: fs_repo_changed() tells it what was unlisted.
 */
int fs_repo_show(struct fs *fs, size_t repo);
/* Resolves a mount-relative or absolute path to a node, with a reference. */
int fs_path_resolve(struct fs *fs, const char *path, struct node **ret);

/* park.c */
enum park_kind { PARK_LOOKUP, PARK_OPENDIR, PARK_OPEN };

struct parked {
	struct wiki_waiter w; /* first: the wiki calls back with it */
	struct fs *fs;
	fuse_req_t req;
	enum park_kind kind;
	fuse_ino_t ino; /* the node waited for (repo dir or page) */
	char *name;	/* PARK_LOOKUP */
	struct fuse_file_info fi;
	int64_t deadline_ms;
	struct parked *prev, *next; /* deadline list, protected by the park lock */
	bool listed, expired;
};

int fs_park_init(struct fs *fs);
void fs_park_done(struct fs *fs);
struct parked *fs_park_new(struct fs *fs, fuse_req_t req, enum park_kind kind, fuse_ino_t ino);
/* Call after a want() that did not attach: unlists, clears the interrupt hook, frees. */
void fs_park_abandon(struct parked *p);

/* ops.c: answers a parked request once its wait is over (err 0 = proceed). */
void fs_answer(struct parked *p, int err);
extern const struct fuse_lowlevel_ops fs_ops;
/*
 * Frees the handles the kernel never released (the session ended first) and
 * drops the wiki references of the node table: call before wiki_free().
 */
void fs_handles_free(struct fs *fs);

/* mountinfo.c */
struct mount_entry {
	long id;	    /* the mount ID */
	const char *point;  /* unescaped mount point */
	const char *fstype; /* "fuse.wikifs", "ext4", ... */
};
/*
 * Calls @fn for every line of /proc/self/mountinfo, in order, until it
 * returns non-zero, which is then returned. 0, or -errno if unreadable.
 */
int mountinfo_foreach(int (*fn)(void *ctx, const struct mount_entry *e), void *ctx);

/* watch.c: answers parked requests when the mount is detached lazily */
int fs_watch_start(struct fs *fs);
void fs_watch_stop(void);

/* control.c */
int fs_ctl_render(struct fs *fs, enum ctl_kind kind, struct buf *out);
/* Runs the commands in @data; -EINVAL with the failing line noted in errors. */
int fs_ctl_write(struct fs *fs, const char *data, size_t len);
/* node.c: the wiki's events (struct wiki_events) */
void fs_repo_changed(void *ctx, size_t repo);
void fs_page_ready(void *ctx, size_t repo, const struct wiki_page *page);

#endif
