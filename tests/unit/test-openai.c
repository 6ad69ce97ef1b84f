/* SPDX-License-Identifier: MIT */
/*
 * backend = openai (gen/openai.c through gen/llm.c) against the fake LLM
 * server: the request it sends, usage, and every fault the fake can play
 * (429 with each form of Retry-After, 5xx, malformed, truncated, reset,
 * empty, 401, quota, hang, trickle, latency); and the wire description's
 * parser alone, as the fuzz harness drives it.
 */
#include "backend.h"
#include "llm-fixture.h"
#include "openai.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

static void check_openai_request(void)
{
	cJSON *reqs = fake_requests(), *rq = cJSON_GetArrayItem(reqs, 0);
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(rq, "body");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens");
	const char *user = jstr(cJSON_GetArrayItem(msgs, 1), "content", NULL);

	is_int(cJSON_GetArraySize(reqs), 1, "openai: one request");
	is_str(jstr(rq, "path", NULL), "/v1/chat/completions", "openai: path");
	is_str(jstr(rq, "headers", "authorization"), "Bearer " SECRET, "openai: bearer key");
	is_str(jstr(rq, "headers", "content-type"), "application/json", "openai: content-type");
	is_str(jstr(body, "model", NULL), "test-model-7", "openai: model");
	is_int(cJSON_GetArraySize(msgs), 2, "openai: two messages");
	is_str(jstr(cJSON_GetArrayItem(msgs, 0), "role", NULL), "system", "openai: system first");
	is_str(jstr(cJSON_GetArrayItem(msgs, 1), "role", NULL), "user", "openai: then user");
	ok(user && !strncmp(user, "Page: Architecture\n", 19),
	   "openai: user prompt starts with the page");
	ok(cJSON_IsNumber(mt) && mt->valueint == 777, "openai: max_completion_tokens = 777");
	ok(!cJSON_GetObjectItemCaseSensitive(body, "max_tokens"), "openai: no max_tokens field");
	{
		char *txt = cJSON_PrintUnformatted(body);

		ok(txt && !strstr(txt, SECRET), "openai: key not in the body");
		free(txt);
	}
	cJSON_Delete(reqs);
}

static void test_openai(void)
{
	const char *ex[] = { "generator.max_tokens_field=max_completion_tokens",
			     "generator.max_tokens=777", "generator.timeout=2", NULL };
	const char *ex30[] = { "generator.timeout=30", NULL };
	struct attempt a;

	setenv(KEYVAR, SECRET, 1);
	one(&backend_openai, "openai", NULL, ex, 1, &a);
	is_int(a.r, 0, "openai normal: ok (%s)", a.err.e.msg);
	ok(strstr(buf_str(&a.out), "# Architecture\n") &&
	       strstr(buf_str(&a.out), "model test-model-7"),
	   "openai normal: page echoes title and model");
	ok(a.usage.input_tokens == 123 && a.usage.output_tokens == 45, "openai usage 123/45");
	check_openai_request();
	buf_done(&a.out);

	unsetenv(KEYVAR);
	one(&backend_openai, "openai", NULL, ex, 0, &a);
	{
		cJSON *reqs = fake_requests();

		ok(a.r == 0 && !jstr(cJSON_GetArrayItem(reqs, 0), "headers", "authorization"),
		   "openai without a key: no Authorization header");
		cJSON_Delete(reqs);
	}
	buf_done(&a.out);
	setenv(KEYVAR, SECRET, 1);

	one(&backend_openai, "openai", "[{\"mode\":\"429\",\"retry_after\":3}]", ex, 1, &a);
	ok(a.r == -EAGAIN && a.err.retryable && !a.err.budget && a.err.retry_after_ms == 3000,
	   "openai 429 Retry-After: 3 -> retryable, 3000 ms (%lld, %s)",
	   (long long)a.err.retry_after_ms, a.err.e.msg);
	buf_done(&a.out);
	one(&backend_openai, "openai", "[{\"mode\":\"429\",\"retry_after_ms\":1500}]", ex, 1, &a);
	ok(a.err.retryable && a.err.retry_after_ms == 1500, "openai 429 retry-after-ms 1500");
	buf_done(&a.out);
	one(&backend_openai, "openai", "[{\"mode\":\"429\",\"retry_after_date\":8}]", ex, 1, &a);
	ok(a.err.retryable && a.err.retry_after_ms >= 6000 && a.err.retry_after_ms <= 8000,
	   "openai 429 Retry-After http-date: %lld ms", (long long)a.err.retry_after_ms);
	buf_done(&a.out);

	static const char *const retry_modes[] = { "500",	"503",	 "529",	 "malformed",
						   "truncated", "reset", "empty" };
	for (size_t i = 0; i < ARRAY_SIZE(retry_modes); i++) {
		char s[64];

		snprintf(s, sizeof(s), "[\"%s\"]", retry_modes[i]);
		one(&backend_openai, "openai", s, ex, 1, &a);
		ok(a.r < 0 && a.err.retryable && !a.err.budget && a.out.len == 0,
		   "openai %s: retryable failure (%d: %s)", retry_modes[i], a.r, a.err.e.msg);
		buf_done(&a.out);
	}
	one(&backend_openai, "openai", "[\"401\"]", ex, 1, &a);
	ok(a.r == -EACCES && !a.err.retryable && !a.err.budget, "openai 401: not retryable");
	ok(no_secret(a.err.e.msg) && strstr(a.err.e.msg, "401"), "openai 401: key redacted: %s",
	   a.err.e.msg);
	buf_done(&a.out);
	one(&backend_openai, "openai", "[\"insufficient_quota\"]", ex, 1, &a);
	ok(a.r == -EDQUOT && !a.err.retryable && a.err.budget,
	   "openai insufficient_quota: budget, not retryable (%s)", a.err.e.msg);
	buf_done(&a.out);
	one(&backend_openai, "openai", "[\"length\"]", ex, 1, &a);
	ok(a.r == 0 && strstr(buf_str(&a.out), "# Architecture"),
	   "openai finish_reason length: content kept");
	buf_done(&a.out);

	one(&backend_openai, "openai", "[\"hang\"]", ex, 1, &a);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms >= 1500 && a.ms < 4000,
	   "openai hang, timeout=2: -ETIMEDOUT retryable after %lld ms", (long long)a.ms);
	buf_done(&a.out);
	one(&backend_openai, "openai", "[{\"mode\":\"trickle\",\"interval_ms\":100}]", ex, 1, &a);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms < 4000,
	   "openai trickle, timeout=2: -ETIMEDOUT after %lld ms", (long long)a.ms);
	buf_done(&a.out);
	one(&backend_openai, "openai", "[{\"mode\":\"latency\",\"ms\":300}]", ex30, 1, &a);
	ok(a.r == 0 && a.ms >= 300, "openai latency 300 ms: ok after %lld ms", (long long)a.ms);
	buf_done(&a.out);
}

