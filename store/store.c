/* SPDX-License-Identifier: MIT */
/*
 * The one libpq module. Connections are made with PQconnectStartParams and
 * driven with poll(2) against a deadline, queries are sent with
 * PQsendQueryParams on non-blocking connections and read the same way, so
 * no call here waits longer than the store's timeout, however slow or dead
 * the server. Idle connections wait in a small pool; one that failed or
 * missed a deadline is closed, never reused. A failure to reach the server
 * marks the store down: calls then fail at once until store_ping() reaches
 * it again (the engine's store thread pings), so a store that went away
 * costs each worker at most one deadline.
 *
 * Secrets: the password (parsed out of the connection string once) is
 * scrubbed from every message this module returns, and URL userinfo is
 * redacted as everywhere else (core/url.h).
 */
#include "store.h"
#include "schema.h"
#include "sha256.h"
#include "url.h"
#include "util.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define POOL_IDLE_MAX 32

struct pgconn {
	PGconn *c;
	struct pgconn *next;
	bool bad; /* failed or missed a deadline: closed, not pooled */
};

struct store {
	char *conninfo; /* the secret */
	char *secret;	/* its password, for scrubbing; NULL if none */
	char *host_id;
	char describe[512];
	unsigned timeout_ms, lease_s, failed_s;
	atomic_bool down;
	pthread_mutex_t lock;
	struct pgconn *idle; /* lock */
	size_t nidle;	     /* lock */
};

struct store_listener {
	struct store *s;
	struct pgconn pc;
};

void store_scrub(const struct store *s, char *msg, size_t size)
{
	char *at;

	if (s && s->secret && *s->secret) {
		size_t n = strlen(s->secret);

		while ((at = strstr(msg, s->secret))) {
			memmove(at + 3, at + n, strlen(at + n) + 1);
			memcpy(at, "***", 3);
		}
	}
	url_redact_text(msg, size);
	/* a key=value string echoed whole: hide what follows "password=" */
	for (at = strstr(msg, "password="); at; at = strstr(at, "password=")) {
		char *v = at + strlen("password="), *end = v + strcspn(v, " \t\n'\"");

		if (end > v) {
			memmove(v + 3, end, strlen(end) + 1);
			memcpy(v, "***", 3);
		}
		at = v;
	}
}

/* Sets @err to @fmt's text, the password scrubbed; returns @code. */
PRINTF(4, 5)
static int store_err(const struct store *s, struct wf_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->msg[strcspn(err->msg, "\n")] = '\0'; /* libpq's detail lines: the first says it */
	store_scrub(s, err->msg, sizeof(err->msg));
	return code;
}

/* The description and the password, from PQconninfoParse. */
static int parse_conninfo(struct store *s, struct wf_err *err)
{
	const char *host = "", *port = "", *db = "", *user = "";
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(s->conninfo, &perr);

	if (!opts) {
		store_err(s, err, -EINVAL, "the store's connection string does not parse: %s",
			  perr ? perr : "out of memory");
		PQfreemem(perr);
		return -EINVAL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "password"))
			s->secret = strdup(o->val);
		else if (!strcmp(o->keyword, "host") || (!*host && !strcmp(o->keyword, "hostaddr")))
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
		else if (!strcmp(o->keyword, "user"))
			user = o->val;
	}
	snprintf(s->describe, sizeof(s->describe), "host=%s port=%s dbname=%s user=%s",
		 *host ? host : "(default)", *port ? port : "(default)", *db ? db : "(default)",
		 *user ? user : "(default)");
	store_scrub(s, s->describe, sizeof(s->describe));
	PQconninfoFree(opts);
	return 0;
}

