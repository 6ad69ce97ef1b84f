/* SPDX-License-Identifier: MIT */
/*
 * The Chat Completions protocol, which hosted APIs and the local servers
 * (Ollama, llama.cpp, vLLM) all speak. One non-streamed POST per attempt:
 * the whole page arrives in one JSON document, bounded by the response
 * limit, parsed with cJSON_ParseWithOpts. The key goes in an Authorization
 * header (only when one is set: local servers need none). A truncated
 * answer (finish_reason "length") is still a page; an empty one is a failed
 * attempt worth retrying.
 */
#include "openai.h"
#include "page_check.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#include <cJSON.h>

/* JSON escaping may double the page; leave room for the envelope. */
#define OPENAI_MAX_RESPONSE ((size_t)PAGE_MAX_BYTES * 2 + (1u << 20))

static char *request_json(const struct conf *c, const char *system, const char *user)
{
	cJSON *root = cJSON_CreateObject(), *msgs;
	char *s = NULL;

	if (!root)
		return NULL;
	if (!cJSON_AddStringToObject(root, "model", c->model))
		goto out_free_root;
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (!msgs)
		goto out_free_root;
	if (llm_wire_add_message(msgs, "system", system) < 0 ||
	    llm_wire_add_message(msgs, "user", user) < 0)
		goto out_free_root;
	if (!cJSON_AddNumberToObject(root, c->max_tokens_field, c->max_tokens))
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
		usage->input_tokens += llm_wire_u64(u, "prompt_tokens");
		usage->output_tokens += llm_wire_u64(u, "completion_tokens");
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

const struct llm_wire openai_wire = {
	.name = "openai",
	.default_base = "https://api.openai.com/v1",
	.path = "/chat/completions",
	.headers = { "Content-Type: application/json", "Accept: application/json" },
	.key_header = "Authorization: Bearer ",
	.max_response = OPENAI_MAX_RESPONSE,
	.build = request_json,
	.parse = parse_response,
};
