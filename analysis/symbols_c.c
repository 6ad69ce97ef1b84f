/* SPDX-License-Identifier: MIT */
/*
 * The C family's scanner (C, C++, Objective-C) and Java's, which shares its
 * line cleaning and brace tracking. Each line is first copied without
 * comments and string contents (c_clean()), so braces and parentheses
 * inside them do not count. The state kept between lines is the brace
 * depth, minus the braces of namespaces (which do not nest declarations),
 * whether a block comment or a preprocessor continuation is open, and a
 * function name waiting for its '{'. Top-level declarations start in column
 * 0; Java types may be nested once, and their methods are named after the
 * top-level class.
 */
#include "symbols_int.h"

static const char *const c_keywords[] = {
	"if",
	"for",
	"while",
	"switch",
	"return",
	"sizeof",
	"do",
	"else",
	"case",
	"defined",
	"typeof",
	"__attribute__",
	"alignof",
	"_Static_assert",
	"static_assert",
	"__typeof__",
	"decltype",
	"catch",
	"new",
	"delete",
	"throw",
};

static bool c_keyword(const char *p, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(c_keywords); i++)
		if (strlen(c_keywords[i]) == n && !memcmp(p, c_keywords[i], n))
			return true;
	return false;
}

/* Copies @p..@end into @out without comments and string contents. */
static size_t c_clean(struct cstate *cs, const char *p, const char *end, char *out)
{
	size_t o = 0;
	char q = 0;

	while (p < end) {
		if (cs->comment) {
			if (p + 1 < end && p[0] == '*' && p[1] == '/') {
				cs->comment = false;
				p += 2;
				out[o++] = ' ';
			} else {
				p++;
			}
			continue;
		}
		if (q) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == q) {
				q = 0;
				out[o++] = *p;
			}
			p++;
			continue;
		}
		if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			cs->comment = true;
			p += 2;
			continue;
		}
		if (p + 1 < end && p[0] == '/' && p[1] == '/')
			break;
		if (*p == '"' || *p == '\'')
			q = *p;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return o;
}

/* A preprocessor line (or its continuation): #include "x" and top-level #define. */
static void c_preproc(struct scan *s, unsigned ln, const char *raw, const char *rend, const char *p,
		      const char *end, int eff)
{
	struct cstate *cs = &s->cs;
	const char *t, *q;
	size_t n;

	cs->pp_cont = rend > raw && rend[-1] == '\\';
	if (cs->pp_cont && p < end && *p != '#')
		return;
	if (p == end)
		return; /* an empty continuation: nothing after a '#' to read */
	p = skip_ws(p + 1, end);
	if ((t = word(p, end, "include")) && quoted(skip_ws(raw, rend), rend, &q, &n) && q > raw &&
	    q[-1] == '"')
		emit_import(s, ln, IMPORT_C_INCLUDE, q, n);
	else if ((t = word(p, end, "define")) && eff == 0)
		emit_sym(s, ln, "macro", t, ident_len(t, end));
}

/* Java "package" and "import" lines; true if the line was one. */
static bool java_package_or_import(struct scan *s, unsigned ln, const char *p, const char *end)
{
	const char *t;
	size_t n;

	if (word(p, end, "package"))
		return true;
	if (!(t = word(p, end, "import")))
		return false;
	{
		const char *st = word(t, end, "static");

		if (st)
			t = st;
	}
	for (n = 0; t + n < end && t[n] != ';' && t[n] != ' '; n++)
		;
	emit_import(s, ln, IMPORT_JAVA, t, n);
	return true;
}

/* Past the modifiers and annotations that may open a Java declaration. */
static const char *java_skip_modifiers(const char *w, const char *end)
{
	static const char *const mods[] = { "public", "private",  "protected", "static",
					    "final",  "abstract", "sealed",    "synchronized",
					    "native", "default",  "strictfp",  "non-sealed" };
	const char *t;

	for (;;) {
		bool hit = false;

		for (size_t i = 0; i < ARRAY_SIZE(mods) && !hit; i++)
			if ((t = word(w, end, mods[i])))
				w = t, hit = true;
		if (!hit)
			break;
	}
	while (w < end && *w == '@') { /* annotations */
		w++;
		w += ident_len(w, end);
		if (w < end && *w == '(') {
			const char *c = memchr(w, ')', (size_t)(end - w));
			w = c ? c + 1 : end;
		}
		w = skip_ws(w, end);
	}
	return w;
}

