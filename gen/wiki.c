/* SPDX-License-Identifier: MIT */
/*
 * The wiki orchestrator.
 *
 * A repository goes NEW -> CLONING -> READY (or FAILED): a sync task on
 * the sync work queue runs clone_cache_sync() (FIFO-gated network), then
 * loads or computes the plan, installs it with a fresh page array, and
 * answers every parked waiter. A refresh is the same task with CLONE_FETCH;
 * the repository stays READY meanwhile and readers keep the old plan until
 * the new one is installed (old page arrays are retired, not freed, so a
 * job in flight never points at freed memory).
 *
 * A page is READY when its key is in the page cache, QUEUED/GENERATING
 * while it has a job, FAILED for failure_backoff seconds after its last
 * attempt failed, ABSENT otherwise. There is at most one job per page
 * (single-flight); every waiter of the page joins it.
 */
#include "wiki_int.h"
#include "llm_planner.h"
#include "fsutil.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const char *const page_state_names[] = { "absent", "queued", "generating", "ready",
						"failed" };

const char *wiki_page_state_name(enum wiki_page_state s)
{
	return (unsigned)s < ARRAY_SIZE(page_state_names) ? page_state_names[s] : "?";
}

/* ---- waiters (w->lock held) ---- */

static void waiter_attach(struct wiki_waiter **list, struct wiki_waiter *wt)
{
	wt->next = *list;
	wt->pprev = list;
	if (*list)
		(*list)->pprev = &wt->next;
	*list = wt;
	wt->attached = true;
}

static void waiter_unlink(struct wiki_waiter *wt)
{
	*wt->pprev = wt->next;
	if (wt->next)
		wt->next->pprev = wt->pprev;
	wt->next = NULL;
	wt->pprev = NULL;
	wt->attached = false;
}

/* Moves all waiters of @list to a private chain for notify_all(). */
static struct wiki_waiter *waiters_take(struct wiki_waiter **list)
{
	struct wiki_waiter *head = *list, *wt;

	for (wt = head; wt; wt = wt->next)
		wt->attached = false;
	if (head)
		head->pprev = NULL;
	*list = NULL;
	return head;
}

static void notify_all(struct wiki_waiter *head, int err)
{
	while (head) {
		struct wiki_waiter *next = head->next;

		head->next = NULL;
		head->done(head, err);
		head = next;
	}
}

bool wiki_waiter_detach(struct wiki *w, struct wiki_waiter *wt)
{
	bool owned;

	pthread_mutex_lock(&w->lock);
	owned = wt->attached;
	if (owned)
		waiter_unlink(wt);
	else
		wt->cancelled = true; /* not attached yet: a later attach fails */
	pthread_mutex_unlock(&w->lock);
	return owned;
}

/* ---- errors ring (w->lock held) ---- */

static void note_error_locked(struct wiki *w, const char *what, const char *msg)
{
	struct err_line *e = &w->errors[w->errors_next];

	free(e->what);
	free(e->msg);
	e->time_ms = wall_ms();
	e->what = strdup(what);
	e->msg = strdup(msg);
	w->errors_next = (w->errors_next + 1) % WIKI_ERRORS_MAX;
	w->errors_total++;
}

void wiki_error_note(struct wiki *w, const char *what, const char *msg)
{
	pthread_mutex_lock(&w->lock);
	note_error_locked(w, what, msg);
	pthread_mutex_unlock(&w->lock);
}

static void emit_error(struct wiki *w, const char *what, const char *msg)
{
	if (w->ev.error)
		w->ev.error(w->ev.ctx, what, msg);
}

/* Both records of a failure: .wikifs/errors and the log. w->lock not held. */
static void report_error(struct wiki *w, const char *what, const char *msg)
{
	wiki_error_note(w, what, msg);
	emit_error(w, what, msg);
}

/* ---- pages ---- */

static void page_path(const struct wpage *p, char *out, size_t n)
{
	snprintf(out, n, "%s/%s.md", p->repo->cr->name, p->pp->slug);
}

static struct page_array *page_array_new(struct wrepo *r, struct plan *plan)
{
	struct page_array *a = calloc(1, sizeof(*a) + plan->n * sizeof(struct wpage));
	const struct conf *c = r->w->c;

