/* SPDX-License-Identifier: MIT */
/*
 * analysis/xrepo: cross-repository facts on plain strings. A group of a Go
 * service, a JavaScript front end that calls it through its OpenAPI paths
 * and a shared library both depend on; then each manifest kind alone.
 */
#include "xrepo.h"
#include "tap.h"
#include "util.h"

#include <string.h>

static int add(struct xrepo *x, size_t i, const char *path, const char *text)
{
	return xrepo_add_file(x, i, path, text, strlen(text));
}

/* The edge @from @kind @to whose what is @what, or NULL. */
static const struct xrepo_edge *edge(const struct xrepo *x, size_t from, size_t to,
				     enum xrepo_edge_kind kind, const char *what)
{
	const struct xrepo_edge *e;
	size_t n = xrepo_edges(x, &e);

	for (size_t i = 0; i < n; i++)
		if (e[i].from == from && e[i].to == to && e[i].kind == kind &&
		    (!what || !strcmp(e[i].what, what)))
			return &e[i];
	return NULL;
}

static const char openapi[] = "openapi: 3.0.0\n"
			      "info:\n"
			      "  title: Users API\n"
			      "paths:\n"
			      "  /users:\n"
			      "    get:\n"
			      "      summary: list\n"
			      "  \"/users/{id}\":\n"
			      "    get:\n"
			      "      summary: one\n"
			      "  /health:\n"
			      "    get: {}\n"
			      "components:\n"
			      "  schemas: {}\n";

static void test_group(void)
{
	struct xrepo *x;
	const struct xrepo_edge *e;
	const struct xrepo_contract *c;
	struct buf d;

	ok(xrepo_new(&x, 3) == 0, "new");
	ok(xrepo_member_set(x, 0, "acme/service", "git://h/acme/service", "Go") == 0 &&
	       xrepo_member_set(x, 1, "acme/web", "git://h/acme/web", "JavaScript") == 0 &&
	       xrepo_member_set(x, 2, "acme/shared", "git://h/acme/shared", "Go") == 0,
	   "members");
	ok(xrepo_wants("go.mod") && xrepo_wants("api/openapi.yaml") && xrepo_wants("README.md") &&
	       !xrepo_wants("docs/README.md") && xrepo_wants("package.json") &&
	       !xrepo_wants("node_modules/x/package.json"),
	   "xrepo_wants picks manifests, contracts and the top README");
	ok(xrepo_wants_source("src/api.js") && !xrepo_wants_source("dist/app.js") &&
	       !xrepo_wants_source("README.md"),
	   "xrepo_wants_source picks sources");
	add(x, 0, "go.mod",
	    "module example.com/acme/service\n\ngo 1.21\n\nrequire (\n\texample.com/acme/shared "
	    "v0.1.0\n\tgithub.com/x/y v1.0.0 // indirect\n)\n\nreplace example.com/acme/shared "
	    "=> ../shared\n");
	add(x, 0, "api/openapi.yaml", openapi);
	add(x, 0, "README.md",
	    "# Service\n\n[![CI](https://x/badge.svg)](https://x)\n\nThe **users** service, "
	    "see [docs](docs/x.md).\nIt serves JSON.\n\n## Build\n");
	add(x, 1, "package.json",
	    "{\n  \"name\": \"@acme/web\",\n  \"version\": \"1.0.0\",\n  \"scripts\": {\"test\": "
	    "\"node t.js\"},\n  \"dependencies\": {\n    \"@acme/shared\": \"file:../shared\",\n  "
	    "  \"left-pad\": \"^1\"\n  },\n  \"devDependencies\": {\"nested\": {\"name\": "
	    "\"trap\"}}\n}\n");
	add(x, 1, "src/api.js",
	    "export const list = () => fetch('/users');\n"
	    "export const one = (id) => fetch(`/users/${id}`);\n"
	    "const img = \"/static/logo.png\";\n");
	add(x, 2, "go.mod", "module example.com/acme/shared\n\ngo 1.21\n");
	add(x, 2, "package.json", "{\"name\": \"@acme/shared\", \"main\": \"index.js\"}");
	ok(xrepo_finish(x) == 0, "finish");

	e = edge(x, 0, 2, XREPO_DEPENDS, "go module example.com/acme/shared");
	ok(e && !strcmp(e->from_path, "go.mod") && !strcmp(e->to_path, "go.mod"),
	   "service depends on shared through go.mod");
	ok(edge(x, 1, 2, XREPO_DEPENDS, "npm package @acme/shared") != NULL,
	   "web depends on shared through package.json");
	e = edge(x, 1, 0, XREPO_CALLS, "/users/{id}");
	ok(e && !strcmp(e->from_path, "src/api.js") && !strcmp(e->to_path, "api/openapi.yaml"),
	   "web calls /users/{id} of the service's OpenAPI, from src/api.js");
	ok(edge(x, 1, 0, XREPO_CALLS, "/users") != NULL, "web calls /users");
	ok(!edge(x, 1, 0, XREPO_CALLS, "/health"), "an unused path makes no edge");
	ok(!edge(x, 2, 0, XREPO_DEPENDS, NULL) && !edge(x, 0, 1, XREPO_DEPENDS, NULL),
	   "no edge that is not there");
	ok(!edge(x, 1, 2, XREPO_DEPENDS, "npm package trap"), "a nested name is not a dependency");
	ok(xrepo_related(x, 0, 1) && xrepo_related(x, 1, 0) && xrepo_related(x, 0, 2),
	   "related pairs");
	is_int(xrepo_contracts(x, &c), 1, "one contract");
	ok(!strcmp(c[0].kind, "OpenAPI") && !strcmp(c[0].title, "Users API") &&
	       c[0].noperations == 3,
	   "the OpenAPI contract: title and three paths");
	is_str(xrepo_member(x, 0)->summary, "The users service, see docs. It serves JSON.",
	       "README summary: badges dropped, links and emphasis reduced to text");
	is_str(xrepo_member(x, 1)->identities[0], "npm package @acme/web", "web's identity");

	buf_init(&d, 1 << 20);
	ok(xrepo_describe(x, XREPO_PAGE_PAIR, 0, 1, &d) == 0 &&
	       strstr(buf_str(&d), "/users/{id}") && !strstr(buf_str(&d), "acme/shared\n"),
	   "the pair page shows the calls and not the third member");
	buf_reset(&d);
	ok(xrepo_describe(x, XREPO_PAGE_HOME, 0, 0, &d) == 0 && !strstr(buf_str(&d), "edge ") &&
	       !strstr(buf_str(&d), "/users") &&
	       strstr(buf_str(&d), "relation acme/web calls acme/service\n") &&
	       strstr(buf_str(&d), "The users service"),
	   "Home shows members and which relate, not what they call");
	buf_done(&d);
	xrepo_unref(x);
}

