/* SPDX-License-Identifier: MIT */
/*
 * The counters only .wikifs/metrics shows (metrics.h), and the window the
 * progress rate is taken over. Pure bookkeeping under the caller's lock:
 * no call leaves this file. Rendered by report_metrics.c.
 */
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <string.h>

const double wiki_clone_le[WIKI_CLONE_BUCKETS] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300 };

const char *const wiki_err_class_names[WIKI_ERR_MAX] = {
	[WIKI_ERR_RATE_LIMITED] = "rate_limited",
	[WIKI_ERR_TIMEOUT] = "timeout",
	[WIKI_ERR_CONNECTION] = "connection",
	[WIKI_ERR_AUTH] = "auth",
	[WIKI_ERR_BUDGET] = "budget",
	[WIKI_ERR_SERVER] = "server",
	[WIKI_ERR_OUTPUT] = "bad_output",
	[WIKI_ERR_RESOURCE] = "resource",
	[WIKI_ERR_OTHER] = "other",
};

void wiki_metrics_clone_locked(struct wiki_metrics *m, int64_t ms)
{
	double s = (double)ms / 1000.0;
	size_t b = 0;

	while (b < WIKI_CLONE_BUCKETS && s > wiki_clone_le[b])
		b++;
	m->clone_buckets[b]++;
	m->clone_count++;
	m->clone_seconds += s;
}

static enum wiki_err_class err_class(int err, bool budget, bool resource)
{
	if (budget)
		return WIKI_ERR_BUDGET;
	if (resource)
		return WIKI_ERR_RESOURCE;
	switch (err) {
	case -EAGAIN:
	case -EBUSY:
		return WIKI_ERR_RATE_LIMITED;
	case -ETIMEDOUT:
		return WIKI_ERR_TIMEOUT;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -EPIPE:
		return WIKI_ERR_CONNECTION;
	case -EACCES:
	case -EPERM:
	case -EKEYREJECTED:
		return WIKI_ERR_AUTH;
	case -EDQUOT:
		return WIKI_ERR_BUDGET;
	case -EIO:
		return WIKI_ERR_SERVER;
	case -EINVAL:
	case -EPROTO:
	case -EBADMSG:
	case -E2BIG:
	case -EFBIG:
	case -ENOENT:
		return WIKI_ERR_OUTPUT;
	case -ENOMEM:
	case -EMFILE:
	case -ENFILE:
	case -ENOSPC:
		return WIKI_ERR_RESOURCE;
	default:
		return WIKI_ERR_OTHER;
	}
}

void wiki_metrics_error_locked(struct wiki_metrics *m, int err, bool budget, bool resource)
{
	m->errors[err_class(err, budget, resource)]++;
}

void wiki_metrics_finished_locked(struct wiki_metrics *m, int64_t now_ms)
{
	m->finished_ms[m->nfinished++ % WIKI_RATE_WINDOW] = now_ms;
}

double wiki_metrics_rate(const struct wiki_metrics *m, int64_t now_ms)
{
	size_t n = MIN(m->nfinished, (size_t)WIKI_RATE_WINDOW), k = 0;
	int64_t oldest = now_ms;

	for (size_t i = 0; i < n; i++) {
		int64_t t = m->finished_ms[i];

		if (now_ms - t > 600000)
			continue; /* older than the window */
		k++;
		oldest = MIN(oldest, t);
	}
	if (k < 2)
		return 0;
	return (double)(k - 1) * 60000.0 / (double)MAX(now_ms - oldest, 1);
}
