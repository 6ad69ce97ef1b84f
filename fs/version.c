/* SPDX-License-Identifier: MIT */
/*
 * Version directories, OWNER/REPO@REF. A lookup of a name with '@' in the
 * root or an owner directory names a version of the repository before the
 * '@' (repository names cannot hold one: core/conf.c). The wiki resolves
 * it in the background (wiki_version_want()); until then the lookup is
 * parked like a repository's first lookup, so no FUSE thread waits on a
 * clone, a fetch or a plan.
 *
 * A version directory node shows one commit: its page nodes are made with
 * it, as its fixed kids, and never change. The directory is kept in
 * fs->versions by name, holding a reference, so later lookups find it.
 * When a branch version resolves to another commit (after a fetch), the
 * next lookup makes a new directory for the name and unlists the old one,
 * which lives on while the kernel knows it: a reader inside it, or with a
 * page of it open, keeps reading the commit it opened. A branch's entry
 * has timeout 0 (its name may move), a tag's or a commit's the mount's
 * entry_timeout. None is ever listed by readdir, so find, ls -R and
 * indexers never wander into every tag.
 *
 * Locking: fs->lock (write) guards fs->versions and the node table; wiki
 * calls are made without it but for wiki_page_unref() after the table
 * changed (the lock order of fs.h).
 */
#include "fs.h"
#include "util.h"

#include <errno.h>
#include <string.h>

/* fs->lock held: the index of the listed version named @name in @dir, or nversions. */
static size_t version_index_locked(struct fs *fs, fuse_ino_t dir, const char *name)
{
	size_t i;

	for (i = 0; i < fs->nversions; i++)
		if (fs->versions[i]->parent == dir && !strcmp(fs->versions[i]->name, name))
			break;
	return i;
}

struct node *fs_version_find_locked(struct fs *fs, fuse_ino_t dir, const char *name)
{
	size_t i = version_index_locked(fs, dir, name);

	return i < fs->nversions ? fs->versions[i] : NULL;
}

/*
 * Splits @name ("REPO@REF") looked up in @dir: the repository's index and
 * the ref (pointing into @name). -ENOENT if @dir has no such repository
 * or the ref is not a name a version may have.
 */
static int version_name(struct fs *fs, fuse_ino_t dir, const char *name, size_t *repo,
			const char **ref)
{
	const char *at = strchr(name, '@');
	_cleanup_free_ char *base = at ? strndup(name, (size_t)(at - name)) : NULL;
	struct node *n = NULL;
	int r;

	if (!at || !base || !*base)
		return -ENOENT;
	r = fs_node_lookup(fs, dir, base, &n);
	if (r == 0 && n->type != NODE_REPO)
		r = -ENOENT;
	if (r == 0)
		*repo = n->repo;
	fs_node_put(fs, n);
	*ref = at + 1;
	return r < 0 ? -ENOENT : wiki_version_ref_valid(*ref) ? 0 : -ENOENT;
}

/* Unlinks version directory @d and its page nodes into @dead. fs->lock held for writing. */
static void version_unmake_locked(struct fs *fs, struct node *d, struct node **dead, size_t *ndead)
{
	for (size_t k = 0; k < d->nkids; k++)
		dead[(*ndead)++] = fs_node_unlink_locked(fs, fs->nodes[d->kids[k]]);
	d->nkids = 0;
	dead[(*ndead)++] = fs_node_unlink_locked(fs, d);
}

/*
 * Makes the directory node of a version and its page nodes (@pages'
 * references taken over). fs->lock held for writing. On failure what was
 * made is unlinked into @dead (at most @n + 1, fs_node_free_unlinked()
 * after unlocking) and NULL returned.
 */
static struct node *version_make_locked(struct fs *fs, fuse_ino_t dir, const char *name,
					size_t repo, const char *ref, struct wiki_page **pages,
					size_t n, struct node **dead, size_t *ndead)
{
	struct node *d = fs_node_add_locked(fs, NODE_VERSION, dir, name);
	size_t i = 0;

	if (!d || !(d->ref = strdup(ref)))
		goto out_unmake;
	d->repo = repo;
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *file = NULL;
		const char *slug = wiki_page_slug(pages[i]);
		struct node *p = NULL;

		if (asprintf(&file, "%s.md", slug) < 0 ||
		    !(p = fs_node_add_locked(fs, NODE_PAGE, d->ino, file)))
			goto out_unmake;
		p->repo = repo;
		p->page = pages[i];
		p->shown = true;
		p->refs = 1; /* the directory's, dropped when it is freed */
		if (!(p->slug = strdup(slug)) || fs_node_kid_add(d, p->ino) < 0) {
			dead[(*ndead)++] = fs_node_unlink_locked(fs, p);
			i++; /* its page goes with it */
			goto out_unmake;
		}
	}
	return d;

out_unmake:
	for (size_t k = i; k < n; k++)
		wiki_page_unref(fs->wiki, pages[k]); /* lock order: fs->lock, then the wiki's */
	if (d)
		version_unmake_locked(fs, d, dead, ndead);
	return NULL;
}

