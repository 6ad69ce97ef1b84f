/* SPDX-License-Identifier: MIT */
/* Strict UTF-8 decoding, one sequence at a time; see utf8.h. */
#include "utf8.h"

#include <stdint.h>

size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t len = *s < 0x80 ? 1 : utf8_seq_len(s);

		if (!len)
			return false;
		s += len;
	}
	return true;
}
