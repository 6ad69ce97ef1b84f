/* SPDX-License-Identifier: MIT */
/*
 * What the generation queue runs for a page: the callbacks gen/queue.c is
 * handed (wiki_job_ops). An attempt first claims the page across the
 * processes sharing the cache directory, so a page another daemon is
 * generating is waited for and found, not made twice; then looks for the
 * page made at an earlier commit from inputs this one holds unchanged (its
 * manifest, page_manifest.h: reused, no generation); then asks the shared
 * store, if any (fleet.c: found there, parked while another host makes it,
 * or claimed for the fleet, and then matched against the manifests other
 * hosts put there); then it charges the budget,
 * generates from the repository's facts at the page's own commit, checks
 * the page's citations, records them and the backend's sources
 * (page_meta.h), commits the bytes to the page cache and records what the
 * page was made from in its manifest. When the job is over, whatever
 * its outcome, job_finished() records it, ends the flight, raises
 * page_ready (before the waiters hear: no stale size survives them),
 * answers the waiters and drops the job's reference to the page's array.
 * Runs on worker threads; w->lock is taken around state changes only,
 * never across a claim, a generation or a write.
 */
#include "wiki_int.h"
#include "citations.h"
#include "page_check.h"
#include "page_meta.h"
#include "util.h"

#include <errno.h>
#include <string.h>

/*
 * What is known of page @p beside its bytes @out, written before them: its
 * citations checked against the tree, the sources its backend reported.
 * Never fails the page: without a meta file it has no counts, that is all.
 */
static void job_record_meta(struct wiki *w, struct wpage *p, const char *text, size_t len,
			    struct repo_facts *facts, const char *deps)
{
	struct citation_counts cc = { 0 };
	struct page_meta m = { .sources = (char *)deps };

	/* a group's pages cite no one tree: they have sources, not citations */
	m.has_citations = facts && citations_check(text, len, facts, &cc) == 0;
	m.verified = cc.verified;
	m.unresolved = cc.unresolved;
	page_meta_store(w->c->cache_dir, &p->key, &m); /* best effort */
	if (!m.has_citations)
		return;
	pthread_mutex_lock(&w->lock);
	p->repo->citations_verified += cc.verified;
	p->repo->citations_unresolved += cc.unresolved;
	pthread_mutex_unlock(&w->lock);
}

/* Where @p is made or matched: its commit, in @git_dir. */
static struct page_source source_of(const struct wpage *p, const char *git_dir,
				    const struct repo_facts *facts)
{
	return (struct page_source){ .git_dir = git_dir,
				     .commit = p->pages_plan->commit,
				     .facts = facts,
				     .plan = p->pages_plan };
}

/*
 * Records what the page just committed was made from, for its reuse at
 * later commits. A failure costs only that reuse: the page is served, the
 * failure noted in .wikifs/errors.
 */
static void job_record(struct wiki *w, struct wpage *p, const char *git_dir,
		       const struct repo_facts *facts, struct page_deps *deps)
{
	struct page_source src = source_of(p, git_dir, facts);
	struct wf_err err = { "" };
	char path[4096];

	if (page_manifest_record(w->pc, &p->recipe, deps, &src, &p->key, &err) < 0) {
		wiki_page_path(p, path, sizeof(path));
		wiki_error_report(w, path, err.msg);
	}
}

/*
 * What is known of a page just reused (its bytes committed from @from, or
 * from another host's page when @from is NULL): its citations checked
 * against this commit's tree, and the sources recorded with @from. Best
 * effort, as job_record_meta().
 */
static void job_reuse_meta(struct wiki *w, struct wpage *p, const struct page_key *from,
			   struct repo_facts *facts)
{
	struct page_meta old = { 0 };
	_cleanup_free_ char *data = NULL;
	bool known = from && page_meta_load(w->c->cache_dir, from, &old) == 0;
	size_t len;

	if (page_cache_read(w->pc, &p->key, PAGE_MAX_BYTES, &data, &len) == 0)
		job_record_meta(w, p, data, len, facts, known ? old.sources : NULL);
	if (known)
		page_meta_done(&old);
}

