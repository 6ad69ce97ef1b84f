/* SPDX-License-Identifier: MIT */
/*
 * store/: the job protocol and the page store against a real PostgreSQL,
 * started by tests/integration/pg_run.py, which passes its connection
 * string in WIKIFS_TEST_PG (skipped without it). Two struct store play two
 * hosts. Deadlines are checked against a TCP server that accepts and never
 * answers.
 */
#include "sha256.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *conninfo;

static struct store *host(const char *id, unsigned lease_s, unsigned failed_s)
{
	struct store_opts o = {
		.conninfo = conninfo,
		.host_id = id,
		.timeout_ms = 5000,
		.lease_s = lease_s,
		.failed_s = failed_s,
	};
	struct store *s = NULL;
	struct wf_err err;

	if (store_new(&s, &o, &err) < 0)
		diag("store_new: %s", err.msg);
	return s;
}

/* A fresh key per run: the store outlives no test, but be safe. */
static void key(char out[SHA256_HEX], int n)
{
	static unsigned run;

	if (!run)
		run = (unsigned)getpid();
	snprintf(out, SHA256_HEX, "%08x%056d", run, n);
}

static int acquire(struct store *s, const char *k, struct buf *page, struct store_acquired *a)
{
	struct wf_err err;
	int r;

	buf_reset(page);
	r = store_acquire(s, k, 1, page, a, &err);
	if (r < 0)
		diag("store_acquire: %s", err.msg);
	return r;
}

static void test_secrets(void)
{
	struct store_opts o = { .conninfo = "postgresql://u:hunter2secret@[::1/db",
				.host_id = "x" };
	struct store *s = NULL;
	struct wf_err err = { "" };
	int r = store_new(&s, &o, &err);

	is_int(r, -EINVAL, "a connection string that does not parse is refused");
	ok(!strstr(err.msg, "hunter2secret"), "without its password in the message: %s", err.msg);
	o.conninfo = "host=127.0.0.1 port=1 user=u password=hunter2secret dbname=d";
	r = store_new(&s, &o, &err);
	is_int(r, 0, "a key=value string parses");
	ok(r == 0 && !strstr(store_describe(s), "hunter2secret") &&
	       strstr(store_describe(s), "host=127.0.0.1 port=1 dbname=d user=u"),
	   "its description has no password: %s", r == 0 ? store_describe(s) : "");
	r = store_ping(s, &err);
	ok(r < 0 && !strstr(err.msg, "hunter2secret"), "an unreachable store's error has none: %s",
	   err.msg);
	store_free(s);
}

static void test_claim_complete(struct store *a, struct store *b)
{
	struct store_acquired got;
	struct wf_err err;
	struct buf page;
	char k[SHA256_HEX];

	buf_init(&page, 1 << 20);
	key(k, 1);
	is_int(acquire(a, k, &page, &got), 0, "host A asks for a new page");
	ok(got.outcome == STORE_CLAIMED && got.attempt == 1, "and claims its job, attempt 1");
	is_int(acquire(b, k, &page, &got), 0, "host B asks for it");
	ok(got.outcome == STORE_BUSY && !strcmp(got.detail, "test:a"),
	   "and finds it busy, run by A (%s)", got.detail);
	is_int(store_complete(a, k, 1, "hello", 5, &err), 1, "A stores the page and ends the job");
	is_int(acquire(b, k, &page, &got), 0, "B asks again");
	ok(got.outcome == STORE_FOUND && page.len == 5 && !memcmp(page.data, "hello", 5),
	   "and gets the page, verified");
	buf_done(&page);
}

