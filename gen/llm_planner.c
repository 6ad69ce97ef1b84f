/* SPDX-License-Identifier: MIT */
/*
 * The LLM planner. The answer of a model is untrusted text that becomes file
 * names, so parsing is strict about structure and forgiving about wrapping:
 * the JSON object may sit inside prose or a ```json fence (models add them),
 * but every entry is checked on its own and a bad one is dropped rather than
 * failing the plan; only an answer with nothing usable is an error.
 */
#include "llm_planner.h"
#include "llm.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#define PLAN_ANSWER_MAX	  (1u << 20)
#define PLAN_FILES_SHOWN  400
#define PLAN_README_BYTES 8192

static const char planner_system[] =
    "You design the page list of a GitHub-style wiki for a source code repository. "
    "Answer with one JSON object and nothing else, of the form\n"
    "{\"pages\": [{\"title\": \"Human title\", \"slug\": \"File-Name\", "
    "\"description\": \"what the page covers, which directories and files\", "
    "\"files\": [\"path/of/a/relevant/file\", \"a/directory\"]}]}\n"
    "List in \"files\" up to 20 repository paths, from the files shown, that the page "
    "is about.\n"
    "Slugs use letters, digits and '-' only. Plan 5 to 20 pages: architecture, the "
    "significant modules, build and test, and whatever else this repository needs. "
    "The pages Home and _Sidebar exist already: do not list them.\n";

/* Copies @s with control characters as spaces, at most @max bytes, whole characters (utf8.h). */
static char *clean_text(const char *s, size_t max)
{
	struct buf b;
	char *out;
	size_t k;

	buf_init(&b, SIZE_MAX);
	if (utf8_sanitize(&b, s, strlen(s), " ", max) < 0) {
		buf_done(&b);
		return NULL;
	}
	out = buf_steal(&b, &k);
	if (!out)
		return NULL;
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
	return out;
}

static bool slug_taken(const struct plan *p, const char *slug)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcasecmp(p->pages[i].slug, slug))
			return true;
	return false;
}

static const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Adds one entry if it is usable: 1 added, 0 dropped, -errno. */
static int add_entry(struct plan *p, const cJSON *e)
{
	const char *title = json_str(e, "title"), *slug = json_str(e, "slug");
	const char *desc = json_str(e, "description");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(e, "files"), *f;
	_cleanup_free_ char *s = NULL, *t = NULL, *d = NULL;
	int r;

	if (!cJSON_IsObject(e) || (!title && !slug))
		return 0;
	s = plan_slugify(slug ? slug : title);
	/* "_Sidebar", "_Footer": GitHub's special pages are ours to make */
	if (!s || s[0] == '_' || s[0] == '.' || slug_taken(p, s))
		return 0;
	t = clean_text(title ? title : s, LLM_PLAN_TITLE_MAX);
	d = desc ? clean_text(desc, LLM_PLAN_DESC_MAX) : NULL;
	if (!t || (desc && !d))
		return -ENOMEM;
	r = plan_add(p, s, t[0] ? t : s, PAGE_CUSTOM, d && d[0] ? d : NULL);
	cJSON_ArrayForEach(f, files)
	{
		if (r == 0 && cJSON_IsString(f))
			r = plan_page_add_file(p, p->n - 1, f->valuestring) < 0 ? -ENOMEM : 0;
	}
	return r < 0 ? r : 1;
}

int llm_plan_parse(struct plan **ret, const char *text, size_t len, const char *commit,
		   const char *planner, struct wf_err *err)
{
	_cleanup_free_ char *copy = NULL;
	const char *start, *end = NULL;
	const cJSON *pages, *e;
	struct plan *p = NULL;
	cJSON *root;
	size_t added = 0;
	int r;

	copy = strndup(text, len);
	if (!copy)
		return wf_err_set(err, -ENOMEM, "out of memory");
	if (strlen(copy) != len)
		return wf_err_set(err, -EBADMSG, "plan answer holds a NUL byte");
	start = strchr(copy, '{');
	if (!start)
		return wf_err_set(err, -EBADMSG, "plan answer holds no json object");
	root = cJSON_ParseWithOpts(start, &end, false);
	if (!root)
		return wf_err_set(err, -EBADMSG, "malformed json in the plan answer at byte %zu",
				  end && end >= copy ? (size_t)(end - copy) : 0);
	pages = cJSON_GetObjectItemCaseSensitive(root, "pages");
	if (!cJSON_IsArray(pages)) {
		r = wf_err_set(err, -EBADMSG, "plan answer has no \"pages\" array");
		goto out_free_json;
	}
	r = plan_new(&p, commit, planner);
	if (r < 0) {
		wf_err_set(err, r, "out of memory");
		goto out_free_json;
	}
	r = plan_add(p, "Home", "Home", PAGE_HOME, NULL);
	cJSON_ArrayForEach(e, pages)
	{
		if (r < 0 || p->n >= PLAN_MAX_PAGES - 1)
			break; /* the rest is dropped: keep room for _Sidebar */
		r = add_entry(p, e);
		if (r > 0) {
			added++;
			r = 0;
		}
	}
	r = r ?: plan_add(p, "_Sidebar", "Sidebar", PAGE_SIDEBAR, NULL);
	if (r < 0) {
		wf_err_set(err, r, "cannot build the plan: %s", strerror(-r));
	} else if (added == 0) {
		r = wf_err_set(err, -ENODATA, "plan answer lists no usable page");
	} else {
		*ret = TAKE_PTR(p);
	}
	plan_unref(p);
out_free_json:
	cJSON_Delete(root);
	return r;
}

