/* SPDX-License-Identifier: MIT */
/*
 * Reading a commit's blobs for facts: a bounded prefix of each text blob
 * (FACTS_SCAN_MAX) flags binaries, gives the README and the top-level
 * manifests, the imports (analysis/symbols.c's scanners, and Cargo.toml and
 * CMakeLists.txt at any depth through imports_scan_manifest(), which also
 * names the crates a Rust `use` resolves to) and the symbols.
 * Symbols come from Universal Ctags (analysis/ctags.h): one ctags process
 * for the whole load, fed blob after blob as it reads, so a blob is held
 * only while ctags works on it. Where ctags is missing or fails, the
 * hand-written scanners take over for the files it did not finish, and the
 * cause is kept in the stats for the caller to log. Each symbol gets its
 * doc-comment summary and its visibility from analysis/symdoc.h, whoever
 * found it.
 */
#include "facts_int.h"
#include "ctags.h"
#include "lang.h"
#include "symbols.h"
#include "symdoc.h"

#include <ctype.h>
#include <stdio.h>

/* true if the last component of @path has an extension (a dot not first). */
static bool has_ext(const char *path)
{
	const char *b = strrchr(path, '/'), *d;

	b = b ? b + 1 : path;
	d = strrchr(b, '.');
	return d && d != b;
}

/* ---- symbols and imports ------------------------------------------------- */

#define FACTS_READ_BUDGET (512ull << 20) /* blob bytes inflated per load */
#define CTAGS_TIMEOUT_MS  (600 * 1000)
#define CTAGS_STALL_MS	  (30 * 1000)

/* One file's text while its symbols arrive. */
struct file_scan {
	struct repo_facts *f;
	size_t file;
	const char *path, *lang;
	const char *text;
	size_t len;
	unsigned cur_line; /* line starting at cur_off (1-based) */
	size_t cur_off;
	bool js_checked;
	char js_exports[64]; /* "" if none */
};

static void file_scan_init(struct file_scan *fs, struct repo_facts *f, size_t idx, const char *text,
			   size_t len)
{
	*fs = (struct file_scan){ f, idx, f->files[idx].path, f->files[idx].lang, text, len, 1, 0 };
}

/* Offset of line @line in the text (lines come mostly in order: walk on). */
static size_t line_offset(struct file_scan *fs, unsigned line)
{
	if (line < fs->cur_line) {
		fs->cur_line = 1;
		fs->cur_off = 0;
	}
	while (fs->cur_line < line && fs->cur_off < fs->len) {
		const char *nl = memchr(fs->text + fs->cur_off, '\n', fs->len - fs->cur_off);

		fs->cur_off = nl ? (size_t)(nl + 1 - fs->text) : fs->len;
		fs->cur_line++;
	}
	return fs->cur_off;
}

/* A found symbol, whoever found it: with its summary and visibility. */
static void add_symbol(struct file_scan *fs, const struct ctags_symbol *cs, size_t name_len)
{
	struct repo_facts *f = fs->f;
	struct file_aux *aux = &f->aux[fs->file];
	struct facts_symbol *sym;
	char doc[SYMDOC_MAX + 1];
	size_t off = line_offset(fs, cs->line), dl;
	const char *le = memchr(fs->text + off, '\n', fs->len - off);
	struct symdoc_sym sd = { fs->lang,
				 fs->path,
				 fs->text + off,
				 (size_t)((le ? le : fs->text + fs->len) - (fs->text + off)),
				 NULL,
				 cs->scope,
				 cs->file_scope,
				 cs->access,
				 NULL };

	if (aux->sym_n >= FACTS_FILE_SYMBOLS || f->nsyms >= FACTS_MAX_SYMBOLS ||
	    grow((void **)&f->syms, &f->syms_cap, f->nsyms + 1, sizeof(*f->syms)) < 0) {
		f->stats.symbols_dropped++;
		return;
	}
	if (aux->sym_n == 0)
		aux->sym_first = f->nsyms;
	sym = &f->syms[f->nsyms];
	*sym = (struct facts_symbol){ .path = fs->path, .line = cs->line, .kind = cs->kind };
	sym->name = pool_strndup(f, cs->name, name_len);
	if (!sym->name)
		return;
	sym->scope = cs->scope ? pool_strndup(f, cs->scope, strlen(cs->scope)) : NULL;
	sym->signature =
	    cs->signature ? pool_strndup(f, cs->signature, strlen(cs->signature)) : NULL;
	dl = symdoc_describe(fs->lang, fs->text, fs->len, off, doc);
	sym->doc = dl ? pool_strndup(f, doc, dl) : NULL;
	if (!fs->js_checked && fs->lang &&
	    (!strcmp(fs->lang, "JavaScript") || !strcmp(fs->lang, "TypeScript"))) {
		fs->js_checked = true;
		if (!symdoc_js_exports(fs->text, fs->len, fs->js_exports, sizeof(fs->js_exports)))
			fs->js_exports[0] = '\0';
	}
	sd.name = sym->name;
	sd.js_exports = fs->js_exports[0] ? fs->js_exports : NULL;
	sym->flags = symdoc_public(&sd) ? FACTS_SYM_PUBLIC : 0;
	f->nsyms++;
	aux->sym_n++;
}

