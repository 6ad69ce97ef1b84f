/* SPDX-License-Identifier: MIT */
/*
 * Citations in a generated page, checked against the commit's tree. A
 * citation is `path:line` or `path:start-end` in the text, or a link of
 * the form .../blob/COMMIT/path#Lstart[-Lend]; it is verified when path is
 * a file of the tree and its lines exist (1 <= start <= end <= the file's
 * line count), unresolved otherwise. Each distinct (path, start, end) is
 * counted once. A path is a run of letters, digits and "._-/+@" holding a
 * '.' or a '/', not part of a URL ("http://host:80" cites nothing).
 *
 * Nothing is rejected for its citations: the counts are shown
 * (user.wikifs.citations, progress.json). Bounded: at most CITATIONS_MAX
 * citations are checked and CITATIONS_FILE_MAX bytes read per file, past
 * which lines are taken to exist.
 *
 * Thread-safe (facts readers are per call).
 */
#ifndef WIKIFS_CITATIONS_H
#define WIKIFS_CITATIONS_H

#include <stddef.h>

#include "facts.h"

#define CITATIONS_MAX	   500
#define CITATIONS_FILE_MAX (8u << 20)

struct citation_counts {
	unsigned verified, unresolved;
};

/* Counts the citations of @text (@len bytes). 0 or -ENOMEM. */
int citations_check(const char *text, size_t len, const struct repo_facts *f,
		    struct citation_counts *out);

#endif
