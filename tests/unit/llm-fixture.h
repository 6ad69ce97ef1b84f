/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests of the LLM side of gen/ share: the loopback fake LLM
 * server (python3 tests/fake_llm.py, found through $WIKIFS_SRCDIR), started
 * once per test program and scripted per test through POST /_script, with
 * what the backends sent read back from GET /_requests; a configuration, a
 * plan and a request like the pool's; one backend instance with one worker;
 * one attempt, timed. Waits are on conditions (a recorded request) with
 * deadlines, never a fixed sleep. Single-threaded, except bg_run().
 */
#ifndef WIKIFS_LLM_FIXTURE_H
#define WIKIFS_LLM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"
#include "conf.h"
#include "plan.h"
#include "tap.h"

struct cJSON;

#define SECRET "sk-test-secret-0123456789abcdefXYZ"
#define KEYVAR "WIKIFS_TEST_LLM_KEY"

/* Starts the fake (stopped at exit): 0 or -errno. Also curl_global_init(). */
int fake_start(void);
int fake_port(void);
/*
 * fake_start() for a test program's main(): true if the fake runs; if not,
 * false, with a failed test saying why (the caller then ends with
 * done_testing()). Inline: the TAP counters are the test program's own.
 */
static inline bool fake_started(void)
{
	int r = fake_start();

	if (r < 0) {
		diag("cannot start fake_llm.py: %s", strerror(-r));
		ok(0, "fake llm server starts");
		return false;
	}
	diag("fake llm on port %d", fake_port());
	return true;
}
/* Resets the fake, then scripts its answers with @json (NULL: normal ones). */
void fake_script(const char *json);
/* The recorded requests (caller frees with cJSON_Delete). */
struct cJSON *fake_requests(void);
int fake_nrequests(void);
/* Waits (polling the fake, bounded) until it recorded @n requests. */
bool wait_requests(int n, int64_t max_ms);

/* The string @o.@a (or @o.@a.@b), NULL if there is none. */
const char *jstr(const struct cJSON *o, const char *a, const char *b);
/* No trace of the test keys in @s. */
bool no_secret(const char *s);

/*
 * A configuration for @backend (openai and anthropic point at the fake, with
 * model test-model-7 and the key in $KEYVAR) plus @extra "key=value"
 * overrides (NULL-terminated, may be NULL). NULL on error (printed).
 */
struct conf *make_conf(const char *backend, const char *const *extra);
/* Home, Architecture, Module src/core, _Sidebar at commit abc123. */
struct plan *make_plan(void);
struct gen_request make_req(struct plan *p, int page);

/* One backend instance with one worker, as the pool would hold them. */
struct be {
	const struct backend_ops *ops;
	struct conf *c;
	void *state, *wstate;
};

bool be_open(struct be *be, const struct backend_ops *ops, const char *name,
	     const char *const *extra);
void be_close(struct be *be);

struct attempt {
	int r;
	struct buf out; /* the caller buf_done()s it */
	struct gen_usage usage;
	struct gen_err err;
	int64_t ms;
};

void attempt_run(struct be *be, const struct gen_request *req, struct attempt *a);
/* One attempt of backend @name on page @page with the fake scripted by @script. */
void one(const struct backend_ops *ops, const char *name, const char *script,
	 const char *const *extra, int page, struct attempt *a);

/* An attempt on another thread: pthread_create(..., bg_run, &bg). */
struct bg {
	struct be *be;
	const struct gen_request *req;
	struct attempt a;
	int64_t end; /* now_ms() when it returned */
};

void *bg_run(void *p);

#endif
