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

struct node {
	fuse_ino_t ino;
	enum node_type type;
	fuse_ino_t parent;
	char *name;	   /* entry name ("Home.md" for pages) */
	size_t repo;	   /* NODE_REPO, NODE_PAGE */
	enum ctl_kind ctl; /* NODE_CTL */
	char *slug;	   /* NODE_PAGE: name without ".md" */
	fuse_ino_t *kids;  /* NODE_ROOT, NODE_OWNER, NODE_CTLDIR: fixed at mount */
	size_t nkids;
};

/* Per-repository view: the plan shown and its page inodes, in plan order. */
struct fs_repo {
	fuse_ino_t ino;
	struct plan *plan; /* the plan the page list was built from, or NULL */
	fuse_ino_t *pages;
	size_t npages;
	fuse_ino_t *known; /* every page inode ever made for it, reused by name */
	size_t nknown;
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
	struct node **nodes;   /* indexed by inode number */
	size_t nnodes, cap;
	struct fs_repo *repos;
};

/* node.c */
int fs_nodes_init(struct fs *fs);
void fs_nodes_done(struct fs *fs);
/* Copies the node (strings stay owned by the table: nodes are never freed). */
int fs_node_get(struct fs *fs, fuse_ino_t ino, struct node *out);
/* Finds @name in directory @dir. -ENOENT, or -EAGAIN if the repo's plan is not shown yet. */
int fs_node_lookup(struct fs *fs, fuse_ino_t dir, const char *name, fuse_ino_t *ino);
/* Brings the page nodes of @repo in line with @plan; true if they changed. */
bool fs_repo_show_plan(struct fs *fs, size_t repo, struct plan *plan);
/* Resolves a mount-relative or absolute path to a node. */
int fs_path_resolve(struct fs *fs, const char *path, fuse_ino_t *ino);
/* "owner/repo/Page.md" for a node. */
void fs_node_path(struct fs *fs, fuse_ino_t ino, char *out, size_t n);

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
/* Frees the handles the kernel never released (the session ended first). */
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
void fs_repo_changed(void *ctx, size_t repo);
void fs_page_ready(void *ctx, size_t repo, const char *slug);

#endif