int store_new(struct store **ret, const struct store_opts *o, struct wf_err *err)
{
	struct store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->conninfo = strdup(o->conninfo ? o->conninfo : "");
	s->host_id = strdup(o->host_id ? o->host_id : "wikifs");
	s->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	s->lease_s = o->lease_s ? o->lease_s : 60;
	s->failed_s = o->failed_s;
	pthread_mutex_init(&s->lock, NULL);
	if (!s->conninfo || !s->host_id) {
		store_free(s);
		return -ENOMEM;
	}
	r = parse_conninfo(s, err);
	if (r < 0) {
		store_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static void conn_close(struct pgconn *pc)
{
	if (pc)
		PQfinish(pc->c);
	free(pc);
}

void store_free(struct store *s)
{
	if (!s)
		return;
	while (s->idle) {
		struct pgconn *pc = s->idle;

		s->idle = pc->next;
		conn_close(pc);
	}
	if (s->conninfo)
		explicit_bzero(s->conninfo, strlen(s->conninfo));
	if (s->secret)
		explicit_bzero(s->secret, strlen(s->secret));
	free(s->conninfo);
	free(s->secret);
	free(s->host_id);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *store_describe(const struct store *s)
{
	return s->describe;
}

bool store_up(struct store *s)
{
	return !atomic_load(&s->down);
}

/* Waits for @events on @fd until @deadline (monotonic ms). 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)MIN(left, 60000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static void notice_ignore(void *arg, const char *msg)
{
}

/* A new connection, made within the timeout. */
static int conn_open(struct store *s, struct pgconn **ret, struct wf_err *err)
{
	const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *const vals[] = { s->conninfo, "wikifs", NULL };
	int64_t deadline = now_ms() + s->timeout_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pgconn *pc = calloc(1, sizeof(*pc));
	int r = 0;

	if (!pc)
		return -ENOMEM;
	pc->c = PQconnectStartParams(keys, vals, 1);
	if (!pc->c) {
		free(pc);
		return -ENOMEM;
	}
	while (r == 0 && PQstatus(pc->c) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	       st != PGRES_POLLING_FAILED) {
		r = wait_fd(PQsocket(pc->c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			    deadline);
		if (r == 0)
			st = PQconnectPoll(pc->c);
	}
	if (r == 0 && (st != PGRES_POLLING_OK || PQsetnonblocking(pc->c, 1) != 0))
		r = -ECONNREFUSED;
	if (r == 0) /* a notice ("already exists, skipping") is no one's business */
		PQsetNoticeProcessor(pc->c, notice_ignore, NULL);
	if (r < 0) {
		store_err(s, err, r, "cannot connect to the store (%s): %s", s->describe,
			  r == -ETIMEDOUT ? "timed out" : PQerrorMessage(pc->c));
		conn_close(pc);
		return r;
	}
	*ret = pc;
	return 0;
}

/* A pooled connection (or a new one); @fresh: never a pooled one. */
static int conn_get(struct store *s, bool fresh, struct pgconn **ret, struct wf_err *err)
{
	struct pgconn *pc = NULL;

	pthread_mutex_lock(&s->lock);
	if (!fresh && s->idle) {
		pc = s->idle;
		s->idle = pc->next;
		s->nidle--;
	}
	pthread_mutex_unlock(&s->lock);
	if (pc) {
		*ret = pc;
		return 0;
	}
	return conn_open(s, ret, err);
}

static void conn_put(struct store *s, struct pgconn *pc)
{
	if (!pc)
		return;
	if (!pc->bad && PQstatus(pc->c) == CONNECTION_OK &&
	    PQtransactionStatus(pc->c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&s->lock);
		if (s->nidle < POOL_IDLE_MAX) {
			pc->next = s->idle;
			s->idle = pc;
			s->nidle++;
			pc = NULL;
		}
		pthread_mutex_unlock(&s->lock);
	}
	conn_close(pc);
}

/* Reads every result of the query sent on @pc; keeps the last (or the first error). */
static int conn_results(struct store *s, struct pgconn *pc, int64_t deadline, PGresult **out)
{
	PGresult *keep = NULL, *res;
	int r = 0;

	for (;;) {
		while (r == 0 && PQisBusy(pc->c)) {
			r = wait_fd(PQsocket(pc->c), POLLIN, deadline);
			if (r == 0 && !PQconsumeInput(pc->c))
				r = -ECONNRESET;
		}
		if (r < 0)
			break;
		res = PQgetResult(pc->c);
		if (!res)
			break;
		if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR)
			PQclear(res); /* the error is what matters */
		else {
			PQclear(keep);
			keep = res;
		}
	}
	if (r < 0) {
		PQclear(keep);
		return r;
	}
	*out = keep;
	return 0;
}

/*
 * Runs @sql on @pc within the timeout: @n < 0 sends it as a simple query
 * (many statements, no parameters). 0 with *@out, or -errno: -EPROTO for
 * an error the server returned (the connection stays good), -ETIMEDOUT or
 * -ECONNRESET when the store was not reached (the connection is bad).
 */
static int conn_exec(struct store *s, struct pgconn *pc, const char *sql, int n,
		     const char *const *vals, const int *lens, const int *fmts, PGresult **out,
		     struct wf_err *err)
{
	int64_t deadline = now_ms() + s->timeout_ms;
	PGresult *res = NULL;
	int r = 0, f;

	if (!(n < 0 ? PQsendQuery(pc->c, sql)
		    : PQsendQueryParams(pc->c, sql, n, NULL, vals, lens, fmts, 0)))
		r = -ECONNRESET;
	while (r == 0 && (f = PQflush(pc->c)) != 0) {
		r = f < 0 ? -ECONNRESET : wait_fd(PQsocket(pc->c), POLLOUT | POLLIN, deadline);
		if (r == 0 && !PQconsumeInput(pc->c))
			r = -ECONNRESET;
	}
	if (r == 0)
		r = conn_results(s, pc, deadline, &res);
	if (r < 0 || !res) {
		pc->bad = true;
		atomic_store(&s->down, true);
		return store_err(s, err, r < 0 ? r : -ECONNRESET, "the store (%s) %s: %s",
				 s->describe,
				 r == -ETIMEDOUT ? "did not answer in time" : "is gone",
				 r == -ETIMEDOUT ? "timed out" : PQerrorMessage(pc->c));
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_err(s, err, -EPROTO, "the store (%s) refused a query: %s", s->describe,
			  PQresultErrorMessage(res));
		*out = res; /* for the SQLSTATE */
		return -EPROTO;
	}
	*out = res;
	return 0;
}

/*
 * One statement on a pooled connection. A pooled connection that turns out
 * dead (the server restarted) is retried once on a new one. While the
 * store is down only @ping calls try.
 */
static int query(struct store *s, bool ping, const char *sql, int n, const char *const *vals,
		 const int *lens, const int *fmts, PGresult **out, struct wf_err *err)
{
	struct pgconn *pc;
	int r;

	*out = NULL;
	if (!ping && atomic_load(&s->down))
		return store_err(s, err, -ENOTCONN, "the store (%s) is unreachable", s->describe);
	for (int tries = 0; tries < 2; tries++) {
		r = conn_get(s, tries > 0, &pc, err);
		if (r < 0) {
			atomic_store(&s->down, true);
			return r;
		}
		r = conn_exec(s, pc, sql, n, vals, lens, fmts, out, err);
		conn_put(s, pc);
		if (r != -ECONNRESET)
			break;
	}
	if (r == 0 || r == -EPROTO)
		atomic_store(&s->down, false);
	return r;
}

int store_ping(struct store *s, struct wf_err *err)
{
	PGresult *res;
	int r = query(s, true, "SELECT 1", 0, NULL, NULL, NULL, &res, err);

	PQclear(res);
	return r;
}

int store_schema_init(struct store *s, struct wf_err *err)
{
	PGresult *res;
	int r = query(s, true, store_schema_sql, -1, NULL, NULL, NULL, &res, err);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (r == -EPROTO && state && !strcmp(state, STORE_SQLSTATE_NEWER)) {
		const char *v = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		r = store_err(s, err, -EPROTONOSUPPORT,
			      "the store (%s) has schema version %s, newer than this wikifs "
			      "understands (%d): upgrade wikifs, or use another database",
			      s->describe, v ? v : "?", STORE_SCHEMA_VERSION);
	}
	PQclear(res);
	return r;
}

/* Checks a stored page against its length and SHA-256. */
static bool page_verified(const unsigned char *data, size_t len, const char *want_len,
			  const unsigned char *sha, size_t sha_len)
{
	uint8_t got[SHA256_LEN];

	if (sha_len != SHA256_LEN || strtoull(want_len, NULL, 10) != len)
		return false;
	sha256_digest(data, len, got);
	return !memcmp(got, sha, SHA256_LEN);
}

/* A found row: verified into @page (1), or corrupt and deleted (0). */
static int take_page(struct store *s, const char *key, PGresult *res, struct buf *page,
		     struct wf_err *err)
{
	size_t len = 0, sha_len = 0;
	unsigned char *data = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 3), &len);
	unsigned char *sha =
	    PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 5), &sha_len);
	int r = -ENOMEM;

	if (data && sha && page_verified(data, len, PQgetvalue(res, 0, 4), sha, sha_len))
		r = buf_add(page, data, len) < 0 ? -E2BIG : 1;
	else if (data && sha) {
		const char *vals[] = { key };
		PGresult *del;

		/* corrupt in the store: gone, so the page is made again */
		r = query(s, false, "DELETE FROM wikifs_pages WHERE key = $1", 1, vals, NULL, NULL,
			  &del, err);
		PQclear(del);
		r = r < 0 ? r : 0;
	}
	PQfreemem(data);
	PQfreemem(sha);
	return r;
}

