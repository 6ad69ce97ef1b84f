/* SPDX-License-Identifier: MIT */
/*
 * The builtin planner on real repositories made with git: a C project, a
 * Python project, determinism, slug safety, the plan cache round trip,
 * hostile directory names and titles made from names that are not UTF-8.
 */
#include "facts.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "plan.h"
#include "tap.h"
#include "utf8-oracle.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

static char *tmp;

static const struct plan_page *page(const struct plan *p, const char *slug)
{
	int i = p ? plan_find(p, slug) : -1;

	return i >= 0 ? &p->pages[i] : NULL;
}

static bool slug_safe(const char *s)
{
	if (!s || !*s || s[0] == '.' || strlen(s) > PLAN_MAX_SLUG_LEN || strstr(s, ".."))
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c == '/' || *c < 0x20 || *c == 0x7f || *c == ' ' || *c == '\\')
			return false;
	return true;
}

/* A C project committed from a work tree, then cloned bare. */
static char *make_c_project(void)
{
	char *wt, *bare;

	if (asprintf(&wt, "%s/cproj", tmp) < 0 || asprintf(&bare, "%s/cproj.git", tmp) < 0)
		return NULL;
	mkdir_p(wt, 0755);
	fx_writes(wt, "README.md", "# cproj\n\nA small C project.\n");
	fx_writes(wt, "meson.build", "project('cproj', 'c')\n");
	fx_writes(wt, "src/core/core.c",
		  "#include \"core.h\"\nint core(void)\n{\n\treturn 0;\n}\n");
	fx_writes(wt, "src/core/core.h", "int core(void);\n");
	fx_writes(wt, "src/net/net.c",
		  "#include \"../core/core.h\"\nint net(void)\n{\n\treturn core();\n}\n");
	fx_writes(wt, "src/main.c", "int main(void)\n{\n\treturn 0;\n}\n");
	fx_writes(wt, "tools/gen.py", "def main():\n    pass\n");
	fx_writes(wt, "docs/index.md", "# Docs\n");
	fx_writes(wt, "vendor/zlib/zlib.c", "int z(void) { return 0; }\n");
	fx_writes(wt, "third_party/x/x.c", "int x(void) { return 0; }\n");
	fx_writes(wt, ".github/workflows/ci.yml", "on: push\n");
	fx_writes(wt, "node_modules/a/index.js", "module.exports = 1;\n");
	if (fx_sh("cd '%s' && git -c init.defaultBranch=main init -q && git add -A && "
		  "git commit -q -m 'initial import' && git clone -q --bare . '%s'",
		  wt, bare) < 0) {
		free(wt);
		free(bare);
		return NULL;
	}
	free(wt);
	return bare;
}

