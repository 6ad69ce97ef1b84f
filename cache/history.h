/* SPDX-License-Identifier: MIT */
/*
 * The whole history of a commit, aggregated while it is walked: the
 * number of commits, one record per person (the commit's .mailmap
 * applied), commits per month, the releases (tags whose commit is in the
 * history) and the newest commits in full. Memory grows with authors and
 * tags, not with commits: a 40,000-commit history keeps the same few
 * hundred commits as a 400-commit one.
 *
 * Part of cache/ (it reads git with libgit2); repo_facts owns one and
 * hands out what it holds through facts.h. Immutable once built.
 */
#ifndef WIKIFS_HISTORY_H
#define WIKIFS_HISTORY_H

#include "err.h"
#include "facts.h"

struct git_repository;
struct git_commit;
struct history;

/*
 * Walks every commit reachable from @cm in @repo (the caller's handle,
 * used on the caller's thread only). Returns 0, or -ENOMEM (@err set). A
 * history that cannot be read to its end (a shallow or damaged clone) is
 * kept up to there, marked truncated.
 */
int history_load(struct history **ret, struct git_repository *repo, struct git_commit *cm,
		 struct wf_err *err);
void history_free(struct history *h); /* NULL is fine */

/* Newest first, at most FACTS_RECENT_COMMITS. */
size_t history_recent(const struct history *h, const struct facts_commit **ret);
size_t history_authors(const struct history *h, const struct facts_author **ret);
size_t history_months(const struct history *h, const struct facts_month **ret);
size_t history_releases(const struct history *h, const struct facts_release **ret);
size_t history_count(const struct history *h);
int history_truncated(const struct history *h);

#endif
