/* SPDX-License-Identifier: MIT */
/*
 * The engine (wiki/): everything below the filesystem, behind one
 * interface. It owns the clone cache, the page cache, the job queue and the
 * backend, keeps the state of every configured repository (cloning,
 * planned, failed) and of every page of its current plan (absent, queued,
 * generating, ready, failed), and answers asynchronously: a caller that
 * must wait hands in a struct wiki_waiter and is called back exactly once,
 * from a background thread, unless it detaches first.
 *
 * Exactly-once: a waiter is attached to one list at a time; whoever removes
 * it (completion, or the caller via wiki_waiter_detach) owns the reply.
 *
 * Thread-safety: every function is thread-safe and none blocks on the
 * network or on generation, so FUSE threads may call them. Callbacks run
 * with no wiki lock held (but for one error event, see struct wiki_events),
 * mostly on background threads: a waiter may be answered by the thread
 * that calls wiki_shutdown(), and page_ready raised by wiki_page_want().
 */
#ifndef WIKIFS_WIKI_H
#define WIKIFS_WIKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "page_cache.h"
#include "plan.h"
#include "queue.h"

struct wiki;
/*
 * One page of one plan of a repository: what a file of the mount shows. A
 * reference keeps that version (its plan, commit and state) alive after a
 * refresh moved the repository on, so a page opened at one commit reads
 * that commit's bytes to its end. Opaque, reference-counted.
 */
struct wiki_page;

struct wiki_waiter {
	/* Called once with 0 or -errno, unless detached first. */
	void (*done)(struct wiki_waiter *w, int err);
	/* private: protected by the wiki's lock */
	struct wiki_waiter *next, **pprev;
	bool attached, cancelled;
};

struct wiki_events {
	void *ctx;
	/*
	 * A failure worth a log line: clone, plan or page. @what is a path.
	 * The budget's refusal of a page is raised with the wiki's lock held,
	 * on the thread that asked for the page: log, never call the wiki.
	 */
	void (*error)(void *ctx, const char *what, const char *msg);
	/* The repository's plan or commit changed: invalidate what was shown. */
	void (*repo_changed)(void *ctx, size_t repo);
	/*
	 * Page @page was (re)generated, before its waiters are answered: a size
	 * the kernel cached for an earlier copy of it is stale now. @page is only
	 * compared, never used. May be NULL.
	 */
	void (*page_ready)(void *ctx, size_t repo, const struct wiki_page *page);
	/*
	 * Version @ref of the repository was dropped from memory (least
	 * recently used beyond max_versions): forget what shows it. Its pages
	 * live on while referenced. From a background thread. May be NULL.
	 */
	void (*version_dropped)(void *ctx, size_t repo, const char *ref);
};

enum wiki_repo_state { WIKI_REPO_NEW, WIKI_REPO_CLONING, WIKI_REPO_READY, WIKI_REPO_FAILED };

enum wiki_page_state {
	WIKI_PAGE_ABSENT,
	WIKI_PAGE_QUEUED,
	WIKI_PAGE_GENERATING,
	WIKI_PAGE_READY,
	WIKI_PAGE_FAILED,
	WIKI_PAGE_STALE /* served as made at an earlier commit while it is made again */
};

/*
 * Creates the wiki for @c (which must outlive it). @self is the program's
 * executable, started as a clone helper. Starts worker threads.
 */
int wiki_new(struct wiki **ret, const struct conf *c, const struct backend_ops *ops,
	     const char *self, const struct wiki_events *ev, struct wf_err *err);
/* Stops everything: waiters get -ESHUTDOWN, helpers and transfers are killed. */
void wiki_shutdown(struct wiki *w);
void wiki_free(struct wiki *w); /* NULL is fine; implies wiki_shutdown() */

/* Resolves cached clones and plans in the background, without network. */
void wiki_warm(struct wiki *w);

/*
 * Makes sure the repository is cloned and planned. 0: ready now (no
 * attach). 1: @wt attached, called back later. -errno: failed recently
 * (the cause via wiki_repo_error()), or -EINTR if @wt was detached already.
 */
