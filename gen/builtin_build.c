/* SPDX-License-Identifier: MIT */
/*
 * The Build and Test page: the build systems whose manifests sit at the top
 * level (from the shared table in analysis/lang.c) with their usual
 * commands, make targets and npm scripts, test directories and CI files.
 */
#include "builtin_int.h"
#include "lang.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <string.h>

#define MAX_CI_FILES 50
#define MAX_TARGETS  40

/* ---- Build and Test ------------------------------------------------------- */

static const struct facts_manifest *manifest(const struct builtin_ctx *c, const char *name)
{
	const struct facts_manifest *mf;
	size_t n = facts_manifests(c->f, &mf);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(mf[i].path, name))
			return &mf[i];
	return NULL;
}

/* Make targets: "name:" at the start of a line, not a variable or a special target. */
static size_t make_targets(struct md *m, const char *text, bool *has_test, bool *has_check)
{
	const char *p = text;
	size_t n = 0;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *le = nl ? nl : p + strlen(p);
		size_t k = 0;

		while (p + k < le && (isalnum((unsigned char)p[k]) || strchr("_-.", p[k])))
			k++;
		if (k && p[0] != '.' && p + k < le && p[k] == ':' &&
		    (p + k + 1 == le || p[k + 1] != '=')) {
			if (k == 4 && !strncmp(p, "test", 4))
				*has_test = true;
			if (k == 5 && !strncmp(p, "check", 5))
				*has_check = true;
			if (n < MAX_TARGETS) {
				md_puts(m, n ? ", " : "Targets: ");
				md_coden(m, p, k, 0);
			}
			n++;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (n > MAX_TARGETS)
		md_printf(m, " ... and %zu more", n - MAX_TARGETS);
	if (n)
		md_puts(m, ".\n\n");
	return n;
}

static void npm_scripts(struct md *m, const struct facts_manifest *mf, bool *has_test,
			bool *has_build)
{
	const char *end = NULL;
	cJSON *root, *scripts, *it;
	size_t n = 0;

	if (!mf->text)
		return;
	root = cJSON_ParseWithOpts(mf->text, &end, 0);
	if (!root)
		return;
	scripts = cJSON_GetObjectItemCaseSensitive(root, "scripts");
	cJSON_ArrayForEach(it, scripts)
	{
		if (!cJSON_IsString(it) || !it->string)
			continue;
		if (!strcmp(it->string, "test"))
			*has_test = true;
		if (!strcmp(it->string, "build"))
			*has_build = true;
		if (n < MAX_TARGETS) {
			md_puts(m, n ? "" : "Scripts:\n\n");
			md_puts(m, "- ");
			md_code(m, it->string, 0);
			md_puts(m, ": ");
			md_code(m, it->valuestring, 0);
			md_puts(m, "\n");
		}
		n++;
	}
	if (n > MAX_TARGETS)
		md_printf(m, "- ... and %zu more scripts\n", n - MAX_TARGETS);
	if (n)
		md_puts(m, "\n");
	cJSON_Delete(root);
}

static bool is_ci(const char *p)
{
	return ((lang_name_roles(p, false) | lang_path_roles(p)) & LANG_CI) != 0;
}

static bool is_test_dir(const char *name, size_t n)
{
	static const char *const names[] = { "test",	 "tests",      "t",
					     "spec",	 "testing",    "__tests__",
					     "testdata", "test-suite", "testsuite" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(name, names[i], n))
			return true;
	return false;
}

/* One build system found by manifest @mf: its section with the usual commands. */
static void build_system(struct md *m, const struct builtin_ctx *c,
			 const struct lang_build_system *b, const struct facts_manifest *mf)
{
	bool has_test = false, has_check = false, has_build = false;
	const char *test = b->test;

	md_printf(m, "## %s\n\nFound ", b->name);
	md_code(m, mf->path, 0);
	md_puts(m, ".\n\n");
	if (!strcmp(b->name, "Make")) {
		make_targets(m, mf->text, &has_test, &has_check);
		test = has_test ? "make test" : has_check ? "make check" : NULL;
	} else if (!strcmp(b->name, "npm (Node.js)")) {
		npm_scripts(m, mf, &has_test, &has_build);
		test = has_test ? "npm test" : NULL;
	} else if (!strcmp(b->name, "Go modules") && mf->text) {
		const char *t = strstr(mf->text, "module ");

		if (t && (t == mf->text || t[-1] == '\n')) {
			size_t n = strcspn(t + 7, " \t\r\n");

			md_puts(m, "Module path: ");
			md_coden(m, t + 7, n, 0);
			md_puts(m, ".\n\n");
		}
	}
	md_puts(m, "```sh\n");
	if (!strcmp(b->name, "Autotools"))
		md_puts(m, manifest(c, "autogen.sh") ? "./autogen.sh\n" : "autoreconf -fi\n");
	if (!strcmp(b->name, "Autotools"))
		md_puts(m, "./configure\nmake\n");
	if (!strcmp(b->name, "Gradle") && !manifest(c, "gradlew")) {
		md_puts(m, "gradle build\n");
		test = "gradle test";
	} else if (b->build) {
		md_printf(m, "%s\n", b->build);
	}
	if (has_build)
		md_puts(m, "npm run build\n");
	if (test)
		md_printf(m, "# tests\n%s\n", test);
	md_puts(m, "```\n\n");
}

/* The length of @p's test directory prefix (test/, src/tests/, ...), or 0. */
static size_t test_dir_len(const char *p)
{
	const char *s1 = strchr(p, '/'), *s2;

	if (!s1)
		return 0;
	if (is_test_dir(p, (size_t)(s1 - p)))
		return (size_t)(s1 - p);
	/* one level down: src/tests, pkg/test */
	s2 = strchr(s1 + 1, '/');
	if (!s2 || !is_test_dir(s1 + 1, (size_t)(s2 - s1 - 1)))
		return 0;
	return (size_t)(s2 - p);
}

static void test_dirs(struct md *m, const struct builtin_ctx *c)
{
	size_t tdirs = 0;

	md_puts(m, "## Tests\n\n");
	for (size_t i = 0; i < c->nfiles;) {
		const char *p = c->files[i].path;
		size_t j = i + 1, pl = test_dir_len(p);

		if (!pl) {
			i++;
			continue;
		}
		while (j < c->nfiles && !strncmp(c->files[j].path, p, pl + 1))
			j++;
		if (tdirs < 20) {
			_cleanup_free_ char *d = strndup(p, pl + 1);

			md_puts(m, "- ");
			md_code(m, d ? d : "?", 0);
			md_printf(m, ": %zu files\n", j - i);
		}
		tdirs++;
		i = j;
	}
	if (tdirs > 20)
		md_printf(m, "- ... and %zu more test directories\n", tdirs - 20);
	if (!tdirs)
		md_puts(m, "No test directory (test/, tests/, spec/, ...) was found.\n");
}

static void ci_files(struct md *m, const struct builtin_ctx *c)
{
	size_t ci = 0;

	md_puts(m, "\n## Continuous integration\n\n");
	for (size_t i = 0; i < c->nfiles; i++) {
		if (!is_ci(c->files[i].path))
			continue;
		if (ci < MAX_CI_FILES) {
			md_puts(m, "- ");
			md_code(m, c->files[i].path, 0);
			md_puts(m, "\n");
		}
		ci++;
	}
	if (ci > MAX_CI_FILES)
		md_printf(m, "- ... and %zu more\n", ci - MAX_CI_FILES);
	if (!ci)
		md_puts(m, "No CI configuration was found.\n");
}

void builtin_page_build(struct md *m, struct builtin_ctx *c)
{
	const struct lang_build_system *bsystems;
	size_t nbs = lang_build_systems(&bsystems), found = 0;

	builtin_header(m, c, c->req->page->title);
	md_puts(m, "Build systems are recognised from the manifests at the top level of the "
		   "repository; the commands are the usual ones for each system.\n\n");
	for (size_t s = 0; s < nbs; s++) {
		const struct lang_build_system *b = &bsystems[s];
		const struct facts_manifest *mf = NULL;

		for (size_t k = 0; k < ARRAY_SIZE(b->files) && b->files[k] && !mf; k++)
			mf = manifest(c, b->files[k]);
		if (!mf)
			continue;
		found++;
		build_system(m, c, b, mf);
	}
	if (!found)
		md_puts(m, "No build manifest was found at the top level.\n\n");
	test_dirs(m, c);
	ci_files(m, c);
	builtin_footer(m, c);
}
