/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mount.conf parsing. Each case writes a small config into a
 * fresh temporary directory and loads it; an error case asserts the load
 * fails, that exactly the expected number of lines were reported, and that
 * each names FILE:LINE and says what is wrong. The last part loads the real
 * mount.conf of the source tree ($WIKIFS_SRCDIR, set by meson) and checks
 * that it carries every key of the table at its default, in the table's
 * order, so the documented sample cannot drift from the code.
 */
#include "conf.h"
#include "fsutil.h"
#include "tap.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

static char tmp[PATH_MAX];	  /* realpath of the temporary directory */
static char cfile[PATH_MAX + 16]; /* tmp/test.conf */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* Loads @text as tmp/test.conf; returns conf_load()'s result. */
static int load(const char *text, char *const *ov, size_t nov, struct conf **c, struct buf *errs)
{
	write_text(cfile, text);
	buf_reset(errs);
	*c = NULL;
	return conf_load(c, cfile, ov, nov, errs);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* True if some line of @errs starts with "PREFIX" and contains @needle. */
static bool has_line(const char *errs, const char *prefix, const char *needle)
{
	size_t plen = strlen(prefix);

	for (const char *l = errs; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		_cleanup_free_ char *line = strndup(l, len);

		if (line && !strncmp(line, prefix, plen) && strstr(line + plen, needle))
			return true;
		l += len + (nl ? 1 : 0);
	}
	return false;
}

/* Has "tmp/test.conf:LINE: ...needle..." */
static bool has_err(const char *errs, unsigned line, const char *needle)
{
	char prefix[PATH_MAX + 32];

	snprintf(prefix, sizeof(prefix), "%s:%u: ", cfile, line);
	return has_line(errs, prefix, needle);
}

/*
 * A file that must fail with exactly one error, at @line, containing @needle.
 */
static void expect_err(const char *what, const char *text, unsigned line, const char *needle)
{
	struct buf errs;
	struct conf *c;
	int r;

	buf_init(&errs, 1 << 16);
	r = load(text, NULL, 0, &c, &errs);
	is_int(r, -EINVAL, "%s: load fails", what);
	ok(c == NULL, "%s: no conf returned", what);
	is_int(count_lines(buf_str(&errs)), 1, "%s: exactly one error", what);
	if (!ok(has_err(buf_str(&errs), line, needle), "%s: line %u says \"%s\"", what, line,
		needle))
		diag("errors were: %s", buf_str(&errs));
	conf_free(c);
	buf_done(&errs);
}

/* A file that must load; returns the conf (caller frees) or NULL. */
static struct conf *expect_ok(const char *what, const char *text)
{
	struct buf errs;
	struct conf *c;
	int r;

	buf_init(&errs, 1 << 16);
	r = load(text, NULL, 0, &c, &errs);
	if (!ok(r == 0 && c, "%s: loads", what))
		diag("r=%d errors: %s", r, buf_str(&errs));
	buf_done(&errs);
	return r == 0 ? c : NULL;
}

static void check_defaults(const struct conf *c, const char *home, const char *what)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "%s/.cache/wikifs", home);
	is_str(c->cache_dir, want, "%s: cache_dir expands ~ with $HOME", what);
	is_int(c->clone_concurrency, 2, "%s: clone_concurrency 2", what);
	is_int(c->page_workers, 4, "%s: page_workers 4", what);
	is_int(c->repo_page_workers, 3, "%s: repo_page_workers 3", what);
	is_int(c->retries, 3, "%s: retries 3", what);
	is_int(c->open_timeout, 300, "%s: open_timeout 300", what);
	is_int(c->clone_timeout, 600, "%s: clone_timeout 600", what);
	is_int(c->refresh_interval, 3600, "%s: refresh_interval 3600", what);
	is_int(c->cache_max_bytes, 1073741824, "%s: cache_max_bytes 1G", what);
	is_int(c->max_calls, 0, "%s: max_calls 0", what);
	is_int(c->token_budget, 0, "%s: token_budget 0", what);
	is_int(c->queue_max, 100000, "%s: queue_max 100000", what);
	is_int(c->failure_backoff, 30, "%s: failure_backoff 30", what);
	ok(c->log_file == NULL, "%s: log_file unset", what);
	is_str(c->log_level, "info", "%s: log_level info", what);
	ok(!c->allow_other, "%s: allow_other false", what);
	is_int(c->backend, BACKEND_BUILTIN, "%s: backend builtin", what);
	is_str(c->model, "", "%s: model empty", what);
	is_str(c->base_url, "", "%s: base_url empty", what);
	is_str(c->api_key_env, "", "%s: api_key_env empty", what);
	is_str(c->command, "", "%s: command empty", what);
	is_int(c->gen_timeout, 300, "%s: generator timeout 300", what);
	is_int(c->max_tokens, 8192, "%s: max_tokens 8192", what);
	is_str(c->max_tokens_field, "max_tokens", "%s: max_tokens_field", what);
	is_int(c->planner, PLANNER_BUILTIN, "%s: planner builtin", what);
	is_int(c->prompt_budget, 96 * 1024, "%s: prompt_budget 96K", what);
	is_str(c->anthropic_version, "2023-06-01", "%s: anthropic_version", what);
	ok(c->ca_bundle == NULL, "%s: ca_bundle unset", what);
	is_int(c->rate_limit, 0, "%s: rate_limit 0", what);
}

