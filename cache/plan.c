/* SPDX-License-Identifier: MIT */
/*
 * Plan objects, slug sanitising and the on-disk plan cache. The builtin
 * planner itself lives in planner.c; the LLM planner in gen/. A cached plan
 * is a small text file, one page per line,
 * "kind<TAB>slug<TAB>title<TAB>arg[<TAB>file]...", after a header line with
 * the format version, commit and planner and an optional "notes<TAB>TEXT"
 * line (backslash escapes for newlines and tabs); it is written atomically
 * and ignored (re-planned) when malformed or of another version.
 */
#include "plan.h"
#include "buf.h"
#include "fsutil.h"
#include "sha256.h"
#include "utf8.h"
#include "util.h"

#include <stdbool.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define PLAN_CACHE_VERSION "wikifs-plan 2"

static const char *const kind_names[PAGE_KIND_MAX] = {
	[PAGE_HOME] = "home",
	[PAGE_SIDEBAR] = "sidebar",
	[PAGE_ARCHITECTURE] = "architecture",
	[PAGE_MODULE] = "module",
	[PAGE_BUILD] = "build",
	[PAGE_HISTORY] = "history",
	[PAGE_CONTRIBUTORS] = "contributors",
	[PAGE_CUSTOM] = "custom",
	[PAGE_GROUP_HOME] = "group-home",
	[PAGE_GROUP_ARCH] = "group-architecture",
	[PAGE_GROUP_PAIR] = "group-pair",
};

const char *plan_kind_name(enum page_kind k)
{
	return (unsigned)k < PAGE_KIND_MAX ? kind_names[k] : "?";
}

