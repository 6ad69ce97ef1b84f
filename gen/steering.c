/* SPDX-License-Identifier: MIT */
/*
 * Steering files; see steering.h. The file is untrusted: it is read
 * bounded, parsed with cJSON, checked whole (types, counts, lengths) before
 * anything of it reaches the plan, and its titles and paths go through the
 * plan's own sanitising (plan_slugify, plan_page_add_file).
 */
#include "steering.h"
#include "gitrepo.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <cJSON.h>

#define TITLE_MAX   200
#define PURPOSE_MAX 2000

static const char *const steering_files[] = { ".wikifs.json", ".devin/wiki.json" };

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Checks the whole document; 0 or -EINVAL with @err saying where. */
static int check(const cJSON *root, const char *file, struct wf_err *err)
{
	const cJSON *pages = cJSON_GetObjectItemCaseSensitive(root, "pages");
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(root, "repo_notes");
	const cJSON *list = cJSON_IsArray(notes) ? notes : NULL, *pg, *n;
	int i = 0;

	if (!cJSON_IsObject(root))
		return wf_err_set(err, -EINVAL, "'%s': not a json object", file);
	if (notes && !cJSON_IsString(notes) && !cJSON_IsArray(notes))
		return wf_err_set(err, -EINVAL, "'%s': \"repo_notes\" must be a list", file);
	cJSON_ArrayForEach(n, list)
	{
		if (!cJSON_IsString(n) && !(cJSON_IsObject(n) && str_of(n, "content")))
			return wf_err_set(err, -EINVAL,
					  "'%s': repo_notes[%d] must have a \"content\" string",
					  file, i);
		i++;
	}
	if (pages && !cJSON_IsArray(pages))
		return wf_err_set(err, -EINVAL, "'%s': \"pages\" must be a list", file);
	if (cJSON_GetArraySize(pages) > STEERING_MAX_PAGES)
		return wf_err_set(err, -EINVAL, "'%s': more than %d pages", file,
				  STEERING_MAX_PAGES);
	i = 0;
	cJSON_ArrayForEach(pg, pages)
	{
		const cJSON *files = cJSON_GetObjectItemCaseSensitive(pg, "files"), *f;
		const char *title = str_of(pg, "title");

		if (!cJSON_IsObject(pg) || !title || !*title || strlen(title) > TITLE_MAX)
			return wf_err_set(err, -EINVAL,
					  "'%s': pages[%d] needs a \"title\" string of 1 to %d "
					  "bytes",
					  file, i, TITLE_MAX);
		if ((cJSON_GetObjectItemCaseSensitive(pg, "purpose") && !str_of(pg, "purpose")) ||
		    (cJSON_GetObjectItemCaseSensitive(pg, "parent") && !str_of(pg, "parent")))
			return wf_err_set(err, -EINVAL,
					  "'%s': pages[%d]: \"purpose\" and \"parent\" must be "
					  "strings",
					  file, i);
		if (files && !cJSON_IsArray(files))
			return wf_err_set(err, -EINVAL, "'%s': pages[%d]: \"files\" must be a list",
					  file, i);
		cJSON_ArrayForEach(f, files)
		{
			if (!cJSON_IsString(f))
				return wf_err_set(err, -EINVAL,
						  "'%s': pages[%d]: \"files\" must hold strings",
						  file, i);
		}
		i++;
	}
	return 0;
}

/* repo_notes as one text, each note a paragraph. */
static int apply_notes(struct plan *p, const cJSON *root)
{
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(root, "repo_notes"), *n;
	const cJSON *list = cJSON_IsArray(notes) ? notes : NULL;
	struct buf b;
	int r = 0;

	if (!notes)
		return 0;
	buf_init(&b, PLAN_MAX_NOTES);
	if (cJSON_IsString(notes))
		buf_adds(&b, notes->valuestring);
	cJSON_ArrayForEach(n, list)
	{
		const char *s = cJSON_IsString(n) ? n->valuestring : str_of(n, "content");

		if (b.len)
			buf_adds(&b, "\n\n");
		if (buf_adds(&b, s) < 0)
			break; /* past PLAN_MAX_NOTES: the rest is dropped */
	}
	r = plan_set_notes(p, buf_str(&b));
	buf_done(&b);
	return r;
}