static void test_lease_fence(struct store *a, struct store *b)
{
	struct store_acquired got = { 0 };
	const char *keys[1];
	int atts[1] = { 1 };
	struct wf_err err;
	struct buf page;
	char k[SHA256_HEX];
	int64_t t0;

	buf_init(&page, 1 << 20);
	key(k, 2);
	keys[0] = k;
	acquire(a, k, &page, &got);
	is_int(got.attempt, 1, "A claims a job (lease 2 s)");
	is_int(store_extend(a, keys, atts, 1, &err), 1, "A renews its lease");
	atts[0] = 7;
	is_int(store_extend(a, keys, atts, 1, &err), 0,
	       "a lease of another attempt is not renewed");
	t0 = now_ms();
	for (acquire(b, k, &page, &got); got.outcome == STORE_BUSY && now_ms() - t0 < 10000;
	     acquire(b, k, &page, &got))
		usleep(50000); /* polls the condition: B's claim */
	ok(got.outcome == STORE_CLAIMED && got.attempt == 2 && now_ms() - t0 >= 1000,
	   "B claims it once A's lease expired (attempt %d after %lld ms)", got.attempt,
	   (long long)(now_ms() - t0));
	is_int(store_complete(a, k, 1, "from A", 6, &err), 0,
	       "A's late completion stores its page but is fenced off the job");
	is_int(store_complete(b, k, 2, "from B", 6, &err), 1, "B's completion ends the job");
	acquire(a, k, &page, &got);
	ok(got.outcome == STORE_FOUND && page.len == 6 && !memcmp(page.data, "from A", 6),
	   "the first writer's page is the one stored");
	buf_done(&page);
}

static void test_release(struct store *a, struct store *b)
{
	struct store_acquired got = { 0 };
	struct wf_err err;
	struct buf page;
	char k[SHA256_HEX];

	buf_init(&page, 1 << 20);
	key(k, 3);
	acquire(a, k, &page, &got);
	store_release(a, k, got.attempt, false, "HTTP 503", 0, &err);
	acquire(b, k, &page, &got);
	ok(got.outcome == STORE_CLAIMED && got.attempt == 2,
	   "a job given back as retryable is claimed by another host");
	store_release(b, k, 1, true, "stale attempt", 0, &err);
	acquire(a, k, &page, &got);
	is_int(got.outcome, STORE_BUSY, "a release by an old attempt changes nothing");
	is_int(store_release(b, k, 2, true, "HTTP 401: invalid API key", 0, &err), 0,
	       "B fails the job for good");
	acquire(a, k, &page, &got);
	ok(got.outcome == STORE_FAILED && !strcmp(got.detail, "HTTP 401: invalid API key"),
	   "every waiter hears the cause: %s", got.detail);
	buf_done(&page);
}

struct seen {
	char keys[8][SHA256_HEX];
	int n;
};

static void note(void *arg, const char *k)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->keys[s->n++], SHA256_HEX, "%s", k);
}

static bool seen_has(const struct seen *s, const char *k)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], k))
			return true;
	return false;
}

static void test_actionable_listen(struct store *a, struct store *b)
{
	char busy[SHA256_HEX], done[SHA256_HEX], none[SHA256_HEX];
	const char *keys[] = { busy, done, none };
	struct store_listener *l = NULL;
	struct store_acquired got;
	struct seen seen = { 0 };
	struct wf_err err;
	struct buf page;
	int r;

	buf_init(&page, 1 << 20);
	key(busy, 4);
	key(done, 1);
	key(none, 5);
	acquire(b, busy, &page, &got);
	r = store_actionable(a, keys, 3, note, &seen, &err);
	ok(r == 2 && seen_has(&seen, done) && seen_has(&seen, none) && !seen_has(&seen, busy),
	   "of a running, a done and an unknown job, the last two need action (%d)", r);
	is_int(store_listener_new(&l, a, &err), 0, "A listens");
	memset(&seen, 0, sizeof(seen));
	store_complete(b, busy, got.attempt, "x", 1, &err);
	for (int64_t t0 = now_ms(); !seen.n && now_ms() - t0 < 5000;)
		store_listener_wait(l, 500, note, &seen);
	ok(seen_has(&seen, busy), "and hears B's completion");
	store_listener_free(l);
	buf_done(&page);
}

/* A job wanted interactively on one host is urgent for every host that holds it at prefetch. */
static void test_urgent(struct store *a, struct store *b)
{
	char k[SHA256_HEX];
	const char *keys[] = { k };
	struct store_acquired got;
	struct seen seen = { 0 };
	struct wf_err err;
	struct buf page;

	buf_init(&page, 1 << 20);
	key(k, 6);
	acquire(a, k, &page, &got); /* prefetch priority */
	ok(got.outcome == STORE_CLAIMED, "A claims a job for a prefetch");
	is_int(store_urgent(b, keys, 1, note, &seen, &err), 0,
	       "nobody waits for it interactively: not urgent");
	buf_reset(&page);
	is_int(store_acquire(b, k, 0, &page, &got, &err), 0, "B opens the same page");
	ok(got.outcome == STORE_BUSY, "and finds it busy");
	ok(store_urgent(a, keys, 1, note, &seen, &err) == 1 && seen_has(&seen, k),
	   "now the job is urgent fleet-wide: a host holding it at prefetch promotes it");
	store_complete(a, k, got.attempt, "u", 1, &err);
	memset(&seen, 0, sizeof(seen));
	is_int(store_urgent(a, keys, 1, note, &seen, &err), 0, "a done job is not urgent");
	buf_done(&page);
}

