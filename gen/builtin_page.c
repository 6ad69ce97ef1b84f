/* SPDX-License-Identifier: MIT */
/*
 * What every builtin page shares: the header and footer, links to other
 * pages and to source lines, the module owning a path and the main
 * language of a set of files.
 */
#include "builtin_int.h"

#include <errno.h>
#include <string.h>

void builtin_link_page(struct md *m, const struct plan_page *pg)
{
	md_puts(m, "[");
	md_text(m, pg->title);
	md_puts(m, "](");
	md_url(m, pg->slug);
	md_puts(m, ".md)");
}

/* "[path:line](URL)" on a forge, "`path:line`" elsewhere. */
void builtin_src_link(struct md *m, const struct builtin_ctx *c, const char *path, unsigned line)
{
	char ln[16];

	snprintf(ln, sizeof(ln), ":%u", line);
	if (c->base[0]) {
		md_puts(m, "[");
		md_text(m, path);
		md_puts(m, ln);
		md_printf(m, "](%s/blob/%s/", c->base, c->f ? facts_commit_id(c->f) : "");
		md_url(m, path);
		md_printf(m, "#L%u)", line);
	} else {
		_cleanup_free_ char *s = NULL;

		if (asprintf(&s, "%s%s", path, ln) < 0) {
			m->err = -ENOMEM;
			return;
		}
		md_code(m, s, 0);
	}
}

void builtin_commit_ref(struct md *m, const struct builtin_ctx *c, const char *id, int flags)
{
	if (c->base[0])
		md_printf(m, "[`%.12s`](%s/commit/%s)", id, c->base, id);
	else
		md_printf(m, "`%.12s`", id);
	(void)flags;
}

void builtin_header(struct md *m, const struct builtin_ctx *c, const char *title)
{
	md_puts(m, "# ");
	md_text(m, title);
	md_puts(m, "\n\n*Repository ");
	md_code(m, c->req->repo_name ? c->req->repo_name : "", 0);
	md_printf(m, " at commit `%s`", facts_commit_id(c->f));
	md_puts(m, c->base[0] ? "" : " (source locations below are at this commit)");
	md_puts(m, "; generated offline by wikifs from the repository alone.*\n\n");
}

void builtin_footer(struct md *m, const struct builtin_ctx *c)
{
	const struct plan *p = c->req->plan;
	bool first = true;

	md_puts(m, "\n---\n\nPages: ");
	for (size_t i = 0; i < p->n; i++) {
		if (p->pages[i].kind == PAGE_SIDEBAR)
			continue;
		md_puts(m, first ? "" : " · ");
		builtin_link_page(m, &p->pages[i]);
		first = false;
	}
	md_puts(m, "\n");
}

/* Module owning @path: the longest module prefix; "." owns top-level files. */
int builtin_module_of(const struct builtin_ctx *c, const char *path)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < c->nmods; i++) {
		const char *a = c->mods[i]->arg;
		size_t al = strlen(a);

		if (!strcmp(a, ".")) {
			if (!strchr(path, '/') && best < 0)
				best = (int)i;
			continue;
		}
		if (al > best_len && !strncmp(path, a, al) && (path[al] == '/' || !path[al])) {
			best = (int)i;
			best_len = al;
		}
	}
	return best;
}

/*
 * The main language of files [first, first + n) (of module @mod when
 * @only_mod is given), by bytes, then name; NULL if none. Language names are
 * facts' static strings, so a few distinct pointers are all there is.
 */
const char *builtin_main_lang(const struct builtin_ctx *c, size_t first, size_t n,
			      const int *only_mod, int mod)
{
	struct {
		const char *lang;
		uint64_t bytes;
	} l[64];
	size_t nl = 0, best = 0;

	for (size_t i = first; i < first + n; i++) {
		const char *lang = c->files[i].lang;
		size_t k;

		if (!lang || c->files[i].binary || (only_mod && only_mod[i] != mod))
			continue;
		for (k = 0; k < nl && l[k].lang != lang; k++)
			;
		if (k == nl) {
			if (nl == ARRAY_SIZE(l))
				continue;
			l[nl].lang = lang;
			l[nl++].bytes = 0;
		}
		l[k].bytes += c->files[i].size;
	}
	if (nl == 0)
		return NULL;
	for (size_t k = 1; k < nl; k++)
		if (l[k].bytes > l[best].bytes ||
		    (l[k].bytes == l[best].bytes && strcmp(l[k].lang, l[best].lang) < 0))
			best = k;
	return l[best].lang;
}
