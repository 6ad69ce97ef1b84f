/* SPDX-License-Identifier: MIT */
/*
 * The mount holding a path, found in /proc/self/mountinfo rather than by
 * probing for the control directory: a stale mount answers nothing (not
 * even realpath() of a path inside it), yet its mountpoint is still listed
 * there, so the stale case is named with its fix instead of "no such
 * file". A path that cannot be resolved because its mount is stale is
 * taken as written (made absolute, "." and ".." dropped by hand).
 */
#include "mount_root.h"
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct search {
	const char *path;
	size_t best; /* length of the deepest wikifs mountpoint holding @path */
	char root[PATH_MAX];
};

static bool holds(const char *point, const char *path, size_t *len)
{
	*len = strlen(point);
	if (*len == 1 && point[0] == '/')
		*len = 0; /* a mount on / holds everything */
	return !strncmp(point, path, *len) && (path[*len] == '/' || path[*len] == '\0');
}

static int consider(void *ctx, const struct mount_entry *e)
{
	struct search *s = ctx;
	size_t len;

	if (strcmp(e->fstype, WIKIFS_FSTYPE) || !holds(e->point, s->path, &len))
		return 0;
	if (len >= s->best || !s->root[0]) {
		s->best = len;
		snprintf(s->root, sizeof(s->root), "%s", e->point);
	}
	return 0;
}

/* @path made absolute textually, with "." and ".." components resolved. */
static int absolute(const char *path, char out[PATH_MAX])
{
	char buf[2 * PATH_MAX], cwd[PATH_MAX], *save = NULL, *comp;
	size_t len = 0;

	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (snprintf(buf, sizeof(buf), "%s/%s", path[0] == '/' ? "" : cwd, path) >=
	    (int)sizeof(buf))
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			while (len > 0 && out[--len] != '/')
				;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + strlen(comp) >= PATH_MAX)
			return -ENAMETOOLONG;
		len += (size_t)sprintf(out + len, "/%s", comp);
	}
	if (!len)
		strcpy(out, "/");
	return 0;
}

int mount_root_find(const char *path, char root[PATH_MAX], char rel[PATH_MAX])
{
	struct search s = { 0 };
	char real[PATH_MAX];
	int r = 0;

	if (!realpath(path, real))
		r = errno == ENOTCONN ? absolute(path, real) : -errno;
	if (r < 0)
		return r;
	s.path = real;
	r = mountinfo_foreach(consider, &s);
	if (r < 0)
		return r;
	if (!s.root[0])
		return -EXDEV;
	snprintf(root, PATH_MAX, "%s", s.root);
	snprintf(rel, PATH_MAX, "%s", real + s.best + (real[s.best] == '/'));
	return mountinfo_is_stale(root) ? -ENOTCONN : 0;
}