static void test_size_prune(struct store *a)
{
	struct store_size sz;
	struct wf_err err;
	uint64_t pages = 0, bytes = 0;

	is_int(store_size(a, &sz, &err), 0, "the store's size");
	ok(sz.pages >= 3 && sz.schema_version == STORE_SCHEMA_VERSION,
	   "counts the pages (%llu) and the schema version", (unsigned long long)sz.pages);
	is_int(store_prune(a, 0, &pages, &bytes, &err), 0, "prune --older-than 0");
	ok(pages == sz.pages, "removes every page (%llu)", (unsigned long long)pages);
	store_size(a, &sz, &err);
	is_int((int)sz.pages, 0, "none left");
}

/* A server that accepts (the kernel does) and never answers: a stalled store. */
static void test_deadline(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct store_opts o = { .host_id = "x", .timeout_ms = 500 };
	struct store_acquired got;
	struct store *s = NULL;
	char ci[128], k[SHA256_HEX];
	struct wf_err err;
	struct buf page;
	int64_t t0;
	int r;

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	listen(fd, 8);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=u password=pw dbname=d",
		 ntohs(sa.sin_port));
	o.conninfo = ci;
	store_new(&s, &o, &err);
	buf_init(&page, 1 << 20);
	key(k, 9);
	t0 = now_ms();
	r = store_acquire(s, k, 0, &page, &got, &err);
	ok(r == -ETIMEDOUT && now_ms() - t0 < 3000,
	   "a stalled store times out within its deadline (%d after %lld ms)", r,
	   (long long)(now_ms() - t0));
	ok(!store_up(s), "and is marked down");
	t0 = now_ms();
	r = store_acquire(s, k, 0, &page, &got, &err);
	ok(r == -ENOTCONN && now_ms() - t0 < 100, "then calls fail at once (%d)", r);
	buf_done(&page);
	store_free(s);
	close(fd);
}

struct rows {
	int n;
	char keys[4][SHA256_HEX];
	char text[4][16];
	int stop_at; /* 1-based row at which to stop, 0: never */
};

static int row(void *arg, const char *k, const void *data, size_t len)
{
	struct rows *r = arg;

	if (r->n < 4) {
		snprintf(r->keys[r->n], SHA256_HEX, "%s", k);
		snprintf(r->text[r->n], sizeof(r->text[0]), "%.*s", (int)len, (const char *)data);
	}
	return ++r->n == r->stop_at ? 7 : 0;
}

/* Issue 17 item 6: manifests for fleet-wide reuse, and pages read without a job. */
static void test_manifests(struct store *a, struct store *b)
{
	char recipe[SHA256_HEX], k1[SHA256_HEX], k2[SHA256_HEX], want[SHA256_HEX];
	struct rows rows = { 0 };
	struct wf_err err;
	struct buf page;

	buf_init(&page, 1 << 20);
	key(recipe, 50);
	key(k1, 51);
	key(k2, 52);
	key(want, 53);
	is_int(store_manifest_put(a, recipe, k1, "first", 5, &err), 0, "A stores a manifest");
	is_int(store_manifest_put(b, recipe, k1, "other", 5, &err), 0,
	       "the same key again: no error");
	is_int(store_manifest_put(b, recipe, k2, "second", 6, &err), 0, "B stores another");
	is_int(store_manifest_list(b, recipe, want, 8, row, &rows, &err), 0,
	       "listing them: @fn said nothing");
	ok(rows.n == 2 && !strcmp(rows.keys[0], k2) && !strcmp(rows.text[0], "second") &&
	       !strcmp(rows.keys[1], k1) && !strcmp(rows.text[1], "first"),
	   "newest first, the first writer's bytes kept (%d rows)", rows.n);
	rows = (struct rows){ .stop_at = 1 };
	is_int(store_manifest_list(a, recipe, want, 8, row, &rows, &err), 7,
	       "@fn's nonzero answer ends the listing and is returned");
	is_int(rows.n, 1, "after one row");
	rows = (struct rows){ 0 };
	store_manifest_list(a, recipe, want, 1, row, &rows, &err);
	is_int(rows.n, 1, "at most @max rows");
	is_int(store_page_get(a, want, &page, &err), 0, "a page not stored: absent");
	is_int(store_complete(a, want, 0, "wanted", 6, &err) >= 0, 1, "the page is stored");
	rows = (struct rows){ 0 };
	is_int(store_manifest_list(a, recipe, want, 8, row, &rows, &err), 0,
	       "with the page itself stored ...");
	is_int(rows.n, 0, "no manifest is listed: the store finds the page");
	is_int(store_page_get(b, want, &page, &err), 1, "B reads the page without a job");
	ok(page.len == 6 && !memcmp(page.data, "wanted", 6), "verified");
	buf_done(&page);
}

