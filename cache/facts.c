/* SPDX-License-Identifier: MIT */
/*
 * Repository facts from a bare repository and a commit, with no checkout.
 *
 * facts_load() walks the commit's tree iteratively (an explicit stack of
 * trees, so a 1,000-deep tree costs no C stack), keeps every file's path,
 * size (from the object header, cheap) and language, then reads a bounded
 * prefix of each text blob (FACTS_SCAN_MAX) to flag binaries and to scan
 * top-level symbols and imports with small line-based scanners, one per
 * language. Blobs larger than FACTS_BLOB_LOAD_MAX are never loaded at all
 * (libgit2 inflates a whole blob), symlinks are never read or followed, and
 * a total read budget bounds the load on huge repositories. A second pass
 * resolves imports to repository paths (a file or a directory). Then the
 * history is walked (FACTS_MAX_COMMITS) and top-level manifests and the
 * README are kept as bounded text.
 *
 * All strings live in one arena owned by the repo_facts, which is immutable
 * after facts_load() and shared by reference count (__atomic). The only
 * function that touches git after loading, facts_read_file(), opens its own
 * git_repository per call: libgit2 wants one handle per thread, and a call
 * costs about a millisecond, far less than a page generation.
 *
 * All libgit2 errors are mapped to errno in git_fail(), and only there.
 * Each entry point brackets its work with git_libgit2_init()/shutdown(),
 * which are reference counted: it works whether or not main() initialised
 * libgit2, and costs nothing when main() holds a reference (it should, once,
 * before starting threads).
 */
#include "facts.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <git2.h>

#define FACTS_READ_BUDGET (512ull << 20) /* blob bytes inflated per load */
#define FACTS_LINE_MAX	  4096		 /* longer lines are not scanned */
#define FACTS_NAME_MAX	  200		 /* bytes of a symbol name kept */
#define FACTS_SUBJECT_MAX 300

struct pool_blk {
	struct pool_blk *next;
	size_t used, cap;
	char data[];
};

struct raw_import {
	size_t file;
	unsigned line;
	char
	    kind; /* 'c' include, 'p' python, 'g' go, 'r' rust mod, 'u' rust use, 'j' js, 'J' java */
	const char *spec;
};

struct file_aux {
	size_t sym_first, sym_n;
};

struct repo_facts {
	int refs; /* atomic */
	char *git_dir;
	char *commit;
	struct pool_blk *pool;

	struct facts_file *files;
	struct facts_file_ext *ext;
	struct file_aux *aux;
	size_t nfiles, files_cap;

	struct facts_symbol *syms;
	size_t nsyms, syms_cap;

	struct raw_import *raw;
	size_t nraw, raw_cap;
	struct facts_import *imps;
	size_t nimps;

	struct facts_commit *hist;
	size_t nhist;

	struct facts_lang *langs;
	size_t nlangs;

	struct facts_manifest *mans;
	size_t nmans;

	const char *readme, *readme_path;
	const char *go_module;
	struct facts_stats stats;
};

/* ---- arena ---------------------------------------------------------- */

