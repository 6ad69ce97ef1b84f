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
 * environment (command_env.h: WIKIFS_TREE, WIKIFS_PAGE, WIKIFS_PLAN, ...),
 * which a shell expands only where the user's command asks for it, never
 * re-parses.
 *
 * Where: the command runs in a read-only checkout of the page's commit
 * (cache/checkout.h), shared by every page of that commit, so an agent
 * (claude -p with Read, Grep and Glob) explores the right tree. Mode bits
 * keep a user out of it; for root (or anyone with CAP_SYS_ADMIN) the
 * command also runs in a private mount namespace where the checkout is a
 * read-only bind mount (child_opts.ro_path), so even root writes nothing
 * into it. Where namespaces are refused (child_ro_supported() < 0) the
 * mode bits are all there is, which the mount logs at start. Only fds 0-2
 * are open in it (core/child.c closes the rest). What it lists in its
 * WIKIFS_DEPS file becomes the page's sources (gen_usage.deps).
 *
 * Lifetime: the command runs under a guard (core/proctree.h): the wikifs
 * executable started again as a child subreaper, which starts the command
 * and ends its whole subtree -- grandchildren that called setsid() or ignore
 * SIGTERM included -- when the command exits, when it gets SIGTERM
 * (timeout, abort, unmount) and when the daemon dies, even by SIGKILL (its
 * parent-death signal is SIGTERM, which it catches). The guard is a
 * supervised child (core/child.h): its own process group, the prompt
 * written to its stdin as it reads while stdout is captured (bounded by the
 * page size) and stderr's tail kept, the generation timeout as deadline,
 * and the backend's abort eventfd as abort descriptor, so unmount is
 * immediate. When it is stopped early its group gets SIGTERM, and SIGKILL
 * only after the time the guard may take to end the subtree.
 *
 * Failures: a timeout, a non-zero exit, death by a signal and an empty page
 * are retryable: CLI agents fail transiently (network, rate limits) and the
 * pool's attempt limit bounds the cost. So is a failure to start it for want
 * of descriptors, processes or memory (the machine's state, not the page's;
 * 125 is the guard's own failure to start it). Exit 126/127 (not executable
 * / not found) and a page over PAGE_MAX_BYTES are not: they will not change.
 */
#include "backend.h"
#include "checkout.h"
#include "child.h"
#include "command_env.h"
#include "proctree.h"
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_TAIL 400

struct command {
	const struct conf *c;
	struct checkout_cache *checkouts;
	bool read_only;	      /* child_ro_supported(): a private read-only bind mount */
	int abort_fd;	      /* eventfd, readable once abort() was called */
	char guard[PATH_MAX]; /* the guard program: wikifs-guard, or this executable */
};

/*
 * The guard: wikifs-guard beside this executable (the build tree) or in
 * ../libexec/wikifs (an install), which starts in a millisecond; else this
 * very executable (its --proc-guard runs the same code, 15-30 ms slower).
 */
