/* SPDX-License-Identifier: MIT */
/*
 * Supervised child processes; see child.h for the contract.
 *
 * vfork() + execve() rather than posix_spawn(), for the one thing
 * posix_spawn() cannot do: PR_SET_PDEATHSIG before the program starts.
 * Everything the child needs is prepared in the parent (struct exec_plan);
 * between vfork() and execve() the child makes only async-signal-safe
 * system calls, with every signal blocked until its dispositions are back
 * to default, so no handler of ours ever runs in it. Every descriptor we
 * hand it sits above 2 (a pipe may come back as 0-2 when our own stdio is
 * closed), so dup2() onto 0-2 never overwrites one still to be moved. A
 * failure before execve() (dup2, chdir, execve itself) is written as a
 * struct exec_report on a close-on-exec pipe: the parent reads EOF when
 * execve() succeeded. That also works where vfork() is a fork() (TSan).
 */
#include "child.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

#define CHUNK	     16384 /* one read() */
#define READ_ROUNDS  16	   /* reads per stream per poll round: the clock is looked at */
#define STDIN_STEP   65536 /* one write() */
#define NAP_NO_PIDFD 50	   /* ms between looks at the child where there is no pidfd */

struct stream {
	int fd; /* read end; -1 when not piped or at EOF */
	struct child_output o;
	char *line; /* line_max + 1 bytes, only with o.on_line */
	size_t len;
	bool cont; /* the line so far was handed out in part already */
};

struct child {
	char *path; /* for messages */
	pid_t pid;  /* also the process group id */
	int pidfd;  /* -1 where the kernel has none */
	int in;	    /* write end of stdin; -1 once closed */
	const char *in_data;
	size_t in_len, in_done;
	child_stdin_fn in_fn; /* the next piece of stdin, or NULL */
	void *in_opaque;
	struct stream out, err;
	size_t line_max;
	int64_t deadline, stall_ms, last_progress;
	int grace_ms, abort_fd;
	bool exited; /* a zombie now, not reaped yet */
	bool reaped;
	int status;
};

/* ---- starting --------------------------------------------------------- */

enum stage { STAGE_SETUP, STAGE_CHDIR, STAGE_EXEC, STAGE_RO };

struct exec_report {
	int stage, err;
};

/* Everything the vfork()ed child uses, prepared beforehand. */
struct exec_plan {
	const char *path, *cwd, *ro_path;
	char *const *argv, *const *envp;
	int fds[3]; /* become 0, 1, 2; -1: keep ours */
	int report; /* write end of the report pipe, > 2 */
	int pdeathsig;
	pid_t parent;
};

/*
 * In a new private mount namespace, @path becomes a read-only bind mount
 * of itself: writes below it fail with EROFS, for root too. System calls
 * only (the vfork()ed child may run it). -1 with errno.
 */
static int make_read_only(const char *path)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		     NULL);
}

static int ro_probe_result;

static void ro_probe(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) < 0 ||
			      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
			  ? (errno & 0x7f) ?: 1
			  : 0);
	if (pid < 0) {
		ro_probe_result = -errno;
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ro_probe_result = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
			  : WIFEXITED(status)				? -WEXITSTATUS(status)
									: -EIO;
}

int child_ro_supported(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, ro_probe);
	return ro_probe_result;
}

static _Noreturn void exec_child(const struct exec_plan *p)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct exec_report rep = { STAGE_SETUP, 0 };
	sigset_t none;

	setpgid(0, 0);
	if (p->pdeathsig) {
		prctl(PR_SET_PDEATHSIG, p->pdeathsig);
		if (getppid() != p->parent)
			_exit(127); /* the parent died before the line above */
	}
	for (int i = 0; i < 3; i++)
		if (p->fds[i] >= 0 && dup2(p->fds[i], i) < 0)
			goto out_report;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc's own signals refuse: fine */
	if (p->report > STDERR_FILENO + 1)
		close_range(STDERR_FILENO + 1, (unsigned)p->report - 1, 0);
	close_range((unsigned)p->report + 1, ~0u, 0);
	if (p->ro_path && make_read_only(p->ro_path) < 0) {
		rep.stage = STAGE_RO;
		goto out_report;
	}
	if (p->cwd && chdir(p->cwd) < 0) {
		rep.stage = STAGE_CHDIR;
		goto out_report;
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(p->path, p->argv, p->envp);
	rep.stage = STAGE_EXEC;
out_report:
	rep.err = errno;
	if (write(p->report, &rep, sizeof(rep)) < 0) {
		/* nobody to tell: the exit status says it */
	}
	_exit(127);
}

