/* SPDX-License-Identifier: MIT */
/*
 * The engine's lifecycle. wiki_new() sets up the clone cache, the page
 * cache, the sync work queue, the generation queue (running wiki_job_ops)
 * and the housekeeper thread, which fetches each ready repository every
 * refresh_interval seconds. wiki_shutdown() answers every parked waiter
 * with -ESHUTDOWN and stops what runs below; wiki_free() joins the threads
 * and frees every page array, those a forgotten reference still holds
 * included.
 *
 * The engine's files, each calling only those before it: metrics.c
 * (counters only the metrics show), waiter.c (parked requests), errors.c
 * (failures remembered), budget.c (calls and tokens), flight.c (one job
 * per key), fleet.c (the shared store tier), page.c (page versions; what a
 * reader asks of a page), group.c (groups of repositories), repo.c (sync and plans), job.c (what a worker
 * does for a page), control.c (control commands), version.c (REPO@REF
 * version directories; repo.c starts its task through w->version_task),
 * report.c (.wikifs/progress, progress.json, errors), report_metrics.c
 * (.wikifs/metrics), wiki.c. The types they share and the lock order
 * are in wiki_int.h.
 */
#include "wiki_int.h"
#include "page_meta.h"
#include "fsutil.h"
#include "util.h"

#include <errno.h>
#include <string.h>

/*
 * Fetches each ready repository every refresh_interval seconds, and tells
 * fs/ of the versions dropped (version.c).
 */
