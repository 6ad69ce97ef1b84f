/* SPDX-License-Identifier: MIT */
/*
 * libgit2 in one place. gitrepo_errno() is the only translation of a
 * libgit2 failure into errno: first by libgit2's return code, then by its
 * error class, and last by the words of its message, because libgit2 1.5
 * reports network and OS causes only as text.
 *
 * The tree walk is iterative (an explicit stack of open trees, so a
 * 1,000-level tree costs no C stack) and builds each path in one buffer.
 * The export rides on it: directories as the walk meets them, blobs written
 * with O_EXCL|O_NOFOLLOW, symlinks only after every file (so nothing is
 * ever written through one), then the directories closed innermost first.
 */
#include "gitrepo.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#define GITREPO_CACHE_MAX      (8 << 20) /* libgit2's object cache, all repositories */
#define GITREPO_MWINDOW_SIZE   (1 << 20) /* one pack window (1 GiB by default) */
#define GITREPO_MWINDOW_MAPPED (4 << 20) /* pack bytes mapped at once */

int gitrepo_global_init(void)
{
	int r = git_libgit2_init();

	if (r < 0)
		return gitrepo_errno(r);
	/*
	 * A history walk reads each commit once: caching them (4 KiB each, up
	 * to the 256 MiB default) would only grow the daemon by tens of MB.
	 */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_COMMIT, (size_t)0);
	/*
	 * The daemon reads packs in passes (a tree walk, a history walk), never
	 * twice the same object soon: a small object cache and a bounded pack
	 * window (1 GiB windows, 8 GiB mapped by default on 64 bits, all of it
	 * in the RSS once touched) keep a facts load of a large repository within tens of MB.
	 */
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(GITREPO_CACHE_MAX));
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)GITREPO_MWINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)GITREPO_MWINDOW_MAPPED);
	return 0;
}

void gitrepo_global_shutdown(void)
{
	git_libgit2_shutdown();
}

int gitrepo_errno(int code)
{
	static const struct {
		const char *needle;
		int err;
	} by_text[] = {
		{ "connection refused", ECONNREFUSED },
		{ "no route to host", EHOSTUNREACH },
		{ "network is unreachable", ENETUNREACH },
		{ "failed to resolve address", EHOSTUNREACH },
		{ "connection timed out", ETIMEDOUT },
		{ "connection reset", ECONNRESET },
		{ "early eof", ECONNRESET },
		{ "unexpected eof", ECONNRESET },
		{ "unexpected disconnect", ECONNRESET },
		{ "connection closed", ECONNRESET },
		{ "authentication", EACCES },
		{ "status code: 401", EACCES },
		{ "status code: 403", EACCES },
		{ "status code: 404", ENOENT },
		{ "not exported", ENOENT },
		{ "could not find repository", ENOENT },
		{ "failed to resolve path", ENOENT },
		{ "does not appear to be a git repository", ENOENT },
		{ "repository not found", ENOENT },
		/* out of descriptors: the machine's state, worth another attempt */
		{ "too many open files in system", ENFILE },
		{ "too many open files", EMFILE },
	};
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "";

	switch (code) {
	case GIT_ENOTFOUND:
		return -ENOENT;
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
		return -EACCES;
	case GIT_EEXISTS:
		return -EEXIST;
	case GIT_EINVALIDSPEC:
	case GIT_EAMBIGUOUS:
	case GIT_EINVALID:
		return -EINVAL;
	case GIT_ELOCKED:
		return -EBUSY;
	case GIT_EOWNER:
		return -EPERM;
	case GIT_EUSER:
		return -ECANCELED;
	case GIT_EBUFS:
		return -ENOBUFS;
	default:
		break;
	}
	if (e && e->klass == GIT_ERROR_NOMEMORY)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(by_text); i++)
		if (strcasestr(msg, by_text[i].needle))
			return -by_text[i].err;
	return -EIO;
}

