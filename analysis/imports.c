/* SPDX-License-Identifier: MIT */
/*
 * Import resolution by the rules each language's tools use, cut down to
 * what a tree shows without configuration: C includes are tried beside the
 * including file and then anywhere by path suffix (nearest to the includer
 * wins, as with -I flags nobody wrote down); Python modules from the top or
 * a usual source root (src/, lib/, python/), or relative with leading dots;
 * Go packages inside the module go.mod names; Rust modules beside their
 * parent and "crate::" paths from the nearest lib.rs or main.rs; relative
 * JavaScript/TypeScript specifiers with the extensions bundlers try; Java
 * classes by package path suffix.
 *
 * Exact lookups are binary searches in the sorted path list; suffix lookups
 * go through a second array sorted by base name. A failed resolution is
 * cheap and common (system headers, packages from elsewhere).
 */
#include "imports.h"
#include "pathlist.h"
#include "symbols.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct bname {
	const char *base;
	size_t file;
};

struct crate {
	const char *name, *dir;
};

struct import_index {
	const char *const *paths;
	size_t n;
	struct bname *bn; /* every path by base name, then index */
	const char *go_module;
	struct crate *crates;
	size_t ncrates;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static size_t dir_len(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? (size_t)(s - path) : 0;
}

static int cmp_bname(const void *a, const void *b)
{
	const struct bname *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c ? c : (x->file < y->file ? -1 : x->file > y->file);
}

int import_index_new(struct import_index **ret, const char *const *paths, size_t n,
		     const char *go_module)
{
	struct import_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return -ENOMEM;
	ix->bn = malloc(n * sizeof(*ix->bn) + 1);
	if (!ix->bn) {
		free(ix);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ix->bn[i] = (struct bname){ base_name(paths[i]), i };
	qsort(ix->bn, n, sizeof(*ix->bn), cmp_bname);
	ix->paths = paths;
	ix->n = n;
	ix->go_module = go_module;
	*ret = ix;
	return 0;
}

void import_index_free(struct import_index *ix)
{
	if (!ix)
		return;
	free(ix->crates);
	free(ix->bn);
	free(ix);
}

int import_index_add_crate(struct import_index *ix, const char *name, const char *dir)
{
	struct crate *c = realloc(ix->crates, (ix->ncrates + 1) * sizeof(*c));

	if (!c)
		return -ENOMEM;
	ix->crates = c;
	ix->crates[ix->ncrates++] = (struct crate){ name, dir };
	return 0;
}

/* Crate names compare with '-' and '_' as one character. */
static bool same_crate(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !(strchr("-_", *a) && strchr("-_", *b)))
			return false;
	return !*a && !*b;
}

/* The index's copy of @path if it names a file; @res holding it for a directory. */
static const char *lookup_path(const struct import_index *ix, const char *path, bool dir_ok,
			       char *res)
{
	long i = pathlist_find(ix->paths, ix->n, path);
	size_t first, len = strlen(path);

	if (i >= 0)
		return ix->paths[i];
	if (dir_ok && len && len < IMPORT_RESULT_MAX &&
	    pathlist_dir_range(ix->paths, ix->n, path, &first) > 0) {
		memcpy(res, path, len + 1);
		return res;
	}
	return NULL;
}

/* Joins @dir and @rel, resolving "." and ".."; false if it leaves the tree. */
static bool join_norm(const char *dir, size_t dl, const char *rel, char *out, size_t cap)
{
	size_t o = 0;
	const char *parts[2] = { dir, rel };
	size_t lens[2] = { dl, strlen(rel) };

	for (int k = 0; k < 2; k++) {
		const char *p = parts[k], *end = p + lens[k];

		while (p < end) {
			const char *sl = memchr(p, '/', (size_t)(end - p));
			size_t n = (size_t)((sl ? sl : end) - p);

			if (n == 0 || (n == 1 && p[0] == '.')) {
				/* skip */
			} else if (n == 2 && p[0] == '.' && p[1] == '.') {
				if (o == 0)
					return false;
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else {
				if (o + n + 2 > cap)
					return false;
				if (o)
					out[o++] = '/';
				memcpy(out + o, p, n);
				o += n;
			}
			p += n + 1;
		}
	}
	out[o] = '\0';
	return true;
}

/* The file whose path ends with "/@suffix" (or is it), nearest to @from. */
static const char *by_suffix(const struct import_index *ix, const char *suffix, const char *from)
{
	const char *base = base_name(suffix);
	size_t lo = 0, hi = ix->n, sl = strlen(suffix), best_common = 0;
	const char *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->bn[mid].base, base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, seen = 0; i < ix->n && !strcmp(ix->bn[i].base, base) && seen < 64;
	     i++, seen++) {
		const char *p = ix->paths[ix->bn[i].file];
		size_t pl = strlen(p), c = 0;

		if (pl < sl || strcmp(p + pl - sl, suffix) || (pl > sl && p[pl - sl - 1] != '/'))
			continue;
		while (p[c] && p[c] == from[c])
			c++;
		if (!best || c > best_common) {
			best = p;
			best_common = c;
		}
	}
	return best;
}

/* The first file "@stem@ext" for @ext in @exts. */
static const char *resolve_exts(const struct import_index *ix, const char *stem,
				const char *const *exts, size_t n)
{
	char buf[IMPORT_PATH_MAX + 32];
	const char *r;

	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", stem, exts[i]) >= sizeof(buf))
			return NULL;
		if ((r = lookup_path(ix, buf, false, NULL)))
			return r;
	}
	return NULL;
}