int wiki_repo_want(struct wiki *w, size_t repo, struct wiki_waiter *wt);
/* The current plan with a reference (plan_unref it), or NULL if not ready. */
struct plan *wiki_repo_plan(struct wiki *w, size_t repo);
/* Copies the last error of the repository into @out. */
void wiki_repo_error(struct wiki *w, size_t repo, char *out, size_t n);

/* What a repository's directory shows of it (its extended attributes and times). */
struct wiki_repo_info {
	enum wiki_repo_state state;
	char commit[41];     /* the commit shown, "" before the first clone */
	int64_t commit_time; /* its committer time (seconds since the epoch), 0 if none */
	char ref[256];	     /* the configured ref, else the branch the remote HEAD names */
	char error[512];     /* why the clone failed (state failed), else "" */
};
void wiki_repo_info(struct wiki *w, size_t repo, struct wiki_repo_info *info);
const char *wiki_repo_state_name(enum wiki_repo_state s); /* "new", "cloning", ... */

/*
 * References to the pages of the repository's current plan, in plan order:
 * one in each of @pages (room for PLAN_MAX_PAGES) and one to the plan in
 * *@plan. Returns how many pages, -EAGAIN if the repository is not planned
 * yet, -ESHUTDOWN when stopping. Drop them with wiki_page_unref() and
 * plan_unref().
 */
int wiki_repo_pages(struct wiki *w, size_t repo, struct plan **plan, struct wiki_page **pages);
/* Another reference to @p (which the caller holds one to). */
struct wiki_page *wiki_page_ref(struct wiki *w, struct wiki_page *p);
/* Drops a reference; the last one of a version frees it. NULL is fine. */
void wiki_page_unref(struct wiki *w, struct wiki_page *p);
/* The page's slug; valid while the reference is held. */
const char *wiki_page_slug(const struct wiki_page *p);
/*
 * The committer time of the commit the page was made at (seconds since the
 * epoch; 0 if unknown): the same for every mount of that commit. No lock.
 */
int64_t wiki_page_time(const struct wiki_page *p);

struct wiki_open {
	int fd;		 /* the page's content is @size bytes at @offset */
	uint64_t offset; /* past the cache entry's header */
	uint64_t size;
	struct page_key key; /* for wiki_page_close() */
};

/*
 * Wants page @p, at its own commit (whether or not that is still the
 * repository's). 0: ready, *o filled (close with wiki_page_close). 1: @wt
 * attached (a job was submitted or joined; with GEN_PRIO_INTERACTIVE a
 * queued prefetch job is promoted). -EIO: failed recently. -EDQUOT: budget
 * exhausted. -EAGAIN: queue full. @wt may be NULL (prefetch): then 1 means
 * queued.
 */
int wiki_page_want(struct wiki *w, struct wiki_page *p, enum gen_prio prio, struct wiki_waiter *wt,
		   struct wiki_open *o);
/* After a waiter got 0: opens the page. -ENOENT if it vanished meanwhile. */
int wiki_page_open(struct wiki *w, struct wiki_page *p, struct wiki_open *o);
void wiki_page_close(struct wiki *w, struct wiki_open *o);

/* Size of a ready page (no I/O, no generation): 0, or -ENOENT if absent. */
int wiki_page_size(struct wiki *w, struct wiki_page *p, uint64_t *size);

struct wiki_page_info {
	enum wiki_page_state state;
	char error[512];
	char commit[41]; /* the page's; of a stale page, the commit it was made at */
	const char *backend;
};
void wiki_page_info(struct wiki *w, struct wiki_page *p, struct wiki_page_info *info);
/*
 * What the bytes of @p at its commit were made from (user.wikifs.sources):
 * one "KIND SHORT-ID PATH" line per dependency (blob, tree, absent, fact),
 * whole lines within WIKI_SOURCES_MAX bytes; malloc'ed, the caller frees.
 * NULL when not known (not made yet, or made before manifests). Reads the
 * manifest: a small file.
 */
#define WIKI_SOURCES_MAX (64u << 10) /* the kernel's limit on an xattr value */
char *wiki_page_sources(struct wiki *w, struct wiki_page *p);

