/* SPDX-License-Identifier: MIT */
/*
 * The builtin pages of a group of repositories, written from the group's
 * cross-repository analysis alone (analysis/xrepo.h): Home (what each
 * member is, with a link to its own wiki), Architecture (every edge as a
 * Mermaid graph and a table, the contracts, the services), a page per
 * related pair, and the sidebar. Nothing here names a member's commit, so a
 * page's bytes follow what it shows (its key is that digest, see
 * wiki/group.c) and a member that moves elsewhere leaves it alone.
 */
#include "builtin_int.h"
#include "xrepo.h"

#include <string.h>

struct gctx {
	const struct gen_request *req;
	const struct xrepo *x;
	size_t n;
	char up[16]; /* "../" per level of the group's directory */
};

/* A link to member @i's own wiki: "[owner/repo](../owner/repo/Home.md)". */
static void member_link(struct md *m, const struct gctx *g, size_t i)
{
	const char *name = xrepo_member(g->x, i)->name;

	md_puts(m, "[");
	md_text(m, name);
	md_printf(m, "](%s", g->up);
	md_url(m, name);
	md_puts(m, "/Home.md)");
}

static void page_links(struct md *m, const struct gctx *g, const char *except)
{
	const struct plan *p = g->req->plan;

	for (size_t i = 0; i < p->n; i++) {
		if (p->pages[i].kind == PAGE_SIDEBAR || !strcmp(p->pages[i].slug, except))
			continue;
		md_puts(m, "- ");
		builtin_link_page(m, &p->pages[i]);
		md_puts(m, "\n");
	}
}

static void header(struct md *m, const struct gctx *g, const char *title)
{
	md_puts(m, "# ");
	md_text(m, title);
	md_puts(m, "\n\n*Group ");
	md_code(m, g->req->repo_name ? g->req->repo_name : "", 0);
	md_printf(m, " of %zu repositories: ", g->n);
	for (size_t i = 0; i < g->n; i++) {
		if (i)
			md_puts(m, ", ");
		member_link(m, g, i);
	}
	md_puts(m, ".*\n\n");
}

/*
 * The relations of @a to @b, one line per kind: "a calls b", with what (up to
 * five) when @details. Home shows no details: what it shows is in its key.
 */
static void edge_summary(struct md *m, const struct gctx *g, size_t a, size_t b, bool details)
{
	const struct xrepo_edge *e;
	size_t n = xrepo_edges(g->x, &e);

	for (int k = XREPO_DEPENDS; k <= XREPO_SUBMODULE; k++) {
		size_t cnt = 0;

		for (size_t i = 0; i < n; i++)
			cnt += e[i].from == a && e[i].to == b && (int)e[i].kind == k;
		if (!cnt)
			continue;
		md_puts(m, "- ");
		md_text(m, xrepo_member(g->x, a)->name);
		md_printf(m, " **%s** ", xrepo_edge_kind_name((enum xrepo_edge_kind)k));
		md_text(m, xrepo_member(g->x, b)->name);
		if (!details) {
			md_puts(m, "\n");
			continue;
		}
		md_puts(m, ": ");
		for (size_t i = 0, shown = 0; i < n; i++) {
			if (e[i].from != a || e[i].to != b || (int)e[i].kind != k)
				continue;
			if (shown == 5) {
				md_printf(m, " and %zu more", cnt - 5);
				break;
			}
			md_puts(m, shown++ ? ", " : "");
			md_code(m, e[i].what, 0);
		}
		md_puts(m, "\n");
	}
}

