/* SPDX-License-Identifier: MIT */
/*
 * Token bucket and circuit breaker for one provider. The bucket is refilled
 * lazily from elapsed time on every call (no timer thread); waiters sleep on
 * a condition variable with a CLOCK_MONOTONIC deadline equal to the moment
 * the next token is due, so a waiter never spins. The breaker is three
 * states folded into two fields: open_until == 0 is closed, a time in the
 * future is open, a time in the past is half-open with one trial in flight
 * once trial is set.
 *
 * Shared instances live in a small registry (a list under registry_lock),
 * keyed by provider, so the limit holds for the whole mount.
 */
#include "ratelimit.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

struct ratelimit {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on abort */
	char name[128];
	struct ratelimit_opts o;
	double burst;

	/* protected by lock */
	double tokens;
	int64_t refilled_at;
	unsigned failures;
	int64_t open_until; /* 0 = closed */
	int64_t cooldown;   /* current pause, doubles while failing */
	bool trial;	    /* the half-open trial request is in flight */
	int aborted;	    /* atomic: also read lock-free through ratelimit_abort_flag() */
	unsigned waiters;
	uint64_t requests, refused;

	/* protected by registry_lock */
	unsigned refs;
	struct ratelimit *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ratelimit *registry; /* protected by registry_lock */

int ratelimit_new(struct ratelimit **ret, const char *name, const struct ratelimit_opts *o)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	pthread_condattr_t ca;

	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rl->cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(rl->name, sizeof(rl->name), "%s", name);
	rl->o = *o;
	/*
	 * One token by default: a bucket of b lets b + per_minute requests
	 * through in some minute, and providers enforce their per-minute
	 * limits over shorter windows too (60/min as 1/s), so requests are
	 * spaced evenly unless a burst is asked for.
	 */
	rl->burst = o->burst ? o->burst : 1;
	rl->tokens = rl->burst;
	rl->refilled_at = now_ms();
	rl->cooldown = o->cooldown_ms;
	rl->refs = 1;
	*ret = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_cond_destroy(&rl->cond);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

int ratelimit_get(struct ratelimit **ret, const char *key, const struct ratelimit_opts *o)
{
	struct ratelimit *rl;
	int r = 0;

	pthread_mutex_lock(&registry_lock);
	for (rl = registry; rl; rl = rl->next)
		if (!strcmp(rl->name, key))
			break;
	if (rl) {
		rl->refs++;
	} else {
		r = ratelimit_new(&rl, key, o);
		if (r == 0) {
			rl->next = registry;
			registry = rl;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (r == 0)
		*ret = rl;
	return r;
}

void ratelimit_put(struct ratelimit *rl)
{
	struct ratelimit **pp;
	bool last = false;

	if (!rl)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--rl->refs == 0) {
		for (pp = &registry; *pp; pp = &(*pp)->next) {
			if (*pp == rl) {
				*pp = rl->next;
				break;
			}
		}
		last = true;
	}
	pthread_mutex_unlock(&registry_lock);
	if (last)
		ratelimit_free(rl);
}

/* Called with lock held. */
static void refill(struct ratelimit *rl, int64_t now)
{
	if (now > rl->refilled_at) {
		rl->tokens += (double)(now - rl->refilled_at) * rl->o.per_minute / 60000.0;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->refilled_at = MAX(rl->refilled_at, now);
}

/* Called with lock held: 0 and a token taken, or the wait in ms. */
static int64_t take(struct ratelimit *rl, int64_t now)
{
	int64_t wait;

	if (rl->o.per_minute == 0) {
		rl->requests++;
		return 0;
	}
	refill(rl, now);
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		rl->requests++;
		return 0;
	}
	wait = (int64_t)((1.0 - rl->tokens) * 60000.0 / rl->o.per_minute) + 1;
	return MAX(wait, 1);
}

int64_t ratelimit_try_acquire(struct ratelimit *rl, int64_t now)
{
	int64_t w;

	pthread_mutex_lock(&rl->lock);
	w = take(rl, now);
	pthread_mutex_unlock(&rl->lock);
	return w;
}

int ratelimit_acquire(struct ratelimit *rl, int64_t max_wait_ms)
{
	int64_t deadline = now_ms() + max_wait_ms;
	int r = 0;

	pthread_mutex_lock(&rl->lock);
	rl->waiters++;
	for (;;) {
		int64_t now = now_ms(), w;
		struct timespec ts;

		if (__atomic_load_n(&rl->aborted, __ATOMIC_ACQUIRE)) {
			r = -ECANCELED;
			break;
		}
		w = take(rl, now);
		if (w == 0)
			break;
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		ts = deadline_ts(MIN(now + w, deadline));
		pthread_cond_timedwait(&rl->cond, &rl->lock, &ts);
	}
	rl->waiters--;
	pthread_mutex_unlock(&rl->lock);
	return r;
}

void ratelimit_abort(struct ratelimit *rl)
{
	pthread_mutex_lock(&rl->lock);
	__atomic_store_n(&rl->aborted, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&rl->cond);
	pthread_mutex_unlock(&rl->lock);
}

const int *ratelimit_abort_flag(const struct ratelimit *rl)
{
	return &rl->aborted;
}

int64_t ratelimit_breaker_check(struct ratelimit *rl, int64_t now)
{
	int64_t w = 0;

	pthread_mutex_lock(&rl->lock);
	if (rl->open_until) {
		if (now < rl->open_until)
			w = rl->open_until - now;
		else if (rl->trial)
			w = MAX(rl->cooldown / 4, 1); /* someone is probing: ask again soon */
		else
			rl->trial = true;
	}
	if (w)
		rl->refused++;
	pthread_mutex_unlock(&rl->lock);
	return w;
}

void ratelimit_record(struct ratelimit *rl, bool success, int64_t now)
{
	pthread_mutex_lock(&rl->lock);
	if (success) {
		rl->failures = 0;
		rl->open_until = 0;
		rl->trial = false;
		rl->cooldown = rl->o.cooldown_ms;
	} else {
		rl->failures++;
		if (rl->trial) {
			/* the half-open probe failed: pause longer */
			rl->cooldown = MIN(rl->cooldown * 2, rl->o.cooldown_ms * 16);
			rl->open_until = now + rl->cooldown;
			rl->trial = false;
		} else if (rl->o.threshold && rl->failures >= rl->o.threshold && !rl->open_until) {
			rl->open_until = now + rl->cooldown;
		}
	}
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_status(struct ratelimit *rl, struct ratelimit_status *st)
{
	int64_t now = now_ms();

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&rl->lock);
	if (rl->o.per_minute)
		refill(rl, now);
	snprintf(st->name, sizeof(st->name), "%s", rl->name);
	st->per_minute = rl->o.per_minute;
	st->tokens = rl->tokens;
	st->failures = rl->failures;
	st->open = rl->open_until && now < rl->open_until;
	st->open_until_ms = st->open ? rl->open_until : 0;
	st->open_until_wall = st->open ? wall_ms() + (rl->open_until - now) : 0;
	st->waiters = rl->waiters;
	st->requests = rl->requests;
	st->refused = rl->refused;
	pthread_mutex_unlock(&rl->lock);
}

size_t ratelimit_status_all(struct ratelimit_status *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct ratelimit *rl = registry; rl; rl = rl->next, n++)
		if (n < max)
			ratelimit_status(rl, &out[n]);
	pthread_mutex_unlock(&registry_lock);
	return n;
}
