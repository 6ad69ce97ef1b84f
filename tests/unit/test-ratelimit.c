/* SPDX-License-Identifier: MIT */
/*
 * gen/ratelimit.c: the token bucket, blocking acquire and its abort, the
 * circuit breaker driven by an explicit clock, and the shared registry.
 * Waits are on conditions (a waiter count) with deadlines.
 */
#include "ratelimit.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

struct waiter {
	struct ratelimit *rl;
	int r;
	int64_t end;
};

static void *waiter_run(void *p)
{
	struct waiter *w = p;

	w->r = ratelimit_acquire(w->rl, 10000);
	w->end = now_ms();
	return NULL;
}

static void test_bucket(void)
{
	struct ratelimit_opts o = { .per_minute = 60, .burst = 2 };
	struct ratelimit_status st;
	struct ratelimit *rl;
	int64_t now, v;

	ratelimit_new(&rl, "t", &o);
	now = now_ms(); /* not before the bucket's creation time */
	ok(ratelimit_try_acquire(rl, now) == 0 && ratelimit_try_acquire(rl, now) == 0,
	   "bucket: burst of 2 granted");
	v = ratelimit_try_acquire(rl, now);
	ok(v > 900 && v <= 1001, "bucket: third waits ~1000 ms at 60/min (%lld)", (long long)v);
	ok(ratelimit_try_acquire(rl, now + 1000) == 0, "bucket: a token after 1 s");
	ok(ratelimit_try_acquire(rl, now + 1000) > 0, "bucket: and only one");
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 0 };
	ratelimit_new(&rl, "t", &o);
	for (int i = 0; i < 1000; i++)
		if (ratelimit_try_acquire(rl, now) != 0)
			break;
	ratelimit_status(rl, &st);
	ok(st.requests == 1000, "no rate limit: everything granted");
	ratelimit_free(rl);
}

static void test_acquire(void)
{
	struct ratelimit_opts o = { .per_minute = 6000, .burst = 1 };
	struct ratelimit_status st;
	struct waiter w = { 0 };
	struct ratelimit *rl;
	pthread_t t;
	int64_t t0;
	int r;

	ratelimit_new(&rl, "t", &o);
	t0 = now_ms();
	r = ratelimit_acquire(rl, 1000);
	r = r ?: ratelimit_acquire(rl, 1000);
	ok(r == 0 && now_ms() - t0 >= 8, "acquire waits for the next token (%lld ms at 100/s)",
	   (long long)(now_ms() - t0));
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 1, .burst = 1 };
	ratelimit_new(&rl, "t", &o);
	ratelimit_acquire(rl, 0);
	t0 = now_ms();
	r = ratelimit_acquire(rl, 50);
	ok(r == -ETIMEDOUT && now_ms() - t0 >= 50 && now_ms() - t0 < 1000,
	   "acquire gives up at max wait");
	w.rl = rl;
	pthread_create(&t, NULL, waiter_run, &w);
	for (int64_t end = now_ms() + 5000; now_ms() < end;) {
		ratelimit_status(rl, &st);
		if (st.waiters == 1)
			break;
		sched_yield();
	}
	ok(__atomic_load_n(ratelimit_abort_flag(rl), __ATOMIC_ACQUIRE) == 0,
	   "the abort flag is clear before abort");
	t0 = now_ms();
	ratelimit_abort(rl);
	pthread_join(t, NULL);
	ok(__atomic_load_n(ratelimit_abort_flag(rl), __ATOMIC_ACQUIRE) != 0,
	   "abort sets the flag http transfers watch");
	ok(w.r == -ECANCELED && w.end - t0 < 200, "abort wakes a waiter at once (%lld ms)",
	   (long long)(w.end - t0));
	ok(ratelimit_acquire(rl, 1000) == -ECANCELED, "abort is sticky");
	ratelimit_free(rl);
}

static void test_breaker(void)
{
	struct ratelimit_opts o = { .threshold = 3, .cooldown_ms = 1000 };
	struct ratelimit_status st;
	struct ratelimit *rl;
	int64_t now, v;

	ratelimit_new(&rl, "t", &o);
	now = now_ms();
	ratelimit_record(rl, false, now);
	ratelimit_record(rl, false, now);
	ok(ratelimit_breaker_check(rl, now) == 0, "breaker closed after 2 failures");
	ratelimit_record(rl, true, now);
	ratelimit_record(rl, false, now);
	ratelimit_record(rl, false, now);
	ok(ratelimit_breaker_check(rl, now) == 0, "a success resets the count");
	ratelimit_record(rl, false, now);
	v = ratelimit_breaker_check(rl, now);
	ratelimit_status(rl, &st);
	ok(v == 1000 && st.failures == 3 && st.open && st.open_until_ms == now + 1000,
	   "breaker opens after 3 failures for 1000 ms (%lld)", (long long)v);
	ok(ratelimit_breaker_check(rl, now + 1000) == 0, "half-open: one trial passes");
	ok(ratelimit_breaker_check(rl, now + 1000) > 0, "half-open: a second is refused");
	ratelimit_record(rl, false, now + 1000);
	v = ratelimit_breaker_check(rl, now + 1001);
	ok(v == 1999, "failed trial: open for twice the cool-down (%lld)", (long long)v);
	ok(ratelimit_breaker_check(rl, now + 3000) == 0, "second trial");
	ratelimit_record(rl, true, now + 3000);
	ratelimit_status(rl, &st);
	ok(ratelimit_breaker_check(rl, now + 3000) == 0 && !st.open && st.failures == 0,
	   "a successful trial closes the breaker");
	ratelimit_free(rl);
}

static void test_registry(void)
{
	struct ratelimit_opts o = { .per_minute = 10 };
	struct ratelimit_status all[16];
	struct ratelimit *a, *b;
	bool seen = false;
	size_t n;

	ratelimit_get(&a, "provider-x", &o);
	ratelimit_get(&b, "provider-x", &o);
	ok(a == b, "registry: one instance per provider");
	n = ratelimit_status_all(all, 16);
	for (size_t i = 0; i < n && i < 16; i++)
		seen |= !strcmp(all[i].name, "provider-x");
	ok(seen, "registry: listed for progress");
	ratelimit_put(a);
	ratelimit_put(b);
}

int main(void)
{
	test_bucket();
	test_acquire();
	test_breaker();
	test_registry();
	return done_testing();
}