int plan_kind_parse(const char *s, enum page_kind *ret)
{
	for (int i = 0; i < PAGE_KIND_MAX; i++) {
		if (!strcmp(s, kind_names[i])) {
			*ret = (enum page_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

int plan_new(struct plan **ret, const char *commit, const char *planner)
{
	struct plan *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->refs = 1;
	p->commit = strdup(commit);
	p->planner = strdup(planner);
	if (!p->commit || !p->planner) {
		plan_unref(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

int plan_find(const struct plan *p, const char *slug)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->pages[i].slug, slug))
			return (int)i;
	return -1;
}

int plan_add(struct plan *p, const char *slug, const char *title, enum page_kind kind,
	     const char *arg)
{
	struct plan_page *pages, *pg;

	if (p->n >= PLAN_MAX_PAGES)
		return -E2BIG;
	if (plan_find(p, slug) >= 0)
		return -EEXIST;
	pages = realloc(p->pages, (p->n + 1) * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	p->pages = pages;
	pg = &pages[p->n];
	pg->slug = strdup(slug);
	pg->title = strdup(title ? title : slug);
	pg->kind = kind;
	pg->arg = arg ? strdup(arg) : NULL;
	pg->nfiles = 0;
	pg->files = NULL;
	if (!pg->slug || !pg->title || (arg && !pg->arg)) {
		free(pg->slug);
		free(pg->title);
		free(pg->arg);
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

/* A relative path without ".", ".." or empty components, nor control characters. */
static bool path_usable(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > PLAN_MAX_PATH_LEN || path[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return false;
	for (const char *c = path; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && !strncmp(c, "..", 2)))
			return false;
	}
	return true;
}

int plan_page_add_file(struct plan *p, size_t idx, const char *path)
{
	struct plan_page *pg = &p->pages[idx];
	char **files;

	if (pg->nfiles >= PLAN_MAX_PAGE_FILES || !path_usable(path))
		return 1;
	for (size_t i = 0; i < pg->nfiles; i++)
		if (!strcmp(pg->files[i], path))
			return 1;
	files = realloc(pg->files, (pg->nfiles + 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	pg->files = files;
	files[pg->nfiles] = strdup(path);
	if (!files[pg->nfiles])
		return -ENOMEM;
	pg->nfiles++;
	return 0;
}

int plan_set_notes(struct plan *p, const char *notes)
{
	struct buf b;

	free(p->notes);
	p->notes = NULL;
	if (!notes || !*notes)
		return 0;
	buf_init(&b, SIZE_MAX);
	if (utf8_sanitize(&b, notes, strlen(notes), NULL, PLAN_MAX_NOTES) < 0) {
		buf_done(&b);
		return -ENOMEM;
	}
	p->notes = buf_steal(&b, NULL);
	return p->notes ? 0 : -ENOMEM;
}

char *plan_slugify(const char *name)
{
	char *out = malloc(PLAN_MAX_SLUG_LEN + 1);
	size_t n = 0, left = strlen(name), len;
	bool dash = false;

	if (!out)
		return NULL;
	for (const char *s = name; left > 0 && n < PLAN_MAX_SLUG_LEN; s += len, left -= len) {
		unsigned char c = (unsigned char)*s;
		uint32_t cp;

		len = utf8_decode(s, left, &cp);
		if (isalnum(c) || c == '_' || (c == '.' && n > 0 && out[n - 1] != '.')) {
			out[n++] = (char)c;
			dash = false;
		} else if (c >= 0x80) {
			/* keep characters whole, or stop before a cut one */
			if (cp == UTF8_INVALID)
				continue; /* invalid byte: drop it */
			if (n + len > PLAN_MAX_SLUG_LEN)
				break;
			memcpy(out + n, s, len);
			n += len;
			dash = false;
		} else if (n > 0 && !dash) {
			out[n++] = '-'; /* spaces, slashes, control characters, punctuation */
			dash = true;
		}
	}
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
		n--;
	out[n] = '\0';
	if (n == 0 || !strcmp(out, ".") || !strcmp(out, "..")) {
		free(out);
		return NULL;
	}
	return out;
}

struct plan *plan_ref(struct plan *p)
{
	if (p)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void plan_unref(struct plan *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->pages[i].slug);
		free(p->pages[i].title);
		free(p->pages[i].arg);
		for (size_t k = 0; k < p->pages[i].nfiles; k++)
			free(p->pages[i].files[k]);
		free(p->pages[i].files);
	}
	free(p->pages);
	free(p->notes);
	free(p->commit);
	free(p->planner);
	free(p);
}

static char *plan_cache_path(const char *cache_dir, const char *url, const char *commit,
			     const char *planner)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX], *path;

	sha256_init(&s);
	sha256_update(&s, PLAN_CACHE_VERSION, sizeof(PLAN_CACHE_VERSION));
	sha256_update(&s, url, strlen(url) + 1);
	sha256_update(&s, commit, strlen(commit) + 1);
	sha256_update(&s, planner, strlen(planner) + 1);
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	if (asprintf(&path, "%s/plans/%s", cache_dir, hex) < 0)
		return NULL;
	return path;
}

/* Tabs and newlines cannot appear in slugs; titles and args have them replaced. */
static void add_field(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_addc(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

/* The notes on one line: backslash, newline and tab escaped, carriage returns dropped. */
static void add_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			buf_adds(b, "\\n");
		else if (*s == '\t')
			buf_adds(b, "\\t");
		else if (*s == '\\')
			buf_adds(b, "\\\\");
		else if (*s != '\r')
			buf_addc(b, *s);
	}
}

/* Undoes add_escaped() in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* One cached page line, cut at its tabs: kind, slug, title, arg, files. */
static int load_page(struct plan *p, char *line)
{
	char *f[4 + PLAN_MAX_PAGE_FILES + 1] = { NULL }, *s = line;
	size_t n = 0;
	enum page_kind kind;
	int r;

	while (s && n < ARRAY_SIZE(f)) {
		f[n++] = s;
		s = strchr(s, '\t');
		if (s)
			*s++ = '\0';
	}
	if (n < 4 || s || plan_kind_parse(f[0], &kind) < 0)
		return -EBADMSG;
	r = plan_add(p, f[1], f[2], kind, *f[3] ? f[3] : NULL);
	for (size_t i = 4; i < n && r == 0; i++)
		r = plan_page_add_file(p, p->n - 1, f[i]) < 0 ? -ENOMEM : 0;
	return r;
}

/* Stores @p under @key: its commit, or "shape:" and its tree shape. */
static int store_as(const struct plan *p, const char *cache_dir, const char *url, const char *key)
{
	_cleanup_free_ char *path = plan_cache_path(cache_dir, url, key, p->planner);
	_cleanup_free_ char *dir = NULL;
	struct buf b;
	int r;

	if (!path || asprintf(&dir, "%s/plans", cache_dir) < 0)
		return -ENOMEM;
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	buf_init(&b, 4 << 20);
	buf_printf(&b, "%s\t%s\t%s\n", PLAN_CACHE_VERSION, p->commit, p->planner);
	if (p->notes) {
		buf_adds(&b, "notes\t");
		add_escaped(&b, p->notes);
		buf_addc(&b, '\n');
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_page *pg = &p->pages[i];

		buf_printf(&b, "%s\t%s\t", plan_kind_name(pg->kind), pg->slug);
		add_field(&b, pg->title);
		buf_addc(&b, '\t');
		add_field(&b, pg->arg);
		for (size_t k = 0; k < pg->nfiles; k++)
			buf_printf(&b, "\t%s", pg->files[k]); /* no control characters in them */
		buf_addc(&b, '\n');
	}
	r = buf_adds(&b, "end\n");
	if (r == 0)
		r = write_atomic(path, NULL, 0, b.data, b.len, 0600);
	buf_done(&b);
	return r;
}

int plan_cache_store(const struct plan *p, const char *cache_dir, const char *url)
{
	return store_as(p, cache_dir, url, p->commit);
}

int plan_cache_store_shape(const struct plan *p, const char *cache_dir, const char *url,
			   const char *shape)
{
	char key[80];

	snprintf(key, sizeof(key), "shape:%s", shape);
	return store_as(p, cache_dir, url, key);
}

int plan_cache_load_shape(struct plan **ret, const char *cache_dir, const char *url,
			  const char *shape, const char *planner, const char *commit)
{
	char key[80], *c;
	int r;

	snprintf(key, sizeof(key), "shape:%s", shape);
	r = plan_cache_load(ret, cache_dir, url, key, planner);
	if (r < 0)
		return r;
	c = strdup(commit);
	if (!c) {
		plan_unref(*ret);
		return -ENOMEM;
	}
	free((*ret)->commit);
	(*ret)->commit = c; /* the same pages, at this commit */
	return 0;
}

int plan_cache_load(struct plan **ret, const char *cache_dir, const char *url, const char *commit,
		    const char *planner)
{
	_cleanup_free_ char *path = plan_cache_path(cache_dir, url, commit, planner);
	_cleanup_free_ char *text = NULL;
	struct plan *p = NULL;
	char *line, *save = NULL;
	bool ended = false;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file(path, 4 << 20, &text, NULL);
	if (r < 0)
		return r;
	line = strtok_r(text, "\n", &save);
	if (!line || strncmp(line, PLAN_CACHE_VERSION "\t", sizeof(PLAN_CACHE_VERSION)))
		return -EBADMSG;
	r = plan_new(&p, commit, planner);
	if (r < 0)
		return r;
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (!strcmp(line, "end")) {
			ended = true;
			break;
		}
		if (!strncmp(line, "notes\t", 6) && p->n == 0 && !p->notes) {
			unescape(line + 6);
			r = plan_set_notes(p, line + 6);
		} else {
			r = load_page(p, line);
		}
		if (r < 0)
			break;
	}
	if (!ended || p->n == 0) {
		plan_unref(p);
		return -EBADMSG;
	}
	*ret = p;
	return 0;
}
