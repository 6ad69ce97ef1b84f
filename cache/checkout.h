/* SPDX-License-Identifier: MIT */
/*
 * Read-only checkouts: one working tree per commit under
 * CACHE_DIR/checkouts/<commit>/, for generators that read the code
 * themselves (backend = command: an agent with Read, Grep and Glob). A
 * checkout is made the first time a generation at its commit asks for it:
 * exported from the clone (gitrepo_export) into a locked temporary
 * directory, closed (files 0444, directories 0555) and renamed into place,
 * so a checkout that exists is complete. Every page of the commit shares it.
 * Mode bits do not stop root; making it read-only for a command run as
 * root is the runner's part (core/child.h ro_path).
 *
 * Budget: the checkouts' bytes are kept under max_bytes by evicting the
 * least recently used one, never one in use. In this process a reference
 * count says so; across processes sharing the cache directory, every user
 * holds a shared flock(2) on the checkout's directory, and an evictor
 * removes one only with the exclusive lock, taken without waiting (the
 * page cache's protocol, cache/page_cache.h). A checkout that is in use is
 * kept even past the budget. At start, temporaries a crash left behind are
 * removed and the checkouts there are indexed (oldest first by mtime).
 *
 * Thread-safe: one mutex guards the index; exports, scans and removals run
 * outside it. A second caller for a commit being exported waits for the
 * first one's result.
 */
#ifndef WIKIFS_CHECKOUT_H
#define WIKIFS_CHECKOUT_H

#include <stdint.h>

#include "err.h"

struct checkout_cache;
struct checkout;

struct checkout_stats {
	uint64_t entries, bytes, max_bytes;
	uint64_t made;	  /* exported by this process */
	uint64_t evicted; /* removed past the budget */
	uint64_t busy;	  /* evictions skipped: in use by another process */
};

/*
 * Opens CACHE_DIR/checkouts (created 0700), sweeps what a crash left and
 * indexes the rest. Exports above max(@max_bytes, CHECKOUT_MIN_TREE) fail.
 */
#define CHECKOUT_MIN_TREE (256ull << 20)
int checkout_cache_new(struct checkout_cache **ret, const char *cache_dir, uint64_t max_bytes,
		       struct wf_err *err);
/* Every checkout must have been put back. NULL is fine. */
void checkout_cache_free(struct checkout_cache *cc);

/*
 * The checkout of @commit (40 or 64 hex digits) of the bare repository
 * @git_dir, made now if there is none: blocks for an export. The caller
 * holds it until checkout_put(); it is never removed meanwhile. 0 or
 * -errno with @err filled.
 */
int checkout_get(struct checkout_cache *cc, const char *git_dir, const char *commit,
		 struct checkout **ret, struct wf_err *err);
/* Its directory, absolute; valid until checkout_put(). */
const char *checkout_path(const struct checkout *co);
/* Gives it back; then evicts past the budget. NULL is fine. */
void checkout_put(struct checkout *co);

void checkout_cache_stats(struct checkout_cache *cc, struct checkout_stats *st);

#endif
