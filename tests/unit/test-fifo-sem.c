/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the FIFO semaphore. Ordering is made deterministic without
 * sleeping: each waiter is started only once fifo_sem_stats() shows the
 * previous one queued. Every wait in the test itself has a deadline, so a
 * lost wake-up fails the test instead of hanging it. Assertions made on
 * worker threads are recorded and checked on the main thread (tap.h is
 * single-threaded).
 */
#include "fifo_sem.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define WAIT_MS 10000 /* generous: TSan and loaded CI machines are slow */

static unsigned sem_waiting(struct fifo_sem *s)
{
	unsigned w;

	fifo_sem_stats(s, NULL, &w, NULL);
	return w;
}

/* Polls until @s has @n waiters; false after WAIT_MS. */
static bool wait_waiting(struct fifo_sem *s, unsigned n)
{
	int64_t until = now_ms() + WAIT_MS;

	while (sem_waiting(s) != n) {
		if (now_ms() > until)
			return false;
		sched_yield();
	}
	return true;
}

static bool wait_flag(atomic_int *flag, int want)
{
	int64_t until = now_ms() + WAIT_MS;

	while (atomic_load(flag) != want) {
		if (now_ms() > until)
			return false;
		sched_yield();
	}
	return true;
}

/*
 * A waiter that never wakes means the semaphore is broken: stop with a TAP
 * bail-out instead of hanging in pthread_join() until the harness times out.
 */
static void must(bool cond, const char *what)
{
	if (!ok(cond, "%s", what)) {
		printf("Bail out! %s\n", what);
		exit(1);
	}
}

/* ---- FIFO order ---------------------------------------------------------- */

#define NORDER 6

struct order_ctx {
	struct fifo_sem *s;
	atomic_int next; /* slot in order[] */
	int order[NORDER];
	int rc[NORDER];
};

struct order_arg {
	struct order_ctx *ctx;
	int id;
};

static void *order_thread(void *data)
{
	struct order_arg *a = data;
	struct order_ctx *c = a->ctx;

	c->rc[a->id] = fifo_sem_acquire(c->s);
	if (c->rc[a->id] == 0) {
		/* holding the only permit: nobody else writes order[] now */
		c->order[atomic_fetch_add(&c->next, 1)] = a->id;
		fifo_sem_release(c->s);
	}
	return NULL;
}

static void test_fifo_order(void)
{
	struct order_ctx c = { 0 };
	struct order_arg args[NORDER];
	pthread_t th[NORDER];
	unsigned active, waiting, max_active;
	bool queued = true;

	is_int(fifo_sem_new(&c.s, 1), 0, "order: new");
	is_int(fifo_sem_acquire(c.s), 0, "order: main takes the only permit");
	for (int i = 0; i < NORDER; i++) {
		args[i] = (struct order_arg){ &c, i };
		if (pthread_create(&th[i], NULL, order_thread, &args[i]))
			abort();
		if (!wait_waiting(c.s, (unsigned)i + 1))
			queued = false;
	}
	ok(queued, "order: %d threads queued one after another", NORDER);
	fifo_sem_stats(c.s, &active, &waiting, &max_active);
	is_int(active, 1, "order: stats active 1 while main holds");
	is_int(waiting, NORDER, "order: stats waiting %d", NORDER);
	is_int(max_active, 1, "order: stats max_active 1");

	/* a newcomer with a timeout must not barge past the queue */
	is_int(fifo_sem_timedacquire(c.s, 0), -ETIMEDOUT, "order: timed acquire(0) times out");
	is_int(sem_waiting(c.s), NORDER, "order: the timed-out waiter left the queue");

	fifo_sem_release(c.s);
	must(wait_flag(&c.next, NORDER), "order: every thread got the permit");
	for (int i = 0; i < NORDER; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NORDER; i++) {
		is_int(c.rc[i], 0, "order: thread %d acquired", i);
		is_int(c.order[i], i, "order: grant %d went to the %d-th waiter", i, i);
	}
	fifo_sem_stats(c.s, &active, &waiting, &max_active);
	ok(active == 0 && waiting == 0 && max_active == 1,
	   "order: stats back to 0/0, max_active 1 (got %u/%u/%u)", active, waiting, max_active);
	fifo_sem_free(c.s);
}

/* ---- timed acquire --------------------------------------------------------- */

struct timed_ctx {
	struct fifo_sem *s;
	int64_t timeout_ms;
	int rc;
	atomic_int done;
};

static void *timed_thread(void *data)
{
	struct timed_ctx *t = data;

	t->rc = fifo_sem_timedacquire(t->s, t->timeout_ms);
	atomic_store(&t->done, 1);
	return NULL;
}

