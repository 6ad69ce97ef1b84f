/* SPDX-License-Identifier: MIT */
/*
 * Progress reports: .wikifs/progress (text for people), progress.json (the
 * DESIGN contract, built with cJSON) and .wikifs/errors. Both progress forms
 * come from one snapshot taken under the wiki lock, so the numbers agree
 * with each other; the snapshot is then rendered without any lock held.
 *
 * Every message shown here goes through shown_dup(): a URL's password is
 * masked whoever wrote the message (cache/clone_cache.c masks its own; this
 * is the last gate before a person reads it).
 */
#include "report.h"
#include "ratelimit.h"
#include "url.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <string.h>
#include <time.h>

static const char *const phase_names[] = { "idle", "queued", "cloning", "fetching", "resolving" };

/* @msg as shown: a malloc'ed copy with any URL's password masked; NULL on OOM. */
static char *shown_dup(const char *msg)
{
	size_t n = strlen(msg) + 64; /* room for masks longer than what they hide */
	char *out = malloc(n);

	if (out)
		url_redact(msg, out, n);
	return out;
}

static void add_job(void *arg, const struct gen_job_info *info)
{
	struct snap *s = arg;
	struct wpage *p = info->payload;
	struct snap_job *j;

	if (s->njobs >= REPORT_MAX_JOBS)
		return;
	j = &s->jobs[s->njobs++];
	wiki_page_path(p, j->path, sizeof(j->path));
	j->state = info->state == GEN_JOB_RUNNING      ? "generating"
		   : info->state == GEN_JOB_RETRY_WAIT ? "retry-wait"
		   : info->state == GEN_JOB_PARKED     ? "in-fleet" /* another host runs it */
						       : "queued";
	j->attempt = info->attempt;
	j->elapsed_ms = info->elapsed_ms;
	j->retry_in_ms = info->retry_in_ms;
	j->prefetch = info->prio == GEN_PRIO_PREFETCH;
}

int wiki_snapshot(struct wiki *w, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->repos = calloc(MAX(w->nrepos, 1), sizeof(*s->repos));
	if (!s->repos)
		return -ENOMEM;
	s->nrepos = w->nrepos;
	s->backend = w->ops->name;
	clone_cache_stats(w->cc, &s->cl);
	s->nprov = MIN(ratelimit_status_all(s->prov, ARRAY_SIZE(s->prov)), ARRAY_SIZE(s->prov));
	page_cache_stats(w->pc, &s->pc);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nrepos; i++) {
		struct wrepo *r = &w->repos[i];
		struct snap_repo *sr = &s->repos[i];

		sr->name = r->cr->name;
		sr->state = r->state;
		memcpy(sr->commit, r->commit, sizeof(sr->commit));
		sr->tokens_in = r->tokens_in;
		sr->citations_verified = r->citations_verified;
		sr->citations_unresolved = r->citations_unresolved;
		sr->tokens_out = r->tokens_out;
		sr->generated = r->generated;
		sr->reused = r->reused;
		sr->phase = __atomic_load_n(&r->prog.phase, __ATOMIC_RELAXED);
		sr->objects = __atomic_load_n(&r->prog.objects_received, __ATOMIC_RELAXED);
		sr->objects_total = __atomic_load_n(&r->prog.objects_total, __ATOMIC_RELAXED);
		sr->bytes = __atomic_load_n(&r->prog.bytes_received, __ATOMIC_RELAXED);
		int64_t t0 = __atomic_load_n(&r->prog.started_ms, __ATOMIC_RELAXED);
		sr->clone_ms = t0 ? now_ms() - t0 : 0;
		if (r->state == WIKI_REPO_FAILED && r->error)
			sr->error = shown_dup(r->error);
		for (size_t k = 0; r->pages && k < r->pages->n; k++) {
			struct wpage *p = &r->pages->pages[k];

			switch (wiki_page_state_locked(w, p)) {
			case WIKI_PAGE_READY:
				sr->ready++;
				break;
			case WIKI_PAGE_FAILED:
				sr->failed++;
				sr->last_failed++;
				break;
			case WIKI_PAGE_QUEUED:
				sr->queued++;
				break;
			case WIKI_PAGE_GENERATING:
				sr->running++;
				break;
			case WIKI_PAGE_ABSENT:
				/* failure_backoff is over, but nothing has tried it again */
				sr->last_failed += p->failed;
				break;
			case WIKI_PAGE_STALE: /* wiki_page_info() only: not a state of the engine */
				break;
			}
		}
		sr->pages = r->pages ? r->pages->n : 0;
		sr->vers = wiki_version_report_locked(w, r);
		sr->ref_fetches = r->ref_fetches;
		for (const struct page_array *a = w->arrays; a; a = a->next)
			sr->versions += a->repo == r;
		s->ready += sr->ready;
		s->failed_now += sr->failed;
		s->last_failed += sr->last_failed;
	}
	gen_queue_foreach(w->q, REPORT_MAX_JOBS, add_job, s);
	gen_queue_stats(w->q, &s->q);
	s->generated = w->generated;
	s->reused = w->reused;
	s->cache_hits = w->cache_hits;
	s->failed = w->failed;
	s->calls = w->calls;
	s->tokens = w->tokens;
	s->uptime_ms = now_ms() - w->started_ms;
	s->first_finish_ms = w->first_finish_ms;
	s->last_finish_ms = w->last_finish_ms;
	s->m = w->metrics;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void wiki_snapshot_done(struct snap *s)
{
	for (size_t i = 0; i < s->nrepos; i++) {
		free(s->repos[i].error);
		cJSON_Delete(s->repos[i].vers);
	}
	free(s->repos);
}

