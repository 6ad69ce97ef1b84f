/* SPDX-License-Identifier: MIT */
/*
 * Internals of the prompt builder, shared by prompt.c (assembly, sources,
 * what was used), prompt_rank.c (which files matter most) and
 * prompt_facts.c (the facts sections: outline, imports, entry points,
 * build commands, history). A scope lives for one prompt_build() call on
 * one thread.
 */
#ifndef WIKIFS_PROMPT_INT_H
#define WIKIFS_PROMPT_INT_H

#include "facts.h"
#include "plan.h"
#include "prompt.h"

/* What one page is about, and where what it shows is recorded. */
struct prompt_scope {
	const struct plan *plan; /* may be NULL */
	const struct plan_page *page;
	const struct repo_facts *f;
	const struct facts_file *files;
	size_t nfiles;
	const char *mod;	  /* a module page's directory ("." = the top level), or NULL */
	struct prompt_used *used; /* may be NULL */
};

/* ---- prompt.c ---- */

/* Appends the name @s with control characters as '?', at most @max bytes. */
int prompt_add_clean(struct buf *b, const char *s, size_t max);
/* Is @path one of the files of @s's module? Every path is, on other pages. */
bool prompt_in_scope(const struct prompt_scope *s, const char *path);
/* Records that the prompt shows @path as @k (nothing when s->used is NULL). */
int prompt_use(struct prompt_scope *s, const char *path, enum prompt_used_kind k);

/* ---- prompt_rank.c ---- */

/* What kind of file, best first; PC_NEVER files are never shown. */
enum prompt_class {
	PC_SOURCE, /* code, headers */
	PC_DOC,	   /* prose: Markdown, reStructuredText, text */
	PC_TEST,   /* tests, their fixtures and data */
	PC_DATA,   /* configuration and data */
	PC_LOW,	   /* generated, vendored, lock files, minified */
	PC_NEVER,  /* .gitignore, LICENSE, CHANGELOG, ...: no budget on them, ever */
};

enum prompt_class prompt_class_of(const struct facts_file *f);
bool prompt_is_header(const char *path);
/* A `main` (also "X.main", "X::main"), not a prototype. */
bool prompt_is_main(const struct facts_symbol *s);
/* Does file @idx define a main, or is it named like an entry point (main.go, __main__.py)? */
bool prompt_is_entry(const struct repo_facts *f, size_t idx);
/*
 * Sorts the file indices @idx[0..n) by importance: class, then entry points,
 * then how often the repository imports the file (a header counts for its
 * implementation and the other way round, so the two sit together, header
 * first), then depth and path. 0 or -ENOMEM.
 */
int prompt_rank(const struct repo_facts *f, size_t *idx, size_t n);

/* ---- prompt_facts.c ---- */

/* Top-level symbols of the files @idx[0..n), bounded. */
int prompt_facts_outline(struct buf *u, struct prompt_scope *s, const size_t *idx, size_t n);
/* Imports within the module, out of it and into it (module pages). */
int prompt_facts_imports(struct buf *u, struct prompt_scope *s);
/* The modules and the import counts between them (Architecture). */
int prompt_facts_modules(struct buf *u, struct prompt_scope *s);
/* Entry points within the scope. */
int prompt_facts_entries(struct buf *u, struct prompt_scope *s);
/* The build systems found at the top level, with their usual commands. */
int prompt_facts_build(struct buf *u, struct prompt_scope *s);
/* Figures over the history known and its newest commits (History, Contributors). */
int prompt_facts_history(struct buf *u, struct prompt_scope *s);

#endif
