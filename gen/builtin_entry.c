/* SPDX-License-Identifier: MIT */
/*
 * Entry points, ranked: what the build manifests declare (package.json
 * "bin" and "main", Cargo [[bin]] and src/main.rs, pyproject
 * [project.scripts], a Maven or Gradle main class) first, then `main`
 * functions of real programs (top level, src/, cmd/, bin/, apps/), then the
 * other `main`s and conventional main files. `main`s in tests, examples,
 * vendored code, documentation and configure probes are only counted. A
 * repository with no program is a library: its public API is listed
 * instead (public symbols of headers first, then of the other files).
 */
#include "builtin_int.h"
#include "lang.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_ENTRY_POINTS 25
#define MAX_API		 30

enum rank { R_DECLARED, R_PROGRAM, R_OTHER, R_AWAY, R_MAX };

struct entry {
	enum rank rank;
	const char *path;
	unsigned line;
	char what[200];
};

struct entries {
	struct entry e[MAX_ENTRY_POINTS * 2];
	size_t n, away;
};

static void add(struct entries *es, enum rank r, const char *path, unsigned line, const char *what)
{
	if (r == R_AWAY) {
		es->away++;
		return;
	}
	for (size_t i = 0; i < es->n; i++)
		if (!strcmp(es->e[i].path, path) && (es->e[i].line == line || !line))
			return; /* already there, ranked at least as well */
	if (es->n < ARRAY_SIZE(es->e)) {
		es->e[es->n] = (struct entry){ r, path, line, "" };
		snprintf(es->e[es->n].what, sizeof(es->e[es->n].what), "%s", what);
		es->n++;
	}
}

/* Code that is not the program itself. */
static bool away(const char *path)
{
	static const char *const dirs[] = { "vendor",	  "vendored", "third_party", "thirdparty",
					    "3rdparty",	  "deps",     "external",    "node_modules",
					    "example",	  "examples", "sample",	     "samples",
					    "demo",	  "demos",    "doc",	     "docs",
					    "benchmarks", "bench",    "fuzz",	     "contrib",
					    "CMakeFiles", "m4",	      "autoconf",    "testsuite" };
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	if (builtin_is_test_path(path) || !strncmp(b, "conftest", 8) ||
	    strstr(path, "CMakeFiles") || !strncmp(b, "Check", 5))
		return true;
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '/');

		if (!e)
			break;
		for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
			if (strlen(dirs[i]) == (size_t)(e - p) &&
			    !strncasecmp(p, dirs[i], (size_t)(e - p)))
				return true;
		p = e + 1;
	}
	return false;
}

/* A program's directory: the top level, src/, cmd/, bin/, app(s)/, tools/, programs/. */
static bool program_dir(const char *path)
{
	static const char *const tops[] = { "src/",  "cmd/",   "bin/",	    "app/",
					    "apps/", "tools/", "programs/", "lib/" };

	if (!strchr(path, '/'))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(tops); i++)
		if (!strncmp(path, tops[i], strlen(tops[i])))
			return true;
	return false;
}

static bool is_main(const struct facts_symbol *s)
{
	return !strcmp(s->name, "main") && strcmp(s->kind, "prototype") &&
	       (!s->scope || strcmp(s->kind, "variable"));
}

static const char *manifest(const struct builtin_ctx *c, const char *name)
{
	const struct facts_manifest *mm;
	size_t n = facts_manifests(c->f, &mm);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(mm[i].path, name))
			return mm[i].text;
	return NULL;
}

static void declared_file(struct entries *es, const struct builtin_ctx *c, const char *path,
			  const char *what)
{
	char p[1024];
	size_t l;

	snprintf(p, sizeof(p), "%s", path);
	l = strlen(p);
	while (!strncmp(p, "./", 2))
		memmove(p, p + 2, strlen(p + 2) + 1);
	if (facts_find_file(c->f, p) < 0 && l + 3 < sizeof(p) && !strchr(strrchr(p, '/') ?: p, '.'))
		strcat(p, ".js");
	{
		long i = facts_find_file(c->f, p);

		if (i >= 0)
			add(es, R_DECLARED, c->files[i].path, 0, what);
	}
}

