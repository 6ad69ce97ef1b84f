/* SPDX-License-Identifier: MIT */
/*
 * The mount watcher: a thread that shuts the wiki down when the mount is
 * detached lazily, so that parked requests are answered at once.
 */
#ifndef WIKIFS_WATCH_H
#define WIKIFS_WATCH_H

#include "wiki.h"

struct watch;

/*
 * Starts watching the wikifs mount at @mountpoint (absolute); both it and
 * @wiki must outlive the watcher. -ENOENT if the mount is not visible here
 * (another namespace: nothing to watch), or -errno. Not thread-safe.
 */
int watch_start(struct watch **ret, const char *mountpoint, struct wiki *wiki);
/* Stops the thread and frees the watcher (NULL is fine). */
void watch_stop(struct watch *wt);

#endif
