/* SPDX-License-Identifier: MIT */
/*
 * Provider plumbing shared by the openai and anthropic backends and the LLM
 * planner. Order of checks in one attempt: abort (cheapest, and unmount must
 * win), breaker (a paused provider fails fast with retry_after_ms = the
 * remaining pause, so the pool waits instead of hammering), rate limiter
 * (blocks, abortable, bounded by the attempt's timeout), then the request.
 * Only the provider's failures (retryable ones: 429, 5xx, connection) feed
 * the breaker; a 400 or 401 is ours and says nothing about its health.
 */
#include "llm.h"
#include "prompt.h"
#include "util.h"

#include <cJSON.h>

#include <errno.h>
#include <string.h>
#include <time.h>

static const char *default_base(enum conf_backend kind)
{
	return kind == BACKEND_ANTHROPIC ? "https://api.anthropic.com"
					 : "https://api.openai.com/v1";
}

int llm_new(struct llm **ret, const struct conf *c, enum conf_backend kind, struct wf_err *err)
{
	struct ratelimit_opts ro = {
		.per_minute = c->rate_limit,
		.threshold = LLM_BREAKER_THRESHOLD,
		.cooldown_ms = LLM_BREAKER_COOLDOWN_MS,
	};
	const char *base = c->base_url && *c->base_url ? c->base_url : default_base(kind);
	char key[512];
	struct llm *l;
	size_t n;
	int r;

	if (kind != BACKEND_OPENAI && kind != BACKEND_ANTHROPIC)
		return wf_err_set(err, -EINVAL, "backend '%s' is not an http llm backend",
				  conf_backend_name(kind));
	if (!c->model || !*c->model)
		return wf_err_set(err, -EINVAL, "generator.model is empty: backend '%s' needs one",
				  conf_backend_name(kind));
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		return wf_err_set(err, -EINVAL,
				  "generator.base_url must start with http:// or https://");
	r = http_global_init();
	if (r < 0)
		return wf_err_set(err, r, "cannot initialise libcurl");
	l = calloc(1, sizeof(*l));
	if (!l)
		return wf_err_set(err, -ENOMEM, "out of memory");
	l->c = c;
	l->kind = kind;
	l->base = strdup(base);
	if (!l->base) {
		llm_free(l);
		return wf_err_set(err, -ENOMEM, "out of memory");
	}
	n = strlen(l->base);
	while (n > 0 && l->base[n - 1] == '/')
		l->base[--n] = '\0';
	if (c->api_key_env && *c->api_key_env) {
		const char *v = getenv(c->api_key_env);

		/* no key is fine: local OpenAI-compatible servers need none */
		if (v && *v) {
			if (strpbrk(v, "\r\n")) {
				llm_free(l);
				return wf_err_set(err, -EINVAL,
						  "the api key in $%s holds a line break",
						  c->api_key_env);
			}
			l->key = strdup(v);
			if (!l->key) {
				llm_free(l);
				return wf_err_set(err, -ENOMEM, "out of memory");
			}
		}
	}
	http_url_redact(l->base, key, sizeof(key));
	r = ratelimit_get(&l->rl, key, &ro);
	if (r < 0) {
		llm_free(l);
		return wf_err_set(err, r, "out of memory");
	}
	*ret = l;
	return 0;
}

void llm_free(struct llm *l)
{
	if (!l)
		return;
	if (l->key) {
		explicit_bzero(l->key, strlen(l->key));
		free(l->key);
	}
	ratelimit_put(l->rl);
	free(l->base);
	free(l);
}

void llm_abort(struct llm *l)
{
	ratelimit_abort(l->rl);
}

int llm_worker_new(struct llm *l, struct http_client **ret)
{
	struct http_client_opts o = {
		.timeout_s = l->c->gen_timeout,
		.connect_timeout_s = MIN(l->c->gen_timeout, (unsigned)LLM_CONNECT_TIMEOUT_S),
		.ca_bundle = l->c->ca_bundle,
		.abort_flag = ratelimit_abort_flag(l->rl),
	};

	return http_client_new(ret, &o);
}