static void test_defaults(void)
{
	struct buf errs;
	struct conf *c = NULL;

	buf_init(&errs, 1 << 16);
	setenv("HOME", "/home/tester", 1);
	is_int(conf_load(&c, NULL, NULL, 0, &errs), 0, "defaults: load without a file");
	if (c) {
		check_defaults(c, "/home/tester", "defaults");
		ok(c->path == NULL, "defaults: no path");
		is_int(c->n_repos, 0, "defaults: no repositories");
	}
	conf_free(c);
	is_str(buf_str(&errs), "", "defaults: no errors");

	c = expect_ok("empty file", "");
	if (c) {
		check_defaults(c, "/home/tester", "empty file");
		is_str(c->path, cfile, "empty file: path is the absolute file name");
	}
	conf_free(c);
	c = expect_ok("comments only", "# nothing\n; here\n\n   \n[wikifs]\n[generator]\n");
	conf_free(c);
	buf_done(&errs);
}

static void test_values(void)
{
	struct conf *c = expect_ok("all kinds of values",
				   "# full-line comment\n"
				   "; another full-line comment\n"
				   "  [wikifs]   # a comment after a section header\n"
				   "cache_dir = /var/cache/wf  # inline\n"
				   "clone_concurrency=5\n"
				   "page_workers = 8 ; inline with semicolon\n"
				   "repo_page_workers = 64\n" /* clamped to page_workers */
				   "cache_max_bytes = 512M\n"
				   "max_calls = 1K\n"
				   "refresh_interval = 0\n"
				   "log_file = ~/wf.log\n"
				   "log_level = debug\n"
				   "allow_other = yes\n"
				   "[generator]\n"
				   "backend = openai\n"
				   "model = \"gpt # not a comment\"  # a comment\n"
				   "base_url = http://127.0.0.1:8080/v1#frag\n"
				   "api_key_env = \"\"\n"
				   "command = my-gen --flag=1 \"quoted arg\"\n"
				   "planner = llm\n"
				   "max_tokens_field = max_completion_tokens\n"
				   "prompt_budget = 16M\n");

	if (!c)
		return;
	is_str(c->cache_dir, "/var/cache/wf", "values: path with inline comment");
	is_int(c->clone_concurrency, 5, "values: no spaces around =");
	is_int(c->page_workers, 8, "values: ; inline comment");
	is_int(c->repo_page_workers, 8, "values: repo_page_workers clamped to page_workers");
	is_int(c->cache_max_bytes, 512ULL << 20, "values: 512M");
	is_int(c->max_calls, 1024, "values: size suffix on a count");
	is_int(c->refresh_interval, 0, "values: 0 allowed where the minimum is 0");
	is_str(c->log_file, "/home/tester/wf.log", "values: ~ in a path key");
	is_str(c->log_level, "debug", "values: log_level");
	ok(c->allow_other, "values: bool yes");
	is_int(c->backend, BACKEND_OPENAI, "values: enum");
	is_str(conf_backend_name(c->backend), "openai", "values: conf_backend_name");
	is_str(c->model, "gpt # not a comment", "values: quoted value keeps # and spaces");
	is_str(c->base_url, "http://127.0.0.1:8080/v1#frag", "values: # without space kept");
	is_str(c->api_key_env, "", "values: quoted empty string");
	is_str(c->command, "my-gen --flag=1 \"quoted arg\"", "values: = and quotes inside");
	is_int(c->planner, PLANNER_LLM, "values: planner llm");
	is_str(c->max_tokens_field, "max_completion_tokens", "values: restricted string");
	is_int(c->prompt_budget, 16 << 20, "values: prompt_budget at its maximum");
	conf_free(c);

	static const char *const bools[][2] = { { "true", "1" },  { "on", "1" }, { "1", "1" },
						{ "false", "0" }, { "no", "0" }, { "off", "0" },
						{ "0", "0" } };
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[wikifs]\nallow_other = %s\n", bools[i][0]);
		c = expect_ok("bool", text);
		if (c)
			is_int(c->allow_other, bools[i][1][0] - '0', "bool: \"%s\"", bools[i][0]);
		conf_free(c);
	}
}

