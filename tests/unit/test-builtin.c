/* SPDX-License-Identifier: MIT */
/*
 * The builtin backend on real repositories: every page of a fixture with
 * known symbols, imports, manifests and authors; byte-identical output on a
 * second run; valid UTF-8 on a hostile repository; and page times on a
 * generated 4,000-file repository.
 */
#include "backend.h"
#include "facts.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "plan.h"
#include "prompt.h"
#include "tap.h"

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>

static char *tmp;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = c < 0x80		  ? 1
			     : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4
						  : 0;
		unsigned long v;

		if (len == 0 || i + len > n)
			return false;
		v = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			v = (v << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) ||
		    (len == 4 && v < 0x10000) || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return false;
		if (len == 1 && c < 0x20 && c != '\n')
			return false; /* no control characters but newlines */
		i += len;
	}
	return true;
}

/* Generates one page; returns malloc'ed Markdown or NULL. */
static char *gen(struct repo_facts *f, const struct plan *p, const char *slug, const char *url,
		 double *secs)
{
	struct gen_request req = { 0 };
	struct gen_usage u = { 0 };
	struct gen_err e = { 0 };
	struct buf out;
	void *st = NULL, *ws = NULL;
	double t0;
	int i = plan_find(p, slug), r;

	if (i < 0)
		return NULL;
	req.repo_name = "acme/demo";
	req.url = url;
	req.commit = p->commit;
	req.plan = p;
	req.page = &p->pages[i];
	req.facts = f;
	buf_init(&out, PAGE_MAX_BYTES);
	backend_builtin.init(&st, NULL, NULL);
	backend_builtin.worker_init(st, &ws);
	t0 = now_s();
	r = backend_builtin.generate(st, ws, &req, &out, &u, &e);
	if (secs)
		*secs = now_s() - t0;
	backend_builtin.worker_done(st, ws);
	backend_builtin.done(st);
	if (r < 0) {
		diag("generate %s: %s", slug, e.e.msg);
		buf_done(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

static bool has(const char *page, const char *needle)
{
	return page && strstr(page, needle);
}

#define HAS(page, needle, ...)                           \
	do {                                             \
		if (!ok(has(page, needle), __VA_ARGS__)) \
			diag("missing: %s", needle);     \
	} while (0)

static const char *files_demo[][2] = {
	{ "README.md", "# Demo\n\n[![build](https://ci/badge.svg)](https://ci)\n\n"
		       "Demo is a tiny project\nthat tests wikifs pages.\n\n"
		       "## Install\n\n```sh\nrm -rf /\n```\n\n<script>alert(1)</script>\n\n"
		       "It has several *modules* | and pipes.\n" },
	{ "meson.build", "project('demo', 'c')\n" },
	{ "Makefile", "CC = cc\nall: demo\n\ttrue\ntest: all\n\t./run-tests\n.PHONY: all test\n" },
	{ "package.json",
	  "{ \"name\": \"demo\", \"scripts\": { \"build\": \"tsc\", \"test\": \"jest\" } }\n" },
	{ "Cargo.toml", "[package]\nname = \"demo\"\n" },
	{ "go.mod", "module example.com/demo\n\ngo 1.21\n" },
	{ "src/core/core.c", "#include \"core.h\"\n"
			     "#include \"../net/net.h\"\n"
			     "\n"
			     "#define CORE_MAX 10\n"
			     "\n"
			     "struct core_state {\n"
			     "\tint x;\n"
			     "};\n"
			     "\n"
			     "static int helper(int a,\n"
			     "\t\t  int b)\n"
			     "{\n"
			     "\treturn a + b; /* { not a brace */\n"
			     "}\n"
			     "\n"
			     "int core_init(void)\n"
			     "{\n"
			     "\tconst char *s = \"}\";\n"
			     "\treturn helper(1, 2);\n"
			     "}\n" },
	{ "src/core/core.h", "#ifndef CORE_H\n#define CORE_H\nint core_init(void);\n"
			     "typedef struct core_state core_state_t;\n#endif\n" },
	{ "src/net/net.c", "#include \"net.h\"\n#include \"../core/core.h\"\n\n"
			   "int net_send(const char *buf)\n{\n\treturn core_init();\n}\n" },
	{ "src/net/net.h", "int net_send(const char *buf);\n" },
	{ "py/app.py", "import os\nfrom py import util\n\nclass App:\n    def run(self):\n"
		       "        pass\n\ndef main():\n    App().run()\n" },
	{ "py/util.py", "def helper():\n    return 1\n" },
	{ "gosrc/server.go",
	  "package gosrc\n\nimport (\n\t\"fmt\"\n\t\"example.com/demo/py\"\n)\n\n"
	  "type Server struct {\n}\n\nfunc (s *Server) Start() error {\n"
	  "\treturn nil\n}\n\nfunc NewServer() *Server {\n\treturn nil\n}\n" },
	{ "rs/lib.rs", "mod parser;\nuse crate::parser::Parser;\n\npub struct Config {\n}\n\n"
		       "pub fn run() {}\n" },
	{ "rs/parser.rs", "pub struct Parser;\nimpl Parser {\n}\n" },
	{ "web/index.js", "import { x } from './lib/util.js';\nconst y = require('./lib/y');\n"
			  "export function start() {}\nexport class Widget {}\n" },
	{ "web/lib/util.js", "export const x = 1;\n" },
	{ "web/lib/y.js", "module.exports = 2;\n" },
	{ "java/com/acme/App.java",
	  "package com.acme;\n\nimport com.acme.util.Helper;\n\n"
	  "public class App {\n    public static void main(String[] args) {\n"
	  "        Helper.go();\n    }\n}\n" },
	{ "java/com/acme/util/Helper.java", "package com.acme.util;\n\npublic class Helper {\n"
					    "    public static void go() {\n    }\n}\n" },
	{ "scripts/build.sh",
	  "#!/bin/sh\nbuild() {\n\techo hi\n}\nfunction clean {\n\trm -f x\n}\n" },
	{ "tests/test_core.py", "from py import app\n\ndef test_app():\n    assert app\n" },
	{ ".github/workflows/ci.yml", "on: push\n" },
};

static int make_demo(const char *git)
{
	char *stream;
	FILE *s;
	int r;

	if (asprintf(&stream, "%s.fi", git) < 0)
		return -1;
	s = fopen(stream, "w");
	if (!s)
		return -1;
	fx_fi_commit(s, "Ada", 1700000000, "Initial import");
	for (size_t i = 0; i < ARRAY_SIZE(files_demo); i++)
		fx_fi_file(s, "100644", files_demo[i][0], strlen(files_demo[i][0]),
			   files_demo[i][1], strlen(files_demo[i][1]));
	fx_fi_commit(s, "Bob", 1700086400, "Add news");
	fx_fi_file(s, "100644", "NEWS", 4, "1\n", 2);
	fx_fi_commit(s, "Ada", 1702000000, "Update news");
	fx_fi_file(s, "100644", "NEWS", 4, "2\n", 2);
	fx_fi_commit(s, "Carol", 1703000000, "Carol's fix");
	fx_fi_file(s, "100644", "NEWS", 4, "3\n", 2);
	fx_fi_commit(s, "Bob", 1704000000, "More news");
	fx_fi_file(s, "100644", "NEWS", 4, "4\n", 2);
	fx_fi_commit(s, "Ada", 1705000000, "Release 1.0");
	fx_fi_file(s, "100644", "NEWS", 4, "5\n", 2);
	fclose(s);
	r = fx_fast_import(git, stream);
	free(stream);
	return r;
}

/* Does a line start with @heading outside fenced code (fences matched by length)? */
static bool heading_outside_code(const char *s, const char *heading)
{
	size_t fence = 0, hl = strlen(heading);

	for (const char *l = s; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t k = strspn(l, "`");

		if (k >= 3 && (fence == 0 || k >= fence)) {
			fence = fence ? 0 : k;
			continue;
		}
		if (!fence && !strncmp(l, heading, hl))
			return true;
	}
	return false;
}

/* The Mermaid node id of module @path ("m3"), from the rendered graph. */
static int node_of(const char *page, const char *path)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "[\"%s\"]", path);
	p = page ? strstr(page, key) : NULL;
	if (!p)
		return -1;
	while (p > page && p[-1] != 'm')
		p--;
	return atoi(p);
}

/*
 * Out of descriptors while the prompt reads the sources: prompt_build()
 * fails with EMFILE (the attempt is retried) instead of leaving the sources
 * out, which would make a worse page that stays cached.
 */
static void test_prompt_no_descriptors(struct repo_facts *f, struct plan *p, const char *head)
{
	struct conf *c = NULL;
	struct gen_request req = {
		.repo_name = "acme/demo",
		.url = "https://github.com/acme/demo.git",
		.commit = head,
		.plan = p,
		.page = &p->pages[plan_find(p, "Module-src-core")],
		.facts = f,
	};
	struct buf sys, user;
	struct wf_err e = { "" };
	struct rlimit old, low;
	int fds[256], n = 0, r, st = 0;
	pid_t pid;

	if (conf_load(&c, NULL, NULL, 0, NULL) < 0 || plan_find(p, "Module-src-core") < 0) {
		ok(0, "prompt without descriptors: conf and page");
		conf_free(c);
		return;
	}
	buf_init(&sys, 1 << 20);
	buf_init(&user, 4 << 20);
	r = prompt_build(&req, c, &sys, &user, NULL, &e);
	ok(r == 0 && strstr(buf_str(&user), "### src/core/core.c"),
	   "a module prompt quotes the module's sources (%s)", e.msg);
	buf_reset(&sys);
	buf_reset(&user);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = MIN(old.rlim_cur, 256);
	setrlimit(RLIMIT_NOFILE, &low);
	while (n < (int)ARRAY_SIZE(fds) && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	r = prompt_build(&req, c, &sys, &user, NULL, &e);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	ok(r == -EMFILE && strstr(e.msg, strerror(EMFILE)),
	   "without a descriptor the prompt fails with EMFILE, not without its sources (%d: %s)", r,
	   e.msg);
	/*
	 * libgit2 itself short of descriptors (a child: libgit2 1.5 leaks then,
	 * and _exit() skips the leak check): facts says EMFILE, not EIO.
	 */
	pid = fork();
	if (pid == 0) {
		struct buf b;

		buf_init(&b, 1 << 20);
		setrlimit(RLIMIT_NOFILE, &low);
		while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0)
			;
		_exit(-facts_read_file(f, "src/core/core.c", 1 << 20, &b));
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == EMFILE,
	   "libgit2 out of descriptors: facts_read_file() says EMFILE (exit %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	buf_done(&sys);
	buf_done(&user);
	conf_free(c);
}

static void test_demo(void)
{
	char *git, head[41], *pages[PLAN_MAX_PAGES] = { NULL };
	struct repo_facts *f = NULL;
	struct plan *p = NULL;
	struct wf_err e = { "" };
	const char *url = "https://github.com/acme/demo.git";
	char buf[1024];
	int r;

	if (asprintf(&git, "%s/demo.git", tmp) < 0)
		return;
	ok(make_demo(git) == 0, "demo repository imported");
	if (fx_rev(git, "main", head) < 0)
		goto out;
	r = facts_load(&f, git, head, &e);
	is_int(r, 0, "facts_load (%s)", e.msg);
	r = r ?: plan_builtin(&p, git, head, &e);
	is_int(r, 0, "plan_builtin (%s)", e.msg);
	if (r < 0)
		goto out;
	is_str(facts_commit_id(f), head, "facts commit id");
	for (size_t i = 0; i < p->n; i++) {
		pages[i] = gen(f, p, p->pages[i].slug, url, NULL);
		if (pages[i] && getenv("DUMP_DEMO"))
			diag("%s", pages[i]);
		ok(pages[i] != NULL, "page %s generated", p->pages[i].slug);
		if (!pages[i])
			continue;
		snprintf(buf, sizeof(buf), "# %s\n", p->pages[i].title);
		ok(!strncmp(pages[i], buf, strlen(buf)), "%s starts with its title",
		   p->pages[i].slug);
		ok(has(pages[i], head) || has(pages[i], "Commit `"), "%s states the commit",
		   p->pages[i].slug);
		ok(has(pages[i], "](Home.md)"), "%s links to Home", p->pages[i].slug);
		ok(valid_utf8(pages[i], strlen(pages[i])), "%s is valid UTF-8", p->pages[i].slug);
	}
#define PAGE(slug) (plan_find(p, slug) >= 0 ? pages[plan_find(p, slug)] : NULL)
	{
		const char *home = PAGE("Home");

		HAS(home, "Demo is a tiny project\nthat tests wikifs pages.",
		    "README rendered as Markdown");
		HAS(home, "It has several *modules* | and pipes.", "README emphasis kept");
		HAS(home, "## Quick start\n\nFrom `README.md`:\n\n```sh\nrm -rf /\n```\n",
		    "quick start from the README's shell block");
		ok(!has(home, "<script>") && !has(home, "alert") && !has(home, "\n## Install") &&
		       !has(home, "badge.svg"),
		   "README HTML and badges left out, headings demoted");
		HAS(home, "### Install", "README heading demoted");
		HAS(home, "| C |", "languages table");
		HAS(home, "| `src/` |", "layout lists src/");
		HAS(home, "[Architecture](Architecture.md)", "links to Architecture");
		HAS(home, "[Module src/core](Module-src-core.md)", "links to a module page");
		HAS(home, "- **Contributors:** 3", "contributors counted");
	}
	test_prompt_no_descriptors(f, p, head);
	{
		const char *side = PAGE("_Sidebar");

		HAS(side, "- [Home](Home.md)", "sidebar links Home");
		HAS(side, "  - [Module src/net](Module-src-net.md)", "sidebar links modules");
		HAS(side, "- [Contributors](Contributors.md)", "sidebar links Contributors");
	}
	{
		const char *arch = PAGE("Architecture");
		int core = node_of(arch, "src/core"), net = node_of(arch, "src/net");
		int go = node_of(arch, "gosrc"), py = node_of(arch, "py");

		HAS(arch, "```mermaid\ngraph LR\n", "Mermaid graph");
		ok(core >= 0 && net >= 0 && go >= 0 && py >= 0, "module nodes present");
		snprintf(buf, sizeof(buf), "m%d -->|1| m%d\n", core, net);
		HAS(arch, buf, "edge src/core -> src/net");
		snprintf(buf, sizeof(buf), "m%d -->|1| m%d\n", net, core);
		HAS(arch, buf, "edge src/net -> src/core");
		snprintf(buf, sizeof(buf), "m%d -->|1| m%d\n", go, py);
		HAS(arch, buf, "Go import edge gosrc -> py");
		snprintf(buf, sizeof(buf), "m%d -->|", node_of(arch, "tests"));
		HAS(arch, buf, "Python import edge from tests");
		HAS(arch, "method App.main — [java/com/acme/App.java:6]",
		    "Java entry point listed");
	}
	{
		const char *core = PAGE("Module-src-core");
		char want[512];
		const struct {
			const char *kind, *name, *file;
			int line;
		} syms[] = {
			{ "macro", "CORE_MAX", "src/core/core.c", 4 },
			{ "struct", "core_state", "src/core/core.c", 6 },
			{ "function", "helper", "src/core/core.c", 10 },
			{ "function", "core_init", "src/core/core.c", 16 },
			{ "prototype", "core_init", "src/core/core.h", 3 },
			{ "typedef", "core_state_t", "src/core/core.h", 4 },
		};

		for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
			snprintf(want, sizeof(want),
				 "%s `%s` — [%s:%d](https://github.com/acme/demo/blob/%s/%s#L%d)",
				 syms[i].kind, syms[i].name, syms[i].file, syms[i].line, head,
				 syms[i].file, syms[i].line);
			HAS(core, want, "%s %s at line %d with a pinned link", syms[i].kind,
			    syms[i].name, syms[i].line);
		}
		HAS(core, "**Depends on:** [Module src/net](Module-src-net.md) (1)", "depends on");
		HAS(core, "**Used by:** [Module src/net](Module-src-net.md) (1)", "used by");
	}
	{
		const struct {
			const char *slug, *text;
		} want[] = {
			{ "Module-gosrc", "struct `Server` — [gosrc/server.go:8]" },
			{ "Module-gosrc", "method `Server.Start` — [gosrc/server.go:11]" },
			{ "Module-gosrc", "func `NewServer` — [gosrc/server.go:15]" },
			{ "Module-py", "class `App` — [py/app.py:4]" },
			{ "Module-py", "function `main` — [py/app.py:8]" },
			{ "Module-py", "method `App.run` — [py/app.py:5]" },
			{ "Module-rs", "struct `Config` — [rs/lib.rs:4]" },
			{ "Module-rs", "function `run` — [rs/lib.rs:7]" },
			{ "Module-rs", "implementation `Parser` — [rs/parser.rs:2]" },
			{ "Module-web", "function `start` — [web/index.js:3]" },
			{ "Module-web", "class `Widget` — [web/index.js:4]" },
			{ "Module-web", "constant `x` — [web/lib/util.js:1]" },
			{ "Module-java", "class `App` — [java/com/acme/App.java:5]" },
			{ "Module-java", "method `App.main` — [java/com/acme/App.java:6]" },
			{ "Module-scripts", "function `build` — [scripts/build.sh:2]" },
			{ "Module-scripts", "function `clean` — [scripts/build.sh:5]" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(want); i++)
			HAS(PAGE(want[i].slug), want[i].text, "%s: %s", want[i].slug, want[i].text);
		{
			const char *rs = PAGE("Module-rs");
			const char *pub = rs ? strstr(rs, "struct `Config`") : NULL;
			const char *in = rs ? strstr(rs, "module `parser` — [rs/lib.rs:1]") : NULL;

			ok(pub && in && pub < in,
			   "public symbols (line 4) before internal ones (line 1)");
		}
	}
	{
		const struct facts_import *im;
		size_t n = facts_imports(f, &im);
		bool java = false, rs = false, js = false;

		for (size_t i = 0; i < n; i++) {
			java |= !strcmp(im[i].from, "java/com/acme/App.java") &&
				!strcmp(im[i].target, "java/com/acme/util/Helper.java");
			rs |= !strcmp(im[i].from, "rs/lib.rs") &&
			      !strcmp(im[i].target, "rs/parser.rs");
			js |= !strcmp(im[i].from, "web/index.js") &&
			      !strcmp(im[i].target, "web/lib/y.js");
		}
		ok(java, "Java import resolved to its file");
		ok(rs, "Rust mod resolved to its file");
		ok(js, "JS require resolved with an added extension");
	}
	{
		const char *b = PAGE("Build-and-Test");

		HAS(b, "## Meson", "Meson detected");
		HAS(b, "meson setup build\nninja -C build\n# tests\nmeson test -C build\n",
		    "meson commands");
		ok(!has(b, "## CMake"), "CMake not claimed");
		HAS(b, "Targets: `all`, `test`.", "make targets");
		HAS(b, "# tests\nmake test\n", "make test");
		HAS(b, "- `test`: `jest`", "npm scripts listed");
		HAS(b, "npm install\nnpm run build\n# tests\nnpm test\n", "npm commands");
		HAS(b, "cargo test", "cargo");
		HAS(b, "go test ./...", "go");
		HAS(b, "Module path: `example.com/demo`", "go module path");
		HAS(b, "- `.github/workflows/ci.yml`", "CI file");
		HAS(b, "- `tests/`: 1 files", "test directory");
	}
	{
		const char *c = PAGE("Contributors");

		HAS(c, "| 1 | Ada | 3 | 2023-11-14 | 2024-01-11 |", "Ada first with 3 commits");
		HAS(c, "| 2 | Bob | 2 |", "Bob second with 2");
		HAS(c, "| 3 | Carol | 1 |", "Carol third with 1");
	}
	{
		const char *h = PAGE("History");

		HAS(h, "6 commits by 3 people are reachable", "history count");
		HAS(h, "| 2024-01-11 | [`", "newest commit first with a date");
		HAS(h, "| Ada | Release 1.0 |", "subject and author");
		HAS(h, "| Carol | Carol's fix |", "apostrophe untouched");
		HAS(h, "| 2023-11 | 2 |", "activity per month");
	}
	/* byte-identical on a second run, and plain code spans off a forge */
	{
		bool same = true;

		for (size_t i = 0; i < p->n; i++) {
			char *again = gen(f, p, p->pages[i].slug, url, NULL);

			same &= again && pages[i] && !strcmp(again, pages[i]);
			free(again);
		}
		ok(same, "every page is byte-identical on a second run");
	}
	{
		char *local = gen(f, p, "Module-src-core", "/srv/git/demo.git", NULL);

		HAS(local, "function `core_init` — `src/core/core.c:16`", "code span off a forge");
		ok(!has(local, "https://"), "no links off a forge");
		free(local);
		local = gen(f, p, "Module-src-core", "https://user:secret@github.com/acme/demo.git",
			    NULL);
		ok(local && !has(local, "secret"), "credentials in the URL never reach a page");
		free(local);
	}
	{
		struct buf rb;

		buf_init(&rb, 1 << 20);
		is_int(facts_read_file(f, "src/net/net.h", 1000, &rb), 0, "facts_read_file");
		is_str(buf_str(&rb), "int net_send(const char *buf);\n", "file content");
		buf_reset(&rb);
		is_int(facts_read_file(f, "src/core/core.c", 8, &rb), 0, "bounded read");
		is_int((long)rb.len, 8, "read stops at max");
		is_int(facts_read_file(f, "src", 10, &rb), -EISDIR, "directory");
		is_int(facts_read_file(f, "nope", 10, &rb), -ENOENT, "absent");
		buf_done(&rb);
	}
#undef PAGE
out:
	for (size_t i = 0; i < PLAN_MAX_PAGES; i++)
		free(pages[i]);
	plan_unref(p);
	facts_unref(f);
	free(git);
}

static void test_hostile(void)
{
	char *git, *stream, head[41];
	struct repo_facts *f = NULL;
	struct plan *p = NULL;
	struct wf_err e = { "" };
	FILE *s;
	char *big;
	size_t bn = 5u << 20, o = 0;
	int r;

	if (asprintf(&git, "%s/hostile.git", tmp) < 0 ||
	    asprintf(&stream, "%s/hostile.fi", tmp) < 0)
		return;
	s = fopen(stream, "w");
	fx_fi_commit(s, "Eve | `x` \x1b[31m", 1700000000, "evil \x01 subject | with `ticks`");
#define F(path, text) fx_fi_file(s, "100644", path, sizeof(path) - 1, text, sizeof(text) - 1)
	F("README.md", "# Title\n\n## Heading\n```\nunclosed fence\n\n| a | b |\n"
		       "Some *text*\x01 with \xff invalid\n\n<div>html</div>\n\n# Injected\n");
	F("src/new\nline.c", "int newline_fn(void)\n{\n\treturn 0;\n}\n");
	F("src/ctl\x01\x1b.c", "int ctl_fn(void)\n{\n\treturn 0;\n}\n");
	F("src/bad\xff\xfe.c", "int bad_fn(void)\n{\n\treturn 0;\n}\n");
	F("src/tick`|pipe.c", "int `odd`(void)\n{\n}\n");
	F("src/binary.c", "int x\0\0\0\xff\xfe\0 binary");
	F("src/lines.c", "\xe2\x80\xae"
			 "evil(void)\n{\n}\n");
	F("lib/a/x.c", "int ax(void)\n{\n}\n");
	F("lib/b/y.c", "int by(void)\n{\n}\n");
#undef F
	fx_fi_file(s, "120000", "src/link", 8, "/etc/passwd", 11);
	fx_fi_file(s, "120000", "src/uplink", 10, "../../../../../../etc/shadow", 28);
	big = malloc(bn);
	while (o + 64 < bn)
		o += (size_t)snprintf(big + o, bn - o, "int big_fn_%zu(void)\n{\n}\n", o);
	memset(big + o, '\n', bn - o);
	fx_fi_file(s, "100644", "src/big.c", 9, big, bn);
	free(big);
	{
		char path[4200];
		size_t n = 0;

		for (int i = 0; i < 1000; i++)
			n += (size_t)snprintf(path + n, sizeof(path) - n, "src/");
		n += (size_t)snprintf(path + n, sizeof(path) - n, "deep.c");
		fx_fi_file(s, "100644", path, n, "int deep(void)\n{\n}\n", 19);
	}
	fclose(s);
	ok(fx_fast_import(git, stream) == 0, "hostile repository imported");
	if (fx_rev(git, "main", head) < 0)
		goto out;
	r = facts_load(&f, git, head, &e);
	is_int(r, 0, "facts_load on a hostile repository (%s)", e.msg);
	r = r ?: plan_builtin(&p, git, head, &e);
	if (r < 0)
		goto out;
	{
		const struct facts_file *ff;
		size_t n = facts_files(f, &ff);
		long bi = facts_find_file(f, "src/binary.c"), li = facts_find_file(f, "src/link");
		long gi = facts_find_file(f, "src/big.c");
		const struct facts_symbol *sy;
		size_t ns = gi >= 0 ? facts_file_symbols(f, (size_t)gi, &sy) : 0;
		struct buf rb;

		ok(n >= 12, "files listed (%zu)", n);
		ok(bi >= 0 && ff[bi].binary, "binary file flagged");
		ok(bi >= 0 && facts_file_symbols(f, (size_t)bi, &sy) == 0,
		   "binary file not scanned");
		ok(li >= 0 && facts_file_ext(f, (size_t)li)->mode == 0120000 && !ff[li].binary &&
		       !facts_file_ext(f, (size_t)li)->scanned,
		   "symlink recorded, never read");
		ok(gi >= 0 && ff[gi].size == bn, "5 MiB file has its real size");
		ok(ns > 100 && ns <= FACTS_FILE_SYMBOLS, "5 MiB file scanned within bounds (%zu)",
		   ns);
		buf_init(&rb, 1 << 20);
		ok(facts_read_file(f, "src/link", 100, &rb) < 0 && rb.len == 0,
		   "facts_read_file refuses a symlink");
		buf_done(&rb);
	}
	for (size_t i = 0; i < p->n; i++) {
		double t;
		char *pg = gen(f, p, p->pages[i].slug, "https://gitlab.com/x/y.git", &t);
		size_t fences = 0;

		ok(pg != NULL, "hostile %s generated in %.3f s", p->pages[i].slug, t);
		if (!pg)
			continue;
		ok(valid_utf8(pg, strlen(pg)), "hostile %s is valid UTF-8, no control characters",
		   p->pages[i].slug);
		for (const char *l = pg; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
			fences += !strncmp(l, "```", 3);
		ok(fences % 2 == 0, "hostile %s: fences balanced", p->pages[i].slug);
		ok(!heading_outside_code(pg, "# Injected") &&
		       !heading_outside_code(pg, "## Heading") &&
		       !heading_outside_code(pg, "<div>"),
		   "hostile %s: README cannot inject structure", p->pages[i].slug);
		ok(!has(pg, "/etc/passwd") && !has(pg, "/etc/shadow"),
		   "hostile %s: symlink targets never read", p->pages[i].slug);
		ok(t < 1.0, "hostile %s under 1 s", p->pages[i].slug);
		if (!strcmp(p->pages[i].slug, "Module-src")) {
			HAS(pg, "`src/new\xef\xbf\xbdline.c`", "newline in a name replaced");
			HAS(pg, "``src/tick`|pipe.c``", "backtick in a name fenced");
			HAS(pg, "`src/bad\xef\xbf\xbd\xef\xbf\xbd.c`", "invalid UTF-8 replaced");
			HAS(pg, "symbols from its first 256 KiB",
			    "big file noted as partly scanned");
			HAS(pg, "symbolic link", "symlink shown as such");
		}
		if (getenv("DUMP"))
			printf("=== %s\n%s\n", p->pages[i].slug, pg);
		if (!strcmp(p->pages[i].slug, "Contributors"))
			HAS(pg, "| 1 | Eve \\| \\`x\\` \xef\xbf\xbd\\[31m | 1 |",
			    "author escaped in table");
		if (!strcmp(p->pages[i].slug, "History"))
			HAS(pg, "evil \xef\xbf\xbd subject \\| with `ticks` |",
			    "subject escaped, its code span kept");
		free(pg);
	}
out:
	plan_unref(p);
	facts_unref(f);
	free(git);
	free(stream);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* 40 modules x 100 C files, 200 commits by 20 authors, via fast-import. */
static void test_large(void)
{
	char *git, *stream, head[41], text[4096];
	struct repo_facts *f = NULL;
	struct plan *p = NULL;
	struct wf_err e = { "" };
	double t0, tl, times[PLAN_MAX_PAGES], worst = 0;
	FILE *s;
	int r;

	if (asprintf(&git, "%s/large.git", tmp) < 0 || asprintf(&stream, "%s/large.fi", tmp) < 0)
		return;
	t0 = now_s();
	s = fopen(stream, "w");
	fx_fi_commit(s, "author00", 1600000000, "Initial import");
	fx_fi_file(s, "100644", "README.md", 9, "# Large\n\nA generated repository.\n", 32);
	fx_fi_file(s, "100644", "CMakeLists.txt", 14, "project(large C)\n", 17);
	for (int m = 0; m < 40; m++) {
		for (int k = 0; k < 100; k++) {
			char path[64];
			int pl = snprintf(path, sizeof(path), "src/mod%02d/file%03d.%c", m, k,
					  k % 10 ? 'c' : 'h');
			int n =
			    snprintf(text, sizeof(text), "#include \"../mod%02d/file%03d.h\"\n\n",
				     (m + 1) % 40, (k / 10) * 10);

			for (int fn = 0; fn < 8; fn++)
				n += snprintf(
				    text + n, sizeof(text) - (size_t)n,
				    "int mod%02d_f%03d_%d(int x)\n{\n\tif (x)\n\t\treturn x;\n"
				    "\treturn %d;\n}\n\n",
				    m, k, fn, fn);
			fx_fi_file(s, "100644", path, (size_t)pl, text, (size_t)n);
		}
	}
	for (int c = 1; c < 200; c++) {
		char who[16], msg[64];

		snprintf(who, sizeof(who), "author%02d", c % 20);
		snprintf(msg, sizeof(msg), "Change %d", c);
		fx_fi_commit(s, who, 1600000000 + c * 86400L, msg);
		snprintf(text, sizeof(text), "int change_%d;\n", c);
		fx_fi_file(s, "100644", "src/mod00/file001.c", 19, text, strlen(text));
	}
	fclose(s);
	ok(fx_fast_import(git, stream) == 0, "4,000-file repository imported");
	diag("fixture made in %.2f s", now_s() - t0);
	if (fx_rev(git, "main", head) < 0)
		goto out;
	t0 = now_s();
	r = facts_load(&f, git, head, &e);
	tl = now_s() - t0;
	is_int(r, 0, "facts_load on 4,000 files (%s)", e.msg);
	diag("facts_load: %.3f s", tl);
	ok(tl < 5.0, "facts_load under 5 s (%.3f s)", tl);
	t0 = now_s();
	r = r ?: plan_builtin(&p, git, head, &e);
	is_int(r, 0, "plan_builtin on 4,000 files");
	diag("plan_builtin: %.3f s", now_s() - t0);
	if (r < 0)
		goto out;
	{
		const struct facts_file *ff;
		size_t mods = 0;

		is_int(facts_files(f, &ff), 4002, "every file kept");
		for (size_t i = 0; i < p->n; i++)
			mods += p->pages[i].kind == PAGE_MODULE;
		is_int(mods, 30, "module pages capped at 30");
	}
	for (size_t i = 0; i < p->n; i++) {
		char *pg = gen(f, p, p->pages[i].slug, "https://github.com/acme/large", &times[i]);

		if (!pg || !valid_utf8(pg, strlen(pg)))
			ok(0, "large %s generated and valid", p->pages[i].slug);
		worst = MAX(worst, times[i]);
		free(pg);
	}
	qsort(times, p->n, sizeof(times[0]), cmp_double);
	diag("%zu pages: p50 %.1f ms, p95 %.1f ms, max %.1f ms", p->n, times[p->n / 2] * 1e3,
	     times[(p->n * 95) / 100] * 1e3, worst * 1e3);
	ok(worst < 1.0, "every page under 1 s (max %.3f s)", worst);
out:
	plan_unref(p);
	facts_unref(f);
	free(git);
	free(stream);
}

int main(void)
{
	tmp = fx_tmpdir("builtin");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	if (gitrepo_global_init() < 0)
		skip_all("cannot initialise libgit2");
	is_str(backend_builtin.name, "builtin", "backend name");
	ok(backend_builtin.prompt_version && *backend_builtin.prompt_version, "prompt version");
	test_demo();
	test_hostile();
	test_large();
	rm_rf(tmp);
	free(tmp);
	gitrepo_global_shutdown();
	return done_testing();
}
