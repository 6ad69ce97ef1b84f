/* SPDX-License-Identifier: MIT */
/*
 * The optional LLM planner (planner = llm): asks the configured openai or
 * anthropic provider for a repository's page list as JSON,
 *   {"pages": [{"title": "...", "slug": "...", "description": "...",
 *               "files": ["relevant/path", ...]}]}
 * and turns it into a struct plan whose every name is validated and
 * sanitized: slugs through plan_slugify() (no '/', no "..", no control
 * characters, bounded length), unique (case-insensitively, so a copy to a
 * case-insensitive filesystem keeps them apart), never one of the reserved
 * names, at most PLAN_MAX_PAGES pages. Home (first) and _Sidebar (last) are
 * always present; the others are PAGE_CUSTOM with arg = the description
 * and the files as relevant files (plan_page_add_file() rules); llm_plan()
 * then drops every file the commit's tree does not have.
 *
 * Any failure is an error (-errno, detail in @err): the caller falls back to
 * the builtin plan and logs why. Thread-safe: no shared state besides the
 * per-provider rate limiter.
 */
#ifndef WIKIFS_LLM_PLANNER_H
#define WIKIFS_LLM_PLANNER_H

#include <stddef.h>

#include "backend.h"
#include "conf.h"
#include "facts.h"
#include "plan.h"

/* Longest title and description kept, in bytes. */
#define LLM_PLAN_TITLE_MAX 200
#define LLM_PLAN_DESC_MAX  1000

/*
 * Pure: validates the model's answer @text (@len bytes, need not be
 * NUL-terminated; JSON possibly wrapped in prose or a code fence) into a new
 * plan for @commit named @planner ("llm:MODEL"). The caller owns *@ret
 * (plan_unref). -EBADMSG for text that is not such JSON, -ENODATA when no
 * usable page is left.
 */
int llm_plan_parse(struct plan **ret, const char *text, size_t len, const char *commit,
		   const char *planner, struct wf_err *err);

/*
 * Blocking (one LLM call, bounded by generator.timeout): plans @repo_name at
 * @commit. @facts (may be NULL) supply the file list and README; @builtin
 * (may be NULL) is offered to the model as a starting point. Token usage is
 * added to @usage (may be NULL).
 */
int llm_plan(struct plan **ret, const struct conf *c, const char *repo_name, const char *commit,
	     struct repo_facts *facts, const struct plan *builtin, struct gen_usage *usage,
	     struct wf_err *err);

#endif
