/* SPDX-License-Identifier: MIT */
/*
 * The facts a prompt gives the model besides file text, each what the
 * builtin pages already know: the outline of a scope (top-level symbols
 * with their lines), the import graph (within a module, out of it and into
 * it; between modules for Architecture), the entry points, the build
 * systems with their usual commands, and figures over the history with its
 * newest commits. Each section is bounded in lines and bytes, and records
 * every file it consulted (prompt_use()), since what it says would change
 * with that file.
 */
#include "prompt_int.h"
#include "lang.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTLINE_BYTES	  (16u << 10)
#define OUTLINE_FILE_SYMS 40
#define IMPORT_LINES	  120
#define IMPORT_TARGETS	  30
#define ENTRY_LINES	  40
#define EDGE_LINES	  200
#define HISTORY_LONG	  200
#define AUTHORS_MAX	  100

int prompt_facts_outline(struct buf *u, struct prompt_scope *s, const size_t *idx, size_t n)
{
	size_t start = u->len, files = 0;
	int r;

	r = buf_adds(u, "\n## Outline (top-level symbols: kind name:line)\n");
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct facts_symbol *sym;
		size_t ns = facts_file_symbols(s->f, idx[i], &sym);

		if (u->len - start > OUTLINE_BYTES) {
			r = buf_printf(u, "- ... (%zu more files not outlined)\n", n - i);
			break;
		}
		r = prompt_use(s, s->files[idx[i]].path, PROMPT_USED_FACTS);
		if (ns == 0 || r)
			continue;
		r = buf_adds(u, "- ");
		r = r ?: prompt_add_clean(u, s->files[idx[i]].path, 512);
		r = r ?: buf_adds(u, ":");
		for (size_t k = 0; k < ns && k < OUTLINE_FILE_SYMS && r == 0; k++) {
			r = buf_adds(u, k ? ", " : " ");
			r = r ?: prompt_add_clean(u, sym[k].kind, 32);
			r = r ?: buf_addc(u, ' ');
			r = r ?: prompt_add_clean(u, sym[k].name, 128);
			r = r ?: buf_printf(u, ":%u", sym[k].line);
		}
		if (r == 0 && ns > OUTLINE_FILE_SYMS)
			r = buf_printf(u, ", ... (%zu more)", ns - OUTLINE_FILE_SYMS);
		r = r ?: buf_addc(u, '\n');
		files++;
	}
	if (r == 0 && files == 0)
		r = buf_adds(u, "(no symbols found)\n");
	return r;
}

/* Is the import target @t (a file, or a package directory) in the scope? */
static bool target_in_scope(const struct prompt_scope *s, const char *t)
{
	_cleanup_free_ char *inside = NULL;

	if (facts_find_file(s->f, t) >= 0)
		return prompt_in_scope(s, t);
	if (asprintf(&inside, "%s/x", t) < 0)
		return false;
	return prompt_in_scope(s, inside);
}

/* Is the import @im in @group: 0 within the scope, 1 out of it, 2 into it? */
static bool in_group(const struct prompt_scope *s, const struct facts_import *im, int group)
{
	bool from, to;

	if (!im->target)
		return false;
	from = prompt_in_scope(s, im->from);
	to = target_in_scope(s, im->target);
	return group == 0 ? from && to : group == 1 ? from && !to : !from && to;
}

/*
 * One line per importing file: "- from -> target, target" (each target
 * once). Imports are ordered by importing file, so a file's run is
 * [@i, *@next).
 */
static int import_line(struct buf *u, struct prompt_scope *s, const struct facts_import *im,
		       size_t ni, size_t i, int group, size_t *next)
{
	size_t j = i, shown = 0;
	int r = prompt_use(s, im[i].from, PROMPT_USED_FACTS);

	r = r ?: buf_adds(u, "- ");
	r = r ?: prompt_add_clean(u, im[i].from, 512);
	r = r ?: buf_adds(u, " ->");
	for (; j < ni && !strcmp(im[j].from, im[i].from) && r == 0; j++) {
		bool dup = false;

		if (!in_group(s, &im[j], group))
			continue;
		for (size_t k = i; k < j && !dup; k++)
			dup = in_group(s, &im[k], group) && !strcmp(im[k].target, im[j].target);
		if (dup || shown++ >= IMPORT_TARGETS)
			continue;
		r = buf_adds(u, shown > 1 ? ", " : " ");
		r = r ?: prompt_add_clean(u, im[j].target, 512);
	}
	if (r == 0 && shown > IMPORT_TARGETS)
		r = buf_printf(u, ", ... (%zu more)", shown - IMPORT_TARGETS);
	*next = j;
	return r ?: buf_addc(u, '\n');
}

