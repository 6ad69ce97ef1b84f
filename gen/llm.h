/* SPDX-License-Identifier: MIT */
/*
 * The two HTTP LLM backends (backend_openai, backend_anthropic, declared in
 * backend.h) and what they share with the LLM planner: the provider's
 * endpoint and API key, the per-provider rate limiter and circuit breaker,
 * the abort flag, and one "complete this prompt" call that goes through all
 * of them. A backend is the configured wire protocol (openai.h,
 * anthropic.h: data, see llm_wire.h) driven by the one post path here.
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
 * api_key_env, kept only in the llm and, for the time of a request, in its
 * header, wiped on free, and redacted from every message.
 */
#ifndef WIKIFS_LLM_H
#define WIKIFS_LLM_H

#include "backend.h"
#include "http.h"

struct llm;

/* Breaker: consecutive provider failures before a pause, and the first pause. */
#define LLM_BREAKER_THRESHOLD	5
#define LLM_BREAKER_COOLDOWN_MS 30000
/* Connection setup bound, whatever the generation timeout. */
#define LLM_CONNECT_TIMEOUT_S 10
/* A stream with no byte for this long is stalled (capped by the timeout). */
#define LLM_STALL_S 60

/*
 * An llm for @kind (BACKEND_OPENAI or BACKEND_ANTHROPIC) configured by @c,
 * which is borrowed and must outlive it. Free with llm_free().
 */
int llm_new(struct llm **ret, const struct conf *c, enum conf_backend kind, struct wf_err *err);
void llm_free(struct llm *l); /* NULL is fine */
void llm_abort(struct llm *l);

/* A client for the calling worker thread; free with http_client_free(). */
int llm_worker_new(struct llm *l, struct http_client **ret);

/*
 * One attempt: checks abort and the breaker, waits for the rate limiter,
 * sends @system/@user with the configured protocol, appends the answer to
 * @out (nothing on failure) and adds token usage to @usage (also for failed
 * attempts the provider billed). 0 or -errno with @err classified.
 */
int llm_complete(struct llm *l, struct http_client *h, const char *system, const char *user,
		 struct buf *out, struct gen_usage *usage, struct gen_err *err);

#endif
