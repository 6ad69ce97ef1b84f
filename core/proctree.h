/* SPDX-License-Identifier: MIT */
/*
 * Process subtrees: nothing a generator starts may outlive the mount.
 *
 * A process group does not hold a grandchild that calls setsid(), and
 * PR_SET_PDEATHSIG reaches only a direct child. So each generator command
 * runs under a *guard*: the wikifs executable started again as
 * "EXE --proc-guard PPID GRACE_MS PROGRAM ARGV0 [ARGS...]". The guard is a
 * child subreaper (PR_SET_CHILD_SUBREAPER), so every orphan of the command's
 * subtree is reparented to it whatever session or group it moved to, and
 * its parent-death signal is SIGTERM, which it catches: when the daemon dies,
 * even by SIGKILL, the guard still ends the subtree. It ends the subtree when
 * the command exits, when it receives SIGTERM (the daemon's timeout, abort or
 * unmount) and when the daemon dies.
 *
 * Ending a subtree: SIGTERM to every descendant, SIGKILL to those left after
 * a grace period, reaping until none is left. Descendants are found in /proc
 * (each process's parent), again on every round: a process forked meanwhile
 * is seen in the next round, or is reparented to the subreaper once its
 * parent dies. Every wait is bounded.
 *
 * Limits: a guard killed with SIGKILL from outside cannot end its subtree
 * (the command itself still dies: its parent-death signal is SIGKILL); a
 * process that leaves the tree by other means (a service manager, a new PID
 * namespace's init) is not followed.
 *
 * Thread-safety: proctree_signal() is thread-safe. proctree_end() reaps any
 * child of the caller (waitpid(-1)): call it only when no other thread of
 * the process waits for a child of its own.
 */
#ifndef WIKIFS_PROCTREE_H
#define WIKIFS_PROCTREE_H

#include <sys/types.h>

/* The argv[1] that makes the wikifs executable run proctree_guard_main(). */
#define PROCTREE_GUARD_ARG "--proc-guard"

/* Grace between SIGTERM and SIGKILL when a subtree is ended. */
#define PROCTREE_GRACE_MS 300

/* How long past the grace a guard waits for an unkillable subtree. */
#define PROCTREE_GUARD_LIMIT_MS 5000

/*
 * Sends @sig to every process below @root (not to @root). @sig 0 only counts
 * them. Returns how many there are (zombies included), or -errno when /proc
 * cannot be read.
 */
int proctree_signal(pid_t root, int sig);

/*
 * Ends every descendant of the calling process: SIGTERM, SIGKILL after
 * @grace_ms, and reaps its children until none is left or @limit_ms passed.
 * Returns how many descendants were there at the start (0: nothing to do),
 * or -errno when /proc cannot be read. See the header comment for when it
 * may be called.
 */
int proctree_end(int grace_ms, int limit_ms);

/*
 * The guard process (see above). @argc/@argv as after PROCTREE_GUARD_ARG.
 * Exits like the command: its exit status, or the same fatal signal. 125
 * when the guard itself cannot start it, 2 on a usage error.
 */
int proctree_guard_main(int argc, char **argv);

#endif
