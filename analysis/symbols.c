/* SPDX-License-Identifier: MIT */
/*
 * Line scanners. symbols_scan() splits the text into lines (CR LF or LF),
 * skips lines longer than SYMBOLS_LINE_MAX, and hands each line to the
 * scanner of the language, chosen from the scanners[] table. A scanner
 * keeps what it must remember between lines in struct scan: Python tracks
 * triple-quoted strings, Go its import and type blocks, the C family
 * (symbols_c.c) comments, braces and pending names.
 *
 * Names are cut to SYMBOLS_NAME_MAX bytes and empty names are never
 * reported; import specs longer than IMPORT_SPEC_MAX are dropped.
 */
#include "symbols_int.h"

#include <errno.h>

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
		else if ((q = memmem(t, n, "::", 2)) && q > t && !word(t, q, "self") &&
			 !word(t, q, "super") && !word(t, q, "std") && !word(t, q, "core"))
			emit_import(s, ln, IMPORT_RUST_CRATE, t,
				    (size_t)(q - t)); /* another crate */
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
	{ "C", symbols_c_line, true },
	{ "C++", symbols_c_line, true },
	{ "Objective-C", symbols_c_line, true },
	{ "Java", symbols_java_line, true },
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