static void test_errors(void)
{
	expect_err("unknown key", "[wikifs]\n\nfoo = 1\n", 3, "unknown key 'foo' in [wikifs]");
	expect_err("store without its connection string", "[wikifs]\nstore = postgresql\n", 2,
		   "store = postgresql needs 'store_conninfo_env'");
	expect_err("unknown store", "[wikifs]\nstore = mysql\n", 2,
		   "bad value \"mysql\" for 'store'");
	expect_err("key of the other section", "[generator]\nretries = 2\n", 2,
		   "unknown key 'retries' in [generator]");
	expect_err("unknown section", "[wikifs]\n[bogus]\nx = 1\ny = 2\n", 2,
		   "unknown section [bogus]");
	expect_err("non-number", "[wikifs]\nclone_concurrency = two\n", 2,
		   "bad value \"two\" for 'clone_concurrency': expected a whole number");
	expect_err("negative number", "[wikifs]\nretries = -1\n", 2,
		   "bad value \"-1\" for 'retries': expected a whole number");
	expect_err("number with junk", "[wikifs]\nretries = 3x\n", 2,
		   "bad value \"3x\" for 'retries'");
	expect_err("empty number", "[wikifs]\nretries =\n", 2, "bad value \"\" for 'retries'");
	expect_err("bad enum", "[generator]\nbackend = gpt\n", 2,
		   "bad value \"gpt\" for 'backend': expected one of "
		   "builtin,openai,anthropic,command");
	expect_err("bad restricted string", "[wikifs]\nlog_level = loud\n", 2,
		   "bad value \"loud\" for 'log_level': expected one of error,warning,info,debug");
	expect_err("empty restricted string", "[wikifs]\nlog_level =\n", 2,
		   "bad value \"\" for 'log_level'");
	expect_err("bad bool", "[wikifs]\nallow_other = maybe\n", 2,
		   "bad value \"maybe\" for 'allow_other': expected true or false");
	expect_err("bad size", "[wikifs]\ncache_max_bytes = 1X\n", 2,
		   "bad value \"1X\" for 'cache_max_bytes': expected a size");
	expect_err("size without digits", "[wikifs]\ncache_max_bytes = G\n", 2,
		   "bad value \"G\" for 'cache_max_bytes'");
	expect_err("below minimum", "[wikifs]\nclone_concurrency = 0\n", 2,
		   "value \"0\" of 'clone_concurrency' out of range: 1 to 64");
	expect_err("above maximum", "[wikifs]\nclone_concurrency = 65\n", 2,
		   "value \"65\" of 'clone_concurrency' out of range: 1 to 64");
	expect_err("uint overflow", "[wikifs]\nretries = 99999999999999999999999\n", 2,
		   "of 'retries' out of range: 1 to 20");
	expect_err("uint above unsigned", "[generator]\nmax_tokens = 4294967312\n", 2,
		   "of 'max_tokens' out of range: 16 to 1000000");
	expect_err("size below minimum", "[wikifs]\ncache_max_bytes = 1K\n", 2,
		   "value \"1K\" of 'cache_max_bytes' out of range: 1048576 to "
		   "18446744073709551615");
	expect_err("size overflow", "[wikifs]\nmax_calls = 99999999999999999999\n", 2,
		   "of 'max_calls' out of range: 0 to 18446744073709551615");
	expect_err("size suffix overflow", "[wikifs]\ncache_max_bytes = 16777216T\n", 2,
		   "of 'cache_max_bytes' out of range");
	expect_err("size above maximum", "[generator]\nprompt_budget = 17M\n", 2,
		   "of 'prompt_budget' out of range: 1024 to 16777216");
	expect_err("duplicate key", "[wikifs]\nretries = 2\n# x\nretries = 3\n", 4,
		   "duplicate key 'retries' in [wikifs]");
	expect_err("duplicate key across repeated sections",
		   "[wikifs]\nretries = 2\n[generator]\n[wikifs]\nretries = 3\n", 5,
		   "duplicate key 'retries'");
	expect_err("duplicate repository",
		   "[repo a/b]\nurl = /x\n\n[repo a/b]\nurl = /y\nref = main\n", 4,
		   "duplicate repository [repo a/b], first at line 1");
	expect_err("missing url", "[repo a/b]\nref = main\n", 1, "missing url in [repo a/b]");
	expect_err("empty url", "[repo a/b]\nurl =\n", 2, "empty url in [repo a/b]");
	expect_err("duplicate url", "[repo a]\nurl = /x\nurl = /y\n", 3,
		   "duplicate key 'url' in [repo a]");
	expect_err("unknown repo key", "[repo a]\nurl = /x\nbranch = main\n", 3,
		   "unknown key 'branch' in [repo a]: expected url or ref");
	expect_err("malformed header", "[wikifs\nretries = 2\n", 1, "malformed section header");
	expect_err("junk after header", "[wikifs] retries = 2\n", 1, "malformed section header");
	expect_err("nested brackets", "[repo a]b]\nurl = /x\n", 1, "malformed section header");
	expect_err("bad name ../x", "[repo ../x]\nurl = /x\n", 1, "bad repository name \"../x\"");
	expect_err("bad name .hidden", "[repo .hidden]\nurl = /x\n", 1,
		   "bad repository name \".hidden\"");
	expect_err("bad name owner/.wikifs", "[repo owner/.wikifs]\nurl = /x\n", 1,
		   "bad repository name \"owner/.wikifs\"");
	expect_err("bad name a/b/c", "[repo a/b/c]\nurl = /x\n", 1,
		   "bad repository name \"a/b/c\"");
	expect_err("bad name a//b", "[repo a//b]\nurl = /x\n", 1, "bad repository name \"a//b\"");
	expect_err("bad name /abs", "[repo /abs]\nurl = /x\n", 1, "bad repository name \"/abs\"");
	expect_err("bad name trailing slash", "[repo a/]\nurl = /x\n", 1,
		   "bad repository name \"a/\"");
	expect_err("'@' is reserved", "[wikifs]\n\n[repo acme/al@pha]\nurl = /x\n", 3,
		   "bad repository name \"acme/al@pha\": '@' is reserved for versions");
	expect_err("empty name", "[repo ]\nurl = /x\n", 1, "bad repository name \"\"");
	expect_err("no name", "[repo]\nurl = /x\n", 1, "bad repository name \"\"");
	expect_err("name collision", "[repo a]\nurl = /x\n[repo a/b]\nurl = /y\n", 3,
		   "repository [repo a/b] collides with [repo a]");
	expect_err("name collision, other order", "[repo a/b]\nurl = /y\n[repo a]\nurl = /x\n", 1,
		   "repository [repo a/b] collides with [repo a]");
	expect_err("ftp url", "[repo a]\nurl = ftp://example.org/a.git\n", 2,
		   "unsupported url \"ftp://example.org/a.git\"");
	expect_err("ftp url with a password", "[repo a]\nurl = ftp://u:hunter2@h/a.git\n", 2,
		   "unsupported url \"ftp://u:***@h/a.git\"");
	expect_err("scheme without host", "[repo a]\nurl = https://\n", 2,
		   "unsupported url \"https://\"");
	expect_err("scp form without path", "[repo a]\nurl = git@host:\n", 2,
		   "unsupported url \"git@host:\"");
	expect_err("ref starting with -", "[repo a]\nurl = /x\nref = -x\n", 3,
		   "bad ref \"-x\" in [repo a]");
	expect_err("ref with a space", "[repo a]\nurl = /x\nref = a b\n", 3, "bad ref \"a b\"");
	expect_err("ref with ~", "[repo a]\nurl = /x\nref = main~1\n", 3, "bad ref \"main~1\"");
	expect_err("empty ref", "[repo a]\nurl = /x\nref =\n", 3, "bad ref \"\"");
	expect_err("duplicate ref", "[repo a]\nurl = /x\nref = a\nref = b\n", 4,
		   "duplicate key 'ref' in [repo a]");
	expect_err("key outside a section", "retries = 2\n[wikifs]\n", 1,
		   "key 'retries' outside a section");
	expect_err("no =", "[wikifs]\nretries 2\n", 2, "expected key = value");
}

