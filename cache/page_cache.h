/* SPDX-License-Identifier: MIT */
/*
 * Page cache: generated pages on disk under CACHE_DIR/pages/XX/<key>. A
 * page's recipe (page_recipe_key) is the SHA-256 of everything that decides
 * how it is made, except the commit: cache format, repository name and
 * normalised URL, page slot (slug, kind, argument), backend, model, prompt
 * version, language, generation options. The entry of one commit's page is
 * keyed by recipe and commit (page_cache_key); whether an entry made at one
 * commit serves another is the manifest's to say (page_manifest.h), whose
 * files are entries of this cache too, under the same budget.
 *
 * An entry is a 64-byte header (magic, content length, SHA-256 of the
 * content) followed by the content. Entries are committed atomically (temp
 * file, fsync, rename, fsync dir). An entry is verified before it is first
 * served and again whenever its file is no longer the one verified (another
 * inode, size, mtime or ctime); a corrupt entry, or one another user could
 * have written (not ours, or writable by group or others), is deleted and
 * reported as missing, so it is regenerated. The cache keeps an in-memory
 * index (size, last use, pins) and evicts least-recently-used entries past
 * its byte budget, never one that is pinned (open, or just committed and not
 * yet handed to its waiters).
 *
 * Many processes, one directory. Two daemons may share CACHE_DIR (the
 * default ~/.cache/wikifs makes that common). The protocol, all of it on
 * the file system, so a crashed process leaves nothing held:
 *
 *  - Temps in flight ("<key>.tmp.XXXXXX") hold an exclusive flock(2) from
 *    creation to rename (fsutil.h); the start-up sweep removes only unlocked
 *    ones, so it never takes another process's commit away.
 *  - The index is a cache of the directory, not its truth: a miss looks at
 *    the disk (a page another process wrote is a hit), and a hit whose file
 *    is gone (evicted or removed elsewhere) is a miss at open.
 *  - Readers hold a shared flock(2) on every fd they read; the committer
 *    holds one on the new file until its waiters are served. Eviction takes
 *    the entry's exclusive lock without waiting, and skips it when it cannot:
 *    no process evicts a page another one has open or just committed.
 *  - Generation is claimed: page_cache_claim() takes an exclusive
 *    open-file-description lock (F_OFD_SETLK) on one byte of
 *    CACHE_DIR/page-claims, at an offset given by the key, and then looks
 *    at the disk again. The second process waits for the first's claim and
 *    finds its page, so each page is generated once. A claim dies with its
 *    process; nothing is left to clean up.
 *
 * Limits: each process keeps its byte budget over the entries it knows, so
 * mounts sharing a directory may hold up to the sum of their budgets. A
 * fresh file renamed in by another process between an evictor's check and
 * its unlink can be removed: that page is then regenerated, never served
 * wrong. Temps of a wikifs older than this protocol are not locked, and a
 * new process's sweep takes them for stale.
 *
 * Thread-safe: one mutex protects the index; file I/O happens outside it
 * (except the unlink of eviction and removal).
 */
#ifndef WIKIFS_PAGE_CACHE_H
#define WIKIFS_PAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "page_file.h"
#include "sha256.h"

#define PAGE_CACHE_HDR_LEN PAGE_FILE_HDR_LEN

struct page_cache;

struct page_key {
	char hex[SHA256_HEX];
};

/*
 * A page's recipe, and the commit it is wanted at. @repo is the
 * repository's name: its pages say it, so two names of one URL differ.
 * @url is normalised here (scheme and host in lower case, no trailing "/"
 * or ".git"). @kind and @arg are the page's slot (plan_kind_name() and its
 * argument, NULL for none); @language defaults to "en"; @options are the
 * generation options that change a page's bytes, as one string ("" none).
 * NULL strings count as "".
 */
struct page_key_parts {
	const char *repo, *url, *commit, *slug, *kind, *arg, *backend, *model, *prompt_version;
	const char *language, *options;
};

/* The recipe: every part but the commit. */
void page_recipe_key(struct page_key *k, const struct page_key_parts *p);
/* The entry of the page at p->commit: the recipe and the commit. */
void page_cache_key(struct page_key *k, const struct page_key_parts *p);

