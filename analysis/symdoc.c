/* SPDX-License-Identifier: MIT */
/*
 * Doc comments and visibility from a symbol's text. The description is the
 * first sentence of the comment block that ends on the line right above the
 * symbol (decorators, annotations and attributes in between are skipped) or,
 * for Python, of the docstring that opens its body: the commonest place for
 * a summary in every language we scan (Javadoc/JSDoc/Doxygen blocks, `///`
 * and `//` runs in Rust and Go, `#` runs in scripts). Comment markers,
 * leading stars and docstring quotes and Doxygen's `\brief`/`@brief` are stripped; tag lines
 * (`@param`) are no summary. Lines are looked at one by one, backwards at
 * most SCAN_LINES, so the cost is bounded whatever the text.
 */
#include "symdoc.h"
#include "utf8.h"
#include "util.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#define SCAN_LINES 40

struct span {
	const char *b, *e;
};

static bool is(const char *lang, const char *a)
{
	return lang && !strcmp(lang, a);
}

static bool hash_comments(const char *lang)
{
	static const char *const l[] = {
		"Python", "Shell", "Ruby", "Perl", "R", "Julia", "Elixir"
	};

	for (size_t i = 0; i < ARRAY_SIZE(l); i++)
		if (is(lang, l[i]))
			return true;
	return false;
}

static bool dash_comments(const char *lang)
{
	return is(lang, "Lua") || is(lang, "Haskell");
}

static struct span trim(const char *b, const char *e)
{
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	return (struct span){ b, e };
}

static bool starts(struct span s, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(s.e - s.b) >= n && !memcmp(s.b, w, n);
}

static bool ends(struct span s, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(s.e - s.b) >= n && !memcmp(s.e - n, w, n);
}

/* The line before the one starting at @off, or false at the text's start. */
static bool prev_line(const char *text, size_t *off, struct span *line)
{
	size_t e, b;

	if (*off == 0)
		return false;
	e = *off - 1; /* the '\n' ending the previous line */
	b = e;
	while (b > 0 && text[b - 1] != '\n')
		b--;
	*off = b;
	*line = trim(text + b, text + e);
	return true;
}

/* A line comment of @lang: its text after the marker. */
static bool line_comment(const char *lang, struct span l, struct span *txt)
{
	const char *p = l.b;

	if (hash_comments(lang) && starts(l, "#") && !starts(l, "#!")) {
		while (p < l.e && *p == '#')
			p++;
	} else if (dash_comments(lang) && starts(l, "--")) {
		p += 2;
	} else if (!hash_comments(lang) && starts(l, "//")) {
		while (p < l.e && (*p == '/' || *p == '!'))
			p++;
	} else {
		return false;
	}
	*txt = trim(p, l.e);
	return true;
}

static bool decorator(const char *lang, struct span l)
{
	return (starts(l, "@") && !is(lang, "C")) || starts(l, "#[") ||
	       (is(lang, "C#") && starts(l, "["));
}

/* Strips comment furniture from one line of a block or a docstring. */
static struct span strip(struct span s)
{
	static const char *const lead[] = { "/**", "/*!", "/*", "*/", "\"\"\"", "'''", "*" };

	for (size_t i = 0; i < ARRAY_SIZE(lead); i++)
		if (starts(s, lead[i])) {
			s = trim(s.b + strlen(lead[i]), s.e);
			break;
		}
	if (ends(s, "*/") || ends(s, "\"\"\"") || ends(s, "'''"))
		s = trim(s.b, s.e - (ends(s, "*/") ? 2 : 3));
	if (starts(s, "\\brief") || starts(s, "@brief"))
		s = trim(s.b + 6, s.e);
	return s;
}

