/* SPDX-License-Identifier: MIT */
/*
 * /proc/self/mountinfo, read in one place, and what a wikifs mount looks
 * like from outside: its file system type, its control directory, and the
 * one text that tells a person what to do about a stale mount.
 */
#ifndef WIKIFS_MOUNTINFO_H
#define WIKIFS_MOUNTINFO_H

#include <stdbool.h>

#define WIKIFS_FSTYPE "fuse.wikifs"
#define WIKIFS_CTLDIR ".wikifs"

/*
 * A FUSE mount whose daemon is gone, and its fix: a printf format whose
 * one argument (%1$s) is the mountpoint. Said by the mount's preflight and
 * by "wikifs status" alike.
 */
#define MOUNT_STALE_FIX                                                           \
	"'%1$s' is a stale mount (its daemon is gone, transport endpoint is not " \
	"connected): unmount it with 'fusermount3 -u %1$s'"

struct mount_entry {
	long id;	    /* the mount ID */
	const char *point;  /* unescaped mount point */
	const char *fstype; /* "fuse.wikifs", "ext4", ... */
};

/*
 * Calls @fn for every line of /proc/self/mountinfo, in order, until it
 * returns non-zero, which is then returned. 0, or -errno if unreadable.
 * Thread-safe; @e is valid only during the call.
 */
int mountinfo_foreach(int (*fn)(void *ctx, const struct mount_entry *e), void *ctx);

/* The file system type mounted on top at @path ("fuse.wikifs", ...), or NULL; caller frees. */
char *mountinfo_type_at(const char *path);

/*
 * Is @path a FUSE mount whose daemon is gone? stat() may still succeed from
 * the kernel's attribute cache, but opening the directory always asks the
 * daemon, and a dead connection answers ENOTCONN.
 */
bool mountinfo_is_stale(const char *path);

#endif
