/* SPDX-License-Identifier: MIT */
/*
 * Prompts (gen/prompt.c), without facts and with the facts of a real bare
 * repository made with git fast-import: which sources a page gets, how they
 * are numbered and fenced, the byte budget, control characters from the
 * history, and text that is not UTF-8.
 */
#include "backend.h"
#include "conf.h"
#include "facts.h"
#include "fsutil.h"
#include "git-fixture.h"
#include "llm-fixture.h"
#include "plan.h"
#include "prompt.h"
#include "gitrepo.h"
#include "tap.h"
#include "utf8.h"
#include "utf8-oracle.h"
#include "util.h"

#include <string.h>

#define HUGE_BYTES  19999 /* one line of 'z', far past the 4K budget */
#define EMPTY_LINES 7999

static char *tmp;

/*
 * A bare repository of two commits on main: "first" holds a README, a
 * manifest, src/core/{engine,huge}.c and src/other/skip.c, and a history
 * subject with an escape sequence; "second" turns huge.c into empty lines.
 * The commits' ids go to @first and @second.
 */
static int make_repo(const char *git, char first[41], char second[41])
{
	static char big[HUGE_BYTES], nl[EMPTY_LINES];
	char *stream;
	FILE *s;
	int r;

	memset(big, 'z', sizeof(big));
	memset(nl, '\n', sizeof(nl));
	if (asprintf(&stream, "%s/demo.fi", tmp) < 0)
		return -1;
	s = fopen(stream, "w");
	if (!s) {
		free(stream);
		return -1;
	}
	fx_fi_commit(s, "ann", 1700000000, "Add the engine\x1b[31m");
#define F(path, data, n) fx_fi_file(s, "100644", path, strlen(path), data, n)
#define T(path, text)	 F(path, text, strlen(text))
	T("README.md", "# Demo\nA demo project.\n");
	T("meson.build", "project('demo', 'c')\n");
	T("src/core/engine.c", "int engine_start(void)\n{\n\treturn ```0;\n}\n");
	T("src/other/skip.c", "int skip_me;\n");
	F("src/core/huge.c", big, sizeof(big));
	fx_fi_commit(s, "ann", 1700000100, "Empty lines");
	F("src/core/huge.c", nl, sizeof(nl));
#undef T
#undef F
	fclose(s);
	r = fx_fast_import(git, stream);
	free(stream);
	if (r == 0)
		r = fx_rev(git, "main~1", first);
	if (r == 0)
		r = fx_rev(git, "main", second);
	return r;
}

/* The bytes between the sources' heading and the closing request. */
static size_t sources_bytes(const struct buf *user)
{
	const char *src = strstr(buf_str(user), "\n## Source files");
	const char *end = strstr(buf_str(user), "\nNow write the page");

	return src && end && end > src ? (size_t)(end - src) : (size_t)-1;
}

static void test_without_facts(const struct conf *c)
{
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1);
	struct wf_err e = { { 0 } };
	struct buf sys, user;

	buf_init(&sys, 1 << 20);
	buf_init(&user, 1 << 20);
	ok(c && prompt_build(&req, c, &sys, &user, &e) == 0, "prompt without facts builds");
	ok(!strncmp(buf_str(&user), "Page: Architecture\n", 19), "prompt: first line is the page");
	ok(strstr(buf_str(&user), "[Home](Home.md)") &&
	       strstr(buf_str(&user), "[Module src/core](Module-src-core.md)"),
	   "prompt: sibling links in wiki form");
	ok(strstr(buf_str(&user), "abc123") &&
	       strstr(buf_str(&user), "https://example.org/owner/repo/blob/abc123/"),
	   "prompt: citations pinned to the commit");
	ok(strstr(buf_str(&sys), "Mermaid") && strstr(buf_str(&sys), "path:line"),
	   "system prompt asks for Mermaid and file:line citations");
	ok(strlen(PROMPT_VERSION) > 0 && !strcmp(backend_openai.prompt_version, PROMPT_VERSION) &&
	       !strcmp(backend_command.prompt_version, PROMPT_VERSION),
	   "backends use PROMPT_VERSION %s", PROMPT_VERSION);
	buf_done(&sys);
	buf_done(&user);
	plan_unref(p);
}

