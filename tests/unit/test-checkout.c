/* SPDX-License-Identifier: MIT */
/*
 * Read-only checkouts on real repositories made with git: the tree's bytes
 * and modes, one export for concurrent getters of a commit, the sweep of a
 * crash's temporaries, LRU eviction under a one-byte budget that never takes
 * a checkout in use (here, or held by another open file description as
 * another process would hold it), and hostile tree names.
 */
#include "checkout.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static char *tmp;

static char *make_repo(const char *name, const char *extra)
{
	char *wt, *bare;

	if (asprintf(&wt, "%s/%s", tmp, name) < 0 || asprintf(&bare, "%s/%s.git", tmp, name) < 0)
		return NULL;
	mkdir_p(wt, 0755);
	fx_writes(wt, "README.md", "# r\n");
	fx_writes(wt, "src/a.c", "int a;\n");
	fx_writes(wt, "tool.sh", "#!/bin/sh\n");
	fx_writes(wt, "extra.txt", extra);
	if (fx_sh("cd '%s' && chmod +x tool.sh && ln -s src/a.c link.c && "
		  "git -c init.defaultBranch=main init -q && git add -A && "
		  "git commit -q -m one && git clone -q --bare . '%s'",
		  wt, bare) < 0) {
		free(wt);
		free(bare);
		return NULL;
	}
	free(wt);
	return bare;
}

static unsigned mode_of(const char *dir, const char *rel)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0 ? st.st_mode & 07777 : 0;
}