static void test_other_ecosystems(void)
{
	struct xrepo *x;

	ok(xrepo_new(&x, 4) == 0, "new");
	xrepo_member_set(x, 0, "app", "u0", "");
	xrepo_member_set(x, 1, "core", "u1", "");
	xrepo_member_set(x, 2, "jlib", "u2", "");
	xrepo_member_set(x, 3, "deploy", "u3", "");
	add(x, 0, "Cargo.toml",
	    "[package]\nname = \"app\"\n\n[dependencies]\ncore-lib = { path = \"../core\" }\n"
	    "serde = \"1\"\n\n[dependencies.renamed]\npackage = \"x\"\n");
	add(x, 1, "Cargo.toml", "[package]\nname = \"core-lib\"\nversion = \"0.1.0\"\n");
	add(x, 2, "pom.xml",
	    "<project><parent><groupId>org.parent</groupId><artifactId>p</artifactId></parent>"
	    "<groupId>org.acme</groupId><artifactId>jlib</artifactId></project>");
	add(x, 0, "build.gradle",
	    "dependencies {\n  implementation 'org.acme:jlib:1.0'\n  testImplementation "
	    "\"junit:junit:4\"\n}\n");
	add(x, 3, "docker-compose.yml",
	    "version: '3'\nservices:\n  api:\n    build: ../app\n    depends_on:\n      - db\n"
	    "  db:\n    image: registry.local/core:15\n");
	add(x, 3, ".gitmodules",
	    "[submodule \"core\"]\n\tpath = core\n\turl = https://h/o/core.git\n");
	ok(xrepo_finish(x) == 0, "finish");
	ok(edge(x, 0, 1, XREPO_DEPENDS, "crate core-lib") != NULL, "Cargo path dependency");
	ok(edge(x, 0, 2, XREPO_DEPENDS, "maven artifact org.acme:jlib") != NULL,
	   "Gradle dependency on a Maven artifact (groupId not the parent's)");
	ok(edge(x, 3, 0, XREPO_RUNS, "service api") != NULL, "compose builds app");
	ok(edge(x, 3, 1, XREPO_RUNS, "service db") != NULL, "compose runs core's image");
	ok(edge(x, 0, 1, XREPO_DEPENDS, "service api depends on db") != NULL,
	   "compose depends_on between members");
	ok(edge(x, 3, 1, XREPO_SUBMODULE, NULL) != NULL, "submodule");
	xrepo_unref(x);
}

static void test_hostile(void)
{
	static const char *const junk[] = { "{{{{{{{{{{{{{{{{{{{{{{\"a\":",
					    "\"\\",
					    "[dependencies.",
					    "<dependency><groupId>",
					    "services:\n  x:\n    build:",
					    "paths:\n  /a",
					    "" };
	struct xrepo *x;
	const char *const names[] = { "package.json", "go.mod",	      "Cargo.toml", "pom.xml",
				      "compose.yaml", "openapi.yaml", "a.js" };

	ok(xrepo_new(&x, 2) == 0, "new");
	xrepo_member_set(x, 0, "a", "", "");
	xrepo_member_set(x, 1, "b", "", "");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		for (size_t j = 0; j < ARRAY_SIZE(junk); j++)
			ok(add(x, i % 2, names[i], junk[j]) == 0, "%s: truncated input %zu",
			   names[i], j);
	ok(xrepo_finish(x) == 0, "finish after junk");
	xrepo_unref(x);
	ok(xrepo_new(&x, 0) < 0 && xrepo_new(&x, XREPO_MAX_MEMBERS + 1) < 0, "bad sizes refused");
	xrepo_unref(NULL);
}

int main(void)
{
	test_group();
	test_other_ecosystems();
	test_hostile();
	return done_testing();
}