static int acquire_once(struct store *s, const char *key, int prio, struct buf *page,
			struct store_acquired *a, struct wf_err *err)
{
	char prio_s[16], lease_s[16], failed_s[16];
	const char *vals[] = { key, s->host_id, prio_s, lease_s, failed_s };
	const char *outcome;
	PGresult *res;
	int r;

	snprintf(prio_s, sizeof(prio_s), "%d", prio);
	snprintf(lease_s, sizeof(lease_s), "%u", s->lease_s);
	snprintf(failed_s, sizeof(failed_s), "%u", s->failed_s);
	r = query(s, false,
		  "SELECT o_outcome, o_attempt, o_detail, o_content, o_len, o_sha "
		  "FROM wikifs_acquire2($1, $2, $3, $4, $5)",
		  5, vals, NULL, NULL, &res, err);
	if (r == 0 && PQntuples(res) != 1)
		r = store_err(s, err, -EPROTO, "the store's wikifs_acquire2() gave no row");
	if (r < 0) {
		PQclear(res);
		return r;
	}
	memset(a, 0, sizeof(*a));
	outcome = PQgetvalue(res, 0, 0);
	a->attempt = atoi(PQgetvalue(res, 0, 1));
	snprintf(a->detail, sizeof(a->detail), "%s", PQgetvalue(res, 0, 2));
	store_scrub(s, a->detail, sizeof(a->detail));
	if (!strcmp(outcome, "found")) {
		a->outcome = STORE_FOUND;
		r = take_page(s, key, res, page, err);
	} else {
		a->outcome = !strcmp(outcome, "claimed")  ? STORE_CLAIMED
			     : !strcmp(outcome, "failed") ? STORE_FAILED
							  : STORE_BUSY;
		r = 1;
	}
	PQclear(res);
	return r;
}

