/* SPDX-License-Identifier: MIT */
/*
 * gen/http.c without the network: Retry-After, the one HTTP status -> errno
 * and retry classification, billing errors, redaction of URLs and keys, and
 * the one CURLcode -> errno map.
 */
#include "http.h"
#include "llm-fixture.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static void test_http_pure(void)
{
	struct gen_err e;
	struct http_response resp = { 0 };
	char s[256], date[64];
	time_t t = time(NULL) + 10;
	struct tm tm;
	int64_t v;
	int r;

	is_int(http_retry_after_ms("3", NULL, 0), 3000, "retry-after seconds");
	is_int(http_retry_after_ms("3", "1500", 0), 1500, "retry-after-ms wins");
	is_int(http_retry_after_ms(NULL, "250.7", 0), 250, "retry-after-ms fractional");
	is_int(http_retry_after_ms("soon", NULL, 0), 0, "garbage retry-after ignored");
	is_int(http_retry_after_ms("999999", NULL, 0), 3600000, "retry-after capped at 1 h");
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	v = http_retry_after_ms(date, NULL, time(NULL));
	ok(v >= 9000 && v <= 10000, "retry-after http-date: %lld ms", (long long)v);
	is_int(http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL, time(NULL)), 0,
	       "retry-after date in the past: 0");

	struct {
		long status;
		const char *body;
		bool retryable, budget;
		int err;
	} cases[] = {
		{ 400, "{\"error\":{\"message\":\"bad\"}}", false, false, -EINVAL },
		{ 401, NULL, false, false, -EACCES },
		{ 403, NULL, false, false, -EPERM },
		{ 404, NULL, false, false, -ENOENT },
		{ 408, NULL, true, false, -ETIMEDOUT },
		{ 409, NULL, true, false, -EBUSY },
		{ 413, NULL, false, false, -E2BIG },
		{ 429, "{\"error\":{\"code\":\"rate_limit_exceeded\"}}", true, false, -EAGAIN },
		{ 429, "{\"error\":{\"code\":\"insufficient_quota\"}}", false, true, -EDQUOT },
		{ 400, "Your credit balance is too low", false, true, -EDQUOT },
		{ 400, "{\"error\":{\"message\":\"monthly spend limit reached\"}}", false, true,
		  -EDQUOT },
		/* OpenAI's free-tier rate limit points at the billing page: still a rate limit */
		{ 429,
		  "{\"error\":{\"message\":\"Rate limit reached for requests. Visit "
		  "https://platform.openai.com/account/billing to add a payment method.\","
		  "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
		  true, false, -EAGAIN },
		{ 402, NULL, false, true, -EDQUOT },
		{ 400,
		  "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":"
		  "\"x\"}}",
		  false, true, -EDQUOT },
		{ 429,
		  "{\"error\":{\"type\":\"insufficient_quota\",\"message\":\"You exceeded "
		  "your current quota, please check your plan and billing details.\"}}",
		  false, true, -EDQUOT },
		{ 500, NULL, true, false, -EIO },
		{ 502, NULL, true, false, -EIO },
		{ 503, NULL, true, false, -EAGAIN },
		{ 529, NULL, true, false, -EBUSY },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		r = http_classify(cases[i].status, cases[i].body, NULL, "http://h/v1", NULL, &e);
		ok(r == cases[i].err && e.retryable == cases[i].retryable &&
		       e.budget == cases[i].budget,
		   "classify %ld %s: %d retryable=%d budget=%d (%s)", cases[i].status,
		   cases[i].body ? cases[i].body : "", r, e.retryable, e.budget, e.e.msg);
	}
	snprintf(resp.should_retry, sizeof(resp.should_retry), "false");
	http_classify(500, NULL, &resp, "http://h", NULL, &e);
	ok(!e.retryable, "x-should-retry: false overrules 500");
	snprintf(resp.should_retry, sizeof(resp.should_retry), "true");
	http_classify(400, NULL, &resp, "http://h", NULL, &e);
	ok(e.retryable, "x-should-retry: true overrules 400");

	http_url_redact("https://user:pw@api.example.com/v1/chat?api-key=zzz#f", s, sizeof(s));
	is_str(s, "https://api.example.com/v1/chat", "url redacted of userinfo and query");
	snprintf(s, sizeof(s), "Incorrect API key provided: sk-abc1*********wxyz. key %s end",
		 SECRET);
	http_text_redact(s, sizeof(s), SECRET);
	ok(no_secret(s) && !strstr(s, "sk-abc1") && strstr(s, "end"), "text redacted: %s", s);
	http_classify(401, "{\"error\":{\"message\":\"bad key " SECRET "\"}}", NULL,
		      "https://u:" SECRET "@h/v1?key=" SECRET, SECRET, &e);
	ok(no_secret(e.e.msg), "classify message has no key: %s", e.e.msg);

	is_int(http_curl_errno(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT, "curl timeout -> ETIMEDOUT");
	is_int(http_curl_errno(CURLE_ABORTED_BY_CALLBACK), -ECANCELED, "curl abort -> ECANCELED");
	is_int(http_curl_errno(CURLE_COULDNT_CONNECT), -ECONNREFUSED, "refused -> ECONNREFUSED");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_http_pure();
	return done_testing();
}
