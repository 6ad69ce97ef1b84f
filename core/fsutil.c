/* SPDX-License-Identifier: MIT */
/*
 * File-system helpers. write_atomic() is the one place that knows the
 * temp-file, fsync, rename, fsync-directory dance (after git's lockfile.c);
 * the page cache, the plan cache and the clone cache all commit through it or
 * through the same rename-on-success rule.
 */
#include "fsutil.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <string.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>

int pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -1;

	if (!copy)
		return -ENOMEM;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0)
		return -errno;
	return 0;
}

/*
 * Makes "PREFIX.tmp.XXXXXX" (@tmpl, its X's at @x) with @make and holds an
 * exclusive flock on it. A sweep by another process may unlink the new name
 * before the lock is ours: then st_nlink is 0 and a new name is tried.
 */
static int make_locked(char *tmpl, size_t x, int (*make)(char *tmpl))
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd, r;

		memcpy(tmpl + x, "XXXXXX", 6);
		fd = make(tmpl);
		if (fd < 0)
			return fd;
		r = flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0 ? -errno : 0;
		if (r == 0 && st.st_nlink > 0)
			return fd;
		close(fd);
		if (r < 0)
			return r;
	}
	return -EAGAIN;
}

static int make_file(char *tmpl)
{
	int fd = mkostemp(tmpl, O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int make_dir(char *tmpl)
{
	int fd;

	if (!mkdtemp(tmpl))
		return -errno;
	fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		rmdir(tmpl);
		return r;
	}
	return fd;
}

int mkdtemp_locked(char *tmpl, int *lock_fd)
{
	size_t n = strlen(tmpl);
	int fd;

	if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX"))
		return -EINVAL;
	fd = make_locked(tmpl, n - 6, make_dir);
	if (fd < 0)
		return fd;
	*lock_fd = fd;
	return 0;
}

int write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int write_atomic_hold(const char *path, const void *hdr, size_t hdr_len, const void *data,
		      size_t len, mode_t mode, int *ret_fd)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = make_locked(tmp, strlen(tmp) - 6, make_file);
	if (fd < 0)
		return fd;
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0 && hdr_len)
		r = write_all(fd, hdr, hdr_len);
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	/* renamed still locked: a sweep never sees the temp name unlocked */
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	r = fsync_parent(path);
	if (r < 0)
		return r;
	if (ret_fd) {
		/* not atomic (flock(2)): for a moment the new file is unlocked */
		if (flock(fd, LOCK_SH) < 0)
			return -errno;
		*ret_fd = TAKE_FD(fd);
	}
	return 0;
}

int write_atomic(const char *path, const void *hdr, size_t hdr_len, const void *data, size_t len,
		 mode_t mode)
{
	return write_atomic_hold(path, hdr, hdr_len, data, len, mode, NULL);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *p = NULL;
	struct stat st;
	size_t n = 0, cap;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	/* st_size is a hint only: /proc and direct_io files report 0 */
	cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *np;

			if (cap - 1 >= max + 1)
				return -EFBIG;
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			np = realloc(p, cap);
			if (!np)
				return -ENOMEM;
			p = np;
		}
		r = read(fd, p + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return -EFBIG;
	}
	p[n] = '\0';
	*ret = TAKE_PTR(p);
	if (ret_len)
		*ret_len = n;
	return 0;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* a read-only directory of ours (a checkout): open it to removal first */
	if ((st.st_mode & S_IRWXU) != S_IRWXU && st.st_uid == geteuid())
		fchmod(fd, (st.st_mode & 07777) | S_IRWXU);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int q = rm_rf_at(dirfd(d), de->d_name);

		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int remove_stale_temps(const char *dir, size_t *removed)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int fd;

		if (!strstr(de->d_name, ".tmp."))
			continue;
		/* O_NONBLOCK: a fifo planted under that name must not hang us */
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* locked: another process is writing it */
			continue;
		}
		/* ours to remove (a symlink, fd < 0, has nothing to lock) */
		if (rm_rf_at(dirfd(d), de->d_name) == 0)
			n++;
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	if (removed)
		*removed += n;
	return 0;
}