static void *pool_alloc(struct repo_facts *f, size_t n)
{
	struct pool_blk *b = f->pool;

	n = (n + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < n) {
		size_t cap = MAX((size_t)64 << 10, n);

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = f->pool;
		f->pool = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static const char *pool_strndup(struct repo_facts *f, const char *s, size_t n)
{
	char *p = pool_alloc(f, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *p;
	size_t c;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- libgit2 ------------------------------------------------------------ */

/* The one place where libgit2 errors become errno. */
static int git_fail(struct wf_err *err, int code, const char *what, const char *arg)
{
	const git_error *e = git_error_last();
	int r;

	switch (code) {
	case GIT_ENOTFOUND:
		r = -ENOENT;
		break;
	case GIT_EINVALIDSPEC:
	case GIT_EAMBIGUOUS:
		r = -EINVAL;
		break;
	case GIT_EBUFS:
		r = -ENOBUFS;
		break;
	default:
		r = code == -1 && e && e->klass == GIT_ERROR_NOMEMORY ? -ENOMEM : -EIO;
		/* out of descriptors: the machine's state, worth another attempt */
		if (e && e->klass == GIT_ERROR_OS && e->message &&
		    strstr(e->message, strerror(EMFILE)))
			r = strstr(e->message, strerror(ENFILE)) ? -ENFILE : -EMFILE;
	}
	return wf_err_set(err, r, "%s '%s': %s", what, arg ? arg : "",
			  e && e->message ? e->message : "libgit2 error");
}

static int open_commit(git_repository **repo, git_commit **commit, const char *git_dir,
		       const char *rev, struct wf_err *err)
{
	git_object *obj = NULL;
	int r;

	*repo = NULL;
	*commit = NULL;
	r = git_repository_open_bare(repo, git_dir);
	if (r < 0)
		return git_fail(err, r, "cannot open repository", git_dir);
	r = git_revparse_single(&obj, *repo, rev);
	if (r == 0) {
		r = git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
	}
	if (r < 0) {
		r = git_fail(err, r, "cannot find commit", rev);
		git_repository_free(*repo);
		*repo = NULL;
	}
	return r;
}

/* ---- languages ---------------------------------------------------------- */

struct lang_ext {
	const char *ext; /* with the dot, or a whole file name */
	const char *lang;
};

static const struct lang_ext lang_exts[] = {
	{ ".c", "C" },
	{ ".h", "C" },
	{ ".cc", "C++" },
	{ ".cpp", "C++" },
	{ ".cxx", "C++" },
	{ ".c++", "C++" },
	{ ".hh", "C++" },
	{ ".hpp", "C++" },
	{ ".hxx", "C++" },
	{ ".ipp", "C++" },
	{ ".m", "Objective-C" },
	{ ".mm", "Objective-C" },
	{ ".py", "Python" },
	{ ".pyi", "Python" },
	{ ".go", "Go" },
	{ ".rs", "Rust" },
	{ ".js", "JavaScript" },
	{ ".mjs", "JavaScript" },
	{ ".cjs", "JavaScript" },
	{ ".jsx", "JavaScript" },
	{ ".ts", "TypeScript" },
	{ ".tsx", "TypeScript" },
	{ ".mts", "TypeScript" },
	{ ".java", "Java" },
	{ ".kt", "Kotlin" },
	{ ".kts", "Kotlin" },
	{ ".scala", "Scala" },
	{ ".cs", "C#" },
	{ ".rb", "Ruby" },
	{ ".php", "PHP" },
	{ ".sh", "Shell" },
	{ ".bash", "Shell" },
	{ ".zsh", "Shell" },
	{ ".swift", "Swift" },
	{ ".lua", "Lua" },
	{ ".pl", "Perl" },
	{ ".pm", "Perl" },
	{ ".hs", "Haskell" },
	{ ".ml", "OCaml" },
	{ ".mli", "OCaml" },
	{ ".ex", "Elixir" },
	{ ".exs", "Elixir" },
	{ ".erl", "Erlang" },
	{ ".zig", "Zig" },
	{ ".nim", "Nim" },
	{ ".dart", "Dart" },
	{ ".r", "R" },
	{ ".jl", "Julia" },
	{ ".clj", "Clojure" },
	{ ".s", "Assembly" },
	{ ".asm", "Assembly" },
	{ ".vue", "Vue" },
	{ ".svelte", "Svelte" },
	{ ".f90", "Fortran" },
	{ ".sql", "SQL" },
	{ ".md", "Markdown" },
	{ ".markdown", "Markdown" },
	{ ".rst", "reStructuredText" },
	{ ".txt", "Text" },
	{ ".adoc", "AsciiDoc" },
	{ ".html", "HTML" },
	{ ".htm", "HTML" },
	{ ".css", "CSS" },
	{ ".scss", "CSS" },
	{ ".json", "JSON" },
	{ ".yml", "YAML" },
	{ ".yaml", "YAML" },
	{ ".toml", "TOML" },
	{ ".xml", "XML" },
	{ ".ini", "INI" },
	{ ".cmake", "CMake" },
	{ ".mk", "Makefile" },
	{ ".proto", "Protocol Buffers" },
	{ "Makefile", "Makefile" },
	{ "GNUmakefile", "Makefile" },
	{ "makefile", "Makefile" },
	{ "CMakeLists.txt", "CMake" },
	{ "meson.build", "Meson" },
	{ "meson_options.txt", "Meson" },
	{ "meson.options", "Meson" },
	{ "Dockerfile", "Dockerfile" },
	{ "configure.ac", "Autoconf" },
	{ "Makefile.am", "Automake" },
};

static const char *const code_langs[] = {
	"C",	      "C++",   "Objective-C", "Python",	 "Go",	    "Rust",  "JavaScript",
	"TypeScript", "Java",  "Kotlin",      "Scala",	 "C#",	    "Ruby",  "PHP",
	"Shell",      "Swift", "Lua",	      "Perl",	 "Haskell", "OCaml", "Elixir",
	"Erlang",     "Zig",   "Nim",	      "Dart",	 "R",	    "Julia", "Clojure",
	"Assembly",   "Vue",   "Svelte",      "Fortran", "SQL",
};

/* Extensions of files that are binary without looking (never loaded). */
static const char *const binary_exts[] = {
	".png", ".jpg", ".jpeg", ".gif", ".ico",   ".bmp",  ".webp",  ".pdf",	".zip",
	".gz",	".tgz", ".xz",	 ".bz2", ".zst",   ".7z",   ".jar",   ".class", ".o",
	".a",	".so",	".dll",	 ".exe", ".dylib", ".woff", ".woff2", ".ttf",	".otf",
	".mp3", ".mp4", ".wav",	 ".ogg", ".mov",   ".avi",  ".bin",   ".pyc",	".wasm",
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static const char *ext_of(const char *path)
{
	const char *b = base_name(path), *d = strrchr(b, '.');

	return d && d != b ? d : NULL;
}

const char *facts_lang_of(const char *path)
{
	const char *b = base_name(path), *e = ext_of(path);

	for (size_t i = 0; i < ARRAY_SIZE(lang_exts); i++) {
		const char *x = lang_exts[i].ext;

		if (x[0] == '.' ? e && !strcasecmp(e, x) : !strcmp(b, x))
			return lang_exts[i].lang;
	}
	return NULL;
}

int facts_lang_is_code(const char *lang)
{
	if (!lang)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(code_langs); i++)
		if (!strcmp(lang, code_langs[i]))
			return 1;
	return 0;
}

static bool binary_by_name(const char *path)
{
	const char *e = ext_of(path);

	for (size_t i = 0; e && i < ARRAY_SIZE(binary_exts); i++)
		if (!strcasecmp(e, binary_exts[i]))
			return true;
	return false;
}

/* A file without a known extension may say what it is on its first line. */
static const char *lang_of_shebang(const char *p, size_t n)
{
	size_t len = 0;

	if (n < 3 || p[0] != '#' || p[1] != '!')
		return NULL;
	while (len < n && len < 200 && p[len] != '\n')
		len++;
	if (memmem(p, len, "python", 6))
		return "Python";
	if (memmem(p, len, "bash", 4) || memmem(p, len, "/sh", 3) || memmem(p, len, " sh", 3))
		return "Shell";
	if (memmem(p, len, "node", 4))
		return "JavaScript";
	if (memmem(p, len, "perl", 4))
		return "Perl";
	if (memmem(p, len, "ruby", 4))
		return "Ruby";
	return NULL;
}

/* ---- tree walk ---------------------------------------------------------- */

struct frame {
	git_tree *tree;
	size_t idx, pathlen;
};

typedef int (*walk_fn)(void *ctx, const char *path, size_t len, unsigned depth,
		       const git_tree_entry *e);

/*
 * Iterative depth-first walk in tree order. Entries past FACTS_MAX_DEPTH or
 * FACTS_MAX_PATH are counted in *skipped and not reported.
 */
static int walk_tree(git_repository *repo, git_tree *root, walk_fn fn, void *ctx, size_t *skipped,
		     struct wf_err *err)
{
	struct frame *st;
	char *path;
	size_t n = 1;
	int r = 0;

	st = calloc(FACTS_MAX_DEPTH + 1, sizeof(*st));
	path = malloc(FACTS_MAX_PATH + 1);
	if (!st || !path) {
		free(st);
		free(path);
		return -ENOMEM;
	}
	st[0].tree = root;
	while (n > 0 && r == 0) {
		struct frame *fr = &st[n - 1];
		const git_tree_entry *e;
		const char *name;
		size_t nl, len;
		unsigned mode;

		if (fr->idx >= git_tree_entrycount(fr->tree)) {
			if (n > 1)
				git_tree_free(fr->tree);
			n--;
			continue;
		}
		e = git_tree_entry_byindex(fr->tree, fr->idx++);
		name = git_tree_entry_name(e);
		nl = strlen(name);
		mode = (unsigned)git_tree_entry_filemode(e);
		len = fr->pathlen + (fr->pathlen ? 1 : 0) + nl;
		if (len > FACTS_MAX_PATH || n > FACTS_MAX_DEPTH) {
			(*skipped)++;
			continue;
		}
		if (fr->pathlen)
			path[fr->pathlen] = '/';
		memcpy(path + len - nl, name, nl);
		path[len] = '\0';
		r = fn(ctx, path, len, (unsigned)n, e);
		if (r == 0 && mode == FACTS_MODE_TREE) {
			git_tree *sub;
			int gr;

			if (n >= FACTS_MAX_DEPTH) {
				(*skipped)++;
				continue;
			}
			gr = git_tree_lookup(&sub, repo, git_tree_entry_id(e));
			if (gr < 0) {
				r = git_fail(err, gr, "cannot read tree", path);
				break;
			}
			st[n].tree = sub;
			st[n].idx = 0;
			st[n].pathlen = len;
			n++;
		}
	}
	while (n > 1)
		git_tree_free(st[--n].tree);
	free(st);
	free(path);
	return r;
}

struct foreach_ctx {
	facts_tree_fn fn;
	void *ctx;
};

static int foreach_cb(void *ctx, const char *path, size_t len, unsigned depth,
		      const git_tree_entry *e)
{
	struct foreach_ctx *c = ctx;

	return c->fn(c->ctx, path, len, depth, (unsigned)git_tree_entry_filemode(e));
}

int facts_tree_foreach(const char *git_dir, const char *commit, facts_tree_fn fn, void *ctx,
		       struct wf_err *err)
{
	struct foreach_ctx c = { fn, ctx };
	git_repository *repo;
	git_commit *cm;
	git_tree *tree = NULL;
	size_t skipped = 0;
	int r;

	git_libgit2_init();
	r = open_commit(&repo, &cm, git_dir, commit, err);
	if (r < 0)
		goto out_shutdown;
	r = git_commit_tree(&tree, cm);
	if (r < 0)
		r = git_fail(err, r, "cannot read tree of", commit);
	else
		r = walk_tree(repo, tree, foreach_cb, &c, &skipped, err);
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(repo);
out_shutdown:
	git_libgit2_shutdown();
	return r;
}

/* ---- loading: files ----------------------------------------------------- */

struct load_ctx {
	struct repo_facts *f;
	git_odb *odb;
	git_oid *oids; /* parallel to f->files while loading */
	size_t oids_cap;
};

static int add_file_cb(void *ctx, const char *path, size_t len, unsigned depth,
		       const git_tree_entry *e)
{
	struct load_ctx *lc = ctx;
	struct repo_facts *f = lc->f;
	unsigned mode = (unsigned)git_tree_entry_filemode(e);
	struct facts_file *ff;
	size_t size = 0;
	git_object_t type;
	int r;

	if (mode == FACTS_MODE_TREE)
		return 0;
	f->stats.files_total++;
	if (f->nfiles >= FACTS_MAX_FILES) {
		f->stats.files_dropped++;
		return 0;
	}
	if (grow((void **)&f->files, &f->files_cap, f->nfiles + 1, sizeof(*f->files)) < 0 ||
	    grow((void **)&lc->oids, &lc->oids_cap, f->nfiles + 1, sizeof(*lc->oids)) < 0)
		return -ENOMEM;
	ff = &f->files[f->nfiles];
	ff->path = pool_strndup(f, path, len);
	if (!ff->path)
		return -ENOMEM;
	ff->binary = 0;
	ff->size = 0;
	ff->lang =
	    mode == FACTS_MODE_LINK || mode == FACTS_MODE_GITLINK ? NULL : facts_lang_of(path);
	lc->oids[f->nfiles] = *git_tree_entry_id(e);
	if (mode != FACTS_MODE_GITLINK) {
		r = git_odb_read_header(&size, &type, lc->odb, git_tree_entry_id(e));
		if (r < 0)
			size = 0; /* a missing object (shallow or partial clone): keep the name */
	}
	ff->size = size;
	/* borrow the binary field for the mode until sorting is done */
	ff->binary = (int)mode;
	f->nfiles++;
	return 0;
}

struct sort_item {
	struct facts_file file;
	git_oid oid;
};

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct sort_item *)a)->file.path,
		      ((const struct sort_item *)b)->file.path);
}

