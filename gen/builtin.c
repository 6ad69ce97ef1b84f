/* SPDX-License-Identifier: MIT */
/*
 * The builtin backend: Markdown pages rendered offline from repo_facts.
 *
 * Every page is a pure function of (plan, facts, url, repository name): no
 * clock, no environment, stable sort orders everywhere, so a commit always
 * gives byte-identical pages. Every string that comes from the repository
 * (paths, symbol names, authors, subjects, README text) goes through the
 * writers of md.h. Every list has a cap with an "... and N more" line, and
 * the page is built in a bounded buffer whose overflow ends the page with a
 * truncation note instead of an error. Generation reads no blob (all it
 * needs is in the facts), so it is CPU-only, fast and needs no per-thread
 * state; abort() has nothing to stop. It writes English whatever
 * generator.language says (the language is in the page key all the same).
 *
 * This file is the backend: it builds the page context and hands it to the
 * renderer its table names for the page's kind (builtin_overview.c,
 * builtin_code.c, builtin_build.c, builtin_history.c), which share
 * builtin_page.c.
 */
#include "builtin_int.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define BUILTIN_PROMPT_VERSION "builtin-1"

#define MD_MAX (PAGE_MAX_BYTES - (64u << 10))

/* Known forges where URL/blob/COMMIT/PATH#Lline shows a file at a line. */
static void forge_base(struct builtin_ctx *c, const char *url)
{
	static const char *const hosts[] = { "github.com", "gitlab.com", "codeberg.org",
					     "gitea.com" };
	static const char *const prefixes[] = { "gitlab.", "github.", "gitea.", "forgejo." };
	const char *h, *slash;
	size_t hl, n;
	bool known = false;

	c->base[0] = '\0';
	if (!url || strncmp(url, "https://", 8))
		return;
	h = url + 8;
	slash = strchr(h, '/');
	if (!slash)
		return;
	hl = (size_t)(slash - h);
	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
		known |= strlen(hosts[i]) == hl && !strncasecmp(h, hosts[i], hl);
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		known |= !strncasecmp(h, prefixes[i], strlen(prefixes[i]));
	if (!known)
		return;
	/* no user information (a token must never reach a page), no odd bytes */
	for (const char *p = url + 8; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._~/:", *p))
			return;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n > 4 && !strncmp(url + n - 4, ".git", 4))
		n -= 4;
	if (n >= sizeof(c->base) || n <= (size_t)(slash - url) + 1)
		return;
	memcpy(c->base, url, n);
	c->base[n] = '\0';
}

/* ---- backend ops ------------------------------------------------------------ */

static int builtin_init(void **state, const struct conf *c, struct wf_err *err)
{
	*state = NULL;
	return 0;
}

static void builtin_done(void *state)
{
}

static int builtin_worker_init(void *state, void **wstate)
{
	*wstate = NULL;
	return 0;
}

static void builtin_worker_done(void *state, void *wstate)
{
}

static void builtin_abort(void *state)
{
	/* generation is CPU-only and bounded: nothing to interrupt */
}

/* The renderer of each page kind; a kind without one (custom) gets builtin_page_custom(). */
typedef void renderer_fn(struct md *m, struct builtin_ctx *c);

static renderer_fn *const renderers[PAGE_KIND_MAX] = {
	[PAGE_HOME] = builtin_page_home,
	[PAGE_SIDEBAR] = builtin_page_sidebar,
	[PAGE_ARCHITECTURE] = builtin_page_architecture,
	[PAGE_MODULE] = builtin_page_module,
	[PAGE_BUILD] = builtin_page_build,
	[PAGE_HISTORY] = builtin_page_history,
	[PAGE_CONTRIBUTORS] = builtin_page_contributors,
	[PAGE_CUSTOM] = builtin_page_custom,
};

static renderer_fn *renderer_of(enum page_kind kind)
{
	if ((unsigned)kind < ARRAY_SIZE(renderers) && renderers[kind])
		return renderers[kind];
	return builtin_page_custom;
}

