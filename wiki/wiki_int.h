/* SPDX-License-Identifier: MIT */
/*
 * Internals of struct wiki shared by wiki.c and report.c only.
 *
 * Locking: w->lock protects repository and page state, waiter lists, the
 * error ring and the counters marked so. Lock order: w->lock, then the
 * queue's lock (gen_queue_promote/cancel) or the page cache's lock. A
 * repository's facts_lock is taken by workers without w->lock held.
 */
#ifndef WIKIFS_WIKI_INT_H
#define WIKIFS_WIKI_INT_H

#include <pthread.h>

#include "clone_cache.h"
#include "facts.h"
#include "wiki.h"
#include "workq.h"

struct wrepo;

/* One page of one plan; its public handle is struct wiki_page (wiki.h). */
struct wpage {
	struct wrepo *repo;
	struct page_array *array;   /* the array it lives in */
	const struct plan_page *pp; /* in pages_plan */
	struct plan *pages_plan;    /* the plan this page belongs to (a reference) */
	struct page_key key;
	/*
	 * The job in flight for the key, or NULL. At most one page per key has
	 * one (single-flight): every page with a job is in w->flights, and a
	 * page of the same key joins that page's job (see flight_owner()).
	 */
	struct gen_job *job;
	struct wpage *flight_next; /* chain in w->flights while job is set */
	bool running;
	bool found;  /* the job found the page made by another process */
	bool failed; /* the last attempt failed; cleared when a new job starts */
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
	struct wrepo *repo;
	struct page_array *prev, *next; /* every live array, in w->arrays */
	size_t refs;			/* protected by w->lock */
	size_t n;
	struct wpage pages[];
};

struct wrepo {
	struct wiki *w;
	size_t idx;
	const struct conf_repo *cr;
	char *id_url; /* cr->url without its password: the identity of pages and plans */
	enum wiki_repo_state state;
	bool busy;	       /* a sync task is queued or running */
	bool refresh_pending;  /* fetch again when the running sync ends */
	bool prefetch_pending; /* prefetch everything once planned */
	char commit[41];
	char git_dir[4096];
	struct plan *plan;
	struct page_array *pages;
	int err;
	int64_t failed_at;
	char *error;
	int64_t last_sync_ms;
	struct wiki_waiter *waiters;
	struct clone_progress prog; /* atomics */
	/* counters, protected by w->lock */
	uint64_t tokens_in, tokens_out, generated, calls;
	/* facts of the current commit, loaded lazily by workers */
	pthread_mutex_t facts_lock;
	struct repo_facts *facts; /* protected by facts_lock */
};

struct err_line {
	int64_t time_ms; /* wall clock */
	char *what, *msg;
};

#define WIKI_ERRORS_MAX	    256
#define WIKI_FLIGHT_BUCKETS 4096

struct wiki {
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
	pthread_cond_t hk_cond;
	int64_t started_ms;

	pthread_mutex_t lock;
	/* protected by lock */
	bool stopping;
	size_t nrepos;
	struct wrepo *repos;
	struct page_array *arrays;		    /* every live page array, current or not */
	struct wpage *flights[WIKI_FLIGHT_BUCKETS]; /* pages with a job, by key */
	struct err_line errors[WIKI_ERRORS_MAX];
	size_t errors_next, errors_total;
	uint64_t generated, cache_hits, failed, calls, tokens;
	uint64_t finished_times_n; /* for the rate: completions in the window */
	int64_t first_finish_ms, last_finish_ms;
};

/* The state of @p; w->lock held. */
enum wiki_page_state wiki_page_state_locked(struct wiki *w, struct wpage *p);

#endif
