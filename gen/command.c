/* SPDX-License-Identifier: MIT */
/*
 * backend = command: runs the configured command line ("claude -p",
 * "llm -m X", "ollama run X") with the prompt on stdin and takes the page
 * from stdout.
 *
 * Safety: a command with shell syntax runs as "/bin/sh -c COMMAND"; a plain
 * "prog args" (quotes allowed) is split here and run directly. The shell
 * only ever parses the user's own configured string; repository
 * data reaches the program through stdin, and the page identity through the
 * environment (WIKIFS_REPO, WIKIFS_PAGE, WIKIFS_COMMIT), which a shell
 * expands only where the user's command asks for it, never re-parses.
 *
 * Lifetime: the command runs under a guard (core/proctree.h): the wikifs
 * executable started again as a child subreaper, which starts the command
 * and ends its whole subtree -- grandchildren that called setsid() or ignore
 * SIGTERM included -- when the command exits, when we send it SIGTERM
 * (timeout, abort, unmount) and when the daemon dies, even by SIGKILL (its
 * parent-death signal is SIGTERM, which it catches). Here the guard is the
 * child: its own process group, so a terminal's signals to the daemon's
 * group do not reach it, and it exits only once every process it guarded is
 * gone, with the command's status. All three pipes are served by one poll()
 * loop, so a large prompt and a large page cannot deadlock each other; an
 * eventfd written by abort() is in the same poll set, so unmount is
 * immediate. A pidfd (where the kernel has one) tells when the guard exits.
 * The guard is always reaped with waitpid().
 *
 * Failures: a timeout, a non-zero exit, death by a signal and an empty page
 * are retryable: CLI agents fail transiently (network, rate limits) and the
 * pool's attempt limit bounds the cost. So is a failure to start it for want
 * of descriptors, processes or memory (the machine's state, not the page's;
 * 125 is the guard's own failure to start it). Exit 126/127 (not executable
 * / not found) and a page over PAGE_MAX_BYTES are not: they will not change.
 */
#include "backend.h"
#include "proctree.h"
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

#define STDERR_TAIL 400

struct command {
	const struct conf *c;
	int abort_fd; /* eventfd, readable once abort() was called */
};

/* The last STDERR_TAIL bytes of a stream, as a ring. */
struct tail {
	char ring[STDERR_TAIL];
	size_t total;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->ring[(t->total + i) % STDERR_TAIL] = p[i];
	t->total += n;
}

/* The tail as one printable line. */
static void tail_str(const struct tail *t, char *out, size_t n)
{
	size_t len = MIN(t->total, (size_t)STDERR_TAIL), k = 0;
	size_t first = t->total - len;

	for (size_t i = 0; i < len && k + 1 < n; i++) {
		unsigned char c = (unsigned char)t->ring[(first + i) % STDERR_TAIL];

		out[k++] = c == '\n' || c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

static int command_init(void **state, const struct conf *c, struct wf_err *err)
{
	struct command *cmd;

	if (!c->command || !*c->command)
		return wf_err_set(err, -EINVAL,
				  "generator.command is empty: backend 'command' "
				  "needs a command line");
	cmd = calloc(1, sizeof(*cmd));
	if (!cmd)
		return wf_err_set(err, -ENOMEM, "out of memory");
	cmd->c = c;
	cmd->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cmd->abort_fd < 0) {
		int r = -errno;

		free(cmd);
		return wf_err_set(err, r, "cannot create an eventfd: %s", strerror(-r));
	}
	*state = cmd;
	return 0;
}

static void command_done(void *state)
{
	struct command *cmd = state;

	if (!cmd)
		return;
	close(cmd->abort_fd);
	free(cmd);
}

static int command_worker_init(void *state, void **wstate)
{
	*wstate = NULL;
	return 0;
}

static void command_worker_done(void *state, void *wstate)
{
}

static void command_abort(void *state)
{
	struct command *cmd = state;
	uint64_t one = 1;

	/* never read back: stays readable, so every present and future poll wakes */
	if (write(cmd->abort_fd, &one, sizeof(one)) < 0) {
		/* counter full: it is readable anyway */
	}
}

/* environ plus the WIKIFS_* variables (replacing inherited ones). */
static char **make_env(const struct gen_request *req, char *vars[3])
{
	size_t n = 0, k = 0;
	char **env;

	if (asprintf(&vars[0], "WIKIFS_REPO=%s", req->repo_name ? req->repo_name : "") < 0)
		vars[0] = NULL;
	if (asprintf(&vars[1], "WIKIFS_PAGE=%s", req->page ? req->page->slug : "") < 0)
		vars[1] = NULL;
	if (asprintf(&vars[2], "WIKIFS_COMMIT=%s", req->commit ? req->commit : "") < 0)
		vars[2] = NULL;
	if (!vars[0] || !vars[1] || !vars[2])
		return NULL;
	while (environ && environ[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "WIKIFS_REPO=", 12) &&
		    strncmp(environ[i], "WIKIFS_PAGE=", 12) &&
		    strncmp(environ[i], "WIKIFS_COMMIT=", 14))
			env[k++] = environ[i];
	for (int i = 0; i < 3; i++)
		env[k++] = vars[i];
	return env;
}

/* Writes to a pipe whose reader may be gone, without a process-wide SIGPIPE. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };
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

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* 1 if @pid has exited (left as a zombie, not reaped), 0 if running. */
static int exited(pid_t pid)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD ? 1 : 0;
	return si.si_pid == pid;
}

