/* SPDX-License-Identifier: MIT */
/*
 * Page manifests: the text encoding (round trip, escaping, every malformed
 * form refused), matching against real commits made with git (blob changed,
 * file added to a listed directory, absent path created, file deleted,
 * unrelated change), facts, and the stored manifest in a real page cache
 * (record, reuse of verified bytes only, bounds, corrupt manifest dropped).
 */
#include "facts.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "page_cache.h"
#include "page_manifest.h"
#include "plan.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *tmp, *work, *bare;

static const char *const deps_of_page[] = { "src/a.c", "src", "docs/missing.md" };

static void key_of(struct page_key *k, const char *s)
{
	uint8_t d[SHA256_LEN];

	sha256_digest(s, strlen(s), d);
	sha256_to_hex(d, k->hex);
}

/* A commit of the work tree after @cmd (shell, in it); its id in @out. */
static int commit_after(const char *cmd, char out[41])
{
	if (fx_sh("cd '%s' && %s && git add -A && git commit -q --allow-empty -m c && "
		  "git push -q '%s' HEAD:main",
		  work, cmd, bare) < 0)
		return -1;
	return fx_rev(bare, "main", out);
}

static struct page_deps *deps_new(void)
{
	struct page_deps *d;

	if (page_deps_new(&d) < 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(deps_of_page); i++)
		page_deps_path(d, deps_of_page[i]);
	return d;
}

static void test_codec(void)
{
	struct page_manifest m = { 0 }, back;
	struct page_dep deps[3] = {
		{ PAGE_DEP_BLOB, "dir with space/a%b\nc", "" },
		{ PAGE_DEP_ABSENT, "gone", "" },
		{ PAGE_DEP_TREE, "", "" },
	};
	struct page_key recipe, other;
	struct buf b, b2;
	char *bad;

	key_of(&recipe, "recipe");
	key_of(&other, "other");
	memset(deps[0].value, 'a', 40);
	memset(deps[2].value, 'b', 40);
	m.recipe = recipe;
	m.n = 1;
	snprintf(m.results[0].commit, 41, "%040d", 7);
	m.results[0].time = 1700000000;
	m.results[0].nentries = 1;
	key_of(&m.results[0].entries[0], "entry");
	m.results[0].ndeps = 3;
	m.results[0].deps = deps;
	buf_init(&b, 1 << 20);
	buf_init(&b2, 1 << 20);
	is_int(page_manifest_encode(&m, &b), 0, "encoded");
	ok(strstr(b.data, " dir%20with%20space/a%25b%0ac\n") != NULL,
	   "a path's spaces, newlines and percent signs are escaped");
	is_int(page_manifest_decode(&back, &recipe, b.data, b.len), 0, "decoded");
	is_int(back.n, 1, "one result");
	is_int(back.results[0].ndeps, 3, "three dependencies");
	is_str(back.results[0].deps[0].name, "dir with space/a%b\nc", "odd path round trip");
	is_int(back.results[0].deps[1].kind, PAGE_DEP_ABSENT, "absent round trip");
	is_str(back.results[0].deps[2].name, "", "root tree round trip");
	is_int(back.results[0].time, 1700000000, "time round trip");
	page_manifest_encode(&back, &b2);
	is_str(b2.data, b.data, "re-encoding gives the same text");
	page_manifest_done(&back);

	is_int(page_manifest_decode(&back, &other, b.data, b.len), -EBADMSG,
	       "another recipe's manifest is refused");
	is_int(page_manifest_decode(&back, &recipe, b.data, b.len - 4), -EBADMSG,
	       "a manifest cut short is refused");
	bad = strdup(b.data);
	*strstr(bad, "dep blob") = 'x';
	is_int(page_manifest_decode(&back, &recipe, bad, strlen(bad)), -EBADMSG,
	       "an unknown line is refused");
	free(bad);
	bad = strdup(b.data);
	strstr(bad, "aaaa")[0] = 'g';
	is_int(page_manifest_decode(&back, &recipe, bad, strlen(bad)), -EBADMSG,
	       "an object id that is not hex is refused");
	free(bad);
	buf_done(&b);
	buf_done(&b2);
}

