/* SPDX-License-Identifier: MIT */
/*
 * "wikifs prefetch [--no-wait] PATH": finds the mount that holds PATH
 * (mount_root.h: a stale one is named with its fix, as status does),
 * writes "prefetch REL" to its control file, and unless --no-wait draws the
 * progress until nothing under PATH is cloning, queued or generating: what
 * a clone received so far while one runs (its size is unknown, so no bar),
 * then a bar of pages, with the rate and ETA of this run (progress.h: a
 * window of the completions it saw, not the mount's history). A page file
 * is followed by its own user.wikifs.state; a directory by progress.json.
 * Every page has then reached ready or failed (progress.json's
 * last_failed: a failure whose failure_backoff is over counts, else the
 * bar would wait for a page that nothing retries), or was never queued
 * (cancelled, over budget, replaced by a refresh), which the end line
 * says. Ctrl-C writes "cancel REL", which drops the queued prefetch jobs
 * (pages a person is waiting for keep going), and exits 130. The exit
 * status is 1 if any page or repository failed or was left absent.
 */
#include "cli.h"
#include "fsutil.h"
#include "mount_root.h"
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
#include <sys/xattr.h>

/* set by the signal handler: a signal can reach no object */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
	(void)sig;
}

/*
 * The totals of one page, from its user.wikifs.state (which never starts a
 * generation). Absent after the prefetch command means its job is over and
 * did not make it (cancelled, refused), as for a page of progress.json.
 */
static int page_totals(const char *path, struct progress_totals *t)
{
	char state[32];
	ssize_t n = getxattr(path, "user.wikifs.state", state, sizeof(state) - 1);

	memset(t, 0, sizeof(*t));
	if (n < 0)
		return -errno;
	state[n] = '\0';
	t->pages = 1;
	t->ready = !strcmp(state, "ready");
	t->last_failed = t->failed = !strcmp(state, "failed");
	t->queued = !strcmp(state, "queued");
	t->running = !strcmp(state, "generating");
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

/*
 * Clones under way (@n repositories): what they received so far, not a bar
 * (their size is not known).
 */
static void draw_clone(const struct progress_totals *t, size_t n)
{
	fprintf(stdout, "cloning %zu repositor%s: ", n, n == 1 ? "y" : "ies");
	if (t->clone_objects_total)
		fprintf(stdout, "%llu/%llu objects, ", (unsigned long long)t->clone_objects,
			(unsigned long long)t->clone_objects_total);
	if (t->clone_bytes || t->clone_objects_total)
		fprintf(stdout, "%.1f MiB", (double)t->clone_bytes / 1048576.0);
	else
		fputs("connecting", stdout);
}

/* One progress line; the rate and ETA are this run's (@rate). */
static void draw(const struct progress_totals *t, const struct progress_rate *rate, bool tty,
		 int64_t t0)
{
	size_t done = t->ready + t->last_failed, total = t->pages;
	int width = 30, fill = total ? (int)((double)done * width / (double)total) : 0;
	double per_min = progress_rate_per_min(rate, now_ms());
	char bar[64];

	fputs(tty ? "\r" : "", stdout);
	if ((t->cloning || t->repos_pending) && !total) {
		/* no page known yet: the clones, even before they report (no empty bar) */
		draw_clone(t, MAX(t->cloning, t->repos_pending));
	} else {
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = '\0';
		fprintf(stdout, "[%s] %zu/%zu pages", bar, done, total);
		if (t->last_failed)
			fprintf(stdout, ", %zu failed", t->last_failed);
		if (t->cloning) {
			fputs(", ", stdout);
			draw_clone(t, t->cloning);
		} else if (t->repos_pending) {
			fprintf(stdout, ", %zu repositories cloning", t->repos_pending);
		}
	}
	if (per_min > 0) {
		fprintf(stdout, ", %.1f pages/min", per_min);
		if (total > done)
			fprintf(stdout, ", ETA %.0fs", (double)(total - done) * 60.0 / per_min);
	}
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

/* The totals under @rel: the page's own when @page, else from progress.json. */
static int totals(const char *root, const char *rel, const char *page, struct progress_totals *t)
{
	_cleanup_free_ char *text = NULL;
	char json_path[PATH_MAX + 32];
	size_t len = 0;
	int r;

	if (page) {
		r = page_totals(page, t);
		if (r < 0)
			fprintf(stderr, "\nwikifs: cannot read the state of '%s': %s\n", page,
				strerror(-r));
		return r;
	}
	snprintf(json_path, sizeof(json_path), "%s/" WIKIFS_CTLDIR "/progress.json", root);
	r = read_file(json_path, 64 << 20, &text, &len);
	if (r < 0 || progress_parse_totals(text, len, rel, t) < 0) {
		fprintf(stderr, "\nwikifs: cannot read progress: %s\n",
			r < 0 ? strerror(-r) : "malformed progress.json");
		return -EIO;
	}
	return 0;
}

/*
 * Draws the progress under @rel (the page @page, if not NULL) until nothing
 * there can still change, or a signal. 0, 130 (interrupted) or 1.
 */
static int watch(const char *root, const char *rel, const char *page)
{
	bool tty = isatty(STDOUT_FILENO);
	struct progress_totals t = { 0 };
	struct progress_rate rate = { 0 };
	int64_t t0 = now_ms(), last_draw = 0;
	size_t last_done = (size_t)-1;

	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	while (!interrupted) {
		if (totals(root, rel, page, &t) < 0)
			return 1;
		progress_rate_add(&rate, now_ms(), t.ready + t.last_failed);
		if (t.ready + t.last_failed != last_done ||
		    now_ms() - last_draw > (tty ? 500 : 5000)) {
			draw(&t, &rate, tty, t0);
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
	draw(&t, &rate, tty, t0);
	if (tty)
		fputc('\n', stdout);
	return summary(&t, root);
}

/* Finds the mount of @path, or says why there is none. 0 or 1 (the exit status). */
static int locate(const char *path, char root[PATH_MAX], char rel[PATH_MAX])
{
	int r = mount_root_find(path, root, rel);

	if (r == -ENOTCONN)
		fprintf(stderr, "wikifs: " MOUNT_STALE_FIX "\n", root);
	else if (r < 0)
		fprintf(stderr, "wikifs: '%s' is not inside a wikifs mount (%s)\n", path,
			r == -EXDEV ? "not mounted" : strerror(-r));
	return r < 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: wikifs prefetch [--no-wait] PATH\n");
	return 2;
}

int cli_prefetch_main(int argc, char **argv)
{
	char root[PATH_MAX], rel[PATH_MAX];
	const char *path = NULL;
	bool wait = true;
	struct stat st;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-wait"))
			wait = false;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			return usage();
	}
	if (!path)
		return usage();
	if (locate(path, root, rel))
		return 1;
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
	/* a page file: its own state; a directory: its repositories in progress.json */
	return watch(root, rel, stat(path, &st) == 0 && S_ISREG(st.st_mode) ? path : NULL);
}