/* Java types at the top level and in a top-level type; methods in a top-level type. */
static void java_decl(struct scan *s, unsigned ln, const char *p, const char *end, int eff)
{
	static const char *const kinds[] = { "class", "interface", "enum", "record", "@interface" };
	struct cstate *cs = &s->cs;
	const char *w = java_skip_modifiers(p, end), *t, *q, *nm;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if ((t = word(w, end, kinds[i])) && (n = ident_len(t, end))) {
			emit_sym(s, ln, kinds[i][0] == '@' ? "annotation" : kinds[i], t, n);
			if (eff == 0) /* methods are named after their top-level class */
				snprintf(cs->cls, sizeof(cs->cls), "%.*s", (int)n, t);
			return;
		}
	}
	if (eff != 1 || !(q = memchr(w, '(', (size_t)(end - w))) ||
	    memchr(w, '=', (size_t)(q - w)) || w >= q)
		return;
	nm = name_before(w, q, &n);
	/* a method has a type before its name; a call has not */
	if (n && nm > w && !c_keyword(nm, n) && !memchr(q, ';', (size_t)(end - q)) &&
	    !word(w, end, "return") && !word(w, end, "new") && !word(w, end, "throw")) {
		char buf[SYMBOLS_NAME_MAX * 2 + 2];
		int bl = snprintf(buf, sizeof(buf), "%s%s%.*s", cs->cls, cs->cls[0] ? "." : "",
				  (int)n, nm);

		emit_sym(s, ln, "method", buf, (size_t)MIN(bl, (int)sizeof(buf) - 1));
	}
}

/* "typedef ...;" on one line, or the start of a "typedef struct {" block. */
static void c_typedef(struct scan *s, unsigned ln, const char *t, const char *end)
{
	static const char *const kw[] = { "struct", "union", "enum" };
	const char *sem = memchr(t, ';', (size_t)(end - t));
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
		const char *a = word(t, end, kw[i]);

		if (a && (n = ident_len(a, end)) && memchr(a, '{', (size_t)(end - a)))
			emit_sym(s, ln, kw[i], a, n);
	}
	if (sem && !memchr(t, '{', (size_t)(sem - t))) {
		const char *nm, *par = NULL;

		for (const char *c = t; c + 1 < sem; c++)
			if (c[0] == '(' && c[1] == '*') {
				par = c + 2;
				break;
			}
		if (par) {
			n = ident_len(par, end);
			nm = par;
		} else {
			nm = name_before(t, sem, &n);
			if (nm > t && nm[-1] == ']')
				n = 0;
		}
		emit_sym(s, ln, "typedef", nm, n);
	} else if (!sem) {
		s->cs.pend_typedef = true;
	}
}

/* "struct x {", "class x : base {"...; true if the line declared one. */
static bool c_aggregate(struct scan *s, unsigned ln, const char *p, const char *end)
{
	static const char *const kw[] = { "struct", "union", "enum", "class" };

	for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
		const char *a = word(p, end, kw[i]), *t;
		size_t n;

		if (!a)
			continue;
		if (i == 3 || i == 2)
			a = word(a, end, "class") ? word(a, end, "class") : a;
		n = ident_len(a, end);
		t = a + n;
		t = skip_ws(t, end);
		/* "struct x {", "struct x\n{", "class x : base {"; not "struct x *f(" */
		if (n &&
		    (t == end || *t == '{' || *t == ':' || (i == 3 && *t != ';' && *t != '*'))) {
			emit_sym(s, ln, kw[i], a, n);
			return true;
		}
		break;
	}
	return false;
}

