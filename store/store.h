/* SPDX-License-Identifier: MIT */
/*
 * The shared page store: PostgreSQL (libpq, in this module only) holding
 * verified pages and a job table with leases, so a fleet of mounts makes
 * each page once. The engine (wiki/) drives it; fs/ never sees it.
 *
 * Pages are keyed by an opaque key string (the hex of the page cache key;
 * the store knows nothing of its composition). A page is stored with its
 * length and SHA-256 and verified on the way back.
 *
 * Jobs (fleet-wide single-flight): store_acquire() joins or inserts the
 * job of a key (INSERT ... ON CONFLICT) and claims it with SELECT ... FOR
 * UPDATE SKIP LOCKED when nobody runs it, in one server-side function;
 * a claimed job carries an attempt number (the fence) and a lease that
 * store_extend() renews; store_complete() stores the page (first writer
 * wins: ON CONFLICT DO NOTHING) and ends the job if the attempt is still
 * the current one; store_release() gives a job back (retryable, with a
 * delay) or fails it for every waiter (permanent, with the cause). Each
 * change is announced by NOTIFY on channel "wikifs" with the key as the
 * payload, and each claim with "c:KEY"; a struct store_listener receives
 * them.
 *
 * The connection string is a secret: it is never shown. store_describe()
 * gives "host=... port=... dbname=... user=..." (from PQconninfoParse) and
 * every message this module makes has the password scrubbed out.
 *
 * Bounded: every round trip has a deadline (@timeout_ms); a connection
 * that misses it is dropped and the store is marked down, after which the
 * page calls fail at once (-ENOTCONN) until store_ping() succeeds again,
 * so a dead or slow store costs the fleet at most one deadline per thread.
 *
 * Thread-safety: a struct store is thread-safe (a pool of connections,
 * one per concurrent caller). A struct store_listener is one connection
 * for one thread.
 */
#ifndef WIKIFS_STORE_H
#define WIKIFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The schema version this build creates and understands. */
#define STORE_SCHEMA_VERSION 1

struct store;
struct store_listener;

struct store_opts {
	const char *conninfo; /* libpq URI or key=value string: a secret */
	const char *host_id;  /* who claims, for the job table: "hostname:pid" */
	unsigned timeout_ms;  /* deadline of one round trip (and of a connect) */
	unsigned lease_s;     /* a claimed job's lease */
	unsigned failed_s;    /* a failed job is tried again after this long */
};

/*
 * Parses @o->conninfo (no connection yet). -EINVAL with @err (password
 * scrubbed) when it does not parse. Copies what it needs of @o.
 */
int store_new(struct store **ret, const struct store_opts *o, struct wf_err *err);
void store_free(struct store *s); /* NULL is fine */

/* "host=H port=P dbname=D user=U": what the store is, never its password. */
const char *store_describe(const struct store *s);

/*
 * Creates the schema, or upgrades an older one, under an advisory lock
 * (many mounts may start at once). -EPROTONOSUPPORT with a clear @err
 * when the store's schema is newer than this build's.
 */
int store_schema_init(struct store *s, struct wf_err *err);

/* Whether the last round trip reached the store. */
bool store_up(struct store *s);
/* Tries the store now (a connect if needed, a trivial query). 0 or -errno. */
int store_ping(struct store *s, struct wf_err *err);

enum store_outcome {
	STORE_FOUND,   /* the page is in the store: in @page, verified */
	STORE_CLAIMED, /* this host runs the job now: attempt in @attempt */
	STORE_BUSY,    /* another host runs it (or it waits its retry delay) */
	STORE_FAILED,  /* failed for good on some host: the cause in @detail */
};

struct store_acquired {
	enum store_outcome outcome;
	int attempt;
	char detail[512];
};

/*
 * Finds the page of @key, or joins its job at priority @prio (0 outranks
 * 1) and claims it when nobody runs it. On STORE_FOUND the verified
 * content is appended to @page (a corrupt row is deleted and the page
 * treated as absent). 0 with @a filled, or -errno with @err.
 */
int store_acquire(struct store *s, const char *key, int prio, struct buf *page,
		  struct store_acquired *a, struct wf_err *err);