/*
 * Pages per minute over the latest completions (metrics.h: a window, not
 * the time since the mount or since the first page), and seconds left.
 */
static void rate_eta(const struct snap *s, double *per_min, double *eta_s)
{
	*per_min = wiki_metrics_rate(&s->m, now_ms());
	*eta_s = -1;
	if (*per_min > 0)
		*eta_s = (double)(s->q.queued + s->q.running + s->q.retry_wait) * 60.0 / *per_min;
}

static void fmt_duration(char *out, size_t n, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, n, "%.1fs", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(out, n, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
	else
		snprintf(out, n, "%lldh%02lldm", (long long)s / 3600, (long long)(s / 60) % 60);
}

/* The totals at the head of .wikifs/progress. */
static void text_totals(struct buf *out, const struct snap *s)
{
	double rate, eta;
	char up[32], t[32];

	rate_eta(s, &rate, &eta);
	fmt_duration(up, sizeof(up), s->uptime_ms);
	buf_printf(out, "wikifs: %zu repositories, backend %s, up %s\n", s->nrepos, s->backend, up);
	buf_printf(out,
		   "pages:  %zu ready, %zu generating, %zu queued, %zu retrying, %zu failed "
		   "(generated %llu, reused %llu, cache hits %llu)\n",
		   s->ready, s->q.running, s->q.queued, s->q.retry_wait, s->failed_now,
		   (unsigned long long)s->generated, (unsigned long long)s->reused,
		   (unsigned long long)s->cache_hits);
	if (eta >= 0) {
		fmt_duration(t, sizeof(t), (int64_t)(eta * 1000));
		buf_printf(out, "rate:   %.1f pages/min, ETA %s\n", rate, t);
	} else {
		buf_printf(out, "rate:   -\n");
	}
	buf_printf(out,
		   "clones: %u active, %u queued, %llu done, %llu failed (at most %u at once)\n",
		   s->cl.active, s->cl.queued, (unsigned long long)s->cl.done,
		   (unsigned long long)s->cl.failed, s->cl.max_active_seen);
	buf_printf(out, "cache:  %llu pages, %.1f of %.1f MiB; calls %llu, tokens %llu\n\n",
		   (unsigned long long)s->pc.entries, (double)s->pc.bytes / 1048576.0,
		   (double)s->pc.max_bytes / 1048576.0, (unsigned long long)s->calls,
		   (unsigned long long)s->tokens);
}

/* The version directories of a repository, one line each, under its row. */
static void text_versions(struct buf *out, const struct snap_repo *sr)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, sr->vers)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(v, "name"));
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(v, "state"));
		const char *commit = cJSON_GetStringValue(cJSON_GetObjectItem(v, "commit"));
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(v, "kind"));

		buf_printf(out, "  %-30s %-8s %-8.8s %5.0f %5.0f %5.0f %5.0f %s\n",
			   name ? name : "?", state ? state : "?", commit && *commit ? commit : "-",
			   cJSON_GetNumberValue(cJSON_GetObjectItem(v, "pages")),
			   cJSON_GetNumberValue(cJSON_GetObjectItem(v, "ready")),
			   cJSON_GetNumberValue(cJSON_GetObjectItem(v, "running")) +
			       cJSON_GetNumberValue(cJSON_GetObjectItem(v, "queued")),
			   cJSON_GetNumberValue(cJSON_GetObjectItem(v, "failed")),
			   kind ? kind : "");
	}
}