int store_acquire(struct store *s, const char *key, int prio, struct buf *page,
		  struct store_acquired *a, struct wf_err *err)
{
	int r = acquire_once(s, key, prio, page, a, err);

	if (r == 0) /* a corrupt page was deleted: once more, now as a job */
		r = acquire_once(s, key, prio, page, a, err);
	if (r == 0)
		r = store_err(s, err, -EBADMSG, "the store keeps a corrupt copy of the page");
	return r < 0 ? r : 0;
}

/* What a page is stored with: its length as text and its SHA-256; -EFBIG past a bytea's. */
static int page_params(struct store *s, const void *data, size_t len, char n[24],
		       uint8_t sha[SHA256_LEN], struct wf_err *err)
{
	if (len > INT32_MAX)
		return store_err(s, err, -EFBIG, "a page of %zu bytes is too big for the store",
				 len);
	sha256_digest(data, len, sha);
	snprintf(n, 24, "%zu", len);
	return 0;
}

int store_complete(struct store *s, const char *key, int attempt, const void *data, size_t len,
		   struct wf_err *err)
{
	uint8_t sha[SHA256_LEN];
	char att[16], n[24];
	const char *vals[] = { key, att, s->host_id, data, n, (const char *)sha };
	const int lens[] = { 0, 0, 0, (int)len, 0, SHA256_LEN };
	const int fmts[] = { 0, 0, 0, 1, 0, 1 };
	PGresult *res;
	int r = page_params(s, data, len, n, sha, err);

