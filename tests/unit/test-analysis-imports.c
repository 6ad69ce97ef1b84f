/* SPDX-License-Identifier: MIT */
/*
 * analysis/imports and analysis/pathlist: import resolution and sorted-path
 * lookups on a plain path list, one language at a time.
 */
#include "imports.h"
#include "symbols.h"
#include "pathlist.h"
#include "tap.h"
#include "util.h"

/* Sorted by strcmp, as a tree gives them. */
static const char *const paths[] = {
	"app/__init__.py",
	"app/core.py",
	"app/sub/__init__.py",
	"app/sub/deep.py",
	"crate/src/lib.rs",
	"crate/src/net.rs",
	"crate/src/net/tcp.rs",
	"crate/src/parser/mod.rs",
	"include/util/buf.h",
	"java/com/acme/App.java",
	"java/com/acme/util/Helper.java",
	"nsp/mod.py",
	"pkg/a/a.go",
	"src/core/core.c",
	"src/core/core.h",
	"src/lib/buf.h",
	"src/net/net.c",
	"src/net/net.h",
	"src/pyroot/tool.py",
	"src2/x.c",
	"web/index.js",
	"web/lib/index.ts",
	"web/util.tsx",
};
#define NPATHS ARRAY_SIZE(paths)

static struct import_index *ix;
static char dir[IMPORT_RESULT_MAX];

/* The resolution as a string: the path, "dir:PATH" for a directory, "-" for none. */
static const char *res(const char *from, enum import_kind kind, const char *spec)
{
	static char out[IMPORT_RESULT_MAX + 8];
	const char *t = import_resolve(ix, from, kind, spec, dir);

	if (!t)
		return "-";
	if (t == dir) {
		snprintf(out, sizeof(out), "dir:%s", dir);
		return out;
	}
	/* a file must be the index's own pointer, so callers can keep it */
	for (size_t i = 0; i < NPATHS; i++)
		if (t == paths[i])
			return t;
	return "(not an index pointer)";
}

static void test_pathlist(void)
{
	size_t first = 99;

	is_int(pathlist_find(paths, NPATHS, "src/net/net.h"), 17, "find a path");
	is_int(pathlist_find(paths, NPATHS, "src/net"), -1, "a directory is not a file");
	is_int(pathlist_find(paths, NPATHS, "zzz"), -1, "absent");
	is_int(pathlist_dir_range(paths, NPATHS, "src", &first), 6, "src/ holds 6 files");
	is_int(first, 13, "from index 13");
	is_int(pathlist_dir_range(paths, NPATHS, "src/core", &first), 2, "src/core: 2");
	is_int(pathlist_dir_range(paths, NPATHS, "src2", &first), 1, "src2 is not src/");
	is_int(pathlist_dir_range(paths, NPATHS, "sr", &first), 0, "a name prefix is no directory");
	is_int(pathlist_dir_range(paths, NPATHS, "src/core/core.c", &first), 0,
	       "a file holds nothing");
	is_int(pathlist_dir_range(paths, NPATHS, "", &first), NPATHS, "\"\" is everything");
	is_int(first, 0, "from 0");
	is_int(pathlist_dir_range(paths, 0, "src", &first), 0, "empty list");
}

static void test_c(void)
{
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "net.h"), "src/net/net.h", "C: beside");
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "../core/core.h"), "src/core/core.h",
	       "C: relative");
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "core.h"), "src/core/core.h",
	       "C: by suffix anywhere");
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "buf.h"), "src/lib/buf.h",
	       "C: the nearest of two suffix matches");
	is_str(res("src2/x.c", IMPORT_C_INCLUDE, "util/buf.h"), "include/util/buf.h",
	       "C: suffix with a directory");
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "stdio.h"), "-", "C: system header");
	is_str(res("src/net/net.c", IMPORT_C_INCLUDE, "../../../core.h"), "-",
	       "C: \"..\" out of the tree is not searched by suffix");
}

static void test_python(void)
{
	is_str(res("app/core.py", IMPORT_PYTHON, "app.sub.deep"), "app/sub/deep.py",
	       "Python: module path");
	is_str(res("app/core.py", IMPORT_PYTHON, "app.sub"), "app/sub/__init__.py",
	       "Python: package");
	is_str(res("app/core.py", IMPORT_PYTHON, "pyroot.tool"), "src/pyroot/tool.py",
	       "Python: from the src/ source root");
	is_str(res("x.py", IMPORT_PYTHON, "core.core"), "-", "Python: unknown module");
	is_str(res("app/sub/deep.py", IMPORT_PYTHON_FROM, "..core"), "app/core.py",
	       "Python: relative with two dots");
	is_str(res("app/core.py", IMPORT_PYTHON_FROM, ".sub.missing_name"), "app/sub/__init__.py",
	       "Python: from .pkg import name falls back to pkg");
	is_str(res("app/core.py", IMPORT_PYTHON_FROM, "app.sub.missing_name"),
	       "app/sub/__init__.py", "Python: from pkg import name falls back to pkg");
	is_str(res("app/core.py", IMPORT_PYTHON, "app.sub.missing_name"), "-",
	       "Python: a plain import has no fallback");
	is_str(res("app/core.py", IMPORT_PYTHON, "nsp"), "dir:nsp",
	       "Python: a namespace package is a directory");
	is_str(res("app/core.py", IMPORT_PYTHON_FROM, "....x"), "-", "Python: dots above the top");
}

