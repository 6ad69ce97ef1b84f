/* SPDX-License-Identifier: MIT */
/*
 * FUSE low-level operations. The rules of DESIGN.md "The one hard problem":
 *
 *   - lookup, getattr (attr.c), readdir and the xattr calls (xattr.c) never
 *     generate; a page
 *     that is not ready has size 0 and attribute timeout 0, a ready one its
 *     real size and long timeouts;
 *   - a repository directory that is not cloned and planned yet parks the
 *     lookup or opendir (park.c); open of a page that is not ready parks
 *     the open on the page's job; no FUSE thread ever waits;
 *   - ready pages are served from the page-cache file with keep_cache, so
 *     later reads come from the kernel page cache; control files are
 *     direct_io snapshots taken at open;
 *   - a page inode is one page at one commit (node.c): a refresh makes new
 *     inodes and never touches the old ones' size or cached data, so an
 *     open file reads its commit to its end, by read() and by mmap.
 */
#include "fs.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/*
 * Every open handle starts with a head on one list (fs->handles), so that
 * handles the kernel never released (the session ended first) are freed at
 * exit.
 */
enum fh_kind { FH_PAGE, FH_CTL, FH_DIR };

struct fh_head {
	struct fh_head *prev, *next; /* protected by fs->handles_lock */
	enum fh_kind kind;
	unsigned long done; /* reads over (release); RELEASE acquires it: the kernel's order */
};

struct fh_page {
	struct fh_head head;
	struct wiki_open o;
	struct node *node; /* a reference, and one of its open handles */
};

struct fh_ctl {
	struct fh_head head;
	enum ctl_kind kind;
	struct buf text;
};

