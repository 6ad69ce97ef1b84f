/* SPDX-License-Identifier: MIT */
/*
 * Imports between the files of a tree: what kind of statement a scanner
 * found (symbols.h emits them) and which file or directory of the tree it
 * names. Resolution works on plain sorted path lists; it never reads a file.
 *
 * An import_index is immutable once built and may be shared by threads.
 */
#ifndef WIKIFS_IMPORTS_H
#define WIKIFS_IMPORTS_H

#include <stddef.h>

#define IMPORT_SPEC_MAX 512  /* longer specs are not reported */
#define IMPORT_PATH_MAX 4096 /* longer repository paths never resolve */

enum import_kind {
	IMPORT_C_INCLUDE,   /* #include "x/y.h": beside the file, else by path suffix */
	IMPORT_PYTHON,	    /* import a.b: a module from the top or a source root */
	IMPORT_PYTHON_FROM, /* from a import b, as "a.b": module a.b, else module a */
	IMPORT_GO,	    /* import "module/path/pkg": a directory of this module */
	IMPORT_RUST_MOD,    /* mod x;: x.rs or x/mod.rs beside the file */
	IMPORT_RUST_USE,    /* use crate::a::b, as "a::b": from the crate root */
	IMPORT_JS,	    /* import ... from './x' or require('./x'): relative only */
	IMPORT_JAVA,	    /* import a.b.C: a/b/C.java, found by path suffix */
	IMPORT_RUST_CRATE,  /* use other::x, as "other": a crate of the tree, by its name */
	IMPORT_DIR,	    /* a manifest's directory, relative to it (path deps, subdirs) */
};

/* Buffer size for import_resolve()'s @dir. */
#define IMPORT_RESULT_MAX (IMPORT_PATH_MAX + 64)

struct import_index;

/*
 * Indexes @paths[0..n), the files of one tree sorted by strcmp, for
 * resolution. @paths and @go_module (the tree's Go module path from go.mod,
 * or NULL) are borrowed and must outlive the index. 0 or -ENOMEM.
 */
int import_index_new(struct import_index **ret, const char *const *paths, size_t n,
		     const char *go_module);
void import_index_free(struct import_index *ix); /* NULL is fine */
/*
 * Names crate @name ("grep-matcher"; '-' and '_' are one) as the directory
 * @dir, for IMPORT_RUST_CRATE. Only before the index is shared; both
 * strings are borrowed like @paths. 0 or -ENOMEM.
 */
int import_index_add_crate(struct import_index *ix, const char *name, const char *dir);

struct symbols_sink;

/*
 * The imports a build manifest states, by its file name: a Cargo.toml's
 * path dependencies and a CMakeLists.txt's add_subdirectory() calls, each
 * as IMPORT_DIR through @sink->import. A Cargo.toml's [package] name goes
 * to @crate (@cap bytes; "" when there is none). Plain bytes, no state.
 */
void imports_scan_manifest(const char *path, const char *text, size_t len,
			   const struct symbols_sink *sink, char *crate, size_t cap);

/*
 * What import @spec of kind @kind, written in file @from (a path of the
 * index), names: one of the index's paths (the pointer given at
 * import_index_new()) for a file; @dir (IMPORT_RESULT_MAX bytes, filled)
 * for a directory holding files; NULL if it names nothing in the tree.
 */
const char *import_resolve(const struct import_index *ix, const char *from, enum import_kind kind,
			   const char *spec, char *dir);

#endif
