/* SPDX-License-Identifier: MIT */
/*
 * The node table. Inode numbers index an array of nodes that are never
 * freed while mounted: the root, the control directory and its files, the
 * owner and repository directories (all fixed at mount from the config),
 * and page nodes, created when a repository's plan is first shown and kept
 * (reused by slug) when a refresh brings a new plan. Since nodes are never
 * freed, FORGET needs no bookkeeping and lookups allocate nothing.
 *
 * Locking: fs->lock (rwlock) protects the array and every fs_repo; node
 * contents other than page lists never change after creation.
 */
#include "fs.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const char *const ctl_names[CTL_MAX] = {
	[CTL_PROGRESS] = "progress",
	[CTL_PROGRESS_JSON] = "progress.json",
	[CTL_CONTROL] = "control",
	[CTL_ERRORS] = "errors",
};

/* fs->lock held for writing (or during init). */
static struct node *node_add(struct fs *fs, enum node_type type, fuse_ino_t parent,
			     const char *name)
{
	struct node *n;

	if (fs->nnodes == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		struct node **nv = realloc(fs->nodes, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		fs->nodes = nv;
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
	n->ino = fs->nnodes;
	n->type = type;
	n->parent = parent;
	fs->nodes[fs->nnodes++] = n;
	return n;
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
	if (!ctl || kid_add(fs->nodes[ROOT_INO], ctl->ino) < 0)
		return -ENOMEM;
	for (int i = 0; i < CTL_MAX; i++) {
		struct node *n = node_add(fs, NODE_CTL, ctl->ino, ctl_names[i]);

		if (!n || kid_add(fs->nodes[ctl->ino], n->ino) < 0)
			return -ENOMEM;
		n->ctl = (enum ctl_kind)i;
	}
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
			dir = fs->nodes[n->ino]; /* re-read: node_add may move the array */
			name = slash + 1;
		}
		n = node_add(fs, NODE_REPO, dir->ino, name);
		if (!n || kid_add(fs->nodes[dir->ino], n->ino) < 0)
			return -ENOMEM;
		n->repo = i;
		fs->repos[i].ino = n->ino;
	}
	return 0;
}

void fs_nodes_done(struct fs *fs)
{
	for (size_t i = 0; i < fs->nnodes; i++) {
		free(fs->nodes[i]->name);
		free(fs->nodes[i]->slug);
		free(fs->nodes[i]->kids);
		free(fs->nodes[i]);
	}
	free(fs->nodes);
	for (size_t i = 0; fs->repos && i < fs->conf->n_repos; i++) {
		plan_unref(fs->repos[i].plan);
		free(fs->repos[i].pages);
		free(fs->repos[i].known);
	}
	free(fs->repos);
	pthread_rwlock_destroy(&fs->lock);
}

int fs_node_get(struct fs *fs, fuse_ino_t ino, struct node *out)
{
	int r = -ENOENT;

	pthread_rwlock_rdlock(&fs->lock);
	if (ino > 0 && ino < fs->nnodes) {
		*out = *fs->nodes[ino];
		r = 0;
	}
	pthread_rwlock_unlock(&fs->lock);
	return r;
}

int fs_node_lookup(struct fs *fs, fuse_ino_t dir, const char *name, fuse_ino_t *ino)
{
	struct node *d, *n;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&fs->lock);
	if (dir == 0 || dir >= fs->nnodes) {
		r = -ENOENT;
		goto out;
	}
	d = fs->nodes[dir];
	if (d->type == NODE_REPO) {
		struct fs_repo *fr = &fs->repos[d->repo];

		if (!fr->plan) {
			r = -EAGAIN;
			goto out;
		}
		for (size_t i = 0; i < fr->npages; i++) {
			if (!strcmp(fs->nodes[fr->pages[i]]->name, name)) {
				*ino = fr->pages[i];
				r = 0;
				break;
			}
		}
		goto out;
	}
	if (d->type != NODE_ROOT && d->type != NODE_OWNER && d->type != NODE_CTLDIR) {
		r = -ENOTDIR;
		goto out;
	}
	n = kid_find(fs, d, name);
	if (n) {
		*ino = n->ino;
		r = 0;
	}
