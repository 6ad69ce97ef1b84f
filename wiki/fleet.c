/* SPDX-License-Identifier: MIT */
/*
 * The shared store tier (store = postgresql): between the local page cache
 * and generation. A worker's attempt first asks the store
 * (wiki_fleet_acquire): a stored page is verified and written to the local
 * cache; a job nobody runs is claimed and generated here, its page stored
 * for the fleet (wiki_fleet_finish) with its manifest; a job another host
 * runs parks the local job (GEN_RUN_PARKED), which then holds no worker.
 * A claimed job is first matched against the manifests other hosts stored
 * for its recipe (wiki_fleet_reuse): reused across commits fleet-wide, its
 * page fetched, verified, stored under the new key, the job ended; a page
 * the store has needs no such look.
 *
 * The store thread (fleet_main) does the rest, never a FUSE thread: it
 * LISTENs for the fleet's changes and polls the parked keys as a backup,
 * unparking a job when its key needs action (page stored, job failed, or
 * claimable: a lease that expired because its host died); renews the
 * leases of the jobs running here; promotes a local prefetch job whose
 * page someone in the fleet waits for; uploads the pages made while the
 * store was away; and keeps the store's size for the progress file.
 *
 * Fail open: a store that cannot be reached (at mount or later) marks the
 * tier down; attempts then generate locally at once, parked jobs are
 * unparked to do so, and the pages they make are queued for upload. The
 * thread pings until the store is back, says so, and uploads them.
 *
 * Locking: f->lock is a leaf (nothing is taken while it is held). Parked
 * and urgent marks live in struct wpage under w->lock; unparking and
 * promoting take w->lock, then the queue's lock, as everywhere.
 */
#include "wiki_int.h"
#include "page_manifest.h"
#include "store.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define FLEET_PENDING_MAX 65536 /* pages waiting for the store to come back */
#define FLEET_BATCH_MAX	  4096	/* keys in one poll */
#define FLEET_POLL_MS	  1000
#define FLEET_MANIFESTS	  8 /* another host's manifests tried for a reuse */

enum fleet_state { FLEET_UP, FLEET_DOWN, FLEET_DISABLED };
static const char *const fleet_state_names[] = { "up", "unreachable", "disabled" };

struct fleet_held {
	char key[SHA256_HEX];
	int attempt;
};

/* A page made while the store was away, its recipe (for its manifest), remade on request. */
struct fleet_pending {
	struct page_key key, recipe;
	bool replace; /* made again on request: replaces the store's copy */
};

struct wiki_fleet {
	struct wiki *w;
	struct store *s;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* lock: */
	bool stopping;
	bool schema_ok;
	enum fleet_state state;
	int64_t down_since_ms;
	char error[512];
	struct fleet_held *held;
	size_t nheld, held_cap;
	struct fleet_pending *pending;
	size_t npending, pending_cap;
	size_t uploading; /* taken off pending, not yet stored */
	struct store_size size;
	bool size_known;
	uint64_t hits, claims, parks, uploads, fenced, local, remote_failed, dropped, reused;
};

/* The tier's state, f->lock taken. */
static bool fleet_usable(struct wiki_fleet *f)
{
	bool up;

	pthread_mutex_lock(&f->lock);
	up = f->state == FLEET_UP;
	pthread_mutex_unlock(&f->lock);
	return up && store_up(f->s);
}

/* Grows @arr (of @size-byte items) to hold one more; false when out of memory or at @max. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
	void *v;
	size_t want = *cap ? *cap * 2 : 64;

	if (n < *cap)
		return true;
	if (n >= max || !(v = realloc(*arr, want * size)))
		return false;
	*arr = v;
	*cap = want;
	return true;
}

static void pending_add(struct wiki_fleet *f, const struct page_key *key,
			const struct page_key *recipe, bool replace)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->npending; i++) {
		if (!strcmp(f->pending[i].key.hex, key->hex)) {
			f->pending[i].replace |= replace;
			goto out_unlock;
		}
	}
	if (grow((void **)&f->pending, &f->pending_cap, f->npending, sizeof(*f->pending),
		 FLEET_PENDING_MAX))
		f->pending[f->npending++] = (struct fleet_pending){ *key, *recipe, replace };
	else
		f->dropped++;
out_unlock:
	pthread_mutex_unlock(&f->lock);
}

static void held_set(struct wiki_fleet *f, const char *key, int attempt, bool on)
{
	pthread_mutex_lock(&f->lock);
	if (on && grow((void **)&f->held, &f->held_cap, f->nheld, sizeof(*f->held), SIZE_MAX)) {
		memcpy(f->held[f->nheld].key, key, SHA256_HEX);
		f->held[f->nheld++].attempt = attempt;
	}
	for (size_t i = 0; !on && i < f->nheld; i++) {
		if (!strcmp(f->held[i].key, key) && f->held[i].attempt == attempt) {
			f->held[i] = f->held[--f->nheld];
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

/* A store call failed: noted for the progress file; the thread sees it down. */
static void fleet_note(struct wiki_fleet *f, const struct wf_err *err)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->error, sizeof(f->error), "%s", err->msg);
	pthread_mutex_unlock(&f->lock);
}

