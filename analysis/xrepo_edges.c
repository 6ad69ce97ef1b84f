/* SPDX-License-Identifier: MIT */
/*
 * The edges between the members of a group (see xrepo.c for what makes
 * one), the accessors, and the text each group page shows.
 */
#include "xrepo_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const eco_names[ECO_MAX] = {
	[ECO_GO] = "go module",
	[ECO_NPM] = "npm package",
	[ECO_CARGO] = "crate",
	[ECO_MAVEN] = "maven artifact",
};

const char *xrepo_edge_kind_name(enum xrepo_edge_kind k)
{
	switch (k) {
	case XREPO_DEPENDS:
		return "depends on";
	case XREPO_CALLS:
		return "calls";
	case XREPO_RUNS:
		return "runs";
	case XREPO_SUBMODULE:
		return "includes";
	}
	return "uses";
}

static int edge_add(struct xrepo *x, size_t from, size_t to, enum xrepo_edge_kind kind,
		    const char *what, const char *from_path, const char *to_path)
{
	struct xrepo_edge *e;
	char **s;

	if (from == to || x->nedges >= XREPO_MAX_EDGES)
		return 0;
	for (size_t i = 0; i < x->nedges; i++) {
		e = &x->edges[i];
		if (e->from == from && e->to == to && e->kind == kind && !strcmp(e->what, what))
			return 0;
	}
	e = realloc(x->edges, (x->nedges + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	x->edges = e;
	s = realloc(x->edge_strs, (x->nedges + 1) * 3 * sizeof(*s));
	if (!s)
		return -ENOMEM;
	x->edge_strs = s;
	s += x->nedges * 3;
	s[0] = strdup(what);
	s[1] = strdup(from_path);
	s[2] = strdup(to_path);
	if (!s[0] || !s[1] || !s[2]) {
		free(s[0]);
		free(s[1]);
		free(s[2]);
		return -ENOMEM;
	}
	x->edges[x->nedges++] = (struct xrepo_edge){ from, to, kind, s[0], s[1], s[2] };
	return 0;
}

static int depends_edges(struct xrepo *x, size_t a, size_t b)
{
	const struct xmember *ma = &x->m[a], *mb = &x->m[b];
	char what[600];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ma->nclaims; i++) {
		const struct xclaim *d = &ma->claims[i];

		for (size_t j = 0; !d->is_id && r == 0 && j < mb->nclaims; j++) {
			const struct xclaim *id = &mb->claims[j];

			if (!id->is_id || id->eco != d->eco || strcmp(id->name, d->name))
				continue;
			snprintf(what, sizeof(what), "%s %s", eco_names[d->eco], d->name);
			r = edge_add(x, a, b, XREPO_DEPENDS, what, d->path, id->path);
		}
	}
	return r;
}

/* Does quoted path @lit use API path @op ("/users/{id}")? */
static bool lit_matches(const char *lit, const char *op)
{
	size_t n = strcspn(op, "{"), k;
	const char *p;

	while (n > 1 && op[n - 1] == '/')
		n--;
	if (n < 2)
		return false;
	for (p = lit; (p = strstr(p, "/")); p++) {
		if (strncmp(p, op, n))
			continue;
		k = strlen(p);
		if (k == n || p[n] == '?' || (p[n] == '/' && op[strcspn(op, "{")]))
			return true;
		if (p[n] == '/' && k == n + 1)
			return true;
	}
	return false;
}

static int calls_openapi(struct xrepo *x, const struct xcontract *c, size_t b)
{
	const struct xmember *mb = &x->m[b];
	int r = 0;

	for (size_t o = 0; r == 0 && o < c->pub.noperations; o++)
		for (size_t s = 0; r == 0 && mb->lits && s < XREPO_LITERALS * 2; s++)
			if (mb->lits[s].text && lit_matches(mb->lits[s].text, c->ops[o]))
				r = edge_add(x, b, c->pub.member, XREPO_CALLS, c->ops[o],
					     mb->lits[s].path, c->pub.path);
	return r;
}

/* A copy of @c in member b (same protobuf package, or GraphQL operations on a schema). */
static int calls_copies(struct xrepo *x, const struct xcontract *c)
{
	char what[600];
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->ncontracts; i++) {
		const struct xcontract *d = &x->contracts[i];
		size_t b = d->pub.member;

		if (b == c->pub.member || strcmp(d->pub.kind, c->pub.kind))
			continue;
		if (c->pub.kind[0] == 'p' && c->package && d->package &&
		    !strcmp(c->package, d->package) && c->pub.noperations && b > c->pub.member) {
			snprintf(what, sizeof(what), "protobuf package %s", c->package);
			r = edge_add(x, b, c->pub.member, XREPO_CALLS, what, d->pub.path,
				     c->pub.path);
		} else if (c->pub.kind[0] == 'G' && c->is_schema && !d->is_schema &&
			   d->pub.noperations) {
			snprintf(what, sizeof(what), "GraphQL %s", d->ops[0]);
			r = edge_add(x, b, c->pub.member, XREPO_CALLS, what, d->pub.path,
				     c->pub.path);
		} else if (c->pub.kind[0] == 'O' && c->pub.title[0] && d->pub.title[0] &&
			   !strcmp(c->pub.title, d->pub.title) && b > c->pub.member) {
			snprintf(what, sizeof(what), "OpenAPI %s", c->pub.title);
			r = edge_add(x, b, c->pub.member, XREPO_CALLS, what, d->pub.path,
				     c->pub.path);
		}
	}
	return r;
}

