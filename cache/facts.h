/* SPDX-License-Identifier: MIT */
/*
 * Repository facts: what can be learnt from a commit's tree and history
 * without any LLM, for the builtin planner, the builtin generator and the
 * prompts of LLM backends. Everything is bounded (files listed, bytes read
 * per blob, commits walked, symbols kept), so a hostile repository cannot
 * make it slow or large.
 *
 * A repo_facts is loaded once per (repository, commit), is immutable after
 * facts_load() and is shared between worker threads by reference counting.
 * Functions that read blobs open their own repository handle (libgit2 wants
 * one git_repository per thread), so they are thread-safe.
 */
#ifndef WIKIFS_FACTS_H
#define WIKIFS_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct repo_facts;

struct facts_file {
	const char *path;   /* repository-relative, as stored (may hold odd bytes) */
	uint64_t size;
	const char *lang;   /* "C", "Python", ... or NULL */
	int binary;         /* 1 if it looks binary (NUL in the first 8 KiB) */
};

struct facts_commit {
	const char *id;     /* hex */
	const char *author;
	const char *email;
	int64_t time;       /* seconds since the epoch */
	const char *subject;
};

struct facts_symbol {
	const char *path;   /* file */
	unsigned line;      /* 1-based */
	const char *kind;   /* "function", "struct", "class", "def", ... */
	const char *name;
};

int facts_load(struct repo_facts **ret, const char *git_dir, const char *commit,
	       struct wf_err *err);
struct repo_facts *facts_ref(struct repo_facts *f);
void facts_unref(struct repo_facts *f); /* NULL is fine */

const char *facts_commit_id(const struct repo_facts *f);
size_t facts_files(const struct repo_facts *f, const struct facts_file **ret);
size_t facts_history(const struct repo_facts *f, const struct facts_commit **ret);

/*
 * Reads up to @max bytes of the blob at @path into @out (appended).
 * Thread-safe. -ENOENT if absent, -EISDIR for a tree.
 */
int facts_read_file(const struct repo_facts *f, const char *path, size_t max, struct buf *out);

#endif
