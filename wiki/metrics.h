/* SPDX-License-Identifier: MIT */
/*
 * The counters only .wikifs/metrics shows, and the window the progress
 * rate is taken over: clone and fetch durations (a histogram), failed
 * generation attempts by class, and the times of the latest page
 * completions. Internal to wiki/: every function is called with the wiki's
 * lock (w->lock) held, the struct lives in struct wiki.
 */
#ifndef WIKIFS_WIKI_METRICS_H
#define WIKIFS_WIKI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a generation attempt failed, as an operator groups it. */
enum wiki_err_class {
	WIKI_ERR_RATE_LIMITED, /* 429, 503, 529, 409: the provider asks to slow down */
	WIKI_ERR_TIMEOUT,
	WIKI_ERR_CONNECTION, /* refused, reset, unreachable */
	WIKI_ERR_AUTH,	     /* 401, 403, a rejected key */
	WIKI_ERR_BUDGET,     /* quota or billing, or the mount's own budget */
	WIKI_ERR_SERVER,     /* 5xx and other I/O failures */
	WIKI_ERR_OUTPUT,     /* a malformed or refused request or answer */
	WIKI_ERR_RESOURCE,   /* this machine ran short: descriptors, memory */
	WIKI_ERR_OTHER,
	WIKI_ERR_MAX
};

#define WIKI_CLONE_BUCKETS 10 /* upper bounds in wiki_clone_le, then +Inf */
#define WIKI_RATE_WINDOW   64 /* completions the rate is taken over, at most */

/* The clone duration buckets' upper bounds (seconds), and the classes' label values. */
extern const double wiki_clone_le[WIKI_CLONE_BUCKETS];
extern const char *const wiki_err_class_names[WIKI_ERR_MAX];

struct wiki_metrics {
	uint64_t clone_buckets[WIKI_CLONE_BUCKETS + 1]; /* per bucket, not cumulative */
	uint64_t clone_count;
	double clone_seconds;
	uint64_t errors[WIKI_ERR_MAX];
	int64_t finished_ms[WIKI_RATE_WINDOW]; /* a ring: the latest completions */
	size_t nfinished;		       /* all completions; the ring holds the last */
};

/* A clone or fetch that used the network took @ms. */
void wiki_metrics_clone_locked(struct wiki_metrics *m, int64_t ms);
/* A generation attempt failed with @err; @budget, @resource as struct gen_err says. */
void wiki_metrics_error_locked(struct wiki_metrics *m, int err, bool budget, bool resource);
/* A page was generated at @now_ms. */
void wiki_metrics_finished_locked(struct wiki_metrics *m, int64_t now_ms);
/*
 * Pages per minute over the completions of the last ten minutes (at most
 * WIKI_RATE_WINDOW), as of @now_ms: falls while nothing completes. 0 when
 * fewer than two.
 */
double wiki_metrics_rate(const struct wiki_metrics *m, int64_t now_ms);

#endif
