/* SPDX-License-Identifier: MIT */
/*
 * Manifests of pages (see page_manifest.h). The encoding is line text,
 * every field escaped so that a line is one record whatever a path holds:
 *
 *   wikifs-manifest 1 RECIPE
 *   result COMMIT TIME
 *   entry KEY                  (one to PAGE_MANIFEST_ENTRIES, newest first)
 *   dep blob|tree|absent|fact VALUE NAME      (VALUE "-" for absent)
 *   ...
 *   end
 *
 * Integrity is the page cache's (a manifest is an entry with a checksum
 * header); the parser is strict anyway, and checks the recipe, so a file
 * that is not this recipe's manifest is never believed.
 */
#include "page_manifest.h"
#include "gitrepo.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_MAGIC "wikifs-manifest 1"

void page_manifest_done(struct page_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		page_deps_result_done(&m->results[i]);
	m->n = 0;
}

/* ---- encoding ---- */

static const char *const kind_names[] = { "blob", "tree", "absent", "fact" };

/* Bytes that would end a field or a line, and '%', as %XX. */
static int add_escaped(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;

		r = c <= 0x20 || c == 0x7f || c == '%' ? buf_printf(b, "%%%02x", c)
						       : buf_addc(b, (char)c);
	}
	return r;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The escaped field @s, decoded in place. -EBADMSG if malformed. */
static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (unhex(s[1]) < 0 || unhex(s[2]) < 0)
			return -EBADMSG;
		*o++ = (char)(unhex(s[1]) * 16 + unhex(s[2]));
		if (!o[-1])
			return -EBADMSG;
		s += 2;
	}
	*o = '\0';
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (unhex(s[i]) < 0)
			return false;
	return i == n;
}

int page_manifest_encode(const struct page_manifest *m, struct buf *out)
{
	int r = buf_printf(out, "%s %s\n", MANIFEST_MAGIC, m->recipe.hex);

	for (size_t i = 0; i < m->n && r == 0; i++) {
		const struct page_result *res = &m->results[i];

		r = buf_printf(out, "result %s %lld\n", res->commit, (long long)res->time);
		for (size_t j = 0; j < res->nentries && r == 0; j++)
			r = buf_printf(out, "entry %s\n", res->entries[j].hex);
		for (size_t j = 0; j < res->ndeps && r == 0; j++) {
			const struct page_dep *d = &res->deps[j];

			r = buf_printf(out, "dep %s %s ", kind_names[d->kind],
				       d->kind == PAGE_DEP_ABSENT ? "-" : d->value);
			r = r ?: add_escaped(out, d->name);
			r = r ?: buf_addc(out, '\n');
		}
		r = r ?: buf_adds(out, "end\n");
	}
	return r;
}

static int parse_kind(const char *s, enum page_dep_kind *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (!strcmp(s, kind_names[i])) {
			*k = (enum page_dep_kind)i;
			return 0;
		}
	}
	return -EBADMSG;
}

/* "dep KIND VALUE NAME" (@line past "dep "), appended to @res. */
static int parse_dep(struct page_result *res, char *line)
{
	char *kind = line, *value, *name;
	struct page_dep d = { 0 };
	void *v;

	value = strchr(kind, ' ');
	if (!value)
		return -EBADMSG;
	*value++ = '\0';
	name = strchr(value, ' ');
	if (!name)
		return -EBADMSG;
	*name++ = '\0';
	if (parse_kind(kind, &d.kind) < 0 || unescape(name) < 0)
		return -EBADMSG;
	if (d.kind == PAGE_DEP_ABSENT ? strcmp(value, "-")
				      : !is_hex(value, d.kind == PAGE_DEP_FACT ? 64 : 40))
		return -EBADMSG;
	if (d.kind != PAGE_DEP_ABSENT)
		snprintf(d.value, sizeof(d.value), "%s", value);
	if (res->ndeps >= PAGE_DEPS_MAX + 1)
		return -EBADMSG;
	v = realloc(res->deps, (res->ndeps + 1) * sizeof(*res->deps));
	if (!v)
		return -ENOMEM;
	res->deps = v;
	d.name = strdup(name);
	if (!d.name)
		return -ENOMEM;
	res->deps[res->ndeps++] = d;
	return 0;
}

