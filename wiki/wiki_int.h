/* SPDX-License-Identifier: MIT */
/*
 * The engine's internals, shared by the files of wiki/ and by nothing
 * else: the state behind struct wiki, and what each file offers the others
 * (a file calls only those listed before it; see wiki.c).
 *
 * Locking. w->lock protects the engine's state: every field marked
 * "w->lock" below. Lock order:
 *
 *   w->lock
 *     -> the generation queue's lock (gen_queue_submit, _promote, _cancel,
 *        _foreach, _stats are called with w->lock held)
 *     -> the page cache's lock (page_cache_lookup, _remove likewise)
 *     -> the sync work queue's lock (workq_submit)
 *   wrepo.facts_lock: a leaf, never taken with w->lock held nor held
 *     while taking it; held across facts_load() (reading the clone).
 *
 * None of these calls back into the engine with its lock held (the queue
 * runs job callbacks unlocked), so the order has no way back. w->lock is
 * held across no network transfer, clone, claim, generation or page write
 * (a lookup's stat and a remove's unlink are the only file system calls
 * under it), nor across a callback, with one exception: the error event
 * raised when the budget refuses a page (wiki_page_submit_locked), which
 * fs/ only logs.
 *
 * Ownership. struct wiki owns its repositories (an array of nrepos, fixed
 * for its life), every live page array (w->arrays) and the error ring. A
 * page array is freed by whoever drops its last reference: the repository
 * (a newer plan installed), a job (job_finished, or wiki_cancel for a job
 * it took) or a struct wiki_page reference (wiki_page_unref); wiki_free()
 * frees those left.
 */
#ifndef WIKIFS_WIKI_INT_H
#define WIKIFS_WIKI_INT_H

#include <pthread.h>

#include "clone_cache.h"
#include "facts.h"
#include "page_manifest.h"
#include "wiki.h"
#include "workq.h"

struct wrepo;

/*
 * One page of one plan; its public handle is struct wiki_page (wiki.h).
 * repo, array, pp, pages_plan, recipe and key are set when its array is
 * made and never change: they are read without a lock. The recipe names the
 * page at every commit (its manifest's key); the key, its entry at this one.
 */
struct wpage {
	struct wrepo *repo;
	struct page_array *array;   /* the array it lives in */
	const struct plan_page *pp; /* in pages_plan */
	struct plan *pages_plan;    /* the plan this page belongs to (a reference) */
	struct page_key recipe;
	struct page_key key;
	/* the rest: w->lock */
	/*
	 * The job in flight for the key, or NULL. At most one page per key has
	 * one (single-flight): every page with a job is in w->flights, and a
	 * page of the same key joins that page's job (see wiki_flight_owner()).
	 */
	struct gen_job *job;
	struct wpage *flight_next; /* chain in w->flights while job is set */
	bool running;
	bool found;	       /* the job found the page made by another process */
	bool reused;	       /* the job reused the page made at another commit */
	bool remake;	       /* retry asked: its next job generates, never reuses */
	char stale_commit[41]; /* served as made at this commit until made at its own; or "" */
	bool failed;	       /* the last attempt failed; cleared when a new job starts */
	int64_t failed_at;
	unsigned attempts;
	char *error;
	struct wiki_waiter *waiters; /* only while job is set */
};

/*
 * The pages of one plan of a repository (a version). References: the
 * repository's current array holds one, every job in flight one, every
 * wiki_page reference one; the last one frees it, so a version outlives a
 * refresh exactly as long as a job or an open file uses it.
 */
struct page_array {
	struct wrepo *repo;		/* immutable */
	struct page_array *prev, *next; /* every live array, in w->arrays: w->lock */
	size_t refs;			/* w->lock */
	size_t n;			/* immutable */
	struct wpage pages[];
};

/* A configured repository. w, idx, cr and id_url never change. */
struct wrepo {
	struct wiki *w;
	size_t idx;
	const struct conf_repo *cr;
	char *id_url; /* cr->url without its password: the identity of pages and plans */
	/* w->lock: */
	enum wiki_repo_state state;
	bool busy;	       /* a sync task is queued or running */
	bool refresh_pending;  /* fetch again when the running sync ends */
	bool prefetch_pending; /* prefetch everything once planned */
	char commit[41];
	char git_dir[4096];
	struct plan *plan;
	struct page_array *pages; /* the current array: holds a reference */
	int err;
	int64_t failed_at;
	char *error;
	int64_t last_sync_ms;
	struct wiki_waiter *waiters;
	uint64_t tokens_in, tokens_out, generated, reused, calls; /* counters */
	/* atomics, written by the clone cache during a sync */
	struct clone_progress prog;
	/* facts of the current commit, loaded lazily by workers */
	pthread_mutex_t facts_lock;
	struct repo_facts *facts; /* facts_lock */
};

struct err_line {
	int64_t time_ms; /* wall clock */
	char *what, *msg;
};

#define WIKI_ERRORS_MAX	    256
#define WIKI_FLIGHT_BUCKETS 4096

struct wiki {
	/* set by wiki_new(), read-only after */
	const struct conf *c;
	const struct backend_ops *ops;
	void *bstate;
	struct wiki_events ev;
	struct clone_cache *cc;
	struct page_cache *pc;
	struct gen_queue *q;
	struct workq *syncq;
	pthread_t housekeeper;
	bool housekeeper_started;
	int64_t started_ms;
	size_t nrepos;
	struct wrepo *repos;

