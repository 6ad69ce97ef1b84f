/* SPDX-License-Identifier: MIT */
/*
 * Provider plumbing shared by the openai and anthropic backends and the LLM
 * planner. Order of checks in one attempt: abort (cheapest, and unmount must
 * win), breaker (a paused provider fails fast with retry_after_ms = the
 * remaining pause, so the pool waits instead of hammering), rate limiter
 * (blocks, abortable, bounded by the attempt's timeout), then the request.
 * Only the provider's failures (retryable ones: 429, 5xx, connection) feed
 * the breaker; a 400 or 401 is ours and says nothing about its health.
 *
 * The request itself goes through one post path whatever the protocol: the
 * wire description (llm_wire.h) says where and what to send and how to read
 * the answer; here the URL and headers are made, the key's header is wiped
 * once the transfer ended, a non-2xx status is classified, the key is
 * redacted from every message and a failed attempt leaves no half page.
 */
#include "llm.h"
#include "anthropic.h"
#include "openai.h"
#include "prompt.h"
#include "ratelimit.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

struct llm {
	const struct conf *c;	     /* borrowed, outlives the llm */
	const struct llm_wire *wire; /* the protocol of the configured backend */
	char *base;		     /* base_url or the wire's default, no trailing '/' */
	char *key;		     /* NULL: no key configured or the variable is unset */
	struct ratelimit *rl;	     /* shared per provider (ratelimit_get); holds the abort flag */
};

/* The header lines of one request; the key's is wiped by headers_done(). */
struct headers {
	const char *lines[LLM_WIRE_MAX_HEADERS + 3];
	char *conf, *key;
};

static const struct llm_wire *wire_of(enum conf_backend kind)
{
	switch (kind) {
	case BACKEND_OPENAI:
		return &openai_wire;
	case BACKEND_ANTHROPIC:
		return &anthropic_wire;
	default:
		return NULL;
	}
}

