/* SPDX-License-Identifier: MIT */
/*
 * cache/page_cache: keys, atomic commit, verification on first open, corrupt
 * entries dropped, stale temp files removed at start, LRU eviction within
 * the byte budget that never evicts a pinned (open or just committed) entry,
 * and the index rebuilt from disk after a restart.
 */
#include "page_cache.h"
#include "fsutil.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static char dir[256];

static void key_of(struct page_key *k, const char *slug)
{
	struct page_key_parts p = { .url = "file:///r",
				    .commit = "abc",
				    .slug = slug,
				    .backend = "builtin",
				    .model = "",
				    .prompt_version = "1" };

	page_cache_key(k, &p);
}

static char *entry_file(const struct page_key *k)
{
	char *p;

	if (asprintf(&p, "%s/pages/%.2s/%s", dir, k->hex, k->hex) < 0)
		return NULL;
	return p;
}

static int read_back(struct page_cache *pc, const struct page_key *k, char *out, size_t n)
{
	uint64_t size;
	int fd, r = page_cache_open(pc, k, &fd, &size);

	if (r < 0)
		return r;
	r = (int)pread(fd, out, MIN(n - 1, size), PAGE_CACHE_HDR_LEN);
	out[r > 0 ? r : 0] = '\0';
	close(fd);
	page_cache_unpin(pc, k);
	return r;
}

static void test_keys(void)
{
	struct page_key a, b, c;
	struct page_key_parts p = { .url = "u",
				    .commit = "c",
				    .slug = "Home",
				    .backend = "b",
				    .model = "m",
				    .prompt_version = "1" };

	page_cache_key(&a, &p);
	page_cache_key(&b, &p);
	p.prompt_version = "2";
	page_cache_key(&c, &p);
	is_str(a.hex, b.hex, "the same parts give the same key");
	ok(strcmp(a.hex, c.hex), "a new prompt version gives a new key");
	p.prompt_version = "1";
	p.slug = "Hom";
	p.backend = "eb";
	page_cache_key(&c, &p);
	ok(strcmp(a.hex, c.hex), "fields are separated (no 'Home'+'b' == 'Hom'+'eb')");
	p.slug = "Home";
	p.backend = "b";
	p.repo = "acme/two";
	page_cache_key(&c, &p);
	ok(strcmp(a.hex, c.hex), "two repository names of one URL give two keys");
	is_int(strlen(a.hex), 64, "a key is 64 hex digits");
}

static void test_commit_verify(void)
{
	struct page_cache *pc;
	struct page_key k;
	char buf[256], *path;
	uint64_t size;
	int fd;

	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "new cache");
	key_of(&k, "Home");
	is_int(page_cache_lookup(pc, &k, &size), -ENOENT, "missing at first");
	is_int(page_cache_commit(pc, &k, "# Home\nhello\n", 13), 0, "commit");
	page_cache_unpin(pc, &k);
	is_int(page_cache_lookup(pc, &k, &size), 0, "present after commit");
	is_int(size, 13, "with its content size");
	is_int(read_back(pc, &k, buf, sizeof(buf)), 13, "read back");
	is_str(buf, "# Home\nhello\n", "the same bytes");
	path = entry_file(&k);
	struct stat st;

	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "entry file is 0600");
	page_cache_free(pc);

	/* corrupt one byte of the content: a new process finds it on first open */
	fd = open(path, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, PAGE_CACHE_HDR_LEN + 2) == 1, "corrupted a byte");
	close(fd);
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "reopen");
	is_int(page_cache_lookup(pc, &k, &size), 0, "the index lists it (no I/O yet)");
	is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT, "verification rejects it");
	ok(access(path, F_OK) < 0, "and removes the file");
	is_int(page_cache_lookup(pc, &k, &size), -ENOENT, "so it reads as missing: regenerate");
	struct page_cache_stats s;

	page_cache_stats(pc, &s);
	is_int(s.corrupt, 1, "counted as corrupt");

	/* a truncated entry is corrupt too */
	is_int(page_cache_commit(pc, &k, "0123456789", 10), 0, "commit again");
	page_cache_unpin(pc, &k);
	page_cache_free(pc);
	ok(truncate(path, PAGE_CACHE_HDR_LEN + 4) == 0, "truncated the entry");
	page_cache_new(&pc, dir, 1 << 20);
	is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT, "a truncated entry is rejected");
	page_cache_free(pc);
	free(path);
}