/* ---- scanners ------------------------------------------------------------ */

struct scan {
	struct repo_facts *f;
	size_t file;
	const char *path;
	bool header; /* C/C++ header: prototypes count as symbols */
	size_t nsym;
};

static bool is_id0(int c)
{
	return isalpha(c) || c == '_' || c == '$';
}

static bool is_id(int c)
{
	return isalnum(c) || c == '_' || c == '$';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Identifier at @p, its length in *n (0 if none). */
static size_t ident_len(const char *p, const char *end)
{
	size_t n = 0;

	if (p < end && is_id0((unsigned char)*p))
		while (p + n < end && is_id((unsigned char)p[n]))
			n++;
	return n;
}

/* If @p starts with word @w followed by a non-identifier byte, returns past it. */
static const char *word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - p) >= n && !memcmp(p, w, n) &&
	    (p + n == end || !is_id((unsigned char)p[n])))
		return skip_ws(p + n, end);
	return NULL;
}

static void add_sym(struct scan *s, unsigned line, const char *kind, const char *name, size_t n)
{
	struct repo_facts *f = s->f;
	struct facts_symbol *sym;

	if (n == 0)
		return;
	if (s->nsym >= FACTS_FILE_SYMBOLS || f->nsyms >= FACTS_MAX_SYMBOLS ||
	    grow((void **)&f->syms, &f->syms_cap, f->nsyms + 1, sizeof(*f->syms)) < 0) {
		f->stats.symbols_dropped++;
		return;
	}
	sym = &f->syms[f->nsyms];
	sym->path = s->path;
	sym->line = line;
	sym->kind = kind;
	sym->name = pool_strndup(f, name, MIN(n, (size_t)FACTS_NAME_MAX));
	if (!sym->name)
		return;
	f->nsyms++;
	s->nsym++;
}

static void add_raw(struct scan *s, unsigned line, char kind, const char *spec, size_t n)
{
	struct repo_facts *f = s->f;
	struct raw_import *ri;

	if (n == 0 || n > 512)
		return;
	if (f->nraw >= FACTS_MAX_IMPORTS ||
	    grow((void **)&f->raw, &f->raw_cap, f->nraw + 1, sizeof(*f->raw)) < 0) {
		f->stats.imports_dropped++;
		return;
	}
	ri = &f->raw[f->nraw];
	ri->file = s->file;
	ri->line = line;
	ri->kind = kind;
	ri->spec = pool_strndup(f, spec, n);
	if (ri->spec)
		f->nraw++;
}

/* A quoted string starting at or after @p: "x" or 'x'. */
static bool quoted(const char *p, const char *end, const char **q, size_t *n)
{
	char c;
	const char *e;

	while (p < end && *p != '"' && *p != '\'')
		p++;
	if (p >= end)
		return false;
	c = *p++;
	e = memchr(p, c, (size_t)(end - p));
	if (!e)
		return false;
	*q = p;
	*n = (size_t)(e - p);
	return true;
}

static const char *const c_keywords[] = {
	"if",
	"for",
	"while",
	"switch",
	"return",
	"sizeof",
	"do",
	"else",
	"case",
	"defined",
	"typeof",
	"__attribute__",
	"alignof",
	"_Static_assert",
	"static_assert",
	"__typeof__",
	"decltype",
	"catch",
	"new",
	"delete",
	"throw",
};

static bool c_keyword(const char *p, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(c_keywords); i++)
		if (strlen(c_keywords[i]) == n && !memcmp(p, c_keywords[i], n))
			return true;
	return false;
}

struct cstate {
	bool comment;	 /* inside a block comment */
	bool pp_cont;	 /* preprocessor line continued */
	int depth;	 /* brace depth */
	int ns;		 /* braces opened by namespace / extern "C" */
	uint64_t nsbits; /* bit d set: brace at depth d is a namespace (d < 64) */
	unsigned pend_line;
	const char *pend;
	size_t pend_n;
	bool pend_typedef;
	int java_class_depth;
	char cls[FACTS_NAME_MAX];
};

/* Copies @p..@end into @out without comments and string contents. */
static size_t c_clean(struct cstate *cs, const char *p, const char *end, char *out)
{
	size_t o = 0;
	char q = 0;

	while (p < end) {
		if (cs->comment) {
			if (p + 1 < end && p[0] == '*' && p[1] == '/') {
				cs->comment = false;
				p += 2;
				out[o++] = ' ';
			} else {
				p++;
			}
			continue;
		}
		if (q) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == q) {
				q = 0;
				out[o++] = *p;
			}
			p++;
			continue;
		}
		if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			cs->comment = true;
			p += 2;
			continue;
		}
		if (p + 1 < end && p[0] == '/' && p[1] == '/')
			break;
		if (*p == '"' || *p == '\'')
			q = *p;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return o;
}

/* The identifier (with C++ "::" and "~") just before @p, in [line, p). */
static const char *name_before(const char *line, const char *p, size_t *n)
{
	const char *e = p, *s;

	while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	s = e;
	while (s > line && (is_id((unsigned char)s[-1]) || s[-1] == ':' || s[-1] == '~'))
		s--;
	while (s < e && (*s == ':' || isdigit((unsigned char)*s)))
		s++;
	*n = (size_t)(e - s);
	return s;
}

static void c_line(struct scan *s, struct cstate *cs, unsigned ln, const char *raw,
		   const char *rend, char *cl, size_t cn, bool java)
{
	const char *p = cl, *end = cl + cn, *t, *q;
	bool ns_line = false, col0 = raw < rend && is_id0((unsigned char)*raw);
	int eff = cs->depth - cs->ns;
	size_t n;

	p = skip_ws(p, end);
	if (!java && (cs->pp_cont || (p < end && *p == '#'))) {
		cs->pp_cont = rend > raw && rend[-1] == '\\';
		if (cs->pp_cont && p < end && *p != '#')
			return;
		p = skip_ws(p + 1, end);
		if ((t = word(p, end, "include")) && quoted(skip_ws(raw, rend), rend, &q, &n) &&
		    q > raw && q[-1] == '"')
			add_raw(s, ln, 'c', q, n);
		else if ((t = word(p, end, "define")) && eff == 0)
			add_sym(s, ln, "macro", t, ident_len(t, end));
		return;
	}
	if (java && eff == 0) {
		if ((t = word(p, end, "package")))
			return;
		if ((t = word(p, end, "import"))) {
			const char *st = word(t, end, "static");

			if (st)
				t = st;
			for (n = 0; t + n < end && t[n] != ';' && t[n] != ' '; n++)
				;
			add_raw(s, ln, 'J', t, n);
			return;
		}
	}
	if (java && (eff == 0 || eff == 1)) {
		/* modifiers, then class / interface / enum / record, or a method */
		const char *kinds[] = { "class", "interface", "enum", "record", "@interface" };
		const char *w = p;

		for (;;) {
			const char *mods[] = { "public", "private",  "protected", "static",
					       "final",	 "abstract", "sealed",	  "synchronized",
					       "native", "default",  "strictfp",  "non-sealed" };
			bool hit = false;

			for (size_t i = 0; i < ARRAY_SIZE(mods) && !hit; i++)
				if ((t = word(w, end, mods[i])))
					w = t, hit = true;
			if (!hit)
				break;
		}
		while (w < end && *w == '@') { /* annotations */
			w++;
			w += ident_len(w, end);
			if (w < end && *w == '(') {
				const char *c = memchr(w, ')', (size_t)(end - w));
				w = c ? c + 1 : end;
			}
			w = skip_ws(w, end);
		}
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
			if ((t = word(w, end, kinds[i])) && (n = ident_len(t, end))) {
				add_sym(s, ln, kinds[i][0] == '@' ? "annotation" : kinds[i], t, n);
				if (eff == 0) /* methods are named after their top-level class */
					snprintf(cs->cls, sizeof(cs->cls), "%.*s", (int)n, t);
				goto braces;
			}
		}
		if (eff == 1 && (q = memchr(w, '(', (size_t)(end - w))) &&
		    !memchr(w, '=', (size_t)(q - w)) && w < q) {
			const char *nm = name_before(w, q, &n);

			/* a method has a type before its name; a call has not */
			if (n && nm > w && !c_keyword(nm, n) &&
			    !memchr(q, ';', (size_t)(end - q)) && !word(w, end, "return") &&
			    !word(w, end, "new") && !word(w, end, "throw")) {
				char buf[FACTS_NAME_MAX * 2 + 2];
				int bl = snprintf(buf, sizeof(buf), "%s%s%.*s", cs->cls,
						  cs->cls[0] ? "." : "", (int)n, nm);

				add_sym(s, ln, "method", buf,
					(size_t)MIN(bl, (int)sizeof(buf) - 1));
			}
		}
		goto braces;
	}
	if (eff == 0 && col0) {
		if ((t = word(p, end, "template")))
			goto braces;
		if ((t = word(p, end, "namespace")) ||
		    (word(p, end, "extern") && strstr(p, "\"C\"")))
			ns_line = true;
		t = word(p, end, "typedef");
		if (t) {
			const char *sem = memchr(t, ';', (size_t)(end - t));
			const char *kw[] = { "struct", "union", "enum" };

			for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
				const char *a = word(t, end, kw[i]);

				if (a && (n = ident_len(a, end)) &&
				    memchr(a, '{', (size_t)(end - a)))
					add_sym(s, ln, kw[i], a, n);
			}
			if (sem && !memchr(t, '{', (size_t)(sem - t))) {
				const char *nm, *par = NULL;

				for (const char *c = t; c + 1 < sem; c++)
					if (c[0] == '(' && c[1] == '*') {
						par = c + 2;
						break;
					}
				if (par) {
					n = ident_len(par, end);
					nm = par;
				} else {
					nm = name_before(t, sem, &n);
					if (nm > t && nm[-1] == ']')
						n = 0;
				}
				add_sym(s, ln, "typedef", nm, n);
			} else if (!sem) {
				cs->pend_typedef = true;
			}
			goto braces;
		}
		{
			const char *kw[] = { "struct", "union", "enum", "class" };

			for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
				const char *a = word(p, end, kw[i]);

				if (!a)
					continue;
				if (i == 3 || i == 2)
					a = word(a, end, "class") ? word(a, end, "class") : a;
				n = ident_len(a, end);
				t = a + n;
				t = skip_ws(t, end);
				/* "struct x {", "struct x\n{", "class x : base {"; not "struct x *f(" */
				if (n && (t == end || *t == '{' || *t == ':' ||
					  (i == 3 && *t != ';' && *t != '*'))) {
					add_sym(s, ln, kw[i], a, n);
					goto braces;
				}
				break;
			}
		}
		q = memchr(p, '(', (size_t)(end - p));
		if (q && !memchr(p, '=', (size_t)(q - p))) {
			const char *nm = name_before(p, q, &n);

			if (n && !c_keyword(nm, n)) {
				const char *sem = memchr(q, ';', (size_t)(end - q));
				const char *br = memchr(q, '{', (size_t)(end - q));

				if (sem && (!br || sem < br)) {
					if (s->header && nm > p)
						add_sym(s, ln, "prototype", nm, n);
				} else {
					cs->pend_line = ln;
					/* keep the name: the line buffer is reused */
					cs->pend =
					    pool_strndup(s->f, nm, MIN(n, (size_t)FACTS_NAME_MAX));
					cs->pend_n = cs->pend ? MIN(n, (size_t)FACTS_NAME_MAX) : 0;
				}
			}
		}
	}
