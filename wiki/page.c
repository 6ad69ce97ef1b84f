/* SPDX-License-Identifier: MIT */
/*
 * Pages: the versions of a repository's page list, and what a reader asks
 * of a page. Each plan a sync installs gets a page array, one struct wpage
 * per page of the plan, keyed by its recipe (page_cache_key). Arrays are
 * reference-counted: the repository holds its current one, every job in
 * flight and every struct wiki_page reference (an inode of the mount) hold
 * theirs, so the array a refresh replaced lives on while a job or an open
 * file uses it: a page opened at the old commit still reads, and even
 * generates, at that commit. The last reference frees it, so memory does
 * not grow with each commit a refresh brings.
 *
 * A page is READY when its key is in the page cache, QUEUED/GENERATING
 * while a job for its key is in flight (flight.c), FAILED for
 * failure_backoff seconds after its last attempt failed, ABSENT otherwise.
 * wiki_page_want() opens a ready page at once, or submits a job for it (or
 * joins the one in flight) and attaches the caller's waiter to it.
 */
#include "wiki_int.h"
#include "page_meta.h"
#include "util.h"
#include "xrepo.h"

#include <errno.h>
#include <string.h>

static const char *const page_state_names[] = { "absent", "queued", "generating",
						"ready",  "failed", "stale" };

const char *wiki_page_state_name(enum wiki_page_state s)
{
	return (unsigned)s < ARRAY_SIZE(page_state_names) ? page_state_names[s] : "?";
}

void wiki_page_path(const struct wpage *p, char *out, size_t n)
{
	const char *view = p->array->label ? p->array->label : p->repo->cr->name;

	snprintf(out, n, "%s/%s.md", view, p->pp->slug);
}

static struct wpage *wpage_of(struct wiki_page *p)
{
	return (struct wpage *)p;
}

/*
 * The generation options that change a page's bytes, for the recipe: the
 * source budget and answer length of a prompt, the command run.
 */
static void gen_options(const struct conf *c, char *out, size_t n)
{
	switch (c->backend) {
	case BACKEND_OPENAI:
	case BACKEND_ANTHROPIC:
		snprintf(out, n, "prompt_budget=%llu max_tokens=%u",
			 (unsigned long long)c->prompt_budget, c->max_tokens);
		break;
	case BACKEND_COMMAND:
		snprintf(out, n, "prompt_budget=%llu command=%s",
			 (unsigned long long)c->prompt_budget, c->command ? c->command : "");
		break;
	default:
		out[0] = '\0';
	}
}

/* A new array with one reference (its owner's), listed. w->lock held. */
struct page_array *wiki_page_array_new(struct wrepo *r, struct plan *plan, const char *label)
{
	struct page_array *a = calloc(1, sizeof(*a) + plan->n * sizeof(struct wpage));
	const struct conf *c = r->w->c;
	char options[4200];

	if (!a)
		return NULL;
	gen_options(c, options, sizeof(options));
	if (label && !(a->label = strdup(label))) {
		free(a);
		return NULL;
	}
	a->repo = r;
	a->refs = 1;
	a->group = xrepo_ref(r->group);
	a->next = r->w->arrays;
	if (a->next)
		a->next->prev = a;
	r->w->arrays = a;
	a->n = plan->n;
	for (size_t i = 0; i < plan->n; i++) {
		struct wpage *p = &a->pages[i];
		char digest[65];
		struct page_key_parts parts = {
			.repo = r->cr->name,
			.url = r->id_url,
			.commit = plan->commit,
			.slug = plan->pages[i].slug,
			.kind = plan_kind_name(plan->pages[i].kind),
			.arg = plan->pages[i].arg,
			.backend = r->w->ops->name,
			.model = c->model,
			.prompt_version = r->w->ops->prompt_version,
			.options = options,
			.language = c->language,
		};

		if (a->group) {
			wiki_group_page_digest(a->group, plan, &plan->pages[i], digest);
			parts.commit = digest;
		}
		p->repo = r;
		p->array = a;
		p->pp = &plan->pages[i];
		p->pages_plan = plan_ref(plan);
		page_recipe_key(&p->recipe, &parts);
		page_cache_key(&p->key, &parts);
	}
	return a;
}