static const char *const py_exts[] = { ".py", "/__init__.py" };
static const char *const rs_exts[] = { ".rs", "/mod.rs" };

static const char *resolve_c(const struct import_index *ix, const char *from, const char *spec)
{
	char out[IMPORT_RESULT_MAX];
	const char *r;

	if (join_norm(from, dir_len(from), spec, out, sizeof(out)) &&
	    (r = lookup_path(ix, out, false, NULL)))
		return r;
	if (strstr(spec, ".."))
		return NULL;
	return by_suffix(ix, spec, from);
}

static const char *resolve_js(const struct import_index *ix, const char *from, const char *spec,
			      char *res)
{
	static const char *const js_exts[] = { "",	     ".ts",	  ".tsx",      ".js",
					       ".jsx",	     ".mjs",	  ".cjs",      "/index.ts",
					       "/index.tsx", "/index.js", "/index.jsx" };
	char out[IMPORT_RESULT_MAX];
	const char *r;

	if (!join_norm(from, dir_len(from), spec, out, sizeof(out)))
		return NULL;
	if ((r = resolve_exts(ix, out, js_exts, ARRAY_SIZE(js_exts))))
		return r;
	return lookup_path(ix, out, true, res);
}

/*
 * "..mod" in package a/b/: the module or package @rel below the @up-th
 * parent. Sets *@out_of_tree when the dots climb above the top.
 */
static const char *python_relative(const struct import_index *ix, const char *from, size_t up,
				   const char *rel, char *res, bool *out_of_tree)
{
	char base[IMPORT_PATH_MAX], out[IMPORT_RESULT_MAX];
	size_t bl = dir_len(from);
	const char *r;

	memcpy(base, from, bl);
	base[bl] = '\0';
	for (size_t k = 1; k < up; k++) {
		bl = dir_len(base);
		base[bl] = '\0';
	}
	if (!join_norm(base, bl, rel, out, sizeof(out))) {
		*out_of_tree = true;
		return NULL;
	}
	if ((r = resolve_exts(ix, out, py_exts, 2)) ||
	    (*rel && (r = lookup_path(ix, out, true, res))))
		return r;
	return NULL;
}

/* "a/b": a module or package from the top, a source root, or beside @from. */
static const char *python_absolute(const struct import_index *ix, const char *from, const char *rel,
				   char *res)
{
	static const char *const roots[] = { "", "src/", "lib/", "python/" };
	char out[IMPORT_RESULT_MAX];
	const char *r;

	for (size_t k = 0; k < ARRAY_SIZE(roots); k++) {
		snprintf(out, sizeof(out), "%s%s", roots[k], rel);
		if ((r = resolve_exts(ix, out, py_exts, 2)) ||
		    (r = lookup_path(ix, out, true, res)))
			return r;
	}
	/* a sibling module imported by its bare name */
	if (!strchr(rel, '/') && join_norm(from, dir_len(from), rel, out, sizeof(out)) &&
	    (r = resolve_exts(ix, out, py_exts, 2)))
		return r;
	return NULL;
}

static const char *resolve_python(const struct import_index *ix, const char *from,
				  enum import_kind kind, const char *spec, char *res)
{
	char rel[IMPORT_PATH_MAX];
	const char *s = spec, *r;
	size_t up = 0, o = 0;
	bool out_of_tree = false;

