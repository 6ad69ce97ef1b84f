/* SPDX-License-Identifier: MIT */
/*
 * Passwords in URLs, found by one scanner (find_password()) and either
 * masked or cut out in place. The scan works on free text as well as on a
 * lone URL, so a message that quotes a URL anywhere is handled the same way.
 */
#include "url.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that end an authority in a URL or in the text around it. */
#define AUTHORITY_STOP "/\\ \t\r\n'\"<>`"

#define MASK "***"

/*
 * Finds the next password at or after @from: [*start, *end) lies between
 * the ':' of the userinfo and its '@'. Returns false when there is none.
 */
static bool find_password(const char *from, const char **start, const char **end)
{
	const char *p = from;

	while ((p = strstr(p, "://"))) {
		const char *h = p + 3, *stop = h + strcspn(h, AUTHORITY_STOP), *at = NULL, *colon;

		for (const char *q = h; q < stop; q++)
			if (*q == '@')
				at = q;
		p = h;
		if (!at)
			continue;
		colon = memchr(h, ':', (size_t)(at - h));
		if (!colon)
			continue;
		*start = colon + 1;
		*end = at;
		return true;
	}
	return false;
}

/*
 * Replaces [start, end) of the text @s (buffer of @size) by @with; cuts the
 * tail if it no longer fits, or the text at @start if not even @with does.
 * Returns where scanning goes on.
 */
static char *replace_span(char *s, size_t size, char *start, char *end, const char *with)
{
	size_t head = (size_t)(start - s), wl = strlen(with), tail = strlen(end) + 1;

	if (head + wl + 1 > size) {
		*start = '\0';
		return start;
	}
	if (head + wl + tail > size)
		tail = size - head - wl;
	memmove(start + wl, end, tail);
	memcpy(start, with, wl);
	s[size - 1] = '\0';
	return start + wl;
}

void url_redact_text(char *s, size_t size)
{
	const char *start, *end;
	char *from = s;

	if (!s || size == 0)
		return;
	while (find_password(from, &start, &end)) {
		char *a = s + (start - s), *b = s + (end - s);

		if (b - a == (ptrdiff_t)strlen(MASK) && !memcmp(a, MASK, strlen(MASK)))
			from = b; /* already masked */
		else
			from = replace_span(s, size, a, b, MASK);
	}
}

void url_redact(const char *url, char *out, size_t n)
{
	if (n == 0)
		return;
	snprintf(out, n, "%s", url ? url : "");
	url_redact_text(out, n);
}

int url_strip_password(const char *url, char *out, size_t n)
{
	const char *start, *end;
	char *from = out;
	int len = snprintf(out, n, "%s", url);

	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	while (find_password(from, &start, &end))
		from = replace_span(out, n, out + (start - out) - 1, out + (end - out), "");
	return 0;
}

bool url_has_password(const char *url)
{
	const char *start, *end;

	return url && find_password(url, &start, &end);
}

bool url_supported(const char *url)
{
	static const char *const schemes[] = { "file://", "git://",	"http://",   "https://",
					       "ssh://",  "git+ssh://", "ssh+git://" };
	const char *colon;

	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
		if (!strncmp(url, schemes[i], strlen(schemes[i])))
			return url[strlen(schemes[i])] != '\0';
	if (strstr(url, "://"))
		return false;
	/* scp-like "user@host:path" or "host:path" (a colon before any slash) */
	colon = strchr(url, ':');
	if (colon && (!strchr(url, '/') || colon < strchr(url, '/')))
		return colon > url && colon[1] != '\0';
	return true; /* a local path */
}

bool url_local_relative(const char *url)
{
	const char *colon = strchr(url, ':');

	if (url[0] == '/' || strstr(url, "://"))
		return false;
	return !(colon && (!strchr(url, '/') || colon < strchr(url, '/')));
}

/*
 * A relative local path resolves against the config file's directory. A
 * leading "./" is dropped and "." alone is the directory itself, so "url = ."
 * names the same clone as the directory's absolute path.
 */
char *url_absolute(const char *base_dir, const char *rel)
{
	char *r;

	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		while (*rel == '/')
			rel++;
	}
	if (!*rel || !strcmp(rel, "."))
		return strdup(base_dir);
	if (asprintf(&r, "%s/%s", base_dir, rel) < 0)
		return NULL;
	return r;
}