static void from_package_json(struct entries *es, const struct builtin_ctx *c)
{
	const char *t = manifest(c, "package.json");
	cJSON *o = t ? cJSON_Parse(t) : NULL, *bin, *it;
	const char *main_ = NULL;

	if (!o)
		return;
	bin = cJSON_GetObjectItemCaseSensitive(o, "bin");
	if (cJSON_IsString(bin))
		declared_file(es, c, bin->valuestring, "package.json \"bin\"");
	if (cJSON_IsObject(bin))
		cJSON_ArrayForEach(it, bin) if (cJSON_IsString(it))
		    declared_file(es, c, it->valuestring, "package.json \"bin\"");
	it = cJSON_GetObjectItemCaseSensitive(o, "main");
	main_ = cJSON_IsString(it) ? it->valuestring : "index.js";
	declared_file(es, c, main_, "package.json \"main\"");
	cJSON_Delete(o);
}

/* The quoted value after "key" on a line of @t (TOML-ish), into @out. */
static bool toml_value(const char *line, const char *end, char *out, size_t n)
{
	const char *q = memchr(line, '"', (size_t)(end - line)), *e;

	if (!q || !(e = memchr(q + 1, '"', (size_t)(end - q - 1))) || (size_t)(e - q - 1) >= n)
		return false;
	memcpy(out, q + 1, (size_t)(e - q - 1));
	out[e - q - 1] = '\0';
	return true;
}

/* Cargo [[bin]] paths, pyproject [project.scripts] entries. */
static void from_toml(struct entries *es, const struct builtin_ctx *c)
{
	const char *t = manifest(c, "Cargo.toml"), *p;
	char v[512], what[600];
	bool in_bin = false, in_scripts = false;

	if (t && facts_find_file(c->f, "src/main.rs") >= 0)
		add(es, R_DECLARED, "src/main.rs", 0, "Cargo binary");
	for (p = t; p && *p;) {
		const char *e = strchrnul(p, '\n');

		if (*p == '[')
			in_bin = !strncmp(p, "[[bin]]", 7);
		else if (in_bin && !strncmp(p, "path", 4) && toml_value(p, e, v, sizeof(v)))
			declared_file(es, c, v, "Cargo [[bin]]");
		p = *e ? e + 1 : e;
	}
	t = manifest(c, "pyproject.toml");
	for (p = t; p && *p;) {
		const char *e = strchrnul(p, '\n');

		if (*p == '[')
			in_scripts = !strncmp(p, "[project.scripts]", 17) ||
				     !strncmp(p, "[tool.poetry.scripts]", 21);
		else if (in_scripts && *p != '#' && toml_value(p, e, v, sizeof(v))) {
			char mod[512], path[600], *colon = strchr(v, ':');

			if (colon)
				*colon = '\0';
			snprintf(mod, sizeof(mod), "%s", v);
			for (char *d = mod; *d; d++)
				*d = *d == '.' ? '/' : *d;
			snprintf(what, sizeof(what), "pyproject script (%.*s)",
				 (int)(strcspn(p, " =")), p);
			snprintf(path, sizeof(path), "%s.py", mod);
			if (facts_find_file(c->f, path) < 0)
				snprintf(path, sizeof(path), "src/%s.py", mod);
			if (facts_find_file(c->f, path) < 0)
				snprintf(path, sizeof(path), "%s/__main__.py", mod);
			declared_file(es, c, path, what);
		}
		p = *e ? e + 1 : e;
	}
}