	pthread_mutex_t lock;
	pthread_cond_t hk_cond; /* wakes the housekeeper (stopping); with lock */
	/* lock: */
	bool stopping;
	struct page_array *arrays;		    /* every live page array, current or not */
	struct wpage *flights[WIKI_FLIGHT_BUCKETS]; /* pages with a job, by key */
	struct err_line errors[WIKI_ERRORS_MAX];
	size_t errors_next, errors_total;
	uint64_t generated, reused, cache_hits, failed, calls, tokens;
	uint64_t finished_times_n; /* for the rate: completions in the window */
	int64_t first_finish_ms, last_finish_ms;
};

/*
 * waiter.c: waiter lists. All but wiki_waiter_notify() with w->lock held.
 * The caller checks wt->cancelled before attaching.
 */
void wiki_waiter_attach(struct wiki_waiter **list, struct wiki_waiter *wt);
/* Moves all waiters of @list to a private chain for wiki_waiter_notify(). */
struct wiki_waiter *wiki_waiter_take(struct wiki_waiter **list);
/* Moves all waiters of @list in front of the private chain @head; returns it. */
struct wiki_waiter *wiki_waiter_chain(struct wiki_waiter *head, struct wiki_waiter **list);
/* Answers every waiter of a private chain with @err. w->lock not held. */
void wiki_waiter_notify(struct wiki_waiter *head, int err);

/* errors.c: failures remembered. */
/* Adds a line to the ring (.wikifs/errors). w->lock held. */
void wiki_error_note_locked(struct wiki *w, const char *what, const char *msg);
/* Raises the error event (the log). Takes no engine lock. */
void wiki_error_emit(struct wiki *w, const char *what, const char *msg);
/* Both records of a failure: the ring and the log. w->lock not held. */
void wiki_error_report(struct wiki *w, const char *what, const char *msg);
/* Whether a failure at @failed_at is within failure_backoff still. No lock. */
bool wiki_error_fresh(const struct wiki *w, int64_t failed_at);
/* Frees the ring's lines (wiki_free). */
void wiki_error_done(struct wiki *w);

/* budget.c: calls and tokens, all with w->lock held. */
/* True, and why in @why, when max_calls or token_budget is used up. */
bool wiki_budget_exhausted_locked(struct wiki *w, char *why, size_t n);
/* Counts one model call of repository @r, before it is made. */
void wiki_budget_charge_locked(struct wiki *w, struct wrepo *r);
/* Counts the tokens a call of repository @r used. */
void wiki_budget_spend_locked(struct wiki *w, struct wrepo *r, const struct gen_usage *usage);

/* flight.c: one job per page key. All with w->lock held. */
/* The page whose job is in flight for @p's key (maybe @p), or NULL. */
struct wpage *wiki_flight_owner(struct wiki *w, struct wpage *p);
/* @p owns @job now, the flight of its key. */
void wiki_flight_start(struct wiki *w, struct wpage *p, struct gen_job *job);
/* The job left @p (finished, or taken by gen_queue_cancel()). */
void wiki_flight_end(struct wiki *w, struct wpage *p);
/* Chains the waiters of every page with a job in front of @head (shutdown). */
struct wiki_waiter *wiki_flight_waiters_take(struct wiki *w, struct wiki_waiter *head);

/* page.c: page arrays, and the state of a page. */
/* "REPO/SLUG.md", for messages. No lock. */
void wiki_page_path(const struct wpage *p, char *out, size_t n);
/* A new array for @plan with one reference (the repository's), listed. w->lock held. */
struct page_array *wiki_page_array_new(struct wrepo *r, struct plan *plan);
/*
 * Drops a reference to @a (NULL is fine); w->lock held. Returns @a,
 * unlisted, when that was the last one: the caller frees it with
 * wiki_page_array_free() once unlocked.
 */
struct page_array *wiki_page_array_put_locked(struct wiki *w, struct page_array *a);
/* Frees an array that is unlisted already (no lock needed). NULL is fine. */
void wiki_page_array_free(struct page_array *a);
/* The page @slug of @r's current array, or NULL. w->lock held. */
struct wpage *wiki_page_find_locked(struct wrepo *r, const char *slug);
/* The state of @p; w->lock held. */
enum wiki_page_state wiki_page_state_locked(struct wiki *w, struct wpage *p);
/*
 * Submits or joins the job of @p's key, attaching @wt (NULL: none); a job
 * takes a reference to @p's array. 1 = queued or joined; -EINTR (@wt
 * detached already), -EIO (failed recently), -EDQUOT, -EAGAIN (queue
 * full). w->lock held.
 */
int wiki_page_submit_locked(struct wiki *w, struct wpage *p, enum gen_prio prio,
			    struct wiki_waiter *wt);
/* Queues every page of @r's current array that is neither ready nor in flight. w->lock held. */
void wiki_page_prefetch_all_locked(struct wiki *w, struct wrepo *r);

/* repo.c: repositories, sync and plans. */
/* Sets up w->repos[@idx] (zeroed) from the configuration; wiki_repo_done() undoes it. */
int wiki_repo_init(struct wiki *w, size_t idx, struct wf_err *err);
void wiki_repo_done(struct wrepo *r);
/*
 * The facts of @commit with a reference (facts_unref it), loaded if the
 * repository's are of another commit; NULL with @err on failure. Takes
 * facts_lock: w->lock not held.
 */
struct repo_facts *wiki_repo_facts_get(struct wrepo *r, const char *git_dir, const char *commit,
				       struct wf_err *err);
/* Starts a sync task (CLONE_* @flags) unless one runs. w->lock held. */
int wiki_repo_sync_locked(struct wiki *w, struct wrepo *r, unsigned flags);

/* job.c: the generation queue's callbacks, with struct wiki as their context. */
extern const struct gen_queue_ops wiki_job_ops;

#endif
