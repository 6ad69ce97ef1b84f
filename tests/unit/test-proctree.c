/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/proctree: counting and signalling a subtree from
 * /proc, ending every descendant (SIGKILL after the grace for one that
 * ignores SIGTERM), and the guard run as this very executable
 * ("--proc-guard"), with a grandchild that calls setsid() and ignores
 * SIGTERM: it is ended when the command exits, when the guard gets SIGTERM
 * and when the guard's parent dies by SIGKILL. The guard exits like the
 * command (status or signal).
 */
#include "proctree.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];

/* Dead: no /proc entry, or a zombie nobody reaped yet. */
static bool dead(pid_t pid)
{
	char path[64], st[512] = "";
	const char *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	rp = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
	fclose(f);
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static bool gone_within(pid_t pid, int ms)
{
	for (int64_t end = now_ms() + ms; now_ms() < end;) {
		if (dead(pid))
			return true;
		usleep(2000);
	}
	return dead(pid);
}

/* The pid written to @path by a script, waiting up to 10 s for it. */
static pid_t pid_from(const char *path)
{
	for (int64_t end = now_ms() + 10000; now_ms() < end; usleep(2000)) {
		char s[32] = "";
		FILE *f = fopen(path, "r");

		if (!f)
			continue;
		if (!fgets(s, sizeof(s), f) || !strchr(s, '\n')) {
			fclose(f);
			continue;
		}
		fclose(f);
		return (pid_t)atoi(s);
	}
	return -1;
}

/* Whether the subtree of @root comes to @want processes within 5 s (a mv, a shell exiting). */
static bool settles(pid_t root, int want)
{
	for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(2000))
		if (proctree_signal(root, 0) == want)
			return true;
	return proctree_signal(root, 0) == want;
}

/* A shell line that starts a setsid'd, SIGTERM-ignoring sleeper writing its pid. */
static void sleeper(char *out, size_t n, const char *pidfile)
{
	snprintf(out, n,
		 "setsid sh -c 'trap \"\" TERM; echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 1000' "
		 "</dev/null >/dev/null 2>&1 &",
		 pidfile, pidfile, pidfile);
}

/* Runs "sh -c @script" under a guard; returns the guard's pid. */
static pid_t start_guard(const char *script)
{
	char ppid[16], grace[16];
	pid_t pid;

	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	snprintf(grace, sizeof(grace), "%d", 100);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "wikifs", PROCTREE_GUARD_ARG, ppid, grace, "/bin/sh", "sh",
				 "-c",	   (char *)script,     NULL };

		execv("/proc/self/exe", argv);
		_exit(99);
	}
	return pid;
}

static void test_signal_and_end(void)
{
	char pidfile[128], line[1024];
	pid_t child, g;
	int st, go[2];
	char c = 0;

	snprintf(pidfile, sizeof(pidfile), "%s/end.pid", tmp);
	sleeper(line, sizeof(line), pidfile);
	if (pipe(go) < 0)
		abort();
	child = fork();
	if (child == 0) {
		/* a subreaper, as the daemon is: the orphan comes back to us */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		if (fork() == 0) {
			execl("/bin/sh", "sh", "-c", line, (char *)NULL);
			_exit(99);
		}
		wait(NULL); /* the shell exits at once; the sleeper is orphaned */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		/* count, then end: SIGTERM is ignored, so SIGKILL after the grace */
		_exit(settles(getpid(), 1) && proctree_end(100, 3000) == 1 &&
			      proctree_signal(getpid(), 0) == 0
			  ? 0
			  : 1);
	}
	g = pid_from(pidfile);
	ok(g > 0, "a setsid'd grandchild started (pid %d)", (int)g);
	ok(settles(getpid(), 2), "proctree_signal(0) counts child and grandchild (%d)",
	   proctree_signal(getpid(), 0));
	if (write(go[1], &c, 1) != 1)
		abort();
	waitpid(child, &st, 0);
	close(go[0]);
	close(go[1]);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "proctree_end() in a subreaper: the orphan that ignores SIGTERM is ended and reaped");
	ok(g > 0 && gone_within(g, 2000), "the grandchild is gone");
	ok(proctree_signal(getpid(), 0) == 0, "no descendant left");
	is_int(proctree_signal(999999999, 0), 0, "a pid that does not exist has no descendant");
}

