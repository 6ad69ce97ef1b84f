/* SPDX-License-Identifier: MIT */
/*
 * mount.conf parser. Every key is registered once in conf_keys[] with its
 * section, type, default and limits (after Redis config.c); defaults are
 * parsed by the same code as user values, so a default can never violate its
 * own limits. Parsing never stops at the first error: each problem is
 * recorded with FILE:LINE and the load fails at the end.
 */
#include "conf.h"
#include "fsutil.h"
#include "url.h"
#include "utf8.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stddef.h>
#include <string.h>

enum conf_type { T_STR, T_PATH, T_UINT, T_SIZE, T_BOOL, T_ENUM };

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def;
	uint64_t min, max;   /* T_UINT, T_SIZE */
	const char *choices; /* T_ENUM: "a|b|c", value is the index; T_STR: allowed or NULL */
	const char *doc;
};

#define OFF(f)	      offsetof(struct conf, f)
#define REPO_NAME_MAX 200 /* bytes of a [repo NAME]: a directory name, with room for suffixes */

static const struct conf_key conf_keys[] = {
	{ "wikifs", "cache_dir", T_PATH, OFF(cache_dir), "~/.cache/wikifs", 0, 0, NULL,
	  "clones, plans, pages; created 0700" },
	{ "wikifs", "clone_concurrency", T_UINT, OFF(clone_concurrency), "2", 1, 64, NULL,
	  "clones at once (the semaphore), FIFO" },
	{ "wikifs", "page_workers", T_UINT, OFF(page_workers), "4", 1, 256, NULL,
	  "pages generating at once, whole mount" },
	{ "wikifs", "repo_page_workers", T_UINT, OFF(repo_page_workers), "3", 1, 256, NULL,
	  "pages generating at once, one repository" },
	{ "wikifs", "retries", T_UINT, OFF(retries), "3", 1, 20, NULL,
	  "attempts per page, backoff + jitter between" },
	{ "wikifs", "open_timeout", T_UINT, OFF(open_timeout), "300", 1, 86400, NULL,
	  "seconds a parked open may wait" },
	{ "wikifs", "clone_timeout", T_UINT, OFF(clone_timeout), "600", 1, 86400, NULL,
	  "seconds without progress before a clone is killed" },
	{ "wikifs", "clone_gc_grace", T_UINT, OFF(clone_gc_grace), "604800", 0, 315360000, NULL,
	  "seconds an unused clone is kept before removal, 0 = forever" },
	{ "wikifs", "clone_ca_bundle", T_PATH, OFF(clone_ca_bundle), "", 0, 0, NULL,
	  "CA certificates for https clones, default: the system's" },
	{ "wikifs", "ssh_key", T_PATH, OFF(ssh_key), "", 0, 0, NULL,
	  "private key for ssh clones, default: ssh-agent's keys" },
	{ "wikifs", "refresh_interval", T_UINT, OFF(refresh_interval), "3600", 0, 31536000, NULL,
	  "seconds between fetches of a repository, 0 = never" },
	{ "wikifs", "cache_max_bytes", T_SIZE, OFF(cache_max_bytes), "1G", 1 << 20, UINT64_MAX,
	  NULL, "page cache budget, LRU" },
	{ "wikifs", "stale_pages", T_ENUM, OFF(stale_pages), "regenerate", 0, 0, "regenerate|serve",
	  "a page whose inputs changed: regenerate (open waits) | serve (the last one at once)" },
	{ "wikifs", "checkout_max_bytes", T_SIZE, OFF(checkout_max_bytes), "2G", 1, UINT64_MAX,
	  NULL, "read-only checkouts for backend = command, LRU" },
	{ "wikifs", "max_calls", T_SIZE, OFF(max_calls), "0", 0, UINT64_MAX, NULL,
	  "generation budget for this mount, 0 = none" },
	{ "wikifs", "token_budget", T_SIZE, OFF(token_budget), "0", 0, UINT64_MAX, NULL,
	  "LLM tokens for this mount, 0 = none" },
	{ "wikifs", "queue_max", T_UINT, OFF(queue_max), "100000", 16, 10000000, NULL,
	  "page jobs queued at once, whole mount" },
	{ "wikifs", "failure_backoff", T_UINT, OFF(failure_backoff), "30", 0, 86400, NULL,
	  "seconds a failed page answers EIO before the next open retries" },
	{ "wikifs", "max_versions", T_UINT, OFF(max_versions), "16", 1, 4096, NULL,
	  "version directories (REPO@REF) kept in memory per repository, LRU" },
	{ "wikifs", "log_file", T_PATH, OFF(log_file), "", 0, 0, NULL,
	  "log here instead of syslog when daemonized" },
	{ "wikifs", "log_level", T_STR, OFF(log_level), "info", 0, 0, "error|warning|info|debug",
	  "error | warning | info | debug" },
	{ "wikifs", "allow_other", T_BOOL, OFF(allow_other), "false", 0, 0, NULL,
	  "let other users see the mount (needs user_allow_other)" },
	{ "wikifs", "store", T_ENUM, OFF(store), "none", 0, 0, "none|postgresql",
	  "shared page store for a fleet of mounts: none | postgresql" },
	{ "wikifs", "store_conninfo_env", T_STR, OFF(store_conninfo_env), "", 0, 0, NULL,
	  "name of the variable with the libpq connection string" },
	{ "wikifs", "store_timeout", T_UINT, OFF(store_timeout), "5", 1, 300, NULL,
	  "seconds a store round trip may take before it counts as down" },
	{ "wikifs", "store_lease", T_UINT, OFF(store_lease), "60", 2, 3600, NULL,
	  "seconds a claimed job's lease lasts unless its host renews it" },

	{ "generator", "backend", T_ENUM, OFF(backend), "builtin", 0, 0,
	  "builtin|openai|anthropic|command", "builtin | openai | anthropic | command" },
	{ "generator", "model", T_STR, OFF(model), "", 0, 0, NULL, "model name for LLM backends" },
	{ "generator", "base_url", T_STR, OFF(base_url), "", 0, 0, NULL,
	  "API endpoint, e.g. https://api.openai.com/v1" },
	{ "generator", "api_key_env", T_STR, OFF(api_key_env), "", 0, 0, NULL,
	  "name of the environment variable with the key" },
	{ "generator", "command", T_STR, OFF(command), "", 0, 0, NULL,
	  "for backend = command: prompt on stdin, page on stdout" },
	{ "generator", "language", T_STR, OFF(language), "en", 0, 0, NULL,
	  "language LLM pages are written in (en, fr, pt-BR, ...); builtin: English" },
	{ "generator", "timeout", T_UINT, OFF(gen_timeout), "300", 1, 86400, NULL,
	  "seconds per generation attempt" },
	{ "generator", "max_tokens", T_UINT, OFF(max_tokens), "8192", 16, 1000000, NULL,
	  "output tokens asked of an LLM" },
	{ "generator", "max_tokens_field", T_STR, OFF(max_tokens_field), "max_tokens", 0, 0,
	  "max_tokens|max_completion_tokens", "max_tokens | max_completion_tokens (openai)" },
	{ "generator", "planner", T_ENUM, OFF(planner), "builtin", 0, 0, "builtin|llm",
	  "builtin | llm (falls back to builtin on any error)" },
	{ "generator", "prompt_budget", T_SIZE, OFF(prompt_budget), "96K", 1024, 16 << 20, NULL,
	  "bytes of source files in one prompt" },
	{ "generator", "anthropic_version", T_STR, OFF(anthropic_version), "2023-06-01", 0, 0, NULL,
	  "anthropic-version header" },
	{ "generator", "ca_bundle", T_PATH, OFF(ca_bundle), "", 0, 0, NULL,
	  "CA certificates for TLS, default: the system's" },
	{ "generator", "rate_limit", T_UINT, OFF(rate_limit), "0", 0, 100000, NULL,
	  "requests per minute to the provider, 0 = none" },
};

