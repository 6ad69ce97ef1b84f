/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the LLM side of gen/: http classification, the openai,
 * anthropic and command backends against tests/fake_llm.py on 127.0.0.1,
 * prompts, the LLM planner, the rate limiter and the breaker.
 *
 * The fake server is started once (python3 tests/fake_llm.py, found through
 * $WIKIFS_SRCDIR) and scripted per test through POST /_script; what the
 * backends sent is read back from GET /_requests. Waits are on conditions
 * (a recorded request, a pid file, a waiter count) with deadlines, never a
 * fixed sleep.
 */
#include "backend.h"
#include "conf.h"
#include "facts.h"
#include "http.h"
#include "llm.h"
#include "llm_planner.h"
#include "plan.h"
#include "proctree.h"
#include "prompt.h"
#include "ratelimit.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <cJSON.h>
#include <curl/curl.h>

extern char **environ;

#define SECRET "sk-test-secret-0123456789abcdefXYZ"
#define KEYVAR "WIKIFS_TEST_LLM_KEY"

static pid_t fake_pid = -1;
static int fake_port;
static char tmpdir[] = "/tmp/wikifs-test-llm.XXXXXX";

/* ---- fake facts: a tiny repository in memory -------------------------- */

/*
 * cache/facts.c (libgit2) may not be linked into this test; these weak
 * definitions stand in for it. If a real facts.o is linked, its strong
 * symbols win, the fake struct below would be wrong for them, and the
 * tests that need facts are skipped (checked with fake_facts_active()).
 */
struct repo_facts {
	int magic;
	size_t n;
	struct facts_file files[8];
	const char *contents[8];
	size_t nh;
	struct facts_commit hist[4];
};

#define FAKE_MAGIC 0x7e57fac7

static size_t fake_facts_files(const struct repo_facts *f, const struct facts_file **ret)
{
	*ret = f->files;
	return f->n;
}

static size_t fake_facts_history(const struct repo_facts *f, const struct facts_commit **ret)
{
	*ret = f->hist;
	return f->nh;
}

static int fake_facts_read_file(const struct repo_facts *f, const char *path, size_t max,
				struct buf *out)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->files[i].path, path))
			return buf_add(out, f->contents[i], MIN(max, strlen(f->contents[i])));
	return -ENOENT;
}

static const char *fake_facts_commit_id(const struct repo_facts *f)
{
	return "abc123";
}

size_t facts_files(const struct repo_facts *f, const struct facts_file **ret)
    __attribute__((weak, alias("fake_facts_files")));
size_t facts_history(const struct repo_facts *f, const struct facts_commit **ret)
    __attribute__((weak, alias("fake_facts_history")));
int facts_read_file(const struct repo_facts *f, const char *path, size_t max, struct buf *out)
    __attribute__((weak, alias("fake_facts_read_file")));
const char *facts_commit_id(const struct repo_facts *f)
    __attribute__((weak, alias("fake_facts_commit_id")));

static bool fake_facts_active(void)
{
	return (void *)facts_files == (void *)fake_facts_files &&
	       (void *)facts_read_file == (void *)fake_facts_read_file;
}

/* ---- the fake server -------------------------------------------------- */

static void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
		fake_pid = -1;
	}
}

