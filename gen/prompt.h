/* SPDX-License-Identifier: MIT */
/*
 * Prompts for LLM backends (and the command backend): a system prompt with
 * the rules of the wiki, and a user prompt with the page to write, the
 * wiki's other pages, the repository's facts and the source files relevant
 * to the page, within conf prompt_budget bytes of source.
 *
 * PROMPT_VERSION is the backends' prompt_version, part of the page-cache
 * key: change it whenever the prompt text changes so pages regenerate.
 *
 * Thread-safe (reads its arguments only; facts_read_file() is thread-safe).
 */
#ifndef WIKIFS_PROMPT_H
#define WIKIFS_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "buf.h"
#include "conf.h"

#define PROMPT_VERSION "wikifs-prompt-2"

/* The first line of every user prompt is "Page: TITLE". */
#define PROMPT_PAGE_PREFIX "Page: "

/*
 * What one prompt was made from, for the page's manifest of dependencies
 * (issue 14): each repository path at most once, sorted by path (strcmp).
 *
 * - PROMPT_USED_FILE: the file's text, whole or in part, is in the prompt.
 * - PROMPT_USED_FACTS: only facts derived from the file's text are (its
 *   symbols in an outline, its imports in the graph, its `main`): the
 *   prompt changes when its blob does, as for a file.
 * - PROMPT_USED_DIR: a listing of the paths below the directory ("." is the
 *   top level) is shown: names and languages, no sizes, so the prompt
 *   changes when a path below it is added, removed or renamed.
 *
 * history is true when commits from the log (or figures over it) are in the
 * prompt: the page then follows the history, not only the tree.
 */
enum prompt_used_kind {
	PROMPT_USED_FILE,
	PROMPT_USED_FACTS,
	PROMPT_USED_DIR,
};

struct prompt_used_dep {
	char *path;
	enum prompt_used_kind kind;
};

struct prompt_used {
	size_t n, cap;
	struct prompt_used_dep *v;
	bool history;
	const char *page; /* the page's slug (the request's), for its part of the plan */
};

/* Frees what @u holds and zeroes it (a zeroed struct is empty and valid). */
void prompt_used_done(struct prompt_used *u);
/* "file", "facts" or "dir". */
const char *prompt_used_kind_name(enum prompt_used_kind k);

/*
 * Records in @d what a prompt holds of the repository (@u, from
 * prompt_build()): the plan, each file or file whose facts are shown as a
 * path, each listing as a "paths:DIR" fact, the log and its authors when
 * the history is shown. 0 or -ENOMEM.
 */
struct page_deps;
int prompt_used_deps(const struct prompt_used *u, struct page_deps *d);

/*
 * Appends the system prompt to @system and the user prompt to @user (both
 * owned by the caller, who chooses their limits; the user prompt needs about
 * prompt_budget + 64 KiB). req->facts may be NULL: the prompt then has only
 * the plan and the page. When @used is not NULL (zeroed, or emptied by
 * prompt_used_done()), it is filled with what the prompt holds of the
 * repository; the caller frees it with prompt_used_done(), on failure too.
 * 0, or -ENOMEM / -E2BIG with @err filled.
 *
 * Each page gets what it needs and nothing more: the README only on Home
 * (and a custom overview page), commits only on History and Contributors,
 * a module page only the files of its module (the top level for ".") and
 * the headers they include from elsewhere, ranked by importance.
 */
int prompt_build(const struct gen_request *req, const struct conf *c, struct buf *system,
		 struct buf *user, struct prompt_used *used, struct wf_err *err);

/* Appends a group page's cross-repository facts (prompt_group.c). 0 or -errno. */
int prompt_group_facts(const struct gen_request *req, struct buf *user);

/* The limit to give prompt_build()'s @user buffer for @c. */
size_t prompt_max_bytes(const struct conf *c);

#endif
