/* SPDX-License-Identifier: MIT */
/*
 * The wiki orchestrator.
 *
 * A repository goes NEW -> CLONING -> READY (or FAILED): a sync task on
 * the sync work queue runs clone_cache_sync() (FIFO-gated network), then
 * loads or computes the plan, installs it with a fresh page array, and
 * answers every parked waiter. A refresh is the same task with CLONE_FETCH;
 * the repository stays READY meanwhile and readers keep the old plan until
 * the new one is installed. Page arrays are reference-counted: the one a
 * refresh replaced lives on while a job or a struct wiki_page reference (an
 * inode of the mount) still uses it, so a page opened at the old commit
 * still reads, and even generates, at that commit; the last reference frees
 * it, so memory does not grow with each commit a refresh brings.
 *
 * A page is READY when its key is in the page cache, QUEUED/GENERATING
 * while a job for its key is in flight, FAILED for failure_backoff seconds
 * after its last attempt failed, ABSENT otherwise. There is at most one job
 * per key (single-flight), whichever page started it: the page of a retired
 * array at the same commit, say, after a refresh went there and back. Every
 * waiter joins it. A job leaves a page only under w->lock: in job_finished()
 * or in the same critical section in which gen_queue_cancel() took it, so
 * nobody ever sees a page pointing at a job the queue no longer holds.
 */
#include "wiki_int.h"
#include "llm_planner.h"
#include "fsutil.h"
#include "url.h"
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

/* Moves all waiters of @list in front of the private chain @head. */
static struct wiki_waiter *waiters_chain(struct wiki_waiter *head, struct wiki_waiter **list)
{
	struct wiki_waiter *l = waiters_take(list), *t;

	for (t = l; t && t->next; t = t->next)
		;
	if (!t)
		return head;
	t->next = head;
	return l;
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

static struct wpage *wpage_of(struct wiki_page *p)
{
	return (struct wpage *)p;
}

/* A new array with one reference (the repository's), listed. w->lock held. */
static struct page_array *page_array_new(struct wrepo *r, struct plan *plan)
{
	struct page_array *a = calloc(1, sizeof(*a) + plan->n * sizeof(struct wpage));
	const struct conf *c = r->w->c;

	if (!a)
		return NULL;
	a->repo = r;
	a->refs = 1;
	a->next = r->w->arrays;
	if (a->next)
		a->next->prev = a;
	r->w->arrays = a;
	a->n = plan->n;
	for (size_t i = 0; i < plan->n; i++) {
		struct wpage *p = &a->pages[i];
		struct page_key_parts parts = {
			.repo = r->cr->name,
			.url = r->id_url,
			.commit = plan->commit,
			.slug = plan->pages[i].slug,
			.backend = r->w->ops->name,
			.model = c->model,
			.prompt_version = r->w->ops->prompt_version,
		};

		p->repo = r;
		p->array = a;
		p->pp = &plan->pages[i];
		p->pages_plan = plan_ref(plan);
		page_cache_key(&p->key, &parts);
	}
	return a;
}

/* Frees an array that is unlisted already (no lock needed). NULL is fine. */
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

/*
 * Drops a reference to @a; w->lock held. Returns @a, unlisted, when that was
 * the last one: the caller frees it with page_array_free() after unlocking.
 */
static struct page_array *page_array_put_locked(struct wiki *w, struct page_array *a)
{
	if (!a || --a->refs > 0)
		return NULL;
	if (a->prev)
		a->prev->next = a->next;
	else
		w->arrays = a->next;
	if (a->next)
		a->next->prev = a->prev;
	return a;
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

/* ---- single-flight by key (w->lock held) ---- */

static struct wpage **flight_bucket(struct wiki *w, const struct page_key *k)
{
	size_t h = 0;