	if (!a)
		return NULL;
	a->n = plan->n;
	for (size_t i = 0; i < plan->n; i++) {
		struct wpage *p = &a->pages[i];
		struct page_key_parts parts = {
			.url = r->cr->url,
			.commit = plan->commit,
			.slug = plan->pages[i].slug,
			.backend = r->w->ops->name,
			.model = c->model,
			.prompt_version = r->w->ops->prompt_version,
		};

		p->repo = r;
		p->pp = &plan->pages[i];
		p->pages_plan = plan_ref(plan);
		page_cache_key(&p->key, &parts);
	}
	return a;
}

static void page_array_free(struct page_array *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->pages[i].error);
		plan_unref(a->pages[i].pages_plan);
	}
	free(a);
}

static struct wpage *find_page(struct wrepo *r, const char *slug)
{
	if (!r->pages)
		return NULL;
	for (size_t i = 0; i < r->pages->n; i++)
		if (!strcmp(r->pages->pages[i].pp->slug, slug))
			return &r->pages->pages[i];
	return NULL;
}

static bool failure_fresh(const struct wiki *w, int64_t failed_at)
{
	return now_ms() - failed_at < (int64_t)w->c->failure_backoff * 1000;
}

static bool budget_exhausted(struct wiki *w, char *why, size_t n)
{
	if (w->c->max_calls && w->calls >= w->c->max_calls) {
		snprintf(why, n, "generation budget exhausted: max_calls = %llu calls made",
			 (unsigned long long)w->c->max_calls);
		return true;
	}
	if (w->c->token_budget && w->tokens >= w->c->token_budget) {
		snprintf(why, n, "token budget exhausted: %llu of token_budget = %llu used",
			 (unsigned long long)w->tokens, (unsigned long long)w->c->token_budget);
		return true;
	}
	return false;
}

enum wiki_page_state wiki_page_state_locked(struct wiki *w, struct wpage *p)
{
	if (p->job)
		return p->running ? WIKI_PAGE_GENERATING : WIKI_PAGE_QUEUED;
	if (page_cache_lookup(w->pc, &p->key, NULL) == 0)
		return WIKI_PAGE_READY;
	if (p->failed && failure_fresh(w, p->failed_at))
		return WIKI_PAGE_FAILED;
	return WIKI_PAGE_ABSENT;
}

/* Submits or joins the page's job. w->lock held. 1 = queued/attached. */
static int page_submit_locked(struct wiki *w, struct wpage *p, enum gen_prio prio,
			      struct wiki_waiter *wt)
{
	char why[256];
	int r;

	if (wt && wt->cancelled)
		return -EINTR;
	if (p->job) {
		if (prio == GEN_PRIO_INTERACTIVE)
			gen_queue_promote(w->q, p->job);
		if (wt)
			waiter_attach(&p->waiters, wt);
		return 1;
	}
	if (p->failed && failure_fresh(w, p->failed_at))
		return -EIO;
	if (budget_exhausted(w, why, sizeof(why))) {
		if (!p->error || strcmp(p->error, why)) {
			char path[4096];

			/* said once per page, not at every open */
			free(p->error);
			p->error = strdup(why);
			page_path(p, path, sizeof(path));
			note_error_locked(w, path, why);
			emit_error(w, path, why); /* logs only; takes no wiki lock */
		}
		return -EDQUOT;
	}
	r = gen_queue_submit(w->q, p->repo->idx, prio, p, &p->job);
	if (r < 0) {
		if (r == -EAGAIN) {
			free(p->error);
			if (asprintf(&p->error, "job queue full (queue_max = %u)",
				     w->c->queue_max) < 0)
				p->error = NULL;
		}
		return r;
	}
	p->failed = false;
	p->running = false;
	if (wt)
		waiter_attach(&p->waiters, wt);
	return 1;
}

/* ---- the job callbacks (worker threads) ---- */

static struct repo_facts *repo_facts_get(struct wrepo *r, const char *git_dir, const char *commit,
					 struct wf_err *err)
{
	struct repo_facts *f = NULL;
	int ret = 0;

	pthread_mutex_lock(&r->facts_lock);
	if (!r->facts || strcmp(facts_commit_id(r->facts), commit)) {
		struct repo_facts *nf = NULL;

		ret = facts_load(&nf, git_dir, commit, err);
		if (ret == 0) {
			facts_unref(r->facts);
			r->facts = nf;
		}
	}
	if (ret == 0)
		f = facts_ref(r->facts);
	pthread_mutex_unlock(&r->facts_lock);
	return f;
}