braces:
	for (const char *c = cl; c < end; c++) {
		if (*c == '{') {
			if (cs->depth - cs->ns == 0 && cs->pend_n) {
				add_sym(s, cs->pend_line, "function", cs->pend, cs->pend_n);
				cs->pend_n = 0;
			}
			if (ns_line && cs->depth < 64) {
				cs->nsbits |= 1ull << cs->depth;
				cs->ns++;
				ns_line = false;
			}
			cs->depth++;
		} else if (*c == '}') {
			if (cs->depth > 0) {
				cs->depth--;
				if (cs->depth < 64 && (cs->nsbits & (1ull << cs->depth))) {
					cs->nsbits &= ~(1ull << cs->depth);
					cs->ns--;
				}
			}
			if (cs->depth - cs->ns == 0 && cs->pend_typedef) {
				const char *a = skip_ws(c + 1, end);

				if ((n = ident_len(a, end))) {
					add_sym(s, ln, "typedef", a, n);
					cs->pend_typedef = false;
				}
			}
		} else if (*c == ';' && cs->depth - cs->ns == 0) {
			cs->pend_n = 0;
			cs->pend_typedef = false;
		}
	}
}

static void scan_python(struct scan *s, unsigned ln, const char *p, const char *end, bool *in_str)
{
	const char *t, *l = p;
	size_t n, k = 0;

	for (const char *c = p; c + 2 < end; c++)
		if ((c[0] == '"' || c[0] == '\'') && c[1] == c[0] && c[2] == c[0])
			k++, c += 2;
	if (*in_str) {
		if (k % 2)
			*in_str = false;
		return;
	}
	if (k % 2)
		*in_str = true;
	if ((t = word(p, end, "async")))
		p = t;
	if ((t = word(p, end, "def")))
		add_sym(s, ln, "def", t, ident_len(t, end));
	else if ((t = word(p, end, "class")))
		add_sym(s, ln, "class", t, ident_len(t, end));
	p = skip_ws(l, end);
	if ((t = word(p, end, "import"))) {
		while (t < end) {
			for (n = 0; t + n < end && (is_id((unsigned char)t[n]) || t[n] == '.'); n++)
				;
			add_raw(s, ln, 'p', t, n);
			t = memchr(t, ',', (size_t)(end - t));
			if (!t)
				break;
			t = skip_ws(t + 1, end);
		}
	} else if ((t = word(p, end, "from"))) {
		const char *imp;

		for (n = 0; t + n < end && (is_id((unsigned char)t[n]) || t[n] == '.'); n++)
			;
		imp = word(skip_ws(t + n, end), end, "import");
		if (!imp)
			return;
		/* "from . import a, b" and "from pkg import mod": try each name below */
		if (*imp == '(')
			imp = skip_ws(imp + 1, end);
		while (imp < end) {
			char buf[600];
			size_t m = ident_len(imp, end);

			if (m && n + m + 1 < sizeof(buf)) {
				snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)n, t,
					 n && t[n - 1] != '.' ? "." : "", (int)m, imp);
				/* '|' marks the fallback: the name may be a function */
				add_raw(s, ln, 'P', buf, strlen(buf));
			}
			imp = memchr(imp, ',', (size_t)(end - imp));
			if (!imp)
				break;
			imp = skip_ws(imp + 1, end);
		}
	}
}

static void scan_go(struct scan *s, unsigned ln, const char *p, const char *end, bool *block,
		    bool *tblock)
{
	const char *t, *q;
	size_t n;

	if (*block) {
		if (*p == ')')
			*block = false;
		else if (quoted(p, end, &q, &n) && q[-1] == '"')
			add_raw(s, ln, 'g', q, n);
		return;
	}
	if (*tblock) {
		if (*p == ')')
			*tblock = false;
		else if (*p == '\t' && (n = ident_len(p + 1, end)))
			add_sym(s, ln, "type", p + 1, n);
		return;
	}
	if ((t = word(p, end, "import"))) {
		if (*t == '(')
			*block = true;
		else if (quoted(t, end, &q, &n) && q[-1] == '"')
			add_raw(s, ln, 'g', q, n);
	} else if ((t = word(p, end, "func"))) {
		if (*t == '(') {
			const char *rp = memchr(t, ')', (size_t)(end - t));
			const char *rn;
			size_t rl;

			if (!rp)
				return;
			rn = name_before(t + 1, rp, &rl);
			if (rl && rn > t && rn[-1] == '[') /* generic receiver T[K] */
				rn = name_before(t + 1, rn - 1, &rl);
			t = skip_ws(rp + 1, end);
			n = ident_len(t, end);
			if (n) {
				char buf[FACTS_NAME_MAX * 2 + 2];
				int bl = snprintf(buf, sizeof(buf), "%.*s.%.*s", (int)MIN(rl, 200),
						  rn, (int)MIN(n, 200), t);

				add_sym(s, ln, "method", buf, (size_t)bl);
			}
		} else {
			add_sym(s, ln, "func", t, ident_len(t, end));
		}
	} else if ((t = word(p, end, "type"))) {
		if (*t == '(') {
			*tblock = true;
			return;
		}
		n = ident_len(t, end);
		q = skip_ws(t + n, end);
		add_sym(s, ln,
			word(q, end, "struct")	    ? "struct"
			: word(q, end, "interface") ? "interface"
						    : "type",
			t, n);
	}
}

