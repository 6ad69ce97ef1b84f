/* SPDX-License-Identifier: MIT */
/*
 * Repository facts: what can be learnt from a commit's tree and history
 * without any LLM, for the builtin planner, the builtin generator and the
 * prompts of LLM backends. Everything is bounded (files listed, bytes read
 * per blob, commits walked, symbols kept), so a hostile repository cannot
 * make it slow or large. The reading is done here, with libgit2; what the
 * bytes say (languages, symbols, imports) is analysis/'s job.
 *
 * A repo_facts is loaded once per (repository, commit), is immutable after
 * facts_load() and is shared between worker threads by reference counting.
 * Functions that read blobs open their own repository handle (libgit2 wants
 * one git_repository per thread), so they are thread-safe. libgit2 must have
 * been initialised (gitrepo_global_init()) before any call.
 */
#ifndef WIKIFS_FACTS_H
#define WIKIFS_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct repo_facts;

struct facts_file {
	const char *path; /* repository-relative, as stored (may hold odd bytes) */
	uint64_t size;
	const char *lang; /* "C", "Python", ... (a lang.h name) or NULL */
	int binary;	  /* 1 if it looks binary (NUL in the first 8 KiB) */
};

struct facts_commit {
	const char *id; /* hex */
	const char *author;
	const char *email;
	int64_t time; /* seconds since the epoch */
	const char *subject;
};

/* flags of a facts_symbol */
#define FACTS_SYM_PUBLIC 1u /* part of the public API by its language's rule */

struct facts_symbol {
	const char *path; /* file */
	unsigned line;	  /* 1-based */
	unsigned flags;	  /* FACTS_SYM_* */
	const char *kind; /* "function", "struct", "class", "method", ... */
	const char *name;
	const char *scope;     /* the class or type of a method ("Session", "app"), or NULL */
	const char *signature; /* "(self, method, url)", or NULL */
	const char *doc;       /* one line from its doc comment or docstring, or NULL */
};

int facts_load(struct repo_facts **ret, const char *git_dir, const char *commit,
	       struct wf_err *err);
struct repo_facts *facts_ref(struct repo_facts *f);

/*
 * Facts computed once per commit and kept on disk (facts_store.c). With
 * @o->cache_dir set and a full commit id, facts_open() reads the facts file
 * of (@o->url, @commit) if there is a good one (a few milliseconds, no git
 * access), else computes the facts (facts_load()) and writes the file
 * atomically for next time; a damaged file is recomputed. Without a cache
 * directory it is facts_load(). Thread-safe; two threads opening the same
 * facts at once may both compute them (callers serialise per repository).
 */
struct facts_opts {
	const char *cache_dir; /* facts files live in CACHE/facts; NULL: none kept */
	const char *url;       /* the repository's identity (no password) */
	const char *ctags;     /* Universal Ctags; NULL: the default path; "": not used */
};
int facts_open(struct repo_facts **ret, const struct facts_opts *o, const char *git_dir,
	       const char *commit, struct wf_err *err);
/* Removes the temp files a killed process left in CACHE_DIR/facts (at start). */
void facts_store_sweep(const char *cache_dir);

/*
 * A few facts kept in memory, most recently used first, so that pages of
 * the same commit generated one after another load their facts once while
 * a mount of many repositories holds only @cap of them. Thread-safe (its
 * own lock, a leaf). get: a reference (facts_unref it) or NULL. put: the
 * LRU takes its own reference, replacing @url's older entry if any.
 */
struct facts_lru;
int facts_lru_new(struct facts_lru **ret, size_t cap);
void facts_lru_free(struct facts_lru *l); /* NULL is fine */
struct repo_facts *facts_lru_get(struct facts_lru *l, const char *url, const char *commit);
void facts_lru_put(struct facts_lru *l, const char *url, struct repo_facts *f);
void facts_unref(struct repo_facts *f); /* NULL is fine */

/* One person of the history: authors the commit's .mailmap names as one are one. */
struct facts_author {
	const char *name;  /* as .mailmap resolves it */
	const char *email; /* of the person's newest commit */
	size_t commits;
	int64_t first, last; /* author times of the oldest and newest commit */
};

struct facts_month {
	int year, month; /* UTC, month 1-12 */
	size_t commits;
};

/* A tag whose commit is in the history. */
struct facts_release {
	const char *tag;    /* "v1.2.0", without refs/tags/ */
	const char *commit; /* hex */
	int64_t time;	    /* the tagger's time, or the commit's for a lightweight tag */
};

const char *facts_commit_id(const struct repo_facts *f);
size_t facts_files(const struct repo_facts *f, const struct facts_file **ret);
/*
 * The newest commits (at most FACTS_RECENT_COMMITS), newest first, authors
 * resolved through the commit's .mailmap. The whole history's figures are
 * facts_commit_count(), facts_authors(), facts_months().
 */
size_t facts_history(const struct repo_facts *f, const struct facts_commit **ret);
/* Commits reachable from the commit: the whole history (see history_truncated). */
size_t facts_commit_count(const struct repo_facts *f);
/* Every person of the whole history, by commits (descending), then name. */
size_t facts_authors(const struct repo_facts *f, const struct facts_author **ret);
/* Commits per month, newest month first. */
size_t facts_months(const struct repo_facts *f, const struct facts_month **ret);
/* Releases, newest first. */
size_t facts_releases(const struct repo_facts *f, const struct facts_release **ret);

