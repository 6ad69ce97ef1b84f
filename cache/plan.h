/* SPDX-License-Identifier: MIT */
/*
 * A repository's plan: the list of wiki pages for one commit. The builtin
 * planner derives it from the tree alone (no LLM), deterministically: the same
 * commit always gives the same pages in the same order. Plans are cached on
 * disk per (url, commit, planner) under CACHE_DIR/plans/.
 *
 * A plan is immutable once built and may be shared between threads; it is
 * reference-counted (plan_ref/plan_unref).
 */
#ifndef WIKIFS_PLAN_H
#define WIKIFS_PLAN_H

#include <stddef.h>

#include "err.h"

enum page_kind {
	PAGE_HOME,	   /* Home: README summary, languages, layout, links */
	PAGE_SIDEBAR,	   /* _Sidebar: links to every page */
	PAGE_ARCHITECTURE, /* modules, dependency graph (Mermaid) */
	PAGE_MODULE,	   /* one significant directory; arg = its path */
	PAGE_BUILD,	   /* build systems detected, their commands, tests */
	PAGE_HISTORY,	   /* commit history */
	PAGE_CONTRIBUTORS, /* authors and their commit counts */
	PAGE_CUSTOM,	   /* from an LLM planner; arg = its description */
	PAGE_GROUP_HOME,   /* a group: what each member is, links to their wikis */
	PAGE_GROUP_ARCH,   /* a group: every edge between members, as a graph */
	PAGE_GROUP_PAIR,   /* a group: two related members; arg = "NAME_A NAME_B" */
	PAGE_KIND_MAX
};

struct plan_page {
	char *slug;  /* file name without ".md": "Home", "_Sidebar", "Module-src-core" */
	char *title; /* human title: "Module src/core" */
	enum page_kind kind;
	char *arg; /* kind-specific: module path, or description; may be NULL */
	/* the repository paths the page is about, at most PLAN_MAX_PAGE_FILES */
	size_t nfiles;
	char **files;
};

struct plan {
	int refs;      /* atomic */
	char *commit;  /* hex */
	char *planner; /* "builtin" or "llm:MODEL" */
	char *notes;   /* the repository's steering notes for every prompt, or NULL */
	size_t n;
	struct plan_page *pages;
};

/* Hard limits on any plan (the LLM planner's output is clamped to them). */
#define PLAN_MAX_PAGES	    200
#define PLAN_MAX_SLUG_LEN   100
#define PLAN_MAX_PAGE_FILES 30
#define PLAN_MAX_PATH_LEN   1024
#define PLAN_MAX_NOTES	    (16u << 10)

const char *plan_kind_name(enum page_kind k);
int plan_kind_parse(const char *s, enum page_kind *ret);

/*
 * Builds the builtin plan for @commit of the bare repository @git_dir.
 * Blocking (reads the tree), thread-safe (opens its own repository handle).
 */
int plan_builtin(struct plan **ret, const char *git_dir, const char *commit, struct wf_err *err);

/* A new empty plan with one reference, for planners that add pages. */
int plan_new(struct plan **ret, const char *commit, const char *planner);
/* Appends a page; the strings are copied. -E2BIG past PLAN_MAX_PAGES. */
int plan_add(struct plan *p, const char *slug, const char *title, enum page_kind kind,
	     const char *arg);

/*
 * Adds @path to the relevant files of page @idx. 0; 1 when it is not added
 * (the page has PLAN_MAX_PAGE_FILES, it is there already, or the path is
 * unusable: empty, longer than PLAN_MAX_PATH_LEN, control characters,
 * absolute, or with a "." or ".." component); -ENOMEM.
 */
int plan_page_add_file(struct plan *p, size_t idx, const char *path);

/* Sets the notes (copied, cut to PLAN_MAX_NOTES bytes). 0 or -ENOMEM. */
int plan_set_notes(struct plan *p, const char *notes);

/*
 * Makes @name safe as a page slug: no '/', no "..", no control characters,
 * no leading '.', bounded length, spaces to '-'. Returns a malloc'ed string,
 * or NULL if nothing usable is left.
 */
char *plan_slugify(const char *name);

/* Index of the page called @slug, or -1. */
int plan_find(const struct plan *p, const char *slug);

struct plan *plan_ref(struct plan *p);
void plan_unref(struct plan *p); /* NULL is fine */

/*
 * The shape of the tree at @commit, what planners read of it: every path,
 * whether it is a directory, and the content (object id) of the top-level
 * README. Editing a file elsewhere keeps it, so a plan keyed by it is not
 * made again (plan_cache_load_shape). Tree objects only. 0 or -errno.
 */
int plan_shape(const char *git_dir, const char *commit, char out[65], struct wf_err *err);

/*
 * A plan cached by tree shape (@shape from plan_shape()), loaded as the plan
 * of @commit. -ENOENT on miss.
 */
int plan_cache_load_shape(struct plan **ret, const char *cache_dir, const char *url,
			  const char *shape, const char *planner, const char *commit);
int plan_cache_store_shape(const struct plan *p, const char *cache_dir, const char *url,
			   const char *shape);

/* Disk cache: CACHE_DIR/plans/<sha256(url, commit, planner)>. -ENOENT on miss. */
int plan_cache_load(struct plan **ret, const char *cache_dir, const char *url, const char *commit,
		    const char *planner);
int plan_cache_store(const struct plan *p, const char *cache_dir, const char *url);

#endif
