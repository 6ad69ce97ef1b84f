/* SPDX-License-Identifier: MIT */
/*
 * The builtin backend: Markdown pages rendered offline from repo_facts.
 *
 * Every page is a pure function of (plan, facts, url, repository name): no
 * clock, no environment, stable sort orders everywhere, so a commit always
 * gives byte-identical pages. Every string that comes from the repository
 * (paths, symbol names, authors, subjects, README text) goes through one of
 * three writers, md_text(), md_code() and md_url(), which turn invalid UTF-8
 * and control or bidi characters into U+FFFD and escape what would break
 * Markdown structure (tables, code spans, links, headings). Every list has a
 * cap with an "... and N more" line, and the page is built in a bounded
 * buffer whose overflow ends the page with a truncation note instead of an
 * error. Generation reads no blob (all it needs is in the facts), so it is
 * CPU-only, fast and needs no per-thread state; abort() has nothing to stop.
 */
#include "backend.h"
#include "lang.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define BUILTIN_PROMPT_VERSION "builtin-1"

#define MAX_LANG_ROWS	 20
#define MAX_LAYOUT_ROWS	 100
#define MAX_ROOT_FILES	 50
#define MAX_MODULE_FILES 400
#define MAX_FILE_SYMS	 60
#define MAX_PAGE_SYMS	 4000
#define MAX_EDGES	 300
#define MAX_ENTRY_POINTS 40
#define MAX_HISTORY	 100
#define MAX_MONTHS	 60
#define MAX_AUTHORS	 200
#define MAX_CI_FILES	 50
#define MAX_TARGETS	 40
#define README_PARAS	 3
#define README_BYTES	 2000
#define MD_MAX		 (PAGE_MAX_BYTES - (64u << 10))

/* ---- Markdown writers -------------------------------------------------- */

struct md {
	struct buf b;
	int err; /* sticky: the first failed append */
};

static void md_add(struct md *m, const char *s, size_t n)
{
	if (!m->err)
		m->err = buf_add(&m->b, s, n);
}

static void md_puts(struct md *m, const char *s)
{
	md_add(m, s, strlen(s));
}

static void md_printf(struct md *m, const char *fmt, ...) PRINTF(2, 3);
static void md_printf(struct md *m, const char *fmt, ...)
{
	va_list ap;

	if (m->err)
		return;
	va_start(ap, fmt);
	m->err = buf_vprintf(&m->b, fmt, ap);
	va_end(ap);
}

/*
 * Decodes one UTF-8 sequence at @s (n bytes left). Returns its length and
 * the code point in *cp, or -1 in *cp for an invalid or overlong sequence
 * (length 1 then, so the caller resynchronises on the next byte).
 */
static size_t utf8_next(const unsigned char *s, size_t n, long *cp)
{
	unsigned char c = s[0];
	size_t len;
	long v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n)
		goto bad;
	v = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = -1;
	return 1;
}

/* Characters never copied: controls, C1, line separators, bidi overrides. */
static bool unsafe_cp(long cp)
{
	return cp < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
	       cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

#define MDF_TABLE 1 /* inside a table cell: '|' must be escaped even in code */

/* Inline text: safe UTF-8, Markdown punctuation escaped. */
static void md_textn(struct md *m, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n && !m->err;) {
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (cp == '\t' || cp == '\n' || cp == '\r')
			md_add(m, " ", 1);
		else if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
		else if (cp < 0x80 && strchr("\\`*_[]<>|~&#!$", (int)cp))
			md_printf(m, "\\%c", (char)cp);
		else
			md_add(m, s + i, len);
		i += len;
	}
}

static void md_text(struct md *m, const char *s)
{
	md_textn(m, s, strlen(s));
}

/* A code span that no content can break out of. */
static void md_coden(struct md *m, const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0, longest = 0;
	char fence[16];
	bool pad;

	if (n == 0) {
		md_puts(m, "` `");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	longest = MIN(longest + 1, sizeof(fence) - 1);
	memset(fence, '`', longest);
	fence[longest] = '\0';
	pad = s[0] == '`' || s[n - 1] == '`' || s[0] == ' ';
	md_puts(m, fence);
	if (pad)
		md_add(m, " ", 1);
	for (size_t i = 0; i < n && !m->err;) {
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
		else if (cp == '|' && (flags & MDF_TABLE))
			md_add(m, "\\|", 2);
		else
			md_add(m, s + i, len);
		i += len;
	}
	if (pad)
		md_add(m, " ", 1);
	md_puts(m, fence);
}

static void md_code(struct md *m, const char *s, int flags)
{
	md_coden(m, s, strlen(s), flags);
}

/* A URL path component: everything but unreserved characters and '/' escaped. */
static void md_url(struct md *m, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p && !m->err; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			md_add(m, (const char *)p, 1);
		else
			md_printf(m, "%%%02X", *p);
	}
}

static void md_size(struct md *m, uint64_t n)
{
	if (n < 1024)
		md_printf(m, "%llu B", (unsigned long long)n);
	else if (n < (1u << 20))
		md_printf(m, "%.1f KiB", (double)n / 1024);
	else if (n < (1u << 30))
		md_printf(m, "%.1f MiB", (double)n / (1 << 20));
	else
		md_printf(m, "%.1f GiB", (double)n / (1 << 30));
}

