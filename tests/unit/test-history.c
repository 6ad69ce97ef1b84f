/* SPDX-License-Identifier: MIT */
/*
 * The whole history (cache/history.c, through facts.h): a fast-imported
 * repository of more than 5,000 commits is counted to its first commit,
 * two identities that .mailmap names as one person are one author, tags
 * in the history are releases (annotated with the tagger's date,
 * lightweight with the commit's) and a tag outside it is not, and only the
 * newest commits are kept whole.
 */
#include "facts.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "tap.h"

#include <string.h>

#define COMMITS 6001

static char *tmp;

/* 6,001 commits, alternating two identities of Bob, and a third person. */
static int make_repo(const char *git)
{
	char *stream;
	FILE *s;
	int r;

	if (asprintf(&stream, "%s.fi", git) < 0)
		return -1;
	s = fopen(stream, "w");
	if (!s)
		return -1;
	for (int i = 1; i <= COMMITS; i++) {
		const char *who = i == COMMITS ? "Carol <carol@example.org>"
				  : i % 2      ? "Bob <bob@old.example>"
					       : "Robert Roe <robert@new.example>";
		char msg[64];

		snprintf(msg, sizeof(msg), i == COMMITS ? "Fix `a|b` parsing" : "change %d", i);
		fprintf(s, "commit refs/heads/main\nmark :%d\nauthor %s %d +0000\n", i, who,
			1600000000 + i * 600);
		fprintf(s, "committer %s %d +0000\ndata %zu\n%s\n", who, 1600000000 + i * 600,
			strlen(msg), msg);
		if (i == 1) {
			const char *mm = "Robert Roe <robert@new.example> Bob <bob@old.example>\n";

			fx_fi_file(s, "100644", ".mailmap", 8, mm, strlen(mm));
		}
		fprintf(s, "M 100644 inline n\ndata %zu\n%d\n",
			(size_t)snprintf(NULL, 0, "%d", i) + 1, i);
	}
	/* an annotated tag, a lightweight one, and one on a commit outside the history */
	fprintf(s, "tag v1.0\nfrom :100\ntagger Rel <rel@example.org> 1700000000 +0000\n"
		   "data 4\nv1.0\n");
	fprintf(s, "reset refs/tags/v2.0\nfrom :5000\n\n");
	fprintf(s, "commit refs/heads/other\nmark :99999\n"
		   "author X <x@example.org> 1600000000 +0000\n"
		   "committer X <x@example.org> 1600000000 +0000\ndata 1\nx\n\n");
	fprintf(s, "reset refs/tags/elsewhere\nfrom :99999\n\n");
	fclose(s);
	r = fx_fast_import(git, stream);
	free(stream);
	return r;
}

int main(void)
{
	struct repo_facts *f = NULL;
	struct wf_err e = { "" };
	const struct facts_author *a;
	const struct facts_release *rel;
	const struct facts_commit *h;
	const struct facts_month *mo;
	struct facts_stats st;
	char *git = NULL, head[41], c100[41], c5000[41];
	size_t na, nr, nh, nm, total = 0;
	int r;

	gitrepo_global_init();
	tmp = fx_tmpdir("history");
	if (!tmp || asprintf(&git, "%s/h.git", tmp) < 0)
		return 1;
	ok(make_repo(git) == 0, "repository of %d commits fast-imported", COMMITS);
	if (fx_rev(git, "main", head) < 0 || fx_rev(git, "main~5901", c100) < 0 ||
	    fx_rev(git, "main~1001", c5000) < 0)
		goto out;
	r = facts_load(&f, git, head, &e);
	is_int(r, 0, "facts_load (%s)", e.msg);
	if (r < 0)
		goto out;
	facts_get_stats(f, &st);
	is_int((long)facts_commit_count(f), COMMITS, "the whole history is counted");
	ok(!st.history_truncated, "not truncated");
	na = facts_authors(f, &a);
	is_int((long)na, 2, ".mailmap: Bob's two identities are one person, and Carol");
	if (na >= 2) {
		is_str(a[0].name, "Robert Roe", "the person is named as .mailmap says");
		is_int((long)a[0].commits, COMMITS - 1, "with every commit of both identities");
		is_int((long)a[0].first, 1600000000 + 600, "first commit: the oldest");
		is_int((long)a[0].last, 1600000000 + (COMMITS - 1) * 600,
		       "last commit: the newest");
		is_str(a[1].name, "Carol", "then Carol");
	}
	nh = facts_history(f, &h);
	is_int((long)nh, FACTS_RECENT_COMMITS, "only the newest commits are kept whole");
	ok(nh && !strcmp(h[0].id, head) && !strcmp(h[0].subject, "Fix `a|b` parsing"),
	   "newest first, subject as written");
	ok(nh > 1 && !strcmp(h[1].author, "Robert Roe") && !strcmp(h[2].author, "Robert Roe"),
	   "recent commits carry the resolved name");
	nm = facts_months(f, &mo);
	for (size_t i = 0; i < nm; i++)
		total += mo[i].commits;
	is_int((long)total, COMMITS, "months add up to the whole history");
	ok(nm > 1 && (mo[0].year > mo[nm - 1].year ||
		      (mo[0].year == mo[nm - 1].year && mo[0].month > mo[nm - 1].month)),
	   "newest month first");
	nr = facts_releases(f, &rel);
	is_int((long)nr, 2, "two tags in the history are releases, the one outside is not");
	if (nr == 2) {
		is_str(rel[0].tag, "v1.0", "annotated tag first: its tagger date is the newest");
		is_int((long)rel[0].time, 1700000000, "annotated tag dated by its tagger");
		is_str(rel[0].commit, c100, "annotated tag's commit");
		is_str(rel[1].tag, "v2.0", "lightweight tag");
		is_int((long)rel[1].time, 1600000000 + 5000 * 600, "dated by its commit");
		is_str(rel[1].commit, c5000, "lightweight tag's commit");
	}
out:
	facts_unref(f);
	free(git);
	if (tmp)
		fx_sh("rm -rf '%s'", tmp);
	free(tmp);
	return done_testing();
}
