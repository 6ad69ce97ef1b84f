/* SPDX-License-Identifier: MIT */
/*
 * The pages about the code's structure: Architecture (modules, the import
 * graph between them as Mermaid, entry points) and one page per module
 * (its files and their top-level symbols with source links).
 */
#include "builtin_int.h"
#include "lang.h"

#include <errno.h>
#include <string.h>

#define MAX_EDGES	 300
#define MAX_MODULE_FILES 400
#define MAX_FILE_SYMS	 60
#define MAX_PAGE_SYMS	 4000

/* ---- Architecture ------------------------------------------------------- */

struct edge {
	int from, to;
	size_t n;
};

static int target_module(const struct builtin_ctx *c, const char *target)
{
	long i = facts_find_file(c->f, target);

	return i >= 0 ? c->file_mod[i] : builtin_module_of(c, target);
}

/* Module-to-module import counts, sorted by (from, to). */
static size_t module_edges(const struct builtin_ctx *c, struct edge **ret)
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

struct mod_stat {
	size_t files, syms;
	uint64_t bytes;
};

static void module_stats(const struct builtin_ctx *c, struct mod_stat *ms)
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

static void arch_modules(struct md *m, const struct builtin_ctx *c, const struct mod_stat *ms)
{
	md_puts(m, "## Modules\n\n");
	if (!c->nmods) {
		md_puts(m, "No module holds source code.\n");
		return;
	}
	md_puts(m, "| Module | Files | Size | Main language | Symbols |\n"
		   "|---|---:|---:|---|---:|\n");
	for (size_t k = 0; k < c->nmods; k++) {
		const char *ml = builtin_main_lang(c, 0, c->nfiles, c->file_mod, (int)k);

		md_puts(m, "| ");
		builtin_link_page(m, c->mods[k]);
		md_printf(m, " | %zu | ", ms[k].files);
		md_size(m, ms[k].bytes);
		md_puts(m, " | ");
		md_text(m, ml ? ml : "—");
		md_printf(m, " | %zu |\n", ms[k].syms);
	}
}

static void arch_graph(struct md *m, const struct builtin_ctx *c, const struct edge *e, size_t ne)
{
	md_puts(m, "\n## Dependencies between modules\n\n");
	if (ne == 0) {
		md_puts(m, "No include or import between modules was found.\n");
		return;
	}
	md_puts(m, "Edges count the include/import statements that resolve to a file or "
		   "directory of another module.\n\n```mermaid\ngraph LR\n");
	for (size_t k = 0; k < c->nmods; k++) {
		md_printf(m, "  m%zu[\"", k);
		md_mermaid_label(m, strcmp(c->mods[k]->arg, ".") ? c->mods[k]->arg : "(top level)");
		md_puts(m, "\"]\n");
	}
	for (size_t i = 0; i < ne && i < MAX_EDGES; i++)
		md_printf(m, "  m%d -->|%zu| m%d\n", e[i].from, e[i].n, e[i].to);
	md_puts(m, "```\n\n| From | To | Imports |\n|---|---|---:|\n");
	for (size_t i = 0; i < ne && i < MAX_EDGES; i++) {
		md_puts(m, "| ");
		builtin_link_page(m, c->mods[e[i].from]);
		md_puts(m, " | ");
		builtin_link_page(m, c->mods[e[i].to]);
		md_printf(m, " | %zu |\n", e[i].n);
	}
	if (ne > MAX_EDGES)
		md_printf(m, "\n... and %zu more edges.\n", ne - MAX_EDGES);
}

/* A "main" (also "X.main", "X::main"), not a prototype: a module programs start in. */
static bool is_main(const struct facts_symbol *s)
{
	size_t nl = strlen(s->name);

	return nl >= 4 && !strcmp(s->name + nl - 4, "main") &&
	       (nl == 4 || s->name[nl - 5] == '.' || s->name[nl - 5] == ':') &&
	       strcmp(s->kind, "prototype");
}

