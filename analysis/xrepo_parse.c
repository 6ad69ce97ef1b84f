/* SPDX-License-Identifier: MIT */
/*
 * The file parsers of the cross-repository analysis: package manifests
 * (go.mod, package.json, Cargo.toml, pom.xml, Gradle), .gitmodules,
 * compose files, READMEs, API contracts (OpenAPI, protobuf, GraphQL) and
 * the quoted paths in sources. Each reads only what it needs, line by line
 * or with a small JSON walker, and skips what it does not understand: a
 * hostile file can make a member say less, never crash or loop.
 */
#include "xrepo_int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 256

/* ---- lines ---- */

struct lines {
	const char *s, *end;
};

/* The next line of @l (without its newline) in [*b, *e); false at the end. */
static bool line_next(struct lines *l, const char **b, const char **e)
{
	const char *nl;

	if (l->s >= l->end)
		return false;
	nl = memchr(l->s, '\n', (size_t)(l->end - l->s));
	*b = l->s;
	*e = nl ? nl : l->end;
	l->s = nl ? nl + 1 : l->end;
	if (*e > *b && (*e)[-1] == '\r')
		(*e)--;
	return true;
}

static const char *skip_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *rtrim(const char *b, const char *e)
{
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	return e;
}

static bool starts(const char *b, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - b) >= n && !memcmp(b, word, n);
}

/* A token of name characters at @b: [A-Za-z0-9._/@:-]+; its end. */
static const char *name_end(const char *b, const char *e)
{
	while (b < e && (isalnum((unsigned char)*b) || strchr("._/@:-~+", *b)))
		b++;
	return b;
}

/* The quoted string at @b ('"' or '\''): its body in [*sb, *se); false if none. */
static bool quoted(const char *b, const char *e, const char **sb, const char **se)
{
	const char *q;

	b = skip_ws(b, e);
	if (b >= e || (*b != '"' && *b != '\''))
		return false;
	q = memchr(b + 1, *b, (size_t)(e - b - 1));
	if (!q)
		return false;
	*sb = b + 1;
	*se = q;
	return true;
}

/* ---- go.mod ---- */

int xparse_gomod(struct xmember *m, const char *path, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	bool in_require = false;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		if (in_require) {
			if (b < e && *b == ')')
				in_require = false;
			else if (b < e && *b != '/')
				r = xclaim_add(m, false, ECO_GO, b, (size_t)(name_end(b, e) - b),
					       path);
		} else if (starts(b, e, "module ")) {
			b = skip_ws(b + 7, e);
			if (b < e && *b == '"')
				b++;
			r = xclaim_add(m, true, ECO_GO, b, (size_t)(name_end(b, e) - b), path);
		} else if (starts(b, e, "require ") || starts(b, e, "replace ")) {
			b = skip_ws(b + 8, e);
			if (b < e && *b == '(')
				in_require = true;
			else
				r = xclaim_add(m, false, ECO_GO, b, (size_t)(name_end(b, e) - b),
					       path);
		} else if (starts(b, e, "require(") || starts(b, e, "replace(")) {
			in_require = true;
		}
	}
	return r;
}

/* ---- package.json: a JSON walker that reports keys with their path ---- */

#define JSON_DEPTH 8

struct jwalk {
	const char *s, *e;
	char keys[JSON_DEPTH][NAME_MAX_LEN]; /* the key of each open object level */
	int depth;			     /* objects and arrays open */
	bool in_obj[JSON_DEPTH + 1];
};

/* Reads a JSON string at w->s (past the quote) into @out; w->s past its end. */
static void json_string(struct jwalk *w, char *out, size_t max)
{
	size_t k = 0;

	while (w->s < w->e && *w->s != '"') {
		if (*w->s == '\\' && w->s + 1 < w->e)
			w->s++;
		if (k + 1 < max && (unsigned char)*w->s >= 0x20)
			out[k++] = *w->s;
		w->s++;
	}
	out[k] = '\0';
	if (w->s < w->e)
		w->s++;
}

typedef int json_fn(void *ctx, const struct jwalk *w, const char *key, const char *sval,
		    const char *path);

