/* SPDX-License-Identifier: MIT */
/*
 * The engine's state machine on a real bare repository, with a scripted
 * backend in place of a generator: single-flight (one generation for many
 * waiters), detach (exactly one side replies), failure backoff, the call
 * budget and cancel. Every wait is on a condition with a deadline; the
 * backend blocks on a gate the test opens, never on a timer.
 *
 * The binary is also the clone helper: "--clone-helper ..." runs
 * clone_helper_main(), as the daemon does.
 */
#include "clone_helper.h"
#include "git-fixture.h"
#include "gitrepo.h"
#include "tap.h"
#include "util.h"
#include "wiki.h"

#include <limits.h>
#include <pthread.h>

/* ---- a scripted backend ---- */

static struct script {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_open;	 /* generate() blocks until the gate is open */
	bool fail;	 /* then fails, permanently, instead of writing */
	unsigned calls;	 /* generate() calls begun */
	unsigned inside; /* blocked at the gate now */
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .gate_open = true };

/* deadline_ts() is on CLOCK_MONOTONIC: so are the test's condition variables */
static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

static int fake_generate(void *state, void *wstate, const struct gen_request *req, struct buf *out,
			 struct gen_usage *usage, struct gen_err *err)
{
	bool fail;

	pthread_mutex_lock(&S.lock);
	S.calls++;
	S.inside++;
	pthread_cond_broadcast(&S.cond);
	while (!S.gate_open)
		pthread_cond_wait(&S.cond, &S.lock);
	S.inside--;
	fail = S.fail;
	pthread_mutex_unlock(&S.lock);
	if (fail) {
		err->retryable = false;
		return wf_err_set(&err->e, -EIO, "scripted failure of '%s'", req->page->slug);
	}
	return buf_printf(out, "# %s at %s\n", req->page->slug, req->commit);
}

static const struct backend_ops fake_ops = {
	.name = "script",
	.prompt_version = "test-1",
	.generate = fake_generate,
};

static void script_set(bool gate_open, bool fail)
{
	pthread_mutex_lock(&S.lock);
	S.gate_open = gate_open;
	S.fail = fail;
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.lock);
}

static unsigned script_calls(void)
{
	unsigned n;

	pthread_mutex_lock(&S.lock);
	n = S.calls;
	pthread_mutex_unlock(&S.lock);
	return n;
}

/* Waits until @n generations are blocked at the gate; false after 10 s. */
static bool script_wait_inside(unsigned n)
{
	struct timespec ts = deadline_ts(now_ms() + 10000);
	bool ok = true;

	pthread_mutex_lock(&S.lock);
	while (S.inside < n && ok)
		ok = pthread_cond_timedwait(&S.cond, &S.lock, &ts) == 0;
	ok = S.inside >= n;
	pthread_mutex_unlock(&S.lock);
	return ok;
}

/* ---- waiters that record their answer ---- */

struct rec {
	struct wiki_waiter wt;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls, err;
};

static void rec_done(struct wiki_waiter *wt, int err)
{
	struct rec *r = (struct rec *)wt;

	pthread_mutex_lock(&r->lock);
	r->calls++;
	r->err = err;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->wt.done = rec_done;
	pthread_mutex_init(&r->lock, NULL);
	cond_init_mono(&r->cond);
}

