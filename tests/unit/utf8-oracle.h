/* SPDX-License-Identifier: MIT */
/*
 * An oracle for strict UTF-8, written from the grammar of RFC 3629 section
 * 4 (the well-formed byte sequences of Unicode table 3-7) rather than from
 * code points, so that it shares no logic with core/utf8.c, which it checks.
 */
#ifndef WIKIFS_UTF8_ORACLE_H
#define WIKIFS_UTF8_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed sequence at @s (@n bytes readable), 0 if there is none. */
static inline size_t oracle_utf8_seq(const unsigned char *s, size_t n)
{
	/* lead byte range, then the allowed range of the second byte, and the length */
	static const struct {
		unsigned char lo, hi, lo2, hi2, len;
	} rows[] = {
		{ 0x00, 0x7f, 0, 0, 1 },       { 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 }, { 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t r = 0; n > 0 && r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo || s[0] > rows[r].hi)
			continue;
		if (rows[r].len > n)
			return 0;
		if (rows[r].len > 1 && (s[1] < rows[r].lo2 || s[1] > rows[r].hi2))
			return 0;
		for (size_t k = 2; k < rows[r].len; k++)
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		return rows[r].len;
	}
	return 0;
}

static inline bool oracle_utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0, len; i < n; i += len) {
		len = oracle_utf8_seq(s + i, n - i);
		if (!len)
			return false;
	}
	return true;
}

#endif
