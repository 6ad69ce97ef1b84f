/* SPDX-License-Identifier: MIT */
/*
 * The control directory: progress, progress.json, errors and metrics are rendered
 * by the wiki at open (a snapshot, served direct_io); control takes one
 * command per line:
 *
 *   prefetch PATH   queue every page under PATH at prefetch priority
 *   cancel PATH     drop queued jobs under PATH that no person waits for
 *   retry PATH      forget failures (and, for a page, the cached copy)
 *   refresh PATH    fetch the repositories under PATH now (one already
 *                   syncing fetches once more when it is done)
 *
 * PATH is relative to the mount ("owner/repo", "owner/repo/Home.md", "",
 * "." or "/" for everything; refresh wants it spelled, not empty) or an
 * absolute path inside the mount. A bad command fails the write with
 * EINVAL and leaves a line in errors. On several repositories a command
 * goes on past one that refuses it, whose cause goes to errors and the
 * log; the write fails only if every one refused.
 */
#include "fs.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

int fs_ctl_render(struct fs *fs, const struct node *n, struct buf *out)
{
	struct wf_err err = { "" };

	switch (n->ctl) {
	case CTL_PROGRESS:
		return wiki_report_text(fs->wiki, out);
	case CTL_PROGRESS_JSON:
		return wiki_report_json(fs->wiki, out);
	case CTL_ERRORS:
		return wiki_report_errors(fs->wiki, out);
	case CTL_VERSIONS:
		return wiki_version_refs(fs->wiki, n->repo, out, &err);
	case CTL_METRICS:
		return wiki_report_metrics(fs->wiki, out);
	case CTL_CONTROL:
	case CTL_MAX:
		break;
	}
	return 0;
}

enum verb { V_PREFETCH, V_CANCEL, V_RETRY, V_REFRESH };

static int apply(struct fs *fs, enum verb v, size_t repo, const char *slug, struct wf_err *err)
{
	switch (v) {
	case V_PREFETCH:
		return wiki_prefetch(fs->wiki, repo, slug, err);
	case V_CANCEL:
		return wiki_cancel(fs->wiki, repo, slug, err);
	case V_RETRY:
		return wiki_retry(fs->wiki, repo, slug, err);
	case V_REFRESH:
		return wiki_refresh(fs->wiki, repo, err);
	}
	return -EINVAL;
}

/*
 * Every repository (of owner @owner, or all if 0). One that refuses does not
 * stop the others: its cause is noted; the result is its error only if no
 * repository took the command.
 */
static int apply_all(struct fs *fs, enum verb v, fuse_ino_t owner, struct wf_err *err)
{
	size_t took = 0, refused = 0;
	int r = 0;

	for (size_t i = 0; i < fs->conf->n_repos; i++) {
		struct node *rn = fs_node_get(fs, fs->repos[i].ino);
		bool other = !rn || (owner && rn->parent != owner);
		struct wf_err e = { "" };
		int q;

		fs_node_put(fs, rn);
		if (other)
			continue;
		q = apply(fs, v, i, NULL, &e);
		if (q == 0) {
			took++;
			continue;
		}
		refused++;
		if (r == 0) {
			r = q;
			snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		}
		wiki_error_note(fs->wiki, fs->conf->repos[i].name, e.msg);
		log_warn("%s: %s", fs->conf->repos[i].name, e.msg);
	}
	return took || !refused ? 0 : r;
}

/* A version directory @d, or its page @slug: prefetch, cancel, or refresh of its repository. */
static int apply_version(struct fs *fs, enum verb v, const struct node *d, const char *slug,
			 struct wf_err *err)
{
	switch (v) {
	case V_PREFETCH:
		return fs_version_prefetch(fs, d, slug, err);
	case V_CANCEL:
		return fs_version_cancel(fs, d, slug, err);
	case V_REFRESH:
		return apply(fs, v, d->repo, NULL, err);
	case V_RETRY:
		break;
	}
	return wf_err_set(err, -EINVAL, "retry takes a page of a repository, not of a version");
}

