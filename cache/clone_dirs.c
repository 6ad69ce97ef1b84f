/* SPDX-License-Identifier: MIT */
/*
 * Clone directories (see clone_dirs.h). Every operation on the shared
 * files holds the process's mutex, then the lock file: flock() belongs to
 * an open file description, which the threads of a process share, so two
 * threads must never hold it at once in different modes.
 *
 * What is a clone, a temporary, an owner directory, by name alone:
 * clones end in ".git" (and hold HEAD); temporaries end in ".tmp.XXXXXX";
 * everything else is an owner directory (one level), except names starting
 * with a dot (.in-use, .gc.lock). An owner that itself ends in ".git" gets
 * a "_" appended, so it never looks like a clone.
 */
#include "clone_dirs.h"
#include "fsutil.h"
#include "sha256.h"
#include "url.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <git2.h>

#define URL_MAX	    8192
#define TAIL_MAX    32		/* readable part of an old-style name */
#define CLAIMS_DIR  ".in-use"	/* one claim file per running process */
#define GC_LOCK	    ".gc.lock"	/* claims and temporaries: shared; removal: exclusive */
#define TEMP_MARK   ".tmp."	/* then 6 characters, as mkdtemp() makes them */
#define CLAIMS_READ (16u << 20) /* bytes of one claim file read */
#define REL_MAX	    512		/* a clone's path below the clones directory */

struct claim {
	char *url; /* without password */
	char *rel; /* "owner/repo.git" */
};

struct clone_dirs {
	char *dir;
	unsigned grace_s;
	int lock_fd;	  /* GC_LOCK */
	int claim_fd;	  /* this process's claim file, locked exclusively while it lives */
	char *claim_path; /* its path */

	pthread_mutex_t lock; /* a leaf; protects below and the use of lock_fd */
	struct claim *v;
	size_t n, cap;
};

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool is_temp(const char *name)
{
	const char *t = strstr(name, TEMP_MARK);

	while (t && strstr(t + 1, TEMP_MARK))
		t = strstr(t + 1, TEMP_MARK);
	return t && strlen(t + strlen(TEMP_MARK)) == 6;
}

static bool ends_git(const char *name)
{
	size_t len = strlen(name);

	return len >= 5 && !strcmp(name + len - 4, ".git");
}

static bool is_clone(int dfd, const char *name)
{
	char head[REL_MAX + 8];

	if (!ends_git(name))
		return false;
	snprintf(head, sizeof(head), "%s/HEAD", name);
	return faccessat(dfd, head, F_OK, 0) == 0;
}

void clone_dirs_touch(const char *git_dir)
{
	utimensat(AT_FDCWD, git_dir, NULL, 0);
}

/* ---- names ------------------------------------------------------------- */

/* One readable path component: [A-Za-z0-9._-], no leading dot, no ".git". */
static void component(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;

	if (len >= 4 && !strncmp(s + len - 4, ".git", 4))
		len -= 4;
	for (size_t i = 0; i < len && o + 1 < n && o < TAIL_MAX * 2; i++) {
		unsigned char c = (unsigned char)s[i];

		bool keep = isalnum(c) || c == '-' || c == '_' || (c == '.' && o > 0);

		out[o++] = keep ? (char)c : '_';
	}
	if (o == 0)
		out[o++] = '_';
	out[o] = '\0';
}

/* "owner/repo" from the last two path components of @url. */
static void name_from_url(const char *url, char *out, size_t n)
{
	const char *path = strstr(url, "://"), *end, *mid, *start;
	char a[TAIL_MAX * 2 + 2], b[TAIL_MAX * 2 + 2];

	path = path ? strchr(path + 3, '/')
		    : (strchr(url, ':') && url[0] != '/' ? strchr(url, ':') + 1 : url);
	if (!path)
		path = url + strlen(url);
	end = path + strlen(path);
	while (end > path && end[-1] == '/')
		end--;
	mid = end;
	while (mid > path && mid[-1] != '/')
		mid--;
	start = mid > path ? mid - 1 : mid;
	while (start > path && start[-1] != '/')
		start--;
	component(mid, (size_t)(end - mid), b, sizeof(b));
	if (start < mid && mid - 1 > start) {
		component(start, (size_t)(mid - 1 - start), a, sizeof(a));
		snprintf(out, n, "%s/%s", a, b);
	} else {
		snprintf(out, n, "%s", end > mid ? b : "repo");
	}
}

