/* SPDX-License-Identifier: MIT */
/*
 * Local copy (see local_copy.h). Objects first, refs after, so that a ref
 * never names an object the clone lacks: packs are linked .pack before
 * .idx (libgit2 and git ignore a pack without its index), a copied file is
 * written under a temporary name in the same directory and renamed into
 * place. Which files to bring is decided by name alone, as git does: pack
 * and loose object names are their content's hash.
 *
 * Pruning a stale pack checks its objects against the packs whose names the
 * source still has (and the loose objects and alternates): never against
 * another stale pack, so two mounts syncing the same clone at once cannot
 * each drop the pack the other relied on.
 */
#include "local_copy.h"
#include "buf.h"
#include "fsutil.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#define REFS_EVERY  64	 /* refs set between two progress calls */
#define OBJECTS_MAX 4096 /* an objects directory path */
#define PATH_BUF    (OBJECTS_MAX + 512)

struct todo {
	char *from, *to;
	uint64_t size;
};

struct copier {
	git_repository *src, *dst;
	char src_objects[OBJECTS_MAX], dst_objects[OBJECTS_MAX]; /* each ending in '/' */
	local_copy_progress_cb cb;
	void *payload;
	struct todo *todo;
	size_t n_todo, cap_todo;
	uint64_t done, bytes;
	bool no_link; /* a link failed with EXDEV: copy from now on */
	bool fresh;   /* the clone had no refs: a first copy */
};

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

bool local_copy_path(const char *url, char *path, size_t n)
{
	bool file = !strncmp(url, "file://", 7);
	const char *p = file ? url + 7 : url;
	size_t o = 0;

	if (file && !strncmp(p, "localhost/", 10))
		p += 9;
	if (*p != '/')
		return false;
	for (; *p; p++) {
		if (o + 1 >= n)
			return false;
		if (file && p[0] == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			path[o++] =
			    (char)(hexval((unsigned char)p[1]) * 16 + hexval((unsigned char)p[2]));
			p += 2;
		} else {
			path[o++] = *p;
		}
	}
	path[o] = '\0';
	return true;
}

static int fail(int code, const char *fmt, ...) PRINTF(2, 3);
static int fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	git_error_set_str(GIT_ERROR_OS, msg);
	return code;
}

static int progress(struct copier *c)
{
	if (c->cb && c->cb(c->done, c->n_todo, c->bytes, c->payload) < 0) {
		git_error_set_str(GIT_ERROR_CALLBACK, "copy stopped");
		return GIT_EUSER;
	}
	return 0;
}

/* ---- objects ----------------------------------------------------------- */

static int todo_add(struct copier *c, const char *from, const char *to)
{
	struct stat st;
	struct todo *t;

	if (stat(from, &st) < 0)
		return 0; /* gone meanwhile (a repack upstream): its objects are elsewhere */
	if (c->n_todo == c->cap_todo) {
		size_t cap = c->cap_todo ? c->cap_todo * 2 : 64;

		t = realloc(c->todo, cap * sizeof(*t));
		if (!t)
			return fail(GIT_ERROR, "out of memory");
		c->todo = t;
		c->cap_todo = cap;
	}
	t = &c->todo[c->n_todo];
	t->from = strdup(from);
	t->to = strdup(to);
	t->size = (uint64_t)st.st_size;
	if (!t->from || !t->to) {
		free(t->from);
		free(t->to);
		return fail(GIT_ERROR, "out of memory");
	}
	c->n_todo++;
	return 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Packs of the source whose index the clone lacks: .pack, then .idx. */
static int plan_packs(struct copier *c)
{
	char from[PATH_BUF], to[PATH_BUF];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(from, sizeof(from), "%spack", c->src_objects);
	d = opendir(from);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 10 || strncmp(de->d_name, "pack-", 5) ||
		    strcmp(de->d_name + len - 4, ".idx"))
			continue;
		snprintf(to, sizeof(to), "%spack/%s", c->dst_objects, de->d_name);
		if (exists(to))
			continue;
		for (int k = 0; k < 2 && r == 0; k++) {
			const char *ext = k == 0 ? "pack" : "idx";

			snprintf(from, sizeof(from), "%spack/%.*s%s", c->src_objects,
				 (int)(len - 3), de->d_name, ext);
			snprintf(to, sizeof(to), "%spack/%.*s%s", c->dst_objects, (int)(len - 3),
				 de->d_name, ext);
			r = todo_add(c, from, to);
		}
	}
	closedir(d);
	return r;
}