/* A page of a repository or of a version directory. */
static int apply_page(struct fs *fs, enum verb v, const struct node *n, struct wf_err *err)
{
	struct node *d = fs_node_get(fs, n->parent);
	int r;

	if (v == V_REFRESH)
		r = wf_err_set(err, -EINVAL, "refresh takes a repository, not a page");
	else if (d && d->type == NODE_VERSION && d->repo == n->repo)
		r = apply_version(fs, v, d, n->slug, err);
	else
		r = apply(fs, v, n->repo, n->slug, err);
	fs_node_put(fs, d);
	return r;
}

/* Every repository below @n (itself, an owner's, or all), a version, or a page. */
static int apply_path(struct fs *fs, enum verb v, const struct node *n, struct wf_err *err)
{
	switch (n->type) {
	case NODE_PAGE:
		return apply_page(fs, v, n, err);
	case NODE_VERSION:
		return apply_version(fs, v, n, NULL, err);
	case NODE_REPO:
		return apply(fs, v, n->repo, NULL, err);
	case NODE_ROOT:
	case NODE_OWNER:
		return apply_all(fs, v, n->type == NODE_OWNER ? n->ino : 0, err);
	case NODE_CTLDIR:
	case NODE_CTL:
		break;
	}
	return wf_err_set(err, -EINVAL, "not a repository or page");
}

static int run_line(struct fs *fs, char *line, struct wf_err *err)
{
	static const char *const verbs[] = { "prefetch", "cancel", "retry", "refresh" };
	char *verb = line, *path;
	struct node *n;
	int r;

	while (*verb == ' ' || *verb == '\t')
		verb++;
	path = verb + strcspn(verb, " \t");
	if (*path)
		*path++ = '\0';
	while (*path == ' ' || *path == '\t')
		path++;
	for (size_t i = strlen(path); i > 0 && isspace((unsigned char)path[i - 1]); i--)
		path[i - 1] = '\0';
	for (size_t v = 0; v < ARRAY_SIZE(verbs); v++) {
		if (strcmp(verb, verbs[v]))
			continue;
		if (v == V_REFRESH && !*path)
			return wf_err_set(err, -EINVAL,
					  "refresh needs a repository, an owner or / for all");
		/* "/" is the whole mount (as documented), not the host's root */
		r = fs_path_resolve(fs, path[strspn(path, "/")] ? path : ".", &n);
		if (r == -EAGAIN) {
			/* a page of a repository not planned yet: plan first, then ask again */
			return wf_err_set(err, -EAGAIN,
					  "'%s' is not planned yet: prefetch the "
					  "repository first",
					  path);
		}
		if (r < 0)
			return wf_err_set(err, r == -EXDEV ? -EINVAL : r, "'%s': %s", path,
					  r == -EXDEV ? "outside this mount" : "no such path");
		r = apply_path(fs, (enum verb)v, n, err);
		fs_node_put(fs, n);
		return r;
	}
	return wf_err_set(err, -EINVAL,
			  "unknown command '%s': expected prefetch, cancel, retry or refresh",
			  verb);
}

int fs_ctl_write(struct fs *fs, const char *data, size_t len)
{
	_cleanup_free_ char *text = strndup(data, MIN(len, (size_t)65536));
	char *save = NULL, *line;
	int r = 0;

	if (!text)
		return -ENOMEM;
	if (len > 65536 || strlen(text) != len)
		return -EINVAL; /* NUL bytes or a flood: not a command */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct wf_err err = { "" };
		_cleanup_free_ char *shown = strdup(line);
		int q;

		if (!*line || *line == '#')
			continue;
		q = run_line(fs, line, &err);
		if (q < 0) {
			char msg[700];

			snprintf(msg, sizeof(msg), "command \"%s\" failed: %s", shown ? shown : "?",
				 err.msg);
			wiki_error_note(fs->wiki, ".wikifs/control", msg);
			log_warn("%s", msg);
			if (r == 0)
				r = q == -EAGAIN || q == -ENOENT || q == -EBUSY ? q : -EINVAL;
		}
	}
	return r;
}
