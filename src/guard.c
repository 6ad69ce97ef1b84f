/* SPDX-License-Identifier: MIT */
/*
 * wikifs-guard: the process guard of generator commands on its own
 * (core/proctree.c), for "wikifs-guard --proc-guard PPID GRACE PATH ARGV...".
 * It links core/ alone, so it starts in about a millisecond where the whole
 * wikifs executable, with its 40 shared libraries, takes 15 to 30: a guard
 * runs once per generation. The command backend looks for it beside the
 * daemon (the build tree) or in LIBEXECDIR/wikifs, and falls back to the
 * daemon's own executable, which runs the same guard.
 */
#include "proctree.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	fprintf(stderr, "wikifs-guard: run by wikifs for its generator commands, not by hand\n");
	return 2;
}
