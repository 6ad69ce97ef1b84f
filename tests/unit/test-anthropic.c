/* SPDX-License-Identifier: MIT */
/*
 * backend = anthropic (gen/anthropic.c through gen/llm.c) against the fake
 * LLM server: the streamed request and answer, text blocks joined, a plain
 * JSON answer, stream errors and truncation without a half page, and the
 * faults the fake can play; and the wire description's parsers alone, as
 * the fuzz harness drives them.
 */
#include "anthropic.h"
#include "backend.h"
#include "llm-fixture.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

static void test_anthropic(void)
{
	const char *ex[] = { "generator.timeout=2", "generator.max_tokens=555", NULL };
	struct attempt a, b;

	setenv(KEYVAR, SECRET, 1);
	one(&backend_anthropic, "anthropic", NULL, ex, 1, &a);
	is_int(a.r, 0, "anthropic stream: ok (%s)", a.err.e.msg);
	ok(strstr(buf_str(&a.out), "# Architecture\n") &&
	       strstr(buf_str(&a.out), "model test-model-7"),
	   "anthropic stream: page echoes title and model");
	ok(a.usage.input_tokens == 123 && a.usage.output_tokens == 45,
	   "anthropic stream usage 123/45 (got %llu/%llu)",
	   (unsigned long long)a.usage.input_tokens, (unsigned long long)a.usage.output_tokens);
	{
		cJSON *reqs = fake_requests(), *rq = cJSON_GetArrayItem(reqs, 0);
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(rq, "body");
		const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
		const char *user = jstr(cJSON_GetArrayItem(msgs, 0), "content", NULL);

		is_str(jstr(rq, "path", NULL), "/v1/messages", "anthropic: path");
		is_str(jstr(rq, "headers", "x-api-key"), SECRET, "anthropic: x-api-key");
		is_str(jstr(rq, "headers", "anthropic-version"), "2023-06-01",
		       "anthropic: anthropic-version");
		is_str(jstr(rq, "headers", "content-type"), "application/json",
		       "anthropic: content-type");
		ok(!jstr(rq, "headers", "authorization"), "anthropic: no Authorization header");
		is_str(jstr(body, "model", NULL), "test-model-7", "anthropic: model");
		ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "stream")),
		   "anthropic: stream true");
		ok(cJSON_IsNumber(mt) && mt->valueint == 555, "anthropic: max_tokens 555");
		ok(jstr(body, "system", NULL) && strstr(jstr(body, "system", NULL), "Mermaid"),
		   "anthropic: system prompt as top-level system");
		ok(cJSON_GetArraySize(msgs) == 1 && user &&
		       !strncmp(user, "Page: Architecture\n", 19),
		   "anthropic: one user message with the page");
		cJSON_Delete(reqs);
	}

	one(&backend_anthropic, "anthropic", "[\"multiblock\"]", ex, 1, &b);
	ok(b.r == 0 && !strcmp(buf_str(&a.out), buf_str(&b.out)),
	   "anthropic stream: two text blocks joined");
	buf_done(&b.out);
	one(&backend_anthropic, "anthropic", "[\"json_multiblock\"]", ex, 1, &b);
	ok(b.r == 0 && !strcmp(buf_str(&a.out), buf_str(&b.out)) && b.usage.input_tokens == 123 &&
	       b.usage.output_tokens == 45,
	   "anthropic json answer: blocks joined, usage parsed (%s)", b.err.e.msg);
	buf_done(&b.out);
	buf_done(&a.out);

	one(&backend_anthropic, "anthropic", "[\"sse_error\"]", ex, 1, &a);
	ok(a.r < 0 && a.err.retryable && !a.err.budget && a.out.len == 0 &&
	       strstr(a.err.e.msg, "overloaded_error"),
	   "anthropic sse error mid-stream: retryable, no half page (%d: %s)", a.r, a.err.e.msg);
	ok(a.usage.input_tokens == 123, "anthropic sse error: usage still counted");
	buf_done(&a.out);
	one(&backend_anthropic, "anthropic", "[\"sse_truncated\"]", ex, 1, &a);
	ok(a.r < 0 && a.err.retryable && a.out.len == 0 && strstr(a.err.e.msg, "message_stop"),
	   "anthropic stream without message_stop: retryable (%s)", a.err.e.msg);
	buf_done(&a.out);

	static const char *const retry_modes[] = { "500", "529", "malformed", "reset", "empty" };
	for (size_t i = 0; i < ARRAY_SIZE(retry_modes); i++) {
		char s[64];

		snprintf(s, sizeof(s), "[\"%s\"]", retry_modes[i]);
		one(&backend_anthropic, "anthropic", s, ex, 1, &a);
		ok(a.r < 0 && a.err.retryable && !a.err.budget,
		   "anthropic %s: retryable failure (%d: %s)", retry_modes[i], a.r, a.err.e.msg);
		buf_done(&a.out);
	}
	one(&backend_anthropic, "anthropic", "[{\"mode\":\"429\",\"retry_after\":2}]", ex, 1, &a);
	ok(a.err.retryable && a.err.retry_after_ms == 2000,
	   "anthropic 429 Retry-After 2 -> 2000 ms");
	buf_done(&a.out);
	one(&backend_anthropic, "anthropic", "[\"401\"]", ex, 1, &a);
	ok(a.r == -EACCES && !a.err.retryable && no_secret(a.err.e.msg),
	   "anthropic 401: not retryable, no key in '%s'", a.err.e.msg);
	buf_done(&a.out);
	one(&backend_anthropic, "anthropic", "[\"credit_balance\"]", ex, 1, &a);
	ok(a.r == -EDQUOT && a.err.budget && !a.err.retryable,
	   "anthropic credit balance: budget, not retryable (%s)", a.err.e.msg);
	buf_done(&a.out);
	one(&backend_anthropic, "anthropic", "[\"hang\"]", ex, 1, &a);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms < 4000,
	   "anthropic hang, timeout=2: -ETIMEDOUT after %lld ms", (long long)a.ms);
	buf_done(&a.out);
	one(&backend_anthropic, "anthropic", "[{\"mode\":\"trickle\",\"interval_ms\":300}]", ex, 1,
	    &a);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms < 4000,
	   "anthropic trickling stream, timeout=2: -ETIMEDOUT after %lld ms", (long long)a.ms);
	buf_done(&a.out);
}