const char *gitrepo_error_text(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

int gitrepo_fail(struct wf_err *err, int code, const char *what, const char *arg)
{
	return wf_err_set(err, gitrepo_errno(code), "%s '%s': %s", what, arg ? arg : "",
			  gitrepo_error_text());
}

int gitrepo_open_commit(git_repository **repo, git_commit **commit, const char *git_dir,
			const char *rev, struct wf_err *err)
{
	git_object *obj = NULL;
	int r;

	*repo = NULL;
	*commit = NULL;
	r = git_repository_open_bare(repo, git_dir);
	if (r < 0)
		return gitrepo_fail(err, r, "cannot open repository", git_dir);
	r = git_revparse_single(&obj, *repo, rev);
	if (r == 0) {
		r = git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
	}
	if (r < 0) {
		r = gitrepo_fail(err, r, "cannot find commit", rev);
		git_repository_free(*repo);
		*repo = NULL;
	}
	return r;
}

int gitrepo_open_tree(git_repository **repo, git_commit **commit, git_tree **tree,
		      const char *git_dir, const char *rev, struct wf_err *err)
{
	int r = gitrepo_open_commit(repo, commit, git_dir, rev, err);

	*tree = NULL;
	if (r < 0)
		return r;
	r = git_commit_tree(tree, *commit);
	if (r < 0) {
		r = gitrepo_fail(err, r, "cannot read tree of", rev);
		git_commit_free(*commit);
		git_repository_free(*repo);
		*commit = NULL;
		*repo = NULL;
	}
	return r;
}

int gitrepo_commit_describe(const char *git_dir, const char *commit, int64_t *time, char *head,
			    size_t n, struct wf_err *err)
{
	git_repository *repo;
	git_commit *cm;
	git_reference *ref = NULL;
	const char *target;
	int r = gitrepo_open_commit(&repo, &cm, git_dir, commit, err);

	if (r < 0)
		return r;
	*time = (int64_t)git_commit_time(cm);
	if (head && n) {
		head[0] = '\0';
		if (git_reference_lookup(&ref, repo, "HEAD") == 0 &&
		    git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC &&
		    (target = git_reference_symbolic_target(ref)) &&
		    !strncmp(target, "refs/heads/", 11))
			snprintf(head, n, "%s", target + 11);
	}
	git_reference_free(ref);
	git_commit_free(cm);
	git_repository_free(repo);
	return 0;
}

struct frame {
	git_tree *tree;
	size_t idx, pathlen;
};

/* Opens directory entry @e as the next frame; 1 if it was too deep to enter. */
static int push_tree(git_repository *repo, struct frame *st, size_t *n, const git_tree_entry *e,
		     const char *path, size_t len, struct wf_err *err)
{
	git_tree *sub;
	int r;

	if (*n >= GITREPO_MAX_DEPTH)
		return 1;
	r = git_tree_lookup(&sub, repo, git_tree_entry_id(e));
	if (r < 0)
		return gitrepo_fail(err, r, "cannot read tree", path);
	st[*n] = (struct frame){ sub, 0, len };
	(*n)++;
	return 0;
}

int gitrepo_tree_walk(git_repository *repo, git_tree *root, gitrepo_tree_fn fn, void *ctx,
		      size_t *skipped, struct wf_err *err)
{
	_cleanup_free_ struct frame *st = calloc(GITREPO_MAX_DEPTH + 1, sizeof(*st));
	_cleanup_free_ char *path = malloc(GITREPO_MAX_PATH + 1);
	size_t n = 1, dummy = 0;
	int r = 0;

	if (!st || !path)
		return -ENOMEM;
	if (!skipped)
		skipped = &dummy;
	st[0].tree = root;
	while (n > 0 && r == 0) {
		struct frame *fr = &st[n - 1];
		const git_tree_entry *e;
		const char *name;
		size_t nl, len;
		unsigned mode;

		if (fr->idx >= git_tree_entrycount(fr->tree)) {
			if (n > 1)
				git_tree_free(fr->tree);
			n--;
			continue;
		}
		e = git_tree_entry_byindex(fr->tree, fr->idx++);
		name = git_tree_entry_name(e);
		nl = strlen(name);
		mode = (unsigned)git_tree_entry_filemode(e);
		len = fr->pathlen + (fr->pathlen ? 1 : 0) + nl;
		if (len > GITREPO_MAX_PATH || n > GITREPO_MAX_DEPTH) {
			(*skipped)++;
			continue;
		}
		if (fr->pathlen)
			path[fr->pathlen] = '/';
		memcpy(path + len - nl, name, nl);
		path[len] = '\0';
		r = fn(ctx, path, len, (unsigned)n, mode, git_tree_entry_id(e));
		if (r == 0 && mode == GITREPO_MODE_TREE) {
			r = push_tree(repo, st, &n, e, path, len, err);
			if (r == 1) {
				(*skipped)++;
				r = 0;
			}
		}
	}
	while (n > 1)
		git_tree_free(st[--n].tree);
	return r;
}

int gitrepo_tree_foreach(const char *git_dir, const char *commit, gitrepo_tree_fn fn, void *ctx,
			 size_t *skipped, struct wf_err *err)
{
	git_repository *repo;
	git_commit *cm;
	git_tree *tree = NULL;
	int r;

	r = gitrepo_open_tree(&repo, &cm, &tree, git_dir, commit, err);
	if (r < 0)
		return r;
	r = gitrepo_tree_walk(repo, tree, fn, ctx, skipped, err);
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(repo);
	return r;
}

void gitrepo_oid_hex(const git_oid *id, char out[41])
{
	git_oid_tostr(out, 41, id);
}

struct gitrepo_snapshot {
	git_repository *repo;
	git_commit *commit;
	git_tree *root;
};

void gitrepo_snapshot_free(struct gitrepo_snapshot *s)
{
	if (!s)
		return;
	git_tree_free(s->root);
	git_commit_free(s->commit);
	git_repository_free(s->repo);
	free(s);
}

int gitrepo_snapshot_open(struct gitrepo_snapshot **ret, const char *git_dir, const char *commit,
			  struct wf_err *err)
{
	struct gitrepo_snapshot *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = gitrepo_open_tree(&s->repo, &s->commit, &s->root, git_dir, commit, err);
	if (r < 0) {
		gitrepo_snapshot_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int gitrepo_snapshot_entry(struct gitrepo_snapshot *s, const char *path, unsigned *mode,
			   char oid[41])
{
	git_tree_entry *e = NULL;
	int r;

	if (!*path) {
		*mode = GITREPO_MODE_TREE;
		git_oid_tostr(oid, 41, git_tree_id(s->root));
		return 0;
	}
	r = git_tree_entry_bypath(&e, s->root, path);
	if (r == GIT_ENOTFOUND)
		return -ENOENT;
	if (r < 0)
		return gitrepo_errno(r);
	*mode = (unsigned)git_tree_entry_filemode(e);
	git_oid_tostr(oid, 41, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return 0;
}

int gitrepo_read_blob(const char *git_dir, const char *commit, const char *path, size_t max,
		      struct buf *out, struct wf_err *err)
{
	git_repository *repo;
	git_commit *cm;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int r;

	r = gitrepo_open_tree(&repo, &cm, &tree, git_dir, commit, err);
	if (r < 0)
		return r;
	r = git_tree_entry_bypath(&e, tree, path);
	if (r == GIT_ENOTFOUND) {
		r = wf_err_set(err, -ENOENT, "no '%s' in commit %s", path, commit);
		goto out_free;
	}
	if (r == 0 && git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		r = wf_err_set(err, -EISDIR, "'%s' is not a file", path);
		goto out_free;
	}
	r = r ?: git_blob_lookup(&blob, repo, git_tree_entry_id(e));
	if (r < 0) {
		r = gitrepo_fail(err, r, "cannot read", path);
		goto out_free;
	}
	if (git_blob_rawsize(blob) > (git_object_size_t)max)
		r = wf_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max);
	else if (buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) < 0)
		r = wf_err_set(err, -ENOMEM, "out of memory");
out_free:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(repo);
	return r;
}

/* ---- export: a commit's tree written out as plain files ---------------- */

struct export
{
	git_repository *repo;
	int dfd;
	uint64_t bytes, max;
	char **dirs, **links; /* directories to close (0555), symlinks to make last */
	size_t ndirs, nlinks;
	struct wf_err *err;
};

/* Only plain names: no "", ".", ".." or ".git" component (a hostile tree may hold them). */
static bool export_path_ok(const char *path)
{
	for (const char *c = path; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && !strncmp(c, "..", 2)) ||
		    (len == 4 && !strncasecmp(c, ".git", 4)))
			return false;
	}
	return true;
}

