/* SPDX-License-Identifier: MIT */
/*
 * The tables behind lang.h. Languages are known by extension (compared
 * ignoring case) or by whole file name (compared exactly); a file without
 * either may still name its interpreter on a "#!" line.
 *
 * Project files live in one table, project_files[], each entry with the
 * roles it plays. An entry is a file name, a directory prefix (ending in
 * '/': everything below it) or an extension ("*.mk"). The lists the
 * consumers used to keep apart (the manifests kept by repository facts, the
 * ones a prompt shows first, the build and CI files) are the roles of one
 * entry, so a new manifest is added in one place. The tables are small
 * (about a hundred entries): a linear scan costs less than a page write.
 */
#include "lang.h"
#include "util.h"

#include <string.h>
#include <strings.h>

struct lang_ext {
	const char *ext; /* with the dot, or a whole file name */
	const char *lang;
};

static const struct lang_ext lang_exts[] = {
	{ ".c", "C" },
	{ ".h", "C" },
	{ ".cc", "C++" },
	{ ".cpp", "C++" },
	{ ".cxx", "C++" },
	{ ".c++", "C++" },
	{ ".hh", "C++" },
	{ ".hpp", "C++" },
	{ ".hxx", "C++" },
	{ ".ipp", "C++" },
	{ ".m", "Objective-C" },
	{ ".mm", "Objective-C" },
	{ ".py", "Python" },
	{ ".pyi", "Python" },
	{ ".go", "Go" },
	{ ".rs", "Rust" },
	{ ".js", "JavaScript" },
	{ ".mjs", "JavaScript" },
	{ ".cjs", "JavaScript" },
	{ ".jsx", "JavaScript" },
	{ ".ts", "TypeScript" },
	{ ".tsx", "TypeScript" },
	{ ".mts", "TypeScript" },
	{ ".java", "Java" },
	{ ".kt", "Kotlin" },
	{ ".kts", "Kotlin" },
	{ ".scala", "Scala" },
	{ ".cs", "C#" },
	{ ".rb", "Ruby" },
	{ ".php", "PHP" },
	{ ".sh", "Shell" },
	{ ".bash", "Shell" },
	{ ".zsh", "Shell" },
	{ ".swift", "Swift" },
	{ ".lua", "Lua" },
	{ ".pl", "Perl" },
	{ ".pm", "Perl" },
	{ ".hs", "Haskell" },
	{ ".ml", "OCaml" },
	{ ".mli", "OCaml" },
	{ ".ex", "Elixir" },
	{ ".exs", "Elixir" },
	{ ".erl", "Erlang" },
	{ ".zig", "Zig" },
	{ ".nim", "Nim" },
	{ ".dart", "Dart" },
	{ ".r", "R" },
	{ ".jl", "Julia" },
	{ ".clj", "Clojure" },
	{ ".s", "Assembly" },
	{ ".asm", "Assembly" },
	{ ".vue", "Vue" },
	{ ".svelte", "Svelte" },
	{ ".f90", "Fortran" },
	{ ".sql", "SQL" },
	{ ".tcl", "Tcl" },
	{ ".groovy", "Groovy" },
	{ ".gradle", "Groovy" },
	{ ".ps1", "PowerShell" },
	{ ".m4", "M4" },
	{ ".ac", "Autoconf" },
	{ ".am", "Automake" },
	{ ".meson", "Meson" },
	{ ".bzl", "Starlark" },
	{ ".md", "Markdown" },
	{ ".markdown", "Markdown" },
	{ ".rst", "reStructuredText" },
	{ ".txt", "Text" },
	{ ".adoc", "AsciiDoc" },
	{ ".html", "HTML" },
	{ ".htm", "HTML" },
	{ ".css", "CSS" },
	{ ".scss", "CSS" },
	{ ".json", "JSON" },
	{ ".yml", "YAML" },
	{ ".yaml", "YAML" },
	{ ".toml", "TOML" },
	{ ".xml", "XML" },
	{ ".ini", "INI" },
	{ ".cmake", "CMake" },
	{ ".mk", "Makefile" },
	{ ".proto", "Protocol Buffers" },
	{ "Makefile", "Makefile" },
	{ "GNUmakefile", "Makefile" },
	{ "makefile", "Makefile" },
	{ "CMakeLists.txt", "CMake" },
	{ "meson.build", "Meson" },
	{ "meson_options.txt", "Meson" },
	{ "meson.options", "Meson" },
	{ "Dockerfile", "Dockerfile" },
	{ "configure.ac", "Autoconf" },
	{ "Makefile.am", "Automake" },
};

static const char *const code_langs[] = {
	"C",	      "C++",	    "Objective-C", "Python",  "Go",	  "Rust",
	"JavaScript", "TypeScript", "Java",	   "Kotlin",  "Scala",	  "C#",
	"Ruby",	      "PHP",	    "Shell",	   "Swift",   "Lua",	  "Perl",
	"Haskell",    "OCaml",	    "Elixir",	   "Erlang",  "Zig",	  "Nim",
	"Dart",	      "R",	    "Julia",	   "Clojure", "Assembly", "Vue",
	"Svelte",     "Fortran",    "SQL",	   "Tcl",     "Groovy",	  "PowerShell",
};