/* An SSE stream of two text blocks, usage in message_start and message_delta. */
static const char stream_ok[] =
    ": a comment\r\n"
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
    "\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello, \"}}\n\n"
    "event: ping\n"
    "data: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"world\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

static const char stream_error[] =
    "event: error\n"
    "data: {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
    "\"message\":\"bad key sk-abcdefgh12\"}}\n\n";
static const char json_ok[] = "{\"content\":[{\"type\":\"text\",\"text\":\"A\"}]}";

/* anthropic_wire without the network: any cut of a stream gives the same page. */
static void test_wire(void)
{
	size_t n = strlen(stream_ok), cut = strstr(stream_ok, "event: message_stop") - stream_ok;
	static const size_t chunks[] = { 0, 1, 2, 7, 64 };
	struct gen_usage u;
	struct gen_err e = { 0 };
	struct buf out;
	int r;

	ok(anthropic_wire.stream_new && !strcmp(anthropic_wire.path, "/v1/messages") &&
	       !strcmp(anthropic_wire.key_header, "x-api-key: "),
	   "anthropic wire: streams from /v1/messages, key in x-api-key");
	buf_init(&out, 1 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		u = (struct gen_usage){ 0 };
		buf_reset(&out);
		r = llm_wire_parse(&anthropic_wire, stream_ok, n, true, chunks[i], &out, &u, &e);
		ok(r == 0 && !strcmp(buf_str(&out), "Hello, world") && u.input_tokens == 15 &&
		       u.output_tokens == 9,
		   "anthropic wire: stream fed %zu bytes at a time -> the page, usage 15/9 (%s)",
		   chunks[i], e.e.msg);
	}
	buf_reset(&out);
	buf_adds(&out, "before|");
	r = llm_wire_parse(&anthropic_wire, stream_ok, cut, true, 3, &out, &u, &e);
	ok(r == -ECONNRESET && e.retryable && !strcmp(buf_str(&out), "before|"),
	   "anthropic wire: a stream cut before message_stop -> retryable, no half page (%s)",
	   e.e.msg);
	r = llm_wire_parse(&anthropic_wire, stream_error, strlen(stream_error), true, 0, &out, &u,
			   &e);
	ok(r == -EACCES && !e.retryable && strstr(e.e.msg, "authentication_error") &&
	       !strstr(e.e.msg, "sk-abcdefgh12"),
	   "anthropic wire: an error event is classified as its status, key-like text redacted "
	   "(%s)",
	   e.e.msg);
	r = llm_wire_parse(&anthropic_wire, json_ok, strlen(json_ok), false, 0, &out, &u, &e);
	ok(r == 0 && !strcmp(buf_str(&out), "before|A"), "anthropic wire: a JSON answer (%s)",
	   e.e.msg);
	buf_done(&out);
}

int main(void)
{
	test_wire();
	if (!fake_started())
		return done_testing();
	test_anthropic();
	return done_testing();
}