static bool is_hex_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Exactly @n hex digits. */
static bool is_hex(const char *s, size_t n)
{
	return is_hex_n(s, n) && s[n] == '\0';
}

/* Loose objects of the source that the clone lacks. */
static int plan_loose(struct copier *c)
{
	char dir[OBJECTS_MAX + 8], from[PATH_BUF], to[PATH_BUF];
	struct dirent *top;
	DIR *objects = opendir(c->src_objects);
	int r = 0;

	/* only the fan-out directories that exist: most repositories have few */
	while (r == 0 && objects && (top = readdir(objects))) {
		struct dirent *de;
		DIR *d;

		if (strlen(top->d_name) != 2 || !is_hex(top->d_name, 2))
			continue;
		snprintf(dir, sizeof(dir), "%s%s", c->src_objects, top->d_name);
		d = opendir(dir);
		while (r == 0 && d && (de = readdir(d))) {
			if (!is_hex(de->d_name, GIT_OID_HEXSZ - 2))
				continue;
			snprintf(to, sizeof(to), "%s%s/%s", c->dst_objects, top->d_name,
				 de->d_name);
			if (exists(to))
				continue;
			snprintf(from, sizeof(from), "%s%s/%s", c->src_objects, top->d_name,
				 de->d_name);
			r = todo_add(c, from, to);
		}
		if (d)
			closedir(d);
	}
	if (objects)
		closedir(objects);
	return r;
}

/* Copies @from to a temporary beside @to, then renames it into place. */
static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char tmp[PATH_BUF];
	const char *slash = strrchr(to, '/');
	int r = 0;

	if (in < 0)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%.*s/tmp_wikifs_XXXXXX", (int)(slash - to), to);
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return -errno;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
			char buf[65536];

			n = read(in, buf, sizeof(buf));
			if (n > 0 && write(out, buf, (size_t)n) != n)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
	}
	if (r == 0 && fchmod(out, 0444) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, to) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A hard link where the file system and the kernel allow one, else a copy. */
static int link_or_copy(struct copier *c, const struct todo *t)
{
	const char *slash = strrchr(t->to, '/');
	char dir[PATH_BUF];
	int r;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - t->to), t->to);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!c->no_link) {
		if (link(t->from, t->to) == 0 || errno == EEXIST)
			return 0;
		/* another file system: every later link would fail the same way */
		if (errno == EXDEV)
			c->no_link = true;
		/* EPERM: fs.protected_hardlinks and a file of another owner */
		else if (errno != EPERM && errno != EACCES && errno != EMLINK)
			return -errno;
	}
	r = copy_file(t->from, t->to);
	return r == -ENOENT && !exists(t->from) ? 0 : r;
}

static int copy_objects(struct copier *c)
{
	int r = plan_packs(c);

	if (r == 0)
		r = plan_loose(c);
	for (size_t i = 0; r == 0 && i < c->n_todo; i++) {
		int e = link_or_copy(c, &c->todo[i]);

		if (e < 0)
			return fail(GIT_ERROR, "cannot copy '%s' into the clone: %s",
				    c->todo[i].from, strerror(-e));
		c->done++;
		c->bytes += c->todo[i].size;
		r = progress(c);
	}
	return r;
}

/*
 * The source's objects/info/alternates, its relative paths made absolute,
 * becomes the clone's, as git clone --local does.
 */
static int copy_alternates(struct copier *c)
{
	_cleanup_free_ char *data = NULL, *old = NULL;
	char path[PATH_BUF];
	struct buf out;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%sinfo/alternates", c->src_objects);
	r = read_file(path, 1 << 20, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail(GIT_ERROR, "cannot read '%s': %s", path, strerror(-r));
	buf_init(&out, 4 << 20);
	for (char *line = strtok(data, "\n"); line && r == 0; line = strtok(NULL, "\n")) {
		if (!*line || *line == '#')
			continue;
		r = buf_printf(&out, "%s%s\n", *line == '/' ? "" : c->src_objects, line);
	}
	snprintf(path, sizeof(path), "%sinfo/alternates", c->dst_objects);
	if (r == 0 && !(read_file(path, 1 << 20, &old, &len) == 0 && out.len == len &&
			!memcmp(old, buf_str(&out), len)))
		r = write_atomic(path, NULL, 0, buf_str(&out), out.len, 0644);
	buf_done(&out);
	return r < 0 ? fail(GIT_ERROR, "cannot write '%s': %s", path, strerror(-r)) : 0;
}

/* ---- refs -------------------------------------------------------------- */

struct ref_entry {
	char *name;
	git_oid id;
};

struct ref_list {
	struct ref_entry *v;
	size_t n, cap;
};

static bool wanted_ref(const char *name)
{
	return !strncmp(name, "refs/heads/", 11) || !strncmp(name, "refs/tags/", 10);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ref_entry *)a)->name, ((const struct ref_entry *)b)->name);
}

