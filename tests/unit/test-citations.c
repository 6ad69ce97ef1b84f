/* SPDX-License-Identifier: MIT */
/*
 * Citation checking against a real repository's tree: the forms counted
 * (path:line, path:start-end, blob/COMMIT/path#Lstart-Lend), what is not a
 * citation (URLs with ports, times, addresses), duplicates counted once,
 * missing files, lines past the end, directories and reversed ranges.
 */
#include "citations.h"
#include "facts.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "tap.h"
#include "util.h"

#include <string.h>

static char *tmp;

static void check(const struct repo_facts *f, const char *text, unsigned v, unsigned u,
		  const char *what)
{
	struct citation_counts cc;

	is_int(citations_check(text, strlen(text), f, &cc), 0, "%s: checked", what);
	ok(cc.verified == v && cc.unresolved == u, "%s: %u verified, %u unresolved (want %u, %u)",
	   what, cc.verified, cc.unresolved, v, u);
}

int main(void)
{
	char *wt = NULL, *git = NULL, head[41];
	struct repo_facts *f = NULL;
	struct wf_err e = { "" };

	tmp = fx_tmpdir("citations");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	if (gitrepo_global_init() < 0)
		skip_all("cannot initialise libgit2");
	if (asprintf(&wt, "%s/w", tmp) < 0 || asprintf(&git, "%s/w.git", tmp) < 0)
		skip_all("out of memory");
	mkdir_p(wt, 0755);
	fx_writes(wt, "src/main.c", "1\n2\n3\n4\n5\n");
	fx_writes(wt, "src/no-eol.c", "1\n2");
	fx_writes(wt, "README.md", "# r\n");
	if (fx_sh("cd '%s' && git -c init.defaultBranch=main init -q && git add -A && "
		  "git commit -q -m one && git clone -q --bare . '%s'",
		  wt, git) < 0 ||
	    fx_rev(git, "main", head) < 0 || facts_load(&f, git, head, &e) < 0)
		skip_all("cannot make the repository");

	check(f, "See src/main.c:3 and src/main.c:1-5.", 2, 0, "line and range");
	check(f, "src/main.c:6 and src/main.c:4-6 and src/main.c:0", 0, 3, "past the end, line 0");
	check(f, "src/no-eol.c:2 (a last line without newline)", 1, 0, "a last line without \\n");
	check(f, "gone/file.c:3", 0, 1, "a missing file");
	check(f, "src:1 src/:2", 0, 1, "a directory is no file (and `src` alone no path)");
	check(f, "src/main.c:4-2", 0, 1, "a reversed range");
	check(f,
	      "[x](https://github.com/o/r/blob/0123abcd/src/main.c#L2-L4) "
	      "[y](https://github.com/o/r/blob/0123abcd/src/main.c#L9)",
	      1, 1, "blob links");
	check(f, "[src/main.c:2](https://h/o/r/blob/0123abcd/src/main.c#L2) src/main.c:2", 1, 0,
	      "one citation written three ways counts once");
	check(f, "http://localhost:8080/x https://example.org:443/ at 10:30, 127.0.0.1:80", 0, 0,
	      "URLs, times and addresses are not citations");
	check(f, "README.md:1.", 1, 0, "a sentence's full stop after the line");
	check(f, "no citations here", 0, 0, "none");
	facts_unref(f);
	rm_rf(tmp);
	free(tmp);
	free(wt);
	free(git);
	gitrepo_global_shutdown();
	return done_testing();
}
