/* SPDX-License-Identifier: MIT */
/*
 * The parking lot: requests that wait for a clone or a page without holding
 * a FUSE thread. A parked request is answered exactly once, by whichever of
 * three parties takes it first:
 *
 *   - completion: the wiki calls back, having detached it, and the lot
 *     hands the request to the answer callback of its owner;
 *   - interrupt: the kernel sends INTERRUPT (Ctrl-C); we detach it from the
 *     wiki and answer EINTR; the job goes on;
 *   - deadline: the timer thread detaches it and answers ETIMEDOUT.
 *
 * wiki_waiter_detach() is the arbiter: it succeeds for one party only.
 * Before a completion or the timer frees a request they clear its interrupt
 * hook with fuse_req_interrupt_func(req, NULL, NULL), which waits for an
 * interrupt callback running concurrently (libfuse holds req->lock around
 * it), so the callback never sees freed memory.
 *
 * All waits have the same length, so appending keeps the deadline list
 * sorted and the timer only ever looks at its head.
 */
#include "park.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * Lock order: the lot's lock, then the wiki's (the timer detaches under
 * it). The interrupt hook runs under libfuse's req->lock and takes the
 * wiki's lock and then the lot's, one after the other, never nested.
 */
struct park_lot {
	struct wiki *wiki;
	int64_t wait_ms;
	park_answer_fn *answer;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;	    /* the timer waits on it; protected by lock */
	struct parked *head, *tail; /* deadline list; protected by lock */
	bool stopping;		    /* protected by lock */
	pthread_t thread;
};

static void dl_remove_locked(struct park_lot *lot, struct parked *p)
{
	if (!p->listed)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		lot->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		lot->tail = p->prev;
	p->prev = p->next = NULL;
	p->listed = false;
}

static void dl_remove(struct parked *p)
{
	struct park_lot *lot = p->lot;

	pthread_mutex_lock(&lot->lock);
	dl_remove_locked(lot, p);
	pthread_mutex_unlock(&lot->lock);
}

static void park_free(struct parked *p)
{
	free(p->name);
	free(p);
}

/* libfuse calls this with req->lock held, on the thread that read INTERRUPT. */
static void park_interrupt(fuse_req_t req, void *data)
{
	struct parked *p = data;

	if (!wiki_waiter_detach(p->lot->wiki, &p->w))
		return; /* completion or the timer owns it, or not attached yet */
	dl_remove(p);
	fuse_reply_err(req, EINTR);
	park_free(p);
}

static void *park_timer(void *data)
{
	struct park_lot *lot = data;

	pthread_mutex_lock(&lot->lock);
	while (!lot->stopping) {
		struct parked *p = lot->head;
		int64_t now = now_ms();

		while (p && p->expired)
			p = p->next; /* being answered by its completion right now */
		if (!p) {
			pthread_cond_wait(&lot->cond, &lot->lock);
			continue;
		}
		if (p->deadline_ms > now) {
			struct timespec ts = deadline_ts(p->deadline_ms);

			pthread_cond_timedwait(&lot->cond, &lot->lock, &ts);
			continue;
		}
		p->expired = true;
		if (!wiki_waiter_detach(lot->wiki, &p->w))
			continue;
		dl_remove_locked(lot, p);
		pthread_mutex_unlock(&lot->lock);
		fuse_req_interrupt_func(p->req, NULL, NULL);
		fuse_reply_err(p->req, ETIMEDOUT);
		park_free(p);
		pthread_mutex_lock(&lot->lock);
	}
	pthread_mutex_unlock(&lot->lock);
	return NULL;
}

int park_lot_new(struct park_lot **ret, struct wiki *wiki, int64_t wait_ms, park_answer_fn *answer,
		 void *ctx)
{
	struct park_lot *lot = calloc(1, sizeof(*lot));
	pthread_condattr_t ca;
	int r;

	if (!lot)
		return -ENOMEM;
	lot->wiki = wiki;
	lot->wait_ms = wait_ms;
	lot->answer = answer;
	lot->ctx = ctx;
	pthread_mutex_init(&lot->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lot->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&lot->thread, NULL, park_timer, lot);
	if (r != 0)
		goto out_free_lot;
	*ret = lot;
	return 0;

out_free_lot:
	pthread_cond_destroy(&lot->cond);
	pthread_mutex_destroy(&lot->lock);
	free(lot);
	return -r;
}

void park_lot_free(struct park_lot *lot)
{
	if (!lot)
		return;
	pthread_mutex_lock(&lot->lock);
	lot->stopping = true;
	pthread_cond_broadcast(&lot->cond);
	pthread_mutex_unlock(&lot->lock);
	pthread_join(lot->thread, NULL);
	pthread_cond_destroy(&lot->cond);
	pthread_mutex_destroy(&lot->lock);
	free(lot);
}

/* The wiki's callback: the wait is over. */
static void park_done(struct wiki_waiter *w, int err)
{
	struct parked *p = (struct parked *)w;

	dl_remove(p);
	fuse_req_interrupt_func(p->req, NULL, NULL);
	p->lot->answer(p->lot->ctx, p, err);
	park_free(p);
}

struct parked *park_request(struct park_lot *lot, fuse_req_t req, enum park_kind kind,
			    fuse_ino_t ino)
{
	struct parked *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->w.done = park_done;
	p->lot = lot;
	p->req = req;
	p->kind = kind;
	p->ino = ino;
	p->deadline_ms = now_ms() + lot->wait_ms;
	pthread_mutex_lock(&lot->lock);
	p->prev = lot->tail;
	if (lot->tail)
		lot->tail->next = p;
	else
		lot->head = p;
	lot->tail = p;
	p->listed = true;
	pthread_cond_signal(&lot->cond);
	pthread_mutex_unlock(&lot->lock);
	/* may run park_interrupt at once if the request was interrupted already */
	fuse_req_interrupt_func(req, park_interrupt, p);
	return p;
}

void park_abandon(struct parked *p)
{
	dl_remove(p);
	fuse_req_interrupt_func(p->req, NULL, NULL);
	park_free(p);
}
