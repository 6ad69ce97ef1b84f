/* SPDX-License-Identifier: MIT */
/*
 * A repository's README on the Home page: its leading section rewritten as
 * Markdown that renders like the original yet cannot break the page, and
 * its first usage code block as a "Quick start".
 *
 * Pure functions over plain text: no I/O, no state. Thread-safe.
 */
#ifndef WIKIFS_README_H
#define WIKIFS_README_H

#include "md.h"

#include <stdbool.h>

struct readme_opts {
	const char *path;   /* the README's repository path ("README.md", "doc/README") */
	const char *base;   /* forge web URL (no trailing '/'), or "" / NULL for none */
	const char *commit; /* hex commit relative links are pinned to */
};

/*
 * Appends the README's leading section: its title left out, links,
 * emphasis, lists, tables and code kept; relative links and images pinned
 * to the commit on the forge (plain text with the repository path
 * elsewhere); HTML comments, HTML tags, badges, link definitions and
 * in-page table-of-contents entries dropped; headings demoted below "##".
 * A README that is not Markdown (by its name) is quoted as a text block.
 * The section ends at a block boundary, never inside a paragraph; the
 * usage block readme_quick_start() shows is left out here. Returns true if
 * anything was written.
 */
bool readme_render(struct md *m, const char *text, const struct readme_opts *o);

/*
 * Appends the README's first usage code block (a shell/console fence, or
 * the first fence under an install/usage/quick start heading) as a fenced
 * block, preceded by nothing. Returns false, writing nothing, if there is
 * none.
 */
bool readme_quick_start(struct md *m, const char *text, const struct readme_opts *o);

#endif
