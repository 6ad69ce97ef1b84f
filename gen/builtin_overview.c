/* SPDX-License-Identifier: MIT */
/*
 * The Home page (README summary, figures, languages, layout, page list),
 * the sidebar and the page for a custom plan entry.
 */
#include "builtin_int.h"
#include "readme.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MAX_LANG_ROWS	20
#define MAX_LAYOUT_ROWS 100
#define MAX_ROOT_FILES	50
#define MAX_DOC_LINKS	30

/* ---- Home -------------------------------------------------------------------- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* A link to the repository path @path (a directory when @dir), pinned on a forge. */
static void repo_link(struct md *m, const struct builtin_ctx *c, const char *path, bool dir)
{
	if (!c->base[0]) {
		md_code(m, path, 0);
		return;
	}
	md_puts(m, "[");
	md_text(m, path);
	md_printf(m, "](%s/%s/%s/", c->base, dir ? "tree" : "blob", facts_commit_id(c->f));
	md_url(m, path);
	md_puts(m, ")");
}

/* Does @name (no directory) start with one of the documents a reader looks for? */
static bool doc_name(const char *name)
{
	static const char *const docs[] = {
		"INSTALL",     "CONTRIBUTING", "HACKING",  "INTERNALS",	      "ARCHITECTURE",
		"DEVELOPMENT", "BUILDING",     "BUILD.md", "DESIGN",	      "SECURITY",
		"CHANGELOG",   "CHANGES",      "NEWS",	   "RELEASE-NOTES",   "RELEASE_NOTES",
		"UPGRADING",   "MIGRATING",    "FAQ",	   "CODE_OF_CONDUCT", "GOVERNANCE",
		"MAINTAINERS",
	};

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++)
		if (!strncasecmp(name, docs[i], strlen(docs[i])))
			return true;
	return false;
}

/* The repository's own documentation: top-level documents and doc directories. */
static void repo_docs(struct md *m, const struct builtin_ctx *c)
{
	static const char *const dirs[] = { "doc",    "docs", "documentation", "Documentation",
					    "manual", "man",  "guide",	       "wiki" };
	size_t shown = 0, first;

	for (size_t i = 0; i < c->nfiles && shown < MAX_DOC_LINKS; i++) {
		const char *p = c->files[i].path;

		if (strchr(p, '/') || !doc_name(p) || c->files[i].binary)
			continue;
		md_puts(m, shown++ ? "" : "\n## Documentation in the repository\n\n");
		md_puts(m, "- ");
		repo_link(m, c, p, false);
		md_puts(m, "\n");
	}
	for (size_t k = 0; k < ARRAY_SIZE(dirs) && shown < MAX_DOC_LINKS; k++) {
		size_t n = facts_dir_range(c->f, dirs[k], &first);

		if (n == 0)
			continue;
		md_puts(m, shown++ ? "" : "\n## Documentation in the repository\n\n");
		md_puts(m, "- ");
		repo_link(m, c, dirs[k], true);
		md_printf(m, " (%zu files)\n", n);
	}
}

/* The README's leading section, rendered as Markdown. */
static void overview(struct md *m, const struct builtin_ctx *c, const char *readme,
		     const char *rpath)
{
	const struct readme_opts ro = { rpath, c->base, facts_commit_id(c->f) };

	md_puts(m, "From ");
	repo_link(m, c, rpath, false);
	md_puts(m, ":\n\n");
	if (!readme_render(m, readme, &ro))
		md_puts(m, "*(The README has no text before its first section.)*\n");
	md_puts(m, "\n");
}

static void quick_start(struct md *m, const struct builtin_ctx *c, const char *readme,
			const char *rpath)
{
	const struct readme_opts ro = { rpath, c->base, facts_commit_id(c->f) };
	size_t mark = m->b.len;

	md_puts(m, "\n## Quick start\n\nFrom ");
	md_code(m, rpath, 0);
	md_puts(m, ":\n\n");
	if (!readme_quick_start(m, readme, &ro) && !m->err)
		m->b.len = mark;
}

static void lang_table(struct md *m, const struct builtin_ctx *c)
{
	const struct facts_lang *l;
	size_t n = facts_languages(c->f, &l);
	uint64_t total = 0;

	if (n == 0) {
		md_puts(m, "No source files in a recognised language.\n");
		return;
	}
	for (size_t i = 0; i < n; i++)
		total += l[i].bytes;
	md_puts(m, "| Language | Files | Size | Share |\n|---|---:|---:|---:|\n");
	for (size_t i = 0; i < n && i < MAX_LANG_ROWS; i++) {
		md_puts(m, "| ");
		md_text(m, l[i].lang);
		md_printf(m, " | %zu | ", l[i].files);
		md_size(m, l[i].bytes);
		md_printf(m, " | %.1f%% |\n",
			  total ? 100.0 * (double)l[i].bytes / (double)total : 0.0);
	}
	if (n > MAX_LANG_ROWS)
		md_printf(m, "\n... and %zu more languages.\n", n - MAX_LANG_ROWS);
}

