/* SPDX-License-Identifier: MIT */
/*
 * What a symbol's own text says about it, whoever found the symbol (ctags
 * or the hand-written scanners): a one-line description from its doc
 * comment (the comment block right above its line, past decorators and
 * attributes, or a Python docstring right below), and whether it belongs to
 * the public API by its language's rule (not static in C, `pub` in Rust,
 * a capital in Go, not `_private` in Python, `export`/`module.exports` in
 * JavaScript, `public` in Java).
 *
 * Reads only the bytes it is given; thread-safe.
 */
#ifndef WIKIFS_SYMDOC_H
#define WIKIFS_SYMDOC_H

#include <stdbool.h>
#include <stddef.h>

#define SYMDOC_MAX 160 /* bytes of a description kept */

/*
 * The description of the symbol whose line starts at @line_off in @text:
 * written to @out (NUL-terminated, at most SYMDOC_MAX bytes of valid UTF-8,
 * no control characters), returns its length, 0 if there is none.
 */
size_t symdoc_describe(const char *lang, const char *text, size_t len, size_t line_off,
		       char out[SYMDOC_MAX + 1]);

struct symdoc_sym {
	const char *lang, *path;
	const char *line; /* the symbol's line, [line, line + line_len) */
	size_t line_len;
	const char *name, *scope; /* scope may be NULL */
	bool file_scope;	  /* ctags: file-local (C static) */
	const char *access;	  /* ctags: "public", "private", ... or NULL */
	const char *js_exports;	  /* JavaScript: the name module.exports is bound to, or NULL */
};

bool symdoc_public(const struct symdoc_sym *s);

/*
 * JavaScript: the variable module.exports is bound to in @text
 * ("var app = exports = module.exports = {}" or "module.exports = app"),
 * into @out; false if none.
 */
bool symdoc_js_exports(const char *text, size_t len, char *out, size_t cap);

#endif
