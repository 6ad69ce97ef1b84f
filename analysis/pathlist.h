/* SPDX-License-Identifier: MIT */
/*
 * Lookups in a sorted list of repository paths (sorted by strcmp, as git
 * trees and repository facts keep them), where a directory is a contiguous
 * range: "a/b" has its files between "a/b/" and "a/b0" ('0' follows '/').
 * The list is borrowed and only read: thread-safe, no allocation.
 */
#ifndef WIKIFS_PATHLIST_H
#define WIKIFS_PATHLIST_H

#include <stddef.h>

/* Index of @path in @paths[0..n), or -1. */
long pathlist_find(const char *const *paths, size_t n, const char *path);
/*
 * The paths below directory @dir ("" = all) form the range
 * [*first, *first + count); returns count (0 if @dir holds nothing).
 */
size_t pathlist_dir_range(const char *const *paths, size_t n, const char *dir, size_t *first);

#endif