static void md_date(struct md *m, int64_t t, bool month_only)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm)) {
		md_puts(m, "?");
		return;
	}
	if (month_only)
		md_printf(m, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	else
		md_printf(m, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- page context --------------------------------------------------------- */

struct ctx {
	const struct gen_request *req;
	const struct repo_facts *f;
	const struct facts_file *files;
	size_t nfiles;
	char base[512]; /* forge web URL without ".git", or "" */
	char short_id[13];
	const struct plan_page *mods[PLAN_MAX_PAGES];
	size_t nmods;
	int *file_mod; /* module index per file, -1 outside every module */
};

/* Known forges where URL/blob/COMMIT/PATH#Lline shows a file at a line. */
static void forge_base(struct ctx *c, const char *url)
{
	static const char *const hosts[] = { "github.com", "gitlab.com", "codeberg.org",
					     "gitea.com" };
	static const char *const prefixes[] = { "gitlab.", "github.", "gitea.", "forgejo." };
	const char *h, *slash;
	size_t hl, n;
	bool known = false;

	c->base[0] = '\0';
	if (!url || strncmp(url, "https://", 8))
		return;
	h = url + 8;
	slash = strchr(h, '/');
	if (!slash)
		return;
	hl = (size_t)(slash - h);
	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
		known |= strlen(hosts[i]) == hl && !strncasecmp(h, hosts[i], hl);
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		known |= !strncasecmp(h, prefixes[i], strlen(prefixes[i]));
	if (!known)
		return;
	/* no user information (a token must never reach a page), no odd bytes */
	for (const char *p = url + 8; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._~/:", *p))
			return;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n > 4 && !strncmp(url + n - 4, ".git", 4))
		n -= 4;
	if (n >= sizeof(c->base) || n <= (size_t)(slash - url) + 1)
		return;
	memcpy(c->base, url, n);
	c->base[n] = '\0';
}

/* Module owning @path: the longest module prefix; "." owns top-level files. */
static int module_of(const struct ctx *c, const char *path)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < c->nmods; i++) {
		const char *a = c->mods[i]->arg;
		size_t al = strlen(a);

		if (!strcmp(a, ".")) {
			if (!strchr(path, '/') && best < 0)
				best = (int)i;
			continue;
		}
		if (al > best_len && !strncmp(path, a, al) && (path[al] == '/' || !path[al])) {
			best = (int)i;
			best_len = al;
		}
	}
	return best;
}

static void link_page(struct md *m, const struct plan_page *pg)
{
	md_puts(m, "[");
	md_text(m, pg->title);
	md_puts(m, "](");
	md_url(m, pg->slug);
	md_puts(m, ".md)");
}

/* "[path:line](URL)" on a forge, "`path:line`" elsewhere. */
static void src_link(struct md *m, const struct ctx *c, const char *path, unsigned line)
{
	char ln[16];

	snprintf(ln, sizeof(ln), ":%u", line);
	if (c->base[0]) {
		md_puts(m, "[");
		md_text(m, path);
		md_puts(m, ln);
		md_printf(m, "](%s/blob/%s/", c->base, c->f ? facts_commit_id(c->f) : "");
		md_url(m, path);
		md_printf(m, "#L%u)", line);
	} else {
		_cleanup_free_ char *s = NULL;

		if (asprintf(&s, "%s%s", path, ln) < 0) {
			m->err = -ENOMEM;
			return;
		}
		md_code(m, s, 0);
	}
}

static void commit_ref(struct md *m, const struct ctx *c, const char *id, int flags)
{
	if (c->base[0])
		md_printf(m, "[`%.12s`](%s/commit/%s)", id, c->base, id);
	else
		md_printf(m, "`%.12s`", id);
	(void)flags;
}

static void page_header(struct md *m, const struct ctx *c, const char *title)
{
	md_puts(m, "# ");
	md_text(m, title);
	md_puts(m, "\n\n*Repository ");
	md_code(m, c->req->repo_name ? c->req->repo_name : "", 0);
	md_printf(m, " at commit `%s`", facts_commit_id(c->f));
	md_puts(m, c->base[0] ? "" : " (source locations below are at this commit)");
	md_puts(m, "; generated offline by wikifs from the repository alone.*\n\n");
}

static void page_footer(struct md *m, const struct ctx *c)
{
	const struct plan *p = c->req->plan;
	bool first = true;

	md_puts(m, "\n---\n\nPages: ");
	for (size_t i = 0; i < p->n; i++) {
		if (p->pages[i].kind == PAGE_SIDEBAR)
			continue;
		md_puts(m, first ? "" : " · ");
		link_page(m, &p->pages[i]);
		first = false;
	}
	md_puts(m, "\n");
}

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

static void lang_table(struct md *m, const struct ctx *c)
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

/*
 * The main language of files [first, first + n) (of module @mod when
 * @only_mod is given), by bytes, then name; NULL if none. Language names are
 * facts' static strings, so a few distinct pointers are all there is.
 */
