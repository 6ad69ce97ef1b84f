/* SPDX-License-Identifier: MIT */
/*
 * Plan objects, slug sanitising and the on-disk plan cache. The builtin
 * planner itself lives in planner.c; the LLM planner in gen/. A cached plan
 * is a small text file, one page per line, "kind<TAB>slug<TAB>title<TAB>arg",
 * after a header line with the format version, commit and planner; it is
 * written atomically and ignored (re-planned) when malformed.
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

#define PLAN_CACHE_VERSION "wikifs-plan 1"

static const char *const kind_names[PAGE_KIND_MAX] = {
	[PAGE_HOME] = "home",
	[PAGE_SIDEBAR] = "sidebar",
	[PAGE_ARCHITECTURE] = "architecture",
	[PAGE_MODULE] = "module",
	[PAGE_BUILD] = "build",
	[PAGE_HISTORY] = "history",
	[PAGE_CONTRIBUTORS] = "contributors",
	[PAGE_CUSTOM] = "custom",
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
	if (!pg->slug || !pg->title || (arg && !pg->arg)) {
		free(pg->slug);
		free(pg->title);
		free(pg->arg);
		return -ENOMEM;
	}
	p->n++;
	return 0;
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
	}
	free(p->pages);
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
	for (size_t i = 0; i < p->n; i++) {
		buf_printf(&b, "%s\t%s\t", plan_kind_name(p->pages[i].kind), p->pages[i].slug);
		add_field(&b, p->pages[i].title);
		buf_addc(&b, '\t');
		add_field(&b, p->pages[i].arg);
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
		char *f[4] = { NULL }, *s = line;
		enum page_kind kind;

		if (!strcmp(line, "end")) {
			ended = true;
			break;
		}
		for (int i = 0; i < 4; i++) {
			f[i] = s;
			s = s ? strchr(s, '\t') : NULL;
			if (s)
				*s++ = '\0';
		}
		if (!f[3] || plan_kind_parse(f[0], &kind) < 0 ||
		    plan_add(p, f[1], f[2], kind, *f[3] ? f[3] : NULL) < 0) {
			ended = false;
			break;
		}
	}
	if (!ended || p->n == 0) {
		plan_unref(p);
		return -EBADMSG;
	}
	*ret = p;
	return 0;
}