/* Whether page @p is to be made again on request ("retry"); consumes the request. */
static bool job_take_remake(struct wiki *w, struct wpage *p)
{
	bool remake;

	pthread_mutex_lock(&w->lock);
	remake = p->remake;
	p->remake = false;
	pthread_mutex_unlock(&w->lock);
	return remake;
}

/*
 * The page as made at an earlier commit, when everything it was made from
 * is the same at this one: its verified bytes committed under this page's
 * key, with no generation. Matched against this cache's manifests
 * (@claimed 0), or, once this host claimed the fleet's job (@claimed, its
 * attempt), against the manifests other hosts stored. 1 when reused, 0
 * when it must be made.
 */
static int job_reuse(struct wiki *w, struct wpage *p, int claimed, struct gen_err *gerr)
{
	struct wrepo *r = p->repo;
	struct repo_facts *facts;
	struct page_source src;
	char git_dir[4096], made_at[41];
	struct page_key from;
	int ret;

	pthread_mutex_lock(&w->lock);
	snprintf(git_dir, sizeof(git_dir), "%s", r->git_dir);
	p->running = true; /* worked on: no longer a queued job a cancel could drop */
	pthread_mutex_unlock(&w->lock);
	facts = wiki_repo_facts_get(r, git_dir, p->pages_plan->commit, &gerr->e);
	ret = 0; /* without facts, generation says why, with its retries */
	if (facts) {
		src = source_of(p, git_dir, facts);
		ret = claimed
			  ? wiki_fleet_reuse(w, p, &src, claimed)
			  : page_manifest_reuse(w->pc, &p->recipe, &src, &p->key, &from, made_at);
		if (ret == 1)
			job_reuse_meta(w, p, claimed ? NULL : &from, facts);
		facts_unref(facts);
	}
	pthread_mutex_lock(&w->lock);
	p->reused = ret == 1;
	p->running = false;
	pthread_mutex_unlock(&w->lock);
	return ret == 1;
}

/* One attempt at generating page @p into @out, the claim held. */
static int job_generate(struct wiki *w, void *wstate, struct wpage *p, struct buf *out,
			struct gen_err *gerr)
{
	struct wrepo *r = p->repo;
	struct gen_usage usage = { 0 };
	struct gen_request req;
	struct repo_facts *facts;
	struct page_deps *deps = NULL;
	const struct xrepo *group;
	char git_dir[4096], why[256];
	int ret;

	pthread_mutex_lock(&w->lock);
	if (wiki_budget_exhausted_locked(w, why, sizeof(why))) {
		pthread_mutex_unlock(&w->lock);
		gerr->budget = true;
		return wf_err_set(&gerr->e, -EDQUOT, "%s", why);
	}
	p->running = true;
	wiki_budget_charge_locked(w, r);
	snprintf(git_dir, sizeof(git_dir), "%s", r->git_dir);
	group = p->array->group; /* lives as long as the array the job holds */
	pthread_mutex_unlock(&w->lock);

	facts = group ? NULL : wiki_repo_facts_get(r, git_dir, p->pages_plan->commit, &gerr->e);
	if (!facts && !group) {
		gerr->retryable = false;
		return -EIO;
	}
	req = (struct gen_request){
		.repo_name = r->cr->name,
		.url = r->id_url,		   /* a prompt never carries the password */
		.git_dir = group ? NULL : git_dir, /* a group has no tree of its own */
		.commit = p->pages_plan->commit,
		.plan = p->pages_plan,
		.page = p->pp,
		.facts = facts,
		.group = group,
	};
	/* a group's page has no tree to match: never recorded for reuse */
	if (!group && page_deps_new(&deps) < 0)
		deps = NULL; /* then the page is made, and not recorded for reuse */
	req.deps = deps;
	ret = w->ops->generate(w->bstate, wstate, &req, out, &usage, gerr);
	if (ret == 0 && out->len == 0) {
		gerr->retryable = true;
		ret =
		    wf_err_set(&gerr->e, -EIO, "backend '%s' returned an empty page", w->ops->name);
	}
	if (ret == 0)
		ret = page_check(out, w->ops->name, gerr); /* text, whatever the backend */
	if (ret == 0)
		job_record_meta(w, p, buf_str(out), out->len, facts, usage.deps);
	if (ret == 0) {
		ret = page_cache_commit(w->pc, &p->key, out->data, out->len);
		if (ret < 0) {
			gerr->retryable = false;
			wf_err_set(&gerr->e, ret, "cannot write the page cache: %s",
				   strerror(-ret));
		}
	}
	if (ret == 0 && deps)
		job_record(w, p, git_dir, facts, deps);
	page_deps_free(deps);
	facts_unref(facts);
	free(usage.deps);

