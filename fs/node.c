/* SPDX-License-Identifier: MIT */
/*
 * The node table. Inode numbers index an array of nodes: the root, the
 * control directory and its files, the owner and repository directories
 * (all fixed at mount from the config, never freed), and page nodes.
 *
 * A page node shows one page of one plan. When a refresh brings a new plan
 * (a new commit) the repository gets new page nodes and the old ones are
 * unlisted, not changed: a file opened at the old commit keeps its inode,
 * so its size, its kernel page cache (keep_cache) and its mappings stay
 * those of the old commit. The kernel is told the old names are gone with
 * fuse_lowlevel_notify_delete(), which drops their dentries and sets their
 * link count to 0, so it evicts each old inode once nothing has it open and
 * sends FORGET. An old page node is freed when it is unlisted, the kernel
 * has forgotten it (nlookup 0) and no caller holds it (refs 0); its inode
 * number is then reused with a new generation.
 *
 * Locking: fs->lock (rwlock) protects the array, the free list and every
 * fs_repo. A node's counters are atomics: they go up under the read lock or
 * while holding a reference, and a node is freed only under the write lock
 * after both are seen at zero, so nothing can take it back meanwhile. Being
 * listed counts as a reference, so the usual get and put of a listed page
 * never reaches zero and takes no write lock. Lock order: fs->lock, then
 * the wiki's lock (wiki_page_* calls).
 */
#include "fs.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const char *const ctl_names[CTL_MAX] = {
	[CTL_PROGRESS] = "progress", [CTL_PROGRESS_JSON] = "progress.json",
	[CTL_CONTROL] = "control",   [CTL_ERRORS] = "errors",
	[CTL_METRICS] = "metrics",
};

static uint64_t atomic_get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

/* Reapable nodes: those the kernel forgets, as opposed to those fixed at mount. */
static bool node_transient(const struct node *n)
{
	return n->type == NODE_PAGE || n->type == NODE_VERSION;
}

bool fs_node_shown(const struct node *n)
{
	return !node_transient(n) || __atomic_load_n(&n->shown, __ATOMIC_SEQ_CST);
}

bool fs_page_frozen(const struct node *n)
{
	return __atomic_load_n(&n->frozen, __ATOMIC_SEQ_CST);
}

/*
 * A page node's size is the first the kernel hears (getattr, lookup or
 * open) till a regeneration: that retires the node if open, else makes it
 * forget the size (fs_page_ready()). So a getattr racing a regeneration,
 * between the new bytes' commit and page_ready, answers the old version's.
 */
