/* SPDX-License-Identifier: MIT */
/*
 * Line scanners. symbols_scan() splits the text into lines (CR LF or LF),
 * skips lines longer than SYMBOLS_LINE_MAX, and hands each line to the
 * scanner of the language, chosen from the scanners[] table. A scanner
 * keeps what it must remember between lines in struct scan: the C family
 * tracks block comments, preprocessor continuations, brace depth (minus the
 * braces of namespaces and extern "C", which do not nest declarations) and
 * a function name waiting for its '{'; Python tracks triple-quoted strings;
 * Go tracks import and type blocks.
 *
 * The C-family scanners first copy the line without comments and string
 * contents (c_clean()), so braces and parentheses inside them do not count.
 * Names are cut to SYMBOLS_NAME_MAX bytes and empty names are never
 * reported; import specs longer than IMPORT_SPEC_MAX are dropped.
 */
#include "symbols.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

struct cstate {
	bool comment;	 /* inside a block comment */
	bool pp_cont;	 /* preprocessor line continued */
	int depth;	 /* brace depth */
	int ns;		 /* braces opened by namespace / extern "C" */
	uint64_t nsbits; /* bit d set: brace at depth d is a namespace (d < 64) */
	unsigned pend_line;
	char pend[SYMBOLS_NAME_MAX]; /* a function's name, until its '{' or a ';' */
	size_t pend_n;
	bool pend_typedef;
	char cls[SYMBOLS_NAME_MAX]; /* Java: the top-level class, to name methods */
};

struct scan {
	const struct symbols_sink *sink;
	bool header; /* C/C++ header: prototypes count as symbols */
	char *cl;    /* C family: the cleaned line, SYMBOLS_LINE_MAX + 1 bytes */
	struct cstate cs;
	bool in_str;	 /* Python: inside a triple-quoted string */
	bool go_imports; /* Go: inside import ( ... ) */
	bool go_types;	 /* Go: inside type ( ... ) */
};

/* ---- helpers ------------------------------------------------------------- */

static bool is_id0(int c)
{
	return isalpha(c) || c == '_' || c == '$';
}

static bool is_id(int c)
{
	return isalnum(c) || c == '_' || c == '$';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Length of the identifier at @p (0 if none). */
static size_t ident_len(const char *p, const char *end)
{
	size_t n = 0;

	if (p < end && is_id0((unsigned char)*p))
		while (p + n < end && is_id((unsigned char)p[n]))
			n++;
	return n;
}

/* If @p starts with word @w followed by a non-identifier byte, returns past it. */
static const char *word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - p) >= n && !memcmp(p, w, n) &&
	    (p + n == end || !is_id((unsigned char)p[n])))
		return skip_ws(p + n, end);
	return NULL;
}

static void emit_sym(struct scan *s, unsigned line, const char *kind, const char *name, size_t n)
{
	if (n)
		s->sink->symbol(s->sink->ctx, line, kind, name, MIN(n, (size_t)SYMBOLS_NAME_MAX));
}

static void emit_import(struct scan *s, unsigned line, enum import_kind kind, const char *spec,
			size_t n)
{
	if (n && n <= IMPORT_SPEC_MAX)
		s->sink->import(s->sink->ctx, line, kind, spec, n);
}

/* A quoted string starting at or after @p: "x" or 'x'. */
static bool quoted(const char *p, const char *end, const char **q, size_t *n)
{
	char c;
	const char *e;

	while (p < end && *p != '"' && *p != '\'')
		p++;
	if (p >= end)
		return false;
	c = *p++;
	e = memchr(p, c, (size_t)(end - p));
	if (!e)
		return false;
	*q = p;
	*n = (size_t)(e - p);
	return true;
}

/* The identifier (with C++ "::" and "~") just before @p, in [line, p). */
static const char *name_before(const char *line, const char *p, size_t *n)
{
	const char *e = p, *s;

	while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	s = e;
	while (s > line && (is_id((unsigned char)s[-1]) || s[-1] == ':' || s[-1] == '~'))
		s--;
	while (s < e && (*s == ':' || isdigit((unsigned char)*s)))
		s++;
	*n = (size_t)(e - s);
	return s;
}

/* ---- C family: C, C++, Objective-C, Java ------------------------------------ */

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

static void scan_c(struct scan *s, unsigned ln, const char *p, const char *le)
{
	c_family_line(s, ln, p, le, false);
}

static void scan_java(struct scan *s, unsigned ln, const char *p, const char *le)
{
	c_family_line(s, ln, p, le, true);
}

/* ---- Python ------------------------------------------------------------------ */

