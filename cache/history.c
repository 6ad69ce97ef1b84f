/* SPDX-License-Identifier: MIT */
/*
 * One walk over the whole history, newest first (libgit2 revwalk, time
 * order). Each commit is folded into counters as it goes by and then
 * forgotten: people live in an open-addressing hash table keyed by the
 * name .mailmap resolves (as "git shortlog" groups them), months in a
 * fixed array indexed by month since 1970, releases in a table of the
 * tagged commits filled in when the walk reaches them. Only the newest
 * FACTS_RECENT_COMMITS commits are kept whole. The .mailmap is the one in
 * the walked commit's tree, so a page shows the history as that commit
 * describes it. libgit2 errors become errno in gitrepo_errno().
 */
#include "history.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#define NAME_MAX_BYTES	  200 /* of a name or an email */
#define SUBJECT_MAX_BYTES 300
#define MONTHS		  ((2200 - 1970) * 12)

struct tagged {
	git_oid commit;
	char *tag;
	int64_t tag_time; /* 0 for a lightweight tag */
	bool seen;
};

struct history {
	size_t count;
	int truncated;

	struct facts_commit *recent;
	size_t nrecent;

	struct facts_author *authors; /* open addressing while walking, then packed and sorted */
	size_t nauthors, cap;

	size_t *month_counts; /* MONTHS */
	struct facts_month *months;
	size_t nmonths;

	struct tagged *tags; /* sorted by commit id while walking */
	size_t ntags;
	struct facts_release *releases;
	size_t nreleases;
};

static char *dup_max(const char *s, size_t max)
{
	return strndup(s ? s : "", s ? strnlen(s, max) : 0);
}

/* ---- people ------------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int grow_authors(struct history *h)
{
	size_t cap = h->cap ? h->cap * 2 : 256;
	struct facts_author *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		size_t k;

		if (!h->authors[i].name)
			continue;
		for (k = hash_str(h->authors[i].name) & (cap - 1); t[k].name;
		     k = (k + 1) & (cap - 1))
			;
		t[k] = h->authors[i];
	}
	free(h->authors);
	h->authors = t;
	h->cap = cap;
	return 0;
}

/* Counts one commit of @name <@email> at @when; the walk is newest first. */
static int add_author(struct history *h, const char *name, const char *email, int64_t when)
{
	struct facts_author *a;
	size_t k;

	if (h->nauthors * 2 >= h->cap && h->nauthors < FACTS_MAX_AUTHORS && grow_authors(h) < 0)
		return -ENOMEM;
	for (k = hash_str(name) & (h->cap - 1); h->authors[k].name; k = (k + 1) & (h->cap - 1)) {
		a = &h->authors[k];
		if (!strcmp(a->name, name)) {
			a->commits++;
			a->first = MIN(a->first, when);
			a->last = MAX(a->last, when);
			return 0;
		}
	}
	if (h->nauthors >= FACTS_MAX_AUTHORS)
		return 0;
	a = &h->authors[k];
	a->name = dup_max(name, NAME_MAX_BYTES);
	a->email = dup_max(email, NAME_MAX_BYTES);
	if (!a->name || !a->email) {
		free((char *)a->name);
		free((char *)a->email);
		a->name = NULL;
		return -ENOMEM;
	}
	a->commits = 1;
	a->first = a->last = when;
	h->nauthors++;
	return 0;
}

