/* SPDX-License-Identifier: MIT */
/*
 * Markdown that repository text cannot break. Every string that comes from
 * a repository goes through md_text(), md_code(), md_url() or
 * md_mermaid_label(), which turn invalid UTF-8 and control or bidi
 * characters into U+FFFD and escape what would break the structure (tables,
 * code spans, links, headings, Mermaid labels). The first failed append
 * sticks in m->err and turns every later call into a no-op, so a page is
 * written without checking each call.
 */
#include "md.h"

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

/*
 * Decodes one UTF-8 sequence at @s (n bytes left). Returns its length and
 * the code point in *cp, or -1 in *cp for an invalid or overlong sequence
 * (length 1 then, so the caller resynchronises on the next byte).
 */
static size_t utf8_next(const unsigned char *s, size_t n, long *cp)
{
	unsigned char c = s[0];
	size_t len;
	long v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n)
		goto bad;
	v = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = -1;
	return 1;
}

/* Characters never copied: controls, C1, line separators, bidi overrides. */
static bool unsafe_cp(long cp)
{
	return cp < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
	       cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

/* Inline text: safe UTF-8, Markdown punctuation escaped. */
void md_textn(struct md *m, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n && !m->err;) {
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (cp == '\t' || cp == '\n' || cp == '\r')
			md_add(m, " ", 1);
		else if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
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

/* A code span that no content can break out of. */
void md_coden(struct md *m, const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
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
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
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
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n && !m->err;) {
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
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