static void scan_rust(struct scan *s, unsigned ln, const char *p, const char *end)
{
	const char *t, *q;
	size_t n;

	if ((t = word(p, end, "pub"))) {
		p = t;
		if (*p == '(') {
			q = memchr(p, ')', (size_t)(end - p));
			if (!q)
				return;
			p = skip_ws(q + 1, end);
		}
	}
	if ((t = word(p, end, "use"))) {
		for (n = 0; t + n < end && t[n] != ';' && t[n] != '{' && t[n] != ' '; n++)
			;
		if (n > 7 && !memcmp(t, "crate::", 7))
			add_raw(s, ln, 'u', t + 7, n - 7);
		return;
	}
	for (;;) {
		if ((t = word(p, end, "async")) || (t = word(p, end, "const")) ||
		    (t = word(p, end, "unsafe")) || (t = word(p, end, "default")))
			p = t;
		else if ((t = word(p, end, "extern")))
			p = *t == '"' && (q = memchr(t + 1, '"', (size_t)(end - t - 1)))
				? skip_ws(q + 1, end)
				: t;
		else
			break;
	}
	{
		const char *kw[] = { "fn", "struct", "enum", "trait", "union", "type", "mod" };

		for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
			if ((t = word(p, end, kw[i])) && (n = ident_len(t, end))) {
				add_sym(s, ln, kw[i], t, n);
				if (i == 6 && skip_ws(t + n, end) < end &&
				    *skip_ws(t + n, end) == ';')
					add_raw(s, ln, 'r', t, n);
				return;
			}
		}
	}
	if ((size_t)(end - p) > 12 && !memcmp(p, "macro_rules!", 12)) {
		t = skip_ws(p + 12, end);
		add_sym(s, ln, "macro", t, ident_len(t, end));
		return;
	}
	if ((t = word(p, end, "impl"))) {
		if (*t == '<') { /* impl<T> X for Y */
			int d = 0;

			for (; t < end; t++) {
				d += *t == '<' ? 1 : *t == '>' ? -1 : 0;
				if (d == 0)
					break;
			}
			t = skip_ws(t + 1, end);
		}
		for (n = 0; t + n < end && t[n] != '{'; n++)
			;
		while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			n--;
		add_sym(s, ln, "impl", t, MIN(n, (size_t)120));
	}
}

static void scan_js(struct scan *s, unsigned ln, const char *p, const char *end, bool col0)
{
	const char *t, *q;
	size_t n;
	bool exp = false;

	/* imports first: they may be anywhere on the line */
	for (t = p; (t = memmem(t, (size_t)(end - t), "from", 4)); t += 4) {
		q = skip_ws(t + 4, end);
		if (q < end && (*q == '"' || *q == '\'') && quoted(q, end, &q, &n) && *q == '.') {
			add_raw(s, ln, 'j', q, n);
			break;
		}
	}
	if ((t = word(p, end, "import")) && (*t == '"' || *t == '\'') && quoted(t, end, &q, &n) &&
	    *q == '.')
		add_raw(s, ln, 'j', q, n);
	for (t = p; (t = memmem(t, (size_t)(end - t), "require(", 8)); t += 8) {
		if (quoted(t + 8, end, &q, &n) && q == t + 9 && *q == '.')
			add_raw(s, ln, 'j', q, n);
	}
	if (!col0)
		return;
	if ((t = word(p, end, "export"))) {
		p = t;
		exp = true;
		if ((t = word(p, end, "default")))
			p = t;
	}
	if ((t = word(p, end, "declare")))
		p = t;
	if ((t = word(p, end, "async")))
		p = t;
	if ((t = word(p, end, "abstract")))
		p = t;
	if ((size_t)(end - p) > 9 && !memcmp(p, "function*", 9))
		p = skip_ws(p + 9, end), t = p;
	else
		t = word(p, end, "function");
	if (t) {
		if (t < end && *t == '*')
			t = skip_ws(t + 1, end);
		add_sym(s, ln, "function", t, ident_len(t, end));
	} else if ((t = word(p, end, "class"))) {
		add_sym(s, ln, "class", t, ident_len(t, end));
	} else if ((t = word(p, end, "interface"))) {
		add_sym(s, ln, "interface", t, ident_len(t, end));
	} else if ((t = word(p, end, "enum"))) {
		add_sym(s, ln, "enum", t, ident_len(t, end));
	} else if ((t = word(p, end, "type")) && (n = ident_len(t, end)) &&
		   memchr(t + n, '=', (size_t)(end - t - n))) {
		add_sym(s, ln, "type", t, n);
	} else if (exp && ((t = word(p, end, "const")) || (t = word(p, end, "let")) ||
			   (t = word(p, end, "var")))) {
		add_sym(s, ln, "const", t, ident_len(t, end));
	}
}

static void scan_shell(struct scan *s, unsigned ln, const char *p, const char *end)
{
	const char *t;
	size_t n = 0;

	if ((t = word(p, end, "function"))) {
		while (t + n < end &&
		       (is_id((unsigned char)t[n]) || t[n] == '-' || t[n] == ':' || t[n] == '.'))
			n++;
		add_sym(s, ln, "function", t, n);
		return;
	}
	while (p + n < end &&
	       (is_id((unsigned char)p[n]) || p[n] == '-' || p[n] == ':' || p[n] == '.'))
		n++;
	t = skip_ws(p + n, end);
	if (n && end - t >= 2 && t[0] == '(' && t[1] == ')')
		add_sym(s, ln, "function", p, n);
}

enum scanner { SC_NONE, SC_C, SC_PY, SC_GO, SC_RUST, SC_JS, SC_JAVA, SC_SH };

static enum scanner scanner_for(const char *lang)
{
	if (!lang)
		return SC_NONE;
	if (!strcmp(lang, "C") || !strcmp(lang, "C++") || !strcmp(lang, "Objective-C"))
		return SC_C;
	if (!strcmp(lang, "Python"))
		return SC_PY;
	if (!strcmp(lang, "Go"))
		return SC_GO;
	if (!strcmp(lang, "Rust"))
		return SC_RUST;
	if (!strcmp(lang, "JavaScript") || !strcmp(lang, "TypeScript"))
		return SC_JS;
	if (!strcmp(lang, "Java"))
		return SC_JAVA;
	if (!strcmp(lang, "Shell"))
		return SC_SH;
	return SC_NONE;
}

static void scan_text(struct repo_facts *f, size_t idx, const char *data, size_t len)
{
	const char *lang = f->files[idx].lang, *p = data, *end = data + len;
	enum scanner sc = scanner_for(lang);
	struct scan s = { f, idx, f->files[idx].path, false, 0 };
	struct cstate cs = { 0 };
	bool b1 = false, b2 = false;
	char *cl = NULL;
	unsigned ln = 0;

	if (sc == SC_NONE)
		return;
	if (sc == SC_C || sc == SC_JAVA) {
		const char *e = ext_of(s.path);

		s.header = e && tolower((unsigned char)e[1]) == 'h';
		cl = malloc(FACTS_LINE_MAX + 1);
		if (!cl)
			return;
	}
	f->aux[idx].sym_first = f->nsyms;
	/* the last line of a truncated prefix may be cut: drop it */
	if (len == FACTS_SCAN_MAX) {
		const char *nl = memrchr(data, '\n', len);

		end = nl ? nl + 1 : data;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		ln++;
		if (le > p && le[-1] == '\r')
			le--;
		if (le - p <= FACTS_LINE_MAX) {
			const char *t = skip_ws(p, le);
			bool col0 = t == p;

			switch (sc) {
			case SC_C:
			case SC_JAVA: {
				size_t cn = c_clean(&cs, p, le, cl);

				c_line(&s, &cs, ln, p, le, cl, cn, sc == SC_JAVA);
				break;
			}
			case SC_PY:
				scan_python(&s, ln, t, le, &b1);
				if (!col0 && s.nsym && f->syms[f->nsyms - 1].line == ln) {
					/* only top-level definitions */
					f->nsyms--;
					s.nsym--;
				}
				break;
			case SC_GO:
				if (col0 || b1 || b2)
					scan_go(&s, ln, b2 ? p : t, le, &b1, &b2);
				break;
			case SC_RUST:
				if (col0)
					scan_rust(&s, ln, t, le);
				break;
			case SC_JS:
				scan_js(&s, ln, t, le, col0);
				break;
			case SC_SH:
				if (col0)
					scan_shell(&s, ln, t, le);
				break;
			default:
				break;
			}
		}
		p = nl ? nl + 1 : end;
	}
	f->aux[idx].sym_n = f->nsyms - f->aux[idx].sym_first;
	free(cl);
}

/* ---- import resolution -------------------------------------------------- */