static const struct ref_entry *ref_list_find(const struct ref_list *l, const char *name)
{
	struct ref_entry key = { .name = (char *)name };

	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_entry) : NULL;
}

static void ref_list_done(struct ref_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

static int ref_list_add(struct ref_list *l, const char *name, const git_oid *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ref_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return fail(GIT_ERROR, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return fail(GIT_ERROR, "out of memory");
	git_oid_cpy(&l->v[l->n++].id, id);
	return 0;
}

/* A ref's id in @text ("<hex>\n"), or a symbolic ref ("ref: ...") resolved by libgit2. */
static int ref_value(struct copier *c, const char *name, const char *text, git_oid *id)
{
	git_reference *ref = NULL, *direct = NULL;
	int r;

	if (strlen(text) >= GIT_OID_HEXSZ && is_hex_n(text, GIT_OID_HEXSZ))
		return git_oid_fromstrn(id, text, GIT_OID_HEXSZ);
	/* rare: a symbolic branch or tag */
	r = git_reference_lookup(&ref, c->src, name);
	if (r == 0)
		r = git_reference_resolve(&direct, ref);
	if (r == 0)
		git_oid_cpy(id, git_reference_target(direct));
	git_reference_free(direct);
	git_reference_free(ref);
	return r;
}

/* Loose refs below @dir (the ref @name's directory), recursively, into @l. */
static int loose_refs(struct copier *c, const char *dir, const char *name, int depth,
		      struct ref_list *l)
{
	char path[PATH_BUF], sub[PATH_BUF];
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	while (r == 0 && d && depth < 32 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		_cleanup_free_ char *text = NULL;
		struct stat st;
		git_oid id;

		/* no dot files, nor "x.lock" (a ref being written) */
		if (de->d_name[0] == '.' || (len > 5 && !strcmp(de->d_name + len - 5, ".lock")) ||
		    pathf(path, sizeof(path), "%s/%s", dir, de->d_name) < 0 ||
		    pathf(sub, sizeof(sub), "%s/%s", name, de->d_name) < 0 || stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = loose_refs(c, path, sub, depth + 1, l);
		else if (S_ISREG(st.st_mode) && read_file(path, 4096, &text, &len) == 0 &&
			 ref_value(c, sub, text, &id) == 0)
			r = ref_list_add(l, sub, &id);
	}
	if (d)
		closedir(d);
	return r;
}

/*
 * The source's packed branches and tags: packed-refs read line by line.
 * libgit2 would parse and index every packed ref, pull requests and all
 * (7,000 in a GitHub mirror: most of a local clone's time), to hand out a
 * few hundred.
 */
static int packed_refs(struct copier *c, struct ref_list *l)
{
	_cleanup_free_ char *data = NULL;
	char path[PATH_BUF];
	size_t len;
	int r;

	if (pathf(path, sizeof(path), "%spacked-refs", git_repository_commondir(c->src)) < 0)
		return fail(GIT_ERROR, "repository path too long");
	r = read_file(path, SIZE_MAX / 2, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail(GIT_ERROR, "cannot read '%s': %s", path, strerror(-r));
	r = 0;
	for (char *line = data, *end; r == 0 && line < data + len; line = end + 1) {
		git_oid id;

		end = memchr(line, '\n', (size_t)(data + len - line));
		if (!end)
			end = data + len;
		*end = '\0';
		/* "<hex> <name>"; "# header" and "^<peeled>" lines are skipped */
		if (end - line > GIT_OID_HEXSZ + 1 && line[GIT_OID_HEXSZ] == ' ' &&
		    wanted_ref(line + GIT_OID_HEXSZ + 1) && is_hex_n(line, GIT_OID_HEXSZ) &&
		    git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) == 0)
			r = ref_list_add(l, line + GIT_OID_HEXSZ + 1, &id);
	}
	return r;
}

/*
 * The source's branches and tags (a loose ref wins over a packed one of the
 * same name), each checked against the clone's objects: only these refs are
 * looked at, so a broken ref elsewhere (refs/pull/...) does not matter.
 * Sorted by name.
 */
static int source_refs(struct copier *c, const char *src, git_odb *odb, struct ref_list *l)
{
	struct ref_list packed = { 0 }, loose;
	char dir[PATH_BUF];
	int r = packed_refs(c, &packed);

	for (int k = 0; r == 0 && k < 2; k++) {
		const char *name = k ? "refs/tags" : "refs/heads";

		if (pathf(dir, sizeof(dir), "%s%s", git_repository_commondir(c->src), name) < 0)
			r = fail(GIT_ERROR, "repository path too long");
		else
			r = loose_refs(c, dir, name, 0, l);
	}
	if (r == 0 && l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
	/*
	 * The packed refs no loose ref overrides, looked up among the loose
	 * ones only: those are sorted, the list grows unsorted past them.
	 */
	loose = (struct ref_list){ .v = l->v, .n = l->n };
	for (size_t i = 0; r == 0 && i < packed.n; i++) {
		if (!ref_list_find(&loose, packed.v[i].name))
			r = ref_list_add(l, packed.v[i].name, &packed.v[i].id);
		loose.v = l->v; /* moved by a realloc */
	}
	ref_list_done(&packed);
	if (r == 0 && l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		char hex[GIT_OID_HEXSZ + 1];

		if (!git_odb_exists(odb, &l->v[i].id))
			r = fail(GIT_ERROR,
				 "'%s' of '%s' names object %s, which is not there: the repository "
				 "is corrupt",
				 l->v[i].name, src, git_oid_tostr(hex, sizeof(hex), &l->v[i].id));
	}
	return r;
}

/* Deletes the clone's branches and tags that the source no longer has. */
static int prune_refs(struct copier *c, const struct ref_list *keep)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	struct ref_list gone = { 0 };
	int r;

	r = git_reference_iterator_new(&it, c->dst);
	while (r == 0 && (r = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);

		if (wanted_ref(name) && !ref_list_find(keep, name))
			r = ref_list_add(&gone, name, &(git_oid){ { 0 } });
		git_reference_free(ref);
	}
	if (r == GIT_ITEROVER)
		r = 0;
	git_reference_iterator_free(it);
	for (size_t i = 0; r == 0 && i < gone.n; i++) {
		r = git_reference_remove(c->dst, gone.v[i].name);
		if (r == GIT_ENOTFOUND)
			r = 0;
	}
	ref_list_done(&gone);
	return r;
}

/* The source's HEAD: the branch it names, or its commit when detached. */
static int copy_head(struct copier *c, const struct ref_list *refs, git_odb *odb)
{
	git_reference *head = NULL;
	int r = git_reference_lookup(&head, c->src, "HEAD");

	if (r < 0)
		return r == GIT_ENOTFOUND ? 0 : r;
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		const char *target = git_reference_symbolic_target(head);

		/* an unborn or unfetched branch: keep the clone's HEAD */
		if (ref_list_find(refs, target))
			r = git_repository_set_head(c->dst, target);
	} else if (git_odb_exists(odb, git_reference_target(head))) {
		r = git_repository_set_head_detached(c->dst, git_reference_target(head));
	}
	git_reference_free(head);
	return r;
}

/*
 * A first copy writes every ref at once into packed-refs, as git clone
 * does: one file instead of one loose ref, lock and rename per ref (most of
 * the time of a copy with a few hundred branches and tags). The file is
 * sorted, with no peeled lines (readers peel on demand).
 */
static int write_packed_refs(struct copier *c, const struct ref_list *refs)
{
	char path[PATH_BUF], hex[GIT_OID_HEXSZ + 1];
	struct buf out;
	int r;

	buf_init(&out, SIZE_MAX);
	r = buf_adds(&out, "# pack-refs with: sorted \n");
	for (size_t i = 0; r == 0 && i < refs->n; i++)
		r = buf_printf(&out, "%s %s\n", git_oid_tostr(hex, sizeof(hex), &refs->v[i].id),
			       refs->v[i].name);
	if (r == 0)
		r = pathf(path, sizeof(path), "%spacked-refs", git_repository_path(c->dst));
	if (r == 0)
		r = write_atomic(path, NULL, 0, buf_str(&out), out.len, 0644);
	buf_done(&out);
	return r < 0 ? fail(GIT_ERROR, "cannot write the refs of the clone: %s", strerror(-r)) : 0;
}

static int copy_refs(struct copier *c, const char *src)
{
	struct ref_list refs = { 0 };
	git_odb *odb = NULL;
	int r;

	/* a fresh object database: it sees the packs just linked */
	r = git_odb_open(&odb, c->dst_objects);
	if (r == 0)
		r = source_refs(c, src, odb, &refs);
	if (r == 0 && c->fresh) {
		r = write_packed_refs(c, &refs);
		goto out_head;
	}
	if (r == 0)
		r = prune_refs(c, &refs);
	for (size_t i = 0; r == 0 && i < refs.n; i++) {
		git_reference *out = NULL;
		git_oid cur;

		if (git_reference_name_to_id(&cur, c->dst, refs.v[i].name) == 0 &&
		    git_oid_equal(&cur, &refs.v[i].id))
			continue;
		r = git_reference_create(&out, c->dst, refs.v[i].name, &refs.v[i].id, 1,
					 "wikifs: local copy");
		git_reference_free(out);
		if (r == 0 && i % REFS_EVERY == 0)
			r = progress(c);
	}
out_head:
	if (r == 0)
		r = copy_head(c, &refs, odb);
	ref_list_done(&refs);
	git_odb_free(odb);
	return r;
}

/* ---- stale packs ------------------------------------------------------- */

/*
 * The clone's packs that the source still has, its alternates, and with
 * @loose its loose objects.
 */
static int kept_odb(struct copier *c, bool loose, git_odb **ret)
{
	char path[PATH_BUF];
	git_odb_backend *be;
	struct dirent *de;
	git_odb *odb = NULL;
	DIR *d;
	int r = git_odb_new(&odb);

	snprintf(path, sizeof(path), "%spack", c->dst_objects);
	d = r == 0 ? opendir(path) : NULL;
	while (d && r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 10 || strncmp(de->d_name, "pack-", 5) ||
		    strcmp(de->d_name + len - 4, ".idx"))
			continue;
		snprintf(path, sizeof(path), "%spack/%s", c->src_objects, de->d_name);
		if (!exists(path))
			continue;
		snprintf(path, sizeof(path), "%spack/%s", c->dst_objects, de->d_name);
		r = git_odb_backend_one_pack(&be, path);
		if (r == 0 && (r = git_odb_add_backend(odb, be, 2)) < 0)
			be->free(be);
	}
	if (d)
		closedir(d);
	if (r == 0 && loose && (r = git_odb_backend_loose(&be, c->dst_objects, -1, 0, 0, 0)) == 0 &&
	    (r = git_odb_add_backend(odb, be, 1)) < 0)
		be->free(be);
	snprintf(path, sizeof(path), "%sinfo/alternates", c->dst_objects);
	if (r == 0 && exists(path)) {
		_cleanup_free_ char *data = NULL;
		size_t len;

		if (read_file(path, 1 << 20, &data, &len) == 0)
			for (char *l = strtok(data, "\n"); l && r == 0; l = strtok(NULL, "\n"))
				if (*l == '/')
					r = git_odb_add_disk_alternate(odb, l);
	}
	if (r < 0)
		git_odb_free(odb);
	else
		*ret = odb;
	return r;
}

static int object_kept(const git_oid *id, void *payload)
{
	return git_odb_exists(payload, id) ? 0 : GIT_EUSER;
}

/* Removes the clone's packs the source repacked away, if nothing is lost. */
static void prune_packs(struct copier *c)
{
	char idx[PATH_BUF], path[PATH_BUF];
	git_odb *kept = NULL;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%spack", c->dst_objects);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		git_odb_backend *be = NULL;
		int r;

		if (len < 10 || strncmp(de->d_name, "pack-", 5) ||
		    strcmp(de->d_name + len - 4, ".idx"))
			continue;
		snprintf(path, sizeof(path), "%spack/%s", c->src_objects, de->d_name);
		if (exists(path) || (!kept && kept_odb(c, true, &kept) < 0))
			continue;
		snprintf(idx, sizeof(idx), "%spack/%s", c->dst_objects, de->d_name);
		if (git_odb_backend_one_pack(&be, idx) < 0)
			continue;
		r = be->foreach(be, object_kept, kept);
		be->free(be);
		if (r != 0)
			continue; /* it holds objects found nowhere else: keep it */
		unlink(idx);
		snprintf(path, sizeof(path), "%.*spack", (int)(strlen(idx) - 3), idx);
		unlink(path);
	}
	if (d)
		closedir(d);
	git_odb_free(kept);
}

