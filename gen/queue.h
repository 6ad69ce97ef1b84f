/* SPDX-License-Identifier: MIT */
/*
 * The page job scheduler: a bounded queue with two priorities, a worker pool
 * of @workers threads, a per-group (per-repository) running limit, and
 * retries with exponential backoff and full jitter that wait on a timer
 * list instead of occupying a worker.
 *
 * The queue knows nothing about pages: a job carries an opaque payload and
 * a group number; ops->run makes one attempt and ops->finished reports the
 * final outcome. Single-flight (one job per page) is the caller's rule: it
 * keeps the job pointer it got from gen_queue_submit() until finished(), or
 * until a gen_queue_cancel() that returned true.
 *
 * Thread-safety: all functions are thread-safe. Lock order: a caller's own
 * lock may be held while calling gen_queue_promote/cancel (they take the
 * queue lock); ops callbacks run without the queue lock held.
 */
#ifndef WIKIFS_QUEUE_H
#define WIKIFS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

enum gen_prio { GEN_PRIO_INTERACTIVE = 0, GEN_PRIO_PREFETCH = 1, GEN_PRIO_MAX };

enum gen_job_state { GEN_JOB_QUEUED, GEN_JOB_RUNNING, GEN_JOB_RETRY_WAIT, GEN_JOB_PARKED };

/*
 * What ops->run returns to park its job: the attempt is not counted and
 * the job waits, holding no worker, until gen_queue_unpark() (another
 * process runs it: see wiki/fleet.c).
 */
#define GEN_RUN_PARKED 1

struct gen_queue;
struct gen_job;

struct gen_queue_ops {
	/* One attempt on a worker thread. 0, GEN_RUN_PARKED, or -errno with @gerr filled. */
	int (*run)(void *ctx, void *wstate, void *payload, unsigned attempt, struct gen_err *gerr);
	/*
	 * The job is over: @err is 0, the last attempt's error or -ESHUTDOWN;
	 * @msg its detail. Called once per job, except for a job that
	 * gen_queue_cancel() took, without the queue lock; the job is freed
	 * right after it returns.
	 */
	void (*finished)(void *ctx, void *payload, int err, const char *msg, unsigned attempts);
	int (*worker_init)(void *ctx, void **wstate);
	void (*worker_done)(void *ctx, void *wstate);
};

/*
 * An attempt that failed for want of resources (gen_err.resource: out of
 * file descriptors) does not count towards max_attempts, up to this many
 * per job; it waits a short backoff (at most 4 * backoff_base_ms).
 */
#define GEN_SPARED_MAX 20

struct gen_queue_opts {
	unsigned workers;
	unsigned group_limit; /* running jobs per group */
	size_t groups;	      /* groups are 0 .. groups-1 */
	size_t max_queued;
	unsigned max_attempts;
	int64_t backoff_base_ms; /* first retry waits up to this, doubling */
	int64_t backoff_max_ms;
};

int gen_queue_new(struct gen_queue **ret, const struct gen_queue_opts *o,
		  const struct gen_queue_ops *ops, void *ctx);
/* Cancels queued jobs (-ESHUTDOWN), waits for running ones, joins. */
void gen_queue_free(struct gen_queue *q);

/*
 * Queues a job. -EAGAIN when the queue is full. *job is valid until
 * finished() returns or gen_queue_cancel() returned true.
 */
int gen_queue_submit(struct gen_queue *q, size_t group, enum gen_prio prio, void *payload,
		     struct gen_job **job);
/*
 * Moves a queued prefetch job to interactive priority. A job already on its
 * way to finished() is left alone.
 */
void gen_queue_promote(struct gen_queue *q, struct gen_job *job);
/*
 * Takes a job that is not running out of the queue, frees it and returns
 * true: finished() is NOT called for it, so the caller forgets the job in
 * the same critical section of its own lock (which it may hold here) and
 * there is no moment where the caller still points at a job the queue no
 * longer has. A running job, or one whose finished() is under way, is only
 * told not to retry (false); finished() follows as usual.
 */
bool gen_queue_cancel(struct gen_queue *q, struct gen_job *job);

/*
 * Parks a queued job (one not running): it is known to be run elsewhere.
 * Returns whether it was parked.
 */
bool gen_queue_park(struct gen_queue *q, struct gen_job *job);
/*
 * Puts a parked job back at the front of its priority list. A job whose
 * run is still under way is put back as soon as it parks (so an unpark
 * racing with the park is never lost); any other job is left alone.
 */
void gen_queue_unpark(struct gen_queue *q, struct gen_job *job);

struct gen_job_info {
	void *payload;
	enum gen_job_state state;
	enum gen_prio prio;
	unsigned attempt;
	int64_t elapsed_ms;  /* since submit */
	int64_t retry_in_ms; /* RETRY_WAIT only */
};

struct gen_queue_stats {
	size_t queued, running, retry_wait, parked;
	uint64_t attempts, succeeded, failed, retried, cancelled;
	int64_t busy_ms; /* summed run time of finished attempts */
};

void gen_queue_stats(struct gen_queue *q, struct gen_queue_stats *st);
/* Calls @fn for up to @max jobs, running first, under the queue lock: @fn must not block. */
void gen_queue_foreach(struct gen_queue *q, size_t max,
		       void (*fn)(void *arg, const struct gen_job_info *info), void *arg);

#endif
