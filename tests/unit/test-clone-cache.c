/* SPDX-License-Identifier: MIT */
/*
 * Clone cache against real git: repositories made with the git CLI, served
 * over file://, a plain path and a real `git daemon` on 127.0.0.1, plus a
 * stalled server (accepts, never answers) and a closed port. This binary is
 * also the clone helper: "--clone-helper ..." runs clone_helper_main().
 */
#include "clone_cache.h"
#include "clone_helper.h"
#include "fsutil.h"
#include "util.h"
#include "gitrepo.h"
#include "git-fixture.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

#define GIT                                                               \
	"git -c user.name=wikifs-test -c user.email=test@wikifs.invalid " \
	"-c init.defaultBranch=main -c advice.detachedHead=false"

static char root[1024];
static char self_exe[PATH_MAX];
static pid_t daemon_pid = -1;

/* First line of a command's output, without the newline. */
static int capture(char *out, size_t size, const char *fmt, ...) PRINTF(3, 4);
static int capture(char *out, size_t size, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;
	FILE *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	out[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fgets(out, (int)size, p))
		out[strcspn(out, "\n")] = '\0';
	r = pclose(p);
	return WIFEXITED(r) && WEXITSTATUS(r) == 0 && out[0] ? 0 : -1;
}

static void rev_parse(const char *repo, const char *rev, char out[64])
{
	if (capture(out, 64, "git -C '%s' rev-parse '%s^{commit}'", repo, rev) < 0)
		strcpy(out, "(rev-parse failed)");
}

/* Incompressible files, so that a clone takes measurable time. */
static int write_junk(const char *dir, unsigned nfiles, size_t size, uint64_t seed)
{
	_cleanup_free_ char *data = malloc(size);
	uint64_t x = seed * 2654435761u + 1;

	if (!data)
		return -1;
	for (unsigned f = 0; f < nfiles; f++) {
		char path[PATH_MAX + 32];
		FILE *fp;

		for (size_t i = 0; i < size; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			data[i] = (char)x;
		}
		snprintf(path, sizeof(path), "%s/junk-%u.bin", dir, f);
		fp = fopen(path, "we");
		if (!fp)
			return -1;
		if (fwrite(data, 1, size, fp) != size) {
			fclose(fp);
			return -1;
		}
		if (fclose(fp) != 0)
			return -1;
	}
	return 0;
}

static int free_port(int *keep_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return ntohs(a.sin_port);
}

static bool port_accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Processes whose parent is this test, other than the git daemon. */
static int count_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		int pid = atoi(de->d_name), ppid = 0;
		FILE *f;

		if (pid <= 0 || pid == daemon_pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == getpid()) {
			diag("child left: %s", buf);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static int count_temps(const char *cache)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/clones", cache);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp."))
			n++;
	closedir(d);
	return n;
}

static struct clone_cache *new_cache_max(const char *name, unsigned conc, unsigned timeout_s,
					 uint64_t max_bytes)
{
	char dir[PATH_MAX];
	struct clone_cache *cc = NULL;
	struct clone_cache_opts o = { .cache_dir = dir,
				      .concurrency = conc,
				      .timeout_s = timeout_s,
				      .helper_path = self_exe,
				      .max_bytes = max_bytes };
	int r;

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	mkdir_p(dir, 0700);
	r = clone_cache_new(&cc, &o);
	if (r < 0)
		diag("clone_cache_new(%s): %s", name, strerror(-r));
	return cc;
}

static struct clone_cache *new_cache(const char *name, unsigned conc, unsigned timeout_s)
{
	return new_cache_max(name, conc, timeout_s, 0);
}

/* ---- a server that accepts and never says a word ---------------------- */

struct stall {
	int fd, port;
	int accepted; /* atomic */
	int conns[32];
	unsigned nconns;
	pthread_t thread;
};