int wiki_fleet_acquire(struct wiki *w, struct wpage *p, int *attempt, struct gen_err *gerr)
{
	struct wiki_fleet *f = w->fleet;
	struct store_acquired a;
	struct wf_err err;
	struct buf page;
	bool urgent;
	int r;

	*attempt = 0;
	if (!f)
		return FLEET_OFF;
	if (!fleet_usable(f)) {
		pthread_mutex_lock(&f->lock);
		f->local++;
		pthread_mutex_unlock(&f->lock);
		return FLEET_LOCAL;
	}
	pthread_mutex_lock(&w->lock);
	urgent = p->urgent;
	pthread_mutex_unlock(&w->lock);
	buf_init(&page, PAGE_MAX_BYTES);
	r = store_acquire(f->s, p->key.hex, urgent ? 0 : 1, &page, &a, &err);
	if (r < 0) {
		buf_done(&page);
		fleet_note(f, &err);
		pthread_mutex_lock(&f->lock);
		f->local++;
		pthread_mutex_unlock(&f->lock);
		return FLEET_LOCAL; /* fail open: made here, uploaded when the store is back */
	}
	switch (a.outcome) {
	case STORE_FOUND:
		r = page_cache_commit(w->pc, &p->key, page.data, page.len);
		buf_done(&page);
		if (r < 0) {
			gerr->retryable = false;
			return wf_err_set(&gerr->e, r, "cannot write the page cache: %s",
					  strerror(-r));
		}
		pthread_mutex_lock(&w->lock);
		p->found = true; /* pinned by the commit, as a page another process made */
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_lock(&f->lock);
		f->hits++;
		pthread_mutex_unlock(&f->lock);
		return FLEET_FOUND;
	case STORE_CLAIMED:
		buf_done(&page);
		*attempt = a.attempt;
		held_set(f, p->key.hex, a.attempt, true);
		pthread_mutex_lock(&f->lock);
		f->claims++;
		pthread_mutex_unlock(&f->lock);
		return FLEET_CLAIMED;
	case STORE_BUSY:
		buf_done(&page);
		pthread_mutex_lock(&w->lock);
		p->parked = true;
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_lock(&f->lock);
		f->parks++;
		pthread_mutex_unlock(&f->lock);
		return GEN_RUN_PARKED;
	case STORE_FAILED:
		break;
	}
	buf_done(&page);
	pthread_mutex_lock(&f->lock);
	f->remote_failed++;
	pthread_mutex_unlock(&f->lock);
	gerr->retryable = false;
	return wf_err_set(&gerr->e, -EIO, "failed in the fleet: %s",
			  *a.detail ? a.detail : "no cause given");
}

/*
 * What the page @key of @recipe (made here and recorded) was made from, for
 * the fleet: its recipe's result holding it, so a host that never saw it
 * can reuse it at another commit. Best effort: without it, other hosts
 * generate.
 */
static void fleet_manifest_put(struct wiki_fleet *f, const struct page_key *key,
			       const struct page_key *recipe)
{
	struct wf_err err;
	struct buf b;

	buf_init(&b, PAGE_MANIFEST_MAX);
	if (page_manifest_entry_text(f->w->pc, recipe, key, &b) == 0 &&
	    store_manifest_put(f->s, recipe->hex, key->hex, b.data, b.len, &err) < 0)
		fleet_note(f, &err);
	buf_done(&b);
}