static int fake_start(void)
{
	const char *src = getenv("WIKIFS_SRCDIR"), *py = getenv("PYTHON3");
	char script[4096], line[32];
	char *argv[4];
	posix_spawn_file_actions_t fa;
	int p[2], r;
	size_t n = 0;

	if (!src)
		src = ".";
	if (!py || !*py)
		py = "python3";
	snprintf(script, sizeof(script), "%s/tests/fake_llm.py", src);
	argv[0] = (char *)py;
	argv[1] = script;
	argv[2] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	r = posix_spawnp(&fake_pid, py, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return -r;
	}
	/* the first line is the port */
	while (n < sizeof(line) - 1) {
		ssize_t k = read(p[0], line + n, 1);

		if (k <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(p[0]);
	fake_port = atoi(line);
	return fake_port > 0 ? 0 : -EIO;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *p)
{
	return buf_add(p, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* A control request to the fake; the answer in @out (may be NULL). */
static int fake_ctl(const char *path, const char *post, struct buf *out)
{
	char url[256];
	CURL *c = curl_easy_init();
	struct buf tmp;
	CURLcode rc;

	buf_init(&tmp, 64 << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fake_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &tmp);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	buf_done(&tmp);
	return rc == CURLE_OK ? 0 : -EIO;
}

static void fake_script(const char *json)
{
	fake_ctl("/_reset", "", NULL);
	if (json)
		fake_ctl("/_script", json, NULL);
}

/* The recorded requests (caller frees with cJSON_Delete). */
static cJSON *fake_requests(void)
{
	struct buf b;
	cJSON *j;

	buf_init(&b, 64 << 20);
	fake_ctl("/_requests", NULL, &b);
	j = cJSON_Parse(buf_str(&b));
	buf_done(&b);
	return j;
}

static int fake_nrequests(void)
{
	cJSON *j = fake_requests();
	int n = cJSON_GetArraySize(j);

	cJSON_Delete(j);
	return n;
}

/* Waits (polling the condition, bounded) until the fake recorded @n requests. */
static bool wait_requests(int n, int64_t max_ms)
{
	int64_t end = now_ms() + max_ms;

	while (now_ms() < end) {
		if (fake_nrequests() >= n)
			return true;
		sched_yield();
	}
	return false;
}

static const char *jstr(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- fixtures ------------------------------------------------------------ */

static struct conf *make_conf(const char *backend, const char *const *extra)
{
	char *ov[32];
	size_t n = 0;
	struct conf *c = NULL;
	struct buf errs;

	buf_init(&errs, 1 << 16);
	if (asprintf(&ov[n++], "generator.backend=%s", backend) < 0)
		abort();
	if (strcmp(backend, "command")) {
		if (asprintf(&ov[n++], "generator.base_url=http://127.0.0.1:%d%s", fake_port,
			     !strcmp(backend, "openai") ? "/v1" : "") < 0)
			abort();
		ov[n++] = strdup("generator.model=test-model-7");
		ov[n++] = strdup("generator.api_key_env=" KEYVAR);
	}
	for (size_t i = 0; extra && extra[i]; i++)
		ov[n++] = strdup(extra[i]);
	if (conf_load(&c, NULL, ov, n, &errs) < 0) {
		diag("conf_load: %s", buf_str(&errs));
		c = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(ov[i]);
	buf_done(&errs);
	return c;
}

static struct plan *make_plan(void)
{
	struct plan *p;

	if (plan_new(&p, "abc123", "builtin") < 0)
		abort();
	plan_add(p, "Home", "Home", PAGE_HOME, NULL);
	plan_add(p, "Architecture", "Architecture", PAGE_ARCHITECTURE, NULL);
	plan_add(p, "Module-src-core", "Module src/core", PAGE_MODULE, "src/core");
	plan_add(p, "_Sidebar", "Sidebar", PAGE_SIDEBAR, NULL);
	return p;
}

static struct gen_request make_req(struct plan *p, int page)
{
	return (struct gen_request){
		.repo_name = "owner/repo",
		.url = "https://example.org/owner/repo.git",
		.commit = "abc123",
		.plan = p,
		.page = &p->pages[page],
	};
}

/* One backend instance with one worker, as the pool would hold them. */
struct be {
	const struct backend_ops *ops;
	struct conf *c;
	void *state, *wstate;
};

static bool be_open(struct be *be, const struct backend_ops *ops, const char *name,
		    const char *const *extra)
{
	struct wf_err e = { { 0 } };

	be->ops = ops;
	be->c = make_conf(name, extra);
	be->state = be->wstate = NULL;
	if (!be->c)
		return false;
	if (ops->init(&be->state, be->c, &e) < 0) {
		diag("init: %s", e.msg);
		return false;
	}
	return ops->worker_init(be->state, &be->wstate) == 0;
}

static void be_close(struct be *be)
{
	if (be->state) {
		be->ops->worker_done(be->state, be->wstate);
		be->ops->done(be->state);
	}
	conf_free(be->c);
}

struct attempt {
	int r;
	struct buf out;
	struct gen_usage usage;
	struct gen_err err;
	int64_t ms;
};

static void attempt_run(struct be *be, const struct gen_request *req, struct attempt *a)
{
	int64_t t0 = now_ms();

	memset(a, 0, sizeof(*a));
	buf_init(&a->out, PAGE_MAX_BYTES);
	a->r = be->ops->generate(be->state, be->wstate, req, &a->out, &a->usage, &a->err);
	a->ms = now_ms() - t0;
}

/* Runs one attempt of @name with the fake scripted by @script. */
static void one(const struct backend_ops *ops, const char *name, const char *script,
		const char *const *extra, int page, struct attempt *a)
{
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, page);
	struct be be;

	fake_script(script);
	memset(a, 0, sizeof(*a));
	buf_init(&a->out, PAGE_MAX_BYTES);
	if (!be_open(&be, ops, name, extra)) {
		a->r = -999;
	} else {
		buf_done(&a->out);
		attempt_run(&be, &req, a);
	}
	be_close(&be);
	plan_unref(p);
}

static bool no_secret(const char *s)
{
	return !strstr(s, SECRET) && !strstr(s, "sk-fake-abcdefgh") &&
	       !strstr(s, "0123456789abcdef");
}

/* ---- http --------------------------------------------------------------- */

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

/* ---- openai ------------------------------------------------------------- */

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

/* ---- abort during a hang ------------------------------------------------- */

struct bg {
	struct be *be;
	const struct gen_request *req;
	struct attempt a;
	int64_t end;
};

static void *bg_run(void *p)
{
	struct bg *bg = p;

	attempt_run(bg->be, bg->req, &bg->a);
	bg->end = now_ms();
	return NULL;
}

static void test_abort(const struct backend_ops *ops, const char *name)
{
	const char *ex[] = { "generator.timeout=60", NULL };
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct bg bg = { 0 };
	struct be be;
	pthread_t t;
	int64_t t_abort;

	fake_script("[\"hang\"]");
	if (!be_open(&be, ops, name, ex)) {
		ok(0, "%s abort: backend opens", name);
		goto out;
	}
	bg.be = &be;
	bg.req = &req;
	pthread_create(&t, NULL, bg_run, &bg);
	ok(wait_requests(1, 10000), "%s abort: request reached the server", name);
	t_abort = now_ms();
	ops->abort(be.state);
	pthread_join(t, NULL);
	ok(bg.a.r == -ECANCELED && bg.end - t_abort < 1500,
	   "%s abort during a hang: -ECANCELED %lld ms after abort() (%s)", name,
	   (long long)(bg.end - t_abort), bg.a.err.e.msg);
	diag("%s abort latency: %lld ms", name, (long long)(bg.end - t_abort));
	buf_done(&bg.a.out);
	{
		struct attempt a;

		attempt_run(&be, &req, &a);
		ok(a.r == -ECANCELED && a.ms < 100, "%s: generate after abort fails at once", name);
		buf_done(&a.out);
	}
out:
	be_close(&be);
	plan_unref(p);
}

/* ---- anthropic ---------------------------------------------------------- */

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

static void test_refused(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;
	char url[128];
	const char *ex[3] = { url, "generator.timeout=5", NULL };
	struct attempt a;

	/* a port that was free a moment ago: nothing listens there */
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(s, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(s);
	snprintf(url, sizeof(url), "generator.base_url=http://127.0.0.1:%d/v1", port);
	one(&backend_openai, "openai", NULL, ex, 1, &a);
	ok(a.r == -ECONNREFUSED && a.err.retryable, "connection refused: retryable (%s)",
	   a.err.e.msg);
	buf_done(&a.out);
}

/*
 * Out of descriptors, curl cannot open its socket and says only "couldn't
 * connect": the transfer must come back as a retryable -EMFILE that says so.
 */
static void test_no_descriptors(void)
{
	const char *ex[] = { "generator.timeout=5", NULL };
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct rlimit old, low;
	struct attempt a = { 0 };
	struct be be;
	int fds[256], n = 0;

	if (!be_open(&be, &backend_openai, "openai", ex)) {
		ok(0, "no descriptors: backend opens");
		goto out;
	}
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = MIN(old.rlim_cur, 256);
	setrlimit(RLIMIT_NOFILE, &low);
	while (n < (int)ARRAY_SIZE(fds) && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	attempt_run(&be, &req, &a);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	ok(a.r == -EMFILE && a.err.retryable && strstr(a.err.e.msg, "cannot open a socket") &&
	       strstr(a.err.e.msg, strerror(EMFILE)),
	   "no descriptor for a socket: retryable -EMFILE that says so (%s)", a.err.e.msg);
	buf_done(&a.out);
out:
	be_close(&be);
	plan_unref(p);
}

/* ---- breaker through a backend ------------------------------------------- */

static void test_backend_breaker(void)
{
	const char *ex[] = { "generator.timeout=5", NULL };
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct ratelimit_status st[8];
	struct attempt a;
	struct be be;
	size_t n;
	bool found = false;

	fake_script("[\"500\",\"500\",\"500\",\"500\",\"500\",\"normal\"]");
	if (!be_open(&be, &backend_openai, "openai", ex)) {
		ok(0, "breaker: backend opens");
		goto out;
	}
	for (int i = 0; i < LLM_BREAKER_THRESHOLD; i++) {
		attempt_run(&be, &req, &a);
		buf_done(&a.out);
	}
	attempt_run(&be, &req, &a);
	ok(a.r == -EAGAIN && a.err.retryable && a.err.retry_after_ms > 20000 &&
	       strstr(a.err.e.msg, "paused"),
	   "breaker open after %d failures: refused, retry after %lld ms (%s)",
	   LLM_BREAKER_THRESHOLD, (long long)a.err.retry_after_ms, a.err.e.msg);
	is_int(fake_nrequests(), LLM_BREAKER_THRESHOLD, "breaker: refused attempt sent nothing");
	buf_done(&a.out);
	n = ratelimit_status_all(st, ARRAY_SIZE(st));
	for (size_t i = 0; i < n && i < ARRAY_SIZE(st); i++)
		if (strstr(st[i].name, "127.0.0.1") && st[i].open && st[i].open_until_wall > 0)
			found = true;
	ok(found, "breaker: progress can see the provider open until a time");
out:
	be_close(&be);
	plan_unref(p);
}

/* ---- command -------------------------------------------------------------- */

static bool gone(pid_t pid)
{
	char path[64], st[512];
	int64_t end = now_ms() + 2000;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (now_ms() < end) {
		FILE *f = fopen(path, "r");
		char *rp;

		if (!f)
			return true;
		rp = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
		fclose(f);
		if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
			return true; /* dead, waiting for init to reap it */
		sched_yield();
	}
	return false;
}

static pid_t read_pid(const char *path)
{
	char s[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(s, sizeof(s), f))
		s[0] = '\0';
	fclose(f);
	return atoi(s) > 0 ? atoi(s) : -1;
}

static void cmd_run(const char *cmdline, const char *timeout, struct plan *p, int page,
		    struct attempt *a)
{
	char *c1 = NULL, *c2 = NULL;
	const char *ex[3];
	struct gen_request req = make_req(p, page);
	struct be be;

	if (asprintf(&c1, "generator.command=%s", cmdline) < 0 ||
	    asprintf(&c2, "generator.timeout=%s", timeout) < 0)
		abort();
	ex[0] = c1;
	ex[1] = c2;
	ex[2] = NULL;
	memset(a, 0, sizeof(*a));
	if (!be_open(&be, &backend_command, "command", ex)) {
		a->r = -999;
		buf_init(&a->out, 1);
	} else {
		attempt_run(&be, &req, a);
	}
	be_close(&be);
	free(c1);
	free(c2);
}

static void test_command(void)
{
	struct plan *p = make_plan(), *big;
	struct attempt a;
	char cmd[1024], pidfile[128], pidfile2[128];
	pid_t pid, pid2;
	int st;

	cmd_run("cat", "10", p, 1, &a);
	ok(a.r == 0 && strstr(buf_str(&a.out), "Page: Architecture\n") &&
	       strstr(buf_str(&a.out), "Mermaid"),
	   "command cat: the prompt reaches stdin, stdout is the page (%s)", a.err.e.msg);
	buf_done(&a.out);

	cmd_run("printf '%s|%s|%s' \"$WIKIFS_REPO\" \"$WIKIFS_PAGE\" \"$WIKIFS_COMMIT\"", "10", p,
		2, &a);
	is_str(buf_str(&a.out), "owner/repo|Module-src-core|abc123",
	       "command: WIKIFS_REPO, WIKIFS_PAGE, WIKIFS_COMMIT in the environment");
	buf_done(&a.out);

	cmd_run("echo partial; echo oops-on-stderr >&2; exit 3", "10", p, 1, &a);
	ok(a.r < 0 && a.err.retryable && strstr(a.err.e.msg, "status 3") &&
	       strstr(a.err.e.msg, "oops-on-stderr") && a.out.len == 0,
	   "command exit 3: retryable error with the stderr tail (%s)", a.err.e.msg);
	buf_done(&a.out);

	cmd_run("head -c 3000 /dev/zero | tr '\\0' x >&2; echo THE-END >&2; exit 1", "10", p, 1,
		&a);
	ok(a.r < 0 && strstr(a.err.e.msg, "THE-END") && strlen(a.err.e.msg) < 511,
	   "command: only the last ~400 bytes of stderr (%zu bytes)", strlen(a.err.e.msg));
	buf_done(&a.out);

	cmd_run("cat >/dev/null; true", "10", p, 1, &a);
	ok(a.r == -ENODATA && a.err.retryable, "command: empty output is a retryable error");
	buf_done(&a.out);

	cmd_run("no-such-command-wikifs-test", "10", p, 1, &a);
	ok(a.r == -ENOENT && !a.err.retryable, "command not found (127): not retryable (%s)",
	   a.err.e.msg);
	buf_done(&a.out);

	cmd_run("exit 0", "10", p, 1, &a); /* never reads stdin: EPIPE must not kill us */
	ok(a.r == -ENODATA, "command that ignores stdin: no SIGPIPE, empty output error");
	buf_done(&a.out);

	/* timeout kills the whole group, and the shell is reaped */
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", tmpdir);
	snprintf(pidfile2, sizeof(pidfile2), "%s/sh.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 100 & echo $! > %s; sleep 100", pidfile2,
		 pidfile);
	cmd_run(cmd, "1", p, 1, &a);
	pid = read_pid(pidfile);
	pid2 = read_pid(pidfile2);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms >= 900 && a.ms < 2500,
	   "command timeout=1: -ETIMEDOUT retryable after %lld ms", (long long)a.ms);
	ok(pid > 0 && gone(pid), "command timeout: background child (pid %d) killed", (int)pid);
	ok(pid2 > 0 && waitpid(pid2, &st, WNOHANG) < 0 && errno == ECHILD && gone(pid2),
	   "command timeout: the shell was reaped, no zombie");
	buf_done(&a.out);

	/* the shell exits but leaves a child holding stdout: done, child killed */
	unlink(pidfile);
	snprintf(cmd, sizeof(cmd), "sleep 100 & echo $! > %s; echo done", pidfile);
	cmd_run(cmd, "20", p, 1, &a);
	pid = read_pid(pidfile);
	ok(a.r == 0 && !strcmp(buf_str(&a.out), "done\n") && a.ms < 3000,
	   "command leaving a background child: page after %lld ms", (long long)a.ms);
	ok(pid > 0 && gone(pid), "command: the background child was killed");
	buf_done(&a.out);

	/* big prompt in, big page out, at the same time: no deadlock */
	if (plan_new(&big, "abc123", "builtin") < 0)
		abort();
	for (int i = 0; i < PLAN_MAX_PAGES; i++) {
		char slug[64], title[320];

		snprintf(slug, sizeof(slug), "Page-%d-%s", i,
			 "padding-padding-padding-padding-padding");
		memset(title, 'T', 300);
		snprintf(title + 300, 20, "-%d", i);
		plan_add(big, slug, title, PAGE_CUSTOM, NULL);
	}
	cmd_run("head -c 2000000 /dev/zero | tr '\\0' a; wc -c", "20", big, 1, &a);
	ok(a.r == 0 && a.out.len > 2000000 && atol(buf_str(&a.out) + 2000000) > 65536,
	   "command: %ld-byte prompt and 2 MB page, no deadlock (%lld ms)",
	   a.r == 0 && a.out.len > 2000000 ? atol(buf_str(&a.out) + 2000000) : -1L,
	   (long long)a.ms);
	buf_done(&a.out);
	plan_unref(big);

	cmd_run("head -c 6000000 /dev/zero", "20", p, 1, &a);
	ok(a.r == -EFBIG && !a.err.retryable && a.out.len == 0,
	   "command output past PAGE_MAX_BYTES: -EFBIG, not retryable");
	buf_done(&a.out);
	plan_unref(p);
}

static void test_command_abort(void)
{
	char pidfile[128], cmd[1024], c1[1100];
	const char *ex[] = { c1, "generator.timeout=60", NULL };
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct bg bg = { 0 };
	struct be be;
	pthread_t t;
	int64_t t_abort, end;
	pid_t pid = -1;

	snprintf(pidfile, sizeof(pidfile), "%s/abort.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "sleep 100 & echo $! > %s.tmp; mv %s.tmp %s; wait", pidfile,
		 pidfile, pidfile);
	snprintf(c1, sizeof(c1), "generator.command=%s", cmd);
	if (!be_open(&be, &backend_command, "command", ex)) {
		ok(0, "command abort: backend opens");
		goto out;
	}
	bg.be = &be;
	bg.req = &req;
	pthread_create(&t, NULL, bg_run, &bg);
	for (end = now_ms() + 10000; now_ms() < end && pid < 0;) {
		pid = read_pid(pidfile);
		sched_yield();
	}
	t_abort = now_ms();
	backend_command.abort(be.state);
	pthread_join(t, NULL);
	ok(bg.a.r == -ECANCELED && bg.end - t_abort < 1000,
	   "command abort: -ECANCELED %lld ms after abort()", (long long)(bg.end - t_abort));
	diag("command abort latency: %lld ms", (long long)(bg.end - t_abort));
	ok(pid > 0 && gone(pid), "command abort: the group was killed");
	buf_done(&bg.a.out);
out:
	be_close(&be);
	plan_unref(p);
}

/* ---- prompts -------------------------------------------------------------- */

static void test_prompt(void)
{
	struct conf *c =
	    make_conf("builtin", (const char *const[]){ "generator.prompt_budget=4K", NULL });
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct buf sys, user;
	struct wf_err e = { { 0 } };
	static char big[20000];
	struct repo_facts f = {
		.magic = FAKE_MAGIC,
		.n = 5,
		.files = {
			{ "README.md", 30, "Markdown", 0 },
			{ "meson.build", 20, "Meson", 0 },
			{ "src/core/engine.c", 40, "C", 0 },
			{ "src/other/skip.c", 30, "C", 0 },
			{ "src/core/huge.c", sizeof(big) - 1, "C", 0 },
		},
		.contents = { "# Demo\nA demo project.\n", "project('demo', 'c')\n",
			      "int engine_start(void)\n{\n\treturn ```0;\n}\n", "int skip_me;\n",
			      big },
		.nh = 1,
		.hist = { { "abc123def456", "Ann Author", "ann@example.org", 1700000000,
			    "Add the engine\x1b[31m" } },
	};

	buf_init(&sys, 1 << 20);
	buf_init(&user, 1 << 20);
	ok(c && prompt_build(&req, c, &sys, &user, &e) == 0, "prompt without facts builds");
	ok(!strncmp(buf_str(&user), "Page: Architecture\n", 19), "prompt: first line is the page");
	ok(strstr(buf_str(&user), "[Home](Home.md)") &&
	       strstr(buf_str(&user), "[Module src/core](Module-src-core.md)"),
	   "prompt: sibling links in wiki form");
	ok(strstr(buf_str(&user), "abc123") &&
	       strstr(buf_str(&user), "https://example.org/owner/repo/blob/abc123/"),
	   "prompt: citations pinned to the commit");
	ok(strstr(buf_str(&sys), "Mermaid") && strstr(buf_str(&sys), "path:line"),
	   "system prompt asks for Mermaid and file:line citations");
	ok(strlen(PROMPT_VERSION) > 0 && !strcmp(backend_openai.prompt_version, PROMPT_VERSION) &&
	       !strcmp(backend_command.prompt_version, PROMPT_VERSION),
	   "backends use PROMPT_VERSION %s", PROMPT_VERSION);

	if (!fake_facts_active()) {
		ok(1, "# SKIP facts tests: a real facts.o is linked");
		goto out;
	}
	memset(big, 'z', sizeof(big) - 1);
	req.facts = &f;
	req.page = &p->pages[2]; /* Module src/core */
	buf_reset(&sys);
	buf_reset(&user);
	ok(prompt_build(&req, c, &sys, &user, &e) == 0, "module prompt with facts builds");
	ok(strstr(buf_str(&user), "### src/core/engine.c") &&
	       strstr(buf_str(&user), "    1  int engine_start(void)"),
	   "module prompt: the module's file, line-numbered");
	ok(!strstr(buf_str(&user), "### src/other/skip.c"),
	   "module prompt: other modules left out");
	ok(strstr(buf_str(&user), "````"), "module prompt: fence longer than the file's backticks");
	{
		const char *h = strstr(buf_str(&user), "### src/core/huge.c");
		const char *src = strstr(buf_str(&user), "\n## Source files");
		const char *end = strstr(buf_str(&user), "\nNow write the page");
		size_t zs = 0;

		for (const char *s = buf_str(&user); *s; s++)
			zs += *s == 'z';
		ok(h && zs > 0 && zs <= 4096 && strstr(h, "(first "),
		   "module prompt: huge file cut (%zu bytes of it)", zs);
		ok(src && end && end - src <= 4096 + 128,
		   "module prompt: sources within the 4K budget, line numbers counted (%zu)",
		   src && end ? (size_t)(end - src) : 0);
	}
	{
		/* a file of empty lines: numbering must not multiply the budget */
		static char nl[8000];
		struct repo_facts g = f;

		memset(nl, '\n', sizeof(nl) - 1);
		g.contents[4] = nl;
		g.files[4].size = sizeof(nl) - 1;
		req.facts = &g;
		buf_reset(&user);
		prompt_build(&req, c, &sys, &user, &e);
		const char *src = strstr(buf_str(&user), "\n## Source files");
		const char *end = strstr(buf_str(&user), "\nNow write the page");

		ok(src && end && end - src <= 4096 + 128,
		   "module prompt: short lines stay within the budget (%zu)",
		   src && end ? (size_t)(end - src) : 0);
		req.facts = &f;
	}
	ok(!strchr(buf_str(&user), '\x1b'), "prompt: control characters from history removed");

	req.page = &p->pages[0]; /* Home */
	buf_reset(&user);
	prompt_build(&req, c, &sys, &user, &e);
	ok(strstr(buf_str(&user), "### README.md") && strstr(buf_str(&user), "### meson.build") &&
	       !strstr(buf_str(&user), "### src/core/engine.c"),
	   "home prompt: README and manifests, not module sources");
out:
	buf_done(&sys);
	buf_done(&user);
	plan_unref(p);
	conf_free(c);
}

/* ---- LLM planner ---------------------------------------------------------- */

static bool plan_sane(const struct plan *p)
{
	if (p->n < 2 || p->n > PLAN_MAX_PAGES || strcmp(p->pages[0].slug, "Home") ||
	    strcmp(p->pages[p->n - 1].slug, "_Sidebar"))
		return false;
	for (size_t i = 0; i < p->n; i++) {
		const char *s = p->pages[i].slug;

		if (strchr(s, '/') || strstr(s, "..") || strlen(s) > PLAN_MAX_SLUG_LEN || !*s ||
		    s[0] == '.')
			return false;
		for (const char *c = s; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return false;
		for (const char *c = p->pages[i].title; *c; c++)
			if ((unsigned char)*c < 0x20)
				return false;
		for (size_t j = 0; j < i; j++)
			if (!strcasecmp(s, p->pages[j].slug))
				return false;
	}
	return true;
}

static void test_planner_parse(void)
{
	const char *good = "Here is the plan:\n```json\n{\"pages\": ["
			   "{\"title\": \"Storage Engine\", \"slug\": \"Storage-Engine\","
			   " \"description\": \"src/storage: pages and btrees\"},"
			   "{\"title\": \"Query Planner\"}]}\n```\n";
	struct plan *p = NULL;
	struct wf_err e = { { 0 } };
	struct buf hostile;
	int r;

	r = llm_plan_parse(&p, good, strlen(good), "abc123", "llm:m", &e);
	ok(r == 0 && p && p->n == 4, "planner: valid json in a fence -> 4 pages (%s)", e.msg);
	if (r == 0) {
		ok(!strcmp(p->pages[0].slug, "Home") && p->pages[0].kind == PAGE_HOME,
		   "planner: Home first");
		ok(!strcmp(p->pages[1].slug, "Storage-Engine") && p->pages[1].kind == PAGE_CUSTOM &&
		       p->pages[1].arg && !strcmp(p->pages[1].arg, "src/storage: pages and btrees"),
		   "planner: custom page with its description");
		ok(!strcmp(p->pages[2].slug, "Query-Planner"), "planner: slug from the title");
		ok(!strcmp(p->pages[3].slug, "_Sidebar"), "planner: _Sidebar last");
		is_str(p->planner, "llm:m", "planner name");
		ok(plan_sane(p), "planner: plan is sane");
	}
	plan_unref(p);
	p = NULL;

	buf_init(&hostile, 1 << 20);
	buf_adds(&hostile,
		 "{\"pages\": [{\"slug\": \"../etc\", \"title\": \"x\\u0001y\\nz\"},"
		 "{\"slug\": \"a/b\"}, {\"slug\": \"..\"}, {\"slug\": \"/abs\"},"
		 "{\"slug\": \"ctl\\u0007\\u001bname\"}, {\"slug\": \"Dup\"}, {\"slug\": \"dup\"},"
		 "{\"slug\": \"Home\"}, {\"slug\": \"_Sidebar\"}, {\"slug\": \".hidden\"},"
		 "{\"slug\": \"\"}, {\"title\": 5}, 42, \"str\", {\"slug\": \"");
	for (int i = 0; i < 500; i++)
		buf_addc(&hostile, 'L');
	buf_adds(&hostile, "\"}");
	for (int i = 0; i < 1000; i++)
		buf_printf(&hostile, ",{\"title\": \"Page %d\", \"description\": \"d\"}", i);
	buf_adds(&hostile, "]}");
	r = llm_plan_parse(&p, hostile.data, hostile.len, "abc123", "llm:m", &e);
	ok(r == 0 && p && p->n == PLAN_MAX_PAGES, "planner hostile: clamped to %d pages (%zu)",
	   PLAN_MAX_PAGES, p ? p->n : 0);
	ok(p && plan_sane(p),
	   "planner hostile: every slug sanitized, unique, Home and _Sidebar kept");
	ok(p && plan_find(p, "etc") >= 0 && plan_find(p, "a-b") >= 0 && plan_find(p, "Dup") >= 0 &&
	       plan_find(p, "dup") < 0 && plan_find(p, "..") < 0,
	   "planner hostile: '../etc' -> etc, 'a/b' -> a-b, duplicates dropped");
	plan_unref(p);
	p = NULL;
	buf_done(&hostile);

	static const char *const bad[] = { "no json here", "{\"pages\": [", "{\"pages\": 3}",
					   "[1,2]", "{\"pages\": [{\"slug\": \"..\"}, 5]}" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = llm_plan_parse(&p, bad[i], strlen(bad[i]), "abc123", "llm:m", &e);
		ok(r < 0 && !p, "planner rejects '%s': %d (%s)", bad[i], r, e.msg);
	}
	r = llm_plan_parse(&p, "{\"pages\":[]}\0{", 14, "abc123", "llm:m", &e);
	ok(r < 0 && !p, "planner rejects a NUL byte");
}

static void test_planner_llm(void)
{
	const char *ex[] = { "generator.timeout=5", NULL };
	struct conf *c;
	struct plan *p = NULL, *builtin = make_plan();
	struct gen_usage u = { 0 };
	struct wf_err e = { { 0 } };
	int r;

	setenv(KEYVAR, SECRET, 1);
	fake_script("[{\"mode\":\"content\",\"text\":\"```json\\n{\\\"pages\\\":[{\\\"title\\\":"
		    "\\\"Data Model\\\",\\\"description\\\":\\\"the tables\\\"}]}\\n```\"}]");
	c = make_conf("anthropic", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == 0 && p && p->n == 3 && plan_find(p, "Data-Model") == 1,
	   "llm_plan via anthropic: plan from the answer (%s)", e.msg);
	ok(p && !strcmp(p->planner, "llm:test-model-7"), "llm_plan: planner llm:MODEL");
	ok(u.input_tokens == 123 && u.output_tokens == 45, "llm_plan: usage reported");
	{
		cJSON *reqs = fake_requests();
		const cJSON *body =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reqs, 0), "body");
		const char *sys = jstr(body, "system", NULL);

		ok(sys && strstr(sys, "\"pages\""), "llm_plan: asks for the pages json");
		cJSON_Delete(reqs);
	}
	plan_unref(p);
	p = NULL;
	conf_free(c);

	fake_script("[\"500\"]");
	c = make_conf("openai", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r < 0 && !p && strstr(e.msg, "500"), "llm_plan: a failing provider is an error (%s)",
	   e.msg);
	conf_free(c);
	fake_script("[{\"mode\":\"content\",\"text\":\"I cannot do that.\"}]");
	c = make_conf("openai", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == -EBADMSG && !p, "llm_plan: prose answer -> -EBADMSG (%s)", e.msg);
	conf_free(c);
	c = make_conf("command", (const char *const[]){ "generator.command=cat", NULL });
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == -EINVAL, "llm_plan with backend command: -EINVAL");
	conf_free(c);
	plan_unref(builtin);
}

struct plan_bg {
	const struct conf *c;
	struct plan *builtin;
	int r;
	int64_t end;
	struct wf_err e;
};

static void *plan_bg_run(void *p)
{
	struct plan_bg *pb = p;
	struct plan *plan = NULL;

	pb->r = llm_plan(&plan, pb->c, "owner/repo", "abc123", NULL, pb->builtin, NULL, &pb->e);
	pb->end = now_ms();
	plan_unref(plan);
	return NULL;
}

/* Unmount aborts the backend; the planner's own llm on that provider must stop too. */
static void test_planner_abort(void)
{
	const char *ex[] = { "generator.timeout=60", NULL };
	struct plan_bg pb = { .builtin = make_plan() };
	struct be be;
	pthread_t t;
	int64_t t_abort;

	fake_script("[\"hang\"]");
	if (!be_open(&be, &backend_openai, "openai", ex)) {
		ok(0, "planner abort: backend opens");
		goto out;
	}
	pb.c = be.c;
	pthread_create(&t, NULL, plan_bg_run, &pb);
	ok(wait_requests(1, 10000), "planner abort: the plan request reached the server");
	t_abort = now_ms();
	be.ops->abort(be.state);
	pthread_join(t, NULL);
	ok(pb.r == -ECANCELED && pb.end - t_abort < 1500,
	   "planner abort: the backend's abort ends the planner's request (%lld ms, %s)",
	   (long long)(pb.end - t_abort), pb.e.msg);
	be_close(&be);
out:
	plan_unref(pb.builtin);
}

/* ---- rate limiter ---------------------------------------------------------- */

struct waiter {
	struct ratelimit *rl;
	int r;
	int64_t end;
};

static void *waiter_run(void *p)
{
	struct waiter *w = p;

	w->r = ratelimit_acquire(w->rl, 10000);
	w->end = now_ms();
	return NULL;
}

static void test_ratelimit(void)
{
	struct ratelimit_opts o = { .per_minute = 60, .burst = 2 };
	struct ratelimit *rl, *a, *b;
	struct ratelimit_status st;
	struct waiter w = { 0 };
	pthread_t t;
	int64_t now = now_ms(), v, t0;
	int r;

	ratelimit_new(&rl, "t", &o);
	now = now_ms(); /* not before the bucket's creation time */
	ok(ratelimit_try_acquire(rl, now) == 0 && ratelimit_try_acquire(rl, now) == 0,
	   "bucket: burst of 2 granted");
	v = ratelimit_try_acquire(rl, now);
	ok(v > 900 && v <= 1001, "bucket: third waits ~1000 ms at 60/min (%lld)", (long long)v);
	ok(ratelimit_try_acquire(rl, now + 1000) == 0, "bucket: a token after 1 s");
	ok(ratelimit_try_acquire(rl, now + 1000) > 0, "bucket: and only one");
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 0 };
	ratelimit_new(&rl, "t", &o);
	for (int i = 0; i < 1000; i++)
		if (ratelimit_try_acquire(rl, now) != 0)
			break;
	ratelimit_status(rl, &st);
	ok(st.requests == 1000, "no rate limit: everything granted");
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 6000, .burst = 1 };
	ratelimit_new(&rl, "t", &o);
	t0 = now_ms();
	r = ratelimit_acquire(rl, 1000);
	r = r ?: ratelimit_acquire(rl, 1000);
	ok(r == 0 && now_ms() - t0 >= 8, "acquire waits for the next token (%lld ms at 100/s)",
	   (long long)(now_ms() - t0));
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 1, .burst = 1 };
	ratelimit_new(&rl, "t", &o);
	ratelimit_acquire(rl, 0);
	t0 = now_ms();
	r = ratelimit_acquire(rl, 50);
	ok(r == -ETIMEDOUT && now_ms() - t0 >= 50 && now_ms() - t0 < 1000,
	   "acquire gives up at max wait");
	w.rl = rl;
	pthread_create(&t, NULL, waiter_run, &w);
	for (int64_t end = now_ms() + 5000; now_ms() < end;) {
		ratelimit_status(rl, &st);
		if (st.waiters == 1)
			break;
		sched_yield();
	}
	ok(__atomic_load_n(ratelimit_abort_flag(rl), __ATOMIC_ACQUIRE) == 0,
	   "the abort flag is clear before abort");
	t0 = now_ms();
	ratelimit_abort(rl);
	pthread_join(t, NULL);
	ok(__atomic_load_n(ratelimit_abort_flag(rl), __ATOMIC_ACQUIRE) != 0,
	   "abort sets the flag http transfers watch");
	ok(w.r == -ECANCELED && w.end - t0 < 200, "abort wakes a waiter at once (%lld ms)",
	   (long long)(w.end - t0));
	ok(ratelimit_acquire(rl, 1000) == -ECANCELED, "abort is sticky");
	ratelimit_free(rl);

	/* breaker */
	o = (struct ratelimit_opts){ .threshold = 3, .cooldown_ms = 1000 };
	ratelimit_new(&rl, "t", &o);
	now = now_ms();
	ratelimit_record(rl, false, now);
	ratelimit_record(rl, false, now);
	ok(ratelimit_breaker_check(rl, now) == 0, "breaker closed after 2 failures");
	ratelimit_record(rl, true, now);
	ratelimit_record(rl, false, now);
	ratelimit_record(rl, false, now);
	ok(ratelimit_breaker_check(rl, now) == 0, "a success resets the count");
	ratelimit_record(rl, false, now);
	v = ratelimit_breaker_check(rl, now);
	ratelimit_status(rl, &st);
	ok(v == 1000 && st.failures == 3 && st.open && st.open_until_ms == now + 1000,
	   "breaker opens after 3 failures for 1000 ms (%lld)", (long long)v);
	ok(ratelimit_breaker_check(rl, now + 1000) == 0, "half-open: one trial passes");
	ok(ratelimit_breaker_check(rl, now + 1000) > 0, "half-open: a second is refused");
	ratelimit_record(rl, false, now + 1000);
	v = ratelimit_breaker_check(rl, now + 1001);
	ok(v == 1999, "failed trial: open for twice the cool-down (%lld)", (long long)v);
	ok(ratelimit_breaker_check(rl, now + 3000) == 0, "second trial");
	ratelimit_record(rl, true, now + 3000);
	ratelimit_status(rl, &st);
	ok(ratelimit_breaker_check(rl, now + 3000) == 0 && !st.open && st.failures == 0,
	   "a successful trial closes the breaker");
	ratelimit_free(rl);

	o = (struct ratelimit_opts){ .per_minute = 10 };
	ratelimit_get(&a, "provider-x", &o);
	ratelimit_get(&b, "provider-x", &o);
	ok(a == b, "registry: one instance per provider");
	{
		struct ratelimit_status all[16];
		size_t n = ratelimit_status_all(all, 16);
		bool seen = false;

		for (size_t i = 0; i < n && i < 16; i++)
			seen |= !strcmp(all[i].name, "provider-x");
		ok(seen, "registry: listed for progress");
	}
	ratelimit_put(a);
	ratelimit_put(b);
}

static void cleanup(void)
{
	fake_stop();
	if (tmpdir[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("cannot remove %s", tmpdir);
	}
}

int main(int argc, char **argv)
{
	int r;

	/* the command backend runs its commands under this executable as a guard */
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory");
	atexit(cleanup);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_http_pure();
	test_ratelimit();
	test_planner_parse();
	test_prompt();
	test_command();
	test_command_abort();
	r = fake_start();
	if (r < 0) {
		diag("cannot start fake_llm.py: %s", strerror(-r));
		ok(0, "fake llm server starts");
		return done_testing();
	}
	diag("fake llm on port %d", fake_port);
	test_openai();
	test_abort(&backend_openai, "openai");
	test_anthropic();
	test_abort(&backend_anthropic, "anthropic");
	test_refused();
	test_no_descriptors();
	test_backend_breaker();
	test_planner_llm();
	test_planner_abort();
	return done_testing();
}
