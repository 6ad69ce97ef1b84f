/* SPDX-License-Identifier: MIT */
/*
 * "wikifs prefetch [--no-wait] PATH": finds the mount that holds PATH (the
 * nearest ancestor with .wikifs/control), writes "prefetch REL" to it, and
 * unless --no-wait draws a progress bar from progress.json until nothing
 * under PATH is cloning, queued or generating. Every page has then reached
 * ready or failed (progress.json's last_failed: a failure whose
 * failure_backoff is over counts, else the bar would wait for a page that
 * nothing retries), or was never queued (cancelled, over budget, replaced
 * by a refresh), which the end line says. Ctrl-C writes "cancel REL",
 * which drops the queued prefetch jobs (pages a person is waiting for keep
 * going), and exits 130. The exit status is 1 if any page or repository
 * failed or was left absent.
 */
#include "cli.h"
#include "fsutil.h"
#include "mountinfo.h"
#include "progress.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

/* set by the signal handler: a signal can reach no object */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
	(void)sig;
}

/* The mount holding @path into @root, and @path below it (no leading slash) into @rel. */
static int find_root(const char *path, char root[PATH_MAX], char rel[PATH_MAX])
{
	char real[PATH_MAX], probe[PATH_MAX + 32];
	size_t len;

	if (!realpath(path, real))
		return -errno;
	len = strlen(real);
	for (;;) {
		snprintf(probe, sizeof(probe), "%.*s/" WIKIFS_CTLDIR "/control", (int)len, real);
		if (access(probe, F_OK) == 0)
			break;
		while (len > 1 && real[len - 1] != '/')
			len--;
		if (len <= 1)
			return -ENOENT;
		len--; /* drop the slash */
	}
	snprintf(root, PATH_MAX, "%.*s", (int)len, real);
	snprintf(rel, PATH_MAX, "%s", real[len] == '/' ? real + len + 1 : real + len);
	return 0;
}

static int send_command(const char *root, const char *verb, const char *rel)
{
	char path[PATH_MAX + 32], line[PATH_MAX + 32];
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "%s/" WIKIFS_CTLDIR "/control", root);
	n = snprintf(line, sizeof(line), "%s %s\n", verb, *rel ? rel : ".");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

static void draw(const struct progress_totals *t, bool tty, int64_t t0)
{
	size_t done = t->ready + t->last_failed, total = t->pages;
	int width = 30, fill = total ? (int)((double)done * width / (double)total) : 0;
	char bar[64];

	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stdout, "%s[%s] %zu/%zu pages", tty ? "\r" : "", bar, done, total);
	if (t->last_failed)
		fprintf(stdout, ", %zu failed", t->last_failed);
	if (t->repos_pending)
		fprintf(stdout, ", %zu repositories cloning", t->repos_pending);
	if (t->rate_per_min > 0)
		fprintf(stdout, ", %.1f pages/min", t->rate_per_min);
	if (t->eta_s > 0)
		fprintf(stdout, ", ETA %.0fs", t->eta_s);
	fprintf(stdout, " (%.0fs)%s", (double)(now_ms() - t0) / 1000.0, tty ? "\033[K" : "\n");
	fflush(stdout);
}

/* The end line: what did not become ready, and why to look. 0 or 1. */
static int summary(const struct progress_totals *t, const char *root)
{
	size_t left = t->pages - MIN(t->pages, t->ready + t->last_failed);

	if (!t->last_failed && !t->repos_failed && !left)
		return 0;
	if (t->last_failed)
		fprintf(stdout, "%zu of %zu pages failed\n", t->last_failed, t->pages);
	if (left)
		fprintf(stdout,
			"%zu of %zu pages were not generated (cancelled, refused, or replaced by "
			"a refresh)\n",
			left, t->pages);
	if (t->repos_failed)
		fprintf(stdout, "%zu of %zu repositories failed\n", t->repos_failed, t->repos);
	fprintf(stdout, "see %s/" WIKIFS_CTLDIR "/errors\n", root);
	return 1;
}

int cli_prefetch_main(int argc, char **argv)
{
	char root[PATH_MAX], json_path[PATH_MAX + 32];
	char rel[PATH_MAX];
	const char *path = NULL;
	bool wait = true, tty = isatty(STDOUT_FILENO);
	struct progress_totals t = { 0 };
	int64_t t0 = now_ms(), last_draw = 0;
	size_t last_done = (size_t)-1;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-wait"))
			wait = false;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: wikifs prefetch [--no-wait] PATH\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: wikifs prefetch [--no-wait] PATH\n");
		return 2;
	}
	r = find_root(path, root, rel);
	if (r < 0) {
		fprintf(stderr, "wikifs: '%s' is not inside a wikifs mount (%s)\n", path,
			strerror(-r));
		return 1;
	}
	r = send_command(root, "prefetch", rel);
	if (r < 0) {
		fprintf(stderr,
			"wikifs: prefetch of '%s' refused: %s (see %s/" WIKIFS_CTLDIR "/errors)\n",
			path, strerror(-r), root);
		return 1;
	}
	if (!wait) {
		printf("queued %s\n", *rel ? rel : "everything");
		return 0;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	snprintf(json_path, sizeof(json_path), "%s/" WIKIFS_CTLDIR "/progress.json", root);
	while (!interrupted) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		r = read_file(json_path, 64 << 20, &text, &len);
		if (r < 0 || progress_parse_totals(text, len, rel, &t) < 0) {
			fprintf(stderr, "\nwikifs: cannot read progress: %s\n",
				r < 0 ? strerror(-r) : "malformed progress.json");
			return 1;
		}
		if (t.ready + t.last_failed != last_done ||
		    now_ms() - last_draw > (tty ? 500 : 5000)) {
			draw(&t, tty, t0);
			last_done = t.ready + t.last_failed;
			last_draw = now_ms();
		}
		if (t.repos_pending == 0 && t.queued == 0 && t.running == 0)
			break;	    /* nothing left that could still change a page */
		poll(NULL, 0, 200); /* progress is a snapshot: look again shortly */
	}
	if (interrupted) {
		send_command(root, "cancel", rel);
		fprintf(stdout, "%sinterrupted: queued prefetch jobs cancelled\n", tty ? "\n" : "");
		return 130;
	}
	draw(&t, tty, t0);
	if (tty)
		fputc('\n', stdout);
	return summary(&t, root);
}
