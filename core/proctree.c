/* SPDX-License-Identifier: MIT */
/*
 * Process subtrees and the guard; see proctree.h for why.
 *
 * /proc is read fresh on every call: a table of (pid, parent) sorted by pid,
 * and each process is below the root if its chain of parents reaches it.
 * Each chain is walked once (the answer is remembered on the way back), so
 * a table of n processes costs O(n log n) whatever the depth of the tree.
 *
 * The guard blocks the signals it waits for before it forks, so nothing is
 * lost between fork() and sigwaitinfo(); the command gets the signal mask
 * and dispositions the guard was started with, descriptors 0-2 only, and
 * PR_SET_PDEATHSIG = SIGKILL towards the guard. The guard then holds none of
 * the command's pipes (stdio goes to /dev/null), so the daemon sees EOF when
 * the last process of the subtree is gone.
 */
#include "proctree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* The pause between two rounds of proctree_end(). */
#define END_NAP_MS 5

struct ent {
	pid_t pid, ppid;
	signed char below; /* -1 not known yet, 0 no, 1 yes */
};

static int cmp_pid(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The parent of @pid from /proc/PID/stat; -1 if it is gone. */
static pid_t parent_of(int dfd, const char *name)
{
	char path[64], st[512];
	const char *rp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/stat", name);
	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, st, sizeof(st) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	st[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	rp = strrchr(st, ')');
	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return -1;
	return (pid_t)strtol(rp + 4, NULL, 10);
}

/* Every process and its parent, sorted by pid. */
static int proc_table(struct ent **ret, size_t *ret_n)
{
	struct ent *t = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t ppid;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		ppid = parent_of(dirfd(d), de->d_name);
		if (ppid < 0)
			continue; /* gone meanwhile */
		if (n == cap) {
			struct ent *nt = realloc(t, (cap ? cap * 2 : 256) * sizeof(*t));

			if (!nt) {
				free(t);
				closedir(d);
				return -ENOMEM;
			}
			t = nt;
			cap = cap ? cap * 2 : 256;
		}
		t[n++] = (struct ent){ .pid = (pid_t)pid, .ppid = ppid, .below = -1 };
	}
	closedir(d);
	if (n)
		qsort(t, n, sizeof(*t), cmp_pid);
	*ret = t;
	*ret_n = n;
	return 0;
}

static struct ent *find(struct ent *t, size_t n, pid_t pid)
{
	struct ent key = { .pid = pid };

	return bsearch(&key, t, n, sizeof(*t), cmp_pid);
}

/* Whether @e is below @root; remembers the answer along the chain. */
static bool is_below(struct ent *t, size_t n, struct ent *e, pid_t root)
{
	struct ent *cur = e, *last = NULL;
	signed char res = 0; /* a chain that leaves the table never met @root */

	for (size_t steps = 0; cur && steps <= n; steps++) {
		if (cur->below >= 0 || cur->ppid == root) {
			res = cur->below >= 0 ? cur->below : 1;
			last = cur;
			break;
		}
		cur = find(t, n, cur->ppid);
	}
	for (struct ent *p = e; p && p->below < 0; p = p == last ? NULL : find(t, n, p->ppid))
		p->below = res;
	return res == 1;
}

int proctree_signal(pid_t root, int sig)
{
	struct ent *t = NULL;
	size_t n = 0;
	int r, count = 0;

	r = proc_table(&t, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (t[i].pid == root || !is_below(t, n, &t[i], root))
			continue;
		if (sig)
			kill(t[i].pid, sig);
		count++;
	}
	free(t);
	return count;
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Whether this process has no child left, zombies reaped. Then nothing is
 * below it: every process below has a parent that is below too, or is this
 * one (an orphan is reparented here when this is a subreaper, and then is
 * a child; otherwise its chain leaves the subtree and it was never below).
 */
static bool childless(void)
{
	reap_children();
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

int proctree_end(int grace_ms, int limit_ms)
{
	pid_t self = getpid();
	int64_t t0 = now_ms();
	int n;

	/* the common end of a guard: the command alone, and reaped (no look at /proc) */
	if (childless())
		return 0;
	n = proctree_signal(self, SIGTERM);

	for (int left = n; left > 0;) {
		struct timespec nap = { 0, END_NAP_MS * 1000000L };
		int64_t dt;

		reap_children();
		dt = now_ms() - t0;
		left = proctree_signal(self, dt >= grace_ms ? SIGKILL : 0);
		if (left <= 0 || dt >= limit_ms)
			break;
		nanosleep(&nap, NULL);
	}
	reap_children();
	return n;
}

/* ---- the guard ---------------------------------------------------------- */

/* Dies of @sig as the command did, so the daemon sees the same status. */
static _Noreturn void die_of(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t one;

	setrlimit(RLIMIT_CORE, &no_core); /* the command dumped core already, if at all */
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		close(STDIN_FILENO);
		close(STDOUT_FILENO);
		close(STDERR_FILENO);
		return;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static _Noreturn void exec_command(pid_t guard, const sigset_t *mask, char **argv)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != guard)
		_exit(125); /* the guard died before the line above */
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv(argv[0], argv + 1);
	_exit(errno == ENOENT ? 127 : 126);
}

int proctree_guard_main(int argc, char **argv)
{
	sigset_t wait_for, old;
	int status = 0, stop = 0, grace;
	bool exited = false;
	pid_t ppid, child;

	if (argc < 4) {
		fprintf(stderr, "usage: wikifs " PROCTREE_GUARD_ARG
				" PPID GRACE_MS PROGRAM ARGV0 [ARGS...]\n");
		return 2;
	}
	sigemptyset(&wait_for);
	sigaddset(&wait_for, SIGCHLD);
	sigaddset(&wait_for, SIGTERM);
	sigaddset(&wait_for, SIGINT);
	sigaddset(&wait_for, SIGHUP);
	sigaddset(&wait_for, SIGQUIT);
	sigprocmask(SIG_BLOCK, &wait_for, &old);
	signal(SIGCHLD, SIG_DFL);
	close_range(3, ~0u, 0); /* whatever the daemon's other threads had open: not ours */
	ppid = (pid_t)strtol(argv[0], NULL, 10);
	grace = (int)strtol(argv[1], NULL, 10);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != ppid)
		return 125; /* the daemon is gone already: start nothing */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	child = fork();
	if (child == 0)
		exec_command(getppid(), &old, argv + 2);
	if (child < 0) {
		fprintf(stderr, "wikifs: cannot start '%s': %s\n", argv[2], strerror(errno));
		return 125;
	}
	stdio_to_null();
	while (!exited && !stop) {
		int sig = sigwaitinfo(&wait_for, NULL), st;
		pid_t p;

		if (sig != SIGCHLD) {
			stop = sig > 0 ? sig : 0;
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == child) {
				status = st;
				exited = true;
			}
	}
	proctree_end(grace, grace + PROCTREE_GUARD_LIMIT_MS);
	if (!exited)
		die_of(stop); /* the command was ended on request */
	if (WIFSIGNALED(status))
		die_of(WTERMSIG(status));
	return WEXITSTATUS(status);
}