/* Calls @fn for every key of every object, with its string value or NULL. */
static int json_walk(void *ctx, const char *s, size_t n, json_fn *fn, const char *path)
{
	struct jwalk w = { .s = s, .e = s + n };
	char str[NAME_MAX_LEN], key[NAME_MAX_LEN];
	bool have_key = false;
	int r = 0;

	while (r == 0 && w.s < w.e) {
		char c = *w.s++;

		if (c == '{' || c == '[') {
			if (w.depth >= JSON_DEPTH)
				return 0; /* too deep: nothing we want lies there */
			if (w.depth > 0)
				snprintf(w.keys[w.depth - 1], NAME_MAX_LEN, "%s",
					 have_key ? key : "");
			w.in_obj[++w.depth] = c == '{';
			have_key = false;
		} else if (c == '}' || c == ']') {
			if (w.depth == 0)
				return 0;
			w.depth--;
			have_key = false;
		} else if (c == '"') {
			json_string(&w, str, sizeof(str));
			const char *p = skip_ws(w.s, w.e);

			if (w.in_obj[w.depth] && !have_key && p < w.e && *p == ':') {
				memcpy(key, str, sizeof(key));
				have_key = true;
				w.s = p + 1;
				p = skip_ws(w.s, w.e);
				if (p < w.e && *p != '"' && *p != '{' && *p != '[')
					r = fn(ctx, &w, key, NULL, path);
			} else if (have_key) {
				r = fn(ctx, &w, key, str, path);
				have_key = false;
			}
		} else if (c == ',') {
			have_key = false;
		}
	}
	return r;
}

static bool key_is(const struct jwalk *w, int depth, const char *name)
{
	return w->depth == depth + 1 && !strcmp(w->keys[depth - 1], name);
}

static int package_json_key(void *ctx, const struct jwalk *w, const char *key, const char *sval,
			    const char *path)
{
	struct xmember *m = ctx;
	static const char *const deps[] = { "dependencies", "devDependencies", "peerDependencies",
					    "optionalDependencies" };

	if (w->depth == 1 && !strcmp(key, "name") && sval)
		return xclaim_add(m, true, ECO_NPM, sval, strlen(sval), path);
	for (size_t i = 0; i < ARRAY_SIZE(deps); i++)
		if (key_is(w, 1, deps[i]))
			return xclaim_add(m, false, ECO_NPM, key, strlen(key), path);
	return 0;
}

int xparse_package_json(struct xmember *m, const char *path, const char *s, size_t n)
{
	return json_walk(m, s, n, package_json_key, path);
}

/* ---- Cargo.toml ---- */

int xparse_cargo(struct xmember *m, const char *path, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	enum { OTHER, PACKAGE, DEPS } sect = OTHER;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		e = rtrim(b, e);
		if (b < e && *b == '[') {
			const char *dot;

			sect = OTHER;
			if (starts(b, e, "[package]") || starts(b, e, "[workspace.package]"))
				sect = PACKAGE;
			else if (memmem(b, (size_t)(e - b), "dependencies]", 13))
				sect = DEPS;
			else if ((dot = memmem(b, (size_t)(e - b), "dependencies.", 13)))
				r = xclaim_add(m, false, ECO_CARGO, dot + 13,
					       (size_t)(name_end(dot + 13, e) - dot - 13), path);
			continue;
		}
		const char *ke = name_end(b, e), *sb, *se, *eq = skip_ws(ke, e);

		if (ke == b || eq >= e || *eq != '=')
			continue;
		if (sect == PACKAGE && ke - b == 4 && !memcmp(b, "name", 4) &&
		    quoted(eq + 1, e, &sb, &se))
			r = xclaim_add(m, true, ECO_CARGO, sb, (size_t)(se - sb), path);
		else if (sect == DEPS) {
			const char *pk = memmem(eq, (size_t)(e - eq), "package", 7);
			const char *q = pk ? skip_ws(pk + 7, e) : NULL;

			if (q && q < e && *q == '=' && quoted(q + 1, e, &sb, &se))
				r = xclaim_add(m, false, ECO_CARGO, sb, (size_t)(se - sb), path);
			else
				r = xclaim_add(m, false, ECO_CARGO, b, (size_t)(ke - b), path);
		}
	}
	return r;
}

/* ---- Maven and Gradle ---- */

/* The text of the first <tag>...</tag> in [b, e), or NULL. */
static const char *xml_tag(const char *b, const char *e, const char *tag, const char **te)
{
	char open[64], close[64];
	const char *p, *q;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	p = memmem(b, (size_t)(e - b), open, strlen(open));
	if (!p)
		return NULL;
	p += strlen(open);
	q = memmem(p, (size_t)(e - p), close, strlen(close));
	if (!q)
		return NULL;
	*te = q;
	return p;
}

