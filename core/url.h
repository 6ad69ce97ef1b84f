/* SPDX-License-Identifier: MIT */
/*
 * Passwords in URLs. A repository URL may carry credentials
 * ("https://user:password@host/path"); the password must work for the
 * network and never be shown. Everything that shows a URL or a message that
 * may echo one (errors, progress, the log, libgit2 messages) goes through
 * url_redact() or url_redact_text(), which show it as
 * "https://user:***@host/path". The user name is kept: it says which
 * account is used and is not a secret by itself.
 *
 * Only "scheme://" URLs have userinfo; scp-like "user@host:path" has no
 * password. The userinfo is what precedes the last '@' of the authority, the
 * authority ending at the first '/', '?', '#', white space or quote.
 *
 * All functions are pure and thread-safe.
 */
#ifndef WIKIFS_URL_H
#define WIKIFS_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Copies @url to @out (size @n > 0, truncated if needed) with its password shown as "***". */
void url_redact(const char *url, char *out, size_t n);

/*
 * Rewrites every "scheme://user:password@" in the NUL-terminated text @s
 * (a buffer of @size bytes) in place to "scheme://user:***@". Text that no
 * longer fits is cut, never the redaction.
 */
void url_redact_text(char *s, size_t size);

/*
 * Copies @url to @out without ":password" ("https://user@host/path"): the
 * form stored on disk and used as a cache identity, so a changed password
 * changes neither. -ENAMETOOLONG if it does not fit in @n bytes.
 */
int url_strip_password(const char *url, char *out, size_t n);

/* Whether @url has a password (possibly empty: "https://user:@host"). */
bool url_has_password(const char *url);

/* A URL wikifs can clone: file://, git://, http(s)://, ssh:// (and aliases), scp-like, a path. */
bool url_supported(const char *url);
/* A local path that is relative (not absolute, no scheme, not scp-like). */
bool url_local_relative(const char *url);
/*
 * A relative local path resolved against @base_dir ("./" dropped, "." is
 * @base_dir itself). malloc'ed, or NULL.
 */
char *url_absolute(const char *base_dir, const char *rel);

#endif
