/* SPDX-License-Identifier: MIT */
/*
 * The prefetch client's view of progress.json (the DESIGN contract): the
 * per-repository counts summed over a path prefix. Parsed with cJSON and a
 * parse-end pointer; anything that is not there counts as zero, so a
 * daemon of a newer version with more fields still reads.
 */
#include "progress.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool under(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return n == 0 || (!strncmp(name, prefix, n) && (name[n] == '\0' || name[n] == '/'));
}

/* A repository's clone under way ("clone": phase, objects, bytes), if any. */
static void clone_add(struct progress_totals *t, const cJSON *c)
{
	if (!cJSON_IsObject(c))
		return;
	t->cloning++;
	t->clone_objects += (uint64_t)num(c, "objects_received");
	t->clone_objects_total += (uint64_t)num(c, "objects_total");
	t->clone_bytes += (uint64_t)num(c, "bytes_received");
}

/* Adds a repository or version object of progress.json to @t if it is named @prefix or below. */
static void add_view(struct progress_totals *t, const cJSON *r, const char *prefix)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(r, "state");

	if (!cJSON_IsString(name) || !cJSON_IsString(state) || !under(name->valuestring, prefix))
		return;
	t->repos++;
	if (!strcmp(state->valuestring, "failed"))
		t->repos_failed++;
	else if (strcmp(state->valuestring, "ready"))
		t->repos_pending++;
	t->pages += (size_t)num(r, "pages");
	t->ready += (size_t)num(r, "ready");
	t->failed += (size_t)num(r, "failed");
	t->last_failed += (size_t)num(r, "last_failed");
	t->queued += (size_t)num(r, "queued");
	t->running += (size_t)num(r, "running");
	clone_add(t, cJSON_GetObjectItemCaseSensitive(r, "clone"));
}

int progress_parse_totals(const char *json, size_t len, const char *prefix,
			  struct progress_totals *t)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	const cJSON *repos, *r, *gen;

	memset(t, 0, sizeof(*t));
	if (!root)
		return -EBADMSG;
	repos = cJSON_GetObjectItemCaseSensitive(root, "repos");
	cJSON_ArrayForEach(r, repos)
	{
		const cJSON *v;

		add_view(t, r, prefix);
		/* its version directories ("owner/repo@v1"), named only by a prefix with '@' */
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(r, "versions"))
		{
			if (strchr(prefix, '@'))
				add_view(t, v, prefix);
		}
	}
	gen = cJSON_GetObjectItemCaseSensitive(root, "generation");
	t->rate_per_min = num(gen, "rate_per_min");
	t->eta_s = num(gen, "eta_s");
	cJSON_Delete(root);
	return 0;
}

void progress_rate_add(struct progress_rate *r, int64_t now_ms, size_t done)
{
	size_t last = (r->n + PROGRESS_WINDOW - 1) % PROGRESS_WINDOW;

	if (r->n && r->done[last] == done)
		return; /* only changes are kept: the window is of completions */
	r->t[r->n % PROGRESS_WINDOW] = now_ms;
	r->done[r->n % PROGRESS_WINDOW] = done;
	r->n++;
}

double progress_rate_per_min(const struct progress_rate *r, int64_t now_ms)
{
	size_t oldest = r->n > PROGRESS_WINDOW ? r->n % PROGRESS_WINDOW : 0;
	size_t last = (r->n + PROGRESS_WINDOW - 1) % PROGRESS_WINDOW;

	if (r->n < 2 || r->done[last] <= r->done[oldest] || now_ms <= r->t[oldest])
		return 0;
	return (double)(r->done[last] - r->done[oldest]) * 60000.0 /
	       (double)(now_ms - r->t[oldest]);
}
