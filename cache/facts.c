/* SPDX-License-Identifier: MIT */
/*
 * Repository facts from a bare repository and a commit, with no checkout.
 *
 * facts_load() walks the commit's tree (gitrepo_tree_walk()), keeps every
 * file's path, size (from the object header, cheap) and language, then
 * reads a bounded prefix of each text blob (FACTS_SCAN_MAX) to flag
 * binaries and hands it to analysis/ for top-level symbols and imports.
 * Blobs larger than FACTS_BLOB_LOAD_MAX are never loaded at all (libgit2
 * inflates a whole blob), symlinks are never read or followed, and a total
 * read budget bounds the load on huge repositories. A second pass resolves
 * imports to repository paths (a file or a directory). Then the whole
 * history is walked and aggregated (history.c) and top-level manifests and
 * the README are kept as bounded text.
 *
 * All strings live in one arena owned by the repo_facts, which is immutable
 * after facts_load() and shared by reference count (__atomic). The only
 * functions that touch git after loading, the readers, open their own
 * git_repository: libgit2 wants one handle per thread, and opening costs
 * about a millisecond, far less than a page generation. libgit2 errors
 * become errno in gitrepo_errno(), never here.
 */
#include "facts_int.h"
#include "ctags.h"
#include "gitrepo.h"
#include "history.h"
#include "lang.h"
#include "pathlist.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <git2.h>

_Static_assert(FACTS_MODE_TREE == GITREPO_MODE_TREE && FACTS_MODE_LINK == GITREPO_MODE_LINK &&
		   FACTS_MODE_GITLINK == GITREPO_MODE_GITLINK,
	       "facts and gitrepo agree on git file modes");
_Static_assert(FACTS_MAX_DEPTH == GITREPO_MAX_DEPTH && FACTS_MAX_PATH == GITREPO_MAX_PATH &&
		   FACTS_MAX_PATH == IMPORT_PATH_MAX,
	       "facts, gitrepo and imports agree on tree bounds");

/* ---- loading: files ----------------------------------------------------- */

struct load_ctx {
	struct repo_facts *f;
	git_odb *odb;
	git_oid *oids; /* parallel to f->files while loading */
	size_t oids_cap;
};

static int add_file_cb(void *ctx, const char *path, size_t len, unsigned depth, unsigned mode,
		       const git_oid *id)
{
	struct load_ctx *lc = ctx;
	struct repo_facts *f = lc->f;
	struct facts_file *ff;
	size_t size = 0;
	git_object_t type;

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
	ff->lang =
	    mode == FACTS_MODE_LINK || mode == FACTS_MODE_GITLINK ? NULL : lang_of_path(path);
	lc->oids[f->nfiles] = *id;
	/* a missing object (shallow or partial clone): keep the name, size 0 */
	if (mode != FACTS_MODE_GITLINK && git_odb_read_header(&size, &type, lc->odb, id) < 0)
		size = 0;
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

/* Sorts the files by path; fills ext (the mode rode in the binary field), paths, *oids. */
static int sort_files(struct repo_facts *f, const git_oid *walk_oids, git_oid **oids)
{
	_cleanup_free_ struct sort_item *items = malloc(f->nfiles * sizeof(*items) + 1);

	f->ext = calloc(f->nfiles + 1, sizeof(*f->ext));
	f->aux = calloc(f->nfiles + 1, sizeof(*f->aux));
	f->paths = malloc(f->nfiles * sizeof(*f->paths) + 1);
	*oids = malloc(f->nfiles * sizeof(**oids) + 1);
	if (!items || !f->ext || !f->aux || !f->paths || !*oids)
		return -ENOMEM;
	for (size_t i = 0; i < f->nfiles; i++) {
		items[i].file = f->files[i];
		items[i].oid = walk_oids[i];
	}
	qsort(items, f->nfiles, sizeof(*items), cmp_item);
	for (size_t i = 0; i < f->nfiles; i++) {
		f->files[i] = items[i].file;
		f->ext[i].mode = (unsigned)f->files[i].binary;
		f->files[i].binary = 0;
		f->paths[i] = f->files[i].path;
		(*oids)[i] = items[i].oid;
	}
	return 0;
}

static int cmp_lang(const void *a, const void *b)
{
	const struct facts_lang *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->lang, y->lang);
}

/* ---- history ------------------------------------------------------------ */

/* The whole history (history.c), and views of its figures kept beside the
 * other arrays, where facts_store.c finds them. */
static int load_history(struct repo_facts *f, git_repository *repo, git_commit *cm,
			struct wf_err *err)
{
	int r = history_load(&f->hist, repo, cm, err);

	if (r < 0)
		return r;
	f->stats.history_truncated = history_truncated(f->hist);
	f->ncommits = history_count(f->hist);
	f->nrecent = history_recent(f->hist, &f->recent);
	f->nauthors = history_authors(f->hist, &f->authors);
	f->nmonths = history_months(f->hist, &f->months);
	f->nreleases = history_releases(f->hist, &f->releases);
	return 0;
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

/* The files of the tree of @cm, sorted, with their object ids in *@oids. */
static int load_files(struct repo_facts *f, git_repository *repo, git_commit *cm, git_oid **oids,
		      struct wf_err *err)
{
	struct load_ctx lc = { .f = f };
	git_tree *tree = NULL;
	size_t nman = 0;
	int r;

