/* SPDX-License-Identifier: MIT */
/*
 * What every wire protocol shares: the JSON helpers both request builders
 * and both parsers use, and the network-free parse driver. The driver feeds
 * a stream in the pieces it is given, because a network read may cut a
 * stream anywhere and the parser must not care where; and it leaves no half
 * page behind, as the post path does not.
 */
#include "llm_wire.h"
#include "util.h"

#include <errno.h>

#include <cJSON.h>

static void drop_since(struct buf *out, size_t start)
{
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
}

int llm_wire_parse(const struct llm_wire *w, const char *body, size_t len, bool stream,
		   size_t chunk, struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	size_t start = out->len;
	void *s = NULL;
	int r;

	err->retryable = false;
	err->budget = false;
	err->retry_after_ms = 0;
	if (!stream) {
		r = w->parse(body, len, w->name, out, usage, err);
		goto out_trim;
	}
	if (!w->stream_new)
		return wf_err_set(&err->e, -EINVAL, "protocol '%s' does not stream", w->name);
	r = w->stream_new(&s, out, err, w->name);
	if (r < 0) {
		wf_err_set(&err->e, r, "out of memory");
		goto out_trim;
	}
	chunk = chunk ? chunk : len;
	for (size_t off = 0; r == 0 && off < len; off += chunk)
		r = w->stream_feed(s, body + off, MIN(chunk, len - off));
	r = w->stream_end(s, r, usage);
	w->stream_free(s);
out_trim:
	if (r < 0)
		drop_since(out, start);
	return r;
}

uint64_t llm_wire_u64(const struct cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !(v->valuedouble < 0x1p63))
		return 0;
	return (uint64_t)v->valuedouble;
}

int llm_wire_add_message(struct cJSON *msgs, const char *role, const char *content)
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
