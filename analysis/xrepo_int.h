/* SPDX-License-Identifier: MIT */
/*
 * Internals of the cross-repository analysis, shared by xrepo.c (members,
 * edges, descriptions) and xrepo_parse.c (the file parsers). Not thread-safe
 * until xrepo_finish(); immutable after.
 */
#ifndef WIKIFS_XREPO_INT_H
#define WIKIFS_XREPO_INT_H

#include "xrepo.h"

#include <stdint.h>

/* A package ecosystem: identities and dependencies match only within one. */
enum xeco { ECO_GO, ECO_NPM, ECO_CARGO, ECO_MAVEN, ECO_MAX };

/* What one file of a member says: "I am package N" or "I use package N". */
struct xclaim {
	bool is_id;
	enum xeco eco;
	char *name, *path;
};

/* A compose service: its name, what it is built from, what it depends on. */
struct xservice {
	char *name, *path;
	char *context; /* basename of the build context or the image, or "" */
	char **depends;
	size_t ndepends;
};

struct xcontract {
	struct xrepo_contract pub;
	char **ops;
	char *package;	/* protobuf package, for copies of the contract */
	bool is_schema; /* GraphQL: defines types (else: operations used) */
};

/* Quoted paths a member's sources hold, each with the first file quoting it. */
struct xlit {
	char *text, *path;
};

struct xmember {
	struct xrepo_member pub;
	char *name, *url, *languages, *summary, *base;
	char *gradle_group, *gradle_name;
	char *ids[4];
	struct xclaim *claims;
	size_t nclaims;
	struct xservice *services;
	size_t nservices;
	char **service_names;
	char **submodules; /* their urls, from the top .gitmodules */
	size_t nsubmodules;
	struct xlit *lits; /* open addressing, XREPO_LITERALS * 2 slots */
	size_t nlits;
};

struct xrepo {
	int refs; /* atomic */
	bool finished;
	size_t n;
	struct xmember *m;
	struct xcontract *contracts;
	size_t ncontracts;
	struct xrepo_contract *pub_contracts;
	struct xrepo_edge *edges;
	char **edge_strs; /* what each edge owns: what, from_path, to_path */
	size_t nedges;
};

/* xrepo.c */
char *xstrndup_clean(const char *s, size_t n); /* control characters dropped */
int xclaim_add(struct xmember *m, bool is_id, enum xeco eco, const char *name, size_t n,
	       const char *path);
int xlit_add(struct xmember *m, const char *s, size_t n, const char *path);
const struct xlit *xlit_find(const struct xmember *m, const char *s);
int xstrv_add(char ***v, size_t *n, const char *s, size_t len);

/* xrepo_parse.c: each returns 0 or -ENOMEM; bad input is skipped, never an error. */
int xparse_gomod(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_package_json(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_cargo(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_pom(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_gradle(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_gitmodules(struct xmember *m, const char *s, size_t n); /* the top one only */
int xparse_compose(struct xmember *m, const char *path, const char *s, size_t n);
int xparse_readme(struct xmember *m, const char *s, size_t n);
/* A contract file: 1 if it was one (added to @x), 0 if not, -ENOMEM. */
int xparse_contract(struct xrepo *x, size_t i, const char *path, const char *s, size_t n);
int xparse_literals(struct xmember *m, const char *path, const char *s, size_t n);

#endif