/* @fd moved above 2 (close-on-exec), or -errno with @fd closed. */
static int above_stdio(int fd)
{
	int n;

	if (fd > STDERR_FILENO)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static int pipe_above_stdio(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fds[0] = above_stdio(fds[0]);
	fds[1] = above_stdio(fds[1]);
	if (fds[0] >= 0 && fds[1] >= 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return fds[0] < 0 ? fds[0] : fds[1];
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The descriptors of one spawn; what is not handed on is closed. */
struct setup {
	int in[2], out[2], err[2], rep[2], null;
};

static void setup_done(struct setup *s)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&s->in[i]);
		close_fd(&s->out[i]);
		close_fd(&s->err[i]);
		close_fd(&s->rep[i]);
	}
	close_fd(&s->null);
}

static bool piped(const struct child_output *o)
{
	return o->capture || o->on_line;
}

static bool child_has_stdin(const struct child_opts *o)
{
	return o->stdin_data || o->stdin_fn;
}

static int setup_open(struct setup *s, const struct child_opts *o)
{
	bool need_null = !child_has_stdin(o) || (!piped(&o->out) && !o->out.inherit) ||
			 (!piped(&o->err) && !o->err.inherit);
	int r;

	r = pipe_above_stdio(s->rep);
	if (r == 0 && child_has_stdin(o))
		r = pipe_above_stdio(s->in);
	if (r == 0 && piped(&o->out))
		r = pipe_above_stdio(s->out);
	if (r == 0 && piped(&o->err))
		r = pipe_above_stdio(s->err);
	if (r == 0 && need_null) {
		s->null = open("/dev/null", O_RDWR | O_CLOEXEC);
		r = s->null < 0 ? -errno : 0;
		if (r == 0)
			s->null = above_stdio(s->null);
		r = s->null < 0 ? s->null : 0;
	}
	return r;
}

/* Where child descriptor @i comes from. */
static int plan_fd(const struct setup *s, const struct child_output *o, const int p[2])
{
	return piped(o) ? p[1] : o->inherit ? -1 : s->null;
}

/*
 * vfork()s and execs; returns the pid, or -errno with the failed stage in
 * *@stage. All signals stay blocked in this thread around vfork().
 */
