/* SPDX-License-Identifier: MIT */
/*
 * Binary searches over a sorted path list. A directory's range is found
 * with two lower bounds, of "dir/" and of "dir0", compared in place so
 * that no key is built.
 */
#include "pathlist.h"

#include <stdbool.h>
#include <string.h>

long pathlist_find(const char *const *paths, size_t n, const char *path)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(paths[mid], path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* true if @p sorts before the key @dir (@dl bytes) followed by @last. */
static bool before_key(const char *p, const char *dir, size_t dl, char last)
{
	int c = strncmp(p, dir, dl);

	return c < 0 || (c == 0 && (unsigned char)p[dl] < (unsigned char)last);
}

/* First path that does not sort before "@dir@last". */
static size_t lower_bound(const char *const *paths, size_t n, const char *dir, size_t dl, char last)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (before_key(paths[mid], dir, dl, last))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t pathlist_dir_range(const char *const *paths, size_t n, const char *dir, size_t *first)
{
	size_t dl = strlen(dir), lo, hi;

	if (dl == 0) {
		*first = 0;
		return n;
	}
	lo = lower_bound(paths, n, dir, dl, '/');
	hi = lower_bound(paths, n, dir, dl, '/' + 1); /* '0': just past every "dir/..." */
	*first = lo;
	return hi - lo;
}