struct layer {
	size_t users, uses; /* distinct modules depending on it, and it depends on */
	bool entry;	    /* holds a main */
};

/* Up to @max module links of modules @pick() chooses, by users then index; how many. */
static size_t list_mods(struct md *m, const struct builtin_ctx *c, const struct layer *ly,
			bool (*pick)(const struct layer *), size_t max)
{
	size_t shown = 0, total = 0;

	for (size_t k = 0; k < c->nmods; k++)
		total += pick(&ly[k]);
	/* most used first: a selection pass per count, modules are few */
	for (size_t want = c->nmods + 1; want-- > 0 && shown < max;)
		for (size_t k = 0; k < c->nmods && shown < max; k++) {
			if (!pick(&ly[k]) || ly[k].users != want)
				continue;
			md_puts(m, shown++ ? ", " : "");
			builtin_link_page(m, c->mods[k]);
		}
	if (total > shown)
		md_printf(m, " and %zu more", total - shown);
	return total;
}

static bool is_base(const struct layer *l)
{
	return l->users && !l->uses;
}

static bool is_top(const struct layer *l)
{
	return l->uses && !l->users;
}

static bool is_entry(const struct layer *l)
{
	return l->entry;
}

/* The layers in prose: what everything rests on, what sits on top, where programs start. */
static void arch_summary(struct md *m, const struct builtin_ctx *c, const struct edge *e, size_t ne)
{
	static const struct {
		const char *label;
		bool (*pick)(const struct layer *);
	} rows[] = {
		{ "Base layer (used by other modules, using none)", is_base },
		{ "Top layer (using other modules, used by none)", is_top },
		{ "Programs start in (a `main`, see the entry points below)", is_entry },
	};
	struct layer *ly = calloc(c->nmods + 1, sizeof(*ly));
	size_t mutual = 0;

	if (!ly) {
		m->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < ne; i++) {
		ly[e[i].to].users++;
		ly[e[i].from].uses++;
		for (size_t j = 0; j < i; j++)
			mutual += e[j].from == e[i].to && e[j].to == e[i].from;
	}
	for (size_t i = 0; i < c->nfiles; i++) {
		const struct facts_symbol *sy;
		size_t ns = c->file_mod[i] >= 0 ? facts_file_symbols(c->f, i, &sy) : 0;

		for (size_t k = 0; k < ns; k++)
			ly[c->file_mod[i]].entry |= is_main(&sy[k]);
	}
	md_puts(m, "## Layers\n\n");
	if (ne == 0)
		md_puts(m, "The modules do not include or import one another, as far as their "
			   "import statements show.\n\n");
	for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
		size_t n = 0;

		for (size_t i = 0; i < c->nmods; i++)
			n += rows[k].pick(&ly[i]);
		if (!n)
			continue;
		md_printf(m, "- **%s**: ", rows[k].label);
		list_mods(m, c, ly, rows[k].pick, 6);
		md_puts(m, ".\n");
	}
	if (mutual)
		md_printf(m, "- %zu pairs of modules depend on each other.\n", mutual);
	md_puts(m, "\n");
	free(ly);
}

void builtin_page_architecture(struct md *m, struct builtin_ctx *c)
{
	struct mod_stat *ms = calloc(c->nmods + 1, sizeof(*ms));
	struct edge *e = NULL;
	size_t outside = 0, ne = module_edges(c, &e);

	if (!ms) {
		free(e);
		m->err = -ENOMEM;
		return;
	}
	builtin_header(m, c, c->req->page->title);
	module_stats(c, ms);
	for (size_t i = 0; i < c->nfiles; i++)
		outside += c->file_mod[i] < 0;
	md_printf(m,
		  "The repository is divided into %zu modules, chosen from its directory layout "
		  "(directories holding source code; vendored, generated and hidden directories "
		  "are left out). %zu files belong to no module.\n\n",
		  c->nmods, outside);
	arch_summary(m, c, e, ne);
	arch_modules(m, c, ms);
	free(ms);
	arch_graph(m, c, e, ne);
	free(e);
	builtin_entry_points(m, c);
	builtin_footer(m, c);
}

