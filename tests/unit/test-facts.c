/* SPDX-License-Identifier: MIT */
/*
 * cache/facts*.c: symbols from Universal Ctags with their scope, signature,
 * doc-comment summary and visibility; the fall back to the hand-written
 * scanners (no ctags, a failing ctags); the facts file kept per commit
 * (round trip, read without the repository, a damaged file recomputed;
 * the whole history, releases and Cargo crates survive it); the LRU of
 * facts in memory.
 */
#include "facts.h"
#include "ctags.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "tap.h"
#include "util.h"

#include <dirent.h>

static char *tmp;

static const char *const files[][2] = {
	{ "include/x.h",
	  "#ifndef X_H\n#define X_H\n\n/**\n * Frobnicates the widget.\n *\n"
	  " * @param w the widget\n */\nGIT_EXTERN(int) git_frob(int w);\n\n#endif\n" },
	{ "src/x.c", "#include \"x.h\"\n\n/* Adds one. More words. */\nstatic int helper(int a)\n"
		     "{\n\treturn a + 1;\n}\n\n// The public one.\nint git_frob(int w)\n{\n"
		     "\treturn helper(w);\n}\n" },
	{ "pkg/session.py", "class Session:\n    \"\"\"A user session.\"\"\"\n\n"
			    "    def request(self, url):\n        \"\"\"Sends a request.\"\"\"\n"
			    "        return url\n\n    def _private(self):\n        pass\n" },
	{ "lib/app.js", "var app = exports = module.exports = {};\n\n/**\n * Get a setting.\n */\n"
			"app.get = function get(setting) {\n  return 1;\n};\n" },
	{ "README.md", "# X\n" },
};

static int make_repo(const char *git)
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
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		fx_fi_file(s, "100644", files[i][0], strlen(files[i][0]), files[i][1],
			   strlen(files[i][1]));
	fclose(s);
	r = fx_fast_import(git, stream);
	free(stream);
	return r;
}

static const struct facts_symbol *sym(const struct repo_facts *f, const char *path,
				      const char *name)
{
	const struct facts_symbol *s;
	long i = facts_find_file(f, path);
	size_t n = i >= 0 ? facts_file_symbols(f, (size_t)i, &s) : 0;

	for (size_t k = 0; k < n; k++)
		if (!strcmp(s[k].name, name))
			return &s[k];
	return NULL;
}

static void test_ctags_symbols(const char *git, const char *head)
{
	struct repo_facts *f = NULL;
	struct wf_err e = { "" };
	const struct facts_symbol *s;
	struct facts_stats st;

	is_int(facts_load(&f, git, head, &e), 0, "facts_load (%s)", e.msg);
	if (!f)
		return;
	facts_get_stats(f, &st);
	ok(st.symbols_ctags && !st.ctags_error[0], "symbols from ctags");
	s = sym(f, "include/x.h", "git_frob");
	ok(s && !strcmp(s->kind, "prototype"), "GIT_EXTERN prototype found");
	ok(s && s->doc && !strcmp(s->doc, "Frobnicates the widget."), "its doc: '%s'",
	   s && s->doc ? s->doc : "(none)");
	ok(s && (s->flags & FACTS_SYM_PUBLIC), "a header's prototype is public");
	ok(!sym(f, "include/x.h", "X_H"), "no include guard");
	s = sym(f, "src/x.c", "helper");
	ok(s && !(s->flags & FACTS_SYM_PUBLIC), "static helper is not public");
	ok(s && s->doc && !strcmp(s->doc, "Adds one."), "first sentence of a block comment");
	ok(s && s->signature && !strcmp(s->signature, "(int a)"), "signature kept");
	s = sym(f, "src/x.c", "git_frob");
	ok(s && (s->flags & FACTS_SYM_PUBLIC) && s->doc && !strcmp(s->doc, "The public one."),
	   "public function with a // comment");
	s = sym(f, "pkg/session.py", "request");
	ok(s && s->scope && !strcmp(s->scope, "Session") && !strcmp(s->kind, "method"),
	   "python method with its class");
	ok(s && s->doc && !strcmp(s->doc, "Sends a request."), "docstring");
	s = sym(f, "pkg/session.py", "_private");
	ok(s && !(s->flags & FACTS_SYM_PUBLIC), "_private is not public");
	s = sym(f, "pkg/session.py", "Session");
	ok(s && s->doc && !strcmp(s->doc, "A user session."), "class docstring");
	s = sym(f, "lib/app.js", "get");
	ok(s && s->scope && !strcmp(s->scope, "app") && (s->flags & FACTS_SYM_PUBLIC),
	   "app.get found, public through module.exports");
	ok(s && s->doc && !strcmp(s->doc, "Get a setting."), "JSDoc summary");
	facts_unref(f);
}

