/* SPDX-License-Identifier: MIT */
/*
 * Facts computed once per commit and kept on disk: CACHE/facts/<sha256 of
 * (format version, layout, symbols engine, repository url, commit)>.facts.
 * The file is the in-memory image of the facts' arrays with every string
 * pointer replaced by an offset into one string table (strings written
 * once each: a symbol's path is its file's), so loading it is one read()
 * into one block and one pass turning offsets back into pointers; the
 * loaded facts hold that block and nothing else (plus the paths index).
 *
 * What is stored is described by the sections[] table below: an array of
 * struct repo_facts, its count, its element type and that type's string
 * fields (the history's arrays and the crates among them; single strings
 * and numbers in scalars[] and numbers[]). A new array in repo_facts
 * needs a line there to survive a reload; a changed element type changes
 * the layout hash, which changes the file name, so an old file is never
 * misread. A file is verified
 * (magic, version, layout, length, checksum, offsets within the string
 * table) and recomputed when anything is wrong. Writes are atomic
 * (write_atomic()), so two daemons sharing a cache at worst compute the
 * same facts twice.
 *
 * Facts whose symbols fell back from a failed ctags are not stored (the
 * next load tries ctags again); facts made without ctags because none is
 * installed are stored under their own engine name, so installing ctags
 * later takes effect.
 */
#include "facts_int.h"
#include "ctags.h"
#include "fsutil.h"
#include "sha256.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define FACTS_FORMAT_VERSION 2 /* 2: whole history (history.c), crates */
#define FACTS_FILE_MAX	     (1ull << 31)
#define MAX_FIELDS	     6

static const char magic[8] = "WKFACTS";

struct section {
	size_t arr, count; /* offsets in struct repo_facts of the array and its count */
	size_t size;	   /* element size */
	size_t nptr;
	size_t ptr[MAX_FIELDS]; /* offsets of the string fields in an element */
	long len_of_first;	/* offset of a size_t giving ptr[0]'s length, or -1 */
};

#define RF(m)	     offsetof(struct repo_facts, m)
#define SEC(a, c, T) RF(a), RF(c), sizeof(T)

static const struct section sections[] = {
	{ SEC(files, nfiles, struct facts_file),
	  2,
	  { offsetof(struct facts_file, path), offsetof(struct facts_file, lang) },
	  -1 },
	{ SEC(ext, nfiles, struct facts_file_ext), 0, { 0 }, -1 },
	{ SEC(aux, nfiles, struct file_aux), 0, { 0 }, -1 },
	{ SEC(syms, nsyms, struct facts_symbol),
	  6,
	  { offsetof(struct facts_symbol, path), offsetof(struct facts_symbol, kind),
	    offsetof(struct facts_symbol, name), offsetof(struct facts_symbol, scope),
	    offsetof(struct facts_symbol, signature), offsetof(struct facts_symbol, doc) },
	  -1 },
	{ SEC(imps, nimps, struct facts_import),
	  3,
	  { offsetof(struct facts_import, from), offsetof(struct facts_import, spec),
	    offsetof(struct facts_import, target) },
	  -1 },
	{ SEC(crates, ncrates, struct crate_dir),
	  2,
	  { offsetof(struct crate_dir, name), offsetof(struct crate_dir, dir) },
	  -1 },
	{ SEC(recent, nrecent, struct facts_commit),
	  4,
	  { offsetof(struct facts_commit, id), offsetof(struct facts_commit, author),
	    offsetof(struct facts_commit, email), offsetof(struct facts_commit, subject) },
	  -1 },
	{ SEC(authors, nauthors, struct facts_author),
	  2,
	  { offsetof(struct facts_author, name), offsetof(struct facts_author, email) },
	  -1 },
	{ SEC(months, nmonths, struct facts_month), 0, { 0 }, -1 },
	{ SEC(releases, nreleases, struct facts_release),
	  2,
	  { offsetof(struct facts_release, tag), offsetof(struct facts_release, commit) },
	  -1 },
	{ SEC(langs, nlangs, struct facts_lang), 1, { offsetof(struct facts_lang, lang) }, -1 },
	{ SEC(mans, nmans, struct facts_manifest),
	  2,
	  { offsetof(struct facts_manifest, text), offsetof(struct facts_manifest, path) },
	  offsetof(struct facts_manifest, len) },
};

/* The single strings of a repo_facts. */
static const size_t scalars[] = { RF(readme), RF(readme_path), RF(go_module) };
/* Its single numbers (size_t). */
static const size_t numbers[] = { RF(ncommits) };

