/* SPDX-License-Identifier: MIT */
/*
 * The parking lot: FUSE requests that wait for a clone or a page without
 * holding a FUSE thread. One lot per mount, owned by struct fs. The lot
 * answers nothing itself: when a parked request's wait is over it calls
 * the answer callback it was handed at park_lot_new(), so the lot knows
 * nothing of the operations above it.
 */
#ifndef WIKIFS_PARK_H
#define WIKIFS_PARK_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "wiki.h"

struct park_lot;

enum park_kind { PARK_LOOKUP, PARK_OPENDIR, PARK_OPEN, PARK_VERSION };

/* A parked request. The fields after @lot belong to the caller of park_request(). */
struct parked {
	struct wiki_waiter w; /* first: the wiki calls back with it */
	struct park_lot *lot;
	fuse_req_t req;
	enum park_kind kind;
	fuse_ino_t ino; /* the node waited for (repo dir or page; PARK_VERSION: its parent) */
	char *name;	/* PARK_LOOKUP, PARK_VERSION; freed with the request */
	struct fuse_file_info fi;
	int64_t deadline_ms;
	struct parked *prev, *next; /* deadline list, protected by the lot's lock */
	bool listed, expired;
};

/*
 * Answers @p, whose wait is over: @err 0 = proceed, else why not (-errno,
 * as the wiki's waiter heard it). Runs on a wiki thread with no lock held;
 * must reply to p->req exactly once and not free @p.
 */
typedef void park_answer_fn(void *ctx, struct parked *p, int err);

/*
 * Makes a lot and starts its timer thread, which answers ETIMEDOUT to a
 * request parked longer than @wait_ms. @wiki must outlive the lot. 0 or
 * -errno. Not thread-safe (call before the session runs).
 */
int park_lot_new(struct park_lot **ret, struct wiki *wiki, int64_t wait_ms, park_answer_fn *answer,
		 void *ctx);
/*
 * Stops the timer and frees the lot (NULL is fine). Call once nothing can
 * be parked or answered any more: after wiki_shutdown().
 */
void park_lot_free(struct park_lot *lot);

/*
 * Parks @req: a new request, on the deadline list, with an interrupt hook.
 * The caller then attaches p->w with a wiki_*_want() call; if that does not
 * attach, it calls park_abandon(). NULL when out of memory. Thread-safe.
 */
struct parked *park_request(struct park_lot *lot, fuse_req_t req, enum park_kind kind,
			    fuse_ino_t ino);
/* After a want() that did not attach: unlists, clears the interrupt hook, frees. */
void park_abandon(struct parked *p);

#endif