/* Lists @d under its name, unlisting (into *@old, its list reference kept) the one it replaces. */
static int version_list_locked(struct fs *fs, struct node *d, struct node **old)
{
	size_t i = version_index_locked(fs, d->parent, d->name);

	*old = i < fs->nversions ? fs->versions[i] : NULL;
	if (!*old && fs->nversions == fs->capversions) {
		size_t cap = fs->capversions ? fs->capversions * 2 : 16;
		struct node **v = realloc(fs->versions, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fs->versions = v;
		fs->capversions = cap;
	}
	if (!*old)
		fs->nversions++;
	fs->versions[i] = d;
	return 0;
}

/*
 * The directory node of version @ref of @repo as the wiki has it now, with
 * a reference: the listed one if it shows that commit, else a new one.
 */
static int version_node(struct fs *fs, fuse_ino_t dir, const char *name, size_t repo,
			const char *ref, struct node **ret)
{
	struct wiki_page *pages[PLAN_MAX_PAGES];
	struct node *dead[PLAN_MAX_PAGES + 1], *d, *old = NULL;
	struct plan *plan = NULL;
	size_t ndead = 0;
	bool moves = false;
	int n = wiki_version_pages(fs->wiki, repo, ref, &plan, pages, &moves);

	if (n < 0)
		return n;
	pthread_rwlock_wrlock(&fs->lock);
	d = fs_version_find_locked(fs, dir, name);
	if (d && !strcmp(d->plan->commit, plan->commit)) {
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_SEQ_CST);
		pthread_rwlock_unlock(&fs->lock);
		for (int i = 0; i < n; i++)
			wiki_page_unref(fs->wiki, pages[i]);
		plan_unref(plan);
		*ret = d;
		return 0;
	}
	d = version_make_locked(fs, dir, name, repo, ref, pages, (size_t)n, dead, &ndead);
	if (d && version_list_locked(fs, d, &old) < 0) {
		version_unmake_locked(fs, d, dead, &ndead);
		d = NULL;
	}
	if (d) {
		d->plan = TAKE_PTR(plan);
		d->shown = !moves; /* a tag's or a commit's name never moves */
		d->refs = 2;	   /* the list's and the caller's */
	}
	pthread_rwlock_unlock(&fs->lock);
	for (size_t i = 0; i < ndead; i++)
		fs_node_free_unlinked(fs, dead[i]);
	plan_unref(plan);
	fs_node_put(fs, old); /* the list's reference: it lives on while the kernel knows it */
	*ret = d;
	return d ? 0 : -ENOMEM;
}

/* The errno a lookup of a version hears: an unknown ref is ENOENT, the clone's failures their own. */
static int version_errno(int err)
{
	return err == -EAGAIN ? ENOENT : err < 0 ? -err : EIO;
}

/* Answers a lookup of version @ref of @repo, which the wiki has ready. */
static void version_reply(fuse_req_t req, struct fs *fs, fuse_ino_t dir, const char *name,
			  size_t repo, const char *ref)
{
	struct node *d;
	int r = version_node(fs, dir, name, repo, ref, &d);

	if (r < 0) {
		fuse_reply_err(req, version_errno(r));
		return;
	}
	fs_reply_entry(req, fs, d);
	fs_node_put(fs, d);
}

void fs_version_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t dir, const char *name)
{
	const char *ref;
	struct parked *p;
	size_t repo;
	int r = version_name(fs, dir, name, &repo, &ref);

	if (r == 0)
		r = wiki_version_want(fs->wiki, repo, ref, NULL);
	if (r == 0) {
		version_reply(req, fs, dir, name, repo, ref);
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, version_errno(r));
		return;
	}
	p = park_request(fs->park, req, PARK_VERSION, dir);
	if (!p || !(p->name = strdup(name))) {
		if (p)
			park_abandon(p);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = wiki_version_want(fs->wiki, repo, ref, &p->w);
	if (r == 1)
		return; /* parked: fs_version_answer() replies */
	park_abandon(p);
	if (r == 0)
		version_reply(req, fs, dir, name, repo, ref);
	else
		fuse_reply_err(req, version_errno(r));
}

void fs_version_answer(struct fs *fs, struct parked *p, int err)
{
	const char *ref;
	size_t repo;

	if (err == 0)
		err = version_name(fs, p->ino, p->name, &repo, &ref);
	if (err == 0)
		version_reply(p->req, fs, p->ino, p->name, repo, ref);
	else
		fuse_reply_err(p->req, version_errno(err));
}

const char *fs_version_xattr(const struct node *n, const char *name)
{
	if (!strcmp(name, "commit"))
		return n->plan->commit;
	if (!strcmp(name, "ref"))
		return n->ref;
	return NULL;
}

int fs_version_prefetch(struct fs *fs, const struct node *d, const char *slug, struct wf_err *err)
{
	return wiki_version_prefetch(fs->wiki, d->repo, d->ref, slug, err);
}

int fs_version_cancel(struct fs *fs, const struct node *d, const char *slug, struct wf_err *err)
{
	return wiki_version_cancel(fs->wiki, d->repo, d->ref, slug, err);
}

/*
 * The wiki dropped version @ref of @repo: unlist its directories, and ask
 * the kernel to forget their names so that the nodes (and the pages they
 * hold) go once nothing uses them. On a wiki thread, outside any request.
 */
void fs_version_dropped(void *ctx, size_t repo, const char *ref)
{
	struct fs *fs = ctx;
	struct node *gone[16];
	size_t n;

	do {
		n = 0;
		pthread_rwlock_wrlock(&fs->lock);
		for (size_t i = 0; i < fs->nversions && n < ARRAY_SIZE(gone);) {
			struct node *d = fs->versions[i];

			if (d->repo != repo || strcmp(d->ref, ref)) {
				i++;
				continue;
			}
			gone[n++] = d;
			fs->versions[i] = fs->versions[--fs->nversions];
		}
		pthread_rwlock_unlock(&fs->lock);
		for (size_t i = 0; i < n; i++) {
			if (fs->se)
				fuse_lowlevel_notify_inval_entry(
				    fs->se, gone[i]->parent, gone[i]->name, strlen(gone[i]->name));
			fs_node_put(fs, gone[i]); /* the list's reference */
		}
	} while (n == ARRAY_SIZE(gone));
}