static void test_many_errors(void)
{
	const char *text = "[wikifs]\n"		     /* 1 */
			   "retries = many\n"	     /* 2 bad number */
			   "clone_concurrency = 0\n" /* 3 out of range */
			   "nope = 1\n"		     /* 4 unknown key */
			   "retries = 2\n"	     /* 5 duplicate */
			   "[generator]\n"	     /* 6 */
			   "backend = gpt\n"	     /* 7 bad enum */
			   "[nowhere]\n"	     /* 8 unknown section */
			   "ignored = 1\n"	     /* 9 (inside a bad section) */
			   "[repo ../evil]\n"	     /* 10 bad name */
			   "url = /x\n"		     /* 11 (inside a bad section) */
			   "[repo ok]\n"	     /* 12 missing url */
			   "ref = -x\n"		     /* 13 bad ref */
			   "[repo ftp]\n"	     /* 14 */
			   "url = ftp://h/x\n";	     /* 15 unsupported url */
	static const struct {
		unsigned line;
		const char *needle;
	} want[] = {
		{ 2, "bad value \"many\"" },   { 3, "out of range" },
		{ 4, "unknown key 'nope'" },   { 5, "duplicate key 'retries'" },
		{ 7, "bad value \"gpt\"" },    { 8, "unknown section [nowhere]" },
		{ 10, "bad repository name" }, { 12, "missing url in [repo ok]" },
		{ 13, "bad ref \"-x\"" },      { 15, "unsupported url" },
	};
	struct buf errs;
	struct conf *c;

	buf_init(&errs, 1 << 16);
	is_int(load(text, NULL, 0, &c, &errs), -EINVAL, "many errors: load fails");
	is_int(count_lines(buf_str(&errs)), ARRAY_SIZE(want),
	       "many errors: all %zu reported, one line each", ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		ok(has_err(buf_str(&errs), want[i].line, want[i].needle),
		   "many errors: line %u \"%s\"", want[i].line, want[i].needle);
	if (count_lines(buf_str(&errs)) != ARRAY_SIZE(want))
		diag("errors were:\n%s", buf_str(&errs));
	buf_done(&errs);
}

static void test_overrides(void)
{
	char *good[] = { "retries=7", "generator.backend=anthropic", "generator.model=claude x",
			 "cache_dir=~/elsewhere", "wikifs.page_workers=2" };
	char *bad[] = { "retries",
			"nosuch=1",
			"generator.nosuch=1",
			"retries=0",
			"generator.backend=gpt",
			"bogus.retries=1",
			"cache_dir=relative/dir" };
	struct buf errs;
	struct conf *c;

	buf_init(&errs, 1 << 16);
	is_int(load("[wikifs]\nretries = 2\npage_workers = 9\n", good, ARRAY_SIZE(good), &c, &errs),
	       0, "-o: valid overrides load");
	if (c) {
		is_int(c->retries, 7, "-o: overrides a key set in the file");
		is_int(c->backend, BACKEND_ANTHROPIC, "-o: generator.key=value");
		is_str(c->model, "claude x", "-o: value with a space");
		is_str(c->cache_dir, "/home/tester/elsewhere", "-o: path expanded");
		is_int(c->page_workers, 2, "-o: wikifs.key=value");
		is_int(c->repo_page_workers, 2, "-o: clamp applies after overrides");
	}
	conf_free(c);

	is_int(load("", bad, ARRAY_SIZE(bad), &c, &errs), -EINVAL, "-o: bad overrides fail");
	ok(c == NULL, "-o: no conf on failure");
	is_int(count_lines(buf_str(&errs)), ARRAY_SIZE(bad), "-o: every bad override reported");
	ok(has_line(buf_str(&errs), "-o retries: ", "expected key=value"), "-o: no '='");
	ok(has_line(buf_str(&errs), "-o nosuch=1: ", "unknown key 'nosuch' in [wikifs]"),
	   "-o: unknown key");
	ok(has_line(buf_str(&errs),
		    "-o generator.nosuch=1: ", "unknown key 'nosuch' in [generator]"),
	   "-o: unknown generator key");
	ok(has_line(buf_str(&errs), "-o retries=0: ", "out of range: 1 to 20"),
	   "-o: out of range names the override");
	ok(has_line(buf_str(&errs), "-o generator.backend=gpt: ", "expected one of"),
	   "-o: bad enum names the override");
	ok(has_line(buf_str(&errs), "-o bogus.retries=1: ", "unknown key 'retries' in [bogus]"),
	   "-o: unknown section");
	ok(strstr(buf_str(&errs), "cache_dir \"relative/dir\" must be an absolute path") != NULL,
	   "-o: relative cache_dir rejected");
	if (count_lines(buf_str(&errs)) != ARRAY_SIZE(bad))
		diag("errors were:\n%s", buf_str(&errs));
	buf_done(&errs);
}

static void test_urls(void)
{
	static const struct {
		const char *url, *want; /* want NULL: relative to tmp */
		const char *rel;
	} urls[] = {
		{ "/srv/git/a.git", "/srv/git/a.git", NULL },
		{ "file:///srv/git/a.git", "file:///srv/git/a.git", NULL },
		{ "git://127.0.0.1:9418/a.git", "git://127.0.0.1:9418/a.git", NULL },
		{ "http://example.org/a.git", "http://example.org/a.git", NULL },
		{ "https://github.com/libfuse/libfuse.git",
		  "https://github.com/libfuse/libfuse.git", NULL },
		{ "ssh://git@example.org/a.git", "ssh://git@example.org/a.git", NULL },
		{ "git@github.com:libfuse/libfuse.git", "git@github.com:libfuse/libfuse.git",
		  NULL },
		{ "host:repo.git", "host:repo.git", NULL },
		{ "repos/a.git", NULL, "/repos/a.git" },
		{ "./repos/a.git", NULL, "/repos/a.git" },
		{ "../up.git", NULL, "/../up.git" },
		{ ".", NULL, "" },
		{ "./", NULL, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		char text[512], want[PATH_MAX + 64];
		struct conf *c;

		snprintf(text, sizeof(text), "[repo owner/name]\nurl = %s\n", urls[i].url);
		if (urls[i].want)
			snprintf(want, sizeof(want), "%s", urls[i].want);
		else
			snprintf(want, sizeof(want), "%s%s", tmp, urls[i].rel);
		c = expect_ok(urls[i].url, text);
		if (c && c->n_repos == 1)
			is_str(c->repos[0].url, want, "url \"%s\" stored as expected", urls[i].url);
		else
			ok(0, "url \"%s\": one repository", urls[i].url);
		conf_free(c);
	}
}

static void test_repos(void)
{
	struct conf *c = expect_ok("repositories", "[repo libfuse/libfuse]   # two levels\n"
						   "url = https://github.com/libfuse/libfuse.git\n"
						   "ref = master\n"
						   "[repo solo]\n"
						   "url = /srv/solo\n"
						   "ref = v1.2.3\n"
						   "[repo a/b]\n"
						   "url = /srv/ab\n"
						   "ref = release/2.x\n"
						   "[repo a/c]\n"
						   "url = /srv/ac\n");

	if (!c)
		return;
	is_int(c->n_repos, 4, "repos: four");
	if (c->n_repos == 4) {
		is_str(c->repos[0].name, "libfuse/libfuse", "repos: owner/name");
		is_str(c->repos[0].ref, "master", "repos: branch ref");
		is_int(c->repos[0].line, 1, "repos: line of the section");
		is_str(c->repos[1].name, "solo", "repos: single-level name");
		is_str(c->repos[1].ref, "v1.2.3", "repos: tag ref");
		is_int(c->repos[1].line, 4, "repos: line 4");
		is_str(c->repos[2].ref, "release/2.x", "repos: ref with a slash");
		ok(c->repos[3].ref == NULL, "repos: no ref = remote HEAD");
	}
	conf_free(c);

	static const struct {
		const char *name;
		int valid;
	} names[] = {
		{ "repo", 1 }, { "owner/repo", 1 }, { "a.b/c-d_e", 1 }, { "", 0 },
		{ "../x", 0 }, { ".hidden", 0 },    { "a/.b", 0 },	{ "a/b/c", 0 },
		{ "/a", 0 },   { "a/", 0 },	    { "a//b", 0 },	{ ".", 0 },
		{ "..", 0 },   { "a\\b", 0 },	    { "a\tb", 0 },	{ ".wikifs", 0 },
		{ "a@b", 0 },  { "o/r@v1", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		is_int(conf_repo_name_valid(names[i].name), names[i].valid,
		       "conf_repo_name_valid(\"%s\")", names[i].name);
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "100", 0, 100 },
		{ "1K", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "512K", 0, 512 * 1024 },
		{ "64M", 0, 64ULL << 20 },
		{ "1G", 0, 1ULL << 30 },
		{ "1GB", 0, 1ULL << 30 },
		{ "1gb", 0, 1ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "17179869184G", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 K", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1KK", -EINVAL, 0 },
		{ "1KBB", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int r = conf_parse_size(cases[i].s, &v);

		is_int(r, cases[i].r, "conf_parse_size(\"%s\") -> %d", cases[i].s, cases[i].r);
		if (cases[i].r == 0)
			ok(v == cases[i].v, "conf_parse_size(\"%s\") = %llu (got %llu)", cases[i].s,
			   (unsigned long long)cases[i].v, (unsigned long long)v);
		else
			ok(v == 12345, "conf_parse_size(\"%s\") leaves the result alone",
			   cases[i].s);
	}
}

static void test_missing_file(void)
{
	char path[PATH_MAX + 32];
	struct buf errs;
	struct conf *c = NULL;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmp);
	buf_init(&errs, 1 << 16);
	is_int(conf_load(&c, path, NULL, 0, &errs), -ENOENT, "missing file: -ENOENT");
	ok(c == NULL, "missing file: no conf");
	ok(has_line(buf_str(&errs), path, "cannot read config: No such file or directory"),
	   "missing file: message names the path");
	is_int(count_lines(buf_str(&errs)), 1, "missing file: one line");
	buf_done(&errs);
}

/* ---- the sample and the real mount.conf ------------------------------------ */

struct kv {
	char section[64], key[64], value[256];
	unsigned line;
};

/*
 * Collects "key = value" lines of [wikifs] and [generator] from @text, the
 * way a reader would see them: comments and quotes stripped.
 */
static size_t collect_keys(const char *text, struct kv *out, size_t max)
{
	_cleanup_free_ char *copy = strdup(text);
	char section[64] = "";
	unsigned lineno = 0;
	size_t n = 0;

	if (!copy)
		abort();
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *eq, *v, *e;

		lineno++; /* approximate: strtok_r skips empty lines; only for messages */
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '#' || *l == ';' || !*l)
			continue;
		if (*l == '[') {
			e = strchr(l, ']');
			snprintf(section, sizeof(section), "%.*s", e ? (int)(e - l - 1) : 0, l + 1);
			continue;
		}
		eq = strchr(l, '=');
		if (!eq || n == max || (strcmp(section, "wikifs") && strcmp(section, "generator")))
			continue;
		for (e = eq; e > l && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		snprintf(out[n].section, sizeof(out[n].section), "%s", section);
		snprintf(out[n].key, sizeof(out[n].key), "%.*s", (int)(e - l), l);
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*v == '"' && strchr(v + 1, '"')) {
			e = strchr(v + 1, '"');
			v++;
		} else {
			for (e = v; *e && !((*e == '#' || *e == ';') &&
					    (e == v || e[-1] == ' ' || e[-1] == '\t'));
			     e++)
				;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
		}
		snprintf(out[n].value, sizeof(out[n].value), "%.*s", (int)(e - v), v);
		out[n].line = lineno;
		n++;
	}
	return n;
}