/* One line inside a result. 1 at its "end". */
static int parse_result_line(struct page_result *res, char *line)
{
	if (!strcmp(line, "end"))
		return res->nentries ? 1 : -EBADMSG;
	if (!strncmp(line, "entry ", 6)) {
		if (res->nentries >= PAGE_MANIFEST_ENTRIES || !is_hex(line + 6, 64))
			return -EBADMSG;
		memcpy(res->entries[res->nentries++].hex, line + 6, SHA256_HEX);
		return 0;
	}
	if (!strncmp(line, "dep ", 4))
		return parse_dep(res, line + 4);
	return -EBADMSG;
}

static int parse_lines(struct page_manifest *m, char *text)
{
	struct page_result *res = NULL;
	char *save = NULL, *line;
	int r = 0;

	for (line = strtok_r(text, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char commit[41];
		long long t;
		int used = 0;

		if (res) {
			r = parse_result_line(res, line);
			if (r == 1)
				res = NULL;
			continue;
		}
		if (m->n >= PAGE_MANIFEST_RESULTS ||
		    sscanf(line, "result %40s %lld%n", commit, &t, &used) != 2 || line[used] ||
		    !is_hex(commit, 40))
			return -EBADMSG;
		res = &m->results[m->n++];
		memset(res, 0, sizeof(*res));
		memcpy(res->commit, commit, sizeof(commit));
		res->time = t;
	}
	return r < 0 ? r : res ? -EBADMSG : 0;
}

int page_manifest_decode(struct page_manifest *m, const struct page_key *recipe, const char *text,
			 size_t len)
{
	size_t hl = strlen(MANIFEST_MAGIC) + 1 + SHA256_HEX;
	_cleanup_free_ char *copy = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	m->recipe = *recipe;
	if (len < hl || memchr(text, '\0', len) ||
	    memcmp(text, MANIFEST_MAGIC " ", hl - SHA256_HEX) ||
	    memcmp(text + hl - SHA256_HEX, recipe->hex, SHA256_HEX - 1) || text[hl - 1] != '\n')
		return -EBADMSG;
	copy = strndup(text + hl, len - hl);
	if (!copy)
		return -ENOMEM;
	r = parse_lines(m, copy);
	if (r < 0)
		page_manifest_done(m);
	return r;
}

/* ---- the stored manifest ---- */

void page_manifest_key(struct page_key *k, const struct page_key *recipe)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];

	sha256_init(&s);
	sha256_update(&s, MANIFEST_MAGIC, sizeof(MANIFEST_MAGIC));
	sha256_update(&s, recipe->hex, SHA256_HEX);
	sha256_final(&s, d);
	sha256_to_hex(d, k->hex);
}

int page_manifest_load(struct page_cache *pc, const struct page_key *recipe,
		       struct page_manifest *m)
{
	_cleanup_free_ char *text = NULL;
	struct page_key mk;
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	page_manifest_key(&mk, recipe);
	r = page_cache_read(pc, &mk, PAGE_MANIFEST_MAX, &text, &len);
	if (r == 0)
		r = page_manifest_decode(m, recipe, text, len);
	if (r == -EBADMSG || r == -EFBIG) {
		page_cache_remove(pc, &mk); /* not a manifest we can trust: made again */
		r = -ENOENT;
	}
	return r < 0 ? (r == -ENOMEM ? r : -ENOENT) : 0;
}

static int manifest_store(struct page_cache *pc, const struct page_manifest *m)
{
	struct page_key mk;
	struct buf b;
	int r;

	page_manifest_key(&mk, &m->recipe);
	buf_init(&b, PAGE_MANIFEST_MAX);
	r = page_manifest_encode(m, &b);
	if (r == 0 && m->n == 0)
		page_cache_remove(pc, &mk);
	else if (r == 0)
		r = page_cache_commit(pc, &mk, b.data, b.len);
	if (r == 0 && m->n)
		page_cache_unpin(pc, &mk);
	buf_done(&b);
	return r;
}

static bool same_deps(const struct page_result *a, const struct page_result *b)
{
	if (a->ndeps != b->ndeps)
		return false;
	for (size_t i = 0; i < a->ndeps; i++)
		if (a->deps[i].kind != b->deps[i].kind ||
		    strcmp(a->deps[i].name, b->deps[i].name) ||
		    strcmp(a->deps[i].value, b->deps[i].value))
			return false;
	return true;
}

