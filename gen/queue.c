/* SPDX-License-Identifier: MIT */
/*
 * Scheduler. Ready jobs sit in one FIFO list per priority; a worker takes
 * the first interactive job whose group is under its limit, else the first
 * such prefetch job, so prefetch can delay a person's open by at most the
 * jobs already running. A failed, retryable attempt puts the job on the
 * delay list (sorted by due time) and frees the worker; the first idle
 * worker to wake after the due time moves it back to the front of its
 * priority list.
 *
 * A job leaves the lists for good in one of two ways: under q->lock with
 * over set, then finished() runs without the lock (completion, shutdown);
 * or gen_queue_cancel() frees it under q->lock and the caller, still under
 * its own lock, forgets it. Either way promote and cancel never touch a job
 * that is not in a list: an over job is left alone, a cancelled one is
 * unreachable.
 *
 * Locking: q->lock protects every list, counter and job field. It is never
 * held while calling ops.
 */
#include "queue.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

struct gen_job {
	struct gen_job *prev, *next; /* in one of: ready[prio], delayed, running, parked */
	void *payload;
	size_t group;
	enum gen_prio prio;
	enum gen_job_state state;
	unsigned attempt; /* attempts started */
	unsigned spared;  /* of them, failed for want of resources: not counted */
	bool no_retry;	  /* cancel asked while running */
	bool unpark;	  /* unpark asked while running: do not park */
	bool over;	  /* out of every list, finished() pending: hands off */
	int64_t submitted_ms, started_ms, due_ms;
};

struct list {
	struct gen_job *head, *tail;
	size_t n;
};

struct gen_queue {
	struct gen_queue_opts o;
	struct gen_queue_ops ops;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	struct list ready[GEN_PRIO_MAX], delayed, running, parked;
	unsigned *group_running;
	bool stopping;
	uint64_t attempts, succeeded, failed, retried, cancelled;
	int64_t busy_ms;
	/* set at creation */
	pthread_t *threads;
	unsigned nthreads;
};

static void list_del(struct list *l, struct gen_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		l->head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		l->tail = j->prev;
	j->prev = j->next = NULL;
	l->n--;
}

static void list_append(struct list *l, struct gen_job *j)
{
	j->next = NULL;
	j->prev = l->tail;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static void list_insert_before(struct list *l, struct gen_job *at, struct gen_job *j)
{
	if (!at) {
		list_append(l, j);
		return;
	}
	j->next = at;
	j->prev = at->prev;
	if (at->prev)
		at->prev->next = j;
	else
		l->head = j;
	at->prev = j;
	l->n++;
}

static struct list *list_of(struct gen_queue *q, struct gen_job *j)
{
	switch (j->state) {
	case GEN_JOB_QUEUED:
		return &q->ready[j->prio];
	case GEN_JOB_RETRY_WAIT:
		return &q->delayed;
	case GEN_JOB_PARKED:
		return &q->parked;
	case GEN_JOB_RUNNING:
		break;
	}
	return &q->running;
}

static uint64_t random_u64(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)now_ms() * 6364136223846793005ULL + 1442695040888963407ULL;
	return v;
}

/* Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
static int64_t backoff_ms(const struct gen_queue_opts *o, unsigned attempt)
{
	int64_t cap = o->backoff_base_ms;

	for (unsigned i = 1; i < attempt && cap < o->backoff_max_ms; i++)
		cap *= 2;
	cap = MIN(cap, o->backoff_max_ms);
	return cap > 0 ? (int64_t)(random_u64() % (uint64_t)(cap + 1)) : 0;
}

/* Moves due retries back to the front of their priority list. Lock held. */
static void promote_due(struct gen_queue *q, int64_t now)
{
	while (q->delayed.head && q->delayed.head->due_ms <= now) {
		struct gen_job *j = q->delayed.head;

		list_del(&q->delayed, j);
		j->state = GEN_JOB_QUEUED;
		list_insert_before(&q->ready[j->prio], q->ready[j->prio].head, j);
	}
}

static struct gen_job *pick(struct gen_queue *q)
{
	for (int p = 0; p < GEN_PRIO_MAX; p++)
		for (struct gen_job *j = q->ready[p].head; j; j = j->next)
			if (q->group_running[j->group] < q->o.group_limit)
				return j;
	return NULL;
}

static void finish(struct gen_queue *q, struct gen_job *j, int err, const char *msg)
{
	q->ops.finished(q->ctx, j->payload, err, msg, j->attempt);
	free(j);
}