/* Frees an array that is unlisted already (no lock needed). NULL is fine. */
void wiki_page_array_free(struct page_array *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->pages[i].error);
		plan_unref(a->pages[i].pages_plan);
	}
	xrepo_unref(a->group);
	free(a->label);
	free(a);
}

/*
 * Drops a reference to @a; w->lock held. Returns @a, unlisted, when that was
 * the last one: the caller frees it with wiki_page_array_free() after unlocking.
 */
struct page_array *wiki_page_array_put_locked(struct wiki *w, struct page_array *a)
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

struct wpage *wiki_page_find_locked(struct wrepo *r, const char *slug)
{
	if (!r->pages)
		return NULL;
	for (size_t i = 0; i < r->pages->n; i++)
		if (!strcmp(r->pages->pages[i].pp->slug, slug))
			return &r->pages->pages[i];
	return NULL;
}

enum wiki_page_state wiki_page_state_locked(struct wiki *w, struct wpage *p)
{
	struct wpage *o = wiki_flight_owner(w, p);

	if (o)
		return o->running || o->parked ? WIKI_PAGE_GENERATING : WIKI_PAGE_QUEUED;
	if (page_cache_lookup(w->pc, &p->key, NULL) == 0)
		return WIKI_PAGE_READY;
	if (p->failed && wiki_error_fresh(w, p->failed_at))
		return WIKI_PAGE_FAILED;
	return WIKI_PAGE_ABSENT;
}

/* Submits or joins the job of the page's key. w->lock held. 1 = queued/attached. */
int wiki_page_submit_locked(struct wiki *w, struct wpage *p, enum gen_prio prio,
			    struct wiki_waiter *wt)
{
	struct wpage *o = wiki_flight_owner(w, p);
	struct gen_job *job;
	char why[256];
	int r;

	if (wt && wt->cancelled)
		return -EINTR;
	if (o) {
		if (prio == GEN_PRIO_INTERACTIVE) {
			gen_queue_promote(w->q, o->job);
			o->urgent = true;
		}
		if (wt)
			wiki_waiter_attach(&o->waiters, wt);
		return 1;
	}
	if (p->failed && wiki_error_fresh(w, p->failed_at))
		return -EIO;
	/* with a shared store the page may cost nothing: the job checks before generating */
	if (!w->fleet && wiki_budget_exhausted_locked(w, why, sizeof(why))) {
		if (!p->error || strcmp(p->error, why)) {
			char path[4096];

			/* said once per page, not at every open */
			free(p->error);
			p->error = strdup(why);
			wiki_page_path(p, path, sizeof(path));
			wiki_error_note_locked(w, path, why);
			wiki_error_emit(w, path, why); /* logs only; takes no wiki lock */
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
	wiki_flight_start(w, p, job);
	p->urgent = prio == GEN_PRIO_INTERACTIVE;
	p->array->refs++; /* the job's, dropped when it finishes or is cancelled */
	p->failed = false;
	if (wt)
		wiki_waiter_attach(&p->waiters, wt);
	return 1;
}

void wiki_page_prefetch_all_locked(struct wiki *w, struct page_array *a)
{
	for (size_t i = 0; a && i < a->n; i++) {
		struct wpage *p = &a->pages[i];

		if (!wiki_flight_owner(w, p) && page_cache_lookup(w->pc, &p->key, NULL) < 0)
			wiki_page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL);
	}
}

struct wiki_page *wiki_page_ref(struct wiki *w, struct wiki_page *p)
{
	pthread_mutex_lock(&w->lock);
	wpage_of(p)->array->refs++;
	pthread_mutex_unlock(&w->lock);
	return p;
}

void wiki_page_unref(struct wiki *w, struct wiki_page *p)
{
	struct page_array *dead;

	if (!p)
		return;
	pthread_mutex_lock(&w->lock);
	dead = wiki_page_array_put_locked(w, wpage_of(p)->array);
	pthread_mutex_unlock(&w->lock);
	wiki_page_array_free(dead);
}

const char *wiki_page_slug(const struct wiki_page *p)
{
	return ((const struct wpage *)p)->pp->slug;
}

int64_t wiki_page_time(const struct wiki_page *p)
{
	return ((const struct wpage *)p)->array->commit_time;
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
	o->offset = PAGE_CACHE_HDR_LEN;
	o->key = key;
	return 0;
}

/*
 * stale_pages = serve: the newest version of @p made at another commit,
 * opened, while @p is made at its own at prefetch priority. 0 with @o, or
 * -ENOENT when there is none (then the open waits, as without the option).
 */
static int open_stale(struct wiki *w, struct wpage *p, struct wiki_open *o)
{
	struct page_key entry;
	char made_at[41];
	int r;

	if (page_manifest_latest(w->pc, &p->recipe, &entry, made_at) < 0 ||
	    !memcmp(entry.hex, p->key.hex, SHA256_HEX))
		return -ENOENT;
	r = page_cache_open(w->pc, &entry, &o->fd, &o->size);
	if (r < 0)
		return -ENOENT;
	o->offset = PAGE_CACHE_HDR_LEN;
	o->key = entry;
	pthread_mutex_lock(&w->lock);
	if (!w->stopping && wiki_page_submit_locked(w, p, GEN_PRIO_PREFETCH, NULL) == 1) {
		snprintf(p->stale_commit, sizeof(p->stale_commit), "%s", made_at);
		w->cache_hits++;
		r = 0;
	} else {
		r = -ENOENT; /* not being made: no stale page for ever */
	}
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		wiki_page_close(w, o);
	return r;
}

int wiki_page_want(struct wiki *w, struct wiki_page *page, enum gen_prio prio,
		   struct wiki_waiter *wt, struct wiki_open *o)
{
	struct wpage *p = wpage_of(page);
	int r;

