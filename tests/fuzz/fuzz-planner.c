/* SPDX-License-Identifier: MIT */
/*
 * The LLM planner's answer (untrusted text that becomes file names). The
 * input is the model's answer. Promises checked on every plan accepted:
 * Home first and _Sidebar last, at most PLAN_MAX_PAGES pages, and every
 * slug a safe file name: non-empty, bounded, no '/', no control character,
 * no leading '.' or '_' (except _Sidebar), not "." or "..", strict UTF-8,
 * unique even case-insensitively; titles bounded, strict UTF-8 and free of
 * control bytes; descriptions bounded and strict UTF-8.
 */
#include "fuzz.h"

#include <string.h>
#include <strings.h>

#include "llm_planner.h"

static void check_slug(const char *s)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n > 0 && n <= PLAN_MAX_SLUG_LEN);
	FUZZ_CHECK(!strchr(s, '/'));
	FUZZ_CHECK(strcmp(s, ".") && strcmp(s, ".."));
	FUZZ_CHECK(s[0] != '.');
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
	FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)s, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan *p = NULL;
	struct wf_err err = { { 0 } };
	int r;

	r = llm_plan_parse(&p, (const char *)data, size, "0123456789abcdef", "llm:fuzz", &err);
	if (r < 0) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(err.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(p && p->n >= 2 && p->n <= PLAN_MAX_PAGES);
	FUZZ_CHECK(!strcmp(p->pages[0].slug, "Home") && p->pages[0].kind == PAGE_HOME);
	FUZZ_CHECK(!strcmp(p->pages[p->n - 1].slug, "_Sidebar"));
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_page *pg = &p->pages[i];

		check_slug(pg->slug);
		if (i > 0 && i < p->n - 1) {
			FUZZ_CHECK(pg->slug[0] != '_' && pg->kind == PAGE_CUSTOM);
			FUZZ_CHECK(pg->title && pg->title[0]);
			FUZZ_CHECK(strlen(pg->title) <= LLM_PLAN_TITLE_MAX);
			FUZZ_CHECK(!pg->arg || strlen(pg->arg) <= LLM_PLAN_DESC_MAX);
			for (const char *t = pg->title; *t; t++)
				FUZZ_CHECK((unsigned char)*t >= 0x20 && *t != 0x7f);
			FUZZ_CHECK(
			    fuzz_utf8_valid((const unsigned char *)pg->title, strlen(pg->title)));
			FUZZ_CHECK(!pg->arg || fuzz_utf8_valid((const unsigned char *)pg->arg,
							       strlen(pg->arg)));
		}
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcasecmp(pg->slug, p->pages[k].slug));
	}
	plan_unref(p);
	return 0;
}
