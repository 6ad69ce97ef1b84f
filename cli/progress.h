/* SPDX-License-Identifier: MIT */
/* Reading a mount's .wikifs/progress.json, for the prefetch client. */
#ifndef WIKIFS_PROGRESS_H
#define WIKIFS_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Totals of a progress.json text over the repositories at or below a
 * prefix. @failed counts pages that fail now (within failure_backoff);
 * @last_failed also those whose backoff is over but that nothing has tried
 * again since: a page reaches one of ready or last_failed once its job is
 * over.
 */
struct progress_totals {
	size_t repos, repos_pending, repos_failed;
	size_t pages, ready, failed, last_failed, queued, running;
	double rate_per_min, eta_s;
	/* the clones and fetches under way (a repository's "clone" object) */
	size_t cloning;
	uint64_t clone_objects, clone_objects_total, clone_bytes;
};

/*
 * Sums the repositories of @json (@len bytes) named @prefix or below it
 * ("" = all, "owner", "owner/repo"), or the version directory @prefix
 * names ("owner/repo@v1", its "versions" entry), into *t. 0, or -EBADMSG if @json is
 * not JSON. Fields missing or of the wrong type count as 0. Thread-safe.
 */
int progress_parse_totals(const char *json, size_t len, const char *prefix,
			  struct progress_totals *t);

/*
 * The rate of one prefetch run, from what it saw complete: the last
 * PROGRESS_WINDOW changes of the count of finished pages (a sliding
 * window), measured up to now, so the rate falls while nothing finishes and
 * pages finished before the run do not count. Not thread-safe.
 */
#define PROGRESS_WINDOW 32

struct progress_rate {
	int64_t t[PROGRESS_WINDOW]; /* when the count changed (ms) */
	size_t done[PROGRESS_WINDOW];
	size_t n; /* samples recorded; the ring holds the last PROGRESS_WINDOW */
};

/* Records that @done pages were finished at @now_ms; call it on every look. */
void progress_rate_add(struct progress_rate *r, int64_t now_ms, size_t done);
/* Pages per minute over the window as of @now_ms; 0 before a page finished in it. */
double progress_rate_per_min(const struct progress_rate *r, int64_t now_ms);

#endif
