/* SPDX-License-Identifier: MIT */
/*
 * The parking lot: requests that wait for a clone or a page without holding
 * a FUSE thread. A parked request is answered exactly once, by whichever of
 * three parties takes it first:
 *
 *   - completion: the wiki calls back (fs_answer), having detached it;
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
#include "fs.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond;
/* protected by park_lock */
static struct parked *dl_head, *dl_tail;
static bool park_stopping;
static pthread_t park_thread;
static bool park_thread_started;

static void dl_remove_locked(struct parked *p)
{
	if (!p->listed)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		dl_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		dl_tail = p->prev;
	p->prev = p->next = NULL;
	p->listed = false;
}

static void dl_remove(struct parked *p)
{
	pthread_mutex_lock(&park_lock);
	dl_remove_locked(p);
	pthread_mutex_unlock(&park_lock);
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

	if (!wiki_waiter_detach(p->fs->wiki, &p->w))
		return; /* completion or the timer owns it, or not attached yet */
	dl_remove(p);
	fuse_reply_err(req, EINTR);
	park_free(p);
}

static void *park_timer(void *data)
{
	struct fs *fs = data;

	pthread_mutex_lock(&park_lock);
	while (!park_stopping) {
		struct parked *p = dl_head;
		int64_t now = now_ms();

		while (p && p->expired)
			p = p->next; /* being answered by its completion right now */
		if (!p) {
			pthread_cond_wait(&park_cond, &park_lock);
			continue;
		}
		if (p->deadline_ms > now) {
			struct timespec ts = deadline_ts(p->deadline_ms);

			pthread_cond_timedwait(&park_cond, &park_lock, &ts);
			continue;
		}
		p->expired = true;
		if (!wiki_waiter_detach(fs->wiki, &p->w))
			continue;
		dl_remove_locked(p);
		pthread_mutex_unlock(&park_lock);
		fuse_req_interrupt_func(p->req, NULL, NULL);
		fuse_reply_err(p->req, ETIMEDOUT);
		park_free(p);
		pthread_mutex_lock(&park_lock);
	}
	pthread_mutex_unlock(&park_lock);
	return NULL;
}

int fs_park_init(struct fs *fs)
{
	pthread_condattr_t ca;
	int r;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&park_cond, &ca);
	pthread_condattr_destroy(&ca);
	park_stopping = false;
	r = pthread_create(&park_thread, NULL, park_timer, fs);
	park_thread_started = r == 0;
	return -r;
}

void fs_park_done(struct fs *fs)
{
	pthread_mutex_lock(&park_lock);
	park_stopping = true;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
	if (park_thread_started)
		pthread_join(park_thread, NULL);
	park_thread_started = false;
	pthread_cond_destroy(&park_cond);
	(void)fs;
}

/* The wiki's callback: the wait is over. */
static void park_done(struct wiki_waiter *w, int err)
{
	struct parked *p = (struct parked *)w;

	dl_remove(p);
	fuse_req_interrupt_func(p->req, NULL, NULL);
	fs_answer(p, err);
	park_free(p);
}

struct parked *fs_park_new(struct fs *fs, fuse_req_t req, enum park_kind kind, fuse_ino_t ino)
{
	struct parked *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->w.done = park_done;
	p->fs = fs;
	p->req = req;
	p->kind = kind;
	p->ino = ino;
	p->deadline_ms = now_ms() + fs->wait_ms;
	pthread_mutex_lock(&park_lock);
	p->prev = dl_tail;
	if (dl_tail)
		dl_tail->next = p;
	else
		dl_head = p;
	dl_tail = p;
	p->listed = true;
	pthread_cond_signal(&park_cond);
	pthread_mutex_unlock(&park_lock);
	/* may run park_interrupt at once if the request was interrupted already */
	fuse_req_interrupt_func(req, park_interrupt, p);
	return p;
}

void fs_park_abandon(struct parked *p)
{
	dl_remove(p);
	fuse_req_interrupt_func(p->req, NULL, NULL);
	park_free(p);
}