struct page_cache_stats {
	uint64_t entries, bytes, max_bytes, evicted, corrupt;
	uint64_t adopted; /* entries found on disk after start: another process's */
	uint64_t busy;	  /* evictions skipped: the page was in use in another process */
};

/* Creates CACHE_DIR/pages, removes stale temp files, indexes what is there. */
int page_cache_new(struct page_cache **ret, const char *cache_dir, uint64_t max_bytes);
void page_cache_free(struct page_cache *pc); /* NULL is fine */

/*
 * Is the entry present? 0 and its content size, or -ENOENT. Cheap: the
 * index, and on a miss one stat(2) of the entry's file (another process may
 * have written it). For getattr.
 */
int page_cache_lookup(struct page_cache *pc, const struct page_key *k, uint64_t *size);

/*
 * The size a getattr reports: page_cache_lookup()'s, except for an entry
 * removed while still pinned (open, or committed and not yet served): then
 * the size of the version still being read, so that a kernel caching the
 * size never sees an open page shrink to 0 while it is regenerated.
 */
int page_cache_size(struct page_cache *pc, const struct page_key *k, uint64_t *size);

/*
 * Opens the entry for reading, verifying it unless this very file was
 * verified before; pins it. On success *fd reads the content at offset
 * PAGE_CACHE_HDR_LEN and holds a shared lock (see above). -ENOENT when
 * missing or found corrupt (then removed). While an entry is pinned by a
 * commit or claim, a removal does not take it from page_cache_open(): the
 * waiters of that commit read the page they waited for. The caller closes
 * the fd and calls page_cache_unpin(). Returns 1 instead of 0 when the file
 * is not the one the index knew (another process replaced it): a size or
 * bytes cached from the old one (the kernel's) are stale.
 */
int page_cache_open(struct page_cache *pc, const struct page_key *k, int *fd, uint64_t *size);

/*
 * The bytes of entry @k (at most @max) into a malloc'ed NUL-terminated
 * *@ret of *@len bytes, read through page_cache_open(). -ENOENT, -EFBIG
 * past @max, or -errno.
 */
int page_cache_read(struct page_cache *pc, const struct page_key *k, size_t max, char **ret,
		    size_t *len);

/* Writes an entry atomically and pins it; then evicts past the budget. */
int page_cache_commit(struct page_cache *pc, const struct page_key *k, const void *data,
		      size_t len);

/* Drops the pin of a page_cache_open() or page_cache_commit(). */
void page_cache_unpin(struct page_cache *pc, const struct page_key *k);

/*
 * Forgets an entry and removes its file; open fds keep reading the old
 * bytes. A pinned entry stays in memory (unlisted) until its last unpin.
 */
void page_cache_remove(struct page_cache *pc, const struct page_key *k);

struct page_claim;

/*
 * Claims the generation of @k across processes (and threads), waiting up to
 * @timeout_ms for another holder. Returns 0 with *claim: the caller
 * generates, commits, then calls page_cache_release(). Returns 1 when the
 * entry exists after all (another process made it meanwhile): it is pinned
 * as by page_cache_commit(), and there is no claim to release. -ETIMEDOUT
 * when another holder kept it past @timeout_ms, -ESHUTDOWN after
 * page_cache_stop(), or -errno.
 */
int page_cache_claim(struct page_cache *pc, const struct page_key *k, int64_t timeout_ms,
		     struct page_claim **claim);
void page_cache_release(struct page_claim *claim); /* NULL is fine */

/*
 * An exclusive lock on @k across processes and threads, for a short
 * read-modify-write of its entry (a manifest's): an open-file-description
 * lock on one byte of CACHE_DIR/page-locks, waited for. 0 with *fd, which
 * page_cache_unlock() closes, or -errno. A lock dies with its process.
 */
int page_cache_lock(struct page_cache *pc, const struct page_key *k, int *fd);
void page_cache_unlock(int fd); /* -1 is fine */

/* Ends every claim wait at once (-ESHUTDOWN), now and later. */
void page_cache_stop(struct page_cache *pc);

void page_cache_stats(struct page_cache *pc, struct page_cache_stats *st);

#endif