	if (r < 0)
		return r;
	snprintf(att, sizeof(att), "%d", attempt);
	r = query(s, false, "SELECT wikifs_complete($1, $2, $3, $4, $5, $6)", 6, vals, lens, fmts,
		  &res, err);
	if (r == 0)
		r = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return r;
}

int store_replace(struct store *s, const char *key, const void *data, size_t len,
		  struct wf_err *err)
{
	uint8_t sha[SHA256_LEN];
	char n[24];
	const char *vals[] = { key, n, (const char *)sha, data, s->host_id };
	const int lens[] = { 0, 0, SHA256_LEN, (int)len, 0 };
	const int fmts[] = { 0, 0, 1, 1, 0 };
	PGresult *res;
	int r = page_params(s, data, len, n, sha, err);

	if (r < 0)
		return r;
	r = query(s, false,
		  "WITH p AS (INSERT INTO wikifs_pages (key, len, sha256, content, host) "
		  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET "
		  "len = EXCLUDED.len, sha256 = EXCLUDED.sha256, content = EXCLUDED.content, "
		  "host = EXCLUDED.host, created = now(), used = now() RETURNING key), "
		  "j AS (UPDATE wikifs_jobs j SET state = 'done', lease_until = NULL, "
		  "error = NULL, updated = now() FROM p WHERE j.key = p.key) "
		  "SELECT pg_notify('wikifs', key) FROM p",
		  5, vals, lens, fmts, &res, err);
	PQclear(res);
	return r;
}

int store_release(struct store *s, const char *key, int attempt, bool failed, const char *cause,
		  unsigned delay_ms, struct wf_err *err)
{
	char att[16], delay[16], why[512];
	const char *vals[] = { key, att, failed ? "t" : "f", why, delay };
	PGresult *res;
	int r;

	snprintf(att, sizeof(att), "%d", attempt);
	snprintf(delay, sizeof(delay), "%u", delay_ms);
	snprintf(why, sizeof(why), "%s", cause ? cause : "");
	store_scrub(s, why, sizeof(why));
	r = query(s, false, "SELECT wikifs_release($1, $2, $3, $4, $5)", 5, vals, NULL, NULL, &res,
		  err);
	PQclear(res);
	return r;
}

