/* SPDX-License-Identifier: MIT */
/*
 * Repositories: sync and plans. A repository goes NEW -> CLONING -> READY
 * (or FAILED): a sync task on the sync work queue runs clone_cache_sync()
 * (FIFO-gated network), then loads or computes the plan, installs it with
 * a fresh page array (page.c), and answers every parked waiter. A refresh
 * is the same task with CLONE_FETCH; the repository stays READY meanwhile
 * and readers keep the old plan until the new one is installed. One sync
 * per repository at a time (busy): a refresh asked while one runs makes it
 * fetch once more when it ends, since the news may postdate its fetch.
 *
 * The facts of the repository's commit (what generation and the LLM
 * planner read) are loaded lazily, by whichever worker needs them first,
 * under the repository's facts_lock: from the facts file of the commit when
 * there is one, computed and written there otherwise, and kept in memory
 * only in the wiki's small LRU (WIKI_FACTS_KEPT), so a mount of many
 * repositories does not hold all their facts.
 */
#include "wiki_int.h"
#include "llm_planner.h"
#include "steering.h"
#include "fsutil.h"
#include "url.h"
#include "xrepo.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>

/*
 * The URL that identifies the repository's pages and plans: without its
 * password, so that a changed password neither regenerates them nor reaches
 * a prompt.
 */
static int repo_id_url(struct wrepo *r, struct wf_err *err)
{
	char buf[4096];
	int ret = r->cr->group ? snprintf(buf, sizeof(buf), "group:%s", r->cr->name) >= 0 ? 0 : -EIO
			       : url_strip_password(r->cr->url, buf, sizeof(buf));

	if (ret < 0)
		return wf_err_set(err, ret, "repository '%s': url too long", r->cr->name);
	r->id_url = strdup(buf);
	return r->id_url ? 0 : -ENOMEM;
}

int wiki_repo_init(struct wiki *w, size_t idx, struct wf_err *err)
{
	struct wrepo *r = &w->repos[idx];

	r->w = w;
	r->idx = idx;
	r->cr = &w->c->repos[idx];
	pthread_mutex_init(&r->facts_lock, NULL);
	return repo_id_url(r, err);
}

void wiki_repo_done(struct wrepo *r)
{
	plan_unref(r->plan);
	xrepo_unref(r->group);
	free(r->error);
	free(r->id_url);
	pthread_mutex_destroy(&r->facts_lock);
}

struct repo_facts *wiki_repo_facts_get(struct wrepo *r, const char *git_dir, const char *commit,
				       struct wf_err *err)
{
	const struct facts_opts o = { r->w->c->cache_dir, r->id_url, NULL };
	struct repo_facts *f;
	int ret;

	pthread_mutex_lock(&r->facts_lock);
	f = facts_lru_get(r->w->facts_lru, r->id_url, commit);
	if (!f) {
		/* libgit2 1.5 leaks when a pack cannot be opened for want of a descriptor */
		ret = fd_headroom(FD_HEADROOM_REPO);
		if (ret == 0) {
			pthread_mutex_lock(&r->w->facts_open_lock);
			ret = facts_open(&f, &o, git_dir, commit, err);
			/* a computation's transient heap goes back to the system, not
			 * to this thread's arena: the next one may run on another */
			malloc_trim(0);
			pthread_mutex_unlock(&r->w->facts_open_lock);
		} else {
			wf_err_set(err, ret, "cannot load the facts of '%s': %s", r->cr->name,
				   strerror(-ret));
		}
		if (ret == 0) {
			struct facts_stats st;

			facts_get_stats(f, &st);
			if (st.ctags_error[0]) { /* computed just now, without ctags */
				char msg[300];

				snprintf(msg, sizeof(msg), "symbols from the built-in scanners: %s",
					 st.ctags_error);
				wiki_error_emit(r->w, r->cr->name, msg);
			}
			facts_lru_put(r->w->facts_lru, r->id_url, f);
		}
	}
	pthread_mutex_unlock(&r->facts_lock);
	return f;
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
int wiki_repo_load_plan(struct wiki *w, struct wrepo *r, const char *git_dir, const char *commit,
			struct plan **plan, struct wf_err *err)
{
	char pbuf[300], why[256], shape[65] = "";
	const char *planner = planner_name(w->c, pbuf, sizeof(pbuf));
	struct plan *builtin = NULL, *llm = NULL;
	struct gen_usage usage = { 0 };
	struct repo_facts *facts;
	struct wf_err perr = { "" }, serr;
	int ret;

