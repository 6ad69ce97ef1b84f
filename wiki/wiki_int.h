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
 *   wrepo.facts_lock: never taken with w->lock held nor held while
 *     taking it; held across facts_load() (reading the clone).
 *     -> w->facts_open_lock: a leaf, held across facts_open(): one
 *        repository's facts are computed at a time, whatever the number
 *        of workers (each load maps the packs and holds its symbols: two
 *        at once would double the daemon's peak; and they share 2 cores).
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
#include "metrics.h"
#include "wiki.h"
#include "workq.h"

struct wrepo;
struct wversion;
struct wiki_fleet;
struct cJSON;

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
	bool parked;	       /* its job waits for another host's (fleet.c) */
	bool urgent;	       /* someone waits for it: interactive, here or in the fleet */
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
	char *label;			/* "REPO@REF"; NULL: the main view. immutable */
	struct page_array *prev, *next; /* every live array, in w->arrays: w->lock */
	size_t refs;			/* w->lock */
	struct xrepo *group;		/* a group's analysis the keys were made from: immutable */
	int64_t commit_time;		/* of its plan's commit; set before it is shown */
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
	bool versions_running; /* the task that runs (busy) is the versions task */
	bool main_pending;     /* a sync asked while the versions task ran */
	bool versions_pending; /* versions to resolve or re-resolve: run the versions task */
	bool branches_moved;   /* a fetch came: branch versions resolve again */
	char commit[41];
	int64_t commit_time; /* committer time of @commit, 0 if unknown */
	char head[256];	     /* the branch the remote HEAD named (no configured ref) */
	char git_dir[4096];
	struct plan *plan;
	struct page_array *pages; /* the current array: holds a reference */
	struct xrepo *group;	  /* a group's analysis, installed with its plan */
	int err;
	int64_t failed_at;
	char *error;
	int64_t last_sync_ms;
	struct wiki_waiter *waiters;
	uint64_t tokens_in, tokens_out, generated, reused, calls; /* counters */
	/* citations of the pages this mount generated, verified or not */
	uint64_t citations_verified, citations_unresolved;
	/* the version directories asked for (REPO@REF), see version.c */
	struct wversion *versions;
	size_t nversions;
	int64_t ref_fetch_ms; /* the last fetch made for a ref not in the clone */
	uint64_t ref_fetches; /* how many such fetches */
	/* atomics, written by the clone cache during a sync */
	struct clone_progress prog;
	/* serialises loading this repository's facts (w->facts_lru holds them) */
	pthread_mutex_t facts_lock;
};

struct err_line {
	int64_t time_ms; /* wall clock */
	char *what, *msg;
};

#define WIKI_ERRORS_MAX	    256
#define WIKI_FLIGHT_BUCKETS 4096
#define WIKI_FACTS_KEPT	    2 /* facts held in memory, whole mount */

struct wiki {
	/* set by wiki_new(), read-only after */
	const struct conf *c;
	const struct backend_ops *ops;
	void *bstate;
	struct wiki_events ev;
	struct clone_cache *cc;
	struct page_cache *pc;
	struct gen_queue *q;
	struct wiki_fleet *fleet; /* the shared store tier, NULL without one */
	struct workq *syncq;
	workq_fn version_task; /* wiki_version_task: repo.c starts it, version.c is above it */
	pthread_t housekeeper;
	bool housekeeper_started;
	int64_t started_ms;
	size_t nrepos;
	struct wrepo *repos;
	/* the facts last used (on disk otherwise); its own lock, a leaf */
	struct facts_lru *facts_lru;
	pthread_mutex_t facts_open_lock; /* see the lock order above */