static void find_guard(char *out, size_t n)
{
	static const char *const rel[] = { "wikifs-guard", "../libexec/wikifs/wikifs-guard" };
	char self[PATH_MAX], *slash;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	snprintf(out, n, "/proc/self/exe");
	if (len <= 0)
		return;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	slash[1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s%s", self, rel[i]);
		if (access(path, X_OK) == 0 && strlen(path) < n) {
			snprintf(out, n, "%s", path);
			return;
		}
	}
}

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
	int r;

	if (!c->command || !*c->command)
		return wf_err_set(err, -EINVAL,
				  "generator.command is empty: backend 'command' "
				  "needs a command line");
	cmd = calloc(1, sizeof(*cmd));
	if (!cmd)
		return wf_err_set(err, -ENOMEM, "out of memory");
	cmd->c = c;
	find_guard(cmd->guard, sizeof(cmd->guard));
	cmd->read_only = child_ro_supported() == 0;
	cmd->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cmd->abort_fd < 0) {
		r = -errno;
		free(cmd);
		return wf_err_set(err, r, "cannot create an eventfd: %s", strerror(-r));
	}
	r = checkout_cache_new(&cmd->checkouts, c->cache_dir, c->checkout_max_bytes, err);
	if (r < 0) {
		close(cmd->abort_fd);
		free(cmd);
		return r;
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
	checkout_cache_free(cmd->checkouts);
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

/* Keeps the tail of the command's stderr. */
static int on_stderr(void *opaque, const char *line, size_t len, unsigned flags)
{
	struct tail *t = opaque;

	tail_add(t, line, len);
	if (!(flags & (CHILD_LINE_PARTIAL | CHILD_LINE_NOEOL)))
		tail_add(t, "\n", 1);
	return 0;
}

/* What one run of the command left behind. */
struct run {
	bool started; /* false: it could not be started, the error says why */
	int status;   /* its wait status */
	struct tail tail;
	char *deps; /* what it listed in WIKIFS_DEPS, checked; NULL: nothing */
};

/*
 * Runs the command line under a guard, @prompt on its stdin, its stdout
 * appended to @page. Returns 0 once it exited by itself (see run->status),
 * or what child_spawn() or child_wait() return.
 */
static int run_command(const struct command *cmd, const struct gen_request *req, const char *tree,
		       const struct buf *prompt, struct buf *page, struct run *run,
		       struct wf_err *err)
{
	char *shell_argv[] = { "sh", "-c", cmd->c->command, NULL };
	_cleanup_free_ char *words = NULL, *path = NULL;
	_cleanup_free_ char **simple = split_simple(cmd->c->command, &words);
	_cleanup_free_ char **gargv = NULL;
	char **argv = shell_argv, ppid[16], grace[16];
	struct command_env ce;
	struct child *child;
	int r;

	/* a plain "prog args" runs directly: one exec less */
	path = simple ? find_program(simple[0]) : strdup("/bin/sh");
	if (simple && path)
		argv = simple;
	else if (simple) {
		free(path);
		path = strdup("/bin/sh"); /* not found: let the shell say so (exit 127) */
	}
	gargv = path ? guard_argv(path, argv, ppid, grace) : NULL;
	r = gargv ? command_env_init(&ce, req, cmd->c, tree ?: "", err)
		  : wf_err_set(err, -ENOMEM, "out of memory");
	if (r < 0)
		goto out_free_env;
	r = child_spawn(&child,
			&(struct child_opts){
			    .path = cmd->guard,
			    .argv = gargv,
			    .envp = ce.envp,
			    .cwd = tree,
			    .ro_path = tree && cmd->read_only ? tree : NULL,
			    .stdin_data = prompt->data,
			    .stdin_len = prompt->len,
			    .out = { .capture = page },
			    .err = { .on_line = on_stderr, .opaque = &run->tail },
			    .line_max = STDERR_TAIL,
			    .pdeathsig = SIGTERM, /* the guard catches it and ends the subtree */
			    .timeout_ms = (int64_t)cmd->c->gen_timeout * 1000,
			    /* the guard's own SIGTERM-to-SIGKILL, and then some */
			    .grace_ms = PROCTREE_GRACE_MS + PROCTREE_GUARD_LIMIT_MS + 1000,
			    .abort_fd = cmd->abort_fd,
			},
			NULL);
	if (r < 0) {
		r = wf_err_set(err, r, "cannot run '%s': %s", path, strerror(-r));
		goto out_free_env;
	}
	run->started = true;
	r = child_wait(child, &run->status, NULL);
	child_free(child);
	if (r == 0)
		run->deps = command_env_deps(&ce, req, tree ?: "");
out_free_env:
	if (gargv)
		command_env_done(&ce);
	return r;
}
/*
 * The command may read anything of the repository: the page depends on what
 * it reported reading (@reported, WIKIFS_DEPS), or on the whole tree when it
 * reported nothing.
 */
static int record_reported(const struct gen_request *req, const char *reported, struct wf_err *err)
{
	int r;

	if (!req->deps)
		return 0;
	r = reported && *reported ? page_deps_paths(req->deps, reported)
				  : page_deps_path(req->deps, "");
	return r < 0 ? wf_err_set(err, r, "cannot record what the page is made from") : 0;
}

static int command_generate(void *state, void *wstate, const struct gen_request *req,
			    struct buf *out, struct gen_usage *usage, struct gen_err *gerr)
{
	struct command *cmd = state;
	struct wf_err *err = &gerr->e;
	struct buf sys, user, prompt;
	struct prompt_used used = { 0 };
	struct run run = { 0 };
	struct checkout *co = NULL;
	size_t start = out->len;
	char tail[STDERR_TAIL + 1];
	int r;

	gerr->retryable = false;
	gerr->budget = false;
	gerr->retry_after_ms = 0;
	buf_init(&sys, 64 << 10);
	buf_init(&user, prompt_max_bytes(cmd->c));
	buf_init(&prompt, prompt_max_bytes(cmd->c) + (64 << 10));
	r = prompt_build(req, cmd->c, &sys, &user, req->deps ? &used : NULL, err);
	/*
	 * The page is made from what its prompt holds, what the command read,
	 * and WIKIFS_PLAN: the whole plan, every page's files included.
	 */
	if (r == 0 && req->deps &&
	    (prompt_used_deps(&used, req->deps) < 0 || page_deps_fact(req->deps, "plan") < 0))
		r = wf_err_set(err, -ENOMEM, "out of memory");
	prompt_used_done(&used);
	/* one stream for a CLI: the rules first, then the page's material */
	r = r ?: buf_printf(&prompt, "%s\n%s", buf_str(&sys), buf_str(&user));
	if (r < 0)
		goto out_free;
	if (poll(&(struct pollfd){ .fd = cmd->abort_fd, .events = POLLIN }, 1, 0) > 0) {
		r = wf_err_set(err, -ECANCELED, "generation aborted");
		goto out_free;
	}
	if (req->git_dir && req->commit) {
		r = checkout_get(cmd->checkouts, req->git_dir, req->commit, &co, err);
		if (r < 0) {
			gerr->retryable = r == -EMFILE || r == -ENFILE || r == -ENOSPC;
			goto out_free;
		}
	}
	r = run_command(cmd, req, co ? checkout_path(co) : NULL, &prompt, out, &run, err);
	checkout_put(co);
	if (!run.started) {
		/* short of descriptors, processes or memory: the machine's state */
		gerr->retryable = r == -EMFILE || r == -ENFILE || r == -EAGAIN || r == -ENOMEM;
		goto out_free;
	}
	tail_str(&run.tail, tail, sizeof(tail));
	if (r == -ECANCELED) {
		r = wf_err_set(err, -ECANCELED, "command aborted");
	} else if (r == -ETIMEDOUT) {
		gerr->retryable = true;
		r = wf_err_set(err, -ETIMEDOUT, "command timed out after %us, killed%s%s",
			       cmd->c->gen_timeout, tail[0] ? ": " : "", tail);
	} else if (r == -EFBIG) {
		r = wf_err_set(err, -EFBIG, "command output larger than %zu bytes", out->max);
	} else if (r < 0) {
		gerr->retryable = true;
		r = wf_err_set(err, r, "command failed: cannot watch it: %s", strerror(-r));
	} else if (WIFSIGNALED(run.status)) {
		gerr->retryable = true;
		r = wf_err_set(err, -EIO, "command killed by signal %d%s%s", WTERMSIG(run.status),
			       tail[0] ? ": " : "", tail);
	} else if (WIFEXITED(run.status) && WEXITSTATUS(run.status) != 0) {
		int code = WEXITSTATUS(run.status);

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
	r = r ?: record_reported(req, run.deps, err);
out_free:
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	} else {
		free(usage->deps);
		usage->deps = TAKE_PTR(run.deps);
	}
	free(run.deps);
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
