/* SPDX-License-Identifier: MIT */
/*
 * Which files a prompt shows first. The budget of a prompt is a few dozen
 * files at most, so the order decides what the model sees: code before
 * prose, prose before tests, tests before data, generated and vendored
 * text and lock files last, and the files every page of repository
 * housekeeping would waste budget on (LICENSE, CHANGELOG, .gitignore)
 * never. Within a class, entry points come first, then the files the
 * repository imports most (from the import graph in the facts), a header
 * next to its implementation.
 *
 * Classes are judged from the path alone (names and directories such as
 * vendor/ or tests/), so they cost nothing per file.
 */
#include "prompt_int.h"
#include "lang.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static const char *ext_of(const char *path)
{
	const char *b = base_of(path), *d = strrchr(b, '.');

	return d && d != b ? d : "";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcasecmp(s + n - k, suffix);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

/* Does a directory of @path (not its name) match one of @names? */
static bool in_dir(const char *path, const char *const *names, size_t n)
{
	for (const char *s = path, *slash; (slash = strchr(s, '/')); s = slash + 1)
		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == (size_t)(slash - s) &&
			    !strncasecmp(s, names[i], (size_t)(slash - s)))
				return true;
	return false;
}

static bool is_never(const char *b)
{
	static const char *const prefixes[] = {
		"license",   "licence", "copying",    "notice",		"changelog",
		"changes",   "news",	"authors",    "contributors",	"code_of_conduct",
		"security",  "funding", ".gitignore", ".gitattributes", ".gitmodules",
		".mailmap",  "patents", "copyright",  ".editorconfig",	".dockerignore",
		".npmignore"
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (starts_with(b, prefixes[i]))
			return true;
	return false;
}

static bool is_low(const char *path, const char *b)
{
	static const char *const dirs[] = { "vendor",	    "vendored",		"third_party",
					    "thirdparty",   "third-party",	"3rdparty",
					    "node_modules", "bower_components", "generated",
					    "dist",	    "__generated__" };
	static const char *const locks[] = { "package-lock.json", "npm-shrinkwrap.json",
					     "pnpm-lock.yaml",	  "go.sum",
					     "yarn.lock",	  "gradle.lockfile" };
	static const char *const suffixes[] = { ".lock",  ".min.js",	  ".min.css",
						".pb.go", "_pb2.py",	  ".pb.cc",
						".pb.h",  ".g.dart",	  ".designer.cs",
						".map",	  "_generated.go" };

	if (in_dir(path, dirs, ARRAY_SIZE(dirs)))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(locks); i++)
		if (!strcasecmp(b, locks[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (ends_with(b, suffixes[i]))
			return true;
	return strstr(b, ".generated.") != NULL;
}

static bool is_test(const char *path, const char *b)
{
	static const char *const dirs[] = { "test",	  "tests",     "t",	    "spec",
					    "specs",	  "testing",   "__tests__", "testdata",
					    "test-suite", "testsuite", "__mocks__", "e2e" };
	static const char *const prefixes[] = { "test_", "test-", "tests_", "conftest." };
	static const char *const suffixes[] = { "_test.go",   "_test.py", "_test.c",  "_test.cc",
						"_test.cpp",  "_test.rs", "_spec.rb", "Test.java",
						"Tests.java", "Test.kt",  "Tests.cs", "_tests.rs" };
	const char *t;

	if (in_dir(path, dirs, ARRAY_SIZE(dirs)))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (starts_with(b, prefixes[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (ends_with(b, suffixes[i]))
			return true;
	/* x.test.js, x.spec.ts, ... */
	t = strstr(b, ".test.");
	return t || strstr(b, ".spec.");
}

bool prompt_is_header(const char *path)
{
	static const char *const exts[] = { ".h", ".hh", ".hpp", ".hxx", ".pyi" };
	const char *e = ext_of(path);

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (!strcmp(e, exts[i]))
			return true;
	return ends_with(path, ".d.ts");
}

enum prompt_class prompt_class_of(const struct facts_file *f)
{
	const char *b = base_of(f->path);

	if (is_never(b))
		return PC_NEVER;
	if (is_low(f->path, b))
		return PC_LOW;
	if (is_test(f->path, b))
		return PC_TEST;
	if (lang_is_code(f->lang) || prompt_is_header(f->path))
		return PC_SOURCE;
	if (ends_with(b, ".md") || ends_with(b, ".rst") || ends_with(b, ".txt") ||
	    ends_with(b, ".adoc") || starts_with(b, "readme"))
		return PC_DOC;
	return PC_DATA;
}

bool prompt_is_main(const struct facts_symbol *s)
{
	size_t nl = strlen(s->name);

	return nl >= 4 && !strcmp(s->name + nl - 4, "main") &&
	       (nl == 4 || s->name[nl - 5] == '.' || s->name[nl - 5] == ':') &&
	       strcmp(s->kind, "prototype");
}

bool prompt_is_entry(const struct repo_facts *f, size_t idx)
{
	static const char *const names[] = { "main.c",	"main.cc",   "main.cpp",	"main.go",
					     "main.rs", "lib.rs",    "__main__.py",	"main.py",
					     "cli.py",	"index.js",  "index.ts",	"main.js",
					     "main.ts", "Main.java", "Application.java" };
	const struct facts_file *files;
	const struct facts_symbol *sym;
	size_t n = facts_files(f, &files), ns;

	if (idx >= n)
		return false;
	ns = facts_file_symbols(f, idx, &sym);
	for (size_t i = 0; i < ns; i++)
		if (prompt_is_main(&sym[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(base_of(files[idx].path), names[i]))
			return true;
	return false;
}

/* ---- ranking -------------------------------------------------------------- */

struct key {
	size_t idx;
	enum prompt_class cls;
	bool entry, header;
	size_t in, depth, group_len; /* group: the path without its extension */
	const char *path;
};

struct targets {
	const char **v; /* import targets, sorted */
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How many imports resolve to @path (or to its directory, a Go or Python package). */
static size_t in_degree(const struct targets *t, const char *path)
{
	size_t count = 0, lo, hi;

	for (int pass = 0; pass < 2; pass++) {
		_cleanup_free_ char *dir = NULL;
		const char *want = path, *slash = strrchr(path, '/');

		if (pass == 1) {
			dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
			if (!dir)
				break;
			want = dir;
		}
		for (lo = 0, hi = t->n; lo < hi;) { /* the first target >= want */
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(t->v[mid], want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < t->n && !strcmp(t->v[lo], want)) {
			count++;
			lo++;
		}
	}
	return count;
}

/* The implementation of header @path, or the header of implementation @path, or -1. */
static long partner(const struct repo_facts *f, const char *path, bool header)
{
	static const char *const impl[] = { ".c", ".cc", ".cpp", ".cxx", ".m", ".mm" };
	static const char *const hdr[] = { ".h", ".hh", ".hpp", ".hxx" };
	const char *const *exts = header ? impl : hdr;
	size_t ne = header ? ARRAY_SIZE(impl) : ARRAY_SIZE(hdr);
	size_t stem = strlen(path) - strlen(ext_of(path));
	char buf[FACTS_MAX_PATH + 8];

	if (stem + 8 > sizeof(buf))
		return -1;
	for (size_t i = 0; i < ne; i++) {
		long k;

		snprintf(buf, sizeof(buf), "%.*s%s", (int)stem, path, exts[i]);
		k = facts_find_file(f, buf);
		if (k >= 0)
			return k;
	}
	return -1;
}

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c;

	if (x->cls != y->cls)
		return (int)x->cls - (int)y->cls;
	if (x->entry != y->entry)
		return x->entry ? -1 : 1;
	if (x->in != y->in)
		return x->in > y->in ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	c = strncmp(x->path, y->path, MIN(x->group_len, y->group_len));
	if (c || x->group_len != y->group_len)
		return c ? c : x->group_len < y->group_len ? -1 : 1;
	if (x->header != y->header)
		return x->header ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void fill_key(const struct repo_facts *f, const struct targets *t, size_t idx, struct key *k)
{
	const struct facts_file *files;
	const char *p;
	long other;

	facts_files(f, &files);
	p = files[idx].path;
	*k = (struct key){ .idx = idx, .path = p, .cls = prompt_class_of(&files[idx]) };
	k->header = prompt_is_header(p);
	/* a package's interface file ranks with the entry points */
	k->entry = prompt_is_entry(f, idx) || !strcmp(base_of(p), "__init__.py") ||
		   !strcmp(base_of(p), "mod.rs");
	k->in = in_degree(t, p);
	for (const char *s = p; *s; s++)
		k->depth += *s == '/';
	k->group_len = strlen(p);
	other = k->cls == PC_SOURCE ? partner(f, p, k->header) : -1;
	if (other >= 0) { /* a header and its implementation rank as one */
		k->entry = k->entry || prompt_is_entry(f, (size_t)other);
		k->in = MAX(k->in, in_degree(t, files[other].path));
		k->group_len -= strlen(ext_of(p));
	}
}

int prompt_rank(const struct repo_facts *f, size_t *idx, size_t n)
{
	const struct facts_import *im;
	size_t ni = facts_imports(f, &im);
	_cleanup_free_ struct key *keys = NULL;
	struct targets t = { NULL, 0 };

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	t.v = calloc(ni + 1, sizeof(*t.v));
	if (!keys || !t.v) {
		free(t.v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ni; i++)
		if (im[i].target && strcmp(im[i].target, im[i].from))
			t.v[t.n++] = im[i].target;
	qsort(t.v, t.n, sizeof(*t.v), cmp_str);
	for (size_t i = 0; i < n; i++)
		fill_key(f, &t, idx[i], &keys[i]);
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++)
		idx[i] = keys[i].idx;
	free(t.v);
	return 0;
}