static int job_run(void *ctx, void *wstate, void *payload, unsigned attempt, struct gen_err *gerr)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	struct wrepo *r = p->repo;
	struct gen_usage usage = { 0 };
	struct gen_request req;
	struct repo_facts *facts;
	char git_dir[4096], why[256];
	struct buf out;
	int ret;

	pthread_mutex_lock(&w->lock);
	if (budget_exhausted(w, why, sizeof(why))) {
		pthread_mutex_unlock(&w->lock);
		gerr->budget = true;
		return wf_err_set(&gerr->e, -EDQUOT, "%s", why);
	}
	p->running = true;
	w->calls++;
	r->calls++;
	snprintf(git_dir, sizeof(git_dir), "%s", r->git_dir);
	pthread_mutex_unlock(&w->lock);

	facts = repo_facts_get(r, git_dir, p->pages_plan->commit, &gerr->e);
	if (!facts) {
		gerr->retryable = false;
		return -EIO;
	}
	req = (struct gen_request){
		.repo_name = r->cr->name,
		.url = r->cr->url,
		.commit = p->pages_plan->commit,
		.plan = p->pages_plan,
		.page = p->pp,
		.facts = facts,
	};
	buf_init(&out, PAGE_MAX_BYTES);
	ret = w->ops->generate(w->bstate, wstate, &req, &out, &usage, gerr);
	if (ret == 0 && out.len == 0) {
		gerr->retryable = true;
		ret =
		    wf_err_set(&gerr->e, -EIO, "backend '%s' returned an empty page", w->ops->name);
	}
	if (ret == 0) {
		ret = page_cache_commit(w->pc, &p->key, out.data, out.len);
		if (ret < 0) {
			gerr->retryable = false;
			wf_err_set(&gerr->e, ret, "cannot write the page cache: %s",
				   strerror(-ret));
		}
	}
	buf_done(&out);
	facts_unref(facts);

	pthread_mutex_lock(&w->lock);
	r->tokens_in += usage.input_tokens;
	r->tokens_out += usage.output_tokens;
	w->tokens += usage.input_tokens + usage.output_tokens;
	p->running = false;
	pthread_mutex_unlock(&w->lock);
	(void)attempt;
	return ret;
}

static void job_finished(void *ctx, void *payload, int err, const char *msg, unsigned attempts)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	struct wiki_waiter *waiters;
	char path[4096], line[1024] = "";

	page_path(p, path, sizeof(path));
	pthread_mutex_lock(&w->lock);
	p->job = NULL;
	p->running = false;
	p->attempts = attempts;
	if (err == 0) {
		w->generated++;
		p->repo->generated++;
		p->failed = false;
		if (!w->first_finish_ms)
			w->first_finish_ms = now_ms();
		w->last_finish_ms = now_ms();
		w->finished_times_n++;
	} else if (err != -ECANCELED && err != -ESHUTDOWN) {
		snprintf(line, sizeof(line), "failed after %u attempt%s: %s", attempts,
			 attempts == 1 ? "" : "s", msg && *msg ? msg : strerror(-err));
		free(p->error);
		p->error = strdup(line);
		p->failed = true;
		p->failed_at = now_ms();
		w->failed++;
		note_error_locked(w, path, line);
	}
	waiters = waiters_take(&p->waiters);
	pthread_mutex_unlock(&w->lock);

	if (err < 0 && err != -ECANCELED && err != -ESHUTDOWN)
		emit_error(w, path, line);
	if (err == 0 && w->ev.page_ready)
		w->ev.page_ready(w->ev.ctx, p->repo->idx, p->pp->slug);
	/* EDQUOT and friends keep their meaning; other failures read as EIO */
	notify_all(waiters, err == 0 || err == -EDQUOT || err == -ECANCELED || err == -ESHUTDOWN ||
				    err == -ENOSPC
				? err
				: -EIO);
	if (err == 0)
		page_cache_unpin(w->pc, &p->key); /* the pin taken by the commit */
}

static int job_worker_init(void *ctx, void **ws)
{
	struct wiki *w = ctx;

	*ws = NULL;
	return w->ops->worker_init ? w->ops->worker_init(w->bstate, ws) : 0;
}

static void job_worker_done(void *ctx, void *ws)
{
	struct wiki *w = ctx;

	if (w->ops->worker_done)
		w->ops->worker_done(w->bstate, ws);
}

/* ---- repositories ---- */

struct sync_task {
	struct wrepo *r;
	unsigned flags;
};

