/* SPDX-License-Identifier: MIT */
/*
 * Extended attributes: what wikifs knows of a page or a repository,
 * readable by name and listed, so getfattr -d shows them. A page has
 * user.wikifs.state, .error (while it has one), .commit, .backend, and
 * .sources and .citations once its generation recorded them (.sources:
 * the manifest's dependencies when there is one); a version
 * directory (REPO@REF) .commit and .ref; a
 * repository directory .state, .commit and .ref once cloned, and .error
 * when its clone failed. Nothing here generates or clones: the values are
 * the wiki's state at the call.
 *
 * ls -l asks every file for its ACLs and security label: those probes are
 * answered from the name alone, before any node or wiki lock is touched
 * (security.* and trusted.* with EOPNOTSUPP, which the kernel and ls
 * remember per file system; system.* and the rest with ENODATA).
 */
#include "fs.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define XATTR_PREFIX "user.wikifs."

/* A node's attributes and the information their values point into. */
struct xattrs {
	union {
		struct wiki_page_info page;
		struct wiki_repo_info repo;
	} info;
	char *sources, *citations; /* a page's, as its generation recorded them */
	char commit[64], ref[256]; /* a version directory's */
	struct fs_xattr kv[FS_XATTR_MAX];
	size_t n;
};

static void xattrs_done(struct xattrs *x)
{
	free(x->sources);
	free(x->citations);
}

static void add(struct fs_xattr *kv, size_t *n, const char *name, const char *value)
{
	if (value && *value && *n < FS_XATTR_MAX)
		kv[(*n)++] = (struct fs_xattr){ name, value };
}

size_t fs_xattr_repo(const struct wiki_repo_info *ri, struct fs_xattr *kv)
{
	size_t n = 0;

	add(kv, &n, "state", wiki_repo_state_name(ri->state));
	add(kv, &n, "commit", ri->commit);
	if (ri->commit[0])
		add(kv, &n, "ref", ri->ref);
	add(kv, &n, "error", ri->error);
	return n;
}

static size_t page_xattrs(const struct wiki_page_info *pi, struct fs_xattr *kv)
{
	size_t n = 0;

	add(kv, &n, "state", wiki_page_state_name(pi->state));
	add(kv, &n, "error", pi->error);
	add(kv, &n, "commit", pi->commit);
	add(kv, &n, "backend", pi->backend);
	return n;
}

/* The attributes of inode @ino into @x (none for the other nodes). -ENOENT. */
static int node_xattrs(struct fs *fs, fuse_ino_t ino, struct xattrs *x)
{
	struct node *n = fs_node_get(fs, ino);

	x->n = 0;
	x->sources = x->citations = NULL;
	if (!n)
		return -ENOENT;
	if (n->type == NODE_PAGE) {
		wiki_page_info(fs->wiki, n->page, &x->info.page); /* of this inode's commit */
		x->n = page_xattrs(&x->info.page, x->kv);
		/* the manifest's (kind, short id, path), else the generator's report */
		x->sources = wiki_page_sources(fs->wiki, n->page)
				 ?: wiki_page_recorded(fs->wiki, n->page, "sources");
		x->citations = wiki_page_recorded(fs->wiki, n->page, "citations");
		add(x->kv, &x->n, "sources", x->sources);
		add(x->kv, &x->n, "citations", x->citations);
	} else if (n->type == NODE_VERSION) {
		/* copies: the node goes below */
		snprintf(x->commit, sizeof(x->commit), "%s", fs_version_xattr(n, "commit") ?: "");
		snprintf(x->ref, sizeof(x->ref), "%s", fs_version_xattr(n, "ref") ?: "");
		add(x->kv, &x->n, "commit", x->commit);
		add(x->kv, &x->n, "ref", x->ref);
	} else if (n->type == NODE_REPO) {
		wiki_repo_info(fs->wiki, n->repo, &x->info.repo);
		x->n = fs_xattr_repo(&x->info.repo, x->kv);
	}
	fs_node_put(fs, n);
	return 0;
}

/* Replies @len bytes of @val to a getxattr or listxattr of buffer @size. */
static void reply_value(fuse_req_t req, const char *val, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct xattrs x;
	int r;

	if (!strncmp(name, "security.", 9) || !strncmp(name, "trusted.", 8)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX))) {
		fuse_reply_err(req, ENODATA); /* system.posix_acl_*: no ACLs, at no cost */
		return;
	}
	r = node_xattrs(fs, ino, &x);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	name += strlen(XATTR_PREFIX);
	for (size_t i = 0; i < x.n; i++) {
		if (!strcmp(name, x.kv[i].name)) {
			reply_value(req, x.kv[i].value, strlen(x.kv[i].value), size);
			xattrs_done(&x);
			return;
		}
	}
	xattrs_done(&x);
	fuse_reply_err(req, ENODATA);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	char names[FS_XATTR_MAX * 32];
	size_t len = 0;
	struct xattrs x;
	int r = node_xattrs(fs, ino, &x);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	for (size_t i = 0; i < x.n; i++) {
		int w = snprintf(names + len, sizeof(names) - len, XATTR_PREFIX "%s", x.kv[i].name);

		if (w < 0 || (size_t)w >= sizeof(names) - len)
			break;	      /* names are short and few: cannot happen */
		len += (size_t)w + 1; /* keep the NUL: the list is NUL-separated */
	}
	xattrs_done(&x);
	reply_value(req, names, len, size);
}
