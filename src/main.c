/* SPDX-License-Identifier: MIT */
/*
 * wikifs: the program. main() only dispatches:
 *
 *   wikifs --clone-helper ...              a clone in its own process (cache/)
 *   wikifs --proc-guard ...                a generator command's guard (core/)
 *   wikifs prefetch [--no-wait] PATH       queue + progress bar (cli/)
 *   wikifs status [--json] MOUNTPOINT      progress summary (cli/)
 *   wikifs check-config FILE               validate a config (cli/)
 *   wikifs store init|status|prune ...     the shared page store (cli/)
 *   wikifs [-f] [-d] [-c CONFIG] [-o ...] MOUNTPOINT   the mount (fs/)
 */
#include "cli.h"
#include "clone_helper.h"
#include "mount.h"
#include "proctree.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A daemon started by mount(8) at boot may have no HOME; ~ means the user's. */
static void ensure_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return;
	pw = getpwuid(getuid());
	if (pw && pw->pw_dir && *pw->pw_dir)
		setenv("HOME", pw->pw_dir, 1);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*main)(int argc, char **argv);
	} commands[] = {
		{ "prefetch", cli_prefetch_main },
		{ "status", cli_status_main },
		{ "check-config", cli_check_config_main },
		{ "store", cli_store_main },
	};

	if (argc > 1 && !strcmp(argv[1], "--clone-helper"))
		return clone_helper_main(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	ensure_home();
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	return fs_mount_main(argc, argv);
}