static void test_guard_exit(void)
{
	char pidfile[128], line[1024], script[2048];
	pid_t guard, g;
	int64_t t0;
	int st;

	snprintf(pidfile, sizeof(pidfile), "%s/exit.pid", tmp);
	sleeper(line, sizeof(line), pidfile);
	snprintf(script, sizeof(script), "%s while [ ! -s %s ]; do :; done; exit 3", line, pidfile);
	t0 = now_ms();
	guard = start_guard(script);
	waitpid(guard, &st, 0);
	g = pid_from(pidfile);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 3, "guard exits with the command's status 3");
	ok(g > 0 && dead(g),
	   "command exited: its setsid'd grandchild that ignores SIGTERM is gone with the guard "
	   "(%lld ms)",
	   (long long)(now_ms() - t0));

	guard = start_guard("kill -USR1 $$");
	waitpid(guard, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "guard dies of the command's signal");

	guard = start_guard("exec /no/such/program");
	waitpid(guard, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 127, "command not found: 127 as from a shell");
}

static void test_guard_stop(void)
{
	char pidfile[128], line[1024], script[2048];
	pid_t guard, g;
	int64_t t0;
	int st;

	snprintf(pidfile, sizeof(pidfile), "%s/stop.pid", tmp);
	sleeper(line, sizeof(line), pidfile);
	snprintf(script, sizeof(script), "%s exec sleep 1000", line);
	guard = start_guard(script);
	g = pid_from(pidfile);
	t0 = now_ms();
	kill(guard, SIGTERM);
	waitpid(guard, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "guard stopped by SIGTERM dies of it");
	ok(g > 0 && dead(g), "SIGTERM to the guard ends the grandchild too (%lld ms)",
	   (long long)(now_ms() - t0));
}

/* The guard's parent dies by SIGKILL: the guard still ends everything. */
static void test_guard_parent_killed(void)
{
	char pidfile[128], gpidfile[128], line[1024];
	char script[2048];
	pid_t parent, guard, g;
	int st;

	snprintf(pidfile, sizeof(pidfile), "%s/orphan.pid", tmp);
	snprintf(gpidfile, sizeof(gpidfile), "%s/guard.pid", tmp);
	sleeper(line, sizeof(line), pidfile);
	snprintf(script, sizeof(script), "echo $PPID > %s.tmp; mv %s.tmp %s; %s exec sleep 1000",
		 gpidfile, gpidfile, gpidfile, line);
	parent = fork();
	if (parent == 0) {
		pid_t gd = start_guard(script);

		waitpid(gd, NULL, 0);
		_exit(0);
	}
	g = pid_from(pidfile);
	guard = pid_from(gpidfile);
	ok(g > 0 && guard > 0 && !dead(g) && !dead(guard), "guard and grandchild run");
	kill(parent, SIGKILL);
	waitpid(parent, &st, 0);
	ok(guard > 0 && gone_within(guard, 3000), "parent killed by SIGKILL: the guard exits");
	ok(g > 0 && gone_within(g, 3000), "parent killed by SIGKILL: the grandchild is gone");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	snprintf(tmp, sizeof(tmp), "/tmp/wikifs-proctree-XXXXXX");
	if (!mkdtemp(tmp))
		skip_all("cannot create a temporary directory");
	if (access("/proc/self/stat", R_OK) < 0)
		skip_all("no /proc");
	test_signal_and_end();
	test_guard_exit();
	test_guard_stop();
	test_guard_parent_killed();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd) != 0)
			diag("cannot remove %s", tmp);
	}
	return done_testing();
}