long facts_find_file(const struct repo_facts *f, const char *path)
{
	size_t lo = 0, hi = f->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->files[mid].path, path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* First file whose path is >= @key. */
static size_t lower_bound(const struct repo_facts *f, const char *key)
{
	size_t lo = 0, hi = f->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(f->files[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t facts_dir_range(const struct repo_facts *f, const char *dir, size_t *first)
{
	size_t dl = strlen(dir), lo, hi;
	char *key;

	if (dl == 0) {
		*first = 0;
		return f->nfiles;
	}
	key = malloc(dl + 2);
	if (!key) {
		*first = 0;
		return 0;
	}
	memcpy(key, dir, dl);
	key[dl] = '/';
	key[dl + 1] = '\0';
	lo = lower_bound(f, key);
	key[dl] = '/' + 1; /* '0': just past every "dir/..." */
	hi = lower_bound(f, key);
	free(key);
	*first = lo;
	return hi - lo;
}

/* Returns the pool copy of @path if it names a file or a directory. */
static const char *lookup_path(struct repo_facts *f, const char *path, bool dir_ok)
{
	long i = facts_find_file(f, path);
	size_t first;

	if (i >= 0)
		return f->files[i].path;
	if (dir_ok && *path && facts_dir_range(f, path, &first) > 0)
		return pool_strndup(f, path, strlen(path));
	return NULL;
}

/* Joins @dir and @rel, resolving "." and ".."; false if it leaves the tree. */
static bool join_norm(const char *dir, size_t dl, const char *rel, char *out, size_t cap)
{
	size_t o = 0;
	const char *parts[2] = { dir, rel };
	size_t lens[2] = { dl, strlen(rel) };

	for (int k = 0; k < 2; k++) {
		const char *p = parts[k], *end = p + lens[k];

		while (p < end) {
			const char *sl = memchr(p, '/', (size_t)(end - p));
			size_t n = (size_t)((sl ? sl : end) - p);

			if (n == 0 || (n == 1 && p[0] == '.')) {
				/* skip */
			} else if (n == 2 && p[0] == '.' && p[1] == '.') {
				if (o == 0)
					return false;
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else {
				if (o + n + 2 > cap)
					return false;
				if (o)
					out[o++] = '/';
				memcpy(out + o, p, n);
				o += n;
			}
			p += n + 1;
		}
	}
	out[o] = '\0';
	return true;
}

static size_t dir_len(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? (size_t)(s - path) : 0;
}

struct bname {
	const char *base;
	size_t file;
};

static int cmp_bname(const void *a, const void *b)
{
	const struct bname *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c ? c : (x->file < y->file ? -1 : x->file > y->file);
}

/* The file whose path ends with "/@suffix" (or is it), nearest to @from. */
static const char *by_suffix(struct repo_facts *f, const struct bname *bn, size_t nbn,
			     const char *suffix, const char *from)
{
	const char *base = base_name(suffix);
	size_t lo = 0, hi = nbn, sl = strlen(suffix), best_common = 0;
	const char *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(bn[mid].base, base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, seen = 0; i < nbn && !strcmp(bn[i].base, base) && seen < 64;
	     i++, seen++) {
		const char *p = f->files[bn[i].file].path;
		size_t pl = strlen(p), c = 0;

		if (pl < sl || strcmp(p + pl - sl, suffix) || (pl > sl && p[pl - sl - 1] != '/'))
			continue;
		while (p[c] && p[c] == from[c])
			c++;
		if (!best || c > best_common) {
			best = p;
			best_common = c;
		}
	}
	return best;
}

static const char *resolve_exts(struct repo_facts *f, const char *stem, const char *const *exts,
				size_t n)
{
	char buf[FACTS_MAX_PATH + 32];
	const char *r;

	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", stem, exts[i]) >= sizeof(buf))
			return NULL;
		if ((r = lookup_path(f, buf, false)))
			return r;
	}
	return NULL;
}

static const char *resolve_one(struct repo_facts *f, const struct bname *bn, size_t nbn,
			       const struct raw_import *ri)
{
	static const char *const py_exts[] = { ".py", "/__init__.py" };
	static const char *const js_exts[] = { "",	     ".ts",	  ".tsx",      ".js",
					       ".jsx",	     ".mjs",	  ".cjs",      "/index.ts",
					       "/index.tsx", "/index.js", "/index.jsx" };
	static const char *const rs_exts[] = { ".rs", "/mod.rs" };
	const char *from = f->files[ri->file].path, *r;
	char rel[FACTS_MAX_PATH], out[FACTS_MAX_PATH + 64];
	size_t dl = dir_len(from);

	switch (ri->kind) {
	case 'c':
		if (join_norm(from, dl, ri->spec, out, sizeof(out)) &&
		    (r = lookup_path(f, out, false)))
			return r;
		if (strstr(ri->spec, ".."))
			return NULL;
		return by_suffix(f, bn, nbn, ri->spec, from);
	case 'j':
		if (!join_norm(from, dl, ri->spec, out, sizeof(out)))
			return NULL;
		if ((r = resolve_exts(f, out, js_exts, ARRAY_SIZE(js_exts))))
			return r;
		return lookup_path(f, out, true);
	case 'p':
	case 'P': {
		const char *s = ri->spec;
		size_t up = 0, o = 0;
		const char *roots[] = { "", "src/", "lib/", "python/" };

		while (*s == '.')
			up++, s++;
		for (; *s && o + 2 < sizeof(rel); s++)
			rel[o++] = *s == '.' ? '/' : *s;
		rel[o] = '\0';
		for (int tries = 0; tries < 2; tries++) {
			if (up) {
				char base[FACTS_MAX_PATH];
				size_t bl = dl;

				memcpy(base, from, bl);
				base[bl] = '\0';
				for (size_t k = 1; k < up; k++) {
					bl = dir_len(base);
					base[bl] = '\0';
				}
				if (!join_norm(base, bl, rel, out, sizeof(out)))
					return NULL;
				if ((r = resolve_exts(f, out, py_exts, 2)) ||
				    (*rel && (r = lookup_path(f, out, true))))
					return r;
			} else {
				for (size_t k = 0; k < ARRAY_SIZE(roots); k++) {
					snprintf(out, sizeof(out), "%s%s", roots[k], rel);
					if ((r = resolve_exts(f, out, py_exts, 2)) ||
					    (r = lookup_path(f, out, true)))
						return r;
				}
				/* a sibling module imported by its bare name */
				if (!strchr(rel, '/') &&
				    join_norm(from, dl, rel, out, sizeof(out)) &&
				    (r = resolve_exts(f, out, py_exts, 2)))
					return r;
			}
			/* "from pkg import name": name may not be a module; try pkg */
			if (ri->kind != 'P' || !strchr(rel, '/'))
				break;
			rel[dir_len(rel)] = '\0';
			if (!*rel && !up)
				break;
		}
		return NULL;
	}
	case 'g': {
		const char *m = f->go_module;
		size_t ml = m ? strlen(m) : 0;

		if (!m || strncmp(ri->spec, m, ml) || ri->spec[ml] != '/')
			return NULL;
		return lookup_path(f, ri->spec + ml + 1, true);
	}
	case 'r': {
		const char *b = base_name(from);
		size_t n = dl;

		/* mod x; in a/lib.rs, a/main.rs or a/mod.rs is a/x.rs; in a/y.rs it is a/y/x.rs */
		if (strcmp(b, "lib.rs") && strcmp(b, "main.rs") && strcmp(b, "mod.rs"))
			n = strlen(from) - 3;
		if (n + strlen(ri->spec) + 2 >= sizeof(out))
			return NULL;
		snprintf(out, sizeof(out), "%.*s%s%s", (int)n, from, n ? "/" : "", ri->spec);
		return resolve_exts(f, out, rs_exts, 2);
	}
	case 'u': {
		char root[FACTS_MAX_PATH];
		size_t n = dl, o = 0;
		const char *s = ri->spec;

		/* the crate root: the nearest directory above with lib.rs or main.rs */
		memcpy(root, from, n);
		root[n] = '\0';
		for (;;) {
			snprintf(out, sizeof(out), "%s%slib.rs", root, n ? "/" : "");
			if (lookup_path(f, out, false))
				break;
			snprintf(out, sizeof(out), "%s%smain.rs", root, n ? "/" : "");
			if (lookup_path(f, out, false) || n == 0)
				break;
			n = dir_len(root);
			root[n] = '\0';
		}
		for (; *s && o + 2 < sizeof(rel); s++) {
			if (s[0] == ':' && s[1] == ':') {
				rel[o++] = '/';
				s++;
			} else {
				rel[o++] = *s;
			}
		}
		rel[o] = '\0';
		while (*rel) {
			if (!join_norm(root, n, rel, out, sizeof(out)))
				return NULL;
			if ((r = resolve_exts(f, out, rs_exts, 2)) ||
			    (r = lookup_path(f, out, true)))
				return r;
			rel[dir_len(rel)] = '\0';
		}
		return NULL;
	}
	case 'J': {
		size_t o = 0;

		for (const char *s = ri->spec; *s && o + 8 < sizeof(rel); s++)
			rel[o++] = *s == '.' ? '/' : *s;
		rel[o] = '\0';
		if (o > 2 && rel[o - 1] == '*') {
			rel[o - 2] = '\0';
			return NULL; /* package wildcards name no single file */
		}
		for (int k = 0; k < 2 && *rel; k++) {
			strcat(rel, ".java");
			if ((r = by_suffix(f, bn, nbn, rel, from)))
				return r;
			rel[strlen(rel) - 5] = '\0';
			rel[dir_len(rel)] = '\0'; /* import static a.B.m: try a.B */
		}
		return NULL;
	}
	}
	return NULL;
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

static int resolve_imports(struct repo_facts *f)
{
	struct bname *bn = NULL;
	size_t nbn = 0;

	if (f->nraw == 0)
		return 0;
	bn = malloc(f->nfiles * sizeof(*bn) + 1);
	f->imps = malloc(f->nraw * sizeof(*f->imps));
	if (!bn || !f->imps) {
		free(bn);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nfiles; i++) {
		bn[nbn].base = base_name(f->files[i].path);
		bn[nbn++].file = i;
	}
	qsort(bn, nbn, sizeof(*bn), cmp_bname);
	for (size_t i = 0; i < f->nraw; i++) {
		const struct raw_import *ri = &f->raw[i];
		const char *t = resolve_one(f, bn, nbn, ri);
		struct facts_import *im;

		if (!t || !strcmp(t, f->files[ri->file].path))
			continue;
		im = &f->imps[f->nimps++];
		im->from = f->files[ri->file].path;
		im->line = ri->line;
		im->spec = ri->spec;
		im->target = t;
	}
	free(bn);
	qsort(f->imps, f->nimps, sizeof(*f->imps), cmp_import);
	return 0;
}

/* ---- blobs, manifests, README, history --------------------------------- */

static const char *const manifest_names[] = {
	"meson.build",
	"CMakeLists.txt",
	"Makefile",
	"GNUmakefile",
	"makefile",
	"configure.ac",
	"configure.in",
	"configure",
	"autogen.sh",
	"bootstrap",
	"Makefile.am",
	"Cargo.toml",
	"go.mod",
	"package.json",
	"pyproject.toml",
	"setup.py",
	"setup.cfg",
	"requirements.txt",
	"tox.ini",
	"noxfile.py",
	"pom.xml",
	"build.gradle",
	"build.gradle.kts",
	"settings.gradle",
	"gradlew",
	"build.xml",
	"SConstruct",
	"BUILD",
	"BUILD.bazel",
	"WORKSPACE",
	"MODULE.bazel",
	"Gemfile",
	"Rakefile",
	"composer.json",
	"mix.exs",
	"stack.yaml",
	"dune-project",
	"Package.swift",
	"build.zig",
	"Justfile",
	"justfile",
	"Taskfile.yml",
	"Dockerfile",
	"flake.nix",
	"default.nix",
	"deno.json",
	"pnpm-workspace.yaml",
	"Pipfile",
};

static bool is_manifest(const char *path)
{
	if (strchr(path, '/'))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(manifest_names); i++)
		if (!strcmp(path, manifest_names[i]))
			return true;
	return false;
}

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

static void load_blobs(struct repo_facts *f, git_repository *repo, const git_oid *oids)
{
	uint64_t budget = FACTS_READ_BUDGET;
	long readme = find_readme(f);

	for (size_t i = 0; i < f->nfiles; i++) {
		struct facts_file *ff = &f->files[i];
		bool manifest = is_manifest(ff->path), want;
		git_blob *blob;
		const char *data;
		size_t len;

		f->aux[i].sym_first = f->nsyms;
		if (f->ext[i].mode == FACTS_MODE_LINK || f->ext[i].mode == FACTS_MODE_GITLINK)
			continue;
		if (binary_by_name(ff->path)) {
			ff->binary = 1;
			continue;
		}
		if (manifest) /* listed even when unread (too big, binary) */
			f->mans[f->nmans++] = (struct facts_manifest){ ff->path, NULL, 0 };
		want = manifest || (long)i == readme || scanner_for(ff->lang) != SC_NONE ||
		       (!ff->lang && !ext_of(ff->path));
		if (!want || ff->size > FACTS_BLOB_LOAD_MAX || ff->size > budget)
			continue;
		if (git_blob_lookup(&blob, repo, &oids[i]) < 0)
			continue; /* missing object: keep what the name says */
		budget -= ff->size;
		data = git_blob_rawcontent(blob);
		len = (size_t)MIN(git_blob_rawsize(blob), (git_object_size_t)FACTS_SCAN_MAX);
		ff->binary = memchr(data, '\0', MIN(len, (size_t)8192)) != NULL;
		f->ext[i].scanned = 1;
		f->stats.files_scanned++;
		if (!ff->lang && !ff->binary)
			ff->lang = lang_of_shebang(data, len);
		if (!ff->binary) {
			size_t tl = MIN(len, (size_t)FACTS_MANIFEST_MAX);

			if ((long)i == readme) {
				f->readme =
				    pool_strndup(f, data, MIN(len, (size_t)FACTS_README_MAX));
				f->readme_path = ff->path;
			}
			if (manifest) {
				struct facts_manifest *m = &f->mans[f->nmans - 1];

				m->text = pool_strndup(f, data, tl);
				m->len = m->text ? tl : 0;
				if (!strcmp(ff->path, "go.mod")) {
					const char *t = m->text, *e;

					if (t && (t = strstr(t, "module ")) &&
					    (t == m->text || t[-1] == '\n')) {
						t = skip_ws(t + 7, t + strlen(t));
						for (e = t; *e && !isspace((unsigned char)*e); e++)
							;
						f->go_module = pool_strndup(f, t, (size_t)(e - t));
					}
				}
			}
			scan_text(f, i, data, len);
		}
		git_blob_free(blob);
	}
}

static int load_history(struct repo_facts *f, git_repository *repo, const git_oid *start,
			struct wf_err *err)
{
	git_revwalk *walk;
	git_oid oid;
	size_t cap = 0;
	int r;

	r = git_revwalk_new(&walk, repo);
	if (r < 0)
		return git_fail(err, r, "cannot walk history of", f->git_dir);
	git_revwalk_sorting(walk, GIT_SORT_TIME);
	r = git_revwalk_push(walk, start);
	while (r == 0 && (r = git_revwalk_next(&oid, walk)) == 0) {
		struct facts_commit *c;
		const git_signature *a;
		const char *sum;
		git_commit *cm;
		char hex[GIT_OID_HEXSZ + 1];

		if (f->nhist >= FACTS_MAX_COMMITS) {
			f->stats.history_truncated = 1;
			break;
		}
		r = git_commit_lookup(&cm, repo, &oid);
		if (r < 0)
			break;
		if (grow((void **)&f->hist, &cap, f->nhist + 1, sizeof(*f->hist)) < 0) {
			git_commit_free(cm);
			r = -ENOMEM;
			break;
		}
		c = &f->hist[f->nhist];
		a = git_commit_author(cm);
		sum = git_commit_summary(cm);
		git_oid_tostr(hex, sizeof(hex), &oid);
		c->id = pool_strndup(f, hex, strlen(hex));
		c->author = pool_strndup(f, a->name, strnlen(a->name, FACTS_NAME_MAX));
		c->email = pool_strndup(f, a->email, strnlen(a->email, FACTS_NAME_MAX));
		c->time = a->when.time;
		c->subject =
		    pool_strndup(f, sum ? sum : "", sum ? strnlen(sum, FACTS_SUBJECT_MAX) : 0);
		git_commit_free(cm);
		if (!c->id || !c->author || !c->email || !c->subject) {
			r = -ENOMEM;
			break;
		}
		f->nhist++;
	}
	git_revwalk_free(walk);
	if (r == GIT_ITEROVER || r == 0)
		return 0;
	if (r == -ENOMEM)
		return wf_err_set(err, r, "out of memory walking history");
	/* a shallow or damaged history: keep what was walked */
	f->stats.history_truncated = 1;
	return 0;
}

static int cmp_lang(const void *a, const void *b)
{
	const struct facts_lang *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->lang, y->lang);
}

static int count_langs(struct repo_facts *f)
{
	size_t cap = 0;

	for (size_t i = 0; i < f->nfiles; i++) {
		const struct facts_file *ff = &f->files[i];
		size_t k;

		f->stats.bytes_total += ff->size;
		if (!ff->lang || ff->binary)
			continue;
		for (k = 0; k < f->nlangs && strcmp(f->langs[k].lang, ff->lang); k++)
			;
		if (k == f->nlangs) {
			if (grow((void **)&f->langs, &cap, k + 1, sizeof(*f->langs)) < 0)
				return -ENOMEM;
			f->langs[k] = (struct facts_lang){ ff->lang, 0, 0 };
			f->nlangs++;
		}
		f->langs[k].files++;
		f->langs[k].bytes += ff->size;
	}
	if (f->nlangs)
		qsort(f->langs, f->nlangs, sizeof(*f->langs), cmp_lang);
	return 0;
}

int facts_load(struct repo_facts **ret, const char *git_dir, const char *commit, struct wf_err *err)
{
	struct repo_facts *f;
	struct load_ctx lc = { 0 };
	struct sort_item *items = NULL;
	git_repository *repo = NULL;
	git_commit *cm = NULL;
	git_tree *tree = NULL;
	git_oid *oids = NULL;
	size_t nman = 0;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->refs = 1;
	f->git_dir = strdup(git_dir);
	if (!f->git_dir) {
		free(f);
		return -ENOMEM;
	}
	git_libgit2_init();
	r = open_commit(&repo, &cm, git_dir, commit, err);
	if (r < 0)
		goto out_unref;
	f->commit = malloc(GIT_OID_HEXSZ + 1);
	if (!f->commit) {
		r = -ENOMEM;
		goto out_unref;
	}
	git_oid_tostr(f->commit, GIT_OID_HEXSZ + 1, git_commit_id(cm));
	r = git_commit_tree(&tree, cm);
	if (r < 0) {
		r = git_fail(err, r, "cannot read tree of", commit);
		goto out_unref;
	}
	r = git_repository_odb(&lc.odb, repo);
	if (r < 0) {
		r = git_fail(err, r, "cannot open object database", git_dir);
		goto out_unref;
	}
	lc.f = f;
	r = walk_tree(repo, tree, add_file_cb, &lc, &f->stats.files_dropped, err);
	if (r < 0)
		goto out_unref;

	/* sort by path; the mode rode in the binary field until now */
	items = malloc(f->nfiles * sizeof(*items) + 1);
	f->ext = calloc(f->nfiles + 1, sizeof(*f->ext));
	f->aux = calloc(f->nfiles + 1, sizeof(*f->aux));
	oids = malloc(f->nfiles * sizeof(*oids) + 1);
	if (!items || !f->ext || !f->aux || !oids) {
		r = -ENOMEM;
		goto out_unref;
	}
	for (size_t i = 0; i < f->nfiles; i++) {
		items[i].file = f->files[i];
		items[i].oid = lc.oids[i];
	}
	qsort(items, f->nfiles, sizeof(*items), cmp_item);
	for (size_t i = 0; i < f->nfiles; i++) {
		f->files[i] = items[i].file;
		f->ext[i].mode = (unsigned)f->files[i].binary;
		f->files[i].binary = 0;
		oids[i] = items[i].oid;
		nman += is_manifest(f->files[i].path);
	}
	f->mans = calloc(nman + 1, sizeof(*f->mans));
	if (!f->mans) {
		r = -ENOMEM;
		goto out_unref;
	}
	load_blobs(f, repo, oids);
	r = resolve_imports(f);
	if (r == 0)
		r = count_langs(f);
	if (r == 0)
		r = load_history(f, repo, git_commit_id(cm), err);
	if (r < 0)
		goto out_unref;
	/* raw imports are only needed while resolving */
	free(f->raw);
	f->raw = NULL;
	f->nraw = 0;
	*ret = TAKE_PTR(f);
out_unref:
	if (r == -ENOMEM)
		wf_err_set(err, r, "out of memory loading facts of '%s'", git_dir);
	free(items);
	free(oids);
	free(lc.oids);
	facts_unref(f);
	git_odb_free(lc.odb);
	git_tree_free(tree);
	git_commit_free(cm);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return r;
}

struct repo_facts *facts_ref(struct repo_facts *f)
{
	if (f)
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

void facts_unref(struct repo_facts *f)
{
	struct pool_blk *b;

	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	while ((b = f->pool)) {
		f->pool = b->next;
		free(b);
	}
	free(f->files);
	free(f->ext);
	free(f->aux);
	free(f->syms);
	free(f->raw);
	free(f->imps);
	free(f->hist);
	free(f->langs);
	free(f->mans);
	free(f->git_dir);
	free(f->commit);
	free(f);
}

/* ---- accessors ------------------------------------------------------------ */

const char *facts_commit_id(const struct repo_facts *f)
{
	return f->commit;
}

size_t facts_files(const struct repo_facts *f, const struct facts_file **ret)
{
	*ret = f->files;
	return f->nfiles;
}

size_t facts_history(const struct repo_facts *f, const struct facts_commit **ret)
{
	*ret = f->hist;
	return f->nhist;
}

const struct facts_file_ext *facts_file_ext(const struct repo_facts *f, size_t idx)
{
	return &f->ext[idx];
}

size_t facts_file_symbols(const struct repo_facts *f, size_t idx, const struct facts_symbol **ret)
{
	*ret = f->syms ? f->syms + f->aux[idx].sym_first : NULL;
	return f->aux[idx].sym_n;
}

size_t facts_symbols(const struct repo_facts *f, const struct facts_symbol **ret)
{
	*ret = f->syms;
	return f->nsyms;
}

size_t facts_imports(const struct repo_facts *f, const struct facts_import **ret)
{
	*ret = f->imps;
	return f->nimps;
}

size_t facts_languages(const struct repo_facts *f, const struct facts_lang **ret)
{
	*ret = f->langs;
	return f->nlangs;
}

size_t facts_manifests(const struct repo_facts *f, const struct facts_manifest **ret)
{
	*ret = f->mans;
	return f->nmans;
}

const char *facts_readme(const struct repo_facts *f, const char **path)
{
	if (path)
		*path = f->readme_path;
	return f->readme;
}

void facts_get_stats(const struct repo_facts *f, struct facts_stats *ret)
{
	*ret = f->stats;
}

struct facts_reader {
	git_repository *repo;
	git_commit *cm;
	git_tree *tree;
	git_odb *odb;
};

int facts_reader_new(struct facts_reader **ret, const struct repo_facts *f)
{
	struct facts_reader *rd = calloc(1, sizeof(*rd));
	int r;

	if (!rd)
		return -ENOMEM;
	git_libgit2_init();
	r = open_commit(&rd->repo, &rd->cm, f->git_dir, f->commit, NULL);
	if (r == 0 &&
	    (git_commit_tree(&rd->tree, rd->cm) < 0 || git_repository_odb(&rd->odb, rd->repo) < 0))
		r = -EIO;
	if (r < 0) {
		facts_reader_free(rd);
		return r;
	}
	*ret = rd;
	return 0;
}

void facts_reader_free(struct facts_reader *rd)
{
	if (!rd)
		return;
	git_odb_free(rd->odb);
	git_tree_free(rd->tree);
	git_commit_free(rd->cm);
	git_repository_free(rd->repo);
	free(rd);
	git_libgit2_shutdown();
}

int facts_reader_read(struct facts_reader *rd, const char *path, size_t max, struct buf *out)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	git_object_t type;
	size_t size;
	int r;

	r = git_tree_entry_bypath(&e, rd->tree, path);
	if (r < 0)
		return r == GIT_ENOTFOUND ? -ENOENT : -EIO;
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		r = -EISDIR;
		goto out;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		r = -EINVAL; /* a submodule or a symlink: nothing to read here */
		goto out;
	}
	if (git_odb_read_header(&size, &type, rd->odb, git_tree_entry_id(e)) < 0) {
		r = -EIO;
		goto out;
	}
	if (size > FACTS_BLOB_LOAD_MAX) {
		r = -EFBIG; /* libgit2 inflates whole blobs; this one is too big */
		goto out;
	}
	if (git_blob_lookup(&blob, rd->repo, git_tree_entry_id(e)) < 0) {
		r = -EIO;
		goto out;
	}
	r = buf_add(out, git_blob_rawcontent(blob),
		    (size_t)MIN(git_blob_rawsize(blob), (git_object_size_t)max));
out:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return r;
}

int facts_read_file(const struct repo_facts *f, const char *path, size_t max, struct buf *out)
{
	struct facts_reader *rd;
	int r = facts_reader_new(&rd, f);

	if (r < 0)
		return r;
	r = facts_reader_read(rd, path, max, out);
	facts_reader_free(rd);
	return r;
}