struct run {
	pid_t pid;
	int in, out, errfd, pidfd;
	const char *prompt;
	size_t prompt_len, written;
	struct buf *page;
	struct tail tail;
	bool too_big, timed_out, aborted, child_exited;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Splits a command without shell syntax into words ('single' and "double"
 * quotes, backslash escapes in double quotes). NULL when the shell is needed:
 * any of ; | & < > ( ) $ ` * ? [ ] { } ~ # or a newline outside quotes, or
 * an unterminated quote. @store receives the words' bytes (free it).
 */
static char **split_simple(const char *cmd, char **store)
{
	size_t n = strlen(cmd), nw = 0;
	char *w = malloc(n + 1), **argv = calloc(n / 2 + 2, sizeof(*argv));
	char *o = w, quote = 0;
	bool in_word = false;

	if (!w || !argv)
		goto out_shell;
	for (const char *c = cmd; *c; c++) {
		if (quote == '\'') {
			if (*c == '\'')
				quote = 0;
			else
				*o++ = *c;
			continue;
		}
		if (quote == '"') {
			if (*c == '"')
				quote = 0;
			else if (*c == '\\' && c[1] && strchr("\"\\$`", c[1]))
				*o++ = *++c;
			else if (*c == '$' || *c == '`')
				goto out_shell;
			else
				*o++ = *c;
			continue;
		}
		if (*c == ' ' || *c == '\t') {
			if (in_word) {
				*o++ = '\0';
				in_word = false;
			}
			continue;
		}
		if (strchr(";|&<>()$`*?[]{}~#\n\\", *c))
			goto out_shell;
		if (!in_word) {
			argv[nw++] = o;
			in_word = true;
		}
		if (*c == '\'' || *c == '"')
			quote = *c;
		else
			*o++ = *c;
	}
	if (quote || nw == 0)
		goto out_shell;
	*o = '\0';
	argv[nw] = NULL;
	*store = w;
	return argv;
out_shell:
	free(w);
	free(argv);
	return NULL;
}

/* The path execve() needs for @name, searched in $PATH like execvp(). */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *r = NULL;

	if (strchr(name, '/'))
		return strdup(name);
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *d = path; d && !r; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
		size_t len = strcspn(d, ":");

		if (asprintf(&r, "%.*s/%s", (int)len, len ? d : ".", name) < 0)
			return NULL;
		if (access(r, X_OK) < 0) {
			free(r);
			r = NULL;
		}
	}
	return r;
}

/*
 * vfork + execve instead of posix_spawn, for the one thing posix_spawn
 * cannot do: PR_SET_PDEATHSIG, so the guard learns of the daemon's death even
 * when the daemon is killed with SIGKILL. Between vfork and execve the child
 * makes only async-signal-safe system calls. All signals are blocked in this
 * thread around vfork so no handler of the daemon runs in the child.
 */
