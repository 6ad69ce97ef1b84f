/* SPDX-License-Identifier: MIT */
/*
 * gen/llm.c, what both HTTP backends share, against the fake LLM server:
 * abort during a hang and after it, a refused connection, and the circuit
 * breaker seen through a backend and through progress.
 */
#include "backend.h"
#include "llm.h"
#include "llm-fixture.h"
#include "ratelimit.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

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

int main(void)
{
	if (!fake_started())
		return done_testing();
	test_abort(&backend_openai, "openai");
	test_abort(&backend_anthropic, "anthropic");
	test_refused();
	test_no_descriptors();
	test_backend_breaker();
	return done_testing();
}
