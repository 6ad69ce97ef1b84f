/* SPDX-License-Identifier: MIT */
/*
 * gen/llm_planner.c: the model's plan answer validated into a plan (wrapped,
 * hostile, malformed, not UTF-8), a plan asked of the fake LLM server
 * through either protocol, and the backend's abort ending the planner's request.
 */
#include "backend.h"
#include "llm-fixture.h"
#include "llm_planner.h"
#include "plan.h"
#include "tap.h"
#include "utf8.h"
#include "utf8-oracle.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

static bool plan_sane(const struct plan *p)
{
	if (p->n < 2 || p->n > PLAN_MAX_PAGES || strcmp(p->pages[0].slug, "Home") ||
	    strcmp(p->pages[p->n - 1].slug, "_Sidebar"))
		return false;
	for (size_t i = 0; i < p->n; i++) {
		const char *s = p->pages[i].slug;

		if (strchr(s, '/') || strstr(s, "..") || strlen(s) > PLAN_MAX_SLUG_LEN || !*s ||
		    s[0] == '.')
			return false;
		for (const char *c = s; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return false;
		for (const char *c = p->pages[i].title; *c; c++)
			if ((unsigned char)*c < 0x20)
				return false;
		for (size_t j = 0; j < i; j++)
			if (!strcasecmp(s, p->pages[j].slug))
				return false;
	}
	return true;
}

static void test_planner_parse(void)
{
	const char *good = "Here is the plan:\n```json\n{\"pages\": ["
			   "{\"title\": \"Storage Engine\", \"slug\": \"Storage-Engine\","
			   " \"description\": \"src/storage: pages and btrees\","
			   " \"files\": [\"src/storage/btree.c\", \"../etc/passwd\", \"/abs\","
			   " \"a/./b\", 7, \"src/storage\", \"src/storage/btree.c\"]},"
			   "{\"title\": \"Query Planner\"}]}\n```\n";
	struct plan *p = NULL;
	struct wf_err e = { { 0 } };
	struct buf hostile;
	int r;

	r = llm_plan_parse(&p, good, strlen(good), "abc123", "llm:m", &e);
	ok(r == 0 && p && p->n == 4, "planner: valid json in a fence -> 4 pages (%s)", e.msg);
	if (r == 0) {
		ok(!strcmp(p->pages[0].slug, "Home") && p->pages[0].kind == PAGE_HOME,
		   "planner: Home first");
		ok(!strcmp(p->pages[1].slug, "Storage-Engine") && p->pages[1].kind == PAGE_CUSTOM &&
		       p->pages[1].arg && !strcmp(p->pages[1].arg, "src/storage: pages and btrees"),
		   "planner: custom page with its description");
		ok(p->pages[1].nfiles == 2 &&
		       !strcmp(p->pages[1].files[0], "src/storage/btree.c") &&
		       !strcmp(p->pages[1].files[1], "src/storage"),
		   "planner: relevant files kept, once each, escaping and absolute ones dropped");
		ok(!strcmp(p->pages[2].slug, "Query-Planner"), "planner: slug from the title");
		ok(!strcmp(p->pages[3].slug, "_Sidebar"), "planner: _Sidebar last");
		is_str(p->planner, "llm:m", "planner name");
		ok(plan_sane(p), "planner: plan is sane");
	}
	plan_unref(p);
	p = NULL;

	buf_init(&hostile, 1 << 20);
	buf_adds(&hostile,
		 "{\"pages\": [{\"slug\": \"../etc\", \"title\": \"x\\u0001y\\nz\"},"
		 "{\"slug\": \"a/b\"}, {\"slug\": \"..\"}, {\"slug\": \"/abs\"},"
		 "{\"slug\": \"ctl\\u0007\\u001bname\"}, {\"slug\": \"Dup\"}, {\"slug\": \"dup\"},"
		 "{\"slug\": \"Home\"}, {\"slug\": \"_Sidebar\"}, {\"slug\": \".hidden\"},"
		 "{\"slug\": \"\"}, {\"title\": 5}, 42, \"str\", {\"slug\": \"");
	for (int i = 0; i < 500; i++)
		buf_addc(&hostile, 'L');
	buf_adds(&hostile, "\"}");
	for (int i = 0; i < 1000; i++)
		buf_printf(&hostile, ",{\"title\": \"Page %d\", \"description\": \"d\"}", i);
	buf_adds(&hostile, "]}");
	r = llm_plan_parse(&p, hostile.data, hostile.len, "abc123", "llm:m", &e);
	ok(r == 0 && p && p->n == PLAN_MAX_PAGES, "planner hostile: clamped to %d pages (%zu)",
	   PLAN_MAX_PAGES, p ? p->n : 0);
	ok(p && plan_sane(p),
	   "planner hostile: every slug sanitized, unique, Home and _Sidebar kept");
	ok(p && plan_find(p, "etc") >= 0 && plan_find(p, "a-b") >= 0 && plan_find(p, "Dup") >= 0 &&
	       plan_find(p, "dup") < 0 && plan_find(p, "..") < 0,
	   "planner hostile: '../etc' -> etc, 'a/b' -> a-b, duplicates dropped");
	plan_unref(p);
	p = NULL;
	buf_done(&hostile);

	static const char *const bad[] = { "no json here", "{\"pages\": [", "{\"pages\": 3}",
					   "[1,2]", "{\"pages\": [{\"slug\": \"..\"}, 5]}" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = llm_plan_parse(&p, bad[i], strlen(bad[i]), "abc123", "llm:m", &e);
		ok(r < 0 && !p, "planner rejects '%s': %d (%s)", bad[i], r, e.msg);
	}
	r = llm_plan_parse(&p, "{\"pages\":[]}\0{", 14, "abc123", "llm:m", &e);
	ok(r < 0 && !p, "planner rejects a NUL byte");
}

/* Raw bytes in the answer that are not UTF-8: titles and descriptions come out UTF-8, bounded. */
static void test_planner_not_utf8(void)
{
	struct plan *p = NULL;
	struct wf_err e = { { 0 } };
	struct buf a;
	int r;

	buf_init(&a, 1 << 16);
	buf_adds(&a, "{\"pages\": [{\"title\": \"caf\xe9 \xed\xa0\x80\", \"slug\": \"Cafe\","
		     " \"description\": \"d\xff\"}, {\"slug\": \"Long\", \"title\": \"");
	for (int i = 0; i < LLM_PLAN_TITLE_MAX - 2; i++)
		buf_addc(&a, 'x');
	buf_adds(&a, "\xff\xff\"}]}");
	r = llm_plan_parse(&p, a.data, a.len, "abc123", "llm:m", &e);
	ok(r == 0 && p && p->n == 4, "planner: an answer with bytes that are not UTF-8 (%s)",
	   e.msg);
	if (r == 0 && p->n == 4) {
		const struct plan_page *cafe = &p->pages[1], *lng = &p->pages[2];

		is_str(cafe->title,
		       "caf" UTF8_REPLACEMENT
		       " " UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT,
		       "planner: each bad byte of a title is U+FFFD");
		is_str(cafe->arg, "d" UTF8_REPLACEMENT, "planner: and of a description");
		ok(strlen(lng->title) == LLM_PLAN_TITLE_MAX - 2 &&
		       oracle_utf8_valid(lng->title, strlen(lng->title)),
		   "planner: a U+FFFD that would pass the title's %d bytes is left out (%zu)",
		   LLM_PLAN_TITLE_MAX, strlen(lng->title));
	}
	plan_unref(p);
	buf_done(&a);
}

static void test_planner_llm(void)
{
	const char *ex[] = { "generator.timeout=5", NULL };
	struct conf *c;
	struct plan *p = NULL, *builtin = make_plan();
	struct gen_usage u = { 0 };
	struct wf_err e = { { 0 } };
	int r;

	setenv(KEYVAR, SECRET, 1);
	fake_script("[{\"mode\":\"content\",\"text\":\"```json\\n{\\\"pages\\\":[{\\\"title\\\":"
		    "\\\"Data Model\\\",\\\"description\\\":\\\"the tables\\\"}]}\\n```\"}]");
	c = make_conf("anthropic", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == 0 && p && p->n == 3 && plan_find(p, "Data-Model") == 1,
	   "llm_plan via anthropic: plan from the answer (%s)", e.msg);
	ok(p && !strcmp(p->planner, "llm:test-model-7"), "llm_plan: planner llm:MODEL");
	ok(u.input_tokens == 123 && u.output_tokens == 45, "llm_plan: usage reported");
	{
		cJSON *reqs = fake_requests();
		const cJSON *body =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reqs, 0), "body");
		const char *sys = jstr(body, "system", NULL);

		ok(sys && strstr(sys, "\"pages\""), "llm_plan: asks for the pages json");
		cJSON_Delete(reqs);
	}
	plan_unref(p);
	p = NULL;
	conf_free(c);

	/* a title that is not UTF-8 (a plan cached by an older wikifs) */
	plan_add(builtin, "Latin", "caf\xe9 \xed\xa0\x80", PAGE_CUSTOM, NULL);
	fake_script("[{\"mode\":\"content\",\"text\":\"{\\\"pages\\\":[{\\\"title\\\":"
		    "\\\"Data Model\\\"}]}\"}]");
	c = make_conf("openai", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == 0, "llm_plan with a title that is not UTF-8 (%s)", e.msg);
	{
		cJSON *reqs = fake_requests();
		const cJSON *body =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reqs, 0), "body");
		char *text = cJSON_IsObject(body) ? cJSON_PrintUnformatted(body) : NULL;

		ok(text &&
		       strstr(text, "- Latin: caf" UTF8_REPLACEMENT
				    " " UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT "\\n"),
		   "llm_plan: the request is JSON the server can decode, U+FFFD for each bad byte");
		free(text);
		cJSON_Delete(reqs);
	}
	plan_unref(p);
	p = NULL;
	conf_free(c);

	fake_script("[\"500\"]");
	c = make_conf("openai", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r < 0 && !p && strstr(e.msg, "500"), "llm_plan: a failing provider is an error (%s)",
	   e.msg);
	conf_free(c);
	fake_script("[{\"mode\":\"content\",\"text\":\"I cannot do that.\"}]");
	c = make_conf("openai", ex);
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == -EBADMSG && !p, "llm_plan: prose answer -> -EBADMSG (%s)", e.msg);
	conf_free(c);
	c = make_conf("command", (const char *const[]){ "generator.command=cat", NULL });
	r = c ? llm_plan(&p, c, "owner/repo", "abc123", NULL, builtin, &u, &e) : -1;
	ok(r == -EINVAL, "llm_plan with backend command: -EINVAL");
	conf_free(c);
	plan_unref(builtin);
}