static const char *main_lang(const struct ctx *c, size_t first, size_t n, const int *only_mod,
			     int mod)
{
	struct {
		const char *lang;
		uint64_t bytes;
	} l[64];
	size_t nl = 0, best = 0;

	for (size_t i = first; i < first + n; i++) {
		const char *lang = c->files[i].lang;
		size_t k;

		if (!lang || c->files[i].binary || (only_mod && only_mod[i] != mod))
			continue;
		for (k = 0; k < nl && l[k].lang != lang; k++)
			;
		if (k == nl) {
			if (nl == ARRAY_SIZE(l))
				continue;
			l[nl].lang = lang;
			l[nl++].bytes = 0;
		}
		l[k].bytes += c->files[i].size;
	}
	if (nl == 0)
		return NULL;
	for (size_t k = 1; k < nl; k++)
		if (l[k].bytes > l[best].bytes ||
		    (l[k].bytes == l[best].bytes && strcmp(l[k].lang, l[best].lang) < 0))
			best = k;
	return l[best].lang;
}

static void layout(struct md *m, const struct ctx *c)
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
			ml = main_lang(c, i, j - i, NULL, 0);
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

static size_t count_authors(const struct facts_commit *h, size_t n);

static void page_home(struct md *m, struct ctx *c)
{
	const char *rpath, *readme = facts_readme(c->f, &rpath);
	const struct facts_commit *h;
	size_t nh = facts_history(c->f, &h);
	struct facts_stats st;
	const struct plan *p = c->req->plan;

	facts_get_stats(c->f, &st);
	page_header(m, c, c->req->page->title);
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
	md_printf(m, "- **Contributors:** %zu%s\n", count_authors(h, nh),
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
		link_page(m, &p->pages[i]);
		md_puts(m, "\n");
	}
	page_footer(m, c);
}

/* ---- Sidebar -------------------------------------------------------------- */

static void page_sidebar(struct md *m, struct ctx *c)
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
		link_page(m, pg);
		md_puts(m, "\n");
	}
}

/* ---- Architecture ------------------------------------------------------- */

struct edge {
	int from, to;
	size_t n;
};

static int target_module(const struct ctx *c, const char *target)
{
	long i = facts_find_file(c->f, target);

	return i >= 0 ? c->file_mod[i] : module_of(c, target);
}

/* Module-to-module import counts, sorted by (from, to). */
static size_t module_edges(const struct ctx *c, struct edge **ret)
{
	const struct facts_import *im;
	size_t ni = facts_imports(c->f, &im), n = 0, nm = c->nmods;
	size_t *cnt = calloc(nm * nm + 1, sizeof(*cnt));
	struct edge *e;

	*ret = NULL;
	if (!cnt)
		return 0;
	for (size_t i = 0; i < ni; i++) {
		long fi = facts_find_file(c->f, im[i].from);
		int a = fi >= 0 ? c->file_mod[fi] : -1, b = target_module(c, im[i].target);

		if (a >= 0 && b >= 0 && a != b)
			cnt[(size_t)a * nm + (size_t)b]++;
	}
	e = malloc((nm * nm + 1) * sizeof(*e));
	if (e)
		for (size_t a = 0; a < nm; a++)
			for (size_t b = 0; b < nm; b++)
				if (cnt[a * nm + b])
					e[n++] = (struct edge){ (int)a, (int)b, cnt[a * nm + b] };
	free(cnt);
	*ret = e;
	return e ? n : 0;
}

static void mermaid_label(struct md *m, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n && !m->err;) {
		long cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (unsafe_cp(cp))
			md_add(m, "\xef\xbf\xbd", 3);
		else if (cp == '"')
			md_puts(m, "#quot;");
		else if (cp == '`')
			md_puts(m, "#96;");
		else if (cp == '<')
			md_puts(m, "#lt;");
		else if (cp == '>')
			md_puts(m, "#gt;");
		else if (cp == '#')
			md_puts(m, "#35;");
		else
			md_add(m, s + i, len);
		i += len;
	}
}

struct mod_stat {
	size_t files, syms;
	uint64_t bytes;
};

static void module_stats(const struct ctx *c, struct mod_stat *ms)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		int k = c->file_mod[i];
		const struct facts_symbol *s;

		if (k < 0)
			continue;
		ms[k].files++;
		ms[k].bytes += c->files[i].size;
		ms[k].syms += facts_file_symbols(c->f, i, &s);
	}
}

static bool entry_file(const char *path)
{
	static const char *const names[] = {
		"main.c",      "main.cc", "main.cpp", "main.go",   "main.rs",	"lib.rs",
		"__main__.py", "main.py", "app.py",   "cli.py",	   "manage.py", "index.js",
		"index.ts",    "main.js", "main.ts",  "server.js", "Main.java", "Application.java"
	};
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(b, names[i]))
			return true;
	return false;
}