/* [b, e) with every <tag>...</tag> block cut out, as a new string. */
static char *xml_cut(const char *b, const char *e, const char *const *tags, size_t ntags)
{
	struct buf out;

	buf_init(&out, (size_t)(e - b) + 1);
	while (b < e) {
		const char *first = e, *fe = e;

		for (size_t i = 0; i < ntags; i++) {
			const char *te, *t = xml_tag(b, e, tags[i], &te);

			if (t && t < first) {
				first = t - strlen(tags[i]) - 2;
				fe = te + strlen(tags[i]) + 3;
			}
		}
		if (buf_add(&out, b, (size_t)(first - b)) < 0) {
			buf_done(&out);
			return NULL;
		}
		b = fe;
	}
	if (buf_addc(&out, '\0') < 0) {
		buf_done(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

static int maven_claim(struct xmember *m, bool is_id, const char *g, const char *ge, const char *a,
		       const char *ae, const char *path)
{
	char name[NAME_MAX_LEN * 2];
	int k = snprintf(name, sizeof(name), "%.*s:%.*s", (int)MIN(ge - g, NAME_MAX_LEN),
			 skip_ws(g, ge), (int)MIN(ae - a, NAME_MAX_LEN), skip_ws(a, ae));

	return xclaim_add(m, is_id, ECO_MAVEN, name, (size_t)MIN(k, (int)sizeof(name) - 1), path);
}

int xparse_pom(struct xmember *m, const char *path, const char *s, size_t n)
{
	static const char *const cut[] = { "parent", "dependencies", "dependencyManagement",
					   "build",  "profiles",     "plugins" };
	const char *e = s + n, *b = s, *ge, *ae, *de;
	_cleanup_free_ char *top = xml_cut(s, e, cut, ARRAY_SIZE(cut));
	const char *g, *a;
	int r = 0;

	if (!top)
		return -ENOMEM;
	a = xml_tag(top, top + strlen(top), "artifactId", &ae);
	g = xml_tag(top, top + strlen(top), "groupId", &ge);
	if (!g) /* inherited from the parent */
		g = xml_tag(s, e, "groupId", &ge);
	if (a && g)
		r = maven_claim(m, true, g, rtrim(g, ge), a, rtrim(a, ae), path);
	while (r == 0 && (b = xml_tag(b, e, "dependency", &de))) {
		g = xml_tag(b, de, "groupId", &ge);
		a = xml_tag(b, de, "artifactId", &ae);
		if (g && a)
			r = maven_claim(m, false, g, rtrim(g, ge), a, rtrim(a, ae), path);
		b = de;
	}
	return r;
}

/* "group = 'x'", "rootProject.name = 'y'", and 'g:a:v' in dependency lines. */
int xparse_gradle(struct xmember *m, const char *path, const char *s, size_t n)
{
	static const char *const conf[] = { "implementation",	  "api",	 "compile",
					    "testImplementation", "runtimeOnly", "compileOnly" };
	struct lines l = { s, s + n };
	const char *b, *e, *sb, *se;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		if (starts(b, e, "group") &&
		    (quoted(skip_ws(b + 5, e) + 1, e, &sb, &se) || quoted(b + 5, e, &sb, &se))) {
			free(m->gradle_group);
			m->gradle_group = xstrndup_clean(sb, (size_t)(se - sb));
		} else if (starts(b, e, "rootProject.name")) {
			const char *eq = memchr(b, '=', (size_t)(e - b));

			if (eq && quoted(eq + 1, e, &sb, &se)) {
				free(m->gradle_name);
				m->gradle_name = xstrndup_clean(sb, (size_t)(se - sb));
			}
		} else {
			for (size_t i = 0; i < ARRAY_SIZE(conf); i++) {
				const char *p = b + strlen(conf[i]), *c1, *c2;

				if (!starts(b, e, conf[i]) || (p < e && isalnum((unsigned char)*p)))
					continue;
				p = memchr(p, '"', (size_t)(e - p))
					?: memchr(p, '\'', (size_t)(e - p));
				if (!p || !quoted(p, e, &sb, &se))
					break;
				c1 = memchr(sb, ':', (size_t)(se - sb));
				c2 = c1 ? memchr(c1 + 1, ':', (size_t)(se - c1 - 1)) : NULL;
				if (c1)
					r = maven_claim(m, false, sb, c1, c1 + 1, c2 ? c2 : se,
							path);
				break;
			}
		}
	}
	return r;
}

/* ---- .gitmodules ---- */

int xparse_gitmodules(struct xmember *m, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		if (!starts(b, e, "url"))
			continue;
		b = skip_ws(b + 3, e);
		if (b >= e || *b != '=')
			continue;
		b = skip_ws(b + 1, e);
		e = rtrim(b, e);
		if (e - b < 2000)
			r = xstrv_add(&m->submodules, &m->nsubmodules, b, (size_t)(e - b));
	}
	return r;
}

/* ---- compose files ---- */

static size_t indent_of(const char *b, const char *e)
{
	return (size_t)(skip_ws(b, e) - b);
}

/* The last path component of [b, e) without ".git" or quotes, in @out. */
static void base_of(const char *b, const char *e, char *out, size_t max)
{
	const char *s;

	while (e > b && (e[-1] == '/' || e[-1] == '"' || e[-1] == '\''))
		e--;
	if (e - b > 4 && !memcmp(e - 4, ".git", 4))
		e -= 4;
	for (s = e; s > b && s[-1] != '/' && s[-1] != ':' && s[-1] != '"' && s[-1] != '\''; s--)
		;
	snprintf(out, max, "%.*s", (int)MIN(e - s, (long)max - 1), s);
}

static int service_add(struct xmember *m, const char *b, const char *e, const char *path)
{
	struct xservice *v = realloc(m->services, (m->nservices + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	m->services = v;
	v = &m->services[m->nservices];
	memset(v, 0, sizeof(*v));
	v->name = xstrndup_clean(b, (size_t)(e - b));
	v->path = strdup(path);
	v->context = strdup("");
	if (!v->name || !v->path || !v->context) {
		free(v->name);
		free(v->path);
		free(v->context);
		return -ENOMEM;
	}
	m->nservices++;
	return 0;
}

/* A line inside a service at @ind: build context, image, or a depends_on entry. */
static int service_line(struct xservice *sv, const char *b, const char *e, bool *in_deps,
			bool *in_build)
{
	char base[256];

	if (starts(b, e, "depends_on:")) {
		*in_deps = true;
		return 0;
	}
	if (*in_deps && (b[0] == '-' || name_end(b, e) > b)) {
		const char *nb = b[0] == '-' ? skip_ws(b + 1, e) : b, *ne;

		if (nb < e && (*nb == '"' || *nb == '\''))
			nb++;
		ne = name_end(nb, e);
		if (ne > nb && ne[-1] == ':')
			ne--;
		if (ne > nb)
			return xstrv_add(&sv->depends, &sv->ndepends, nb, (size_t)(ne - nb));
		return 0;
	}
	if (starts(b, e, "build:") || (*in_build && starts(b, e, "context:")) ||
	    starts(b, e, "image:")) {
		const char *v = skip_ws(memchr(b, ':', (size_t)(e - b)) + 1, e);

		*in_build = starts(b, e, "build:") && v >= e;
		if (v < e && (!sv->context[0] || !starts(b, e, "image:"))) {
			const char *ve = rtrim(v, e), *tag = NULL;

			if (starts(b, e, "image:")) /* registry/name:tag */
				for (const char *p = ve; p > v && p[-1] != '/'; p--)
					if (p[-1] == ':')
						tag = p - 1;
			base_of(v, tag ? tag : ve, base, sizeof(base));
			free(sv->context);
			sv->context = strdup(base);
			return sv->context ? 0 : -ENOMEM;
		}
	}
	return 0;
}

int xparse_compose(struct xmember *m, const char *path, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	size_t svc_ind = 0, key_ind = 0;
	bool in_services = false, in_deps = false, in_build = false;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		size_t ind = indent_of(b, e);
		const char *t = b + ind;

		e = rtrim(t, e);
		if (t >= e || *t == '#')
			continue;
		if (ind == 0) {
			in_services = starts(t, e, "services:");
			svc_ind = 0;
			continue;
		}
		if (!in_services)
			continue;
		if (!svc_ind)
			svc_ind = ind;
		if (ind == svc_ind && e[-1] == ':') {
			r = service_add(m, t, e - 1, path);
			key_ind = 0;
			in_deps = in_build = false;
		} else if (ind > svc_ind && m->nservices) {
			if (!key_ind)
				key_ind = ind;
			if (ind == key_ind)
				in_deps = in_build = false;
			r = service_line(&m->services[m->nservices - 1], t, e, &in_deps, &in_build);
		}
	}
	return r;
}

/* ---- README: the first paragraph of prose, as plain text ---- */

/* Appends [b, e) with Markdown links and emphasis reduced to their text. */
static int plain_add(struct buf *o, const char *b, const char *e)
{
	int r = 0;

	while (r == 0 && b < e) {
		if (*b == '[') {
			const char *cl = memchr(b, ']', (size_t)(e - b));

			if (cl && cl + 1 < e && cl[1] == '(') {
				const char *pe = memchr(cl, ')', (size_t)(e - cl));

				r = buf_add(o, b + 1, (size_t)(cl - b - 1));
				b = pe ? pe + 1 : e;
				continue;
			}
		}
		if (*b != '*' && *b != '_' && *b != '`' && (unsigned char)*b >= 0x20)
			r = buf_addc(o, *b);
		b++;
	}
	return r;
}

int xparse_readme(struct xmember *m, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	struct buf o;
	bool fence = false;
	int r = 0;

	buf_init(&o, 600);
	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		e = rtrim(b, e);
		if (starts(b, e, "```") || starts(b, e, "~~~"))
			fence = !fence;
		if (fence || b == e) {
			if (o.len)
				break;
			continue;
		}
		if (strchr("#<!=-|>", *b) || starts(b, e, "[!") || starts(b, e, ".. ") ||
		    starts(b, e, "```"))
			continue;
		if (o.len)
			r = buf_addc(&o, ' ');
		if (r == 0)
			r = plain_add(&o, b, e);
		if (o.len > 400)
			break;
	}
	if (r == 0 && o.len > 400) {
		o.len = 400;
		r = buf_adds(&o, "...");
	}
	if (r == 0 && o.len) {
		free(m->summary);
		m->summary = xstrndup_clean(o.data, o.len);
		r = m->summary ? 0 : -ENOMEM;
	}
	buf_done(&o);
	return r;
}

/* ---- contracts ---- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && !strcasecmp(s + n - k, suf);
}

static struct xcontract *contract_new(struct xrepo *x, size_t i, const char *kind, const char *path)
{
	struct xcontract *v = realloc(x->contracts, (x->ncontracts + 1) * sizeof(*v));

	if (!v)
		return NULL;
	x->contracts = v;
	v = &x->contracts[x->ncontracts];
	memset(v, 0, sizeof(*v));
	v->pub.member = i;
	v->pub.kind = kind;
	v->pub.path = strdup(path);
	v->pub.title = "";
	if (!v->pub.path)
		return NULL;
	x->ncontracts++;
	return v;
}

static int op_add(struct xcontract *c, const char *b, size_t n)
{
	if (c->pub.noperations >= 500)
		return 0;
	return xstrv_add(&c->ops, &c->pub.noperations, b, n);
}

/* OpenAPI in YAML: the keys under "paths:"; the title under "info:". */
static int openapi_yaml(struct xcontract *c, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	size_t paths_ind = SIZE_MAX, key_ind = 0;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		size_t ind = indent_of(b, e);
		const char *t = b + ind;

		e = rtrim(t, e);
		if (t >= e || *t == '#')
			continue;
		if (paths_ind != SIZE_MAX && ind <= paths_ind)
			paths_ind = SIZE_MAX;
		if (starts(t, e, "paths:") && e == t + 6) {
			paths_ind = ind;
			key_ind = 0;
		} else if (paths_ind != SIZE_MAX) {
			if (!key_ind)
				key_ind = ind;
			if (ind == key_ind && e[-1] == ':') {
				const char *kb = t, *ke = e - 1;

				if (kb < ke && (*kb == '"' || *kb == '\'')) {
					kb++;
					ke--;
				}
				if (kb < ke && *kb == '/')
					r = op_add(c, kb, (size_t)(ke - kb));
			}
		} else if (starts(t, e, "title:") && !c->pub.title[0]) {
			const char *v = skip_ws(t + 6, e), *sb, *se;

			free((char *)c->package);
			c->package = quoted(v, e, &sb, &se) ? xstrndup_clean(sb, (size_t)(se - sb))
							    : xstrndup_clean(v, (size_t)(e - v));
			if (!c->package)
				return -ENOMEM;
			c->pub.title = c->package;
		}
	}
	return r;
}