static void test_c_project(void)
{
	char *git = make_c_project();
	struct plan *p = NULL, *q = NULL, *l = NULL;
	struct wf_err e = { "" };
	char head[41];
	int r;

	ok(git != NULL, "c project created");
	if (!git)
		return;
	ok(fx_rev(git, "HEAD", head) == 0, "head resolved");
	r = plan_builtin(&p, git, head, &e);
	is_int(r, 0, "plan_builtin on a C project (%s)", e.msg);
	if (r < 0) {
		free(git);
		return;
	}
	is_str(p->pages[0].slug, "Home", "first page is Home");
	is_str(p->pages[1].slug, "_Sidebar", "then _Sidebar");
	is_str(p->pages[2].slug, "Architecture", "then Architecture");
	ok(page(p, "Module-src-core") && page(p, "Module-src-net"),
	   "src/ split into src/core, src/net");
	ok(page(p, "Module-src") != NULL, "src/ itself is a module for src/main.c");
	is_str(page(p, "Module-src-core") ? page(p, "Module-src-core")->arg : NULL, "src/core",
	       "module arg is its path");
	is_str(page(p, "Module-src-core") ? page(p, "Module-src-core")->title : NULL,
	       "Module src/core", "module title is human");
	ok(page(p, "Module-tools") != NULL, "tools/ with Python code is a module");
	ok(!page(p, "Module-docs"), "docs-only directory is not a module");
	ok(!page(p, "Module-vendor") && !page(p, "Module-third_party") &&
	       !page(p, "Module-node_modules") && !page(p, "Module-.github"),
	   "vendored and hidden directories are not modules");
	is_str(p->pages[p->n - 3].slug, "Build-and-Test", "Build-and-Test");
	is_str(p->pages[p->n - 2].slug, "History", "History");
	is_str(p->pages[p->n - 1].slug, "Contributors", "Contributors last");
	for (size_t i = 0; i < p->n; i++)
		if (!slug_safe(p->pages[i].slug))
			ok(0, "unsafe slug '%s'", p->pages[i].slug);

	/* determinism */
	r = plan_builtin(&q, git, head, &e);
	ok(r == 0 && q->n == p->n, "second plan has the same size");
	{
		size_t differ = 0;

		for (size_t i = 0; r == 0 && i < p->n && i < q->n; i++)
			differ += strcmp(p->pages[i].slug, q->pages[i].slug) ||
				  strcmp(p->pages[i].title, q->pages[i].title) ||
				  p->pages[i].kind != q->pages[i].kind;
		ok(r == 0 && differ == 0, "two plans of the same commit are identical (%zu differ)",
		   differ);
	}

	/* relevant files */
	{
		const struct plan_page *core = page(p, "Module-src-core");
		const struct plan_page *home = page(p, "Home");
		const struct plan_page *build = page(p, "Build-and-Test");

		ok(core && core->nfiles == 2 && !strcmp(core->files[0], "src/core/core.c") &&
		       !strcmp(core->files[1], "src/core/core.h"),
		   "a module page's relevant files are its code files");
		ok(home && home->nfiles >= 1 && !strcmp(home->files[0], "README.md"),
		   "Home's start with the README");
		ok(build && build->nfiles >= 2, "Build-and-Test's are the build and CI files (%zu)",
		   build ? build->nfiles : 0);
		for (size_t i = 0; build && i < build->nfiles; i++)
			ok(!strcmp(build->files[i], "meson.build") ||
			       !strcmp(build->files[i], ".github/workflows/ci.yml"),
			   "build file %s", build->files[i]);
	}

	/* cache round trip */
	{
		char *cache;

		if (asprintf(&cache, "%s/cache", tmp) < 0)
			return;
		is_int(plan_cache_load(&l, cache, "https://example.org/c.git", head, "builtin"),
		       -ENOENT, "cache miss before store");
		is_int(plan_set_notes(p, "line one\n\ttabbed \\n literal\r\nend"), 0, "notes set");
		is_int(plan_cache_store(p, cache, "https://example.org/c.git"), 0, "plan stored");
		is_int(plan_cache_load(&l, cache, "https://example.org/c.git", head, "builtin"), 0,
		       "plan loaded");
		ok(l && l->n == p->n, "loaded plan has every page");
		for (size_t i = 0; l && i < p->n && i < l->n; i++) {
			if (strcmp(p->pages[i].slug, l->pages[i].slug) ||
			    p->pages[i].kind != l->pages[i].kind ||
			    strcmp(p->pages[i].title, l->pages[i].title) ||
			    !!p->pages[i].arg != !!l->pages[i].arg ||
			    (p->pages[i].arg && strcmp(p->pages[i].arg, l->pages[i].arg)) ||
			    p->pages[i].nfiles != l->pages[i].nfiles)
				ok(0, "cached page %zu differs", i);
			for (size_t k = 0; k < p->pages[i].nfiles && k < l->pages[i].nfiles; k++)
				if (strcmp(p->pages[i].files[k], l->pages[i].files[k]))
					ok(0, "cached page %zu file %zu differs", i, k);
		}
		is_str(l ? l->notes : NULL, "line one\n\ttabbed \\n literal\nend",
		       "the notes survive the cache, escapes and all (carriage returns dropped)");
		free(cache);
	}

	/* bad input */
	{
		struct plan *x = NULL;

		ok(plan_builtin(&x, git, "0123456789012345678901234567890123456789", &e) < 0 &&
		       e.msg[0],
		   "unknown commit fails with a message: %s", e.msg);
		ok(plan_builtin(&x, "/nonexistent/repo.git", head, &e) < 0,
		   "missing repository fails");
	}
	plan_unref(p);
	plan_unref(q);
	plan_unref(l);
	free(git);
}

