/* SPDX-License-Identifier: MIT */
/*
 * Which wikifs mount holds a path: what status and prefetch ask first, so
 * that either takes any path inside a mount and both name a stale mount
 * the same way (MOUNT_STALE_FIX).
 */
#ifndef WIKIFS_MOUNT_ROOT_H
#define WIKIFS_MOUNT_ROOT_H

#include <limits.h>

/*
 * Finds the wikifs mount holding @path (the deepest, if mounts nest): its
 * mountpoint into @root and @path below it, without a leading slash ("" for
 * the mountpoint itself), into @rel. 0; -ENOTCONN with @root set if that
 * mount is stale (its daemon is gone); -EXDEV if no wikifs mount holds
 * @path; another -errno (-ENOENT...) if @path cannot be resolved. Thread-safe.
 */
int mount_root_find(const char *path, char root[PATH_MAX], char rel[PATH_MAX]);

#endif