/*
 * What generation recorded of page @p (page_meta.h; reads one small file),
 * as the value of attribute @name: "sources" (paths, one per line) or
 * "citations" ("N verified, M unresolved"). malloc'ed (free it), or NULL
 * when nothing is recorded or @name is another attribute.
 */
char *wiki_page_recorded(struct wiki *w, struct wiki_page *p, const char *name);
const char *wiki_page_state_name(enum wiki_page_state s);

/* Detaches @wt if still attached: true means the caller now owns the reply. */
bool wiki_waiter_detach(struct wiki *w, struct wiki_waiter *wt);

/*
 * Control commands on a repository (@slug NULL = all its pages):
 * prefetch queues at prefetch priority (cloning first if needed), cancel
 * drops queued jobs that no person waits for, retry forgets a failure and
 * the cached page, refresh fetches now (a repository already syncing
 * fetches once more when that sync ends: never EBUSY). Return 0 or -errno
 * with @err.
 */
int wiki_prefetch(struct wiki *w, size_t repo, const char *slug, struct wf_err *err);
int wiki_cancel(struct wiki *w, size_t repo, const char *slug, struct wf_err *err);
int wiki_retry(struct wiki *w, size_t repo, const char *slug, struct wf_err *err);
int wiki_refresh(struct wiki *w, size_t repo, struct wf_err *err);

/*
 * Version directories: REPO@REF, any branch, tag, full or abbreviated
 * (7+ hex digits) commit of repository @repo, resolved in its one clone.
 * A ref the clone lacks makes the versions task fetch, once per
 * failure_backoff at most, whatever the number of refs asked; an unknown
 * ref is -ENOENT for failure_backoff (a line in .wikifs/errors says why).
 * A tag or commit never changes; a branch resolves when first asked and
 * moves only when the repository is fetched (refresh, refresh_interval).
 * At most max_versions per repository stay in memory, least recently used
 * dropped first (never one with a job in flight); version_dropped tells.
 */
/* Is @ref a name a version may have (not empty, no "..", '/', control bytes)? */
bool wiki_version_ref_valid(const char *ref);
/*
 * Makes sure version @ref is resolved and planned. 0: ready. 1: @wt
 * attached (or, @wt NULL, under way). -ENOENT unknown ref (or invalid
 * name), another -errno the clone's failure, -EINTR @wt detached already,
 * -ESHUTDOWN.
 */
int wiki_version_want(struct wiki *w, size_t repo, const char *ref, struct wiki_waiter *wt);
/*
 * The pages of version @ref, as wiki_repo_pages(): a reference to each in
 * @pages (room for PLAN_MAX_PAGES) and to its plan in *@plan (its commit
 * is plan->commit); *@moves: a branch (it may resolve elsewhere after a
 * fetch). Returns how many, -EAGAIN if not ready, -ENOENT if unknown.
 */
int wiki_version_pages(struct wiki *w, size_t repo, const char *ref, struct plan **plan,
		       struct wiki_page **pages, bool *moves);
/* prefetch and cancel (control commands) on version @ref; @slug NULL = all its pages. */
int wiki_version_prefetch(struct wiki *w, size_t repo, const char *ref, const char *slug,
			  struct wf_err *err);
int wiki_version_cancel(struct wiki *w, size_t repo, const char *ref, const char *slug,
			struct wf_err *err);
/*
 * The branches and tags of the repository's clone, "COMMIT KIND NAME" a
 * line (the .versions file), without network. -EAGAIN if not cloned yet.
 */
int wiki_version_refs(struct wiki *w, size_t repo, struct buf *out, struct wf_err *err);

/* Records a line for .wikifs/errors (control-file errors come from fs/). */
void wiki_error_note(struct wiki *w, const char *what, const char *msg);

/* .wikifs/progress (text) and progress.json; .wikifs/errors. */
int wiki_report_text(struct wiki *w, struct buf *out);
int wiki_report_json(struct wiki *w, struct buf *out);
int wiki_report_errors(struct wiki *w, struct buf *out);
/* .wikifs/metrics: the Prometheus text exposition format (metrics.c). */
int wiki_report_metrics(struct wiki *w, struct buf *out);

#endif