/* The table of repositories (and their versions), then the clones under way. */
static void text_repos(struct buf *out, const struct snap *s)
{
	bool header = false;
	char t[32];

	buf_printf(out, "%-32s %-8s %-8s %5s %5s %5s %5s %9s\n", "REPOSITORY", "STATE", "COMMIT",
		   "PAGES", "READY", "RUN", "FAIL", "TOKENS");
	for (size_t i = 0; i < s->nrepos; i++) {
		const struct snap_repo *sr = &s->repos[i];

		buf_printf(out, "%-32s %-8s %-8.8s %5zu %5zu %5zu %5zu %9llu\n", sr->name,
			   wiki_repo_state_name(sr->state), sr->commit[0] ? sr->commit : "-",
			   sr->pages, sr->ready, sr->running + sr->queued, sr->failed,
			   (unsigned long long)(sr->tokens_in + sr->tokens_out));
		if (sr->error)
			buf_printf(out, "  error: %s\n", sr->error);
		text_versions(out, sr);
	}
	for (size_t i = 0; i < s->nrepos; i++) {
		const struct snap_repo *sr = &s->repos[i];

		if (sr->phase == CLONE_IDLE)
			continue;
		if (!header)
			buf_printf(out, "\nCLONES\n");
		header = true;
		fmt_duration(t, sizeof(t), sr->clone_ms);
		buf_printf(out, "  %-32s %-9s %llu/%llu objects, %.1f MiB, %s\n", sr->name,
			   phase_names[sr->phase % 5], (unsigned long long)sr->objects,
			   (unsigned long long)sr->objects_total, (double)sr->bytes / 1048576.0, t);
	}
}

/* The LLM providers (rate limits, circuit breakers), then the jobs. */
static void text_providers_jobs(struct buf *out, const struct snap *s)
{
	char t[32];

	if (s->nprov)
		buf_printf(out, "\nPROVIDERS\n");
	for (size_t i = 0; i < s->nprov; i++) {
		const struct ratelimit_status *p = &s->prov[i];

		buf_printf(out, "  %-40s %s, %llu requests, %u consecutive failures", p->name,
			   p->open ? "PAUSED (circuit open)" : "ok",
			   (unsigned long long)p->requests, p->failures);
		if (p->open) {
			fmt_duration(t, sizeof(t), MAX(p->open_until_ms - now_ms(), 0));
			buf_printf(out, ", resumes in %s", t);
		}
		if (p->per_minute)
			buf_printf(out, ", limit %u/min", p->per_minute);
		buf_addc(out, '\n');
	}
	if (s->njobs)
		buf_printf(out, "\nJOBS\n");
	for (size_t i = 0; i < s->njobs; i++) {
		const struct snap_job *j = &s->jobs[i];

		fmt_duration(t, sizeof(t), j->elapsed_ms);
		buf_printf(out, "  %-48s %-10s attempt %u  %s%s\n", j->path, j->state, j->attempt,
			   t, j->prefetch ? "  (prefetch)" : "");
	}
}

int wiki_report_text(struct wiki *w, struct buf *out)
{
	struct snap s;
	int r = wiki_snapshot(w, &s);

	if (r < 0)
		return r;
	text_totals(out, &s);
	wiki_fleet_report_text(w, out);
	text_repos(out, &s);
	text_providers_jobs(out, &s);
	wiki_snapshot_done(&s);
	return out->len >= out->max ? -E2BIG : 0;
}