static void page_architecture(struct md *m, struct ctx *c)
{
	struct mod_stat *ms = calloc(c->nmods + 1, sizeof(*ms));
	struct edge *e = NULL;
	size_t ne, shown = 0, outside = 0;

	if (!ms) {
		m->err = -ENOMEM;
		return;
	}
	page_header(m, c, c->req->page->title);
	module_stats(c, ms);
	for (size_t i = 0; i < c->nfiles; i++)
		outside += c->file_mod[i] < 0;
	md_printf(m,
		  "The repository is divided into %zu modules, chosen from its directory layout "
		  "(directories holding source code; vendored, generated and hidden directories "
		  "are left out). %zu files belong to no module.\n\n",
		  c->nmods, outside);
	md_puts(m, "## Modules\n\n");
	if (c->nmods) {
		md_puts(m, "| Module | Files | Size | Main language | Symbols |\n"
			   "|---|---:|---:|---|---:|\n");
		for (size_t k = 0; k < c->nmods; k++) {
			const char *ml = main_lang(c, 0, c->nfiles, c->file_mod, (int)k);

			md_puts(m, "| ");
			link_page(m, c->mods[k]);
			md_printf(m, " | %zu | ", ms[k].files);
			md_size(m, ms[k].bytes);
			md_puts(m, " | ");
			md_text(m, ml ? ml : "—");
			md_printf(m, " | %zu |\n", ms[k].syms);
		}
	} else {
		md_puts(m, "No module holds source code.\n");
	}

	ne = module_edges(c, &e);
	md_puts(m, "\n## Dependencies between modules\n\n");
	if (ne == 0) {
		md_puts(m, "No include or import between modules was found.\n");
	} else {
		md_puts(m, "Edges count the include/import statements that resolve to a file or "
			   "directory of another module.\n\n```mermaid\ngraph LR\n");
		for (size_t k = 0; k < c->nmods; k++) {
			md_printf(m, "  m%zu[\"", k);
			mermaid_label(m, strcmp(c->mods[k]->arg, ".") ? c->mods[k]->arg
								      : "(top level)");
			md_puts(m, "\"]\n");
		}
		for (size_t i = 0; i < ne && i < MAX_EDGES; i++)
			md_printf(m, "  m%d -->|%zu| m%d\n", e[i].from, e[i].n, e[i].to);
		md_puts(m, "```\n\n| From | To | Imports |\n|---|---|---:|\n");
		for (size_t i = 0; i < ne && i < MAX_EDGES; i++) {
			md_puts(m, "| ");
			link_page(m, c->mods[e[i].from]);
			md_puts(m, " | ");
			link_page(m, c->mods[e[i].to]);
			md_printf(m, " | %zu |\n", e[i].n);
		}
		if (ne > MAX_EDGES)
			md_printf(m, "\n... and %zu more edges.\n", ne - MAX_EDGES);
	}
	free(e);

	md_puts(m, "\n## Entry points\n\n");
	for (size_t i = 0; i < c->nfiles && shown < MAX_ENTRY_POINTS; i++) {
		const struct facts_symbol *s;
		size_t ns = facts_file_symbols(c->f, i, &s);
		bool listed = false;

		for (size_t k = 0; k < ns && shown < MAX_ENTRY_POINTS; k++) {
			size_t nl = strlen(s[k].name);

			if ((nl < 4 || strcmp(s[k].name + nl - 4, "main") ||
			     (nl > 4 && s[k].name[nl - 5] != '.' && s[k].name[nl - 5] != ':')) ||
			    !strcmp(s[k].kind, "prototype"))
				continue;
			md_puts(m, "- ");
			md_text(m, s[k].kind);
			md_puts(m, " ");
			md_code(m, s[k].name, 0);
			md_puts(m, " in ");
			src_link(m, c, s[k].path, s[k].line);
			md_puts(m, "\n");
			listed = true;
			shown++;
		}
		if (!listed && entry_file(c->files[i].path)) {
			md_puts(m, "- ");
			md_code(m, c->files[i].path, 0);
			md_puts(m, "\n");
			shown++;
		}
	}
	if (shown == 0)
		md_puts(m, "No conventional entry point (a `main` function or a main/index file) "
			   "was found.\n");
	free(ms);
	page_footer(m, c);
}

/* ---- Module ---------------------------------------------------------------- */

