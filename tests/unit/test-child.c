/* SPDX-License-Identifier: MIT */
/*
 * core/child.c: lines (bounded, in pieces), captures (bounded), stdin,
 * the deadline, the stall limit, abort from another thread, the process
 * group ended with SIGTERM then SIGKILL, exit status and signals, the
 * parent-death signal, and what the child inherits (descriptors 0-2 only,
 * the environment, the directory). Waits are on conditions with deadlines.
 */
#include "child.h"
#include "proc-fixture.h"
#include "tap.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIST_FDS_ARG "--list-fds"

static char self[4096];

/* Runs "sh -c @script" with @o's other fields. */
static int sh(struct child_opts *o, const char *script, int *status, struct wf_err *err)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	o->path = "/bin/sh";
	o->argv = argv;
	return child_run(o, status, err);
}

/* ---- lines ------------------------------------------------------------ */

struct lines {
	char text[8192]; /* the lines, each as "<flags>:<line>|" */
	size_t n, bytes, longest;
	int stop_at; /* > 0: return -EPROTO at this line */
};

static int on_line(void *opaque, const char *line, size_t len, unsigned flags)
{
	struct lines *l = opaque;
	size_t used = strlen(l->text);

	l->n++;
	l->bytes += len;
	l->longest = MAX(l->longest, len);
	if (len > 20)
		snprintf(l->text + used, sizeof(l->text) - used, "%u:#%zu|", flags, len);
	else
		snprintf(l->text + used, sizeof(l->text) - used, "%u:%s|", flags, line);
	return l->stop_at > 0 && (int)l->n == l->stop_at ? -EPROTO : 1;
}

static void test_lines(void)
{
	struct lines out = { 0 }, err = { 0 };
	struct child_opts o = { .out = { .on_line = on_line, .opaque = &out },
				.err = { .on_line = on_line, .opaque = &err },
				.line_max = 100,
				.timeout_ms = 10000 };
	struct wf_err e = { "" };
	int st = -1, r;

	r = sh(&o,
	       "printf 'a\\nbb\\n'; echo to-stderr >&2; head -c 250 /dev/zero | tr '\\0' y; "
	       "echo; printf '%s' tail",
	       &st, &e);
	is_int(r, 0, "lines: the child ran to its end (%s)", e.msg);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "lines: exit status 0");
	is_str(out.text, "0:a|0:bb|1:#100|3:#100|2:#50|4:tail|",
	       "lines: each stdout line seen; 250 bytes in pieces of 100; last without newline");
	ok(out.longest == 100 && out.bytes == 1 + 2 + 250 + 4,
	   "lines: no piece longer than line_max, no byte lost (longest %zu, %zu bytes)",
	   out.longest, out.bytes);
	is_str(err.text, "0:to-stderr|", "lines: stderr lines to their own callback");

	memset(&out, 0, sizeof(out));
	out.stop_at = 2;
	o.err = (struct child_output){ 0 };
	/* the child says a last line when it is told to stop: the callback that
	 * refused must not hear it (the final drain after the kill used to) */
	r = sh(&o, "trap 'echo 3; exit 1' TERM; echo 1; echo 2; sleep 100 & wait", &st, &e);
	ok(r == -EPROTO && out.n == 2,
	   "lines: a callback's error stops the child and it is told nothing more (%d, %zu "
	   "lines)",
	   r, out.n);
}

/* ---- captures and stdin ---------------------------------------------- */

static void test_capture(void)
{
	struct buf cap, in;
	struct child_opts o = { .timeout_ms = 20000 };
	struct wf_err e = { "" };
	char *argv[] = { "cat", NULL };
	int st = -1, r;

	buf_init(&in, 4 << 20);
	for (int i = 0; in.len < (3 << 20); i++)
		buf_printf(&in, "line %d of the input\n", i);
	buf_init(&cap, 8 << 20);
	o.path = "/bin/cat";
	o.argv = argv;
	o.stdin_data = in.data;
	o.stdin_len = in.len;
	o.out.capture = &cap;
	r = child_run(&o, &st, &e);
	ok(r == 0 && cap.len == in.len && !memcmp(cap.data, in.data, in.len),
	   "stdin: %zu bytes delivered and echoed back whole, no deadlock (%s)", in.len, e.msg);
	buf_done(&cap);

	buf_init(&cap, 1000);
	o.stdin_data = NULL;
	r = sh(&o, "head -c 100000 /dev/zero; sleep 100", &st, &e);
	ok(r == -EFBIG && cap.len <= 1000 && strstr(e.msg, "larger than 1000"),
	   "capture: past its bound, -EFBIG and the child stopped (%s)", e.msg);
	buf_done(&cap);

	buf_init(&cap, 1000);
	o.stdin_data = "";
	o.stdin_len = 0;
	r = sh(&o, "cat; echo eof", &st, &e);
	is_str(buf_str(&cap), "eof\n", "stdin: empty data is an immediate EOF");
	buf_done(&cap);

	buf_init(&cap, 1000);
	o.stdin_data = in.data; /* never read: no SIGPIPE for us */
	o.stdin_len = in.len;
	r = sh(&o, "echo ignored", &st, &e);
	ok(r == 0 && !strcmp(buf_str(&cap), "ignored\n"),
	   "stdin: a child that does not read it is not an error");
	buf_done(&cap);
	buf_done(&in);
}