static int openapi_json_key(void *ctx, const struct jwalk *w, const char *key, const char *sval,
			    const char *path)
{
	struct xcontract *c = ctx;

	(void)sval;
	(void)path;
	if (key_is(w, 1, "paths") && key[0] == '/')
		return op_add(c, key, strlen(key));
	return 0;
}

static int proto_ops(struct xcontract *c, const char *s, size_t n)
{
	struct lines l = { s, s + n };
	const char *b, *e;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		if (starts(b, e, "package ")) {
			const char *p = skip_ws(b + 8, e);

			free(c->package);
			c->package = xstrndup_clean(p, (size_t)(name_end(p, e) - p));
			if (!c->package)
				return -ENOMEM;
			c->pub.title = c->package;
		} else if (starts(b, e, "service ")) {
			const char *p = skip_ws(b + 8, e);

			r = op_add(c, b, (size_t)(name_end(p, e) - b));
		}
	}
	return r;
}

static int graphql_ops(struct xcontract *c, const char *s, size_t n)
{
	static const char *const schema[] = { "type Query", "type Mutation", "type Subscription",
					      "schema " };
	static const char *const ops[] = { "query ", "mutation ", "subscription " };
	struct lines l = { s, s + n };
	const char *b, *e;
	int r = 0;

	while (r == 0 && line_next(&l, &b, &e)) {
		b = skip_ws(b, e);
		for (size_t i = 0; i < ARRAY_SIZE(schema); i++)
			if (starts(b, e, schema[i])) {
				c->is_schema = true;
				r = op_add(c, b, (size_t)(name_end(b + strlen(schema[i]), e) - b));
			}
		for (size_t i = 0; i < ARRAY_SIZE(ops) && r == 0; i++)
			if (starts(b, e, ops[i])) {
				const char *p = b + strlen(ops[i]);

				r = op_add(c, b, (size_t)(name_end(p, e) - b));
			}
	}
	return r;
}

