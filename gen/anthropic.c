/* SPDX-License-Identifier: MIT */
/*
 * The Messages API, streamed. Streaming keeps bytes flowing during a long
 * generation, so a stalled connection is detected by the low-speed limit the
 * post path sets for a streaming wire instead of waiting for the whole
 * timeout, and an error the server reports mid-generation (an "error" event,
 * typically overloaded_error) ends the attempt at once.
 *
 * The SSE parser is incremental: chunks from curl are cut into lines, lines
 * into events ("event:"/"data:" fields, blank line = dispatch), and each
 * event's JSON is parsed with cJSON_ParseWithOpts. Text of every text block
 * is joined in order; usage comes from message_start (input) and
 * message_delta (cumulative output). A stream that ends without
 * message_stop was cut short: a retryable failure. A server that answers
 * with plain JSON instead (a proxy, or one that ignores "stream") is
 * accepted too: its content array of text blocks is joined.
 */
#include "anthropic.h"
#include "http.h"
#include "page_check.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

/* SSE framing costs ~100 bytes per few characters of text. */
#define ANTHROPIC_MAX_STREAM ((size_t)64 << 20)
#define SSE_LINE_MAX	     ((size_t)1 << 20)

struct sse {
	struct buf line; /* the current, unterminated line */
	struct buf data; /* the current event's data lines, joined by '\n' */
	char event[64];
	struct buf *out;
	size_t start; /* out->len before the answer */
	uint64_t input_tokens, output_tokens;
	bool stopped; /* message_stop seen */
	bool failed;  /* an error event or a local failure: @err is filled */
	int r;
	const char *where; /* the endpoint, for messages */
	struct gen_err *err;
};

/* Input tokens, counting prompt-cache reads and writes (billed too). */
static uint64_t usage_input(const cJSON *u)
{
	return llm_wire_u64(u, "input_tokens") + llm_wire_u64(u, "cache_creation_input_tokens") +
	       llm_wire_u64(u, "cache_read_input_tokens");
}

/* The HTTP status the API uses for each error type, to classify stream errors alike. */
static long error_type_status(const char *type)
{
	static const struct {
		const char *type;
		long status;
	} map[] = {
		{ "invalid_request_error", 400 }, { "authentication_error", 401 },
		{ "billing_error", 402 },	  { "permission_error", 403 },
		{ "not_found_error", 404 },	  { "request_too_large", 413 },
		{ "rate_limit_error", 429 },	  { "api_error", 500 },
		{ "timeout_error", 504 },	  { "overloaded_error", 529 },
	};

	for (size_t i = 0; type && i < ARRAY_SIZE(map); i++)
		if (!strcmp(type, map[i].type))
			return map[i].status;
	return 500; /* unknown: assume the server's trouble */
}

static int sse_error_event(struct sse *s, const cJSON *j, const char *data)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *type = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "type") : NULL;
	const cJSON *msg =
	    cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	const char *t = cJSON_IsString(type) ? type->valuestring : "unknown";
	int r;

	/* classified as the status the API gives this error type elsewhere */
	r = http_classify(error_type_status(t), data, NULL, s->where, NULL, s->err);
	wf_err_set(&s->err->e, r, "stream error '%.40s' from '%s' mid-answer: %.200s", t, s->where,
		   cJSON_IsString(msg) ? msg->valuestring : "no message");
	http_text_redact(s->err->e.msg, sizeof(s->err->e.msg), NULL);
	s->failed = true;
	return r;
}

static int sse_add_text(struct sse *s, const cJSON *obj)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "text");

	if (!cJSON_IsString(t) || !t->valuestring[0])
		return 0;
	if (buf_adds(s->out, t->valuestring) < 0) {
		s->err->retryable = false;
		s->failed = true;
		return wf_err_set(&s->err->e, -EFBIG, "page larger than %zu bytes", s->out->max);
	}
	return 0;
}