/* Extensions of files that are binary without looking (never loaded). */
static const char *const binary_exts[] = {
	".png", ".jpg", ".jpeg", ".gif", ".ico",   ".bmp",  ".webp",  ".pdf",	".zip",
	".gz",	".tgz", ".xz",	 ".bz2", ".zst",   ".7z",   ".jar",   ".class", ".o",
	".a",	".so",	".dll",	 ".exe", ".dylib", ".woff", ".woff2", ".ttf",	".otf",
	".mp3", ".mp4", ".wav",	 ".ogg", ".mov",   ".avi",  ".bin",   ".pyc",	".wasm",
};

#define M  LANG_MANIFEST
#define K  LANG_KEY_MANIFEST
#define B  LANG_BUILD
#define CI LANG_CI

/* Names; "dir/" a directory prefix; "*.ext" an extension. */
static const struct project_file {
	const char *name;
	unsigned roles;
} project_files[] = {
	{ "meson.build", M | K },
	{ "meson_options.txt", K },
	{ "CMakeLists.txt", M | K },
	{ "Makefile", M | K },
	{ "GNUmakefile", M | K },
	{ "makefile", M },
	{ "configure.ac", M | K },
	{ "configure.in", M },
	{ "configure", M },
	{ "autogen.sh", M },
	{ "bootstrap", M },
	{ "Makefile.am", M | B },
	{ "Cargo.toml", M | K },
	{ "go.mod", M | K },
	{ "package.json", M | K },
	{ "pyproject.toml", M | K },
	{ "setup.py", M | K },
	{ "setup.cfg", M | K },
	{ "requirements.txt", M },
	{ "tox.ini", M | B },
	{ "noxfile.py", M | B },
	{ "pom.xml", M | K },
	{ "build.gradle", M | K },
	{ "build.gradle.kts", M | K },
	{ "settings.gradle", M },
	{ "gradlew", M },
	{ "build.xml", M },
	{ "SConstruct", M },
	{ "BUILD", M },
	{ "BUILD.bazel", M | K },
	{ "WORKSPACE", M | K },
	{ "MODULE.bazel", M },
	{ "Gemfile", M | K },
	{ "Rakefile", M },
	{ "composer.json", M | K },
	{ "mix.exs", M | K },
	{ "stack.yaml", M | K },
	{ "dune-project", M },
	{ "Package.swift", M | K },
	{ "build.zig", M | K },
	{ "Justfile", M | B },
	{ "justfile", M },
	{ "Taskfile.yml", M | B },
	{ "Dockerfile", M | B },
	{ "docker-compose.yml", M | B },
	{ "docker-compose.yaml", M | B },
	{ "compose.yaml", M | B },
	{ "compose.yml", M | B },
	{ "mvnw", M },
	{ "pytest.ini", M | B },
	{ "conftest.py", M | B },
	{ "flake.nix", M },
	{ "default.nix", M },
	{ "deno.json", M | K },
	{ "pnpm-workspace.yaml", M },
	{ "Pipfile", M },
	{ "Vagrantfile", B },
	{ "*.mk", B },
	{ "*.cmake", B },
	{ ".gitlab-ci.yml", B | CI },
	{ ".travis.yml", B | CI },
	{ "azure-pipelines.yml", B | CI },
	{ "Jenkinsfile", CI },
	{ ".cirrus.yml", CI },
	{ "appveyor.yml", CI },
	{ ".appveyor.yml", CI },
	{ ".drone.yml", CI },
	{ "bitbucket-pipelines.yml", CI },
	{ ".woodpecker.yml", CI },
	{ ".github/workflows/", B | CI },
	{ ".circleci/", CI },
	{ ".builds/", CI },
	{ ".woodpecker/", CI },
	{ ".gitlab/ci/", CI },
};

#undef M
#undef K
#undef B
#undef CI