static void page_module(struct md *m, struct ctx *c)
{
	const struct plan_page *pg = c->req->page;
	int me = -1;
	struct edge *e = NULL;
	size_t ne, first = 0, n, files = 0, listed = 0, syms = 0, subs = 0;
	uint64_t bytes = 0;
	const char *ml;
	bool root;

	for (size_t k = 0; k < c->nmods; k++)
		if (c->mods[k] == pg)
			me = (int)k;
	root = pg->arg && !strcmp(pg->arg, ".");
	page_header(m, c, pg->title);
	if (me < 0 || !pg->arg) {
		md_puts(m, "This module names no directory.\n");
		page_footer(m, c);
		return;
	}
	n = root ? c->nfiles : facts_dir_range(c->f, pg->arg, &first);
	for (size_t i = first; i < first + n; i++) {
		if (c->file_mod[i] != me)
			continue;
		files++;
		bytes += c->files[i].size;
	}
	ml = main_lang(c, first, n, c->file_mod, me);
	if (root)
		md_printf(m, "The files at the top level of the repository: %zu files, ", files);
	else {
		md_puts(m, "Directory ");
		md_code(m, pg->arg, 0);
		md_printf(m, ": %zu files, ", files);
	}
	md_size(m, bytes);
	if (ml) {
		md_puts(m, ", mostly ");
		md_text(m, ml);
	}
	md_puts(m, ".\n\n");

	for (size_t k = 0; k < c->nmods; k++) {
		const char *a = c->mods[k]->arg;
		size_t al = strlen(pg->arg);

		if ((int)k == me || root || strncmp(a, pg->arg, al) || a[al] != '/')
			continue;
		md_puts(m, subs ? ", " : "Sub-modules with their own pages: ");
		link_page(m, c->mods[k]);
		subs++;
	}
	if (subs)
		md_puts(m, ".\n\n");

	ne = module_edges(c, &e);
	for (int dir = 0; dir < 2; dir++) {
		size_t shown = 0;

		for (size_t i = 0; i < ne; i++) {
			int self = dir == 0 ? e[i].from : e[i].to;
			int other = dir == 0 ? e[i].to : e[i].from;

			if (self != me)
				continue;
			md_puts(m, shown ? ", " : dir == 0 ? "**Depends on:** " : "**Used by:** ");
			link_page(m, c->mods[other]);
			md_printf(m, " (%zu)", e[i].n);
			shown++;
		}
		if (shown)
			md_puts(m, "\n\n");
	}
	free(e);

	md_puts(m, "## Files and symbols\n\n");
	for (size_t i = first; i < first + n && !m->err; i++) {
		const struct facts_file *ff = &c->files[i];
		const struct facts_file_ext *x = facts_file_ext(c->f, i);
		const struct facts_symbol *s;
		size_t ns;

		if (c->file_mod[i] != me)
			continue;
		if (listed >= MAX_MODULE_FILES) {
			listed++;
			continue;
		}
		listed++;
		ns = facts_file_symbols(c->f, i, &s);
		md_puts(m, "- ");
		md_code(m, ff->path, 0);
		md_puts(m, " — ");
		if (x->mode == 0120000)
			md_puts(m, "symbolic link");
		else if (x->mode == 0160000)
			md_puts(m, "submodule");
		else {
			md_text(m, ff->lang ? ff->lang : ff->binary ? "binary" : "other");
			md_puts(m, ", ");
			md_size(m, ff->size);
			if (ff->binary && ff->lang)
				md_puts(m, ", binary");
			if (!x->scanned && lang_is_code(ff->lang) && !ff->binary)
				md_puts(m, ", not scanned (too large)");
			else if (x->scanned && ff->size > FACTS_SCAN_MAX && ns)
				md_puts(m, ", symbols from its first 256 KiB");
		}
		md_puts(m, "\n");
		for (size_t k = 0; k < ns && k < MAX_FILE_SYMS && syms < MAX_PAGE_SYMS;
		     k++, syms++) {
			md_puts(m, "  - ");
			md_text(m, s[k].kind);
			md_puts(m, " ");
			md_code(m, s[k].name, 0);
			md_puts(m, " — ");
			src_link(m, c, s[k].path, s[k].line);
			md_puts(m, "\n");
		}
		if (ns > MAX_FILE_SYMS || (ns && syms >= MAX_PAGE_SYMS))
			md_printf(m, "  - ... and %zu more symbols\n",
				  ns - MIN(ns, (size_t)MAX_FILE_SYMS));
	}
	if (listed > MAX_MODULE_FILES)
		md_printf(m, "\n... and %zu more files.\n", listed - MAX_MODULE_FILES);
	if (listed == 0)
		md_puts(m, "No files.\n");
	page_footer(m, c);
}

/* ---- Build and Test ------------------------------------------------------- */

static const struct facts_manifest *manifest(const struct ctx *c, const char *name)
{
	const struct facts_manifest *mf;
	size_t n = facts_manifests(c->f, &mf);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(mf[i].path, name))
			return &mf[i];
	return NULL;
}