static int sse_dispatch(struct sse *s)
{
	const char *end = NULL, *type;
	const cJSON *jt;
	cJSON *j;
	int r = 0;

	if (s->data.len == 0)
		goto out_reset;
	r = page_check_json(s->data.data, s->data.len, s->where, s->err);
	if (r < 0) {
		s->failed = true; /* cJSON would cut the page at the NUL */
		goto out_reset;
	}
	j = cJSON_ParseWithOpts(s->data.data, &end, true);
	if (!j) {
		s->err->retryable = true;
		s->failed = true;
		r = wf_err_set(&s->err->e, -EBADMSG, "malformed json in the '%.40s' stream event",
			       s->event[0] ? s->event : "message");
		goto out_reset;
	}
	jt = cJSON_GetObjectItemCaseSensitive(j, "type");
	type = cJSON_IsString(jt) ? jt->valuestring : s->event;
	if (!strcmp(type, "message_start")) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
		const cJSON *u =
		    cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "usage") : NULL;

		if (cJSON_IsObject(u)) {
			s->input_tokens = usage_input(u);
			s->output_tokens = llm_wire_u64(u, "output_tokens");
		}
	} else if (!strcmp(type, "content_block_start")) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "content_block");
		const cJSON *bt =
		    cJSON_IsObject(b) ? cJSON_GetObjectItemCaseSensitive(b, "type") : NULL;

		if (cJSON_IsString(bt) && !strcmp(bt->valuestring, "text"))
			r = sse_add_text(s, b);
	} else if (!strcmp(type, "content_block_delta")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
		const cJSON *dt =
		    cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "type") : NULL;

		if (cJSON_IsString(dt) && !strcmp(dt->valuestring, "text_delta"))
			r = sse_add_text(s, d);
	} else if (!strcmp(type, "message_delta")) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");

		/* cumulative counts: replace, not add */
		if (cJSON_IsObject(u)) {
			if (llm_wire_u64(u, "output_tokens"))
				s->output_tokens = llm_wire_u64(u, "output_tokens");
			if (usage_input(u))
				s->input_tokens = usage_input(u);
		}
	} else if (!strcmp(type, "message_stop")) {
		s->stopped = true;
	} else if (!strcmp(type, "error")) {
		r = sse_error_event(s, j, s->data.data);
	}
	/* ping, content_block_stop and unknown future events: nothing to do */
	cJSON_Delete(j);
out_reset:
	buf_reset(&s->data);
	s->event[0] = '\0';
	return r;
}

static int sse_line(struct sse *s, char *line, size_t len)
{
	const char *v;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0)
		return sse_dispatch(s);
	if (line[0] == ':')
		return 0; /* comment */
	v = memchr(line, ':', len);
	v = v ? v + 1 : line + len;
	if (*v == ' ')
		v++;
	if (!strncmp(line, "event:", 6)) {
		snprintf(s->event, sizeof(s->event), "%s", v);
	} else if (!strncmp(line, "data:", 5)) {
		if ((s->data.len && buf_addc(&s->data, '\n') < 0) || buf_adds(&s->data, v) < 0) {
			s->failed = true;
			return wf_err_set(&s->err->e, -EFBIG, "stream event larger than %zu bytes",
					  s->data.max);
		}
	}
	return 0;
}

static int sse_feed(void *ctx, const char *p, size_t n)
{
	struct sse *s = ctx;

	while (n > 0 && s->r == 0) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;

		if (buf_add(&s->line, p, len) < 0) {
			s->failed = true;
			s->r = wf_err_set(&s->err->e, -EFBIG, "stream line longer than %zu bytes",
					  s->line.max);
			break;
		}
		if (!nl)
			break;
		s->r = sse_line(s, s->line.data ? s->line.data : (char *)"", s->line.len);
		buf_reset(&s->line);
		p = nl + 1;
		n -= len + 1;
	}
	/* an error event ends the transfer: the attempt has failed */
	return s->r < 0 ? s->r : s->failed ? -EPROTO : 0;
}

