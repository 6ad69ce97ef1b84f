/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the work queue: FIFO execution on one thread, the bound
 * (-EAGAIN), workq_free() running what is still queued and refusing new work
 * with -ESHUTDOWN, and a many-producer stress run meant for TSan. A "gate"
 * item holds the only worker so the queue's contents are known exactly; no
 * test waits by sleeping.
 */
#include "tap.h"
#include "util.h"
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define WAIT_MS 10000

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open; /* protected by lock */
	atomic_int entered;
};

static void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = false;
	atomic_init(&g->entered, 0);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void gate_done(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* Work item: blocks its worker until the gate opens. */
static void gate_fn(void *arg)
{
	struct gate *g = arg;

	atomic_fetch_add(&g->entered, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static bool wait_atomic(atomic_int *v, int want)
{
	int64_t until = now_ms() + WAIT_MS;

	while (atomic_load(v) != want) {
		if (now_ms() > until)
			return false;
		sched_yield();
	}
	return true;
}

/* ---- FIFO ------------------------------------------------------------------ */

#define NFIFO 200

struct fifo_rec {
	int order[NFIFO]; /* written only by the single worker */
	atomic_int n;
};

struct fifo_item {
	struct fifo_rec *rec;
	int id;
};

static void record_fn(void *arg)
{
	struct fifo_item *it = arg;
	int slot = atomic_fetch_add(&it->rec->n, 1);

	if (slot < NFIFO)
		it->rec->order[slot] = it->id;
}

static void test_fifo(void)
{
	struct workq *q;
	struct gate g;
	struct fifo_rec rec = { 0 };
	struct fifo_item items[NFIFO];
	int failed = 0, misplaced = 0;

	gate_init(&g);
	is_int(workq_new(&q, 1, NFIFO), 0, "fifo: new, one thread");
	is_int(workq_submit(q, gate_fn, &g), 0, "fifo: gate item");
	ok(wait_atomic(&g.entered, 1), "fifo: the worker is held by the gate");
	for (int i = 0; i < NFIFO; i++) {
		items[i] = (struct fifo_item){ &rec, i };
		failed += workq_submit(q, record_fn, &items[i]) != 0;
	}
	is_int(failed, 0, "fifo: %d items queued behind the gate", NFIFO);
	is_int(atomic_load(&rec.n), 0, "fifo: nothing ran while the worker is held");
	gate_open(&g);
	ok(wait_atomic(&rec.n, NFIFO), "fifo: all items ran");
	for (int i = 0; i < NFIFO; i++)
		misplaced += rec.order[i] != i;
	is_int(misplaced, 0, "fifo: executed in submission order");
	workq_free(q);
	gate_done(&g);
}

/* ---- bounded --------------------------------------------------------------- */

static void count_fn(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_bounded(void)
{
	struct workq *q;
	struct gate g;
	atomic_int ran = 0;

	gate_init(&g);
	is_int(workq_new(&q, 1, 3), 0, "bounded: new, one thread, 3 queued at most");
	is_int(workq_submit(q, gate_fn, &g), 0, "bounded: gate item");
	ok(wait_atomic(&g.entered, 1), "bounded: the gate item is running, queue empty");
	for (int i = 0; i < 3; i++)
		is_int(workq_submit(q, count_fn, &ran), 0, "bounded: item %d accepted", i + 1);
	is_int(workq_submit(q, count_fn, &ran), -EAGAIN, "bounded: 4th item is -EAGAIN");
	is_int(workq_submit(q, count_fn, &ran), -EAGAIN, "bounded: still -EAGAIN");
	gate_open(&g);
	ok(wait_atomic(&ran, 3), "bounded: the 3 accepted items ran");
	is_int(workq_submit(q, count_fn, &ran), 0, "bounded: room again once drained");
	workq_free(q);
	is_int(atomic_load(&ran), 4, "bounded: 4 items ran in all, the refused ones never");
	gate_done(&g);
}

/* ---- free runs queued work ------------------------------------------------- */

struct free_ctx {
	struct workq *q;
	atomic_int returned;
};

static void *free_thread(void *data)
{
	struct free_ctx *f = data;

	workq_free(f->q);
	atomic_store(&f->returned, 1);
	return NULL;
}

static void test_free(void)
{
	struct free_ctx f = { 0 };
	struct gate g;
	atomic_int ran = 0;
	pthread_t th;
	int queued = 10, r, failed = 0;
	int64_t until;

	gate_init(&g);
	is_int(workq_new(&f.q, 1, 64), 0, "free: new");
	is_int(workq_submit(f.q, gate_fn, &g), 0, "free: gate item");
	ok(wait_atomic(&g.entered, 1), "free: worker held");
	for (int i = 0; i < 10; i++)
		failed += workq_submit(f.q, count_fn, &ran) != 0;
	is_int(failed, 0, "free: 10 items queued");

	/*
	 * workq_free() on another thread cannot finish while the worker is held,
	 * so f.q stays valid until the gate opens. Submitting until -ESHUTDOWN
	 * shows that free has begun; everything accepted before must still run.
	 */
	pthread_create(&th, NULL, free_thread, &f);
	until = now_ms() + WAIT_MS;
	do {
		r = workq_submit(f.q, count_fn, &ran);
		if (r == 0)
			queued++;
		else
			sched_yield();
	} while (r != -ESHUTDOWN && now_ms() < until);
	is_int(r, -ESHUTDOWN, "free: submit after free began is -ESHUTDOWN");
	is_int(atomic_load(&ran), 0, "free: nothing ran yet");
	is_int(atomic_load(&f.returned), 0, "free: free waits for the running item");
	gate_open(&g);
	pthread_join(th, NULL);
	is_int(atomic_load(&ran), queued, "free: all %d queued items ran before free returned",
	       queued);
	gate_done(&g);
	workq_free(NULL); /* must not crash: the suite dies if it does */
}

/* ---- stress ---------------------------------------------------------------- */

#define PRODUCERS 8
#define PER_PROD  10000
#define WORKERS	  4

struct stress_ctx {
	struct workq *q;
	atomic_long ran;
	atomic_long sum;
	atomic_int errors;
	atomic_int eagain;
};

struct stress_item {
	struct stress_ctx *c;
	long value;
};

static void stress_fn(void *arg)
{
	struct stress_item *it = arg;

	atomic_fetch_add(&it->c->sum, it->value);
	atomic_fetch_add(&it->c->ran, 1);
	free(it);
}

static void *producer(void *data)
{
	struct stress_ctx *c = data;

	for (long i = 1; i <= PER_PROD; i++) {
		struct stress_item *it = malloc(sizeof(*it));
		int r;

		if (!it)
			abort();
		*it = (struct stress_item){ c, i };
		while ((r = workq_submit(c->q, stress_fn, it)) == -EAGAIN) {
			atomic_fetch_add(&c->eagain, 1);
			sched_yield();
		}
		if (r) {
			atomic_fetch_add(&c->errors, 1);
			free(it);
		}
	}
	return NULL;
}

static void test_stress(void)
{
	struct stress_ctx c = { 0 };
	pthread_t th[PRODUCERS];
	const long per = (long)PER_PROD * (PER_PROD + 1) / 2;

	is_int(workq_new(&c.q, WORKERS, 32), 0, "stress: new, %d workers, 32 queued", WORKERS);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, &c);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	workq_free(c.q);
	is_int(atomic_load(&c.errors), 0, "stress: no submit failed");
	is_int(atomic_load(&c.ran), PRODUCERS * PER_PROD, "stress: every item ran exactly once");
	is_int(atomic_load(&c.sum), per * PRODUCERS, "stress: checksum of the arguments");
	diag("stress: %d submits met a full queue", atomic_load(&c.eagain));
}

int main(void)
{
	test_fifo();
	test_bounded();
	test_free();
	test_stress();
	return done_testing();
}