/* The member a compose service's build context or image is named after, or -1. */
static int member_named(const struct xrepo *x, const char *base)
{
	for (size_t i = 0; base[0] && i < x->n; i++)
		if (!strcasecmp(x->m[i].base, base))
			return (int)i;
	return -1;
}

static int runs_edges(struct xrepo *x, size_t a)
{
	const struct xmember *m = &x->m[a];
	char what[600];
	int r = 0;

	for (size_t s = 0; r == 0 && s < m->nservices; s++) {
		const struct xservice *sv = &m->services[s];
		int b = member_named(x, sv->context), c;

		if (b < 0)
			b = member_named(x, sv->name);
		if (b < 0)
			continue;
		snprintf(what, sizeof(what), "service %s", sv->name);
		r = edge_add(x, a, (size_t)b, XREPO_RUNS, what, sv->path, "");
		for (size_t d = 0; r == 0 && d < sv->ndepends; d++) {
			for (size_t t = 0; t < m->nservices; t++) {
				if (strcmp(m->services[t].name, sv->depends[d]))
					continue;
				c = member_named(x, m->services[t].context);
				if (c < 0)
					c = member_named(x, m->services[t].name);
				if (c < 0)
					break;
				snprintf(what, sizeof(what), "service %s depends on %s", sv->name,
					 sv->depends[d]);
				r = edge_add(x, (size_t)b, (size_t)c, XREPO_DEPENDS, what, sv->path,
					     sv->path);
				break;
			}
		}
	}
	return r;
}

static int submodule_edges(struct xrepo *x, size_t a)
{
	const struct xmember *m = &x->m[a];
	int r = 0;

	for (size_t i = 0; r == 0 && i < m->nsubmodules; i++) {
		char url[2048], *e, *base;
		int b;

		snprintf(url, sizeof(url), "%s", m->submodules[i]);
		e = url + strlen(url);
		while (e > url && e[-1] == '/')
			*--e = '\0';
		if (e - url > 4 && !strcmp(e - 4, ".git"))
			e[-4] = '\0';
		base = strrchr(url, '/') ? strrchr(url, '/') + 1 : url;
		b = member_named(x, base);
		if (b >= 0)
			r = edge_add(x, a, (size_t)b, XREPO_SUBMODULE, m->submodules[i],
				     ".gitmodules", "");
	}
	return r;
}

/* Gradle's identity, "group:rootProject.name", once both files are read. */
static int gradle_identity(struct xmember *m)
{
	char name[600];

	if (!m->gradle_group || !m->gradle_name)
		return 0;
	snprintf(name, sizeof(name), "%s:%s", m->gradle_group, m->gradle_name);
	return xclaim_add(m, true, ECO_MAVEN, name, strlen(name), "settings.gradle");
}