static int breaker_refuse(struct llm *l, int64_t wait, struct gen_err *err)
{
	struct ratelimit_status st;
	char until[32] = "?";
	time_t t;
	struct tm tm;

	ratelimit_status(l->rl, &st);
	t = (time_t)((wall_ms() + wait) / 1000);
	if (localtime_r(&t, &tm))
		strftime(until, sizeof(until), "%H:%M:%S", &tm);
	err->retryable = true;
	err->budget = false;
	err->retry_after_ms = wait;
	return wf_err_set(&err->e, -EAGAIN,
			  "provider '%s' paused after %u consecutive failures, until %s", st.name,
			  st.failures, until);
}

int llm_complete(struct llm *l, struct http_client *h, const char *system, const char *user,
		 struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	int64_t wait;
	int r;

	err->retryable = false;
	err->budget = false;
	err->retry_after_ms = 0;
	if (__atomic_load_n(ratelimit_abort_flag(l->rl), __ATOMIC_ACQUIRE))
		return wf_err_set(&err->e, -ECANCELED, "generation aborted");
	wait = ratelimit_breaker_check(l->rl, now_ms());
	if (wait > 0)
		return breaker_refuse(l, wait, err);
	r = ratelimit_acquire(l->rl, (int64_t)l->c->gen_timeout * 1000);
	if (r == -ECANCELED)
		return wf_err_set(&err->e, r, "generation aborted");
	if (r < 0) {
		err->retryable = true;
		return wf_err_set(&err->e, r,
				  "rate limit of %u requests a minute: no slot within %us",
				  l->c->rate_limit, l->c->gen_timeout);
	}
	if (l->kind == BACKEND_ANTHROPIC)
		r = anthropic_call(l, h, system, user, out, usage, err);
	else
		r = openai_call(l, h, system, user, out, usage, err);
	if (r == 0)
		ratelimit_record(l->rl, true, now_ms());
	else if (err->retryable && r != -ECANCELED && r != -EMFILE && r != -ENFILE)
		ratelimit_record(l->rl, false, now_ms()); /* our descriptors are not its health */
	return r;
}

int llm_generate(struct llm *l, struct http_client *h, const struct gen_request *req,
		 struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	struct buf sys, user;
	int r;

	buf_init(&sys, 64 << 10);
	buf_init(&user, prompt_max_bytes(l->c));
	r = prompt_build(req, l->c, &sys, &user, &err->e);
	if (r < 0) {
		err->retryable = false;
		err->budget = false;
		err->retry_after_ms = 0;
	} else {
		r = llm_complete(l, h, buf_str(&sys), buf_str(&user), out, usage, err);
	}
	buf_done(&user);
	buf_done(&sys);
	return r;
}

void llm_ops_done(void *state)
{
	llm_free(state);
}

int llm_ops_worker_init(void *state, void **wstate)
{
	return llm_worker_new(state, (struct http_client **)wstate);
}

void llm_ops_worker_done(void *state, void *wstate)
{
	http_client_free(wstate);
	(void)state;
}

int llm_ops_generate(void *state, void *wstate, const struct gen_request *req, struct buf *out,
		     struct gen_usage *usage, struct gen_err *err)
{
	return llm_generate(state, wstate, req, out, usage, err);
}

void llm_ops_abort(void *state)
{
	llm_abort(state);
}

uint64_t llm_json_u64(const struct cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !(v->valuedouble < 0x1p63))
		return 0;
	return (uint64_t)v->valuedouble;
}

int llm_json_add_message(struct cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();

	if (!m || !cJSON_AddItemToArray(msgs, m))
		goto out_free;
	if (!cJSON_AddStringToObject(m, "role", role) ||
	    !cJSON_AddStringToObject(m, "content", content))
		return -ENOMEM; /* m belongs to msgs now */
	return 0;
out_free:
	cJSON_Delete(m);
	return -ENOMEM;
}
