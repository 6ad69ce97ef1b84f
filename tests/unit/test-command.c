/* SPDX-License-Identifier: MIT */
/*
 * backend = command (gen/command.c): the prompt on stdin and the page on
 * stdout, the environment, failures with the stderr tail, timeouts and
 * abort killing the whole process group with nothing left behind, and big
 * prompts and pages at once. Waits are on conditions (a pid file, /proc)
 * with deadlines, never a fixed sleep.
 */
#include "backend.h"
#include "llm-fixture.h"
#include "plan.h"
#include "proctree.h"
#include "proc-fixture.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/wikifs-test-command.XXXXXX";

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
	struct plan *p = make_plan();
	struct attempt a;

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
	plan_unref(p);
}

/* A timeout kills the whole group and reaps the shell; so does a finished shell. */
static void test_command_group(void)
{
	struct plan *p = make_plan();
	char cmd[1024], pidfile[128], pidfile2[128];
	struct attempt a;
	pid_t pid, pid2;
	int st;

	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", tmpdir);
	snprintf(pidfile2, sizeof(pidfile2), "%s/sh.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 100 & echo $! > %s; sleep 100", pidfile2,
		 pidfile);
	cmd_run(cmd, "1", p, 1, &a);
	pid = read_pid(pidfile);
	pid2 = read_pid(pidfile2);
	ok(a.r == -ETIMEDOUT && a.err.retryable && a.ms >= 900 && a.ms < 2500,
	   "command timeout=1: -ETIMEDOUT retryable after %lld ms", (long long)a.ms);
	ok(pid > 0 && proc_gone(pid), "command timeout: background child (pid %d) killed",
	   (int)pid);
	ok(pid2 > 0 && waitpid(pid2, &st, WNOHANG) < 0 && errno == ECHILD && proc_gone(pid2),
	   "command timeout: the shell was reaped, no zombie");
	buf_done(&a.out);

	/* the shell exits but leaves a child holding stdout: done, child killed */
	unlink(pidfile);
	snprintf(cmd, sizeof(cmd), "sleep 100 & echo $! > %s; echo done", pidfile);
	cmd_run(cmd, "20", p, 1, &a);
	pid = read_pid(pidfile);
	ok(a.r == 0 && !strcmp(buf_str(&a.out), "done\n") && a.ms < 3000,
	   "command leaving a background child: page after %lld ms", (long long)a.ms);
	ok(pid > 0 && proc_gone(pid), "command: the background child was killed");
	buf_done(&a.out);
	plan_unref(p);
}

/* A big prompt in, a big page out, at the same time: no deadlock; and the page bound. */
static void test_command_big(void)
{
	struct plan *p = make_plan(), *big;
	struct attempt a;

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
	ok(pid > 0 && proc_gone(pid), "command abort: the group was killed");
	buf_done(&bg.a.out);
out:
	be_close(&be);
	plan_unref(p);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
}

int main(int argc, char **argv)
{
	/* the command backend runs its commands under this executable as a guard */
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory");
	atexit(cleanup);
	test_command();
	test_command_group();
	test_command_big();
	test_command_abort();
	return done_testing();
}
