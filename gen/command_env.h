/* SPDX-License-Identifier: MIT */
/*
 * What a generator command sees besides the prompt on its stdin: a private
 * run directory (0700, in $TMPDIR or /tmp) holding plan.json, the place of
 * its deps file, and its environment: this process's, without any
 * inherited WIKIFS_* variable nor, with a shared store, the variable
 * holding its connection string (store_conninfo_env) or PGPASSWORD, plus
 *
 *   WIKIFS_TREE        the read-only checkout of the commit (its cwd)
 *   WIKIFS_REPO        the repository's name, "owner/repo"
 *   WIKIFS_COMMIT      the commit, hex
 *   WIKIFS_PAGE        the page's slug (its file name without ".md")
 *   WIKIFS_PAGE_TITLE  the page's title
 *   WIKIFS_LANGUAGE    generator.language ("en")
 *   WIKIFS_PLAN        plan.json: repository, commit, language, notes, and
 *                      every page's slug, title, kind, purpose and files
 *   WIKIFS_DEPS        a file the command may write: the repository paths
 *                      it read, one per line; it becomes the page's sources
 *
 * Thread-safe: each run has its own struct command_env.
 */
#ifndef WIKIFS_COMMAND_ENV_H
#define WIKIFS_COMMAND_ENV_H

#include <limits.h>

#include "backend.h"
#include "conf.h"
#include "err.h"

/* Bounds of the deps file: bytes read, paths kept. */
#define COMMAND_DEPS_MAX_BYTES (256u << 10)
#define COMMAND_DEPS_MAX       1000

#define COMMAND_ENV_VARS 8

struct command_env {
	char dir[PATH_MAX]; /* the run directory; "" until made */
	char plan[PATH_MAX + 16], deps[PATH_MAX + 16];
	char *vars[COMMAND_ENV_VARS];
	char **envp; /* NULL-terminated; its strings are environ's and vars */
};

/*
 * Makes the run directory, writes plan.json and builds the environment for
 * page @req, whose checkout is @tree ("" when there is none). 0 or -errno
 * with @err filled; command_env_done() in any case.
 */
int command_env_init(struct command_env *ce, const struct gen_request *req, const struct conf *c,
		     const char *tree, struct wf_err *err);

/*
 * The paths the command wrote into WIKIFS_DEPS, one per line, or NULL when
 * it wrote none (malloc'ed, the caller frees). Each is a relative path of
 * the repository (a leading "./" or @tree "/" is taken off), present in
 * req->facts when there are facts; others are dropped, and so is what is
 * past COMMAND_DEPS_MAX paths or COMMAND_DEPS_MAX_BYTES bytes.
 */
char *command_env_deps(const struct command_env *ce, const struct gen_request *req,
		       const char *tree);

/* Removes the run directory and frees the environment. */
void command_env_done(struct command_env *ce);

#endif
