/* SPDX-License-Identifier: MIT */
/*
 * Citation checking; see citations.h. One pass over the text finds
 * candidates at every ':' followed by a digit (the path is the run of path
 * characters before it) and at every "/blob/"; distinct ones are kept in a
 * small array, then each file is read once (a facts reader, one repository
 * handle for the whole page) to count its lines.
 */
#include "citations.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cite {
	char *path;
	unsigned long start, end;
};

struct cites {
	struct cite c[CITATIONS_MAX];
	size_t n;
};

static bool path_char(char c)
{
	return isalnum((unsigned char)c) || strchr("._-/+@", c);
}

static int add(struct cites *cs, const char *path, size_t len, unsigned long start,
	       unsigned long end)
{
	bool letter = false;

	for (size_t i = 0; i < len && !letter; i++)
		letter = isalpha((unsigned char)path[i]);
	/* "127.0.0.1:80" and "10:30" are not files */
	if (len == 0 || len > 1024 || cs->n >= CITATIONS_MAX || path[0] == '/' || !letter ||
	    (!memchr(path, '.', len) && !memchr(path, '/', len)))
		return 0;
	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].start == start && cs->c[i].end == end &&
		    strlen(cs->c[i].path) == len && !memcmp(cs->c[i].path, path, len))
			return 0;
	cs->c[cs->n].path = strndup(path, len);
	if (!cs->c[cs->n].path)
		return -ENOMEM;
	cs->c[cs->n].start = start;
	cs->c[cs->n].end = end;
	cs->n++;
	return 0;
}

/* "path:12" or "path:12-30" ending at @colon; 0 when it is not one. */
static int at_colon(struct cites *cs, const char *text, const char *colon, const char *end)
{
	const char *p = colon, *q;
	unsigned long a, b;
	char *e;

	while (p > text && path_char(p[-1]))
		p--;
	/* part of a URL or of a longer token: "http://h:80", "a:b.c:1" */
	if (p > text && (p[-1] == ':' || p[-1] == '#' || p[-1] == '='))
		return 0;
	if (colon - p >= 2 && p[0] == '/' && p[1] == '/')
		return 0;
	a = strtoul(colon + 1, &e, 10);
	b = a;
	if (e < end && *e == '-' && e + 1 < end && isdigit((unsigned char)e[1])) {
		q = e + 1;
		b = strtoul(q, &e, 10);
	}
	if (e < end && (isalnum((unsigned char)*e) || *e == ':' || *e == '.'))
		if (!(*e == '.' && (e + 1 >= end || !isalnum((unsigned char)e[1]))))
			return 0; /* "1.2.3:4.5", "a:12b": not a line */
	return add(cs, p, (size_t)(colon - p), a, b);
}

/* ".../blob/COMMIT/path#L12-L30" starting at @blob ("/blob/"). */
static int at_blob(struct cites *cs, const char *blob, const char *end)
{
	const char *s = blob + 6, *path, *hash;
	unsigned long a, b;
	char *e;

	while (s < end && isxdigit((unsigned char)*s))
		s++;
	if (s - (blob + 6) < 7 || s >= end || *s != '/')
		return 0;
	path = ++s;
	while (s < end && path_char(*s))
		s++;
	hash = s;
	if (hash + 2 >= end || hash[0] != '#' || hash[1] != 'L' || !isdigit((unsigned char)hash[2]))
		return 0;
	a = strtoul(hash + 2, &e, 10);
	b = a;
	if (e + 2 < end && e[0] == '-' && e[1] == 'L' && isdigit((unsigned char)e[2]))
		b = strtoul(e + 2, &e, 10);
	return add(cs, path, (size_t)(hash - path), a, b);
}

static unsigned long count_lines(const struct buf *b)
{
	unsigned long n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	if (b->len && b->data[b->len - 1] != '\n')
		n++;
	return n;
}

/* Whether each citation holds, reading each file once. */
static void verify(struct cites *cs, const struct repo_facts *f, struct citation_counts *out)
{
	struct facts_reader *rd = NULL;
	bool *done = calloc(cs->n ? cs->n : 1, sizeof(*done));
	struct buf b;

	if (!done || facts_reader_new(&rd, f) < 0)
		rd = NULL;
	buf_init(&b, CITATIONS_FILE_MAX);
	for (size_t i = 0; i < cs->n; i++) {
		unsigned long lines;
		bool full;

		if (done && done[i])
			continue;
		buf_reset(&b);
		if (!rd || facts_reader_read(rd, cs->c[i].path, CITATIONS_FILE_MAX, &b) < 0) {
			lines = 0; /* no such file */
			full = true;
		} else {
			lines = count_lines(&b);
			full = b.len < CITATIONS_FILE_MAX;
		}
		for (size_t j = i; j < cs->n; j++) {
			const struct cite *c = &cs->c[j];
			bool ok;

			if (strcmp(c->path, cs->c[i].path) || (done && done[j]))
				continue;
			if (done)
				done[j] = true;
			ok = (lines > 0 || !full) && c->start >= 1 && c->start <= c->end &&
			     (c->end <= lines || !full);
			if (ok)
				out->verified++;
			else
				out->unresolved++;
			if (!done)
				break;
		}
	}
	buf_done(&b);
	facts_reader_free(rd);
	free(done);
}

int citations_check(const char *text, size_t len, const struct repo_facts *f,
		    struct citation_counts *out)
{
	struct cites *cs = calloc(1, sizeof(*cs));
	const char *end = text + len;
	int r = 0;

	out->verified = out->unresolved = 0;
	if (!cs)
		return -ENOMEM;
	for (const char *s = text; s < end && r == 0; s++) {
		if (*s == ':' && s + 1 < end && isdigit((unsigned char)s[1]) && s > text &&
		    path_char(s[-1]))
			r = at_colon(cs, text, s, end);
		else if (*s == '/' && end - s > 6 && !memcmp(s, "/blob/", 6))
			r = at_blob(cs, s, end);
	}
	if (r == 0)
		verify(cs, f, out);
	for (size_t i = 0; i < cs->n; i++)
		free(cs->c[i].path);
	free(cs);
	return r;
}
