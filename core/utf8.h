/* SPDX-License-Identifier: MIT */
/*
 * Strict UTF-8 (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF). Names wikifs shows (repository names, page slugs) are file
 * names and JSON strings, so they must be valid. Pure functions.
 */
#ifndef WIKIFS_UTF8_H
#define WIKIFS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the multi-byte sequence at @s (first byte >= 0x80), 0 if invalid. */
size_t utf8_seq_len(const unsigned char *s);

/* true if the NUL-terminated @s is strict UTF-8. */
bool utf8_valid(const char *s);

#endif