static void test_fallback(const char *git, const char *head)
{
	const struct facts_opts none = { NULL, NULL, "" },
				bad = { NULL, NULL, "/nonexistent/ctags" };
	struct repo_facts *f = NULL;
	struct wf_err e = { "" };
	struct facts_stats st;
	const struct facts_symbol *s;

	is_int(facts_open(&f, &none, git, head, &e), 0, "facts without ctags");
	if (f) {
		facts_get_stats(f, &st);
		ok(!st.symbols_ctags && !st.ctags_error[0], "not tried, no error");
		s = sym(f, "src/x.c", "git_frob");
		ok(s && !strcmp(s->kind, "function"), "the scanners found git_frob");
		ok(s && s->doc && !strcmp(s->doc, "The public one."), "with its doc");
		s = sym(f, "pkg/session.py", "Session");
		ok(s != NULL, "and the Python class");
		facts_unref(f);
		f = NULL;
	}
	is_int(facts_open(&f, &bad, git, head, &e), 0, "facts with a missing ctags");
	if (f) {
		facts_get_stats(f, &st);
		ok(!st.symbols_ctags && strstr(st.ctags_error, "/nonexistent/ctags"),
		   "the cause is kept: '%s'", st.ctags_error);
		ok(sym(f, "src/x.c", "git_frob") != NULL, "symbols from the scanners");
		facts_unref(f);
	}
}

/* The one facts file under @cache, into @out. */
static int facts_file(const char *cache, char *out, size_t n)
{
	char dir[4200];
	struct dirent *d;
	DIR *dp;
	int found = 0;

	(void)pathf(dir, sizeof(dir), "%s/facts", cache);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp)))
		if (strstr(d->d_name, ".facts") && !strstr(d->d_name, ".tmp")) {
			(void)pathf(out, n, "%s/%s", dir, d->d_name);
			found++;
		}
	closedir(dp);
	return found;
}

/* Same files, symbols (with every field) and history. */
static bool same_facts(const struct repo_facts *a, const struct repo_facts *b)
{
	const struct facts_file *fa, *fb;
	const struct facts_commit *ha, *hb;
	size_t n = facts_files(a, &fa);
	const char *ra, *rb;

	if (n != facts_files(b, &fb) || facts_history(a, &ha) != facts_history(b, &hb) ||
	    strcmp(ha[0].subject, hb[0].subject) ||
	    strcmp(facts_readme(a, &ra), facts_readme(b, &rb)))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct facts_symbol *sa, *sb;
		size_t ns = facts_file_symbols(a, i, &sa);

		if (strcmp(fa[i].path, fb[i].path) || fa[i].size != fb[i].size ||
		    ns != facts_file_symbols(b, i, &sb))
			return false;
		for (size_t k = 0; k < ns; k++)
			if (strcmp(sa[k].name, sb[k].name) || strcmp(sa[k].kind, sb[k].kind) ||
			    sa[k].line != sb[k].line || sa[k].flags != sb[k].flags ||
			    !sa[k].doc != !sb[k].doc || (sa[k].doc && strcmp(sa[k].doc, sb[k].doc)))
				return false;
	}
	return true;
}