/* openai_wire without the network: the page, usage, and nothing left on failure. */
static void test_wire(void)
{
	static const char good[] = "{\"choices\":[{\"message\":{\"content\":\"# Page\\n\"},"
				   "\"finish_reason\":\"stop\"}],"
				   "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1e400}}";
	static const char *const bad[] = { "{\"choices\":[{\"message\":{\"content\":\"x\"}}]",
					   "{\"choices\":[]}",
					   "{\"choices\":[{\"message\":{\"content\":\"\"}}]}" };
	static const int bad_r[] = { -EBADMSG, -EBADMSG, -ENODATA };
	struct gen_usage u = { 0 };
	struct gen_err e = { 0 };
	struct buf out;
	int r;

	ok(openai_wire.stream_new == NULL && !strcmp(openai_wire.path, "/chat/completions") &&
	       !strcmp(openai_wire.key_header, "Authorization: Bearer "),
	   "openai wire: one JSON answer from /chat/completions, key as a bearer token");
	buf_init(&out, 1 << 20);
	buf_adds(&out, "before|");
	r = llm_wire_parse(&openai_wire, good, strlen(good), false, 0, &out, &u, &e);
	ok(r == 0 && !strcmp(buf_str(&out), "before|# Page\n") && u.input_tokens == 7 &&
	       u.output_tokens == 0,
	   "openai wire: page appended, usage read, 1e400 tokens counted as 0 (%s)", e.e.msg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = llm_wire_parse(&openai_wire, bad[i], strlen(bad[i]), false, 0, &out, &u, &e);
		ok(r == bad_r[i] && e.retryable && !strcmp(buf_str(&out), "before|# Page\n") &&
		       strstr(e.e.msg, "'openai'"),
		   "openai wire: '%s' -> %d, retryable, nothing appended (%s)", bad[i], r, e.e.msg);
	}
	r = llm_wire_parse(&openai_wire, good, strlen(good), true, 1, &out, &u, &e);
	ok(r == -EINVAL, "openai wire: no stream parser (%s)", e.e.msg);
	buf_done(&out);
}

int main(void)
{
	test_wire();
	if (!fake_started())
		return done_testing();
	test_openai();
	return done_testing();
}
