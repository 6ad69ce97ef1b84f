/* SPDX-License-Identifier: MIT */
/*
 * Internals of the symbol scanners, shared by symbols.c (the table, the
 * driver and the small scanners) and symbols_c.c (the C family and Java):
 * the scan state and the lexical helpers every scanner uses. A scanner gets
 * one line at a time, [line, end) without its line break, and never reads
 * *end.
 */
#ifndef WIKIFS_SYMBOLS_INT_H
#define WIKIFS_SYMBOLS_INT_H

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "symbols.h"
#include "util.h"

struct cstate {
	bool comment;	 /* inside a block comment */
	bool pp_cont;	 /* preprocessor line continued */
	int depth;	 /* brace depth */
	int ns;		 /* braces opened by namespace / extern "C" */
	uint64_t nsbits; /* bit d set: brace at depth d is a namespace (d < 64) */
	unsigned pend_line;
	char pend[SYMBOLS_NAME_MAX]; /* a function's name, until its '{' or a ';' */
	size_t pend_n;
	bool pend_typedef;
	char cls[SYMBOLS_NAME_MAX]; /* Java: the top-level class, to name methods */
};

struct scan {
	const struct symbols_sink *sink;
	bool header; /* C/C++ header: prototypes count as symbols */
	char *cl;    /* C family: the cleaned line, SYMBOLS_LINE_MAX + 1 bytes */
	struct cstate cs;
	bool in_str;	 /* Python: inside a triple-quoted string */
	bool go_imports; /* Go: inside import ( ... ) */
	bool go_types;	 /* Go: inside type ( ... ) */
};

/* ---- lexical helpers ---- */

static inline bool is_id0(int c)
{
	return isalpha(c) || c == '_' || c == '$';
}

static inline bool is_id(int c)
{
	return isalnum(c) || c == '_' || c == '$';
}

static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Length of the identifier at @p (0 if none). */
static inline size_t ident_len(const char *p, const char *end)
{
	size_t n = 0;

	if (p < end && is_id0((unsigned char)*p))
		while (p + n < end && is_id((unsigned char)p[n]))
			n++;
	return n;
}

/* If @p starts with word @w followed by a non-identifier byte, returns past it. */
static inline const char *word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - p) >= n && !memcmp(p, w, n) &&
	    (p + n == end || !is_id((unsigned char)p[n])))
		return skip_ws(p + n, end);
	return NULL;
}

static inline void emit_sym(struct scan *s, unsigned line, const char *kind, const char *name,
			    size_t n)
{
	if (n)
		s->sink->symbol(s->sink->ctx, line, kind, name, MIN(n, (size_t)SYMBOLS_NAME_MAX));
}

static inline void emit_import(struct scan *s, unsigned line, enum import_kind kind,
			       const char *spec, size_t n)
{
	if (n && n <= IMPORT_SPEC_MAX)
		s->sink->import(s->sink->ctx, line, kind, spec, n);
}

/* A quoted string starting at or after @p: "x" or 'x'. */
static inline bool quoted(const char *p, const char *end, const char **q, size_t *n)
{
	char c;
	const char *e;

	while (p < end && *p != '"' && *p != '\'')
		p++;
	if (p >= end)
		return false;
	c = *p++;
	e = memchr(p, c, (size_t)(end - p));
	if (!e)
		return false;
	*q = p;
	*n = (size_t)(e - p);
	return true;
}

/* The identifier (with C++ "::" and "~") just before @p, in [line, p). */
static inline const char *name_before(const char *line, const char *p, size_t *n)
{
	const char *e = p, *s;

	while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	s = e;
	while (s > line && (is_id((unsigned char)s[-1]) || s[-1] == ':' || s[-1] == '~'))
		s--;
	while (s < e && (*s == ':' || isdigit((unsigned char)*s)))
		s++;
	*n = (size_t)(e - s);
	return s;
}

/* symbols_c.c: one line of C, C++ or Objective-C; of Java. */
void symbols_c_line(struct scan *s, unsigned ln, const char *line, const char *end);
void symbols_java_line(struct scan *s, unsigned ln, const char *line, const char *end);

#endif