static void *housekeeper(void *data)
{
	struct wiki *w = data;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec ts = deadline_ts(now_ms() + 1000);
		int64_t now = now_ms();

		struct wversion *dropped = TAKE_PTR(w->dropped);

		for (size_t i = 0; i < w->nrepos && w->c->refresh_interval; i++) {
			struct wrepo *r = &w->repos[i];

			if (r->state == WIKI_REPO_READY && !r->busy &&
			    now - r->last_sync_ms >= (int64_t)w->c->refresh_interval * 1000)
				wiki_repo_sync_locked(w, r, CLONE_FETCH);
		}
		if (dropped) {
			/* fs/ may block here till the lookups parked in a directory are answered */
			pthread_mutex_unlock(&w->lock);
			wiki_version_dropped_notify(w, dropped, true);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		pthread_cond_timedwait(&w->hk_cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void wiki_warm(struct wiki *w)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nrepos; i++)
		if (w->repos[i].state == WIKI_REPO_NEW)
			wiki_repo_sync_locked(w, &w->repos[i], CLONE_OFFLINE);
	pthread_mutex_unlock(&w->lock);
}

/* The repositories of the configuration, in its order. */
static int repos_new(struct wiki *w, struct wf_err *err)
{
	w->repos = calloc(MAX(w->c->n_repos, 1), sizeof(*w->repos));
	if (!w->repos || facts_lru_new(&w->facts_lru, WIKI_FACTS_KEPT) < 0)
		return -ENOMEM;
	w->nrepos = w->c->n_repos; /* wiki_free() undoes them, set up or not */
	for (size_t i = 0; i < w->nrepos; i++) {
		int r = wiki_repo_init(w, i, err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The cache directory, made private; refused if someone else could write in it. */
static int cache_dir_check(const struct conf *c, struct wf_err *err)
{
	struct wf_err derr;
	/* others must not plant pages, clones or plans in it (like ssh's ~/.ssh) */
	int r = mkdir_private(c->cache_dir, &derr);

	if (r < 0)
		return wf_err_set(err, r, "%s the cache directory: %s",
				  r == -EPERM ? "refusing" : "cannot use", derr.msg);
	return 0;
}

/* The clone cache and the page cache, in the cache directory. */
/* The configured repositories, for the clone cache to name and keep their clones. */
static int clone_repos(const struct conf *c, struct clone_cache_opts *co)
{
	struct clone_cache_repo *v = calloc(MAX(c->n_repos, 1), sizeof(*v));

	if (!v)
		return -ENOMEM;
	size_t n = 0;

	for (size_t i = 0; i < c->n_repos; i++) {
		if (c->repos[i].group)
			continue; /* its members are repositories of their own */
		v[n].name = c->repos[i].name;
		v[n++].url = c->repos[i].url;
	}
	co->repos = v;
	co->n_repos = n;
	return 0;
}

static int caches_new(struct wiki *w, const char *self, struct wf_err *err)
{
	const struct conf *c = w->c;
	struct clone_cache_opts co = {
		.cache_dir = c->cache_dir,
		.concurrency = c->clone_concurrency,
		.timeout_s = c->clone_timeout,
		.helper_path = self,
		.ssh_key = c->ssh_key,
		.ca_bundle = c->clone_ca_bundle,
		.gc_grace_s = c->clone_gc_grace,
	};
	int r = clone_repos(c, &co);

	if (r == 0)
		r = clone_cache_new(&w->cc, &co);
	free((void *)co.repos);
	if (r < 0)
		return wf_err_set(err, r, "cannot set up the clone cache in '%s': %s", c->cache_dir,
				  strerror(-r));
	r = page_cache_new(&w->pc, c->cache_dir, c->cache_max_bytes);
	if (r == 0) { /* what a killed process was writing (pages: page_cache_new) */
		page_meta_sweep(c->cache_dir);
		facts_store_sweep(c->cache_dir);
	}
	if (r < 0)
		return wf_err_set(err, r, "cannot set up the page cache in '%s': %s", c->cache_dir,
				  strerror(-r));
	return 0;
}

/* The sync work queue, the generation queue and the housekeeper. */
static int threads_start(struct wiki *w, struct wf_err *err)
{
	const struct conf *c = w->c;
	struct gen_queue_opts qo = {
		.workers = c->page_workers,
		.group_limit = c->repo_page_workers,
		.groups = c->n_repos,
		.max_queued = c->queue_max,
		.max_attempts = c->retries,
		.backoff_base_ms = 500,
		.backoff_max_ms = 30000,
	};
	int r;

	/* syncs block on the clone semaphore; enough threads that planning goes on */
	r = workq_new(&w->syncq, c->clone_concurrency + 2, MAX(c->n_repos * 2, 64));
	if (r == 0)
		r = gen_queue_new(&w->q, &qo, &wiki_job_ops, w);
	if (r == 0) {
		r = -pthread_create(&w->housekeeper, NULL, housekeeper, w);
		w->housekeeper_started = r == 0;
	}
	if (r < 0)
		return wf_err_set(err, r, "cannot start worker threads: %s", strerror(-r));
	return 0;
}

int wiki_new(struct wiki **ret, const struct conf *c, const struct backend_ops *ops,
	     const char *self, const struct wiki_events *ev, struct wf_err *err)
{
	struct wiki *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int r;

	if (!w)
		return -ENOMEM;
	w->c = c;
	w->ops = ops;
	if (ev)
		w->ev = *ev;
	w->started_ms = now_ms();
	w->version_task = wiki_version_task;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->hk_cond, &ca);
	pthread_condattr_destroy(&ca);
	r = repos_new(w, err);
	if (r == 0)
		r = cache_dir_check(c, err);
	if (r == 0 && ops->init)
		r = ops->init(&w->bstate, c, err);
	if (r == 0)
		r = caches_new(w, self, err);
	if (r == 0)
		r = threads_start(w, err);
	if (r == 0)
		r = wiki_fleet_new(w, err);
	if (r < 0) {
		wiki_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void wiki_shutdown(struct wiki *w)
{
	struct wiki_waiter *waiters = NULL;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->stopping = true;
	pthread_cond_broadcast(&w->hk_cond);
	/*
	 * Every parked request is answered now, at any version; jobs are
	 * stopped below. Page waiters hang only on pages with a job, all of
	 * them in w->flights (those of older versions too).
	 */
	for (size_t i = 0; i < w->nrepos; i++) {
		waiters = wiki_waiter_chain(waiters, &w->repos[i].waiters);
		waiters = wiki_version_waiters_take(&w->repos[i], waiters);
	}
	waiters = wiki_flight_waiters_take(w, waiters);
	pthread_mutex_unlock(&w->lock);
	wiki_waiter_notify(waiters, -ESHUTDOWN);
	if (w->ops && w->ops->abort && w->bstate)
		w->ops->abort(w->bstate);
	wiki_fleet_stop(w); /* parks nothing more; a worker's store call ends within its deadline */
	if (w->cc)
		clone_cache_shutdown(w->cc);
	if (w->pc)
		page_cache_stop(w->pc); /* a worker waiting for another process's claim */
}

void wiki_free(struct wiki *w)
{
	if (!w)
		return;
	wiki_shutdown(w);
	if (w->housekeeper_started)
		pthread_join(w->housekeeper, NULL);
	workq_free(w->syncq); /* sync tasks end fast: the clone cache is shut down */
	gen_queue_free(w->q); /* queued jobs finish with -ESHUTDOWN, waiters told */
	wiki_fleet_free(w);   /* the workers that used the store are gone */
	/* the current arrays, and any a forgotten reference still holds */
	while (w->arrays) {
		struct page_array *a = w->arrays;

		w->arrays = a->next;
		wiki_page_array_free(a);
	}
	wiki_version_dropped_notify(w, TAKE_PTR(w->dropped), false); /* frees them */
	for (size_t i = 0; i < w->nrepos; i++) {
		wiki_version_free_all(&w->repos[i]);
		wiki_repo_done(&w->repos[i]);
	}
	facts_lru_free(w->facts_lru);
	wiki_error_done(w);
	if (w->ops && w->ops->done && w->bstate)
		w->ops->done(w->bstate);
	page_cache_free(w->pc);
	clone_cache_free(w->cc);
	free(w->repos);
	pthread_cond_destroy(&w->hk_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
