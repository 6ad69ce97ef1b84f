/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests that run child processes share: whether a process
 * has ended, read from /proc with a deadline (no fixed sleep). Thread-safe.
 */
#ifndef WIKIFS_PROC_FIXTURE_H
#define WIKIFS_PROC_FIXTURE_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "util.h"

/* Whether @pid is gone or a zombie (dead, waiting to be reaped), within 2 s. */
static inline bool proc_gone(pid_t pid)
{
	char path[64], st[512];
	int64_t end = now_ms() + 2000;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (now_ms() < end) {
		FILE *f = fopen(path, "r");
		char *rp;

		if (!f)
			return true;
		rp = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
		fclose(f);
		if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
			return true;
		sched_yield();
	}
	return false;
}

#endif