/* Matching a result recorded at @c0 against commits made after it. */
static void test_match(void)
{
	struct page_source src = { .git_dir = bare };
	struct page_deps *d = deps_new();
	struct page_result res;
	struct wf_err e = { "" };
	char c0[41], c1[41], c2[41], c3[41], c4[41], c5[41];

	if (commit_after("true", c0) < 0) {
		ok(0, "cannot commit");
		return;
	}
	src.commit = c0;
	is_int(page_deps_resolve(&res, d, &src, &e), 0, "resolved at the first commit");
	is_int(res.ndeps, 3, "three dependencies");
	is_int(res.deps[0].kind, PAGE_DEP_BLOB, "a file is a blob");
	is_int(res.deps[1].kind, PAGE_DEP_TREE, "a directory is a tree");
	is_int(res.deps[2].kind, PAGE_DEP_ABSENT, "a missing path is absent");
	is_int(page_deps_match(&res, &src), 1, "it matches its own commit");

	commit_after("echo more >> README.md", c1);
	src.commit = c1;
	is_int(page_deps_match(&res, &src), 1, "an unrelated change matches");
	commit_after("echo 'int b;' >> src/a.c", c2);
	src.commit = c2;
	is_int(page_deps_match(&res, &src), 0, "a changed blob does not");
	commit_after("git checkout -q HEAD~1 -- src/a.c && echo x > src/new.c", c3);
	src.commit = c3;
	is_int(page_deps_match(&res, &src), 0, "a file added to a listed directory does not");
	commit_after("rm src/new.c && mkdir -p docs && echo m > docs/missing.md", c4);
	src.commit = c4;
	is_int(page_deps_match(&res, &src), 0, "an absent path created does not");
	commit_after("rm -r docs && git rm -q src/a.c", c5);
	src.commit = c5;
	is_int(page_deps_match(&res, &src), 0, "a deleted file does not");
	page_deps_result_done(&res);
	page_deps_free(d);
}

static void test_facts(void)
{
	struct page_deps *d;
	struct plan *p1 = NULL, *p2 = NULL;
	char a[SHA256_HEX], b[SHA256_HEX], c[SHA256_HEX];
	struct page_source s1 = { 0 }, s2 = { 0 };

	page_deps_new(&d);
	is_int(page_deps_fact(d, "nonsense"), -EINVAL, "an unknown fact is refused");
	is_int(page_deps_fact(d, "plan:"), -EINVAL, "plan: names a page");
	is_int(page_deps_fact(d, "plan"), 0, "plan is a fact");
	is_int(page_deps_fact(d, "plan"), 0, "twice is once");
	is_int(page_deps_count(d), 1, "recorded once");
	page_deps_free(d);
	plan_new(&p1, "c", "builtin");
	plan_new(&p2, "d", "builtin");
	plan_add(p1, "Home", "Home", PAGE_HOME, NULL);
	plan_add(p2, "Home", "Home", PAGE_HOME, NULL);
	s1.plan = p1;
	s2.plan = p2;
	page_deps_fact_digest("plan", &s1, a);
	page_deps_fact_digest("plan", &s2, b);
	is_str(a, b, "two commits with the same pages: the same plan fact");
	plan_add(p2, "Module-src", "Module src", PAGE_MODULE, "src");
	page_deps_fact_digest("plan", &s2, b);
	ok(strcmp(a, b), "a page more: another plan fact");
	page_deps_fact_digest("plan", &s2, a);
	plan_set_notes(p2, "Always mention the frobnicator.");
	page_deps_fact_digest("plan", &s2, b);
	ok(strcmp(a, b), "steering notes (in every prompt) changed: another plan fact");
	page_deps_fact_digest("plan", &s2, a);
	plan_page_add_file(p2, p2->n - 1, "src/main.c");
	page_deps_fact_digest("plan", &s2, b);
	ok(strcmp(a, b), "a page's relevant files changed: another plan fact");

	/* plan:SLUG: the pages as every prompt lists them, and SLUG's own files */
	page_deps_fact_digest("plan:Home", &s2, a);
	page_deps_fact_digest("plan:Module-src", &s2, b);
	plan_page_add_file(p2, p2->n - 1, "src/util.c");
	page_deps_fact_digest("plan:Home", &s2, c);
	is_str(a, c, "a file added to another page's list: Home's part of the plan is the same");
	page_deps_fact_digest("plan:Module-src", &s2, c);
	ok(strcmp(b, c), "while the page whose list it is sees it");
	page_deps_fact_digest("plan:Home", &s2, a);
	plan_add(p2, "Usage", "Usage", PAGE_CUSTOM, "how to use it");
	page_deps_fact_digest("plan:Home", &s2, c);
	ok(strcmp(a, c), "a page added (every prompt lists it): another plan:Home");
	is_int(page_deps_fact_digest("plan:Gone", &s2, a), -ENOENT,
	       "a page not in the plan: not known there");
	is_int(page_deps_fact_digest("log:5", &s1, a), -ENOENT, "no facts: the log is not known");
	plan_unref(p1);
	plan_unref(p2);
}

static int put_page(struct page_cache *pc, const struct page_key *k, const char *text)
{
	int r = page_cache_commit(pc, k, text, strlen(text));

	if (r == 0)
		page_cache_unpin(pc, k);
	return r;
}

static int read_page(struct page_cache *pc, const struct page_key *k, char *out, size_t n)
{
	uint64_t size;
	int fd, r = page_cache_open(pc, k, &fd, &size);

	if (r < 0)
		return r;
	r = (int)pread(fd, out, MIN(n - 1, size), PAGE_CACHE_HDR_LEN);
	out[r > 0 ? r : 0] = '\0';
	close(fd);
	page_cache_unpin(pc, k);
	return r;
}

