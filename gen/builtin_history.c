/* SPDX-License-Identifier: MIT */
/*
 * The History page (the whole history's figures, recent commits, releases,
 * activity by month) and the Contributors page (every person of the whole
 * history, .mailmap applied, by commits). The figures are aggregated by
 * facts (cache/history.c) while the history is walked; this file only
 * writes them.
 */
#include "builtin_int.h"

#include <errno.h>
#include <string.h>

#define MAX_HISTORY  100
#define MAX_MONTHS   60
#define MAX_AUTHORS  200
#define MAX_RELEASES 100

/* ---- History ------------------------------------------------------------------ */

static void recent_commits(struct md *m, const struct builtin_ctx *c)
{
	const struct facts_commit *h;
	size_t n = facts_history(c->f, &h), total = facts_commit_count(c->f);

	md_puts(m, "## Recent commits\n\n| Date (UTC) | Commit | Author | Subject |\n"
		   "|---|---|---|---|\n");
	for (size_t i = 0; i < n && i < MAX_HISTORY; i++) {
		md_puts(m, "| ");
		md_date(m, h[i].time, false);
		md_puts(m, " | ");
		builtin_commit_ref(m, c, h[i].id, MDF_TABLE);
		md_puts(m, " | ");
		md_text(m, h[i].author);
		md_puts(m, " | ");
		md_text_spans(m, h[i].subject, MDF_TABLE);
		md_puts(m, " |\n");
	}
	if (total > MIN(n, (size_t)MAX_HISTORY))
		md_printf(m, "\n... and %zu older commits.\n", total - MIN(n, (size_t)MAX_HISTORY));
}

static void releases(struct md *m, const struct builtin_ctx *c)
{
	const struct facts_release *r;
	size_t n = facts_releases(c->f, &r);

	if (n == 0)
		return;
	md_printf(m,
		  "\n## Releases\n\n%zu tags point into this history; the newest first.\n\n"
		  "| Tag | Date (UTC) | Commit |\n|---|---|---|\n",
		  n);
	for (size_t i = 0; i < n && i < MAX_RELEASES; i++) {
		md_puts(m, "| ");
		md_code(m, r[i].tag, MDF_TABLE);
		md_puts(m, " | ");
		md_date(m, r[i].time, false);
		md_puts(m, " | ");
		builtin_commit_ref(m, c, r[i].commit, MDF_TABLE);
		md_puts(m, " |\n");
	}
	if (n > MAX_RELEASES)
		md_printf(m, "\n... and %zu older tags.\n", n - MAX_RELEASES);
}

static void months(struct md *m, const struct builtin_ctx *c)
{
	const struct facts_month *mo;
	size_t n = facts_months(c->f, &mo);

	if (n == 0)
		return;
	md_puts(m, "\n## Activity by month\n\n| Month | Commits |\n|---|---:|\n");
	for (size_t i = 0; i < n && i < MAX_MONTHS; i++)
		md_printf(m, "| %04d-%02d | %zu |\n", mo[i].year, mo[i].month, mo[i].commits);
	if (n > MAX_MONTHS)
		md_printf(m, "\n... and %zu earlier months with commits.\n", n - MAX_MONTHS);
}

void builtin_page_history(struct md *m, struct builtin_ctx *c)
{
	const struct facts_month *mo;
	size_t total = facts_commit_count(c->f), nm = facts_months(c->f, &mo);
	const struct facts_author *a;
	size_t na = facts_authors(c->f, &a);
	struct facts_stats st;

	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	md_printf(m, "%s%zu commits by %zu people are reachable from this commit",
		  st.history_truncated ? "At least " : "", total, na);
	if (nm)
		md_printf(m, ", from %04d-%02d to %04d-%02d", mo[nm - 1].year, mo[nm - 1].month,
			  mo[0].year, mo[0].month);
	md_puts(m, st.history_truncated ? " (the history could not be read to its end).\n\n"
					: ".\n\n");
	recent_commits(m, c);
	releases(m, c);
	months(m, c);
	builtin_footer(m, c);
}

/* ---- Contributors ---------------------------------------------------------- */

void builtin_page_contributors(struct md *m, struct builtin_ctx *c)
{
	const struct facts_author *a;
	size_t na = facts_authors(c->f, &a), total = facts_commit_count(c->f);
	struct facts_stats st;

	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	md_printf(m,
		  "%zu people wrote the %s%zu commits reachable from this commit (one person per "
		  "name, after the repository's `.mailmap`).\n\n",
		  na, st.history_truncated ? "at least " : "", total);
	md_puts(m,
		"| # | Author | Commits | First commit | Last commit |\n|---:|---|---:|---|---|\n");
	for (size_t i = 0; i < na && i < MAX_AUTHORS; i++) {
		md_printf(m, "| %zu | ", i + 1);
		md_text(m, a[i].name);
		md_printf(m, " | %zu | ", a[i].commits);
		md_date(m, a[i].first, false);
		md_puts(m, " | ");
		md_date(m, a[i].last, false);
		md_puts(m, " |\n");
	}
	if (na > MAX_AUTHORS)
		md_printf(m, "\n... and %zu more people.\n", na - MAX_AUTHORS);
	builtin_footer(m, c);
}