/* One directory above the private one: only root or we may change it. */
static int check_parent(const char *dir, const char *below, uid_t me, struct wf_err *err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return wf_err_set(err, -errno, "cannot check '%s' (above '%s'): %s", dir, below,
				  strerror(errno));
	if (st.st_uid != 0 && st.st_uid != me)
		return wf_err_set(err, -EPERM,
				  "'%s' (above '%s') is owned by uid %u, who could replace what "
				  "is below it: use a directory elsewhere",
				  dir, below, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return wf_err_set(err, -EPERM,
				  "'%s' (above '%s') is writable by group or others without the "
				  "sticky bit (mode %04o): run 'chmod go-w %s' or use a directory "
				  "elsewhere",
				  dir, below, (unsigned)(st.st_mode & 07777), dir);
	return 0;
}

/* Every directory above @path (absolute), nearest first. */
static int check_parents(const char *path, const char *below, uid_t me, struct wf_err *err)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;
	int r = 0;

	if (!p)
		return -ENOMEM;
	while (r == 0 && (slash = strrchr(p, '/'))) {
		if (slash == p) {
			r = p[1] ? check_parent("/", below, me, err) : 0;
			break;
		}
		*slash = '\0';
		r = check_parent(p, below, me, err);
	}
	return r;
}

int mkdir_private(const char *path, struct wf_err *err)
{
	_cleanup_free_ char *real = NULL;
	uid_t me = geteuid();
	struct stat st;
	int r = mkdir_p(path, 0700);

	if (r < 0)
		return wf_err_set(err, r, "cannot create '%s': %s", path, strerror(-r));
	if (stat(path, &st) < 0)
		return wf_err_set(err, -errno, "cannot check '%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return wf_err_set(err, -ENOTDIR, "'%s' is not a directory", path);
	if (st.st_uid != me)
		return wf_err_set(err, -EPERM,
				  "'%s' is owned by uid %u, not by you (uid %u), so it could hold "
				  "what you did not write: run 'chown %u %s' or use a directory "
				  "of your own",
				  path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return wf_err_set(err, -EPERM,
				  "'%s' is writable by group or others (mode %04o), so others "
				  "could plant files in it: run 'chmod 700 %s'",
				  path, (unsigned)(st.st_mode & 07777), path);
	/* the path as written (a symlink on it can be swapped) and where it leads */
	r = path[0] == '/' ? check_parents(path, path, me, err) : 0;
	real = realpath(path, NULL);
	if (r == 0 && !real)
		r = wf_err_set(err, -errno, "cannot resolve '%s': %s", path, strerror(errno));
	if (r == 0 && strcmp(real, path))
		r = check_parents(real, path, me, err);
	return r;
}

int dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

char *path_expand_home(const char *path)
{
	const char *home = getenv("HOME");
	size_t n;
	char *r;

	if (strncmp(path, "~/", 2) != 0 && strcmp(path, "~") != 0)
		return strdup(path);
	if (!home)
		home = "";
	/* drop trailing slashes so that HOME=/ or HOME=/u/ never yields "//x" */
	n = strlen(home);
	while (n > 0 && home[n - 1] == '/')
		n--;
	if (n == 0 && !path[1])
		return strdup("/");
	if (asprintf(&r, "%.*s%s", (int)n, home, path + 1) < 0)
		return NULL;
	return r;
}

int path_is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0)
		return 0;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

int fd_headroom(unsigned n)
{
	int fds[16], k = 0, r = 0;

	n = MIN(n, (unsigned)ARRAY_SIZE(fds));
	while ((unsigned)k < n) {
		fds[k] =
		    k ? fcntl(fds[0], F_DUPFD_CLOEXEC, 0) : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[k] < 0) {
			r = errno == EMFILE || errno == ENFILE ? -errno : 0;
			break;
		}
		k++;
	}
	while (k > 0)
		close(fds[--k]);
	return r;
}