	if (plan_cache_load(plan, w->c->cache_dir, r->id_url, commit, planner) == 0)
		return 0;
	/* the LLM's plan holds while the tree's shape does: an edit asks no model */
	if (w->c->planner == PLANNER_LLM && plan_shape(git_dir, commit, shape, &serr) < 0)
		shape[0] = '\0'; /* planned by commit, as before */
	if (shape[0] &&
	    plan_cache_load_shape(plan, w->c->cache_dir, r->id_url, shape, planner, commit) == 0)
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
	ret = wiki_budget_exhausted_locked(w, why, sizeof(why)) ? -EDQUOT : 0;
	if (ret == 0)
		wiki_budget_charge_locked(w, r);
	pthread_mutex_unlock(&w->lock);
	if (ret == 0) {
		facts = wiki_repo_facts_get(r, git_dir, commit, &perr);
		ret = facts
			  ? llm_plan(&llm, w->c, r->cr->name, commit, facts, builtin, &usage, &perr)
			  : -EIO;
		facts_unref(facts);
	} else {
		snprintf(perr.msg, sizeof(perr.msg), "%s", why);
	}
	pthread_mutex_lock(&w->lock);
	wiki_budget_spend_locked(w, r, &usage);
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
		wiki_error_report(w, r->cr->name, msg);
		*plan = builtin;
		return 0;
	}
	plan_cache_store(llm, w->c->cache_dir, r->id_url);
	if (shape[0])
		plan_cache_store_shape(llm, w->c->cache_dir, r->id_url, shape);
	plan_unref(builtin);
	*plan = llm;
	return 0;
}

/*
 * The repository's steering file (.wikifs.json, .devin/wiki.json) on @plan,
 * which nobody else holds yet: its pages and notes. Applied at every load,
 * cached plan or not, so the disk cache holds the planners' plans alone.
 * An invalid file is reported and changes nothing.
 */
static void steer_plan(struct wiki *w, struct wrepo *r, const char *git_dir, struct plan *plan)
{
	struct wf_err err = { "" };
	char what[512];

	if (steering_apply(plan, git_dir, plan->commit, &err) == 0)
		return;
	snprintf(what, sizeof(what), "%s/.wikifs.json", r->cr->name);
	wiki_error_report(w, what, err.msg);
}

/*
 * Installs @plan (taking it) with a fresh page array if its commit differs
 * from the current one. The repository's reference to the old array is
 * dropped: it lives on while a job or a page reference uses it, and *@dead
 * is set if it must be freed (by the caller, without w->lock). w->lock held.
 * 0 or -ENOMEM.
 */
static int plan_install_locked(struct wiki *w, struct wrepo *r, struct plan **plan,
			       struct xrepo **group, const struct clone_result *res, bool *changed,
			       struct page_array **dead)
{
	struct page_array *a;

	if (r->plan && !strcmp(r->plan->commit, (*plan)->commit))
		return 0;
	if (*group) { /* the new pages' keys are the digests of what it shows */
		xrepo_unref(r->group);
		r->group = TAKE_PTR(*group);
	}
	a = wiki_page_array_new(r, *plan, NULL);
	if (!a) {
		r->state = r->plan ? WIKI_REPO_READY : WIKI_REPO_FAILED;
		return -ENOMEM;
	}
	*dead = wiki_page_array_put_locked(w, r->pages); /* lives on while in use */
	r->pages = a;
	plan_unref(r->plan);
	r->plan = TAKE_PTR(*plan);
	*changed = r->state == WIKI_REPO_READY;
	a->commit_time = res->commit_time;
	r->commit_time = res->commit_time;
	snprintf(r->head, sizeof(r->head), "%s", res->head);
	snprintf(r->commit, sizeof(r->commit), "%s", res->commit);
	snprintf(r->git_dir, sizeof(r->git_dir), "%s", res->git_dir);
	r->state = WIKI_REPO_READY;
	return 0;
}

