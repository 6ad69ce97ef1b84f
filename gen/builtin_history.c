/* SPDX-License-Identifier: MIT */
/*
 * The History page (recent commits, activity by month) and the
 * Contributors page (authors grouped by name, by commits).
 */
#include "builtin_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define MAX_HISTORY 100
#define MAX_MONTHS  60
#define MAX_AUTHORS 200

/* ---- History and Contributors -------------------------------------------- */

void builtin_page_history(struct md *m, struct builtin_ctx *c)
{
	const struct facts_commit *h;
	size_t n = facts_history(c->f, &h), nm = 0;
	struct facts_stats st;
	struct {
		int ym;
		size_t n;
	} *months = calloc(n + 1, sizeof(*months));

	if (!months) {
		m->err = -ENOMEM;
		return;
	}
	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	md_printf(m, "%s%zu commits are reachable from this commit%s.\n\n",
		  st.history_truncated ? "At least " : "", n,
		  st.history_truncated ? " (only the most recent were read)" : "");
	md_printf(m, "## Recent commits\n\n| Date (UTC) | Commit | Author | Subject |\n"
		     "|---|---|---|---|\n");
	for (size_t i = 0; i < n && i < MAX_HISTORY; i++) {
		md_puts(m, "| ");
		md_date(m, h[i].time, false);
		md_puts(m, " | ");
		builtin_commit_ref(m, c, h[i].id, MDF_TABLE);
		md_puts(m, " | ");
		md_text(m, h[i].author);
		md_puts(m, " | ");
		md_text(m, h[i].subject);
		md_puts(m, " |\n");
	}
	if (n > MAX_HISTORY)
		md_printf(m, "\n... and %zu older commits.\n", n - MAX_HISTORY);

	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)h[i].time;
		struct tm tm;
		int ym;
		size_t k;

		if (!gmtime_r(&t, &tm))
			continue;
		ym = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
		for (k = 0; k < nm && months[k].ym != ym; k++)
			;
		if (k == nm)
			months[nm++].ym = ym;
		months[k].n++;
	}
	/* newest month first: insertion sort, months are few */
	for (size_t i = 1; i < nm; i++)
		for (size_t j = i; j > 0 && months[j - 1].ym < months[j].ym; j--) {
			__typeof__(*months) t = months[j];

			months[j] = months[j - 1];
			months[j - 1] = t;
		}
	if (nm) {
		md_puts(m, "\n## Activity by month\n\n| Month | Commits |\n|---|---:|\n");
		for (size_t i = 0; i < nm && i < MAX_MONTHS; i++)
			md_printf(m, "| %04d-%02d | %zu |\n", months[i].ym / 100,
				  months[i].ym % 100, months[i].n);
		if (nm > MAX_MONTHS)
			md_printf(m, "\n... and %zu earlier months.\n", nm - MAX_MONTHS);
	}
	free(months);
	builtin_footer(m, c);
}

static int cmp_author(const void *a, const void *b)
{
	const struct facts_commit *x = *(const struct facts_commit *const *)a;
	const struct facts_commit *y = *(const struct facts_commit *const *)b;
	int r = strcmp(x->author, y->author);

	if (r)
		return r;
	return x->time < y->time ? -1 : x->time > y->time;
}

struct author {
	const char *name;
	size_t n;
	int64_t first, last;
};

static int cmp_count(const void *a, const void *b)
{
	const struct author *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Authors grouped by name; *ret sorted by commits then name. */
static size_t authors(const struct facts_commit *h, size_t n, struct author **ret)
{
	const struct facts_commit **v = malloc((n + 1) * sizeof(*v));
	struct author *a = malloc((n + 1) * sizeof(*a));
	size_t na = 0;

	*ret = NULL;
	if (!v || !a) {
		free(v);
		free(a);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &h[i];
	qsort(v, n, sizeof(*v), cmp_author);
	for (size_t i = 0; i < n; i++) {
		if (na && !strcmp(a[na - 1].name, v[i]->author)) {
			a[na - 1].n++;
			a[na - 1].last = v[i]->time;
		} else {
			a[na++] = (struct author){ v[i]->author, 1, v[i]->time, v[i]->time };
		}
	}
	free(v);
	qsort(a, na, sizeof(*a), cmp_count);
	*ret = a;
	return na;
}

size_t builtin_count_authors(const struct facts_commit *h, size_t n)
{
	struct author *a;
	size_t na = authors(h, n, &a);

	free(a);
	return na;
}

void builtin_page_contributors(struct md *m, struct builtin_ctx *c)
{
	const struct facts_commit *h;
	size_t n = facts_history(c->f, &h), na;
	struct author *a;
	struct facts_stats st;

	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	na = authors(h, n, &a);
	if (n && !a) {
		m->err = -ENOMEM;
		return;
	}
	md_printf(m,
		  "%zu authors wrote the %s%zu commits reachable from this commit "
		  "(authors are grouped by name).\n\n",
		  na, st.history_truncated ? "most recent " : "", n);
	md_puts(m,
		"| # | Author | Commits | First commit | Last commit |\n|---:|---|---:|---|---|\n");
	for (size_t i = 0; i < na && i < MAX_AUTHORS; i++) {
		md_printf(m, "| %zu | ", i + 1);
		md_text(m, a[i].name);
		md_printf(m, " | %zu | ", a[i].n);
		md_date(m, a[i].first, false);
		md_puts(m, " | ");
		md_date(m, a[i].last, false);
		md_puts(m, " |\n");
	}
	if (na > MAX_AUTHORS)
		md_printf(m, "\n... and %zu more authors.\n", na - MAX_AUTHORS);
	free(a);
	builtin_footer(m, c);
}
