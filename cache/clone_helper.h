/* SPDX-License-Identifier: MIT */
/*
 * The clone helper process: the network half of the clone cache. libgit2
 * 1.5 has no socket timeout, so a clone or fetch runs in a process of its
 * own that the clone cache (cache/clone_cache.c) can kill; this module is
 * what runs inside it, plus the one mapping from libgit2 errors to errno
 * that both halves use.
 *
 * Protocol, parent to helper:
 *   argv   "--clone-helper MODE SHOWN_URL DIR PPID MAXBYTES"; MODE is clone
 *          or fetch, SHOWN_URL the URL with its password masked
 *          (url_redact(): only a label, for ps), PPID the parent's pid
 *          (the helper does nothing if its parent is already someone else)
 *   stdin  the URL itself, one line: it may carry a password, and a command
 *          line is readable by every user of the machine; then options,
 *          one "key=value" line each: ssh_key=PATH (a private key file for
 *          ssh), ca_bundle=PATH (CA certificates for https)
 * Helper to parent, on stdout, one line each:
 *   "P RECEIVED TOTAL BYTES INDEXED_DELTAS TOTAL_DELTAS"  transfer progress
 *   "S"                                                  still alive
 *   "OK" | "E ERRNO MESSAGE"                             the result, last
 * A failure's ERRNO and the start of its MESSAGE name the cause the same way
 * whatever the transport (ENOENT "repository not found", EACCES "access
 * denied", ECONNREFUSED, ECONNRESET "connection lost in the middle of the
 * transfer", EHOSTUNREACH, EIO); the message goes on with the server's own
 * words when it sent any (cache/transport_tap.h), else libgit2's.
 *
 * Credentials (https): a password in the URL is used as is; without one,
 * git's credential conventions are asked (cache/credential.h: credential
 * helpers, GIT_ASKPASS), and told afterwards whether it worked. ssh: the
 * key file of ssh_key, then the keys of ssh-agent; the server's host key
 * must be in ~/.ssh/known_hosts (libgit2 checks it). https: the CA
 * certificates of ca_bundle (else GIT_SSL_CAINFO, else the system's). The clone's configuration stores the URL without its
 * password: the password lives only in mount.conf (or wherever the user's
 * credential helper keeps it).
 */
#ifndef WIKIFS_CLONE_HELPER_H
#define WIKIFS_CLONE_HELPER_H

#include <stdbool.h>
#include <stddef.h>

#define CLONE_HELPER_LINE_MAX  1024  /* longest line either side keeps */
#define CLONE_HELPER_URL_MAX   8192  /* longest URL the helper accepts */
#define CLONE_HELPER_INPUT_MAX 16384 /* its whole stdin: the URL and options */

/*
 * Entry point of the helper process: argv as after "--clone-helper" (a
 * leading "--clone-helper" itself is skipped too, so main() may pass either
 * argv + 1 or argv + 2). Returns the process exit status.
 */
int clone_helper_main(int argc, char **argv);

/*
 * A failed clone or fetch in the words the helper uses ("repository not
 * found: <libgit2's message>", see above) for libgit2 return @code and the
 * thread's last error; @eof: the connection ended while data was expected.
 * Returns the -errno. Thread-safe.
 */
int clone_helper_describe(int code, bool eof, char *msg, size_t n);

#endif
