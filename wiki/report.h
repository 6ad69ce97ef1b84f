/* SPDX-License-Identifier: MIT */
/*
 * One snapshot of the engine's numbers, taken under the wiki's lock and
 * rendered without it: by report.c (.wikifs/progress, progress.json) and
 * by metrics.c (.wikifs/metrics), so every form agrees with the others.
 * Internal to wiki/.
 */
#ifndef WIKIFS_WIKI_REPORT_H
#define WIKIFS_WIKI_REPORT_H

#include "wiki_int.h"
#include "ratelimit.h"

#include <cJSON.h>

#define REPORT_MAX_JOBS 200

struct snap_repo {
	const char *name;
	enum wiki_repo_state state;
	char commit[41];
	size_t pages, ready, failed, last_failed, queued, running;
	size_t versions; /* live page arrays: the current one, and older ones in use */
	uint64_t tokens_in, tokens_out, generated, reused;
	uint64_t citations_verified, citations_unresolved;
	int phase;
	uint64_t objects, objects_total, bytes;
	int64_t clone_ms;
	char *error;
	cJSON *vers;	      /* its version directories (version.c), NULL once given away */
	uint64_t ref_fetches; /* fetches made for refs the clone lacked */
};

struct snap_job {
	char path[512];
	const char *state;
	unsigned attempt;
	int64_t elapsed_ms, retry_in_ms;
	bool prefetch;
};

struct snap {
	size_t nrepos;
	struct snap_repo *repos;
	size_t njobs;
	struct snap_job jobs[REPORT_MAX_JOBS];
	struct gen_queue_stats q;
	struct clone_stats cl;
	struct page_cache_stats pc;
	uint64_t generated, reused, cache_hits, failed, calls, tokens;
	size_t ready, failed_now, last_failed;
	int64_t uptime_ms, first_finish_ms, last_finish_ms;
	struct wiki_metrics m;
	const char *backend;
	size_t nprov;
	struct ratelimit_status prov[8];
};

/* Fills @s (its repository array is allocated: wiki_snapshot_done() frees it). 0 or -ENOMEM. */
int wiki_snapshot(struct wiki *w, struct snap *s);
void wiki_snapshot_done(struct snap *s);

#endif
