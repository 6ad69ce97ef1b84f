/* SPDX-License-Identifier: MIT */
/*
 * Symbols from Universal Ctags, through one long-lived `ctags
 * --_interactive=sandbox` process per batch of files: the files' bytes are
 * written to its stdin as they are produced (no checkout, no temporary
 * file), one `generate-tags` command each, and its JSON-lines answers are
 * read as they come, all in one supervised child (core/child.h) with a
 * deadline and a stall limit. Sandbox mode opens no file of its own.
 *
 * What is kept of ctags' output: definitions that make an outline
 * (functions, methods with their class as scope, prototypes in headers,
 * types, macros, constants, top-level variables), each with its kind, line,
 * scope and signature. Left out: locals, parameters, struct fields,
 * enumerators, imports, include guards, and what ctags itself skips
 * (anything inside a string or a comment). A few known misses of ctags
 * 5.9's JavaScript parser (`obj.get = function ...`, anonymous
 * `obj.set = function (...)` named after the object) are put right from the
 * line's text.
 *
 * The caller supplies the files one by one (next) and receives each file's
 * symbols, in line order, once ctags has finished that file (file_done);
 * a file's text must stay valid until then. When ctags is missing, dies,
 * stalls or answers out of protocol, ctags_run() returns the error and every
 * file handed out but not finished gets file_done() with ok = false, so the
 * caller can scan those (and the files not handed out yet) another way.
 *
 * Thread-safe: all state lives in the call. Library layer: does not log.
 */
#ifndef WIKIFS_CTAGS_H
#define WIKIFS_CTAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CTAGS_PATH	    "/usr/bin/ctags"
#define CTAGS_SCOPE_MAX	    200	 /* bytes of a scope kept */
#define CTAGS_SIGNATURE_MAX 200	 /* bytes of a signature kept */
#define CTAGS_FILE_TAGS_MAX 5000 /* tags kept per file */

struct ctags_file {
	const char *path; /* repository path: its extension picks the parser */
	const char *lang; /* a lang.h name, "C", "Python", ... */
	const char *text; /* borrowed until file_done() */
	size_t len;
	void *opaque; /* the caller's */
};

/* One symbol; strings valid only during the call. */
struct ctags_symbol {
	unsigned line;	       /* 1-based */
	const char *kind;      /* static string: "function", "method", "class", ... */
	const char *name;      /* NUL-terminated */
	const char *scope;     /* "Class", "mod::Type", or NULL */
	const char *signature; /* "(int a, char *b)" or NULL */
	bool file_scope;       /* ctags says it is file-local (C static) */
	const char *access;    /* "public", "private", ... (Java, C++...) or NULL */
};

struct ctags_source {
	void *ctx;
	/* Fills @file with the next file; 1, 0 when there are no more, or -errno. */
	int (*next)(void *ctx, struct ctags_file *file);
	void (*symbol)(void *ctx, const struct ctags_file *file, const struct ctags_symbol *sym);
	/* The file is finished: @ok = false if ctags failed before finishing it. */
	void (*file_done)(void *ctx, const struct ctags_file *file, bool ok);
};

struct ctags_opts {
	const char *path;   /* NULL: CTAGS_PATH */
	int64_t timeout_ms; /* 0: none */
	int64_t stall_ms;   /* 0: none */
};

/* true if ctags has a parser for @lang (a lang.h name) that we use. */
bool ctags_lang_supported(const char *lang);

/*
 * Runs one ctags process over every file @src hands out. 0, or -errno with
 * @err saying why (-ENOENT: no ctags at the path; -ETIMEDOUT; -EPROTO: an
 * answer out of protocol; -ECHILD: ctags exited early).
 */
int ctags_run(const struct ctags_opts *o, const struct ctags_source *src, struct wf_err *err);

#endif