out:
	pthread_rwlock_unlock(&fs->lock);
	return r;
}

bool fs_repo_show_plan(struct fs *fs, size_t repo, struct plan *plan)
{
	struct fs_repo *fr = &fs->repos[repo];
	fuse_ino_t *pages;
	bool changed;

	pthread_rwlock_rdlock(&fs->lock);
	changed = fr->plan != plan && (!fr->plan || strcmp(fr->plan->commit, plan->commit) ||
				       strcmp(fr->plan->planner, plan->planner));
	pthread_rwlock_unlock(&fs->lock);
	if (!changed)
		return false;

	pthread_rwlock_wrlock(&fs->lock);
	if (fr->plan && !strcmp(fr->plan->commit, plan->commit) &&
	    !strcmp(fr->plan->planner, plan->planner)) {
		pthread_rwlock_unlock(&fs->lock); /* another thread got here first */
		return false;
	}
	pages = calloc(MAX(plan->n, 1), sizeof(*pages));
	if (!pages) {
		pthread_rwlock_unlock(&fs->lock);
		return false;
	}
	size_t i;

	for (i = 0; i < plan->n; i++) {
		_cleanup_free_ char *name = NULL;
		struct node *n = NULL;

		if (asprintf(&name, "%s.md", plan->pages[i].slug) < 0)
			break;
		/* reuse the inode of a page with the same name, from any earlier plan */
		for (size_t k = 0; k < fr->nknown && !n; k++)
			if (!strcmp(fs->nodes[fr->known[k]]->name, name))
				n = fs->nodes[fr->known[k]];
		if (!n) {
			fuse_ino_t *kn = realloc(fr->known, (fr->nknown + 1) * sizeof(*kn));

			if (!kn)
				break;
			fr->known = kn;
			n = node_add(fs, NODE_PAGE, fr->ino, name);
			if (!n)
				break;
			n->repo = repo;
			n->slug = strdup(plan->pages[i].slug);
			fr->known[fr->nknown++] = n->ino;
		}
		pages[i] = n->ino;
	}
	free(fr->pages);
	fr->pages = pages;
	fr->npages = i; /* short only if memory ran out */
	plan_unref(fr->plan);
	fr->plan = plan_ref(plan);
	pthread_rwlock_unlock(&fs->lock);
	return true;
}

int fs_path_resolve(struct fs *fs, const char *path, fuse_ino_t *ret)
{
	_cleanup_free_ char *copy = NULL;
	fuse_ino_t ino = ROOT_INO;
	char *save = NULL, *comp;

	if (path[0] == '/') {
		size_t n = strlen(fs->mountpoint);

		if (strncmp(path, fs->mountpoint, n) || (path[n] != '/' && path[n] != '\0'))
			return -EXDEV; /* outside the mount */
		path += n;
	}
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int r;

		if (!strcmp(comp, "."))
			continue;
		r = fs_node_lookup(fs, ino, comp, &ino);
		if (r < 0)
			return r;
	}
	*ret = ino;
	return 0;
}

void fs_node_path(struct fs *fs, fuse_ino_t ino, char *out, size_t n)
{
	const char *parts[4];
	int k = 0;

	pthread_rwlock_rdlock(&fs->lock);
	while (ino > ROOT_INO && ino < fs->nnodes && k < 4) {
		parts[k++] = fs->nodes[ino]->name;
		ino = fs->nodes[ino]->parent;
	}
	out[0] = '\0';
	for (size_t len = 0; k > 0; k--) {
		int w = snprintf(out + len, n - len, "%s%s", len ? "/" : "", parts[k - 1]);

		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
	pthread_rwlock_unlock(&fs->lock);
}