/* progress.json's "repos": one object per repository (its versions given to the document). */
static void json_repos(cJSON *arr, struct snap *s)
{
	for (size_t i = 0; i < s->nrepos; i++) {
		struct snap_repo *sr = &s->repos[i];
		cJSON *jr = cJSON_CreateObject();

		cJSON_AddStringToObject(jr, "name", sr->name);
		cJSON_AddStringToObject(jr, "state", wiki_repo_state_name(sr->state));
		cJSON_AddStringToObject(jr, "commit", sr->commit);
		cJSON_AddNumberToObject(jr, "pages", (double)sr->pages);
		cJSON_AddNumberToObject(jr, "ready", (double)sr->ready);
		cJSON_AddNumberToObject(jr, "failed", (double)sr->failed);
		cJSON_AddNumberToObject(jr, "last_failed", (double)sr->last_failed);
		cJSON_AddNumberToObject(jr, "queued", (double)sr->queued);
		cJSON_AddNumberToObject(jr, "running", (double)sr->running);
		cJSON_AddNumberToObject(jr, "generated", (double)sr->generated);
		cJSON_AddNumberToObject(jr, "reused", (double)sr->reused);
		cJSON_AddNumberToObject(jr, "page_versions", (double)sr->versions);
		cJSON_AddNumberToObject(jr, "tokens_in", (double)sr->tokens_in);
		cJSON_AddNumberToObject(jr, "tokens_out", (double)sr->tokens_out);
		/* of the pages this mount generated */
		cJSON_AddNumberToObject(jr, "citations_verified", (double)sr->citations_verified);
		cJSON_AddNumberToObject(jr, "citations_unresolved",
					(double)sr->citations_unresolved);
		if (sr->error)
			cJSON_AddStringToObject(jr, "error", sr->error);
		cJSON_AddNumberToObject(jr, "ref_fetches", (double)sr->ref_fetches);
		if (sr->vers)
			cJSON_AddItemToObject(jr, "versions", sr->vers);
		else
			cJSON_AddArrayToObject(jr, "versions");
		sr->vers = NULL; /* the document owns it now */
		if (sr->phase != CLONE_IDLE) {
			cJSON *c = cJSON_AddObjectToObject(jr, "clone");

			cJSON_AddStringToObject(c, "phase", phase_names[sr->phase % 5]);
			cJSON_AddNumberToObject(c, "objects_received", (double)sr->objects);
			cJSON_AddNumberToObject(c, "objects_total", (double)sr->objects_total);
			cJSON_AddNumberToObject(c, "bytes_received", (double)sr->bytes);
			cJSON_AddNumberToObject(c, "elapsed_ms", (double)sr->clone_ms);
		}
		cJSON_AddItemToArray(arr, jr);
	}
}

/* progress.json's "jobs": what the queue holds, running ones first. */
static void json_jobs(cJSON *arr, const struct snap *s)
{
	for (size_t i = 0; i < s->njobs; i++) {
		const struct snap_job *j = &s->jobs[i];
		cJSON *jj = cJSON_CreateObject();

		cJSON_AddStringToObject(jj, "path", j->path);
		cJSON_AddStringToObject(jj, "state", j->state);
		cJSON_AddNumberToObject(jj, "attempt", j->attempt);
		cJSON_AddNumberToObject(jj, "elapsed_ms", (double)j->elapsed_ms);
		cJSON_AddStringToObject(jj, "priority", j->prefetch ? "prefetch" : "interactive");
		if (j->retry_in_ms)
			cJSON_AddNumberToObject(jj, "retry_in_ms", (double)j->retry_in_ms);
		cJSON_AddItemToArray(arr, jj);
	}
}

/* progress.json's "providers": each LLM endpoint's limits and breaker. */
static void json_providers(cJSON *arr, const struct snap *s)
{
	for (size_t i = 0; i < s->nprov; i++) {
		const struct ratelimit_status *p = &s->prov[i];
		cJSON *jp = cJSON_CreateObject();

		cJSON_AddStringToObject(jp, "name", p->name);
		cJSON_AddBoolToObject(jp, "circuit_open", p->open);
		cJSON_AddNumberToObject(jp, "resumes_in_ms",
					p->open ? (double)MAX(p->open_until_ms - now_ms(), 0) : 0);
		cJSON_AddNumberToObject(jp, "consecutive_failures", p->failures);
		cJSON_AddNumberToObject(jp, "requests", (double)p->requests);
		cJSON_AddNumberToObject(jp, "refused", (double)p->refused);
		cJSON_AddNumberToObject(jp, "rate_limit_per_min", p->per_minute);
		cJSON_AddItemToArray(arr, jp);
	}
}