int prompt_facts_imports(struct buf *u, struct prompt_scope *s)
{
	static const char *const heads[] = { "within the module", "out of the module",
					     "into the module (who uses it)" };
	const struct facts_import *im;
	size_t ni = facts_imports(s->f, &im);
	int r = 0;

	for (int group = 0; group < 3 && r == 0; group++) {
		size_t lines = 0, total = 0;

		for (size_t i = 0, next; i < ni && r == 0; i = next) {
			next = i + 1;
			if (!in_group(s, &im[i], group))
				continue;
			if (total++ == 0)
				r = buf_printf(u, "\n## Imports %s (importing file -> targets)\n",
					       heads[group]);
			if (r == 0 && lines < IMPORT_LINES) {
				r = import_line(u, s, im, ni, i, group, &next);
				lines++;
			} else {
				r = r ?: prompt_use(s, im[i].from, PROMPT_USED_FACTS);
				while (next < ni && !strcmp(im[next].from, im[i].from))
					next++;
			}
		}
		if (r == 0 && total > lines)
			r = buf_printf(u, "- ... (%zu more importing files)\n", total - lines);
	}
	return r;
}

/* The module page index owning @path (the longest module prefix; "." owns top-level files). */
static long module_of(const struct plan *plan, const char *path)
{
	long best = -1;
	size_t best_len = 0;

	for (size_t i = 0; plan && i < plan->n; i++) {
		const char *a = plan->pages[i].arg;
		size_t al = a ? strlen(a) : 0;

		if (plan->pages[i].kind != PAGE_MODULE || !a)
			continue;
		if (!strcmp(a, ".")) {
			if (!strchr(path, '/') && best < 0)
				best = (long)i;
		} else if (al > best_len && !strncmp(path, a, al) &&
			   (!path[al] || path[al] == '/')) {
			best = (long)i;
			best_len = al;
		}
	}
	return best;
}

struct medge {
	long from, to;
	size_t n;
};

static int cmp_medge(const void *a, const void *b)
{
	const struct medge *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->from != y->from ? (x->from < y->from ? -1 : 1) : (x->to < y->to ? -1 : 1);
}

/* The module of import target @t, a file or a package directory. */
static long target_module(const struct prompt_scope *s, const char *t)
{
	_cleanup_free_ char *inside = NULL;

	if (facts_find_file(s->f, t) >= 0)
		return module_of(s->plan, t);
	return asprintf(&inside, "%s/x", t) < 0 ? -1 : module_of(s->plan, inside);
}