static int repo_sync_locked(struct wiki *w, struct wrepo *r, unsigned flags);

static void prefetch_all_locked(struct wiki *w, struct wrepo *r)
{
	for (size_t i = 0; r->pages && i < r->pages->n; i++) {
		struct wpage *p = &r->pages->pages[i];

		if (!p->job && page_cache_lookup(w->pc, &p->key, NULL) < 0)
			page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
	}
}

static const char *planner_name(const struct conf *c, char *buf, size_t n)
{
	if (c->planner != PLANNER_LLM)
		return "builtin";
	snprintf(buf, n, "llm:%s", c->model && *c->model ? c->model : "default");
	return buf;
}

/*
 * The plan for @commit: from the plan cache, else computed. With planner =
 * llm the LLM proposes the pages; on any error the builtin plan is used and
 * the failure reported (it is tried again at the next sync).
 */
static int load_plan(struct wiki *w, struct wrepo *r, const char *git_dir, const char *commit,
		     struct plan **plan, struct wf_err *err)
{
	char pbuf[300], why[256];
	const char *planner = planner_name(w->c, pbuf, sizeof(pbuf));
	struct plan *builtin = NULL, *llm = NULL;
	struct gen_usage usage = { 0 };
	struct repo_facts *facts;
	struct wf_err perr = { "" };
	int ret;

	if (plan_cache_load(plan, w->c->cache_dir, r->cr->url, commit, planner) == 0)
		return 0;
	ret = plan_cache_load(&builtin, w->c->cache_dir, r->cr->url, commit, "builtin");
	if (ret < 0) {
		ret = plan_builtin(&builtin, git_dir, commit, err);
		if (ret < 0)
			return ret;
		plan_cache_store(builtin, w->c->cache_dir, r->cr->url); /* best effort */
	}
	if (w->c->planner != PLANNER_LLM) {
		*plan = builtin;
		return 0;
	}
	pthread_mutex_lock(&w->lock);
	ret = budget_exhausted(w, why, sizeof(why)) ? -EDQUOT : 0;
	if (ret == 0) {
		w->calls++;
		r->calls++;
	}
	pthread_mutex_unlock(&w->lock);
	if (ret == 0) {
		facts = repo_facts_get(r, git_dir, commit, &perr);
		ret = facts
			  ? llm_plan(&llm, w->c, r->cr->name, commit, facts, builtin, &usage, &perr)
			  : -EIO;
		facts_unref(facts);
	} else {
		snprintf(perr.msg, sizeof(perr.msg), "%s", why);
	}
	pthread_mutex_lock(&w->lock);
	r->tokens_in += usage.input_tokens;
	r->tokens_out += usage.output_tokens;
	w->tokens += usage.input_tokens + usage.output_tokens;
	pthread_mutex_unlock(&w->lock);
	if (ret == -ECANCELED) {
		/* unmount: nothing failed, the plan is no longer wanted */
		*plan = builtin;
		return 0;
	}
	if (ret < 0) {
		char msg[700];

		snprintf(msg, sizeof(msg), "llm planner failed, using the builtin plan: %s",
			 perr.msg[0] ? perr.msg : strerror(-ret));
		report_error(w, r->cr->name, msg);
		*plan = builtin;
		return 0;
	}
	plan_cache_store(llm, w->c->cache_dir, r->cr->url);
	plan_unref(builtin);
	*plan = llm;
	return 0;
}

