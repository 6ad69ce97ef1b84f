/* SPDX-License-Identifier: MIT */
/*
 * Version directories: REPO@REF for any branch, tag or commit of a
 * repository. A version is another view of the repository, with its own
 * commit, plan and page array (page.c), served from the same clone: its
 * pages are keyed by their commit like any page, so a version at the main
 * view's commit shares its pages and their jobs.
 *
 * Asking for a version (wiki_version_want) makes an entry, RESOLVING, and
 * starts the versions task, which runs on the sync work queue as the
 * repository's one sync task (repo.c: never beside a main sync, since both
 * may fetch into the clone). The task resolves every version asked for
 * locally (cache/clone_refs.h); refs the clone lacks make it fetch once,
 * and only if the last such fetch is older than failure_backoff: a burst
 * of lookups of random ids costs one fetch. A ref still unknown fails the
 * version (ENOENT for failure_backoff, a line in .wikifs/errors). A
 * resolved version gets its plan and page array and is READY: a tag or a
 * commit for good, a branch until a fetch of the repository moves it
 * (branches_moved: the task resolves it again and installs a new array if
 * its commit changed; the old one lives on while a reader uses it).
 *
 * Memory: at most max_versions entries per repository. At the end of each
 * task the least recently used beyond that are dropped, except those
 * resolving, waited for or with a job in flight; their arrays live on
 * while a job or an open file (a wiki_page reference) holds them, and the
 * version_dropped event lets fs/ forget the directory. That event is raised
 * by the housekeeper (w->dropped), never by the task: fs/ tells the kernel,
 * which waits for the lookups parked in the directory, which wait for a
 * sync thread. Entries are added
 * by wiki_version_want() and removed only by the task and wiki_free(), so
 * the task may use the ones it collected without the lock.
 */
#include "wiki_int.h"
#include "clone_refs.h"
#include "url.h"
#include "utf8.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <string.h>

#define VERSION_REF_MAX 200 /* bytes of a ref in a version's name */

enum wversion_state { WV_RESOLVING, WV_READY, WV_FAILED };

static const char *const wv_state_names[] = { "resolving", "ready", "failed" };

struct wversion {
	struct wversion *next; /* in r->versions: w->lock */
	char *ref;	       /* as asked: immutable */
	char *label;	       /* "REPO@REF": immutable */
	size_t repo_idx;       /* its repository's index: immutable */
	/* w->lock: */
	enum wversion_state state;
	enum clone_ref_kind kind;
	bool recheck;	       /* a branch after a fetch: resolve again, serving meanwhile */
	bool prefetch_pending; /* prefetch its pages once ready */
	char commit[41];
	struct plan *plan;
	struct page_array *pages; /* holds a reference while READY */
	int err;
	int64_t failed_at;
	char *error;
	struct wiki_waiter *waiters;
	int64_t used_ms; /* last asked for: the LRU order */
};

/* One version's part of a task, its outcome computed without the lock. */
struct vwork {
	struct wversion *v;
	bool recheck;
	char old[41]; /* the commit served (recheck) */
	int ret;
	enum clone_ref_kind kind;
	char commit[41];
	struct plan *plan;
	struct wf_err err;
	struct wiki_waiter *waiters; /* to answer with ret, once unlocked */
};

