/* SPDX-License-Identifier: MIT */
/*
 * gen/queue: priorities, the per-group limit, retries that do not hold a
 * worker, cancellation, a bounded queue, and a stress run for TSan. Jobs
 * block on a gate the test opens, so every ordering checked here is forced,
 * not hoped for.
 */
#include "queue.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

struct job {
	int id;
	int fail_times; /* fail (retryable) this many attempts first */
	int64_t retry_after;
	bool permanent;		  /* fail, not retryable */
	int short_times;	  /* then fail this many attempts short of descriptors */
	int park_times;		  /* first park this many runs (another process runs it) */
	int parked;		  /* runs parked so far */
	struct gen_queue *self_q; /* unpark itself before parking (the race) */
	struct gen_job *self;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
/* protected by mu */
static bool gate_open = true;
static int order[4096], norder;
static int running, max_running, group_running[4], group_max[4];
static int finished_n, finished_err[4096], finished_calls[4096];
static unsigned finished_attempts[4096];
/* a hook run by finished() for job hook_id, without mu */
static struct gen_queue *hook_q;
static struct gen_job *hook_job;
static int hook_id = -1;
static bool hook_cancelled, hook_ran;
static int64_t attempt_at[4096][4];

static int run(void *ctx, void *ws, void *payload, unsigned attempt, struct gen_err *gerr)
{
	struct job *j = payload;
	int g = j->id % 4;

	pthread_mutex_lock(&mu);
	if (attempt <= 4)
		attempt_at[j->id][attempt - 1] = now_ms();
	order[norder++] = j->id;
	running++;
	group_running[g]++;
	max_running = MAX(max_running, running);
	group_max[g] = MAX(group_max[g], group_running[g]);
	while (!gate_open)
		pthread_cond_wait(&cv, &mu);
	running--;
	group_running[g]--;
	pthread_mutex_unlock(&mu);
	(void)ctx, (void)ws;
	if (j->parked < j->park_times) {
		j->parked++;
		if (j->self_q) /* the unpark wins the race with the park */
			gen_queue_unpark(j->self_q, j->self);
		return GEN_RUN_PARKED;
	}
	if (j->permanent) {
		gerr->retryable = false;
		return wf_err_set(&gerr->e, -EINVAL, "permanent");
	}
	if ((int)attempt <= j->fail_times) {
		gerr->retryable = true;
		gerr->retry_after_ms = j->retry_after;
		return wf_err_set(&gerr->e, -EIO, "transient %u", attempt);
	}
	if ((int)attempt <= j->fail_times + j->short_times) {
		gerr->retryable = true;
		gerr->resource = true;
		return wf_err_set(&gerr->e, -EMFILE, "out of file descriptors (%u)", attempt);
	}
	return 0;
}

static void finished(void *ctx, void *payload, int err, const char *msg, unsigned attempts)
{
	struct job *j = payload;

	if (j->id == hook_id) {
		/* the job is on its way out: neither call may touch it */
		gen_queue_promote(hook_q, hook_job);
		hook_cancelled = gen_queue_cancel(hook_q, hook_job);
		hook_ran = true;
	}
	pthread_mutex_lock(&mu);
	finished_err[j->id] = err;
	finished_attempts[j->id] = attempts;
	finished_calls[j->id]++;
	finished_n++;
	gate_open = true; /* a shutdown must not wait for the gate */
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	(void)ctx, (void)msg;
}

static const struct gen_queue_ops ops = { .run = run, .finished = finished };

static void reset(bool gate)
{
	pthread_mutex_lock(&mu);
	gate_open = gate;
	norder = running = max_running = finished_n = 0;
	memset(group_max, 0, sizeof(group_max));
	memset(finished_err, 0, sizeof(finished_err));
	memset(finished_calls, 0, sizeof(finished_calls));
	pthread_mutex_unlock(&mu);
}

static void open_gate(void)
{
	pthread_mutex_lock(&mu);
	gate_open = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static bool wait_for(int *counter, int want, int64_t timeout_ms)
{
	int64_t until = now_ms() + timeout_ms;
	bool ok;

	pthread_mutex_lock(&mu);
	while (*counter < want && now_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	ok = *counter >= want;
	pthread_mutex_unlock(&mu);
	return ok;
}

static struct gen_queue *make(unsigned workers, unsigned group_limit, size_t max_queued,
			      unsigned attempts, int64_t base)
{
	struct gen_queue_opts o = {
		.workers = workers,
		.group_limit = group_limit,
		.groups = 4,
		.max_queued = max_queued,
		.max_attempts = attempts,
		.backoff_base_ms = base,
		.backoff_max_ms = base * 8,
	};
	struct gen_queue *q = NULL;

	if (gen_queue_new(&q, &o, &ops, NULL) < 0)
		return NULL;
	return q;
}

static void test_priority(void)
{
	static struct job jobs[8];
	struct gen_job *h[8];
	struct gen_queue *q;

	/* one worker, held busy by job 0; then prefetch 1..3, interactive 4..5 */
	reset(false);
	q = make(1, 4, 100, 1, 10);
	for (int i = 0; i < 6; i++)
		jobs[i] = (struct job){ .id = i };
	gen_queue_submit(q, 0, GEN_PRIO_INTERACTIVE, &jobs[0], &h[0]);
	ok(wait_for(&norder, 1, 5000), "first job started");
	for (int i = 1; i <= 3; i++)
		gen_queue_submit(q, (size_t)i % 4, GEN_PRIO_PREFETCH, &jobs[i], &h[i]);
	for (int i = 4; i <= 5; i++)
		gen_queue_submit(q, (size_t)i % 4, GEN_PRIO_INTERACTIVE, &jobs[i], &h[i]);
	gen_queue_promote(q, h[3]); /* a person opened page 3 */
	open_gate();
	ok(wait_for(&finished_n, 6, 5000), "all six finished");
	is_int(order[1], 4, "interactive 4 runs right after the running job");
	is_int(order[2], 5, "interactive 5 next");
	is_int(order[3], 3, "promoted prefetch 3 before the other prefetch jobs");
	is_int(order[4], 1, "then prefetch 1");
	is_int(order[5], 2, "then prefetch 2");
	gen_queue_free(q);
}

static void test_group_limit(void)
{
	static struct job jobs[12];
	struct gen_job *h;
	struct gen_queue *q;

	/* 8 workers, group limit 2: 12 jobs, all in group 1 except three in group 2 */
	reset(false);
	q = make(8, 2, 100, 1, 10);
	for (int i = 0; i < 12; i++) {
		jobs[i] = (struct job){ .id = i < 9 ? 1 + 4 * i : 2 + 4 * (i - 9) };
		gen_queue_submit(q, (size_t)(jobs[i].id % 4), GEN_PRIO_PREFETCH, &jobs[i], &h);
	}
	ok(wait_for(&running, 4, 5000), "four jobs run at once (two groups x 2)");
	pthread_mutex_lock(&mu);
	is_int(running, 4, "and not more: the limit holds with idle workers");
	pthread_mutex_unlock(&mu);
	open_gate();
	ok(wait_for(&finished_n, 12, 5000), "all twelve finished");
	is_int(group_max[1], 2, "group 1 never ran more than 2");
	is_int(group_max[2], 2, "group 2 never ran more than 2");
	gen_queue_free(q);
}

static void test_retries(void)
{
	static struct job a, b, c, blocker[2];
	struct gen_job *h;
	struct gen_queue *q;

	reset(true);
	q = make(1, 4, 100, 3, 200);
	a = (struct job){ .id = 10, .fail_times = 2 };	 /* ok at attempt 3 */
	b = (struct job){ .id = 11, .fail_times = 5 };	 /* out of attempts */
	c = (struct job){ .id = 12, .permanent = true }; /* no retry */
	gen_queue_submit(q, 2, GEN_PRIO_INTERACTIVE, &a, &h);
	gen_queue_submit(q, 3, GEN_PRIO_INTERACTIVE, &b, &h);
	gen_queue_submit(q, 0, GEN_PRIO_INTERACTIVE, &c, &h);
	ok(wait_for(&finished_n, 3, 10000), "three jobs finished");
	is_int(finished_err[10], 0, "transient failures then success");
	is_int(finished_attempts[10], 3, "after 3 attempts");
	is_int(finished_err[11], -EIO, "out of attempts: last error");
	is_int(finished_attempts[11], 3, "retries = 3 attempts in all");
	is_int(finished_err[12], -EINVAL, "permanent error");
	is_int(finished_attempts[12], 1, "not retried");
	gen_queue_free(q);

	/* Retry-After is honoured, and waiting does not hold the only worker */
	reset(true);
	q = make(1, 4, 100, 2, 10);
	a = (struct job){ .id = 20, .fail_times = 1, .retry_after = 400 };
	blocker[0] = (struct job){ .id = 21 };
	gen_queue_submit(q, 0, GEN_PRIO_INTERACTIVE, &a, &h);
	ok(wait_for(&norder, 1, 5000), "first attempt ran");
	gen_queue_submit(q, 1, GEN_PRIO_INTERACTIVE, &blocker[0], &h);
	ok(wait_for(&finished_n, 2, 5000), "both finished");
	pthread_mutex_lock(&mu);
	int64_t gap = attempt_at[20][1] - attempt_at[20][0];
	is_int(order[1], 21, "another job ran during the retry wait");
	pthread_mutex_unlock(&mu);
	ok(gap >= 400 && gap < 1500, "retry waited for Retry-After (%lld ms)", (long long)gap);
	gen_queue_free(q);
}

/* Running short of descriptors spends no attempt, up to GEN_SPARED_MAX per job. */
static void test_spared(void)
{
	static struct job a, b, c;
	struct gen_job *h;
	struct gen_queue *q;
	int64_t t0;

	reset(true);
	q = make(2, 4, 100, 2, 5);
	a = (struct job){ .id = 30, .short_times = 6 };			 /* ok at attempt 7 */
	b = (struct job){ .id = 31, .fail_times = 1, .short_times = 4 }; /* 1 + 4 spared, ok */
	c = (struct job){ .id = 32, .short_times = 1000 };		 /* never enough */
	t0 = now_ms();
	gen_queue_submit(q, 0, GEN_PRIO_INTERACTIVE, &a, &h);
	gen_queue_submit(q, 1, GEN_PRIO_INTERACTIVE, &b, &h);
	gen_queue_submit(q, 2, GEN_PRIO_INTERACTIVE, &c, &h);
	ok(wait_for(&finished_n, 3, 20000), "three jobs finished");
	diag("%u attempts with short backoffs took %lld ms", 7 + 6 + 2 + GEN_SPARED_MAX,
	     (long long)(now_ms() - t0));
	ok(finished_err[30] == 0 && finished_attempts[30] == 7,
	   "6 attempts short of descriptors did not use up retries = 2 (made at attempt %u)",
	   finished_attempts[30]);
	ok(finished_err[31] == 0 && finished_attempts[31] == 6,
	   "an ordinary failure still counts, the shortages do not (attempt %u)",
	   finished_attempts[31]);
	ok(finished_err[32] == -EMFILE && finished_attempts[32] == 2 + GEN_SPARED_MAX,
	   "a shortage that never ends stops after %u attempts (2 + %d spared)",
	   finished_attempts[32], GEN_SPARED_MAX);
	gen_queue_free(q);
}

static void test_cancel_and_bound(void)
{
	static struct job jobs[4];
	struct gen_job *h[4];
	struct gen_queue *q;
	struct gen_queue_stats st;

	reset(false);
	q = make(1, 4, 2, 1, 10);
	for (int i = 0; i < 4; i++)
		jobs[i] = (struct job){ .id = 30 + i };
	gen_queue_submit(q, 0, GEN_PRIO_PREFETCH, &jobs[0], &h[0]);
	ok(wait_for(&norder, 1, 5000), "job 30 running");
	is_int(gen_queue_submit(q, 1, GEN_PRIO_PREFETCH, &jobs[1], &h[1]), 0, "queued 31");
	is_int(gen_queue_submit(q, 2, GEN_PRIO_PREFETCH, &jobs[2], &h[2]), 0, "queued 32");
	is_int(gen_queue_submit(q, 3, GEN_PRIO_PREFETCH, &jobs[3], &h[3]), -EAGAIN,
	       "a full queue says EAGAIN");
	gen_queue_stats(q, &st);
	is_int(st.queued, 2, "two queued");
	is_int(st.running, 1, "one running");
	ok(!gen_queue_cancel(q, h[0]), "a running job is not cancelled");
	ok(gen_queue_cancel(q, h[1]), "a queued job is");
	gen_queue_stats(q, &st);
	is_int(st.queued, 1, "it left the queue at once");
	is_int((int)st.cancelled, 1, "and is counted as cancelled");
	gen_queue_promote(q, h[2]); /* the list it left is intact */
	open_gate();
	ok(wait_for(&finished_n, 2, 5000), "the rest finished");
	gen_queue_free(q);
	is_int(finished_calls[31], 0, "finished() is never called for a cancelled job");
	is_int(finished_calls[30] + finished_calls[32], 2, "the others finished once each");
}

/*
 * A job whose finished() is under way is out of every list: promote and
 * cancel must leave it alone (a caller may still hold its pointer until
 * finished() clears it). At shutdown the queued jobs are in that state.
 */
static void test_cancel_while_finishing(void)
{
	static struct job jobs[3];
	struct gen_job *h[3];
	struct gen_queue *q;

	reset(false);
	q = make(1, 4, 8, 1, 10);
	for (int i = 0; i < 3; i++)
		jobs[i] = (struct job){ .id = 50 + i };
	gen_queue_submit(q, 0, GEN_PRIO_PREFETCH, &jobs[0], &h[0]);
	ok(wait_for(&norder, 1, 5000), "job 50 running");
	gen_queue_submit(q, 1, GEN_PRIO_PREFETCH, &jobs[1], &h[1]);
	gen_queue_submit(q, 2, GEN_PRIO_PREFETCH, &jobs[2], &h[2]);
	hook_q = q;
	hook_job = h[1];
	hook_id = 51;
	gen_queue_free(q); /* 51 and 52 finish with ESHUTDOWN; the hook opens the gate */
	hook_id = -1;
	ok(hook_ran, "finished() of 51 ran the hook");
	ok(!hook_cancelled, "cancel during finished() says no");
	is_int(finished_err[51], -ESHUTDOWN, "51 finished with ESHUTDOWN");
	is_int(finished_calls[51], 1, "once");
	is_int(finished_calls[52], 1, "52, behind it, finished once too");
	is_int(finished_calls[50], 1, "and the running job once");
}

/*
 * A parked job holds no worker and spends no attempt; it runs again when
 * unparked, and an unpark that comes while its run is still under way is
 * not lost. A parked job is finished at shutdown.
 */
static void test_park(void)
{
	static struct job jobs[4];
	struct gen_job *h[4];
	struct gen_queue_stats st;
	struct gen_queue *q;

	reset(true);
	q = make(1, 4, 16, 1, 10);
	jobs[0] = (struct job){ .id = 40, .park_times = 1 };
	jobs[1] = (struct job){ .id = 41 };
	gen_queue_submit(q, 0, GEN_PRIO_PREFETCH, &jobs[0], &h[0]);
	gen_queue_submit(q, 1, GEN_PRIO_PREFETCH, &jobs[1], &h[1]);
	ok(wait_for(&finished_n, 1, 5000) && finished_calls[41] == 1,
	   "a parked job frees the only worker: the next one runs");
	gen_queue_stats(q, &st);
	ok(st.parked == 1 && st.running == 0 && st.queued == 0, "one job parked (%zu)", st.parked);
	is_int(finished_calls[40], 0, "not finished");
	gen_queue_unpark(q, h[0]);
	ok(wait_for(&finished_n, 2, 5000) && finished_err[40] == 0, "unparked, it runs and ends");
	is_int((int)finished_attempts[40], 1, "the park spent no attempt (max_attempts = 1)");
	jobs[2] = (struct job){ .id = 42, .park_times = 1, .self_q = q };
	gen_queue_submit(q, 0, GEN_PRIO_PREFETCH, &jobs[2], &jobs[2].self);
	ok(wait_for(&finished_n, 3, 5000) && finished_err[42] == 0,
	   "an unpark during the run that parks is not lost");
	jobs[3] = (struct job){ .id = 43, .park_times = 1 };
	gen_queue_submit(q, 0, GEN_PRIO_PREFETCH, &jobs[3], &h[3]);
	for (int64_t t0 = now_ms(); now_ms() - t0 < 5000;) {
		gen_queue_stats(q, &st);
		if (st.parked == 1)
			break;
	}
	gen_queue_free(q);
	is_int(finished_err[43], -ESHUTDOWN, "a job parked at shutdown is finished: ESHUTDOWN");
}

static void test_stress(void)
{
	enum { N = 2000 };
	static struct job jobs[N];
	struct gen_job *h;
	struct gen_queue *q;
	int submitted = 0;

	/*
	 * The gate stays shut while submitting and promoting: a handle is only
	 * valid until its job finishes, and no job can finish before the gate
	 * opens.
	 */
	reset(false);
	q = make(6, 2, N, 2, 1);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct job){ .id = i, .fail_times = i % 7 == 0 ? 1 : 0 };
		if (gen_queue_submit(q, (size_t)(i % 4),
				     i % 3 ? GEN_PRIO_PREFETCH : GEN_PRIO_INTERACTIVE, &jobs[i],
				     &h) == 0) {
			submitted++;
			if (i % 5 == 0)
				gen_queue_promote(q, h);
		}
	}
	open_gate();
	ok(wait_for(&finished_n, submitted, 60000), "stress: %d jobs finished", submitted);
	int bad = 0;

	for (int i = 0; i < N; i++)
		bad += finished_err[i] != 0;
	is_int(bad, 0, "stress: every job succeeded (with retries)");
	ok(max_running <= 6, "never more than 6 running (%d)", max_running);
	gen_queue_free(q);
}

int main(void)
{
	test_priority();
	test_group_limit();
	test_retries();
	test_spared();
	test_cancel_and_bound();
	test_cancel_while_finishing();
	test_park();
	test_stress();
	return done_testing();
}