/* symbols_sink: a hand-written scanner's symbol ("Type.method" split into scope and name). */
static void sink_symbol(void *ctx, unsigned line, const char *kind, const char *name, size_t n)
{
	struct file_scan *fs = ctx;
	char nm[SYMBOLS_NAME_MAX + 1], *dot;
	struct ctags_symbol cs = { line, kind, nm, NULL, NULL, false, NULL };

	memcpy(nm, name, n);
	nm[n] = '\0';
	dot = strrchr(nm, '.');
	if (dot && dot != nm && dot[1] && !strcmp(kind, "method")) {
		*dot = '\0';
		cs.scope = nm;
		cs.name = dot + 1;
	}
	add_symbol(fs, &cs, strlen(cs.name));
}

static void sink_no_symbol(void *ctx, unsigned line, const char *kind, const char *name, size_t n)
{
}

static void sink_no_import(void *ctx, unsigned line, enum import_kind kind, const char *spec,
			   size_t n)
{
}

static void sink_import(void *ctx, unsigned line, enum import_kind kind, const char *spec, size_t n)
{
	struct file_scan *fs = ctx;
	struct repo_facts *f = fs->f;
	struct raw_import *ri;

	if (f->nraw >= FACTS_MAX_IMPORTS ||
	    grow((void **)&f->raw, &f->raw_cap, f->nraw + 1, sizeof(*f->raw)) < 0) {
		f->stats.imports_dropped++;
		return;
	}
	ri = &f->raw[f->nraw];
	ri->file = fs->file;
	ri->line = line;
	ri->kind = kind;
	ri->spec = pool_strndup(f, spec, n);
	if (ri->spec)
		f->nraw++;
}

/* Manifests at any depth whose text says what depends on what (analysis/imports.h). */
static bool is_dep_manifest(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strcmp(b, "Cargo.toml") || !strcmp(b, "CMakeLists.txt");
}

/* A manifest's directory imports, and the crate a Cargo.toml names. */
static void scan_manifest(struct repo_facts *f, const struct file_scan *fs,
			  const struct symbols_sink *sink, const char *data, size_t len)
{
	const char *sl = strrchr(fs->path, '/');
	char crate[128];

	imports_scan_manifest(fs->path, data, len, sink, crate, sizeof(crate));
	if (!crate[0] ||
	    grow((void **)&f->crates, &f->crates_cap, f->ncrates + 1, sizeof(*f->crates)) < 0)
		return;
	f->crates[f->ncrates].name = pool_strndup(f, crate, strlen(crate));
	f->crates[f->ncrates].dir = pool_strndup(f, fs->path, sl ? (size_t)(sl - fs->path) : 0);
	if (f->crates[f->ncrates].name && f->crates[f->ncrates].dir)
		f->ncrates++;
}

/* Imports always (a Rust `use other_crate::` too), symbols too unless ctags gives them. */
static void scan_file(struct repo_facts *f, size_t idx, const char *data, size_t len, bool symbols)
{
	struct file_scan fs;
	const struct symbols_sink sink = { &fs, symbols ? sink_symbol : sink_no_symbol,
					   sink_import };

	file_scan_init(&fs, f, idx, data, len);
	/* out of memory: the file simply has no symbols */
	(void)symbols_scan(f->files[idx].lang, fs.path, data, len, &sink);
	if (is_dep_manifest(fs.path))
		scan_manifest(f, &fs, &sink, data, len);
}

static int cmp_import(const void *a, const void *b)
{
	const struct facts_import *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->target, y->target);
}