/*
 * Hosts racing for the same fresh keys: each key is claimed once. The
 * window that let a second host claim it: its page looked for before the
 * first host's completion committed, its job locked after, found "done".
 */
#define STORM_HOSTS 3
#define STORM_KEYS  400

struct storm {
	struct store *s;
	int claims[STORM_KEYS];
	int errors;
};

static pthread_barrier_t storm_start;

static void *storm_host(void *arg)
{
	struct storm *st = arg;
	struct store_acquired got;
	struct wf_err err;
	struct buf page;
	char k[SHA256_HEX];

	buf_init(&page, 1 << 20);
	pthread_barrier_wait(&storm_start);
	for (int i = 0; i < STORM_KEYS; i++) {
		key(k, 1000 + i);
		for (;;) {
			buf_reset(&page);
			if (store_acquire(st->s, k, 1, &page, &got, &err) < 0) {
				st->errors++;
				break;
			}
			if (got.outcome == STORE_CLAIMED) {
				st->claims[i]++;
				if (store_complete(st->s, k, got.attempt, "storm", 5, &err) < 0)
					st->errors++;
				break;
			}
			if (got.outcome != STORE_BUSY)
				break; /* found (or failed: counted below as no claim) */
		}
	}
	buf_done(&page);
	return NULL;
}

static void test_claim_storm(void)
{
	static struct storm st[STORM_HOSTS];
	pthread_t t[STORM_HOSTS];
	int twice = 0, never = 0, errors = 0;

	pthread_barrier_init(&storm_start, NULL, STORM_HOSTS);
	for (int h = 0; h < STORM_HOSTS; h++) {
		char id[32];

		snprintf(id, sizeof(id), "test:storm%d", h);
		st[h].s = host(id, 60, 3600);
		pthread_create(&t[h], NULL, storm_host, &st[h]);
	}
	for (int h = 0; h < STORM_HOSTS; h++) {
		pthread_join(t[h], NULL);
		errors += st[h].errors;
	}
	for (int i = 0; i < STORM_KEYS; i++) {
		int n = 0;

		for (int h = 0; h < STORM_HOSTS; h++)
			n += st[h].claims[i];
		twice += n > 1;
		never += n == 0;
	}
	is_int(errors, 0, "%d hosts racing for %d fresh keys: no store error", STORM_HOSTS,
	       STORM_KEYS);
	is_int(twice, 0,
	       "no key is claimed twice (a page looked for just before "
	       "another host's completion committed is found, not made again)");
	is_int(never, 0, "and every key is claimed once");
	for (int h = 0; h < STORM_HOSTS; h++)
		store_free(st[h].s);
	pthread_barrier_destroy(&storm_start);
}

int main(void)
{
	struct store *a, *b;
	struct wf_err err;

	conninfo = getenv("WIKIFS_TEST_PG");
	test_secrets();
	test_deadline();
	if (!conninfo || !*conninfo) {
		diag("WIKIFS_TEST_PG unset: the tests against PostgreSQL are skipped "
		     "(run through tests/integration/pg_run.py)");
		return done_testing();
	}
	a = host("test:a", 2, 3600);
	b = host("test:b", 2, 3600);
	is_int(store_schema_init(a, &err), 0, "the schema is created");
	is_int(store_schema_init(b, &err), 0, "and found there by the next host");
	test_claim_complete(a, b);
	test_lease_fence(a, b);
	test_release(a, b);
	test_actionable_listen(a, b);
	test_urgent(a, b);
	test_manifests(a, b);
	test_claim_storm();
	test_size_prune(a);
	store_free(a);
	store_free(b);
	return done_testing();
}