	r = git_commit_tree(&tree, cm);
	if (r < 0)
		return gitrepo_fail(err, r, "cannot read tree of", f->commit);
	r = git_repository_odb(&lc.odb, repo);
	if (r < 0) {
		r = gitrepo_fail(err, r, "cannot open object database", f->git_dir);
		goto out_free_tree;
	}
	r = gitrepo_tree_walk(repo, tree, add_file_cb, &lc, &f->stats.files_dropped, err);
	if (r == 0)
		r = sort_files(f, lc.oids, oids);
	for (size_t i = 0; r == 0 && i < f->nfiles; i++)
		nman += facts_is_manifest(f->files[i].path);
	if (r == 0) {
		f->mans = calloc(nman + 1, sizeof(*f->mans));
		r = f->mans ? 0 : -ENOMEM;
	}
	free(lc.oids);
	git_odb_free(lc.odb);
out_free_tree:
	git_tree_free(tree);
	return r;
}

int facts_compute(struct repo_facts **ret, const char *git_dir, const char *commit,
		  const char *ctags, struct wf_err *err)
{
	struct repo_facts *f;
	git_repository *repo = NULL;
	git_commit *cm = NULL;
	git_oid *oids = NULL;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->refs = 1;
	f->git_dir = strdup(git_dir);
	f->commit = malloc(GIT_OID_HEXSZ + 1);
	if (!f->git_dir || !f->commit) {
		r = -ENOMEM;
		goto out_unref;
	}
	r = gitrepo_open_commit(&repo, &cm, git_dir, commit, err);
	if (r < 0)
		goto out_unref;
	git_oid_tostr(f->commit, GIT_OID_HEXSZ + 1, git_commit_id(cm));
	r = load_files(f, repo, cm, &oids, err);
	if (r < 0)
		goto out_unref;
	facts_scan_blobs(f, repo, oids, ctags ? ctags : CTAGS_PATH);
	r = facts_resolve_imports(f);
	if (r == 0)
		r = count_langs(f);
	if (r == 0)
		r = load_history(f, repo, cm, err);
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
	free(oids);
	facts_unref(f);
	git_commit_free(cm);
	git_repository_free(repo);
	return r;
}

int facts_load(struct repo_facts **ret, const char *git_dir, const char *commit, struct wf_err *err)
{
	return facts_compute(ret, git_dir, commit, NULL, err);
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
	if (f->image) { /* every array but paths lives in it */
		free(f->image);
		free(f->paths);
		free(f->git_dir);
		free(f->commit);
		free(f);
		return;
	}
	while ((b = f->pool)) {
		f->pool = b->next;
		free(b);
	}
	free(f->files);
	free(f->ext);
	free(f->aux);
	free(f->paths);
	free(f->syms);
	free(f->raw);
	free(f->imps);
	free(f->crates);
	history_free(f->hist);
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
	*ret = f->recent;
	return f->nrecent;
}

size_t facts_commit_count(const struct repo_facts *f)
{
	return f->ncommits;
}

size_t facts_authors(const struct repo_facts *f, const struct facts_author **ret)
{
	*ret = f->authors;
	return f->nauthors;
}

size_t facts_months(const struct repo_facts *f, const struct facts_month **ret)
{
	*ret = f->months;
	return f->nmonths;
}

size_t facts_releases(const struct repo_facts *f, const struct facts_release **ret)
{
	*ret = f->releases;
	return f->nreleases;
}

const struct facts_file_ext *facts_file_ext(const struct repo_facts *f, size_t idx)
{
	return &f->ext[idx];
}

long facts_find_file(const struct repo_facts *f, const char *path)
{
	return pathlist_find(f->paths, f->nfiles, path);
}

size_t facts_dir_range(const struct repo_facts *f, const char *dir, size_t *first)
{
	return pathlist_dir_range(f->paths, f->nfiles, dir, first);
}

size_t facts_file_symbols(const struct repo_facts *f, size_t idx, const struct facts_symbol **ret)
{
	*ret = f->syms ? f->syms + f->aux[idx].sym_first : NULL;
	return f->aux[idx].sym_n;
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

/* ---- readers ---------------------------------------------------------------- */

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
	r = gitrepo_open_commit(&rd->repo, &rd->cm, f->git_dir, f->commit, NULL);
	if (r == 0) {
		int g = git_commit_tree(&rd->tree, rd->cm);

		if (g == 0)
			g = git_repository_odb(&rd->odb, rd->repo);
		if (g < 0)
			r = gitrepo_errno(g);
	}
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
}

/* The blob @e names, if it is a regular file small enough to load. */
static int lookup_blob(struct facts_reader *rd, const git_tree_entry *e, git_blob **blob)
{
	git_object_t type;
	size_t size;
	int r;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		return -EISDIR;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return -EINVAL; /* a submodule or a symlink: nothing to read here */
	r = git_odb_read_header(&size, &type, rd->odb, git_tree_entry_id(e));
	if (r < 0)
		return gitrepo_errno(r);
	if (size > FACTS_BLOB_LOAD_MAX)
		return -EFBIG; /* libgit2 inflates whole blobs; this one is too big */
	r = git_blob_lookup(blob, rd->repo, git_tree_entry_id(e));
	return r < 0 ? gitrepo_errno(r) : 0;
}

int facts_reader_read(struct facts_reader *rd, const char *path, size_t max, struct buf *out)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int r;

	r = git_tree_entry_bypath(&e, rd->tree, path);
	if (r < 0)
		return gitrepo_errno(r);
	r = lookup_blob(rd, e, &blob);
	if (r == 0)
		r = buf_add(out, git_blob_rawcontent(blob),
			    (size_t)MIN(git_blob_rawsize(blob), (git_object_size_t)max));
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