/* The answer of @r within 10 s, or INT_MIN if none came. */
static int rec_wait(struct rec *r)
{
	struct timespec ts = deadline_ts(now_ms() + 10000);
	int err;

	pthread_mutex_lock(&r->lock);
	while (!r->calls && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
		;
	err = r->calls ? r->err : INT_MIN;
	pthread_mutex_unlock(&r->lock);
	return err;
}

static int rec_calls(struct rec *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->calls;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* ---- the world: a bare repository, a config, a wiki ---- */

static char self_exe[PATH_MAX], *root;

static struct wiki *wiki_up(struct conf **cp, const char *name, const char *extra)
{
	char conf_path[PATH_MAX + 32], text[4096];
	struct wf_err err = { "" };
	struct wiki *w = NULL;
	struct buf errs;
	struct rec r;
	int ret;

	snprintf(conf_path, sizeof(conf_path), "%s/%s.conf", root, name);
	snprintf(text, sizeof(text),
		 "[wikifs]\ncache_dir = %s/cache-%s\nrefresh_interval = 0\npage_workers = 1\n"
		 "repo_page_workers = 1\nretries = 1\n%s\n[repo t/a]\nurl = %s/a.git\n",
		 root, name, extra, root);
	buf_init(&errs, 1 << 16);
	if (fx_write("/", conf_path + 1, text, strlen(text)) < 0 ||
	    conf_load(cp, conf_path, NULL, 0, &errs) < 0 ||
	    wiki_new(&w, *cp, &fake_ops, self_exe, NULL, &err) < 0) {
		diag("setup failed: %s%s", buf_str(&errs), err.msg);
		buf_done(&errs);
		return NULL;
	}
	buf_done(&errs);
	rec_init(&r);
	ret = wiki_repo_want(w, 0, &r.wt);
	if (ret == 1)
		ret = rec_wait(&r);
	if (ret != 0) {
		char why[512];

		wiki_repo_error(w, 0, why, sizeof(why));
		diag("repository not ready (%d): %s", ret, why);
		wiki_free(w);
		return NULL;
	}
	return w;
}

/* A reference to page @i of the current plan (wiki_page_unref it), or NULL. */
static struct wiki_page *page_at(struct wiki *w, size_t i)
{
	struct wiki_page *pages[PLAN_MAX_PAGES], *p = NULL;
	struct plan *plan = NULL;
	int n = wiki_repo_pages(w, 0, &plan, pages);

	for (int k = 0; k < n; k++) {
		if ((size_t)k == i)
			p = pages[k];
		else
			wiki_page_unref(w, pages[k]);
	}
	plan_unref(plan);
	return p;
}

static enum wiki_page_state state_of(struct wiki *w, struct wiki_page *p)
{
	struct wiki_page_info info;

	wiki_page_info(w, p, &info);
	return info.state;
}

/* ---- the cases ---- */

static void test_single_flight(void)
{
	struct conf *c = NULL;
	struct wiki *w = wiki_up(&c, "flight", "");
	struct wiki_page *home;
	struct rec r[8];
	struct wiki_open o;
	int got = 0;

	ok(w, "single-flight: wiki ready");
	if (!w)
		return;
	home = page_at(w, 0);
	is_str(home ? wiki_page_slug(home) : NULL, "Home",
	       "single-flight: the plan starts with Home");
	script_set(false, false);
	for (int i = 0; i < 8; i++) {
		rec_init(&r[i]);
		got += wiki_page_want(w, home, GEN_PRIO_INTERACTIVE, &r[i].wt, &o) == 1;
	}
	is_int(got, 8, "single-flight: eight waiters attached");
	ok(script_wait_inside(1), "single-flight: the generation started");
	is_int(state_of(w, home), WIKI_PAGE_GENERATING, "single-flight: state generating");
	script_set(true, false);
	got = 0;
	for (int i = 0; i < 8; i++)
		got += rec_wait(&r[i]) == 0;
	is_int(got, 8, "single-flight: every waiter answered 0");
	is_int(script_calls(), 1, "single-flight: one generation for eight waiters");
	is_int(state_of(w, home), WIKI_PAGE_READY, "single-flight: state ready");
	ok(wiki_page_want(w, home, GEN_PRIO_INTERACTIVE, NULL, &o) == 0 && o.size > 0,
	   "single-flight: a later want opens the cached page");
	wiki_page_close(w, &o);
	is_int(script_calls(), 1, "single-flight: no generation for the cached page");
	wiki_page_unref(w, home);
	wiki_free(w);
	conf_free(c);
}

static void test_detach(void)
{
	struct conf *c = NULL;
	struct wiki *w = wiki_up(&c, "detach", "");
	unsigned before = script_calls();
	struct wiki_page *p, *q;
	struct rec a, b;

	ok(w, "detach: wiki ready");
	if (!w)
		return;
	p = page_at(w, 1);
	q = page_at(w, 2);
	script_set(false, false);
	rec_init(&a);
	rec_init(&b);
	is_int(wiki_page_want(w, p, GEN_PRIO_INTERACTIVE, &a.wt, NULL), 1,
	       "detach: first waiter attached");
	is_int(wiki_page_want(w, p, GEN_PRIO_INTERACTIVE, &b.wt, NULL), 1,
	       "detach: second waiter attached");
	ok(wiki_waiter_detach(w, &a.wt), "detach: an attached waiter detaches (it owns its reply)");
	ok(!wiki_waiter_detach(w, &a.wt), "detach: a second detach owns nothing");
	ok(script_wait_inside(1), "detach: the job runs on");
	script_set(true, false);
	is_int(rec_wait(&b), 0, "detach: the other waiter gets the page");
	is_int(rec_calls(&a), 0, "detach: the detached waiter is never called");
	is_int(script_calls() - before, 1, "detach: one generation");
	/* a waiter cancelled before it was attached cannot attach any more */
	rec_init(&a);
	wiki_waiter_detach(w, &a.wt);
	is_int(wiki_page_want(w, q, GEN_PRIO_INTERACTIVE, &a.wt, NULL), -EINTR,
	       "detach: a waiter detached before attaching gets -EINTR");
	wiki_page_unref(w, p);
	wiki_page_unref(w, q);
	wiki_free(w);
	conf_free(c);
}

static void test_backoff(void)
{
	struct conf *c = NULL;
	struct wiki *w = wiki_up(&c, "backoff", "failure_backoff = 1\n");
	struct wiki_page_info info;
	struct wiki_page *p;
	struct rec r;
	int64_t t0;

	ok(w, "backoff: wiki ready");
	if (!w)
		return;
	p = page_at(w, 1);
	script_set(true, true);
	rec_init(&r);
	is_int(wiki_page_want(w, p, GEN_PRIO_INTERACTIVE, &r.wt, NULL), 1, "backoff: submitted");
	is_int(rec_wait(&r), -EIO, "backoff: a failed generation answers -EIO");
	wiki_page_info(w, p, &info);
	is_int(info.state, WIKI_PAGE_FAILED, "backoff: the page is failed");
	ok(strstr(info.error, "scripted failure"), "backoff: its error keeps the cause ('%s')",
	   info.error);
	is_int(wiki_page_want(w, p, GEN_PRIO_INTERACTIVE, NULL, NULL), -EIO,
	       "backoff: a want during the backoff fails at once, without a generation");
	t0 = now_ms();
	while (state_of(w, p) == WIKI_PAGE_FAILED && now_ms() - t0 < 10000)
		usleep(10000); /* the backoff is a time: poll the state it decides */
	is_int(state_of(w, p), WIKI_PAGE_ABSENT, "backoff: after failure_backoff, absent");
	script_set(true, false);
	rec_init(&r);
	is_int(wiki_page_want(w, p, GEN_PRIO_INTERACTIVE, &r.wt, NULL), 1,
	       "backoff: then a want tries again");
	is_int(rec_wait(&r), 0, "backoff: and succeeds");
	wiki_page_unref(w, p);
	wiki_free(w);
	conf_free(c);
}

static void test_budget(void)
{
	struct conf *c = NULL;
	struct wiki *w = wiki_up(&c, "budget", "max_calls = 2\n");
	struct wiki_page *p[3];
	int answers = 0;

	ok(w, "budget: wiki ready");
	if (!w)
		return;
	for (size_t i = 0; i < 3; i++)
		p[i] = page_at(w, i);
	script_set(true, false);
	for (size_t i = 0; i < 2; i++) {
		struct rec r;

		rec_init(&r);
		if (wiki_page_want(w, p[i], GEN_PRIO_INTERACTIVE, &r.wt, NULL) == 1)
			answers += rec_wait(&r) == 0;
	}
	is_int(answers, 2, "budget: max_calls = 2 allows two generations");
	is_int(wiki_page_want(w, p[2], GEN_PRIO_INTERACTIVE, NULL, NULL), -EDQUOT,
	       "budget: the third page is refused with -EDQUOT");
	is_int(state_of(w, p[0]), WIKI_PAGE_READY, "budget: generated pages stay readable");
	for (size_t i = 0; i < 3; i++)
		wiki_page_unref(w, p[i]);
	wiki_free(w);
	conf_free(c);
}

static void test_cancel(void)
{
	struct conf *c = NULL;
	struct wiki *w = wiki_up(&c, "cancel", "");
	struct wiki_page *pages[PLAN_MAX_PAGES], *running = NULL;
	struct wf_err err = { "" };
	unsigned calls0 = script_calls();
	struct plan *plan = NULL;
	int n, queued = 0, absent = 0;
	int64_t t0;

	ok(w, "cancel: wiki ready");
	if (!w)
		return;
	n = wiki_repo_pages(w, 0, &plan, pages);
	ok(n > 2, "cancel: %d pages", n);
	script_set(false, false);
	is_int(wiki_prefetch(w, 0, NULL, &err), 0, "cancel: prefetch of the repository");
	ok(script_wait_inside(1), "cancel: one job runs (page_workers = 1)");
	for (int i = 0; i < n; i++) {
		enum wiki_page_state st = state_of(w, pages[i]);

		queued += st == WIKI_PAGE_QUEUED;
		if (st == WIKI_PAGE_GENERATING)
			running = pages[i];
	}
	ok(running, "cancel: the running page is generating");
	is_int(queued, n - 1, "cancel: the other pages are queued");
	is_int(wiki_cancel(w, 0, NULL, &err), 0, "cancel: cancel of the repository");
	for (int i = 0; i < n; i++)
		absent += state_of(w, pages[i]) == WIKI_PAGE_ABSENT;
	is_int(absent, queued, "cancel: every queued page is absent again at once");
	script_set(true, false);
	t0 = now_ms();
	while (running && state_of(w, running) != WIKI_PAGE_READY && now_ms() - t0 < 10000)
		usleep(10000);
	ok(running && state_of(w, running) == WIKI_PAGE_READY,
	   "cancel: the running job was not cancelled: it finishes");
	is_int(script_calls(), calls0 + 1, "cancel: no cancelled page was generated");
	for (int i = 0; i < n; i++)
		wiki_page_unref(w, pages[i]);
	plan_unref(plan);
	wiki_free(w);
	conf_free(c);
}

int main(int argc, char **argv)
{
	char work[PATH_MAX + 16];
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--clone-helper"))
		return clone_helper_main(argc - 2, argv + 2);
	if (system("git --version >/dev/null 2>&1") != 0)
		skip_all("git not found");
	cond_init_mono(&S.cond);
	if (gitrepo_global_init() < 0)
		return 1;
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	root = fx_tmpdir("wiki");
	if (n <= 0 || !root)
		return 1;
	self_exe[n] = '\0';
	snprintf(work, sizeof(work), "%s/work", root);
	fx_writes(work, "README.md", "# A\n\nA repository for the engine tests.\n");
	fx_writes(work, "src/a.c", "int a(void)\n{\n\treturn 1;\n}\n");
	fx_writes(work, "lib/b.py", "def b():\n    return 2\n");
	ok(fx_sh("cd '%s' && git -c init.defaultBranch=main init -q && git add -A && "
		 "git commit -qm one && git clone -q --bare . '%s/a.git'",
		 work, root) == 0,
	   "a bare repository");

	test_single_flight();
	test_detach();
	test_backoff();
	test_budget();
	test_cancel();

	rm_rf(root);
	free(root);
	gitrepo_global_shutdown();
	return done_testing();
}
