/* SPDX-License-Identifier: MIT */
/*
 * What a page was made from. Recording is plain data (struct page_deps): a
 * generator names the repository paths it read, looked up or listed, and
 * the facts it used; no object id, no libgit2, so gen/ records without
 * knowing git. Resolved at the commit the page was made at, each path
 * becomes blob (a file, a symlink, a submodule), tree (a directory: its
 * whole content) or absent (nothing there: a later file there is a change,
 * ccache#599), with its object id; each fact the digest of what it says at
 * that commit. A recording that names nothing depends on the whole tree. A
 * resolved list matches another commit when every path has the same kind
 * and id there and every fact the same digest.
 *
 * A struct page_deps is used by one thread; the rest is thread-safe (a
 * snapshot is opened per call, or per caller).
 */
#ifndef WIKIFS_PAGE_DEPS_H
#define WIKIFS_PAGE_DEPS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "facts.h"
#include "page_cache.h"
#include "plan.h"

#define PAGE_DEPS_MAX	    4096 /* paths and facts a page may name; past it: the whole tree */
#define PAGE_RESULT_ENTRIES 4	 /* page entries kept per result */

/* ---- recording (no git) ---- */

struct page_deps;

int page_deps_new(struct page_deps **ret);
void page_deps_free(struct page_deps *d); /* NULL is fine */
/* A repository path read, looked up or listed ("" = the whole tree). 0 or -ENOMEM. */
int page_deps_path(struct page_deps *d, const char *path);
/* Paths one per line (a command's report); empty lines are skipped. */
int page_deps_paths(struct page_deps *d, const char *lines);
/* A fact used (page_deps_fact_digest names). 0, -EINVAL for an unknown name, -ENOMEM. */
int page_deps_fact(struct page_deps *d, const char *name);
size_t page_deps_count(const struct page_deps *d);

/* ---- resolved ---- */

/* One commit of one repository, where deps are resolved and matched. */
struct page_source {
	const char *git_dir, *commit;
	const struct repo_facts *facts; /* of @commit; NULL: a fact never matches */
	const struct plan *plan;	/* the page's plan; NULL: "plan" never matches */
};

enum page_dep_kind { PAGE_DEP_BLOB, PAGE_DEP_TREE, PAGE_DEP_ABSENT, PAGE_DEP_FACT };

struct page_dep {
	enum page_dep_kind kind;
	char *name;		/* repository path, or fact name */
	char value[SHA256_HEX]; /* hex object id or fact digest; "" when absent */
};

struct page_result {
	char commit[41]; /* made at */
	int64_t time;	 /* seconds since the epoch, made at */
	size_t nentries;
	struct page_key entries[PAGE_RESULT_ENTRIES];
	size_t ndeps;
	struct page_dep *deps;
};

/*
 * The digest (64 hex) of fact @name at @src: "plan" (the plan's pages, their
 * relevant files and the steering notes), "plan:SLUG" (what a prompt shows
 * of the plan: the notes, every page's slug, title, kind and argument, and
 * the relevant files of page SLUG only, so that a file added to another
 * page's list changes nothing for this one),
 * "log:N" (how many commits, and the newest N: id, author, time, subject),
 * "authors" (commits per author), "languages" (files and bytes per
 * language), "files:DIR" (how many files, and the path, size, language of
 * every file under DIR; "" = all: a prompt's file list), "paths:DIR" (the
 * path and language of every file under DIR: a listing without sizes, so
 * an edit keeps it). 0, -EINVAL (unknown name), -ENOENT (not known at @src).
 */
int page_deps_fact_digest(const char *name, const struct page_source *src, char out[SHA256_HEX]);

/*
 * Resolves @d at @src into @res (deps only; the caller sets the rest).
 * page_deps_result_done() frees it. 0 or -errno with @err filled.
 */
int page_deps_resolve(struct page_result *res, const struct page_deps *d,
		      const struct page_source *src, struct wf_err *err);
void page_deps_result_done(struct page_result *res);

/* 1 when every dependency of @res holds at @src, 0 when one does not, -errno. */
int page_deps_match(const struct page_result *res, const struct page_source *src);
/* The same on @src's tree opened already (@snap), for many results. */
struct gitrepo_snapshot;
int page_deps_match_at(const struct page_result *res, struct gitrepo_snapshot *snap,
		       const struct page_source *src);

#endif
