/* SPDX-License-Identifier: MIT */
/*
 * backend = openai: the Chat Completions protocol, which hosted APIs and the
 * local servers (Ollama, llama.cpp, vLLM) all speak. One non-streamed POST
 * per attempt: the whole page arrives in one JSON document, bounded by the
 * response limit, parsed with cJSON_ParseWithOpts. The Authorization header
 * is sent only when a key is configured and set, since local servers need
 * none. A truncated answer (finish_reason "length") is still a page; an
 * empty one is a failed attempt worth retrying.
 */
#include "llm.h"
#include "page_check.h"
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#include <cJSON.h>

/* JSON escaping may double the page; leave room for the envelope. */
#define OPENAI_MAX_RESPONSE ((size_t)PAGE_MAX_BYTES * 2 + (1u << 20))

static char *request_json(const struct llm *l, const char *system, const char *user)
{
	cJSON *root = cJSON_CreateObject(), *msgs;
	char *s = NULL;

	if (!root)
		return NULL;
	if (!cJSON_AddStringToObject(root, "model", l->c->model))
		goto out_free_root;
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (!msgs)
		goto out_free_root;
	if (llm_json_add_message(msgs, "system", system) < 0 ||
	    llm_json_add_message(msgs, "user", user) < 0)
		goto out_free_root;
	if (!cJSON_AddNumberToObject(root, l->c->max_tokens_field, l->c->max_tokens))
		goto out_free_root;
	s = cJSON_PrintUnformatted(root);
out_free_root:
	cJSON_Delete(root);
	return s;
}

static int parse_response(const char *body, size_t len, const char *where, struct buf *out,
			  struct gen_usage *usage, struct gen_err *err)
{
	const char *end = NULL;
	const cJSON *choices, *c0, *msg, *content, *u;
	cJSON *root;
	int r = 0;

	if (page_check_json(body, len, where, err) < 0)
		return -EILSEQ; /* cJSON would cut the page at the NUL */
	root = cJSON_ParseWithOpts(body, &end, true);
	if (!root) {
		err->retryable = true;
		return wf_err_set(&err->e, -EBADMSG, "malformed json from '%s' at byte %zu of %zu",
				  where, end && end >= body ? (size_t)(end - body) : 0, len);
	}
	u = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (cJSON_IsObject(u)) {
		usage->input_tokens += llm_json_u64(u, "prompt_tokens");
		usage->output_tokens += llm_json_u64(u, "completion_tokens");
	}
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	msg = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "message") : NULL;
	content = msg ? cJSON_GetObjectItemCaseSensitive(msg, "content") : NULL;
	if (!c0) {
		err->retryable = true;
		r = wf_err_set(&err->e, -EBADMSG, "no choices in the answer from '%s'", where);
	} else if (!cJSON_IsString(content) || !content->valuestring[0]) {
		const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");

		err->retryable = true;
		r = wf_err_set(&err->e, -ENODATA, "empty answer from '%s' (finish_reason %s)",
			       where, cJSON_IsString(fr) ? fr->valuestring : "none");
	} else if (buf_adds(out, content->valuestring) < 0) {
		r = wf_err_set(&err->e, -EFBIG, "page from '%s' larger than %zu bytes", where,
			       out->max);
	}
	cJSON_Delete(root);
	return r;
}

int openai_call(struct llm *l, struct http_client *h, const char *system, const char *user,
		struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	_cleanup_free_ char *url = NULL, *body = NULL;
	char *auth = NULL, where[256];
	const char *headers[4] = { "Content-Type: application/json", "Accept: application/json" };
	struct http_response resp;
	struct http_request rq;
	int r;

	if (asprintf(&url, "%s/chat/completions", l->base) < 0)
		return wf_err_set(&err->e, -ENOMEM, "out of memory");
	body = request_json(l, system, user);
	if (!body)
		return wf_err_set(&err->e, -ENOMEM, "out of memory building the request");
	if (l->key) {
		if (asprintf(&auth, "Authorization: Bearer %s", l->key) < 0)
			return wf_err_set(&err->e, -ENOMEM, "out of memory");
		headers[2] = auth;
	}
	rq = (struct http_request){
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = strlen(body),
		.max_response = OPENAI_MAX_RESPONSE,
		.secret = l->key,
	};
	http_url_redact(url, where, sizeof(where));
	r = http_post(h, &rq, &resp, err);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (r < 0)
		goto out_free_resp;
	if (resp.status < 200 || resp.status > 299) {
		r = http_classify(resp.status, buf_str(&resp.body), &resp, url, l->key, err);
		goto out_free_resp;
	}
	r = parse_response(buf_str(&resp.body), resp.body.len, where, out, usage, err);
	if (r < 0)
		http_text_redact(err->e.msg, sizeof(err->e.msg), l->key);
out_free_resp:
	http_response_done(&resp);
	return r;
}

/* parse_response() without the network, for the fuzz harnesses. */
int openai_parse(const char *body, size_t len, struct buf *out, struct gen_usage *usage,
		 struct gen_err *err)
{
	return parse_response(body, len, "fuzz://openai", out, usage, err);
}

static int openai_init(void **state, const struct conf *c, struct wf_err *err)
{
	return llm_new((struct llm **)state, c, BACKEND_OPENAI, err);
}

const struct backend_ops backend_openai = LLM_BACKEND_OPS("openai", openai_init);