static int cmp_edge(const void *pa, const void *pb)
{
	const struct xrepo_edge *a = pa, *b = pb;

	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	if (a->to != b->to)
		return a->to < b->to ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->what, b->what);
}

static int publish(struct xrepo *x)
{
	x->pub_contracts = calloc(x->ncontracts + 1, sizeof(*x->pub_contracts));
	if (!x->pub_contracts)
		return -ENOMEM;
	for (size_t i = 0; i < x->ncontracts; i++) {
		x->contracts[i].pub.operations = (const char *const *)x->contracts[i].ops;
		x->pub_contracts[i] = x->contracts[i].pub;
	}
	for (size_t i = 0; i < x->n; i++) {
		struct xmember *m = &x->m[i];
		struct xrepo_member *p = &m->pub;

		p->name = m->name;
		p->url = m->url;
		p->summary = m->summary ? m->summary : "";
		p->languages = m->languages;
		for (size_t c = 0; c < m->nclaims && p->nidentities < ARRAY_SIZE(m->ids); c++) {
			bool seen = false;

			if (!m->claims[c].is_id)
				continue;
			for (size_t k = 0; k < p->nidentities; k++)
				seen |= !strncmp(m->ids[k], eco_names[m->claims[c].eco],
						 strlen(eco_names[m->claims[c].eco]));
			if (seen || asprintf(&m->ids[p->nidentities], "%s %s",
					     eco_names[m->claims[c].eco], m->claims[c].name) < 0)
				continue;
			p->nidentities++;
		}
		for (size_t k = 0; k < p->nidentities; k++)
			p->identities[k] = m->ids[k];
		m->service_names = calloc(m->nservices + 1, sizeof(char *));
		if (!m->service_names)
			return -ENOMEM;
		for (size_t s = 0; s < m->nservices; s++)
			m->service_names[s] = m->services[s].name;
		p->services = (const char *const *)m->service_names;
		p->nservices = m->nservices;
	}
	return 0;
}

int xrepo_finish(struct xrepo *x)
{
	int r = 0;

	if (x->finished)
		return -EINVAL;
	for (size_t a = 0; r == 0 && a < x->n; a++)
		r = gradle_identity(&x->m[a]);
	for (size_t a = 0; r == 0 && a < x->n; a++) {
		for (size_t b = 0; r == 0 && b < x->n; b++)
			if (a != b)
				r = depends_edges(x, a, b);
		if (r == 0)
			r = runs_edges(x, a);
		if (r == 0)
			r = submodule_edges(x, a);
	}
	for (size_t c = 0; r == 0 && c < x->ncontracts; c++) {
		const struct xcontract *k = &x->contracts[c];

		for (size_t b = 0; r == 0 && k->pub.kind[0] == 'O' && b < x->n; b++)
			if (b != k->pub.member)
				r = calls_openapi(x, k, b);
		if (r == 0)
			r = calls_copies(x, k);
	}
	if (r == 0) {
		qsort(x->edges, x->nedges, sizeof(*x->edges), cmp_edge);
		r = publish(x);
	}
	x->finished = true;
	return r;
}

size_t xrepo_nmembers(const struct xrepo *x)
{
	return x->n;
}

const struct xrepo_member *xrepo_member(const struct xrepo *x, size_t i)
{
	return i < x->n ? &x->m[i].pub : NULL;
}

size_t xrepo_edges(const struct xrepo *x, const struct xrepo_edge **ret)
{
	*ret = x->edges;
	return x->nedges;
}

size_t xrepo_contracts(const struct xrepo *x, const struct xrepo_contract **ret)
{
	*ret = x->pub_contracts;
	return x->ncontracts;
}

/* The member called [name, name + n), or SIZE_MAX. */
static size_t member_index(const struct xrepo *x, const char *name, size_t n)
{
	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->m[i].name) == n && !strncmp(x->m[i].name, name, n))
			return i;
	return SIZE_MAX;
}

int xrepo_pair(const struct xrepo *x, const char *arg, size_t *a, size_t *b)
{
	const char *sp = arg ? strchr(arg, ' ') : NULL;

	if (!sp)
		return -EINVAL;
	*a = member_index(x, arg, (size_t)(sp - arg));
	*b = member_index(x, sp + 1, strlen(sp + 1));
	return *a == SIZE_MAX || *b == SIZE_MAX ? -ENOENT : 0;
}

