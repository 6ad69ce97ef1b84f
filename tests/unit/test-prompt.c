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
	ok(c && prompt_build(&req, c, &sys, &user, NULL, &e) == 0, "prompt without facts builds");
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
	r = prompt_build(&req, c, &sys, user, NULL, &e);
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
	ok(prompt_build(&req, c, &sys, &user, NULL, &e) == 0,
	   "module prompt with facts builds (%s)", e.msg);
	ok(strstr(buf_str(&user), "### src/core/engine.c") &&
	       strstr(buf_str(&user), "    1  int engine_start(void)"),
	   "module prompt: the module's file, line-numbered");
	ok(!strstr(buf_str(&user), "### src/other/skip.c"),
	   "module prompt: other modules left out");
	ok(strstr(buf_str(&user), "````"), "module prompt: fence longer than the file's backticks");
	h = strstr(buf_str(&user), "not shown (");
	for (const char *s = buf_str(&user); *s; s++)
		zs += *s == 'z';
	ok(!strstr(buf_str(&user), "### src/core/huge.c") && zs == 0 && h &&
	       strstr(h, "src/core/huge.c"),
	   "module prompt: a file of one huge line is not cut mid-line but named as left out");
	ok(sources_bytes(&user) <= 4096 + 128,
	   "module prompt: sources within the 4K budget, line numbers counted (%zu)",
	   sources_bytes(&user));
	ok(!strstr(buf_str(&user), "Add the engine") &&
	       !strstr(buf_str(&user), "## Newest commits"),
	   "module prompt: no commits (they belong to History and Contributors)");

	/* a file of empty lines: numbering must not multiply the budget */
	req.facts = f2;
	req.commit = facts_commit_id(f2);
	buf_reset(&user);
	ok(prompt_build(&req, c, &sys, &user, NULL, &e) == 0 &&
	       strstr(buf_str(&user), "### src/core/huge.c"),
	   "module prompt at the second commit builds, with the file of empty lines (%s)", e.msg);
	ok(!strchr(buf_str(&user), '\x1b'), "module prompt: no control character");
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
	ok(prompt_build(&req, c, &sys, &user, NULL, &e) == 0 &&
	       strstr(buf_str(&user), "### README.md") &&
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
	struct gen_request req;
	struct repo_facts *f = NULL;
	struct wf_err e = { { 0 } };
	char *stream = NULL, *git = NULL, head[41], cut[256];
	struct buf sys, user;
	FILE *s;
	int r;

	plan_add(p, "History", "History", PAGE_HISTORY, NULL);
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
	/* Architecture: the files and their text; History: the commits */
	req = make_req(p, 1);
	req.facts = f;
	req.commit = head;
	r = r ?: prompt_build(&req, c, &sys, &user, NULL, &e);
	req.page = &p->pages[p->n - 1];
	r = r ?: prompt_build(&req, c, &sys, &user, NULL, &e);
	is_int(r, 0, "prompts of a repository with Latin-1 text build (%s)", e.msg);
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

/* ---- issue 12 items 9-11: scope, ranking, facts, what is shown -------------- */

#define BIG_FUNCS 600 /* core/big.c: ~21 KB of small functions, past a 16 KB cap */

/*
 * A repository for ranking: a root module (main.c, util.[ch], README,
 * LICENSE, CHANGELOG, .gitignore, meson.build) and a module core/ whose
 * zapi.h is included by five files (most imported, last by name), with
 * engine.[ch], a test of the engine, a helper and big.c of small functions.
 */
static int make_rank_repo(const char *git, char head[41])
{
	struct buf big;
	char *stream;
	FILE *s;
	int r;

	buf_init(&big, 1 << 20);
	for (int i = 0; i < BIG_FUNCS; i++)
		buf_printf(&big, "int f%03d(void)\n{\n\treturn %d;\n}\n\n", i, i);
	if (asprintf(&stream, "%s/rank.fi", tmp) < 0)
		abort();
	s = fopen(stream, "w");
	if (!s)
		abort();
	fx_fi_commit(s, "ann", 1700000000, "Rank commit");
#define T(path, text) fx_fi_file(s, "100644", path, strlen(path), text, strlen(text))
	T("README.md", "# Rank\nThe readme.\n");
	T("LICENSE", "MIT License\n");
	T("CHANGELOG.md", "## 1.0\n");
	T(".gitignore", "build/\n");
	T("meson.build", "project('rank', 'c')\n");
	T("main.c", "#include \"util.h\"\n#include \"core/zapi.h\"\n#include \"core/engine.h\"\n\n"
		    "int main(void)\n{\n\treturn util_one() + engine_start();\n}\n");
	T("util.h", "int util_one(void);\n");
	T("util.c", "#include \"util.h\"\n#include \"core/zapi.h\"\n\nint util_one(void)\n{\n"
		    "\treturn 1;\n}\n");
	T("core/zapi.h", "#define API 1\nint api_version(void);\n");
	T("core/engine.h", "int engine_start(void);\n");
	T("core/engine.c", "#include \"engine.h\"\n#include \"zapi.h\"\n#include \"../util.h\"\n\n"
			   "int engine_start(void)\n{\n\treturn API;\n}\n");
	T("core/engine_test.c", "#include \"engine.h\"\n\nint test_engine(void)\n{\n"
				"\treturn engine_start();\n}\n");
	T("core/zz_helper.c", "#include \"zapi.h\"\n\nint zz_helper(void)\n{\n\treturn 2;\n}\n");
	fx_fi_file(s, "100644", "core/big.c", 10, big.data, big.len);
	T("core/big_api.c", "#include \"zapi.h\"\nint big_api;\n");
#undef T
	fclose(s);
	r = fx_fast_import(git, stream);
	r = r ?: fx_rev(git, "main", head);
	free(stream);
	buf_done(&big);
	return r;
}

enum { P_HOME, P_ARCH, P_ROOT, P_CORE, P_BUILD, P_HISTORY };

static struct plan *rank_plan(const char *commit)
{
	struct plan *p;

	if (plan_new(&p, commit, "builtin") < 0)
		abort();
	plan_add(p, "Home", "Home", PAGE_HOME, NULL);
	plan_add(p, "Architecture", "Architecture", PAGE_ARCHITECTURE, NULL);
	plan_add(p, "Module-root", "Module (top level)", PAGE_MODULE, ".");
	plan_add(p, "Module-core", "Module core", PAGE_MODULE, "core");
	plan_add(p, "Build-and-Test", "Build and Test", PAGE_BUILD, NULL);
	plan_add(p, "History", "History", PAGE_HISTORY, NULL);
	return p;
}

/* The prompt of page @page (and what it used, into @used when not NULL). */
static char *rank_prompt(const struct conf *c, struct repo_facts *f, int page,
			 struct prompt_used *used)
{
	struct plan *p = rank_plan(facts_commit_id(f));
	struct gen_request req = make_req(p, page);
	struct wf_err e = { { 0 } };
	struct buf sys, user;
	char *out;

	req.facts = f;
	req.commit = facts_commit_id(f);
	buf_init(&sys, 1 << 20);
	buf_init(&user, prompt_max_bytes(c));
	if (prompt_build(&req, c, &sys, &user, used, &e) < 0)
		diag("prompt of page %d: %s", page, e.msg);
	out = buf_steal(&user, NULL);
	buf_done(&sys);
	plan_unref(p);
	return out ? out : strdup("");
}

/* The paths of the "### path" headings of @prompt, in order, as "|a|b|". */
static void headings(const char *prompt, struct buf *out)
{
	buf_reset(out);
	buf_addc(out, '|');
	for (const char *s = prompt; (s = strstr(s, "\n### ")); s++) {
		size_t n = strcspn(s + 5, " \n");

		buf_add(out, s + 5, n);
		buf_addc(out, '|');
	}
}

/* The names after "@label (N):" in @prompt, up to the end of the line, as "|a|b|"; N. */
static size_t named_list(const char *prompt, const char *label, struct buf *out)
{
	const char *s = strstr(prompt, label), *end;
	size_t count;

	buf_reset(out);
	buf_addc(out, '|');
	if (!s)
		return (size_t)-1;
	s += strlen(label);
	count = strtoul(s + 2, NULL, 10);
	s = strstr(s, "):") + 2;
	end = strchr(s, '\n');
	while (s < end) {
		size_t n = strcspn(s, ",\n");
		const char *paren = memchr(s, '(', n);

		if (paren && paren > s + 1 && paren[-1] == ' ')
			n = (size_t)(paren - 1 - s); /* "path (in part)" */
		while (*s == ' ')
			s++, n--;
		if (n && strncmp(s, "none", 4) && strncmp(s, "...", 3)) {
			buf_add(out, s, n);
			buf_addc(out, '|');
		}
		s += strcspn(s, ",\n");
		s += *s == ',';
	}
	return count;
}

static bool has_file(const char *list, const char *path)
{
	_cleanup_free_ char *pat = NULL;

	return asprintf(&pat, "|%s|", path) > 0 && strstr(list, pat);
}

/* Where the text of @path starts in @prompt, or -1 if it is not shown. */
static long pos_of(const char *prompt, const char *path)
{
	_cleanup_free_ char *whole = NULL, *part = NULL;
	const char *h = NULL;

	if (asprintf(&whole, "\n### %s\n", path) > 0 && asprintf(&part, "\n### %s (", path) > 0)
		h = strstr(prompt, whole) ?: strstr(prompt, part);
	return h ? (long)(h - prompt) : -1;
}

static void test_root_and_scope(const struct conf *c, struct repo_facts *f)
{
	char *root = rank_prompt(c, f, P_ROOT, NULL), *arch = rank_prompt(c, f, P_ARCH, NULL);
	char *home = rank_prompt(c, f, P_HOME, NULL), *build = rank_prompt(c, f, P_BUILD, NULL);
	static const char *const never[] = { "LICENSE", "CHANGELOG.md", ".gitignore", "README.md" };
	bool none = true;

	ok(pos_of(root, "main.c") > 0 && pos_of(root, "util.c") > 0 && pos_of(root, "util.h") > 0,
	   "root module: its top-level files are shown");
	ok(pos_of(root, "core/engine.c") < 0 && pos_of(root, "core/zapi.h") > 0 &&
	       strstr(root, "## Files (of the module .;") && !strstr(root, "under )") &&
	       strstr(root, "\n- main.c (C)\n"),
	   "root module: no source of core/ but the header it includes, a header naming the "
	   "module, its listing");
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		none &= pos_of(root, never[i]) < 0 && pos_of(arch, never[i]) < 0;
	ok(none, "root module and Architecture: no LICENSE, CHANGELOG, .gitignore or README text");
	ok(pos_of(home, "README.md") > 0 && pos_of(build, "README.md") < 0,
	   "the README is on Home, not on Build and Test");
	ok(pos_of(root, "main.c") < pos_of(root, "util.h") &&
	       pos_of(root, "util.h") < pos_of(root, "util.c"),
	   "root module: the entry point first, then a header before its implementation");
	ok(!strstr(home, "Rank commit") && !strstr(arch, "Rank commit") &&
	       !strstr(root, "Rank commit"),
	   "Home, Architecture and module pages carry no commit");
	free(root);
	free(arch);
	free(home);
	free(build);
}

static void test_rank(const struct conf *c, struct repo_facts *f)
{
	char *core = rank_prompt(c, f, P_CORE, NULL);
	long api = pos_of(core, "core/zapi.h"), eh = pos_of(core, "core/engine.h");
	long ec = pos_of(core, "core/engine.c"), test = pos_of(core, "core/engine_test.c");
	long helper = pos_of(core, "core/zz_helper.c"), big = pos_of(core, "core/big.c");
	const char *between = eh > 0 ? strstr(core + eh + 1, "\n### ") : NULL;

	ok(api > 0 && api < eh && api < ec && api < helper,
	   "core: the most-included header comes first, whatever its name");
	ok(eh > 0 && between && between == core + ec, "core: engine.h right before engine.c");
	ok(ec > 0 && test > 0 && ec < test && helper < test && big < test,
	   "core: every source before the test");
	ok(pos_of(core, "util.h") > test && pos_of(core, "util.c") < 0,
	   "core: the header it includes from outside comes after its own files, not util.c");
	free(core);
}

static void test_cut(const struct conf *c, struct repo_facts *f)
{
	char *core = rank_prompt(c, f, P_CORE, NULL);
	long big = pos_of(core, "core/big.c");
	const char *body = big > 0 ? strstr(core + big, "\n```") : NULL;
	const char *end = body ? strstr(body + 4, "\n```") : NULL, *last = end;

	while (last && last > body && last[-1] != '\n')
		last--;
	ok(big > 0 && strstr(core + big, "(first ") && end,
	   "core/big.c is shown in part (a 16 KB cap)");
	ok(last && (!strncmp(last + 5, "  }", 3) || last[7] == '\n'),
	   "core/big.c is cut after a closing brace at column 0 or a blank line: '%.12s'",
	   last ? last : "");
	free(core);
}

static void test_facts(const struct conf *c, struct repo_facts *f)
{
	char *core = rank_prompt(c, f, P_CORE, NULL), *build = rank_prompt(c, f, P_BUILD, NULL);
	char *arch = rank_prompt(c, f, P_ARCH, NULL), *hist = rank_prompt(c, f, P_HISTORY, NULL);

	ok(strstr(core, "## Outline") && strstr(core, "- core/engine.c: function engine_start:"),
	   "core: the outline of its files");
	ok(strstr(core, "## Imports within the module") &&
	       strstr(core, "- core/engine.c -> core/engine.h, core/zapi.h") &&
	       strstr(core, "## Imports into the module") && strstr(core, "- main.c -> "),
	   "core: imports within it and into it");
	ok(strstr(build, "Meson (meson.build): build `meson setup build && ninja -C build`; "
			 "test `meson test -C build`"),
	   "Build and Test: the build and test commands");
	ok(strstr(arch, "## Imports between modules") && strstr(arch, "- . -> core: ") &&
	       strstr(arch, "## Entry points") && strstr(arch, "- main.c:5 (main)"),
	   "Architecture: imports between modules and the entry point");
	ok(strstr(hist, "Rank commit") && strstr(hist, "- commits: 1\n") &&
	       strstr(hist, "- authors: 1\n"),
	   "History: the commits and the history's figures");
	free(core);
	free(build);
	free(arch);
	free(hist);
}

/* With a 4K budget, the list of what is shown and left out matches the prompt. */
static void test_shown_list(const struct conf *small, struct repo_facts *f)
{
	static const char *const core_files[] = { "core/zapi.h",      "core/engine.h",
						  "core/engine.c",    "core/engine_test.c",
						  "core/zz_helper.c", "core/big.c",
						  "core/big_api.c" };
	char *core = rank_prompt(small, f, P_CORE, NULL);
	struct buf h, shown, left;
	size_t nshown, nleft, both = 0, util;

	buf_init(&h, 1 << 16);
	buf_init(&shown, 1 << 16);
	buf_init(&left, 1 << 16);
	headings(core, &h);
	nshown = named_list(core, "Files whose text is shown below", &shown);
	nleft = named_list(core, "Files of this page's scope not shown", &left);
	ok(!strcmp(buf_str(&h), buf_str(&shown)) && nshown > 0,
	   "the files said to be shown are the files shown, in order (%s)", buf_str(&shown));
	for (size_t i = 0; i < ARRAY_SIZE(core_files); i++)
		both += has_file(buf_str(&shown), core_files[i]) +
			has_file(buf_str(&left), core_files[i]);
	util = has_file(buf_str(&shown), "util.h") + has_file(buf_str(&left), "util.h");
	ok(nleft > 0 && both == ARRAY_SIZE(core_files) && util == 1,
	   "shown and left out name each file of the module, and the header it includes, once "
	   "(left out: %s)",
	   buf_str(&left));
	ok(nshown + nleft == ARRAY_SIZE(core_files) + 1, "the counts add up (%zu + %zu)", nshown,
	   nleft);
	buf_done(&h);
	buf_done(&shown);
	buf_done(&left);
	free(core);
}

/* How many paths the "|a|b|" list @l holds, and whether all of @h's are among them. */
static size_t list_len(const char *l)
{
	size_t n = 0;

	for (const char *s = l + 1; *s; s += strcspn(s, "|") + 1)
		n++;
	return n;
}

static bool list_within(const char *h, const char *l)
{
	bool all = true;

	for (const char *s = h + 1; *s; s += strcspn(s, "|") + 1) {
		_cleanup_free_ char *path = strndup(s, strcspn(s, "|"));

		all &= path && has_file(l, path);
	}
	return all;
}

/* prompt_used: the files whose text is in the prompt, exactly; the listing; the history. */
static void test_used(const struct conf *c, struct repo_facts *f)
{
	struct prompt_used u = { 0 };
	char *core = rank_prompt(c, f, P_CORE, &u), *hist;
	struct buf h, files;
	size_t dirs = 0, facts = 0;
	bool dir_core = false, sorted = true;

	buf_init(&h, 1 << 16);
	buf_init(&files, 1 << 16);
	headings(core, &h);
	buf_addc(&files, '|');
	for (size_t i = 0; i < u.n; i++) {
		sorted &= i == 0 || strcmp(u.v[i - 1].path, u.v[i].path) < 0;
		if (u.v[i].kind == PROMPT_USED_DIR) {
			dirs++;
			dir_core |= !strcmp(u.v[i].path, "core");
		}
		facts += u.v[i].kind == PROMPT_USED_FACTS;
		if (u.v[i].kind != PROMPT_USED_FILE)
			continue;
		buf_adds(&files, u.v[i].path);
		buf_addc(&files, '|');
	}
	ok(list_within(buf_str(&h), buf_str(&files)) &&
	       list_len(buf_str(&h)) == list_len(buf_str(&files)) && list_len(buf_str(&h)) > 3,
	   "prompt_used lists exactly the %zu files whose text is in the prompt",
	   list_len(buf_str(&h)));
	ok(sorted && dirs == 1 && dir_core && facts > 0 && !u.history,
	   "prompt_used: sorted, the module's listing, facts of the files that import it, no "
	   "history");
	prompt_used_done(&u);
	hist = rank_prompt(c, f, P_HISTORY, &u);
	ok(u.history && u.n == 0, "prompt_used of History: the history, no file");
	prompt_used_done(&u);
	free(hist);
	free(core);
	buf_done(&h);
	buf_done(&files);
}

static void test_ranking(const struct conf *c, const struct conf *small)
{
	struct repo_facts *f = NULL;
	struct wf_err e = { { 0 } };
	char *git = NULL, head[41];
	int r;

	if (asprintf(&git, "%s/rank.git", tmp) < 0)
		abort();
	r = make_rank_repo(git, head);
	r = r ?: facts_load(&f, git, head, &e);
	is_int(r, 0, "ranking repository made and its facts loaded (%s)", e.msg);
	if (r == 0) {
		test_root_and_scope(c, f);
		test_rank(c, f);
		test_cut(c, f);
		test_facts(c, f);
		test_shown_list(small, f);
		test_used(c, f);
	}
	facts_unref(f);
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
	if (c) {
		struct conf *big = make_conf(
		    "builtin", (const char *const[]){ "generator.prompt_budget=64K", NULL });

		if (big)
			test_ranking(big, c);
		conf_free(big);
	}
	facts_unref(f);
	facts_unref(f2);
	conf_free(c);
	rm_rf(tmp);
	free(tmp);
	free(git);
	gitrepo_global_shutdown();
	return done_testing();
}