static const char *const backend_names[] = { "builtin", "openai", "anthropic", "command" };

const char *conf_backend_name(enum conf_backend b)
{
	return (size_t)b < ARRAY_SIZE(backend_names) ? backend_names[b] : "?";
}

struct parser {
	struct conf *c;
	const char *file;
	const char *base_dir; /* for relative repository paths */
	struct buf *errs;
	int nerr;
	unsigned seen[ARRAY_SIZE(conf_keys)]; /* line where each key was set, 0 = not */
};

PRINTF(3, 4)
static void perr(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (line)
		buf_printf(p->errs, "%s:%u: ", p->file, line);
	else
		buf_printf(p->errs, "%s: ", p->file);
	va_start(ap, fmt);
	buf_vprintf(p->errs, fmt, ap);
	va_end(ap);
	buf_addc(p->errs, '\n');
	p->nerr++;
}

int conf_parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

/* A plain decimal number: 0, -EINVAL (not one) or -ERANGE (past 2^64). */
static int parse_uint(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int choice_index(const char *choices, const char *v)
{
	size_t n = strlen(v);
	int i = 0;

	for (const char *c = choices; c; i++) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);

		if (len == n && strncmp(c, v, n) == 0)
			return i;
		c = bar ? bar + 1 : NULL;
	}
	return -1;
}