	while (*s == '.')
		up++, s++;
	for (; *s && o + 2 < sizeof(rel); s++)
		rel[o++] = *s == '.' ? '/' : *s;
	rel[o] = '\0';
	for (int tries = 0; tries < 2; tries++) {
		r = up ? python_relative(ix, from, up, rel, res, &out_of_tree)
		       : python_absolute(ix, from, rel, res);
		if (r || out_of_tree)
			return r;
		/* "from pkg import name": name may not be a module; try pkg */
		if (kind != IMPORT_PYTHON_FROM || !strchr(rel, '/'))
			break;
		rel[dir_len(rel)] = '\0';
		if (!*rel && !up)
			break;
	}
	return NULL;
}

static const char *resolve_go(const struct import_index *ix, const char *spec, char *res)
{
	const char *m = ix->go_module;
	size_t ml = m ? strlen(m) : 0;

	if (!m || strncmp(spec, m, ml) || spec[ml] != '/')
		return NULL;
	return lookup_path(ix, spec + ml + 1, true, res);
}

static const char *resolve_rust_mod(const struct import_index *ix, const char *from,
				    const char *spec)
{
	char out[IMPORT_RESULT_MAX];
	const char *b = base_name(from);
	size_t n = dir_len(from);

	/* mod x; in a/lib.rs, a/main.rs or a/mod.rs is a/x.rs; in a/y.rs it is a/y/x.rs */
	if (strcmp(b, "lib.rs") && strcmp(b, "main.rs") && strcmp(b, "mod.rs"))
		n = strlen(from) - 3;
	if (n + strlen(spec) + 2 >= sizeof(out))
		return NULL;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)n, from, n ? "/" : "", spec);
	return resolve_exts(ix, out, rs_exts, 2);
}

/* The crate root of @from: the nearest directory above with lib.rs or main.rs. */
static size_t rust_crate_root(const struct import_index *ix, const char *from, char *root)
{
	char out[IMPORT_RESULT_MAX];
	size_t n = dir_len(from);

	memcpy(root, from, n);
	root[n] = '\0';
	for (;;) {
		snprintf(out, sizeof(out), "%s%slib.rs", root, n ? "/" : "");
		if (lookup_path(ix, out, false, NULL))
			break;
		snprintf(out, sizeof(out), "%s%smain.rs", root, n ? "/" : "");
		if (lookup_path(ix, out, false, NULL) || n == 0)
			break;
		n = dir_len(root);
		root[n] = '\0';
	}
	return n;
}

static const char *resolve_rust_use(const struct import_index *ix, const char *from,
				    const char *spec, char *res)
{
	char root[IMPORT_PATH_MAX], rel[IMPORT_PATH_MAX], out[IMPORT_RESULT_MAX];
	size_t n = rust_crate_root(ix, from, root), o = 0;
	const char *s = spec, *r;

	for (; *s && o + 2 < sizeof(rel); s++) {
		if (s[0] == ':' && s[1] == ':') {
			rel[o++] = '/';
			s++;
		} else {
			rel[o++] = *s;
		}
	}
	rel[o] = '\0';
	while (*rel) {
		if (!join_norm(root, n, rel, out, sizeof(out)))
			return NULL;
		if ((r = resolve_exts(ix, out, rs_exts, 2)) ||
		    (r = lookup_path(ix, out, true, res)))
			return r;
		rel[dir_len(rel)] = '\0';
	}
	return NULL;
}

static const char *resolve_java(const struct import_index *ix, const char *from, const char *spec)
{
	char rel[IMPORT_PATH_MAX];
	const char *r;
	size_t o = 0;

	for (const char *s = spec; *s && o + 8 < sizeof(rel); s++)
		rel[o++] = *s == '.' ? '/' : *s;
	rel[o] = '\0';
	if (o > 2 && rel[o - 1] == '*')
		return NULL; /* package wildcards name no single file */
	for (int k = 0; k < 2 && *rel; k++) {
		strcat(rel, ".java");
		if ((r = by_suffix(ix, rel, from)))
			return r;
		rel[strlen(rel) - 5] = '\0';
		rel[dir_len(rel)] = '\0'; /* import static a.B.m: try a.B */
	}
	return NULL;
}

static const char *resolve_crate(const struct import_index *ix, const char *spec, char *res)
{
	for (size_t i = 0; i < ix->ncrates; i++)
		if (same_crate(ix->crates[i].name, spec))
			return lookup_path(ix, ix->crates[i].dir, true, res);
	return NULL;
}

