/* SPDX-License-Identifier: MIT */
/*
 * Test fixtures: real git repositories made with the git CLI in a mkdtemp
 * directory, either from files plus "git commit" or from a "git fast-import"
 * stream (fast, and able to hold names no file system accepts). Identities
 * and dates are fixed through the environment, and user/system git config is
 * ignored, so fixtures are the same on every machine. Single-threaded.
 */
#ifndef WIKIFS_GIT_FIXTURE_H
#define WIKIFS_GIT_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

static inline void fx_env(void)
{
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_AUTHOR_NAME", "Ada Lovelace", 1);
	setenv("GIT_AUTHOR_EMAIL", "ada@example.org", 1);
	setenv("GIT_COMMITTER_NAME", "Ada Lovelace", 1);
	setenv("GIT_COMMITTER_EMAIL", "ada@example.org", 1);
	setenv("GIT_AUTHOR_DATE", "2024-03-01T12:00:00Z", 1);
	setenv("GIT_COMMITTER_DATE", "2024-03-01T12:00:00Z", 1);
}

/* A fresh temporary directory; the caller rm_rf()s and frees it. */
static inline char *fx_tmpdir(const char *tag)
{
	const char *t = getenv("TMPDIR");
	char *d;

	if (asprintf(&d, "%s/wikifs-%s-XXXXXX", t && *t ? t : "/tmp", tag) < 0)
		return NULL;
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

/* Runs a shell command; 0 if it exited 0. */
static inline int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int fx_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	fx_env();
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

/*
 * Runs a shell command with its output sent to stderr (TAP stays clean):
 * its exit status, or -1 if it did not exit.
 */
static inline int fx_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int fx_run(const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = asprintf(&full, "(%s) 1>&2", cmd);
	free(cmd);
	if (r < 0)
		return -1;
	r = system(full);
	free(full);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Writes @dir/@rel (parents created). */
static inline int fx_write(const char *dir, const char *rel, const void *data, size_t n)
{
	char *path, *sl;
	int fd, r = 0;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return -1;
	sl = strrchr(path, '/');
	*sl = '\0';
	mkdir_p(path, 0755);
	*sl = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		r = -1;
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

static inline int fx_writes(const char *dir, const char *rel, const char *text)
{
	return fx_write(dir, rel, text, strlen(text));
}

/* The hex id of @rev in @git_dir, into @out (41 bytes). */
static inline int fx_rev(const char *git_dir, const char *rev, char out[41])
{
	char *cmd;
	FILE *p;
	int r = -1;

	if (asprintf(&cmd, "git --git-dir='%s' rev-parse '%s'", git_dir, rev) < 0)
		return -1;
	fx_env();
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return -1;
	if (fgets(out, 41, p) && strlen(out) == 40)
		r = 0;
	pclose(p);
	return r;
}

/* fast-import stream helpers: a blob given inline, path quoted C-style. */
static inline void fx_fi_path(FILE *s, const char *path, size_t n)
{
	fputc('"', s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '"' || c == '\\')
			fprintf(s, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", s);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(s, "\\%03o", c);
		else
			fputc(c, s);
	}
	fputc('"', s);
}

static inline void fx_fi_file(FILE *s, const char *mode, const char *path, size_t plen,
			      const void *data, size_t n)
{
	fprintf(s, "M %s inline ", mode);
	fx_fi_path(s, path, plen);
	fprintf(s, "\ndata %zu\n", n);
	fwrite(data, 1, n, s);
	fputc('\n', s);
}

/* Later commits in one stream continue from the branch tip. */
static inline void fx_fi_commit(FILE *s, const char *author, long when, const char *msg)
{
	fprintf(s,
		"commit refs/heads/main\nauthor %s <%s@example.org> %ld +0000\n"
		"committer %s <%s@example.org> %ld +0000\ndata %zu\n%s\n",
		author, author, when, author, author, when, strlen(msg), msg);
}

/* Feeds @stream_path to "git fast-import" in a new bare repository @git_dir. */
static inline int fx_fast_import(const char *git_dir, const char *stream_path)
{
	return fx_sh("git -c init.defaultBranch=main init -q --bare '%s' && "
		     "git --git-dir='%s' fast-import --quiet < '%s'",
		     git_dir, git_dir, stream_path);
}

#endif