/* Make targets: "name:" at the start of a line, not a variable or a special target. */
static size_t make_targets(struct md *m, const char *text, bool *has_test, bool *has_check)
{
	const char *p = text;
	size_t n = 0;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *le = nl ? nl : p + strlen(p);
		size_t k = 0;

		while (p + k < le && (isalnum((unsigned char)p[k]) || strchr("_-.", p[k])))
			k++;
		if (k && p[0] != '.' && p + k < le && p[k] == ':' &&
		    (p + k + 1 == le || p[k + 1] != '=')) {
			if (k == 4 && !strncmp(p, "test", 4))
				*has_test = true;
			if (k == 5 && !strncmp(p, "check", 5))
				*has_check = true;
			if (n < MAX_TARGETS) {
				md_puts(m, n ? ", " : "Targets: ");
				md_coden(m, p, k, 0);
			}
			n++;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (n > MAX_TARGETS)
		md_printf(m, " ... and %zu more", n - MAX_TARGETS);
	if (n)
		md_puts(m, ".\n\n");
	return n;
}

static void npm_scripts(struct md *m, const struct facts_manifest *mf, bool *has_test,
			bool *has_build)
{
	const char *end = NULL;
	cJSON *root, *scripts, *it;
	size_t n = 0;

	if (!mf->text)
		return;
	root = cJSON_ParseWithOpts(mf->text, &end, 0);
	if (!root)
		return;
	scripts = cJSON_GetObjectItemCaseSensitive(root, "scripts");
	cJSON_ArrayForEach(it, scripts)
	{
		if (!cJSON_IsString(it) || !it->string)
			continue;
		if (!strcmp(it->string, "test"))
			*has_test = true;
		if (!strcmp(it->string, "build"))
			*has_build = true;
		if (n < MAX_TARGETS) {
			md_puts(m, n ? "" : "Scripts:\n\n");
			md_puts(m, "- ");
			md_code(m, it->string, 0);
			md_puts(m, ": ");
			md_code(m, it->valuestring, 0);
			md_puts(m, "\n");
		}
		n++;
	}
	if (n > MAX_TARGETS)
		md_printf(m, "- ... and %zu more scripts\n", n - MAX_TARGETS);
	if (n)
		md_puts(m, "\n");
	cJSON_Delete(root);
}

static bool is_ci(const char *p)
{
	return ((lang_name_roles(p, false) | lang_path_roles(p)) & LANG_CI) != 0;
}

static bool is_test_dir(const char *name, size_t n)
{
	static const char *const names[] = { "test",	 "tests",      "t",
					     "spec",	 "testing",    "__tests__",
					     "testdata", "test-suite", "testsuite" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(name, names[i], n))
			return true;
	return false;
}

static void page_build(struct md *m, struct ctx *c)
{
	const struct lang_build_system *bsystems;
	size_t nbs = lang_build_systems(&bsystems), found = 0, ci = 0, tdirs = 0;

	page_header(m, c, c->req->page->title);
	md_puts(m, "Build systems are recognised from the manifests at the top level of the "
		   "repository; the commands are the usual ones for each system.\n\n");
	for (size_t s = 0; s < nbs; s++) {
		const struct lang_build_system *b = &bsystems[s];
		const struct facts_manifest *mf = NULL;
		bool has_test = false, has_check = false, has_build = false;
		const char *test = b->test;

		for (size_t k = 0; k < ARRAY_SIZE(b->files) && b->files[k] && !mf; k++)
			mf = manifest(c, b->files[k]);
		if (!mf)
			continue;
		found++;
		md_printf(m, "## %s\n\nFound ", b->name);
		md_code(m, mf->path, 0);
		md_puts(m, ".\n\n");
		if (!strcmp(b->name, "Make")) {
			make_targets(m, mf->text, &has_test, &has_check);
			test = has_test ? "make test" : has_check ? "make check" : NULL;
		} else if (!strcmp(b->name, "npm (Node.js)")) {
			npm_scripts(m, mf, &has_test, &has_build);
			test = has_test ? "npm test" : NULL;
		} else if (!strcmp(b->name, "Go modules") && mf->text) {
			const char *t = strstr(mf->text, "module ");

			if (t && (t == mf->text || t[-1] == '\n')) {
				size_t n = strcspn(t + 7, " \t\r\n");

				md_puts(m, "Module path: ");
				md_coden(m, t + 7, n, 0);
				md_puts(m, ".\n\n");
			}
		}
		md_puts(m, "```sh\n");
		if (!strcmp(b->name, "Autotools"))
			md_puts(m,
				manifest(c, "autogen.sh") ? "./autogen.sh\n" : "autoreconf -fi\n");
		if (!strcmp(b->name, "Autotools"))
			md_puts(m, "./configure\nmake\n");
		if (!strcmp(b->name, "Gradle") && !manifest(c, "gradlew")) {
			md_puts(m, "gradle build\n");
			test = "gradle test";
		} else if (b->build) {
			md_printf(m, "%s\n", b->build);
		}
		if (has_build)
			md_puts(m, "npm run build\n");
		if (test)
			md_printf(m, "# tests\n%s\n", test);
		md_puts(m, "```\n\n");
	}
	if (!found)
		md_puts(m, "No build manifest was found at the top level.\n\n");

	md_puts(m, "## Tests\n\n");
	for (size_t i = 0; i < c->nfiles;) {
		const char *p = c->files[i].path, *s1 = strchr(p, '/'), *s2;
		const char *name = p;
		size_t n, j = i + 1, pl;

		if (!s1) {
			i++;
			continue;
		}
		n = (size_t)(s1 - p);
		pl = n;
		if (!is_test_dir(name, n)) {
			/* one level down: src/tests, pkg/test */
			s2 = strchr(s1 + 1, '/');
			name = s1 + 1;
			n = s2 ? (size_t)(s2 - name) : 0;
			pl = s2 ? (size_t)(s2 - p) : 0;
			if (!s2 || !is_test_dir(name, n)) {
				i++;
				continue;
			}
		}
		while (j < c->nfiles && !strncmp(c->files[j].path, p, pl + 1))
			j++;
		if (tdirs < 20) {
			_cleanup_free_ char *d = strndup(p, pl + 1);

			md_puts(m, "- ");
			md_code(m, d ? d : "?", 0);
			md_printf(m, ": %zu files\n", j - i);
		}
		tdirs++;
		i = j;
	}
	if (tdirs > 20)
		md_printf(m, "- ... and %zu more test directories\n", tdirs - 20);
	if (!tdirs)
		md_puts(m, "No test directory (test/, tests/, spec/, ...) was found.\n");

	md_puts(m, "\n## Continuous integration\n\n");
	for (size_t i = 0; i < c->nfiles; i++) {
		if (!is_ci(c->files[i].path))
			continue;
		if (ci < MAX_CI_FILES) {
			md_puts(m, "- ");
			md_code(m, c->files[i].path, 0);
			md_puts(m, "\n");
		}
		ci++;
	}
	if (ci > MAX_CI_FILES)
		md_printf(m, "- ... and %zu more\n", ci - MAX_CI_FILES);
	if (!ci)
		md_puts(m, "No CI configuration was found.\n");
	page_footer(m, c);
}

/* ---- History and Contributors -------------------------------------------- */

static void page_history(struct md *m, struct ctx *c)
{
	const struct facts_commit *h;
	size_t n = facts_history(c->f, &h), nm = 0;
	struct facts_stats st;
	struct {
		int ym;
		size_t n;
	} *months = calloc(n + 1, sizeof(*months));

	if (!months) {
		m->err = -ENOMEM;
		return;
	}
	facts_get_stats(c->f, &st);
	page_header(m, c, c->req->page->title);
	md_printf(m, "%s%zu commits are reachable from this commit%s.\n\n",
		  st.history_truncated ? "At least " : "", n,
		  st.history_truncated ? " (only the most recent were read)" : "");
	md_printf(m, "## Recent commits\n\n| Date (UTC) | Commit | Author | Subject |\n"
		     "|---|---|---|---|\n");
	for (size_t i = 0; i < n && i < MAX_HISTORY; i++) {
		md_puts(m, "| ");
		md_date(m, h[i].time, false);
		md_puts(m, " | ");
		commit_ref(m, c, h[i].id, MDF_TABLE);
		md_puts(m, " | ");
		md_text(m, h[i].author);
		md_puts(m, " | ");
		md_text(m, h[i].subject);
		md_puts(m, " |\n");
	}
	if (n > MAX_HISTORY)
		md_printf(m, "\n... and %zu older commits.\n", n - MAX_HISTORY);

	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)h[i].time;
		struct tm tm;
		int ym;
		size_t k;

		if (!gmtime_r(&t, &tm))
			continue;
		ym = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
		for (k = 0; k < nm && months[k].ym != ym; k++)
			;
		if (k == nm)
			months[nm++].ym = ym;
		months[k].n++;
	}
	/* newest month first: insertion sort, months are few */
	for (size_t i = 1; i < nm; i++)
		for (size_t j = i; j > 0 && months[j - 1].ym < months[j].ym; j--) {
			__typeof__(*months) t = months[j];

			months[j] = months[j - 1];
			months[j - 1] = t;
		}
	if (nm) {
		md_puts(m, "\n## Activity by month\n\n| Month | Commits |\n|---|---:|\n");
		for (size_t i = 0; i < nm && i < MAX_MONTHS; i++)
			md_printf(m, "| %04d-%02d | %zu |\n", months[i].ym / 100,
				  months[i].ym % 100, months[i].n);
		if (nm > MAX_MONTHS)
			md_printf(m, "\n... and %zu earlier months.\n", nm - MAX_MONTHS);
	}
	free(months);
	page_footer(m, c);
}

