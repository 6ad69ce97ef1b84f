/* SPDX-License-Identifier: MIT */
/*
 * Top-level symbols and imports of one source text, found by small
 * line-based scanners, one per language family (C and its relatives, Java,
 * Python, Go, Rust, JavaScript/TypeScript, shell). They are deliberately
 * shallow: declarations at the start of a line or at the top level of
 * braces, never a parse, so any bytes at all are safe input and the cost is
 * linear in the text.
 *
 * The scanners hand what they find to a sink supplied by the caller, in
 * text order. Promises, checked by tests/fuzz/fuzz-analysis.c: a symbol's
 * line is within the text's lines; its name is 1..SYMBOLS_NAME_MAX bytes
 * and, except for methods named "Type.method", a piece of the text; an
 * import's spec is 1..IMPORT_SPEC_MAX bytes.
 *
 * Thread-safe: all state lives in the call.
 */
#ifndef WIKIFS_SYMBOLS_H
#define WIKIFS_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "imports.h"

#define SYMBOLS_NAME_MAX 200  /* bytes of a symbol name kept */
#define SYMBOLS_LINE_MAX 4096 /* longer lines are not scanned */

struct symbols_sink {
	void *ctx;
	/*
	 * A symbol on 1-based line @line. @kind is a static string ("function",
	 * "struct", "class", "def", "method", ...); @name is @len bytes, not
	 * NUL-terminated, valid only during the call.
	 */
	void (*symbol)(void *ctx, unsigned line, const char *kind, const char *name, size_t len);
	/* An import statement; @spec is @len bytes, valid only during the call. */
	void (*import)(void *ctx, unsigned line, enum import_kind kind, const char *spec,
		       size_t len);
};

/* true if @lang (a lang.h name) has a scanner. */
bool symbols_lang_scanned(const char *lang);

/*
 * Scans @len bytes of @text, written in @lang, calling @sink. @path is used
 * for its extension only: in a C or C++ header ('.h...') prototypes count as
 * symbols. A text cut short should be cut at a line end by the caller.
 * 0 (also when @lang has no scanner), or -ENOMEM.
 */
int symbols_scan(const char *lang, const char *path, const char *text, size_t len,
		 const struct symbols_sink *sink);

#endif
