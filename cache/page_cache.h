/* SPDX-License-Identifier: MIT */
/*
 * Page cache: generated pages on disk under CACHE_DIR/pages/XX/<key>, where
 * the key is the SHA-256 of everything that determines a page's bytes (cache
 * format, repository URL, commit, slug, backend, model, prompt version).
 *
 * An entry is a 64-byte header (magic, content length, SHA-256 of the
 * content) followed by the content. Entries are committed atomically (temp
 * file, fsync, rename, fsync dir) and verified the first time this process
 * opens them; a corrupt entry is deleted and reported as missing, so it is
 * regenerated. The cache keeps an in-memory index (size, last use, pins) and
 * evicts least-recently-used entries past its byte budget, never one that is
 * pinned (open, or just committed and not yet handed to its waiters).
 *
 * Thread-safe: one mutex protects the index; file I/O happens outside it.
 */
#ifndef WIKIFS_PAGE_CACHE_H
#define WIKIFS_PAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define PAGE_CACHE_HDR_LEN 64

struct page_cache;

struct page_key {
	char hex[SHA256_HEX];
};

/* @repo is the repository's name: its pages say it, so two names of one URL differ. */
struct page_key_parts {
	const char *repo, *url, *commit, *slug, *backend, *model, *prompt_version;
};

void page_cache_key(struct page_key *k, const struct page_key_parts *p);

struct page_cache_stats {
	uint64_t entries, bytes, max_bytes, evicted, corrupt;
};

/* Creates CACHE_DIR/pages, removes stale temp files, indexes what is there. */
int page_cache_new(struct page_cache **ret, const char *cache_dir, uint64_t max_bytes);
void page_cache_free(struct page_cache *pc); /* NULL is fine */

/*
 * Is the entry present? 0 and its content size, or -ENOENT. Cheap (index
 * only, no I/O): for getattr.
 */
int page_cache_lookup(struct page_cache *pc, const struct page_key *k, uint64_t *size);

/*
 * Opens the entry for reading, verifying it if this process has not yet;
 * pins it. On success *fd reads the content at offset PAGE_CACHE_HDR_LEN.
 * -ENOENT when missing or found corrupt (then removed). The caller closes
 * the fd and calls page_cache_unpin().
 */
int page_cache_open(struct page_cache *pc, const struct page_key *k, int *fd, uint64_t *size);

/* Writes an entry atomically and pins it; then evicts past the budget. */
int page_cache_commit(struct page_cache *pc, const struct page_key *k, const void *data,
		      size_t len);

void page_cache_pin(struct page_cache *pc, const struct page_key *k);
void page_cache_unpin(struct page_cache *pc, const struct page_key *k);

/* Forgets an entry and removes its file; open fds keep reading the old bytes. */
void page_cache_remove(struct page_cache *pc, const struct page_key *k);

void page_cache_stats(struct page_cache *pc, struct page_cache_stats *st);

#endif
