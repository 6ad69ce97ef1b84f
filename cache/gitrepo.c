/* SPDX-License-Identifier: MIT */
/*
 * libgit2 in one place. gitrepo_errno() is the only translation of a
 * libgit2 failure into errno: first by libgit2's return code, then by its
 * error class, and last by the words of its message, because libgit2 1.5
 * reports network and OS causes only as text.
 *
 * The tree walk is iterative (an explicit stack of open trees, so a
 * 1,000-level tree costs no C stack) and builds each path in one buffer.
 */
#include "gitrepo.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#include <git2.h>

int gitrepo_global_init(void)
{
	int r = git_libgit2_init();

	return r < 0 ? gitrepo_errno(r) : 0;
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

	r = gitrepo_open_commit(&repo, &cm, git_dir, commit, err);
	if (r < 0)
		return r;
	r = git_commit_tree(&tree, cm);
	if (r < 0)
		r = gitrepo_fail(err, r, "cannot read tree of", commit);
	else
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
	r = gitrepo_open_commit(&s->repo, &s->commit, git_dir, commit, err);
	if (r == 0) {
		r = git_commit_tree(&s->root, s->commit);
		if (r < 0)
			r = gitrepo_fail(err, r, "cannot read tree of", commit);
	}
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
