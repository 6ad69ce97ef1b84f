/* SPDX-License-Identifier: MIT */
/*
 * The builtin planner: a deterministic page list from a commit's tree alone.
 *
 * It walks tree objects only (gitrepo_tree_foreach, never a blob), counting
 * code files (by file name) per top-level directory and per second-level
 * directory. Because the walk is depth first, everything below a directory
 * arrives contiguously, so one pass with a "current directory" record per
 * level is enough: no hash table, memory proportional to the number of
 * directories at depth one and two, time linear in the tree.
 *
 * Modules are the top-level directories holding code, except vendored,
 * generated, hidden and auxiliary ones (test data, CI, fuzzing) and those
 * holding one code file among other files (packaging); a container directory (src/, lib/, pkg/,
 * packages/, crates/, ...) or one directory holding most of the code is
 * split into its children (src/core, src/net). The PLAN_MODULES_MAX heaviest
 * (most code files, then name) become pages, listed by path. Directories
 * whose names hold control characters never become modules (they are still
 * listed by the pages that list files). The result depends only on the tree,
 * so the same commit always gives the same plan.
 *
 * Relevant files come from a second walk, once the pages are known: a
 * module page gets the code files of its directory (those of a nested module
 * go to that one), Home the README and key manifests, Build-and-Test the
 * build and CI files; each in tree order, at most PLAN_MAX_PAGE_FILES.
 */
#include "plan.h"
#include "gitrepo.h"
#include "lang.h"
#include "sha256.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define PLAN_MODULES_MAX 30
#define PLAN_DIRS_MAX	 100000 /* directory records kept (depth one and two) */

struct dstat {
	char *path;
	unsigned depth;	    /* 1 or 2 */
	size_t code;	    /* code files below, recursively */
	size_t direct_code; /* code files directly inside */
	size_t files;	    /* files below, recursively, code or not */
	size_t parent;	    /* index of the depth-1 record, for depth 2 */
	bool hostile;	    /* name with control characters */
	bool skip;	    /* vendored, hidden, generated */
};

struct pctx {
	struct dstat *d;
	size_t n, cap;
	size_t root_code, total_code;
	long top, child; /* current records, -1 if none */
	int err;
};

static const char *const skip_names[] = {
	"vendor",	 "vendored", "third_party",  "thirdparty",
	"third-party",	 "3rdparty", "node_modules", "bower_components",
	"external",	 "extern",   "deps",	     "build",
	"dist",		 "out",	     "target",	     "__pycache__",
	"site-packages", "venv",     "testdata",     "ci",
	"fuzz",
};

static const char *const container_names[] = {
	"src", "lib",	   "libs",	 "pkg",	     "packages", "crates", "modules", "apps",
	"cmd", "internal", "components", "services", "plugins",	 "source", "sources",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int add_dir(struct pctx *c, const char *path, size_t len, unsigned depth)
{
	const char *name = memrchr(path, '/', len);
	struct dstat *d;

	name = name ? name + 1 : path;
	if (c->n >= PLAN_DIRS_MAX)
		return -1; /* not recorded; counted in no one */
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct dstat *p = realloc(c->d, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->d = p;
		c->cap = cap;
	}
	d = &c->d[c->n];
	d->path = strndup(path, len);
	if (!d->path)
		return -ENOMEM;
	d->depth = depth;
	d->code = d->direct_code = d->files = 0;
	d->parent = depth == 2 && c->top >= 0 ? (size_t)c->top : 0;
	d->hostile = has_control(path, len);
	d->skip = name[0] == '.' || in_list(name, skip_names, ARRAY_SIZE(skip_names));
	if (depth == 2 && c->top >= 0 && c->d[c->top].skip)
		d->skip = true;
	return (int)c->n++;
}

static int plan_tree_cb(void *ctx, const char *path, size_t len, unsigned depth, unsigned mode,
			const struct git_oid *id)
{
	struct pctx *c = ctx;
	bool code;
	int r;

	if (mode == GITREPO_MODE_TREE) {
		if (depth > 2)
			return 0;
		r = add_dir(c, path, len, depth);
		if (r == -ENOMEM)
			return r;
		if (depth == 1) {
			c->top = r;
			c->child = -1;
		} else {
			c->child = r;
		}
		return 0;
	}
	if (mode == GITREPO_MODE_LINK || mode == GITREPO_MODE_GITLINK)
		return 0;
	if (depth >= 2 && c->top >= 0)
		c->d[c->top].files++;
	code = lang_is_code(lang_of_path(path));
	if (!code)
		return 0;
	c->total_code++;
	if (depth == 1) {
		c->root_code++;
		return 0;
	}
	if (c->top >= 0) {
		c->d[c->top].code++;
		if (depth == 2)
			c->d[c->top].direct_code++;
	}
	if (depth >= 3 && c->child >= 0) {
		c->d[c->child].code++;
		if (depth == 3)
			c->d[c->child].direct_code++;
	}
	return 0;
}

struct cand {
	const char *path; /* "." for the top-level files */
	size_t weight;
};

static int cmp_weight(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->path, ((const struct cand *)b)->path);
}

