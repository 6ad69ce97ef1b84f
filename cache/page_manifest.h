/* SPDX-License-Identifier: MIT */
/*
 * Page manifests: what a page was made from, so that the bytes made at one
 * commit serve another whose tree still holds the same inputs (ccache's
 * direct-mode manifests, with several results per recipe).
 *
 * What a page is made from is recorded and matched by page_deps.h.
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
#include "page_deps.h"

#define PAGE_MANIFEST_RESULTS 8 /* results kept per recipe */
#define PAGE_MANIFEST_ENTRIES PAGE_RESULT_ENTRIES
#define PAGE_MANIFEST_MAX     (4u << 20) /* bytes of an encoded manifest */

struct page_manifest {
	struct page_key recipe;
	size_t n;
	struct page_result results[PAGE_MANIFEST_RESULTS];
};

/* The page cache key of @recipe's manifest. */
void page_manifest_key(struct page_key *k, const struct page_key *recipe);

/* Text encoding, for the store and the tests. -EBADMSG on anything malformed. */
int page_manifest_encode(const struct page_manifest *m, struct buf *out);
int page_manifest_decode(struct page_manifest *m, const struct page_key *recipe, const char *text,
			 size_t len);
void page_manifest_done(struct page_manifest *m); /* frees the results' deps */

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
 * entries (*@from) verifies, its bytes are committed as @entry (pinned, as
 * by page_cache_commit()), @entry is added to that result, *made_at says
 * the commit it was made at, and 1 is returned. A result whose entries are
 * all gone is dropped. 0 when nothing matches, -errno.
 */
int page_manifest_reuse(struct page_cache *pc, const struct page_key *recipe,
			const struct page_source *src, const struct page_key *entry,
			struct page_key *from, char made_at[41]);

/*
 * Fleet-wide reuse (the manifests travel through the shared store). The
 * manifest of @entry alone, encoded into @out: @recipe's result holding it,
 * with @entry as its only entry. 0 or -ENOENT (not recorded), -errno.
 */
int page_manifest_entry_text(struct page_cache *pc, const struct page_key *recipe,
			     const struct page_key *entry, struct buf *out);
/* The first result of @m (from page_manifest_decode()) matching @src: its index, -ENOENT, -errno. */
int page_manifest_match(const struct page_manifest *m, const struct page_source *src);
/*
 * Records @entry (just committed: bytes found elsewhere) as made from the
 * dependencies of @res, which is taken (left empty). 0 or -errno.
 */
int page_manifest_adopt(struct page_cache *pc, const struct page_key *recipe,
			struct page_result *res, const struct page_key *entry);

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