int llm_new(struct llm **ret, const struct conf *c, enum conf_backend kind, struct wf_err *err)
{
	struct ratelimit_opts ro = {
		.per_minute = c->rate_limit,
		.threshold = LLM_BREAKER_THRESHOLD,
		.cooldown_ms = LLM_BREAKER_COOLDOWN_MS,
	};
	const struct llm_wire *wire = wire_of(kind);
	const char *base;
	char key[512];
	struct llm *l;
	size_t n;
	int r;

	if (!wire)
		return wf_err_set(err, -EINVAL, "backend '%s' is not an http llm backend",
				  conf_backend_name(kind));
	if (!c->model || !*c->model)
		return wf_err_set(err, -EINVAL, "generator.model is empty: backend '%s' needs one",
				  conf_backend_name(kind));
	base = c->base_url && *c->base_url ? c->base_url : wire->default_base;
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
	l->wire = wire;
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

static void headers_done(struct headers *hd)
{
	if (hd->key) {
		explicit_bzero(hd->key, strlen(hd->key));
		free(hd->key);
		hd->key = NULL;
	}
	free(hd->conf);
	hd->conf = NULL;
}

/* The wire's fixed lines, its line from the configuration, then the key's. */
static int headers_make(struct headers *hd, const struct llm *l)
{
	const struct llm_wire *w = l->wire;
	size_t n = 0;

	for (size_t i = 0; i < LLM_WIRE_MAX_HEADERS && w->headers[i]; i++)
		hd->lines[n++] = w->headers[i];
	if (w->conf_header) {
		hd->conf = w->conf_header(l->c);
		if (!hd->conf)
			return -ENOMEM;
		hd->lines[n++] = hd->conf;
	}
	if (l->key) {
		if (asprintf(&hd->key, "%s%s", w->key_header, l->key) < 0) {
			hd->key = NULL;
			return -ENOMEM;
		}
		hd->lines[n++] = hd->key;
	}
	hd->lines[n] = NULL;
	return 0;
}

/* One request with the configured protocol, no limiter: the one post path. */
static int post(struct llm *l, struct http_client *h, const char *system, const char *user,
		struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	const struct llm_wire *w = l->wire;
	_cleanup_free_ char *url = NULL, *body = NULL;
	struct headers hd = { { 0 } };
	struct http_response resp;
	struct http_request rq;
	size_t start = out->len;
	void *stream = NULL;
	char where[256];
	int r;

	if (asprintf(&url, "%s%s", l->base, w->path) < 0)
		return wf_err_set(&err->e, -ENOMEM, "out of memory");
	body = w->build(l->c, system, user);
	if (!body)
		return wf_err_set(&err->e, -ENOMEM, "out of memory building the request");
	http_url_redact(url, where, sizeof(where));
	r = headers_make(&hd, l);
	if (r == 0 && w->stream_new)
		r = w->stream_new(&stream, out, err, where);
	if (r < 0) {
		wf_err_set(&err->e, r, "out of memory");
		goto out_free_headers;
	}
	rq = (struct http_request){
		.url = url,
		.headers = hd.lines,
		.body = body,
		.body_len = strlen(body),
		.max_response = w->max_response,
		.stall_s = stream ? MIN(l->c->gen_timeout, (unsigned)LLM_STALL_S) : 0,
		.secret = l->key,
		.on_stream = stream ? w->stream_feed : NULL,
		.ctx = stream,
	};
	r = http_post(h, &rq, &resp, err);
	headers_done(&hd); /* the key's copy lives no longer than the transfer */
	if (resp.streamed)
		r = w->stream_end(stream, r, usage);
	else if (r == 0 && (resp.status < 200 || resp.status > 299))
		r = http_classify(resp.status, buf_str(&resp.body), &resp, url, l->key, err);
	else if (r == 0)
		r = w->parse(buf_str(&resp.body), resp.body.len, where, out, usage, err);
	if (r < 0) {
		out->len = start; /* no half page */
		if (out->data)
			out->data[start] = '\0';
		http_text_redact(err->e.msg, sizeof(err->e.msg), l->key);
	}
	http_response_done(&resp);
out_free_headers:
	headers_done(&hd);
	if (stream)
		w->stream_free(stream);
	return r;
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
	r = post(l, h, system, user, out, usage, err);
	if (r == 0)
		ratelimit_record(l->rl, true, now_ms());
	else if (err->retryable && r != -ECANCELED && r != -EMFILE && r != -ENFILE)
		ratelimit_record(l->rl, false, now_ms()); /* our descriptors are not its health */
	return r;
}

/* prompt_build() + llm_complete(): the generate() of both backends. */
static int llm_generate(struct llm *l, struct http_client *h, const struct gen_request *req,
			struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	struct prompt_used used = { 0 };
	struct buf sys, user;
	int r;

	buf_init(&sys, 64 << 10);
	buf_init(&user, prompt_max_bytes(l->c));
	r = prompt_build(req, l->c, &sys, &user, req->deps ? &used : NULL, &err->e);
	/* the page is made from what its prompt holds (issue 14) */
	if (r == 0 && req->deps && prompt_used_deps(&used, req->deps) < 0)
		r = wf_err_set(&err->e, -ENOMEM, "out of memory");
	prompt_used_done(&used);
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

/* The backend_ops: the state is a struct llm, a worker's state its http_client. */
static int openai_init(void **state, const struct conf *c, struct wf_err *err)
{
	return llm_new((struct llm **)state, c, BACKEND_OPENAI, err);
}

static int anthropic_init(void **state, const struct conf *c, struct wf_err *err)
{
	return llm_new((struct llm **)state, c, BACKEND_ANTHROPIC, err);
}

static void ops_done(void *state)
{
	llm_free(state);
}

static int ops_worker_init(void *state, void **wstate)
{
	return llm_worker_new(state, (struct http_client **)wstate);
}

static void ops_worker_done(void *state, void *wstate)
{
	http_client_free(wstate);
	(void)state;
}

static int ops_generate(void *state, void *wstate, const struct gen_request *req, struct buf *out,
			struct gen_usage *usage, struct gen_err *err)
{
	return llm_generate(state, wstate, req, out, usage, err);
}

static void ops_abort(void *state)
{
	llm_abort(state);
}

#define LLM_BACKEND_OPS(NAME, INIT)                                                             \
	{                                                                                       \
		.name = NAME, .prompt_version = PROMPT_VERSION, .init = INIT, .done = ops_done, \
		.worker_init = ops_worker_init, .worker_done = ops_worker_done,                 \
		.generate = ops_generate, .abort = ops_abort,                                   \
	}

const struct backend_ops backend_openai = LLM_BACKEND_OPS("openai", openai_init);
const struct backend_ops backend_anthropic = LLM_BACKEND_OPS("anthropic", anthropic_init);
