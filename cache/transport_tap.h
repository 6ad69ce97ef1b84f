/* SPDX-License-Identifier: MIT */
/*
 * What the server said, whatever libgit2 reports. libgit2 1.5 drops the
 * side-band error channel (3), where git's upload-pack says "aborting due
 * to possible repository corruption on the remote side", and reports only
 * "early EOF" when the connection then ends; it also words the same cause
 * differently per transport. This module builds libgit2's own smart
 * transport (git://, http(s)://, ssh) around its own subtransport, whose
 * streams it wraps to read the pkt-line headers going by: the server's
 * "ERR" lines, its side-band error messages (and the "error:" / "fatal:"
 * lines of its progress channel), and whether the connection ended while
 * libgit2 still wanted data. The bytes themselves pass through untouched.
 *
 * Used by the clone helper process (cache/clone_helper.c), one fetch at a
 * time: a struct transport_tap is owned by the caller and must outlive the
 * transport made with it. Not thread-safe.
 */
#ifndef WIKIFS_TRANSPORT_TAP_H
#define WIKIFS_TRANSPORT_TAP_H

#include <stdbool.h>

#include <git2.h>
#include <git2/sys/transport.h>

#define TRANSPORT_TAP_MSG_MAX 768

struct transport_tap {
	char remote_msg[TRANSPORT_TAP_MSG_MAX]; /* the server's own words, "" if none */
	bool eof;				/* the connection ended while data was expected */
	int rpc;				/* internal: the definition in use */
	git_smart_subtransport_cb inner;	/* internal: libgit2's subtransport */
};

/*
 * A git_transport_cb (git_remote_callbacks.transport): creates libgit2's
 * smart transport for @url's scheme with its streams tapped into @tap.
 * A URL of another kind gets libgit2's own transport, untapped.
 */
int transport_tap_new(git_transport **out, git_remote *owner, const char *url,
		      struct transport_tap *tap);

#endif
