/* SPDX-License-Identifier: MIT */
/*
 * "wikifs status" and "wikifs check-config": small readers. status prints
 * the .wikifs/progress (or progress.json) of the mount holding the path it
 * is given (the mountpoint or any path inside it), so a stale mount or a
 * plain directory gets its fix instead of a bare error; check-config loads a config the way the
 * mount does and prints every problem with file:line.
 */
#include "cli.h"
#include "conf.h"
#include "fsutil.h"
#include "mount_root.h"
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

int cli_check_config_main(int argc, char **argv)
{
	struct conf *c = NULL;
	struct buf errs;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: wikifs check-config FILE\n");
		return 2;
	}
	buf_init(&errs, 1 << 20);
	r = conf_load(&c, argv[1], NULL, 0, &errs);
	if (r < 0)
		fprintf(stderr, "%s", buf_str(&errs));
	buf_done(&errs);
	if (r < 0)
		return 1;
	printf("%s: ok, %zu repositories, backend %s\n", argv[1], c->n_repos,
	       conf_backend_name(c->backend));
	if (c->n_repos == 0)
		printf("%s: note: no [repo NAME] section, so a mount of it is empty: add one\n",
		       argv[1]);
	conf_free(c);
	return 0;
}

int cli_status_main(int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	const char *arg, *file = "progress";
	char root[PATH_MAX], rel[PATH_MAX];
	int r;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		file = "progress.json";
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: wikifs status [--json] PATH\n");
		return 2;
	}
	arg = argv[1];
	r = mount_root_find(arg, root, rel);
	if (r == -ENOTCONN) {
		fprintf(stderr, "wikifs: " MOUNT_STALE_FIX "\n", root);
		return 1;
	}
	if (r < 0 && r != -EXDEV) {
		fprintf(stderr,
			"wikifs: '%s' cannot be read (%s): pass the mountpoint of a running "
			"wikifs, or a path inside it\n",
			arg, strerror(-r));
		return 1;
	}
	if (r == 0 && asprintf(&path, "%s/" WIKIFS_CTLDIR "/%s", root, file) < 0)
		return 1;
	if (r == 0)
		r = read_file(path, 16 << 20, &text, NULL);
	if (r < 0) {
		fprintf(stderr,
			"wikifs: '%s' is not inside a wikifs mount (%s%s): pass the directory "
			"given to 'wikifs' when mounting, or a path inside it\n",
			arg, path ? "cannot read " WIKIFS_CTLDIR "/" : "not mounted",
			path ? file : "");
		return 1;
	}
	fputs(text, stdout);
	return 0;
}
