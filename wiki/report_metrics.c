/* SPDX-License-Identifier: MIT */
/*
 * .wikifs/metrics in the Prometheus text exposition format (version
 * 0.0.4): one HELP and one TYPE line per metric family, then its samples,
 * for node_exporter's textfile collector or any scraper. Rendered from one
 * report snapshot (report.h), so it agrees with .wikifs/progress. Label
 * values are fixed words (metrics.c), never user strings, so none needs
 * escaping.
 */
#include "report.h"
#include "util.h"

#include <errno.h>

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct buf *out, const char *name, const char *labels, double v)
{
	buf_printf(out, "%s%s%s%s %.15g\n", name, labels ? "{" : "", labels ? labels : "",
		   labels ? "}" : "", v);
}

/* Pages of the current plans by state, and repositories by state. */
static void render_states(struct buf *out, const struct snap *s)
{
	size_t pages = 0, queued = 0, running = 0, repos[4] = { 0 };

	for (size_t i = 0; i < s->nrepos; i++) {
		pages += s->repos[i].pages;
		queued += s->repos[i].queued;
		running += s->repos[i].running;
		repos[s->repos[i].state % 4]++;
	}
	family(out, "wikifs_pages", "gauge", "Pages of the repositories' current plans, by state.");
	buf_printf(out, "wikifs_pages{state=\"absent\"} %zu\n",
		   pages - MIN(pages, s->ready + s->failed_now + queued + running));
	buf_printf(out, "wikifs_pages{state=\"queued\"} %zu\n", queued);
	buf_printf(out, "wikifs_pages{state=\"generating\"} %zu\n", running);
	buf_printf(out, "wikifs_pages{state=\"ready\"} %zu\n", s->ready);
	buf_printf(out, "wikifs_pages{state=\"failed\"} %zu\n", s->failed_now);
	family(out, "wikifs_repositories", "gauge", "Configured repositories, by state.");
	for (int st = 0; st < 4; st++)
		buf_printf(out, "wikifs_repositories{state=\"%s\"} %zu\n",
			   wiki_repo_state_name((enum wiki_repo_state)st), repos[st]);
	family(out, "wikifs_queue_depth", "gauge", "Generation jobs in the queue, by state.");
	buf_printf(out, "wikifs_queue_depth{state=\"queued\"} %zu\n", s->q.queued);
	buf_printf(out, "wikifs_queue_depth{state=\"running\"} %zu\n", s->q.running);
	buf_printf(out, "wikifs_queue_depth{state=\"retry_wait\"} %zu\n", s->q.retry_wait);
}

/* Generation: completions, failures, reuses, calls, tokens, errors by class. */
static void render_generation(struct buf *out, const struct snap *s)
{
	char labels[64];

	family(out, "wikifs_generations_total", "counter", "Pages generated since mount.");
	sample(out, "wikifs_generations_total", NULL, (double)s->generated);
	family(out, "wikifs_generation_attempts_total", "counter",
	       "Generation attempts since mount, retries included.");
	sample(out, "wikifs_generation_attempts_total", NULL, (double)s->q.attempts);
	family(out, "wikifs_generation_failures_total", "counter",
	       "Pages whose generation failed after its retries.");
	sample(out, "wikifs_generation_failures_total", NULL, (double)s->failed);
	family(out, "wikifs_reuses_total", "counter",
	       "Pages of a new commit taken over unchanged, without generating.");
	sample(out, "wikifs_reuses_total", NULL, (double)s->reused);
	family(out, "wikifs_provider_errors_total", "counter",
	       "Failed generation attempts, by class of cause.");
	for (int c = 0; c < WIKI_ERR_MAX; c++) {
		snprintf(labels, sizeof(labels), "class=\"%s\"", wiki_err_class_names[c]);
		sample(out, "wikifs_provider_errors_total", labels, (double)s->m.errors[c]);
	}
	family(out, "wikifs_model_calls_total", "counter", "Model calls made since mount.");
	sample(out, "wikifs_model_calls_total", NULL, (double)s->calls);
	family(out, "wikifs_tokens_total", "counter", "Model tokens used since mount.");
	sample(out, "wikifs_tokens_total", NULL, (double)s->tokens);
}

/* The page cache, and clones with their duration histogram. */
static void render_caches(struct buf *out, const struct snap *s)
{
	uint64_t cum = 0;
	char labels[64];

	family(out, "wikifs_cache_hits_total", "counter", "Opens answered from the page cache.");
	sample(out, "wikifs_cache_hits_total", NULL, (double)s->cache_hits);
	family(out, "wikifs_page_cache_entries", "gauge", "Pages in the page cache.");
	sample(out, "wikifs_page_cache_entries", NULL, (double)s->pc.entries);
	family(out, "wikifs_page_cache_bytes", "gauge", "Bytes in the page cache.");
	sample(out, "wikifs_page_cache_bytes", NULL, (double)s->pc.bytes);
	family(out, "wikifs_page_cache_max_bytes", "gauge", "The page cache's budget in bytes.");
	sample(out, "wikifs_page_cache_max_bytes", NULL, (double)s->pc.max_bytes);
	family(out, "wikifs_page_cache_evictions_total", "counter", "Pages evicted (LRU).");
	sample(out, "wikifs_page_cache_evictions_total", NULL, (double)s->pc.evicted);
	family(out, "wikifs_clones_total", "counter",
	       "Clones and fetches over the network, by result.");
	sample(out, "wikifs_clones_total", "result=\"done\"", (double)s->cl.done);
	sample(out, "wikifs_clones_total", "result=\"failed\"", (double)s->cl.failed);
	family(out, "wikifs_clones_active", "gauge", "Clones and fetches running now.");
	sample(out, "wikifs_clones_active", NULL, s->cl.active);
	family(out, "wikifs_clones_queued", "gauge", "Clones and fetches waiting their turn.");
	sample(out, "wikifs_clones_queued", NULL, s->cl.queued);
	family(out, "wikifs_clone_duration_seconds", "histogram",
	       "Time of each successful clone or fetch over the network.");
	for (int b = 0; b < WIKI_CLONE_BUCKETS; b++) {
		cum += s->m.clone_buckets[b];
		snprintf(labels, sizeof(labels), "le=\"%g\"", wiki_clone_le[b]);
		sample(out, "wikifs_clone_duration_seconds_bucket", labels, (double)cum);
	}
	sample(out, "wikifs_clone_duration_seconds_bucket", "le=\"+Inf\"",
	       (double)s->m.clone_count);
	sample(out, "wikifs_clone_duration_seconds_sum", NULL, s->m.clone_seconds);
	sample(out, "wikifs_clone_duration_seconds_count", NULL, (double)s->m.clone_count);
	family(out, "wikifs_uptime_seconds", "gauge", "Seconds since the mount started.");
	sample(out, "wikifs_uptime_seconds", NULL, (double)s->uptime_ms / 1000.0);
}

int wiki_report_metrics(struct wiki *w, struct buf *out)
{
	struct snap s;
	int r = wiki_snapshot(w, &s);

	if (r < 0)
		return r;
	render_states(out, &s);
	render_generation(out, &s);
	render_caches(out, &s);
	wiki_snapshot_done(&s);
	return out->len >= out->max ? -E2BIG : 0;
}