/* A usable summary line: some letters, not a tag, not a license or a rule. */
static bool summary(struct span s)
{
	size_t letters = 0;

	if (s.b >= s.e || *s.b == '@' || *s.b == '\\' || starts(s, "SPDX") ||
	    starts(s, "Copyright") || starts(s, "go:") || starts(s, "+build") || starts(s, "-*-") ||
	    starts(s, "eslint") || starts(s, "noqa") || starts(s, "TODO"))
		return false;
	for (const char *p = s.b; p < s.e; p++)
		letters += isalpha((unsigned char)*p) != 0;
	return letters >= 2;
}

/* The first sentence of @s, cleaned into @out. */
static size_t emit(struct span s, char *out)
{
	struct buf b;
	size_t n;

	for (const char *p = s.b; p + 1 < s.e; p++)
		if (*p == '.' && (p[1] == ' ' || p[1] == '\t')) {
			s.e = p + 1;
			break;
		}
	buf_init(&b, SYMDOC_MAX);
	if (utf8_sanitize(&b, s.b, MIN((size_t)(s.e - s.b), (size_t)SYMDOC_MAX * 2), " ",
			  SYMDOC_MAX) < 0 &&
	    utf8_sanitize(&b, s.b, (size_t)(s.e - s.b), " ", SYMDOC_MAX - 8) < 0) {
		buf_done(&b);
		return 0;
	}
	n = b.len;
	memcpy(out, buf_str(&b), n + 1);
	buf_done(&b);
	return n;
}

/* A block comment ending on @last (whose line starts at @off): its first summary line. */
static bool block_above(const char *text, size_t off, struct span last, struct span *got)
{
	struct span lines[SCAN_LINES];
	size_t n = 0;

	lines[n++] = last;
	while (!starts(lines[n - 1], "/*") && n < SCAN_LINES) {
		struct span l;

		if (!prev_line(text, &off, &l))
			return false;
		lines[n++] = l;
	}
	if (!starts(lines[n - 1], "/*"))
		return false;
	while (n-- > 0) {
		struct span s = strip(lines[n]);

		if (summary(s)) {
			*got = s;
			return true;
		}
		if (s.b < s.e && *s.b == '@')
			return false; /* tags only */
	}
	return false;
}

/* A run of line comments ending on @last: the first summary line of the run. */
static bool run_above(const char *lang, const char *text, size_t off, struct span last,
		      struct span *got)
{
	struct span l = last, t, first = { NULL, NULL };

	for (int k = 0; k < SCAN_LINES && line_comment(lang, l, &t); k++) {
		if (summary(t))
			first = t;
		if (!prev_line(text, &off, &l))
			break;
	}
	if (!first.b)
		return false;
	*got = first;
	return true;
}

static bool doc_above(const char *lang, const char *text, size_t off, struct span *got)
{
	struct span l;
	int k = 0;

	do {
		if (!prev_line(text, &off, &l))
			return false;
	} while (decorator(lang, l) && ++k < 8);
	if (ends(l, "*/") && !hash_comments(lang))
		return block_above(text, off, l, got);
	return run_above(lang, text, off, l, got);
}

/* Python: the docstring opening the body of the def or class at @off. */
static bool docstring_below(const char *text, size_t len, size_t off, struct span *got)
{
	const char *p = text + off, *end = text + len;
	bool body = false;

	for (int k = 0; k < SCAN_LINES && p < end; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		struct span l = trim(p, le), s;

		if (!body) {
			body = ends(l, ":") || memmem(l.b, (size_t)(l.e - l.b), "):", 2);
		} else if (l.b < l.e) {
			const char *q = l.b;

			while (q < l.e && strchr("rRuUbB", *q))
				q++;
			if (!starts((struct span){ q, l.e }, "\"\"\"") &&
			    !starts((struct span){ q, l.e }, "'''"))
				return false;
			s = strip((struct span){ q, l.e });
			if (s.b == s.e && nl) { /* """ alone: the text starts below */
				const char *n2 = memchr(nl + 1, '\n', (size_t)(end - nl - 1));

				s = strip(trim(nl + 1, n2 ? n2 : end));
			}
			if (!summary(s))
				return false;
			*got = s;
			return true;
		}
		p = nl ? nl + 1 : end;
	}
	return false;
}