/* ---- Module ---------------------------------------------------------------- */

/* "Directory `src/net`: 12 files, 40.1 KiB, mostly C." */
static void module_summary(struct md *m, const struct builtin_ctx *c, int me, size_t first,
			   size_t n)
{
	const struct plan_page *pg = c->req->page;
	size_t files = 0;
	uint64_t bytes = 0;
	const char *ml;

	for (size_t i = first; i < first + n; i++) {
		if (c->file_mod[i] != me)
			continue;
		files++;
		bytes += c->files[i].size;
	}
	ml = builtin_main_lang(c, first, n, c->file_mod, me);
	if (!strcmp(pg->arg, "."))
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
}

/* Sub-modules with pages of their own, then the modules this one uses and is used by. */
static void module_links(struct md *m, const struct builtin_ctx *c, int me)
{
	const struct plan_page *pg = c->req->page;
	bool root = !strcmp(pg->arg, ".");
	struct edge *e = NULL;
	size_t ne, subs = 0;

	for (size_t k = 0; k < c->nmods; k++) {
		const char *a = c->mods[k]->arg;
		size_t al = strlen(pg->arg);

		if ((int)k == me || root || strncmp(a, pg->arg, al) || a[al] != '/')
			continue;
		md_puts(m, subs ? ", " : "Sub-modules with their own pages: ");
		builtin_link_page(m, c->mods[k]);
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
			builtin_link_page(m, c->mods[other]);
			md_printf(m, " (%zu)", e[i].n);
			shown++;
		}
		if (shown)
			md_puts(m, "\n\n");
	}
	free(e);
}

/* ---- the files of a module: public API first, data after code, tests last -------- */

enum file_class { FC_API, FC_SOURCE, FC_OTHER, FC_TEST, FC_MAX };

static bool path_has_dir(const char *path, const char *const *names, size_t n)
{
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '/');
		size_t l;

		if (!e)
			break;
		l = (size_t)(e - p);
		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == l && !strncasecmp(p, names[i], l))
				return true;
		p = e + 1;
	}
	return false;
}

bool builtin_is_test_path(const char *path)
{
	static const char *const dirs[] = { "test",	 "tests", "testing",  "testdata", "spec",
					    "__tests__", "t",	  "unittest", "unittests" };
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return path_has_dir(path, dirs, ARRAY_SIZE(dirs)) || !strncmp(b, "test_", 5) ||
	       strstr(b, "_test.") || strstr(b, ".test.") || strstr(b, ".spec.") ||
	       (strstr(b, "Test.") && strstr(b, ".java")) || !strcmp(b, "conftest.py");
}

static bool is_header(const char *path)
{
	const char *d = strrchr(path, '.');

	return d &&
	       (!strcmp(d, ".h") || !strcmp(d, ".hpp") || !strcmp(d, ".hh") || !strcmp(d, ".hxx"));
}

static size_t public_syms(const struct builtin_ctx *c, size_t i)
{
	const struct facts_symbol *s;
	size_t n = facts_file_symbols(c->f, i, &s), pub = 0;

	for (size_t k = 0; k < n; k++)
		pub += (s[k].flags & FACTS_SYM_PUBLIC) != 0;
	return pub;
}

static enum file_class file_class(const struct builtin_ctx *c, size_t i)
{
	const struct facts_file *ff = &c->files[i];

	if (builtin_is_test_path(ff->path))
		return FC_TEST;
	if (!lang_is_code(ff->lang) || ff->binary)
		return FC_OTHER;
	return is_header(ff->path) || public_syms(c, i) ? FC_API : FC_SOURCE;
}

