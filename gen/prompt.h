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

#include "backend.h"
#include "buf.h"
#include "conf.h"

#define PROMPT_VERSION "wikifs-prompt-1"

/* The first line of every user prompt is "Page: TITLE". */
#define PROMPT_PAGE_PREFIX "Page: "

/*
 * Appends the system prompt to @system and the user prompt to @user (both
 * owned by the caller, who chooses their limits; the user prompt needs about
 * prompt_budget + 64 KiB). req->facts may be NULL: the prompt then has only
 * the plan and the page. 0, or -ENOMEM / -E2BIG with @err filled.
 */
int prompt_build(const struct gen_request *req, const struct conf *c, struct buf *system,
		 struct buf *user, struct wf_err *err);

/* Appends a group page's cross-repository facts (prompt_group.c). 0 or -errno. */
int prompt_group_facts(const struct gen_request *req, struct buf *user);

/* The limit to give prompt_build()'s @user buffer for @c. */
size_t prompt_max_bytes(const struct conf *c);

#endif