/* The user prompt of a History page of @req's repository, into @user (reset). */
static int history_prompt(struct gen_request req, const struct conf *c, struct buf *user)
{
	struct plan_page hist = { "History", "History", PAGE_HISTORY, NULL };
	struct wf_err e = { { 0 } };
	struct buf sys;
	int r;

	req.page = &hist;
	buf_init(&sys, 1 << 20);
	buf_reset(user);
	r = prompt_build(&req, c, &sys, user, &e);
	buf_done(&sys);
	return r;
}

static void test_module(const struct conf *c, struct repo_facts *f, struct repo_facts *f2)
{
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 2); /* Module src/core */
	struct wf_err e = { { 0 } };
	struct buf sys, user;
	size_t zs = 0;
	const char *h;

	buf_init(&sys, 1 << 20);
	buf_init(&user, 1 << 20);
	req.facts = f;
	req.commit = facts_commit_id(f);
	ok(prompt_build(&req, c, &sys, &user, &e) == 0, "module prompt with facts builds (%s)",
	   e.msg);
	ok(strstr(buf_str(&user), "### src/core/engine.c") &&
	       strstr(buf_str(&user), "    1  int engine_start(void)"),
	   "module prompt: the module's file, line-numbered");
	ok(!strstr(buf_str(&user), "### src/other/skip.c"),
	   "module prompt: other modules left out");
	ok(strstr(buf_str(&user), "````"), "module prompt: fence longer than the file's backticks");
	h = strstr(buf_str(&user), "### src/core/huge.c");
	for (const char *s = buf_str(&user); *s; s++)
		zs += *s == 'z';
	ok(h && zs > 0 && zs <= 4096 && strstr(h, "(first "),
	   "module prompt: huge file cut (%zu bytes of it)", zs);
	ok(sources_bytes(&user) <= 4096 + 128,
	   "module prompt: sources within the 4K budget, line numbers counted (%zu)",
	   sources_bytes(&user));
	ok(!strstr(buf_str(&user), "Add the engine"), "module prompt: no commits");
	ok(history_prompt(req, c, &user) == 0 && strstr(buf_str(&user), "Add the engine") &&
	       !strchr(buf_str(&user), '\x1b'),
	   "history prompt: the history is there, its control characters removed");

	/* a file of empty lines: numbering must not multiply the budget */
	req.facts = f2;
	req.commit = facts_commit_id(f2);
	buf_reset(&user);
	ok(prompt_build(&req, c, &sys, &user, &e) == 0 &&
	       strstr(buf_str(&user), "### src/core/huge.c"),
	   "module prompt at the second commit builds, with the file of empty lines (%s)", e.msg);
	ok(sources_bytes(&user) <= 4096 + 128,
	   "module prompt: short lines stay within the budget (%zu)", sources_bytes(&user));
	buf_done(&sys);
	buf_done(&user);
	plan_unref(p);
}

static void test_home(const struct conf *c, struct repo_facts *f)
{
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 0); /* Home */
	struct wf_err e = { { 0 } };
	struct buf sys, user;

	buf_init(&sys, 1 << 20);
	buf_init(&user, 1 << 20);
	req.facts = f;
	req.commit = facts_commit_id(f);
	ok(prompt_build(&req, c, &sys, &user, &e) == 0 && strstr(buf_str(&user), "### README.md") &&
	       strstr(buf_str(&user), "### meson.build") &&
	       !strstr(buf_str(&user), "### src/core/engine.c"),
	   "home prompt: README and manifests, not module sources");
	buf_done(&sys);
	buf_done(&user);
	plan_unref(p);
}