/* Module-to-module import counts (a matrix over the plan's pages), most first. */
static int module_edges(struct prompt_scope *s, struct medge **ret, size_t *ne)
{
	const struct facts_import *im;
	size_t ni = facts_imports(s->f, &im), np = s->plan ? s->plan->n : 0, n = 0;
	_cleanup_free_ size_t *cnt = calloc(np * np + 1, sizeof(*cnt));
	struct medge *e;

	*ret = NULL;
	*ne = 0;
	if (!cnt)
		return -ENOMEM;
	for (size_t i = 0; i < ni; i++) {
		long a = im[i].target ? module_of(s->plan, im[i].from) : -1;
		long b = a >= 0 ? target_module(s, im[i].target) : -1;

		if (b >= 0 && a != b)
			cnt[(size_t)a * np + (size_t)b]++;
	}
	e = malloc((np * np + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t k = 0; k < np * np; k++)
		if (cnt[k])
			e[n++] = (struct medge){ (long)(k / np), (long)(k % np), cnt[k] };
	qsort(e, n, sizeof(*e), cmp_medge);
	*ret = e;
	*ne = n;
	return 0;
}

static int add_modules_table(struct buf *u, struct prompt_scope *s)
{
	int r = buf_adds(u, "\n## Modules (directory: files, main language by files)\n");

	for (size_t i = 0; s->plan && i < s->plan->n && r == 0; i++) {
		const struct plan_page *p = &s->plan->pages[i];
		const char *lang = NULL, *langs[8] = { NULL };
		size_t files = 0, counts[8] = { 0 };

		if (p->kind != PAGE_MODULE || !p->arg)
			continue;
		for (size_t k = 0; k < s->nfiles; k++) {
			size_t j;

			if (module_of(s->plan, s->files[k].path) != (long)i)
				continue;
			files++;
			for (j = 0; j < 8 && langs[j] && langs[j] != s->files[k].lang; j++)
				;
			if (j < 8 && s->files[k].lang) {
				langs[j] = s->files[k].lang;
				counts[j]++;
			}
		}
		for (size_t j = 0, best = 0; j < 8; j++)
			if (langs[j] && counts[j] > best) {
				best = counts[j];
				lang = langs[j];
			}
		r = prompt_use(s, p->arg, PROMPT_USED_DIR);
		r = r ?: buf_adds(u, "- ");
		r = r ?: prompt_add_clean(u, p->arg, 512);
		r = r
			?: buf_printf(u, ": %zu files%s%s\n", files, lang ? ", " : "",
				      lang ? lang : "");
	}
	return r;
}

int prompt_facts_modules(struct buf *u, struct prompt_scope *s)
{
	struct medge *e = NULL;
	size_t ne = 0;
	int r;

	r = add_modules_table(u, s);
	/* the graph reads every code file's imports: each is a dependency */
	for (size_t k = 0; k < s->nfiles && r == 0; k++)
		if (lang_is_code(s->files[k].lang))
			r = prompt_use(s, s->files[k].path, PROMPT_USED_FACTS);
	r = r ?: module_edges(s, &e, &ne);
	if (r == 0 && ne)
		r = buf_adds(u, "\n## Imports between modules (from -> to: count)\n");
	for (size_t i = 0; i < ne && i < EDGE_LINES && r == 0; i++) {
		r = buf_adds(u, "- ");
		r = r ?: prompt_add_clean(u, s->plan->pages[e[i].from].arg, 512);
		r = r ?: buf_adds(u, " -> ");
		r = r ?: prompt_add_clean(u, s->plan->pages[e[i].to].arg, 512);
		r = r ?: buf_printf(u, ": %zu\n", e[i].n);
	}
	if (r == 0 && ne > EDGE_LINES)
		r = buf_printf(u, "- ... (%zu more)\n", ne - EDGE_LINES);
	free(e);
	return r;
}

int prompt_facts_entries(struct buf *u, struct prompt_scope *s)
{
	size_t shown = 0, total = 0;
	int r = 0;

	for (size_t i = 0; i < s->nfiles && r == 0; i++) {
		const struct facts_symbol *sym;
		size_t ns;
		unsigned line = 0;

		if (!prompt_in_scope(s, s->files[i].path) || !prompt_is_entry(s->f, i) ||
		    prompt_class_of(&s->files[i]) > PC_DOC)
			continue;
		if (total++ == 0)
			r = buf_adds(u,
				     "\n## Entry points (a main, or a conventional entry file)\n");
		if (r || shown == ENTRY_LINES)
			continue;
		ns = facts_file_symbols(s->f, i, &sym);
		for (size_t k = 0; k < ns && !line; k++)
			line = prompt_is_main(&sym[k]) ? sym[k].line : 0;
		r = prompt_use(s, s->files[i].path, PROMPT_USED_FACTS);
		r = r ?: buf_adds(u, "- ");
		r = r ?: prompt_add_clean(u, s->files[i].path, 512);
		r = r ?: line ? buf_printf(u, ":%u (main)\n", line) : buf_addc(u, '\n');
		shown++;
	}
	if (r == 0 && total > shown)
		r = buf_printf(u, "- ... (%zu more)\n", total - shown);
	return r;
}

int prompt_facts_build(struct buf *u, struct prompt_scope *s)
{
	const struct lang_build_system *bs;
	const struct facts_manifest *mf;
	size_t nbs = lang_build_systems(&bs), nmf = facts_manifests(s->f, &mf), found = 0;
	int r = prompt_use(s, ".", PROMPT_USED_DIR);

	for (size_t i = 0; i < nbs && r == 0; i++) {
		const char *path = NULL;

		for (size_t k = 0; k < ARRAY_SIZE(bs[i].files) && bs[i].files[k] && !path; k++)
			for (size_t m = 0; m < nmf && !path; m++)
				if (!strcmp(mf[m].path, bs[i].files[k]))
					path = mf[m].path;
		if (!path)
			continue;
		if (found++ == 0)
			r = buf_adds(u, "\n## Build systems (from top-level manifests; the usual "
					"commands, not verified)\n");
		r = r ?: buf_printf(u, "- %s (", bs[i].name);
		r = r ?: prompt_add_clean(u, path, 256);
		r = r ?: buf_adds(u, ")");
		if (bs[i].build) {
			r = r ?: buf_adds(u, ": build `");
			for (const char *c = bs[i].build; *c && r == 0; c++)
				r = *c == '\n' ? buf_adds(u, " && ") : buf_addc(u, *c);
			r = r ?: buf_addc(u, '`');
		}
		if (bs[i].test)
			r = r ?: buf_printf(u, "; test `%s`", bs[i].test);
		r = r ?: buf_addc(u, '\n');
	}
	return r;
}

/* Whole-history figures: every commit and every person, not only the newest shown. */
static int history_figures(struct buf *u, const struct repo_facts *f, bool truncated)
{
	const struct facts_author *a;
	size_t na = facts_authors(f, &a);
	char first[16] = "?", last[16] = "?";
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	struct tm tm;
	time_t t;

	for (size_t i = 0; i < na; i++) {
		lo = MIN(lo, a[i].first);
		hi = MAX(hi, a[i].last);
	}
	t = (time_t)lo;
	if (na && gmtime_r(&t, &tm))
		strftime(first, sizeof(first), "%Y-%m-%d", &tm);
	t = (time_t)hi;
	if (na && gmtime_r(&t, &tm))
		strftime(last, sizeof(last), "%Y-%m-%d", &tm);
	return buf_printf(u,
			  "\n## History figures\n- commits: %zu%s\n- authors: %zu\n"
			  "- first commit: %s, newest: %s\n",
			  facts_commit_count(f),
			  truncated ? " (as far as the history could be read)" : "", na, first,
			  last);
}

/* Commits per person over the whole history (facts_authors() is by commits). */
static int author_counts(struct buf *u, const struct repo_facts *f)
{
	const struct facts_author *a;
	size_t na = facts_authors(f, &a);
	int r;

	r = buf_adds(u, "\n## Commits per author\n");
	for (size_t k = 0; k < na && k < AUTHORS_MAX && r == 0; k++) {
		r = buf_adds(u, "- ");
		r = r ?: prompt_add_clean(u, a[k].name, 128);
		r = r ?: buf_printf(u, ": %zu\n", a[k].commits);
	}
	if (r == 0 && na > AUTHORS_MAX)
		r = buf_printf(u, "- ... and %zu more people\n", na - AUTHORS_MAX);
	return r;
}

int prompt_facts_history(struct buf *u, struct prompt_scope *s)
{
	const struct facts_commit *h;
	size_t n = facts_history(s->f, &h);
	struct facts_stats st;
	int r;

	if (n == 0)
		return 0;
	if (s->used)
		s->used->history = true;
	facts_get_stats(s->f, &st);
	r = history_figures(u, s->f, st.history_truncated);
	r = r
		?: buf_printf(u, "\n## Newest commits (%zu shown, newest first)\n",
			      MIN(n, (size_t)HISTORY_LONG));
	for (size_t i = 0; i < n && i < HISTORY_LONG && r == 0; i++) {
		struct tm tm;
		time_t t = (time_t)h[i].time;
		char day[16] = "?";

		if (gmtime_r(&t, &tm))
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		r = buf_printf(u, "- %.10s %s ", h[i].id ? h[i].id : "?", day);
		r = r ?: prompt_add_clean(u, h[i].author, 128);
		r = r ?: buf_adds(u, ": ");
		r = r ?: prompt_add_clean(u, h[i].subject, 200);
		r = r ?: buf_addc(u, '\n');
	}
	if (r == 0 && s->page->kind == PAGE_CONTRIBUTORS)
		r = author_counts(u, s->f);
	return r;
}