static void test_temps_and_restart(void)
{
	struct page_cache *pc;
	struct page_key k;
	char tmp[512], buf[64];

	snprintf(tmp, sizeof(tmp), "%s/pages/ab/abcdef.tmp.123456", dir);
	ok(write_atomic(tmp, NULL, 0, "junk", 4, 0600) == 0 || access(tmp, F_OK) == 0,
	   "planted a stale temp file");
	ok(access(tmp, F_OK) == 0, "it exists");
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "start");
	ok(access(tmp, F_OK) < 0, "stale temp files are removed at start");
	key_of(&k, "Persist");
	page_cache_commit(pc, &k, "kept", 4);
	page_cache_unpin(pc, &k);
	page_cache_free(pc);
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "restart");
	is_int(read_back(pc, &k, buf, sizeof(buf)), 4, "an entry survives a restart");
	page_cache_free(pc);
}

static void test_eviction(void)
{
	struct page_cache *pc;
	struct page_key k[6];
	char page[400 * 1024];
	char slug[16];
	uint64_t size;
	int fd;

	rm_rf(dir);
	mkdir(dir, 0700);
	memset(page, 'x', sizeof(page));
	/* budget 1 MiB, pages of 400 KiB: at most two fit */
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "cache with a 1 MiB budget");
	for (int i = 0; i < 6; i++) {
		snprintf(slug, sizeof(slug), "P%d", i);
		key_of(&k[i], slug);
	}
	page_cache_commit(pc, &k[0], page, sizeof(page));
	page_cache_unpin(pc, &k[0]);
	/* k0 is open (pinned) while three more are committed */
	is_int(page_cache_open(pc, &k[0], &fd, &size), 0, "open P0 (pins it)");
	for (int i = 1; i <= 3; i++) {
		page_cache_commit(pc, &k[i], page, sizeof(page));
		page_cache_unpin(pc, &k[i]);
	}
	is_int(page_cache_lookup(pc, &k[0], &size), 0, "the open page was not evicted");
	is_int(page_cache_lookup(pc, &k[3], &size), 0, "the newest page is kept");
	is_int(page_cache_lookup(pc, &k[1], &size), -ENOENT, "the least recently used was evicted");
	struct page_cache_stats s;

	page_cache_stats(pc, &s);
	ok(s.bytes <= s.max_bytes, "within budget (%llu <= %llu)", (unsigned long long)s.bytes,
	   (unsigned long long)s.max_bytes);
	ok(s.evicted >= 2, "evictions counted (%llu)", (unsigned long long)s.evicted);

	/* a committed page is pinned until its waiters are served */
	page_cache_commit(pc, &k[4], page, sizeof(page));
	page_cache_commit(pc, &k[5], page, sizeof(page));
	is_int(page_cache_lookup(pc, &k[4], &size), 0, "a just-committed (pinned) page survives");
	is_int(page_cache_lookup(pc, &k[5], &size), 0, "as does the next one");
	page_cache_unpin(pc, &k[4]);
	page_cache_unpin(pc, &k[5]);
	close(fd);
	page_cache_unpin(pc, &k[0]);
	page_cache_stats(pc, &s);
	ok(s.bytes <= s.max_bytes, "back within budget once unpinned");
	is_int(page_cache_lookup(pc, &k[5], &size), 0, "the most recently used page stays");
	page_cache_free(pc);

	/* LRU order survives a restart (by mtime): recently used stays */
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "restart");
	page_cache_stats(pc, &s);
	ok(s.entries >= 1 && s.bytes <= s.max_bytes, "index rebuilt within budget");
	page_cache_free(pc);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-page-cache-XXXXXX");
	if (!mkdtemp(dir))
		skip_all("mkdtemp failed");
	test_keys();
	test_commit_verify();
	test_temps_and_restart();
	test_eviction();
	rm_rf(dir);
	return done_testing();
}