static void set_str(char **field, const char *v)
{
	char *d = strdup(v);

	if (d) {
		free(*field);
		*field = d;
	}
}

/* Parses @v for @k into the conf; returns 0 or -EINVAL with @why set. */
/* A BCP 47-like tag: it goes into prompts and page keys, so nothing else. */
static bool language_valid(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 35 || !isalpha((unsigned char)v[0]))
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-')
			return false;
	return true;
}

static int apply_key(struct conf *c, const struct conf_key *k, const char *v, const char **why)
{
	void *field = (char *)c + k->offset;
	uint64_t n;
	int r;

	switch (k->type) {
	case T_STR:
		if (k->choices && choice_index(k->choices, v) < 0) {
			*why = k->choices;
			return -EINVAL;
		}
		if (k->offset == OFF(language) && !language_valid(v)) {
			*why = "a language tag of letters, digits and '-' (en, fr, pt-BR)";
			return -EINVAL;
		}
		set_str(field, v);
		return 0;
	case T_PATH: {
		char *e = path_expand_home(v);

		if (!e)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = e;
		return 0;
	}
	case T_UINT:
	case T_SIZE:
		r = k->type == T_SIZE ? conf_parse_size(v, &n) : parse_uint(v, &n);
		if (r == -EINVAL) {
			*why =
			    k->type == T_SIZE ? "a size such as 512K, 64M or 1G" : "a whole number";
			return r;
		}
		if (r < 0 || n < k->min || n > k->max) {
			*why = "range";
			return -ERANGE;
		}
		if (k->type == T_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(uint64_t *)field = n;
		return 0;
	case T_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)field = true;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") ||
			 !strcmp(v, "0"))
			*(bool *)field = false;
		else {
			*why = "true or false";
			return -EINVAL;
		}
		return 0;
	case T_ENUM:
		r = choice_index(k->choices, v);
		if (r < 0) {
			*why = k->choices;
			return -EINVAL;
		}
		*(int *)field = r;
		return 0;
	}
	return -EINVAL;
}

static const struct conf_key *find_key(const char *section, const char *name, size_t *idx)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (!strcmp(conf_keys[i].section, section) && !strcmp(conf_keys[i].name, name)) {
			if (idx)
				*idx = i;
			return &conf_keys[i];
		}
	}
	return NULL;
}

static void report_bad_value(struct parser *p, unsigned line, const struct conf_key *k,
			     const char *v, int r, const char *why)
{
	if (r == -ERANGE) {
		/* also reached by overflow, so never "at least N" alone */
		perr(p, line, "value \"%s\" of '%s' out of range: %llu to %llu", v, k->name,
		     (unsigned long long)k->min, (unsigned long long)k->max);
	} else if (strchr(why, '|')) {
		_cleanup_free_ char *alts = strdup(why);

		for (char *s = alts; s && *s; s++)
			if (*s == '|')
				*s = ',';
		perr(p, line, "bad value \"%s\" for '%s': expected one of %s", v, k->name,
		     alts ? alts : why);
	} else {
		perr(p, line, "bad value \"%s\" for '%s': expected %s", v, k->name, why);
	}
}