static void test_store(const char *git, const char *head)
{
	char cache[2048], file[4600], moved[4200];
	const struct facts_opts o = { cache, "https://example.org/x.git", NULL };
	struct repo_facts *computed = NULL, *f = NULL;
	struct wf_err e = { "" };
	char *orig = NULL, *again = NULL;
	size_t olen = 0, alen = 0;
	FILE *fp;

	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(moved, sizeof(moved), "%s.away", git);
	is_int(facts_load(&computed, git, head, &e), 0, "computed facts");
	is_int(facts_open(&f, &o, git, head, &e), 0, "facts_open, cold (%s)", e.msg);
	is_int(facts_file(cache, file, sizeof(file)), 1, "one facts file written");
	ok(f && computed && same_facts(f, computed),
	   "what facts_open gives equals the computed facts");
	facts_unref(f);
	f = NULL;

	/* warm: the file alone, without the repository */
	ok(rename(git, moved) == 0, "repository moved away");
	is_int(facts_open(&f, &o, git, head, &e), 0, "facts_open reads the file, no git needed");
	ok(f && computed && same_facts(f, computed), "round trip: the same facts");
	facts_unref(f);
	f = NULL;

	/* damaged: refused, so without the repository it is an error... */
	ok(read_file(file, 1 << 30, &orig, &olen) == 0 && olen > 100, "facts file read (%zu B)",
	   olen);
	fp = fopen(file, "r+");
	if (fp && orig) {
		fseek(fp, (long)olen / 2, SEEK_SET);
		fputc(orig[olen / 2] ^ 0x5a, fp);
		fclose(fp);
	}
	ok(facts_open(&f, &o, git, head, &e) < 0, "a damaged file is not used");
	/* ...and with it, recomputed and written again */
	ok(rename(moved, git) == 0, "repository back");
	is_int(facts_open(&f, &o, git, head, &e), 0, "recomputed (%s)", e.msg);
	ok(f && computed && same_facts(f, computed), "recomputed facts are right");
	ok(read_file(file, 1 << 30, &again, &alen) == 0 && alen == olen, "the file is rewritten");
	facts_unref(f);
	f = NULL;
	ok(rename(git, moved) == 0, "repository moved away again");
	is_int(facts_open(&f, &o, git, head, &e), 0, "the rewritten file is good");
	ok(rename(moved, git) == 0, "repository back again");
	/* a truncated file, too */
	ok(truncate(file, (off_t)olen - 9) == 0, "facts file truncated");
	facts_unref(f);
	f = NULL;
	is_int(facts_open(&f, &o, git, head, &e), 0, "recomputed after truncation");
	facts_unref(f);
	free(orig);
	free(again);
	facts_unref(computed);
}

static void test_lru(const char *git, const char *head)
{
	struct facts_lru *l;
	struct repo_facts *a = NULL, *b = NULL, *got;
	struct wf_err e = { "" };
	const struct facts_opts none = { NULL, NULL, "" };

	if (facts_lru_new(&l, 2) < 0 || facts_open(&a, &none, git, head, &e) < 0 ||
	    facts_open(&b, &none, git, head, &e) < 0)
		return;
	facts_lru_put(l, "u1", a);
	facts_lru_put(l, "u2", b);
	got = facts_lru_get(l, "u1", head);
	ok(got == a, "u1 held");
	facts_unref(got);
	facts_lru_put(l, "u3", b); /* u2 is now the least recent: out */
	ok(!(got = facts_lru_get(l, "u2", head)), "u2 dropped");
	facts_unref(got);
	ok((got = facts_lru_get(l, "u1", head)) == a, "u1 kept");
	facts_unref(got);
	ok(!(got = facts_lru_get(l, "u1", "0000000000000000000000000000000000000000")),
	   "another commit is a miss");
	facts_lru_put(l, "u1", b); /* replaces u1's entry */
	ok((got = facts_lru_get(l, "u1", head)) == b, "u1 replaced");
	facts_unref(got);
	facts_unref(a);
	facts_unref(b);
	facts_lru_free(l);
}

