/* SPDX-License-Identifier: MIT */
/*
 * analysis/lang: languages by name and by "#!" line, and the one table of
 * project files and build systems, on plain strings.
 */
#include "lang.h"
#include "tap.h"
#include "util.h"

static void test_languages(void)
{
	is_str(lang_of_path("src/core/a.c"), "C", "a .c file is C");
	is_str(lang_of_path("X.H"), "C", "extensions ignore case");
	is_str(lang_of_path("lib/x.tsx"), "TypeScript", "tsx is TypeScript");
	is_str(lang_of_path("sub/dir/Makefile"), "Makefile", "a whole name in a directory");
	ok(lang_of_path("MAKEFILE") == NULL, "whole names are compared exactly");
	ok(lang_of_path(".c") == NULL, "a leading dot is no extension");
	ok(lang_of_path("a.c/README") == NULL, "only the last component counts");
	ok(lang_of_path("archive.tar.gz") == NULL, "unknown extension");

	is_str(lang_of_shebang("#!/usr/bin/env python3\nimport os\n", 30), "Python",
	       "env python shebang");
	is_str(lang_of_shebang("#!/bin/sh\n", 10), "Shell", "sh shebang");
	ok(lang_of_shebang("#!/bin/x\npython\n", 16) == NULL, "only the first line counts");
	ok(lang_of_shebang("#!/usr/bin/python", 5) == NULL, "only the bytes given count");
	ok(lang_of_shebang("# python", 8) == NULL, "a comment is no shebang");

	ok(lang_is_code("C") && lang_is_code("Shell") && lang_is_code("SQL"), "code languages");
	ok(!lang_is_code("Markdown") && !lang_is_code("YAML") && !lang_is_code(NULL),
	   "markup, data and NULL are not code");
	ok(lang_is_binary_name("img/logo.PNG") && lang_is_binary_name("a.woff2"),
	   "binary by extension");
	ok(!lang_is_binary_name("png") && !lang_is_binary_name("src/a.c"), "not binary");
}

static void test_roles(void)
{
	unsigned r;

	r = lang_name_roles("meson.build", false);
	ok(r & LANG_MANIFEST && r & LANG_KEY_MANIFEST, "meson.build: a key manifest (%#x)", r);
	r = lang_name_roles("makefile", false);
	ok(r == LANG_MANIFEST, "makefile exactly: a manifest only (%#x)", r);
	r = lang_name_roles("MAKEFILE", true);
	ok(r & LANG_KEY_MANIFEST && r & LANG_MANIFEST, "ignoring case: every spelling (%#x)", r);
	is_int(lang_name_roles("MAKEFILE", false), 0, "exactly: no such name");
	r = lang_name_roles("meson_options.txt", false);
	ok(r == LANG_KEY_MANIFEST, "meson_options.txt: shown first, not kept (%#x)", r);
	r = lang_name_roles("Dockerfile", false);
	ok(r & LANG_MANIFEST && r & LANG_BUILD && !(r & LANG_KEY_MANIFEST),
	   "Dockerfile: manifest and build file (%#x)", r);
	r = lang_name_roles(".travis.yml", false);
	ok(r & LANG_CI && r & LANG_BUILD, ".travis.yml: CI and build (%#x)", r);
	is_int(lang_name_roles("Jenkinsfile", false), LANG_CI, "Jenkinsfile: CI only");
	is_int(lang_name_roles("*.mk", false), 0, "a pattern is never a name");
	is_int(lang_name_roles(".github/workflows/", false), 0, "a directory is never a name");
	is_int(lang_name_roles("src/meson.build", false), 0, "a path is not a name");
	is_int(lang_name_roles("README.md", true), 0, "not a project file");

	r = lang_path_roles(".github/workflows/ci.yml");
	ok(r & LANG_CI && r & LANG_BUILD, "workflows: CI and build (%#x)", r);
	is_int(lang_path_roles("x/.github/workflows/ci.yml"), 0, "directories from the top only");
	is_int(lang_path_roles(".gitlab/ci/test.yml"), LANG_CI, ".gitlab/ci: CI");
	is_int(lang_path_roles("src/rules.mk"), LANG_BUILD, "*.mk: build");
	is_int(lang_path_roles("cmake/Find.cmake"), LANG_BUILD, "*.cmake: build");
	is_int(lang_path_roles(".mk"), 0, "the bare extension is no makefile");
	is_int(lang_path_roles("src/rules.MK"), 0, "extensions compared exactly");
	is_int(lang_path_roles("meson.build"), 0, "names are lang_name_roles()' job");
}

static void test_build_systems(void)
{
	const struct lang_build_system *bs;
	size_t n = lang_build_systems(&bs), files = 0;
	bool kept = true, unique = true, commands = true;

	ok(n >= 30, "%zu build systems", n);
	is_str(bs[0].name, "Meson", "Meson first");
	for (size_t i = 0; i < n; i++) {
		commands &= bs[i].build || bs[i].test;
		for (size_t k = 0; k < ARRAY_SIZE(bs[i].files) && bs[i].files[k]; k++) {
			files++;
			/* facts keep only LANG_MANIFEST names: anything else is never found */
			if (!(lang_name_roles(bs[i].files[k], false) & LANG_MANIFEST)) {
				diag("%s: %s is not a kept manifest", bs[i].name, bs[i].files[k]);
				kept = false;
			}
		}
		for (size_t j = 0; j < i; j++)
			unique &= strcmp(bs[i].name, bs[j].name) != 0;
	}
	ok(files >= n, "every build system names a manifest (%zu)", files);
	ok(kept, "every build-system file is a manifest facts keep");
	ok(unique, "build system names are unique");
	ok(commands, "every build system has a build or a test command");
}

int main(void)
{
	test_languages();
	test_roles();
	test_build_systems();
	return done_testing();
}