struct fh_dir {
	struct fh_head head;
	size_t n;
	struct node **nodes; /* the entries at opendir, with a reference each */
	fuse_ino_t self, parent;
};

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fh_track(struct fs *fs, struct fh_head *h, enum fh_kind kind)
{
	h->kind = kind;
	pthread_mutex_lock(&fs->handles_lock);
	h->prev = NULL;
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

static void fh_untrack(struct fs *fs, struct fh_head *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
}

/* Frees a handle of any kind; it must be untracked already. */
static void fh_free(struct fs *fs, struct fh_head *h)
{
	switch (h->kind) {
	case FH_PAGE:
		wiki_page_close(fs->wiki, &((struct fh_page *)h)->o);
		fs_page_closed(fs, ((struct fh_page *)h)->node);
		break;
	case FH_CTL:
		buf_done(&((struct fh_ctl *)h)->text);
		break;
	case FH_DIR: {
		struct fh_dir *d = (struct fh_dir *)h;

		for (size_t i = 0; i < d->n; i++)
			fs_node_put(fs, d->nodes[i]);
		free(d->nodes);
		break;
	}
	}
	free(h);
}

void fs_handles_free(struct fs *fs)
{
	pthread_mutex_lock(&fs->handles_lock);
	while (fs->handles) {
		struct fh_head *h = fs->handles;

		fs->handles = h->next;
		fh_free(fs, h);
	}
	pthread_mutex_unlock(&fs->handles_lock);
	fs_nodes_drop_pages(fs);
}

/* Fills @e for @n, which the kernel then knows (a lookup it will forget). */
static void entry_fill(struct fs *fs, struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->generation = n->generation;
	fs_attr_fill(fs, n, &e->attr, &e->attr_timeout);
	fs_node_learn(fs, n);
	/* unlisted by a refresh that raced this lookup: the kernel must ask again */
	e->entry_timeout = fs_node_shown(n) ? fs->entry_timeout : 0;
}

void fs_reply_entry(fuse_req_t req, struct fs *fs, struct node *n)
{
	struct fuse_entry_param e;

	entry_fill(fs, n, &e);
	if (fuse_reply_entry(req, &e) != 0)
		fs_node_forget(fs, n->ino, 1); /* the kernel did not take it */
}

/* Shows the repository's current plan, if it has one; -EAGAIN if not ready. */
static int repo_refresh_view(struct fs *fs, size_t repo)
{
	int r = fs_repo_show(fs, repo);

	return r == -ENOMEM ? 0 : r; /* the old view still answers */
}

/*
 * The errno a request hears when the wiki refuses it, chosen here and
 * nowhere else in fs/. For a repository directory (lookup in it, opendir)
 * that could not be cloned or planned, ENOENT would read as "the directory
 * does not exist" although ls shows it, so a missing repository or ref
 * becomes ENXIO ("no such device or address"); timeouts, refused
 * connections and auth failures keep theirs. Opening a page keeps the
 * causes a reader can act on (budget, interrupted, gone, queue full, disk
 * full, unmounting) and says EIO for the rest. The full cause is in
 * .wikifs/errors and the log.
 */
static int reply_errno(enum park_kind kind, int err)
{
	if (kind != PARK_OPEN)
		return err == -ENOENT ? ENXIO : err < 0 ? -err : EIO;
	switch (err) {
	case -EDQUOT:
	case -EINTR:
	case -ENOENT:
	case -EAGAIN:
	case -ENOSPC:
	case -ESHUTDOWN:
		return -err;
	default:
		return EIO;
	}
}

/* ---- lookup ---- */

static void do_lookup_now(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name)
{
	struct node *n;
	int r = fs_node_lookup(fs, parent, name, &n);

	if (r < 0) {
		if (r == -ENOENT) {
			/* negative entries of fixed directories are stable */
			struct fuse_entry_param e = { .ino = 0,
						      .entry_timeout = fs->entry_timeout };

			fuse_reply_entry(req, &e);
			return;
		}
		fuse_reply_err(req, -r);
		return;
	}
	fs_reply_entry(req, fs, n);
	fs_node_put(fs, n);
}

static void reply_opendir(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi);

/* Answers a lookup in, or an opendir of, a repository directory that is ready. */
static void repo_proceed(fuse_req_t req, struct fs *fs, enum park_kind kind, fuse_ino_t ino,
			 const char *name, struct fuse_file_info *fi)
{
	if (kind == PARK_LOOKUP)
		do_lookup_now(req, fs, ino, name);
	else
		reply_opendir(req, fs, ino, fi);
}

/*
 * A lookup in (@name) or an opendir of (@fi) repository directory @dir:
 * answered at once if the repository is cloned and planned, else parked until
 * it is. The FUSE thread never waits.
 */
static void repo_request(fuse_req_t req, struct fs *fs, const struct node *dir, enum park_kind kind,
			 const char *name, struct fuse_file_info *fi)
{
	struct parked *p;
	int r = wiki_repo_want(fs->wiki, dir->repo, NULL);

	if (r == 0 && repo_refresh_view(fs, dir->repo) == 0) {
		repo_proceed(req, fs, kind, dir->ino, name, fi);
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, reply_errno(kind, r));
		return;
	}
	p = park_request(fs->park, req, kind, dir->ino);
	if (!p || (name && !(p->name = strdup(name)))) {
		if (p)
			park_abandon(p);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fi)
		p->fi = *fi;
	r = wiki_repo_want(fs->wiki, dir->repo, &p->w);
	if (r == 1)
		return; /* parked: fs_answer() replies */
	park_abandon(p);
	if (r == 0 && repo_refresh_view(fs, dir->repo) == 0)
		repo_proceed(req, fs, kind, dir->ino, name, fi);
	else
		fuse_reply_err(req, reply_errno(kind, r));
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct node *dir = fs_node_get(fs, parent);

	if (!dir)
		fuse_reply_err(req, ENOENT);
	else if ((dir->type == NODE_ROOT || dir->type == NODE_OWNER) && strchr(name, '@'))
		fs_version_lookup(req, fs, parent, name); /* REPO@REF */
	else if (dir->type != NODE_REPO)
		do_lookup_now(req, fs, parent, name);
	else
		repo_request(req, fs, dir, PARK_LOOKUP, name, NULL);
	fs_node_put(fs, dir);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_node_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		fs_node_forget(req_fs(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n = fs_node_get(fs, ino);
	struct stat st;
	double timeout;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fs_attr_fill(fs, n, &st, &timeout);
	fs_node_put(fs, n);
	fuse_reply_attr(req, &st, timeout);
	(void)fi;
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n = fs_node_get(fs, ino);
	bool control = n && n->type == NODE_CTL && n->ctl == CTL_CONTROL;

	fs_node_put(fs, n);
	/* "echo cmd > control" truncates first: accept that, refuse the rest */
	if (control &&
	    !(to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW |
			 FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_CTIME))) {
		fs_getattr(req, ino, fi);
		return;
	}
	fuse_reply_err(req, EROFS);
	(void)attr;
}

/* ---- directories ---- */

static struct fh_dir *dir_snapshot(struct fs *fs, fuse_ino_t ino)
{
	struct fh_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (fs_dir_entries(fs, ino, &d->nodes, &d->n, &d->parent) < 0) {
		free(d);
		return NULL;
	}
	d->self = ino;
	return d;
}

static void reply_opendir(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh_dir *d = dir_snapshot(fs, ino);

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fh_track(fs, &d->head, FH_DIR);
	if (fuse_reply_open(req, fi) != 0) {
		fh_untrack(fs, &d->head);
		fh_free(fs, &d->head);
	}
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n = fs_node_get(fs, ino);

	if (!n)
		fuse_reply_err(req, ENOENT);
	else if (n->type == NODE_CTL || n->type == NODE_PAGE)
		fuse_reply_err(req, ENOTDIR);
	else if (n->type != NODE_REPO)
		reply_opendir(req, fs, ino, fi);
	else
		repo_request(req, fs, n, PARK_OPENDIR, NULL, fi);
	fs_node_put(fs, n);
}

static bool is_file(const struct node *n)
{
	return n && (n->type == NODE_PAGE || n->type == NODE_CTL);
}

/* One readdirplus entry: the kernel learns the listed nodes (not . and ..). */
static size_t add_plus(fuse_req_t req, struct fs *fs, char *buf, size_t room, const char *name,
		       fuse_ino_t ino, struct node *n, off_t next, bool *learnt)
{
	struct fuse_entry_param e;
	size_t w;

	*learnt = false;
	if (n && fs_node_shown(n)) {
		entry_fill(fs, n, &e);
		*learnt = true;
	} else {
		/* no entry for ., .. or an unlisted old page: just its name */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = ino;
		e.attr.st_mode = is_file(n) ? S_IFREG : S_IFDIR;
	}
	w = fuse_add_direntry_plus(req, buf, room, name, &e, next);
	if (*learnt && w > room) {
		fs_node_forget(fs, n->ino, 1); /* did not fit: not sent */
		*learnt = false;
	}
	return w;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = req_fs(req);
	struct fh_dir *d = (struct fh_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	struct node **learnt = plus ? calloc(MAX(d->n, 1), sizeof(*learnt)) : NULL;
	size_t used = 0, nlearnt = 0;

	if (!buf || (plus && !learnt)) {
		free(buf);
		free(learnt);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off; (size_t)i < d->n + 2; i++) {
		struct node *n = i >= 2 ? d->nodes[i - 2] : NULL;
		const char *name = i == 0 ? "." : i == 1 ? ".." : n->name;
		fuse_ino_t kid = i == 0 ? d->self : i == 1 ? d->parent : n->ino;
		size_t w;

		if (plus) {
			bool l;

			w = add_plus(req, fs, buf + used, size - used, name, kid, n, i + 1, &l);
			if (l)
				learnt[nlearnt++] = n;
		} else {
			struct stat st = { .st_ino = kid,
					   .st_mode = is_file(n) ? S_IFREG : S_IFDIR };

			w = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		}
		if (w > size - used)
			break;
		used += w;
	}
	if (fuse_reply_buf(req, buf, used) != 0)
		for (size_t k = 0; k < nlearnt; k++)
			fs_node_forget(fs, learnt[k]->ino, 1);
	free(buf);
	free(learnt);
	(void)ino;
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

/* ---- files ---- */

static void reply_open_page(fuse_req_t req, struct fs *fs, struct node *n,
			    struct fuse_file_info *fi, struct wiki_open *o)
{
	struct fh_page *h = malloc(sizeof(*h));

	if (!h || !fs_page_opened(fs, n, o->size)) {
		/* no memory, or a regeneration retired @n: the kernel looks the name up again */
		wiki_page_close(fs->wiki, o);
		fuse_reply_err(req, h ? ESTALE : ENOMEM);
		free(h);
		return;
	}
	h->o = *o;
	h->node = n;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 1;
	fi->noflush = 1;
	fh_track(fs, &h->head, FH_PAGE);
	if (fuse_reply_open(req, fi) != 0) {
		fh_untrack(fs, &h->head);
		fh_free(fs, &h->head);
	}
}

static void open_ctl(fuse_req_t req, struct fs *fs, const struct node *n, struct fuse_file_info *fi)
{
	struct fh_ctl *h;
	int acc = fi->flags & O_ACCMODE;

	if (n->ctl == CTL_CONTROL ? acc == O_RDONLY : acc != O_RDONLY) {
		fuse_reply_err(req, n->ctl == CTL_CONTROL ? EACCES : EROFS);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->kind = n->ctl;
	buf_init(&h->text, 16 << 20);
	if (n->ctl != CTL_CONTROL) {
		int r = fs_ctl_render(fs, n, &h->text);

		if (r < 0) {
			buf_done(&h->text);
			free(h);
			fuse_reply_err(req, -r);
			return;
		}
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->nonseekable = 0;
	fh_track(fs, &h->head, FH_CTL);
	if (fuse_reply_open(req, fi) != 0) {
		fh_untrack(fs, &h->head);
		fh_free(fs, &h->head);
	}
}

/* Opens page @n at its own commit: at once if generated, else parked on its job. */
static void open_page(fuse_req_t req, struct fs *fs, struct node *n, struct fuse_file_info *fi)
{
	struct wiki_open o = { .fd = -1 };
	struct parked *p;
	int r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = wiki_page_want(fs->wiki, n->page, GEN_PRIO_INTERACTIVE, NULL, &o);
	if (r == 0) {
		reply_open_page(req, fs, n, fi, &o);
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, reply_errno(PARK_OPEN, r));
		return;
	}
	/* r == 1: a job exists now (queued above, with no waiter); park on it */
	p = park_request(fs->park, req, PARK_OPEN, n->ino);
	if (!p) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p->fi = *fi;
	r = wiki_page_want(fs->wiki, n->page, GEN_PRIO_INTERACTIVE, &p->w, &o);
	if (r == 1)
		return;
	park_abandon(p);
	if (r == 0)
		reply_open_page(req, fs, n, fi, &o);
	else
		fuse_reply_err(req, reply_errno(PARK_OPEN, r));
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n = fs_node_get(fs, ino);

	if (!n)
		fuse_reply_err(req, ENOENT);
	else if (n->type == NODE_CTL)
		open_ctl(req, fs, n, fi);
	else if (n->type != NODE_PAGE)
		fuse_reply_err(req, EISDIR);
	else
		open_page(req, fs, n, fi);
	fs_node_put(fs, n);
}

/*
 * A parked request's wait is over. The kernel holds the inode of a request
 * it waits for, so p->ino is still the node the request was about.
 */
void fs_answer(void *ctx, struct parked *p, int err)
{
	struct fs *fs = ctx;
	struct node *n = fs_node_get(fs, p->ino);
	struct wiki_open o = { .fd = -1 };

	if (!n) {
		fuse_reply_err(p->req, ENOENT);
		return;
	}
	switch (p->kind) {
	case PARK_LOOKUP:
	case PARK_OPENDIR:
		if (err == 0 && repo_refresh_view(fs, n->repo) == 0)
			repo_proceed(p->req, fs, p->kind, p->ino, p->name, &p->fi);
		else
			fuse_reply_err(p->req, reply_errno(p->kind, err ? err : -EIO));
		break;
	case PARK_OPEN:
		if (err == 0)
			err = wiki_page_open(fs->wiki, n->page, &o);
		if (err == 0)
			reply_open_page(p->req, fs, n, &p->fi, &o);
		else
			fuse_reply_err(p->req, reply_errno(PARK_OPEN, err));
		break;
	case PARK_VERSION:
		fs_version_answer(fs, p, err);
		break;
	}
	fs_node_put(fs, n);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	const struct fh_head *fh = (const struct fh_head *)(uintptr_t)fi->fh;

	(void)ino;
	if (fh->kind == FH_CTL) {
		struct fh_ctl *h = (struct fh_ctl *)(uintptr_t)fi->fh;
		size_t len = (size_t)off >= h->text.len ? 0 : MIN(size, h->text.len - (size_t)off);
		char *copy;

		/*
		 * Reply from a copy: once the reply is written the reader may close
		 * the file and RELEASE (another thread) frees h, while writev's
		 * caller can still look at its iovec (ASan does, after the call).
		 */
		copy = len ? malloc(len) : NULL;
		if (len && !copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (len)
			memcpy(copy, h->text.data + off, len);
		fuse_reply_buf(req, copy, len);
		free(copy);
		return;
	}
	struct fh_page *h = (struct fh_page *)(uintptr_t)fi->fh;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	if ((uint64_t)off >= h->o.size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	bv.buf[0].size = (size_t)MIN((uint64_t)size, h->o.size - (uint64_t)off);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = h->o.fd;
	bv.buf[0].pos = (off_t)h->o.offset + off;
	__atomic_fetch_add(&h->head.done, 1, __ATOMIC_RELEASE); /* h is freed after the reply */
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n = fs_node_get(fs, ino);
	bool control = n && n->type == NODE_CTL && n->ctl == CTL_CONTROL;
	int r;

	fs_node_put(fs, n);
	if (!control) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fs_ctl_write(fs, data, size);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
	(void)off, (void)fi;
}

/* release and releasedir: every handle kind frees itself the same way. */
static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh_head *h = (struct fh_head *)(uintptr_t)fi->fh;

	if (h) {
		(void)__atomic_load_n(&h->done, __ATOMIC_ACQUIRE); /* after every read */
		fh_untrack(req_fs(req), h);
		fh_free(req_fs(req), h);
	}
	fuse_reply_err(req, 0); /* ino: unused */
}

/* ---- extended attributes: read in xattr.c, never written ---- */

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
	(void)ino, (void)name;
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_namemax = 255,
		.f_flag = ST_NOSUID | ST_NODEV,
	};

	fuse_reply_statfs(req, &st);
	(void)ino;
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: one round trip */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	(void)userdata;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_release,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
	.mknod = fs_ro_mknod,
	.mkdir = fs_ro_mkdir,
	.unlink = fs_ro_unlink,
	.rmdir = fs_ro_unlink,
	.rename = fs_ro_rename,
	.symlink = fs_ro_symlink,
	.link = fs_ro_link,
	.create = fs_ro_create,
	.statfs = fs_statfs,
};