static void test_go_rust(void)
{
	is_str(res("pkg/a/a.go", IMPORT_GO, "example.com/demo/pkg/a"), "dir:pkg/a",
	       "Go: a package directory of the module");
	is_str(res("pkg/a/a.go", IMPORT_GO, "example.com/other/pkg/a"), "-", "Go: another module");
	is_str(res("pkg/a/a.go", IMPORT_GO, "example.com/demopkg/a"), "-",
	       "Go: the module path must end at a '/'");

	is_str(res("crate/src/lib.rs", IMPORT_RUST_MOD, "net"), "crate/src/net.rs",
	       "Rust: mod beside lib.rs");
	is_str(res("crate/src/lib.rs", IMPORT_RUST_MOD, "parser"), "crate/src/parser/mod.rs",
	       "Rust: mod as a directory");
	is_str(res("crate/src/net.rs", IMPORT_RUST_MOD, "tcp"), "crate/src/net/tcp.rs",
	       "Rust: mod below a non-root file");
	is_str(res("crate/src/net/tcp.rs", IMPORT_RUST_USE, "parser::Parser"),
	       "crate/src/parser/mod.rs", "Rust: crate path from the crate root");
	is_str(res("crate/src/net/tcp.rs", IMPORT_RUST_USE, "net::tcp::Conn"),
	       "crate/src/net/tcp.rs", "Rust: crate path to an item in a module");
}

static void test_js_java(void)
{
	is_str(res("web/index.js", IMPORT_JS, "./util"), "web/util.tsx", "JS: extension tried");
	is_str(res("web/index.js", IMPORT_JS, "./lib"), "web/lib/index.ts", "JS: index file");
	is_str(res("web/index.js", IMPORT_JS, "../../x"), "-", "JS: out of the tree");

	is_str(res("java/com/acme/App.java", IMPORT_JAVA, "com.acme.util.Helper"),
	       "java/com/acme/util/Helper.java", "Java: class by package suffix");
	is_str(res("java/com/acme/App.java", IMPORT_JAVA, "com.acme.util.Helper.go"),
	       "java/com/acme/util/Helper.java", "Java: static import of a member");
	is_str(res("java/com/acme/App.java", IMPORT_JAVA, "com.acme.util.*"), "-",
	       "Java: wildcards name no file");
}

struct got {
	char specs[8][64];
	size_t n;
};

static void got_import(void *ctx, unsigned line, enum import_kind kind, const char *spec,
		       size_t len)
{
	struct got *g = ctx;

	if (kind == IMPORT_DIR && g->n < 8)
		snprintf(g->specs[g->n++], sizeof(g->specs[0]), "%u:%.*s", line, (int)len, spec);
}

static void test_manifests(void)
{
	struct got g = { .n = 0 };
	const struct symbols_sink sink = { &g, NULL, got_import };
	char crate[64];
	const char *cargo = "[package]\nname = \"grep-matcher\"\nversion = \"1\"\n\n"
			    "[dependencies]\nnet = { version = \"1\", path = \"../net\" }\n"
			    "serde = \"1\"\n[dev-dependencies.util]\npath = 'util'\n";
	const char *cmake = "project(x)\nadd_subdirectory(lib)\n  ADD_SUBDIRECTORY( \"src\" )\n"
			    "add_subdirectory(${DIR})\n";

	imports_scan_manifest("crates/matcher/Cargo.toml", cargo, strlen(cargo), &sink, crate,
			      sizeof(crate));
	is_str(crate, "grep-matcher", "Cargo.toml: the [package] name");
	is_int((long)g.n, 2, "Cargo.toml: two path dependencies");
	is_str(g.n > 0 ? g.specs[0] : "", "6:../net", "an inline table's path, with its line");
	is_str(g.n > 1 ? g.specs[1] : "", "9:util", "a dependency table's path");
	g.n = 0;
	imports_scan_manifest("CMakeLists.txt", cmake, strlen(cmake), &sink, crate, sizeof(crate));
	is_int((long)g.n, 2, "CMake: add_subdirectory() twice, a variable skipped");
	is_str(g.n > 1 ? g.specs[1] : "", "3:src", "quoted, any case, with spaces");
	is_str(crate, "", "no crate in a CMakeLists.txt");

	is_str(res("crate/Cargo.toml", IMPORT_DIR, "src/parser"), "dir:crate/src/parser",
	       "a manifest's path: a directory beside it");
	is_str(res("crate/Cargo.toml", IMPORT_DIR, "../../x"), "-", "out of the tree");
	if (import_index_add_crate(ix, "my-crate", "crate") < 0)
		return;
	is_str(res("web/index.js", IMPORT_RUST_CRATE, "my_crate"), "dir:crate",
	       "use of a sibling crate: '-' and '_' are one");
	is_str(res("web/index.js", IMPORT_RUST_CRATE, "serde"), "-", "a crate from elsewhere");
}

static void test_bounds(void)
{
	char *from = malloc(IMPORT_PATH_MAX + 10);

	if (!from)
		return;
	memset(from, 'a', IMPORT_PATH_MAX + 9);
	from[IMPORT_PATH_MAX + 9] = '\0';
	is_str(res(from, IMPORT_RUST_USE, "net"), "-", "an over-long importer resolves nothing");
	memcpy(from, "src/", 4);
	from[IMPORT_PATH_MAX - 1] = '\0';
	is_str(res(from, IMPORT_C_INCLUDE, "core.h"), "src/core/core.h",
	       "a long importer still resolves");
	free(from);
}

int main(void)
{
	if (import_index_new(&ix, paths, NPATHS, "example.com/demo") < 0)
		skip_all("out of memory");
	test_pathlist();
	test_c();
	test_python();
	test_go_rust();
	test_js_java();
	test_manifests();
	test_bounds();
	import_index_free(ix);
	return done_testing();
}