static const char *resolve_dir(const struct import_index *ix, const char *from, const char *spec,
			       char *res)
{
	char out[IMPORT_RESULT_MAX];

	if (!join_norm(from, dir_len(from), spec, out, sizeof(out)) || !out[0])
		return NULL;
	return lookup_path(ix, out, true, res);
}

const char *import_resolve(const struct import_index *ix, const char *from, enum import_kind kind,
			   const char *spec, char *dir)
{
	if (strlen(from) > IMPORT_PATH_MAX)
		return NULL;
	switch (kind) {
	case IMPORT_C_INCLUDE:
		return resolve_c(ix, from, spec);
	case IMPORT_JS:
		return resolve_js(ix, from, spec, dir);
	case IMPORT_PYTHON:
	case IMPORT_PYTHON_FROM:
		return resolve_python(ix, from, kind, spec, dir);
	case IMPORT_GO:
		return resolve_go(ix, spec, dir);
	case IMPORT_RUST_MOD:
		return resolve_rust_mod(ix, from, spec);
	case IMPORT_RUST_USE:
		return resolve_rust_use(ix, from, spec, dir);
	case IMPORT_JAVA:
		return resolve_java(ix, from, spec);
	case IMPORT_RUST_CRATE:
		return resolve_crate(ix, spec, dir);
	case IMPORT_DIR:
		return resolve_dir(ix, from, spec, dir);
	}
	return NULL;
}

/* ---- manifests ------------------------------------------------------------------ */

/* The quoted value after "@key =" on the line at @l (up to @le), or NULL; its length in *@n. */
static const char *toml_string(const char *l, const char *le, const char *key, size_t *n)
{
	size_t kl = strlen(key);
	const char *p = l, *q;

	while ((p = memmem(p, (size_t)(le - p), key, kl))) {
		if ((p == l || strchr(" \t{,", p[-1])) && p + kl < le) {
			q = p + kl;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && *q == '=') {
				for (q++; q < le && (*q == ' ' || *q == '\t'); q++)
					;
				if (q < le && (*q == '"' || *q == '\'')) {
					const char *e = memchr(q + 1, *q, (size_t)(le - q - 1));

					if (e) {
						*n = (size_t)(e - q - 1);
						return q + 1;
					}
				}
			}
		}
		p += kl;
	}
	return NULL;
}

static void scan_cargo(const char *text, const char *end, const struct symbols_sink *sink,
		       char *crate, size_t cap)
{
	bool in_package = false;
	unsigned ln = 1;

	for (const char *l = text; l < end; ln++) {
		const char *le = memchr(l, '\n', (size_t)(end - l)), *v;
		size_t n;

		le = le ? le : end;
		if (*l == '[')
			in_package = (size_t)(le - l) >= 9 && !memcmp(l, "[package]", 9);
		else if (in_package && !crate[0] && (size_t)(le - l) > 4 && !memcmp(l, "name", 4) &&
			 (v = toml_string(l, le, "name", &n)) && n < cap) {
			memcpy(crate, v, n);
			crate[n] = '\0';
		}
		if ((v = toml_string(l, le, "path", &n)) && n > 0 && n < IMPORT_SPEC_MAX)
			sink->import(sink->ctx, ln, IMPORT_DIR, v, n);
		l = le + 1;
	}
}

static void scan_cmake(const char *text, const char *end, const struct symbols_sink *sink)
{
	unsigned ln = 1;

	for (const char *l = text; l < end; ln++) {
		const char *le = memchr(l, '\n', (size_t)(end - l)), *p = l;

		le = le ? le : end;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) > 17 && !strncasecmp(p, "add_subdirectory(", 17)) {
			const char *a = p + 17, *e;

			while (a < le && *a == ' ')
				a++;
			a += a < le && *a == '"';
			for (e = a; e < le && !strchr(" )\"", *e); e++)
				;
			if (e > a && !memchr(a, '$', (size_t)(e - a)) &&
			    (size_t)(e - a) < IMPORT_SPEC_MAX)
				sink->import(sink->ctx, ln, IMPORT_DIR, a, (size_t)(e - a));
		}
		l = le + 1;
	}
}

void imports_scan_manifest(const char *path, const char *text, size_t len,
			   const struct symbols_sink *sink, char *crate, size_t cap)
{
	const char *b = base_name(path);

	if (cap)
		crate[0] = '\0';
	if (!strcmp(b, "Cargo.toml") && cap)
		scan_cargo(text, text + len, sink, crate, cap);
	else if (!strcmp(b, "CMakeLists.txt"))
		scan_cmake(text, text + len, sink);
}