static bool holds(const char *dir, const char *rel, const char *want)
{
	char p[4096], *got = NULL;
	bool same;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (read_file(p, 1 << 20, &got, NULL) < 0)
		return false;
	same = !strcmp(got, want);
	free(got);
	return same;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

struct getter {
	struct checkout_cache *cc;
	const char *git, *commit;
	struct checkout *co;
	int r;
};

static void *get_thread(void *arg)
{
	struct getter *g = arg;
	struct wf_err e = { "" };

	g->r = checkout_get(g->cc, g->git, g->commit, &g->co, &e);
	return NULL;
}

static void test_tree(const char *cache, const char *git, const char *commit)
{
	struct checkout_cache *cc = NULL;
	struct checkout_stats st;
	struct getter g[4];
	pthread_t th[4];
	struct wf_err e = { "" };
	char link[64] = "", stale[4096], lp[4096];
	const char *dir;

	snprintf(stale, sizeof(stale), "%s/checkouts/%s.tmp.crash", cache, commit);
	mkdir_p(stale, 0700);
	is_int(checkout_cache_new(&cc, cache, 1ull << 30, &e), 0, "cache opened (%s)", e.msg);
	ok(!exists(stale), "a crash's partial checkout is swept at start");
	for (int i = 0; i < 4; i++) {
		g[i] = (struct getter){ .cc = cc, .git = git, .commit = commit };
		pthread_create(&th[i], NULL, get_thread, &g[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ok(g[0].r == 0 && g[1].r == 0 && g[2].r == 0 && g[3].r == 0, "four getters at once");
	checkout_cache_stats(cc, &st);
	is_int((int)st.made, 1, "one export for the four");
	dir = g[0].r == 0 ? checkout_path(g[0].co) : "";
	ok(g[3].r == 0 && !strcmp(dir, checkout_path(g[3].co)), "one directory for all");
	ok(holds(dir, "README.md", "# r\n") && holds(dir, "src/a.c", "int a;\n"),
	   "files hold their blobs");
	is_int((int)mode_of(dir, "README.md"), 0444, "files are 0444");
	is_int((int)mode_of(dir, "tool.sh"), 0555, "executables are 0555");
	is_int((int)mode_of(dir, "src"), 0555, "directories are 0555");
	is_int((int)mode_of(dir, ""), 0555, "the checkout itself is 0555");
	snprintf(lp, sizeof(lp), "%s/link.c", dir);
	link[MAX(readlink(lp, link, sizeof(link) - 1), 0)] = '\0';
	is_str(link, "src/a.c", "symlinks are links");
	for (int i = 0; i < 4; i++)
		checkout_put(g[i].co);
	checkout_cache_free(cc);
}

static void test_budget(const char *cache, const char *git1, const char *c1, const char *git2,
			const char *c2)
{
	struct checkout_cache *cc = NULL;
	struct checkout *a = NULL, *b = NULL;
	struct checkout_stats st;
	struct wf_err e = { "" };
	char pa[4096], pb[4096];
	int fd;

	is_int(checkout_cache_new(&cc, cache, 1, &e), 0, "cache with a one-byte budget (%s)",
	       e.msg);
	snprintf(pa, sizeof(pa), "%s/checkouts/%s", cache, c1);
	snprintf(pb, sizeof(pb), "%s/checkouts/%s", cache, c2);
	ok(!exists(pa), "start: checkouts past the budget are evicted");
	is_int(checkout_get(cc, git1, c1, &a, &e), 0, "get A");
	is_int(checkout_get(cc, git2, c2, &b, &e), 0, "get B while A is held");
	ok(exists(pa) && exists(pb), "both kept past the budget while used");
	checkout_put(b);
	ok(!exists(pb) && exists(pa), "B put back: evicted; A, in use, kept");
	checkout_put(a);
	ok(!exists(pa), "A put back: evicted");

	/* another process's shared lock, as another open file description */
	is_int(checkout_get(cc, git1, c1, &a, &e), 0, "get A again: made again");
	fd = open(pa, O_RDONLY | O_DIRECTORY);
	ok(fd >= 0 && flock(fd, LOCK_SH) == 0, "another process holds A");
	checkout_put(a);
	checkout_cache_stats(cc, &st);
	ok(exists(pa) && st.busy == 1, "A is not removed from under it (busy %llu)",
	   (unsigned long long)st.busy);
	close(fd);
	is_int(checkout_get(cc, git1, c1, &a, &e), 0, "it is adopted when asked for again");
	checkout_cache_stats(cc, &st);
	is_int((int)st.made, 3, "without another export");
	checkout_put(a);
	ok(!exists(pa), "and evicted once nobody holds it");
	ok(checkout_get(cc, git1, "zz", &a, &e) == -EINVAL && e.msg[0],
	   "a commit id that is not one is refused: %s", e.msg);
	checkout_cache_free(cc);
}

static void test_hostile(const char *cache)
{
	char *stream, *git, head[41], dir[4096];
	struct checkout_cache *cc = NULL;
	struct checkout *co = NULL;
	struct wf_err e = { "" };
	FILE *s;

	if (asprintf(&stream, "%s/h.fi", tmp) < 0 || asprintf(&git, "%s/h.git", tmp) < 0)
		return;
	s = fopen(stream, "w");
	fx_fi_commit(s, "mallory", 1700000000, "hostile");
	fx_fi_file(s, "100644", "ok.c", 4, "ok\n", 3);
	fx_fi_file(s, "100644", ".git/config", 11, "evil\n", 5);
	fx_fi_file(s, "100644", "sub/.GIT/hooks", 14, "evil\n", 5);
	fclose(s);
	ok(fx_fast_import(git, stream) == 0 && fx_rev(git, "main", head) == 0,
	   "a tree with .git entries");
	is_int(checkout_cache_new(&cc, cache, 1ull << 30, &e), 0, "cache opened");
	is_int(checkout_get(cc, git, head, &co, &e), 0, "its checkout is made (%s)", e.msg);
	snprintf(dir, sizeof(dir), "%s/.git", co ? checkout_path(co) : "");
	ok(co && !exists(dir), "without the .git entry");
	snprintf(dir, sizeof(dir), "%s/sub/.GIT", co ? checkout_path(co) : "");
	ok(co && !exists(dir), "nor a .GIT below");
	checkout_put(co);
	checkout_cache_free(cc);
	free(stream);
	free(git);
}

int main(void)
{
	char *cache, *git1, *git2, c1[41], c2[41];

	tmp = fx_tmpdir("checkout");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	if (gitrepo_global_init() < 0)
		skip_all("cannot initialise libgit2");
	git1 = make_repo("one", "1\n");
	git2 = make_repo("two", "2\n");
	if (!git1 || !git2 || fx_rev(git1, "main", c1) < 0 || fx_rev(git2, "main", c2) < 0 ||
	    asprintf(&cache, "%s/cache", tmp) < 0)
		skip_all("cannot make the repositories");
	test_tree(cache, git1, c1);
	test_budget(cache, git1, c1, git2, c2);
	test_hostile(cache);
	rm_rf(tmp);
	free(tmp);
	free(cache);
	free(git1);
	free(git2);
	gitrepo_global_shutdown();
	return done_testing();
}