static pid_t spawn_guard(char *const argv[], char *const envp[], const int fds[3])
{
	static const int defaults[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT };
	pid_t parent = getpid(), pid;
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t none;

		setpgid(0, 0); /* not in the daemon's group: a terminal's ^C is the daemon's */
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* the guard catches it and ends the subtree */
		if (getppid() != parent)
			_exit(125); /* the daemon died before the line above */
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				_exit(125);
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
			sigaction(defaults[i], &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve("/proc/self/exe", argv, envp); /* this very executable, even if replaced */
		_exit(125);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* "wikifs --proc-guard PPID GRACE PATH ARGV..." for @argv run as @path. */
static char **guard_argv(const char *path, char **argv, char ppid[16], char grace[16])
{
	size_t n = 0, k = 0;
	char **g;

	while (argv[n])
		n++;
	g = calloc(n + 6, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(ppid, 16, "%d", (int)getpid());
	snprintf(grace, 16, "%d", PROCTREE_GRACE_MS);
	g[k++] = "wikifs";
	g[k++] = PROCTREE_GUARD_ARG;
	g[k++] = ppid;
	g[k++] = grace;
	g[k++] = (char *)path;
	for (size_t i = 0; i < n; i++)
		g[k++] = argv[i];
	return g;
}

static int spawn_child(const struct command *cmd, const struct gen_request *req, struct run *run,
		       struct wf_err *err)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	char *vars[3] = { NULL, NULL, NULL };
	char *shell_argv[] = { "sh", "-c", cmd->c->command, NULL };
	_cleanup_free_ char *words = NULL, *path = NULL;
	_cleanup_free_ char **simple = split_simple(cmd->c->command, &words);
	_cleanup_free_ char **gargv = NULL;
	char **argv = shell_argv, **env = NULL, ppid[16], grace[16];
	int r = 0;

	/* a plain "prog args" runs directly: one exec less */
	path = simple ? find_program(simple[0]) : strdup("/bin/sh");
	if (simple && path)
		argv = simple;
	else if (simple) {
		free(path);
		path = strdup("/bin/sh"); /* not found: let the shell say so (exit 127) */
	}
	if (!path)
		return wf_err_set(err, -ENOMEM, "out of memory");
	gargv = guard_argv(path, argv, ppid, grace);
	if (!gargv)
		return wf_err_set(err, -ENOMEM, "out of memory");
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		r = wf_err_set(err, -errno, "cannot create pipes: %s", strerror(errno));
		goto out_close;
	}
	env = make_env(req, vars);
	if (!env) {
		r = wf_err_set(err, -ENOMEM, "out of memory");
		goto out_close;
	}
	run->pid = spawn_guard(gargv, env, (const int[3]){ pin[0], pout[1], perr[1] });
	if (run->pid < 0) {
		r = wf_err_set(err, -errno, "cannot run '%s': %s", path, strerror(errno));
		goto out_close;
	}
	run->in = TAKE_FD(pin[1]);
	run->out = TAKE_FD(pout[0]);
	run->errfd = TAKE_FD(perr[0]);
	fcntl(run->in, F_SETFL, O_NONBLOCK);
	fcntl(run->out, F_SETFL, O_NONBLOCK);
	fcntl(run->errfd, F_SETFL, O_NONBLOCK);
	run->pidfd = pidfd_open_compat(run->pid);
out_close:
	for (int i = 0; i < 2; i++) {
		close_fd(&pin[i]);
		close_fd(&pout[i]);
		close_fd(&perr[i]);
	}
	free(env);
	for (int i = 0; i < 3; i++)
		free(vars[i]);
	return r;
}

/* Reads what is available from @fd; false once it is at EOF (closed here). */
static void drain(struct run *run, int *fd, bool is_out)
{
	char chunk[16384];

	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(fd);
			return;
		}
		if (!is_out)
			tail_add(&run->tail, chunk, (size_t)n);
		else if (!run->too_big && buf_add(run->page, chunk, (size_t)n) < 0)
			run->too_big = true;
		if (run->too_big)
			return;
	}
}

static void pump(const struct command *cmd, struct run *run, int64_t deadline)
{
	int64_t grace = 0; /* after the child exited: time to collect what is buffered */

	while ((run->out >= 0 || run->errfd >= 0 || !run->child_exited) && !run->too_big) {
		struct pollfd p[5];
		int np = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1, i_abort;
		int64_t now = now_ms(), timeout = deadline - now;

		if (timeout <= 0) {
			run->timed_out = true;
			return;
		}
		if (run->child_exited) {
			/* a background grandchild may hold the pipes forever */
			if (!grace)
				grace = now + 1000;
			if (now >= grace)
				return;
			timeout = MIN(timeout, grace - now);
		}
		i_abort = np;
		p[np++] = (struct pollfd){ .fd = cmd->abort_fd, .events = POLLIN };
		if (run->in >= 0) {
			i_in = np;
			p[np++] = (struct pollfd){ .fd = run->in, .events = POLLOUT };
		}
		if (run->out >= 0) {
			i_out = np;
			p[np++] = (struct pollfd){ .fd = run->out, .events = POLLIN };
		}
		if (run->errfd >= 0) {
			i_err = np;
			p[np++] = (struct pollfd){ .fd = run->errfd, .events = POLLIN };
		}
		if (run->pidfd >= 0 && !run->child_exited) {
			i_pid = np;
			p[np++] = (struct pollfd){ .fd = run->pidfd, .events = POLLIN };
		} else if (!run->child_exited) {
			timeout = MIN(timeout, 50); /* no pidfd: look now and then */
		}
		if (poll(p, (nfds_t)np, (int)MIN(timeout, 1000)) < 0 && errno != EINTR)
			return;
		if (p[i_abort].revents) {
			run->aborted = true;
			return;
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t w =
			    write_nosigpipe(run->in, run->prompt + run->written,
					    MIN(run->prompt_len - run->written, (size_t)65536));

			if (w > 0)
				run->written += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    run->written == run->prompt_len)
				close_fd(
				    &run->in); /* EOF for the child; EPIPE: it stopped reading */
		}
		if (i_out >= 0 && p[i_out].revents)
			drain(run, &run->out, true);
		if (i_err >= 0 && p[i_err].revents)
			drain(run, &run->errfd, false);
		if (!run->child_exited && (i_pid < 0 || p[i_pid].revents))
			run->child_exited = exited(run->pid);
	}
}

