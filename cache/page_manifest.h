/* SPDX-License-Identifier: MIT */
/*
 * Page manifests: what a page was made from, so that the bytes made at one
 * commit serve another whose tree still holds the same inputs (ccache's
 * direct-mode manifests, with several results per recipe).
 *
 * Recording is plain data (struct page_deps): a generator names the
 * repository paths it read, looked up or listed, and the facts it used;
 * no object id, no libgit2, so gen/ records without knowing git. At record
 * time each path is resolved at the commit the page was made at: blob (a
 * file, a symlink, a submodule), tree (a directory: its whole content) or
 * absent (nothing there: a later file there is a change, ccache#599); each
 * fact becomes the digest of what it says at that commit (see
 * page_fact_digest for the names). A page that names nothing is recorded as
 * depending on the whole tree.
 *
 * A manifest is an entry of the page cache keyed by page_manifest_key(recipe):
 * verified on read like a page (length and SHA-256 header), counted in the
 * same LRU budget, shared by processes sharing the cache directory. It
 * holds up to PAGE_MANIFEST_RESULTS results, newest first; a result is a
 * dependency list, the commit it was made at and the page entries (keys of
 * one commit each) that hold its bytes, newest first. A manifest that fails
 * to parse is removed and counts as none: its pages are made again.
 * Updates are read-modify-write under page_cache_lock() (an inter-process
 * lock on the manifest's key), so two daemons never lose each other's
 * results.
 *
 * Thread-safe: every function works on its own objects (the page cache is
 * thread-safe; a snapshot is opened per call).
 */
#ifndef WIKIFS_PAGE_MANIFEST_H
#define WIKIFS_PAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "facts.h"
#include "page_cache.h"
#include "plan.h"

#define PAGE_DEPS_MAX	      4096 /* paths and facts a page may name; past it: the whole tree */
#define PAGE_MANIFEST_RESULTS 8	   /* results kept per recipe */
#define PAGE_MANIFEST_ENTRIES 4	   /* entries kept per result */
#define PAGE_MANIFEST_MAX     (4u << 20) /* bytes of an encoded manifest */

/* ---- recording (no git) ---- */

struct page_deps;

int page_deps_new(struct page_deps **ret);
void page_deps_free(struct page_deps *d); /* NULL is fine */
/* A repository path read, looked up or listed ("" = the whole tree). 0 or -ENOMEM. */
int page_deps_path(struct page_deps *d, const char *path);
/* Paths one per line (a command's report); empty lines are skipped. */
int page_deps_paths(struct page_deps *d, const char *lines);
/* A fact used (page_fact_digest names). 0, -EINVAL for an unknown name, -ENOMEM. */
int page_deps_fact(struct page_deps *d, const char *name);
size_t page_deps_count(const struct page_deps *d);

/* ---- manifests ---- */

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
	struct page_key entries[PAGE_MANIFEST_ENTRIES];
	size_t ndeps;
	struct page_dep *deps;
};

struct page_manifest {
	struct page_key recipe;
	size_t n;
	struct page_result results[PAGE_MANIFEST_RESULTS];
};

/* The page cache key of @recipe's manifest. */
void page_manifest_key(struct page_key *k, const struct page_key *recipe);

/*
 * The digest (64 hex) of fact @name at @src: "plan" (the plan's pages),
 * "log:N" (how many commits, and the newest N: id, author, time, subject),
 * "authors" (commits per author), "languages" (files and bytes per
 * language), "files:DIR" (how many files, and the path, size, language of
 * every file under DIR; "" = all: a prompt's file list), "paths:DIR" (the
 * path and language of every file under DIR: a listing without sizes, so
 * an edit keeps it). 0, -EINVAL (unknown name), -ENOENT (not known at @src).
 */
int page_fact_digest(const char *name, const struct page_source *src, char out[SHA256_HEX]);

/* Text encoding, for the store and the tests. -EBADMSG on anything malformed. */
int page_manifest_encode(const struct page_manifest *m, struct buf *out);
int page_manifest_decode(struct page_manifest *m, const struct page_key *recipe, const char *text,
			 size_t len);
void page_manifest_done(struct page_manifest *m); /* frees the results' deps */

/*
 * Resolves @d at @src into @res (deps only; the caller sets the rest).
 * page_manifest_result_done() frees it. 0 or -errno with @err filled.
 */
int page_manifest_resolve(struct page_result *res, const struct page_deps *d,
			  const struct page_source *src, struct wf_err *err);
void page_manifest_result_done(struct page_result *res);

/* 1 when every dependency of @res holds at @src, 0 when one does not, -errno. */
int page_manifest_match(const struct page_result *res, const struct page_source *src);

/* @recipe's manifest: 0, or -ENOENT (none, or found corrupt and removed). */
int page_manifest_load(struct page_cache *pc, const struct page_key *recipe,
		       struct page_manifest *m);

/*
 * Records that @entry (just committed at @src->commit) was made from @d:
 * resolves @d and adds the result, or @entry to the result with the same
 * dependencies. 0 or -errno with @err filled.
 */
int page_manifest_record(struct page_cache *pc, const struct page_key *recipe,
			 const struct page_deps *d, const struct page_source *src,
			 const struct page_key *entry, struct wf_err *err);

/*
 * Reuse: when a result of @recipe's manifest matches @src and one of its
 * entries verifies, its bytes are committed as @entry (pinned, as by
 * page_cache_commit()), @entry is added to that result, *made_at says the
 * commit it was made at, and 1 is returned. A result whose entries are all
 * gone is dropped. 0 when nothing matches, -errno.
 */
int page_manifest_reuse(struct page_cache *pc, const struct page_key *recipe,
			const struct page_source *src, const struct page_key *entry,
			char made_at[41]);

/*
 * The newest entry of @recipe still in the cache, and the commit it was made
 * at (a stale page to serve while the new one is made). 0 or -ENOENT.
 */
int page_manifest_latest(struct page_cache *pc, const struct page_key *recipe,
			 struct page_key *entry, char made_at[41]);

/*
 * What the bytes of @entry were made from, one "KIND SHORT-ID PATH" line per
 * dependency (user.wikifs.sources), appended to @out. 0 or -ENOENT.
 */
int page_manifest_sources(struct page_cache *pc, const struct page_key *recipe,
			  const struct page_key *entry, struct buf *out);

#endif