static const struct lang_build_system build_systems[] = {
	{ "Meson", { "meson.build" }, "meson setup build\nninja -C build", "meson test -C build" },
	{ "CMake",
	  { "CMakeLists.txt" },
	  "cmake -S . -B build\ncmake --build build",
	  "ctest --test-dir build" },
	{ "Autotools", { "configure.ac", "configure.in" }, NULL, "make check" },
	{ "Make", { "Makefile", "GNUmakefile", "makefile" }, "make", NULL },
	{ "Cargo (Rust)", { "Cargo.toml" }, "cargo build --release", "cargo test" },
	{ "Go modules", { "go.mod" }, "go build ./...", "go test ./..." },
	{ "npm (Node.js)", { "package.json" }, "npm install", NULL },
	{ "Python (pyproject)",
	  { "pyproject.toml" },
	  "python -m pip install -e .",
	  "python -m pytest" },
	{ "Python (setuptools)",
	  { "setup.py", "setup.cfg" },
	  "python -m pip install .",
	  "python -m pytest" },
	{ "pip requirements",
	  { "requirements.txt" },
	  "python -m pip install -r requirements.txt",
	  NULL },
	{ "tox", { "tox.ini" }, NULL, "tox" },
	{ "nox", { "noxfile.py" }, NULL, "nox" },
	{ "Maven", { "pom.xml" }, "mvn package", "mvn test" },
	{ "Gradle",
	  { "build.gradle", "build.gradle.kts", "settings.gradle" },
	  "./gradlew build",
	  "./gradlew test" },
	{ "Ant", { "build.xml" }, "ant", NULL },
	{ "Bazel",
	  { "MODULE.bazel", "WORKSPACE", "BUILD.bazel", "BUILD" },
	  "bazel build //...",
	  "bazel test //..." },
	{ "SCons", { "SConstruct" }, "scons", NULL },
	{ "Bundler (Ruby)", { "Gemfile" }, "bundle install", "bundle exec rake test" },
	{ "Rake", { "Rakefile" }, "rake", "rake test" },
	{ "Composer (PHP)", { "composer.json" }, "composer install", "composer test" },
	{ "Mix (Elixir)", { "mix.exs" }, "mix deps.get\nmix compile", "mix test" },
	{ "Stack (Haskell)", { "stack.yaml" }, "stack build", "stack test" },
	{ "Dune (OCaml)", { "dune-project" }, "dune build", "dune test" },
	{ "Swift Package Manager", { "Package.swift" }, "swift build", "swift test" },
	{ "Zig", { "build.zig" }, "zig build", "zig build test" },
	{ "just", { "Justfile", "justfile" }, "just --list", NULL },
	{ "Task", { "Taskfile.yml" }, "task --list", NULL },
	{ "Nix", { "flake.nix", "default.nix" }, "nix build", "nix flake check" },
	{ "Deno", { "deno.json" }, "deno task", "deno test" },
	{ "Docker", { "Dockerfile" }, "docker build -t image .", NULL },
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The extension of @path's last component ("." included), or NULL. */
static const char *ext_of(const char *path)
{
	const char *b = base_name(path), *d = strrchr(b, '.');

	return d && d != b ? d : NULL;
}

const char *lang_of_path(const char *path)
{
	const char *b = base_name(path), *e = ext_of(path);

	for (size_t i = 0; i < ARRAY_SIZE(lang_exts); i++) {
		const char *x = lang_exts[i].ext;

		if (x[0] == '.' ? e && !strcasecmp(e, x) : !strcmp(b, x))
			return lang_exts[i].lang;
	}
	return NULL;
}

bool lang_is_code(const char *lang)
{
	if (!lang)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(code_langs); i++)
		if (!strcmp(lang, code_langs[i]))
			return true;
	return false;
}

bool lang_is_binary_name(const char *path)
{
	const char *e = ext_of(path);

	for (size_t i = 0; e && i < ARRAY_SIZE(binary_exts); i++)
		if (!strcasecmp(e, binary_exts[i]))
			return true;
	return false;
}

const char *lang_of_shebang(const char *p, size_t n)
{
	size_t len = 0;

	if (n < 3 || p[0] != '#' || p[1] != '!')
		return NULL;
	while (len < n && len < 200 && p[len] != '\n')
		len++;
	if (memmem(p, len, "python", 6))
		return "Python";
	if (memmem(p, len, "bash", 4) || memmem(p, len, "/sh", 3) || memmem(p, len, " sh", 3))
		return "Shell";
	if (memmem(p, len, "node", 4))
		return "JavaScript";
	if (memmem(p, len, "perl", 4))
		return "Perl";
	if (memmem(p, len, "ruby", 4))
		return "Ruby";
	return NULL;
}

static bool is_pattern(const char *name)
{
	size_t n = strlen(name);

	return name[0] == '*' || name[n - 1] == '/';
}

unsigned lang_name_roles(const char *name, bool nocase)
{
	unsigned roles = 0;

	for (size_t i = 0; i < ARRAY_SIZE(project_files); i++) {
		const char *x = project_files[i].name;

		if (!is_pattern(x) && !(nocase ? strcasecmp(name, x) : strcmp(name, x)))
			roles |= project_files[i].roles;
	}
	return roles;
}

unsigned lang_path_roles(const char *path)
{
	const char *b = base_name(path);
	size_t bl = strlen(b);
	unsigned roles = 0;

	for (size_t i = 0; i < ARRAY_SIZE(project_files); i++) {
		const char *x = project_files[i].name;
		size_t xl = strlen(x);

		/* "*.mk" needs a name before the dot: ".mk" alone is no makefile */
		if (x[0] == '*' ? bl > xl - 1 && !strcmp(b + bl - (xl - 1), x + 1)
				: x[xl - 1] == '/' && !strncmp(path, x, xl))
			roles |= project_files[i].roles;
	}
	return roles;
}

size_t lang_build_systems(const struct lang_build_system **ret)
{
	*ret = build_systems;
	return ARRAY_SIZE(build_systems);
}
