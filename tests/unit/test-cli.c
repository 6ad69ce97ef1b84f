/* SPDX-License-Identifier: MIT */
/*
 * cli/progress: the prefetch client's sums over progress.json. Repositories
 * at or below a prefix count and their neighbours with a longer name do
 * not ("own" is not under "ow"); the states split into pending, ready and
 * failed; missing or mistyped fields count as zero; text that is not JSON
 * is refused with -EBADMSG and zeroed totals; trailing bytes past @len are
 * not read; a clone under way is summed. The rate of a prefetch run counts
 * only what finished during the run, over a sliding window.
 */
#include "progress.h"
#include "tap.h"

#include <errno.h>
#include <string.h>

static const char progress[] =
    "{\"repos\": ["
    "{\"name\": \"alice/one\", \"state\": \"ready\", \"pages\": 10, \"ready\": 6,"
    " \"failed\": 1, \"last_failed\": 2, \"queued\": 1, \"running\": 1},"
    "{\"name\": \"alice/two\", \"state\": \"cloning\", \"pages\": 4, \"ready\": 0,"
    " \"queued\": 4, \"clone\": {\"phase\": \"cloning\", \"objects_received\": 30,"
    " \"objects_total\": 120, \"bytes_received\": 4096}},"
    "{\"name\": \"alicent/x\", \"state\": \"failed\", \"pages\": 7, \"ready\": 7},"
    "{\"name\": \"bob/three\", \"state\": \"failed\", \"pages\": \"many\"},"
    "{\"state\": \"ready\", \"pages\": 100}"
    "], \"generation\": {\"rate_per_min\": 2.5, \"eta_s\": 120}}";

static void test_all(void)
{
	struct progress_totals t;

	is_int(progress_parse_totals(progress, strlen(progress), "", &t), 0, "all: parsed");
	is_int((int)t.repos, 4, "all: four named repositories (the nameless one is skipped)");
	is_int((int)t.repos_pending, 1, "all: one still cloning");
	is_int((int)t.repos_failed, 2, "all: two failed");
	is_int((int)t.pages, 21, "all: pages summed (a string counts as 0)");
	is_int((int)t.ready, 13, "all: ready summed");
	is_int((int)t.failed, 1, "all: failed summed");
	is_int((int)t.last_failed, 2, "all: last_failed summed");
	is_int((int)t.queued, 5, "all: queued summed");
	is_int((int)t.running, 1, "all: running summed");
	ok(t.rate_per_min == 2.5 && t.eta_s == 120, "all: rate and ETA from generation");
	ok(t.cloning == 1 && t.clone_objects == 30 && t.clone_objects_total == 120 &&
	       t.clone_bytes == 4096,
	   "all: the clone under way summed");
}

/* The rate of a run: completions it saw, over the window, measured up to now. */
static void test_rate(void)
{
	struct progress_rate r = { 0 };

	progress_rate_add(&r, 1000, 50); /* 50 pages were ready before this run */
	ok(progress_rate_per_min(&r, 2000) == 0, "rate: nothing finished in this run: 0");
	progress_rate_add(&r, 2000, 50);
	progress_rate_add(&r, 31000, 51);
	progress_rate_add(&r, 61000, 52);
	ok(progress_rate_per_min(&r, 61000) == 2.0,
	   "rate: 2 pages in the 60 s since the run began, not 52");
	ok(progress_rate_per_min(&r, 121000) == 1.0, "rate: falls while nothing finishes");
	for (int i = 0; i < 2 * PROGRESS_WINDOW; i++)
		progress_rate_add(&r, 1000000 + i * 1000, 100 + (size_t)i);
	/* the window holds the last PROGRESS_WINDOW changes: one page a second */
	ok(progress_rate_per_min(&r, 1000000 + (2 * PROGRESS_WINDOW - 1) * 1000) ==
	       (double)(PROGRESS_WINDOW - 1) * 60000.0 / ((PROGRESS_WINDOW - 1) * 1000.0),
	   "rate: only the latest completions count (a sliding window)");
}

static void test_prefix(void)
{
	struct progress_totals t;

	is_int(progress_parse_totals(progress, strlen(progress), "alice", &t), 0, "owner: parsed");
	is_int((int)t.repos, 2, "owner: alice's two, not alicent's");
	is_int((int)t.pages, 14, "owner: their pages only");
	is_int((int)t.repos_failed, 0, "owner: none of them failed");
	is_int(progress_parse_totals(progress, strlen(progress), "alice/one", &t), 0,
	       "repository: parsed");
	ok(t.repos == 1 && t.pages == 10 && t.ready == 6 && t.queued == 1,
	   "repository: that one alone");
	is_int(progress_parse_totals(progress, strlen(progress), "alice/on", &t), 0,
	       "partial name: parsed");
	is_int((int)t.repos, 0, "partial name: matches nothing");
}

static void test_bad(void)
{
	struct progress_totals t;
	static const char cut[] = "{\"repos\": [{\"name\": \"a/b\", \"state\": \"ready\", "
				  "\"pages\": 3}]}GARBAGE";

	memset(&t, 0xff, sizeof(t));
	is_int(progress_parse_totals("{\"repos\": [", 11, "", &t), -EBADMSG, "truncated: -EBADMSG");
	ok(t.repos == 0 && t.pages == 0, "truncated: totals zeroed");
	is_int(progress_parse_totals("", 0, "", &t), -EBADMSG, "empty: -EBADMSG");
	is_int(progress_parse_totals(cut, strlen(cut) - 7, "", &t), 0,
	       "only @len bytes read: trailing bytes ignored");
	is_int((int)t.pages, 3, "only @len bytes read: the repository counted");
	is_int(progress_parse_totals("{}", 2, "", &t), 0, "no repos: parsed");
	ok(t.repos == 0 && t.rate_per_min == 0, "no repos: all zero");
}

int main(void)
{
	test_all();
	test_prefix();
	test_bad();
	test_rate();
	return done_testing();
}
