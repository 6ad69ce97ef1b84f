/* SPDX-License-Identifier: MIT */
/*
 * /proc/self/mountinfo, read in one place: the preflight checks and
 * "wikifs status" (is the mountpoint already or stale-mounted?) and the
 * mount watcher (is our mount still there?) all walk it. Each line is "ID PARENT MAJ:MIN ROOT POINT
 * OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"; the mount point escapes
 * space, tab, newline and backslash as \ooo, undone here so callers compare
 * it with a real path.
 */
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

int mountinfo_foreach(int (*fn)(void *ctx, const struct mount_entry *e), void *ctx)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		char *fields[5], *save = NULL, *sep, *s = line;
		struct mount_entry e;
		int i, r;

		for (i = 0; i < 5 && (fields[i] = strtok_r(s, " ", &save)); i++)
			s = NULL;
		sep = strstr(save ? save : "", " - ");
		if (i < 5 || !sep)
			continue;
		sep += 3;
		sep[strcspn(sep, " \n")] = '\0';
		unescape_octal(fields[4]);
		e.id = strtol(fields[0], NULL, 10);
		e.point = fields[4];
		e.fstype = sep;
		r = fn(ctx, &e);
		if (r)
			return r;
	}
	return 0;
}

struct type_at {
	const char *path;
	char *type;
};

static int type_at_path(void *ctx, const struct mount_entry *e)
{
	struct type_at *t = ctx;

	if (!strcmp(e->point, t->path)) {
		free(t->type); /* the last entry for a path is the one on top */
		t->type = strdup(e->fstype);
	}
	return 0;
}

char *mountinfo_type_at(const char *path)
{
	struct type_at t = { .path = path, .type = NULL };

	mountinfo_foreach(type_at_path, &t);
	return t.type;
}

bool mountinfo_is_stale(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOTCONN;
}
