/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a hard size limit (after curl's dynbuf).
 * The contents are always NUL-terminated so text can be used as a string.
 * Not thread-safe; the owner frees it with buf_done().
 */
#ifndef WIKIFS_BUF_H
#define WIKIFS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "util.h"

struct buf {
	char *data; /* NUL-terminated; NULL while empty */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* appends past this fail with -E2BIG */
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
void buf_reset(struct buf *b);

/* All return 0 or -ENOMEM / -E2BIG; on error the buffer is unchanged. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF(2, 0);

/* Hands the bytes to the caller (free() them); the buffer becomes empty. */
char *buf_steal(struct buf *b, size_t *len);

/* The string, or "" when empty. */
static inline const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

#endif
