/* SPDX-License-Identifier: MIT */
/*
 * What the two HTTP LLM backends (openai, anthropic) and the LLM planner
 * share: the provider's endpoint and API key, the per-provider rate limiter
 * and circuit breaker, the abort flag, and one "complete this prompt" call
 * that goes through all of them. The wire protocols live in openai.c and
 * anthropic.c.
 *
 * Ownership and threads: an llm is created by a backend's init() (main
 * thread) or by the LLM planner for one plan, and freed by its done(); it
 * is shared read-only by the workers, except for the rate limiter (locked).
 * Each worker owns one http_client from llm_worker_new(). llm_abort() may be
 * called from any thread. The abort flag lives in the provider's shared rate
 * limiter, so aborting the backend's llm also ends the requests and rate
 * waits of every other llm on that provider, the LLM planner's included
 * (which has no abort of its own): it is meant for unmount, when everything
 * stops.
 *
 * The API key is read once from the environment variable named by
 * api_key_env, kept only here and in request headers, wiped on free, and
 * redacted from every message.
 */
#ifndef WIKIFS_LLM_H
#define WIKIFS_LLM_H

#include "backend.h"
#include "http.h"
#include "ratelimit.h"

struct cJSON;

/* Breaker: consecutive provider failures before a pause, and the first pause. */
#define LLM_BREAKER_THRESHOLD	5
#define LLM_BREAKER_COOLDOWN_MS 30000
/* Connection setup bound, whatever the generation timeout. */
#define LLM_CONNECT_TIMEOUT_S 10
/* A stream with no byte for this long is stalled (capped by the timeout). */
#define LLM_STALL_S 60

struct llm {
	const struct conf *c;	/* borrowed, outlives the llm */
	enum conf_backend kind; /* BACKEND_OPENAI or BACKEND_ANTHROPIC */
	char *base;		/* base_url or the provider's default, no trailing '/' */
	char *key;		/* NULL: no key configured or the variable is unset */
	struct ratelimit *rl;	/* shared per provider (ratelimit_get); holds the abort flag */
};

int llm_new(struct llm **ret, const struct conf *c, enum conf_backend kind, struct wf_err *err);
void llm_free(struct llm *l); /* NULL is fine */
void llm_abort(struct llm *l);

/* A client for the calling worker thread; free with http_client_free(). */
int llm_worker_new(struct llm *l, struct http_client **ret);

/*
 * One attempt: checks abort and the breaker, waits for the rate limiter,
 * sends @system/@user with the configured protocol, appends the answer to
 * @out and adds token usage to @usage (also for failed attempts the provider
 * billed). 0 or -errno with @err classified.
 */
int llm_complete(struct llm *l, struct http_client *h, const char *system, const char *user,
		 struct buf *out, struct gen_usage *usage, struct gen_err *err);

/* prompt_build() + llm_complete(): the generate() of both HTTP backends. */
int llm_generate(struct llm *l, struct http_client *h, const struct gen_request *req,
		 struct buf *out, struct gen_usage *usage, struct gen_err *err);

/* The wire protocols (openai.c, anthropic.c): one request, no limiter. */
int openai_call(struct llm *l, struct http_client *h, const char *system, const char *user,
		struct buf *out, struct gen_usage *usage, struct gen_err *err);
int anthropic_call(struct llm *l, struct http_client *h, const char *system, const char *user,
		   struct buf *out, struct gen_usage *usage, struct gen_err *err);

/*
 * A token count from a response: a non-negative number below 2^63, else 0.
 * (NaN, infinities and huge values would make the cast undefined; the
 * fuzzers found 1e400.)
 */
uint64_t llm_json_u64(const struct cJSON *obj, const char *name);

/* Appends {"role": @role, "content": @content} to the array @msgs: 0 or -ENOMEM. */
int llm_json_add_message(struct cJSON *msgs, const char *role, const char *content);

/*
 * backend_ops members shared by the openai and anthropic backends: the state
 * is a struct llm, a worker's state its http_client. Only init differs.
 */
void llm_ops_done(void *state);
int llm_ops_worker_init(void *state, void **wstate);
void llm_ops_worker_done(void *state, void *wstate);
int llm_ops_generate(void *state, void *wstate, const struct gen_request *req, struct buf *out,
		     struct gen_usage *usage, struct gen_err *err);
void llm_ops_abort(void *state);

#define LLM_BACKEND_OPS(NAME, INIT)                                               \
	{                                                                         \
		.name = NAME, .prompt_version = PROMPT_VERSION, .init = INIT,     \
		.done = llm_ops_done, .worker_init = llm_ops_worker_init,         \
		.worker_done = llm_ops_worker_done, .generate = llm_ops_generate, \
		.abort = llm_ops_abort,                                           \
	}

/*
 * The response parsers of those calls alone (no network, no limiter), for
 * the fuzz harnesses: a whole response @body of @len bytes (NUL-terminated
 * at @len). The page is appended to @out (nothing on failure); 0 or -errno
 * with @err filled. Pure and thread-safe.
 */
int openai_parse(const char *body, size_t len, struct buf *out, struct gen_usage *usage,
		 struct gen_err *err);
/* @stream: an SSE stream, fed @chunk bytes at a time (0 = at once); else JSON. */
int anthropic_parse(const char *body, size_t len, bool stream, size_t chunk, struct buf *out,
		    struct gen_usage *usage, struct gen_err *err);

#endif
