/* SPDX-License-Identifier: MIT */
/*
 * Groups: several configured repositories shown as one wiki. A group is a
 * repository of the engine without a clone of its own: its sync clones or
 * fetches each member (through the clone cache, so the clone semaphore and
 * deadlines hold), loads each member's facts, feeds the files the
 * cross-repository analysis wants (analysis/xrepo.h) and plans the group's
 * pages from the result, without any LLM call: Home, _Sidebar,
 * Architecture and one page per related pair of members.
 *
 * The group's "commit" names the members' commits together. A group page's
 * key does not use it: it uses the digest of what the page shows
 * (xrepo_describe()), so a member that moves regenerates exactly the group
 * pages whose material changed, and the others are cache hits.
 */
#include "wiki_int.h"
#include "lang.h"
#include "sha256.h"
#include "util.h"
#include "xrepo.h"

#include <errno.h>
#include <string.h>

#define GROUP_SOURCES_MAX  5000	       /* source files scanned per member */
#define GROUP_SOURCE_BYTES (64u << 20) /* bytes of sources read per member */
#define GROUP_LANGS_MAX	   3

/* "Go, JavaScript": the member's main languages by bytes. */
static void languages_of(const struct facts_file *f, size_t n, char *out, size_t max)
{
	struct {
		const char *name;
		uint64_t bytes;
	} top[16] = { { 0 } };
	size_t ntop = 0, k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		if (!f[i].lang || f[i].binary)
			continue;
		while (j < ntop && strcmp(top[j].name, f[i].lang))
			j++;
		if (j == ntop && ntop < ARRAY_SIZE(top))
			top[ntop++].name = f[i].lang;
		if (j < ntop)
			top[j].bytes += f[i].size;
	}
	out[0] = '\0';
	for (size_t t = 0; t < GROUP_LANGS_MAX; t++) {
		size_t best = SIZE_MAX;

		for (size_t j = 0; j < ntop; j++)
			if (top[j].bytes && (best == SIZE_MAX || top[j].bytes > top[best].bytes))
				best = j;
		if (best == SIZE_MAX)
			break;
		k += (size_t)snprintf(out + k, max - MIN(k, max), "%s%s", t ? ", " : "",
				      top[best].name);
		top[best].bytes = 0;
		if (k >= max)
			break;
	}
}

/* Feeds member @i's wanted files to @x. 0 or -errno with @err set. */
static int feed_member(struct xrepo *x, size_t i, struct repo_facts *facts, const char *name,
		       struct wf_err *err)
{
	const struct facts_file *f;
	size_t n = facts_files(facts, &f), sources = 0;
	uint64_t bytes = 0;
	struct facts_reader *rd = NULL;
	struct buf b;
	int r = facts_reader_new(&rd, facts);

	if (r < 0)
		return wf_err_set(err, r, "group member '%s': cannot read its tree: %s", name,
				  strerror(-r));
	buf_init(&b, XREPO_FILE_MAX + 1);
	for (size_t k = 0; r == 0 && k < n; k++) {
		bool whole = xrepo_wants(f[k].path);

		if (f[k].binary || (!whole && !xrepo_wants_source(f[k].path)))
			continue;
		if (!whole && (sources >= GROUP_SOURCES_MAX || bytes >= GROUP_SOURCE_BYTES))
			continue;
		buf_reset(&b);
		r = facts_reader_read(rd, f[k].path, XREPO_FILE_MAX, &b);
		if (r == -ENOENT || r == -EISDIR || r == -E2BIG) {
			r = 0;
			continue;
		}
		if (r == 0)
			r = xrepo_add_file(x, i, f[k].path, b.data ? b.data : "", b.len);
		sources += !whole;
		bytes += b.len;
	}
	buf_done(&b);
	facts_reader_free(rd);
	return r < 0 ? wf_err_set(err, r, "group member '%s': %s", name, strerror(-r)) : 0;
}

/* Brings member @m up to date and feeds it as member @i; hashes its commit into @h. */
static int sync_member(struct wiki *w, struct wrepo *g, struct wrepo *m, size_t i, unsigned flags,
		       struct xrepo *x, struct sha256 *h, struct wf_err *err)
{
	struct clone_result res;
	struct repo_facts *facts;
	const struct facts_file *f;
	char langs[128];
	size_t n;
	int r;

	memset(&res, 0, sizeof(res));
	r = clone_cache_sync(w->cc, m->cr->url, m->cr->ref, flags, &g->prog, &res, err);
	if (r < 0) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg[0] ? err->msg : strerror(-r));
		return wf_err_set(err, r, "group member '%s': %s", m->cr->name, why);
	}
	if (err->msg[0]) {
		wiki_error_report(w, m->cr->name, err->msg); /* fetch failed, cached clone used */
		err->msg[0] = '\0';
	}
	facts = wiki_repo_facts_get(m, res.git_dir, res.commit, err);
	if (!facts)
		return -EIO;
	n = facts_files(facts, &f);
	languages_of(f, n, langs, sizeof(langs));
	r = xrepo_member_set(x, i, m->cr->name, m->id_url, langs);
	if (r == 0)
		r = feed_member(x, i, facts, m->cr->name, err);
	facts_unref(facts);
	sha256_update(h, m->cr->name, strlen(m->cr->name) + 1);
	sha256_update(h, res.commit, strlen(res.commit) + 1);
	return r;
}