	pthread_mutex_lock(&w->lock);
	wiki_budget_spend_locked(w, r, &usage);
	p->running = false;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/*
 * A page the shared store had: what it was made from is not known here, so
 * it is recorded as made from the whole tree (its sources say so, and a
 * stale_pages = serve mount can serve it at a later commit).
 */
static void job_record_found(struct wiki *w, struct wpage *p)
{
	struct page_deps *deps;
	char git_dir[4096];

	if (p->array->group || page_deps_new(&deps) < 0)
		return;
	pthread_mutex_lock(&w->lock);
	snprintf(git_dir, sizeof(git_dir), "%s", p->repo->git_dir);
	pthread_mutex_unlock(&w->lock);
	if (page_deps_path(deps, "") == 0)
		job_record(w, p, git_dir, NULL, deps);
	page_deps_free(deps);
}

/*
 * One attempt through the shared store, if there is one: the page from the
 * store, or reused from another host's page (claimed, and @reuse), or
 * generated here for the fleet (claimed) or alone (no store, or the store
 * away), or parked while another host makes it. A page made again on
 * request (@remake) is generated without asking the store, and replaces
 * the store's copy.
 */
static int job_fleet(struct wiki *w, void *wstate, struct wpage *p, bool reuse, bool remake,
		     unsigned attempt, struct gen_err *gerr)
{
	int claimed = 0, ret = remake ? FLEET_OFF : wiki_fleet_acquire(w, p, &claimed, gerr);
	struct buf out;

	if (ret == FLEET_FOUND) {
		job_record_found(w, p);
		return 0;
	}
	if (ret != FLEET_OFF && ret != FLEET_LOCAL && ret != FLEET_CLAIMED)
		return ret; /* parked, or failed in the fleet */
	/* another host's manifests only now: a page in the store needs none */
	if (ret == FLEET_CLAIMED && reuse && job_reuse(w, p, claimed, gerr))
		return 0;
	buf_init(&out, PAGE_MAX_BYTES);
	ret = job_generate(w, wstate, p, &out, gerr);
	if (remake && ret == 0)
		wiki_fleet_replace(w, p, &out);
	else if (!remake)
		wiki_fleet_finish(w, p, claimed, ret, attempt, gerr, &out);
	buf_done(&out);
	return ret;
}

/*
 * One attempt, claimed across the processes sharing the cache directory: a
 * page another daemon is generating is waited for and found, not made twice.
 */
static int job_claimed(void *ctx, void *wstate, void *payload, unsigned attempt,
		       struct gen_err *gerr)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	/* the holder's attempt, commit included, with room for its facts */
	int64_t wait_ms = (int64_t)w->c->gen_timeout * 2000 + 60000;
	struct page_claim *claim;
	int ret = page_cache_claim(w->pc, &p->key, wait_ms, &claim);