static void *stall_main(void *arg)
{
	struct stall *s = arg;

	for (;;) {
		int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* shutdown() of the listening socket */
		}
		if (s->nconns < ARRAY_SIZE(s->conns))
			s->conns[s->nconns++] = c;
		else
			close(c);
		__atomic_add_fetch(&s->accepted, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static int stall_start(struct stall *s)
{
	memset(s, 0, sizeof(*s));
	s->port = free_port(&s->fd);
	if (s->port < 0 || listen(s->fd, 16) < 0)
		return -1;
	return pthread_create(&s->thread, NULL, stall_main, s) ? -1 : 0;
}

static void stall_stop(struct stall *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	for (unsigned i = 0; i < s->nconns; i++)
		close(s->conns[i]);
}

/* ---- sync from a thread ------------------------------------------------ */

struct sync_job {
	struct clone_cache *cc;
	char url[256];
	struct clone_progress prog;
	struct clone_result res;
	struct wf_err err;
	int r;
	int64_t ms;
	pthread_t thread;
};

static void *sync_main(void *arg)
{
	struct sync_job *j = arg;
	int64_t t0 = now_ms();

	j->r = clone_cache_sync(j->cc, j->url, NULL, 0, &j->prog, &j->res, &j->err);
	j->ms = now_ms() - t0;
	return NULL;
}

/* ---- the tests --------------------------------------------------------- */

static void test_file_url(void)
{
	char src[PATH_MAX], moved[PATH_MAX], url[PATH_MAX + 16], c1[64], c2[64], cdev[64];
	char abbrev[16], missing[PATH_MAX + 16];
	struct clone_cache *cc = new_cache("cache-file", 2, 30);
	struct clone_progress prog = { 0 };
	struct clone_result res;
	struct clone_stats st;
	struct wf_err err;
	int r;

	snprintf(src, sizeof(src), "%s/src", root);
	snprintf(moved, sizeof(moved), "%s/src-moved", root);
	snprintf(url, sizeof(url), "file://%s", src);
	ok(cc, "file: cache created");
	r = fx_run(GIT " init -q '%s' && cd '%s' && echo one > a && " GIT " add a && " GIT
		       " commit -qm one && " GIT " tag -a v1 -m 'release one' && " GIT
		       " checkout -qb dev && echo dev > b && " GIT " add b && " GIT
		       " commit -qm dev && " GIT " checkout -q main && echo two > a && " GIT
		       " commit -qam two && " GIT " tag light",
		   src, src);
	is_int(r, 0, "file: source repository made with git");
	rev_parse(src, "v1", c1);
	rev_parse(src, "main", c2);
	rev_parse(src, "dev", cdev);

	r = clone_cache_sync(cc, url, NULL, 0, &prog, &res, &err);
	is_int(r, 0, "file: clone of %s succeeds (%s)", url, err.msg);
	is_str(res.commit, c2, "file: default HEAD resolves to main");
	ok(res.fetched, "file: first sync used the network");
	ok(strstr(res.git_dir, "/clones/") && strstr(res.git_dir, "/src.git"),
	   "file: clone dir is named after the repository: %s", res.git_dir);
	ok(prog.objects_total > 0 && prog.objects_received == prog.objects_total,
	   "file: progress saw %llu/%llu objects", (unsigned long long)prog.objects_received,
	   (unsigned long long)prog.objects_total);
	ok(prog.started_ms > 0, "file: started_ms set");
	is_int(prog.phase, CLONE_IDLE, "file: phase back to idle");
	is_int(count_temps(root), 0, "file: no temp dir");

	r = clone_cache_sync(cc, url, "dev", 0, NULL, &res, &err);
	is_int(r, 0, "file: branch resolves (%s)", err.msg);
	is_str(res.commit, cdev, "file: branch 'dev'");
	ok(!res.fetched, "file: cached sync used no network");

	r = clone_cache_sync(cc, url, "v1", 0, NULL, &res, &err);
	is_int(r, 0, "file: annotated tag resolves (%s)", err.msg);
	is_str(res.commit, c1, "file: annotated tag peeled to its commit");

	r = clone_cache_sync(cc, url, "light", 0, NULL, &res, &err);
	is_str(res.commit, c2, "file: lightweight tag");

	snprintf(abbrev, sizeof(abbrev), "%.10s", c1);
	r = clone_cache_sync(cc, url, abbrev, 0, NULL, &res, &err);
	is_int(r, 0, "file: abbreviated commit id resolves (%s)", err.msg);
	is_str(res.commit, c1, "file: abbreviated id is the full commit");

	r = clone_cache_sync(cc, url, "no-such-ref", 0, NULL, &res, &err);
	is_int(r, -ENOENT, "file: unknown ref is -ENOENT");
	ok(strstr(err.msg, "'no-such-ref'") && strstr(err.msg, url),
	   "file: message names ref and URL: %s", err.msg);

	is_int(rename(src, moved), 0, "file: source repository moved away");
	r = clone_cache_sync(cc, url, NULL, 0, &prog, &res, &err);
	is_int(r, 0, "file: cached clone still resolves without its source (%s)", err.msg);
	is_str(res.commit, c2, "file: same commit from cache");
	ok(!res.fetched, "file: no network");

	r = clone_cache_sync(cc, url, NULL, CLONE_FETCH, &prog, &res, &err);
	is_int(r, 0, "file: failed fetch still returns the cached commit");
	is_str(res.commit, c2, "file: cached commit after failed fetch");
	ok(strstr(err.msg, "fetch of '") && strstr(err.msg, url),
	   "file: fetch failure reported: %s", err.msg);
	ok(!res.fetched, "file: failed fetch is not 'fetched'");

	r = clone_cache_sync(cc, url, NULL, CLONE_FETCH | CLONE_OFFLINE, NULL, &res, &err);
	is_int(r, 0, "file: offline wins over fetch");
	ok(err.msg[0] == '\0', "file: offline sync has no error message");

	r = clone_cache_sync(cc, moved, "dev", CLONE_OFFLINE, NULL, &res, &err);
	is_int(r, -ENOENT, "file: offline and not cached is -ENOENT");

	/* A plain local path is a URL too. */
	r = clone_cache_sync(cc, moved, "dev", 0, NULL, &res, &err);
	is_int(r, 0, "file: clone from a plain path (%s)", err.msg);
	is_str(res.commit, cdev, "file: plain path, branch 'dev'");

	snprintf(missing, sizeof(missing), "file://%s/nowhere", root);
	r = clone_cache_sync(cc, missing, NULL, 0, NULL, &res, &err);
	is_int(r, -ENOENT, "file: missing repository is -ENOENT");
	ok(strstr(err.msg, "clone of '") && strstr(err.msg, missing), "file: message: %s", err.msg);
	is_int(count_temps(root), 0, "file: failed clone left no temp dir");

	clone_cache_stats(cc, &st);
	ok(st.done == 2 && st.failed == 2 && st.active == 0 && st.queued == 0,
	   "file: stats done=%llu failed=%llu active=%u queued=%u", (unsigned long long)st.done,
	   (unsigned long long)st.failed, st.active, st.queued);
	clone_cache_free(cc);
}

static int start_daemon(const char *base)
{
	char portarg[32], basearg[PATH_MAX + 16];
	char *argv[] = { "git",		 "daemon",     "--reuseaddr",
			 "--export-all", basearg,      "--listen=127.0.0.1",
			 portarg,	 (char *)base, NULL };
	int port = free_port(NULL);
	int64_t until = now_ms() + 10000;
	pid_t pid;

	if (port < 0)
		return -1;
	snprintf(portarg, sizeof(portarg), "--port=%d", port);
	snprintf(basearg, sizeof(basearg), "--base-path=%s", base);
	if (posix_spawnp(&pid, "git", NULL, NULL, argv, environ) != 0)
		return -1;
	daemon_pid = pid;
	while (!port_accepts(port)) {
		if (now_ms() > until || waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		pause_ms(20);
	}
	return port;
}

static void stop_daemon(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
}

static void test_git_daemon(const char *base, int port)
{
	char repo[PATH_MAX], url[256], c1[64], c2[64], short_id[8];
	struct clone_cache *cc = new_cache("cache-daemon", 2, 30);
	struct clone_result res;
	struct wf_err err;
	int r;

	snprintf(repo, sizeof(repo), "%s/d0", base);
	snprintf(url, sizeof(url), "git://127.0.0.1:%d/d0", port);
	r = fx_run(GIT " init -q '%s' && cd '%s' && echo one > a && " GIT " add a && " GIT
		       " commit -qm one && " GIT " branch gone",
		   repo, repo);
	is_int(r, 0, "daemon: repository made");
	rev_parse(repo, "main", c1);

	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	is_int(r, 0, "daemon: clone over git:// (%s)", err.msg);
	is_str(res.commit, c1, "daemon: HEAD commit");
	r = clone_cache_sync(cc, url, "gone", 0, NULL, &res, &err);
	is_int(r, 0, "daemon: branch 'gone' exists before the fetch");

	r = fx_run("cd '%s' && echo two > a && " GIT " commit -qam two && " GIT
		   " tag -a v2 -m two && " GIT " branch -qD gone",
		   repo);
	is_int(r, 0, "daemon: upstream commit, tag, branch deleted");
	rev_parse(repo, "main", c2);

	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	is_str(res.commit, c1, "daemon: without CLONE_FETCH the old commit stays");
	r = clone_cache_sync(cc, url, NULL, CLONE_FETCH, NULL, &res, &err);
	is_int(r, 0, "daemon: fetch (%s)", err.msg);
	is_str(res.commit, c2, "daemon: fetch brings the new commit");
	ok(res.fetched && err.msg[0] == '\0', "daemon: fetched, no error message");
	r = clone_cache_sync(cc, url, "v2", 0, NULL, &res, &err);
	is_str(res.commit, c2, "daemon: new tag fetched");
	r = fx_run(GIT " --git-dir='%s' rev-parse -q --verify refs/heads/gone >/dev/null",
		   res.git_dir);
	ok(r != 0, "daemon: deleted branch pruned from the clone");
	r = clone_cache_sync(cc, url, "gone", 0, NULL, &res, &err);
	is_int(r, 0, "daemon: a pruned branch resolved before still resolves");
	is_str(res.commit, c1, "daemon: to its last good commit");
	snprintf(short_id, sizeof(short_id), "%.7s", c1);
	ok(strstr(err.msg, "ref 'gone' no longer exists on the remote") &&
	       strstr(err.msg, "serving last good commit") && strstr(err.msg, short_id),
	   "daemon: with the cause in the message (%s)", err.msg);
	r = clone_cache_sync(cc, url, "never-was", 0, NULL, &res, &err);
	is_int(r, -ENOENT, "daemon: a ref never resolved is not found");

	snprintf(url, sizeof(url), "git://127.0.0.1:%d/not-there", port);
	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	ok(r < 0, "daemon: unknown repository fails: %d %s", r, err.msg);
	clone_cache_free(cc);
}

static void test_concurrency(const char *base, int port)
{
	enum { N = 6 };
	struct clone_cache *cc = new_cache("cache-conc", 2, 30);
	struct sync_job jobs[N];
	struct clone_stats st;
	unsigned max_queued = 0, oks = 0;
	int r = 0;

	for (int i = 0; i < N && r == 0; i++) {
		char repo[PATH_MAX];

		snprintf(repo, sizeof(repo), "%s/c%d", base, i);
		r = fx_run(GIT " init -q '%s'", repo);
		if (r == 0)
			r = write_junk(repo, 64, 32 * 1024, (uint64_t)i + 1);
		if (r == 0)
			r = fx_run("cd '%s' && " GIT " add . && " GIT " commit -qm junk", repo);
	}
	is_int(r, 0, "conc: %d repositories with 2 MiB each", N);
	for (int i = 0; i < N; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].cc = cc;
		snprintf(jobs[i].url, sizeof(jobs[i].url), "git://127.0.0.1:%d/c%d", port, i);
		pthread_create(&jobs[i].thread, NULL, sync_main, &jobs[i]);
	}
	/* Sample the queue while they run (diagnostic only). */
	for (int64_t until = now_ms() + 60000; now_ms() < until;) {
		clone_cache_stats(cc, &st);
		max_queued = MAX(max_queued, st.queued);
		if (st.done + st.failed == N)
			break;
		pause_ms(1);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(jobs[i].thread, NULL);
		if (jobs[i].r == 0 && strlen(jobs[i].res.commit) == 40)
			oks++;
		else
			diag("job %d: %d %s", i, jobs[i].r, jobs[i].err.msg);
	}
	is_int(oks, N, "conc: all %d syncs succeed", N);
	clone_cache_stats(cc, &st);
	is_int(st.max_active_seen, 2, "conc: max_active_seen is exactly the concurrency");
	is_int(st.done, N, "conc: done counts every clone");
	ok(st.active == 0 && st.queued == 0, "conc: nothing active or queued afterwards");
	diag("conc: most queued at once (sampled): %u", max_queued);
	clone_cache_free(cc);
}

static void test_max_bytes(int port)
{
	struct clone_cache *cc = new_cache_max("cache-max", 1, 30, 256 * 1024);
	struct clone_result res;
	struct wf_err err;
	char url[128];
	int r;

	snprintf(url, sizeof(url), "git://127.0.0.1:%d/c0", port);
	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	is_int(r, -EFBIG, "max: clone past max_bytes is -EFBIG");
	ok(strstr(err.msg, url) && strstr(err.msg, "bytes"), "max: message: %s", err.msg);
	is_int(count_temps(root), 0, "max: no temp dir left");
	clone_cache_free(cc);
}

static void test_stall(struct stall *s)
{
	struct clone_cache *cc = new_cache("cache-stall", 2, 2);
	struct clone_result res;
	struct clone_stats st;
	struct wf_err err;
	char url[128];
	int64_t t0, ms;
	int r;

	snprintf(url, sizeof(url), "git://127.0.0.1:%d/x", s->port);
	t0 = now_ms();
	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	ms = now_ms() - t0;
	is_int(r, -ETIMEDOUT, "stall: clone from a silent server is -ETIMEDOUT");
	ok(ms >= 1900 && ms < 5000, "stall: cut off after %lld ms (timeout 2 s)", (long long)ms);
	ok(strstr(err.msg, url) != NULL, "stall: message: %s", err.msg);
	ok(__atomic_load_n(&s->accepted, __ATOMIC_SEQ_CST) >= 1, "stall: the helper did connect");
	is_int(count_temps(root), 0, "stall: no temp dir left");
	is_int(count_children(), 0, "stall: helper reaped, no child process left");
	clone_cache_stats(cc, &st);
	ok(st.failed == 1 && st.active == 0, "stall: counted as failed");
	diag("stall: cut-off after %lld ms", (long long)ms);
	clone_cache_free(cc);
}

static void test_refused(void)
{
	struct clone_cache *cc = new_cache("cache-refused", 2, 10);
	struct clone_result res;
	struct wf_err err;
	char url[128];
	int keep = -1, port = free_port(&keep); /* bound, not listening: refused */
	int64_t t0 = now_ms();
	int r;

	snprintf(url, sizeof(url), "git://127.0.0.1:%d/x", port);
	r = clone_cache_sync(cc, url, NULL, 0, NULL, &res, &err);
	is_int(r, -ECONNREFUSED, "refused: closed port is -ECONNREFUSED");
	ok(strstr(err.msg, "clone of '") && strstr(err.msg, url), "refused: message: %s", err.msg);
	ok(now_ms() - t0 < 5000, "refused: fails fast (%lld ms)", (long long)(now_ms() - t0));
	is_int(count_temps(root), 0, "refused: no temp dir left");
	if (keep >= 0)
		close(keep);
	clone_cache_free(cc);
}

static void test_shutdown(struct stall *s)
{
	struct clone_cache *cc = new_cache("cache-shut", 1, 60);
	struct sync_job jobs[2];
	struct clone_result res;
	struct clone_stats st = { 0 };
	struct wf_err err;
	int before = __atomic_load_n(&s->accepted, __ATOMIC_SEQ_CST);
	int64_t until = now_ms() + 10000, t0;
	bool ready = false;
	int r;

	for (int i = 0; i < 2; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].cc = cc;
		snprintf(jobs[i].url, sizeof(jobs[i].url), "git://127.0.0.1:%d/s%d", s->port, i);
		pthread_create(&jobs[i].thread, NULL, sync_main, &jobs[i]);
	}
	/* One helper connected to the silent server, the other sync waiting. */
	while (!ready && now_ms() < until) {
		clone_cache_stats(cc, &st);
		ready = __atomic_load_n(&s->accepted, __ATOMIC_SEQ_CST) > before &&
			st.active == 1 && st.queued == 1;
		if (!ready)
			pause_ms(5);
	}
	ok(ready, "shutdown: one clone stalled, one queued (active %u queued %u)", st.active,
	   st.queued);
	t0 = now_ms();
	clone_cache_shutdown(cc);
	for (int i = 0; i < 2; i++)
		pthread_join(jobs[i].thread, NULL);
	is_int(jobs[0].r, -ECANCELED, "shutdown: first sync cancelled (%s)", jobs[0].err.msg);
	is_int(jobs[1].r, -ECANCELED, "shutdown: second sync cancelled (%s)", jobs[1].err.msg);
	ok(now_ms() - t0 < 1000, "shutdown: both returned in %lld ms", (long long)(now_ms() - t0));
	diag("shutdown: syncs returned %lld ms after clone_cache_shutdown()",
	     (long long)(now_ms() - t0));
	r = clone_cache_sync(cc, jobs[0].url, NULL, CLONE_OFFLINE, NULL, &res, &err);
	is_int(r, -ECANCELED, "shutdown: later syncs are cancelled too");
	is_int(count_children(), 0, "shutdown: no child process left");
	is_int(count_temps(root), 0, "shutdown: no temp dir left");
	clone_cache_free(cc);
}

static void test_stale_temps(void)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 64], keep[PATH_MAX + 64];
	struct clone_cache *cc;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/cache-stale/clones", root);
	snprintf(tmp, sizeof(tmp), "%s/x-0123456789abcdef.git.tmp.AbCdEf/objects", dir);
	snprintf(keep, sizeof(keep), "%s/y-0123456789abcdef.git", dir);
	ok(mkdir_p(tmp, 0700) == 0 && mkdir_p(keep, 0700) == 0, "stale: leftovers made");
	cc = new_cache("cache-stale", 1, 10);
	ok(cc, "stale: cache created");
	is_int(count_temps(root), 0, "stale: leftover temp dir removed");
	ok(stat(keep, &st) == 0, "stale: finished clone kept");
	clone_cache_free(cc);
	clone_cache_free(NULL);
}