static void test_store(void)
{
	struct page_cache *pc;
	struct page_deps *d = deps_new();
	struct page_key recipe, k0, k1, k2, latest, mk, from;
	struct page_source src = { .git_dir = bare };
	struct wf_err e = { "" };
	char c0[41], c1[41], c2[41], made_at[41], text[256], *cache, *path;
	struct page_manifest m;
	struct buf b;

	if (asprintf(&cache, "%s/cache", tmp) < 0 || page_cache_new(&pc, cache, 1 << 20) < 0) {
		ok(0, "no page cache");
		return;
	}
	key_of(&recipe, "recipe");
	key_of(&k0, "k0");
	key_of(&k1, "k1");
	key_of(&k2, "k2");
	commit_after("git checkout -q HEAD~5 -- . && git clean -qfd", c0);
	src.commit = c0;
	put_page(pc, &k0, "made at c0");
	is_int(page_manifest_record(pc, &recipe, d, &src, &k0, &e), 0, "recorded");
	commit_after("echo again >> README.md", c1);
	src.commit = c1;
	is_int(page_manifest_reuse(pc, &recipe, &src, &k1, &from, made_at), 1, "reused at c1");
	page_cache_unpin(pc, &k1);
	is_str(made_at, c0, "made at c0");
	is_str(from.hex, k0.hex, "copied from c0's entry");
	read_page(pc, &k1, text, sizeof(text));
	is_str(text, "made at c0", "the entry of c1 holds c0's verified bytes");
	buf_init(&b, 1 << 16);
	is_int(page_manifest_sources(pc, &recipe, &k1, &b), 0, "sources of the reused entry");
	ok(strstr(buf_str(&b), "blob ") && strstr(buf_str(&b), " src/a.c\n") &&
	       strstr(buf_str(&b), "absent - docs/missing.md"),
	   "sources list kind, short id and path");
	buf_done(&b);

	commit_after("echo 'int c;' >> src/a.c", c2);
	src.commit = c2;
	is_int(page_manifest_reuse(pc, &recipe, &src, &k2, &from, made_at), 0,
	       "no reuse after a change");
	page_cache_remove(pc, &k0);
	page_cache_remove(pc, &k1);
	src.commit = c1;
	is_int(page_manifest_reuse(pc, &recipe, &src, &k2, &from, made_at), 0,
	       "no reuse when the bytes are gone");
	is_int(page_manifest_load(pc, &recipe, &m), -ENOENT,
	       "the result whose bytes are gone is dropped (and the empty manifest)");

	/* bounded: at most PAGE_MANIFEST_RESULTS results */
	for (int i = 0; i < PAGE_MANIFEST_RESULTS + 3; i++) {
		char c[41], cmd[64];
		struct page_key k;

		snprintf(cmd, sizeof(cmd), "echo %d >> src/a.c", i);
		commit_after(cmd, c);
		src.commit = c;
		key_of(&k, cmd);
		put_page(pc, &k, cmd);
		page_manifest_record(pc, &recipe, d, &src, &k, &e);
	}
	is_int(page_manifest_load(pc, &recipe, &m), 0, "loaded");
	is_int(m.n, PAGE_MANIFEST_RESULTS, "results are bounded");
	page_manifest_done(&m);
	is_int(page_manifest_latest(pc, &recipe, &latest, made_at), 0, "the latest version");
	read_page(pc, &latest, text, sizeof(text));
	is_str(text, "echo 10 >> src/a.c", "is the newest one recorded");

	/* a corrupt manifest is dropped */
	page_manifest_key(&mk, &recipe);
	if (asprintf(&path, "%s/pages/%.2s/%s", cache, mk.hex, mk.hex) > 0) {
		int fd = open(path, O_WRONLY);

		ok(fd >= 0 && pwrite(fd, "X", 1, PAGE_CACHE_HDR_LEN + 3) == 1, "manifest damaged");
		close(fd);
		free(path);
	}
	page_cache_free(pc);
	page_cache_new(&pc, cache, 1 << 20);
	is_int(page_manifest_load(pc, &recipe, &m), -ENOENT, "a corrupt manifest is none");
	is_int(page_manifest_latest(pc, &recipe, &latest, made_at), -ENOENT, "and serves nothing");
	page_cache_free(pc);
	page_deps_free(d);
	free(cache);
}

int main(void)
{
	tmp = fx_tmpdir("manifest");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	if (gitrepo_global_init() < 0)
		skip_all("cannot initialise libgit2");
	if (asprintf(&work, "%s/work", tmp) < 0 || asprintf(&bare, "%s/r.git", tmp) < 0)
		skip_all("no memory");
	mkdir_p(work, 0755);
	fx_writes(work, "README.md", "# r\n");
	fx_writes(work, "src/a.c", "int a;\n");
	if (fx_sh("git init -q --bare '%s' && cd '%s' && git -c init.defaultBranch=main init -q",
		  bare, work) < 0)
		skip_all("cannot make the repository");
	test_codec();
	test_match();
	test_facts();
	test_store();
	rm_rf(tmp);
	free(tmp);
	free(work);
	free(bare);
	gitrepo_global_shutdown();
	return done_testing();
}