struct plan_bg {
	const struct conf *c;
	struct plan *builtin;
	int r;
	int64_t end;
	struct wf_err e;
};

static void *plan_bg_run(void *p)
{
	struct plan_bg *pb = p;
	struct plan *plan = NULL;

	pb->r = llm_plan(&plan, pb->c, "owner/repo", "abc123", NULL, pb->builtin, NULL, &pb->e);
	pb->end = now_ms();
	plan_unref(plan);
	return NULL;
}

/* Unmount aborts the backend; the planner's own llm on that provider must stop too. */
static void test_planner_abort(void)
{
	const char *ex[] = { "generator.timeout=60", NULL };
	struct plan_bg pb = { .builtin = make_plan() };
	struct be be;
	pthread_t t;
	int64_t t_abort;

	fake_script("[\"hang\"]");
	if (!be_open(&be, &backend_openai, "openai", ex)) {
		ok(0, "planner abort: backend opens");
		goto out;
	}
	pb.c = be.c;
	pthread_create(&t, NULL, plan_bg_run, &pb);
	ok(wait_requests(1, 10000), "planner abort: the plan request reached the server");
	t_abort = now_ms();
	be.ops->abort(be.state);
	pthread_join(t, NULL);
	ok(pb.r == -ECANCELED && pb.end - t_abort < 1500,
	   "planner abort: the backend's abort ends the planner's request (%lld ms, %s)",
	   (long long)(pb.end - t_abort), pb.e.msg);
	be_close(&be);
out:
	plan_unref(pb.builtin);
}

int main(void)
{
	test_planner_parse();
	test_planner_not_utf8();
	if (!fake_started())
		return done_testing();
	test_planner_llm();
	test_planner_abort();
	return done_testing();
}