	pthread_mutex_t lock;
	pthread_cond_t hk_cond; /* wakes the housekeeper (stopping); with lock */
	/* lock: */
	bool stopping;
	struct page_array *arrays;		    /* every live page array, current or not */
	struct wpage *flights[WIKI_FLIGHT_BUCKETS]; /* pages with a job, by key */
	struct wversion *dropped; /* versions dropped, for the housekeeper to tell (version.c) */
	struct err_line errors[WIKI_ERRORS_MAX];
	size_t errors_next, errors_total;
	uint64_t generated, reused, cache_hits, failed, calls, tokens;
	uint64_t finished_times_n; /* for the rate: completions in the window */
	int64_t first_finish_ms, last_finish_ms;
	struct wiki_metrics metrics; /* clone times, errors by class, the rate's window */
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
/* The page whose job is in flight for key @k, or NULL. */
struct wpage *wiki_flight_find(struct wiki *w, const struct page_key *k);

/*
 * fleet.c: the shared store tier. w->lock not held by callers; it takes
 * w->lock (then the queue's lock) itself, and its own leaf lock.
 */
enum {
	FLEET_OFF = 2, /* no store configured: generate as ever */
	FLEET_LOCAL,   /* the store is away: generate here, upload later */
	FLEET_CLAIMED, /* this host runs the fleet's job: generate, then finish */
	FLEET_FOUND,   /* the page came from the store, committed and pinned */
};
/* Sets up the tier if configured (store = postgresql); fails open when unreachable. */
int wiki_fleet_new(struct wiki *w, struct wf_err *err);
void wiki_fleet_stop(struct wiki *w); /* joins the store thread */
void wiki_fleet_free(struct wiki *w); /* after the workers are gone */
/*
 * An attempt's store step, on a worker: FLEET_* above (*@attempt is the
 * claim's for FLEET_CLAIMED), GEN_RUN_PARKED (another host runs the job),
 * or -errno with @gerr (it failed in the fleet for good).
 */
int wiki_fleet_acquire(struct wiki *w, struct wpage *p, int *attempt, struct gen_err *gerr);
/*
 * After a generation that wiki_fleet_acquire() let run (@claimed: its
 * attempt, 0 if local): stores @page (@ret 0) or gives the claim back,
 * failed for the fleet when not retryable or this was @attempt = the last.
 */
void wiki_fleet_finish(struct wiki *w, struct wpage *p, int claimed, int ret, unsigned attempt,
		       const struct gen_err *gerr, const struct buf *page);
/*
 * A page made again on request ("retry"), without asking the store: @page
 * replaces the store's copy, so that hosts that fetch it later get it too.
 */
void wiki_fleet_replace(struct wiki *w, struct wpage *p, const struct buf *page);
/*
 * Reuse across the fleet, on a worker that claimed @p's job (@claimed, its
 * attempt) after no local manifest matched: the manifests other hosts
 * stored for @p's recipe are matched against @src; on a match the page is
 * fetched from the store, committed (pinned) as @p's, and stored under
 * @p's key, which ends the job. 1 when reused, 0 otherwise (store away, no
 * match): then the claim is still held, to generate.
 */
struct page_source;
int wiki_fleet_reuse(struct wiki *w, struct wpage *p, const struct page_source *src, int claimed);
void wiki_fleet_report_text(struct wiki *w, struct buf *out);
void wiki_fleet_report_json(struct wiki *w, struct cJSON *root);

/* group.c: a group of repositories (conf_repo.group). */
/*
 * One sync of group @g: brings every member up to date (clone or fetch,
 * @flags as clone_cache_sync()), analyses them and plans the group's pages.
 * Sets *@plan, *@x (a reference each) and @res->commit (the members'
 * commits, hashed). Blocking; w->lock not held. 0 or -errno with @err set.
 */
int wiki_group_sync(struct wiki *w, struct wrepo *g, unsigned flags, struct plan **plan,
		    struct xrepo **x, struct clone_result *res, struct wf_err *err);
/* What identifies a group page in place of a commit: the digest of what it shows. */
void wiki_group_page_digest(const struct xrepo *x, const struct plan *plan,
			    const struct plan_page *pp, char out[65]);

/* page.c: page arrays, and the state of a page. */
/* "REPO/SLUG.md" (or "REPO@REF/SLUG.md"), for messages. No lock. */
void wiki_page_path(const struct wpage *p, char *out, size_t n);
/*
 * A new array for @plan with one reference (its owner's), listed; @label
 * "REPO@REF" for a version (copied), NULL for the main view. w->lock held.
 */
struct page_array *wiki_page_array_new(struct wrepo *r, struct plan *plan, const char *label);
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
/* Queues every page of @a (NULL is fine) neither ready nor in flight. w->lock held. */
void wiki_page_prefetch_all_locked(struct wiki *w, struct page_array *a);

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
/*
 * The plan of @commit: from the plan cache, else computed (and cached).
 * Blocks on the clone (and the LLM planner): w->lock not held.
 */
int wiki_repo_load_plan(struct wiki *w, struct wrepo *r, const char *git_dir, const char *commit,
			struct plan **plan, struct wf_err *err);
/*
 * One sync task per repository at a time, on the sync work queue: a sync
 * of the main view (CLONE_* @flags) or, with WIKI_SYNC_VERSIONS, the
 * versions task (version.c). Asked while another runs, it is remembered
 * and started when that one ends (wiki_repo_next_locked). w->lock held.
 */
#define WIKI_SYNC_VERSIONS (1u << 16)
int wiki_repo_sync_locked(struct wiki *w, struct wrepo *r, unsigned flags);
/* The sync task of @r ended (r->busy cleared): starts what was asked meanwhile. w->lock held. */
void wiki_repo_next_locked(struct wiki *w, struct wrepo *r);

/*
 * version.c: version directories, REPO@REF. The versions task resolves
 * the versions asked for (one fetch at most per failure_backoff for refs
 * the clone lacks), plans and installs them, re-resolves branches after a
 * fetch of the main view (branches_moved), and drops the least recently
 * used beyond max_versions. repo.c starts it through w->version_task.
 */
void wiki_version_task(void *data); /* a workq task; @data a struct wiki_sync_task */
/* Chains every version waiter of @r in front of @head (shutdown). w->lock held. */
struct wiki_waiter *wiki_version_waiters_take(struct wrepo *r, struct wiki_waiter *head);
/* Frees the versions of @r (wiki_free, after the sync queue: arrays go with w->arrays). */
void wiki_version_free_all(struct wrepo *r);
/*
 * Raises version_dropped (if @tell) for each version of the chain @gone
 * (taken from w->dropped) and frees them. No lock held: the housekeeper
 * calls it (and wiki_free(), not telling).
 */
void wiki_version_dropped_notify(struct wiki *w, struct wversion *gone, bool tell);
/* The versions of @r for the reports, as a cJSON array (void *: no cJSON here). w->lock held. */
void *wiki_version_report_locked(struct wiki *w, struct wrepo *r);

/* A task of the sync work queue: a repository and CLONE_* / WIKI_SYNC_* flags. */
struct wiki_sync_task {
	struct wrepo *r;
	unsigned flags;
};

/* job.c: the generation queue's callbacks, with struct wiki as their context. */
extern const struct gen_queue_ops wiki_job_ops;

/*
 * control.c: drops the queued jobs of @a's pages (@slug NULL = all) that
 * nobody waits for; arrays whose last reference went with them are chained
 * (through ->next, unlisted) in front of @dead, returned. w->lock held.
 */
struct page_array *wiki_cancel_array_locked(struct wiki *w, struct page_array *a, const char *slug,
					    struct page_array *dead);
/* Frees a chain of unlisted arrays (wiki_cancel_array_locked()); no lock. */
void wiki_page_arrays_free(struct page_array *dead);

#endif