/* "function `name`" or "method `Class.name`". */
static void symbol_name(struct md *m, const struct facts_symbol *s)
{
	char buf[512];

	md_text(m, s->kind);
	md_puts(m, " ");
	snprintf(buf, sizeof(buf), "%s%s%s", s->scope ? s->scope : "", s->scope ? "." : "",
		 s->name);
	md_code(m, buf, 0);
}

/* One file of the list and its symbols, public ones first with their summary. */
static void module_file(struct md *m, const struct builtin_ctx *c, size_t i, size_t *syms)
{
	const struct facts_file *ff = &c->files[i];
	const struct facts_file_ext *x = facts_file_ext(c->f, i);
	const struct facts_symbol *s;
	size_t ns = facts_file_symbols(c->f, i, &s), shown = 0, internal = 0;

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
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < ns; k++) {
			bool pub = (s[k].flags & FACTS_SYM_PUBLIC) != 0;

			if (pub != (pass == 0))
				continue;
			if (shown >= MAX_FILE_SYMS || *syms >= MAX_PAGE_SYMS) {
				internal++;
				continue;
			}
			md_puts(m, "  - ");
			symbol_name(m, &s[k]);
			md_puts(m, " — ");
			builtin_src_link(m, c, s[k].path, s[k].line);
			if (!pub)
				md_puts(m, " (internal)");
			if (s[k].doc) {
				md_puts(m, ": ");
				md_text(m, s[k].doc);
			}
			md_puts(m, "\n");
			shown++;
			(*syms)++;
		}
	if (internal)
		md_printf(m, "  - ... and %zu more symbols\n", internal);
}

/* A test file: one line, no symbols. */
static void test_file(struct md *m, const struct builtin_ctx *c, size_t i)
{
	const struct facts_symbol *s;
	size_t ns = facts_file_symbols(c->f, i, &s);

	md_puts(m, "- ");
	md_code(m, c->files[i].path, 0);
	md_printf(m, " — %zu symbols\n", ns);
}

/* The module's files (range [first, first + n)) by class, then by path. */
struct mfile {
	size_t idx;
	enum file_class cls;
	const char *sub; /* first directory below the module, or NULL for its own files */
	size_t sub_len;
};