int wiki_report_json(struct wiki *w, struct buf *out)
{
	struct snap s;
	double rate, eta;
	cJSON *root, *o;
	char *text;
	int r = wiki_snapshot(w, &s);

	if (r < 0)
		return r;
	rate_eta(&s, &rate, &eta);
	root = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(root, "pages");
	cJSON_AddNumberToObject(o, "queued", (double)s.q.queued);
	cJSON_AddNumberToObject(o, "running", (double)s.q.running);
	cJSON_AddNumberToObject(o, "retry_wait", (double)s.q.retry_wait);
	cJSON_AddNumberToObject(o, "ready", (double)s.ready);
	cJSON_AddNumberToObject(o, "failed", (double)s.failed_now);
	cJSON_AddNumberToObject(o, "last_failed", (double)s.last_failed);
	cJSON_AddNumberToObject(o, "generated", (double)s.generated);
	cJSON_AddNumberToObject(o, "reused", (double)s.reused);
	cJSON_AddNumberToObject(o, "cache_hits", (double)s.cache_hits);
	cJSON_AddNumberToObject(o, "failures", (double)s.failed);
	o = cJSON_AddObjectToObject(root, "clones");
	cJSON_AddNumberToObject(o, "active", s.cl.active);
	cJSON_AddNumberToObject(o, "queued", s.cl.queued);
	cJSON_AddNumberToObject(o, "done", (double)s.cl.done);
	cJSON_AddNumberToObject(o, "failed", (double)s.cl.failed);
	cJSON_AddNumberToObject(o, "max_active_seen", s.cl.max_active_seen);
	json_repos(cJSON_AddArrayToObject(root, "repos"), &s);
	json_jobs(cJSON_AddArrayToObject(root, "jobs"), &s);
	json_providers(cJSON_AddArrayToObject(root, "providers"), &s);
	o = cJSON_AddObjectToObject(root, "generation");
	cJSON_AddStringToObject(o, "backend", s.backend);
	cJSON_AddNumberToObject(o, "calls", (double)s.calls);
	cJSON_AddNumberToObject(o, "tokens", (double)s.tokens);
	cJSON_AddNumberToObject(o, "attempts", (double)s.q.attempts);
	cJSON_AddNumberToObject(o, "retried", (double)s.q.retried);
	cJSON_AddNumberToObject(o, "rate_per_min", rate);
	cJSON_AddNumberToObject(o, "eta_s", eta);
	o = cJSON_AddObjectToObject(root, "cache");
	cJSON_AddNumberToObject(o, "entries", (double)s.pc.entries);
	cJSON_AddNumberToObject(o, "bytes", (double)s.pc.bytes);
	cJSON_AddNumberToObject(o, "max_bytes", (double)s.pc.max_bytes);
	cJSON_AddNumberToObject(o, "evicted", (double)s.pc.evicted);
	cJSON_AddNumberToObject(o, "uptime_ms", (double)s.uptime_ms);
	wiki_fleet_report_json(w, root);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	wiki_snapshot_done(&s);
	if (!text)
		return -ENOMEM;
	r = buf_adds(out, text);
	if (r == 0)
		r = buf_addc(out, '\n');
	cJSON_free(text);
	return r;
}

int wiki_report_errors(struct wiki *w, struct buf *out)
{
	size_t n, start;
	int r = 0;

	pthread_mutex_lock(&w->lock);
	n = MIN(w->errors_total, (size_t)WIKI_ERRORS_MAX);
	start = (w->errors_next + WIKI_ERRORS_MAX - n) % WIKI_ERRORS_MAX;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct err_line *e = &w->errors[(start + i) % WIKI_ERRORS_MAX];
		time_t t = (time_t)(e->time_ms / 1000);
		_cleanup_free_ char *msg = shown_dup(e->msg ? e->msg : "?");
		struct tm tm;
		char ts[32];

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		r = msg ? buf_printf(out, "%s %s: %s\n", ts, e->what ? e->what : "?", msg)
			: -ENOMEM;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}
