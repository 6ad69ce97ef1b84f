/* SPDX-License-Identifier: MIT */
/*
 * Inline README Markdown: one pass over a paragraph that copies what
 * Markdown means (emphasis, escapes, code spans with their own delimiters)
 * and rewrites what points elsewhere. Links are resolved here: reference
 * links to their definitions, relative paths against the README's directory
 * and pinned to the commit ("/blob/" for pages, "/raw/" for images),
 * anchors into the README (which is not on the page) become plain text,
 * other schemes (javascript:, data:) too; badges (images on CI and shield
 * hosts, or SVG images inside a link) are dropped. HTML tags are dropped
 * and their text kept; a '<' that opens nothing is written "&lt;", a '['
 * that opens no link "\\[", so the output holds no link or tag the
 * README did not.
 */
#include "readme_int.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/*
 * How far a construct is looked for: a link text, a code span, a tag. Past
 * it the character is plain text, so a line of 60,000 '[' costs linear time.
 */
#define INLINE_WINDOW 1024

static const char *window(const char *s, const char *e)
{
	return (size_t)(e - s) > INLINE_WINDOW ? s + INLINE_WINDOW : e;
}

void readme_line_start(struct rctx *c, size_t pos, char src)
{
	if (c->nbol == c->bol_cap) {
		size_t cap = c->bol_cap ? c->bol_cap * 2 : 64;
		struct rbol *b = realloc(c->bol, cap * sizeof(*b));

		if (!b) {
			c->m->err = -ENOMEM;
			return;
		}
		c->bol = b;
		c->bol_cap = cap;
	}
	c->bol[c->nbol++] = (struct rbol){ pos, src };
}

void readme_rollback(struct rctx *c, size_t mark)
{
	if (c->m->err)
		return;
	c->m->b.len = mark;
	/* a line start at @mark itself stays: what follows is written there */
	while (c->nbol && c->bol[c->nbol - 1].pos > mark)
		c->nbol--;
}

static const struct rdef *find_def(const struct rctx *c, const char *label, size_t n)
{
	while (n && isspace((unsigned char)*label))
		label++, n--;
	while (n && isspace((unsigned char)label[n - 1]))
		n--;
	for (size_t i = 0; i < c->ndefs; i++)
		if (c->defs[i].ln == n && !strncasecmp(c->defs[i].label, label, n))
			return &c->defs[i];
	return NULL;
}

/* ---- URLs ------------------------------------------------------------------- */

enum url_class { URL_NONE, URL_ABSOLUTE, URL_REPO };

static bool has_prefix_ci(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && !strncasecmp(s, p, pl);
}

/* URL bytes, percent-escaping what could end the link or break a table. */
static void put_url_bytes(struct md *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch >= 0x7f || strchr("<>()\"'`|\\[]", ch))
			md_printf(m, "%%%02X", ch);
		else
			md_add(m, s + i, 1);
	}
}

/*
 * Resolves @u against the README's directory into @path (the part before
 * '?' or '#'); *@frag is the rest. false if it climbs out of the tree.
 */
