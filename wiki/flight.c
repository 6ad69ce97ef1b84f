/* SPDX-License-Identifier: MIT */
/*
 * Single-flight by page key: at most one job per key is in flight,
 * whichever page started it (the page of a retired array at the same
 * commit, say, after a refresh went there and back). Every page with a job
 * is in the hash table w->flights; a page of the same key finds it there
 * and joins its job. A job leaves a page only under w->lock: in
 * job_finished() (job.c) or in the critical section in which
 * gen_queue_cancel() took it (control.c), so nobody ever sees a page
 * pointing at a job the queue no longer holds. Everything here runs with
 * w->lock held.
 */
#include "wiki_int.h"

#include <string.h>

static struct wpage **flight_bucket(struct wiki *w, const struct page_key *k)
{
	size_t h = 0;

	/* the key is a SHA-256 already: its first hex digits are uniform */
	for (int i = 0; i < 8; i++)
		h = h * 16 + (size_t)(k->hex[i] <= '9' ? k->hex[i] - '0' : k->hex[i] - 'a' + 10);
	return &w->flights[h % WIKI_FLIGHT_BUCKETS];
}

struct wpage *wiki_flight_find(struct wiki *w, const struct page_key *k)
{
	for (struct wpage *o = *flight_bucket(w, k); o; o = o->flight_next)
		if (!memcmp(o->key.hex, k->hex, SHA256_HEX))
			return o;
	return NULL;
}

/* The page whose job is in flight for @p's key (maybe @p), or NULL. */
struct wpage *wiki_flight_owner(struct wiki *w, struct wpage *p)
{
	return p->job ? p : wiki_flight_find(w, &p->key);
}

void wiki_flight_start(struct wiki *w, struct wpage *p, struct gen_job *job)
{
	struct wpage **b = flight_bucket(w, &p->key);

	p->job = job;
	p->running = false;
	p->parked = false;
	p->urgent = false;
	p->flight_next = *b;
	*b = p;
}

/* The job left @p (finished, or taken by gen_queue_cancel()). */
void wiki_flight_end(struct wiki *w, struct wpage *p)
{
	struct wpage **at = flight_bucket(w, &p->key);

	while (*at && *at != p)
		at = &(*at)->flight_next;
	if (*at)
		*at = p->flight_next;
	p->flight_next = NULL;
	p->job = NULL;
	p->running = false;
	p->parked = false;
}

struct wiki_waiter *wiki_flight_waiters_take(struct wiki *w, struct wiki_waiter *head)
{
	for (size_t b = 0; b < WIKI_FLIGHT_BUCKETS; b++)
		for (struct wpage *p = w->flights[b]; p; p = p->flight_next)
			head = wiki_waiter_chain(head, &p->waiters);
	return head;
}
