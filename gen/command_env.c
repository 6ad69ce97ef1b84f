/* SPDX-License-Identifier: MIT */
/*
 * The environment of a generator command; see command_env.h. The plan is
 * written as JSON with cJSON; the deps file is read back bounded and every
 * path in it is checked against the commit's files, since it names what
 * the page will be said to depend on.
 */
#include "command_env.h"
#include "fsutil.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

extern char **environ;

static const char *const var_names[COMMAND_ENV_VARS] = {
	"WIKIFS_TREE",	     "WIKIFS_REPO",	"WIKIFS_COMMIT", "WIKIFS_PAGE",
	"WIKIFS_PAGE_TITLE", "WIKIFS_LANGUAGE", "WIKIFS_PLAN",	 "WIKIFS_DEPS",
};

/* One page of plan.json. */
static cJSON *page_json(const struct plan_page *pg)
{
	cJSON *o = cJSON_CreateObject(), *files = cJSON_CreateArray();
	bool ok = o && files;

	ok = ok && cJSON_AddStringToObject(o, "slug", pg->slug);
	ok = ok && cJSON_AddStringToObject(o, "title", pg->title);
	ok = ok && cJSON_AddStringToObject(o, "kind", plan_kind_name(pg->kind));
	if (ok && pg->arg)
		ok = cJSON_AddStringToObject(o, pg->kind == PAGE_MODULE ? "directory" : "purpose",
					     pg->arg);
	for (size_t i = 0; ok && i < pg->nfiles; i++)
		ok = cJSON_AddItemToArray(files, cJSON_CreateString(pg->files[i]));
	if (ok && cJSON_AddItemToObject(o, "files", files))
		return o;
	cJSON_Delete(files);
	cJSON_Delete(o);
	return NULL;
}

static int write_plan(const char *path, const struct gen_request *req, const struct conf *c)
{
	cJSON *root = cJSON_CreateObject(), *pages = cJSON_CreateArray();
	bool ok = root && pages;
	char *text = NULL;
	int r = -ENOMEM;

	ok = ok && cJSON_AddStringToObject(root, "repository", req->repo_name ?: "");
	ok = ok && cJSON_AddStringToObject(root, "commit", req->commit ?: "");
	ok = ok && cJSON_AddStringToObject(root, "language", c->language ?: "en");
	if (ok && req->plan && req->plan->notes)
		ok = cJSON_AddStringToObject(root, "notes", req->plan->notes);
	if (ok && req->page)
		ok = cJSON_AddStringToObject(root, "page", req->page->slug);
	for (size_t i = 0; ok && req->plan && i < req->plan->n; i++) {
		cJSON *pg = page_json(&req->plan->pages[i]);

		ok = pg && cJSON_AddItemToArray(pages, pg);
		if (!pg)
			break;
	}
	if (ok && cJSON_AddItemToObject(root, "pages", pages)) {
		pages = NULL;
		text = cJSON_Print(root);
	}
	if (text)
		r = write_new(path, text, strlen(text), 0644); /* scratch: no fsync */
	free(text);
	cJSON_Delete(pages);
	cJSON_Delete(root);
	return r;
}

/* environ without the variables we set, then ours. */
/* Whether environ entry @e is variable @name. */
static bool is_var(const char *e, const char *name)
{
	size_t len = strlen(name);

	return len && !strncmp(e, name, len) && e[len] == '=';
}

/*
 * Whether environ entry @e stays out of the command's environment: an
 * inherited WIKIFS_* of ours, or the shared store's secrets (its libpq
 * connection string, libpq's password variable), which no generator needs.
 */
static bool withheld(const char *e, const struct conf *c)
{
	for (int v = 0; v < COMMAND_ENV_VARS; v++)
		if (is_var(e, var_names[v]))
			return true;
	return c->store != CONF_STORE_NONE &&
	       ((c->store_conninfo_env && is_var(e, c->store_conninfo_env)) ||
		is_var(e, "PGPASSWORD"));
}

static char **make_envp(char *const vars[COMMAND_ENV_VARS], const struct conf *c)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + COMMAND_ENV_VARS + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!withheld(environ[i], c))
			env[k++] = environ[i];
	for (int v = 0; v < COMMAND_ENV_VARS; v++)
		env[k++] = vars[v];
	return env;
}