static bool repo_path(const struct rctx *c, const char *u, size_t un, char *path, size_t cap,
		      const char **frag)
{
	const char *dir = c->o->path ? strrchr(c->o->path, '/') : NULL;
	size_t o = 0, pn = strcspn(u, "?#");
	const char *parts[2] = { c->o->path, u };
	size_t lens[2] = { dir ? (size_t)(dir - c->o->path) : 0, MIN(pn, un) };

	*frag = u + lens[1];
	if (un && u[0] == '/')
		lens[0] = 0; /* from the top of the repository, as forges read it */
	for (int k = 0; k < 2; k++) {
		const char *p = parts[k], *end = p ? p + lens[k] : p;

		while (p && p < end) {
			const char *sl = memchr(p, '/', (size_t)(end - p));
			size_t n = (size_t)((sl ? sl : end) - p);

			if (n == 2 && p[0] == '.' && p[1] == '.') {
				if (o == 0)
					return false;
				while (o > 0 && path[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else if (n && !(n == 1 && p[0] == '.')) {
				if (o + n + 2 > cap)
					return false;
				if (o)
					path[o++] = '/';
				memcpy(path + o, p, n);
				o += n;
			}
			p += n + 1;
		}
	}
	path[o] = '\0';
	return true;
}

static enum url_class url_class(const char *u, size_t n)
{
	size_t k = 0;

	if (n == 0 || u[0] == '#')
		return URL_NONE;
	if (has_prefix_ci(u, n, "http://") || has_prefix_ci(u, n, "https://") ||
	    has_prefix_ci(u, n, "mailto:") || (n > 2 && u[0] == '/' && u[1] == '/'))
		return URL_ABSOLUTE;
	while (k < n && (isalnum((unsigned char)u[k]) || strchr("+.-", u[k])))
		k++;
	if (k < n && u[k] == ':')
		return URL_NONE; /* javascript:, data:, ... */
	return URL_REPO;
}

/* Writes the link destination for @u (a link or an image); false if it has none. */
static bool put_url(const struct rctx *c, const char *u, size_t n, bool image)
{
	char path[1024];
	const char *frag;

	switch (url_class(u, n)) {
	case URL_NONE:
		return false;
	case URL_ABSOLUTE:
		if (u[0] == '/')
			md_puts(c->m, "https:");
		put_url_bytes(c->m, u, n);
		return true;
	case URL_REPO:
		if (!c->o->base || !c->o->base[0] || !c->o->commit ||
		    !repo_path(c, u, n, path, sizeof(path), &frag) || !path[0])
			return false;
		md_printf(c->m, "%s/%s/%s/", c->o->base, image ? "raw" : "blob", c->o->commit);
		put_url_bytes(c->m, path, strlen(path));
		put_url_bytes(c->m, frag, n - (size_t)(frag - u));
		return true;
	}
	return false;
}

/* Images that are status badges, not content. */
static bool is_badge(const char *u, size_t n)
{
	static const char *const marks[] = {
		"shields.io",
		"badge",
		"travis-ci.",
		"circleci.com",
		"codecov.io",
		"coveralls",
		"appveyor",
		"/workflows/",
		"badgen.net",
		"pepy.tech",
		"snyk.io",
		"goreportcard",
		"codacy.com",
		"scorecard",
		"readthedocs.org/projects",
		"gitter.im",
		"opencollective.com/",
		"sonarcloud",
		"status.svg",
		"ci.svg",
	};

	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		if (memmem(u, n, marks[i], strlen(marks[i])))
			return true;
	return false;
}

/* ---- inline ----------------------------------------------------------------- */

/* The ']' closing the '[' at @s, or NULL (code spans and escapes skipped). */
static const char *close_bracket(const char *s, const char *e)
{
	int depth = 0;

	e = window(s, e);

	for (const char *p = s; p < e; p++) {
		if (*p == '\\' && p + 1 < e) {
			p++;
		} else if (*p == '`') {
			size_t k = 1;
			const char *q;

			while (p + k < e && p[k] == '`')
				k++;
			for (q = p + k; q < e; q++) {
				size_t j = 0;

				while (q + j < e && q[j] == '`')
					j++;
				if (j == k)
					break;
				q += j ? j - 1 : 0;
			}
			p = q < e ? q + k - 1 : p + k - 1;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']' && --depth == 0) {
			return p;
		}
	}
	return NULL;
}

struct link {
	const char *text, *url;
	size_t tn, un;
	size_t len; /* bytes of the source it spans */
};

/* Parses "[text](url "title")", "[text][ref]", "[text][]" or "[text]" at @s. */
static bool parse_link(const struct rctx *c, const char *s, const char *e, struct link *lk)
{
	const char *cb = close_bracket(s, e), *p;
	const struct rdef *d;

	e = window(s, e);

	if (!cb)
		return false;
	lk->text = s + 1;
	lk->tn = (size_t)(cb - s - 1);
	p = cb + 1;
	if (p < e && *p == '(') {
		int depth = 0;

		p++;
		while (p < e && *p == ' ')
			p++;
		lk->url = p;
		if (p < e && *p == '<') {
			const char *gt = memchr(p, '>', (size_t)(e - p));

			if (!gt)
				return false;
			lk->url = p + 1;
			lk->un = (size_t)(gt - p - 1);
			p = gt + 1;
		} else {
			while (p < e && !isspace((unsigned char)*p) && (*p != ')' || depth > 0)) {
				depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
				p += *p == '\\' && p + 1 < e ? 2 : 1;
			}
			lk->un = (size_t)(p - lk->url);
		}
		while (p < e && *p != ')') /* an optional title */
			p++;
		if (p >= e)
			return false;
		lk->len = (size_t)(p + 1 - s);
		return true;
	}
	if (p < e && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));

		if (!rb)
			return false;
		d = rb == p + 1 ? find_def(c, lk->text, lk->tn)
				: find_def(c, p + 1, (size_t)(rb - p - 1));
		lk->len = (size_t)(rb + 1 - s);
	} else {
		d = find_def(c, lk->text, lk->tn);
		lk->len = (size_t)(cb + 1 - s);
	}
	if (!d)
		return false;
	lk->url = d->url;
	lk->un = d->un;
	return true;
}

bool readme_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static void put_image(struct rctx *c, const struct link *lk, bool in_link)
{
	struct md *m = c->m;
	size_t mark = m->b.len, q = strcspn(lk->url, "?#");
	bool svg = MIN(q, lk->un) >= 4 && !strncasecmp(lk->url + MIN(q, lk->un) - 4, ".svg", 4);

	if (is_badge(lk->url, lk->un) || (in_link && svg))
		return;
	md_puts(m, "![");
	md_textn(m, lk->text, lk->tn);
	md_puts(m, "](");
	if (!put_url(c, lk->url, lk->un, true)) {
		readme_rollback(c, mark); /* no address to show it from: nothing */
		return;
	}
	md_puts(m, ")");
}

static void put_link(struct rctx *c, const struct link *lk, bool in_link)
{
	struct md *m = c->m;
	size_t mark = m->b.len, text_at;
	enum url_class uc = url_class(lk->url, lk->un);
	char path[1024];
	const char *frag;
	bool in_repo =
	    uc == URL_REPO && repo_path(c, lk->url, lk->un, path, sizeof(path), &frag) && path[0];
	bool usable = !in_link && (uc == URL_ABSOLUTE ||
				   (in_repo && c->o->base && c->o->base[0] && c->o->commit));

	if (usable)
		md_puts(m, "[");
	text_at = m->b.len;
	readme_inline(c, lk->text, lk->tn, true);
	if (m->err)
		return;
	if (readme_blank(m->b.data + text_at, m->b.len - text_at)) {
		readme_rollback(c, mark); /* a badge's link, or nothing left to show */
		return;
	}
	if (usable) {
		md_puts(m, "](");
		put_url(c, lk->url, lk->un, false);
		md_puts(m, ")");
	} else if (in_repo && !in_link) {
		md_puts(m, " (");
		md_code(m, path, 0);
		md_puts(m, ")");
	}
}

/* An HTML tag at @s ("<a href=...>", "</p>", "<br/>"): its length, or 0. */
static size_t html_tag(const char *s, const char *e)
{
	const char *p = s + 1;

	e = window(s, e);

	if (p < e && *p == '/')
		p++;
	if (p >= e || !isalpha((unsigned char)*p))
		return 0;
	while (p < e && (isalnum((unsigned char)*p) || *p == '-'))
		p++;
	if (p < e && *p != '>' && *p != ' ' && *p != '/' && *p != '\t')
		return 0;
	p = memchr(p, '>', (size_t)(e - p));
	return p ? (size_t)(p + 1 - s) : 0;
}

/*
 * After the tag at @s of length @k: past the element's end when it holds
 * code or styles rather than text (<script>, <style>), else @s + @k.
 */
static const char *past_tag(const char *s, size_t k, const char *e)
{
	static const char *const raw[] = { "script", "style", "textarea", "template" };

	for (size_t i = 0; i < ARRAY_SIZE(raw); i++) {
		size_t rl = strlen(raw[i]);
		const char *q;

		if (k < rl + 2 || strncasecmp(s + 1, raw[i], rl) ||
		    isalnum((unsigned char)s[rl + 1]))
			continue;
		for (q = s + k; q < e; q++)
			if (q + rl + 2 < e && q[0] == '<' && q[1] == '/' &&
			    !strncasecmp(q + 2, raw[i], rl))
				return q + html_tag(q, e);
		return e;
	}
	return s + k;
}

/* "<https://...>" or "<a@b.c>": its length, or 0. */
size_t readme_autolink(const char *s, const char *e)
{
	const char *gt;
	size_t n;

	e = window(s, e);
	gt = memchr(s, '>', (size_t)(e - s));

	if (!gt)
		return 0;
	n = (size_t)(gt - s - 1);
	for (size_t i = 1; i <= n; i++)
		if (isspace((unsigned char)s[i]) || s[i] == '<')
			return 0;
	if (url_class(s + 1, n) != URL_ABSOLUTE && !memchr(s + 1, '@', n))
		return 0;
	return n + 2;
}

static size_t code_span(struct md *m, const char *s, const char *e)
{
	size_t k = 0;

	e = window(s, e);

	while (s + k < e && s[k] == '`')
		k++;
	for (const char *q = s + k; q < e;) {
		size_t j = 0;

		while (q + j < e && q[j] == '`')
			j++;
		if (j == k) {
			md_verbatimn(m, s, (size_t)(q + j - s));
			return (size_t)(q + j - s);
		}
		q += j ? j : 1;
	}
	for (size_t i = 0; i < k; i++)
		md_puts(m, "\\`");
	return k;
}

/* One line's (or a link text's) inline Markdown. */
void readme_inline(struct rctx *c, const char *s, size_t n, bool in_link)
{
	const char *e = s + n;
	struct md *m = c->m;
	struct link lk;

	for (const char *p = s; p < e && !m->err;) {
		size_t k;

		if (*p == '\n') {
			unsigned col = 0;

			for (p++; p < e && (*p == ' ' || *p == '\t'); p++)
				col += *p == '\t' ? 4 - col % 4 : 1;
			/* the same indentation: an indented line never starts a block */
			md_printf(m, "\n%*s", (int)(col > 3 ? MAX(4, MIN(col, 16)) : col), "");
			if (col <= 3 && p < e)
				readme_line_start(c, m->b.len, *p);
		} else if (*p == '\\' && p + 1 < e && ispunct((unsigned char)p[1])) {
			md_add(m, p, 2);
			p += 2;
		} else if (*p == '`') {
			p += code_span(m, p, e);
		} else if (*p == '!' && p + 1 < e && p[1] == '[' && parse_link(c, p + 1, e, &lk)) {
			put_image(c, &lk, in_link);
			p += lk.len + 1;
		} else if (*p == '[' && parse_link(c, p, e, &lk)) {
			put_link(c, &lk, in_link);
			p += lk.len;
		} else if (*p == '[' || *p == ']') {
			md_printf(m, "\\%c", *p); /* opens no link the README did not have */
			p++;
		} else if (*p == '<' && (k = readme_autolink(p, e)) && !in_link) {
			md_add(m, "<", 1);
			put_url_bytes(m, p + 1, k - 2);
			md_add(m, ">", 1);
			p += k;
		} else if (*p == '<' && (k = html_tag(p, e))) {
			p = past_tag(p, k, e); /* tags go, the text between them stays */
		} else if (*p == '<') {
			md_puts(m, "&lt;");
			p++;
		} else {
			uint32_t cp;
			size_t len = utf8_decode(p, (size_t)(e - p), &cp);

			md_verbatimn(m, p, len);
			p += len;
		}
	}
}

/*
 * A line of an HTML block: its text only, escaped (what tags leave could
 * read as markup). *@in_tag carries a tag that spans lines.
 */
void readme_html_text(struct md *m, const char *s, size_t n, bool *in_tag)
{
	const char *e = s + n, *p = s;

	if (*in_tag) {
		p = memchr(s, '>', n);
		if (!p)
			return;
		p++;
		*in_tag = false;
	}
	while (p < e) {
		const char *lt = memchr(p, '<', (size_t)(e - p));
		size_t k;

		md_textn(m, p, (size_t)((lt ? lt : e) - p));
		if (!lt)
			break;
		k = html_tag(lt, e);
		if (!k && lt + 1 < e && (isalpha((unsigned char)lt[1]) || lt[1] == '/') &&
		    !memchr(lt, '>', (size_t)(e - lt))) {
			*in_tag = true; /* "<img" and its attributes on the next lines */
			break;
		}
		p = k ? past_tag(lt, k, e) : lt + 1;
	}
}

/* A list item that only links into the README itself (a table of contents). */
bool readme_anchor_only(struct rctx *c, const char *s, size_t n)
{
	struct link lk;

	return n > 2 && s[0] == '[' && parse_link(c, s, s + n, &lk) && lk.len == n && lk.un &&
	       lk.url[0] == '#';
}