bool xrepo_related(const struct xrepo *x, size_t a, size_t b)
{
	for (size_t i = 0; i < x->nedges; i++)
		if ((x->edges[i].from == a && x->edges[i].to == b) ||
		    (x->edges[i].from == b && x->edges[i].to == a))
			return true;
	return false;
}

/* ---- descriptions ---- */

/* A member: its name, and on Home what it is (identities, services, languages, README). */
static int describe_member(const struct xrepo *x, size_t i, bool full, struct buf *o)
{
	const struct xrepo_member *m = &x->m[i].pub;
	int r = buf_printf(o, "member %s\n", m->name);

	if (!full)
		return r;
	r = r
		?: buf_printf(o, "  url: %s\n  languages: %s\n", m->url,
			      m->languages[0] ? m->languages : "-");

	for (size_t k = 0; r == 0 && k < m->nidentities; k++)
		r = buf_printf(o, "  is: %s\n", m->identities[k]);
	for (size_t k = 0; r == 0 && k < m->nservices; k++)
		r = buf_printf(o, "  compose service: %s\n", m->services[k]);
	if (r == 0 && m->summary[0])
		r = buf_printf(o, "  summary: %s\n", m->summary);
	return r;
}

static int describe_edge(const struct xrepo *x, const struct xrepo_edge *e, struct buf *o)
{
	return buf_printf(o, "edge %s %s %s: %s (in %s%s%s)\n", x->m[e->from].pub.name,
			  xrepo_edge_kind_name(e->kind), x->m[e->to].pub.name, e->what,
			  e->from_path, e->to_path[0] ? ", defined in " : "", e->to_path);
}

static int describe_contract(const struct xrepo *x, const struct xcontract *c, struct buf *o)
{
	int r = buf_printf(o, "contract %s defines %s%s%s%s in %s:", x->m[c->pub.member].pub.name,
			   c->pub.kind, c->pub.title[0] ? " \"" : "", c->pub.title,
			   c->pub.title[0] ? "\"" : "", c->pub.path);

	for (size_t k = 0; r == 0 && k < c->pub.noperations && k < 50; k++)
		r = buf_printf(o, " %s", c->ops[k]);
	return r ? r : buf_adds(o, "\n");
}

int xrepo_describe(const struct xrepo *x, enum xrepo_page page, size_t a, size_t b, struct buf *out)
{
	int r = buf_printf(out, "group of %zu repositories\n", x->n);

	if (page == XREPO_PAGE_PAIR && (a >= x->n || b >= x->n))
		return -EINVAL;
	for (size_t i = 0; r == 0 && i < x->n; i++)
		if (page != XREPO_PAGE_PAIR || i == a || i == b)
			r = describe_member(x, i, page == XREPO_PAGE_HOME, out);
	if (page == XREPO_PAGE_HOME) { /* which members relate, and how, not what */
		for (size_t i = 0; r == 0 && i < x->nedges; i++) {
			const struct xrepo_edge *e = &x->edges[i];

			if (i && e[-1].from == e->from && e[-1].to == e->to &&
			    e[-1].kind == e->kind)
				continue;
			r = buf_printf(out, "relation %s %s %s\n", x->m[e->from].pub.name,
				       xrepo_edge_kind_name(e->kind), x->m[e->to].pub.name);
		}
		return r;
	}
	for (size_t i = 0; r == 0 && i < x->nedges; i++) {
		const struct xrepo_edge *e = &x->edges[i];

		if (page == XREPO_PAGE_ARCHITECTURE || (e->from == a && e->to == b) ||
		    (e->from == b && e->to == a))
			r = describe_edge(x, e, out);
	}
	for (size_t i = 0; r == 0 && i < x->ncontracts; i++) {
		size_t m = x->contracts[i].pub.member;

		if (page == XREPO_PAGE_ARCHITECTURE || m == a || m == b)
			r = describe_contract(x, &x->contracts[i], out);
	}
	return r;
}
