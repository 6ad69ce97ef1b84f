/* SPDX-License-Identifier: MIT */
/*
 * Safe Markdown writers for text that comes from a repository: paths,
 * symbol names, authors, commit subjects, README prose. A struct md wraps
 * a bounded buffer; the first failed append (-ENOMEM, or -E2BIG when the
 * buffer's limit is reached) sticks in err and every later call does
 * nothing, so a page is written without checking each call.
 *
 * Not thread-safe on one struct md; distinct ones are independent.
 */
#ifndef WIKIFS_MD_H
#define WIKIFS_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

struct md {
	struct buf b;
	int err; /* sticky: the first failed append */
};

#define MDF_TABLE 1 /* inside a table cell: '|' must be escaped even in code */

/* Raw Markdown from the program, never from a repository. */
void md_add(struct md *m, const char *s, size_t n);
void md_puts(struct md *m, const char *s);
void md_printf(struct md *m, const char *fmt, ...) PRINTF(2, 3);

/* Inline text: safe UTF-8, Markdown punctuation escaped, line breaks as spaces. */
void md_textn(struct md *m, const char *s, size_t n);
void md_text(struct md *m, const char *s);
/*
 * Text passed through as Markdown (a README's own markup): safe UTF-8 (tab
 * kept, CR dropped, LF a space), nothing escaped. The caller has made sure
 * it opens no block that could swallow the page (readme.c).
 */
void md_verbatimn(struct md *m, const char *s, size_t n);
/* A code span that no content can break out of; @flags: MDF_TABLE or 0. */
void md_coden(struct md *m, const char *s, size_t n, int flags);
void md_code(struct md *m, const char *s, int flags);
/*
 * Inline text whose `code spans` stay code spans (commit subjects): the
 * text between them as md_textn(), each span as md_coden() with @flags; a
 * backtick that closes nothing is text.
 */
void md_text_spans(struct md *m, const char *s, int flags);
/* A URL path: everything but unreserved characters and '/' percent-escaped. */
void md_url(struct md *m, const char *s);
/* A Mermaid node label (inside double quotes): quotes and markup as entities. */
void md_mermaid_label(struct md *m, const char *s);

/* "1.5 KiB", "3 B", ... */
void md_size(struct md *m, uint64_t n);
/* "2024-05-01" (UTC), or "2024-05" when @month_only; "?" for an impossible time. */
void md_date(struct md *m, int64_t t, bool month_only);

#endif