static void test_python_project(void)
{
	char *stream, *git;
	struct plan *p = NULL;
	struct wf_err e = { "" };
	char head[41];
	FILE *s;
	int r;

	if (asprintf(&stream, "%s/py.fi", tmp) < 0 || asprintf(&git, "%s/py.git", tmp) < 0)
		return;
	s = fopen(stream, "w");
	fx_fi_commit(s, "guido", 1700000000, "first");
#define F(path, text) fx_fi_file(s, "100644", path, strlen(path), text, strlen(text))
	F("pyproject.toml", "[project]\nname = 'pkg'\n");
	F("pkg/__init__.py", "");
	F("pkg/core.py", "import os\n\nclass Engine:\n    def run(self):\n        pass\n");
	F("pkg/util.py", "from pkg.core import Engine\n\ndef helper():\n    return Engine()\n");
	F("tests/test_core.py", "from pkg import core\n\ndef test_x():\n    assert core\n");
	F("setup.py", "from setuptools import setup\nsetup()\n");
	F("manage.py", "def main():\n    pass\n");
	F("docs/conf.py", "project = 'x'\n");
#undef F
	fclose(s);
	r = fx_fast_import(git, stream);
	ok(r == 0, "python project imported");
	if (r == 0 && fx_rev(git, "main", head) == 0) {
		r = plan_builtin(&p, git, head, &e);
		is_int(r, 0, "plan of a Python project (%s)", e.msg);
		ok(r == 0 && page(p, "Module-pkg") && page(p, "Module-tests"),
		   "pkg/ and tests/ are modules");
		ok(r == 0 && page(p, "Module-root"), "top-level Python files form a module");
		is_str(r == 0 && page(p, "Module-root") ? page(p, "Module-root")->arg : NULL, ".",
		       "top-level module's arg is '.'");
		ok(r == 0 && page(p, "Module-docs"), "docs/ with code is a module");
		plan_unref(p);
	}
	free(stream);
	free(git);
}

/* Names with newlines, control bytes, invalid UTF-8, many directories, depth. */
static void test_hostile(void)
{
	char *stream, *git;
	struct plan *p = NULL, *l = NULL;
	struct wf_err e = { "" };
	char head[41], path[4200];
	FILE *s;
	int r;

	if (asprintf(&stream, "%s/h.fi", tmp) < 0 || asprintf(&git, "%s/h.git", tmp) < 0)
		return;
	s = fopen(stream, "w");
	fx_fi_commit(s, "mallory", 1700000000, "evil");
#define F(path, text) fx_fi_file(s, "100644", path, sizeof(path) - 1, text, strlen(text))
	F("new\nline/a.c", "int a;\n");
	F("ctl\x01\x1b[31m/b.c", "int b;\n");
	F("bad\xff\xfe utf8/c.c", "int c(void) { return 0; }\n");
	F("pipe|tick`star*/d.c", "int d;\n");
	F("../escape/e.c", "int e;\n");
	F("caf\xc3\xa9/f.c", "int f;\n");
	F("Module-root/g.c", "int g;\n");
	F("x.c", "int x;\n");
	F("y.c", "int y;\n");
#undef F
	/* 300 top-level code directories: the module count stays bounded */
	for (int i = 0; i < 300; i++) {
		int n = snprintf(path, sizeof(path), "dir%03d/m.c", i);

		fx_fi_file(s, "100644", path, (size_t)n, "int m;\n", 7);
	}
	/* a 1,000-deep tree */
	{
		size_t n = 0;

		for (int i = 0; i < 1000; i++)
			n += (size_t)snprintf(path + n, sizeof(path) - n, "d/");
		n += (size_t)snprintf(path + n, sizeof(path) - n, "deep.c");
		fx_fi_file(s, "100644", path, n, "int deep;\n", 10);
	}
	fclose(s);
	r = fx_fast_import(git, stream);
	ok(r == 0, "hostile repository imported");
	if (r == 0 && fx_rev(git, "main", head) == 0) {
		r = plan_builtin(&p, git, head, &e);
		is_int(r, 0, "hostile plan (%s)", e.msg);
		if (r == 0) {
			size_t mods = 0;
			bool safe = true, titles_ok = true;

			for (size_t i = 0; i < p->n; i++) {
				safe &= slug_safe(p->pages[i].slug);
				for (const char *t = p->pages[i].title; *t; t++)
					titles_ok &= (unsigned char)*t >= 0x20 && *t != 0x7f;
				mods += p->pages[i].kind == PAGE_MODULE;
			}
			ok(safe, "every slug is safe");
			ok(titles_ok, "no control characters in titles");
			ok(mods <= 30, "module pages bounded (%zu)", mods);
			ok(p->n <= PLAN_MAX_PAGES, "plan bounded");
			ok(!page(p, "Module-new-line") && !page(p, "Module-newline"),
			   "directory with a newline is not a module");
			is_int(plan_cache_store(p, tmp, "u"), 0, "hostile plan stored");
			is_int(plan_cache_load(&l, tmp, "u", head, "builtin"), 0, "and loaded");
			ok(l && l->n == p->n, "same page count after the round trip");
		}
		plan_unref(p);
		plan_unref(l);
	}
	free(stream);
	free(git);
}

/*
 * Directory names that are not UTF-8 in every way RFC 3629 forbids: each
 * module's title must still be strict UTF-8, one U+FFFD per bad byte.
 */