int xparse_contract(struct xrepo *x, size_t i, const char *path, const char *s, size_t n)
{
	const char *bn = base_name(path), *kind = NULL;
	bool yaml = has_suffix(bn, ".yaml") || has_suffix(bn, ".yml");
	struct xcontract *c;
	int r;

	if ((yaml || has_suffix(bn, ".json")) &&
	    (memmem(s, MIN(n, 4096), "openapi", 7) || memmem(s, MIN(n, 4096), "swagger", 7)) &&
	    memmem(s, n, "paths", 5))
		kind = "OpenAPI";
	else if (has_suffix(bn, ".proto"))
		kind = "protobuf";
	else if (has_suffix(bn, ".graphql") || has_suffix(bn, ".gql"))
		kind = "GraphQL";
	if (!kind)
		return 0;
	c = contract_new(x, i, kind, path);
	if (!c)
		return -ENOMEM;
	if (kind[0] == 'O' && yaml)
		r = openapi_yaml(c, s, n);
	else if (kind[0] == 'O')
		r = json_walk(c, s, n, openapi_json_key, path);
	else if (kind[0] == 'p')
		r = proto_ops(c, s, n);
	else
		r = graphql_ops(c, s, n);
	return r < 0 ? r : 1;
}

/* ---- quoted paths in sources ---- */