/*
 * The warm-up found no clone: not a failure. Clones now if someone waits
 * (or a prefetch or a refresh was asked meanwhile) and returns NULL; else
 * returns the waiters, to be told -ESHUTDOWN. w->lock held.
 */
static struct wiki_waiter *warm_missed_locked(struct wiki *w, struct wrepo *r)
{
	r->state = WIKI_REPO_NEW;
	if ((r->waiters || r->prefetch_pending || r->refresh_pending) && !w->stopping &&
	    wiki_repo_sync_locked(w, r, 0) == 0) {
		r->refresh_pending = false; /* the clone is the fetch */
		return NULL;
	}
	return wiki_waiter_take(&r->waiters);
}

/* Records a failed sync (@ret, @err) for the backoff and the errors ring. w->lock held. */
static void sync_failed_locked(struct wiki *w, struct wrepo *r, int ret, struct wf_err *err)
{
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(-ret));
	free(r->error);
	r->error = strdup(err->msg);
	r->err = ret;
	r->failed_at = now_ms();
	if (r->state != WIKI_REPO_READY)
		r->state = WIKI_REPO_FAILED; /* a failed refresh keeps the old plan */
	wiki_error_note_locked(w, r->cr->name, err->msg);
}

/*
 * One sync of @t->r: clone or fetch, plan, install, answer the waiters;
 * then the refresh asked meanwhile, if any. On the sync work queue.
 */
static void sync_task(void *data)
{
	struct wiki_sync_task *t = data;
	struct wrepo *r = t->r;
	struct wiki *w = r->w;
	struct clone_result res;
	struct wf_err err = { "" };
	struct plan *plan = NULL;
	struct xrepo *group = NULL;
	struct page_array *dead = NULL;
	struct wiki_waiter *waiters;
	bool changed = false;
	int64_t t0 = now_ms(), took;
	int ret;

	memset(&res, 0, sizeof(res));
	if (r->cr->group) {
		ret = wiki_group_sync(w, r, t->flags, &plan, &group, &res, &err);
		took = now_ms() - t0;
	} else {
		ret =
		    clone_cache_sync(w->cc, r->cr->url, r->cr->ref, t->flags, &r->prog, &res, &err);
		took = now_ms() - t0;
		if (ret == 0 && err.msg[0]) {
			/* fetch failed, cached clone used */
			wiki_error_report(w, r->cr->name, err.msg);
			err.msg[0] = '\0';
		}
		if (ret == 0)
			ret = wiki_repo_load_plan(w, r, res.git_dir, res.commit, &plan, &err);
	}
	if (ret == 0 && !r->cr->group)
		steer_plan(w, r, res.git_dir, plan);
	pthread_mutex_lock(&w->lock);
	r->busy = false;
	if (ret == -ENOENT && (t->flags & CLONE_OFFLINE)) {
		waiters = warm_missed_locked(w, r);
		if (!r->busy)
			wiki_repo_next_locked(w, r);
		pthread_mutex_unlock(&w->lock);
		wiki_waiter_notify(waiters, -ESHUTDOWN);
		plan_unref(plan);
		xrepo_unref(group);
		free(t);
		return;
	}
	r->last_sync_ms = now_ms();
	if (res.fetched)
		wiki_metrics_clone_locked(&w->metrics, took);
	if (ret < 0) {
		sync_failed_locked(w, r, ret, &err);
	} else {
		ret = plan_install_locked(w, r, &plan, &group, &res, &changed, &dead);
		if (ret < 0)
			snprintf(err.msg, sizeof(err.msg), "cannot install the plan: %s",
				 strerror(-ret));
	}
	if (ret == 0 && r->prefetch_pending) {
		r->prefetch_pending = false;
		wiki_page_prefetch_all_locked(w, r->pages);
	}
	if (ret == 0 && res.fetched && r->versions) {
		/* branch versions move with a fetch of the repository only */
		r->branches_moved = true;
		r->versions_pending = true;
	}
	waiters = wiki_waiter_take(&r->waiters);
	wiki_repo_next_locked(w, r);
	pthread_mutex_unlock(&w->lock);

	wiki_page_array_free(dead);
	plan_unref(plan);
	xrepo_unref(group);
	if (ret < 0)
		wiki_error_emit(w, r->cr->name, err.msg);
	else if (changed && w->ev.repo_changed)
		w->ev.repo_changed(w->ev.ctx, r->idx);
	wiki_waiter_notify(waiters, ret);
	free(t);
}

