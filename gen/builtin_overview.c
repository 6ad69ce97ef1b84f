/* SPDX-License-Identifier: MIT */
/*
 * The Home page (README summary, figures, languages, layout, page list),
 * the sidebar and the page for a custom plan entry.
 */
#include "builtin_int.h"

#include <ctype.h>
#include <string.h>

#define MAX_LANG_ROWS	20
#define MAX_LAYOUT_ROWS 100
#define MAX_ROOT_FILES	50
#define README_PARAS	3
#define README_BYTES	2000

/* ---- Home -------------------------------------------------------------------- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The first prose paragraphs of the README, quoted. Headings, fenced code,
 * HTML, tables, badges and link definitions are skipped, so nothing in the
 * README can open a block that swallows the rest of the page.
 */
static void readme_summary(struct md *m, const char *text)
{
	const char *p = text, *end = text + strlen(text);
	size_t paras = 0, bytes = 0, fence = 0;
	bool in_para = false;
	char fch = 0;

	while (p < end && paras < README_PARAS && bytes < README_BYTES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *t = p;
		size_t n;

		while (t < le && (*t == ' ' || *t == '\t'))
			t++;
		n = (size_t)(le - t);
		if (n > 0 && t[n - 1] == '\r')
			n--;
		if (fence) {
			size_t k = 0;

			while (k < n && t[k] == fch)
				k++;
			if (k >= fence && blank(t + k, n - k))
				fence = 0;
			goto next;
		}
		if (n >= 3 && (!strncmp(t, "```", 3) || !strncmp(t, "~~~", 3))) {
			fch = t[0];
			for (fence = 0; fence < n && t[fence] == fch; fence++)
				;
			goto end_para;
		}
		if (blank(t, n) || *t == '#' || *t == '<' || *t == '|' || *t == '[' ||
		    (*t == '!' && n > 1 && t[1] == '[') || (n >= 3 && strspn(t, "=-*_ ") == n) ||
		    (*t == '.' && n > 1 && t[1] == '.'))
			goto end_para;
		if (!in_para && paras)
			md_puts(m, ">\n");
		md_puts(m, in_para ? " " : "> ");
		md_textn(m, t, MIN(n, README_BYTES - bytes));
		bytes += n;
		in_para = true;
		goto next;
	end_para:
		if (in_para) {
			md_puts(m, "\n");
			paras++;
			in_para = false;
		}
	next:
		p = nl ? nl + 1 : end;
	}
	if (in_para)
		md_puts(m, "\n");
	if (bytes >= README_BYTES)
		md_puts(m, ">\n> …\n");
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
	struct facts_stats st;
	const struct plan *p = c->req->plan;

	facts_get_stats(c->f, &st);
	builtin_header(m, c, c->req->page->title);
	md_puts(m, "## Overview\n\n");
	if (readme && !blank(readme, strlen(readme))) {
		md_puts(m, "From ");
		md_code(m, rpath, 0);
		md_puts(m, ":\n\n");
		readme_summary(m, readme);
		md_puts(m, "\n");
	} else {
		md_puts(m, "This repository has no top-level README.\n\n");
	}
	md_printf(m, "- **Files:** %zu", st.files_total);
	if (st.files_dropped)
		md_printf(m, " (%zu not indexed: too many, too deep or too long a name)",
			  st.files_dropped);
	md_puts(m, "\n- **Size:** ");
	md_size(m, st.bytes_total);
	md_printf(m, "\n- **Commits:** %s%zu\n", st.history_truncated ? "at least " : "", nh);
	md_printf(m, "- **Contributors:** %zu%s\n", builtin_count_authors(h, nh),
		  st.history_truncated ? " (in the commits walked)" : "");
	if (nh) {
		md_puts(m, "- **Latest commit:** ");
		md_date(m, h[0].time, false);
		md_puts(m, " — ");
		md_text(m, h[0].subject);
		md_puts(m, "\n");
	}
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