struct header {
	char magic[8];
	uint32_t version, nsections;
	uint64_t layout;
	uint64_t body_len;
	uint64_t checksum;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* A hash of the layout of everything stored: a changed struct is a new file name. */
static uint64_t layout_hash(void)
{
	uint64_t h = mix(mix(0, sizeof(struct facts_stats)), ARRAY_SIZE(numbers));

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const struct section *s = &sections[i];

		h = mix(mix(mix(h, s->arr), s->size), s->nptr);
		for (size_t k = 0; k < s->nptr; k++)
			h = mix(h, s->ptr[k]);
	}
	return h;
}

static uint64_t checksum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x84222325cbf29ce4ull, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = mix(h, w);
	}
	for (; i < n; i++)
		h = mix(h, b[i]);
	return h;
}

#define AT(base, off, T) (*(T *)((char *)(base) + (off)))

/* ---- writing ------------------------------------------------------------------ */

/* The string table: each distinct string once (open addressing on content). */
struct strtab {
	struct buf data; /* offset 0 is "": offset + 1 = 0 means NULL */
	uint64_t *slots; /* offset + 1 of the string, 0 empty */
	size_t nslots, used;
};

static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int strtab_grow(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 4096;
	uint64_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->nslots; i++) {
		const char *str;
		size_t k;

		if (!t->slots[i])
			continue;
		str = t->data.data + t->slots[i] - 1;
		for (k = str_hash(str, strlen(str)) & (n - 1); s[k]; k = (k + 1) & (n - 1))
			;
		s[k] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->nslots = n;
	return 0;
}

/* Offset + 1 of @s (@n bytes) in the table, adding it; 0 for NULL, or -errno. */
static int64_t strtab_add(struct strtab *t, const char *s, size_t n)
{
	size_t k;
	int r;

	if (!s)
		return 0;
	if ((t->used + 1) * 2 > t->nslots && (r = strtab_grow(t)) < 0)
		return r;
	for (k = str_hash(s, n) & (t->nslots - 1); t->slots[k]; k = (k + 1) & (t->nslots - 1)) {
		const char *c = t->data.data + t->slots[k] - 1;

		if (!strncmp(c, s, n) && c[n] == '\0' && !memchr(s, '\0', n))
			return (int64_t)t->slots[k];
	}
	k = k & (t->nslots - 1);
	t->slots[k] = t->data.len + 1;
	if ((r = buf_add(&t->data, s, n)) < 0 || (r = buf_addc(&t->data, '\0')) < 0)
		return r;
	t->used++;
	return (int64_t)t->slots[k];
}

static int pad8(struct buf *b)
{
	static const char zero[8];

	return buf_add(b, zero, (8 - b->len % 8) % 8);
}

static int put_u64(struct buf *b, uint64_t v)
{
	return buf_add(b, &v, sizeof(v));
}

/* One section: its count, its byte length, its elements with strings as offsets. */
static int put_section(struct buf *b, struct strtab *t, const struct repo_facts *f,
		       const struct section *s)
{
	const char *arr = AT(f, s->arr, const char *);
	size_t n = AT(f, s->count, size_t), at;
	int r = put_u64(b, n) ?: put_u64(b, n * s->size);

	at = b->len;
	if (r == 0 && n)
		r = buf_add(b, arr, n * s->size);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *el = b->data + at + i * s->size;

		for (size_t k = 0; r == 0 && k < s->nptr; k++) {
			const char *str = AT(el, s->ptr[k], const char *);
			size_t len = k == 0 && s->len_of_first >= 0
					 ? AT(el, (size_t)s->len_of_first, size_t)
				     : str ? strlen(str)
					   : 0;
			int64_t off = strtab_add(t, str, len);

			r = off < 0 ? (int)off : 0;
			AT(el, s->ptr[k], uint64_t) = (uint64_t)off;
		}
	}
	return r ?: pad8(b);
}

static int image_build(const struct repo_facts *f, struct buf *b)
{
	struct strtab t = { .data = { .max = FACTS_FILE_MAX } };
	struct header h = { .version = FACTS_FORMAT_VERSION,
			    .nsections = ARRAY_SIZE(sections),
			    .layout = layout_hash() };
	int r = buf_addc(&t.data, '\0');

	memcpy(h.magic, magic, sizeof(magic));
	if (r == 0)
		r = buf_add(b, &h, sizeof(h));
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(sections); i++)
		r = put_section(b, &t, f, &sections[i]);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(scalars); i++) {
		const char *s = AT(f, scalars[i], const char *);
		int64_t off = strtab_add(&t, s, s ? strlen(s) : 0);

		r = off < 0 ? (int)off : put_u64(b, (uint64_t)off);
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(numbers); i++)
		r = put_u64(b, AT(f, numbers[i], size_t));
	if (r == 0)
		r = buf_add(b, &f->stats, sizeof(f->stats)) ?: pad8(b);
	if (r == 0)
		r = put_u64(b, t.data.len) ?: buf_add(b, t.data.data, t.data.len) ?: pad8(b);
	if (r == 0) {
		struct header *hp = (struct header *)b->data;

		hp->body_len = b->len - sizeof(h);
		hp->checksum = checksum(b->data + sizeof(h), hp->body_len);
	}
	buf_done(&t.data);
	free(t.slots);
	return r;
}

