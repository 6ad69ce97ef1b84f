/* SPDX-License-Identifier: MIT */
/*
 * Local copy against real repositories made with the git CLI: a first copy
 * (branches and tags only, a pull-request ref naming a missing object
 * ignored, packed-refs, HEAD), a later one after upstream commits, a
 * deleted branch (pruned) and a `git gc` (the repacked-away pack dropped,
 * unless it holds the only copy of an object the clone still names), a
 * branch pushed past packed-refs, a missing source, a corrupt branch. Every clone must pass `git fsck`.
 */
#include "local_copy.h"
#include "fsutil.h"
#include "util.h"
#include "git-fixture.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define GIT                                                               \
	"git -c user.name=wikifs-test -c user.email=test@wikifs.invalid " \
	"-c init.defaultBranch=main -c gc.auto=0"

static char root[1024];

/* Names of the pack indexes in DIR/objects/pack, sorted, space-separated. */
static void packs(const char *dir, char *out, size_t n)
{
	char path[PATH_MAX + 64], *names[64];
	struct dirent *de;
	size_t k = 0, o = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/objects/pack", dir);
	out[0] = '\0';
	d = opendir(path);
	while (d && (de = readdir(d)) && k < 64)
		if (strstr(de->d_name, ".idx"))
			names[k++] = strdup(de->d_name);
	if (d)
		closedir(d);
	for (size_t i = 0; i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *x = names[i];

				names[i] = names[j];
				names[j] = x;
			}
	for (size_t i = 0; i < k; i++) {
		o += (size_t)snprintf(out + o, n > o ? n - o : 0, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
}

static int copy(const char *dst, bool create, const char *src)
{
	int r = local_copy_run(dst, create, src, src, NULL, NULL);

	if (r < 0)
		diag("local_copy_run: %d %s", r, git_error_last() ? git_error_last()->message : "");
	return r;
}

static void test_first_copy(const char *src, const char *dst)
{
	char pack_src[4096], pack_dst[4096];
	struct stat st;
	int r;

	r = fx_run("cd %s && " GIT " init -q work && cd work && echo one > a && " GIT
		   " add a && " GIT " commit -qm one && " GIT " tag -a v1 -m v1 && " GIT
		   " branch dev && " GIT " checkout -qb pr && echo pr > p && " GIT " add p && " GIT
		   " commit -qm pr && " GIT " checkout -q main && " GIT
		   " clone -q --bare . %s && " GIT " push -q %s pr:refs/pull/1/head && " GIT
		   " -C %s repack -qad && mkdir -p "
		   "%s/refs/pull/2 && echo 0123456789abcdef0123456789abcdef01234567 > "
		   "%s/refs/pull/2/head",
		   root, src, src, src, src, src);
	is_int(r, 0, "first: source with a branch, a tag, pull-request refs (one broken)");
	is_int(copy(dst, true, src), 0, "first: the copy succeeds despite the broken ref");
	is_int(fx_run("git -C %s rev-parse -q --verify refs/heads/dev >/dev/null && git -C %s "
		      "rev-parse -q --verify refs/tags/v1 >/dev/null",
		      dst, dst),
	       0, "first: branches and tags are there");
	is_int(fx_run("test -z \"$(git -C %s for-each-ref refs/pull)\"", dst), 0,
	       "first: no pull-request ref");
	is_int(fx_run("test \"$(git -C %s symbolic-ref HEAD)\" = refs/heads/main", dst), 0,
	       "first: HEAD names the source's branch");
	is_int(fx_run("git -C %s fsck --no-dangling --no-progress", dst), 0,
	       "first: git fsck is clean");
	is_int(fx_run("test \"$(git -C %s config remote.origin.url)\" = %s", dst, src), 0,
	       "first: the remote is the source");
	ok(stat(dst, &st) == 0, "first: clone made");
	packs(src, pack_src, sizeof(pack_src));
	packs(dst, pack_dst, sizeof(pack_dst));
	is_str(pack_dst, pack_src, "first: the source's pack is linked");
	/* git itself cannot work on with the broken ref: drop it */
	is_int(fx_run("rm %s/refs/pull/2/head", src), 0, "first: broken ref removed");
}

static void test_later_copy(const char *src, const char *dst)
{
	char pack_src[4096], pack_dst[4096];
	int r;

	r = fx_run("cd %s/work && echo two > b && " GIT " add b && " GIT " commit -qm two && " GIT
		   " push -q %s main && " GIT " -C %s branch -D dev -q && " GIT
		   " -C %s branch feature main",
		   root, src, src, src);
	is_int(r, 0, "later: a commit upstream, dev deleted, feature made");
	is_int(copy(dst, false, src), 0, "later: the copy succeeds");
	is_int(fx_run("test \"$(git -C %s rev-parse main)\" = \"$(git -C %s rev-parse main)\"", dst,
		      src),
	       0, "later: main moved");
	is_int(fx_run("git -C %s rev-parse -q --verify refs/heads/dev >/dev/null", dst), 1,
	       "later: the deleted branch is pruned");
	is_int(fx_run("git -C %s rev-parse -q --verify refs/heads/feature >/dev/null", dst), 0,
	       "later: the new branch is there");

	/* the clone remembers a commit that upstream then loses entirely */
	r = fx_run("cd %s/work && " GIT " checkout -qb gone && echo g > g && " GIT " add g && " GIT
		   " commit -qm gone && " GIT " push -q %s gone && " GIT " checkout -q main && " GIT
		   " -C %s repack -qad",
		   root, src, src);
	is_int(r, 0, "later: a branch to lose made upstream");
	is_int(copy(dst, false, src), 0, "later: a branch to lose is copied");
	r = fx_run("git -C %s update-ref refs/wikifs/last/gone $(git -C %s rev-parse gone) && " GIT
		   " -C %s branch -D gone -q && " GIT
		   " -C %s reflog expire --expire=now --all && " GIT " -C %s gc -q --prune=now",
		   dst, dst, src, src, src);
	is_int(r, 0, "gc: the branch deleted and garbage-collected upstream");
	is_int(copy(dst, false, src), 0, "gc: the copy after the repack succeeds");
	packs(src, pack_src, sizeof(pack_src));
	packs(dst, pack_dst, sizeof(pack_dst));
	ok(strstr(pack_dst, pack_src) != NULL, "gc: the new pack is linked (%s)", pack_dst);
	ok(strcmp(pack_dst, pack_src) != 0,
	   "gc: a pack with the only copy of the lost commit is kept (%s)", pack_dst);
	is_int(fx_run("git -C %s cat-file -e refs/wikifs/last/gone", dst), 0,
	       "gc: the commit the clone still names is there");

	/* once nothing needs it, the old pack goes */
	is_int(fx_run("git -C %s update-ref -d refs/wikifs/last/gone && " GIT
		      " -C %s repack -qad && "
		      "echo three > %s/work/c && cd %s/work && " GIT " add c && " GIT
		      " commit -qm three && " GIT " push -q %s main && " GIT " -C %s gc -q",
		      dst, dst, root, root, src, src),
	       0, "gc: the clone's own record dropped, upstream gc'd again");
	is_int(copy(dst, false, src), 0, "gc: the copy succeeds");
	packs(src, pack_src, sizeof(pack_src));
	packs(dst, pack_dst, sizeof(pack_dst));
	is_int(fx_run("git -C %s fsck --no-dangling --no-progress", dst), 0,
	       "gc: git fsck is clean");
	is_int(fx_run("test \"$(git -C %s rev-parse main)\" = \"$(git -C %s rev-parse main)\"", dst,
		      src),
	       0, "gc: main is current");
}

/*
 * A branch pushed since the source's packed-refs was written is a loose ref
 * that must win over its packed entry, whatever other packed branch sorts
 * before it ("dev" before "main": the lookup once went astray there).
 */
static void test_loose_over_packed(void)
{
	char src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "%s/lp-src.git", root);
	snprintf(dst, sizeof(dst), "%s/lp-dst.git", root);
	is_int(fx_run("cd %s && " GIT " init -q lp && cd lp && " GIT " commit -q --allow-empty -m a"
		      " && " GIT " branch dev && " GIT " clone -q --bare . %s",
		      root, src),
	       0, "loose: a source whose packed-refs holds dev and main");
	is_int(copy(dst, true, src), 0, "loose: first copy");
	is_int(fx_run("cd %s/lp && " GIT " commit -q --allow-empty -m b && " GIT " push -q %s main"
		      " && test -f %s/refs/heads/main",
		      root, src, src),
	       0, "loose: main pushed again, a loose ref now");
	is_int(copy(dst, false, src), 0, "loose: the later copy succeeds");
	is_int(fx_run("test \"$(git -C %s rev-parse main)\" = \"$(git -C %s rev-parse main)\"", dst,
		      src),
	       0, "loose: main moved to the loose ref's commit");
}

static void test_errors(const char *src)
{
	char missing[PATH_MAX], dst[PATH_MAX + 16];

	snprintf(missing, sizeof(missing), "%s/nope.git", root);
	snprintf(dst, sizeof(dst), "%s/e1.git", root);
	is_int(local_copy_run(dst, true, missing, missing, NULL, NULL), GIT_ENOTFOUND,
	       "missing source: GIT_ENOTFOUND");
	ok(strstr(git_error_last()->message, "does not appear to be a git repository"),
	   "missing source: says so (%s)", git_error_last()->message);
	is_int(fx_run("echo fedcba9876543210fedcba9876543210fedcba98 > %s/refs/heads/broken", src),
	       0, "corrupt: a branch names a missing object");
	snprintf(dst, sizeof(dst), "%s/e2.git", root);
	ok(local_copy_run(dst, true, src, src, NULL, NULL) < 0, "corrupt: the copy fails");
	ok(strstr(git_error_last()->message, "refs/heads/broken") &&
	       strstr(git_error_last()->message, "corrupt"),
	   "corrupt: the error names the ref (%s)", git_error_last()->message);
}

int main(void)
{
	char src[PATH_MAX], dst[PATH_MAX];
	char path[PATH_MAX];

	if (system("git --version >/dev/null 2>&1") != 0)
		skip_all("git not found");
	snprintf(root, sizeof(root), "%s/wikifs-lcopy-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(root))
		return 1;
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("HOME", root, 1);
	git_libgit2_init();
	snprintf(src, sizeof(src), "%s/src.git", root);
	snprintf(dst, sizeof(dst), "%s/dst.git", root);
	test_first_copy(src, dst);
	test_later_copy(src, dst);
	test_loose_over_packed();
	test_errors(src);
	ok(local_copy_path("file:///a%20b/c.git", path, sizeof(path)) &&
	       !strcmp(path, "/a b/c.git"),
	   "file:// URLs are decoded: %s", path);
	ok(local_copy_path("/srv/x.git", path, sizeof(path)) && !strcmp(path, "/srv/x.git"),
	   "an absolute path is a local path");
	ok(!local_copy_path("git://h/x.git", path, sizeof(path)) &&
	       !local_copy_path("host:x.git", path, sizeof(path)),
	   "git:// and scp-like are not");
	git_libgit2_shutdown();
	rm_rf(root);
	return done_testing();
}
