/* SPDX-License-Identifier: MIT */
/*
 * Cross-repository facts of a group: members, the edges between them, and
 * the text each group page shows (xrepo_describe()). The file parsers are
 * in xrepo_parse.c.
 *
 * Edges, by kind:
 *  - depends: a dependency claim of one member (go.mod require, package.json
 *    dependency, Cargo dependency, Maven or Gradle coordinates) names the
 *    identity another member claims (its module, package, crate or g:a);
 *  - calls: a source of one member quotes a path of an OpenAPI contract
 *    another defines (its literal prefix up to the first parameter), or it
 *    holds a copy of another's protobuf package, or GraphQL operations
 *    against another's schema;
 *  - runs: a compose file of one member builds or runs a service whose
 *    build context or image is named like another member;
 *  - submodule: .gitmodules of one member points at another's URL.
 */
#include "xrepo_int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIT_SLOTS (XREPO_LITERALS * 2)

char *xstrndup_clean(const char *s, size_t n)
{
	char *r = malloc(n + 1), *o = r;

	if (!r)
		return NULL;
	for (size_t i = 0; i < n && s[i]; i++)
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			*o++ = s[i];
	*o = '\0';
	return r;
}

int xstrv_add(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = xstrndup_clean(s, len);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int xclaim_add(struct xmember *m, bool is_id, enum xeco eco, const char *name, size_t n,
	       const char *path)
{
	struct xclaim *v;

	if (n == 0 || n > 256 || m->nclaims >= 10000)
		return 0;
	v = realloc(m->claims, (m->nclaims + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->claims = v;
	v = &m->claims[m->nclaims];
	v->is_id = is_id;
	v->eco = eco;
	v->name = xstrndup_clean(name, n);
	v->path = strdup(path);
	if (!v->name || !v->path) {
		free(v->name);
		free(v->path);
		return -ENOMEM;
	}
	m->nclaims++;
	return 0;
}

static size_t lit_hash(const char *s, size_t n)
{
	size_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

int xlit_add(struct xmember *m, const char *s, size_t n, const char *path)
{
	size_t h;

	if (!m->lits) {
		m->lits = calloc(LIT_SLOTS, sizeof(*m->lits));
		if (!m->lits)
			return -ENOMEM;
	}
	if (m->nlits >= XREPO_LITERALS)
		return 0;
	for (h = lit_hash(s, n) % LIT_SLOTS; m->lits[h].text; h = (h + 1) % LIT_SLOTS)
		if (!strncmp(m->lits[h].text, s, n) && !m->lits[h].text[n])
			return 0;
	m->lits[h].text = xstrndup_clean(s, n);
	m->lits[h].path = strdup(path);
	if (!m->lits[h].text || !m->lits[h].path) {
		free(m->lits[h].text);
		free(m->lits[h].path);
		m->lits[h].text = NULL;
		return -ENOMEM;
	}
	m->nlits++;
	return 0;
}

const struct xlit *xlit_find(const struct xmember *m, const char *s)
{
	if (!m->lits)
		return NULL;
	for (size_t h = lit_hash(s, strlen(s)) % LIT_SLOTS; m->lits[h].text;
	     h = (h + 1) % LIT_SLOTS)
		if (!strcmp(m->lits[h].text, s))
			return &m->lits[h];
	return NULL;
}

int xrepo_new(struct xrepo **ret, size_t n)
{
	struct xrepo *x;

	if (n == 0 || n > XREPO_MAX_MEMBERS)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->refs = 1;
	x->n = n;
	x->m = calloc(n, sizeof(*x->m));
	if (!x->m) {
		free(x);
		return -ENOMEM;
	}
	*ret = x;
	return 0;
}

struct xrepo *xrepo_ref(struct xrepo *x)
{
	if (x)
		__atomic_add_fetch(&x->refs, 1, __ATOMIC_SEQ_CST);
	return x;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void member_free(struct xmember *m)
{
	free(m->name);
	free(m->url);
	free(m->languages);
	free(m->summary);
	free(m->base);
	free(m->gradle_group);
	free(m->gradle_name);
	for (size_t i = 0; i < ARRAY_SIZE(m->ids); i++)
		free(m->ids[i]);
	for (size_t i = 0; i < m->nclaims; i++) {
		free(m->claims[i].name);
		free(m->claims[i].path);
	}
	free(m->claims);
	for (size_t i = 0; i < m->nservices; i++) {
		free(m->services[i].name);
		free(m->services[i].path);
		free(m->services[i].context);
		strv_free(m->services[i].depends, m->services[i].ndepends);
	}
	free(m->services);
	free(m->service_names);
	strv_free(m->submodules, m->nsubmodules);
	for (size_t i = 0; m->lits && i < LIT_SLOTS; i++) {
		free(m->lits[i].text);
		free(m->lits[i].path);
	}
	free(m->lits);
}

void xrepo_unref(struct xrepo *x)
{
	if (!x || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_SEQ_CST))
		return;
	for (size_t i = 0; i < x->n; i++)
		member_free(&x->m[i]);
	free(x->m);
	for (size_t i = 0; i < x->ncontracts; i++) {
		free((char *)x->contracts[i].pub.path);
		free(x->contracts[i].package);
		strv_free(x->contracts[i].ops, x->contracts[i].pub.noperations);
	}
	free(x->contracts);
	free(x->pub_contracts);
	for (size_t i = 0; i < x->nedges * 3; i++)
		free(x->edge_strs[i]);
	free(x->edge_strs);
	free(x->edges);
	free(x);
}

/* "owner/repo.git" or a URL: its last component without ".git", lower case. */
static char *base_of_name(const char *s)
{
	const char *e = s + strlen(s), *b;
	char *r;

	while (e > s && e[-1] == '/')
		e--;
	if (e - s > 4 && !strncasecmp(e - 4, ".git", 4))
		e -= 4;
	for (b = e; b > s && b[-1] != '/' && b[-1] != ':'; b--)
		;
	r = xstrndup_clean(b, (size_t)(e - b));
	for (char *p = r; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

int xrepo_member_set(struct xrepo *x, size_t i, const char *name, const char *url,
		     const char *languages)
{
	struct xmember *m;

	if (i >= x->n || x->finished)
		return -EINVAL;
	m = &x->m[i];
	m->name = strdup(name ? name : "");
	m->url = strdup(url ? url : "");
	m->languages = strdup(languages ? languages : "");
	m->base = base_of_name(name ? name : "");
	return m->name && m->url && m->languages && m->base ? 0 : -ENOMEM;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && !strcasecmp(s + n - k, suf);
}

/* Files read in full: manifests, .gitmodules, compose files, READMEs, contracts. */
bool xrepo_wants(const char *path)
{
	static const char *const names[] = { "go.mod",		"package.json",
					     "Cargo.toml",	"pom.xml",
					     "build.gradle",	"build.gradle.kts",
					     "settings.gradle", "settings.gradle.kts",
					     ".gitmodules" };
	static const char *const suffixes[] = { ".proto", ".graphql", ".gql" };
	const char *bn = base_name(path);

	if (strstr(path, "node_modules/") || strstr(path, "vendor/") ||
	    strstr(path, "third_party/"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(bn, names[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (ends_with(bn, suffixes[i]))
			return true;
	if (!strncasecmp(bn, "openapi", 7) || !strncasecmp(bn, "swagger", 7))
		return true;
	if (strstr(bn, "compose") && (ends_with(bn, ".yml") || ends_with(bn, ".yaml")))
		return true;
	return bn == path && !strncasecmp(bn, "readme", 6);
}

bool xrepo_wants_source(const char *path)
{
	static const char *const exts[] = { ".js",  ".jsx",    ".ts", ".tsx", ".mjs",	".cjs",
					    ".vue", ".svelte", ".py", ".go",  ".java",	".kt",
					    ".rb",  ".php",    ".cs", ".rs",  ".swift", ".dart" };

	if (strstr(path, "node_modules/") || strstr(path, "vendor/") || strstr(path, "dist/") ||
	    strstr(path, ".min."))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (ends_with(path, exts[i]))
			return true;
	return false;
}

int xrepo_add_file(struct xrepo *x, size_t i, const char *path, const char *text, size_t len)
{
	struct xmember *m;
	const char *bn = base_name(path);
	int r;

	if (i >= x->n || x->finished)
		return -EINVAL;
	m = &x->m[i];
	len = MIN(len, XREPO_FILE_MAX);
	if (!strcmp(bn, "go.mod"))
		return xparse_gomod(m, path, text, len);
	if (!strcmp(bn, "package.json"))
		return xparse_package_json(m, path, text, len);
	if (!strcmp(bn, "Cargo.toml"))
		return xparse_cargo(m, path, text, len);
	if (!strcmp(bn, "pom.xml"))
		return xparse_pom(m, path, text, len);
	if (!strncmp(bn, "build.gradle", 12) || !strncmp(bn, "settings.gradle", 15))
		return xparse_gradle(m, path, text, len);
	if (!strcmp(path, ".gitmodules"))
		return xparse_gitmodules(m, text, len);
	if (bn == path && !strncasecmp(bn, "readme", 6))
		return m->summary ? 0 : xparse_readme(m, text, len);
	if (strstr(bn, "compose") && (ends_with(bn, ".yml") || ends_with(bn, ".yaml")) &&
	    memmem(text, len, "services:", 9))
		return xparse_compose(m, path, text, len);
	r = xparse_contract(x, i, path, text, len);
	if (r != 0)
		return r < 0 ? r : 0;
	return xrepo_wants_source(path) ? xparse_literals(m, path, text, len) : 0;
}