/*
 * Reads up to @max bytes of the blob at @path into @out (appended).
 * Thread-safe. -ENOENT if absent, -EISDIR for a tree.
 */
int facts_read_file(const struct repo_facts *f, const char *path, size_t max, struct buf *out);

/*
 * A reader opens the repository and the commit's tree once for many reads
 * (a prompt reads dozens of files). One reader per thread: it holds a
 * git_repository. facts_reader_read() behaves as facts_read_file().
 */
struct facts_reader;
int facts_reader_new(struct facts_reader **ret, const struct repo_facts *f);
int facts_reader_read(struct facts_reader *rd, const char *path, size_t max, struct buf *out);
void facts_reader_free(struct facts_reader *rd); /* NULL is fine */

/*
 * Additions for the builtin planner and generator. Every pointer returned
 * below points into the repo_facts and lives as long as its last reference;
 * all of these only read immutable data and are thread-safe.
 */

/* Bounds on what facts_load() keeps and reads. */
#define FACTS_MAX_FILES	     200000	  /* files kept; the rest are only counted */
#define FACTS_MAX_DEPTH	     1024	  /* tree levels walked */
#define FACTS_MAX_PATH	     4096	  /* longer paths are skipped */
#define FACTS_SCAN_MAX	     (256u << 10) /* bytes of a blob scanned for symbols */
#define FACTS_BLOB_LOAD_MAX  (16u << 20)  /* larger blobs are never loaded */
#define FACTS_MAX_COMMITS    5000000	  /* commits walked: the whole history below this */
#define FACTS_RECENT_COMMITS 500	  /* the newest commits, kept in full */
#define FACTS_MAX_AUTHORS    200000	  /* people kept; the rest are counted in no one */
#define FACTS_MAX_RELEASES   5000	  /* tags kept as releases */
#define FACTS_MAX_SYMBOLS    250000
#define FACTS_FILE_SYMBOLS   2000 /* symbols kept per file */
#define FACTS_MAX_IMPORTS    250000
#define FACTS_README_MAX     (64u << 10)
#define FACTS_MANIFEST_MAX   (64u << 10)

#define FACTS_MODE_TREE	   0040000
#define FACTS_MODE_LINK	   0120000 /* a symlink: a blob holding the target; never followed */
#define FACTS_MODE_GITLINK 0160000 /* a submodule commit */

/* Files of a repo_facts are sorted by path (strcmp), so a directory is a range. */
struct facts_file_ext {
	unsigned mode; /* git file mode: 0100644, 0100755, FACTS_MODE_LINK, ... */
	int scanned;   /* 1 if its prefix was read (binary flag and symbols are real) */
};

struct facts_import {
	const char *from; /* importing file */
	unsigned line;
	const char *spec;   /* as written: "util/buf.h", "pkg.mod", "./x" */
	const char *target; /* resolved repository path of a file or a directory */
};

struct facts_lang {
	const char *lang;
	size_t files;
	uint64_t bytes;
};

/* A build manifest found at the top level, with a bounded prefix of its text. */
struct facts_manifest {
	const char *path;
	const char *text; /* NUL-terminated prefix (at most FACTS_MANIFEST_MAX), or NULL */
	size_t len;
};

struct facts_stats {
	size_t files_total;   /* files in the tree, kept or not */
	size_t files_dropped; /* past FACTS_MAX_FILES, too deep or too long a path */
	size_t files_scanned; /* blobs read for symbols/imports */
	size_t symbols_dropped;
	size_t imports_dropped;
	int history_truncated; /* 1 if the history could not be walked to its end */
	uint64_t bytes_total;  /* sum of kept file sizes */
	int symbols_ctags;     /* 1 if Universal Ctags gave the symbols */
	char ctags_error[200]; /* why not, when it was tried and failed; "" otherwise */
};

/* Parallel to facts_files(): extra per-file data. */
const struct facts_file_ext *facts_file_ext(const struct repo_facts *f, size_t idx);
/* Index of the file @path, or -1. */
long facts_find_file(const struct repo_facts *f, const char *path);
/*
 * The files below directory @dir ("" = all) form the range [*first, *first + n);
 * returns n.
 */
size_t facts_dir_range(const struct repo_facts *f, const char *dir, size_t *first);
/* Top-level symbols of file @idx, in line order. */
size_t facts_file_symbols(const struct repo_facts *f, size_t idx, const struct facts_symbol **ret);
/* Resolved imports, ordered by importing path then line. */
size_t facts_imports(const struct repo_facts *f, const struct facts_import **ret);
/* Languages by bytes (descending), then name. */
size_t facts_languages(const struct repo_facts *f, const struct facts_lang **ret);
/* Top-level build manifests, by path. */
size_t facts_manifests(const struct repo_facts *f, const struct facts_manifest **ret);
/* The top-level README's text prefix and its path, or NULL if there is none. */
const char *facts_readme(const struct repo_facts *f, const char **path);
void facts_get_stats(const struct repo_facts *f, struct facts_stats *ret);

#endif
