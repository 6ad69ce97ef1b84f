/* SPDX-License-Identifier: MIT */
/*
 * Source analysis on arbitrary bytes: symbols_scan() with each language's
 * scanner, then import_resolve() of every import found, against a path
 * list made of the input's own lines. Input: byte 0 picks the language
 * (past the list: none), bit 0 of byte 1 picks a header path, the rest is
 * the text. Promises checked, beyond no crash and no sanitizer report:
 * every symbol's line is one of the text's lines; its kind is non-empty;
 * its name is 1..SYMBOLS_NAME_MAX bytes and a piece of the text (a method
 * "Type.name": each piece); an import spec is 1..IMPORT_SPEC_MAX bytes
 * made of the text's bytes; a resolution is NULL, one of the index's own
 * paths, or a directory holding indexed paths. The language table answers
 * for the text taken as a path, too.
 */
#include "fuzz.h"

#include <string.h>

#include "imports.h"
#include "lang.h"
#include "pathlist.h"
#include "symbols.h"
#include "util.h"

#define MAX_PATHS   64
#define MAX_IMPORTS 64

static const char *const langs[] = { "C",    "C++",	   "Objective-C", "Java",  "Python",  "Go",
				     "Rust", "JavaScript", "TypeScript",  "Shell", "Markdown" };

struct check {
	const char *text;
	size_t len;
	unsigned lines;
	bool seen[256]; /* bytes present in the text */
	struct {
		enum import_kind kind;
		char spec[IMPORT_SPEC_MAX + 1];
	} imps[MAX_IMPORTS];
	size_t nimps;
};

/* @s (@n bytes) is a piece of the text, or each '.'-separated piece is when @dots. */
static bool in_text(const struct check *c, const char *s, size_t n, bool dots)
{
	while (dots && n) {
		const char *d = memchr(s, '.', n);
		size_t k = d ? (size_t)(d - s) : n;

		if (k && !memmem(c->text, c->len, s, k))
			return false;
		if (!d)
			return true;
		s += k + 1;
		n -= k + 1;
	}
	return n == 0 || memmem(c->text, c->len, s, n);
}

static void on_symbol(void *ctx, unsigned line, const char *kind, const char *name, size_t len)
{
	struct check *c = ctx;

	FUZZ_CHECK(line >= 1 && line <= c->lines);
	FUZZ_CHECK(kind && kind[0]);
	FUZZ_CHECK(len >= 1 && len <= SYMBOLS_NAME_MAX);
	FUZZ_CHECK(in_text(c, name, len, !strcmp(kind, "method")));
}

static void on_import(void *ctx, unsigned line, enum import_kind kind, const char *spec, size_t len)
{
	struct check *c = ctx;

	FUZZ_CHECK(line >= 1 && line <= c->lines);
	FUZZ_CHECK(kind >= IMPORT_C_INCLUDE &&
		   kind <= IMPORT_RUST_CRATE); /* scanners emit no IMPORT_DIR */
	FUZZ_CHECK(len >= 1 && len <= IMPORT_SPEC_MAX);
	/* Java specs come from the line without string contents: bytes, not a piece */
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(c->seen[(unsigned char)spec[i]] || spec[i] == '.');
	if (kind != IMPORT_JAVA)
		FUZZ_CHECK(in_text(c, spec, len, kind == IMPORT_PYTHON_FROM));
	if (c->nimps < MAX_IMPORTS && !memchr(spec, '\0', len)) {
		c->imps[c->nimps].kind = kind;
		memcpy(c->imps[c->nimps].spec, spec, len);
		c->imps[c->nimps++].spec[len] = '\0';
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The text's distinct non-empty lines, sorted, as a path list (owned by @buf). */
static size_t make_paths(const struct check *c, char *buf, const char **paths)
{
	size_t n = 0, k = 0;

	memcpy(buf, c->text, c->len);
	buf[c->len] = '\0';
	for (char *s = buf, *nl; s && n < MAX_PATHS; s = nl ? nl + 1 : NULL) {
		nl = memchr(s, '\n', (size_t)(buf + c->len - s));
		if (nl)
			*nl = '\0';
		if (*s && strlen(s) <= IMPORT_PATH_MAX)
			paths[n++] = s;
	}
	qsort(paths, n, sizeof(*paths), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(paths[k - 1], paths[i]))
			paths[k++] = paths[i];
	return k;
}

static void check_resolution(struct check *c)
{
	const char *paths[MAX_PATHS];
	char *buf = malloc(c->len + 1), dir[IMPORT_RESULT_MAX];
	struct import_index *ix;
	size_t n = buf ? make_paths(c, buf, paths) : 0, first;

	if (!buf || n == 0 || import_index_new(&ix, paths, n, paths[0]) < 0) {
		free(buf);
		return;
	}
	for (size_t i = 0; i < c->nimps; i++) {
		const char *from = paths[i % n];
		const char *t = import_resolve(ix, from, c->imps[i].kind, c->imps[i].spec, dir);
		long k;

		if (!t)
			continue;
		if (t == dir) {
			FUZZ_CHECK(strlen(dir) < IMPORT_RESULT_MAX);
			FUZZ_CHECK(pathlist_dir_range(paths, n, dir, &first) > 0);
			continue;
		}
		k = pathlist_find(paths, n, t);
		FUZZ_CHECK(k >= 0 && paths[k] == t);
	}
	import_index_free(ix);
	free(buf);
}

/* The language table on the text taken as a path: judged by the last component only. */
static void check_lang(const struct check *c)
{
	char *path = strndup(c->text, c->len), *base;
	const char *l;

	if (!path)
		return;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	l = lang_of_path(path);
	FUZZ_CHECK(l == lang_of_path(base));
	FUZZ_CHECK(!l || l[0]);
	FUZZ_CHECK(lang_is_binary_name(path) == lang_is_binary_name(base));
	l = lang_of_shebang(c->text, c->len);
	FUZZ_CHECK(!l || lang_is_code(l));
	if (base != path)
		FUZZ_CHECK(lang_name_roles(path, true) == 0);
	FUZZ_CHECK((lang_path_roles(path) & ~(unsigned)(LANG_BUILD | LANG_CI)) == 0);
	free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check *c;
	struct symbols_sink sink;
	const char *lang;

	if (size < 2)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	lang = data[0] < ARRAY_SIZE(langs) ? langs[data[0]] : NULL;
	c->text = (const char *)data + 2;
	c->len = size - 2;
	for (size_t i = 0; i < c->len; i++) {
		c->lines += c->text[i] == '\n';
		c->seen[(unsigned char)c->text[i]] = true;
	}
	c->lines += c->len && c->text[c->len - 1] != '\n';
	sink = (struct symbols_sink){ c, on_symbol, on_import };
	FUZZ_CHECK(symbols_scan(lang, data[1] & 1 ? "x.h" : "x.c", c->text, c->len, &sink) == 0);
	FUZZ_CHECK(c->nimps == 0 || lang);
	check_resolution(c);
	check_lang(c);
	free(c);
	return 0;
}
