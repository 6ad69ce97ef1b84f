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
#define MAX_RUN	     20

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

/*
 * The directories a Makefile's ".DEFAULT:" rule passes unknown targets on
 * to (its recipe runs $(MAKE) with $@): the words of the Makefile naming a
 * directory that holds a Makefile. Writes them; returns how many.
 */
static size_t make_forwards(struct md *m, const struct builtin_ctx *c, const char *text)
{
	const char *d = text ? strstr(text, "\n.DEFAULT:") : NULL, *end;
	char seen[5 * 260] = "";
	size_t n = 0;

	if (!d || !(end = strstr(d + 10, "\n\n")))
		end = d ? d + strlen(d) : NULL;
	if (!d || !memmem(d, (size_t)(end - d), "$@", 2) ||
	    (!memmem(d, (size_t)(end - d), "MAKE", 4) && !memmem(d, (size_t)(end - d), "make", 4)))
		return 0;
	for (const char *p = text; *p && n < 5;) {
		size_t k =
		    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./");
		char path[256];

		if (k && k < 200 && (p == text || !isalnum((unsigned char)p[-1]))) {
			snprintf(path, sizeof(path), "%.*s/Makefile", (int)k, p);
			if (facts_find_file(c->f, path) >= 0 && !strstr(seen, path)) {
				md_puts(m,
					n ? ", " : "`.DEFAULT` passes every other target on to ");
				md_code(m, path, 0);
				snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s\n",
					 path);
				n++;
			}
		}
		p += k ? k : 1;
	}
	if (n)
		md_puts(m, ".\n\n");
	return n;
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

static bool has_file(const struct builtin_ctx *c, const char *path)
{
	return facts_find_file(c->f, path) >= 0;
}

static bool mentions(const struct facts_manifest *mf, const char *needle)
{
	return mf && mf->text && strstr(mf->text, needle);
}

/* Python tests: tox when configured, pytest when anything names it, else unittest. */
static const char *python_test(const struct builtin_ctx *c)
{
	if (manifest(c, "tox.ini"))
		return "tox";
	if (mentions(manifest(c, "pyproject.toml"), "pytest") ||
	    mentions(manifest(c, "setup.cfg"), "pytest") || has_file(c, "pytest.ini") ||
	    has_file(c, "conftest.py") || has_file(c, "tests/conftest.py") ||
	    mentions(manifest(c, "requirements.txt"), "pytest"))
		return "python -m pytest";
	return "python -m unittest discover";
}

/* One build system found by manifest @mf: its section with the usual commands. */
static void build_system(struct md *m, const struct builtin_ctx *c,
			 const struct lang_build_system *b, const struct facts_manifest *mf)
{
	bool has_test = false, has_check = false, has_build = false;
	const char *test = b->test, *build = NULL;

	md_printf(m, "## %s\n\nFound ", b->name);
	md_code(m, mf->path, 0);
	md_puts(m, ".\n\n");
	if (!strcmp(b->name, "Make")) {
		bool fwd;

		make_targets(m, mf->text, &has_test, &has_check);
		fwd = make_forwards(m, c, mf->text) > 0;
		test = has_test || fwd ? "make test" : has_check ? "make check" : NULL;
	} else if (!strcmp(b->name, "Maven") && has_file(c, "mvnw")) {
		build = "./mvnw package";
		test = "./mvnw test";
	} else if (!strncmp(b->name, "Python", 6)) {
		test = python_test(c);
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
	} else if (build || b->build) {
		md_printf(m, "%s\n", build ? build : b->build);
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

/* ---- Run ---------------------------------------------------------------------- */

static void run_cmd(struct md *m, size_t *n, const char *what, const char *cmd, size_t len)
{
	if (*n >= MAX_RUN)
		return;
	md_puts(m, *n ? "" : "\n## Run\n\n");
	md_puts(m, "- ");
	md_text(m, what);
	md_puts(m, ": ");
	md_coden(m, cmd, len, 0);
	md_puts(m, "\n");
	(*n)++;
}

/* "@pre@a@post": @fmt is "pre%post", "%" standing for the @alen bytes at @a. */
static void run_cmdf(struct md *m, size_t *n, const char *what, const char *fmt, const char *a,
		     size_t alen)
{
	const char *pc = strchr(fmt, '%');
	char cmd[256];
	int len =
	    snprintf(cmd, sizeof(cmd), "%.*s%.*s%s", (int)(pc - fmt), fmt, (int)alen, a, pc + 1);

	if (len > 0 && (size_t)len < sizeof(cmd))
		run_cmd(m, n, what, cmd, (size_t)len);
}

/*
 * The values of key @key in TOML table @table ("[[bin]]", "[project.scripts]"
 * keys when @key is NULL), each handed to run_cmdf() with @fmt.
 */
static void toml_values(struct md *m, size_t *n, const char *text, const char *table,
			const char *key, const char *what, const char *fmt)
{
	for (const char *t = text; t && (t = strstr(t, table)); t += strlen(table)) {
		if (t != text && t[-1] != '\n')
			continue;
		for (const char *l = strchr(t, '\n'); l && l[1] && l[1] != '[';
		     l = strchr(l + 1, '\n')) {
			const char *k = l + 1, *eq = strchr(k, '='), *nl = strchr(k, '\n');
			size_t kl = strcspn(k, " =\t\n");

			if (!eq || (nl && eq > nl) || kl == 0)
				continue;
			if (key) {
				const char *q = strchr(eq, '"'),
					   *qe = q ? strchr(q + 1, '"') : NULL;

				if (kl == strlen(key) && !strncmp(k, key, kl) && qe &&
				    (!nl || qe < nl))
					run_cmdf(m, n, what, fmt, q + 1, (size_t)(qe - q - 1));
			} else if (k[0] != '#') {
				run_cmdf(m, n, what, fmt, k, kl);
			}
		}
	}
}

static void run_npm(struct md *m, size_t *n, const struct facts_manifest *mf)
{
	const char *end = NULL;
	cJSON *root = mf && mf->text ? cJSON_ParseWithOpts(mf->text, &end, 0) : NULL;
	cJSON *scripts, *bin, *it;

	if (!root)
		return;
	scripts = cJSON_GetObjectItemCaseSensitive(root, "scripts");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(scripts, "start")))
		run_cmd(m, n, "npm start script", "npm start", 9);
	bin = cJSON_GetObjectItemCaseSensitive(root, "bin");
	if (cJSON_IsString(bin))
		run_cmdf(m, n, "its program (package.json bin)", "node %", bin->valuestring,
			 strlen(bin->valuestring));
	if (cJSON_IsObject(bin))
		cJSON_ArrayForEach(it, bin) if (it->string && cJSON_IsString(it)) run_cmdf(
		    m, n, "a program (package.json bin)", "npx %", it->string, strlen(it->string));
	cJSON_Delete(root);
}