/* The run parked its job (not an attempt): parked, or queued at once if unparked meanwhile. */
static void park(struct gen_queue *q, struct gen_job *j)
{
	j->attempt--;
	q->attempts--;
	if (j->unpark) {
		j->unpark = false;
		j->state = GEN_JOB_QUEUED;
		list_insert_before(&q->ready[j->prio], q->ready[j->prio].head, j);
	} else {
		j->state = GEN_JOB_PARKED;
		list_append(&q->parked, j);
	}
	pthread_cond_broadcast(&q->cond);
}

static void run_one(struct gen_queue *q, void *ws, struct gen_job *j)
{
	struct gen_err gerr;
	int64_t t0 = now_ms(), dt;
	bool spare;
	int r;

	memset(&gerr, 0, sizeof(gerr));
	r = q->ops.run(q->ctx, ws, j->payload, j->attempt, &gerr);
	dt = now_ms() - t0;

	pthread_mutex_lock(&q->lock);
	q->busy_ms += dt;
	list_del(&q->running, j);
	q->group_running[j->group]--;
	if (r == GEN_RUN_PARKED && q->stopping)
		r = wf_err_set(&gerr.e, -ESHUTDOWN, "shutting down");
	if (r == GEN_RUN_PARKED) {
		park(q, j);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	/* a shortage of the machine's, not the page's: retried without spending an attempt */
	spare = r < 0 && gerr.retryable && gerr.resource && j->spared < GEN_SPARED_MAX;
	if (spare)
		j->spared++;
	if (r < 0 && gerr.retryable && !gerr.budget && !j->no_retry && !q->stopping &&
	    j->attempt < q->o.max_attempts + j->spared) {
		int64_t wait = gerr.retry_after_ms > 0 ? gerr.retry_after_ms
			       : spare		       ? backoff_ms(&q->o, MIN(j->spared, 3u))
						       : backoff_ms(&q->o, j->attempt - j->spared);
		struct gen_job *at = q->delayed.head;

		j->due_ms = now_ms() + wait;
		j->state = GEN_JOB_RETRY_WAIT;
		while (at && at->due_ms <= j->due_ms)
			at = at->next;
		list_insert_before(&q->delayed, at, j);
		q->retried++;
		pthread_cond_broadcast(&q->cond);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	if (r < 0)
		q->failed++;
	else
		q->succeeded++;
	j->over = true;
	pthread_cond_broadcast(&q->cond); /* a group slot was freed */
	pthread_mutex_unlock(&q->lock);
	finish(q, j, r, r < 0 ? gerr.e.msg : "");
}

static void *worker(void *data)
{
	struct gen_queue *q = data;
	void *ws = NULL;

	if (q->ops.worker_init && q->ops.worker_init(q->ctx, &ws) < 0)
		ws = NULL;
	pthread_mutex_lock(&q->lock);
	while (!q->stopping) {
		struct gen_job *j;
		int64_t now = now_ms();

		promote_due(q, now);
		j = pick(q);
		if (!j) {
			if (q->delayed.head) {
				struct timespec ts = deadline_ts(q->delayed.head->due_ms);

				pthread_cond_timedwait(&q->cond, &q->lock, &ts);
			} else {
				pthread_cond_wait(&q->cond, &q->lock);
			}
			continue;
		}
		list_del(&q->ready[j->prio], j);
		j->state = GEN_JOB_RUNNING;
		j->attempt++;
		j->started_ms = now;
		j->unpark = false;
		q->group_running[j->group]++;
		q->attempts++;
		list_append(&q->running, j);
		pthread_mutex_unlock(&q->lock);
		run_one(q, ws, j);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	if (q->ops.worker_done)
		q->ops.worker_done(q->ctx, ws);
	return NULL;
}

int gen_queue_new(struct gen_queue **ret, const struct gen_queue_opts *o,
		  const struct gen_queue_ops *ops, void *ctx)
{
	struct gen_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (!q)
		return -ENOMEM;
	q->o = *o;
	q->ops = *ops;
	q->ctx = ctx;
	q->group_running = calloc(o->groups ? o->groups : 1, sizeof(*q->group_running));
	q->threads = calloc(o->workers, sizeof(*q->threads));
	if (!q->group_running || !q->threads) {
		free(q->group_running);
		free(q->threads);
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	for (; q->nthreads < o->workers; q->nthreads++) {
		int r = pthread_create(&q->threads[q->nthreads], NULL, worker, q);

		if (r) {
			gen_queue_free(q);
			return -r;
		}
	}
	*ret = q;
	return 0;
}

void gen_queue_free(struct gen_queue *q)
{
	struct list dead = { 0 };

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	for (int p = 0; p <= GEN_PRIO_MAX + 1; p++) {
		struct list *l = p < GEN_PRIO_MAX    ? &q->ready[p]
				 : p == GEN_PRIO_MAX ? &q->delayed
						     : &q->parked;

		while (l->head) {
			struct gen_job *j = l->head;

			list_del(l, j);
			j->over = true;
			list_append(&dead, j);
		}
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	while (dead.head) {
		struct gen_job *j = dead.head;

		list_del(&dead, j);
		finish(q, j, -ESHUTDOWN, "shutting down");
	}
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->group_running);
	free(q->threads);
	free(q);
}

int gen_queue_submit(struct gen_queue *q, size_t group, enum gen_prio prio, void *payload,
		     struct gen_job **ret)
{
	struct gen_job *j;

	if (group >= MAX(q->o.groups, 1))
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -ESHUTDOWN;
	}
	if (q->ready[0].n + q->ready[1].n + q->delayed.n >= q->o.max_queued) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;
	}
	j->payload = payload;
	j->group = group;
	j->prio = prio;
	j->state = GEN_JOB_QUEUED;
	j->submitted_ms = now_ms();
	list_append(&q->ready[prio], j);
	*ret = j;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void gen_queue_promote(struct gen_queue *q, struct gen_job *j)
{
	pthread_mutex_lock(&q->lock);
	if (j->prio != GEN_PRIO_INTERACTIVE && !j->over) {
		struct list *l = list_of(q, j);

		if (j->state == GEN_JOB_QUEUED) {
			list_del(l, j);
			j->prio = GEN_PRIO_INTERACTIVE;
			list_append(&q->ready[GEN_PRIO_INTERACTIVE], j);
			pthread_cond_signal(&q->cond);
		} else {
			j->prio = GEN_PRIO_INTERACTIVE; /* takes effect at its next retry */
		}
	}
	pthread_mutex_unlock(&q->lock);
}

bool gen_queue_park(struct gen_queue *q, struct gen_job *j)
{
	bool parked;

	pthread_mutex_lock(&q->lock);
	parked = j->state == GEN_JOB_QUEUED && !j->over;
	if (parked) {
		list_del(&q->ready[j->prio], j);
		j->state = GEN_JOB_PARKED;
		list_append(&q->parked, j);
	}
	pthread_mutex_unlock(&q->lock);
	return parked;
}

void gen_queue_unpark(struct gen_queue *q, struct gen_job *j)
{
	pthread_mutex_lock(&q->lock);
	if (j->state == GEN_JOB_PARKED && !j->over) {
		list_del(&q->parked, j);
		j->state = GEN_JOB_QUEUED;
		list_insert_before(&q->ready[j->prio], q->ready[j->prio].head, j);
		pthread_cond_signal(&q->cond);
	} else if (j->state == GEN_JOB_RUNNING) {
		j->unpark = true;
	}
	pthread_mutex_unlock(&q->lock);
}

bool gen_queue_cancel(struct gen_queue *q, struct gen_job *j)
{
	bool taken;

	pthread_mutex_lock(&q->lock);
	taken = j->state != GEN_JOB_RUNNING && !j->over;
	if (taken) {
		list_del(list_of(q, j), j);
		q->cancelled++;
		free(j);
	} else {
		j->no_retry = true;
	}
	pthread_mutex_unlock(&q->lock);
	return taken;
}

void gen_queue_stats(struct gen_queue *q, struct gen_queue_stats *st)
{
	pthread_mutex_lock(&q->lock);
	st->queued = q->ready[0].n + q->ready[1].n;
	st->running = q->running.n;
	st->retry_wait = q->delayed.n;
	st->parked = q->parked.n;
	st->attempts = q->attempts;
	st->succeeded = q->succeeded;
	st->failed = q->failed;
	st->retried = q->retried;
	st->cancelled = q->cancelled;
	st->busy_ms = q->busy_ms;
	pthread_mutex_unlock(&q->lock);
}

void gen_queue_foreach(struct gen_queue *q, size_t max,
		       void (*fn)(void *arg, const struct gen_job_info *info), void *arg)
{
	struct list *order[] = { &q->running, &q->delayed, &q->parked, &q->ready[0], &q->ready[1] };
	int64_t now = now_ms();
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		for (struct gen_job *j = order[i]->head; j && n < max; j = j->next, n++) {
			struct gen_job_info info = {
				.payload = j->payload,
				.state = j->state,
				.prio = j->prio,
				.attempt = j->attempt,
				.elapsed_ms = now - j->submitted_ms,
				.retry_in_ms = j->state == GEN_JOB_RETRY_WAIT ? j->due_ms - now : 0,
			};

			fn(arg, &info);
		}
	}
	pthread_mutex_unlock(&q->lock);
}