int facts_resolve_imports(struct repo_facts *f)
{
	struct import_index *ix;
	char dir[IMPORT_RESULT_MAX];
	int r;

	if (f->nraw == 0)
		return 0;
	f->imps = malloc(f->nraw * sizeof(*f->imps));
	if (!f->imps)
		return -ENOMEM;
	r = import_index_new(&ix, f->paths, f->nfiles, f->go_module);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->ncrates && r == 0; i++)
		r = import_index_add_crate(ix, f->crates[i].name, f->crates[i].dir);
	if (r < 0) {
		import_index_free(ix);
		return r;
	}
	for (size_t i = 0; i < f->nraw; i++) {
		const struct raw_import *ri = &f->raw[i];
		const char *from = f->files[ri->file].path;
		const char *t = import_resolve(ix, from, ri->kind, ri->spec, dir);
		struct facts_import *im;

		if (t == dir)
			t = pool_strndup(f, dir, strlen(dir));
		if (!t || !strcmp(t, from))
			continue;
		im = &f->imps[f->nimps++];
		im->from = from;
		im->line = ri->line;
		im->spec = ri->spec;
		im->target = t;
	}
	import_index_free(ix);
	qsort(f->imps, f->nimps, sizeof(*f->imps), cmp_import);
	return 0;
}

/* ---- blobs, manifests, README, history --------------------------------- */

/* Root README: README.md first, then any README*, by name. */
static long find_readme(const struct repo_facts *f)
{
	long best = -1;
	int best_rank = 99;

	for (size_t i = 0; i < f->nfiles; i++) {
		const char *p = f->files[i].path, *e;
		int rank;

		if (strchr(p, '/') || strncasecmp(p, "readme", 6) || f->files[i].binary ||
		    f->ext[i].mode == FACTS_MODE_LINK)
			continue;
		e = p + 6;
		rank = !strcasecmp(e, ".md")	? 0
		       : !*e			? 1
		       : !strcasecmp(e, ".rst") ? 2
		       : !strcasecmp(e, ".txt") ? 3
						: 4;
		if (rank < best_rank) {
			best_rank = rank;
			best = (long)i;
		}
	}
	return best;
}

/* The module path a go.mod text declares ("module example.com/x"), or NULL. */
static const char *go_module_of(struct repo_facts *f, const char *text)
{
	const char *t = text, *e;

	if (!t || !(t = strstr(t, "module ")) || (t != text && t[-1] != '\n'))
		return NULL;
	t += 7;
	while (*t == ' ' || *t == '\t')
		t++;
	for (e = t; *e && !isspace((unsigned char)*e); e++)
		;
	return pool_strndup(f, t, (size_t)(e - t));
}

/* The text a blob gives: its prefix, cut at a line end when the prefix is cut. */
static size_t text_len(const char *data, size_t size)
{
	size_t len = MIN(size, (size_t)FACTS_SCAN_MAX);

	/* the last line of a truncated prefix may be cut: drop it */
	if (len == FACTS_SCAN_MAX && size > len) {
		const char *nl = memrchr(data, '\n', len);

		len = nl ? (size_t)(nl + 1 - data) : 0;
	}
	return len;
}

/* The README and manifest texts of one loaded text blob. */
static void use_text(struct repo_facts *f, size_t i, bool readme, bool manifest, const char *data,
		     size_t len)
{
	struct facts_file *ff = &f->files[i];
	size_t tl = MIN(len, (size_t)FACTS_MANIFEST_MAX);

	if (readme) {
		f->readme = pool_strndup(f, data, MIN(len, (size_t)FACTS_README_MAX));
		f->readme_path = ff->path;
	}
	if (manifest) {
		struct facts_manifest *m = &f->mans[f->nmans - 1];

		m->text = pool_strndup(f, data, tl);
		m->len = m->text ? tl : 0;
		if (!strcmp(ff->path, "go.mod"))
			f->go_module = go_module_of(f, m->text);
	}
}

/* The walk over the files, as a source of files for ctags. */
struct blob_walk {
	struct repo_facts *f;
	git_repository *repo;
	const git_oid *oids;
	uint64_t budget;
	long readme;
	size_t next;
	bool ctags;	     /* symbols come from ctags */
	struct file_scan fs; /* the file ctags is giving symbols of */
};

/*
 * Reads file @i if it is worth reading: README, manifests, imports; its
 * symbols too when ctags will not give them. Returns the blob (the caller
 * frees it) when ctags should see the file, else NULL.
 */
