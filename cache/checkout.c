/* SPDX-License-Identifier: MIT */
/*
 * Read-only checkouts; see checkout.h for the contract.
 *
 * The index is a list of entries, one per commit, with its bytes, a use
 * tick for LRU and a reference count; an entry being exported is marked
 * building and waited for. Removal takes the checkout's exclusive flock
 * without waiting, renames it to a temporary name (so a getter never opens
 * a half-removed tree under the real name) and removes that. A getter
 * holds a shared flock and checks, once it has it, that the name still
 * leads to the directory it opened: if not, an evictor won and it starts
 * over.
 */
#include "checkout.h"
#include "fsutil.h"
#include "gitrepo.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define GET_ATTEMPTS 4

struct entry {
	struct entry *next;
	char commit[65];
	uint64_t bytes;
	uint64_t last_use; /* a tick of cc->tick */
	unsigned refs;
	bool building;
};

struct checkout_cache {
	char *dir; /* CACHE_DIR/checkouts */
	uint64_t max, max_tree;
	pthread_mutex_t lock;
	pthread_cond_t built; /* an export ended; with lock */
	/* lock: */
	struct entry *entries;
	uint64_t bytes, tick, evict_seq;
	struct checkout_stats st;
};

struct checkout {
	struct checkout_cache *cc;
	struct entry *e;
	int fd; /* the checkout's directory, with a shared flock */
	char path[4096];
};

static bool commit_ok(const char *c)
{
	size_t n = strlen(c);

	if (n != 40 && n != 64)
		return false;
	for (; *c; c++)
		if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
			return false;
	return true;
}

/* Bytes of the files and links below @dfd/@name (a directory), not following links. */
static uint64_t du_at(int dfd, const char *name, unsigned depth)
{
	uint64_t n = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if (depth > 1100)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += du_at(dirfd(d), de->d_name, depth + 1);
		else
			n += (uint64_t)st.st_size;
	}
	closedir(d);
	return n;
}

/*
 * Opens the checkout at @path with a shared lock, making sure the name
 * still leads to it once the lock is held. The fd, or -ENOENT.
 */
static int open_locked(const char *path)
{
	struct stat a, b;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	if (fstat(fd, &a) < 0 || lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return -ENOENT; /* evicted meanwhile */
	}
	return fd;
}

/* Removes the checkout of @commit unless someone holds it. True when it is gone. */
static bool remove_checkout(struct checkout_cache *cc, const char *commit, uint64_t seq)
{
	char path[4096], tmp[4096 + 64];
	int fd;

	if (pathf(path, sizeof(path), "%s/%s", cc->dir, commit) < 0 ||
	    pathf(tmp, sizeof(tmp), "%s/%s.tmp.evict%d-%llu", cc->dir, commit, (int)getpid(),
		  (unsigned long long)seq) < 0)
		return false;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return false; /* in use in another process */
	}
	if (rename(path, tmp) == 0)
		rm_rf(tmp);
	close(fd);
	return true;
}

static void unlink_entry_locked(struct checkout_cache *cc, struct entry *e)
{
	for (struct entry **pp = &cc->entries; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			cc->bytes -= e->bytes;
			return;
		}
	}
}

/*
 * Takes least recently used entries no one uses out of the index while
 * the total is past the budget; returns them chained, for
 * evict_victims() once unlocked.
 */
static struct entry *evict_locked(struct checkout_cache *cc)
{
	struct entry *victims = NULL;

	while (cc->bytes > cc->max) {
		struct entry *lru = NULL;

		for (struct entry *e = cc->entries; e; e = e->next)
			if (!e->refs && !e->building && (!lru || e->last_use < lru->last_use))
				lru = e;
		if (!lru)
			break; /* all in use: kept past the budget */
		unlink_entry_locked(cc, lru);
		lru->next = victims;
		victims = lru;
	}
	return victims;
}

static void evict_victims(struct checkout_cache *cc, struct entry *victims)
{
	while (victims) {
		struct entry *e = victims;
		uint64_t seq;
		bool gone;

		victims = e->next;
		pthread_mutex_lock(&cc->lock);
		seq = ++cc->evict_seq;
		pthread_mutex_unlock(&cc->lock);
		gone = remove_checkout(cc, e->commit, seq);
		pthread_mutex_lock(&cc->lock);
		if (gone)
			cc->st.evicted++;
		else
			cc->st.busy++;
		pthread_mutex_unlock(&cc->lock);
		free(e);
	}
}

