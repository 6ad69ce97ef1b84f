/* SPDX-License-Identifier: MIT */
/*
 * Cross-repository facts of a group: what each member repository is (its
 * package identities, contracts and services) and how the members relate
 * (one depends on another's package, calls the API another defines, runs
 * another in a compose file, or includes it as a submodule).
 *
 * Works on plain bytes: the caller feeds each member's files, those
 * xrepo_wants() names in full and the sources xrepo_wants_source() names
 * for the API paths they quote, then calls xrepo_finish() once. After
 * that the xrepo is immutable and may be shared by threads (references).
 *
 * What a group page shows is described by xrepo_describe(): the same text
 * is the material of an LLM prompt and, hashed, the page's input digest, so
 * a page is made again exactly when what it shows changed.
 */
#ifndef WIKIFS_XREPO_H
#define WIKIFS_XREPO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define XREPO_MAX_MEMBERS 64
#define XREPO_FILE_MAX	  (256u << 10) /* bytes of one file read */
#define XREPO_LITERALS	  20000	       /* quoted paths kept per member */
#define XREPO_MAX_EDGES	  2000

enum xrepo_edge_kind {
	XREPO_DEPENDS,	 /* a package dependency: go.mod, package.json, Cargo, Maven, Gradle */
	XREPO_CALLS,	 /* uses an API contract (OpenAPI, protobuf, GraphQL) the other defines */
	XREPO_RUNS,	 /* a compose file builds or runs the other as a service */
	XREPO_SUBMODULE, /* includes the other as a git submodule */
};

/* @from uses @to. Strings live as long as the xrepo. */
struct xrepo_edge {
	size_t from, to;
	enum xrepo_edge_kind kind;
	const char *what;      /* "go module example.com/lib", "GET /users/{id}" */
	const char *from_path; /* where @from shows it: "go.mod", "src/api.js" */
	const char *to_path;   /* where @to defines it, or "" */
};

/* A contract a member defines. */
struct xrepo_contract {
	size_t member;
	const char *kind;  /* "OpenAPI", "protobuf", "GraphQL" */
	const char *path;  /* the file */
	const char *title; /* API title, proto package or "" */
	size_t noperations;
	const char *const *operations; /* "/users/{id}", "service Users", "type Query" */
};

/* What each member is. Strings live as long as the xrepo; absent ones are "". */
struct xrepo_member {
	const char *name; /* the repository's directory name, "owner/repo" */
	const char *url;
	const char *summary;	   /* the README's first paragraph, plain text */
	const char *languages;	   /* "Go, JavaScript", given by the caller */
	const char *identities[4]; /* "go module x", "npm package y", "crate z", "maven g:a" */
	size_t nidentities;
	const char *const *services; /* compose services defined in it */
	size_t nservices;
};

struct xrepo;

/* A new analysis of @n members (at most XREPO_MAX_MEMBERS), one reference. */
int xrepo_new(struct xrepo **ret, size_t n);
struct xrepo *xrepo_ref(struct xrepo *x);
void xrepo_unref(struct xrepo *x); /* NULL is fine */

/* Names member @i (before its files). 0 or -ENOMEM / -EINVAL. */
int xrepo_member_set(struct xrepo *x, size_t i, const char *name, const char *url,
		     const char *languages);

/* Is @path (a repository path) a file the analysis reads in full? */
bool xrepo_wants(const char *path);
/* Is @path a source file worth scanning for quoted API paths? */
bool xrepo_wants_source(const char *path);

/*
 * Feeds file @path of member @i: a manifest, contract, compose file or
 * README (xrepo_wants), else a source scanned for quoted paths. At most
 * XREPO_FILE_MAX bytes of @text are looked at. 0 or -ENOMEM.
 */
int xrepo_add_file(struct xrepo *x, size_t i, const char *path, const char *text, size_t len);

/* Computes the edges. Call once, after every file. 0 or -ENOMEM. */
int xrepo_finish(struct xrepo *x);

size_t xrepo_nmembers(const struct xrepo *x);
const struct xrepo_member *xrepo_member(const struct xrepo *x, size_t i); /* NULL past the end */
size_t xrepo_edges(const struct xrepo *x, const struct xrepo_edge **ret);
size_t xrepo_contracts(const struct xrepo *x, const struct xrepo_contract **ret);
const char *xrepo_edge_kind_name(enum xrepo_edge_kind k); /* "depends on", "calls", ... */

/* The pages of a group (see xrepo_describe()). */
enum xrepo_page {
	XREPO_PAGE_HOME,	 /* what each member is: identities, services, README summary */
	XREPO_PAGE_ARCHITECTURE, /* member names, every edge, the contracts */
	XREPO_PAGE_PAIR,	 /* two member names, the edges between them, their contracts */
};

/*
 * Appends to @out the facts page @page shows (for XREPO_PAGE_PAIR, of
 * members @a and @b), as plain text, deterministic: an LLM's material and
 * the page's input digest. 0 or -ENOMEM / -E2BIG.
 */
int xrepo_describe(const struct xrepo *x, enum xrepo_page page, size_t a, size_t b,
		   struct buf *out);

/* The members "NAME_A NAME_B" names (a pair page's argument). 0, -EINVAL or -ENOENT. */
int xrepo_pair(const struct xrepo *x, const char *arg, size_t *a, size_t *b);

/* Whether members @a and @b share an edge (either way): a pair worth a page. */
bool xrepo_related(const struct xrepo *x, size_t a, size_t b);

#endif
