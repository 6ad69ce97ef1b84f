/* SPDX-License-Identifier: MIT */
/*
 * The checks made before mounting: the mountpoint, /dev/fuse, fusermount3,
 * the API key, the cache directory. Each failure prints one line that names
 * its fix.
 */
#ifndef WIKIFS_PREFLIGHT_H
#define WIKIFS_PREFLIGHT_H

#include "conf.h"

/*
 * Runs every check in order and stops at the first that fails, which it
 * prints on stderr. 0 and the mountpoint's absolute path in *mnt_out
 * (caller frees), or the failed check's -errno. Not thread-safe (it prints).
 */
int preflight_run(const struct conf *c, const char *mnt_arg, char **mnt_out);

#endif