/* Indexes the checkouts on disk, least recently used (mtime) first. */
static int scan(struct checkout_cache *cc)
{
	struct dirent *de;
	DIR *d = opendir(cc->dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;
		struct entry *e, **pp;

		if (!commit_ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		e = calloc(1, sizeof(*e));
		if (!e)
			break;
		snprintf(e->commit, sizeof(e->commit), "%s", de->d_name);
		e->bytes = du_at(dirfd(d), de->d_name, 0);
		e->last_use = (uint64_t)st.st_mtim.tv_sec; /* reordered below */
		for (pp = &cc->entries; *pp && (*pp)->last_use <= e->last_use; pp = &(*pp)->next)
			;
		e->next = *pp;
		*pp = e;
		cc->bytes += e->bytes;
	}
	closedir(d);
	for (struct entry *e = cc->entries; e; e = e->next)
		e->last_use = ++cc->tick;
	return 0;
}

int checkout_cache_new(struct checkout_cache **ret, const char *cache_dir, uint64_t max_bytes,
		       struct wf_err *err)
{
	struct checkout_cache *cc = calloc(1, sizeof(*cc));
	int r;

	if (!cc || asprintf(&cc->dir, "%s/checkouts", cache_dir) < 0) {
		free(cc);
		return wf_err_set(err, -ENOMEM, "out of memory");
	}
	cc->max = max_bytes;
	cc->max_tree = MAX(max_bytes, CHECKOUT_MIN_TREE);
	pthread_mutex_init(&cc->lock, NULL);
	pthread_cond_init(&cc->built, NULL);
	r = mkdir_p(cc->dir, 0700);
	r = r ?: remove_stale_temps(cc->dir, NULL);
	r = r ?: scan(cc);
	if (r < 0) {
		wf_err_set(err, r, "cannot use checkout directory '%s': %s", cc->dir, strerror(-r));
		checkout_cache_free(cc);
		return r;
	}
	evict_victims(cc, evict_locked(cc)); /* no thread yet: the lock is not needed */
	*ret = cc;
	return 0;
}

void checkout_cache_free(struct checkout_cache *cc)
{
	if (!cc)
		return;
	while (cc->entries) {
		struct entry *e = cc->entries;

		cc->entries = e->next;
		free(e);
	}
	pthread_cond_destroy(&cc->built);
	pthread_mutex_destroy(&cc->lock);
	free(cc->dir);
	free(cc);
}

/*
 * Exports @commit into a locked temporary directory and renames it into
 * place (*@exported); a checkout another process put there first is used
 * instead. The locked fd, with *@bytes.
 */
static int make(struct checkout_cache *cc, const char *git_dir, const char *commit,
		const char *path, uint64_t *bytes, bool *exported, struct wf_err *err)
{
	char tmp[4096];
	int lock_fd = -1, dfd, r;

	r = open_locked(path);
	if (r >= 0) {
		*bytes = du_at(AT_FDCWD, path, 0); /* another process made it */
		return r;
	}
	if (r != -ENOENT)
		return wf_err_set(err, r, "cannot open checkout '%s': %s", path, strerror(-r));
	r = pathf(tmp, sizeof(tmp), "%s/%s.tmp.XXXXXX", cc->dir, commit);
	r = r ?: mkdtemp_locked(tmp, &lock_fd);
	if (r < 0)
		return wf_err_set(err, r, "cannot create a checkout in '%s': %s", cc->dir,
				  strerror(-r));
	dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = dfd < 0 ? wf_err_set(err, -errno, "cannot open '%s': %s", tmp, strerror(errno))
		    : gitrepo_export(git_dir, commit, dfd, cc->max_tree, bytes, err);
	if (r == 0 && fchmod(dfd, 0555) < 0)
		r = wf_err_set(err, -errno, "cannot close '%s': %s", tmp, strerror(errno));
	if (dfd >= 0)
		close(dfd);
	if (r == 0 && rename(tmp, path) < 0) {
		r = errno == EEXIST || errno == ENOTEMPTY ? 1 : -errno;
		if (r < 0)
			wf_err_set(err, r, "cannot rename '%s': %s", tmp, strerror(-r));
	}
	if (r != 0) {
		rm_rf(tmp);
		close(lock_fd);
		if (r < 0)
			return r;
		r = open_locked(path); /* another process renamed its own first */
		if (r >= 0)
			*bytes = du_at(AT_FDCWD, path, 0);
		else
			wf_err_set(err, r, "cannot open checkout '%s': %s", path, strerror(-r));
		return r;
	}
	flock(lock_fd, LOCK_SH); /* from the maker's lock to a user's */
	*exported = true;
	return lock_fd;
}

static struct entry *find_locked(struct checkout_cache *cc, const char *commit)
{
	for (struct entry *e = cc->entries; e; e = e->next)
		if (!strcmp(e->commit, commit))
			return e;
	return NULL;
}

/*
 * Makes the entry of @commit, which the caller inserted as building, and
 * opens it: the fd or -errno. Ends the building state, whatever happens.
 */
static int make_entry(struct checkout_cache *cc, struct entry *e, const char *git_dir,
		      const char *path, struct wf_err *err)
{
	struct entry *victims = NULL;
	uint64_t bytes = 0;
	bool exported = false;
	int fd = make(cc, git_dir, e->commit, path, &bytes, &exported, err);

	pthread_mutex_lock(&cc->lock);
	e->building = false;
	pthread_cond_broadcast(&cc->built);
	if (fd < 0) {
		unlink_entry_locked(cc, e); /* its bytes are 0 */
		free(e);
	} else {
		e->bytes = bytes;
		cc->bytes += bytes;
		cc->st.made += exported;
		victims = evict_locked(cc);
	}
	pthread_mutex_unlock(&cc->lock);
	evict_victims(cc, victims);
	return fd;
}

/* One try at the checkout: the fd, or -EAGAIN to try again, or -errno. */
static int get_once(struct checkout_cache *cc, const char *git_dir, struct checkout *co,
		    const char *commit, struct wf_err *err)
{
	struct entry *e;
	int fd;

	pthread_mutex_lock(&cc->lock);
	while ((e = find_locked(cc, commit)) && e->building)
		pthread_cond_wait(&cc->built, &cc->lock);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&cc->lock);
			return wf_err_set(err, -ENOMEM, "out of memory");
		}
		snprintf(e->commit, sizeof(e->commit), "%s", commit);
		e->building = true;
		e->refs = 1;
		e->last_use = ++cc->tick;
		e->next = cc->entries;
		cc->entries = e;
		pthread_mutex_unlock(&cc->lock);
		co->e = e;
		return make_entry(cc, e, git_dir, co->path, err);
	}
	e->refs++;
	e->last_use = ++cc->tick;
	pthread_mutex_unlock(&cc->lock);
	fd = open_locked(co->path);
	if (fd >= 0) {
		co->e = e;
		return fd;
	}
	/* removed by another process (-ENOENT): forget it and make it again */
	pthread_mutex_lock(&cc->lock);
	if (--e->refs == 0 && !e->building && fd == -ENOENT) {
		unlink_entry_locked(cc, e);
		free(e);
	}
	pthread_mutex_unlock(&cc->lock);
	if (fd != -ENOENT)
		return wf_err_set(err, fd, "cannot open checkout '%s': %s", co->path,
				  strerror(-fd));
	return -EAGAIN;
}

