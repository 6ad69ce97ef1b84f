/* SPDX-License-Identifier: MIT */
/*
 * Steering from the repository itself: a .wikifs.json at the root of the
 * tree, or else DeepWiki's .devin/wiki.json, of the form
 *
 *   { "repo_notes": [ { "content": "..." } ],
 *     "pages": [ { "title": "...", "purpose": "...", "parent": "...",
 *                  "files": [ "src/a.c", "docs/" ] } ] }
 *
 * (repo_notes may also be one string or a list of strings). Its pages join
 * the plan (kind custom, the purpose as their description, the files that
 * exist in the tree as relevant files; a title whose slug the plan has
 * already only adds its files), and its notes go into every prompt. A file
 * over STEERING_MAX_BYTES, with more than STEERING_MAX_PAGES pages, or not
 * of this form is invalid: it is reported and otherwise ignored.
 *
 * Thread-safe.
 */
#ifndef WIKIFS_STEERING_H
#define WIKIFS_STEERING_H

#include "backend.h"
#include "buf.h"
#include "conf.h"
#include "plan.h"

#define STEERING_MAX_BYTES (64u << 10)
#define STEERING_MAX_PAGES 50

/*
 * Applies the steering file of @commit in @git_dir to @p (which nobody
 * else holds yet). 0 when there is none or it was applied; -errno when it
 * is invalid or unreadable, @err naming the file and the cause, @p then
 * unchanged but for pages added before a later error was found: none, as
 * the whole file is checked first.
 */
int steering_apply(struct plan *p, const char *git_dir, const char *commit, struct wf_err *err);

/*
 * The lines every system prompt gets from the configuration and the plan:
 * the language to write in, and the repository's notes. 0 or -errno.
 */
int steering_prompt_rules(struct buf *system, const struct plan *p, const struct conf *c);

#endif