static void test_timed(void)
{
	struct fifo_sem *s;
	struct timed_ctx t1 = { 0 }, t2 = { 0 };
	pthread_t th1, th2;
	int64_t t0, elapsed;
	unsigned active;

	is_int(fifo_sem_new(&s, 1), 0, "timed: new");
	is_int(fifo_sem_timedacquire(s, 0), 0, "timed: free permit taken at once with timeout 0");

	t0 = now_ms();
	is_int(fifo_sem_timedacquire(s, 200), -ETIMEDOUT, "timed: busy permit -> -ETIMEDOUT");
	elapsed = now_ms() - t0;
	ok(elapsed >= 199 && elapsed < 200 + WAIT_MS / 2,
	   "timed: timed out after ~200 ms (%lld ms)", (long long)elapsed);
	is_int(sem_waiting(s), 0, "timed: no waiter left behind after the timeout");

	/*
	 * The timed-out waiter was the only one (the tail of the queue). A new
	 * blocking waiter must still be found by release: a stale tail pointer
	 * would lose it.
	 */
	t1.s = s;
	t1.timeout_ms = -1;
	if (pthread_create(&th1, NULL, timed_thread, &t1))
		abort();
	ok(wait_waiting(s, 1), "timed: a blocking waiter queues after the timeout");
	fifo_sem_release(s);
	must(wait_flag(&t1.done, 1), "timed: release wakes it");
	pthread_join(th1, NULL);
	is_int(t1.rc, 0, "timed: it got the permit");

	/* a timed waiter granted before its deadline returns 0 promptly */
	t2.s = s;
	t2.timeout_ms = 60000;
	if (pthread_create(&th2, NULL, timed_thread, &t2))
		abort();
	ok(wait_waiting(s, 1), "timed: a 60 s timed waiter queues");
	t0 = now_ms();
	fifo_sem_release(s);
	must(wait_flag(&t2.done, 1), "timed: release wakes the timed waiter");
	pthread_join(th2, NULL);
	is_int(t2.rc, 0, "timed: granted before its deadline");
	ok(now_ms() - t0 < WAIT_MS, "timed: well before the deadline");
	fifo_sem_stats(s, &active, NULL, NULL);
	is_int(active, 1, "timed: the permit is held by the timed waiter's grant");
	fifo_sem_release(s);
	fifo_sem_stats(s, &active, NULL, NULL);
	is_int(active, 0, "timed: released");
	fifo_sem_free(s);
}

/* ---- timeout in the middle of the queue ------------------------------------ */

static void test_timeout_middle(void)
{
	struct fifo_sem *s;
	struct timed_ctx a = { 0 }, b = { 0 }, c = { 0 };
	pthread_t ta, tb, tc;

	is_int(fifo_sem_new(&s, 1), 0, "middle: new");
	is_int(fifo_sem_acquire(s), 0, "middle: main holds the permit");
	a = (struct timed_ctx){ .s = s, .timeout_ms = -1 };
	b = (struct timed_ctx){ .s = s, .timeout_ms = 100 };
	c = (struct timed_ctx){ .s = s, .timeout_ms = -1 };
	pthread_create(&ta, NULL, timed_thread, &a);
	ok(wait_waiting(s, 1), "middle: A queued");
	pthread_create(&tb, NULL, timed_thread, &b);
	ok(wait_waiting(s, 2), "middle: B (100 ms) queued");
	pthread_create(&tc, NULL, timed_thread, &c);
	ok(wait_waiting(s, 3), "middle: C queued");
	must(wait_flag(&b.done, 1), "middle: B gave up");
	pthread_join(tb, NULL);
	is_int(b.rc, -ETIMEDOUT, "middle: B -> -ETIMEDOUT");
	is_int(sem_waiting(s), 2, "middle: A and C still queued");
	fifo_sem_release(s); /* -> A */
	must(wait_flag(&a.done, 1), "middle: A granted");
	is_int(a.rc, 0, "middle: A acquired");
	is_int(atomic_load(&c.done), 0, "middle: C still waits while A holds");
	fifo_sem_release(s); /* A's permit -> C */
	must(wait_flag(&c.done, 1), "middle: C granted after B left the middle");
	is_int(c.rc, 0, "middle: C acquired");
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	fifo_sem_release(s);
	fifo_sem_free(s);
}

/* ---- close --------------------------------------------------------------- */

#define NCLOSE 4