/* "import a.b, c" and "from a import b, c" (each name tried as a module a.b). */
static void python_imports(struct scan *s, unsigned ln, const char *p, const char *end)
{
	const char *t, *imp;
	size_t n;

	if ((t = word(p, end, "import"))) {
		while (t < end) {
			for (n = 0; t + n < end && (is_id((unsigned char)t[n]) || t[n] == '.'); n++)
				;
			emit_import(s, ln, IMPORT_PYTHON, t, n);
			t = memchr(t, ',', (size_t)(end - t));
			if (!t)
				break;
			t = skip_ws(t + 1, end);
		}
		return;
	}
	if (!(t = word(p, end, "from")))
		return;
	for (n = 0; t + n < end && (is_id((unsigned char)t[n]) || t[n] == '.'); n++)
		;
	imp = word(skip_ws(t + n, end), end, "import");
	if (!imp)
		return;
	/* "from . import a, b" and "from pkg import mod": try each name below */
	if (imp < end && *imp == '(')
		imp = skip_ws(imp + 1, end);
	while (imp < end) {
		char buf[600];
		size_t m = ident_len(imp, end);

		if (m && n + m + 1 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)n, t,
				 n && t[n - 1] != '.' ? "." : "", (int)m, imp);
			emit_import(s, ln, IMPORT_PYTHON_FROM, buf, strlen(buf));
		}
		imp = memchr(imp, ',', (size_t)(end - imp));
		if (!imp)
			break;
		imp = skip_ws(imp + 1, end);
	}
}

static void scan_python(struct scan *s, unsigned ln, const char *raw, const char *end)
{
	const char *p = skip_ws(raw, end), *t, *l = p;
	size_t k = 0;

	for (const char *c = p; c + 2 < end; c++)
		if ((c[0] == '"' || c[0] == '\'') && c[1] == c[0] && c[2] == c[0])
			k++, c += 2;
	if (s->in_str) {
		if (k % 2)
			s->in_str = false;
		return;
	}
	if (k % 2)
		s->in_str = true;
	if (p == raw) { /* only top-level definitions */
		if ((t = word(p, end, "async")))
			p = t;
		if ((t = word(p, end, "def")))
			emit_sym(s, ln, "def", t, ident_len(t, end));
		else if ((t = word(p, end, "class")))
			emit_sym(s, ln, "class", t, ident_len(t, end));
	}
	python_imports(s, ln, skip_ws(l, end), end);
}

/* ---- Go ---------------------------------------------------------------------- */

/* "func (r *Recv[K]) Name(": the method Recv.Name. */
static void go_method(struct scan *s, unsigned ln, const char *t, const char *end)
{
	const char *rp = memchr(t, ')', (size_t)(end - t)), *rn;
	size_t rl, n;

	if (!rp)
		return;
	rn = name_before(t + 1, rp, &rl);
	if (rl && rn > t && rn[-1] == '[') /* generic receiver T[K] */
		rn = name_before(t + 1, rn - 1, &rl);
	t = skip_ws(rp + 1, end);
	n = ident_len(t, end);
	if (n) {
		char buf[SYMBOLS_NAME_MAX * 2 + 2];
		int bl = snprintf(buf, sizeof(buf), "%.*s.%.*s", (int)MIN(rl, 200), rn,
				  (int)MIN(n, 200), t);

		emit_sym(s, ln, "method", buf, (size_t)bl);
	}
}

/* Top-level declarations start in column 0; import and type blocks span lines. */
static void scan_go(struct scan *s, unsigned ln, const char *raw, const char *end)
{
	const char *p = skip_ws(raw, end), *t, *q;
	size_t n;

	if (p != raw && !s->go_imports && !s->go_types)
		return;
	if (s->go_imports) {
		if (p < end && *p == ')')
			s->go_imports = false;
		else if (quoted(p, end, &q, &n) && q[-1] == '"')
			emit_import(s, ln, IMPORT_GO, q, n);
		return;
	}
	if (s->go_types) {
		p = raw; /* a type in the block is indented by one tab */
		if (p < end && *p == ')')
			s->go_types = false;
		else if (p < end && *p == '\t' && (n = ident_len(p + 1, end)))
			emit_sym(s, ln, "type", p + 1, n);
		return;
	}
	if ((t = word(p, end, "import"))) {
		if (t < end && *t == '(')
			s->go_imports = true;
		else if (quoted(t, end, &q, &n) && q[-1] == '"')
			emit_import(s, ln, IMPORT_GO, q, n);
	} else if ((t = word(p, end, "func"))) {
		if (t < end && *t == '(')
			go_method(s, ln, t, end);
		else
			emit_sym(s, ln, "func", t, ident_len(t, end));
	} else if ((t = word(p, end, "type"))) {
		if (t < end && *t == '(') {
			s->go_types = true;
			return;
		}
		n = ident_len(t, end);
		q = skip_ws(t + n, end);
		emit_sym(s, ln,
			 word(q, end, "struct")	     ? "struct"
			 : word(q, end, "interface") ? "interface"
						     : "type",
			 t, n);
	}
}