/*
 * Stores the page of @key in place of the one stored (a page made again on
 * request: "retry"), its job done, and NOTIFYs the key. 0 or -errno.
 */
int store_replace(struct store *s, const char *key, const void *data, size_t len,
		  struct wf_err *err);

/*
 * Stores the page of @key (first writer wins) and marks its job done if
 * @attempt still holds it (0: no claim, e.g. a page made while the store
 * was away: its job is marked done, whoever runs it). Returns 1 when the
 * job was ended by this call, 0 when it was not (fenced, or no job).
 */
int store_complete(struct store *s, const char *key, int attempt, const void *data, size_t len,
		   struct wf_err *err);

/*
 * Gives the job back if @attempt still holds it: @failed ends it for every
 * waiter with @cause; otherwise it is queued again, claimable after
 * @delay_ms.
 */
int store_release(struct store *s, const char *key, int attempt, bool failed, const char *cause,
		  unsigned delay_ms, struct wf_err *err);

/* Renews the leases of the @n jobs (@keys, @attempts) held here. Returns how many. */
int store_extend(struct store *s, const char *const *keys, const int *attempts, size_t n,
		 struct wf_err *err);

/*
 * Of the @n @keys, those a parked waiter should act on now (page present,
 * job done, failed, claimable or gone): @fn is called for each. Returns
 * how many, or -errno.
 */
int store_actionable(struct store *s, const char *const *keys, size_t n,
		     void (*fn)(void *arg, const char *key), void *arg, struct wf_err *err);

/* Of the @n @keys, those whose job is wanted interactively somewhere. */
int store_urgent(struct store *s, const char *const *keys, size_t n,
		 void (*fn)(void *arg, const char *key), void *arg, struct wf_err *err);

/*
 * Fleet-wide reuse (page_manifest.h): the manifest of one page, keyed by its
 * recipe and page key (hex), stored once (first writer wins).
 */
int store_manifest_put(struct store *s, const char *recipe, const char *key, const void *data,
		       size_t len, struct wf_err *err);
/*
 * Calls @fn with the page key and manifest of each of the @max newest
 * manifests of @recipe until it returns nonzero; with none when the page
 * of @key is stored already (store_acquire() finds it). Returns what @fn
 * returned last (0 when there was none), or -errno.
 */
int store_manifest_list(struct store *s, const char *recipe, const char *key, size_t max,
			int (*fn)(void *arg, const char *key, const void *data, size_t len),
			void *arg, struct wf_err *err);
/*
 * The page of @key, verified, appended to @page, without joining its job:
 * 1, 0 when absent (or corrupt, then deleted), or -errno.
 */
int store_page_get(struct store *s, const char *key, struct buf *page, struct wf_err *err);

struct store_size {
	uint64_t pages, bytes; /* pages stored and their content bytes */
	uint64_t disk_bytes;   /* the pages table on disk, TOAST and indexes included */
	uint64_t jobs_open;    /* queued or running */
	uint64_t jobs_running; /* of them, running */
	int schema_version;
};
int store_size(struct store *s, struct store_size *sz, struct wf_err *err);

/* Removes pages not used for @days days and finished jobs as old. */
int store_prune(struct store *s, unsigned days, uint64_t *pages, uint64_t *bytes,
		struct wf_err *err);

/* A connection that LISTENs on the store's channel, for one thread. */
int store_listener_new(struct store_listener **ret, struct store *s, struct wf_err *err);
void store_listener_free(struct store_listener *l); /* NULL is fine */
/*
 * Waits up to @timeout_ms for notifications and calls @fn with each
 * payload: a key whose job changed, or "c:" and the key of a job claimed.
 * Returns how many, 0 on timeout, or -errno (the connection is lost: free
 * it and make a new one later).
 */
int store_listener_wait(struct store_listener *l, int timeout_ms,
			void (*fn)(void *arg, const char *key), void *arg);

/* Scrubs @s's password out of the text @msg (a buffer of @size bytes). */
void store_scrub(const struct store *s, char *msg, size_t size);

#endif
