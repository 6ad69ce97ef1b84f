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
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>

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

int write_atomic(const char *path, const void *hdr, size_t hdr_len, const void *data, size_t len,
		 mode_t mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0 && hdr_len)
		r = write_all(fd, hdr, hdr_len);
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
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
		if (!strstr(de->d_name, ".tmp."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name) == 0)
			n++;
	}
	closedir(d);
	if (removed)
		*removed += n;
	return 0;
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