/* ---- Rust -------------------------------------------------------------------- */

/* Past "pub", "pub(crate)" and the qualifiers of an item; NULL on "pub(" unclosed. */
static const char *rust_skip_qualifiers(const char *p, const char *end)
{
	const char *t, *q;

	if ((t = word(p, end, "pub"))) {
		p = t;
		if (p < end && *p == '(') {
			q = memchr(p, ')', (size_t)(end - p));
			if (!q)
				return NULL;
			p = skip_ws(q + 1, end);
		}
	}
	return p;
}

static void rust_impl(struct scan *s, unsigned ln, const char *t, const char *end)
{
	size_t n;

	if (t < end && *t == '<') { /* impl<T> X for Y */
		int d = 0;

		for (; t < end; t++) {
			d += *t == '<' ? 1 : *t == '>' ? -1 : 0;
			if (d == 0)
				break;
		}
		t = skip_ws(t + 1, end);
	}
	for (n = 0; t + n < end && t[n] != '{'; n++)
		;
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	emit_sym(s, ln, "impl", t, MIN(n, (size_t)120));
}

static void scan_rust(struct scan *s, unsigned ln, const char *raw, const char *end)
{
	static const char *const kw[] = { "fn", "struct", "enum", "trait", "union", "type", "mod" };
	const char *p = skip_ws(raw, end), *t, *q;
	size_t n;

	if (p != raw || !(p = rust_skip_qualifiers(p, end)))
		return;
	if ((t = word(p, end, "use"))) {
		for (n = 0; t + n < end && t[n] != ';' && t[n] != '{' && t[n] != ' '; n++)
			;
		if (n > 7 && !memcmp(t, "crate::", 7))
			emit_import(s, ln, IMPORT_RUST_USE, t + 7, n - 7);
		return;
	}
	for (;;) {
		if ((t = word(p, end, "async")) || (t = word(p, end, "const")) ||
		    (t = word(p, end, "unsafe")) || (t = word(p, end, "default")))
			p = t;
		else if ((t = word(p, end, "extern")))
			p = t < end && *t == '"' && (q = memchr(t + 1, '"', (size_t)(end - t - 1)))
				? skip_ws(q + 1, end)
				: t;
		else
			break;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
		if ((t = word(p, end, kw[i])) && (n = ident_len(t, end))) {
			emit_sym(s, ln, kw[i], t, n);
			if (i == 6 && skip_ws(t + n, end) < end && *skip_ws(t + n, end) == ';')
				emit_import(s, ln, IMPORT_RUST_MOD, t, n);
			return;
		}
	}
	if ((size_t)(end - p) > 12 && !memcmp(p, "macro_rules!", 12)) {
		t = skip_ws(p + 12, end);
		emit_sym(s, ln, "macro", t, ident_len(t, end));
		return;
	}
	if ((t = word(p, end, "impl")))
		rust_impl(s, ln, t, end);
}

/* ---- JavaScript and TypeScript ------------------------------------------------ */

/* Relative imports, anywhere on the line: from './x', import './x', require('./x'). */
static void js_imports(struct scan *s, unsigned ln, const char *p, const char *end)
{
	const char *t, *q;
	size_t n;

	for (t = p; (t = memmem(t, (size_t)(end - t), "from", 4)); t += 4) {
		q = skip_ws(t + 4, end);
		if (q < end && (*q == '"' || *q == '\'') && quoted(q, end, &q, &n) && *q == '.') {
			emit_import(s, ln, IMPORT_JS, q, n);
			break;
		}
	}
	if ((t = word(p, end, "import")) && t < end && (*t == '"' || *t == '\'') &&
	    quoted(t, end, &q, &n) && *q == '.')
		emit_import(s, ln, IMPORT_JS, q, n);
	for (t = p; (t = memmem(t, (size_t)(end - t), "require(", 8)); t += 8) {
		if (quoted(t + 8, end, &q, &n) && q == t + 9 && *q == '.')
			emit_import(s, ln, IMPORT_JS, q, n);
	}
}