/*
 * Starts a sync task unless one runs; one asked meanwhile waits for it
 * (wiki_repo_next_locked). A main sync and the versions task never run at
 * once: both may fetch into the one clone. w->lock held.
 */
int wiki_repo_sync_locked(struct wiki *w, struct wrepo *r, unsigned flags)
{
	bool versions = flags & WIKI_SYNC_VERSIONS;
	struct wiki_sync_task *t;
	int ret;

	if (r->busy) {
		if (versions)
			r->versions_pending = true;
		else if (r->versions_running && !(flags & CLONE_OFFLINE))
			r->main_pending = true; /* a running main sync answers it already */
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->r = r;
	t->flags = flags;
	ret = workq_submit(w->syncq, versions ? w->version_task : sync_task, t);
	if (ret < 0) {
		free(t);
		return ret;
	}
	r->busy = true;
	r->versions_running = versions;
	if (versions)
		r->versions_pending = false;
	else
		r->main_pending = false;
	if (!versions && r->state != WIKI_REPO_READY)
		r->state = WIKI_REPO_CLONING;
	return 0;
}

/*
 * What was asked while the last task ran, in turn: a refresh (it may
 * postdate that task's fetch), a main sync someone waits for, the
 * versions. w->lock held, r->busy clear.
 */
void wiki_repo_next_locked(struct wiki *w, struct wrepo *r)
{
	if (w->stopping || r->busy)
		return;
	if (r->refresh_pending) {
		r->refresh_pending = false;
		wiki_repo_sync_locked(w, r, CLONE_FETCH);
	} else if (r->main_pending) {
		wiki_repo_sync_locked(w, r, 0);
	} else if (r->versions_pending) {
		wiki_repo_sync_locked(w, r, WIKI_SYNC_VERSIONS);
	}
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
	} else if (r->state == WIKI_REPO_FAILED && wiki_error_fresh(w, r->failed_at)) {
		ret = r->err;
	} else if (wt && wt->cancelled) {
		ret = -EINTR;
	} else {
		ret = wiki_repo_sync_locked(w, r, 0);
		if (ret == 0) {
			if (wt)
				wiki_waiter_attach(&r->waiters, wt);
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

static const char *const repo_state_names[] = { "new", "cloning", "ready", "failed" };

const char *wiki_repo_state_name(enum wiki_repo_state s)
{
	return (unsigned)s < ARRAY_SIZE(repo_state_names) ? repo_state_names[s] : "?";
}

void wiki_repo_info(struct wiki *w, size_t repo, struct wiki_repo_info *info)
{
	const struct wrepo *r = &w->repos[repo];
	const char *ref;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&w->lock);
	info->state = r->state;
	info->commit_time = r->commit_time;
	snprintf(info->commit, sizeof(info->commit), "%s", r->commit);
	ref = r->cr->ref && *r->cr->ref ? r->cr->ref : r->head;
	snprintf(info->ref, sizeof(info->ref), "%s", *ref ? ref : "HEAD");
	if (r->state == WIKI_REPO_FAILED && r->error) {
		snprintf(info->error, sizeof(info->error), "%s", r->error);
		url_redact_text(info->error, sizeof(info->error));
	}
	pthread_mutex_unlock(&w->lock);
}

void wiki_repo_error(struct wiki *w, size_t repo, char *out, size_t n)
{
	pthread_mutex_lock(&w->lock);
	snprintf(out, n, "%s",
		 repo < w->nrepos && w->repos[repo].error ? w->repos[repo].error : "");
	pthread_mutex_unlock(&w->lock);
}

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
