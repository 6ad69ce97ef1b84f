/* SPDX-License-Identifier: MIT */
/*
 * Markdown that repository text cannot break. Every string that comes from
 * a repository goes through md_text(), md_code(), md_url() or
 * md_mermaid_label(), which turn invalid UTF-8 and the characters
 * utf8_is_unsafe() names (controls, bidi formatting...) into U+FFFD, as the
 * policy in utf8.h says, and escape what would break the structure (tables,
 * code spans, links, headings, Mermaid labels). The first failed append
 * sticks in m->err and turns every later call into a no-op, so a page is
 * written without checking each call.
 */
#include "md.h"
#include "utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

void md_add(struct md *m, const char *s, size_t n)
{
	if (!m->err)
		m->err = buf_add(&m->b, s, n);
}

void md_puts(struct md *m, const char *s)
{
	md_add(m, s, strlen(s));
}

void md_printf(struct md *m, const char *fmt, ...)
{
	va_list ap;

	if (m->err)
		return;
	va_start(ap, fmt);
	m->err = buf_vprintf(&m->b, fmt, ap);
	va_end(ap);
}

/* Inline text: safe UTF-8, Markdown punctuation escaped. */
void md_textn(struct md *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !m->err;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (cp == '\t' || cp == '\n' || cp == '\r')
			md_add(m, " ", 1);
		else if (utf8_is_unsafe(cp))
			md_puts(m, UTF8_REPLACEMENT);
		else if (cp < 0x80 && strchr("\\`*_[]<>|~&#!$", (int)cp))
			md_printf(m, "\\%c", (char)cp);
		else
			md_add(m, s + i, len);
		i += len;
	}
}

void md_text(struct md *m, const char *s)
{
	md_textn(m, s, strlen(s));
}

/* Markdown passed through: safe UTF-8, nothing escaped. */
void md_verbatimn(struct md *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !m->err;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (cp == '\r')
			;
		else if (cp == '\n')
			md_add(m, " ", 1);
		else if (cp != '\t' && utf8_is_unsafe(cp))
			md_puts(m, UTF8_REPLACEMENT);
		else
			md_add(m, s + i, len);
		i += len;
	}
}

/* A code span that no content can break out of. */
void md_coden(struct md *m, const char *s, size_t n, int flags)
{
	size_t run = 0, longest = 0;
	char fence[16];
	bool pad;

	if (n == 0) {
		md_puts(m, "` `");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	longest = MIN(longest + 1, sizeof(fence) - 1);
	memset(fence, '`', longest);
	fence[longest] = '\0';
	pad = s[0] == '`' || s[n - 1] == '`' || s[0] == ' ';
	md_puts(m, fence);
	if (pad)
		md_add(m, " ", 1);
	for (size_t i = 0; i < n && !m->err;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (utf8_is_unsafe(cp))
			md_puts(m, UTF8_REPLACEMENT);
		else if (cp == '|' && (flags & MDF_TABLE))
			md_add(m, "\\|", 2);
		else
			md_add(m, s + i, len);
		i += len;
	}
	if (pad)
		md_add(m, " ", 1);
	md_puts(m, fence);
}

void md_code(struct md *m, const char *s, int flags)
{
	md_coden(m, s, strlen(s), flags);
}

void md_text_spans(struct md *m, const char *s, int flags)
{
	const char *p = s;

	while (*p && !m->err) {
		const char *open = strchr(p, '`'), *close;
		size_t k = 0, j;

		if (!open) {
			md_text(m, p);
			return;
		}
		while (open[k] == '`')
			k++;
		/* the closing run has exactly as many backticks */
		for (close = open + k; (close = strchr(close, '`')); close += j) {
			for (j = 0; close[j] == '`'; j++)
				;
			if (j == k)
				break;
		}
		md_textn(m, p, (size_t)(open - p) + (close ? 0 : k));
		if (close) {
			md_coden(m, open + k, (size_t)(close - open - k), flags);
			p = close + k;
		} else {
			p = open + k;
		}
	}
}

/* A URL path component: everything but unreserved characters and '/' escaped. */
void md_url(struct md *m, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p && !m->err; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			md_add(m, (const char *)p, 1);
		else
			md_printf(m, "%%%02X", *p);
	}
}

void md_size(struct md *m, uint64_t n)
{
	if (n < 1024)
		md_printf(m, "%llu B", (unsigned long long)n);
	else if (n < (1u << 20))
		md_printf(m, "%.1f KiB", (double)n / 1024);
	else if (n < (1u << 30))
		md_printf(m, "%.1f MiB", (double)n / (1 << 20));
	else
		md_printf(m, "%.1f GiB", (double)n / (1 << 30));
}

void md_date(struct md *m, int64_t t, bool month_only)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm)) {
		md_puts(m, "?");
		return;
	}
	if (month_only)
		md_printf(m, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	else
		md_printf(m, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void md_mermaid_label(struct md *m, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n && !m->err;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (utf8_is_unsafe(cp))
			md_puts(m, UTF8_REPLACEMENT);
		else if (cp == '"')
			md_puts(m, "#quot;");
		else if (cp == '`')
			md_puts(m, "#96;");
		else if (cp == '<')
			md_puts(m, "#lt;");
		else if (cp == '>')
			md_puts(m, "#gt;");
		else if (cp == '#')
			md_puts(m, "#35;");
		else
			md_add(m, s + i, len);
		i += len;
	}
}
