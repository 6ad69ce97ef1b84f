/* SPDX-License-Identifier: MIT */
/*
 * The attributes (stat) of the mount's inodes. A page shows the committer
 * time of the commit it was made at as its mtime, ctime and atime, and a
 * repository directory that of the commit it shows: the same commit looks
 * the same after any remount, so rsync, make and static-site builders see
 * no change where there is none. The root, owner and control directories,
 * the control files and a repository not cloned yet show the mount's
 * start. A repository directory with no commit yet and a page not
 * generated yet get attribute timeout 0: the kernel asks again, and learns
 * the commit's time and the page's size once they exist; a refresh that
 * moves a repository on invalidates its directory (fs_repo_changed()).
 */
#include "fs.h"

#include <string.h>
#include <sys/stat.h>

static void set_times(struct stat *st, int64_t t)
{
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)t;
	st->st_atim.tv_nsec = st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = 0;
}

static void fill_page(struct fs *fs, struct node *n, struct stat *st, double *timeout)
{
	uint64_t size;
	int64_t t = wiki_page_time(n->page);

	st->st_mode = S_IFREG | 0444;
	/* a page of an older plan is like an unlinked file: open, no name */
	st->st_nlink = fs_node_shown(n) ? 1 : 0;
	if (t > 0)
		set_times(st, t);
	if (fs_page_size(fs, n, &size) == 0) {
		st->st_size = (off_t)size;
		st->st_blocks = (blkcnt_t)((size + 511) / 512);
	} else {
		*timeout = 0; /* not generated: size 0, ask again next time */
	}
}

void fs_attr_fill(struct fs *fs, struct node *n, struct stat *st, double *timeout)
{
	struct wiki_repo_info ri;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->start;
	st->st_blksize = 4096;
	*timeout = fs->attr_timeout;
	switch (n->type) {
	case NODE_REPO:
		wiki_repo_info(fs->wiki, n->repo, &ri);
		if (ri.commit_time > 0)
			set_times(st, ri.commit_time);
		else
			*timeout = 0; /* not cloned yet: its time comes with its commit */
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case NODE_ROOT:
	case NODE_CTLDIR:
	case NODE_OWNER:
	case NODE_VERSION:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case NODE_CTL:
		st->st_mode = S_IFREG | (n->ctl == CTL_CONTROL ? 0200 : 0444);
		st->st_nlink = 1;
		*timeout = 0;
		break;
	case NODE_PAGE:
		fill_page(fs, n, st, timeout);
		break;
	}
}