/* The configured name as a path: an owner ending in ".git" gets a "_". */
static int name_path(const char *name, char *out, size_t n)
{
	const char *slash = strchr(name, '/');
	int len;

	if (slash && slash - name >= 4 && !strncmp(slash - 4, ".git", 4))
		len = snprintf(out, n, "%.*s_%s", (int)(slash - name), name, slash);
	else
		len = snprintf(out, n, "%s", name);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* The name earlier versions gave: "<tail>-<16 hex>.git", in the clones directory. */
static void old_name(const char *url, char *out, size_t n)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX], tail[TAIL_MAX + 1];
	size_t end = strlen(url), start, k = 0;

	while (end > 0 && url[end - 1] == '/')
		end--;
	if (end >= 4 && !strncmp(url + end - 4, ".git", 4))
		end -= 4;
	while (end > 0 && url[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && url[start - 1] != '/' && url[start - 1] != ':')
		start--;
	for (size_t i = start; i < end && k < TAIL_MAX; i++) {
		unsigned char c = (unsigned char)url[i];

		tail[k++] = isalnum(c) || c == '-' || c == '_' ? (char)c : '_';
	}
	tail[k] = '\0';
	sha256_digest(url, strlen(url), d);
	sha256_to_hex(d, hex);
	snprintf(out, n, "%s-%.16s.git", k ? tail : "repo", hex);
}

/* Whether the clone in @path fetches from @url (passwords ignored). */
static bool clone_of(const char *path, const char *url)
{
	_cleanup_free_ char *cfg_path = NULL;
	char stored[URL_MAX];
	git_config *cfg = NULL;
	git_buf got = { 0 };
	bool same = false;

	if (asprintf(&cfg_path, "%s/config", path) < 0)
		return false;
	if (git_config_open_ondisk(&cfg, cfg_path) == 0 &&
	    git_config_get_string_buf(&got, cfg, "remote.origin.url") == 0 &&
	    url_strip_password(got.ptr, stored, sizeof(stored)) == 0)
		same = !strcmp(stored, url);
	git_buf_dispose(&got);
	git_config_free(cfg);
	return same;
}

/* ---- claims ------------------------------------------------------------ */

