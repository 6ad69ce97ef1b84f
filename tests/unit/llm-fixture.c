/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the LLM unit tests (llm-fixture.h). Messages go to stdout
 * as TAP diagnostics ("# ..."); assertions stay in the tests.
 */
#include "llm-fixture.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>

extern char **environ;

static pid_t fake_pid = -1;
static int port; /* the fake's, on 127.0.0.1 */

static void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
		fake_pid = -1;
	}
}

int fake_start(void)
{
	const char *src = getenv("WIKIFS_SRCDIR"), *py = getenv("PYTHON3");
	char script[4096], line[32];
	char *argv[4];
	posix_spawn_file_actions_t fa;
	int p[2], r;
	size_t n = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(fake_stop);
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
	port = atoi(line);
	return port > 0 ? 0 : -EIO;
}

int fake_port(void)
{
	return port;
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
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
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

void fake_script(const char *json)
{
	fake_ctl("/_reset", "", NULL);
	if (json)
		fake_ctl("/_script", json, NULL);
}

/* The recorded requests (caller frees with cJSON_Delete). */
struct cJSON *fake_requests(void)
{
	struct buf b;
	cJSON *j;

	buf_init(&b, 64 << 20);
	fake_ctl("/_requests", NULL, &b);
	j = cJSON_Parse(buf_str(&b));
	buf_done(&b);
	return j;
}

int fake_nrequests(void)
{
	cJSON *j = fake_requests();
	int n = cJSON_GetArraySize(j);

	cJSON_Delete(j);
	return n;
}

/* Waits (polling the condition, bounded) until the fake recorded @n requests. */
bool wait_requests(int n, int64_t max_ms)
{
	int64_t end = now_ms() + max_ms;

	while (now_ms() < end) {
		if (fake_nrequests() >= n)
			return true;
		sched_yield();
	}
	return false;
}

const char *jstr(const struct cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

struct conf *make_conf(const char *backend, const char *const *extra)
{
	char *ov[32];
	size_t n = 0;
	struct conf *c = NULL;
	struct buf errs;

	buf_init(&errs, 1 << 16);
	if (asprintf(&ov[n++], "generator.backend=%s", backend) < 0)
		abort();
	if (strcmp(backend, "command")) {
		if (asprintf(&ov[n++], "generator.base_url=http://127.0.0.1:%d%s", port,
			     !strcmp(backend, "openai") ? "/v1" : "") < 0)
			abort();
		ov[n++] = strdup("generator.model=test-model-7");
		ov[n++] = strdup("generator.api_key_env=" KEYVAR);
	}
	for (size_t i = 0; extra && extra[i]; i++)
		ov[n++] = strdup(extra[i]);
	if (conf_load(&c, NULL, ov, n, &errs) < 0) {
		printf("# conf_load: %s\n", buf_str(&errs));
		c = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(ov[i]);
	buf_done(&errs);
	return c;
}

struct plan *make_plan(void)
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

struct gen_request make_req(struct plan *p, int page)
{
	return (struct gen_request){
		.repo_name = "owner/repo",
		.url = "https://example.org/owner/repo.git",
		.commit = "abc123",
		.plan = p,
		.page = &p->pages[page],
	};
}

bool be_open(struct be *be, const struct backend_ops *ops, const char *name,
	     const char *const *extra)
{
	struct wf_err e = { { 0 } };

	be->ops = ops;
	be->c = make_conf(name, extra);
	be->state = be->wstate = NULL;
	if (!be->c)
		return false;
	if (ops->init(&be->state, be->c, &e) < 0) {
		printf("# init: %s\n", e.msg);
		return false;
	}
	return ops->worker_init(be->state, &be->wstate) == 0;
}

void be_close(struct be *be)
{
	if (be->state) {
		be->ops->worker_done(be->state, be->wstate);
		be->ops->done(be->state);
	}
	conf_free(be->c);
}

void attempt_run(struct be *be, const struct gen_request *req, struct attempt *a)
{
	int64_t t0 = now_ms();

	memset(a, 0, sizeof(*a));
	buf_init(&a->out, PAGE_MAX_BYTES);
	a->r = be->ops->generate(be->state, be->wstate, req, &a->out, &a->usage, &a->err);
	a->ms = now_ms() - t0;
}

/* Runs one attempt of @name with the fake scripted by @script. */
void one(const struct backend_ops *ops, const char *name, const char *script,
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

bool no_secret(const char *s)
{
	return !strstr(s, SECRET) && !strstr(s, "sk-fake-abcdefgh") &&
	       !strstr(s, "0123456789abcdef");
}

void *bg_run(void *p)
{
	struct bg *bg = p;

	attempt_run(bg->be, bg->req, &bg->a);
	bg->end = now_ms();
	return NULL;
}