int conf_repo_name_valid(const char *name)
{
	const char *slash = strchr(name, '/');
	size_t n = strlen(name);

	if (n == 0 || n > REPO_NAME_MAX || name[n - 1] == '/' || name[0] == '/')
		return 0;
	if (slash && strchr(slash + 1, '/'))
		return 0;
	for (const char *s = name; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == '@')
			return 0;
	}
	/* a directory name and a string in progress.json: it must be UTF-8 */
	if (!utf8_valid(name))
		return 0;
	/* no component may be empty, ".", "..", or start with a dot (.wikifs) */
	for (const char *s = name; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
		if (s[0] == '.' || s[0] == '/')
			return 0;
	}
	return 1;
}

static struct conf_repo *repo_add(struct parser *p, const char *name, unsigned line, bool group)
{
	struct conf *c = p->c;
	struct conf_repo *n;

	for (size_t i = 0; i < c->n_repos; i++) {
		if (!strcmp(c->repos[i].name, name)) {
			perr(p, line, "duplicate %s [%s %s], first at line %u",
			     group ? "group" : "repository", group ? "group" : "repo", name,
			     c->repos[i].line);
			return NULL;
		}
	}
	n = realloc(c->repos, (c->n_repos + 1) * sizeof(*n));
	if (!n)
		return NULL;
	c->repos = n;
	n = &c->repos[c->n_repos++];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->line = line;
	n->group = group;
	return n;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Removes a trailing " # comment" / " ; comment" and surrounding quotes. */
static char *clean_value(char *v)
{
	v = trim(v);
	if (*v == '"') {
		char *q = strchr(v + 1, '"');

		if (q) {
			*q = '\0';
			return v + 1;
		}
	}
	for (char *s = v; *s; s++) {
		if ((*s == '#' || *s == ';') && (s == v || isspace((unsigned char)s[-1]))) {
			*s = '\0';
			break;
		}
	}
	return trim(v);
}

/* @url as a message may show it: its password masked (url_redact()). */
static const char *url_shown(const char *url, char *out, size_t n)
{
	url_redact(url, out, n);
	return out;
}

static void repo_set(struct parser *p, struct conf_repo *r, const char *key, const char *v,
		     unsigned line)
{
	char shown[512];

	if (r->group) {
		if (strcmp(key, "repos"))
			perr(p, line, "unknown key '%s' in [group %s]: expected repos", key,
			     r->name);
		else if (r->member_names)
			perr(p, line, "duplicate key 'repos' in [group %s]", r->name);
		else
			r->member_names = strdup(v);
		return;
	}
	if (!strcmp(key, "url")) {
		if (r->url) {
			perr(p, line, "duplicate key 'url' in [repo %s]", r->name);
			return;
		}
		if (!*v)
			perr(p, line, "empty url in [repo %s]", r->name);
		else if (!url_supported(v))
			perr(p, line,
			     "unsupported url \"%s\": use a local path, file://, git://, https:// "
			     "or ssh",
			     url_shown(v, shown, sizeof(shown)));
		else if (url_local_relative(v) && p->base_dir) {
			r->url = url_absolute(p->base_dir, v);
			return;
		}
		/* a rejected url is kept too, so finish() does not call it missing */
		r->url = strdup(v);
	} else if (!strcmp(key, "ref")) {
		bool ok = *v && *v != '-' && strlen(v) < 256;

		for (const char *s = v; *s && ok; s++)
			ok = (unsigned char)*s > 0x20 && *s != 0x7f && *s != '~' && *s != '^' &&
			     *s != ':' && *s != '\\';
		if (r->ref)
			perr(p, line, "duplicate key 'ref' in [repo %s]", r->name);
		else if (!ok)
			perr(p, line, "bad ref \"%s\" in [repo %s]: expected a branch or tag name",
			     v, r->name);
		else
			r->ref = strdup(v);
	} else {
		perr(p, line, "unknown key '%s' in [repo %s]: expected url or ref", key, r->name);
	}
}

static void parse_line(struct parser *p, char *s, unsigned line, char **section,
		       struct conf_repo **repo, bool *bad_section)
{
	char *eq, *key, *val;

