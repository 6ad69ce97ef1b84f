/* SPDX-License-Identifier: MIT */
/*
 * The page check; see page_check.h for what is refused and what replaced.
 * One pass finds the first refused byte and counts what must change; only a
 * page that needs a change is copied (a clean page, the usual case, costs
 * one read of its bytes).
 */
#include "page_check.h"
#include "utf8.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * The bytes at @p (a UTF-8 sequence of @len bytes) as shown: 0 to keep, 1 to
 * replace with U+FFFD, 2 to drop (the CR of CR LF).
 */
static int verdict(const unsigned char *p, size_t len)
{
	if (len == 1) {
		if (p[0] == '\r')
			return p[1] == '\n' ? 2 : 1;
		return (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n') || p[0] == 0x7f;
	}
	if (len == 2) /* U+0080-U+009F: the C1 controls */
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (len == 3 && p[0] == 0xe2) /* U+202A-U+202E, U+2066-U+2069 */
		return (p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		       (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9);
	return 0;
}

static size_t line_of(const char *s, size_t off)
{
	size_t line = 1;

	for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + off - p))); p++)
		line++;
	return line;
}

static int refuse(const struct buf *page, size_t off, bool nul, const char *backend,
		  struct gen_err *err)
{
	err->retryable = true; /* a model samples: the next answer may be clean */
	err->budget = false;
	err->retry_after_ms = 0;
	return wf_err_set(&err->e, -EILSEQ, "page from backend '%s' %s at byte %zu (line %zu)",
			  backend, nul ? "holds a NUL byte" : "is not valid UTF-8", off,
			  line_of(page->data, off));
}

/* A fence line: up to 3 spaces, 3 or more '`' or '~'; its character, length and info. */
struct fence {
	char ch;
	size_t len;
	const char *info; /* trimmed, not NUL-terminated */
	size_t info_len;
};

static bool fence_of(const char *s, const char *end, struct fence *f)
{
	const char *p = s;

	while (p < end && *p == ' ' && p - s < 3)
		p++;
	if (p == end || (*p != '`' && *p != '~'))
		return false;
	f->ch = *p;
	for (f->len = 0; p < end && *p == f->ch; p++)
		f->len++;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	f->info = p;
	f->info_len = (size_t)(end - p);
	return f->len >= 3 && !(f->ch == '`' && memchr(p, '`', f->info_len));
}

static bool blank_line(const char *s, const char *end)
{
	for (; s < end; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/*
 * Does the bare fence opened by @open close only at the last line, [@body,
 * @last)? Fences inside open and close blocks of their own (a model nests
 * ```mermaid in its ``` wrapper); a bare fence that could close the outer
 * one before the end means the answer merely starts and ends with code.
 */
static bool closes_at_end(const struct fence *open, const char *body, const char *last)
{
	struct fence inner = { 0 }, f;

	for (const char *s = body; s < last;) {
		const char *nl = memchr(s, '\n', (size_t)(last - s)), *le = nl ? nl : last;

		if (fence_of(s, le, &f)) {
			if (inner.len) {
				if (f.ch == inner.ch && f.len >= inner.len && !f.info_len)
					inner.len = 0;
			} else if (f.ch == open->ch && f.len >= open->len && !f.info_len) {
				return false;
			} else {
				inner = f;
			}
		}
		s = nl ? nl + 1 : last;
	}
	return true;
}

/* Unwraps a page the model put inside one ```markdown (or ```md, or bare ```) fence. */
static void unfence(struct buf *page)
{
	static const char *const infos[] = { "markdown", "md", "gfm" };
	const char *s = page->data, *end = s + page->len, *first_nl, *last, *body;
	struct fence open, close;
	bool markdown = false;

	if (!s)
		return;
	while (s < end) { /* leading blank lines */
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if (!nl || !blank_line(s, nl))
			break;
		s = nl + 1;
	}
	if (s >= end)
		return;
	first_nl = memchr(s, '\n', (size_t)(end - s));
	if (!first_nl || !fence_of(s, first_nl, &open))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(infos); i++)
		markdown |= open.info_len == strlen(infos[i]) &&
			    !strncasecmp(open.info, infos[i], open.info_len);
	if (open.info_len && !markdown)
		return; /* a page that starts with a code block */
	while (end > first_nl && isspace((unsigned char)end[-1]))
		end--;
	for (last = end; last > first_nl + 1 && last[-1] != '\n'; last--)
		;
	body = first_nl + 1;
	if (last <= body || !fence_of(last, end, &close) || close.ch != open.ch ||
	    close.len < open.len || close.info_len)
		return;
	if (!markdown && !closes_at_end(&open, body, last))
		return;
	memmove(page->data, body, (size_t)(last - body));
	page->len = (size_t)(last - body);
	page->data[page->len] = '\0';
}

static int page_check_text(struct buf *page, const char *backend, struct gen_err *err);

int page_check(struct buf *page, const char *backend, struct gen_err *err)
{
	int r = page_check_text(page, backend, err);

	if (r == 0)
		unfence(page);
	return r;
}

/* The check itself: see page_check.h. */
static int page_check_text(struct buf *page, const char *backend, struct gen_err *err)
{
	const unsigned char *p = (const unsigned char *)page->data;
	size_t n = page->len, changes = 0;
	struct buf clean;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const char *)p + i, n - i, &cp);

		if (p[i] == '\0' || cp == UTF8_INVALID)
			return refuse(page, i, p[i] == '\0', backend, err);
		changes += verdict(p + i, len) != 0;
		i += len;
	}
	if (!changes)
		return 0;
	buf_init(&clean, page->max);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const char *)p + i, n - i, &cp);
		int v = verdict(p + i, len), r;

		r = v == 2 ? 0
			   : buf_add(&clean, v ? REPLACEMENT : (const char *)p + i, v ? 3 : len);
		if (r < 0) {
			buf_done(&clean);
			err->retryable = false;
			return wf_err_set(
			    &err->e, -EFBIG,
			    "page from backend '%s' larger than %zu bytes once its %zu "
			    "control characters are replaced",
			    backend, page->max, changes);
		}
		i += len;
	}
	buf_done(page);
	*page = clean;
	return 0;
}

int page_check_json(const char *json, size_t len, const char *where, struct gen_err *err)
{
	bool in_string = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (json[i] == '\0')
			break;
		if (!in_string) {
			in_string = json[i] == '"';
			continue;
		}
		if (json[i] == '"') {
			in_string = false;
		} else if (json[i] == '\\' && i + 1 < len) {
			if (json[i + 1] == 'u' && len - i >= 6 && !memcmp(json + i + 2, "0000", 4))
				break;
			i++; /* the escaped character */
		}
	}
	if (i == len)
		return 0;
	err->retryable = true;
	err->budget = false;
	err->retry_after_ms = 0;
	return wf_err_set(&err->e, -EILSEQ,
			  "answer from '%s' holds a NUL character (%s at byte %zu)", where,
			  json[i] ? "\\u0000" : "a raw NUL", i);
}