/*
 * A repository whose text is not all UTF-8: a Latin-1 source file and
 * author, a directory name holding a surrogate, and a subject whose 200th
 * byte falls inside a character. The prompt goes into a JSON body, which
 * must be UTF-8: every bad byte becomes U+FFFD, and nothing is cut in half.
 */
static void test_not_utf8(const struct conf *c)
{
	static const char subject[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				      "\xc3\xa9 and more";
	struct plan *p = make_plan();
	struct gen_request req = make_req(p, 1); /* Architecture: files, history, sources */
	struct repo_facts *f = NULL;
	struct wf_err e = { { 0 } };
	char *stream = NULL, *git = NULL, head[41], cut[256];
	struct buf sys, user;
	FILE *s;
	int r;

	buf_init(&sys, 1 << 20);
	buf_init(&user, 1 << 20);
	if (asprintf(&stream, "%s/latin.fi", tmp) < 0 || asprintf(&git, "%s/latin.git", tmp) < 0)
		abort();
	s = fopen(stream, "w");
	if (!s)
		abort();
	fx_fi_commit(s, "ren\xe9", 1700000000, subject);
#define T(path, text) fx_fi_file(s, "100644", path, strlen(path), text, strlen(text))
	T("src/core/latin1.c", "/* caf\xe9 cr\xe8me */\nint latin(void);\n");
	T("sur\xed\xa0\x80/a.c", "int a;\n");
#undef T
	fclose(s);
	r = fx_fast_import(git, stream);
	r = r ?: fx_rev(git, "main", head);
	r = r ?: facts_load(&f, git, head, &e);
	req.facts = f;
	req.commit = head;
	r = r ?: prompt_build(&req, c, &sys, &user, &e);
	is_int(r, 0, "prompt of a repository with Latin-1 text builds (%s)", e.msg);
	ok(oracle_utf8_valid(user.data, user.len), "the prompt is strict UTF-8");
	ok(strstr(buf_str(&user), "caf" UTF8_REPLACEMENT " cr" UTF8_REPLACEMENT "me"),
	   "a Latin-1 source line keeps its text, each bad byte a U+FFFD");
	ok(strstr(buf_str(&user), "sur" UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT "/a.c"),
	   "a surrogate in a path: three U+FFFD");
	ok(r == 0 && history_prompt(req, c, &user) == 0 &&
	       strstr(buf_str(&user), " ren" UTF8_REPLACEMENT ": x"),
	   "a Latin-1 author: one U+FFFD");
	snprintf(cut, sizeof(cut), ": %.199s\n", subject);
	ok(strstr(buf_str(&user), cut),
	   "a subject cut at 200 bytes leaves out the split character");
	buf_done(&sys);
	buf_done(&user);
	facts_unref(f);
	plan_unref(p);
	free(stream);
	free(git);
}

int main(void)
{
	struct conf *c =
	    make_conf("builtin", (const char *const[]){ "generator.prompt_budget=4K", NULL });
	struct repo_facts *f = NULL, *f2 = NULL;
	struct wf_err e = { { 0 } };
	char first[41], second[41];
	char *git = NULL;
	int r;

	if (gitrepo_global_init() < 0)
		return 1;
	tmp = fx_tmpdir("prompt");
	if (!tmp)
		skip_all("no temporary directory");
	if (fx_sh("git --version >/dev/null 2>&1") < 0)
		skip_all("git not installed");
	test_without_facts(c);
	if (asprintf(&git, "%s/demo.git", tmp) < 0)
		abort();
	r = make_repo(git, first, second);
	ok(r == 0, "demo repository imported");
	r = r ?: facts_load(&f, git, first, &e);
	r = r ?: facts_load(&f2, git, second, &e);
	is_int(r, 0, "facts of both commits loaded (%s)", e.msg);
	if (r == 0 && c) {
		test_module(c, f, f2);
		test_home(c, f);
	}
	if (c)
		test_not_utf8(c);
	facts_unref(f);
	facts_unref(f2);
	conf_free(c);
	rm_rf(tmp);
	free(tmp);
	free(git);
	gitrepo_global_shutdown();
	return done_testing();
}