int command_env_init(struct command_env *ce, const struct gen_request *req, const struct conf *c,
		     const char *tree, struct wf_err *err)
{
	const char *tmpdir = getenv("TMPDIR");
	const char *val[COMMAND_ENV_VARS];
	int r;

	memset(ce, 0, sizeof(*ce));
	if (!tmpdir || tmpdir[0] != '/')
		tmpdir = "/tmp";
	r = pathf(ce->dir, sizeof(ce->dir), "%s/wikifs-run.XXXXXX", tmpdir);
	if (r < 0 || !mkdtemp(ce->dir)) {
		r = r < 0 ? r : -errno;
		ce->dir[0] = '\0';
		return wf_err_set(err, r, "cannot create a run directory in '%s': %s", tmpdir,
				  strerror(-r));
	}
	snprintf(ce->plan, sizeof(ce->plan), "%s/plan.json", ce->dir);
	snprintf(ce->deps, sizeof(ce->deps), "%s/deps", ce->dir);
	r = write_plan(ce->plan, req, c);
	if (r < 0)
		return wf_err_set(err, r, "cannot write '%s': %s", ce->plan, strerror(-r));
	val[0] = tree;
	val[1] = req->repo_name ?: "";
	val[2] = req->commit ?: "";
	val[3] = req->page ? req->page->slug : "";
	val[4] = req->page ? req->page->title : "";
	val[5] = c->language ?: "en";
	val[6] = ce->plan;
	val[7] = ce->deps;
	for (int v = 0; v < COMMAND_ENV_VARS; v++)
		if (asprintf(&ce->vars[v], "%s=%s", var_names[v], val[v]) < 0) {
			ce->vars[v] = NULL;
			return wf_err_set(err, -ENOMEM, "out of memory");
		}
	ce->envp = make_envp(ce->vars, c);
	return ce->envp ? 0 : wf_err_set(err, -ENOMEM, "out of memory");
}

/* @line as a repository path, or NULL: trimmed, "./" and "@tree/" taken off, checked. */
static const char *dep_path(char *line, const struct gen_request *req, const char *tree)
{
	size_t n = strlen(line), tl = strlen(tree);
	size_t first;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '/'))
		line[--n] = '\0';
	while (*line == ' ')
		line++;
	if (tl && !strncmp(line, tree, tl) && line[tl] == '/')
		line += tl + 1;
	while (!strncmp(line, "./", 2))
		line += 2;
	if (!*line || *line == '/' || !strcmp(line, ".") || strstr(line, "../") ||
	    !strcmp(line, "..") || strstr(line, "/./") || strstr(line, "//"))
		return NULL;
	for (const char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return NULL;
	if (req->facts && facts_find_file(req->facts, line) < 0 &&
	    facts_dir_range(req->facts, line, &first) == 0)
		return NULL; /* not in the tree */
	return line;
}

char *command_env_deps(const struct command_env *ce, const struct gen_request *req,
		       const char *tree)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	struct buf out;
	size_t kept = 0;

	if (!ce->dir[0] || read_file(ce->deps, COMMAND_DEPS_MAX_BYTES, &text, NULL) < 0)
		return NULL; /* none, or too large to be a list of what it read */
	buf_init(&out, COMMAND_DEPS_MAX_BYTES + 1);
	for (line = strtok_r(text, "\n", &save); line && kept < COMMAND_DEPS_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p = dep_path(line, req, tree);
		size_t len = p ? strlen(p) : 0;
		bool seen = false;

		for (const char *s = buf_str(&out); p && *s && !seen; s = strchr(s, '\n') + 1)
			seen = !strncmp(s, p, len) && s[len] == '\n';
		if (!p || seen || buf_printf(&out, "%s\n", p) < 0)
			continue;
		kept++;
	}
	if (kept == 0) {
		buf_done(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

void command_env_done(struct command_env *ce)
{
	for (int v = 0; v < COMMAND_ENV_VARS; v++)
		free(ce->vars[v]);
	free(ce->envp);
	if (ce->dir[0])
		rm_rf(ce->dir);
	memset(ce, 0, sizeof(*ce));
}