static void test_invalid_titles(void)
{
	static const char *const dirs[][2] = {
		{ "sur\xed\xa0\x80"
		  "dir",
		  "Module sur\uFFFD\uFFFD\uFFFDdir" },
		{ "over\xe0\x80\xaf"
		  "dir",
		  "Module over\uFFFD\uFFFD\uFFFDdir" },
		{ "big\xf4\x90\x80\x80"
		  "dir",
		  "Module big\uFFFD\uFFFD\uFFFD\uFFFDdir" },
		{ "cut\xe2\x82"
		  "dir",
		  "Module cut\uFFFD\uFFFDdir" },
		{ "caf\xc3\xa9", "Module caf\u00e9" },
	};
	struct plan *p = NULL;
	struct wf_err e = { "" };
	char *stream, *git, head[41], path[64];
	FILE *s;
	int r;

	if (asprintf(&stream, "%s/t.fi", tmp) < 0 || asprintf(&git, "%s/t.git", tmp) < 0)
		return;
	s = fopen(stream, "w");
	fx_fi_commit(s, "mallory", 1700000000, "names");
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int n = snprintf(path, sizeof(path), "%s/m.c", dirs[i][0]);

		fx_fi_file(s, "100644", path, (size_t)n, "int m(void) { return 0; }\n", 26);
	}
	fclose(s);
	r = fx_fast_import(git, stream);
	r = r ?: fx_rev(git, "main", head);
	r = r ?: plan_builtin(&p, git, head, &e);
	is_int(r, 0, "plan of invalid names (%s)", e.msg);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++) {
		const struct plan_page *pg = NULL;

		for (size_t k = 0; k < p->n; k++)
			if (p->pages[k].arg && !strcmp(p->pages[k].arg, dirs[i][0]))
				pg = &p->pages[k];
		ok(pg && oracle_utf8_valid(pg->title, strlen(pg->title)),
		   "module %zu: its title is strict UTF-8", i);
		is_str(pg ? pg->title : NULL, dirs[i][1], "module %zu: each bad byte is U+FFFD", i);
	}
	plan_unref(p);
	free(stream);
	free(git);
}

/* The tree's shape: paths and the README, not the content of other files. */
static void test_shape(void)
{
	char *wt = NULL, *git = NULL, a[65], b[65], head[41];
	struct wf_err e = { "" };
	struct plan *p = NULL, *q = NULL;

	if (asprintf(&wt, "%s/shape", tmp) < 0 || asprintf(&git, "%s/shape.git", tmp) < 0)
		return;
	mkdir_p(wt, 0755);
	fx_writes(wt, "README.md", "# shape\n");
	fx_writes(wt, "src/a.c", "int a;\n");
#define COMMIT(cmd)                                                                              \
	fx_sh("cd '%s' && %s && git add -A && git commit -q -m c && git push -q '%s' HEAD:main", \
	      wt, cmd, git)
	if (fx_sh("git init -q --bare '%s' && cd '%s' && git -c init.defaultBranch=main init -q",
		  git, wt) < 0 ||
	    COMMIT("true") < 0 || fx_rev(git, "main", head) < 0) {
		ok(0, "shape repository made");
		goto out;
	}
	is_int(plan_shape(git, head, a, &e), 0, "shape of the first commit (%s)", e.msg);
	COMMIT("echo 'int b;' >> src/a.c");
	fx_rev(git, "main", head);
	plan_shape(git, head, b, &e);
	is_str(a, b, "editing a source file keeps the shape");
	plan_builtin(&p, git, head, &e);
	is_int(p ? plan_cache_store_shape(p, tmp, "u", a) : -1, 0, "plan stored by shape");
	is_int(plan_cache_load_shape(&q, tmp, "u", b, "builtin", "c2"), 0,
	       "and found for the edited commit");
	ok(q && !strcmp(q->commit, "c2") && q->n == p->n, "as the plan of that commit");
	COMMIT("echo x > src/new.c");
	fx_rev(git, "main", head);
	plan_shape(git, head, b, &e);
	ok(strcmp(a, b), "a new file changes it");
	memcpy(a, b, sizeof(a));
	COMMIT("echo more >> README.md");
	fx_rev(git, "main", head);
	plan_shape(git, head, b, &e);
	ok(strcmp(a, b), "so does a README edit");
#undef COMMIT
out:
	plan_unref(p);
	plan_unref(q);
	free(wt);
	free(git);
}

int main(void)
{
	tmp = fx_tmpdir("planner");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	if (gitrepo_global_init() < 0)
		skip_all("cannot initialise libgit2");
	test_c_project();
	test_python_project();
	test_hostile();
	test_invalid_titles();
	test_shape();
	rm_rf(tmp);
	free(tmp);
	gitrepo_global_shutdown();
	return done_testing();
}