/* Puts @entry first in @res's entries (once), keeping the newest. */
static void entry_push(struct page_result *res, const struct page_key *entry)
{
	size_t i = 0;

	while (i < res->nentries && strcmp(res->entries[i].hex, entry->hex))
		i++;
	if (i == res->nentries) {
		if (res->nentries < PAGE_MANIFEST_ENTRIES)
			res->nentries++;
		i = res->nentries - 1; /* the oldest goes when full */
	}
	memmove(&res->entries[1], &res->entries[0], i * sizeof(res->entries[0]));
	res->entries[0] = *entry;
}

/* Moves result @i to the front. */
static void result_to_front(struct page_manifest *m, size_t i)
{
	struct page_result r = m->results[i];

	memmove(&m->results[1], &m->results[0], i * sizeof(m->results[0]));
	m->results[0] = r;
}

/*
 * Adds @res (taking its deps) with @entry, or @entry to its twin, under the
 * manifest's lock. @drop instead removes the result @res's twin.
 */
static int manifest_update(struct page_cache *pc, const struct page_key *recipe,
			   struct page_result *res, const struct page_key *entry, bool drop)
{
	struct page_manifest m;
	size_t i = 0;
	int fd, r;
	struct page_key mk;

	page_manifest_key(&mk, recipe);
	r = page_cache_lock(pc, &mk, &fd);
	if (r < 0)
		return r;
	r = page_manifest_load(pc, recipe, &m);
	if (r == -ENOENT) {
		m.recipe = *recipe;
		m.n = 0;
		r = 0;
	}
	if (r < 0)
		goto out_unlock;
	while (i < m.n && !same_deps(&m.results[i], res))
		i++;
	if (drop && i < m.n) {
		page_deps_result_done(&m.results[i]);
		memmove(&m.results[i], &m.results[i + 1], (m.n - i - 1) * sizeof(m.results[0]));
		m.n--;
	} else if (!drop && i < m.n) {
		entry_push(&m.results[i], entry);
		result_to_front(&m, i);
	} else if (!drop) {
		if (m.n == PAGE_MANIFEST_RESULTS)
			page_deps_result_done(&m.results[--m.n]); /* the oldest goes */
		m.results[m.n] = *res;
		memset(res, 0, sizeof(*res)); /* taken */
		m.results[m.n].nentries = 0;
		entry_push(&m.results[m.n], entry);
		result_to_front(&m, m.n++);
	}
	r = manifest_store(pc, &m);
	page_manifest_done(&m);
out_unlock:
	page_cache_unlock(fd);
	return r;
}

int page_manifest_record(struct page_cache *pc, const struct page_key *recipe,
			 const struct page_deps *d, const struct page_source *src,
			 const struct page_key *entry, struct wf_err *err)
{
	struct page_result res;
	int r = page_deps_resolve(&res, d, src, err);

	if (r < 0)
		return r;
	snprintf(res.commit, sizeof(res.commit), "%s", src->commit);
	res.time = (int64_t)time(NULL);
	r = manifest_update(pc, recipe, &res, entry, false);
	if (r < 0)
		wf_err_set(err, r, "cannot write the page's manifest: %s", strerror(-r));
	page_deps_result_done(&res);
	return r;
}

/*
 * Commits the verified bytes of one of @res's entries (*@from) as @entry.
 * 1, 0 (none left), -errno.
 */
static int copy_entry(struct page_cache *pc, const struct page_result *res,
		      const struct page_key *entry, struct page_key *from)
{
	for (size_t j = 0; j < res->nentries; j++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		int r;

		if (!strcmp(res->entries[j].hex, entry->hex))
			continue; /* the entry asked for is what is missing */
		r = page_cache_read(pc, &res->entries[j], PAGE_MANIFEST_MAX * 4, &data, &len);
		if (r == -ENOENT || r == -EFBIG)
			continue; /* evicted or found corrupt (and removed) */
		if (r < 0)
			return r;
		r = page_cache_commit(pc, entry, data, len);
		*from = res->entries[j];
		return r < 0 ? r : 1;
	}
	return 0;
}