	s = trim(s);
	if (!*s || *s == '#' || *s == ';')
		return;
	if (*s == '[') {
		char *end = strchr(s, ']'), *rest = end ? trim(end + 1) : NULL;

		*repo = NULL;
		*bad_section = false;
		/* "[name]", optionally followed by a comment like any other line */
		if (!end || (*rest && *rest != '#' && *rest != ';')) {
			perr(p, line, "malformed section header: expected [name]");
			*bad_section = true;
			return;
		}
		*end = '\0';
		s = trim(s + 1);
		free(*section);
		*section = strdup(s);
		if ((!strncmp(s, "repo", 4) && (!s[4] || isspace((unsigned char)s[4]))) ||
		    (!strncmp(s, "group", 5) && (!s[5] || isspace((unsigned char)s[5])))) {
			bool group = s[0] == 'g';
			char *name = trim(s + (group ? 5 : 4));

			if (strlen(name) > REPO_NAME_MAX) {
				perr(p, line,
				     "%s name \"%.32s...\" is too long: %zu bytes, at most "
				     "%d",
				     group ? "group" : "repository", name, strlen(name),
				     REPO_NAME_MAX);
				*bad_section = true;
				return;
			}
			if (strchr(name, '@')) {
				perr(p, line,
				     "bad repository name \"%s\": '@' is reserved for versions "
				     "(REPO@REF)",
				     name);
				*bad_section = true;
				return;
			}
			if (!conf_repo_name_valid(name)) {
				perr(p, line,
				     "bad %s name \"%s\": expected NAME or OWNER/NAME in "
				     "UTF-8, no "
				     "leading dot",
				     group ? "group" : "repository", name);
				*bad_section = true;
				return;
			}
			*repo = repo_add(p, name, line, group);
			if (!*repo)
				*bad_section = true;
		} else if (strcmp(s, "wikifs") && strcmp(s, "generator")) {
			perr(p, line,
			     "unknown section [%s]: expected [wikifs], [generator], "
			     "[repo NAME] or [group NAME]",
			     s);
			*bad_section = true;
		}
		return;
	}
	eq = strchr(s, '=');
	if (!eq) {
		perr(p, line, "expected key = value");
		return;
	}
	*eq = '\0';
	key = trim(s);
	val = clean_value(eq + 1);
	if (*bad_section)
		return;
	if (!*section) {
		perr(p, line, "key '%s' outside a section", key);
		return;
	}
	if (*repo) {
		repo_set(p, *repo, key, val, line);
		return;
	}
	size_t idx;
	const struct conf_key *k = find_key(*section, key, &idx);
	const char *why = NULL;
	int r;

	if (!k) {
		perr(p, line, "unknown key '%s' in [%s]", key, *section);
		return;
	}
	if (p->seen[idx]) {
		perr(p, line, "duplicate key '%s' in [%s]", key, *section);
		return;
	}
	p->seen[idx] = line;
	r = apply_key(p->c, k, val, &why);
	if (r < 0)
		report_bad_value(p, line, k, val, r, why);
}

static void apply_override(struct parser *p, const char *o)
{
	_cleanup_free_ char *copy = strdup(o);
	char *eq, *key, *section = "wikifs", *dot;
	const struct conf_key *k;
	const char *why = NULL;
	int r;

	if (!copy)
		return;
	eq = strchr(copy, '=');
	if (!eq) {
		buf_printf(p->errs, "-o %s: expected key=value\n", o);
		p->nerr++;
		return;
	}
	*eq = '\0';
	key = copy;
	dot = strchr(key, '.');
	if (dot) {
		*dot = '\0';
		section = key;
		key = dot + 1;
	}
	k = find_key(section, key, NULL);
	if (!k) {
		buf_printf(p->errs, "-o %s: unknown key '%s' in [%s]\n", o, key, section);
		p->nerr++;
		return;
	}
	r = apply_key(p->c, k, eq + 1, &why);
	if (r < 0) {
		_cleanup_free_ char *where = NULL;
		const char *file = p->file;

		/* "-o retries=0: value ...", like the other -o messages */
		if (asprintf(&where, "-o %s", o) < 0)
			where = NULL;
		p->file = where ? where : "-o";
		report_bad_value(p, 0, k, eq + 1, r, why);
		p->file = file;
	}
}

static int apply_defaults(struct conf *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		const char *why;

		if (apply_key(c, &conf_keys[i], conf_keys[i].def, &why) < 0)
			return -EINVAL; /* a bad default is a bug caught by the unit test */
	}
	return 0;
}