/*
 * Removes the clone's loose objects that the source has packed since (its
 * `git gc`): found in a pack the source has, and no longer loose there.
 */
static void prune_loose(struct copier *c)
{
	char dir[OBJECTS_MAX + 8], path[PATH_BUF];
	git_odb *packs = NULL;

	for (int i = 0; i < 256; i++) {
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s%02x", c->dst_objects, i);
		d = opendir(dir);
		while (d && (de = readdir(d))) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid id;

			if (!is_hex(de->d_name, GIT_OID_HEXSZ - 2))
				continue;
			snprintf(path, sizeof(path), "%s%02x/%s", c->src_objects, i, de->d_name);
			if (exists(path) || (!packs && kept_odb(c, false, &packs) < 0))
				continue;
			snprintf(hex, sizeof(hex), "%02x%.38s", i, de->d_name);
			if (git_oid_fromstr(&id, hex) == 0 && git_odb_exists(packs, &id)) {
				snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
				unlink(path);
			}
		}
		if (d)
			closedir(d);
	}
	git_odb_free(packs);
}

/* ---- public ------------------------------------------------------------ */

/* Whether @repo has any ref (HEAD aside). */
static int has_refs(git_repository *repo, bool *any)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int r = git_reference_iterator_new(&it, repo);

	if (r == 0)
		r = git_reference_next(&ref, it);
	*any = r == 0;
	git_reference_free(ref);
	git_reference_iterator_free(it);
	return r == GIT_ITEROVER || r == 0 ? 0 : r;
}