bool wiki_version_ref_valid(const char *ref)
{
	size_t n = ref ? strlen(ref) : 0;

	if (n == 0 || n > VERSION_REF_MAX || !strcmp(ref, ".") || strstr(ref, "..") ||
	    strchr(ref, '/') || !utf8_valid(ref))
		return false;
	for (const char *s = ref; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static struct wversion *version_find_locked(struct wrepo *r, const char *ref)
{
	for (struct wversion *v = r->versions; v; v = v->next)
		if (!strcmp(v->ref, ref))
			return v;
	return NULL;
}

static void version_free(struct wversion *v)
{
	if (!v)
		return;
	plan_unref(v->plan);
	free(v->error);
	free(v->label);
	free(v->ref);
	free(v);
}

static struct wversion *version_new_locked(struct wrepo *r, const char *ref)
{
	struct wversion *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->ref = strdup(ref);
	if (!v->ref || asprintf(&v->label, "%s@%s", r->cr->name, ref) < 0) {
		v->label = NULL;
		version_free(v);
		return NULL;
	}
	v->state = WV_RESOLVING;
	v->repo_idx = r->idx;
	v->next = r->versions;
	r->versions = v;
	r->nversions++;
	return v;
}

int wiki_version_want(struct wiki *w, size_t repo, const char *ref, struct wiki_waiter *wt)
{
	struct wrepo *r;
	struct wversion *v;
	int ret;

	if (repo >= w->nrepos || !wiki_version_ref_valid(ref) || w->repos[repo].cr->group)
		return -ENOENT; /* a group has no refs of its own */
	r = &w->repos[repo];
	pthread_mutex_lock(&w->lock);
	v = w->stopping ? NULL : version_find_locked(r, ref);
	if (!v && !w->stopping)
		v = version_new_locked(r, ref);
	if (v)
		v->used_ms = now_ms();
	if (w->stopping)
		ret = -ESHUTDOWN;
	else if (!v)
		ret = -ENOMEM;
	else if (v->state == WV_READY)
		ret = 0;
	else if (v->state == WV_FAILED && wiki_error_fresh(w, v->failed_at))
		ret = v->err;
	else if (wt && wt->cancelled)
		ret = -EINTR;
	else {
		v->state = WV_RESOLVING;
		ret = wiki_repo_sync_locked(w, r, WIKI_SYNC_VERSIONS);
		if (ret == 0 && wt)
			wiki_waiter_attach(&v->waiters, wt);
		ret = ret == 0 ? 1 : ret;
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int wiki_version_pages(struct wiki *w, size_t repo, const char *ref, struct plan **plan,
		       struct wiki_page **pages, bool *moves)
{
	struct wversion *v;
	int n = -ENOENT;

	if (repo >= w->nrepos)
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	v = version_find_locked(&w->repos[repo], ref);
	if (v && v->state == WV_RESOLVING)
		n = -EAGAIN;
	if (v && v->state == WV_READY && v->pages) {
		v->used_ms = now_ms();
		for (size_t i = 0; i < v->pages->n; i++)
			pages[i] = (struct wiki_page *)&v->pages->pages[i];
		v->pages->refs += v->pages->n;
		*plan = plan_ref(v->plan);
		*moves = v->kind == CLONE_REF_BRANCH;
		n = (int)v->pages->n;
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* The version of a control command, ready; NULL with @err if not. w->lock held. */
static struct wversion *version_ready_locked(struct wrepo *r, const char *ref, struct wf_err *err)
{
	struct wversion *v = version_find_locked(r, ref);

	if (!v || v->state == WV_FAILED)
		wf_err_set(err, -ENOENT, "no version '%s@%s'%s%s", r->cr->name, ref,
			   v && v->error ? ": " : "", v && v->error ? v->error : "");
	return v && v->state != WV_FAILED ? v : NULL;
}

int wiki_version_prefetch(struct wiki *w, size_t repo, const char *ref, const char *slug,
			  struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	struct wversion *v;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	v = version_ready_locked(r, ref, err);
	if (!v) {
		ret = -ENOENT;
	} else if (v->state == WV_RESOLVING) {
		v->prefetch_pending = true;
	} else if (!slug) {
		wiki_page_prefetch_all_locked(w, v->pages);
	} else {
		struct wpage *p = NULL;

		for (size_t i = 0; i < v->pages->n && !p; i++)
			if (!strcmp(v->pages->pages[i].pp->slug, slug))
				p = &v->pages->pages[i];
		if (!p)
			ret = wf_err_set(err, -ENOENT, "no page '%s' in '%s'", slug, v->label);
		else if (!wiki_flight_owner(w, p) && page_cache_lookup(w->pc, &p->key, NULL) < 0)
			ret = wiki_page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
		if (ret < 0 && p)
			wf_err_set(err, ret, "cannot queue '%s/%s': %s", v->label, slug,
				   p->error ? p->error : strerror(-ret));
	}
	pthread_mutex_unlock(&w->lock);
	return ret < 0 ? ret : 0;
}

int wiki_version_cancel(struct wiki *w, size_t repo, const char *ref, const char *slug,
			struct wf_err *err)
{
	struct wrepo *r = &w->repos[repo];
	struct page_array *dead = NULL;
	struct wversion *v;

	pthread_mutex_lock(&w->lock);
	v = version_ready_locked(r, ref, err);
	if (v) {
		v->prefetch_pending = false;
		dead = wiki_cancel_array_locked(w, v->pages, slug, NULL);
	}
	pthread_mutex_unlock(&w->lock);
	wiki_page_arrays_free(dead);
	return v ? 0 : -ENOENT;
}

int wiki_version_refs(struct wiki *w, size_t repo, struct buf *out, struct wf_err *err)
{
	char git_dir[4096];
	int r;

	if (repo >= w->nrepos || w->repos[repo].cr->group)
		return -ENOENT;
	r = clone_cache_git_dir(w->cc, w->repos[repo].cr->url, git_dir, sizeof(git_dir));
	if (r < 0)
		return wf_err_set(err, r == -ENOENT ? -EAGAIN : r, "'%s' is not cloned yet",
				  w->repos[repo].cr->name);
	return clone_refs_list(git_dir, out, err);
}

/* ---- the versions task ------------------------------------------------ */

/*
 * The versions this task works on: those resolving, and after a fetch the
 * branches to resolve again. *@ret is calloc'ed (free it). w->lock held.
 */
static size_t collect_locked(struct wrepo *r, struct vwork **ret)
{
	struct vwork *work = calloc(MAX(r->nversions, 1), sizeof(*work));
	size_t n = 0;

	*ret = work;
	if (!work)
		return 0;
	for (struct wversion *v = r->versions; v; v = v->next) {
		if (r->branches_moved && v->state == WV_READY && v->kind == CLONE_REF_BRANCH)
			v->recheck = true;
		if (v->state != WV_RESOLVING && !v->recheck)
			continue;
		work[n].v = v;
		work[n].recheck = v->state == WV_READY;
		memcpy(work[n].old, v->commit, sizeof(work[n].old));
		n++;
	}
	r->branches_moved = false;
	return n;
}

/* May this task fetch for refs the clone lacks? Counts the fetch if so. */
static bool fetch_claim(struct wiki *w, struct wrepo *r, int64_t *ago_ms)
{
	int64_t now = now_ms();
	bool ok;

	pthread_mutex_lock(&w->lock);
	*ago_ms = now - r->ref_fetch_ms;
	ok = !r->ref_fetch_ms || *ago_ms >= (int64_t)w->c->failure_backoff * 1000;
	if (ok) {
		r->ref_fetch_ms = now;
		r->ref_fetches++;
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Resolves the versions not resolved yet (all of them when @all). 1 if one is still missing. */
static bool resolve_pass(const char *git_dir, struct vwork *work, size_t n, bool all)
{
	bool missing = false;

	for (size_t i = 0; i < n; i++) {
		struct vwork *k = &work[i];

		if (!all && k->ret != -ENOENT)
			continue;
		wf_err_clear(&k->err);
		k->ret = clone_refs_resolve(git_dir, k->v->ref, k->commit, &k->kind, &k->err);
		missing |= k->ret == -ENOENT && !k->recheck;
	}
	return missing;
}

/* The clone's directory; cloned first if there is none (that is the task's fetch). */
static int clone_dir(struct wiki *w, struct wrepo *r, char *git_dir, size_t size, bool *fetched,
		     struct wf_err *err)
{
	struct clone_result res;
	int64_t ago;
	int ret = clone_cache_git_dir(w->cc, r->cr->url, git_dir, size);

	if (ret != -ENOENT)
		return ret < 0 ? wf_err_set(err, ret, "no clone of '%s': %s", r->cr->name,
					    strerror(-ret))
			       : 0;
	if (!fetch_claim(w, r, &ago))
		return wf_err_set(err, -EAGAIN,
				  "'%s' is not cloned: the last attempt was %lld s ago "
				  "(failure_backoff)",
				  r->cr->name, (long long)(ago / 1000));
	*fetched = true;
	ret = clone_cache_sync(w->cc, r->cr->url, r->cr->ref, 0, &r->prog, &res, err);
	if (ret == 0)
		snprintf(git_dir, size, "%s", res.git_dir);
	return ret;
}

/* Fetches once for the refs still missing, if failure_backoff allows, and resolves them again. */
static void fetch_missing(struct wiki *w, struct wrepo *r, const char *git_dir, bool fetched,
			  struct vwork *work, size_t n)
{
	struct clone_result res;
	struct wf_err ferr = { "" };
	int64_t ago = 0;
	bool fetch = !fetched && fetch_claim(w, r, &ago);

	if (fetch &&
	    clone_cache_sync(w->cc, r->cr->url, r->cr->ref, CLONE_FETCH, &r->prog, &res, &ferr) <
		0 &&
	    !ferr.msg[0])
		snprintf(ferr.msg, sizeof(ferr.msg), "the fetch failed");
	if (fetch)
		resolve_pass(git_dir, work, n, false);
	for (size_t i = 0; i < n; i++) {
		struct vwork *k = &work[i];
		char why[sizeof(k->err.msg)];

		if (k->ret != -ENOENT || k->recheck)
			continue;
		snprintf(why, sizeof(why), "%s", k->err.msg);
		if (fetched || fetch)
			wf_err_set(&k->err, -ENOENT, "%s in '%s' (after a fetch%s%s)", why,
				   r->cr->name, ferr.msg[0] ? ": " : "", ferr.msg);
		else
			wf_err_set(&k->err, -ENOENT,
				   "%s in '%s' (not fetched again: the last fetch for a missing "
				   "ref was %lld s ago, failure_backoff is %u s)",
				   why, r->cr->name, (long long)(ago / 1000),
				   w->c->failure_backoff);
	}
}

/* Resolves and plans every version of @work, without the lock. */
static void resolve_all(struct wiki *w, struct wrepo *r, struct vwork *work, size_t n,
			char *git_dir, size_t size)
{
	struct wf_err err = { "" };
	bool fetched = false;
	int ret = clone_dir(w, r, git_dir, size, &fetched, &err);

	for (size_t i = 0; ret < 0 && i < n; i++) {
		work[i].ret = ret;
		work[i].err = err;
	}
	if (ret < 0)
		return;
	if (resolve_pass(git_dir, work, n, true))
		fetch_missing(w, r, git_dir, fetched, work, n);
	for (size_t i = 0; i < n; i++) {
		struct vwork *k = &work[i];

		if (k->ret < 0 || (k->recheck && !strcmp(k->commit, k->old)))
			continue;
		k->ret = wiki_repo_load_plan(w, r, git_dir, k->commit, &k->plan, &k->err);
	}
}

/*
 * Installs @k's plan as @v's page array; the array it replaces is chained
 * on *@dead if that was its last reference. w->lock held.
 */
static int install_locked(struct wiki *w, struct wrepo *r, struct wversion *v, struct vwork *k,
			  struct page_array **dead)
{
	struct page_array *a = wiki_page_array_new(r, k->plan, v->label), *old;

	if (!a)
		return wf_err_set(&k->err, -ENOMEM, "cannot install the plan of '%s'", v->label);
	old = wiki_page_array_put_locked(w, v->pages); /* lives on while in use */
	if (old) {
		old->next = *dead;
		*dead = old;
	}
	v->pages = a;
	plan_unref(v->plan);
	v->plan = TAKE_PTR(k->plan);
	v->kind = k->kind;
	snprintf(v->commit, sizeof(v->commit), "%s", v->plan->commit);
	return 0;
}

/* Records the outcome of @k; its waiters go to k->waiters. w->lock held. */
static void finish_one_locked(struct wiki *w, struct wrepo *r, struct vwork *k,
			      struct page_array **dead)
{
	struct wversion *v = k->v;

	v->recheck = false;
	if (k->ret == 0 && k->plan)
		k->ret = install_locked(w, r, v, k, dead);
	if (k->recheck) {
		if (k->ret < 0) /* a branch gone upstream: its last commit stays served */
			wiki_error_note_locked(w, v->label, k->err.msg);
		return;
	}
	if (k->ret == 0) {
		v->state = WV_READY;
		if (v->prefetch_pending)
			wiki_page_prefetch_all_locked(w, v->pages);
	} else {
		v->state = WV_FAILED;
		v->err = k->ret == -EAGAIN ? -ENOENT : k->ret;
		v->failed_at = now_ms();
		url_redact_text(k->err.msg, sizeof(k->err.msg)); /* shown in progress.json */
		free(v->error);
		v->error = strdup(k->err.msg);
		wiki_error_note_locked(w, v->label, k->err.msg);
	}
	v->prefetch_pending = false;
	k->waiters = wiki_waiter_take(&v->waiters);
	k->ret = k->ret < 0 ? v->err : 0;
}

/* Has a page of @a a job in flight? w->lock held. */
static bool array_busy_locked(const struct page_array *a)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->pages[i].job)
			return true;
	return false;
}

/*
 * Drops the least recently used versions beyond max_versions, but none
 * resolving, waited for or with a job in flight. They are chained on
 * *@gone (through ->next), their arrays' last references on *@dead.
 * w->lock held.
 */
static void evict_locked(struct wiki *w, struct wrepo *r, struct wversion **gone,
			 struct page_array **dead)
{
	while (r->nversions > w->c->max_versions) {
		struct wversion **lru = NULL, *v;
		struct page_array *a;

		for (struct wversion **at = &r->versions; *at; at = &(*at)->next) {
			v = *at;
			if (v->state == WV_RESOLVING || v->waiters || v->recheck ||
			    array_busy_locked(v->pages))
				continue;
			if (!lru || v->used_ms < (*lru)->used_ms)
				lru = at;
		}
		if (!lru)
			return; /* all in use: the next task tries again */
		v = *lru;
		*lru = v->next;
		r->nversions--;
		a = wiki_page_array_put_locked(w, TAKE_PTR(v->pages));
		if (a) {
			a->next = *dead;
			*dead = a;
		}
		v->next = *gone;
		*gone = v;
	}
}

void wiki_version_task(void *data)
{
	struct wiki_sync_task *t = data;
	struct wrepo *r = t->r;
	struct wiki *w = r->w;
	struct page_array *dead = NULL;
	struct wversion *gone = NULL, *v;
	struct vwork *work;
	char git_dir[4096] = "";
	size_t n;

	free(t);
	pthread_mutex_lock(&w->lock);
	n = collect_locked(r, &work);
	pthread_mutex_unlock(&w->lock);
	if (n)
		resolve_all(w, r, work, n, git_dir, sizeof(git_dir));

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n; i++)
		finish_one_locked(w, r, &work[i], &dead);
	if (!r->git_dir[0] && git_dir[0]) /* generation reads the clone from there */
		snprintf(r->git_dir, sizeof(r->git_dir), "%s", git_dir);
	evict_locked(w, r, &gone, &dead);
	if (gone) {
		/* told by the housekeeper: fs/ may block telling the kernel (see wiki_int.h) */
		for (v = gone; v->next; v = v->next)
			;
		v->next = w->dropped;
		w->dropped = gone;
		pthread_cond_broadcast(&w->hk_cond);
	}
	r->busy = false;
	r->versions_running = false;
	wiki_repo_next_locked(w, r);
	pthread_mutex_unlock(&w->lock);

	wiki_page_arrays_free(dead);
	for (size_t i = 0; i < n; i++) {
		if (work[i].ret < 0 && !work[i].recheck)
			wiki_error_emit(w, work[i].v->label, work[i].err.msg);
		plan_unref(work[i].plan);
	}
	for (size_t i = 0; i < n; i++)
		wiki_waiter_notify(work[i].waiters, work[i].ret);
	free(work);
}

void wiki_version_dropped_notify(struct wiki *w, struct wversion *gone, bool tell)
{
	struct wversion *v;

	while ((v = gone)) {
		gone = v->next;
		if (tell && w->ev.version_dropped)
			w->ev.version_dropped(w->ev.ctx, v->repo_idx, v->ref);
		version_free(v);
	}
}

struct wiki_waiter *wiki_version_waiters_take(struct wrepo *r, struct wiki_waiter *head)
{
	for (struct wversion *v = r->versions; v; v = v->next)
		head = wiki_waiter_chain(head, &v->waiters);
	return head;
}

void wiki_version_free_all(struct wrepo *r)
{
	struct wversion *v;

	while ((v = r->versions)) {
		r->versions = v->next;
		version_free(v); /* its array is one of w->arrays, freed with them */
	}
	r->nversions = 0;
}

/* Counts of the pages of @a for the report. w->lock held. */
static void report_pages_locked(struct wiki *w, struct page_array *a, cJSON *o)
{
	size_t n[WIKI_PAGE_FAILED + 1] = { 0 }, last_failed = 0;

	for (size_t i = 0; a && i < a->n; i++) {
		enum wiki_page_state st = wiki_page_state_locked(w, &a->pages[i]);

		n[st]++;
		/* as report.c counts: failed, or failed and not tried again since */
		last_failed +=
		    st == WIKI_PAGE_FAILED || (st == WIKI_PAGE_ABSENT && a->pages[i].failed);
	}
	cJSON_AddNumberToObject(o, "pages", a ? (double)a->n : 0);
	cJSON_AddNumberToObject(o, "ready", (double)n[WIKI_PAGE_READY]);
	cJSON_AddNumberToObject(o, "failed", (double)n[WIKI_PAGE_FAILED]);
	cJSON_AddNumberToObject(o, "last_failed", (double)last_failed);
	cJSON_AddNumberToObject(o, "queued", (double)n[WIKI_PAGE_QUEUED]);
	cJSON_AddNumberToObject(o, "running", (double)n[WIKI_PAGE_GENERATING]);
}

void *wiki_version_report_locked(struct wiki *w, struct wrepo *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (struct wversion *v = r->versions; arr && v; v = v->next) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", v->label);
		cJSON_AddStringToObject(o, "ref", v->ref);
		cJSON_AddStringToObject(o, "state", wv_state_names[v->state]);
		cJSON_AddStringToObject(o, "kind",
					v->state == WV_READY ? clone_ref_kind_name(v->kind) : "");
		cJSON_AddStringToObject(o, "commit", v->commit);
		report_pages_locked(w, v->state == WV_READY ? v->pages : NULL, o);
		if (v->state == WV_FAILED && v->error)
			cJSON_AddStringToObject(o, "error", v->error);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