static void page_home(struct md *m, const struct gctx *g)
{
	header(m, g, g->req->repo_name ? g->req->repo_name : "Group");
	md_puts(m,
		"## Repositories\n\n| Repository | Languages | Provides |\n| --- | --- | --- |\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct xrepo_member *mb = xrepo_member(g->x, i);

		md_puts(m, "| ");
		member_link(m, g, i);
		md_puts(m, " | ");
		md_text(m, mb->languages[0] ? mb->languages : "-");
		md_puts(m, " | ");
		for (size_t k = 0; k < mb->nidentities; k++) {
			md_puts(m, k ? "; " : "");
			md_code(m, mb->identities[k], MDF_TABLE);
		}
		for (size_t k = 0; k < mb->nservices; k++) {
			md_puts(m, k || mb->nidentities ? "; service " : "service ");
			md_code(m, mb->services[k], MDF_TABLE);
		}
		md_puts(m, mb->nidentities || mb->nservices ? " |\n" : "- |\n");
	}
	md_puts(m, "\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct xrepo_member *mb = xrepo_member(g->x, i);

		if (!mb->summary[0])
			continue;
		md_puts(m, "**");
		md_text(m, mb->name);
		md_puts(m, "**: ");
		md_text(m, mb->summary);
		md_puts(m, "\n\n");
	}
	md_puts(m, "## How they fit together\n\n");
	for (size_t a = 0; a < g->n; a++)
		for (size_t b = 0; b < g->n; b++)
			if (a != b)
				edge_summary(m, g, a, b, false);
	md_puts(m, "\nSee [Architecture](Architecture.md) for the graph and the evidence.\n\n"
		   "## Pages\n\n");
	page_links(m, g, "Home");
}

/* In-degree and out-degree: who is a foundation, who an entry point. */
static void arch_prose(struct md *m, const struct gctx *g)
{
	const struct xrepo_edge *e;
	size_t n = xrepo_edges(g->x, &e), in[XREPO_MAX_MEMBERS] = { 0 },
	       out[XREPO_MAX_MEMBERS] = { 0 };
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		out[e[i].from]++;
		in[e[i].to]++;
	}
	if (!n) {
		md_puts(m, "No edge was found between these repositories: no package of one is a "
			   "dependency of another, no API one defines is called by another, and no "
			   "compose file or submodule ties them.\n\n");
		return;
	}
	md_puts(m, "**Foundations** (used by others, using none of them): ");
	for (size_t i = 0; i < g->n; i++)
		if (in[i] && !out[i]) {
			md_puts(m, any ? ", " : "");
			md_text(m, xrepo_member(g->x, i)->name);
			any = true;
		}
	md_puts(m, any ? ".\n\n" : "none.\n\n");
	any = false;
	md_puts(m, "**Entry points** (using others, used by none of them): ");
	for (size_t i = 0; i < g->n; i++)
		if (out[i] && !in[i]) {
			md_puts(m, any ? ", " : "");
			md_text(m, xrepo_member(g->x, i)->name);
			any = true;
		}
	md_puts(m, any ? ".\n\n" : "none.\n\n");
}

static void edge_table(struct md *m, const struct gctx *g, bool pair_only, size_t a, size_t b)
{
	const struct xrepo_edge *e;
	size_t n = xrepo_edges(g->x, &e);

	md_puts(m, "| From | Relation | To | What | Where |\n| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < n; i++) {
		if (pair_only &&
		    !((e[i].from == a && e[i].to == b) || (e[i].from == b && e[i].to == a)))
			continue;
		md_puts(m, "| ");
		md_text(m, xrepo_member(g->x, e[i].from)->name);
		md_printf(m, " | %s | ", xrepo_edge_kind_name(e[i].kind));
		md_text(m, xrepo_member(g->x, e[i].to)->name);
		md_puts(m, " | ");
		md_code(m, e[i].what, MDF_TABLE);
		md_puts(m, " | ");
		md_code(m, e[i].from_path, MDF_TABLE);
		if (e[i].to_path[0]) {
			md_puts(m, " → ");
			md_code(m, e[i].to_path, MDF_TABLE);
		}
		md_puts(m, " |\n");
	}
	md_puts(m, "\n");
}