static int cmp_author(const void *x, const void *y)
{
	const struct facts_author *a = x, *b = y;

	if (a->commits != b->commits)
		return a->commits > b->commits ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* ---- tags -------------------------------------------------------------------- */

static int cmp_tagged(const void *x, const void *y)
{
	const struct tagged *a = x, *b = y;
	int c = git_oid_cmp(&a->commit, &b->commit);

	return c ? c : strcmp(a->tag, b->tag);
}

struct tag_walk {
	struct history *h;
	git_repository *repo;
	size_t cap;
	int err;
};

static int tag_cb(const char *ref, git_oid *oid, void *payload)
{
	struct tag_walk *tw = payload;
	struct history *h = tw->h;
	git_object *obj = NULL, *peeled = NULL;
	struct tagged *t;

	if (h->ntags >= FACTS_MAX_RELEASES)
		return 0;
	if (git_object_lookup(&obj, tw->repo, oid, GIT_OBJECT_ANY) < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		goto out_free; /* a tag of a tree or a blob, or a missing object: no release */
	if (h->ntags == tw->cap) {
		size_t cap = tw->cap ? tw->cap * 2 : 64;
		struct tagged *n = realloc(h->tags, cap * sizeof(*n));

		if (!n) {
			tw->err = -ENOMEM;
			goto out_free;
		}
		h->tags = n;
		tw->cap = cap;
	}
	t = &h->tags[h->ntags];
	t->commit = *git_object_id(peeled);
	t->tag = strdup(ref + (strncmp(ref, "refs/tags/", 10) ? 0 : 10));
	t->tag_time = 0;
	t->seen = false;
	if (git_object_type(obj) == GIT_OBJECT_TAG) {
		const git_signature *s = git_tag_tagger((git_tag *)obj);

		t->tag_time = s ? s->when.time : 0;
	}
	if (!t->tag)
		tw->err = -ENOMEM;
	else
		h->ntags++;
out_free:
	git_object_free(peeled);
	git_object_free(obj);
	return tw->err;
}

/* Marks the tags of commit @id, reached by the walk at @when. */
static void mark_tags(struct history *h, const git_oid *id, int64_t when)
{
	size_t lo = 0, hi = h->ntags;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (git_oid_cmp(&h->tags[mid].commit, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->ntags && !git_oid_cmp(&h->tags[lo].commit, id); lo++) {
		h->tags[lo].seen = true;
		if (!h->tags[lo].tag_time)
			h->tags[lo].tag_time = when;
	}
}

static int cmp_release(const void *x, const void *y)
{
	const struct facts_release *a = x, *b = y;

	if (a->time != b->time)
		return a->time > b->time ? -1 : 1;
	return strcmp(a->tag, b->tag);
}

/* The tags the walk reached become the releases, newest first. */
static int make_releases(struct history *h)
{
	h->releases = calloc(h->ntags + 1, sizeof(*h->releases));
	if (!h->releases)
		return -ENOMEM;
	for (size_t i = 0; i < h->ntags; i++) {
		struct facts_release *r = &h->releases[h->nreleases];
		char hex[GIT_OID_HEXSZ + 1];

		if (!h->tags[i].seen)
			continue;
		git_oid_tostr(hex, sizeof(hex), &h->tags[i].commit);
		r->commit = strdup(hex);
		if (!r->commit)
			return -ENOMEM;
		r->tag = h->tags[i].tag;
		h->tags[i].tag = NULL; /* the release owns it now */
		r->time = h->tags[i].tag_time;
		h->nreleases++;
	}
	qsort(h->releases, h->nreleases, sizeof(*h->releases), cmp_release);
	return 0;
}

/* ---- the walk ------------------------------------------------------------------ */

static int add_recent(struct history *h, const git_oid *id, const char *name, const char *email,
		      int64_t when, const char *subject)
{
	struct facts_commit *c = &h->recent[h->nrecent];
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	c->id = strdup(hex);
	c->author = dup_max(name, NAME_MAX_BYTES);
	c->email = dup_max(email, NAME_MAX_BYTES);
	c->subject = dup_max(subject, SUBJECT_MAX_BYTES);
	c->time = when;
	h->nrecent++; /* counted even when short of memory, so history_free() frees it */
	return c->id && c->author && c->email && c->subject ? 0 : -ENOMEM;
}

static void count_month(struct history *h, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	long idx;

	if (!gmtime_r(&t, &tm))
		return;
	idx = (long)(tm.tm_year - 70) * 12 + tm.tm_mon;
	if (idx >= 0 && idx < MONTHS)
		h->month_counts[idx]++;
}

/* Folds commit @id into the counters: 0, -ENOMEM, or 1 if git cannot read it. */
static int add_commit(struct history *h, git_repository *repo, git_mailmap *mm, const git_oid *id)
{
	const git_signature *a;
	git_signature *res = NULL;
	git_commit *cm;
	const char *name, *email;
	int r;

	if (git_commit_lookup(&cm, repo, id) < 0)
		return 1;
	a = git_commit_author(cm);
	if (mm && git_mailmap_resolve_signature(&res, mm, a) == 0)
		a = res;
	name = a->name && *a->name ? a->name : a->email;
	email = a->email;
	h->count++;
	r = add_author(h, name ? name : "?", email, a->when.time);
	count_month(h, a->when.time);
	if (h->ntags)
		mark_tags(h, id, git_commit_time(cm));
	if (r == 0 && h->nrecent < FACTS_RECENT_COMMITS)
		r = add_recent(h, id, name, email, a->when.time, git_commit_summary(cm));
	git_signature_free(res);
	git_commit_free(cm);
	return r;
}

/* The .mailmap of @cm's tree, or NULL when there is none (or it cannot be read). */
static git_mailmap *commit_mailmap(git_repository *repo, git_commit *cm)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	git_mailmap *mm = NULL;

	if (git_commit_tree(&tree, cm) == 0 && git_tree_entry_bypath(&e, tree, ".mailmap") == 0 &&
	    git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
	    git_tree_entry_filemode(e) != GIT_FILEMODE_LINK &&
	    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) == 0 &&
	    git_blob_rawsize(blob) <= (1u << 20) &&
	    git_mailmap_from_buffer(&mm, git_blob_rawcontent(blob),
				    (size_t)git_blob_rawsize(blob)) < 0)
		mm = NULL;
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return mm;
}

/*
 * 0 or -ENOMEM. A history git cannot read to its end (a shallow or damaged
 * clone) is kept up to there and marked truncated.
 */
static int walk(struct history *h, git_repository *repo, git_commit *cm, git_mailmap *mm)
{
	git_revwalk *w;
	git_oid oid;
	int g, r = 0;

	if (git_revwalk_new(&w, repo) < 0) {
		h->truncated = 1;
		return 0;
	}
	git_revwalk_sorting(w, GIT_SORT_TIME);
	g = git_revwalk_push(w, git_commit_id(cm));
	while (g == 0 && r == 0 && (g = git_revwalk_next(&oid, w)) == 0) {
		if (h->count >= FACTS_MAX_COMMITS) {
			h->truncated = 1;
			break;
		}
		r = add_commit(h, repo, mm, &oid);
	}
	git_revwalk_free(w);
	if (r > 0 || (g < 0 && g != GIT_ITEROVER))
		h->truncated = 1;
	return r < 0 ? r : 0;
}

static int finish(struct history *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->cap; i++)
		if (h->authors[i].name)
			h->authors[n++] = h->authors[i];
	memset(h->authors + n, 0, (h->cap - n) * sizeof(*h->authors)); /* moved, not copied */
	if (n)
		qsort(h->authors, n, sizeof(*h->authors), cmp_author);
	h->months = calloc(MONTHS, sizeof(*h->months));
	if (!h->months)
		return -ENOMEM;
	for (long i = MONTHS - 1; i >= 0; i--)
		if (h->month_counts[i])
			h->months[h->nmonths++] =
			    (struct facts_month){ 1970 + (int)(i / 12), (int)(i % 12) + 1,
						  h->month_counts[i] };
	free(h->month_counts);
	h->month_counts = NULL;
	return make_releases(h);
}