/* A function definition (its name waits for the '{') or, in a header, a prototype. */
static void c_function(struct scan *s, unsigned ln, const char *p, const char *end)
{
	struct cstate *cs = &s->cs;
	const char *q = memchr(p, '(', (size_t)(end - p)), *nm, *sem, *br;
	size_t n;

	if (!q || memchr(p, '=', (size_t)(q - p)))
		return;
	nm = name_before(p, q, &n);
	if (!n || c_keyword(nm, n))
		return;
	sem = memchr(q, ';', (size_t)(end - q));
	br = memchr(q, '{', (size_t)(end - q));
	if (sem && (!br || sem < br)) {
		if (s->header && nm > p)
			emit_sym(s, ln, "prototype", nm, n);
	} else {
		/* keep the name: the line buffer is reused */
		cs->pend_line = ln;
		cs->pend_n = MIN(n, sizeof(cs->pend));
		memcpy(cs->pend, nm, cs->pend_n);
	}
}

/* A C or C++ line at the top level starting in column 0; true if it opens a namespace. */
static bool c_decl(struct scan *s, unsigned ln, const char *p, const char *end)
{
	bool ns_line = false;
	const char *t;

	if (word(p, end, "template"))
		return false;
	/*
	 * Meant for extern "C" too, but the cleaned line has lost the string's
	 * "C", so only namespaces match: a known gap, kept as it is.
	 */
	if (word(p, end, "namespace") || (word(p, end, "extern") && strstr(p, "\"C\"")))
		ns_line = true;
	t = word(p, end, "typedef");
	if (t) {
		c_typedef(s, ln, t, end);
		return ns_line;
	}
	if (!c_aggregate(s, ln, p, end))
		c_function(s, ln, p, end);
	return ns_line;
}

/* Braces of the cleaned line: depth, namespaces, and what waited for them. */
static void c_braces(struct scan *s, unsigned ln, const char *cl, const char *end, bool ns_line)
{
	struct cstate *cs = &s->cs;
	size_t n;

	for (const char *c = cl; c < end; c++) {
		if (*c == '{') {
			if (cs->depth - cs->ns == 0 && cs->pend_n) {
				emit_sym(s, cs->pend_line, "function", cs->pend, cs->pend_n);
				cs->pend_n = 0;
			}
			if (ns_line && cs->depth < 64) {
				cs->nsbits |= 1ull << cs->depth;
				cs->ns++;
				ns_line = false;
			}
			cs->depth++;
		} else if (*c == '}') {
			if (cs->depth > 0) {
				cs->depth--;
				if (cs->depth < 64 && (cs->nsbits & (1ull << cs->depth))) {
					cs->nsbits &= ~(1ull << cs->depth);
					cs->ns--;
				}
			}
			if (cs->depth - cs->ns == 0 && cs->pend_typedef) {
				const char *a = skip_ws(c + 1, end);

				if ((n = ident_len(a, end))) {
					emit_sym(s, ln, "typedef", a, n);
					cs->pend_typedef = false;
				}
			}
		} else if (*c == ';' && cs->depth - cs->ns == 0) {
			cs->pend_n = 0;
			cs->pend_typedef = false;
		}
	}
}

static void c_family_line(struct scan *s, unsigned ln, const char *raw, const char *rend, bool java)
{
	struct cstate *cs = &s->cs;
	size_t cn = c_clean(cs, raw, rend, s->cl);
	const char *end = s->cl + cn, *p = skip_ws(s->cl, end);
	bool ns_line = false, col0 = raw < rend && is_id0((unsigned char)*raw);
	int eff = cs->depth - cs->ns;

	if (!java && (cs->pp_cont || (p < end && *p == '#'))) {
		c_preproc(s, ln, raw, rend, p, end, eff);
		return;
	}
	if (java) {
		if (eff == 0 && java_package_or_import(s, ln, p, end))
			return;
		if (eff == 0 || eff == 1)
			java_decl(s, ln, p, end, eff);
	} else if (eff == 0 && col0) {
		ns_line = c_decl(s, ln, p, end);
	}
	c_braces(s, ln, s->cl, end, ns_line);
}

void symbols_c_line(struct scan *s, unsigned ln, const char *p, const char *le)
{
	c_family_line(s, ln, p, le, false);
}

void symbols_java_line(struct scan *s, unsigned ln, const char *p, const char *le)
{
	c_family_line(s, ln, p, le, true);
}