static void contracts(struct md *m, const struct gctx *g, bool pair_only, size_t a, size_t b)
{
	const struct xrepo_contract *c;
	size_t n = xrepo_contracts(g->x, &c);
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (pair_only && c[i].member != a && c[i].member != b)
			continue;
		if (!any)
			md_puts(m, "## Contracts\n\n");
		any = true;
		md_puts(m, "- ");
		md_text(m, xrepo_member(g->x, c[i].member)->name);
		md_printf(m, " defines %s ", c[i].kind);
		if (c[i].title[0]) {
			md_puts(m, "\"");
			md_text(m, c[i].title);
			md_puts(m, "\" ");
		}
		md_puts(m, "in ");
		md_code(m, c[i].path, 0);
		for (size_t k = 0; k < c[i].noperations && k < 30; k++) {
			md_puts(m, k ? ", " : ": ");
			md_code(m, c[i].operations[k], 0);
		}
		md_puts(m, c[i].noperations > 30 ? ", ...\n" : "\n");
	}
	if (any)
		md_puts(m, "\n");
}

static void page_architecture(struct md *m, const struct gctx *g)
{
	const struct xrepo_edge *e;
	size_t n = xrepo_edges(g->x, &e);

	header(m, g, "Architecture");
	arch_prose(m, g);
	md_puts(m, "```mermaid\ngraph LR\n");
	for (size_t i = 0; i < g->n; i++) {
		md_printf(m, "  m%zu[\"", i);
		md_mermaid_label(m, xrepo_member(g->x, i)->name);
		md_puts(m, "\"]\n");
	}
	for (size_t i = 0; i < n; i++) {
		if (i && e[i - 1].from == e[i].from && e[i - 1].to == e[i].to &&
		    e[i - 1].kind == e[i].kind)
			continue; /* one arrow per relation; the table lists them all */
		md_printf(m, "  m%zu -->|\"%s\"| m%zu\n", e[i].from,
			  xrepo_edge_kind_name(e[i].kind), e[i].to);
	}
	md_puts(m, "```\n\n## Edges\n\n");
	edge_table(m, g, false, 0, 0);
	contracts(m, g, false, 0, 0);
	md_puts(m, "## Pages\n\n");
	page_links(m, g, "Architecture");
}

static void page_pair(struct md *m, const struct gctx *g, size_t a, size_t b)
{
	header(m, g, g->req->page->title);
	md_puts(m, "How ");
	member_link(m, g, a);
	md_puts(m, " and ");
	member_link(m, g, b);
	md_puts(m, " relate:\n\n");
	edge_summary(m, g, a, b, true);
	edge_summary(m, g, b, a, true);
	md_puts(m, "\n## Evidence\n\n");
	edge_table(m, g, true, a, b);
	contracts(m, g, true, a, b);
	md_puts(m, "See also [Architecture](Architecture.md).\n");
}

static void page_sidebar(struct md *m, const struct gctx *g)
{
	md_puts(m, "**");
	md_text(m, g->req->repo_name ? g->req->repo_name : "Group");
	md_puts(m, "**\n\n");
	page_links(m, g, "_Sidebar");
	md_puts(m, "\n**Repositories**\n\n");
	for (size_t i = 0; i < g->n; i++) {
		md_puts(m, "- ");
		member_link(m, g, i);
		md_puts(m, "\n");
	}
}

void builtin_group_page(struct md *m, const struct gen_request *req)
{
	struct gctx g = { .req = req, .x = req->group, .n = xrepo_nmembers(req->group) };
	const char *name = req->repo_name ? req->repo_name : "";
	size_t a, b;

	snprintf(g.up, sizeof(g.up), "%s", strchr(name, '/') ? "../../" : "../");
	if (req->page->kind == PAGE_GROUP_HOME)
		page_home(m, &g);
	else if (req->page->kind == PAGE_SIDEBAR)
		page_sidebar(m, &g);
	else if (req->page->kind == PAGE_GROUP_PAIR &&
		 xrepo_pair(req->group, req->page->arg, &a, &b) == 0)
		page_pair(m, &g, a, b);
	else /* Architecture, or any other page of a group: the whole picture */
		page_architecture(m, &g);
}