	if (ret == 0) {
		bool remake = job_take_remake(w, p);
		/* a group's page has no tree to match */
		bool reuse = !remake && !p->array->group;

		ret = reuse && job_reuse(w, p, 0, gerr)
			  ? 0
			  : job_fleet(w, wstate, p, reuse, remake, attempt, gerr);
		if (remake && ret < 0) {
			pthread_mutex_lock(&w->lock);
			p->remake = true; /* for the next attempt too */
			pthread_mutex_unlock(&w->lock);
		}
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

/*
 * One attempt. Running out of descriptors anywhere in it (pipes, sockets,
 * libgit2, the page cache) is retried, and shown in .wikifs/errors at once:
 * the page will likely be made, but the operator should know.
 */
static int job_run(void *ctx, void *wstate, void *payload, unsigned attempt, struct gen_err *gerr)
{
	char path[4096], line[1024];
	struct wiki *w = ctx;
	int r = job_claimed(ctx, wstate, payload, attempt, gerr);

	if (r < 0 && r != -ECANCELED && r != -ESHUTDOWN) {
		pthread_mutex_lock(&w->lock);
		wiki_metrics_error_locked(&w->metrics, r, gerr->budget,
					  gerr->resource || gen_err_fd_shortage(r, gerr));
		pthread_mutex_unlock(&w->lock);
	}
	if (r < 0 && gen_err_fd_shortage(r, gerr)) {
		wiki_page_path(payload, path, sizeof(path));
		snprintf(line, sizeof(line), "attempt %u: %s", attempt, gerr->e.msg);
		wiki_error_report(ctx, path, line);
	}
	return r;
}

/* What a waiter hears: EDQUOT and friends keep their meaning; other failures read as EIO. */
static int waiter_err(int err)
{
	if (err == 0 || err == -EDQUOT || err == -ECANCELED || err == -ESHUTDOWN || err == -ENOSPC)
		return err;
	return -EIO;
}

/*
 * The job is over (done, failed after its retries, cancelled by shutdown):
 * records the outcome, ends the flight, answers the waiters.
 */
static void job_finished(void *ctx, void *payload, int err, const char *msg, unsigned attempts)
{
	struct wiki *w = ctx;
	struct wpage *p = payload;
	struct wiki_waiter *waiters;
	struct page_array *dead;
	char path[4096], line[1024] = "";

	wiki_page_path(p, path, sizeof(path));
	pthread_mutex_lock(&w->lock);
	wiki_flight_end(w, p);
	p->attempts = attempts;
	if (err == 0 && p->found) {
		w->cache_hits++;
		p->failed = false;
	} else if (err == 0 && p->reused) {
		w->reused++;
		p->repo->reused++;
		p->failed = false;
	} else if (err == 0) {
		w->generated++;
		p->repo->generated++;
		p->failed = false;
		if (!w->first_finish_ms)
			w->first_finish_ms = now_ms();
		w->last_finish_ms = now_ms();
		w->finished_times_n++;
		wiki_metrics_finished_locked(&w->metrics, w->last_finish_ms);
	} else if (err != -ECANCELED && err != -ESHUTDOWN) {
		snprintf(line, sizeof(line), "failed after %u attempt%s: %s", attempts,
			 attempts == 1 ? "" : "s", msg && *msg ? msg : strerror(-err));
		free(p->error);
		p->error = strdup(line);
		p->failed = true;
		p->failed_at = now_ms();
		w->failed++;
		wiki_error_note_locked(w, path, line);
	}
	p->found = false;
	p->reused = false;
	if (err == 0)
		p->stale_commit[0] = '\0'; /* made at its own commit now */
	waiters = wiki_waiter_take(&p->waiters);
	pthread_mutex_unlock(&w->lock);

	if (err < 0 && err != -ECANCELED && err != -ESHUTDOWN)
		wiki_error_emit(w, path, line);
	if (err == 0 && w->ev.page_ready)
		w->ev.page_ready(w->ev.ctx, p->repo->idx, (const struct wiki_page *)p);
	wiki_waiter_notify(waiters, waiter_err(err));
	if (err == 0)
		page_cache_unpin(w->pc, &p->key); /* the pin taken by the commit */
	pthread_mutex_lock(&w->lock);
	dead = wiki_page_array_put_locked(w, p->array); /* the job's reference */
	pthread_mutex_unlock(&w->lock);
	wiki_page_array_free(dead);
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

const struct gen_queue_ops wiki_job_ops = {
	.run = job_run,
	.finished = job_finished,
	.worker_init = job_worker_init,
	.worker_done = job_worker_done,
};
