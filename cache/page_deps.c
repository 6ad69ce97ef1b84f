/* SPDX-License-Identifier: MIT */
/*
 * What a page was made from (see page_deps.h): the recording, plain data
 * a generator fills; the facts' digests; and the resolution of a recording
 * at a commit into object ids, and its match against another commit.
 * Matching opens the commit's tree once (gitrepo_snapshot) and looks each
 * path up by tree objects only: libgit2 gives the object ids without reading
 * a blob. Facts are digested from the facts and plan of the commit asked.
 */
#include "page_deps.h"
#include "gitrepo.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* ---- recording ---- */

struct page_deps {
	size_t n, cap;
	bool everything; /* past PAGE_DEPS_MAX: the whole tree */
	struct {
		bool fact;
		char *name;
	} * v;
};

int page_deps_new(struct page_deps **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void page_deps_free(struct page_deps *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d);
}

size_t page_deps_count(const struct page_deps *d)
{
	return d->n;
}

static int deps_add(struct page_deps *d, bool fact, const char *name, size_t len)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].fact == fact && strlen(d->v[i].name) == len &&
		    !memcmp(d->v[i].name, name, len))
			return 0;
	if (d->n >= PAGE_DEPS_MAX) {
		d->everything = true; /* too much to list: the whole tree, always right */
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *v = realloc(d->v, cap * sizeof(*d->v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n].fact = fact;
	d->v[d->n].name = strndup(name, len);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->n++;
	return 0;
}

int page_deps_path(struct page_deps *d, const char *path)
{
	size_t len = strlen(path);

	while (len > 0 && path[len - 1] == '/')
		len--; /* "src/" is the directory src */
	return deps_add(d, false, path, len);
}

int page_deps_paths(struct page_deps *d, const char *lines)
{
	int r = 0;

	while (*lines && r == 0) {
		size_t len = strcspn(lines, "\n");

		if (len)
			r = deps_add(d, false, lines, len);
		lines += len + (lines[len] == '\n');
	}
	return r;
}

static bool fact_known(const char *name)
{
	return !strcmp(name, "plan") || (!strncmp(name, "plan:", 5) && name[5]) ||
	       !strncmp(name, "log:", 4) || !strcmp(name, "authors") ||
	       !strcmp(name, "languages") || !strncmp(name, "files:", 6) ||
	       !strncmp(name, "paths:", 6);
}

int page_deps_fact(struct page_deps *d, const char *name)
{
	if (!fact_known(name))
		return -EINVAL;
	return deps_add(d, true, name, strlen(name));
}

/* ---- facts ---- */

static void hash_str(struct sha256 *s, const char *v)
{
	v = v ? v : "";
	sha256_update(s, v, strlen(v) + 1);
}

static void hash_u64(struct sha256 *s, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	hash_str(s, num);
}

static void digest_log(struct sha256 *s, const struct repo_facts *f, size_t shown)
{
	const struct facts_commit *h;
	size_t n = facts_history(f, &h);

	hash_u64(s, n);
	for (size_t i = 0; i < n && i < shown; i++) {
		hash_str(s, h[i].id);
		hash_str(s, h[i].author);
		hash_str(s, h[i].email);
		hash_u64(s, (uint64_t)h[i].time);
		hash_str(s, h[i].subject);
	}
}

/* Commits per author, in the order of their newest commit. */
static int digest_authors(struct sha256 *s, const struct repo_facts *f)
{
	const struct facts_commit *h;
	size_t n = facts_history(f, &h), na = 0;
	_cleanup_free_ const char **names = calloc(n + 1, sizeof(*names));
	_cleanup_free_ size_t *counts = calloc(n + 1, sizeof(*counts));

	if (!names || !counts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *a = h[i].author ? h[i].author : "";
		size_t k = 0;

		while (k < na && strcmp(names[k], a))
			k++;
		if (k == na)
			names[na++] = a;
		counts[k]++;
	}
	for (size_t k = 0; k < na; k++) {
		hash_str(s, names[k]);
		hash_u64(s, counts[k]);
	}
	return 0;
}

/* The files under @dir, with their sizes (a prompt's file list) or without (a listing). */
static void digest_files(struct sha256 *s, const struct repo_facts *f, const char *dir, bool sizes)
{
	const struct facts_file *files;
	size_t first = 0, n, all = facts_files(f, &files);

	n = facts_dir_range(f, dir, &first);
	hash_u64(s, sizes ? all : 0); /* a file list says how many files there are */
	hash_u64(s, n);
	for (size_t i = first; i < first + n; i++) {
		hash_str(s, files[i].path);
		hash_str(s, files[i].lang);
		if (sizes) {
			hash_u64(s, files[i].size);
			hash_u64(s, (uint64_t)files[i].binary);
		}
	}
}

static void digest_languages(struct sha256 *s, const struct repo_facts *f)
{
	const struct facts_lang *l;
	size_t n = facts_languages(f, &l);

	for (size_t i = 0; i < n; i++) {
		hash_str(s, l[i].lang);
		hash_u64(s, l[i].files);
		hash_u64(s, l[i].bytes);
	}
}

/* The pages, their relevant files and the steering notes: all a prompt may show of a plan. */
/* The plan, with the files of every page (@slug NULL) or of page @slug only. */
static int digest_plan(struct sha256 *s, const struct plan *p, const char *slug)
{
	bool found = !slug;

	hash_str(s, p->notes);
	for (size_t i = 0; i < p->n; i++) {
		bool files = !slug || !strcmp(p->pages[i].slug, slug);

		hash_str(s, p->pages[i].slug);
		hash_str(s, p->pages[i].title);
		hash_str(s, plan_kind_name(p->pages[i].kind));
		hash_str(s, p->pages[i].arg);
		found = found || files;
		if (!files)
			continue;
		hash_u64(s, p->pages[i].nfiles);
		for (size_t k = 0; k < p->pages[i].nfiles; k++)
			hash_str(s, p->pages[i].files[k]);
	}
	return found ? 0 : -ENOENT; /* the page is not in this plan */
}

int page_deps_fact_digest(const char *name, const struct page_source *src, char out[SHA256_HEX])
{
	bool plan = !strncmp(name, "plan", 4);
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	int r = 0;

	if (!fact_known(name))
		return -EINVAL;
	if (plan ? !src->plan : !src->facts)
		return -ENOENT;
	sha256_init(&s);
	hash_str(&s, name);
	if (plan) {
		r = digest_plan(&s, src->plan, name[4] == ':' ? name + 5 : NULL);
	} else if (!strncmp(name, "log:", 4)) {
		char *end;
		unsigned long shown = strtoul(name + 4, &end, 10);

		if (*end || end == name + 4)
			return -EINVAL;
		digest_log(&s, src->facts, shown);
	} else if (!strcmp(name, "authors")) {
		r = digest_authors(&s, src->facts);
	} else if (!strcmp(name, "languages")) {
		digest_languages(&s, src->facts);
	} else {
		digest_files(&s, src->facts, name + 6, name[0] == 'f');
	}
	sha256_final(&s, d);
	sha256_to_hex(d, out);
	return r;
}

/* ---- resolving and matching ---- */

void page_deps_result_done(struct page_result *res)
{
	for (size_t i = 0; i < res->ndeps; i++)
		free(res->deps[i].name);
	free(res->deps);
	res->deps = NULL;
	res->ndeps = 0;
}

/* What @path is at @snap: its kind and object id. */
static int path_state(struct gitrepo_snapshot *snap, const char *path, enum page_dep_kind *kind,
		      char value[SHA256_HEX])
{
	unsigned mode;
	int r = gitrepo_snapshot_entry(snap, path, &mode, value);

	if (r == -ENOENT) {
		*kind = PAGE_DEP_ABSENT;
		value[0] = '\0';
		return 0;
	}
	if (r == 0)
		*kind = mode == GITREPO_MODE_TREE ? PAGE_DEP_TREE : PAGE_DEP_BLOB;
	return r;
}

static int resolve_one(struct page_dep *dep, bool fact, const char *name,
		       struct gitrepo_snapshot *snap, const struct page_source *src,
		       struct wf_err *err)
{
	int r;

	dep->name = strdup(name);
	if (!dep->name)
		return -ENOMEM;
	if (!fact) {
		r = path_state(snap, name, &dep->kind, dep->value);
		return r < 0 ? wf_err_set(err, r, "cannot look up '%s' at %s", name, src->commit)
			     : 0;
	}
	dep->kind = PAGE_DEP_FACT;
	r = page_deps_fact_digest(name, src, dep->value);
	return r < 0 ? wf_err_set(err, r, "cannot digest fact '%s'", name) : 0;
}

int page_deps_resolve(struct page_result *res, const struct page_deps *d,
		      const struct page_source *src, struct wf_err *err)
{
	struct gitrepo_snapshot *snap;
	bool whole = d->everything || d->n == 0;
	size_t n = d->n + whole;
	int r;

	memset(res, 0, sizeof(*res));
	r = gitrepo_snapshot_open(&snap, src->git_dir, src->commit, err);
	if (r < 0)
		return r;
	res->deps = calloc(n, sizeof(*res->deps));
	if (!res->deps) {
		gitrepo_snapshot_free(snap);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n && r == 0; i++, res->ndeps++)
		r = resolve_one(&res->deps[i], d->v[i].fact, d->v[i].name, snap, src, err);
	if (r == 0 && whole) {
		r = resolve_one(&res->deps[res->ndeps], false, "", snap, src, err);
		res->ndeps++;
	}
	gitrepo_snapshot_free(snap);
	if (r < 0)
		page_deps_result_done(res);
	return r;
}

int page_deps_match_at(const struct page_result *res, struct gitrepo_snapshot *snap,
		       const struct page_source *src)
{
	for (size_t i = 0; i < res->ndeps; i++) {
		const struct page_dep *dep = &res->deps[i];
		enum page_dep_kind kind = PAGE_DEP_FACT;
		char now[SHA256_HEX];
		int r;

		if (dep->kind == PAGE_DEP_FACT)
			r = page_deps_fact_digest(dep->name, src, now);
		else
			r = path_state(snap, dep->name, &kind, now);
		if (r == -ENOENT || r == -EINVAL)
			return 0; /* a fact not known here: no match */
		if (r < 0)
			return r;
		if (kind != dep->kind || strcmp(now, dep->value))
			return 0;
	}
	return 1;
}

int page_deps_match(const struct page_result *res, const struct page_source *src)
{
	struct gitrepo_snapshot *snap;
	struct wf_err err;
	int r = gitrepo_snapshot_open(&snap, src->git_dir, src->commit, &err);

	if (r < 0)
		return r;
	r = page_deps_match_at(res, snap, src);
	gitrepo_snapshot_free(snap);
	return r;
}