/* The end of a stream: flushes what is pending and judges the whole answer. */
static int sse_end(void *ctx, int r, struct gen_usage *usage)
{
	struct sse *s = ctx;
	struct gen_err *err = s->err;

	if (r == 0 && !s->failed && s->line.len)
		r = sse_feed(s, "\n", 1);
	if (r == 0 && !s->failed && s->data.len)
		r = sse_dispatch(s);
	/* billed even when the stream failed */
	usage->input_tokens += s->input_tokens;
	usage->output_tokens += s->output_tokens;
	if (r == 0 && !s->stopped) {
		err->retryable = true;
		r = wf_err_set(&err->e, -ECONNRESET,
			       "stream from '%s' ended before message_stop (truncated)", s->where);
	} else if (r == 0 && s->out->len == s->start) {
		err->retryable = true;
		r = wf_err_set(&err->e, -ENODATA, "empty answer from '%s'", s->where);
	}
	return r;
}

static int sse_new(void **ret, struct buf *out, struct gen_err *err, const char *where)
{
	struct sse *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	buf_init(&s->line, SSE_LINE_MAX);
	buf_init(&s->data, SSE_LINE_MAX);
	s->out = out;
	s->start = out->len;
	s->err = err;
	s->where = where;
	*ret = s;
	return 0;
}

static void sse_free(void *ctx)
{
	struct sse *s = ctx;

	if (!s)
		return;
	buf_done(&s->line);
	buf_done(&s->data);
	free(s);
}

static char *request_json(const struct conf *c, const char *system, const char *user)
{
	cJSON *root = cJSON_CreateObject(), *msgs;
	char *s = NULL;

	if (!root)
		return NULL;
	if (!cJSON_AddStringToObject(root, "model", c->model) ||
	    !cJSON_AddNumberToObject(root, "max_tokens", c->max_tokens) ||
	    !cJSON_AddStringToObject(root, "system", system) ||
	    !cJSON_AddTrueToObject(root, "stream"))
		goto out_free_root;
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (!msgs || llm_wire_add_message(msgs, "user", user) < 0)
		goto out_free_root;
	s = cJSON_PrintUnformatted(root);
out_free_root:
	cJSON_Delete(root);
	return s;
}

/* A non-streamed answer: {"content":[{"type":"text","text":...},...],"usage":{...}}. */
static int parse_json(const char *body, size_t len, const char *where, struct buf *out,
		      struct gen_usage *usage, struct gen_err *err)
{
	const char *end = NULL;
	const cJSON *content, *b, *u;
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
		usage->input_tokens += usage_input(u);
		usage->output_tokens += llm_wire_u64(u, "output_tokens");
	}
	content = cJSON_GetObjectItemCaseSensitive(root, "content");
	cJSON_ArrayForEach(b, content)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "text");

		if (cJSON_IsString(t) && !strcmp(t->valuestring, "text") && cJSON_IsString(x) &&
		    buf_adds(out, x->valuestring) < 0) {
			r = wf_err_set(&err->e, -EFBIG, "page from '%s' larger than %zu bytes",
				       where, out->max);
			break;
		}
	}
	if (r == 0 && out->len == 0) {
		err->retryable = true;
		r = wf_err_set(&err->e, -ENODATA, "empty answer from '%s'", where);
	}
	cJSON_Delete(root);
	return r;
}

static char *version_header(const struct conf *c)
{
	char *h;

	return asprintf(&h, "anthropic-version: %s", c->anthropic_version) < 0 ? NULL : h;
}

const struct llm_wire anthropic_wire = {
	.name = "anthropic",
	.default_base = "https://api.anthropic.com",
	.path = "/v1/messages",
	.headers = { "Content-Type: application/json" },
	.key_header = "x-api-key: ",
	.conf_header = version_header,
	.max_response = ANTHROPIC_MAX_STREAM,
	.build = request_json,
	.parse = parse_json,
	.stream_new = sse_new,
	.stream_feed = sse_feed,
	.stream_end = sse_end,
	.stream_free = sse_free,
};
