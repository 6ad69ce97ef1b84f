/* SPDX-License-Identifier: MIT */
/*
 * Internals of the README rewriting shared by readme.c (lines and blocks)
 * and readme_inline.c (links, code spans, HTML inside a block). One struct
 * rctx lives for one readme_render() call on one thread.
 */
#ifndef WIKIFS_README_INT_H
#define WIKIFS_README_INT_H

#include "readme.h"

#include <stdbool.h>
#include <stddef.h>

/* A link reference definition "[label]: url" (pointers into the README). */
struct rdef {
	const char *label, *url;
	size_t ln, un;
};

/* An output line start and the README character its line began with. */
struct rbol {
	size_t pos;
	char src;
};

struct rctx {
	struct md *m;
	const struct readme_opts *o;
	struct rdef *defs;
	size_t ndefs;
	const char *skip; /* the quick start block's opening line, left out of the section */
	struct rbol *bol; /* line starts of the paragraph being written */
	size_t nbol, bol_cap;
};

/* One paragraph's (or a link text's) inline Markdown; @in_link: no links inside. */
void readme_inline(struct rctx *c, const char *s, size_t n, bool in_link);
/* A line of an HTML block: its text only, escaped; *@in_tag carries a tag across lines. */
void readme_html_text(struct md *m, const char *s, size_t n, bool *in_tag);
/* "<https://...>" or "<a@b.c>" at @s: its length, or 0. */
size_t readme_autolink(const char *s, const char *e);
/* A list item's text that only links into the README itself (a table of contents). */
bool readme_anchor_only(struct rctx *c, const char *s, size_t n);
bool readme_blank(const char *s, size_t n);
/* Records that an output line starts at @pos where the README's began with @src. */
void readme_line_start(struct rctx *c, size_t pos, char src);
/* Drops the output from @mark on, and the line starts recorded past it. */
void readme_rollback(struct rctx *c, size_t mark);

#endif