int history_load(struct history **ret, git_repository *repo, git_commit *cm, struct wf_err *err)
{
	struct history *h = calloc(1, sizeof(*h));
	struct tag_walk tw = { .h = h, .repo = repo };
	git_mailmap *mm;
	int r;

	if (!h)
		return wf_err_set(err, -ENOMEM, "out of memory walking history");
	h->recent = calloc(FACTS_RECENT_COMMITS, sizeof(*h->recent));
	h->month_counts = calloc(MONTHS, sizeof(*h->month_counts));
	if (!h->recent || !h->month_counts || grow_authors(h) < 0) {
		history_free(h);
		return wf_err_set(err, -ENOMEM, "out of memory walking history");
	}
	/* no tags (or unreadable ones) only means no releases */
	(void)git_tag_foreach(repo, tag_cb, &tw);
	if (h->ntags)
		qsort(h->tags, h->ntags, sizeof(*h->tags), cmp_tagged);
	mm = commit_mailmap(repo, cm);
	r = tw.err ? tw.err : walk(h, repo, cm, mm);
	git_mailmap_free(mm);
	if (r == 0)
		r = finish(h);
	if (r < 0) {
		history_free(h);
		return wf_err_set(err, r, "out of memory walking history");
	}
	*ret = h;
	return 0;
}

void history_free(struct history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nrecent; i++) {
		free((char *)h->recent[i].id);
		free((char *)h->recent[i].author);
		free((char *)h->recent[i].email);
		free((char *)h->recent[i].subject);
	}
	free(h->recent);
	for (size_t i = 0; i < h->cap; i++) {
		free((char *)h->authors[i].name);
		free((char *)h->authors[i].email);
	}
	free(h->authors);
	free(h->month_counts);
	free(h->months);
	for (size_t i = 0; i < h->ntags; i++)
		free(h->tags[i].tag);
	free(h->tags);
	for (size_t i = 0; i < h->nreleases; i++) {
		free((char *)h->releases[i].tag);
		free((char *)h->releases[i].commit);
	}
	free(h->releases);
	free(h);
}

size_t history_recent(const struct history *h, const struct facts_commit **ret)
{
	*ret = h->recent;
	return h->nrecent;
}

size_t history_authors(const struct history *h, const struct facts_author **ret)
{
	*ret = h->authors;
	return h->nauthors;
}

size_t history_months(const struct history *h, const struct facts_month **ret)
{
	*ret = h->months;
	return h->nmonths;
}

size_t history_releases(const struct history *h, const struct facts_release **ret)
{
	*ret = h->releases;
	return h->nreleases;
}

size_t history_count(const struct history *h)
{
	return h->count;
}

int history_truncated(const struct history *h)
{
	return h->truncated;
}