static void scan_js(struct scan *s, unsigned ln, const char *raw, const char *end)
{
	const char *p = skip_ws(raw, end), *t;
	size_t n;
	bool exp = false;

	js_imports(s, ln, p, end);
	if (p != raw)
		return;
	if ((t = word(p, end, "export"))) {
		p = t;
		exp = true;
		if ((t = word(p, end, "default")))
			p = t;
	}
	if ((t = word(p, end, "declare")))
		p = t;
	if ((t = word(p, end, "async")))
		p = t;
	if ((t = word(p, end, "abstract")))
		p = t;
	if ((size_t)(end - p) > 9 && !memcmp(p, "function*", 9))
		p = skip_ws(p + 9, end), t = p;
	else
		t = word(p, end, "function");
	if (t) {
		if (t < end && *t == '*')
			t = skip_ws(t + 1, end);
		emit_sym(s, ln, "function", t, ident_len(t, end));
	} else if ((t = word(p, end, "class"))) {
		emit_sym(s, ln, "class", t, ident_len(t, end));
	} else if ((t = word(p, end, "interface"))) {
		emit_sym(s, ln, "interface", t, ident_len(t, end));
	} else if ((t = word(p, end, "enum"))) {
		emit_sym(s, ln, "enum", t, ident_len(t, end));
	} else if ((t = word(p, end, "type")) && (n = ident_len(t, end)) &&
		   memchr(t + n, '=', (size_t)(end - t - n))) {
		emit_sym(s, ln, "type", t, n);
	} else if (exp && ((t = word(p, end, "const")) || (t = word(p, end, "let")) ||
			   (t = word(p, end, "var")))) {
		emit_sym(s, ln, "const", t, ident_len(t, end));
	}
}

/* ---- shell ------------------------------------------------------------------- */

static bool sh_name_char(int c)
{
	return is_id(c) || c == '-' || c == ':' || c == '.';
}

/* "name() {" and "function name {" in column 0. */
static void scan_shell(struct scan *s, unsigned ln, const char *raw, const char *end)
{
	const char *p = skip_ws(raw, end), *t;
	size_t n = 0;

	if (p != raw)
		return;
	if ((t = word(p, end, "function"))) {
		while (t + n < end && sh_name_char((unsigned char)t[n]))
			n++;
		emit_sym(s, ln, "function", t, n);
		return;
	}
	while (p + n < end && sh_name_char((unsigned char)p[n]))
		n++;
	t = skip_ws(p + n, end);
	if (n && end - t >= 2 && t[0] == '(' && t[1] == ')')
		emit_sym(s, ln, "function", p, n);
}

/* ---- the table ----------------------------------------------------------------- */

typedef void (*scan_line_fn)(struct scan *s, unsigned ln, const char *line, const char *end);

static const struct scanner {
	const char *lang;
	scan_line_fn line;
	bool clean; /* needs the cleaned-line buffer */
} scanners[] = {
	{ "C", scan_c, true },
	{ "C++", scan_c, true },
	{ "Objective-C", scan_c, true },
	{ "Java", scan_java, true },
	{ "Python", scan_python, false },
	{ "Go", scan_go, false },
	{ "Rust", scan_rust, false },
	{ "JavaScript", scan_js, false },
	{ "TypeScript", scan_js, false },
	{ "Shell", scan_shell, false },
};

static const struct scanner *scanner_for(const char *lang)
{
	for (size_t i = 0; lang && i < ARRAY_SIZE(scanners); i++)
		if (!strcmp(lang, scanners[i].lang))
			return &scanners[i];
	return NULL;
}

bool symbols_lang_scanned(const char *lang)
{
	return scanner_for(lang) != NULL;
}

/* A C or C++ header by its extension: ".h", ".hpp", ".hh", ... */
static bool is_header(const char *path)
{
	const char *b = strrchr(path, '/'), *e;

	b = b ? b + 1 : path;
	e = strrchr(b, '.');
	return e && e != b && tolower((unsigned char)e[1]) == 'h';
}

int symbols_scan(const char *lang, const char *path, const char *text, size_t len,
		 const struct symbols_sink *sink)
{
	const struct scanner *sc = scanner_for(lang);
	struct scan s = { .sink = sink };
	const char *p = text, *end = text + len;
	unsigned ln = 0;

	if (!sc)
		return 0;
	if (sc->clean) {
		s.header = is_header(path);
		s.cl = malloc(SYMBOLS_LINE_MAX + 1);
		if (!s.cl)
			return -ENOMEM;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		ln++;
		if (le > p && le[-1] == '\r')
			le--;
		if (le - p <= SYMBOLS_LINE_MAX)
			sc->line(&s, ln, p, le);
		p = nl ? nl + 1 : end;
	}
	free(s.cl);
	return 0;
}