/* ---- reading ------------------------------------------------------------------- */

struct cursor {
	char *p, *end;
};

static void *take(struct cursor *c, size_t n)
{
	char *p = c->p;

	n = (n + 7) & ~(size_t)7;
	if ((size_t)(c->end - c->p) < n)
		return NULL;
	c->p += n;
	return p;
}

static bool take_u64(struct cursor *c, uint64_t *v)
{
	void *p = take(c, 8);

	if (p)
		memcpy(v, p, 8);
	return p != NULL;
}

/* Turns the offset in the pointer slot at @slot into a pointer into @tab. */
static bool relocate(void *slot, const char *tab, uint64_t tab_len)
{
	uint64_t v;

	memcpy(&v, slot, sizeof(v));
	if (v > tab_len)
		return false;
	AT(slot, 0, const char *) = v ? tab + v - 1 : NULL;
	return true;
}

/* Points @f's arrays into @img (already verified as a whole); false if it does not add up. */
static bool image_map(struct repo_facts *f, char *img, size_t len)
{
	struct cursor c = { img + sizeof(struct header), img + len };
	void *slots[ARRAY_SIZE(sections)];
	uint64_t n, bytes, tab_len, sc[ARRAY_SIZE(scalars)];
	const char *tab;
	void *stats;

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const struct section *s = &sections[i];

		if (!take_u64(&c, &n) || !take_u64(&c, &bytes) || n > FACTS_FILE_MAX ||
		    bytes != n * s->size || !(slots[i] = take(&c, bytes)))
			return false;
		for (size_t k = 0; k < i; k++) /* arrays sharing a count agree on it */
			if (sections[k].count == s->count && AT(f, s->count, size_t) != n)
				return false;
		AT(f, s->arr, void *) = n ? slots[i] : NULL;
		AT(f, s->count, size_t) = n;
	}
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++)
		if (!take_u64(&c, &sc[i]))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		if (!take_u64(&c, &n))
			return false;
		AT(f, numbers[i], size_t) = (size_t)n;
	}
	if (!(stats = take(&c, sizeof(f->stats))) || !take_u64(&c, &tab_len) ||
	    !(tab = take(&c, tab_len)) || !tab_len || tab[tab_len - 1] != '\0')
		return false;
	memcpy(&f->stats, stats, sizeof(f->stats));
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const struct section *s = &sections[i];
		size_t cnt = AT(f, s->count, size_t);

		for (size_t e = 0; e < cnt; e++)
			for (size_t k = 0; k < s->nptr; k++)
				if (!relocate((char *)slots[i] + e * s->size + s->ptr[k], tab,
					      tab_len))
					return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		if (sc[i] > tab_len)
			return false;
		AT(f, scalars[i], const char *) = sc[i] ? tab + sc[i] - 1 : NULL;
	}
	for (size_t i = 0; i < f->nfiles; i++)
		if (!f->files[i].path || f->aux[i].sym_first + f->aux[i].sym_n > f->nsyms)
			return false;
	return true;
}

/* Facts from the file at @path: 0, -ENOENT, -EBADMSG (not a good facts file), -ENOMEM. */
static int image_load(struct repo_facts **ret, const char *path, const char *git_dir,
		      const char *commit)
{
	struct repo_facts *f;
	struct header h;
	char *img = NULL;
	size_t len = 0;
	int r = read_file(path, FACTS_FILE_MAX, &img, &len);

	if (r < 0)
		return r == -EFBIG ? -EBADMSG : r;
	if (len < sizeof(h) || (memcpy(&h, img, sizeof(h)), memcmp(h.magic, magic, 8)) ||
	    h.version != FACTS_FORMAT_VERSION || h.nsections != ARRAY_SIZE(sections) ||
	    h.layout != layout_hash() || h.body_len != len - sizeof(h) ||
	    h.checksum != checksum(img + sizeof(h), h.body_len)) {
		free(img);
		return -EBADMSG;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(img);
		return -ENOMEM;
	}
	f->refs = 1;
	f->image = img;
	f->git_dir = strdup(git_dir);
	f->commit = strdup(commit);
	if (!image_map(f, img, len))
		r = -EBADMSG;
	else if (!f->git_dir || !f->commit || !(f->paths = malloc(f->nfiles * sizeof(char *) + 1)))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < f->nfiles; i++)
		f->paths[i] = f->files[i].path;
	if (r < 0) {
		facts_unref(f);
		return r;
	}
	*ret = f;
	return 0;
}

/* ---- facts_open ------------------------------------------------------------------ */