/* ---- deadline, stall, abort ----------------------------------------- */

static void test_deadline_stall(void)
{
	struct lines l = { 0 };
	struct child_opts o = { .timeout_ms = 300 };
	struct wf_err e = { "" };
	int64_t t0 = now_ms(), dt;
	int st = -1, r;

	r = sh(&o, "sleep 100", &st, &e);
	dt = now_ms() - t0;
	ok(r == -ETIMEDOUT && dt >= 290 && dt < 2000 && WIFSIGNALED(st),
	   "deadline: -ETIMEDOUT after %lld ms, killed (%s)", (long long)dt, e.msg);

	o = (struct child_opts){ .timeout_ms = 10000,
				 .stall_ms = 300,
				 .out = { .on_line = on_line, .opaque = &l } };
	t0 = now_ms();
	r = sh(&o, "echo one; sleep 100", &st, &e);
	dt = now_ms() - t0;
	ok(r == -ETIMEDOUT && dt >= 290 && dt < 2000 && strstr(e.msg, "no progress") &&
	       !strcmp(l.text, "0:one|"),
	   "stall: silent after one line, killed after %lld ms (%s)", (long long)dt, e.msg);

	memset(&l, 0, sizeof(l));
	t0 = now_ms();
	r = sh(&o, "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done", &st, &e);
	dt = now_ms() - t0;
	ok(r == 0 && l.n == 8 && dt > 300,
	   "stall: a child making progress outlives the stall limit (%lld ms, %zu lines)",
	   (long long)dt, l.n);
}

struct aborter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int efd;
	int64_t at;
};

static int on_ready(void *opaque, const char *line, size_t len, unsigned flags)
{
	struct aborter *a = opaque;

	pthread_mutex_lock(&a->lock);
	a->ready = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return 1;
}

static void *abort_thread(void *arg)
{
	struct aborter *a = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&a->lock);
	while (!a->ready)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	__atomic_store_n(&a->at, now_ms(), __ATOMIC_RELEASE);
	if (write(a->efd, &one, sizeof(one)) != sizeof(one))
		abort();
	return NULL;
}

static void test_abort(void)
{
	struct aborter a = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false,
			     eventfd(0, EFD_CLOEXEC), 0 };
	struct child_opts o = { .timeout_ms = 20000,
				.abort_fd = a.efd,
				.out = { .on_line = on_ready, .opaque = &a } };
	struct wf_err e = { "" };
	pthread_t t;
	int64_t lat;
	int st = -1, r;

	pthread_create(&t, NULL, abort_thread, &a);
	r = sh(&o, "echo ready; sleep 100", &st, &e);
	lat = now_ms() - __atomic_load_n(&a.at, __ATOMIC_ACQUIRE);
	pthread_join(t, NULL);
	ok(r == -ECANCELED && lat < 1000 && WIFSIGNALED(st),
	   "abort from another thread: -ECANCELED %lld ms later, killed (%s)", (long long)lat,
	   e.msg);
	diag("abort latency: %lld ms", (long long)lat);

	r = sh(&o, "echo never", &st, &e);
	ok(r == -ECANCELED, "abort: the descriptor stays readable, a later child is aborted too");
	close(a.efd);
}

/* ---- the process group ---------------------------------------------- */

struct pidline {
	pid_t pid;
};

static int on_pid(void *opaque, const char *line, size_t len, unsigned flags)
{
	((struct pidline *)opaque)->pid = (pid_t)atoi(line);
	return 1;
}