static int command_generate(void *state, void *wstate, const struct gen_request *req,
			    struct buf *out, struct gen_usage *usage, struct gen_err *gerr)
{
	struct command *cmd = state;
	struct wf_err *err = &gerr->e;
	struct buf sys, user, prompt;
	struct run run = { .pid = -1, .in = -1, .out = -1, .errfd = -1, .pidfd = -1 };
	size_t start = out->len;
	char tail[STDERR_TAIL + 1];
	int status = 0, r;

	gerr->retryable = false;
	gerr->budget = false;
	gerr->retry_after_ms = 0;
	buf_init(&sys, 64 << 10);
	buf_init(&user, prompt_max_bytes(cmd->c));
	buf_init(&prompt, prompt_max_bytes(cmd->c) + (64 << 10));
	r = prompt_build(req, cmd->c, &sys, &user, err);
	/* one stream for a CLI: the rules first, then the page's material */
	r = r ?: buf_printf(&prompt, "%s\n%s", buf_str(&sys), buf_str(&user));
	if (r < 0)
		goto out_free;
	if (poll(&(struct pollfd){ .fd = cmd->abort_fd, .events = POLLIN }, 1, 0) > 0) {
		r = wf_err_set(err, -ECANCELED, "generation aborted");
		goto out_free;
	}
	run.prompt = prompt.data;
	run.prompt_len = prompt.len;
	run.page = out;
	r = spawn_child(cmd, req, &run, err);
	if (r < 0) {
		/* short of descriptors, processes or memory: the machine's state */
		gerr->retryable = r == -EMFILE || r == -ENFILE || r == -EAGAIN || r == -ENOMEM;
		goto out_free;
	}
	pump(cmd, &run, now_ms() + (int64_t)cmd->c->gen_timeout * 1000);
	/* stopped early: the guard ends the whole subtree, then exits */
	if (!run.child_exited)
		kill(run.pid, SIGTERM);
	while (waitpid(run.pid, &status, 0) < 0 && errno == EINTR)
		;
	if (run.errfd >= 0)
		drain(&run, &run.errfd, false); /* what the dying child said last */
	tail_str(&run.tail, tail, sizeof(tail));
	if (run.aborted) {
		r = wf_err_set(err, -ECANCELED, "command aborted");
	} else if (run.timed_out) {
		gerr->retryable = true;
		r = wf_err_set(err, -ETIMEDOUT, "command timed out after %us, killed%s%s",
			       cmd->c->gen_timeout, tail[0] ? ": " : "", tail);
	} else if (run.too_big) {
		r = wf_err_set(err, -EFBIG, "command output larger than %zu bytes", out->max);
	} else if (WIFSIGNALED(status)) {
		gerr->retryable = true;
		r = wf_err_set(err, -EIO, "command killed by signal %d%s%s", WTERMSIG(status),
			       tail[0] ? ": " : "", tail);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		int code = WEXITSTATUS(status);

		gerr->retryable = code != 126 && code != 127;
		r = wf_err_set(err,
			       code == 127   ? -ENOENT
			       : code == 126 ? -EACCES
					     : -EIO,
			       "command exited with status %d%s%s", code, tail[0] ? ": " : "",
			       tail);
	} else if (out->len == start) {
		gerr->retryable = true;
		r = wf_err_set(err, -ENODATA, "command wrote nothing on stdout%s%s",
			       tail[0] ? ": " : "", tail);
	}
	close_fd(&run.in);
	close_fd(&run.out);
	close_fd(&run.errfd);
	close_fd(&run.pidfd);
out_free:
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	buf_done(&prompt);
	buf_done(&user);
	buf_done(&sys);
	return r;
}

const struct backend_ops backend_command = {
	.name = "command",
	.prompt_version = PROMPT_VERSION,
	.init = command_init,
	.done = command_done,
	.worker_init = command_worker_init,
	.worker_done = command_worker_done,
	.generate = command_generate,
	.abort = command_abort,
};