/*
 * Stores a page made here, with its manifest: for its claim (@attempt), or
 * as an upload (0), or in place of the store's copy (@replace: made again
 * on request). Kept for later when the store cannot take it.
 */
static void fleet_upload(struct wiki_fleet *f, const struct page_key *key,
			 const struct page_key *recipe, int attempt, bool replace, const void *data,
			 size_t len)
{
	struct wf_err err;
	int r = replace ? store_replace(f->s, key->hex, data, len, &err)
			: store_complete(f->s, key->hex, attempt, data, len, &err);

	if (r < 0) {
		fleet_note(f, &err);
		pending_add(f, key, recipe, replace);
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->uploads++;
	f->fenced += attempt > 0 && r == 0; /* our lease had expired: another attempt runs */
	pthread_mutex_unlock(&f->lock);
	fleet_manifest_put(f, key, recipe);
}

struct fleet_reuse {
	struct wiki *w;
	struct wpage *p;
	const struct page_source *src;
	int claimed; /* the job's attempt held here */
};

/*
 * One manifest of another host's (@data): when a result matches this
 * page's tree and its page is in the store, the page is committed under
 * this page's key, recorded locally, and stored under that key. 1 when
 * reused, 0 to try the next, 2 to give up (a failure, noted if the store's).
 */
static int fleet_reuse_one(void *arg, const char *key, const void *data, size_t len)
{
	struct fleet_reuse *fr = arg;
	struct wiki_fleet *f = fr->w->fleet;
	struct page_manifest m;
	struct wf_err err;
	struct buf page;
	int i, r;

	(void)key; /* the result's own entry names the page */
	if (page_manifest_decode(&m, &fr->p->recipe, data, len) < 0)
		return 0; /* not this recipe's manifest: never believed */
	i = page_manifest_match(&m, fr->src);
	if (i < 0) {
		page_manifest_done(&m);
		return i == -ENOENT ? 0 : 2;
	}
	buf_init(&page, PAGE_MAX_BYTES);
	r = store_page_get(f->s, m.results[i].entries[0].hex, &page, &err);
	if (r < 0)
		fleet_note(f, &err);
	if (r == 1)
		r = page_cache_commit(fr->w->pc, &fr->p->key, page.data, page.len) ?: 1;
	if (r != 1) {
		buf_done(&page);
		page_manifest_done(&m);
		return r < 0 ? 2 : 0; /* a failure ends the search: made here */
	}
	page_manifest_adopt(fr->w->pc, &fr->p->recipe, &m.results[i], &fr->p->key);
	/* ends the job */
	fleet_upload(f, &fr->p->key, &fr->p->recipe, fr->claimed, false, page.data, page.len);
	buf_done(&page);
	page_manifest_done(&m);
	return 1;
}

int wiki_fleet_reuse(struct wiki *w, struct wpage *p, const struct page_source *src, int claimed)
{
	struct fleet_reuse fr = { w, p, src, claimed };
	struct wiki_fleet *f = w->fleet;
	struct wf_err err;
	int r;

	if (!f || !fleet_usable(f))
		return 0;
	r = store_manifest_list(f->s, p->recipe.hex, p->key.hex, FLEET_MANIFESTS, fleet_reuse_one,
				&fr, &err);
	if (r < 0)
		fleet_note(f, &err);
	if (r != 1)
		return 0;
	held_set(f, p->key.hex, claimed, false);
	pthread_mutex_lock(&f->lock);
	f->reused++;
	pthread_mutex_unlock(&f->lock);
	return 1;
}

void wiki_fleet_finish(struct wiki *w, struct wpage *p, int claimed, int ret, unsigned attempt,
		       const struct gen_err *gerr, const struct buf *page)
{
	struct wiki_fleet *f = w->fleet;
	struct wf_err err;
	bool failed;

	if (!f)
		return;
	if (claimed)
		held_set(f, p->key.hex, claimed, false);
	if (ret == 0) {
		if (fleet_usable(f))
			fleet_upload(f, &p->key, &p->recipe, claimed, false, page->data, page->len);
		else
			pending_add(f, &p->key, &p->recipe, false);
		return;
	}
	if (!claimed)
		return;
	/* permanent for every waiter: not retryable, or this host's last attempt */
	failed = !gerr->budget && (!gerr->retryable || attempt >= w->c->retries);
	if (store_release(f->s, p->key.hex, claimed, failed, gerr->e.msg,
			  gerr->budget ? 0 : MIN(500u << MIN(attempt, 6u), 30000u), &err) < 0)
		fleet_note(f, &err); /* the lease expires: another host takes it */
}

void wiki_fleet_replace(struct wiki *w, struct wpage *p, const struct buf *page)
{
	struct wiki_fleet *f = w->fleet;

	if (!f)
		return;
	if (fleet_usable(f))
		fleet_upload(f, &p->key, &p->recipe, 0, true, page->data, page->len);
	else
		pending_add(f, &p->key, &p->recipe, true); /* replaces it when the store is back */
}

/* The page with a job for the hex @key, or NULL (a malformed key too). w->lock held. */
static struct wpage *flight_of(struct wiki *w, const char *key)
{
	struct page_key k;

	if (strlen(key) != SHA256_HEX - 1)
		return NULL;
	memcpy(k.hex, key, SHA256_HEX);
	return wiki_flight_find(w, &k);
}

/*
 * A notification: a key whose job changed (unparked here if parked), or
 * "c:KEY", a job claimed elsewhere (parked here if queued, so that no
 * worker spends a round trip to find it busy).
 */
static void notified(void *arg, const char *payload)
{
	struct wiki *w = arg;
	bool claimed = !strncmp(payload, "c:", 2);
	struct wpage *p;

	pthread_mutex_lock(&w->lock);
	p = flight_of(w, claimed ? payload + 2 : payload);
	if (p && claimed && !p->parked && !p->running) {
		p->parked = gen_queue_park(w->q, p->job);
	} else if (p && !claimed && p->parked) {
		p->parked = false;
		gen_queue_unpark(w->q, p->job);
	}
	pthread_mutex_unlock(&w->lock);
}

static void promote_one(void *arg, const char *key)
{
	struct wiki *w = arg;
	struct wpage *p;

	pthread_mutex_lock(&w->lock);
	p = flight_of(w, key);
	if (p && !p->urgent) {
		p->urgent = true;
		gen_queue_promote(w->q, p->job);
	}
	pthread_mutex_unlock(&w->lock);
}

/*
 * The keys of local jobs: parked ones (@parked), or queued at prefetch
 * priority (!@parked). Returns how many were copied to @keys (at most
 * FLEET_BATCH_MAX, each SHA256_HEX bytes).
 */
static size_t flight_keys(struct wiki *w, bool parked, char (*keys)[SHA256_HEX])
{
	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t b = 0; b < WIKI_FLIGHT_BUCKETS && n < FLEET_BATCH_MAX; b++)
		for (struct wpage *p = w->flights[b]; p && n < FLEET_BATCH_MAX; p = p->flight_next)
			if (parked ? p->parked : !p->parked && !p->running && !p->urgent)
				memcpy(keys[n++], p->key.hex, SHA256_HEX);
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* Asks the store about the parked keys (@parked) or the prefetch ones. */
static void fleet_poll(struct wiki_fleet *f, bool parked)
{
	char(*keys)[SHA256_HEX] = malloc(FLEET_BATCH_MAX * SHA256_HEX);
	const char **v = malloc(FLEET_BATCH_MAX * sizeof(*v));
	struct wf_err err;
	size_t n = keys && v ? flight_keys(f->w, parked, keys) : 0;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		v[i] = keys[i];
	if (n && parked)
		r = store_actionable(f->s, v, n, notified, f->w, &err);
	else if (n)
		r = store_urgent(f->s, v, n, promote_one, f->w, &err);
	if (r < 0)
		fleet_note(f, &err);
	free(keys);
	free(v);
}

/* Renews the leases of the jobs running here. */
static void fleet_extend(struct wiki_fleet *f)
{
	const char **keys = NULL;
	int *atts = NULL;
	struct fleet_held *copy = NULL;
	struct wf_err err;
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nheld;
	if (n && (copy = malloc(n * sizeof(*copy))))
		memcpy(copy, f->held, n * sizeof(*copy));
	pthread_mutex_unlock(&f->lock);
	if (!copy)
		return;
	keys = malloc(n * sizeof(*keys));
	atts = malloc(n * sizeof(*atts));
	for (size_t i = 0; keys && atts && i < n; i++) {
		keys[i] = copy[i].key;
		atts[i] = copy[i].attempt;
	}
	if (keys && atts && store_extend(f->s, keys, atts, n, &err) < 0)
		fleet_note(f, &err);
	free(keys);
	free(atts);
	free(copy);
}

/* Uploads up to @max pages made while the store was away. */
static void fleet_upload_pending(struct wiki_fleet *f, size_t max)
{
	for (size_t i = 0; i < max && fleet_usable(f); i++) {
		_cleanup_free_ char *data = NULL;
		struct fleet_pending pe;
		size_t len;

		pthread_mutex_lock(&f->lock);
		if (!f->npending) {
			pthread_mutex_unlock(&f->lock);
			return;
		}
		pe = f->pending[--f->npending];
		f->uploading++;
		pthread_mutex_unlock(&f->lock);
		/* evicted meanwhile: nothing to give */
		if (page_cache_read(f->w->pc, &pe.key, PAGE_MAX_BYTES, &data, &len) == 0)
			fleet_upload(f, &pe.key, &pe.recipe, 0, pe.replace, data, len);
		pthread_mutex_lock(&f->lock);
		f->uploading--;
		pthread_mutex_unlock(&f->lock);
	}
}

/* Unparks every parked job (the store went away: they generate locally). */
static void unpark_all(struct wiki *w)
{
	pthread_mutex_lock(&w->lock);
	for (size_t b = 0; b < WIKI_FLIGHT_BUCKETS; b++)
		for (struct wpage *p = w->flights[b]; p; p = p->flight_next)
			if (p->parked) {
				p->parked = false;
				gen_queue_unpark(w->q, p->job);
			}
	pthread_mutex_unlock(&w->lock);
}

/* The tier's state changes, said in the log and .wikifs/errors. */
static void fleet_set_state(struct wiki_fleet *f, enum fleet_state st, const char *why)
{
	char msg[1024];
	enum fleet_state was;

	pthread_mutex_lock(&f->lock);
	was = f->state;
	f->state = st;
	if (st == FLEET_DOWN && was != FLEET_DOWN)
		f->down_since_ms = now_ms();
	if (why)
		snprintf(f->error, sizeof(f->error), "%s", why);
	pthread_mutex_unlock(&f->lock);
	if (st == was)
		return;
	if (st == FLEET_UP)
		snprintf(msg, sizeof(msg), "reachable again (%s): pages are shared again",
			 store_describe(f->s));
	else if (st == FLEET_DOWN)
		snprintf(msg, sizeof(msg), "unreachable, generating locally until it is back: %s",
			 why ? why : "?");
	else
		snprintf(msg, sizeof(msg), "disabled, generating locally: %s", why ? why : "?");
	wiki_error_report(f->w, "store", msg);
	if (st != FLEET_UP)
		unpark_all(f->w);
}

/* Reaches the store: the schema once, then a listener. 0, or -errno with @err. */
static int fleet_connect(struct wiki_fleet *f, struct store_listener **l, struct wf_err *err)
{
	bool schema_ok;
	int r;

	pthread_mutex_lock(&f->lock);
	schema_ok = f->schema_ok;
	pthread_mutex_unlock(&f->lock);
	r = schema_ok ? store_ping(f->s, err) : store_schema_init(f->s, err);
	if (r == -EPROTONOSUPPORT || r == -EPROTO) {
		fleet_set_state(f, FLEET_DISABLED, err->msg);
		return r;
	}
	if (r == 0) {
		pthread_mutex_lock(&f->lock);
		f->schema_ok = true;
		pthread_mutex_unlock(&f->lock);
		r = store_listener_new(l, f->s, err);
	}
	return r;
}

static void fleet_size(struct wiki_fleet *f)
{
	struct store_size sz;
	struct wf_err err;

	if (store_size(f->s, &sz, &err) < 0) {
		fleet_note(f, &err);
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->size = sz;
	f->size_known = true;
	pthread_mutex_unlock(&f->lock);
}

static bool fleet_stopping(struct wiki_fleet *f, int64_t wait_ms)
{
	bool stop;

	pthread_mutex_lock(&f->lock);
	if (!f->stopping && wait_ms > 0) {
		struct timespec ts = deadline_ts(now_ms() + wait_ms);

		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	stop = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return stop;
}

/* One round with the store reachable: notifications, then what is due. */
static int fleet_round(struct wiki_fleet *f, struct store_listener *l, int64_t *due)
{
	int64_t now;
	int r = store_listener_wait(l, 250, notified, f->w);

	if (r < 0)
		return r;
	now = now_ms();
	if (now >= due[0]) { /* the backup of NOTIFY, and the leases that expired */
		fleet_poll(f, true);
		due[0] = now + FLEET_POLL_MS;
	}
	if (now >= due[1]) {
		fleet_extend(f);
		due[1] = now + (int64_t)f->w->c->store_lease * 1000 / 3;
	}
	if (now >= due[2]) {
		fleet_size(f);
		fleet_poll(f, false); /* prefetch jobs someone in the fleet waits for */
		due[2] = now + 2000;
	}
	fleet_upload_pending(f, 64);
	return store_up(f->s) ? 0 : -ENOTCONN;
}

static void *fleet_main(void *data)
{
	struct wiki_fleet *f = data;
	struct store_listener *l = NULL;
	int64_t due[3] = { 0, 0, 0 }, backoff = 500;
	struct wf_err err;

	while (!fleet_stopping(f, 0)) {
		bool disabled;

		pthread_mutex_lock(&f->lock);
		disabled = f->state == FLEET_DISABLED;
		pthread_mutex_unlock(&f->lock);
		if (disabled) {
			fleet_stopping(f, 60000);
			continue;
		}
		if (!l && fleet_connect(f, &l, &err) < 0) {
			if (!fleet_stopping(f, 0))
				fleet_set_state(f, FLEET_DOWN, err.msg);
			fleet_stopping(f, backoff);
			backoff = MIN(backoff * 2, 5000);
			continue;
		}
		backoff = 500;
		fleet_set_state(f, FLEET_UP, NULL);
		if (fleet_round(f, l, due) < 0) {
			store_listener_free(l); /* reconnect; down if that fails */
			l = NULL;
		}
	}
	store_listener_free(l);
	return NULL;
}

/* "hostname:pid": who holds a claim, in the job table. */
static void host_id(char *out, size_t n)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
		snprintf(host, sizeof(host), "localhost");
	snprintf(out, n, "%s:%ld", host, (long)getpid());
}

int wiki_fleet_new(struct wiki *w, struct wf_err *err)
{
	const struct conf *c = w->c;
	char *conninfo;
	struct wiki_fleet *f;
	char id[300];
	struct store_opts o = {
		.timeout_ms = c->store_timeout * 1000,
		.lease_s = c->store_lease,
		.failed_s = c->failure_backoff,
		.host_id = id,
	};
	int r;

	if (c->store != CONF_STORE_POSTGRESQL)
		return 0;
	conninfo = getenv(c->store_conninfo_env);
	if (!conninfo || !*conninfo)
		return wf_err_set(err, -EINVAL,
				  "store = postgresql: the environment variable '%s' "
				  "(store_conninfo_env) is not set",
				  c->store_conninfo_env);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	host_id(id, sizeof(id));
	o.conninfo = conninfo;
	f->w = w;
	pthread_mutex_init(&f->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	w->fleet = f; /* wiki_fleet_free() undoes what follows */
	r = store_new(&f->s, &o, err);
	/*
	 * The store holds its own copy (or refused the string): the secret
	 * leaves this process's environment, so /proc/PID/environ (ps e) shows
	 * the variable blank and no child (clone helper, generator command)
	 * inherits it.
	 */
	explicit_bzero(conninfo, strlen(conninfo));
	if (r < 0)
		return r;
	/* at mount: the schema, or fail open (the thread keeps trying) */
	r = store_schema_init(f->s, err);
	if (r == 0)
		f->schema_ok = true;
	else
		fleet_set_state(f,
				r == -EPROTONOSUPPORT || r == -EPROTO ? FLEET_DISABLED : FLEET_DOWN,
				err->msg);
	wf_err_clear(err);
	r = -pthread_create(&f->thread, NULL, fleet_main, f);
	f->started = r == 0;
	if (r < 0)
		return wf_err_set(err, r, "cannot start the store thread: %s", strerror(-r));
	return 0;
}

void wiki_fleet_stop(struct wiki *w)
{
	struct wiki_fleet *f = w->fleet;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->thread, NULL);
	f->started = false;
}

void wiki_fleet_free(struct wiki *w)
{
	struct wiki_fleet *f = w->fleet;

	if (!f)
		return;
	wiki_fleet_stop(w);
	store_free(f->s);
	free(f->held);
	free(f->pending);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
	w->fleet = NULL;
}

/* What the reports show of the tier, copied under f->lock. */
struct fleet_view {
	enum fleet_state state;
	int64_t down_since_ms;
	char error[512];
	struct store_size size;
	bool size_known;
	size_t npending;
	uint64_t hits, claims, parks, uploads, fenced, local, remote_failed, reused;
};

static void fleet_view(struct wiki_fleet *f, struct fleet_view *v)
{
	pthread_mutex_lock(&f->lock);
	v->state = f->state;
	v->down_since_ms = f->down_since_ms;
	memcpy(v->error, f->error, sizeof(v->error));
	v->size = f->size;
	v->size_known = f->size_known;
	v->npending = f->npending + f->uploading;
	v->hits = f->hits;
	v->claims = f->claims;
	v->parks = f->parks;
	v->uploads = f->uploads;
	v->fenced = f->fenced;
	v->local = f->local;
	v->remote_failed = f->remote_failed;
	v->reused = f->reused;
	pthread_mutex_unlock(&f->lock);
}

void wiki_fleet_report_text(struct wiki *w, struct buf *out)
{
	struct fleet_view c;
	char since[64] = "";

	if (!w->fleet)
		return;
	fleet_view(w->fleet, &c);
	if (c.state == FLEET_DOWN)
		snprintf(since, sizeof(since), " for %llds, generating locally",
			 (long long)(now_ms() - c.down_since_ms) / 1000);
	buf_printf(out, "store:  postgresql %s: %s%s\n", store_describe(w->fleet->s),
		   fleet_state_names[c.state], since);
	if (c.state != FLEET_UP && *c.error)
		buf_printf(out, "  error: %s\n", c.error);
	if (c.size_known)
		buf_printf(out,
			   "  %llu pages, %.1f MiB (%.1f MiB on disk); %llu open jobs, %llu "
			   "running\n",
			   (unsigned long long)c.size.pages, (double)c.size.bytes / 1048576.0,
			   (double)c.size.disk_bytes / 1048576.0,
			   (unsigned long long)c.size.jobs_open,
			   (unsigned long long)c.size.jobs_running);
	buf_printf(out,
		   "  here: %llu found, %llu claimed, %llu parked, %llu uploaded, %llu to "
		   "upload, %llu made locally\n\n",
		   (unsigned long long)c.hits, (unsigned long long)c.claims,
		   (unsigned long long)c.parks, (unsigned long long)c.uploads,
		   (unsigned long long)c.npending, (unsigned long long)c.local);
}

void wiki_fleet_report_json(struct wiki *w, cJSON *root)
{
	struct fleet_view c;
	cJSON *o;

	if (!w->fleet)
		return;
	fleet_view(w->fleet, &c);
	o = cJSON_AddObjectToObject(root, "store");
	cJSON_AddStringToObject(o, "kind", "postgresql");
	cJSON_AddStringToObject(o, "where", store_describe(w->fleet->s));
	cJSON_AddStringToObject(o, "state", fleet_state_names[c.state]);
	cJSON_AddStringToObject(o, "error", c.state == FLEET_UP ? "" : c.error);
	cJSON_AddNumberToObject(o, "pages", (double)c.size.pages);
	cJSON_AddNumberToObject(o, "bytes", (double)c.size.bytes);
	cJSON_AddNumberToObject(o, "disk_bytes", (double)c.size.disk_bytes);
	cJSON_AddNumberToObject(o, "jobs_open", (double)c.size.jobs_open);
	cJSON_AddNumberToObject(o, "jobs_running", (double)c.size.jobs_running);
	cJSON_AddNumberToObject(o, "found", (double)c.hits);
	cJSON_AddNumberToObject(o, "claimed", (double)c.claims);
	cJSON_AddNumberToObject(o, "parked", (double)c.parks);
	cJSON_AddNumberToObject(o, "uploaded", (double)c.uploads);
	cJSON_AddNumberToObject(o, "fenced", (double)c.fenced);
	cJSON_AddNumberToObject(o, "pending_uploads", (double)c.npending);
	cJSON_AddNumberToObject(o, "made_locally", (double)c.local);
	cJSON_AddNumberToObject(o, "failed_in_fleet", (double)c.remote_failed);
	cJSON_AddNumberToObject(o, "reused", (double)c.reused);
}