static void test_group(void)
{
	struct pidline pl = { -1 };
	struct child_opts o = { .timeout_ms = 400, .out = { .on_line = on_pid, .opaque = &pl } };
	struct wf_err e = { "" };
	int64_t t0, dt;
	int st = -1, r;

	r = sh(&o, "sleep 100 & echo $!; wait", &st, &e);
	ok(r == -ETIMEDOUT && pl.pid > 0 && proc_gone(pl.pid),
	   "group: the grandchild (pid %d) is gone with the child", (int)pl.pid);

	/* both ignore SIGTERM: SIGKILL after the grace */
	pl.pid = -1;
	o.grace_ms = 200;
	t0 = now_ms();
	r = sh(&o, "trap '' TERM; sleep 100 & echo $!; wait", &st, &e);
	dt = now_ms() - t0;
	ok(r == -ETIMEDOUT && pl.pid > 0 && proc_gone(pl.pid) && WIFSIGNALED(st) &&
	       WTERMSIG(st) == SIGKILL && dt >= 590,
	   "group: SIGTERM ignored, SIGKILL after the grace (%lld ms, signal %d)", (long long)dt,
	   WIFSIGNALED(st) ? WTERMSIG(st) : 0);

	/* the child exits and leaves a grandchild holding stdout */
	pl.pid = -1;
	o = (struct child_opts){ .timeout_ms = 20000, .out = { .on_line = on_pid, .opaque = &pl } };
	t0 = now_ms();
	r = sh(&o, "sleep 100 & echo $!", &st, &e);
	dt = now_ms() - t0;
	ok(r == 0 && WIFEXITED(st) && pl.pid > 0 && proc_gone(pl.pid) && dt < 5000,
	   "group: a grandchild holding the pipe is ended %lld ms after the child exits",
	   (long long)dt);
}

static void test_status(void)
{
	struct child_opts o = { .timeout_ms = 10000 };
	struct wf_err e = { "" };
	char *argv[] = { "x", NULL };
	int st = -1, r;

	r = sh(&o, "exit 7", &st, &e);
	ok(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "status: exit 7 reported");
	r = sh(&o, "kill -USR1 $$", &st, &e);
	ok(r == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1,
	   "status: death by SIGUSR1 reported (%d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);

	o.path = "/nonexistent/wikifs-test";
	o.argv = argv;
	r = child_run(&o, &st, &e);
	ok(r == -ENOENT && strstr(e.msg, "cannot run '/nonexistent/wikifs-test'"),
	   "spawn: a missing program is -ENOENT from the spawn (%s)", e.msg);
	o.cwd = "/nonexistent-dir";
	r = sh(&o, "true", &st, &e);
	ok(r == -ENOENT && strstr(e.msg, "/nonexistent-dir"),
	   "spawn: a missing directory is -ENOENT from the spawn (%s)", e.msg);
}

/* ---- what the child inherits ---------------------------------------- */

static void test_inherit(void)
{
	struct buf cap;
	char *argv[] = { self, LIST_FDS_ARG, NULL };
	char *envp[] = { "ONLY=this", NULL };
	struct child_opts o = { .timeout_ms = 10000, .out = { .capture = &cap } };
	struct wf_err e = { "" };
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec, on purpose */
	int st = -1, r;

	buf_init(&cap, 4096);
	o.path = self;
	o.argv = argv;
	r = child_run(&o, &st, &e);
	ok(r == 0 && leak > 2 && !strcmp(buf_str(&cap), "0 1 2\n"),
	   "fds: only 0-2 open in the child, not our fd %d (saw \"%.*s\")", leak,
	   (int)strcspn(buf_str(&cap), "\n"), buf_str(&cap));
	close(leak);
	buf_done(&cap);

	buf_init(&cap, 4096);
	o.envp = envp;
	o.cwd = "/";
	r = sh(&o, "echo \"$ONLY|${HOME-unset}|$(pwd)\"", &st, &e);
	is_str(buf_str(&cap), "this|unset|/\n", "env and cwd: exactly as given");
	buf_done(&cap);
}

/* The spawning thread exits: the child gets its parent-death signal. */
static void *spawn_and_exit(void *arg)
{
	static char *argv[] = { "sleep", "100", NULL };
	struct child_opts o = { .path = "/bin/sleep", .argv = argv, .pdeathsig = SIGKILL };
	struct child **c = arg;

	if (child_spawn(c, &o, NULL) < 0)
		*c = NULL;
	return NULL;
}

static void test_pdeathsig(void)
{
	struct child *c = NULL;
	pthread_t t;
	pid_t pid;
	int st = -1;

	pthread_create(&t, NULL, spawn_and_exit, &c);
	pthread_join(t, NULL);
	if (!c) {
		ok(0, "pdeathsig: spawned");
		return;
	}
	pid = child_pid(c);
	ok(proc_gone(pid), "pdeathsig: the child died with the thread that spawned it");
	child_wait(c, &st, NULL);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "pdeathsig: by SIGKILL (%d)",
	   WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	child_free(c);
}

static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	const char *sep = "";

	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d)) {
			printf("%s%s", sep, de->d_name);
			sep = " ";
		}
	printf("\n");
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], LIST_FDS_ARG))
		return list_fds();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		skip_all("cannot find this executable");
	self[n] = '\0';
	test_lines();
	test_capture();
	test_deadline_stall();
	test_abort();
	test_group();
	test_status();
	test_inherit();
	test_pdeathsig();
	return done_testing();
}