static void sync_task(void *data)
{
	struct sync_task *t = data;
	struct wrepo *r = t->r;
	struct wiki *w = r->w;
	struct clone_result res;
	struct wf_err err = { "" };
	struct plan *plan = NULL;
	struct wiki_waiter *waiters;
	bool changed = false;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = clone_cache_sync(w->cc, r->cr->url, r->cr->ref, t->flags, &r->prog, &res, &err);
	if (ret == 0 && err.msg[0]) {
		report_error(w, r->cr->name, err.msg); /* fetch failed, cached clone used */
		err.msg[0] = '\0';
	}
	if (ret == 0)
		ret = load_plan(w, r, res.git_dir, res.commit, &plan, &err);

	pthread_mutex_lock(&w->lock);
	r->busy = false;
	if (ret == -ENOENT && (t->flags & CLONE_OFFLINE)) {
		/* warm-up found no clone: not a failure; clone now if someone waits */
		r->state = WIKI_REPO_NEW;
		if ((r->waiters || r->prefetch_pending) && !w->stopping &&
		    repo_sync_locked(w, r, 0) == 0) {
			pthread_mutex_unlock(&w->lock);
			plan_unref(plan);
			free(t);
			return;
		}
		waiters = waiters_take(&r->waiters);
		pthread_mutex_unlock(&w->lock);
		notify_all(waiters, -ESHUTDOWN);
		plan_unref(plan);
		free(t);
		return;
	}
	r->last_sync_ms = now_ms();
	if (ret < 0) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s", strerror(-ret));
		free(r->error);
		r->error = strdup(err.msg);
		r->err = ret;
		r->failed_at = now_ms();
		if (r->state != WIKI_REPO_READY)
			r->state = WIKI_REPO_FAILED; /* a failed refresh keeps the old plan */
		note_error_locked(w, r->cr->name, err.msg);
	} else if (!r->plan || strcmp(r->plan->commit, plan->commit)) {
		struct page_array *a = page_array_new(r, plan);

		if (a) {
			if (r->pages) {
				r->pages->retired_next = w->retired;
				w->retired = r->pages;
			}
			r->pages = a;
			plan_unref(r->plan);
			r->plan = TAKE_PTR(plan);
			changed = r->state == WIKI_REPO_READY;
			snprintf(r->commit, sizeof(r->commit), "%s", res.commit);
			snprintf(r->git_dir, sizeof(r->git_dir), "%s", res.git_dir);
			r->state = WIKI_REPO_READY;
		} else {
			ret = -ENOMEM;
			r->state = r->plan ? WIKI_REPO_READY : WIKI_REPO_FAILED;
		}
	}
	if (ret == 0 && r->prefetch_pending) {
		r->prefetch_pending = false;
		prefetch_all_locked(w, r);
	}
	waiters = waiters_take(&r->waiters);
	pthread_mutex_unlock(&w->lock);

	plan_unref(plan);
	if (ret < 0)
		emit_error(w, r->cr->name, err.msg);
	else if (changed && w->ev.repo_changed)
		w->ev.repo_changed(w->ev.ctx, r->idx);
	notify_all(waiters, ret);
	free(t);
}

/* Starts a sync task unless one runs. w->lock held. */
static int repo_sync_locked(struct wiki *w, struct wrepo *r, unsigned flags)
{
	struct sync_task *t;
	int ret;

	if (r->busy)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->r = r;
	t->flags = flags;
	ret = workq_submit(w->syncq, sync_task, t);
	if (ret < 0) {
		free(t);
		return ret;
	}
	r->busy = true;
	if (r->state != WIKI_REPO_READY)
		r->state = WIKI_REPO_CLONING;
	return 0;
}

