/* SPDX-License-Identifier: MIT */
/*
 * Strict UTF-8 decoding, one character at a time, and the repairs built on
 * it; the policy is in utf8.h. utf8_sanitize() copies runs of characters
 * that need no repair in one append, so repairing a clean source file costs
 * a scan and one copy.
 */
#include "utf8.h"

#include <string.h>

size_t utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t v, min;
	size_t len;

	*cp = UTF8_INVALID;
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07, min = 0x10000;
	else
		return 1; /* a continuation byte, C0, C1 or F5..FF */
	if (len > n)
		return 1;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 1;
		v = v << 6 | (s[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 1; /* overlong, past Unicode, or a surrogate */
	*cp = v;
	return len;
}

bool utf8_validn(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;

		i += utf8_decode(s + i, n - i, &cp);
		if (cp == UTF8_INVALID)
			return false;
	}
	return true;
}

bool utf8_valid(const char *s)
{
	return utf8_validn(s, strlen(s));
}

bool utf8_is_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
	       cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff || cp > 0x10ffff;
}

int utf8_sanitize(struct buf *out, const char *s, size_t n, const char *ctl, size_t max)
{
	size_t start = out->len, used = 0, run = 0, i = 0;
	int r = 0;

	while (i < n && r == 0) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);
		const char *rep = cp == UTF8_INVALID		     ? UTF8_REPLACEMENT
				  : ctl && (cp < 0x20 || cp == 0x7f) ? ctl
								     : NULL;
		size_t add = rep ? strlen(rep) : len;

		if (add > max - used)
			break; /* whole characters only */
		used += add;
		if (rep) {
			r = buf_add(out, s + run, i - run);
			r = r ?: buf_adds(out, rep);
			run = i + len;
		}
		i += len;
	}
	r = r ?: buf_add(out, s + run, i - run);
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return r;
}
