/* SPDX-License-Identifier: MIT */
/*
 * git's credential conventions (gitcredentials(7)) for a URL without a
 * password: `git credential fill` asks the user's configured credential
 * helpers, then GIT_ASKPASS (or core.askPass, SSH_ASKPASS), exactly as git
 * itself would; `approve` and `reject` then tell those helpers how the
 * credential fared, so a store or cache helper keeps or forgets it.
 * Terminal prompts are off (GIT_TERMINAL_PROMPT=0): a mount has no terminal
 * to ask on, and a prompt would only stall the clone.
 *
 * Used by the clone helper process (cache/clone_helper.c). Each call runs
 * git as a child process and blocks until it exits; nothing bounds how long
 * a credential helper or GIT_ASKPASS program takes but the clone deadline of
 * the parent, which kills the helper's whole process group.
 *
 * Thread-safety: the functions share no state, but they wait for their own
 * child with waitpid(): meant for the single-threaded helper process.
 * Ownership: a struct credential owns its strings; credential_done() wipes
 * the password and frees them.
 */
#ifndef WIKIFS_CREDENTIAL_H
#define WIKIFS_CREDENTIAL_H

#include "err.h"

struct credential {
	char *protocol; /* "https" */
	char *host;	/* "host" or "host:port", without user information */
	char *path;	/* "owner/repo.git", without the leading '/' */
	char *username; /* NULL when unknown */
	char *password; /* NULL until filled */
};

/*
 * Describes @url (its userinfo dropped) for a fill, with @user (may be
 * NULL) as the user name. -EINVAL if @url is not "scheme://host[/path]" or a
 * part holds a newline, -ENOMEM.
 */
int credential_init(struct credential *c, const char *url, const char *user);

/*
 * Runs `git credential fill`. 0 with c->username and c->password set, or
 * -errno with @err saying why (git missing, no helper and no GIT_ASKPASS,
 * what git said).
 */
int credential_fill(struct credential *c, struct wf_err *err);

/* `git credential approve` / `reject` for a filled credential; best effort. */
void credential_approve(const struct credential *c);
void credential_reject(const struct credential *c);

/* Wipes the password and frees every string. NULL members are fine. */
void credential_done(struct credential *c);

#endif