/* Whether [b, e) looks like an API path: "/word...", no spaces, not a file path. */
static bool api_path(const char *b, const char *e)
{
	if (e - b < 2 || *b != '/' || !isalpha((unsigned char)b[1]))
		return false;
	for (const char *p = b; p < e; p++)
		if (isspace((unsigned char)*p) || *p == '\\' || *p == '*')
			return false;
	return true;
}

int xparse_literals(struct xmember *m, const char *path, const char *s, size_t n)
{
	const char *e = s + n;
	int r = 0;

	for (const char *p = s; r == 0 && p < e; p++) {
		const char *b, *q;

		if (*p != '"' && *p != '\'' && *p != '`')
			continue;
		b = p + 1;
		for (q = b; q < e && q - b < 300 && *q != *p && *q != '\n'; q++)
			if (*p == '`' && *q == '$')
				break;
		if (q >= e || q - b >= 300)
			break;
		if ((q - b > 8) && (starts(b, q, "http://") || starts(b, q, "https://"))) {
			const char *h = memchr(b + 8, '/', (size_t)(q - b - 8));

			b = h ? h : q;
		}
		if (api_path(b, q))
			r = xlit_add(m, b, (size_t)(q - b), path);
		p = q; /* past a template's "${": its rest is code, then another string */
	}
	return r;
}