size_t symdoc_describe(const char *lang, const char *text, size_t len, size_t line_off,
		       char out[SYMDOC_MAX + 1])
{
	struct span s;

	out[0] = '\0';
	if (line_off > len)
		return 0;
	if (is(lang, "Python") && docstring_below(text, len, line_off, &s))
		return emit(s, out);
	if (doc_above(lang, text, line_off, &s))
		return emit(s, out);
	return 0;
}

/* ---- visibility ---------------------------------------------------------------- */

static const char *last_part(const char *scope)
{
	const char *p = scope, *q;

	while ((q = strpbrk(p, ".:")))
		p = q + 1;
	return p;
}

static bool word_before(const struct symdoc_sym *s, const char *w)
{
	const char *e = s->line + s->line_len,
		   *n = memmem(s->line, s->line_len, s->name, strlen(s->name));
	const char *p = memmem(s->line, (size_t)((n ? n : e) - s->line), w, strlen(w));

	return p && (p == s->line || !isalnum((unsigned char)p[-1])) &&
	       !isalnum((unsigned char)p[strlen(w)]) && p[strlen(w)] != '_';
}

bool symdoc_public(const struct symdoc_sym *s)
{
	const char *lang = s->lang;
	struct span l = trim(s->line, s->line + s->line_len);

	if (is(lang, "C") || is(lang, "C++") || is(lang, "Objective-C"))
		return !s->file_scope && !starts(l, "static") &&
		       !(s->access && strcmp(s->access, "public"));
	if (is(lang, "Go"))
		return isupper((unsigned char)s->name[0]) &&
		       (!s->scope || isupper((unsigned char)last_part(s->scope)[0]));
	if (is(lang, "Rust"))
		return word_before(s, "pub");
	if (is(lang, "Java") || is(lang, "C#") || is(lang, "PHP"))
		return s->access ? !strcmp(s->access, "public") : word_before(s, "public");
	if (is(lang, "Kotlin"))
		return !s->access || !strcmp(s->access, "public");
	if (is(lang, "JavaScript") || is(lang, "TypeScript"))
		return starts(l, "export") ||
		       (s->scope &&
			(!strcmp(s->scope, "exports") || !strncmp(s->scope, "module.exports", 14) ||
			 (s->js_exports && !strcmp(s->scope, s->js_exports))));
	/* Python, Ruby and the rest: a leading underscore is private, dunders are not */
	if (s->name[0] == '_' && !(s->name[1] == '_' && strstr(s->name + 2, "__")))
		return false;
	return !s->scope || last_part(s->scope)[0] != '_';
}

bool symdoc_js_exports(const char *text, size_t len, char *out, size_t cap)
{
	const char *p = text, *end = text + len;

	while ((p = memmem(p, (size_t)(end - p), "module.exports", 14))) {
		const char *b = p, *q = p + 14;
		size_t n = 0;

		/* "module.exports = name" */
		while (q < end && (*q == ' ' || *q == '='))
			q++;
		while (q + n < end && (isalnum((unsigned char)q[n]) || q[n] == '_' || q[n] == '$'))
			n++;
		if (n && n < cap && q + n < end && (q[n] == ';' || q[n] == '\n')) {
			memcpy(out, q, n);
			out[n] = '\0';
			return true;
		}
		/* "var name = exports = module.exports" */
		while (b > text && b[-1] != '\n')
			b--;
		for (q = b; q < p && !isalpha((unsigned char)*q); q++)
			;
		if (!strncmp(q, "var ", 4) || !strncmp(q, "let ", 4) || !strncmp(q, "const ", 6)) {
			q = strchr(q, ' ') + 1;
			for (n = 0; q + n < p && (isalnum((unsigned char)q[n]) || q[n] == '_'); n++)
				;
			if (n && n < cap) {
				memcpy(out, q, n);
				out[n] = '\0';
				return true;
			}
		}
		p += 14;
	}
	return false;
}