static void test_close(void)
{
	struct fifo_sem *s;
	struct timed_ctx w[NCLOSE];
	pthread_t th[NCLOSE];
	unsigned active, waiting, max_active;
	int cancelled = 0;

	is_int(fifo_sem_new(&s, 2), 0, "close: new with 2 permits");
	is_int(fifo_sem_acquire(s), 0, "close: first permit");
	is_int(fifo_sem_acquire(s), 0, "close: second permit");
	fifo_sem_stats(s, &active, &waiting, &max_active);
	ok(active == 2 && waiting == 0 && max_active == 2, "close: stats 2/0/2 (got %u/%u/%u)",
	   active, waiting, max_active);
	for (int i = 0; i < NCLOSE; i++) {
		/* half block forever, half with a long timeout */
		w[i] = (struct timed_ctx){ .s = s, .timeout_ms = i % 2 ? 60000 : -1 };
		pthread_create(&th[i], NULL, timed_thread, &w[i]);
		ok(wait_waiting(s, (unsigned)i + 1), "close: waiter %d queued", i);
	}
	fifo_sem_close(s);
	for (int i = 0; i < NCLOSE; i++)
		if (wait_flag(&w[i].done, 1))
			pthread_join(th[i], NULL);
	for (int i = 0; i < NCLOSE; i++)
		cancelled += w[i].rc == -ECANCELED;
	is_int(cancelled, NCLOSE, "close: every waiter woke with -ECANCELED");
	is_int(sem_waiting(s), 0, "close: nobody waiting");
	is_int(fifo_sem_acquire(s), -ECANCELED, "close: later acquire fails");
	is_int(fifo_sem_timedacquire(s, 0), -ECANCELED, "close: later timed acquire fails");
	fifo_sem_close(s);
	is_int(fifo_sem_acquire(s), -ECANCELED, "close: idempotent");
	fifo_sem_release(s);
	fifo_sem_release(s);
	fifo_sem_stats(s, &active, &waiting, &max_active);
	ok(active == 0 && waiting == 0 && max_active == 2,
	   "close: holders release after close (got %u/%u/%u)", active, waiting, max_active);
	is_int(fifo_sem_acquire(s), -ECANCELED, "close: still closed after releases");
	fifo_sem_free(s);
	fifo_sem_free(NULL); /* must not crash: the suite dies if it does */
}

/* ---- stress ---------------------------------------------------------------- */

#define STRESS_THREADS 8
#define STRESS_ITERS   10000
#define STRESS_PERMITS 2

struct stress_ctx {
	struct fifo_sem *s;
	atomic_int inside, max_inside, errors;
	atomic_long total;
};

static void *stress_thread(void *data)
{
	struct stress_ctx *c = data;

	for (int i = 0; i < STRESS_ITERS; i++) {
		int r = i % 4 == 3 ? fifo_sem_timedacquire(c->s, 60000) : fifo_sem_acquire(c->s);
		int in, m;

		if (r) {
			atomic_fetch_add(&c->errors, 1);
			continue;
		}
		in = atomic_fetch_add(&c->inside, 1) + 1;
		m = atomic_load(&c->max_inside);
		while (in > m && !atomic_compare_exchange_weak(&c->max_inside, &m, in))
			;
		atomic_fetch_add(&c->total, 1);
		if (i % 16 == 0)
			sched_yield();
		atomic_fetch_sub(&c->inside, 1);
		fifo_sem_release(c->s);
	}
	return NULL;
}

static void test_stress(void)
{
	struct stress_ctx c = { 0 };
	pthread_t th[STRESS_THREADS];
	unsigned active, waiting, max_active;

	is_int(fifo_sem_new(&c.s, STRESS_PERMITS), 0, "stress: new with %d permits",
	       STRESS_PERMITS);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_create(&th[i], NULL, stress_thread, &c);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	is_int(atomic_load(&c.errors), 0, "stress: no acquire failed");
	is_int(atomic_load(&c.total), STRESS_THREADS * STRESS_ITERS,
	       "stress: %d x %d critical sections", STRESS_THREADS, STRESS_ITERS);
	ok(atomic_load(&c.max_inside) <= STRESS_PERMITS, "stress: never more than %d inside (%d)",
	   STRESS_PERMITS, atomic_load(&c.max_inside));
	fifo_sem_stats(c.s, &active, &waiting, &max_active);
	ok(active == 0 && waiting == 0, "stress: stats drained (%u/%u)", active, waiting);
	ok(max_active >= 1 && max_active <= STRESS_PERMITS, "stress: max_active %u in 1..%d",
	   max_active, STRESS_PERMITS);
	fifo_sem_free(c.s);
}

int main(void)
{
	test_fifo_order();
	test_timed();
	test_timeout_middle();
	test_close();
	test_stress();
	return done_testing();
}