static void layout(struct md *m, const struct builtin_ctx *c)
{
	size_t i = 0, rows = 0, dirs = 0, root_files = 0;

	md_puts(m, "| Path | Files | Size | Main language |\n|---|---:|---:|---|\n");
	while (i < c->nfiles) {
		const char *p = c->files[i].path, *sl = strchr(p, '/');
		size_t j = i + 1, n;
		uint64_t bytes = c->files[i].size;
		const char *ml;

		if (!sl) {
			root_files++;
			i++;
			continue;
		}
		n = (size_t)(sl - p);
		while (j < c->nfiles && !strncmp(c->files[j].path, p, n + 1)) {
			bytes += c->files[j].size;
			j++;
		}
		dirs++;
		if (rows < MAX_LAYOUT_ROWS) {
			_cleanup_free_ char *d = strndup(p, n + 1);

			md_puts(m, "| ");
			md_code(m, d ? d : "?", MDF_TABLE);
			md_printf(m, " | %zu | ", j - i);
			md_size(m, bytes);
			md_puts(m, " | ");
			ml = builtin_main_lang(c, i, j - i, NULL, 0);
			md_text(m, ml ? ml : "—");
			md_puts(m, " |\n");
			rows++;
		}
		i = j;
	}
	if (dirs > rows)
		md_printf(m, "\n... and %zu more directories.\n", dirs - rows);
	if (root_files) {
		size_t shown = 0;

		md_printf(m, "\nTop-level files (%zu): ", root_files);
		for (i = 0; i < c->nfiles && shown < MAX_ROOT_FILES; i++) {
			if (strchr(c->files[i].path, '/'))
				continue;
			md_puts(m, shown ? ", " : "");
			md_code(m, c->files[i].path, 0);
			shown++;
		}
		if (root_files > shown)
			md_printf(m, " ... and %zu more", root_files - shown);
		md_puts(m, ".\n");
	}
}

void builtin_page_home(struct md *m, struct builtin_ctx *c)
{
	const char *rpath, *readme = facts_readme(c->f, &rpath);
	const struct facts_commit *h;
	size_t nh = facts_history(c->f, &h);
	const struct facts_author *authors;
	const struct facts_release *rel;
	struct facts_stats st;
	const struct plan *p = c->req->plan;

	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	md_puts(m, "## Overview\n\n");
	if (readme && !blank(readme, strlen(readme))) {
		overview(m, c, readme, rpath);
	} else {
		md_puts(m, "This repository has no top-level README.\n\n");
	}
	md_printf(m, "- **Files:** %zu", st.files_total);
	if (st.files_dropped)
		md_printf(m, " (%zu not indexed: too many, too deep or too long a name)",
			  st.files_dropped);
	md_puts(m, "\n- **Size:** ");
	md_size(m, st.bytes_total);
	md_printf(m, "\n- **Commits:** %s%zu\n", st.history_truncated ? "at least " : "",
		  facts_commit_count(c->f));
	md_printf(m, "- **Contributors:** %zu\n", facts_authors(c->f, &authors));
	if (facts_releases(c->f, &rel)) {
		md_puts(m, "- **Latest release:** ");
		md_code(m, rel[0].tag, 0);
		md_puts(m, " (");
		md_date(m, rel[0].time, false);
		md_puts(m, ")\n");
	}
	if (nh) {
		md_puts(m, "- **Latest commit:** ");
		md_date(m, h[0].time, false);
		md_puts(m, " — ");
		md_text_spans(m, h[0].subject, 0);
		md_puts(m, "\n");
	}
	if (readme)
		quick_start(m, c, readme, rpath);
	repo_docs(m, c);
	md_puts(m, "\n## Languages\n\n");
	lang_table(m, c);
	md_puts(m, "\n## Layout\n\n");
	layout(m, c);
	md_puts(m, "\n## Pages\n\n");
	for (size_t i = 0; i < p->n; i++) {
		if (p->pages[i].kind == PAGE_SIDEBAR)
			continue;
		md_puts(m, "- ");
		builtin_link_page(m, &p->pages[i]);
		md_puts(m, "\n");
	}
	builtin_footer(m, c);
}

/* ---- Sidebar -------------------------------------------------------------- */

void builtin_page_sidebar(struct md *m, struct builtin_ctx *c)
{
	const struct plan *p = c->req->plan;
	bool mods = false;

	md_puts(m, "# ");
	md_text(m, c->req->page->title);
	md_printf(m, "\n\n*Commit `%.12s`.*\n\n", facts_commit_id(c->f));
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_page *pg = &p->pages[i];

		if (pg->kind == PAGE_SIDEBAR)
			continue;
		if (pg->kind == PAGE_MODULE && !mods) {
			md_puts(m, "- Modules\n");
			mods = true;
		}
		md_puts(m, pg->kind == PAGE_MODULE ? "  - " : "- ");
		builtin_link_page(m, pg);
		md_puts(m, "\n");
	}
}

void builtin_page_custom(struct md *m, struct builtin_ctx *c)
{
	builtin_header(m, c, c->req->page->title);
	if (c->req->page->arg) {
		md_puts(m, "This page was planned as: ");
		md_text(m, c->req->page->arg);
		md_puts(m, "\n\n");
	}
	md_puts(m, "The builtin generator has no specific content for this page; see the pages "
		   "below for what it knows about the repository.\n");
	builtin_footer(m, c);
}
