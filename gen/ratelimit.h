/* SPDX-License-Identifier: MIT */
/*
 * Per-provider request-rate limiter (token bucket) and circuit breaker.
 *
 * The bucket holds up to @burst tokens and refills at @per_minute tokens a
 * minute; each request takes one. The breaker opens after @threshold
 * consecutive failures and refuses requests for @cooldown_ms; then it lets
 * one trial request through (half-open): success closes it, failure opens
 * it again for twice the cool-down (capped at 16 times the first).
 *
 * Providers are shared: ratelimit_get() returns the one instance for a key
 * (the backend's base URL), reference-counted, so every backend instance and
 * the LLM planner talking to the same provider share one budget of requests
 * and one breaker, and progress can list them all with ratelimit_status_all().
 *
 * Thread-safe: every function may be called from any thread. Lock order:
 * the registry lock is taken before an instance's lock, never the reverse.
 * Times are CLOCK_MONOTONIC milliseconds (now_ms()); functions taking @now
 * let tests drive the clock.
 */
#ifndef WIKIFS_RATELIMIT_H
#define WIKIFS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit_opts {
	unsigned per_minute; /* 0 = no rate limit (the breaker still works) */
	unsigned burst;	     /* bucket size; 0 = 1 (evenly spaced) */
	unsigned threshold;  /* consecutive failures that open the breaker; 0 = never */
	int64_t cooldown_ms; /* first pause once open */
};

struct ratelimit_status {
	char name[128]; /* the key, e.g. "http://127.0.0.1:8080/v1" */
	unsigned per_minute;
	double tokens;		    /* left in the bucket now */
	unsigned failures;	    /* consecutive */
	bool open;		    /* refusing requests */
	int64_t open_until_ms;	    /* CLOCK_MONOTONIC; 0 when closed */
	int64_t open_until_wall;    /* the same as wall-clock ms, for display */
	unsigned waiters;	    /* threads blocked in ratelimit_acquire() */
	uint64_t requests, refused; /* granted by the bucket; refused by the breaker */
};

/* A private instance (unit tests, or callers that want their own). */
int ratelimit_new(struct ratelimit **ret, const char *name, const struct ratelimit_opts *o);
void ratelimit_free(struct ratelimit *rl); /* NULL is fine; no thread may be waiting */

/*
 * The shared instance for @key, created with @o on first use (later calls
 * keep the first options). Release with ratelimit_put().
 */
int ratelimit_get(struct ratelimit **ret, const char *key, const struct ratelimit_opts *o);
void ratelimit_put(struct ratelimit *rl); /* NULL is fine */

/*
 * Takes a token if one is available at @now and returns 0; otherwise takes
 * nothing and returns the milliseconds until one will be.
 */
int64_t ratelimit_try_acquire(struct ratelimit *rl, int64_t now);

/*
 * Blocks until a token is taken (0), @max_wait_ms passed (-ETIMEDOUT) or
 * ratelimit_abort() was called (-ECANCELED). Waits on a condition variable.
 */
int ratelimit_acquire(struct ratelimit *rl, int64_t max_wait_ms);

/* Wakes every waiter with -ECANCELED, now and from then on (unmount). */
void ratelimit_abort(struct ratelimit *rl);

/*
 * A flag that becomes non-zero (read it with __atomic_load_n) once
 * ratelimit_abort() was called: what http_client_opts.abort_flag watches,
 * so that one abort ends the transfers of everyone sharing the provider.
 * Valid while the caller holds its reference.
 */
const int *ratelimit_abort_flag(const struct ratelimit *rl);

/*
 * The breaker. check: 0 if a request may go (closed, or the half-open
 * trial), else the milliseconds until it may. record: the outcome of a
 * request that went; failures should be the provider's (5xx, 429,
 * connection), not the caller's (400).
 */
int64_t ratelimit_breaker_check(struct ratelimit *rl, int64_t now);
void ratelimit_record(struct ratelimit *rl, bool success, int64_t now);

void ratelimit_status(struct ratelimit *rl, struct ratelimit_status *st);

/* Fills up to @max entries about every shared instance; returns how many exist. */
size_t ratelimit_status_all(struct ratelimit_status *out, size_t max);

#endif