/* Go programs: package main directories under cmd/, or at the top. */
static void run_go(struct md *m, size_t *n, const struct builtin_ctx *c)
{
	size_t first, k = facts_dir_range(c->f, "cmd", &first);
	const char *last = NULL;
	size_t last_len = 0;

	if (has_file(c, "main.go"))
		run_cmd(m, n, "the program at the top", "go run .", 8);
	for (size_t i = first; i < first + k; i++) {
		const char *p = c->files[i].path + 4, *sl = strchr(p, '/');
		size_t dl = sl ? (size_t)(sl - p) : 0;

		if (!sl || strcmp(strrchr(p, '.') ? strrchr(p, '.') : "", ".go") ||
		    (last && dl == last_len && !strncmp(p, last, dl)))
			continue;
		last = p;
		last_len = dl;
		run_cmdf(m, n, "a program under cmd/", "go run ./cmd/%", p, dl);
	}
}

/* Workspace members with a program: "DIR/src/main.rs" beside "DIR/Cargo.toml". */
static void run_members(struct md *m, size_t *n, const struct builtin_ctx *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		const char *p = c->files[i].path, *s = strstr(p, "/src/main.rs");
		char toml[512];

		if (!s || s[12] || (size_t)(s - p) + 12 > sizeof(toml))
			continue;
		snprintf(toml, sizeof(toml), "%.*s/Cargo.toml", (int)(s - p), p);
		if (has_file(c, toml))
			run_cmdf(m, n, "a workspace member's program",
				 "cargo run --release --manifest-path % --", toml, strlen(toml));
	}
}

/* How to run what the repository builds, where its manifests say; how many ways. */
static size_t run_section(struct md *m, const struct builtin_ctx *c)
{
	const struct facts_manifest *cargo = manifest(c, "Cargo.toml"),
				    *py = manifest(c, "pyproject.toml"),
				    *pom = manifest(c, "pom.xml"),
				    *gradle = manifest(c, "build.gradle");
	static const char *const compose[] = { "compose.yaml", "compose.yml", "docker-compose.yml",
					       "docker-compose.yaml" };
	const char *mvn = has_file(c, "mvnw") ? "./mvnw" : "mvn";
	const char *gw = has_file(c, "gradlew") ? "./gradlew" : "gradle";
	size_t n = 0;

	if (!gradle)
		gradle = manifest(c, "build.gradle.kts");
	if (mentions(cargo, "\n[[bin]]"))
		toml_values(m, &n, cargo->text, "[[bin]]", "name", "a program (Cargo [[bin]])",
			    "cargo run --release --bin % --");
	else if (cargo && has_file(c, "src/main.rs"))
		run_cmd(m, &n, "the crate's program", "cargo run --release --", 23);
	if (cargo)
		run_members(m, &n, c);
	if (manifest(c, "go.mod"))
		run_go(m, &n, c);
	run_npm(m, &n, manifest(c, "package.json"));
	if (mentions(py, "[project.scripts]"))
		toml_values(m, &n, py->text, "[project.scripts]", NULL,
			    "a command it installs (pyproject scripts)", "%");
	if (mentions(pom, "spring-boot-maven-plugin"))
		run_cmdf(m, &n, "the Spring Boot application", "% spring-boot:run", mvn,
			 strlen(mvn));
	if (mentions(gradle, "org.springframework.boot"))
		run_cmdf(m, &n, "the Spring Boot application", "% bootRun", gw, strlen(gw));
	else if (mentions(gradle, "application"))
		run_cmdf(m, &n, "the application (Gradle application plugin)", "% run", gw,
			 strlen(gw));
	for (size_t i = 0; i < ARRAY_SIZE(compose); i++)
		if (manifest(c, compose[i])) {
			run_cmdf(m, &n, "the services (Docker Compose)", "docker compose -f % up",
				 compose[i], strlen(compose[i]));
			break;
		}
	if (manifest(c, "Dockerfile"))
		run_cmd(m, &n, "the container", "docker build -t app . && docker run --rm app", 44);
	return n;
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
	if (run_section(m, c))
		md_puts(m, "\n");
	test_dirs(m, c);
	ci_files(m, c);
	builtin_footer(m, c);
}