static pid_t start(const struct exec_plan *plan, struct setup *s, int *stage)
{
	struct exec_report rep;
	sigset_t all, old;
	ssize_t n;
	pid_t pid;
	int saved;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		exec_child(plan);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*stage = STAGE_SETUP;
	if (pid < 0)
		return -saved;
	close_fd(&s->rep[1]); /* EOF below once the child's copy is gone too */
	do
		n = read(s->rep[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		return pid;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*stage = rep.stage;
	return rep.err > 0 ? -rep.err : -EIO;
}

static int stream_init(struct stream *s, const struct child_output *o, size_t line_max)
{
	s->fd = -1;
	s->o = *o;
	if (o->on_line) {
		s->line = malloc(line_max + 1);
		if (!s->line)
			return -ENOMEM;
	}
	return 0;
}

static struct child *child_new(const struct child_opts *o)
{
	struct child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pid = -1;
	c->pidfd = -1;
	c->in = -1;
	c->out.fd = -1;
	c->err.fd = -1;
	c->reaped = true; /* nothing to end until there is a process */
	c->line_max = o->line_max ? o->line_max : CHILD_LINE_MAX;
	c->path = strdup(o->path);
	if (!c->path || stream_init(&c->out, &o->out, c->line_max) < 0 ||
	    stream_init(&c->err, &o->err, c->line_max) < 0) {
		child_free(c);
		return NULL;
	}
	c->in_data = o->stdin_data;
	c->in_len = o->stdin_len;
	c->in_fn = o->stdin_fn;
	c->in_opaque = o->stdin_opaque;
	c->stall_ms = o->stall_ms > 0 ? o->stall_ms : 0;
	c->grace_ms = o->grace_ms > 0 ? o->grace_ms : CHILD_GRACE_MS;
	c->abort_fd = o->abort_fd > 0 ? o->abort_fd : -1;
	return c;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int child_spawn(struct child **ret, const struct child_opts *o, struct wf_err *err)
{
	static const char *const what[] = { "cannot start", "cannot enter directory", "cannot run",
					    "cannot make read-only" };
	struct setup s = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }, -1 };
	struct exec_plan plan = { .path = o->path,
				  .cwd = o->cwd,
				  .ro_path = o->ro_path,
				  .argv = o->argv,
				  .envp = o->envp ? o->envp : environ,
				  .pdeathsig = o->pdeathsig,
				  .parent = getpid() };
	struct child *c = child_new(o);
	int r, stage = STAGE_SETUP;

	if (!c)
		return wf_err_set(err, -ENOMEM, "cannot start '%s': out of memory", o->path);
	r = setup_open(&s, o);
	if (r < 0) {
		wf_err_set(err, r, "cannot start '%s': %s", o->path, strerror(-r));
		goto out_free;
	}
	plan.fds[0] = child_has_stdin(o) ? s.in[0] : s.null;
	plan.fds[1] = plan_fd(&s, &o->out, s.out);
	plan.fds[2] = plan_fd(&s, &o->err, s.err);
	plan.report = s.rep[1];
	r = start(&plan, &s, &stage);
	if (r < 0) {
		wf_err_set(err, r, "%s '%s': %s", what[stage],
			   stage == STAGE_CHDIR ? o->cwd
			   : stage == STAGE_RO	? o->ro_path
						: o->path,
			   strerror(-r));
		goto out_free;
	}
	c->pid = r;
	c->reaped = false;
	c->pidfd = pidfd_open_compat(c->pid);
	c->in = TAKE_FD(s.in[1]);
	c->out.fd = TAKE_FD(s.out[0]);
	c->err.fd = TAKE_FD(s.err[0]);
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? c->in : i == 1 ? c->out.fd : c->err.fd;

		if (fd >= 0)
			fcntl(fd, F_SETFL, O_NONBLOCK);
	}
	c->deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	c->last_progress = now_ms();
	setup_done(&s);
	*ret = c;
	return 0;
out_free:
	setup_done(&s);
	child_free(c);
	return r;
}

/* ---- supervising ------------------------------------------------------ */

/* Writes to a pipe whose reader may be gone, without a process-wide SIGPIPE. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old;
	ssize_t w;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	w = write(fd, p, n);
	saved = errno;
	if (w < 0 && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
		/* consume the SIGPIPE this thread just raised before unblocking */
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return w;
}

/* The next piece from stdin_fn once the last one is written: 1, 0 at the end, or -errno. */
static int next_stdin(struct child *c, struct wf_err *err)
{
	const void *data = NULL;
	size_t len = 0;
	int r;

	while (c->in_fn && c->in_done == c->in_len) {
		r = c->in_fn(c->in_opaque, &data, &len);
		if (r < 0)
			return wf_err_set(err, r, "cannot feed '%s': %s", c->path, strerror(-r));
		if (r == 0) {
			c->in_fn = NULL;
			return 0;
		}
		c->in_data = data;
		c->in_len = len;
		c->in_done = 0;
	}
	return c->in_done < c->in_len;
}

