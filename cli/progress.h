/* SPDX-License-Identifier: MIT */
/* Reading a mount's .wikifs/progress.json, for the prefetch client. */
#ifndef WIKIFS_PROGRESS_H
#define WIKIFS_PROGRESS_H

#include <stddef.h>

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
};

/*
 * Sums the repositories of @json (@len bytes) named @prefix or below it
 * ("" = all, "owner", "owner/repo"), or the version directory @prefix
 * names ("owner/repo@v1", its "versions" entry), into *t. 0, or -EBADMSG if @json is
 * not JSON. Fields missing or of the wrong type count as 0. Thread-safe.
 */
int progress_parse_totals(const char *json, size_t len, const char *prefix,
			  struct progress_totals *t);

#endif