static int cmp_mfile(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A sub-directory of a large module in one paragraph: size, language, its API. */
static void sub_summary(struct md *m, const struct builtin_ctx *c, const struct mfile *mf, size_t n)
{
	size_t code = 0, shown = 0;
	uint64_t bytes = 0;
	char dir[1024];
	const char *ml;

	snprintf(dir, sizeof(dir), "%.*s",
		 (int)(mf[0].sub + mf[0].sub_len - c->files[mf[0].idx].path),
		 c->files[mf[0].idx].path);
	size_t lo = mf[0].idx, hi = mf[0].idx;

	for (size_t i = 0; i < n; i++) {
		bytes += c->files[mf[i].idx].size;
		code += mf[i].cls == FC_API || mf[i].cls == FC_SOURCE;
		lo = MIN(lo, mf[i].idx);
		hi = MAX(hi, mf[i].idx);
	}
	ml = builtin_main_lang(c, lo, hi + 1 - lo, NULL, 0);
	md_puts(m, "- ");
	md_code(m, dir, 0);
	md_printf(m, " — %zu files (%zu source), ", n, code);
	md_size(m, bytes);
	if (ml) {
		md_puts(m, ", mostly ");
		md_text(m, ml);
	}
	for (size_t i = 0; i < n && shown < 12; i++) {
		const struct facts_symbol *s;
		size_t ns = facts_file_symbols(c->f, mf[i].idx, &s);

		for (size_t k = 0; k < ns && shown < 12; k++) {
			if (!(s[k].flags & FACTS_SYM_PUBLIC))
				continue;
			md_puts(m, shown ? ", " : ". Public API: ");
			md_code(m, s[k].name, 0);
			shown++;
		}
	}
	md_puts(m, "\n");
}

static int cmp_sub(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;
	int c = (x->sub == NULL) - (y->sub == NULL);

	if (c)
		return -c; /* own files first */
	if (x->sub && (c = strncmp(x->sub, y->sub, MIN(x->sub_len, y->sub_len))
			       ?: (int)x->sub_len - (int)y->sub_len))
		return c;
	return cmp_mfile(a, b);
}

/* Large modules: own files in full, each sub-directory in one line, source before data. */
static void module_grouped(struct md *m, const struct builtin_ctx *c, struct mfile *mf, size_t n,
			   size_t *syms)
{
	size_t i = 0, listed = 0;

	qsort(mf, n, sizeof(*mf), cmp_sub);
	for (; i < n && !mf[i].sub; i++)
		if (mf[i].cls != FC_TEST && listed++ < MAX_MODULE_FILES)
			module_file(m, c, mf[i].idx, syms);
	md_puts(m, "\n### Sub-directories\n\n");
	for (int data = 0; data < 2; data++)
		for (size_t k = i; k < n;) {
			size_t e = k, code = 0;

			while (e < n && mf[e].sub_len == mf[k].sub_len &&
			       !strncmp(mf[e].sub, mf[k].sub, mf[k].sub_len))
				code += mf[e++].cls <= FC_SOURCE;
			if ((code == 0) == (data == 1))
				sub_summary(m, c, mf + k, e - k);
			k = e;
		}
}

#define GROUP_ABOVE 150 /* files: above this, sub-directories are summarised */

void builtin_page_module(struct md *m, struct builtin_ctx *c)
{
	const struct plan_page *pg = c->req->page;
	size_t first = 0, n, nm = 0, syms = 0, tests = 0, al;
	struct mfile *mf;
	int me = -1;

	for (size_t k = 0; k < c->nmods; k++)
		if (c->mods[k] == pg)
			me = (int)k;
	builtin_header(m, c, pg->title);
	if (me < 0 || !pg->arg) {
		md_puts(m, "This module names no directory.\n");
		builtin_footer(m, c);
		return;
	}
	n = !strcmp(pg->arg, ".") ? c->nfiles : facts_dir_range(c->f, pg->arg, &first);
	module_summary(m, c, me, first, n);
	module_links(m, c, me);
	mf = calloc(n + 1, sizeof(*mf));
	if (!mf) {
		m->err = -ENOMEM;
		return;
	}
	al = strcmp(pg->arg, ".") ? strlen(pg->arg) + 1 : 0;
	for (size_t i = first; i < first + n; i++) {
		const char *rest, *slash;

		if (c->file_mod[i] != me)
			continue;
		rest = c->files[i].path + al;
		slash = strchr(rest, '/');
		mf[nm] = (struct mfile){ i, file_class(c, i), slash ? rest : NULL,
					 slash ? (size_t)(slash - rest) : 0 };
		tests += mf[nm].cls == FC_TEST;
		nm++;
	}
	md_puts(m, "## Files and symbols\n\n");
	if (nm - tests == 0)
		md_puts(m, "No files besides tests.\n");
	if (nm > GROUP_ABOVE) {
		module_grouped(m, c, mf, nm, &syms);
	} else {
		size_t listed = 0;

		qsort(mf, nm, sizeof(*mf), cmp_mfile);
		for (size_t i = 0; i < nm && !m->err; i++)
			if (mf[i].cls != FC_TEST && listed++ < MAX_MODULE_FILES)
				module_file(m, c, mf[i].idx, &syms);
	}
	if (tests) {
		size_t shown = 0;

		md_printf(m, "\n## Tests\n\n%zu test files.\n\n", tests);
		qsort(mf, nm, sizeof(*mf), cmp_mfile);
		for (size_t i = 0; i < nm && shown < 100; i++)
			if (mf[i].cls == FC_TEST && ++shown)
				test_file(m, c, mf[i].idx);
		if (tests > shown)
			md_printf(m, "- ... and %zu more test files\n", tests - shown);
	}
	free(mf);
	builtin_footer(m, c);
}