	/* the key is a SHA-256 already: its first hex digits are uniform */
	for (int i = 0; i < 8; i++)
		h = h * 16 + (size_t)(k->hex[i] <= '9' ? k->hex[i] - '0' : k->hex[i] - 'a' + 10);
	return &w->flights[h % WIKI_FLIGHT_BUCKETS];
}

/* The page whose job is in flight for @p's key (maybe @p), or NULL. */
static struct wpage *flight_owner(struct wiki *w, struct wpage *p)
{
	struct wpage *o;

	if (p->job)
		return p;
	for (o = *flight_bucket(w, &p->key); o; o = o->flight_next)
		if (!memcmp(o->key.hex, p->key.hex, SHA256_HEX))
			return o;
	return NULL;
}

static void flight_start(struct wiki *w, struct wpage *p, struct gen_job *job)
{
	struct wpage **b = flight_bucket(w, &p->key);

	p->job = job;
	p->running = false;
	p->flight_next = *b;
	*b = p;
}

/* The job left @p (finished, or taken by gen_queue_cancel()). */
static void flight_end(struct wiki *w, struct wpage *p)
{
	struct wpage **at = flight_bucket(w, &p->key);

	while (*at && *at != p)
		at = &(*at)->flight_next;
	if (*at)
		*at = p->flight_next;
	p->flight_next = NULL;
	p->job = NULL;
	p->running = false;
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
	struct wpage *o = flight_owner(w, p);

	if (o)
		return o->running ? WIKI_PAGE_GENERATING : WIKI_PAGE_QUEUED;
	if (page_cache_lookup(w->pc, &p->key, NULL) == 0)
		return WIKI_PAGE_READY;
	if (p->failed && failure_fresh(w, p->failed_at))
		return WIKI_PAGE_FAILED;
	return WIKI_PAGE_ABSENT;
}

/* Submits or joins the job of the page's key. w->lock held. 1 = queued/attached. */
static int page_submit_locked(struct wiki *w, struct wpage *p, enum gen_prio prio,
			      struct wiki_waiter *wt)
{
	struct wpage *o = flight_owner(w, p);
	struct gen_job *job;
	char why[256];
	int r;

	if (wt && wt->cancelled)
		return -EINTR;
	if (o) {
		if (prio == GEN_PRIO_INTERACTIVE)
			gen_queue_promote(w->q, o->job);
		if (wt)
			waiter_attach(&o->waiters, wt);
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
	r = gen_queue_submit(w->q, p->repo->idx, prio, p, &job);
	if (r < 0) {
		if (r == -EAGAIN) {
			free(p->error);
			if (asprintf(&p->error, "job queue full (queue_max = %u)",
				     w->c->queue_max) < 0)
				p->error = NULL;
		}
		return r;
	}
	flight_start(w, p, job);
	p->array->refs++; /* the job's, dropped when it finishes or is cancelled */
	p->failed = false;
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

static int job_generate(void *ctx, void *wstate, void *payload, unsigned attempt,
			struct gen_err *gerr)
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
		.url = r->id_url, /* a prompt never carries the password */
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

/*
 * One attempt, claimed across the processes sharing the cache directory: a
 * page another daemon is generating is waited for and found, not made twice.
 */
static int job_run(void *ctx, void *wstate, void *payload, unsigned attempt, struct gen_err *gerr)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	/* the holder's attempt, commit included, with room for its facts */
	int64_t wait_ms = (int64_t)w->c->gen_timeout * 2000 + 60000;
	struct page_claim *claim;
	int ret = page_cache_claim(w->pc, &p->key, wait_ms, &claim);

	if (ret == 0) {
		ret = job_generate(ctx, wstate, payload, attempt, gerr);
		page_cache_release(claim);
	} else if (ret == 1) {
		pthread_mutex_lock(&w->lock);
		p->found = true; /* made by another process: pinned as by a commit */
		pthread_mutex_unlock(&w->lock);
		ret = 0;
	} else {
		gerr->retryable = ret == -ETIMEDOUT;
		wf_err_set(&gerr->e, ret, "cannot claim the page in the cache: %s",
			   ret == -ETIMEDOUT ? "another wikifs process has been generating it "
					       "for too long"
					     : strerror(-ret));
	}
	return ret;
}

static void job_finished(void *ctx, void *payload, int err, const char *msg, unsigned attempts)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	struct wiki_waiter *waiters;
	struct page_array *dead;
	char path[4096], line[1024] = "";