/* Where @section.@name was set in the file, 0 if it was not. */
static unsigned key_line(const struct parser *p, const char *section, const char *name)
{
	size_t idx;

	return find_key(section, name, &idx) ? p->seen[idx] : 0;
}

/* A group's members: configured repositories, each once; at least one. */
static void group_resolve(struct parser *p, struct conf_repo *g)
{
	const struct conf *c = p->c;
	_cleanup_free_ char *names = g->member_names ? strdup(g->member_names) : NULL;
	char *save = NULL;
	unsigned bad = 0;

	if (g->member_names && !names)
		return;
	for (char *n = names ? strtok_r(names, " \t,", &save) : NULL; n;
	     n = strtok_r(NULL, " \t,", &save)) {
		size_t i = 0, *v;

		while (i < c->n_repos && strcmp(c->repos[i].name, n))
			i++;
		if (i == c->n_repos || c->repos[i].group) {
			perr(p, g->line, "[group %s]: %s '%s'", g->name,
			     i == c->n_repos ? "no [repo] called" : "a group cannot hold the group",
			     n);
			bad++;
			continue;
		}
		for (size_t k = 0; k < g->n_members; k++)
			if (g->members[k] == i) {
				perr(p, g->line, "[group %s]: '%s' is listed twice", g->name, n);
				i = SIZE_MAX;
				break;
			}
		if (i == SIZE_MAX)
			continue;
		v = realloc(g->members, (g->n_members + 1) * sizeof(*v));
		if (!v)
			return;
		g->members = v;
		v[g->n_members++] = i;
	}
	if (!g->n_members && !bad)
		perr(p, g->line, "empty group [group %s]: expected repos = NAME ...", g->name);
	if (g->n_members > GROUP_MAX_MEMBERS)
		perr(p, g->line, "[group %s] has %zu repositories, at most %d", g->name,
		     g->n_members, GROUP_MAX_MEMBERS);
}