static int export_push(char ***list, size_t *n, const char *s)
{
	char **l = realloc(*list, (*n + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	*list = l;
	l[*n] = strdup(s);
	if (!l[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int export_blob(struct export *x, const char *path, unsigned mode, const git_oid *id)
{
	git_blob *blob;
	const char *data;
	size_t len;
	int fd, r = 0;

	r = git_blob_lookup(&blob, x->repo, id);
	if (r < 0)
		return gitrepo_fail(x->err, r, "cannot read", path);
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	x->bytes += len;
	if (x->bytes > x->max) {
		git_blob_free(blob);
		return wf_err_set(x->err, -EFBIG, "tree larger than %llu bytes",
				  (unsigned long long)x->max);
	}
	fd = openat(x->dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    (mode & 0111) ? 0555 : 0444);
	if (fd < 0) {
		r = errno == EEXIST ? 0
				    : wf_err_set(x->err, -errno, "cannot write '%s': %s", path,
						 strerror(errno));
		git_blob_free(blob);
		return r; /* a name twice in one tree: the first one stays */
	}
	for (size_t done = 0; done < len && r == 0;) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno != EINTR)
			r = wf_err_set(x->err, -errno, "cannot write '%s': %s", path,
				       strerror(errno));
		done += w > 0 ? (size_t)w : 0;
	}
	close(fd);
	git_blob_free(blob);
	return r;
}

static int export_cb(void *ctx, const char *path, size_t len, unsigned depth, unsigned mode,
		     const struct git_oid *id)
{
	struct export *x = ctx;
	_cleanup_free_ char *link = NULL;
	git_blob *blob;

	(void)len, (void)depth;
	if (!export_path_ok(path))
		return 0;
	if (mode == GITREPO_MODE_TREE || mode == GITREPO_MODE_GITLINK) {
		if (mkdirat(x->dfd, path, 0755) < 0 && errno != EEXIST)
			return wf_err_set(x->err, -errno, "cannot create '%s': %s", path,
					  strerror(errno));
		return export_push(&x->dirs, &x->ndirs, path);
	}
	if (mode != GITREPO_MODE_LINK)
		return export_blob(x, path, mode, id);
	/* made last, so that no later entry is written through a link */
	if (git_blob_lookup(&blob, x->repo, id) < 0)
		return gitrepo_fail(x->err, -1, "cannot read", path);
	if (asprintf(&link, "%s%c%.*s", path, '\0', (int)MIN(git_blob_rawsize(blob), 4096),
		     (const char *)git_blob_rawcontent(blob)) < 0)
		link = NULL;
	git_blob_free(blob);
	if (!link)
		return -ENOMEM;
	x->bytes += strlen(path);
	return export_push(&x->links, &x->nlinks, link)
		   ?: export_push(&x->links, &x->nlinks, link + strlen(link) + 1);
}

int gitrepo_export(const char *git_dir, const char *commit, int dfd, uint64_t max, uint64_t *bytes,
		   struct wf_err *err)
{
	struct export x = { .dfd = dfd, .max = max, .err = err };
	git_commit *cm;
	git_tree *tree = NULL;
	int r;

	r = gitrepo_open_tree(&x.repo, &cm, &tree, git_dir, commit, err);
	if (r < 0)
		return r;
	r = gitrepo_tree_walk(x.repo, tree, export_cb, &x, NULL, err);
	for (size_t i = 0; i + 1 < x.nlinks && r == 0; i += 2)
		if (symlinkat(x.links[i + 1], dfd, x.links[i]) < 0 && errno != EEXIST)
			r = wf_err_set(err, -errno, "cannot create link '%s': %s", x.links[i],
				       strerror(errno));
	/* innermost first: a directory closed to writes cannot take more entries */
	for (size_t i = x.ndirs; i-- > 0 && r == 0;)
		if (fchmodat(dfd, x.dirs[i], 0555, AT_SYMLINK_NOFOLLOW) < 0)
			r = wf_err_set(err, -errno, "cannot close '%s': %s", x.dirs[i],
				       strerror(errno));
	for (size_t i = 0; i < x.ndirs; i++)
		free(x.dirs[i]);
	for (size_t i = 0; i < x.nlinks; i++)
		free(x.links[i]);
	free(x.dirs);
	free(x.links);
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(x.repo);
	if (r == 0)
		*bytes = x.bytes;
	return r;
}

int gitrepo_paths_exist(const char *git_dir, const char *commit, const char *const *paths, size_t n,
			bool *exists, struct wf_err *err)
{
	git_repository *repo;
	git_commit *cm;
	git_tree *tree = NULL;
	int r;

	r = gitrepo_open_tree(&repo, &cm, &tree, git_dir, commit, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		git_tree_entry *e = NULL;

		exists[i] = git_tree_entry_bypath(&e, tree, paths[i]) == 0;
		git_tree_entry_free(e);
	}
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(repo);
	return r;
}
