/* SPDX-License-Identifier: MIT */
/*
 * What is known about a generated page besides its bytes: the sources its
 * generator reported and how its citations checked out. Kept beside the
 * page cache, one small file per page key under CACHE_DIR/page-meta/XX/,
 * written (atomically) before the page itself is committed, so a page
 * that exists has its meta, across remounts. A page without one (made
 * before this file existed, or by a generator that reports nothing) simply
 * has no sources and no citation counts. Page eviction leaves the meta
 * file behind: a few hundred bytes, rewritten when the page is.
 *
 * The file: "wikifs-meta 1", then "citations VERIFIED UNRESOLVED" and
 * "source PATH" lines. Stateless and thread-safe; 0 or -errno.
 */
#ifndef WIKIFS_PAGE_META_H
#define WIKIFS_PAGE_META_H

#include <stdbool.h>

#include "page_cache.h"

#define PAGE_META_MAX_BYTES (512u << 10)

struct page_meta {
	bool has_citations;
	unsigned verified, unresolved;
	char *sources; /* paths, one per line, or NULL; malloc'ed */
};

int page_meta_store(const char *cache_dir, const struct page_key *k, const struct page_meta *m);
/* -ENOENT when there is none; page_meta_done() after a success. */
int page_meta_load(const char *cache_dir, const struct page_key *k, struct page_meta *m);
void page_meta_done(struct page_meta *m);
/* Removes the temp files a killed process left in CACHE_DIR/page-meta (at start). */
void page_meta_sweep(const char *cache_dir);

#endif