static void finish(struct parser *p)
{
	struct conf *c = p->c;

	for (size_t i = 0; i < c->n_repos; i++) {
		struct conf_repo *r = &c->repos[i];

		if (r->group)
			group_resolve(p, r);
		else if (!r->url)
			perr(p, r->line, "missing url in [repo %s]", r->name);
		/* "a" and "a/b" cannot both exist: "a" would be a file and a directory */
		for (size_t j = 0; j < c->n_repos; j++) {
			size_t n = strlen(c->repos[j].name);

			if (i != j && !strncmp(r->name, c->repos[j].name, n) && r->name[n] == '/')
				perr(p, r->line, "%s [%s %s] collides with [%s %s]",
				     r->group ? "group" : "repository", r->group ? "group" : "repo",
				     r->name, c->repos[j].group ? "group" : "repo",
				     c->repos[j].name);
		}
	}
	/* empty strings mean "unset" */
	char **opt[] = { &c->log_file, &c->ca_bundle };

	for (size_t i = 0; i < ARRAY_SIZE(opt); i++) {
		if (*opt[i] && !**opt[i]) {
			free(*opt[i]);
			*opt[i] = NULL;
		}
	}
	if (c->cache_dir && c->cache_dir[0] != '/') {
		buf_printf(p->errs, "%s: cache_dir \"%s\" must be an absolute path\n", p->file,
			   c->cache_dir);
		p->nerr++;
	}
	if (c->backend == BACKEND_COMMAND && (!c->command || !*c->command))
		perr(p, key_line(p, "generator", "backend"),
		     "backend = command needs a 'command' in [generator]");
	if ((c->backend == BACKEND_OPENAI || c->backend == BACKEND_ANTHROPIC) &&
	    (!c->model || !*c->model))
		perr(p, key_line(p, "generator", "backend"),
		     "backend = %s needs a 'model' in [generator]", conf_backend_name(c->backend));
	if (c->planner == PLANNER_LLM && c->backend != BACKEND_OPENAI &&
	    c->backend != BACKEND_ANTHROPIC)
		perr(p, key_line(p, "generator", "planner"),
		     "planner = llm needs backend = openai or anthropic");
	if (c->repo_page_workers > c->page_workers)
		c->repo_page_workers = c->page_workers;
	if (c->store == CONF_STORE_POSTGRESQL &&
	    (!c->store_conninfo_env || !*c->store_conninfo_env))
		perr(p, key_line(p, "wikifs", "store"),
		     "store = postgresql needs 'store_conninfo_env', the name of the environment "
		     "variable holding the connection string");
}

int conf_load(struct conf **ret, const char *path, char *const *overrides, size_t n_overrides,
	      struct buf *errs)
{
	struct parser p = { .file = path ? path : "(defaults)", .errs = errs };
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL, *section = NULL, *dir = NULL, *abs = NULL;
	struct conf_repo *repo = NULL;
	bool bad_section = false;
	size_t cap = 0;
	unsigned lineno = 0;

	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return -ENOMEM;
	if (apply_defaults(p.c) < 0) {
		buf_printf(errs, "internal error: a built-in default is invalid\n");
		conf_free(p.c);
		return -EINVAL;
	}
	if (path) {
		f = fopen(path, "re");
		if (!f) {
			int e = errno;

			buf_printf(errs, "%s: cannot read config: %s\n", path, strerror(e));
			conf_free(p.c);
			return -e;
		}
		abs = realpath(path, NULL);
		p.c->path = strdup(abs ? abs : path);
		dir = strdup(abs ? abs : path);
		p.base_dir = dir ? dirname(dir) : NULL;
		while (getline(&line, &cap, f) >= 0) {
			lineno++;
			if (strlen(line) > 4096) {
				perr(&p, lineno, "line too long");
				continue;
			}
			parse_line(&p, line, lineno, &section, &repo, &bad_section);
		}
	}
	for (size_t i = 0; i < n_overrides; i++)
		apply_override(&p, overrides[i]);
	finish(&p);
	if (p.nerr) {
		conf_free(p.c);
		return -EINVAL;
	}
	*ret = p.c;
	return 0;
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		enum conf_type t = conf_keys[i].type;

		if (t == T_STR || t == T_PATH)
			free(*(char **)((char *)c + conf_keys[i].offset));
	}
	for (size_t i = 0; i < c->n_repos; i++) {
		free(c->repos[i].name);
		free(c->repos[i].url);
		free(c->repos[i].ref);
		free(c->repos[i].member_names);
		free(c->repos[i].members);
	}
	free(c->repos);
	free(c->path);
	free(c);
}

int conf_write_sample(struct buf *out)
{
	const char *section = NULL;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(conf_keys) && r == 0; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (!section || strcmp(section, k->section)) {
			section = k->section;
			r = buf_printf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		r = r ?: buf_printf(out, "%-20s = %-18s # %s\n", k->name, k->def, k->doc);
	}
	return r
		   ?: buf_printf(out,
				 "\n[repo OWNER/NAME]                # directory name; one "
				 "slash = two levels\nurl = https://example.org/owner/name.git\n"
				 "ref = main                       # branch or tag; default: the "
				 "remote HEAD\n"
				 "\n# [group NAME]                   # repositories as one wiki\n"
				 "# repos = owner/name owner/other\n");
}
