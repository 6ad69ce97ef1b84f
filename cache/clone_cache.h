/* SPDX-License-Identifier: MIT */
/*
 * Clone cache: one bare clone per repository URL under CACHE_DIR/clones/,
 * named after the repository (cache/clone_dirs.h): only branches and tags
 * are fetched, whatever the transport; a local path is copied as git clone
 * --local does (cache/local_copy.h).
 *
 * A clone or fetch runs in a helper process (the program's own executable
 * started as "HELPER --clone-helper ...", see clone_helper.h; the URL goes
 * to it on a pipe, never on its command line), because libgit2 1.5 has no
 * socket timeout: the parent watches the helper's progress pipe and kills it after
 * @timeout_s seconds without progress. A clone goes to a temporary
 * directory that is renamed into place only on success, so a killed clone
 * leaves nothing half-made behind (a dead clone's leftovers are removed by
 * the next mount to start).
 *
 * At most @concurrency clones/fetches run at once, admitted in FIFO order by
 * a fifo_sem.
 *
 * Thread-safety: all functions are thread-safe. clone_cache_sync() blocks and
 * must only be called from background threads, never from a FUSE thread.
 * Single-flight per URL is the caller's job (wiki/repo.c: one sync per repository).
 *
 * A URL may carry a password ("https://user:password@host/..."): it is
 * used for the network and shown nowhere: every message shows the URL as
 * url_redact() does ("https://user:***@host/..."), and the clone's
 * configuration stores it without the password.
 *
 * Processes: each helper is a child of the thread that runs the sync (its
 * death signal is tied to that thread) and is reaped with waitpid() on its
 * own pid, so the program must not reap children with waitpid(-1) or set
 * SIGCHLD to SIG_IGN.
 *
 * Sharing: several processes may use one cache directory. Each claims the
 * clones of its configured repositories while it runs; clone_cache_new()
 * and, hourly, clone_cache_sync() remove clones no running process claims
 * and unused for @gc_grace_s seconds, and temporaries whose maker is gone,
 * never a clone or a clone in progress of another running process.
 */
#ifndef WIKIFS_CLONE_CACHE_H
#define WIKIFS_CLONE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct clone_cache;

struct clone_cache_opts {
	const char *cache_dir;	 /* clones live in cache_dir/clones; must exist */
	unsigned concurrency;	 /* clones/fetches at once */
	unsigned timeout_s;	 /* kill a helper after this long without progress */
	const char *helper_path; /* executable that understands --clone-helper */
	uint64_t max_bytes;	 /* abort a clone/fetch receiving more; 0 = no limit */
	const char *ssh_key;	 /* private key file for ssh URLs; NULL/"" = ssh-agent's */
	const char *ca_bundle;	 /* CA certificates for https URLs; NULL/"" = the system's */
	unsigned gc_grace_s;	 /* remove clones unused this long; 0 = never */
	const struct clone_cache_repo *repos; /* the configured repositories, copied */
	size_t n_repos;
};

/* A configured repository: its clone is named after @name and kept while it runs. */
struct clone_cache_repo {
	const char *name; /* "owner/repo" or "repo" */
	const char *url;
};

enum clone_phase { CLONE_IDLE, CLONE_QUEUED, CLONE_CLONING, CLONE_FETCHING, CLONE_RESOLVING };

/*
 * Live progress of one repository's clone, owned by the caller and updated
 * by clone_cache_sync() while it runs. Fields are written with relaxed
 * atomics (__atomic builtins); readers may look at any time.
 */
struct clone_progress {
	int phase; /* enum clone_phase */
	uint64_t objects_received;
	uint64_t objects_total;
	uint64_t bytes_received;
	int64_t started_ms; /* now_ms() when the network part began, 0 if not */
};

struct clone_result {
	char git_dir[4096];  /* path of the bare repository */
	char commit[41];     /* resolved commit, hex */
	int64_t commit_time; /* its committer time (seconds since the epoch); 0 if unreadable */
	char head[256];	     /* with a NULL ref: the branch the remote HEAD names, or "" */
	bool fetched;	     /* the network was used */
};

enum {
	CLONE_FETCH = 1 << 0,	/* if cached, fetch before resolving (refresh) */
	CLONE_OFFLINE = 1 << 1, /* never touch the network; -ENOENT if not cached */
};

/*
 * Creates cache_dir/clones (0700) if needed and removes temporaries left there
 * by an earlier crash (and clones no running mount uses, past the grace).
 * libgit2 must be initialised already (gitrepo_global_init(), once by the
 * program).
 */
int clone_cache_new(struct clone_cache **ret, const struct clone_cache_opts *o);
/*
 * Ends running helpers (their process groups, reaped), wakes waiters, waits until every
 * clone_cache_sync() has returned, frees. NULL is fine.
 */
void clone_cache_free(struct clone_cache *cc);
/* Fails current and later clone_cache_sync() calls with -ECANCELED (unmount). */
void clone_cache_shutdown(struct clone_cache *cc);

/*
 * Makes sure a clone of @url exists (cloning if missing, fetching too with
 * CLONE_FETCH) and resolves @ref (a branch or tag; NULL = the remote HEAD)
 * to a commit: @ref is tried as a branch, then as a tag (annotated tags
 * peeled), then as a full or abbreviated commit id; the remote HEAD is what
 * the server's HEAD pointed to at the last clone/fetch. Without CLONE_FETCH
 * a cached clone is used as is, with no network at all. @prog may be NULL.
 * Blocks, waiting its turn at the semaphore for network work.
 * Returns 0 or -errno (-ETIMEDOUT stalled, -ENOENT ref or repository not
 * found, -ECONNREFUSED, -EHOSTUNREACH, -EACCES auth, -ECANCELED shutdown,
 * -EIO other) with @err naming the URL (password masked) and the cause.
 *
 * 0 may come with a warning in @err (the caller reports it):
 *  - a fetch failed but a clone exists: the cached commit is returned;
 *  - @ref (or the remote HEAD) no longer names a commit, typically a branch
 *    deleted upstream and pruned by a fetch, but resolved before: the last
 *    commit it resolved to is returned, "ref 'x' no longer exists on the
 *    remote 'URL'; serving last good commit abc1234". That commit is
 *    remembered in the clone (refs/wikifs/last/REF), so this holds across
 *    restarts, until the ref exists again.
 */
int clone_cache_sync(struct clone_cache *cc, const char *url, const char *ref, unsigned flags,
		     struct clone_progress *prog, struct clone_result *res, struct wf_err *err);

/*
 * The directory of @url's clone into @out (@n bytes), without network:
 * 0 if the clone exists, -ENOENT if it does not yet, -ENAMETOOLONG.
 */
int clone_cache_git_dir(struct clone_cache *cc, const char *url, char *out, size_t n);

/*
 * active: helpers running; queued: syncs waiting at the semaphore;
 * done/failed: finished network operations (clone or fetch), a helper killed
 * by shutdown or the stall deadline counting as failed. Local resolves are
 * not counted.
 */
struct clone_stats {
	unsigned active, queued, max_active_seen;
	uint64_t done, failed;
};
void clone_cache_stats(struct clone_cache *cc, struct clone_stats *st);

#endif