int checkout_get(struct checkout_cache *cc, const char *git_dir, const char *commit,
		 struct checkout **ret, struct wf_err *err)
{
	struct checkout *co;
	int fd = -EAGAIN;

	if (!commit_ok(commit))
		return wf_err_set(err, -EINVAL, "not a commit id: '%s'", commit);
	co = calloc(1, sizeof(*co));
	if (!co)
		return wf_err_set(err, -ENOMEM, "out of memory");
	co->cc = cc;
	if (pathf(co->path, sizeof(co->path), "%s/%s", cc->dir, commit) < 0) {
		free(co);
		return wf_err_set(err, -ENAMETOOLONG, "cache directory path too long");
	}
	for (int i = 0; i < GET_ATTEMPTS && fd == -EAGAIN; i++)
		fd = get_once(cc, git_dir, co, commit, err);
	if (fd < 0) {
		free(co);
		return fd == -EAGAIN ? wf_err_set(err, -ESTALE,
						  "checkout '%s' keeps being removed by another "
						  "process",
						  commit)
				     : fd;
	}
	co->fd = fd;
	utimensat(AT_FDCWD, co->path, NULL, AT_SYMLINK_NOFOLLOW); /* LRU across restarts */
	*ret = co;
	return 0;
}

const char *checkout_path(const struct checkout *co)
{
	return co->path;
}

void checkout_put(struct checkout *co)
{
	struct checkout_cache *cc;
	struct entry *victims;

	if (!co)
		return;
	cc = co->cc;
	close(co->fd); /* our own shared lock would stop our own eviction */
	pthread_mutex_lock(&cc->lock);
	co->e->refs--;
	co->e->last_use = ++cc->tick;
	victims = evict_locked(cc);
	pthread_mutex_unlock(&cc->lock);
	evict_victims(cc, victims);
	free(co);
}

void checkout_cache_stats(struct checkout_cache *cc, struct checkout_stats *st)
{
	pthread_mutex_lock(&cc->lock);
	*st = cc->st;
	st->bytes = cc->bytes;
	st->max_bytes = cc->max;
	st->entries = 0;
	for (struct entry *e = cc->entries; e; e = e->next)
		st->entries++;
	pthread_mutex_unlock(&cc->lock);
}
