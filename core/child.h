/* SPDX-License-Identifier: MIT */
/*
 * One supervised child process: the only way wikifs starts a program.
 *
 * The child runs in a process group of its own (a terminal's ^C to the
 * daemon's group does not reach it, and one kill(-pgid) reaches whatever it
 * started in the group), with default signal dispositions and an empty
 * signal mask, descriptors 0-2 only, and optionally a parent-death signal
 * (PR_SET_PDEATHSIG, set before execve, so the child learns of the daemon's
 * death even by SIGKILL). Its stdin is a byte string written as it reads
 * (or /dev/null); its stdout and stderr are captured into a bounded buffer
 * and/or cut into bounded lines handed to a callback (or go to /dev/null, or
 * to our own descriptors).
 *
 * Supervision (child_wait()) is one poll() loop in the calling thread over
 * the three pipes, the child's pidfd and an optional abort descriptor, so a
 * large stdin and a large stdout cannot deadlock each other. It ends when the
 * child has exited and its pipes are at EOF (or CHILD_DRAIN_MS after the
 * exit, for a background grandchild that holds them), at the deadline, when
 * the stall limit passes without progress, at abort, when a capture
 * overflows, or when a line callback asks to stop. Whatever the reason, the
 * process group is then ended: SIGTERM, up to grace_ms for the child to
 * exit, SIGKILL to the group, and the child is reaped. The child is not
 * reaped before the group is killed, so its pid (the group id) cannot have
 * been reused by then.
 *
 * Limits: a grandchild that leaves the group (setsid(), setpgid()) is not
 * followed; run the program under a proctree guard (core/proctree.h) when
 * that matters.
 *
 * Thread-safety: a struct child belongs to the thread that spawned it (the
 * parent-death signal follows that thread, so it should be the one that
 * waits). The abort descriptor may be made readable from any thread.
 */
#ifndef WIKIFS_CHILD_H
#define WIKIFS_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Default longest line handed to a callback, in bytes. */
#define CHILD_LINE_MAX 4096
/* Default time between SIGTERM and SIGKILL to the group. */
#define CHILD_GRACE_MS 300
/* How long output is still collected after the child exited. */
#define CHILD_DRAIN_MS 1000

/* Flags of one piece of a line handed to child_line_fn. */
enum {
	CHILD_LINE_PARTIAL = 1 << 0, /* longer than line_max: more of it follows */
	CHILD_LINE_CONT = 1 << 1,    /* the continuation of a PARTIAL piece */
	CHILD_LINE_NOEOL = 1 << 2,   /* the stream ended without a final newline */
};

/*
 * Called in child_wait()'s thread with one line (NUL-terminated, without
 * its '\n', at most line_max bytes; a longer line comes in pieces flagged
 * as above). Returns < 0 to stop the child (child_wait() returns that), 0
 * to go on, > 0 to go on and count the line as progress for the stall limit.
 */
typedef int (*child_line_fn)(void *opaque, const char *line, size_t len, unsigned flags);

/*
 * Called in child_wait()'s thread when the child's stdin can take more and
 * the previous piece is all written: sets *@data and *@len to the next
 * piece (borrowed until the next call; an empty piece is fine) and returns
 * 1, returns 0 at the end (stdin is then closed), or < 0 to stop the child
 * (child_wait() returns that). A long-lived child can so be fed a stream
 * produced as it goes, answering as it reads.
 */
typedef int (*child_stdin_fn)(void *opaque, const void **data, size_t *len);

/* Where one of the child's output streams goes. */
struct child_output {
	/* Every byte is appended (not owned; bounded by its max: a capture that
	 * would overflow stops the child, child_wait() returns -EFBIG). */
	struct buf *capture;
	child_line_fn on_line; /* see above */
	void *opaque;	       /* for on_line */
	/* Neither capture nor on_line: the child writes to our own descriptor
	 * when set, to /dev/null otherwise. */
	bool inherit;
};

struct child_opts {
	const char *path;  /* execve()d as is (no PATH search) */
	char *const *argv; /* NULL-terminated, argv[0] included */
	char *const *envp; /* NULL: this process's environment */
	const char *cwd;   /* NULL: ours */
	/* NULL, or a directory made read-only for the child even if it is
	 * root: it runs in a private mount namespace (unshare(CLONE_NEWNS),
	 * mounts made private) where @ro_path is a read-only bind mount of
	 * itself. Needs CAP_SYS_ADMIN: see child_ro_supported(). */
	const char *ro_path;
	/* Written to the child's stdin, which is then closed; the bytes are
	 * borrowed until child_wait() returns. NULL: stdin is /dev/null. A
	 * child that stops reading is not an error. */
	const void *stdin_data;
	size_t stdin_len;
	/* Instead of stdin_data: stdin produced piece by piece (see above). */
	child_stdin_fn stdin_fn;
	void *stdin_opaque;
	struct child_output out, err;
	size_t line_max; /* 0: CHILD_LINE_MAX */
	int pdeathsig;	 /* parent-death signal; 0: none */
	/* 0: none. The deadline counts from child_spawn(); the stall limit
	 * from the last progress: any byte on a stream without on_line, or a
	 * line for which on_line returned > 0. Either ends in -ETIMEDOUT. */
	int64_t timeout_ms;
	int64_t stall_ms;
	int grace_ms; /* SIGTERM to SIGKILL; 0: CHILD_GRACE_MS */
	/* Readable (an eventfd, a pipe) means abort: -ECANCELED. Never read
	 * here, so one write aborts every child using it, now and later. Not
	 * owned; <= 0 means none (descriptor 0 is stdin, never an abort fd). */
	int abort_fd;
};

struct child;

/*
 * Starts @o->path. @o is copied except for the borrowed pointers named
 * above. Returns 0 with *@ret set (free it with child_free()), or -errno
 * with @err saying why (a failed execve() or chdir() is reported here, not
 * as an exit status).
 */
int child_spawn(struct child **ret, const struct child_opts *o, struct wf_err *err);

/*
 * Supervises the child until it ends (see the header comment), ends its
 * process group and reaps it; *@status (may be NULL) receives its wait
 * status. Returns 0 when the child exited by itself, -ETIMEDOUT (deadline
 * or stall limit), -ECANCELED (abort), -EFBIG (a capture overflowed), a line
 * callback's error, or another -errno; @err says which. Call it once.
 */
int child_wait(struct child *c, int *status, struct wf_err *err);

/* The child's pid, which is also its process group id. */
pid_t child_pid(const struct child *c);

/* Ends and reaps the child if child_wait() was not called; frees. NULL is fine. */
void child_free(struct child *c);

/*
 * Whether child_opts.ro_path can work here: 0, or the -errno of a trial
 * (-EPERM without CAP_SYS_ADMIN, as for a user or in most containers).
 * Found once, by a forked trial process; thread-safe.
 */
int child_ro_supported(void);

/* child_spawn() + child_wait() + child_free(). */
int child_run(const struct child_opts *o, int *status, struct wf_err *err);

#endif
