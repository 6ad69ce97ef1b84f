/* SPDX-License-Identifier: MIT */
/*
 * Control commands, as written to .wikifs/control by a person or by
 * `wikifs prefetch`: prefetch queues pages at prefetch priority (a
 * repository not planned yet is synced first, and prefetch_pending queues
 * its pages once it is), cancel drops the queued jobs nobody waits for,
 * retry forgets a failure (and, for one page, its cached copy), refresh
 * fetches now, or once more after the sync that runs. Each acts on the
 * repository's current page array, under w->lock.
 */
#include "wiki_int.h"

#include <errno.h>
#include <string.h>

int wiki_prefetch(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (r->state != WIKI_REPO_READY) {
		r->prefetch_pending = true;
		if (!(r->state == WIKI_REPO_FAILED && wiki_error_fresh(w, r->failed_at)))
			ret = wiki_repo_sync_locked(w, r, 0);
		else
			ret = wf_err_set(err, r->err, "'%s' failed: %s", r->cr->name,
					 r->error ? r->error : "");
	} else if (slug) {
		struct wpage *p = wiki_page_find_locked(r, slug);

		if (!p)
			ret = wf_err_set(err, -ENOENT, "no page '%s' in '%s'", slug, r->cr->name);
		else if (page_cache_lookup(w->pc, &p->key, NULL) < 0) {
			p->failed = false;
			ret = wiki_page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
			if (ret < 0)
				wf_err_set(err, ret, "cannot queue '%s/%s': %s", r->cr->name, slug,
					   p->error ? p->error : strerror(-ret));
		}
	} else {
		wiki_page_prefetch_all_locked(w, r->pages);
	}
	pthread_mutex_unlock(&w->lock);
	return ret < 0 ? ret : 0;
}

struct page_array *wiki_cancel_array_locked(struct wiki *w, struct page_array *a, const char *slug,
					    struct page_array *dead)
{
	for (size_t i = 0; a && i < a->n; i++) {
		struct wpage *p = &a->pages[i], *o = wiki_flight_owner(w, p);
		struct page_array *d;

		if (!o || (slug && strcmp(p->pp->slug, slug)))
			continue;
		/*
		 * A person waiting keeps the job alive. A job taken is freed by
		 * the queue: forget it now, under the same lock hold, so no open
		 * can find it in between.
		 */
		if (!o->waiters && gen_queue_cancel(w->q, o->job)) {
			wiki_flight_end(w, o);
			/* the job's reference to its version: job_finished() will not run */
			d = wiki_page_array_put_locked(w, o->array);
			if (d) {
				d->next = dead;
				dead = d;
			}
		}
	}
	return dead;
}

void wiki_page_arrays_free(struct page_array *dead)
{
	struct page_array *d;

	while ((d = dead)) {
		dead = d->next;
		wiki_page_array_free(d);
	}
}

int wiki_cancel(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	struct page_array *dead;

	pthread_mutex_lock(&w->lock);
	r->prefetch_pending = false;
	dead = wiki_cancel_array_locked(w, r->pages, slug, NULL);
	pthread_mutex_unlock(&w->lock);
	wiki_page_arrays_free(dead);
	(void)err;
	return 0;
}

int wiki_retry(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (r->state == WIKI_REPO_FAILED) {
		r->failed_at = 0;
		ret = wiki_repo_sync_locked(w, r, 0);
	}
	for (size_t i = 0; r->pages && i < r->pages->n; i++) {
		struct wpage *p = &r->pages->pages[i];

		if (slug && strcmp(p->pp->slug, slug))
			continue;
		p->failed = false;
		if (slug && !wiki_flight_owner(w, p)) {
			page_cache_remove(w->pc, &p->key); /* regenerate it on the next open */
			p->remake = true;		   /* not reused from another commit */
			wiki_page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
		}
	}
	pthread_mutex_unlock(&w->lock);
	(void)err;
	return ret;
}

int wiki_refresh(struct wiki *w, size_t repo, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret;

	pthread_mutex_lock(&w->lock);
	if (r->busy) {
		/* coalesced: one more fetch once the running sync ends */
		r->refresh_pending = true;
		ret = 0;
	} else {
		ret = wiki_repo_sync_locked(w, r, CLONE_FETCH);
		if (ret < 0)
			wf_err_set(err, ret, "cannot start a fetch of '%s': %s", r->cr->name,
				   strerror(-ret));
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}
