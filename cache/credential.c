/* SPDX-License-Identifier: MIT */
/*
 * A client of `git credential`. The description goes to git's stdin as
 * "key=value" lines ended by an empty line; for a fill, git answers the same
 * way on stdout. git's stderr shares the stdout pipe so that what it says on
 * failure ("terminal prompts disabled", a helper's complaint) can be passed
 * on; its key=value lines are told apart from messages by their form. Both
 * directions are bounded (the description by the URL, the answer by
 * ANSWER_MAX), and the description is written before git starts: it is far
 * below a pipe's capacity, so no write can block.
 */
#include "credential.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

#define ANSWER_MAX (64u << 10) /* bytes of git's answer kept */
#define INPUT_MAX  (32u << 10) /* bytes of description; a pipe holds 64 KiB */

static char *strndup_or_null(const char *s, size_t n, bool *oom)
{
	char *r = strndup(s, n);

	if (!r)
		*oom = true;
	return r;
}

int credential_init(struct credential *c, const char *url, const char *user)
{
	const char *scheme_end = strstr(url, "://"), *auth, *auth_end, *host;
	bool oom = false;

	memset(c, 0, sizeof(*c));
	if (!scheme_end || scheme_end == url)
		return -EINVAL;
	auth = scheme_end + 3;
	auth_end = auth + strcspn(auth, "/");
	host = auth;
	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			host = p + 1;
	if (host == auth_end || strpbrk(url, "\n\r") || (user && strpbrk(user, "\n\r")))
		return -EINVAL;
	c->protocol = strndup_or_null(url, (size_t)(scheme_end - url), &oom);
	c->host = strndup_or_null(host, (size_t)(auth_end - host), &oom);
	c->path = strndup_or_null(*auth_end ? auth_end + 1 : "", strlen(auth_end), &oom);
	if (user && *user)
		c->username = strndup_or_null(user, strlen(user), &oom);
	if (oom) {
		credential_done(c);
		return -ENOMEM;
	}
	return 0;
}

void credential_done(struct credential *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->username);
	free(c->path);
	free(c->host);
	free(c->protocol);
	memset(c, 0, sizeof(*c));
}

/* The description as git reads it; wiped and freed by the caller. */
static int describe(const struct credential *c, bool with_password, char *out, size_t n)
{
	int len =
	    snprintf(out, n, "protocol=%s\nhost=%s\npath=%s\n", c->protocol, c->host, c->path);

	if (len >= 0 && (size_t)len < n && c->username)
		len += snprintf(out + len, n - (size_t)len, "username=%s\n", c->username);
	if (len >= 0 && (size_t)len < n && with_password && c->password)
		len += snprintf(out + len, n - (size_t)len, "password=%s\n", c->password);
	if (len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, "\n");
	return len < 0 || (size_t)len >= n ? -E2BIG : len;
}

/*
 * Starts "git credential VERB" with @input on its stdin; its stdout and
 * stderr go to *@out_fd (a pipe, when @out_fd is not NULL) or /dev/null.
 */
static int spawn_git(const char *verb, const char *input, size_t len, pid_t *pid, int *out_fd)
{
	char *argv[] = { "git", "credential", (char *)verb, NULL };
	posix_spawn_file_actions_t fa;
	size_t n = 0, k = 0;
	char **envp;
	int in[2], out[2] = { -1, -1 }, r;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_TERMINAL_PROMPT=", 20))
			envp[k++] = environ[i];
	envp[k] = "GIT_TERMINAL_PROMPT=0";
	if (pipe2(in, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_free_envp;
	}
	if (out_fd && pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_close_in;
	}
	if (write(in[1], input, len) != (ssize_t)len) {
		r = -EIO;
		goto out_close_out;
	}
	close(in[1]);
	in[1] = -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	if (out_fd) {
		posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
	} else {
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	}
	r = -posix_spawnp(pid, "git", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r == 0 && out_fd) {
		*out_fd = out[0];
		out[0] = -1;
	}
out_close_out:
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
out_close_in:
	close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
out_free_envp:
	free(envp);
	return r;
}

static int wait_git(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads git's answer until EOF, keeping at most ANSWER_MAX - 1 bytes. */
static size_t read_answer(int fd, char *buf)
{
	size_t len = 0;

	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + (size_t)n < ANSWER_MAX) {
			memcpy(buf + len, chunk, (size_t)n);
			len += (size_t)n;
		}
		explicit_bzero(chunk, sizeof(chunk));
	}
	buf[len] = '\0';
	return len;
}

/* "key=value" as git writes it, not a message such as "fatal: ...". */
static bool is_field(const char *line)
{
	size_t k = strspn(line, "abcdefghijklmnopqrstuvwxyz_[]");

	return k > 0 && line[k] == '=';
}

/* Takes username= and password= from @answer; keeps git's last message in @why. */
static int parse_answer(struct credential *c, char *answer, char *why, size_t why_n)
{
	char *save = NULL;

	for (char *line = strtok_r(answer, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char **field = NULL;

		if (!strncmp(line, "username=", 9))
			field = &c->username;
		else if (!strncmp(line, "password=", 9))
			field = &c->password;
		else if (!is_field(line))
			snprintf(why, why_n, "%s", line);
		if (!field)
			continue;
		if (*field) {
			explicit_bzero(*field, strlen(*field));
			free(*field);
		}
		*field = strdup(line + 9);
		if (!*field)
			return -ENOMEM;
	}
	return 0;
}

int credential_fill(struct credential *c, struct wf_err *err)
{
	char *input = malloc(INPUT_MAX), *answer = malloc(ANSWER_MAX), why[256] = "";
	int len, fd = -1, status, r;
	pid_t pid;

	if (!input || !answer) {
		r = wf_err_set(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	len = describe(c, false, input, INPUT_MAX);
	if (len < 0) {
		r = wf_err_set(err, len, "the URL is too long for git credential");
		goto out_free;
	}
	r = spawn_git("fill", input, (size_t)len, &pid, &fd);
	if (r < 0) {
		r = wf_err_set(err, r == -ENOENT ? -EACCES : r,
			       "cannot run 'git credential fill' (for credential helpers and "
			       "GIT_ASKPASS): %s",
			       strerror(-r));
		goto out_free;
	}
	read_answer(fd, answer);
	close(fd);
	status = wait_git(pid);
	r = parse_answer(c, answer, why, sizeof(why));
	explicit_bzero(answer, ANSWER_MAX);
	explicit_bzero(input, INPUT_MAX);
	if (r < 0) {
		wf_err_set(err, r, "out of memory");
	} else if (status != 0 || !c->username || !c->password) {
		r = wf_err_set(err, -EACCES,
			       "no credentials from git's credential helpers or GIT_ASKPASS%s%s",
			       why[0] ? ": " : "", why);
	}
out_free:
	free(input);
	free(answer);
	return r;
}

static void report(const struct credential *c, const char *verb)
{
	char *input = malloc(INPUT_MAX);
	int len;
	pid_t pid;

	if (!input)
		return;
	len = c->username && c->password ? describe(c, true, input, INPUT_MAX) : -EINVAL;
	if (len > 0 && spawn_git(verb, input, (size_t)len, &pid, NULL) == 0)
		wait_git(pid);
	explicit_bzero(input, INPUT_MAX);
	free(input);
}

void credential_approve(const struct credential *c)
{
	report(c, "approve");
}

void credential_reject(const struct credential *c)
{
	report(c, "reject");
}