/* The files of @pg that exist in the tree, added to page @idx. */
static int apply_files(struct plan *p, size_t idx, const cJSON *pg, const char *git_dir,
		       struct wf_err *err)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(pg, "files"), *f;
	const char *paths[PLAN_MAX_PAGE_FILES];
	bool exists[PLAN_MAX_PAGE_FILES];
	char trimmed[PLAN_MAX_PAGE_FILES][PLAN_MAX_PATH_LEN + 1];
	size_t n = 0;
	int r;

	cJSON_ArrayForEach(f, files)
	{
		size_t len = strlen(f->valuestring);

		if (n >= PLAN_MAX_PAGE_FILES)
			break;
		if (len == 0 || len > PLAN_MAX_PATH_LEN)
			continue;
		memcpy(trimmed[n], f->valuestring, len + 1);
		while (len > 1 && trimmed[n][len - 1] == '/')
			trimmed[n][--len] = '\0'; /* "docs/" names the directory */
		paths[n] = trimmed[n];
		n++;
	}
	if (n == 0)
		return 0;
	r = gitrepo_paths_exist(git_dir, p->commit, paths, n, exists, err);
	for (size_t i = 0; i < n && r == 0; i++)
		if (exists[i])
			r = plan_page_add_file(p, idx, paths[i]) < 0 ? -ENOMEM : 0;
	return r;
}

static int apply_pages(struct plan *p, const cJSON *root, const char *git_dir, struct wf_err *err)
{
	const cJSON *pages = cJSON_GetObjectItemCaseSensitive(root, "pages"), *pg;
	int r = 0;

	cJSON_ArrayForEach(pg, pages)
	{
		_cleanup_free_ char *slug = plan_slugify(str_of(pg, "title"));
		const char *purpose = str_of(pg, "purpose");
		char desc[PURPOSE_MAX + 1] = "";
		struct buf b;
		int idx;

		if (!slug || slug[0] == '_')
			continue; /* nothing usable, or one of GitHub's special pages */
		buf_init(&b, PURPOSE_MAX);
		if (purpose)
			utf8_sanitize(&b, purpose, strlen(purpose), " ", PURPOSE_MAX);
		snprintf(desc, sizeof(desc), "%s", buf_str(&b));
		buf_done(&b);
		idx = plan_find(p, slug);
		if (idx < 0) {
			r = plan_add(p, slug, str_of(pg, "title"), PAGE_CUSTOM,
				     desc[0] ? desc : NULL);
			if (r == -E2BIG)
				return 0; /* the plan is full */
			idx = (int)p->n - 1;
		}
		r = r ?: apply_files(p, (size_t)idx, pg, git_dir, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int steering_apply(struct plan *p, const char *git_dir, const char *commit, struct wf_err *err)
{
	const char *file = NULL;
	const char *end = NULL;
	struct buf text;
	cJSON *root;
	int r = -ENOENT;

	buf_init(&text, STEERING_MAX_BYTES + 1);
	for (size_t i = 0; i < ARRAY_SIZE(steering_files) && r == -ENOENT; i++) {
		file = steering_files[i];
		r = gitrepo_read_blob(git_dir, commit, file, STEERING_MAX_BYTES, &text, err);
	}
	if (r == -ENOENT || r == -EISDIR) {
		buf_done(&text);
		return 0;
	}
	if (r < 0) {
		buf_done(&text);
		return r == -EFBIG ? wf_err_set(err, r, "'%s': larger than %u bytes", file,
						STEERING_MAX_BYTES)
				   : r;
	}
	root = cJSON_ParseWithLengthOpts(buf_str(&text), text.len, &end, false);
	if (!root)
		r = wf_err_set(err, -EINVAL, "'%s': malformed json at byte %zu", file,
			       end ? (size_t)(end - buf_str(&text)) : 0);
	else
		r = check(root, file, err);
	r = r ?: apply_notes(p, root);
	r = r ?: apply_pages(p, root, git_dir, err);
	cJSON_Delete(root);
	buf_done(&text);
	return r;
}

int steering_prompt_rules(struct buf *system, const struct plan *p, const struct conf *c)
{
	int r = buf_printf(system,
			   "- Write the page in the language \"%s\"; file names, slugs, links, "
			   "identifiers and code stay as they are.\n",
			   c->language ? c->language : "en");

	if (r == 0 && p && p->notes)
		r = buf_printf(
		    system, "\nThe repository's maintainers give these notes for its wiki:\n%s\n",
		    p->notes);
	return r;
}
