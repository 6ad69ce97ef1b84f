/* SPDX-License-Identifier: MIT */
/* The mount: the program's default command. */
#ifndef WIKIFS_MOUNT_H
#define WIKIFS_MOUNT_H

/*
 * "wikifs [-f] [-d] [-c CONFIG] [-o key=value,...] MOUNTPOINT", also
 * --help and --version: @argv[0] is the program. Returns the exit status.
 * Call from main() with no thread running (it may fork).
 */
int fs_mount_main(int argc, char **argv);

#endif
