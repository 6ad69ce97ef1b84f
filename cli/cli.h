/* SPDX-License-Identifier: MIT */
/*
 * The commands that talk to a running mount or read a config, without
 * mounting: they never link FUSE. Each takes its own argv (argv[0] is the
 * command's name), prints what a person needs, and returns the exit
 * status. Not thread-safe (they print and prefetch handles SIGINT).
 */
#ifndef WIKIFS_CLI_H
#define WIKIFS_CLI_H

/* "wikifs status [--json] PATH": the progress of the mount holding PATH, or why not. */
int cli_status_main(int argc, char **argv);
/* "wikifs check-config FILE": validates a mount.conf. */
int cli_check_config_main(int argc, char **argv);
/* "wikifs prefetch [--no-wait] PATH": queues PATH, draws a progress bar. */
int cli_prefetch_main(int argc, char **argv);
/* "wikifs store init|status|prune [--older-than DAYS] -c CONFIG": the shared store. */
int cli_store_main(int argc, char **argv);

#endif