int wiki_repo_want(struct wiki *w, size_t repo, struct wiki_waiter *wt)
{
	struct wrepo *r;
	int ret;

	if (repo >= w->nrepos)
		return -ENOENT;
	r = &w->repos[repo];
	pthread_mutex_lock(&w->lock);
	if (r->state == WIKI_REPO_READY) {
		ret = 0;
	} else if (w->stopping) {
		ret = -ESHUTDOWN;
	} else if (r->state == WIKI_REPO_FAILED && failure_fresh(w, r->failed_at)) {
		ret = r->err;
	} else if (wt && wt->cancelled) {
		ret = -EINTR;
	} else {
		ret = repo_sync_locked(w, r, 0);
		if (ret == 0) {
			if (wt)
				waiter_attach(&r->waiters, wt);
			ret = 1;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

struct plan *wiki_repo_plan(struct wiki *w, size_t repo)
{
	struct plan *p = NULL;

	if (repo >= w->nrepos)
		return NULL;
	pthread_mutex_lock(&w->lock);
	if (w->repos[repo].state == WIKI_REPO_READY)
		p = plan_ref(w->repos[repo].plan);
	pthread_mutex_unlock(&w->lock);
	return p;
}

void wiki_repo_error(struct wiki *w, size_t repo, char *out, size_t n)
{
	pthread_mutex_lock(&w->lock);
	snprintf(out, n, "%s",
		 repo < w->nrepos && w->repos[repo].error ? w->repos[repo].error : "");
	pthread_mutex_unlock(&w->lock);
}

size_t wiki_repo_count(const struct wiki *w)
{
	return w->nrepos;
}

const char *wiki_repo_name(const struct wiki *w, size_t repo)
{
	return w->repos[repo].cr->name;
}

enum wiki_repo_state wiki_repo_state(struct wiki *w, size_t repo)
{
	enum wiki_repo_state s;

	pthread_mutex_lock(&w->lock);
	s = w->repos[repo].state;
	pthread_mutex_unlock(&w->lock);
	return s;
}

/* ---- pages: the FUSE-facing calls ---- */

static int open_cached(struct wiki *w, struct wpage *p, struct wiki_open *o)
{
	struct page_key key = p->key;
	int r;

	r = page_cache_open(w->pc, &key, &o->fd, &o->size);
	if (r == 0)
		o->key = key;
	return r;
}

int wiki_page_want(struct wiki *w, size_t repo, const char *slug, enum gen_prio prio,
		   struct wiki_waiter *wt, struct wiki_open *o)
{
	struct wpage *p;
	int r;

	if (repo >= w->nrepos)
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	p = find_page(&w->repos[repo], slug);
	if (!p) {
		pthread_mutex_unlock(&w->lock);
		return -ENOENT;
	}
	if (!p->job && page_cache_lookup(w->pc, &p->key, NULL) == 0) {
		pthread_mutex_unlock(&w->lock);
		if (!o)
			return 0;
		r = open_cached(w, p, o); /* verifies; -ENOENT if it was corrupt */
		if (r != -ENOENT) {
			if (r == 0) {
				pthread_mutex_lock(&w->lock);
				w->cache_hits++;
				pthread_mutex_unlock(&w->lock);
			}
			return r;
		}
		pthread_mutex_lock(&w->lock);
		p = find_page(&w->repos[repo], slug);
		if (!p) {
			pthread_mutex_unlock(&w->lock);
			return -ENOENT;
		}
	}
	if (w->stopping)
		r = -ESHUTDOWN;
	else
		r = page_submit_locked(w, p, prio, wt);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int wiki_page_open(struct wiki *w, size_t repo, const char *slug, struct wiki_open *o)
{
	struct wpage *p;
	struct page_key key;

	if (repo >= w->nrepos)
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	p = find_page(&w->repos[repo], slug);
	if (p)
		key = p->key;
	pthread_mutex_unlock(&w->lock);
	if (!p)
		return -ENOENT;
	if (page_cache_open(w->pc, &key, &o->fd, &o->size) < 0)
		return -ENOENT;
	o->key = key;
	return 0;
}

void wiki_page_close(struct wiki *w, struct wiki_open *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	page_cache_unpin(w->pc, &o->key);
}

int wiki_page_size(struct wiki *w, size_t repo, const char *slug, uint64_t *size)
{
	struct wpage *p;
	int r = -ENOENT;

	if (repo >= w->nrepos)
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	p = find_page(&w->repos[repo], slug);
	if (p)
		r = page_cache_lookup(w->pc, &p->key, size);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int wiki_page_info(struct wiki *w, size_t repo, const char *slug, struct wiki_page_info *info)
{
	struct wpage *p;

	memset(info, 0, sizeof(*info));
	info->backend = w->ops->name;
	if (repo >= w->nrepos)
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	p = find_page(&w->repos[repo], slug);
	if (p) {
		info->state = wiki_page_state_locked(w, p);
		snprintf(info->error, sizeof(info->error), "%s",
			 info->state != WIKI_PAGE_READY && p->error ? p->error : "");
		snprintf(info->commit, sizeof(info->commit), "%s", p->pages_plan->commit);
	}
	pthread_mutex_unlock(&w->lock);
	return p ? 0 : -ENOENT;
}

/* ---- control ---- */

int wiki_prefetch(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (r->state != WIKI_REPO_READY) {
		r->prefetch_pending = true;
		if (!(r->state == WIKI_REPO_FAILED && failure_fresh(w, r->failed_at)))
			ret = repo_sync_locked(w, r, 0);
		else
			ret = wf_err_set(err, r->err, "'%s' failed: %s", r->cr->name,
					 r->error ? r->error : "");
	} else if (slug) {
		struct wpage *p = find_page(r, slug);

		if (!p)
			ret = wf_err_set(err, -ENOENT, "no page '%s' in '%s'", slug, r->cr->name);
		else if (page_cache_lookup(w->pc, &p->key, NULL) < 0) {
			p->failed = false;
			ret = page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
			if (ret < 0)
				wf_err_set(err, ret, "cannot queue '%s/%s': %s", r->cr->name, slug,
					   p->error ? p->error : strerror(-ret));
		}
	} else {
		prefetch_all_locked(w, r);
	}
	pthread_mutex_unlock(&w->lock);
	return ret < 0 ? ret : 0;
}

int wiki_cancel(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	struct gen_job *jobs[PLAN_MAX_PAGES];
	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	r->prefetch_pending = false;
	for (size_t i = 0; r->pages && i < r->pages->n; i++) {
		struct wpage *p = &r->pages->pages[i];

		/* a person waiting keeps the job alive */
		if (p->job && !p->waiters && (!slug || !strcmp(p->pp->slug, slug)) &&
		    gen_queue_cancel(w->q, p->job))
			jobs[n++] = p->job;
	}
	pthread_mutex_unlock(&w->lock);
	/* out of the queue, so still valid: finish them without w->lock */
	for (size_t i = 0; i < n; i++)
		gen_queue_cancel_finish(w->q, jobs[i]);
	(void)err;
	return 0;
}

int wiki_retry(struct wiki *w, size_t repo, const char *slug, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (r->state == WIKI_REPO_FAILED) {
		r->failed_at = 0;
		ret = repo_sync_locked(w, r, 0);
	}
	for (size_t i = 0; r->pages && i < r->pages->n; i++) {
		struct wpage *p = &r->pages->pages[i];

		if (slug && strcmp(p->pp->slug, slug))
			continue;
		p->failed = false;
		if (slug && !p->job) {
			page_cache_remove(w->pc, &p->key); /* regenerate it on the next open */
			page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
		}
	}
	pthread_mutex_unlock(&w->lock);
	(void)err;
	return ret;
}

int wiki_refresh(struct wiki *w, size_t repo, struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	int ret;

	pthread_mutex_lock(&w->lock);
	if (r->busy)
		ret = wf_err_set(err, -EBUSY, "'%s' is already syncing", r->cr->name);
	else
		ret = repo_sync_locked(w, r, CLONE_FETCH);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/* ---- lifecycle ---- */

static void *housekeeper(void *data)
{
	struct wiki *w = data;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec ts = deadline_ts(now_ms() + 1000);
		int64_t now = now_ms();

		for (size_t i = 0; i < w->nrepos && w->c->refresh_interval; i++) {
			struct wrepo *r = &w->repos[i];

			if (r->state == WIKI_REPO_READY && !r->busy &&
			    now - r->last_sync_ms >= (int64_t)w->c->refresh_interval * 1000)
				repo_sync_locked(w, r, CLONE_FETCH);
		}
		pthread_cond_timedwait(&w->hk_cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void wiki_warm(struct wiki *w)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nrepos; i++)
		if (w->repos[i].state == WIKI_REPO_NEW)
			repo_sync_locked(w, &w->repos[i], CLONE_OFFLINE);
	pthread_mutex_unlock(&w->lock);
}

/* The configured repositories, for the clone cache to name and keep their clones. */
static int clone_repos(const struct conf *c, struct clone_cache_opts *co)
{
	struct clone_cache_repo *v = calloc(MAX(c->n_repos, 1), sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_repos; i++) {
		v[i].name = c->repos[i].name;
		v[i].url = c->repos[i].url;
	}
	co->repos = v;
	co->n_repos = c->n_repos;
	return 0;
}

int wiki_new(struct wiki **ret, const struct conf *c, const struct backend_ops *ops,
	     const char *self, const struct wiki_events *ev, struct wf_err *err)
{
	struct wiki *w = calloc(1, sizeof(*w));
	struct clone_cache_opts co = {
		.cache_dir = c->cache_dir,
		.concurrency = c->clone_concurrency,
		.timeout_s = c->clone_timeout,
		.helper_path = self,
		.ssh_key = c->ssh_key,
		.ca_bundle = c->clone_ca_bundle,
		.gc_grace_s = c->clone_gc_grace,
	};
	struct gen_queue_opts qo = {
		.workers = c->page_workers,
		.group_limit = c->repo_page_workers,
		.groups = c->n_repos,
		.max_queued = c->queue_max,
		.max_attempts = c->retries,
		.backoff_base_ms = 500,
		.backoff_max_ms = 30000,
	};
	static const struct gen_queue_ops qops = {
		.run = job_run,
		.finished = job_finished,
		.worker_init = job_worker_init,
		.worker_done = job_worker_done,
	};
	pthread_condattr_t ca;
	int r;

	if (!w)
		return -ENOMEM;
	w->c = c;
	w->ops = ops;
	if (ev)
		w->ev = *ev;
	w->started_ms = now_ms();
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->hk_cond, &ca);
	pthread_condattr_destroy(&ca);
	w->nrepos = c->n_repos;
	w->repos = calloc(MAX(c->n_repos, 1), sizeof(*w->repos));
	if (!w->repos) {
		r = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < c->n_repos; i++) {
		w->repos[i].w = w;
		w->repos[i].idx = i;
		w->repos[i].cr = &c->repos[i];
		pthread_mutex_init(&w->repos[i].facts_lock, NULL);
	}
	r = mkdir_p(c->cache_dir, 0700);
	if (r < 0) {
		wf_err_set(err, r, "cannot create cache directory '%s': %s", c->cache_dir,
			   strerror(-r));
		goto out_free;
	}
	r = ops->init ? ops->init(&w->bstate, c, err) : 0;
	if (r < 0)
		goto out_free;
	r = clone_repos(c, &co);
	if (r == 0)
		r = clone_cache_new(&w->cc, &co);
	free((void *)co.repos);
	if (r < 0) {
		wf_err_set(err, r, "cannot set up the clone cache in '%s': %s", c->cache_dir,
			   strerror(-r));
		goto out_free;
	}
	r = page_cache_new(&w->pc, c->cache_dir, c->cache_max_bytes);
	if (r < 0) {
		wf_err_set(err, r, "cannot set up the page cache in '%s': %s", c->cache_dir,
			   strerror(-r));
		goto out_free;
	}
	/* syncs block on the clone semaphore; enough threads that planning goes on */
	r = workq_new(&w->syncq, c->clone_concurrency + 2, MAX(c->n_repos * 2, 64));
	if (r == 0)
		r = gen_queue_new(&w->q, &qo, &qops, w);
	if (r == 0) {
		r = -pthread_create(&w->housekeeper, NULL, housekeeper, w);
		w->housekeeper_started = r == 0;
	}
	if (r < 0) {
		wf_err_set(err, r, "cannot start worker threads: %s", strerror(-r));
		goto out_free;
	}
	*ret = w;
	return 0;

out_free:
	wiki_free(w);
	return r;
}

void wiki_shutdown(struct wiki *w)
{
	struct wiki_waiter *waiters = NULL;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->stopping = true;
	pthread_cond_broadcast(&w->hk_cond);
	/* every parked request is answered now; jobs are stopped below */
	for (size_t i = 0; i < w->nrepos; i++) {
		struct wrepo *r = &w->repos[i];
		struct wiki_waiter **lists[PLAN_MAX_PAGES + 1];
		size_t nl = 0;

		lists[nl++] = &r->waiters;
		for (size_t k = 0; r->pages && k < r->pages->n; k++)
			lists[nl++] = &r->pages->pages[k].waiters;
		for (size_t k = 0; k < nl; k++) {
			struct wiki_waiter *l = waiters_take(lists[k]), *t;

			for (t = l; t && t->next; t = t->next)
				;
			if (t) {
				t->next = waiters;
				waiters = l;
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	notify_all(waiters, -ESHUTDOWN);
	if (w->ops && w->ops->abort && w->bstate)
		w->ops->abort(w->bstate);
	if (w->cc)
		clone_cache_shutdown(w->cc);
}

void wiki_free(struct wiki *w)
{
	if (!w)
		return;
	wiki_shutdown(w);
	if (w->housekeeper_started)
		pthread_join(w->housekeeper, NULL);
	workq_free(w->syncq); /* sync tasks end fast: the clone cache is shut down */
	gen_queue_free(w->q); /* queued jobs finish with -ESHUTDOWN, waiters told */
	for (size_t i = 0; i < w->nrepos; i++) {
		struct wrepo *r = &w->repos[i];

		page_array_free(r->pages);
		plan_unref(r->plan);
		facts_unref(r->facts);
		free(r->error);
		pthread_mutex_destroy(&r->facts_lock);
	}
	while (w->retired) {
		struct page_array *a = w->retired;

		w->retired = a->retired_next;
		page_array_free(a);
	}
	for (size_t i = 0; i < WIKI_ERRORS_MAX; i++) {
		free(w->errors[i].what);
		free(w->errors[i].msg);
	}
	if (w->ops && w->ops->done && w->bstate)
		w->ops->done(w->bstate);
	page_cache_free(w->pc);
	clone_cache_free(w->cc);
	free(w->repos);
	pthread_cond_destroy(&w->hk_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
