/* SPDX-License-Identifier: MIT */
/*
 * Internals of the builtin backend, shared by builtin.c (the backend: it
 * builds the context and picks the renderer), builtin_page.c (what every
 * page shares) and the renderers. A renderer appends one page to @m; it
 * only reads the context, which lives for one generate() call on one
 * thread.
 */
#ifndef WIKIFS_BUILTIN_INT_H
#define WIKIFS_BUILTIN_INT_H

#include "backend.h"
#include "md.h"

struct builtin_ctx {
	const struct gen_request *req;
	const struct repo_facts *f;
	const struct facts_file *files;
	size_t nfiles;
	char base[512]; /* forge web URL without ".git", or "" */
	char short_id[13];
	const struct plan_page *mods[PLAN_MAX_PAGES];
	size_t nmods;
	int *file_mod; /* module index per file, -1 outside every module */
};

/* ---- builtin_page.c ---- */

/* "# Title" and the line naming the repository and the commit. */
void builtin_header(struct md *m, const struct builtin_ctx *c, const char *title);
/* The links to every other page. */
void builtin_footer(struct md *m, const struct builtin_ctx *c);
void builtin_link_page(struct md *m, const struct plan_page *pg);
/* "[path:line](URL)" on a forge, "`path:line`" elsewhere. */
void builtin_src_link(struct md *m, const struct builtin_ctx *c, const char *path, unsigned line);
void builtin_commit_ref(struct md *m, const struct builtin_ctx *c, const char *id, int flags);
/* Module owning @path: the longest module prefix; "." owns top-level files; -1 none. */
int builtin_module_of(const struct builtin_ctx *c, const char *path);
/*
 * The main language of files [first, first + n) (of module @mod when
 * @only_mod is given), by bytes, then name; NULL if none.
 */
const char *builtin_main_lang(const struct builtin_ctx *c, size_t first, size_t n,
			      const int *only_mod, int mod);

/* builtin_code.c: a test file by its path (tests/, test_x.py, x_test.go, ...). */
bool builtin_is_test_path(const char *path);
/* builtin_entry.c: the Entry points section of Architecture. */
void builtin_entry_points(struct md *m, const struct builtin_ctx *c);

/* ---- the renderers ---- */

void builtin_page_home(struct md *m, struct builtin_ctx *c);	     /* builtin_overview.c */
void builtin_page_sidebar(struct md *m, struct builtin_ctx *c);	     /* builtin_overview.c */
void builtin_page_custom(struct md *m, struct builtin_ctx *c);	     /* builtin_overview.c */
void builtin_page_architecture(struct md *m, struct builtin_ctx *c); /* builtin_code.c */
void builtin_page_module(struct md *m, struct builtin_ctx *c);	     /* builtin_code.c */
void builtin_page_build(struct md *m, struct builtin_ctx *c);	     /* builtin_build.c */
void builtin_page_history(struct md *m, struct builtin_ctx *c);	     /* builtin_history.c */
void builtin_page_contributors(struct md *m, struct builtin_ctx *c); /* builtin_history.c */
/* A page of a group (req->group set), any kind (builtin_group.c). */
void builtin_group_page(struct md *m, const struct gen_request *req);

#endif