static void test_sample(void)
{
	struct buf sample;
	struct conf *c;

	buf_init(&sample, 1 << 20);
	is_int(conf_write_sample(&sample), 0, "sample: conf_write_sample");
	c = expect_ok("sample: conf_write_sample output", buf_str(&sample));
	if (c) {
		check_defaults(c, "/home/tester", "sample");
		is_int(c->n_repos, 1, "sample: its example repository");
	}
	conf_free(c);
	buf_done(&sample);
}

static void test_mount_conf(void)
{
	const char *srcdir = getenv("WIKIFS_SRCDIR");
	char path[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	struct kv want[64], got[64];
	size_t nwant, ngot, i, j;
	struct buf sample, errs;
	struct conf *c = NULL;
	int r;

	if (!ok(srcdir && *srcdir, "mount.conf: WIKIFS_SRCDIR is set (meson sets it)"))
		return;
	snprintf(path, sizeof(path), "%s/mount.conf", srcdir);
	if (!ok(realpath(srcdir, dir), "mount.conf: source dir resolves"))
		return;

	buf_init(&errs, 1 << 16);
	r = conf_load(&c, path, NULL, 0, &errs);
	if (!ok(r == 0 && c, "mount.conf: loads cleanly"))
		diag("r=%d errors:\n%s", r, buf_str(&errs));
	if (c) {
		check_defaults(c, "/home/tester", "mount.conf");
		is_int(c->n_repos, 1, "mount.conf: one repository");
		if (c->n_repos == 1) {
			is_str(c->repos[0].name, "wikifs/wikifs",
			       "mount.conf: [repo wikifs/wikifs]");
			is_str(c->repos[0].url, dir, "mount.conf: url = . is the source directory");
			ok(c->repos[0].ref == NULL, "mount.conf: no ref (remote HEAD)");
		}
	}
	conf_free(c);
	buf_done(&errs);

	is_int(read_file(path, 1 << 20, &text, NULL), 0, "mount.conf: read it");
	if (!text)
		return;
	buf_init(&sample, 1 << 20);
	conf_write_sample(&sample);
	nwant = collect_keys(buf_str(&sample), want, ARRAY_SIZE(want));
	ngot = collect_keys(text, got, ARRAY_SIZE(got));
	buf_done(&sample);
	ok(nwant > 20, "mount.conf: the table has %zu keys", nwant);
	is_int(ngot, nwant, "mount.conf: as many [wikifs]/[generator] keys as the table");
	for (i = 0; i < nwant; i++) {
		for (j = 0; j < ngot; j++)
			if (!strcmp(got[j].section, want[i].section) &&
			    !strcmp(got[j].key, want[i].key))
				break;
		if (!ok(j < ngot, "mount.conf: has [%s] %s", want[i].section, want[i].key))
			continue;
		is_str(got[j].value, want[i].value, "mount.conf: [%s] %s at its default",
		       want[i].section, want[i].key);
		is_int(j, i, "mount.conf: [%s] %s in the table's order", want[i].section,
		       want[i].key);
	}
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/wikifs-test-conf.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir) || !realpath(dir, tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfile, sizeof(cfile), "%s/test.conf", tmp);
	setenv("HOME", "/home/tester", 1);

	test_defaults();
	test_values();
	test_errors();
	test_many_errors();
	test_overrides();
	test_urls();
	test_repos();
	test_parse_size();
	test_missing_file();
	test_sample();
	test_mount_conf();
	is_int(rm_rf(tmp), 0, "cleanup: temporary directory removed");
	return done_testing();
}