static int feed_stdin(struct child *c, struct wf_err *err)
{
	size_t left;
	ssize_t w = 0;
	int r = next_stdin(c, err);

	if (r < 0)
		return r;
	left = c->in_len - c->in_done;
	if (left)
		w = write_nosigpipe(c->in, c->in_data + c->in_done, MIN(left, (size_t)STDIN_STEP));
	if (w > 0)
		c->in_done += (size_t)w;
	/* all written: EOF for the child; EPIPE: it stopped reading, not an error */
	if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
	    (c->in_done == c->in_len && (!c->in_fn || (r = next_stdin(c, err)) == 0)))
		close_fd(&c->in);
	return r < 0 ? r : 0;
}

static int emit(struct child *c, struct stream *s, unsigned flags)
{
	int r;

	s->line[s->len] = '\0';
	if (s->cont)
		flags |= CHILD_LINE_CONT;
	r = s->o.on_line(s->o.opaque, s->line, s->len, flags);
	s->cont = flags & CHILD_LINE_PARTIAL;
	s->len = 0;
	if (r > 0)
		c->last_progress = now_ms();
	return r < 0 ? r : 0;
}

/* Cuts @p into lines of at most line_max bytes for the callback. */
static int take_lines(struct child *c, struct stream *s, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t k = MIN(seg, c->line_max - s->len);
		int r = 0;

		memcpy(s->line + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (nl && k == seg) {
			p++;
			n--;
			r = emit(c, s, 0);
		} else if (s->len == c->line_max) {
			r = emit(c, s, CHILD_LINE_PARTIAL);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int take(struct child *c, struct stream *s, const char *p, size_t n, struct wf_err *err)
{
	int r;

	if (s->o.capture && buf_add(s->o.capture, p, n) < 0)
		return wf_err_set(err, -EFBIG, "output of '%s' larger than %zu bytes", c->path,
				  s->o.capture->max);
	if (!s->o.on_line) {
		c->last_progress = now_ms();
		return 0;
	}
	r = take_lines(c, s, p, n);
	if (r < 0)
		return wf_err_set(err, r, "output of '%s' refused: %s", c->path, strerror(-r));
	return 0;
}

/* Reads what is there (a bounded amount); at EOF, the last unterminated line. */
static int drain(struct child *c, struct stream *s, struct wf_err *err)
{
	char chunk[CHUNK];
	int r = 0;

	for (int round = 0; round < READ_ROUNDS && s->fd >= 0; round++) {
		ssize_t n = read(s->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close_fd(&s->fd);
			if (s->o.on_line && s->len > 0)
				r = emit(c, s, CHILD_LINE_NOEOL);
			if (r < 0)
				return wf_err_set(err, r, "output of '%s' refused: %s", c->path,
						  strerror(-r));
			return 0;
		}
		r = take(c, s, chunk, (size_t)n, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether the child has exited, leaving it a zombie to reap. */
static bool has_exited(pid_t pid)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

/* The next poll() timeout in ms; 0 ends supervision with *@r. */
static int64_t next_timeout(struct child *c, int64_t *drain_end, int *r, struct wf_err *err)
{
	int64_t now = now_ms(), t = 1000;

	*r = 0;
	if (c->deadline && now >= c->deadline) {
		*r = wf_err_set(err, -ETIMEDOUT, "'%s' still running at its deadline", c->path);
		return 0;
	}
	if (c->stall_ms && now >= c->last_progress + c->stall_ms) {
		*r = wf_err_set(err, -ETIMEDOUT, "'%s' made no progress for %lld ms", c->path,
				(long long)c->stall_ms);
		return 0;
	}
	if (c->exited) {
		if (c->out.fd < 0 && c->err.fd < 0)
			return 0;
		/* a background grandchild may hold the pipes forever */
		if (!*drain_end)
			*drain_end = now + CHILD_DRAIN_MS;
		if (now >= *drain_end)
			return 0;
		t = MIN(t, *drain_end - now);
	} else if (c->pidfd < 0) {
		t = MIN(t, NAP_NO_PIDFD);
	}
	if (c->deadline)
		t = MIN(t, c->deadline - now);
	if (c->stall_ms)
		t = MIN(t, c->last_progress + c->stall_ms - now);
	return MAX(t, 1);
}

static void add_fd(struct pollfd *p, int *np, int *idx, int fd, short ev)
{
	*idx = -1;
	if (fd < 0)
		return;
	*idx = *np;
	p[(*np)++] = (struct pollfd){ .fd = fd, .events = ev };
}

static bool ready(const struct pollfd *p, int idx)
{
	return idx >= 0 && p[idx].revents;
}

/* One poll round: 1 to go on, 0 when the child is done, or -errno to stop. */
static int step(struct child *c, int64_t *drain_end, struct wf_err *err)
{
	struct pollfd p[5];
	int np = 0, i_abort, i_in, i_out, i_err, i_pid, r;
	int64_t timeout = next_timeout(c, drain_end, &r, err);

	if (timeout == 0)
		return r;
	add_fd(p, &np, &i_abort, c->abort_fd, POLLIN);
	add_fd(p, &np, &i_in, c->in, POLLOUT);
	add_fd(p, &np, &i_out, c->out.fd, POLLIN);
	add_fd(p, &np, &i_err, c->err.fd, POLLIN);
	add_fd(p, &np, &i_pid, c->exited ? -1 : c->pidfd, POLLIN);
	if (poll(p, (nfds_t)np, (int)timeout) < 0) {
		if (errno == EINTR)
			return 1;
		return wf_err_set(err, -errno, "cannot watch '%s': %s", c->path, strerror(errno));
	}
	if (ready(p, i_abort))
		return wf_err_set(err, -ECANCELED, "'%s' aborted", c->path);
	if (ready(p, i_in) && (r = feed_stdin(c, err)) < 0)
		return r;
	if (ready(p, i_out) && (r = drain(c, &c->out, err)) < 0)
		return r;
	if (ready(p, i_err) && (r = drain(c, &c->err, err)) < 0)
		return r;
	if (!c->exited && (c->pidfd < 0 || ready(p, i_pid)))
		c->exited = has_exited(c->pid);
	return 1;
}

/* SIGTERM, up to grace_ms for the child to exit, SIGKILL to the group, reap. */
static void end_group(struct child *c)
{
	int64_t until = now_ms() + c->grace_ms;

	if (c->reaped || c->pid <= 0)
		return;
	kill(-c->pid, SIGTERM);
	while (!c->exited) {
		int64_t left = until - now_ms();

		if (left <= 0)
			break;
		if (c->pidfd >= 0)
			poll(&(struct pollfd){ .fd = c->pidfd, .events = POLLIN }, 1, (int)left);
		else
			nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
		c->exited = has_exited(c->pid);
	}
	/* not reaped yet: the group id cannot belong to anyone else */
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL); /* had setpgid() failed */
	while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
		;
	c->reaped = true;
}

int child_wait(struct child *c, int *status, struct wf_err *err)
{
	int64_t drain_end = 0;
	int r;

	while ((r = step(c, &drain_end, err)) > 0)
		;
	end_group(c);
	close_fd(&c->in);
	/* what the dying child said last (a bounded amount); its verdict stands */
	if (c->out.fd >= 0 && drain(c, &c->out, NULL) < 0)
		close_fd(&c->out.fd);
	if (c->err.fd >= 0 && drain(c, &c->err, NULL) < 0)
		close_fd(&c->err.fd);
	if (status)
		*status = c->status;
	return r;
}

pid_t child_pid(const struct child *c)
{
	return c->pid;
}

void child_free(struct child *c)
{
	if (!c)
		return;
	end_group(c);
	close_fd(&c->in);
	close_fd(&c->out.fd);
	close_fd(&c->err.fd);
	close_fd(&c->pidfd);
	free(c->out.line);
	free(c->err.line);
	free(c->path);
	free(c);
}

int child_run(const struct child_opts *o, int *status, struct wf_err *err)
{
	struct child *c;
	int r = child_spawn(&c, o, err);

	if (r < 0)
		return r;
	r = child_wait(c, status, err);
	child_free(c);
	return r;
}
