/* SPDX-License-Identifier: MIT */
/*
 * What a file is, from its name (and, for a script, its first line): the
 * one table of languages, of project files (manifests, build and CI files)
 * and of build systems, shared by repository facts, the builtin planner,
 * the builtin generator and the LLM prompt builder.
 *
 * Everything here reads constant tables only: no allocation, no state,
 * thread-safe. Strings returned are static.
 */
#ifndef WIKIFS_LANG_H
#define WIKIFS_LANG_H

#include <stdbool.h>
#include <stddef.h>

/* The language of a file judged by its name alone ("C", "Python", ...), or NULL. */
const char *lang_of_path(const char *path);
/* The language a "#!" first line names, from the first @len bytes of @text, or NULL. */
const char *lang_of_shebang(const char *text, size_t len);
/* true if @lang is a programming language (not markup, data or docs); NULL is not. */
bool lang_is_code(const char *lang);
/* true if @path has the extension of a binary format (images, archives, objects). */
bool lang_is_binary_name(const char *path);

/*
 * Roles of project files. A file may have several; each consumer asks for
 * the ones it cares about.
 */
enum lang_role {
	LANG_MANIFEST = 1 << 0,	    /* a project manifest: kept when at the top level */
	LANG_KEY_MANIFEST = 1 << 1, /* a manifest a reader should see first */
	LANG_BUILD = 1 << 2,	    /* part of building and testing */
	LANG_CI = 1 << 3,	    /* continuous-integration configuration */
};

/*
 * The roles (an OR of enum lang_role) of file name @name (no directory
 * part), compared exactly, or ignoring ASCII case when @nocase. A name with
 * a '/' matches nothing.
 */
unsigned lang_name_roles(const char *name, bool nocase);
/*
 * The roles @path has by where it lives or how it ends: below a directory
 * such as ".github/workflows/", or with an extension such as ".mk"
 * (compared exactly). Its name alone is judged by lang_name_roles().
 */
unsigned lang_path_roles(const char *path);

/* A build system, recognised by one of its top-level manifests. */
struct lang_build_system {
	const char *name;     /* "Meson", "Cargo (Rust)", ... */
	const char *files[4]; /* its manifests (each a LANG_MANIFEST name), NULL-terminated */
	const char *build;    /* usual build commands, lines separated by '\n', or NULL */
	const char *test;     /* usual test command, or NULL */
};

/* The build systems known, in the order pages list them; returns how many. */
size_t lang_build_systems(const struct lang_build_system **ret);

#endif