/* Title text: invalid UTF-8 and control characters become U+FFFD (utf8.h). */
static char *clean_title(const char *prefix, const char *s)
{
	struct buf b;

	buf_init(&b, SIZE_MAX);
	if (buf_adds(&b, prefix) < 0 ||
	    utf8_sanitize(&b, s, strlen(s), UTF8_REPLACEMENT, SIZE_MAX) < 0) {
		buf_done(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* Adds a page, making its slug unique with "-2", "-3", ... when needed. */
static int add_unique(struct plan *p, const char *want, const char *title, enum page_kind kind,
		      const char *arg)
{
	_cleanup_free_ char *slug = plan_slugify(want);
	char alt[PLAN_MAX_SLUG_LEN + 16];
	int r;

	if (!slug)
		return -EINVAL;
	r = plan_add(p, slug, title, kind, arg);
	for (int k = 2; r == -EEXIST && k < 1000; k++) {
		snprintf(alt, sizeof(alt), "%.*s-%d", PLAN_MAX_SLUG_LEN - 8, slug, k);
		r = plan_add(p, alt, title, kind, arg);
	}
	return r;
}

static int add_modules(struct plan *p, struct pctx *c)
{
	struct cand *cs = malloc((c->n + 1) * sizeof(*cs));
	size_t nc = 0;
	int r = 0;

	if (!cs)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct dstat *t = &c->d[i];
		const char *name = t->path;
		size_t kids = 0, kids_code = 0;
		bool expand;

		/* one script among packaging files (pkg/, dist files) is no module either */
		if (t->depth != 1 || t->skip || t->hostile || t->code == 0 ||
		    (t->code == 1 && t->files >= 3))
			continue;
		for (size_t j = i + 1; j < c->n && c->d[j].depth == 2; j++) {
			if (!c->d[j].skip && !c->d[j].hostile && c->d[j].code > 0) {
				kids++;
				kids_code += c->d[j].code;
			}
		}
		expand =
		    (in_list(name, container_names, ARRAY_SIZE(container_names)) && kids >= 2) ||
		    (kids >= 3 && t->code >= 40 && t->code * 2 >= c->total_code);
		if (!expand) {
			cs[nc++] = (struct cand){ t->path, t->code };
			continue;
		}
		for (size_t j = i + 1; j < c->n && c->d[j].depth == 2; j++)
			if (!c->d[j].skip && !c->d[j].hostile && c->d[j].code > 0)
				cs[nc++] = (struct cand){ c->d[j].path, c->d[j].code };
		if (t->code > kids_code)
			cs[nc++] = (struct cand){ t->path, t->code - kids_code };
	}
	if (c->root_code > 0 && (c->root_code >= 2 || nc == 0))
		cs[nc++] = (struct cand){ ".", c->root_code };
	qsort(cs, nc, sizeof(*cs), cmp_weight);
	nc = MIN(nc, (size_t)PLAN_MODULES_MAX);
	qsort(cs, nc, sizeof(*cs), cmp_path);
	for (size_t i = 0; i < nc && r == 0; i++) {
		bool root = !strcmp(cs[i].path, ".");
		_cleanup_free_ char *title =
		    clean_title("Module ", root ? "(top level)" : cs[i].path);
		_cleanup_free_ char *want = NULL;

		if (!title || asprintf(&want, "Module-%s", root ? "root" : cs[i].path) < 0) {
			r = -ENOMEM;
			break;
		}
		r = add_unique(p, want, title, PAGE_MODULE, cs[i].path);
		if (r == -EINVAL || r == -EEXIST)
			r = 0; /* nothing usable in the name: no page */
	}
	free(cs);
	return r;
}

struct fctx {
	struct plan *p;
	int home, build; /* page indexes, -1 if none */
};

/* The module page whose directory holds @path most closely, or -1. */
static int module_of(const struct plan *p, const char *path, unsigned depth)
{
	size_t best_len = 0;
	int best = -1;

	for (size_t i = 0; i < p->n; i++) {
		const char *dir = p->pages[i].arg;
		size_t len;

		if (p->pages[i].kind != PAGE_MODULE || !dir)
			continue;
		if (!strcmp(dir, ".")) {
			if (depth == 1 && best < 0)
				best = (int)i;
			continue;
		}
		len = strlen(dir);
		if (len > best_len && !strncmp(path, dir, len) && path[len] == '/') {
			best = (int)i;
			best_len = len;
		}
	}
	return best;
}

static int files_tree_cb(void *ctx, const char *path, size_t len, unsigned depth, unsigned mode,
			 const struct git_oid *id)
{
	struct fctx *c = ctx;
	unsigned roles = depth == 1 ? lang_name_roles(path, false) : 0;
	int page = -1, r = 0;

	(void)len, (void)id;
	if (mode == GITREPO_MODE_TREE || mode == GITREPO_MODE_LINK || mode == GITREPO_MODE_GITLINK)
		return 0;
	roles |= lang_path_roles(path);
	if (c->home >= 0 && depth == 1 &&
	    (!strncasecmp(path, "readme", 6) || (roles & LANG_KEY_MANIFEST)))
		r = plan_page_add_file(c->p, (size_t)c->home, path);
	if (r >= 0 && c->build >= 0 && (roles & (LANG_BUILD | LANG_CI | LANG_MANIFEST)))
		r = plan_page_add_file(c->p, (size_t)c->build, path);
	if (r >= 0 && lang_is_code(lang_of_path(path)))
		page = module_of(c->p, path, depth);
	if (r >= 0 && page >= 0)
		r = plan_page_add_file(c->p, (size_t)page, path);
	return r < 0 ? r : 0;
}

/* Fills the pages' relevant files (see the header comment). */
static int add_files(struct plan *p, const char *git_dir, const char *commit, struct wf_err *err)
{
	struct fctx c = { .p = p, .home = plan_find(p, "Home"), .build = -1 };

	for (size_t i = 0; i < p->n; i++)
		if (p->pages[i].kind == PAGE_BUILD)
			c.build = (int)i;
	return gitrepo_tree_foreach(git_dir, commit, files_tree_cb, &c, NULL, err);
}

int plan_builtin(struct plan **ret, const char *git_dir, const char *commit, struct wf_err *err)
{
	struct pctx c = { .top = -1, .child = -1 };
	struct plan *p = NULL;
	int r;

	r = gitrepo_tree_foreach(git_dir, commit, plan_tree_cb, &c, NULL, err);
	if (r < 0)
		goto out_free_dirs;
	r = plan_new(&p, commit, "builtin");
	if (r < 0)
		goto out_free_dirs;
	r = plan_add(p, "Home", "Home", PAGE_HOME, NULL);
	if (r == 0)
		r = plan_add(p, "_Sidebar", "Sidebar", PAGE_SIDEBAR, NULL);
	if (r == 0)
		r = plan_add(p, "Architecture", "Architecture", PAGE_ARCHITECTURE, NULL);
	if (r == 0)
		r = add_modules(p, &c);
	if (r == 0)
		r = add_unique(p, "Build-and-Test", "Build and Test", PAGE_BUILD, NULL);
	if (r == 0)
		r = add_unique(p, "History", "History", PAGE_HISTORY, NULL);
	if (r == 0)
		r = add_unique(p, "Contributors", "Contributors", PAGE_CONTRIBUTORS, NULL);
	if (r == 0) {
		r = add_files(p, git_dir, commit, err);
		if (r < 0) {
			plan_unref(p);
			goto out_free_dirs;
		}
	}
	if (r < 0) {
		wf_err_set(err, r, "cannot build plan for '%s': %s", git_dir, strerror(-r));
		plan_unref(p);
		goto out_free_dirs;
	}
	*ret = p;
out_free_dirs:
	for (size_t i = 0; i < c.n; i++)
		free(c.d[i].path);
	free(c.d);
	return r;
}

/* ---- the tree's shape ---- */

static int shape_cb(void *ctx, const char *path, size_t len, unsigned depth, unsigned mode,
		    const struct git_oid *id)
{
	struct sha256 *s = ctx;
	char hex[41];

	sha256_update(s, mode == GITREPO_MODE_TREE ? "d" : "f", 1);
	sha256_update(s, path, len + 1);
	if (depth == 1 && mode != GITREPO_MODE_TREE && !strncasecmp(path, "readme", 6)) {
		gitrepo_oid_hex(id, hex); /* planners read the README */
		sha256_update(s, hex, sizeof(hex));
	}
	return 0;
}

int plan_shape(const char *git_dir, const char *commit, char out[65], struct wf_err *err)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	int r;

	sha256_init(&s);
	sha256_update(&s, "wikifs-shape 1", 15);
	r = gitrepo_tree_foreach(git_dir, commit, shape_cb, &s, NULL, err);
	if (r < 0)
		return r;
	sha256_final(&s, d);
	sha256_to_hex(d, out);
	return 0;
}