static int lock_shared(struct clone_dirs *cd)
{
	while (flock(cd->lock_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void unlock(struct clone_dirs *cd)
{
	flock(cd->lock_fd, LOCK_UN);
}

static const struct claim *find_claim(struct clone_dirs *cd, const char *url)
{
	for (size_t i = 0; i < cd->n; i++)
		if (!strcmp(cd->v[i].url, url))
			return &cd->v[i];
	return NULL;
}

static int add_claim(struct clone_dirs *cd, const char *url, const char *rel)
{
	char line[REL_MAX + 2];
	int len = snprintf(line, sizeof(line), "%s\n", rel);

	if (cd->n == cd->cap) {
		size_t cap = cd->cap ? cd->cap * 2 : 16;
		struct claim *v = realloc(cd->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		cd->v = v;
		cd->cap = cap;
	}
	cd->v[cd->n].url = strdup(url);
	cd->v[cd->n].rel = strdup(rel);
	if (!cd->v[cd->n].url || !cd->v[cd->n].rel) {
		free(cd->v[cd->n].url);
		free(cd->v[cd->n].rel);
		return -ENOMEM;
	}
	cd->n++;
	/* O_APPEND: one write per line, never interleaved with another */
	return write(cd->claim_fd, line, (size_t)len) == len ? 0 : -EIO;
}

/*
 * Picks @url's directory (relative, in @rel): the name's, or the hashed
 * one if the name's holds another repository; renames an old-style clone
 * into place. Shared lock held.
 */
static int choose(struct clone_dirs *cd, const char *name, const char *url, char *rel, size_t n)
{
	char base[REL_MAX], path[REL_MAX * 2 + 4096], old[REL_MAX + 4096];
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX];
	int r;

	if (name)
		r = name_path(name, base, sizeof(base) - 32);
	else
		name_from_url(url, base, sizeof(base) - 32), r = 0;
	if (r == 0)
		r = pathf(rel, n, "%s.git", base);
	if (r == 0)
		r = pathf(path, sizeof(path), "%s/%s", cd->dir, rel);
	if (r == 0 && exists(path) && !clone_of(path, url)) {
		sha256_digest(url, strlen(url), d);
		sha256_to_hex(d, hex);
		r = pathf(rel, n, "%s-%.16s.git", base, hex);
		if (r == 0)
			r = pathf(path, sizeof(path), "%s/%s", cd->dir, rel);
	}
	if (r < 0)
		return r;
	if (!exists(path)) {
		char oldrel[TAIL_MAX + 32];

		old_name(url, oldrel, sizeof(oldrel));
		if (pathf(old, sizeof(old), "%s/%s", cd->dir, oldrel) == 0 && strcmp(oldrel, rel) &&
		    exists(old) && clone_of(old, url)) {
			char *slash = strrchr(path, '/');

			*slash = '\0';
			r = mkdir_p(path, 0700);
			*slash = '/';
			if (r < 0 || rename(old, path) < 0)
				return r < 0 ? r : -errno;
		}
	}
	clone_dirs_touch(path);
	return 0;
}

int clone_dirs_claim(struct clone_dirs *cd, const char *name, const char *full_url, char *out,
		     size_t n)
{
	char url[URL_MAX], rel[REL_MAX];
	const struct claim *c;
	int r, len;

	if (url_strip_password(full_url, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&cd->lock);
	c = find_claim(cd, url);
	if (c) {
		len = snprintf(out, n, "%s/%s", cd->dir, c->rel);
		pthread_mutex_unlock(&cd->lock);
		return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
	}
	r = lock_shared(cd);
	if (r == 0) {
		r = choose(cd, name, url, rel, sizeof(rel));
		if (r == 0)
			r = add_claim(cd, url, rel);
		unlock(cd);
	}
	pthread_mutex_unlock(&cd->lock);
	if (r < 0)
		return r;
	len = snprintf(out, n, "%s/%s", cd->dir, rel);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int clone_dirs_mktemp(struct clone_dirs *cd, const char *git_dir, char *tmp, size_t n, int *lock_fd)
{
	char *slash;
	int r, len, fd = -1;

	len = snprintf(tmp, n, "%s.tmp.XXXXXX", git_dir);
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&cd->lock);
	r = lock_shared(cd);
	if (r == 0) {
		slash = strrchr(tmp, '/');
		*slash = '\0';
		r = mkdir_p(tmp, 0700);
		*slash = '/';
		if (r == 0 && !mkdtemp(tmp))
			r = -errno;
		if (r == 0) {
			fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
				r = -errno;
		}
		unlock(cd);
	}
	pthread_mutex_unlock(&cd->lock);
	if (r < 0) {
		if (fd >= 0) {
			rmdir(tmp);
			close(fd);
		}
		return r;
	}
	*lock_fd = fd;
	return 0;
}

/* ---- removal ----------------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strndup(s, len);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void names_done(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* Whether a path of @l ends in "/@name". */
static bool names_has_base(const struct names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *slash = strrchr(l->v[i], '/');

		if (slash && !strcmp(slash + 1, name))
			return true;
	}
	return false;
}

/* Whether some claimed clone lives in owner directory @owner. */
static bool names_under(const struct names *l, const char *owner)
{
	size_t n = strlen(owner);

	for (size_t i = 0; i < l->n; i++)
		if (!strncmp(l->v[i], owner, n) && l->v[i][n] == '/')
			return true;
	return false;
}

/*
 * The clones every running process claims; the claim files of processes
 * that are gone are removed. -errno only if the claims cannot be read: then
 * nothing may be removed.
 */
static int read_claims(struct clone_dirs *cd, struct names *used)
{
	_cleanup_free_ char *path = NULL;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (asprintf(&path, "%s/" CLAIMS_DIR, cd->dir) < 0)
		return -ENOMEM;
	d = opendir(path);
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *data = NULL;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			unlinkat(dirfd(d), de->d_name, 0); /* its process is gone */
			continue;
		}
		free(path);
		if (asprintf(&path, "%s/" CLAIMS_DIR "/%s", cd->dir, de->d_name) < 0) {
			path = NULL;
			r = -ENOMEM;
			break;
		}
		r = read_file(path, CLAIMS_READ, &data, &len);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		for (char *s = data, *e; r == 0 && s && *s; s = e ? e + 1 : NULL) {
			e = strchr(s, '\n');
			r = names_add(used, s, e ? (size_t)(e - s) : strlen(s));
		}
	}
	closedir(d);
	return r;
}

struct gc_pass {
	struct clone_dirs *cd;
	const struct names *used;
	time_t older_than;   /* remove clones last used before this */
	struct names doomed; /* paths renamed aside, deleted after the lock */
	size_t removed;
};

/*
 * Moves @name (in @dfd) aside, to a temporary of the clones directory that
 * is deleted once the lock is released (or swept, after a crash).
 */
static void doom(struct gc_pass *g, int dfd, const char *name)
{
	char aside[REL_MAX + 4096];

	if (pathf(aside, sizeof(aside), "%s/removed" TEMP_MARK "XXXXXX", g->cd->dir) < 0 ||
	    !mkdtemp(aside))
		return;
	if (renameat(dfd, name, AT_FDCWD, aside) == 0)
		names_add(&g->doomed, aside, strlen(aside));
	else
		rmdir(aside);
}

/* Removes @name in @dfd (relative path @rel) if it is due. */
static void gc_entry(struct gc_pass *g, int dfd, const char *name, const char *rel)
{
	struct stat st;

	if (is_temp(name)) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		/* locked: its maker is at work */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			doom(g, dfd, name);
		return;
	}
	if (!g->cd->grace_s || names_has(g->used, rel) || fstatat(dfd, name, &st, 0) < 0 ||
	    st.st_mtime >= g->older_than)
		return;
	doom(g, dfd, name);
}