	pthread_mutex_lock(&w->lock);
	if (!wiki_flight_owner(w, p) && page_cache_lookup(w->pc, &p->key, NULL) == 0) {
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
	if (o && w->c->stale_pages == STALE_SERVE && !w->stopping) {
		pthread_mutex_unlock(&w->lock);
		if (open_stale(w, p, o) == 0)
			return 0;
		pthread_mutex_lock(&w->lock);
	}
	if (w->stopping)
		r = -ESHUTDOWN;
	else
		r = wiki_page_submit_locked(w, p, prio, wt);
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
	if (info->state != WIKI_PAGE_READY && info->state != WIKI_PAGE_FAILED &&
	    p->stale_commit[0]) {
		info->state = WIKI_PAGE_STALE; /* served as made at stale_commit */
		snprintf(info->commit, sizeof(info->commit), "%s", p->stale_commit);
	}
	pthread_mutex_unlock(&w->lock);
}

char *wiki_page_sources(struct wiki *w, struct wiki_page *page)
{
	struct wpage *p = wpage_of(page);
	char *out = NULL;
	struct buf b;
	int r;

	buf_init(&b, WIKI_SOURCES_MAX - 1);
	r = page_manifest_sources(w->pc, &p->recipe, &p->key, &b);
	if (r == -E2BIG) /* cut at a line: what is left is whole */
		while (b.len > 0 && b.data[b.len - 1] != '\n')
			b.len--;
	if ((r == 0 || r == -E2BIG) && b.len)
		out = strndup(b.data, b.len);
	buf_done(&b);
	return out;
}

char *wiki_page_recorded(struct wiki *w, struct wiki_page *page, const char *name)
{
	struct wpage *p = wpage_of(page);
	struct page_meta m;
	char *val = NULL;
	size_t len;

	if (strcmp(name, "sources") && strcmp(name, "citations"))
		return NULL;
	/* the key never changes: no lock */
	if (page_meta_load(w->c->cache_dir, &p->key, &m) < 0)
		return NULL;
	if (!strcmp(name, "citations") && m.has_citations) {
		if (asprintf(&val, "%u verified, %u unresolved", m.verified, m.unresolved) < 0)
			val = NULL;
	} else if (!strcmp(name, "sources") && m.sources) {
		len = strlen(m.sources);
		while (len > 0 && m.sources[len - 1] == '\n')
			m.sources[--len] = '\0';
		val = TAKE_PTR(m.sources);
	}
	page_meta_done(&m);
	return val;
}