static void ctx_free(struct builtin_ctx *c)
{
	if (c) {
		free(c->file_mod);
		free(c);
	}
}

/* The context of one page: files, modules and each file's module. -ENOMEM or 0. */
static int ctx_new(struct builtin_ctx **ret, const struct gen_request *req)
{
	struct builtin_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->req = req;
	c->f = req->facts;
	c->nfiles = facts_files(c->f, &c->files);
	snprintf(c->short_id, sizeof(c->short_id), "%.12s", facts_commit_id(c->f));
	forge_base(c, req->url);
	for (size_t i = 0; i < req->plan->n && c->nmods < PLAN_MAX_PAGES; i++)
		if (req->plan->pages[i].kind == PAGE_MODULE && req->plan->pages[i].arg)
			c->mods[c->nmods++] = &req->plan->pages[i];
	c->file_mod = malloc((c->nfiles + 1) * sizeof(*c->file_mod));
	if (!c->file_mod) {
		ctx_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nfiles; i++)
		c->file_mod[i] = builtin_module_of(c, c->files[i].path);
	*ret = c;
	return 0;
}

/*
 * What a page of @kind is made from, coarse but never short: every page
 * links every page of the plan; the pages that summarise, list or graph
 * the tree (a module page shows the imports of other modules) depend on it
 * whole; History and Contributors on the log they show.
 */
static int record_deps(struct page_deps *d, enum page_kind kind)
{
	int r = page_deps_fact(d, "plan");

	switch (kind) {
	case PAGE_SIDEBAR:
		break;
	case PAGE_HISTORY:
	case PAGE_CONTRIBUTORS:
		r = r ?: page_deps_fact(d, "log:5000"); /* FACTS_MAX_COMMITS: all of it */
		r = r ?: page_deps_fact(d, "authors");
		break;
	case PAGE_HOME:
		r = r ?: page_deps_fact(d, "log:1");
		r = r ?: page_deps_fact(d, "authors");
		r = r ?: page_deps_path(d, "");
		break;
	default:
		r = r ?: page_deps_path(d, "");
	}
	return r;
}

static int builtin_generate(void *state, void *wstate, const struct gen_request *req,
			    struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	struct wf_err *e = err ? &err->e : NULL;
	struct builtin_ctx *c = NULL;
	struct md m = { .err = 0 };
	int r;

	if (err) {
		err->retryable = false;
		err->retry_after_ms = 0;
		err->budget = false;
		wf_err_clear(&err->e);
	}
	if (!req || !(req->facts || req->group) || !req->plan || !req->page)
		return wf_err_set(e, -EINVAL, "builtin: incomplete request");
	if (req->deps && !req->group && record_deps(req->deps, req->page->kind) < 0)
		return wf_err_set(e, -ENOMEM, "builtin: out of memory");
	if (!req->group && ctx_new(&c, req) < 0)
		return wf_err_set(e, -ENOMEM, "builtin: out of memory");
	buf_init(&m.b, MD_MAX);
	if (req->group)
		builtin_group_page(&m, req);
	else
		renderer_of(req->page->kind)(&m, c);
	if (m.err == -ENOMEM) {
		r = wf_err_set(e, -ENOMEM, "builtin: out of memory");
		if (err)
			err->retryable = true;
	} else {
		r = buf_add(out, m.b.data ? m.b.data : "", m.b.len);
		if (r == 0 && m.err == -E2BIG)
			r = buf_adds(out,
				     "\n\n*(page truncated: it reached the page size limit)*\n");
		if (r < 0)
			wf_err_set(e, r, "builtin: page of %zu bytes does not fit", m.b.len);
	}
	buf_done(&m.b);
	ctx_free(c);
	return r;
}

const struct backend_ops backend_builtin = {
	.name = "builtin",
	.prompt_version = BUILTIN_PROMPT_VERSION,
	.init = builtin_init,
	.done = builtin_done,
	.worker_init = builtin_worker_init,
	.worker_done = builtin_worker_done,
	.generate = builtin_generate,
	.abort = builtin_abort,
};