int main(int argc, char **argv)
{
	char base[1100];
	struct stall s;
	ssize_t n;
	int port;

	if (argc > 1 && !strcmp(argv[1], "--clone-helper"))
		return clone_helper_main(argc - 2, argv + 2);
	if (gitrepo_global_init() < 0)
		return 1;
	if (system("git --version >/dev/null 2>&1") != 0)
		skip_all("git not found");

	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	snprintf(root, sizeof(root), "%s/wikifs-clone-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(root))
		return 1;
	/* Work on a fresh machine and ignore the user's own git setup. */
	setenv("GIT_AUTHOR_NAME", "wikifs-test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@wikifs.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "wikifs-test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@wikifs.invalid", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("HOME", root, 1);

	test_stale_temps();
	test_file_url();

	snprintf(base, sizeof(base), "%s/served", root);
	mkdir_p(base, 0700);
	port = start_daemon(base);
	ok(port > 0, "git daemon listening on 127.0.0.1:%d", port);
	if (port > 0) {
		test_git_daemon(base, port);
		test_concurrency(base, port);
		test_max_bytes(port);
	}

	port = stall_start(&s);
	ok(port == 0, "silent server listening on 127.0.0.1:%d", s.port);
	test_stall(&s);
	test_refused();
	test_shutdown(&s);
	stall_stop(&s);
	stop_daemon();

	is_int(count_children(), 0, "no child process left at the end");
	rm_rf(root);
	gitrepo_global_shutdown();
	return done_testing();
}