int fs_page_size(struct fs *fs, struct node *n, uint64_t *size)
{
	uint64_t told = atomic_get(&n->told);
	int r;

	if (told) {
		*size = told - 1;
		return 0;
	}
	r = wiki_page_size(fs->wiki, n->page, size);
	if (r == 0 && !__atomic_compare_exchange_n(&n->told, &told, *size + 1, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		*size = told - 1; /* another thread told one first */
	return r;
}

/* fs->lock held (either mode): the check fs_page_ready() cannot interleave with. */
static bool page_open_locked(struct node *n, uint64_t size)
{
	uint64_t told = 0;

	if (fs_page_frozen(n) ||
	    (!__atomic_compare_exchange_n(&n->told, &told, size + 1, false, __ATOMIC_SEQ_CST,
					  __ATOMIC_SEQ_CST) &&
	     told != size + 1))
		return false;
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_SEQ_CST); /* the handle's */
	__atomic_add_fetch(&n->opens, 1, __ATOMIC_SEQ_CST);
	return true;
}

bool fs_page_opened(struct fs *fs, struct node *n, uint64_t size)
{
	bool ok;

	for (int pass = 0; pass < 2; pass++) {
		pthread_rwlock_rdlock(&fs->lock);
		ok = page_open_locked(n, size);
		pthread_rwlock_unlock(&fs->lock);
		if (ok || fs_page_frozen(n))
			return ok;
		/* regenerated, page_ready not heard yet: hear it now, then look again */
		fs_page_ready(fs, n->repo, n->page);
	}
	return false;
}

void fs_page_closed(struct fs *fs, struct node *n)
{
	__atomic_sub_fetch(&n->opens, 1, __ATOMIC_SEQ_CST);
	fs_node_put(fs, n);
}

/* fs->lock held for writing (or during init). Reuses a free inode number. */
static struct node *node_add(struct fs *fs, enum node_type type, fuse_ino_t parent,
			     const char *name)
{
	struct node *n;

	if (!fs->nfree && fs->nnodes == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		struct node **nv = realloc(fs->nodes, cap * sizeof(*nv));
		fuse_ino_t *fv = realloc(fs->free_inos, cap * sizeof(*fv));

		if (nv)
			fs->nodes = nv;
		if (fv)
			fs->free_inos = fv;
		if (!nv || !fv)
			return NULL;
		fs->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ino = fs->nfree ? fs->free_inos[--fs->nfree] : fs->nnodes++;
	n->generation = ++fs->generation;
	n->type = type;
	n->parent = parent;
	fs->nodes[n->ino] = n;
	return n;
}

/* A version directory's page nodes, with the listing reference it held on each. */
static void version_kids_put(struct fs *fs, struct node *d)
{
	_cleanup_free_ struct node **kids = calloc(MAX(d->nkids, 1), sizeof(*kids));

	if (!kids)
		return; /* the page nodes stay till exit: a leak, never a crash */
	pthread_rwlock_rdlock(&fs->lock);
	for (size_t i = 0; i < d->nkids; i++)
		kids[i] = fs->nodes[d->kids[i]];
	pthread_rwlock_unlock(&fs->lock);
	for (size_t i = 0; i < d->nkids; i++)
		fs_node_put(fs, kids[i]);
}

/* Frees a node taken out of the table; no lock held (it unrefs the wiki page). */
static void node_free(struct fs *fs, struct node *n)
{
	if (!n)
		return;
	if (n->type == NODE_VERSION)
		version_kids_put(fs, n);
	wiki_page_unref(fs->wiki, n->page);
	plan_unref(n->plan);
	free(n->ref);
	free(n->name);
	free(n->slug);
	free(n->kids);
	free(n);
}

/* Takes @n out of the table; its number is free again. fs->lock held for writing. */
static struct node *node_unlink_locked(struct fs *fs, struct node *n)
{
	fs->nodes[n->ino] = NULL;
	fs->free_inos[fs->nfree++] = n->ino;
	return n;
}

/*
 * Takes @n out of the table if nothing uses it any more: an unlisted page
 * node the kernel forgot and no caller holds. fs->lock held for writing.
 * Returns it for node_free() after unlocking, or NULL.
 */
static struct node *node_reap_locked(struct fs *fs, struct node *n)
{
	if (!node_transient(n) || atomic_get(&n->refs) || atomic_get(&n->nlookup))
		return NULL;
	return node_unlink_locked(fs, n);
}

static int kid_add(struct node *dir, fuse_ino_t kid)
{
	fuse_ino_t *k = realloc(dir->kids, (dir->nkids + 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	dir->kids = k;
	dir->kids[dir->nkids++] = kid;
	return 0;
}

static struct node *kid_find(struct fs *fs, const struct node *dir, const char *name)
{
	for (size_t i = 0; i < dir->nkids; i++)
		if (!strcmp(fs->nodes[dir->kids[i]]->name, name))
			return fs->nodes[dir->kids[i]];
	return NULL;
}

/* The directories of the configured repositories (owner/repo or repo). */
static int repos_init(struct fs *fs)
{
	const struct conf *c = fs->conf;

	for (size_t i = 0; i < c->n_repos; i++) {
		const char *name = c->repos[i].name, *slash = strchr(name, '/');
		struct node *dir = fs->nodes[ROOT_INO], *n;

		if (slash) {
			_cleanup_free_ char *owner = strndup(name, (size_t)(slash - name));

			if (!owner)
				return -ENOMEM;
			n = kid_find(fs, dir, owner);
			if (!n) {
				n = node_add(fs, NODE_OWNER, ROOT_INO, owner);
				if (!n || kid_add(fs->nodes[ROOT_INO], n->ino) < 0)
					return -ENOMEM;
			}
			dir = n;
			name = slash + 1;
		}
		n = node_add(fs, NODE_REPO, dir->ino, name);
		if (!n || kid_add(dir, n->ino) < 0)
			return -ENOMEM;
		n->repo = i;
		fs->repos[i].ino = n->ino;
		/* its .versions file: reached by name, not listed */
		n = node_add(fs, NODE_CTL, n->ino, VERSIONS_FILE);
		if (!n)
			return -ENOMEM;
		n->ctl = CTL_VERSIONS;
		n->repo = i;
		fs->repos[i].versions_ino = n->ino;
	}
	return 0;
}

int fs_nodes_init(struct fs *fs)
{
	const struct conf *c = fs->conf;
	struct node *root, *ctl;

	pthread_rwlock_init(&fs->lock, NULL);
	fs->repos = calloc(MAX(c->n_repos, 1), sizeof(*fs->repos));
	if (!fs->repos)
		return -ENOMEM;
	/* inode 0 is invalid in FUSE: keep a placeholder */
	if (!node_add(fs, NODE_ROOT, 0, "") || !(root = node_add(fs, NODE_ROOT, ROOT_INO, "")))
		return -ENOMEM;
	ctl = node_add(fs, NODE_CTLDIR, ROOT_INO, CTLDIR_NAME);
	if (!ctl || kid_add(root, ctl->ino) < 0)
		return -ENOMEM;
	for (int i = 0; i < CTL_MAX; i++) {
		struct node *n = node_add(fs, NODE_CTL, ctl->ino, ctl_names[i]);

		if (!n || kid_add(ctl, n->ino) < 0)
			return -ENOMEM;
		n->ctl = (enum ctl_kind)i;
	}
	return repos_init(fs);
}

void fs_nodes_drop_pages(struct fs *fs)
{
	pthread_rwlock_wrlock(&fs->lock);
	for (size_t i = 0; i < fs->nnodes; i++) {
		struct node *n = fs->nodes[i];

		if (n && n->page) {
			wiki_page_unref(fs->wiki, n->page);
			n->page = NULL;
		}
	}
	pthread_rwlock_unlock(&fs->lock);
}

void fs_nodes_done(struct fs *fs)
{
	for (size_t i = 0; i < fs->nnodes; i++) {
		if (!fs->nodes[i])
			continue;
		plan_unref(fs->nodes[i]->plan);
		free(fs->nodes[i]->ref);
		free(fs->nodes[i]->name);
		free(fs->nodes[i]->slug);
		free(fs->nodes[i]->kids);
		free(fs->nodes[i]);
	}
	free(fs->nodes);
	free(fs->free_inos);
	for (size_t i = 0; fs->repos && i < fs->conf->n_repos; i++) {
		plan_unref(fs->repos[i].plan);
		free(fs->repos[i].pages);
		free(fs->repos[i].retired);
	}
	free(fs->repos);
	free(fs->versions);
	pthread_rwlock_destroy(&fs->lock);
}

/* fs->lock held (either mode). */
static struct node *node_ref_locked(struct node *n)
{
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_SEQ_CST);
	return n;
}

struct node *fs_node_get(struct fs *fs, fuse_ino_t ino)
{
	struct node *n = NULL;

	pthread_rwlock_rdlock(&fs->lock);
	if (ino > 0 && ino < fs->nnodes && fs->nodes[ino])
		n = node_ref_locked(fs->nodes[ino]);
	pthread_rwlock_unlock(&fs->lock);
	return n;
}

/*
 * Frees the node (@ino, @gen) if nothing uses it. Found again by number and
 * generation: another thread may have freed it, and the number been reused.
 */
static void node_reap(struct fs *fs, fuse_ino_t ino, uint64_t gen)
{
	struct node *dead = NULL;

	pthread_rwlock_wrlock(&fs->lock);
	if (ino < fs->nnodes && fs->nodes[ino] && fs->nodes[ino]->generation == gen)
		dead = node_reap_locked(fs, fs->nodes[ino]);
	pthread_rwlock_unlock(&fs->lock);
	node_free(fs, dead);
}

void fs_node_put(struct fs *fs, struct node *n)
{
	fuse_ino_t ino;
	uint64_t gen;
	bool transient, last;

	if (!n)
		return;
	/* read all we need first: once our reference is gone, n may be freed */
	ino = n->ino;
	gen = n->generation;
	transient = node_transient(n);
	last = __atomic_sub_fetch(&n->refs, 1, __ATOMIC_SEQ_CST) == 0;
	/* only an unlisted page or version node gets here */
	if (last && transient)
		node_reap(fs, ino, gen);
}

void fs_node_learn(struct fs *fs, struct node *n)
{
	(void)fs;
	if (node_transient(n)) /* the others live as long as the mount */
		__atomic_add_fetch(&n->nlookup, 1, __ATOMIC_SEQ_CST);
}

void fs_node_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n, *dead = NULL;

	pthread_rwlock_wrlock(&fs->lock);
	n = ino < fs->nnodes ? fs->nodes[ino] : NULL;
	if (n && node_transient(n)) {
		uint64_t had = atomic_get(&n->nlookup), left;

		/* a lookup may learn it meanwhile (with a reference); never below 0 */
		do
			left = had - MIN(had, nlookup);
		while (!__atomic_compare_exchange_n(&n->nlookup, &had, left, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
		dead = node_reap_locked(fs, n);
	}
	pthread_rwlock_unlock(&fs->lock);
	node_free(fs, dead);
}

int fs_node_lookup(struct fs *fs, fuse_ino_t dir, const char *name, struct node **ret)
{
	struct node *d, *n = NULL;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&fs->lock);
	d = dir < fs->nnodes ? fs->nodes[dir] : NULL;
	if (!d || dir == 0)
		goto out;
	if (d->type == NODE_REPO && !strcmp(name, VERSIONS_FILE)) {
		n = fs->nodes[fs->repos[d->repo].versions_ino];
	} else if (d->type == NODE_REPO) {
		struct fs_repo *fr = &fs->repos[d->repo];

		if (!fr->plan) {
			r = -EAGAIN;
			goto out;
		}
		for (size_t i = 0; i < fr->npages && !n; i++)
			if (!strcmp(fr->pages[i]->name, name))
				n = fr->pages[i];
	} else if (d->type == NODE_ROOT || d->type == NODE_OWNER || d->type == NODE_CTLDIR ||
		   d->type == NODE_VERSION) {
		n = kid_find(fs, d, name);
		if (!n && d->type != NODE_CTLDIR && d->type != NODE_VERSION)
			n = fs_version_find_locked(fs, dir, name); /* materialised only */
	} else {
		r = -ENOTDIR;
	}
	if (n) {
		*ret = node_ref_locked(n);
		r = 0;
	}
out:
	pthread_rwlock_unlock(&fs->lock);
	return r;
}

int fs_dir_entries(struct fs *fs, fuse_ino_t dir, struct node ***ret, size_t *n, fuse_ino_t *parent)
{
	struct node *d, **v;
	bool repo;
	size_t count;
	int r = -ENOTDIR;

	pthread_rwlock_rdlock(&fs->lock);
	d = dir < fs->nnodes ? fs->nodes[dir] : NULL;
	if (!d || d->type == NODE_PAGE || d->type == NODE_CTL)
		goto out;
	repo = d->type == NODE_REPO;
	count = repo ? fs->repos[d->repo].npages : d->nkids;
	v = malloc(MAX(count, 1) * sizeof(*v));
	r = -ENOMEM;
	if (!v)
		goto out;
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		struct node *k = repo ? fs->repos[d->repo].pages[i] : fs->nodes[d->kids[i]];

		/* the control directory is reached by name only: see fs.h */
		if (k->type != NODE_CTLDIR)
			v[(*n)++] = node_ref_locked(k);
	}
	*ret = v;
	*parent = d->parent ? d->parent : ROOT_INO;
	r = 0;
out:
	pthread_rwlock_unlock(&fs->lock);
	return r;
}

/*
 * Makes the page nodes of @pages (references, taken over) in @out (zeroed).
 * fs->lock held for writing. Out of memory: the nodes made are unlinked
 * into @dead for node_free() after unlocking, the other pages unreferenced.
 */
static int pages_make_locked(struct fs *fs, size_t repo, struct wiki_page **pages, size_t n,
			     struct node **out, struct node **dead)
{
	size_t i;

	for (i = 0; i < n; i++) {
		_cleanup_free_ char *name = NULL;
		const char *slug = wiki_page_slug(pages[i]);
		struct node *node = NULL;

		if (asprintf(&name, "%s.md", slug) < 0 ||
		    !(node = node_add(fs, NODE_PAGE, fs->repos[repo].ino, name)))
			break;
		node->repo = repo;
		node->page = pages[i];
		node->shown = true;
		node->refs = 1; /* the listing's */
		out[i] = node;
		if (!(node->slug = strdup(slug)))
			break;
	}
	if (i == n)
		return 0;
	for (size_t k = 0; k < n; k++) {
		dead[k] = out[k] ? node_unlink_locked(fs, out[k]) : NULL;
		if (!out[k])
			wiki_page_unref(fs->wiki, pages[k]);
	}
	return -ENOMEM;
}

/* Swaps in the new page list; the old nodes are unlisted and kept in fr->retired. */
static int show_locked(struct fs *fs, struct fs_repo *fr, struct plan *plan, struct node **nodes,
		       size_t n)
{
	struct node **rv = realloc(fr->retired, MAX(fr->nretired + fr->npages, 1) * sizeof(*rv));

	if (!rv)
		return -ENOMEM;
	fr->retired = rv;
	for (size_t i = 0; i < fr->npages; i++) {
		/* the listing's reference, till the kernel is told (fs_repo_changed) */
		fr->retired[fr->nretired++] = fr->pages[i];
		__atomic_store_n(&fr->pages[i]->shown, false, __ATOMIC_SEQ_CST);
	}
	free(fr->pages);
	fr->pages = nodes;
	fr->npages = n;
	plan_unref(fr->plan);
	fr->plan = plan;
	return 0;
}

int fs_repo_show(struct fs *fs, size_t repo)
{
	struct fs_repo *fr = &fs->repos[repo];
	struct wiki_page *pages[PLAN_MAX_PAGES];
	struct node *dead[PLAN_MAX_PAGES], **nodes;
	struct plan *plan = wiki_repo_plan(fs->wiki, repo), *cur;
	bool same;
	int n, r;

	if (!plan)
		return -EAGAIN;
	pthread_rwlock_rdlock(&fs->lock);
	same = fr->plan == plan;
	pthread_rwlock_unlock(&fs->lock);
	plan_unref(plan);
	if (same)
		return 0;

	n = wiki_repo_pages(fs->wiki, repo, &plan, pages);
	if (n < 0)
		return n == -ESHUTDOWN ? -EAGAIN : n;
	nodes = calloc(MAX((size_t)n, 1), sizeof(*nodes));
	pthread_rwlock_wrlock(&fs->lock);
	cur = wiki_repo_plan(fs->wiki, repo);
	plan_unref(cur); /* compared only */
	if (fr->plan == plan || cur != plan || !nodes) {
		/*
		 * Another thread showed it first, or a newer plan came meanwhile
		 * (never go back: its repo_changed event shows it), or no memory.
		 */
		pthread_rwlock_unlock(&fs->lock);
		for (int i = 0; i < n; i++)
			wiki_page_unref(fs->wiki, pages[i]);
		plan_unref(plan);
		r = nodes ? 0 : -ENOMEM;
		free(nodes);
		return r;
	}
	r = pages_make_locked(fs, repo, pages, (size_t)n, nodes, dead);
	if (r == 0 && (r = show_locked(fs, fr, plan, nodes, (size_t)n)) < 0)
		for (int i = 0; i < n; i++)
			dead[i] = node_unlink_locked(fs, nodes[i]);
	pthread_rwlock_unlock(&fs->lock);
	if (r < 0) {
		for (int i = 0; i < n; i++)
			node_free(fs, dead[i]);
		plan_unref(plan);
		free(nodes);
	}
	return r;
}

/*
 * The wiki moved the repository to a new plan: show it, then tell the kernel
 * that the old names are gone (their inodes live on while open) and that the
 * listing changed. Runs on a wiki thread, never inside a FUSE request: the
 * kernel takes the directory's lock for these notifications.
 */
void fs_repo_changed(void *ctx, size_t repo)
{
	struct fs *fs = ctx;
	struct fs_repo *fr = &fs->repos[repo];
	struct node **old;
	size_t nold;

	fs_repo_show(fs, repo);
	pthread_rwlock_wrlock(&fs->lock);
	old = fr->retired;
	nold = fr->nretired;
	fr->retired = NULL;
	fr->nretired = 0;
	pthread_rwlock_unlock(&fs->lock);
	for (size_t i = 0; i < nold; i++) {
		if (fs->se)
			fuse_lowlevel_notify_delete(fs->se, fr->ino, old[i]->ino, old[i]->name,
						    strlen(old[i]->name));
		fs_node_put(fs, old[i]);
	}
	free(old);
	if (fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, fr->ino, 0, 0);
}

/*
 * Listed page node @i of @fr was regenerated. If it has open handles, retire
 * it (frozen at its size, its listing reference kept for the caller) and list
 * a new node for the page. Returns the old node, or NULL if it needs only an
 * invalidation (or no memory: the old behaviour). fs->lock held for writing.
 */
static struct node *page_renew_locked(struct fs *fs, struct fs_repo *fr, size_t i)
{
	struct node *old = fr->pages[i], *n;

	if (!atomic_get(&old->told) || !atomic_get(&old->opens)) {
		__atomic_store_n(&old->told, 0, __ATOMIC_SEQ_CST); /* ask the wiki again */
		return NULL;
	}
	n = node_add(fs, NODE_PAGE, fr->ino, old->name);
	if (n && !(n->slug = strdup(old->slug))) {
		node_free(fs, node_unlink_locked(fs, n)); /* no page yet: no wiki call */
		n = NULL;
	}
	if (!n) { /* no memory: the size is asked again, as before */
		__atomic_store_n(&old->told, 0, __ATOMIC_SEQ_CST);
		return NULL;
	}
	n->repo = old->repo;
	n->page = wiki_page_ref(fs->wiki, old->page); /* lock order: fs->lock, wiki */
	n->shown = true;
	n->refs = 1; /* the listing's */
	__atomic_store_n(&old->frozen, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&old->shown, false, __ATOMIC_SEQ_CST);
	fr->pages[i] = n;
	return old;
}

/*
 * A page was (re)generated: a retry at its commit, or its first generation.
 * A node with open handles is retired as a refresh retires the pages of an
 * old commit, so a file never changes under a reader: the old inode keeps
 * the size and bytes its handles opened, and loses its name. Any other node
 * forgets its size and is invalidated: nothing of it is open, and an open
 * waiting for this generation (parked on the node) can use it. The open
 * handle count and this check exclude each other (fs->lock), and a handle
 * opened on the old version after this gets ESTALE (fs_page_opened()). Runs
 * on a wiki worker or inside an OPEN request (wiki_page_want(),
 * fs_page_opened()), which holds no directory lock, so the kernel can take
 * the directory's for notify_delete.
 */
void fs_page_ready(void *ctx, size_t repo, const struct wiki_page *page)
{
	struct fs *fs = ctx;
	struct fs_repo *fr = &fs->repos[repo];
	struct node *old = NULL;
	fuse_ino_t ino = 0;

	pthread_rwlock_wrlock(&fs->lock);
	for (size_t i = 0; i < fr->npages && !ino; i++)
		if (fr->pages[i]->page == page) {
			ino = fr->pages[i]->ino;
			old = page_renew_locked(fs, fr, i);
		}
	/* (rarely) a page of an older plan still in use: unlisted already */
	for (size_t i = 0; i < fs->nnodes && !ino; i++) {
		struct node *n = fs->nodes[i];

		if (!n || n->page != page || fs_page_frozen(n))
			continue;
		if (atomic_get(&n->told) && atomic_get(&n->opens)) {
			__atomic_store_n(&n->frozen, true, __ATOMIC_SEQ_CST);
		} else {
			__atomic_store_n(&n->told, 0, __ATOMIC_SEQ_CST);
			ino = i;
		}
	}
	pthread_rwlock_unlock(&fs->lock);
	if (old) {
		if (fs->se) {
			fuse_lowlevel_notify_delete(fs->se, fr->ino, old->ino, old->name,
						    strlen(old->name));
			fuse_lowlevel_notify_inval_inode(fs->se, fr->ino, 0, 0);
		}
		fs_node_put(fs, old); /* the listing's reference */
		return;
	}
	/* attributes and data: the kernel asks again (a no-op if it had nothing) */
	if (ino && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
}

int fs_path_resolve(struct fs *fs, const char *path, struct node **ret)
{
	_cleanup_free_ char *copy = NULL;
	struct node *n = fs_node_get(fs, ROOT_INO);
	char *save = NULL, *comp;

	if (path[0] == '/') {
		size_t len = strlen(fs->mountpoint);

		if (strncmp(path, fs->mountpoint, len) || (path[len] != '/' && path[len] != '\0')) {
			fs_node_put(fs, n);
			return -EXDEV; /* outside the mount */
		}
		path += len;
	}
	copy = strdup(path);
	if (!copy) {
		fs_node_put(fs, n);
		return -ENOMEM;
	}
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		struct node *next;
		int r;

		if (!strcmp(comp, "."))
			continue;
		r = fs_node_lookup(fs, n->ino, comp, &next);
		fs_node_put(fs, n);
		if (r < 0)
			return r;
		n = next;
	}
	*ret = n;
	return 0;
}

struct node *fs_node_add_locked(struct fs *fs, enum node_type type, fuse_ino_t parent,
				const char *name)
{
	return node_add(fs, type, parent, name);
}

int fs_node_kid_add(struct node *dir, fuse_ino_t kid)
{
	return kid_add(dir, kid);
}

struct node *fs_node_unlink_locked(struct fs *fs, struct node *n)
{
	return node_unlink_locked(fs, n);
}

void fs_node_free_unlinked(struct fs *fs, struct node *n)
{
	node_free(fs, n);
}