/* ---- the whole history and the crates, through the facts file ---------------- */

static const char *const rust_files[][2] = {
	{ "crates/app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n" },
	{ "crates/app/src/main.rs",
	  "use my_core::Thing;\n\nfn main() {\n    let _t = Thing;\n}\n" },
	{ "crates/core/Cargo.toml", "[package]\nname = \"my-core\"\nversion = \"0.1.0\"\n" },
	{ "crates/core/src/lib.rs", "pub struct Thing;\n" },
};

/* Three commits by two people (.mailmap joins Ada's two identities), two releases. */
static int make_rust_repo(const char *git)
{
	static const char *const who[] = { "Ada <ada@old.example>", "Bob <bob@example.org>",
					   "Ada Lovelace <ada@new.example>" };
	const char *mm = "Ada Lovelace <ada@new.example> <ada@old.example>\n";
	char *stream;
	FILE *s;
	int r;

	if (asprintf(&stream, "%s.fi", git) < 0)
		return -1;
	s = fopen(stream, "w");
	if (!s)
		return -1;
	for (int i = 0; i < 3; i++) {
		fprintf(s, "commit refs/heads/main\nmark :%d\nauthor %s %d +0000\n", i + 1, who[i],
			1600000000 + i * 3000000);
		fprintf(s, "committer %s %d +0000\ndata 9\ncommit %d\n\n", who[i],
			1600000000 + i * 3000000, i + 1);
		for (size_t k = 0; i == 0 && k < ARRAY_SIZE(rust_files); k++)
			fx_fi_file(s, "100644", rust_files[k][0], strlen(rust_files[k][0]),
				   rust_files[k][1], strlen(rust_files[k][1]));
		if (i == 1)
			fx_fi_file(s, "100644", ".mailmap", 8, mm, strlen(mm));
	}
	fprintf(s, "tag v0.1\nfrom :1\ntagger Rel <rel@example.org> 1600000100 +0000\n"
		   "data 5\nv0.1\n\nreset refs/tags/v0.2\nfrom :3\n\n");
	fclose(s);
	r = fx_fast_import(git, stream);
	free(stream);
	return r;
}

/* The target of the import of @spec in @from, or NULL. */
static const char *import_target(const struct repo_facts *f, const char *from, const char *spec)
{
	const struct facts_import *im;
	size_t n = facts_imports(f, &im);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(im[i].from, from) && !strcmp(im[i].spec, spec))
			return im[i].target;
	return NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Same whole-history figures, people, months, releases, recent commits and crate edge. */
static bool same_history(const struct repo_facts *a, const struct repo_facts *b)
{
	const struct facts_author *pa, *pb;
	const struct facts_month *ma, *mb;
	const struct facts_release *ra, *rb;
	const struct facts_commit *ca, *cb;
	size_t np = facts_authors(a, &pa), nm = facts_months(a, &ma), nr = facts_releases(a, &ra),
	       nc = facts_history(a, &ca);

	if (facts_commit_count(a) != facts_commit_count(b) || np != facts_authors(b, &pb) ||
	    nm != facts_months(b, &mb) || nr != facts_releases(b, &rb) ||
	    nc != facts_history(b, &cb))
		return false;
	for (size_t i = 0; i < np; i++)
		if (!same_str(pa[i].name, pb[i].name) || !same_str(pa[i].email, pb[i].email) ||
		    pa[i].commits != pb[i].commits || pa[i].first != pb[i].first ||
		    pa[i].last != pb[i].last)
			return false;
	for (size_t i = 0; i < nm; i++)
		if (ma[i].year != mb[i].year || ma[i].month != mb[i].month ||
		    ma[i].commits != mb[i].commits)
			return false;
	for (size_t i = 0; i < nr; i++)
		if (!same_str(ra[i].tag, rb[i].tag) || !same_str(ra[i].commit, rb[i].commit) ||
		    ra[i].time != rb[i].time)
			return false;
	for (size_t i = 0; i < nc; i++)
		if (!same_str(ca[i].id, cb[i].id) || !same_str(ca[i].author, cb[i].author) ||
		    !same_str(ca[i].subject, cb[i].subject) || ca[i].time != cb[i].time)
			return false;
	return same_str(import_target(a, "crates/app/src/main.rs", "my_core"),
			import_target(b, "crates/app/src/main.rs", "my_core"));
}