/* Maven <mainClass>, Gradle mainClass / mainClassName: the class's file. */
static void from_jvm(struct entries *es, const struct builtin_ctx *c)
{
	static const char *const names[][2] = { { "pom.xml", "<mainClass>" },
						{ "build.gradle", "mainClass" },
						{ "build.gradle.kts", "mainClass" } };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const char *t = manifest(c, names[i][0]), *p = t ? strstr(t, names[i][1]) : NULL;
		char cls[512], suffix[600];
		size_t n = 0;

		if (!p)
			continue;
		p += strlen(names[i][1]);
		while (*p && strchr(" =:('\"Name", *p))
			p++;
		while (n + 1 < sizeof(cls) &&
		       (isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '_'))
			cls[n] = p[n] == '.' ? '/' : p[n], n++;
		cls[n] = '\0';
		if (!n)
			continue;
		snprintf(suffix, sizeof(suffix), "/%s.java", cls);
		for (size_t f = 0; f < c->nfiles; f++) {
			size_t pl = strlen(c->files[f].path), sl = strlen(suffix);

			if (pl > sl && !strcmp(c->files[f].path + pl - sl, suffix))
				add(es, R_DECLARED, c->files[f].path, 0, names[i][0]);
		}
	}
}

static void from_symbols(struct entries *es, const struct builtin_ctx *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		const struct facts_symbol *s;
		size_t ns = facts_file_symbols(c->f, i, &s);
		const char *path = c->files[i].path;

		for (size_t k = 0; k < ns; k++) {
			char what[300];

			if (!is_main(&s[k]))
				continue;
			snprintf(what, sizeof(what), "%s %s%s%s", s[k].kind, s[k].scope ?: "",
				 s[k].scope ? "." : "", s[k].name);
			add(es,
			    away(path)		? R_AWAY
			    : program_dir(path) ? R_PROGRAM
						: R_OTHER,
			    path, s[k].line, what);
		}
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* A library: its public API, headers first. */
static void library_api(struct md *m, const struct builtin_ctx *c)
{
	size_t shown = 0;

	md_puts(m, "No program entry point was found: this looks like a library. Its public API "
		   "(exported symbols, headers first):\n\n");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->nfiles && shown < MAX_API; i++) {
			const char *p = c->files[i].path, *d = strrchr(p, '.');
			bool hdr = d && d[1] == 'h';
			const struct facts_symbol *s;
			size_t ns = facts_file_symbols(c->f, i, &s);

			if (hdr != (pass == 0) || away(p))
				continue;
			for (size_t k = 0; k < ns && shown < MAX_API; k++) {
				if (!(s[k].flags & FACTS_SYM_PUBLIC) || !strcmp(s[k].kind, "macro"))
					continue;
				md_puts(m, "- ");
				md_text(m, s[k].kind);
				md_puts(m, " ");
				md_code(m, s[k].name, 0);
				md_puts(m, " in ");
				builtin_src_link(m, c, s[k].path, s[k].line);
				if (s[k].doc) {
					md_puts(m, ": ");
					md_text(m, s[k].doc);
				}
				md_puts(m, "\n");
				shown++;
			}
		}
	if (!shown)
		md_puts(m, "(no exported symbol was found)\n");
}

void builtin_entry_points(struct md *m, const struct builtin_ctx *c)
{
	struct entries *es = calloc(1, sizeof(*es));
	static const char *const label[] = { "declared by the build", "program", "other" };

	md_puts(m, "\n## Entry points\n\n");
	if (!es) {
		m->err = -ENOMEM;
		return;
	}
	from_package_json(es, c);
	from_toml(es, c);
	from_jvm(es, c);
	from_symbols(es, c);
	qsort(es->e, es->n, sizeof(es->e[0]), cmp_entry);
	for (size_t i = 0; i < es->n && i < MAX_ENTRY_POINTS; i++) {
		md_puts(m, "- ");
		md_text(m, es->e[i].what);
		md_puts(m, " — ");
		if (es->e[i].line)
			builtin_src_link(m, c, es->e[i].path, es->e[i].line);
		else
			md_code(m, es->e[i].path, 0);
		md_printf(m, " (%s)\n", label[es->e[i].rank]);
	}
	if (es->n > MAX_ENTRY_POINTS)
		md_printf(m, "- ... and %zu more\n", es->n - MAX_ENTRY_POINTS);
	if (es->n == 0)
		library_api(m, c);
	if (es->away)
		md_printf(m,
			  "\n%zu more `main` functions are in tests, examples, vendored code or "
			  "configure probes and are not listed.\n",
			  es->away);
	free(es);
}