static git_blob *read_file(struct blob_walk *w, size_t i, size_t *len)
{
	struct repo_facts *f = w->f;
	struct facts_file *ff = &f->files[i];
	bool manifest = facts_is_manifest(ff->path), want, to_ctags;
	git_blob *blob;
	const char *data;

	if (f->ext[i].mode == FACTS_MODE_LINK || f->ext[i].mode == FACTS_MODE_GITLINK)
		return NULL;
	if (lang_is_binary_name(ff->path)) {
		ff->binary = 1;
		return NULL;
	}
	if (manifest) /* listed even when unread (too big, binary) */
		f->mans[f->nmans++] = (struct facts_manifest){ ff->path, NULL, 0 };
	want = manifest || (long)i == w->readme || symbols_lang_scanned(ff->lang) ||
	       is_dep_manifest(ff->path) || (w->ctags && ctags_lang_supported(ff->lang)) ||
	       (!ff->lang && !has_ext(ff->path));
	if (!want || ff->size > FACTS_BLOB_LOAD_MAX || ff->size > w->budget)
		return NULL;
	if (git_blob_lookup(&blob, w->repo, &w->oids[i]) < 0)
		return NULL; /* missing object: keep what the name says */
	w->budget -= ff->size;
	data = git_blob_rawcontent(blob);
	*len = text_len(data, (size_t)git_blob_rawsize(blob));
	ff->binary = memchr(data, '\0', MIN(*len, (size_t)8192)) != NULL;
	f->ext[i].scanned = 1;
	f->stats.files_scanned++;
	if (!ff->lang && !ff->binary)
		ff->lang = lang_of_shebang(data, *len);
	to_ctags = w->ctags && !ff->binary && ctags_lang_supported(ff->lang);
	if (!ff->binary) {
		use_text(f, i, (long)i == w->readme, manifest, data, *len);
		scan_file(f, i, data, *len, !to_ctags);
	}
	if (to_ctags)
		return blob;
	git_blob_free(blob);
	return NULL;
}

/* ctags_source.next: the next file for ctags, the others read on the way. */
static int walk_next(void *ctx, struct ctags_file *cf)
{
	struct blob_walk *w = ctx;

	while (w->next < w->f->nfiles) {
		size_t i = w->next++, len = 0;
		git_blob *blob = read_file(w, i, &len);

		if (blob) {
			*cf = (struct ctags_file){ w->f->files[i].path, w->f->files[i].lang,
						   git_blob_rawcontent(blob), len, blob };
			return 1;
		}
	}
	return 0;
}

static void walk_symbol(void *ctx, const struct ctags_file *cf, const struct ctags_symbol *s)
{
	struct blob_walk *w = ctx;

	if (w->fs.text != cf->text || w->fs.path != cf->path) { /* a new file's symbols */
		long i = facts_find_file(w->f, cf->path);

		if (i < 0)
			return;
		file_scan_init(&w->fs, w->f, (size_t)i, cf->text, cf->len);
	}
	add_symbol(&w->fs, s, strlen(s->name));
}

static void walk_done(void *ctx, const struct ctags_file *cf, bool ok)
{
	struct blob_walk *w = ctx;

	if (!ok) { /* ctags did not finish it: the scanners do */
		long i = facts_find_file(w->f, cf->path);

		if (i >= 0 && w->f->aux[i].sym_n == 0) {
			struct file_scan fs;
			const struct symbols_sink sink = { &fs, sink_symbol, sink_no_import };

			file_scan_init(&fs, w->f, (size_t)i, cf->text, cf->len);
			(void)symbols_scan(cf->lang, cf->path, cf->text, cf->len, &sink);
		}
	}
	git_blob_free(cf->opaque);
}

void facts_scan_blobs(struct repo_facts *f, git_repository *repo, const git_oid *oids,
		      const char *ctags)
{
	struct blob_walk w = { f, repo, oids, FACTS_READ_BUDGET, find_readme(f), 0, false };

	if (ctags && *ctags) {
		const struct ctags_opts o = { ctags, CTAGS_TIMEOUT_MS, CTAGS_STALL_MS };
		const struct ctags_source src = { &w, walk_next, walk_symbol, walk_done };
		struct wf_err err = { "" };

		w.ctags = true;
		if (ctags_run(&o, &src, &err) == 0) {
			f->stats.symbols_ctags = 1;
			return;
		}
		snprintf(f->stats.ctags_error, sizeof(f->stats.ctags_error), "%s", err.msg);
		w.ctags = false; /* the rest through the scanners */
	}
	while (w.next < f->nfiles) {
		size_t len;

		(void)read_file(&w, w.next++, &len);
	}
}
