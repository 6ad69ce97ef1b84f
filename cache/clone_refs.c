/* SPDX-License-Identifier: MIT */
/*
 * Local refs of a clone. The clone mirrors the remote's branches
 * (refs/heads) and tags (refs/tags), see clone_cache.c, so a version is a
 * lookup there, then an object id prefix lookup; nothing here writes.
 * libgit2's errors become errno through gitrepo_errno() only.
 */
#include "clone_refs.h"
#include "gitrepo.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <git2.h>

static const char *const kind_names[] = { "branch", "tag", "commit" };

const char *clone_ref_kind_name(enum clone_ref_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

/* The commit @name (a full ref name) peels to. 0, GIT_ENOTFOUND, or another libgit2 code. */
static int ref_commit(git_repository *repo, const char *name, git_oid *out)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int g = git_reference_lookup(&ref, repo, name);

	if (g == GIT_EINVALIDSPEC)
		g = GIT_ENOTFOUND; /* not a valid ref name, so not a ref */
	if (g == 0)
		g = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	if (g == GIT_EPEEL || g == GIT_EINVALIDSPEC)
		g = GIT_ENOTFOUND;
	if (g == 0)
		git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	git_reference_free(ref);
	return g;
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A commit by (abbreviated) id. 0, GIT_ENOTFOUND, GIT_EAMBIGUOUS, or another code. */
static int id_commit(git_repository *repo, const char *hex, git_oid *out)
{
	size_t len = strlen(hex);
	git_object *obj = NULL, *commit = NULL;
	git_oid id;
	int g;

	if (len < CLONE_REFS_ABBREV_MIN || len > GIT_OID_HEXSZ || !all_hex(hex, len))
		return GIT_ENOTFOUND;
	g = git_oid_fromstrn(&id, hex, len);
	if (g == 0)
		g = git_object_lookup_prefix(&obj, repo, &id, len, GIT_OBJECT_ANY);
	if (g == 0)
		g = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (g == GIT_EPEEL || g == GIT_EINVALIDSPEC)
		g = GIT_ENOTFOUND; /* a tree or a blob: not a version */
	if (g == 0)
		git_oid_cpy(out, git_object_id(commit));
	git_object_free(commit);
	git_object_free(obj);
	return g;
}

int clone_refs_resolve(const char *git_dir, const char *ref, char commit[41],
		       enum clone_ref_kind *kind, struct wf_err *err)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/tags/" };
	git_repository *repo = NULL;
	_cleanup_free_ char *full = NULL;
	git_oid id;
	int g = GIT_ENOTFOUND, r = 0;

	g = git_repository_open_bare(&repo, git_dir);
	if (g < 0)
		return gitrepo_fail(err, g, "cannot open the clone", git_dir);
	g = GIT_ENOTFOUND;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes) && g == GIT_ENOTFOUND; i++) {
		free(full);
		if (asprintf(&full, "%s%s", prefixes[i], ref) < 0) {
			full = NULL;
			r = -ENOMEM;
			goto out;
		}
		g = ref_commit(repo, full, &id);
		*kind = i == 0 ? CLONE_REF_BRANCH : CLONE_REF_TAG;
	}
	if (g == GIT_ENOTFOUND) {
		g = id_commit(repo, ref, &id);
		*kind = CLONE_REF_COMMIT;
	}
	if (g == GIT_ENOTFOUND)
		r = wf_err_set(err, -ENOENT, "no branch, tag or commit '%s'", ref);
	else if (g == GIT_EAMBIGUOUS)
		r = wf_err_set(err, -ENOENT, "'%s' is an ambiguous abbreviated commit id", ref);
	else if (g < 0)
		r = gitrepo_fail(err, g, "cannot resolve", ref);
	else
		git_oid_tostr(commit, 41, &id);
out:
	git_repository_free(repo);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of one kind (@prefix), sorted by name. */
static int list_kind(git_repository *repo, git_strarray *names, const char *prefix,
		     enum clone_ref_kind kind, struct buf *out)
{
	size_t plen = strlen(prefix);
	int r = 0;

	for (size_t i = 0; i < names->count && r == 0; i++) {
		const char *name = names->strings[i];
		char hex[GIT_OID_HEXSZ + 1];
		git_oid id;

		if (strncmp(name, prefix, plen) || ref_commit(repo, name, &id) < 0)
			continue;
		git_oid_tostr(hex, sizeof(hex), &id);
		r = buf_printf(out, "%s %s %s\n", hex, clone_ref_kind_name(kind), name + plen);
	}
	return r;
}

int clone_refs_list(const char *git_dir, struct buf *out, struct wf_err *err)
{
	git_repository *repo = NULL;
	git_strarray names = { 0 };
	int g, r;

	g = git_repository_open_bare(&repo, git_dir);
	if (g < 0)
		return gitrepo_fail(err, g, "cannot open the clone", git_dir);
	g = git_reference_list(&names, repo);
	if (g < 0) {
		r = gitrepo_fail(err, g, "cannot list the refs of", git_dir);
		goto out;
	}
	qsort(names.strings, names.count, sizeof(*names.strings), cmp_str);
	r = list_kind(repo, &names, "refs/heads/", CLONE_REF_BRANCH, out);
	if (r == 0)
		r = list_kind(repo, &names, "refs/tags/", CLONE_REF_TAG, out);
	if (r < 0)
		wf_err_set(err, r, "cannot list the refs of '%s': %s", git_dir, strerror(-r));
	git_strarray_dispose(&names);
out:
	git_repository_free(repo);
	return r;
}