static bool full_id(const char *commit)
{
	size_t n = strspn(commit, "0123456789abcdef");

	return n == 40 && !commit[n];
}

static int facts_path(char *out, size_t n, const struct facts_opts *o, const char *commit,
		      const char *engine)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], head[64];
	struct sha256 s;

	snprintf(head, sizeof(head), "facts %d %016llx ", FACTS_FORMAT_VERSION,
		 (unsigned long long)layout_hash());
	sha256_init(&s);
	sha256_update(&s, head, strlen(head));
	sha256_update(&s, engine, strlen(engine) + 1);
	sha256_update(&s, o->url ? o->url : "", strlen(o->url ? o->url : "") + 1);
	sha256_update(&s, commit, strlen(commit));
	sha256_final(&s, d);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return pathf(out, n, "%s/facts/%s.facts", o->cache_dir, hex);
}

static int store_write(const struct repo_facts *f, const char *path)
{
	struct buf b;
	char dir[4096], *slash;
	int r;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	buf_init(&b, FACTS_FILE_MAX);
	r = image_build(f, &b);
	if (r == 0)
		r = write_atomic(path, NULL, 0, b.data, b.len, 0600);
	buf_done(&b);
	return r;
}

int facts_open(struct repo_facts **ret, const struct facts_opts *o, const char *git_dir,
	       const char *commit, struct wf_err *err)
{
	const char *ctags = o && o->ctags ? o->ctags : CTAGS_PATH;
	const char *engine = *ctags && access(ctags, X_OK) == 0 ? "ctags" : "scanners";
	struct repo_facts *f = NULL, *img = NULL;
	char path[4096];
	int r;

	if (!o || !o->cache_dir || !full_id(commit) ||
	    facts_path(path, sizeof(path), o, commit, engine) < 0)
		return facts_compute(ret, git_dir, commit, ctags, err);
	if (image_load(ret, path, git_dir, commit) == 0)
		return 0;
	r = facts_compute(&f, git_dir, commit, ctags, err);
	if (r < 0)
		return r;
	/* kept only when complete; then the compact copy replaces the computed one */
	if (!f->stats.ctags_error[0] && store_write(f, path) == 0 &&
	    image_load(&img, path, git_dir, commit) == 0) {
		img->stats = f->stats;
		facts_unref(f);
		f = img;
	}
	*ret = f;
	return 0;
}

/* ---- a few facts kept in memory --------------------------------------------------- */

struct lru_entry {
	char *url;
	struct repo_facts *f;
};

struct facts_lru {
	pthread_mutex_t lock;
	struct lru_entry *e; /* most recent first; lock */
	size_t n, cap;
};

int facts_lru_new(struct facts_lru **ret, size_t cap)
{
	struct facts_lru *l = calloc(1, sizeof(*l));

	if (!l || !(l->e = calloc(cap + 1, sizeof(*l->e)))) {
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->cap = cap;
	*ret = l;
	return 0;
}

void facts_lru_free(struct facts_lru *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].url);
		facts_unref(l->e[i].f);
	}
	free(l->e);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

struct repo_facts *facts_lru_get(struct facts_lru *l, const char *url, const char *commit)
{
	struct repo_facts *f = NULL;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		struct lru_entry e = l->e[i];

		if (strcmp(e.url, url) || strcmp(facts_commit_id(e.f), commit))
			continue;
		memmove(l->e + 1, l->e, i * sizeof(*l->e));
		l->e[0] = e;
		f = facts_ref(e.f);
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return f;
}

void facts_lru_put(struct facts_lru *l, const char *url, struct repo_facts *f)
{
	struct lru_entry e = { strdup(url), facts_ref(f) }, old = { NULL, NULL };
	size_t i;

	if (!e.url || !l->cap) {
		free(e.url);
		facts_unref(f);
		return;
	}
	pthread_mutex_lock(&l->lock);
	/* the url's older commit goes first, else the least recent */
	for (i = 0; i < l->n && strcmp(l->e[i].url, url); i++)
		;
	if (i == l->n && l->n == l->cap)
		i = l->n - 1;
	if (i < l->n) {
		old = l->e[i];
		memmove(l->e + i, l->e + i + 1, (l->n - i - 1) * sizeof(*l->e));
		l->n--;
	}
	memmove(l->e + 1, l->e, l->n * sizeof(*l->e));
	l->e[0] = e;
	l->n++;
	pthread_mutex_unlock(&l->lock);
	free(old.url);
	facts_unref(old.f); /* outside the lock: the last reference frees */
}

void facts_store_sweep(const char *cache_dir)
{
	char dir[4096];

	if (pathf(dir, sizeof(dir), "%s/facts", cache_dir) == 0)
		remove_stale_temps(dir, NULL); /* only temps no live process holds */
}