/* "acme/web" -> "web": a member's short name in titles and slugs. */
static const char *short_name(const char *name)
{
	const char *s = strrchr(name, '/');

	return s ? s + 1 : name;
}

static int plan_group(struct plan **ret, const struct xrepo *x, const char *id)
{
	struct plan *p;
	size_t n = xrepo_nmembers(x);
	int r = plan_new(&p, id, "group");

	if (r < 0)
		return r;
	r = plan_add(p, "Home", "Home", PAGE_GROUP_HOME, NULL);
	if (r == 0)
		r = plan_add(p, "_Sidebar", "Sidebar", PAGE_SIDEBAR, NULL);
	if (r == 0)
		r = plan_add(p, "Architecture", "Architecture", PAGE_GROUP_ARCH, NULL);
	for (size_t a = 0; r == 0 && a < n; a++) {
		for (size_t b = a + 1; r == 0 && b < n; b++) {
			const char *na = xrepo_member(x, a)->name, *nb = xrepo_member(x, b)->name;
			_cleanup_free_ char *title = NULL, *arg = NULL, *slug = NULL;

			if (!xrepo_related(x, a, b))
				continue;
			if (asprintf(&title, "%s and %s", short_name(na), short_name(nb)) < 0 ||
			    asprintf(&arg, "%s %s", na, nb) < 0) {
				r = -ENOMEM;
				break;
			}
			slug = plan_slugify(title);
			if (slug && plan_find(p, slug) < 0)
				r = plan_add(p, slug, title, PAGE_GROUP_PAIR, arg);
		}
	}
	if (r == -E2BIG)
		r = 0; /* a big group: the first pairs */
	if (r < 0) {
		plan_unref(p);
		return r;
	}
	*ret = p;
	return 0;
}

int wiki_group_sync(struct wiki *w, struct wrepo *g, unsigned flags, struct plan **plan,
		    struct xrepo **ret, struct clone_result *res, struct wf_err *err)
{
	const struct conf_repo *cr = g->cr;
	struct xrepo *x = NULL;
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX];
	struct sha256 h;
	int r = xrepo_new(&x, cr->n_members);

	if (r < 0)
		return wf_err_set(err, r, "group '%s': %s", cr->name, strerror(-r));
	sha256_init(&h);
	for (size_t i = 0; r == 0 && i < cr->n_members; i++)
		r = sync_member(w, g, &w->repos[cr->members[i]], i, flags, x, &h, err);
	if (r == 0)
		r = xrepo_finish(x);
	if (r == 0) {
		sha256_final(&h, d);
		sha256_to_hex(d, hex);
		memset(res, 0, sizeof(*res));
		snprintf(res->commit, sizeof(res->commit), "%.40s", hex);
		r = plan_group(plan, x, res->commit);
	}
	if (r < 0) {
		xrepo_unref(x);
		if (!err->msg[0])
			wf_err_set(err, r, "group '%s': %s", cr->name, strerror(-r));
		return r;
	}
	*ret = x;
	return 0;
}

void wiki_group_page_digest(const struct xrepo *x, const struct plan *plan,
			    const struct plan_page *pp, char out[SHA256_HEX])
{
	enum xrepo_page page = XREPO_PAGE_HOME;
	uint8_t d[SHA256_LEN];
	size_t a = 0, b = 0;
	struct buf text;
	int r = 0;

	buf_init(&text, 16u << 20);
	if (pp->kind == PAGE_GROUP_ARCH) {
		page = XREPO_PAGE_ARCHITECTURE;
	} else if (pp->kind == PAGE_GROUP_PAIR) {
		page = XREPO_PAGE_PAIR;
		r = xrepo_pair(x, pp->arg, &a, &b);
	}
	/* every page links the others: the page list is part of what it shows */
	for (size_t i = 0; r == 0 && i < plan->n; i++)
		r = buf_printf(&text, "page %s %s\n", plan->pages[i].slug, plan->pages[i].title);
	if (r == 0 && pp->kind != PAGE_SIDEBAR)
		r = xrepo_describe(x, page, a, b, &text);
	if (r < 0) /* unique, so never a wrong hit: the page is made again */
		buf_printf(&text, "error %d %p", r, (const void *)pp);
	sha256_digest(text.data ? text.data : "", text.len, d);
	sha256_to_hex(d, out);
	buf_done(&text);
}
