/* SPDX-License-Identifier: MIT */
/*
 * Internals of the repository facts, shared by facts.c (loading the tree,
 * the history, the accessors and readers), facts_scan.c (reading blobs for
 * symbols, imports, manifests and the README) and facts_store.c (the facts
 * file kept on disk per commit). Not for other modules: they use facts.h.
 *
 * A repo_facts is built by one thread (facts_load()) and is immutable once
 * published; these helpers are for that build only.
 */
#ifndef WIKIFS_FACTS_INT_H
#define WIKIFS_FACTS_INT_H

#include "facts.h"
#include "imports.h"
#include "lang.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

struct pool_blk {
	struct pool_blk *next;
	size_t used, cap;
	char data[];
};

struct raw_import {
	size_t file;
	unsigned line;
	enum import_kind kind;
	const char *spec;
};

struct file_aux {
	size_t sym_first, sym_n;
};

/* A crate of the tree: its Cargo.toml [package] name and its directory. */
struct crate_dir {
	const char *name, *dir;
};

struct repo_facts {
	int refs; /* atomic */
	char *git_dir;
	char *commit;
	struct pool_blk *pool;

	struct facts_file *files;
	struct facts_file_ext *ext;
	struct file_aux *aux;
	const char **paths; /* files[i].path, for analysis/'s path lookups */
	size_t nfiles, files_cap;

	struct facts_symbol *syms;
	size_t nsyms, syms_cap;

	struct raw_import *raw;
	size_t nraw, raw_cap;
	struct facts_import *imps;
	size_t nimps;
	struct crate_dir *crates;
	size_t ncrates, crates_cap;

	/* The whole history (history.c) when computed, NULL when loaded from a
	 * facts file; the arrays below point into it, or into the image. */
	struct history *hist;
	size_t ncommits;
	const struct facts_commit *recent;
	size_t nrecent;
	const struct facts_author *authors;
	size_t nauthors;
	const struct facts_month *months;
	size_t nmonths;
	const struct facts_release *releases;
	size_t nreleases;

	struct facts_lang *langs;
	size_t nlangs;

	struct facts_manifest *mans;
	size_t nmans;

	const char *readme, *readme_path;
	const char *go_module;
	struct facts_stats stats;

	/* Loaded from a facts file (facts_store.c): every array and string above
	 * lives in this one block, and pool is NULL. */
	void *image;
};

/* ---- arena ---------------------------------------------------------- */

static inline void *pool_alloc(struct repo_facts *f, size_t n)
{
	struct pool_blk *b = f->pool;

	n = (n + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < n) {
		size_t cap = MAX((size_t)64 << 10, n);

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = f->pool;
		f->pool = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static inline const char *pool_strndup(struct repo_facts *f, const char *s, size_t n)
{
	char *p = pool_alloc(f, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static inline int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *p;
	size_t c;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* A build manifest at the top level. */
static inline bool facts_is_manifest(const char *path)
{
	return !strchr(path, '/') && (lang_name_roles(path, false) & LANG_MANIFEST);
}

/* facts_scan.c: reads the text blobs of @f's files (@oids parallel to them)
 * for the README, the manifests, imports and symbols; symbols come from
 * Universal Ctags at @ctags ("" : not used) or, failing that, from the
 * hand-written scanners (the cause is then in f->stats.ctags_error). */
void facts_scan_blobs(struct repo_facts *f, git_repository *repo, const git_oid *oids,
		      const char *ctags);
int facts_resolve_imports(struct repo_facts *f);

/* facts.c: facts_load() with symbols from the ctags at @ctags (NULL: CTAGS_PATH; "": none). */
int facts_compute(struct repo_facts **ret, const char *git_dir, const char *commit,
		  const char *ctags, struct wf_err *err);

#endif
