/* SPDX-License-Identifier: MIT */
/*
 * Page meta files; see page_meta.h. Text, so an operator can read one with
 * cat; a malformed file reads as absent.
 */
#include "page_meta.h"
#include "buf.h"
#include "fsutil.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define META_MAGIC "wikifs-meta 1"

static int meta_path(char *out, size_t n, const char *cache_dir, const struct page_key *k,
		     bool dir_only)
{
	return dir_only ? pathf(out, n, "%s/page-meta/%.2s", cache_dir, k->hex)
			: pathf(out, n, "%s/page-meta/%.2s/%s", cache_dir, k->hex, k->hex);
}

int page_meta_store(const char *cache_dir, const struct page_key *k, const struct page_meta *m)
{
	char dir[4096], path[4096];
	struct buf b;
	int r;

	r = meta_path(dir, sizeof(dir), cache_dir, k, true);
	r = r ?: meta_path(path, sizeof(path), cache_dir, k, false);
	r = r ?: mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	buf_init(&b, PAGE_META_MAX_BYTES);
	r = buf_printf(&b, META_MAGIC "\n");
	if (m->has_citations)
		r = r ?: buf_printf(&b, "citations %u %u\n", m->verified, m->unresolved);
	for (const char *s = m->sources; s && *s && r == 0;) {
		size_t len = strcspn(s, "\n");

		if (len)
			r = buf_printf(&b, "source %.*s\n", (int)len, s);
		s += len + (s[len] ? 1 : 0);
	}
	r = r ?: write_atomic(path, NULL, 0, b.data, b.len, 0600);
	buf_done(&b);
	return r;
}

int page_meta_load(const char *cache_dir, const struct page_key *k, struct page_meta *m)
{
	_cleanup_free_ char *text = NULL;
	char path[4096], *line, *save = NULL;
	struct buf src;
	int r;

	memset(m, 0, sizeof(*m));
	r = meta_path(path, sizeof(path), cache_dir, k, false);
	r = r ?: read_file(path, PAGE_META_MAX_BYTES, &text, NULL);
	if (r < 0)
		return r;
	line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, META_MAGIC))
		return -ENOENT;
	buf_init(&src, PAGE_META_MAX_BYTES);
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, "citations %u %u", &m->verified, &m->unresolved) == 2)
			m->has_citations = true;
		else if (!strncmp(line, "source ", 7))
			buf_printf(&src, "%s\n", line + 7);
	}
	m->sources = src.len ? buf_steal(&src, NULL) : NULL;
	buf_done(&src);
	return 0;
}

void page_meta_done(struct page_meta *m)
{
	free(m->sources);
	m->sources = NULL;
}

void page_meta_sweep(const char *cache_dir)
{
	char dir[4096];

	for (unsigned i = 0; i < 256; i++)
		if (pathf(dir, sizeof(dir), "%s/page-meta/%02x", cache_dir, i) == 0)
			remove_stale_temps(dir, NULL); /* only temps no live process holds */
}
