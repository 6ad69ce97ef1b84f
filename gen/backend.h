/* SPDX-License-Identifier: MIT */
/*
 * A generator backend turns one page request into Markdown. Backends are
 * builtin (offline, from repository facts), openai, anthropic and command.
 * The worker pool (gen/queue.c) owns retries and backoff; a backend makes one
 * attempt per generate() call and classifies its failure.
 *
 * Threading: init/done run once on the main thread. worker_init/worker_done
 * run on each worker thread (a curl easy handle lives there). generate() runs
 * concurrently on different workers with their own wstate. abort() may be
 * called from any thread at unmount and must make running generate() calls
 * return promptly (-ECANCELED).
 */
#ifndef WIKIFS_BACKEND_H
#define WIKIFS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "facts.h"
#include "page_manifest.h"
#include "plan.h"

/* Hard cap on a page's size, whatever the backend. */
#define PAGE_MAX_BYTES (4u << 20)

struct xrepo;

struct gen_request {
	const char *repo_name; /* "owner/repo" */
	const char *url;
	const char *git_dir; /* the bare clone, for backends that need a checkout */
	const char *commit;  /* hex */
	const struct plan *plan;
	const struct plan_page *page; /* one of plan->pages */
	struct repo_facts *facts;     /* NULL for a group's page */
	const struct xrepo *group;    /* a group's page: its members and their edges */
	/*
	 * What the page is made from (page_manifest.h): the backend adds every
	 * repository path it reads, looks up or lists, and every fact it uses;
	 * a page that names nothing depends on the whole tree. NULL: nobody
	 * records. Used by the generating thread only.
	 */
	struct page_deps *deps;
};

struct gen_usage {
	uint64_t input_tokens, output_tokens;
	/*
	 * What the page was made from as the backend reports it: repository
	 * paths, one per line (the command backend: its WIKIFS_DEPS file), or
	 * NULL. malloc'ed; the caller frees it.
	 */
	char *deps;
};

/* Why an attempt failed, for the retry policy. */
struct gen_err {
	bool retryable;		/* another attempt may succeed */
	int64_t retry_after_ms; /* server asked to wait this long; 0 = use backoff */
	bool budget;		/* a billing / quota / budget error: never retry */
	bool resource;		/* the machine ran short (descriptors), not the page */
	struct wf_err e;	/* message: "http 429 from 'url': rate limited" */
};

/*
 * Running out of file descriptors is the machine's state, not the page's.
 * If @r is -EMFILE or -ENFILE, or @err's message carries strerror(EMFILE)
 * (libgit2 and curl word an OS error that way), makes @err retryable and a
 * resource shortage, words it "out of file descriptors (CAUSE)" and returns
 * true; else leaves @err alone. Thread-safe.
 */
bool gen_err_fd_shortage(int r, struct gen_err *err);

struct backend_ops {
	const char *name;	    /* "builtin", "openai", ... (user.wikifs.backend) */
	const char *prompt_version; /* part of the page-cache key */
	int (*init)(void **state, const struct conf *c, struct wf_err *err);
	void (*done)(void *state);
	int (*worker_init)(void *state, void **wstate);
	void (*worker_done)(void *state, void *wstate);
	/*
	 * One attempt. Appends the page to @out (bounded by PAGE_MAX_BYTES),
	 * adds token counts to @usage. 0 or -errno with @err filled.
	 */
	int (*generate)(void *state, void *wstate, const struct gen_request *req, struct buf *out,
			struct gen_usage *usage, struct gen_err *err);
	void (*abort)(void *state);
};

extern const struct backend_ops backend_builtin;
extern const struct backend_ops backend_openai;
extern const struct backend_ops backend_anthropic;
extern const struct backend_ops backend_command;

/* The ops for the configured backend. */
const struct backend_ops *backend_for(enum conf_backend b);

#endif
