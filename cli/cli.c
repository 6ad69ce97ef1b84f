/* SPDX-License-Identifier: MIT */
/*
 * "wikifs status" and "wikifs check-config": small readers. status prints
 * the mount's .wikifs/progress (or progress.json) after checking that the
 * path is a live wikifs mount, so a stale mount or a plain directory gets
 * its fix instead of a bare error; check-config loads a config the way the
 * mount does and prints every problem with file:line.
 */
#include "cli.h"
#include "conf.h"
#include "fsutil.h"
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

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
	_cleanup_free_ char *path = NULL, *text = NULL, *type = NULL;
	const char *mnt, *file = "progress";
	char real[PATH_MAX];
	struct stat st;
	int r;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		file = "progress.json";
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: wikifs status [--json] MOUNTPOINT\n");
		return 2;
	}
	mnt = argv[1];
	r = stat(mnt, &st) < 0 ? -errno : 0;
	if (r < 0 && r != -ENOTCONN) {
		fprintf(stderr,
			"wikifs: '%s' cannot be read (%s): pass the mountpoint of a running "
			"wikifs\n",
			mnt, strerror(-r));
		return 1;
	}
	if (r == 0 && asprintf(&path, "%s/" WIKIFS_CTLDIR "/%s", mnt, file) < 0)
		return 1;
	if (r == 0) {
		type = realpath(mnt, real) ? mountinfo_type_at(real) : NULL;
		r = type && !strcmp(type, WIKIFS_FSTYPE) ? read_file(path, 16 << 20, &text, NULL)
							 : -ENOENT;
	}
	if (r == -ENOTCONN) {
		fprintf(stderr, "wikifs: " MOUNT_STALE_FIX "\n", mnt);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr,
			"wikifs: '%s' is not a wikifs mountpoint (%s%s): pass the directory "
			"given to 'wikifs' when mounting\n",
			mnt, type ? "cannot read " WIKIFS_CTLDIR "/" : "not mounted",
			type ? file : "");
		return 1;
	}
	fputs(text, stdout);
	return 0;
}
