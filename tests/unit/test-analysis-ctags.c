/* SPDX-License-Identifier: MIT */
/*
 * analysis/ctags.c against the real Universal Ctags: the API styles the
 * hand-written scanners miss, what must not be reported (an include guard,
 * a "fn main" inside a Rust string), many files through one process, and
 * the failures a caller falls back from (no ctags, a ctags that dies).
 */
#include "ctags.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct got {
	char text[16384];
	size_t len;
	size_t files, done_ok, done_failed;
	const struct ctags_file *in;
	size_t nin, next;
};

static int src_next(void *ctx, struct ctags_file *f)
{
	struct got *g = ctx;

	if (g->next >= g->nin)
		return 0;
	*f = g->in[g->next++];
	return 1;
}

/* "kind scope.name signature@line;" per symbol */
static void src_symbol(void *ctx, const struct ctags_file *f, const struct ctags_symbol *s)
{
	struct got *g = ctx;
	int n = snprintf(g->text + g->len, sizeof(g->text) - g->len, "%s %s%s%s%s@%u%s;", s->kind,
			 s->scope ? s->scope : "", s->scope ? "." : "", s->name,
			 s->signature ? s->signature : "", s->line, s->file_scope ? " static" : "");

	if (n > 0 && (size_t)n < sizeof(g->text) - g->len)
		g->len += (size_t)n;
}

static void src_done(void *ctx, const struct ctags_file *f, bool ok)
{
	struct got *g = ctx;

	g->files++;
	if (ok)
		g->done_ok++;
	else
		g->done_failed++;
}

static int run(struct got *g, const char *ctags, const struct ctags_file *in, size_t n)
{
	const struct ctags_source src = { g, src_next, src_symbol, src_done };
	const struct ctags_opts o = { ctags, 20000, 10000 };
	struct wf_err err = { "" };
	int r;

	memset(g, 0, sizeof(*g));
	g->in = in;
	g->nin = n;
	r = ctags_run(&o, &src, &err);
	if (r < 0)
		diag("ctags_run: %s", err.msg);
	return r;
}

static struct ctags_file file(const char *path, const char *lang, const char *text)
{
	return (struct ctags_file){ path, lang, text, strlen(text), NULL };
}

static void test_one(const char *what, const char *path, const char *lang, const char *text,
		     const char *want, const char *unwanted)
{
	struct got g;
	const struct ctags_file f = file(path, lang, text);

	is_int(run(&g, NULL, &f, 1), 0, "%s: ctags ran", what);
	ok(strstr(g.text, want) != NULL, "%s: '%s' found in '%s'", what, want, g.text);
	if (unwanted)
		ok(strstr(g.text, unwanted) == NULL, "%s: no '%s' in '%s'", what, unwanted, g.text);
	is_int(g.done_ok, 1, "%s: the file was finished", what);
}

static void test_styles(void)
{
	test_one("js app.get", "lib/application.js", "JavaScript",
		 "var app = exports = module.exports = {};\n"
		 "/**\n * Get a setting.\n */\n"
		 "app.get = function get(setting) {\n  return 1;\n};\n"
		 "app.set = function(setting, val) {\n};\n",
		 "function app.get", "function app@");
	test_one("js app.set", "lib/application.js", "JavaScript",
		 "var app = module.exports = {};\napp.set = function(setting, val) {\n};\n",
		 "function app.set", NULL);
	test_one("C export macro", "include/git2/x.h", "C",
		 "#ifndef INCLUDE_git_x_h__\n#define INCLUDE_git_x_h__\n"
		 "/** Does x. */\nGIT_EXTERN(int) git_x(void);\n#define GIT_X_MAX 3\n#endif\n",
		 "prototype git_x(void)@4", "INCLUDE_git_x_h__");
	test_one("C static", "src/a.c", "C",
		 "static int helper(int a) { return a; }\nint api(void)\n{\n\treturn 0;\n}\n",
		 "function helper(int a)@1 static", NULL);
	test_one("python method", "pkg/m.py", "Python",
		 "class Session(object):\n    \"\"\"A session.\"\"\"\n\n    def request(self, "
		 "method, url):\n"
		 "        return \"def nope(): pass\"\n",
		 "method Session.request(self, method, url)@4", "nope");
	test_one("go const", "x.go", "Go",
		 "package x\n\nconst MaxSize = 10\n\nconst (\n\tA = 1\n)\n\n"
		 "func (s *S) Run(x int) error { return nil }\n",
		 "const MaxSize@3", "package");
	test_one("rust main in a string", "src/lib.rs", "Rust",
		 "const SRC: &str = \"fn main() { println!(\\\"hi\\\"); }\";\n"
		 "/// Real.\npub fn real() {}\n",
		 "function real()@3", "main");
}

static void test_many_files(void)
{
	struct ctags_file in[300];
	char texts[300][64];
	struct got g;

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		snprintf(texts[i], sizeof(texts[i]), "int f%zu(void)\n{\n\treturn 0;\n}\n", i);
		in[i] = file("a.c", "C", texts[i]);
	}
	in[7] = file("empty.c", "C", "");
	in[8] = file("data.json", "JSON", "{}"); /* no parser of ours: finished at once */
	is_int(run(&g, NULL, in, ARRAY_SIZE(in)), 0, "300 files through one ctags");
	is_int(g.done_ok, ARRAY_SIZE(in), "every file finished");
	ok(strstr(g.text, "function f299(void)@1;") != NULL, "the last file's symbol");
	ok(strstr(g.text, "f7(") == NULL && strstr(g.text, "f8(") == NULL,
	   "the empty and the JSON file have none");
}

static void test_failures(void)
{
	const struct ctags_file in[] = { file("a.c", "C", "int a(void) { return 0; }\n"),
					 file("b.c", "C", "int b(void) { return 0; }\n") };
	char dir[] = "/tmp/wikifs-ctags-XXXXXX", fake[300];
	struct got g;
	FILE *fp;

	is_int(run(&g, "/nonexistent/ctags", in, 2), -ENOENT, "no ctags: -ENOENT");
	is_int((int)g.files, 0, "no file was handed to it");

	/* a ctags that reads a little, then dies: the files in flight come back */
	if (!mkdtemp(dir))
		return;
	snprintf(fake, sizeof(fake), "%s/ctags", dir);
	fp = fopen(fake, "w");
	fputs("#!/bin/sh\necho '{\"_type\": \"program\", \"name\": \"Universal Ctags\"}'\n"
	      "head -c 10 >/dev/null\nexit 3\n",
	      fp);
	fclose(fp);
	chmod(fake, 0755);
	ok(run(&g, fake, in, 2) < 0, "a dying ctags is an error");
	is_int(g.done_failed + g.done_ok, g.next, "every file handed out came back (%zu)", g.next);
	is_int(g.done_ok, 0, "none of them as finished");

	/* one that speaks something else */
	fp = fopen(fake, "w");
	fputs("#!/bin/sh\necho 'ctags: unknown option'\ncat >/dev/null\n", fp);
	fclose(fp);
	is_int(run(&g, fake, in, 2), -EPROTO, "an answer out of protocol: -EPROTO");
	unlink(fake);
	rmdir(dir);
}

int main(void)
{
	if (access(CTAGS_PATH, X_OK) < 0)
		skip_all("no Universal Ctags at " CTAGS_PATH " (scripts/deps installs it)");
	test_styles();
	test_many_files();
	test_failures();
	return done_testing();
}