static int cmp_author(const void *a, const void *b)
{
	const struct facts_commit *x = *(const struct facts_commit *const *)a;
	const struct facts_commit *y = *(const struct facts_commit *const *)b;
	int r = strcmp(x->author, y->author);

	if (r)
		return r;
	return x->time < y->time ? -1 : x->time > y->time;
}

struct author {
	const char *name;
	size_t n;
	int64_t first, last;
};

static int cmp_count(const void *a, const void *b)
{
	const struct author *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Authors grouped by name; *ret sorted by commits then name. */
static size_t authors(const struct facts_commit *h, size_t n, struct author **ret)
{
	const struct facts_commit **v = malloc((n + 1) * sizeof(*v));
	struct author *a = malloc((n + 1) * sizeof(*a));
	size_t na = 0;

	*ret = NULL;
	if (!v || !a) {
		free(v);
		free(a);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &h[i];
	qsort(v, n, sizeof(*v), cmp_author);
	for (size_t i = 0; i < n; i++) {
		if (na && !strcmp(a[na - 1].name, v[i]->author)) {
			a[na - 1].n++;
			a[na - 1].last = v[i]->time;
		} else {
			a[na++] = (struct author){ v[i]->author, 1, v[i]->time, v[i]->time };
		}
	}
	free(v);
	qsort(a, na, sizeof(*a), cmp_count);
	*ret = a;
	return na;
}

static size_t count_authors(const struct facts_commit *h, size_t n)
{
	struct author *a;
	size_t na = authors(h, n, &a);

	free(a);
	return na;
}

static void page_contributors(struct md *m, struct ctx *c)
{
	const struct facts_commit *h;
	size_t n = facts_history(c->f, &h), na;
	struct author *a;
	struct facts_stats st;

	facts_get_stats(c->f, &st);
	page_header(m, c, c->req->page->title);
	na = authors(h, n, &a);
	if (n && !a) {
		m->err = -ENOMEM;
		return;
	}
	md_printf(m,
		  "%zu authors wrote the %s%zu commits reachable from this commit "
		  "(authors are grouped by name).\n\n",
		  na, st.history_truncated ? "most recent " : "", n);
	md_puts(m,
		"| # | Author | Commits | First commit | Last commit |\n|---:|---|---:|---|---|\n");
	for (size_t i = 0; i < na && i < MAX_AUTHORS; i++) {
		md_printf(m, "| %zu | ", i + 1);
		md_text(m, a[i].name);
		md_printf(m, " | %zu | ", a[i].n);
		md_date(m, a[i].first, false);
		md_puts(m, " | ");
		md_date(m, a[i].last, false);
		md_puts(m, " |\n");
	}
	if (na > MAX_AUTHORS)
		md_printf(m, "\n... and %zu more authors.\n", na - MAX_AUTHORS);
	free(a);
	page_footer(m, c);
}

static void page_custom(struct md *m, struct ctx *c)
{
	page_header(m, c, c->req->page->title);
	if (c->req->page->arg) {
		md_puts(m, "This page was planned as: ");
		md_text(m, c->req->page->arg);
		md_puts(m, "\n\n");
	}
	md_puts(m, "The builtin generator has no specific content for this page; see the pages "
		   "below for what it knows about the repository.\n");
	page_footer(m, c);
}

/* ---- backend ops ------------------------------------------------------------ */

static int builtin_init(void **state, const struct conf *c, struct wf_err *err)
{
	*state = NULL;
	return 0;
}

static void builtin_done(void *state)
{
}

static int builtin_worker_init(void *state, void **wstate)
{
	*wstate = NULL;
	return 0;
}

static void builtin_worker_done(void *state, void *wstate)
{
}

static void builtin_abort(void *state)
{
	/* generation is CPU-only and bounded: nothing to interrupt */
}

static int builtin_generate(void *state, void *wstate, const struct gen_request *req,
			    struct buf *out, struct gen_usage *usage, struct gen_err *err)
{
	struct ctx *c;
	struct md m = { .err = 0 };
	int r = 0;

	if (err) {
		err->retryable = false;
		err->retry_after_ms = 0;
		err->budget = false;
		wf_err_clear(&err->e);
	}
	if (!req || !req->facts || !req->plan || !req->page)
		return wf_err_set(err ? &err->e : NULL, -EINVAL, "builtin: incomplete request");
	c = calloc(1, sizeof(*c));
	if (!c)
		return wf_err_set(err ? &err->e : NULL, -ENOMEM, "builtin: out of memory");
	c->req = req;
	c->f = req->facts;
	c->nfiles = facts_files(c->f, &c->files);
	snprintf(c->short_id, sizeof(c->short_id), "%.12s", facts_commit_id(c->f));
	forge_base(c, req->url);
	for (size_t i = 0; i < req->plan->n && c->nmods < PLAN_MAX_PAGES; i++)
		if (req->plan->pages[i].kind == PAGE_MODULE && req->plan->pages[i].arg)
			c->mods[c->nmods++] = &req->plan->pages[i];
	c->file_mod = malloc((c->nfiles + 1) * sizeof(*c->file_mod));
	if (!c->file_mod) {
		free(c);
		return wf_err_set(err ? &err->e : NULL, -ENOMEM, "builtin: out of memory");
	}
	for (size_t i = 0; i < c->nfiles; i++)
		c->file_mod[i] = module_of(c, c->files[i].path);

	buf_init(&m.b, MD_MAX);
	switch (req->page->kind) {
	case PAGE_HOME:
		page_home(&m, c);
		break;
	case PAGE_SIDEBAR:
		page_sidebar(&m, c);
		break;
	case PAGE_ARCHITECTURE:
		page_architecture(&m, c);
		break;
	case PAGE_MODULE:
		page_module(&m, c);
		break;
	case PAGE_BUILD:
		page_build(&m, c);
		break;
	case PAGE_HISTORY:
		page_history(&m, c);
		break;
	case PAGE_CONTRIBUTORS:
		page_contributors(&m, c);
		break;
	default:
		page_custom(&m, c);
		break;
	}
	if (m.err == -ENOMEM) {
		r = wf_err_set(err ? &err->e : NULL, -ENOMEM, "builtin: out of memory");
		if (err)
			err->retryable = true;
	} else {
		r = buf_add(out, m.b.data ? m.b.data : "", m.b.len);
		if (r == 0 && m.err == -E2BIG)
			r = buf_adds(out,
				     "\n\n*(page truncated: it reached the page size limit)*\n");
		if (r < 0)
			wf_err_set(err ? &err->e : NULL, r,
				   "builtin: page of %zu bytes does not fit", m.b.len);
	}
	if (usage)
		usage->input_tokens += 0;
	buf_done(&m.b);
	free(c->file_mod);
	free(c);
	return r;
}

const struct backend_ops backend_builtin = {
	.name = "builtin",
	.prompt_version = BUILTIN_PROMPT_VERSION,
	.init = builtin_init,
	.done = builtin_done,
	.worker_init = builtin_worker_init,
	.worker_done = builtin_worker_done,
	.generate = builtin_generate,
	.abort = builtin_abort,
};