/* "{a,b,c}": a text[] literal of keys (hex: nothing to quote), or NULL. */
static char *array_literal(const char *const *items, size_t n)
{
	struct buf b;

	buf_init(&b, 64 << 20);
	buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s\"%s\"", i ? "," : "", items[i]);
	if (buf_addc(&b, '}') < 0) {
		buf_done(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

int store_extend(struct store *s, const char *const *keys, const int *attempts, size_t n,
		 struct wf_err *err)
{
	_cleanup_free_ char *k = array_literal(keys, n);
	char lease[16];
	struct buf a;
	PGresult *res = NULL;
	int r = -ENOMEM;

	buf_init(&a, 16 << 20);
	buf_addc(&a, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&a, "%s%d", i ? "," : "", attempts[i]);
	buf_addc(&a, '}');
	snprintf(lease, sizeof(lease), "%u", s->lease_s);
	if (k) {
		const char *vals[] = { k, buf_str(&a), lease };

		r = query(s, false,
			  "UPDATE wikifs_jobs j SET lease_until = now() + "
			  "make_interval(secs => $3::integer), updated = now() "
			  "FROM unnest($1::text[], $2::integer[]) AS u(k, a) "
			  "WHERE j.key = u.k AND j.attempt = u.a AND j.state = 'running'",
			  3, vals, NULL, NULL, &res, err);
	}
	if (r == 0)
		r = atoi(PQcmdTuples(res));
	PQclear(res);
	buf_done(&a);
	return r;
}

/* Runs @sql with the keys as $1 and calls @fn with column 0 of each row. */
static int keys_query(struct store *s, const char *sql, const char *const *keys, size_t n,
		      void (*fn)(void *arg, const char *key), void *arg, struct wf_err *err)
{
	_cleanup_free_ char *k = array_literal(keys, n);
	const char *vals[] = { k };
	PGresult *res;
	int r;

	if (!k)
		return -ENOMEM;
	r = query(s, false, sql, 1, vals, NULL, NULL, &res, err);
	if (r == 0) {
		r = PQntuples(res);
		for (int i = 0; i < r; i++)
			fn(arg, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return r;
}

int store_actionable(struct store *s, const char *const *keys, size_t n,
		     void (*fn)(void *arg, const char *key), void *arg, struct wf_err *err)
{
	return keys_query(s,
			  "SELECT u.k FROM unnest($1::text[]) AS u(k) "
			  "LEFT JOIN wikifs_jobs j ON j.key = u.k "
			  "WHERE j.key IS NULL OR j.state IN ('done', 'failed') "
			  "OR (j.state = 'running' AND j.lease_until < now()) "
			  "OR (j.state = 'queued' AND j.not_before <= now()) "
			  "OR EXISTS (SELECT 1 FROM wikifs_pages p WHERE p.key = u.k)",
			  keys, n, fn, arg, err);
}

int store_urgent(struct store *s, const char *const *keys, size_t n,
		 void (*fn)(void *arg, const char *key), void *arg, struct wf_err *err)
{
	return keys_query(s,
			  "SELECT j.key FROM wikifs_jobs j WHERE j.key = ANY($1::text[]) "
			  "AND j.priority = 0 AND j.state IN ('queued', 'running')",
			  keys, n, fn, arg, err);
}

int store_manifest_put(struct store *s, const char *recipe, const char *key, const void *data,
		       size_t len, struct wf_err *err)
{
	const char *vals[] = { recipe, key, data };
	const int lens[] = { 0, 0, (int)len };
	const int fmts[] = { 0, 0, 1 };
	PGresult *res;
	int r;

	if (len > INT32_MAX)
		return store_err(s, err, -EFBIG, "a manifest of %zu bytes is too big", len);
	r = query(s, false,
		  "INSERT INTO wikifs_manifests (recipe, page_key, manifest) "
		  "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		  3, vals, lens, fmts, &res, err);
	PQclear(res);
	return r;
}

int store_manifest_list(struct store *s, const char *recipe, const char *key, size_t max,
			int (*fn)(void *arg, const char *key, const void *data, size_t len),
			void *arg, struct wf_err *err)
{
	char lim[24];
	const char *vals[] = { recipe, lim, key };
	PGresult *res;
	int r, i;

	snprintf(lim, sizeof(lim), "%zu", max);
	r = query(s, false,
		  "SELECT page_key, manifest FROM wikifs_manifests WHERE recipe = $1 "
		  "AND NOT EXISTS (SELECT 1 FROM wikifs_pages WHERE key = $3) "
		  "ORDER BY created DESC LIMIT $2",
		  3, vals, NULL, NULL, &res, err);
	for (i = 0; r == 0 && i < PQntuples(res); i++) {
		size_t len = 0;
		unsigned char *data =
		    PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 1), &len);

		if (!data) {
			r = -ENOMEM;
			break;
		}
		r = fn(arg, PQgetvalue(res, i, 0), data, len);
		PQfreemem(data);
	}
	PQclear(res);
	return r;
}

int store_page_get(struct store *s, const char *key, struct buf *page, struct wf_err *err)
{
	const char *vals[] = { key };
	PGresult *res;
	int r = query(s, false,
		      "SELECT NULL, NULL, NULL, content, len, sha256 FROM wikifs_pages "
		      "WHERE key = $1",
		      1, vals, NULL, NULL, &res, err);

	if (r == 0)
		r = PQntuples(res) == 1 ? take_page(s, key, res, page, err) : 0;
	PQclear(res);
	return r;
}

static uint64_t num(PGresult *res, int col)
{
	return strtoull(PQgetvalue(res, 0, col), NULL, 10);
}

int store_size(struct store *s, struct store_size *sz, struct wf_err *err)
{
	PGresult *res;
	int r = query(s, false,
		      "SELECT (SELECT count(*) FROM wikifs_pages), "
		      "(SELECT coalesce(sum(len), 0) FROM wikifs_pages), "
		      "pg_total_relation_size('wikifs_pages'), "
		      "(SELECT count(*) FROM wikifs_jobs WHERE state IN ('queued', 'running')), "
		      "(SELECT count(*) FROM wikifs_jobs WHERE state = 'running'), "
		      "(SELECT value FROM wikifs_meta WHERE name = 'schema_version')",
		      0, NULL, NULL, NULL, &res, err);

	memset(sz, 0, sizeof(*sz));
	if (r == 0 && PQntuples(res) == 1) {
		sz->pages = num(res, 0);
		sz->bytes = num(res, 1);
		sz->disk_bytes = num(res, 2);
		sz->jobs_open = num(res, 3);
		sz->jobs_running = num(res, 4);
		sz->schema_version = atoi(PQgetvalue(res, 0, 5));
	}
	PQclear(res);
	return r;
}

int store_prune(struct store *s, unsigned days, uint64_t *pages, uint64_t *bytes,
		struct wf_err *err)
{
	char d[16];
	const char *vals[] = { d };
	PGresult *res;
	int r;

	snprintf(d, sizeof(d), "%u", days);
	r = query(s, false,
		  "WITH gone AS (DELETE FROM wikifs_pages "
		  "  WHERE used < now() - make_interval(days => $1::integer) RETURNING len), "
		  "jobs AS (DELETE FROM wikifs_jobs WHERE state IN ('done', 'failed') "
		  "  AND updated < now() - make_interval(days => $1::integer)), "
		  "manifests AS (DELETE FROM wikifs_manifests "
		  "  WHERE created < now() - make_interval(days => $1::integer)) "
		  "SELECT count(*), coalesce(sum(len), 0) FROM gone",
		  1, vals, NULL, NULL, &res, err);
	if (r == 0 && PQntuples(res) == 1) {
		*pages = num(res, 0);
		*bytes = num(res, 1);
	}
	PQclear(res);
	return r;
}

int store_listener_new(struct store_listener **ret, struct store *s, struct wf_err *err)
{
	struct store_listener *l = calloc(1, sizeof(*l));
	struct pgconn *pc;
	PGresult *res = NULL;
	int r;

	if (!l)
		return -ENOMEM;
	r = conn_open(s, &pc, err);
	if (r == 0) {
		l->s = s;
		l->pc = *pc;
		free(pc);
		r = conn_exec(s, &l->pc, "LISTEN wikifs", 0, NULL, NULL, NULL, &res, err);
		PQclear(res);
	}
	if (r < 0) {
		store_listener_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

void store_listener_free(struct store_listener *l)
{
	if (!l)
		return;
	if (l->pc.c)
		PQfinish(l->pc.c);
	free(l);
}

int store_listener_wait(struct store_listener *l, int timeout_ms,
			void (*fn)(void *arg, const char *key), void *arg)
{
	PGnotify *n;
	int got = 0, r;

	if (l->pc.bad || PQstatus(l->pc.c) != CONNECTION_OK)
		return -ECONNRESET;
	r = wait_fd(PQsocket(l->pc.c), POLLIN, now_ms() + timeout_ms);
	if (r == -ETIMEDOUT)
		return 0;
	if (r < 0 || !PQconsumeInput(l->pc.c)) {
		l->pc.bad = true;
		return -ECONNRESET;
	}
	while ((n = PQnotifies(l->pc.c))) {
		fn(arg, n->extra);
		PQfreemem(n);
		got++;
	}
	return got;
}