static int set_dirs(struct copier *c)
{
	const char *common = git_repository_commondir(c->src);
	const char *dst = git_repository_path(c->dst);
	int a = snprintf(c->src_objects, sizeof(c->src_objects), "%sobjects/", common);
	int b = snprintf(c->dst_objects, sizeof(c->dst_objects), "%sobjects/", dst);

	if (a < 0 || (size_t)a >= sizeof(c->src_objects) || b < 0 ||
	    (size_t)b >= sizeof(c->dst_objects))
		return fail(GIT_ERROR, "repository path too long");
	return 0;
}

int local_copy_sync(git_repository *dst, const char *src, local_copy_progress_cb cb, void *payload)
{
	struct copier c = { .dst = dst, .cb = cb, .payload = payload };
	int r;

	r = git_repository_open_ext(&c.src, src, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (r == GIT_ENOTFOUND)
		return fail(GIT_ENOTFOUND, "'%s' does not appear to be a git repository", src);
	if (r < 0)
		return r;
	r = set_dirs(&c);
	if (r == 0)
		r = has_refs(dst, &c.fresh);
	c.fresh = !c.fresh;
	if (r == 0)
		r = copy_alternates(&c);
	if (r == 0)
		r = copy_objects(&c);
	if (r == 0)
		r = copy_refs(&c, src);
	if (r == 0 && !c.fresh) {
		prune_packs(&c);
		prune_loose(&c);
	}
	for (size_t i = 0; i < c.n_todo; i++) {
		free(c.todo[i].from);
		free(c.todo[i].to);
	}
	free(c.todo);
	git_repository_free(c.src);
	return r;
}

#define REMOTE_NAME "origin"

/* The remote "origin" of the clone: @url, branches and tags. */
static int set_remote(git_repository *repo, bool create, const char *url)
{
	git_remote *remote = NULL;
	int r;

	if (!create) {
		r = git_remote_lookup(&remote, repo, REMOTE_NAME);
		if (r == 0 && strcmp(git_remote_url(remote), url))
			r = git_remote_set_url(repo, REMOTE_NAME, url);
		git_remote_free(remote);
		return r;
	}
	r = git_remote_create_with_fetchspec(&remote, repo, REMOTE_NAME, url,
					     "+refs/heads/*:refs/heads/*");
	git_remote_free(remote);
	return r == 0 ? git_remote_add_fetch(repo, REMOTE_NAME, "+refs/tags/*:refs/tags/*") : r;
}

int local_copy_run(const char *dir, bool create, const char *url, const char *src,
		   local_copy_progress_cb cb, void *payload)
{
	git_repository *repo = NULL;
	int r, fd;

	r = create ? git_repository_init(&repo, dir, 1) : git_repository_open_bare(&repo, dir);
	if (r == 0)
		r = set_remote(repo, create, url);
	if (r == 0)
		r = local_copy_sync(repo, src, cb, payload);
	git_repository_free(repo);
	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		r = fail(GIT_ERROR, "cannot sync the clone to disk: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return r;
}