/* A name in the prompt: control characters as '?', at most @max bytes (utf8.h). */
static void add_clean_line(struct buf *b, const char *s, size_t max)
{
	if (s)
		utf8_sanitize(b, s, strnlen(s, max + 3), "?", max);
}

static int planner_prompt(struct buf *u, const char *repo_name, const char *commit,
			  struct repo_facts *facts, const struct plan *builtin)
{
	buf_printf(u, "Repository: ");
	add_clean_line(u, repo_name, 256);
	buf_printf(u, "\nCommit: %s\n", commit);
	if (builtin && builtin->n) {
		buf_adds(u, "\nA plan made without reading the code, to improve on:\n");
		for (size_t i = 0; i < builtin->n; i++) {
			buf_printf(u, "- %s: ", builtin->pages[i].slug);
			add_clean_line(u, builtin->pages[i].title, 200);
			buf_addc(u, '\n');
		}
	}
	if (facts) {
		const struct facts_file *files;
		size_t n = facts_files(facts, &files);
		struct buf readme;

		buf_printf(u, "\nFiles (%zu):\n", n);
		for (size_t i = 0; i < n && i < PLAN_FILES_SHOWN; i++) {
			buf_adds(u, "- ");
			add_clean_line(u, files[i].path, 512);
			buf_addc(u, '\n');
		}
		buf_init(&readme, PLAN_README_BYTES);
		for (size_t i = 0; i < n; i++) {
			if (!strchr(files[i].path, '/') &&
			    !strncasecmp(files[i].path, "readme", 6) &&
			    facts_read_file(facts, files[i].path, PLAN_README_BYTES, &readme) ==
				0) {
				buf_printf(u, "\n%s:\n", files[i].path);
				utf8_sanitize(u, buf_str(&readme), readme.len, NULL, SIZE_MAX);
				buf_addc(u, '\n');
				break;
			}
		}
		buf_done(&readme);
	}
	/* the budget is generous; a cut prompt is still a usable prompt */
	return buf_adds(u, "\nAnswer with the JSON object only.\n") == -ENOMEM ? -ENOMEM : 0;
}

/* Drops the relevant files the model named that the tree does not have. */
static void keep_known_files(struct plan *p, const struct repo_facts *facts)
{
	for (size_t i = 0; i < p->n; i++) {
		struct plan_page *pg = &p->pages[i];
		size_t k = 0, first;

		for (size_t j = 0; j < pg->nfiles; j++) {
			if (facts && (facts_find_file(facts, pg->files[j]) >= 0 ||
				      facts_dir_range(facts, pg->files[j], &first) > 0))
				pg->files[k++] = pg->files[j];
			else
				free(pg->files[j]);
		}
		pg->nfiles = k;
	}
}

int llm_plan(struct plan **ret, const struct conf *c, const char *repo_name, const char *commit,
	     struct repo_facts *facts, const struct plan *builtin, struct gen_usage *usage,
	     struct wf_err *err)
{
	_cleanup_free_ char *planner = NULL;
	struct gen_usage u = { 0 };
	struct http_client *h = NULL;
	struct gen_err gerr = { 0 };
	struct llm *l = NULL;
	struct buf prompt, answer;
	int r;

	if (c->backend != BACKEND_OPENAI && c->backend != BACKEND_ANTHROPIC)
		return wf_err_set(err, -EINVAL,
				  "planner = llm needs backend openai or anthropic, "
				  "not '%s'",
				  conf_backend_name(c->backend));
	if (asprintf(&planner, "llm:%s", c->model ? c->model : "") < 0)
		return wf_err_set(err, -ENOMEM, "out of memory");
	r = llm_new(&l, c, c->backend, err);
	if (r < 0)
		return r;
	r = llm_worker_new(l, &h);
	if (r < 0) {
		llm_free(l);
		return wf_err_set(err, r, "cannot create an http client");
	}
	buf_init(&prompt, 256 << 10);
	buf_init(&answer, PLAN_ANSWER_MAX);
	r = planner_prompt(&prompt, repo_name, commit, facts, builtin);
	if (r < 0) {
		wf_err_set(err, r, "out of memory");
		goto out_free;
	}
	r = llm_complete(l, h, planner_system, buf_str(&prompt), &answer, &u, &gerr);
	if (usage) {
		usage->input_tokens += u.input_tokens;
		usage->output_tokens += u.output_tokens;
	}
	if (r < 0) {
		wf_err_set(err, r, "llm planner: %s", gerr.e.msg);
		goto out_free;
	}
	r = llm_plan_parse(ret, answer.data, answer.len, commit, planner, err);
	if (r == 0)
		keep_known_files(*ret, facts);
out_free:
	buf_done(&answer);
	buf_done(&prompt);
	http_client_free(h);
	llm_free(l);
	return r;
}