int page_manifest_reuse(struct page_cache *pc, const struct page_key *recipe,
			const struct page_source *src, const struct page_key *entry,
			struct page_key *from, char made_at[41])
{
	struct gitrepo_snapshot *snap = NULL;
	struct page_manifest m;
	struct wf_err err;
	int r = page_manifest_load(pc, recipe, &m);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	r = gitrepo_snapshot_open(&snap, src->git_dir, src->commit, &err);
	for (size_t i = 0; i < m.n && r == 0; i++) {
		r = page_deps_match_at(&m.results[i], snap, src);
		if (r != 1)
			continue;
		r = copy_entry(pc, &m.results[i], entry, from);
		if (r == 1) {
			snprintf(made_at, 41, "%s", m.results[i].commit);
			manifest_update(pc, recipe, &m.results[i], entry, false); /* best effort */
		} else if (r == 0) {
			manifest_update(pc, recipe, &m.results[i], entry, true); /* bytes gone */
		}
	}
	gitrepo_snapshot_free(snap);
	page_manifest_done(&m);
	return r;
}

int page_manifest_entry_text(struct page_cache *pc, const struct page_key *recipe,
			     const struct page_key *entry, struct buf *out)
{
	struct page_manifest m, one = { .recipe = *recipe, .n = 1 };
	int r = page_manifest_load(pc, recipe, &m);

	for (size_t i = 0; i < m.n && r == 0; i++) {
		const struct page_result *res = &m.results[i];

		for (size_t j = 0; j < res->nentries; j++) {
			if (strcmp(res->entries[j].hex, entry->hex))
				continue;
			one.results[0] = *res; /* shares the deps: not freed twice */
			one.results[0].nentries = 1;
			one.results[0].entries[0] = *entry;
			r = page_manifest_encode(&one, out);
			page_manifest_done(&m);
			return r;
		}
	}
	page_manifest_done(&m);
	return r < 0 ? r : -ENOENT;
}

int page_manifest_match(const struct page_manifest *m, const struct page_source *src)
{
	struct gitrepo_snapshot *snap = NULL;
	struct wf_err err;
	int r = gitrepo_snapshot_open(&snap, src->git_dir, src->commit, &err);
	size_t i = 0;

	for (; i < m->n && r == 0; i++)
		r = page_deps_match_at(&m->results[i], snap, src);
	gitrepo_snapshot_free(snap);
	return r < 0 ? r : r == 1 ? (int)i - 1 : -ENOENT;
}

int page_manifest_adopt(struct page_cache *pc, const struct page_key *recipe,
			struct page_result *res, const struct page_key *entry)
{
	return manifest_update(pc, recipe, res, entry, false);
}

int page_manifest_latest(struct page_cache *pc, const struct page_key *recipe,
			 struct page_key *entry, char made_at[41])
{
	struct page_manifest m;
	int r = page_manifest_load(pc, recipe, &m);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < m.n && r < 0; i++) {
		for (size_t j = 0; j < m.results[i].nentries && r < 0; j++) {
			if (page_cache_lookup(pc, &m.results[i].entries[j], NULL) == 0) {
				*entry = m.results[i].entries[j];
				snprintf(made_at, 41, "%s", m.results[i].commit);
				r = 0;
			}
		}
	}
	page_manifest_done(&m);
	return r;
}

int page_manifest_sources(struct page_cache *pc, const struct page_key *recipe,
			  const struct page_key *entry, struct buf *out)
{
	struct page_manifest m;
	int r = page_manifest_load(pc, recipe, &m);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < m.n && r == -ENOENT; i++) {
		const struct page_result *res = &m.results[i];

		for (size_t j = 0; j < res->nentries && r == -ENOENT; j++)
			if (!strcmp(res->entries[j].hex, entry->hex))
				r = 0;
		for (size_t k = 0; k < res->ndeps && r == 0; k++) {
			const struct page_dep *d = &res->deps[k];

			r = buf_printf(out, "%s %.12s ", kind_names[d->kind],
				       d->kind == PAGE_DEP_ABSENT ? "-" : d->value);
			r = r
				?: add_escaped(
				       out, d->kind != PAGE_DEP_FACT && !*d->name ? "/" : d->name);
			r = r ?: buf_addc(out, '\n');
		}
	}
	page_manifest_done(&m);
	return r;
}