	page_path(p, path, sizeof(path));
	pthread_mutex_lock(&w->lock);
	flight_end(w, p);
	p->attempts = attempts;
	if (err == 0 && p->found) {
		w->cache_hits++;
		p->failed = false;
	} else if (err == 0) {
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
	p->found = false;
	waiters = waiters_take(&p->waiters);
	pthread_mutex_unlock(&w->lock);

	if (err < 0 && err != -ECANCELED && err != -ESHUTDOWN)
		emit_error(w, path, line);
	if (err == 0 && w->ev.page_ready)
		w->ev.page_ready(w->ev.ctx, p->repo->idx, (const struct wiki_page *)p);
	/* EDQUOT and friends keep their meaning; other failures read as EIO */
	notify_all(waiters, err == 0 || err == -EDQUOT || err == -ECANCELED || err == -ESHUTDOWN ||
				    err == -ENOSPC
				? err
				: -EIO);
	if (err == 0)
		page_cache_unpin(w->pc, &p->key); /* the pin taken by the commit */
	pthread_mutex_lock(&w->lock);
	dead = page_array_put_locked(w, p->array); /* the job's reference */
	pthread_mutex_unlock(&w->lock);
	page_array_free(dead);
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

		if (!flight_owner(w, p) && page_cache_lookup(w->pc, &p->key, NULL) < 0)
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

	if (plan_cache_load(plan, w->c->cache_dir, r->id_url, commit, planner) == 0)
		return 0;
	ret = plan_cache_load(&builtin, w->c->cache_dir, r->id_url, commit, "builtin");
	if (ret < 0) {
		ret = plan_builtin(&builtin, git_dir, commit, err);
		if (ret < 0)
			return ret;
		plan_cache_store(builtin, w->c->cache_dir, r->id_url); /* best effort */
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
	plan_cache_store(llm, w->c->cache_dir, r->id_url);
	plan_unref(builtin);
	*plan = llm;
	return 0;
}

/*
 * Installs @plan (taking it) with a fresh page array if its commit differs
 * from the current one. The repository's reference to the old array is
 * dropped: it lives on while a job or a page reference uses it, and *@dead
 * is set if it must be freed (by the caller, without w->lock). w->lock held.
 * 0 or -ENOMEM.
 */
static int plan_install_locked(struct wiki *w, struct wrepo *r, struct plan **plan,
			       const struct clone_result *res, bool *changed,
			       struct page_array **dead)
{
	struct page_array *a;

	if (r->plan && !strcmp(r->plan->commit, (*plan)->commit))
		return 0;
	a = page_array_new(r, *plan);
	if (!a) {
		r->state = r->plan ? WIKI_REPO_READY : WIKI_REPO_FAILED;
		return -ENOMEM;
	}
	*dead = page_array_put_locked(w, r->pages); /* lives on while in use */
	r->pages = a;
	plan_unref(r->plan);
	r->plan = TAKE_PTR(*plan);
	*changed = r->state == WIKI_REPO_READY;
	snprintf(r->commit, sizeof(r->commit), "%s", res->commit);
	snprintf(r->git_dir, sizeof(r->git_dir), "%s", res->git_dir);
	r->state = WIKI_REPO_READY;
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
	struct page_array *dead = NULL;
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
		if ((r->waiters || r->prefetch_pending || r->refresh_pending) && !w->stopping &&
		    repo_sync_locked(w, r, 0) == 0) {
			r->refresh_pending = false; /* the clone is the fetch */
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
	} else {
		ret = plan_install_locked(w, r, &plan, &res, &changed, &dead);
		if (ret < 0)
			snprintf(err.msg, sizeof(err.msg), "cannot install the plan: %s",
				 strerror(-ret));
	}
	if (ret == 0 && r->prefetch_pending) {
		r->prefetch_pending = false;
		prefetch_all_locked(w, r);
	}
	waiters = waiters_take(&r->waiters);
	if (r->refresh_pending && !w->stopping) {
		/* a refresh asked while this sync ran: it may predate the news */
		r->refresh_pending = false;
		repo_sync_locked(w, r, CLONE_FETCH);
	}
	pthread_mutex_unlock(&w->lock);

	page_array_free(dead);
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

/* ---- pages: the FUSE-facing calls ---- */

int wiki_repo_pages(struct wiki *w, size_t repo, struct plan **plan, struct wiki_page **pages)
{
	struct wrepo *r;
	int n = -EAGAIN;

	if (repo >= w->nrepos)
		return -ENOENT;
	r = &w->repos[repo];
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		n = -ESHUTDOWN;
	} else if (r->state == WIKI_REPO_READY && r->pages) {
		for (size_t i = 0; i < r->pages->n; i++)
			pages[i] = (struct wiki_page *)&r->pages->pages[i];
		r->pages->refs += r->pages->n;
		*plan = plan_ref(r->plan);
		n = (int)r->pages->n;
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

void wiki_page_unref(struct wiki *w, struct wiki_page *p)
{
	struct page_array *dead;

	if (!p)
		return;
	pthread_mutex_lock(&w->lock);
	dead = page_array_put_locked(w, wpage_of(p)->array);
	pthread_mutex_unlock(&w->lock);
	page_array_free(dead);
}

const char *wiki_page_slug(const struct wiki_page *p)
{
	return ((const struct wpage *)p)->pp->slug;
}

static int open_cached(struct wiki *w, struct wpage *p, struct wiki_open *o)
{
	struct page_key key = p->key;
	int r;

	r = page_cache_open(w->pc, &key, &o->fd, &o->size);
	/* another process replaced the file: what the kernel cached of it is stale */
	if (r == 1 && w->ev.page_ready)
		w->ev.page_ready(w->ev.ctx, p->repo->idx, (const struct wiki_page *)p);
	if (r < 0)
		return r;
	o->key = key;
	return 0;
}

int wiki_page_want(struct wiki *w, struct wiki_page *page, enum gen_prio prio,
		   struct wiki_waiter *wt, struct wiki_open *o)
{
	struct wpage *p = wpage_of(page);
	int r;

	pthread_mutex_lock(&w->lock);
	if (!flight_owner(w, p) && page_cache_lookup(w->pc, &p->key, NULL) == 0) {
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
	}
	if (w->stopping)
		r = -ESHUTDOWN;
	else
		r = page_submit_locked(w, p, prio, wt);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int wiki_page_open(struct wiki *w, struct wiki_page *p, struct wiki_open *o)
{
	/* the key never changes: no lock */
	return open_cached(w, wpage_of(p), o) < 0 ? -ENOENT : 0;
}

void wiki_page_close(struct wiki *w, struct wiki_open *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	page_cache_unpin(w->pc, &o->key);
}

int wiki_page_size(struct wiki *w, struct wiki_page *p, uint64_t *size)
{
	return page_cache_size(w->pc, &wpage_of(p)->key, size);
}

void wiki_page_info(struct wiki *w, struct wiki_page *page, struct wiki_page_info *info)
{
	struct wpage *p = wpage_of(page);

	memset(info, 0, sizeof(*info));
	info->backend = w->ops->name;
	pthread_mutex_lock(&w->lock);
	info->state = wiki_page_state_locked(w, p);
	snprintf(info->error, sizeof(info->error), "%s",
		 info->state != WIKI_PAGE_READY && p->error ? p->error : "");
	snprintf(info->commit, sizeof(info->commit), "%s", p->pages_plan->commit);
	pthread_mutex_unlock(&w->lock);
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
	struct page_array *dead = NULL, *d;

	pthread_mutex_lock(&w->lock);
	r->prefetch_pending = false;
	for (size_t i = 0; r->pages && i < r->pages->n; i++) {
		struct wpage *p = &r->pages->pages[i], *o = flight_owner(w, p);

		if (!o || (slug && strcmp(p->pp->slug, slug)))
			continue;
		/*
		 * A person waiting keeps the job alive. A job taken is freed by
		 * the queue: forget it now, under the same lock hold, so no open
		 * can find it in between.
		 */
		if (!o->waiters && gen_queue_cancel(w->q, o->job)) {
			flight_end(w, o);
			/* the job's reference to its version: job_finished() will not run */
			d = page_array_put_locked(w, o->array);
			if (d) {
				d->next = dead;
				dead = d;
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	while ((d = dead)) {
		dead = d->next;
		page_array_free(d);
	}
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
		if (slug && !flight_owner(w, p)) {
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
	if (r->busy) {
		/* coalesced: one more fetch once the running sync ends */
		r->refresh_pending = true;
		ret = 0;
	} else {
		ret = repo_sync_locked(w, r, CLONE_FETCH);
		if (ret < 0)
			wf_err_set(err, ret, "cannot start a fetch of '%s': %s", r->cr->name,
				   strerror(-ret));
	}
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

/* The URL that identifies the repository's pages and plans: without its
 * password, so that a changed password neither regenerates them nor reaches
 * a prompt. */
static int repo_id_url(struct wrepo *r, struct wf_err *err)
{
	char buf[4096];
	int ret = url_strip_password(r->cr->url, buf, sizeof(buf));

	if (ret < 0)
		return wf_err_set(err, ret, "repository '%s': url too long", r->cr->name);
	r->id_url = strdup(buf);
	return r->id_url ? 0 : -ENOMEM;
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
	struct wf_err derr;
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
		r = repo_id_url(&w->repos[i], err);
		if (r < 0)
			goto out_free;
	}
	/* others must not plant pages, clones or plans in it (like ssh's ~/.ssh) */
	r = mkdir_private(c->cache_dir, &derr);
	if (r < 0) {
		wf_err_set(err, r, "%s the cache directory: %s",
			   r == -EPERM ? "refusing" : "cannot use", derr.msg);
		goto out_free;
	}
	r = ops->init ? ops->init(&w->bstate, c, err) : 0;
	if (r < 0)
		goto out_free;
	r = clone_cache_new(&w->cc, &co);
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

/* Moves the waiters of @list to the front of the chain *@chain. w->lock held. */
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
	/*
	 * Every parked request is answered now, at any version; jobs are
	 * stopped below. Page waiters hang only on pages with a job, all of
	 * them in w->flights (those of older versions too).
	 */
	for (size_t i = 0; i < w->nrepos; i++)
		waiters = waiters_chain(waiters, &w->repos[i].waiters);
	for (size_t b = 0; b < WIKI_FLIGHT_BUCKETS; b++)
		for (struct wpage *p = w->flights[b]; p; p = p->flight_next)
			waiters = waiters_chain(waiters, &p->waiters);
	pthread_mutex_unlock(&w->lock);
	notify_all(waiters, -ESHUTDOWN);
	if (w->ops && w->ops->abort && w->bstate)
		w->ops->abort(w->bstate);
	if (w->cc)
		clone_cache_shutdown(w->cc);
	if (w->pc)
		page_cache_stop(w->pc); /* a worker waiting for another process's claim */
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
	/* the current arrays, and any a forgotten reference still holds */
	while (w->arrays) {
		struct page_array *a = w->arrays;

		w->arrays = a->next;
		page_array_free(a);
	}
	for (size_t i = 0; i < w->nrepos; i++) {
		struct wrepo *r = &w->repos[i];

		plan_unref(r->plan);
		facts_unref(r->facts);
		free(r->error);
		free(r->id_url);
		pthread_mutex_destroy(&r->facts_lock);
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
