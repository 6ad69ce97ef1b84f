/* SPDX-License-Identifier: MIT */
/*
 * FIFO semaphore. Waiters queue as nodes on their own stacks, each with its
 * own condition variable; release hands the permit straight to the head of
 * the queue instead of incrementing the count, so a newcomer can never barge
 * past a sleeper (no thundering herd either: one waiter is signalled).
 */
#include "fifo_sem.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

struct waiter {
	pthread_cond_t cond;
	struct waiter *next;
	bool granted;
};

struct fifo_sem {
	pthread_mutex_t lock;
	/* all below protected by lock */
	unsigned avail, active, max_active, waiting;
	bool closed;
	struct waiter *head, **tail;
};

int fifo_sem_new(struct fifo_sem **ret, unsigned permits)
{
	struct fifo_sem *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->avail = permits;
	s->tail = &s->head;
	*ret = s;
	return 0;
}

void fifo_sem_free(struct fifo_sem *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void took_permit(struct fifo_sem *s)
{
	s->active++;
	if (s->active > s->max_active)
		s->max_active = s->active;
}

static void unlink_waiter(struct fifo_sem *s, struct waiter *w)
{
	struct waiter **pp;

	for (pp = &s->head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			if (s->tail == &w->next)
				s->tail = pp;
			s->waiting--;
			return;
		}
	}
}

int fifo_sem_timedacquire(struct fifo_sem *s, int64_t timeout_ms)
{
	struct waiter w = { .next = NULL, .granted = false };
	pthread_condattr_t ca;
	int64_t until = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		pthread_mutex_unlock(&s->lock);
		return -ECANCELED;
	}
	if (s->avail > 0 && !s->head) {
		s->avail--;
		took_permit(s);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	*s->tail = &w;
	s->tail = &w.next;
	s->waiting++;
	while (!w.granted && !s->closed) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&w.cond, &s->lock);
		} else {
			struct timespec ts = deadline_ts(until);

			if (pthread_cond_timedwait(&w.cond, &s->lock, &ts) == ETIMEDOUT &&
			    !w.granted) {
				r = -ETIMEDOUT;
				break;
			}
		}
	}
	if (!w.granted) {
		unlink_waiter(s, &w);
		if (r == 0)
			r = -ECANCELED;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&w.cond);
	return r;
}

int fifo_sem_acquire(struct fifo_sem *s)
{
	return fifo_sem_timedacquire(s, -1);
}

void fifo_sem_release(struct fifo_sem *s)
{
	struct waiter *w;

	pthread_mutex_lock(&s->lock);
	s->active--;
	w = s->closed ? NULL : s->head;
	if (w) {
		s->head = w->next;
		if (!s->head)
			s->tail = &s->head;
		s->waiting--;
		w->granted = true;
		took_permit(s);
		pthread_cond_signal(&w->cond);
	} else {
		s->avail++;
	}
	pthread_mutex_unlock(&s->lock);
}

void fifo_sem_close(struct fifo_sem *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	for (struct waiter *w = s->head; w; w = w->next)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&s->lock);
}

void fifo_sem_stats(struct fifo_sem *s, unsigned *active, unsigned *waiting, unsigned *max_active)
{
	pthread_mutex_lock(&s->lock);
	if (active)
		*active = s->active;
	if (waiting)
		*waiting = s->waiting;
	if (max_active)
		*max_active = s->max_active;
	pthread_mutex_unlock(&s->lock);
}