static void test_store_history(void)
{
	char git[2048], moved[2100], cache[2048], head[41];
	const struct facts_opts o = { cache, "https://example.org/rust.git", NULL };
	struct repo_facts *computed = NULL, *f = NULL;
	const struct facts_author *a;
	const struct facts_release *rel;
	struct wf_err e = { "" };
	struct facts_stats st;

	snprintf(git, sizeof(git), "%s/rust.git", tmp);
	snprintf(moved, sizeof(moved), "%s.away", git);
	snprintf(cache, sizeof(cache), "%s/cache-rust", tmp);
	if (!ok(make_rust_repo(git) == 0 && fx_rev(git, "main", head) == 0, "Rust repository made"))
		return;
	is_int(facts_load(&computed, git, head, &e), 0, "computed facts (%s)", e.msg);
	if (!computed)
		return;
	facts_get_stats(computed, &st);
	if (access(CTAGS_PATH, X_OK) == 0)
		ok(st.symbols_ctags, "symbols from ctags");
	is_int(facts_commit_count(computed), 3, "3 commits");
	is_int(facts_authors(computed, &a), 2, "2 people (.mailmap joins Ada)");
	is_int(facts_releases(computed, &rel), 2, "2 releases");
	is_str(import_target(computed, "crates/app/src/main.rs", "my_core"), "crates/core",
	       "`use my_core::` resolves to the crate's directory");

	is_int(facts_open(&f, &o, git, head, &e), 0, "facts_open, cold (%s)", e.msg);
	ok(f && same_history(f, computed), "the written and reloaded image has the same history");
	facts_unref(f);
	f = NULL;
	ok(rename(git, moved) == 0, "repository moved away");
	is_int(facts_open(&f, &o, git, head, &e), 0, "facts_open from the file alone");
	ok(f && same_history(f, computed),
	   "round trip: commit count, people, months, releases, commits and crate edge");
	if (f) {
		is_int(facts_commit_count(f), 3, "3 commits after the round trip");
		is_int(facts_releases(f, &rel), 2, "2 releases after the round trip");
		is_str(import_target(f, "crates/app/src/main.rs", "my_core"), "crates/core",
		       "the crate edge after the round trip");
	}
	ok(rename(moved, git) == 0, "repository back");
	facts_unref(f);
	facts_unref(computed);
}

int main(void)
{
	char *git = NULL, head[41];

	fx_env();
	gitrepo_global_init();
	tmp = fx_tmpdir("facts");
	if (!tmp || asprintf(&git, "%s/x.git", tmp) < 0)
		return 1;
	ok(make_repo(git) == 0, "repository made");
	if (fx_rev(git, "main", head) == 0) {
		if (access(CTAGS_PATH, X_OK) == 0)
			test_ctags_symbols(git, head);
		else
			diag("no ctags at %s: its tests skipped", CTAGS_PATH);
		test_fallback(git, head);
		test_store(git, head);
		test_lru(git, head);
	}
	test_store_history();
	rm_rf(tmp);
	free(tmp);
	free(git);
	return done_testing();
}