/* One directory level: the clones directory (@owner NULL) or an owner's. */
static void gc_dir(struct gc_pass *g, const char *owner)
{
	char path[REL_MAX + 4096], rel[REL_MAX * 2];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s%s", g->cd->dir, owner ? "/" : "", owner ? owner : "");
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", owner ? owner : "", owner ? "/" : "",
			 de->d_name);
		if (!owner && is_temp(de->d_name) && names_has_base(&g->doomed, de->d_name))
			continue; /* moved aside by this pass */
		if (is_temp(de->d_name) || is_clone(dirfd(d), de->d_name))
			gc_entry(g, dirfd(d), de->d_name, rel);
		else if (!owner && de->d_type == DT_DIR && !ends_git(de->d_name))
			gc_dir(g, de->d_name); /* an owner directory (never named *.git) */
	}
	closedir(d);
	/* an owner directory left empty goes too, unless a claim is for it */
	if (owner && !names_under(g->used, owner))
		rmdir(path); /* fails, as it should, if anything is left in it */
}

size_t clone_dirs_gc(struct clone_dirs *cd)
{
	struct names used = { 0 };
	struct gc_pass g = { .cd = cd, .used = &used };

	pthread_mutex_lock(&cd->lock);
	if (flock(cd->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		pthread_mutex_unlock(&cd->lock); /* another process is at it */
		return 0;
	}
	g.older_than = time(NULL) - (time_t)cd->grace_s;
	if (read_claims(cd, &used) == 0)
		gc_dir(&g, NULL);
	unlock(cd);
	pthread_mutex_unlock(&cd->lock);
	/* renamed aside under the lock; the slow part happens after it */
	for (size_t i = 0; i < g.doomed.n; i++)
		if (rm_rf(g.doomed.v[i]) == 0)
			g.removed++;
	names_done(&g.doomed);
	names_done(&used);
	return g.removed;
}

/* ---- lifetime ---------------------------------------------------------- */

/*
 * Creates and locks this process's claim file, under the shared lock: a
 * removal pass never sees it unlocked. Its name is PID.RANDOM, made anew
 * if taken (by a dead process of the same pid whose file is still there).
 */
static int make_claim_file(struct clone_dirs *cd, const char *claims)
{
	int r = lock_shared(cd);

	for (int i = 0; r == 0 && i < 16; i++) {
		uint32_t rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)random() ^ (uint32_t)now_ms();
		free(cd->claim_path);
		if (asprintf(&cd->claim_path, "%s/%ld.%08x", claims, (long)getpid(), rnd) < 0) {
			cd->claim_path = NULL;
			r = -ENOMEM;
			break;
		}
		cd->claim_fd =
		    open(cd->claim_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (cd->claim_fd >= 0)
			break;
		if (errno != EEXIST)
			r = -errno;
	}
	if (r == 0 && cd->claim_fd < 0)
		r = -EEXIST;
	if (r == 0 && flock(cd->claim_fd, LOCK_EX | LOCK_NB) < 0)
		r = -errno;
	unlock(cd);
	return r;
}

int clone_dirs_new(struct clone_dirs **ret, const char *clones_dir, unsigned grace_s)
{
	_cleanup_free_ char *claims = NULL, *lock = NULL;
	struct clone_dirs *cd = calloc(1, sizeof(*cd));
	int r;

	if (!cd)
		return -ENOMEM;
	cd->lock_fd = cd->claim_fd = -1;
	cd->grace_s = grace_s;
	cd->dir = strdup(clones_dir);
	if (asprintf(&claims, "%s/" CLAIMS_DIR, clones_dir) < 0)
		claims = NULL;
	if (asprintf(&lock, "%s/" GC_LOCK, clones_dir) < 0)
		lock = NULL;
	if (!cd->dir || !claims || !lock) {
		r = -ENOMEM;
		goto out_free;
	}
	r = mkdir_p(claims, 0700);
	if (r < 0)
		goto out_free;
	cd->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (cd->lock_fd < 0) {
		r = -errno;
		goto out_free;
	}
	r = make_claim_file(cd, claims);
	if (r < 0)
		goto out_free;
	pthread_mutex_init(&cd->lock, NULL);
	*ret = cd;
	return 0;

out_free:
	if (cd->claim_fd >= 0) {
		unlink(cd->claim_path);
		close(cd->claim_fd);
	}
	if (cd->lock_fd >= 0)
		close(cd->lock_fd);
	free(cd->claim_path);
	free(cd->dir);
	free(cd);
	return r;
}

void clone_dirs_free(struct clone_dirs *cd)
{
	char path[REL_MAX + 4096];

	if (!cd)
		return;
	/* the grace period of each clone starts now */
	for (size_t i = 0; i < cd->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", cd->dir, cd->v[i].rel);
		clone_dirs_touch(path);
		free(cd->v[i].url);
		free(cd->v[i].rel);
	}
	free(cd->v);
	unlink(cd->claim_path);
	close(cd->claim_fd);
	close(cd->lock_fd);
	pthread_mutex_destroy(&cd->lock);
	free(cd->claim_path);
	free(cd->dir);
	free(cd);
}
