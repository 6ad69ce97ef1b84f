/* SPDX-License-Identifier: MIT */
/*
 * gen/backend.c: backend_for() maps every configured backend, and
 * gen_err_fd_shortage() recognises running out of descriptors from an
 * errno or from a library's words (libgit2 and curl append strerror()),
 * makes it retryable and a resource shortage, and names it once.
 */
#include "backend.h"
#include "tap.h"

#include <errno.h>
#include <string.h>

static void test_fd_shortage(void)
{
	struct gen_err e = { 0 };

	wf_err_set(&e.e, -EMFILE, "cannot create pipes: %s", strerror(EMFILE));
	ok(gen_err_fd_shortage(-EMFILE, &e) && e.retryable && e.resource,
	   "EMFILE: retryable, a resource shortage");
	is_str(e.e.msg, "out of file descriptors (cannot create pipes: Too many open files)",
	       "the message names the shortage, the cause in parentheses");
	ok(gen_err_fd_shortage(-EMFILE, &e) &&
	       !strcmp(e.e.msg,
		       "out of file descriptors (cannot create pipes: Too many open files)"),
	   "classified twice, worded once");

	memset(&e, 0, sizeof(e));
	wf_err_set(&e.e, -EIO, "failed to open '/x/objects/pack/p.idx': %s", strerror(ENFILE));
	ok(gen_err_fd_shortage(-EIO, &e) && e.retryable && e.resource &&
	       !strncmp(e.e.msg, "out of file descriptors (failed to open", 39),
	   "a library's ENFILE in the message: recognised (%s)", e.e.msg);

	memset(&e, 0, sizeof(e));
	ok(gen_err_fd_shortage(-ENFILE, &e) && !strcmp(e.e.msg, "out of file descriptors "
								"(Too many open files in system)"),
	   "ENFILE without a message: strerror is the cause");

	memset(&e, 0, sizeof(e));
	wf_err_set(&e.e, -EIO, "command exited with status 3");
	ok(!gen_err_fd_shortage(-EIO, &e) && !e.retryable && !e.resource &&
	       !strcmp(e.e.msg, "command exited with status 3"),
	   "another failure is left alone");
}

int main(void)
{
	ok(backend_for(BACKEND_BUILTIN) == &backend_builtin &&
	       backend_for(BACKEND_OPENAI) == &backend_openai &&
	       backend_for(BACKEND_ANTHROPIC) == &backend_anthropic &&
	       backend_for(BACKEND_COMMAND) == &backend_command,
	   "backend_for() maps every backend");
	test_fd_shortage();
	return done_testing();
}
