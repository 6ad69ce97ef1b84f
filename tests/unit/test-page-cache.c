/* SPDX-License-Identifier: MIT */
/*
 * cache/page_cache: keys, atomic commit, verification on first open, corrupt
 * entries dropped, stale temp files removed at start, LRU eviction within
 * the byte budget that never evicts a pinned (open or just committed) entry,
 * and the index rebuilt from disk after a restart. Issue 10: a removal racing
 * opens, two processes on one directory (two caches stand for them; a forked
 * child where the locks need a second process), claims, untrusted entries.
 */
#include "page_cache.h"
#include "fsutil.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

/* The recipe: everything but the commit; the entry key: recipe and commit. */
static void test_recipe_keys(void)
{
	struct page_key ra, rb, ka, kb;
	struct page_key_parts p = { .repo = "acme/x",
				    .url = "https://GitHub.com/acme/x.git",
				    .commit = "c1",
				    .slug = "Home",
				    .kind = "home",
				    .backend = "openai",
				    .model = "m",
				    .prompt_version = "1" };

	page_recipe_key(&ra, &p);
	page_cache_key(&ka, &p);
	p.commit = "c2";
	page_recipe_key(&rb, &p);
	page_cache_key(&kb, &p);
	is_str(ra.hex, rb.hex, "the commit is not part of the recipe");
	ok(strcmp(ka.hex, kb.hex), "it is part of the entry key");
	p.url = "https://github.com/acme/x/";
	page_recipe_key(&rb, &p);
	is_str(ra.hex, rb.hex, "the URL is normalised (host case, .git, trailing /)");
	p.language = "en";
	page_recipe_key(&rb, &p);
	is_str(ra.hex, rb.hex, "the language defaults to en");
	p.language = "fr";
	page_recipe_key(&rb, &p);
	ok(strcmp(ra.hex, rb.hex), "another language is another recipe");
	p.language = NULL;
	p.model = "m2";
	page_recipe_key(&rb, &p);
	ok(strcmp(ra.hex, rb.hex), "another model is another recipe");
	p.model = "m";
	p.options = "prompt_budget=1";
	page_recipe_key(&rb, &p);
	ok(strcmp(ra.hex, rb.hex), "other options are another recipe");
	p.options = NULL;
	p.arg = "src";
	page_recipe_key(&rb, &p);
	ok(strcmp(ra.hex, rb.hex), "another slot argument is another recipe");
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

/* The whole content of an open entry, NUL-terminated in @out. */
static ssize_t read_fd(int fd, uint64_t size, char *out, size_t n)
{
	ssize_t r = pread(fd, out, MIN(n - 1, size), PAGE_CACHE_HDR_LEN);

	out[r > 0 ? r : 0] = '\0';
	return r;
}

/* Two caches on one directory stand for two processes (a miss looks at the disk). */
static void test_two_processes(void)
{
	struct page_cache *a, *b;
	struct page_cache_stats s;
	struct page_key k;
	char buf[256];
	uint64_t size;
	int fd, fd2;

	rm_rf(dir);
	mkdir(dir, 0700);
	is_int(page_cache_new(&a, dir, 1 << 20), 0, "two: cache A");
	is_int(page_cache_new(&b, dir, 1 << 20), 0, "two: cache B on the same directory");
	key_of(&k, "Shared");
	is_int(page_cache_commit(a, &k, "version one", 11), 0, "two: A commits");
	page_cache_unpin(a, &k);
	is_int(page_cache_lookup(b, &k, &size), 0, "two: B's index misses, the disk has it");
	is_int(size, 11, "two: with its size");
	page_cache_stats(b, &s);
	is_int(s.adopted, 1, "two: counted as adopted from another process");
	is_int(read_back(b, &k, buf, sizeof(buf)), 11, "two: B reads A's page");
	is_str(buf, "version one", "two: the same bytes");

	/* A replaces the file B verified: B verifies again, reads it whole */
	is_int(page_cache_commit(a, &k, "version two, longer", 19), 0, "two: A replaces it");
	page_cache_unpin(a, &k);
	is_int(page_cache_open(b, &k, &fd, &size), 1, "two: B's open says the file changed");
	is_int(size, 19, "two: not the size B verified first");
	is_int(read_fd(fd, size, buf, sizeof(buf)), 19, "two: read whole");
	is_str(buf, "version two, longer", "two: the new version");
	close(fd);
	page_cache_unpin(b, &k);
	is_int(page_cache_lookup(b, &k, &size), 0, "two: B's index follows");
	is_int(size, 19, "two: the new size");
	is_int(page_cache_open(b, &k, &fd, &size), 0, "two: unchanged since: 0");
	close(fd);
	page_cache_unpin(b, &k);

	/* a replacement that fails verification is never served */
	{
		char *path = entry_file(&k);
		int w = open(path, O_WRONLY);

		ok(w >= 0 && pwrite(w, "X", 1, PAGE_CACHE_HDR_LEN + 1) == 1,
		   "two: another process corrupts the entry");
		close(w);
		is_int(page_cache_open(b, &k, &fd, &size), -ENOENT,
		       "two: B verifies the changed file and rejects it");
		free(path);
	}

	/* A removes the page B has open: B's fd reads on; B's next open misses */
	is_int(page_cache_commit(a, &k, "version three", 13), 0, "two: A commits again");
	page_cache_unpin(a, &k);
	ok(page_cache_open(b, &k, &fd, &size) >= 0, "two: B opens it");
	page_cache_remove(a, &k);
	is_int(read_fd(fd, size, buf, sizeof(buf)), 13, "two: B's open fd still reads it whole");
	close(fd);
	page_cache_unpin(b, &k);
	page_cache_stats(b, &s);
	fd2 = (int)s.corrupt;
	is_int(page_cache_open(b, &k, &fd, &size), -ENOENT, "two: then B finds it gone");
	page_cache_stats(b, &s);
	is_int(s.corrupt, fd2, "two: missing is not corrupt");
	page_cache_free(a);
	page_cache_free(b);
}

/* Eviction skips a page another process has open, and one it just committed. */
static void test_eviction_shared(void)
{
	static char page[400 * 1024];
	struct page_cache *a, *b;
	struct page_cache_stats s;
	struct page_key k[5];
	char slug[16];
	uint64_t size;
	int fd;

	rm_rf(dir);
	mkdir(dir, 0700);
	memset(page, 'y', sizeof(page));
	for (int i = 0; i < 5; i++) {
		snprintf(slug, sizeof(slug), "E%d", i);
		key_of(&k[i], slug);
	}
	is_int(page_cache_new(&a, dir, 1 << 20), 0, "shared eviction: cache A, 1 MiB");
	is_int(page_cache_new(&b, dir, 1 << 20), 0, "shared eviction: cache B");
	page_cache_commit(a, &k[0], page, sizeof(page));
	page_cache_unpin(a, &k[0]);
	is_int(page_cache_open(b, &k[0], &fd, &size), 0, "shared eviction: B opens E0");
	page_cache_commit(b, &k[1], page, sizeof(page)); /* B keeps E1 committed, pinned */
	is_int(page_cache_lookup(a, &k[1], &size), 0, "shared eviction: A sees E1 too");
	for (int i = 2; i < 5; i++) {
		page_cache_commit(a, &k[i], page, sizeof(page));
		page_cache_unpin(a, &k[i]);
	}
	page_cache_stats(a, &s);
	ok(s.busy >= 2, "shared eviction: A skipped pages in use elsewhere (%llu)",
	   (unsigned long long)s.busy);
	{
		char *p0 = entry_file(&k[0]), *p1 = entry_file(&k[1]);

		ok(access(p0, F_OK) == 0, "shared eviction: B's open page is still on disk");
		ok(access(p1, F_OK) == 0, "shared eviction: B's just-committed page too");
		close(fd);
		page_cache_unpin(b, &k[0]);
		page_cache_unpin(b, &k[1]);
		page_cache_commit(a, &k[4], page, sizeof(page)); /* evicts again */
		page_cache_unpin(a, &k[4]);
		ok(access(p0, F_OK) < 0, "shared eviction: once B let go, A evicts it");
		free(p0);
		free(p1);
	}
	page_cache_free(a);
	page_cache_free(b);
}

/*
 * Issue 10 item 2: a retry (remove + regenerate) racing opens. The old cache
 * freed the entry an open had pinned and was verifying (use-after-free under
 * ASan; empty and truncated reads, ENOENT without).
 */
struct race {
	struct page_cache *pc;
	struct page_key k;
	atomic_bool stop;
	atomic_long opens, bad, removes;
};

static void *race_opener(void *arg)
{
	struct race *rc = arg;
	char buf[64];

	while (!atomic_load(&rc->stop)) {
		uint64_t size;
		int fd, r = page_cache_open(rc->pc, &rc->k, &fd, &size);

		if (r < 0)
			continue; /* removed: a miss, regenerated below */
		if (read_fd(fd, size, buf, sizeof(buf)) != 20 ||
		    strcmp(buf, "retry race content!\n"))
			atomic_fetch_add(&rc->bad, 1);
		close(fd);
		page_cache_unpin(rc->pc, &rc->k);
		atomic_fetch_add(&rc->opens, 1);
	}
	return NULL;
}

static void test_remove_races_open(void)
{
	struct race rc = { 0 };
	pthread_t th[3];
	int64_t end;

	rm_rf(dir);
	mkdir(dir, 0700);
	is_int(page_cache_new(&rc.pc, dir, 1 << 20), 0, "race: cache");
	key_of(&rc.k, "Raced");
	page_cache_commit(rc.pc, &rc.k, "retry race content!\n", 20);
	page_cache_unpin(rc.pc, &rc.k);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, race_opener, &rc);
	end = now_ms() + 2000;
	while (now_ms() < end) {
		page_cache_remove(rc.pc, &rc.k);
		if (page_cache_commit(rc.pc, &rc.k, "retry race content!\n", 20) == 0)
			page_cache_unpin(rc.pc, &rc.k);
		atomic_fetch_add(&rc.removes, 1);
	}
	atomic_store(&rc.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ok(atomic_load(&rc.opens) > 100 && atomic_load(&rc.removes) > 20,
	   "race: %ld opens raced %ld removals", atomic_load(&rc.opens), atomic_load(&rc.removes));
	is_int(atomic_load(&rc.bad), 0, "race: every open read the whole page");
	{
		struct page_cache_stats s;

		page_cache_stats(rc.pc, &s);
		is_int(s.entries, 1, "race: one entry left, nothing leaked or lost");
		is_int(s.bytes, 20, "race: its bytes counted once");
	}
	page_cache_free(rc.pc);
}

/* A commit's waiters read their page even when a retry removed it meanwhile. */
static void test_commit_pin_holds(void)
{
	struct page_cache *pc;
	struct page_key k;
	char buf[64];
	uint64_t size;
	int fd;

	rm_rf(dir);
	mkdir(dir, 0700);
	page_cache_new(&pc, dir, 1 << 20);
	key_of(&k, "Held");
	is_int(page_cache_commit(pc, &k, "for the waiters", 15), 0, "hold: commit (pinned)");
	page_cache_remove(pc, &k); /* `retry PAGE` before the waiters open */
	is_int(page_cache_lookup(pc, &k, &size), -ENOENT, "hold: removed: not listed");
	is_int(page_cache_size(pc, &k, &size), 0, "hold: but getattr keeps the size read");
	is_int(size, 15, "hold: 15 bytes, not 0");
	is_int(page_cache_open(pc, &k, &fd, &size), 0, "hold: a waiter still opens it");
	is_int(read_fd(fd, size, buf, sizeof(buf)), 15, "hold: and reads it whole");
	is_str(buf, "for the waiters", "hold: the committed bytes");
	close(fd);
	page_cache_unpin(pc, &k);
	page_cache_unpin(pc, &k); /* the commit's pin: its waiters are served */
	is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT, "hold: then it is gone");
	is_int(page_cache_size(pc, &k, &size), -ENOENT, "hold: and its size with it");
	page_cache_free(pc);
}

/* Only our own files: a page another user could have written is regenerated. */
static void test_untrusted_entries(void)
{
	struct page_cache *pc;
	struct page_key k;
	uint64_t size;
	char *path;
	int fd;

	rm_rf(dir);
	mkdir(dir, 0700);
	page_cache_new(&pc, dir, 1 << 20);
	key_of(&k, "Planted");
	path = entry_file(&k);
	page_cache_commit(pc, &k, "looks fine", 10);
	page_cache_unpin(pc, &k);
	page_cache_free(pc);
	chmod(path, 0666);
	page_cache_new(&pc, dir, 1 << 20);
	is_int(page_cache_lookup(pc, &k, &size), -ENOENT,
	       "untrusted: writable by others: unlisted");
	is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT, "untrusted: and not served");
	ok(access(path, F_OK) < 0, "untrusted: removed, to be regenerated");
	page_cache_commit(pc, &k, "looks fine", 10);
	page_cache_unpin(pc, &k);
	if (geteuid() == 0) {
		ok(chown(path, 65534, 65534) == 0, "untrusted: chown to nobody");
		is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT,
		       "untrusted: another owner's page is not served");
	} else {
		ok(1, "# SKIP chown: needs root");
		ok(1, "# SKIP another owner: needs root");
	}
	unlink(path);
	ok(symlink("/etc/hostname", path) == 0, "untrusted: a symlink planted as an entry");
	is_int(page_cache_open(pc, &k, &fd, &size), -ENOENT, "untrusted: a symlink is not served");
	page_cache_free(pc);
	free(path);
}

/* Stale-temp sweeps at start leave another process's commit in flight alone. */
static void test_live_temp(void)
{
	struct page_cache *pc;
	char tmp[512];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/pages/ab/abcdef.tmp.LiVe01", dir);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "live temp: a commit in flight (locked)");
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "live temp: another process starts");
	ok(access(tmp, F_OK) == 0, "live temp: the locked temp is kept");
	page_cache_free(pc);
	close(fd);
	is_int(page_cache_new(&pc, dir, 1 << 20), 0, "live temp: start again");
	ok(access(tmp, F_OK) < 0, "live temp: its writer gone, it is stale and removed");
	page_cache_free(pc);
}

/* ---- claims: a child process is the other daemon ---- */

static void child_claims(int ready, int go)
{
	struct page_cache *pc;
	struct page_claim *c;
	struct page_key k;
	char ch;

	key_of(&k, "Claimed");
	if (page_cache_new(&pc, dir, 1 << 20) < 0 || page_cache_claim(pc, &k, 1000, &c) != 0 ||
	    write(ready, "c", 1) != 1 || read(go, &ch, 1) != 1)
		_exit(1);
	page_cache_commit(pc, &k, "made by the child", 17); /* "generates" */
	page_cache_release(c);
	page_cache_unpin(pc, &k);
	page_cache_free(pc);
	_exit(0);
}

struct waiter {
	struct page_cache *pc;
	struct page_key k;
	int r;
};

static void *claim_thread(void *arg)
{
	struct waiter *wt = arg;
	struct page_claim *c = NULL;

	wt->r = page_cache_claim(wt->pc, &wt->k, 60000, &c);
	page_cache_release(c);
	return NULL;
}

static void test_claims(void)
{
	struct page_cache *pc;
	struct page_claim *c = NULL, *c2 = NULL;
	struct page_key k, other;
	struct waiter wt;
	int ready[2], go[2], status, fd;
	char buf[64], ch;
	uint64_t size;
	int64_t t0;
	pthread_t th;
	pid_t pid;

	rm_rf(dir);
	mkdir(dir, 0700);
	page_cache_new(&pc, dir, 1 << 20);
	key_of(&k, "Claimed");
	key_of(&other, "Unclaimed");
	if (pipe(ready) < 0 || pipe(go) < 0)
		abort();
	pid = fork();
	if (pid == 0)
		child_claims(ready[1], go[0]);
	ok(read(ready[0], &ch, 1) == 1, "claim: the other process claims the page");
	t0 = now_ms();
	is_int(page_cache_claim(pc, &k, 200, &c), -ETIMEDOUT,
	       "claim: it is not ours while the other holds it");
	ok(now_ms() - t0 >= 200, "claim: we waited the timeout first");
	is_int(page_cache_claim(pc, &other, 200, &c2), 0, "claim: another page is free");
	page_cache_release(c2);
	ok(write(go[1], "g", 1) == 1, "claim: the other process generates and commits");
	is_int(page_cache_claim(pc, &k, 10000, &c), 1,
	       "claim: our wait ends with its page: nothing to generate");
	ok(c == NULL, "claim: and no claim to release");
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "claim: the other process went fine");
	is_int(page_cache_open(pc, &k, &fd, &size), 0, "claim: the page opens");
	is_int(read_fd(fd, size, buf, sizeof(buf)), 17, "claim: read whole");
	is_str(buf, "made by the child", "claim: the other process's bytes");
	close(fd);
	page_cache_unpin(pc, &k);
	page_cache_unpin(pc, &k); /* the claim's pin */

	/* threads of one process exclude each other too; stop ends a wait */
	is_int(page_cache_claim(pc, &other, 1000, &c), 0, "claim: a thread claims");
	wt = (struct waiter){ .pc = pc, .k = other, .r = 99 };
	pthread_create(&th, NULL, claim_thread, &wt);
	t0 = now_ms();
	page_cache_stop(pc);
	pthread_join(th, NULL);
	is_int(wt.r, -ESHUTDOWN, "claim: another thread's wait ends at stop");
	ok(now_ms() - t0 < 2000, "claim: at once (%lld ms)", (long long)(now_ms() - t0));
	page_cache_release(c);
	page_cache_free(pc);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-page-cache-XXXXXX");
	if (!mkdtemp(dir))
		skip_all("mkdtemp failed");
	test_keys();
	test_recipe_keys();
	test_commit_verify();
	test_temps_and_restart();
	test_eviction();
	test_live_temp();
	test_two_processes();
	test_eviction_shared();
	test_remove_races_open();
	test_commit_pin_holds();
	test_untrusted_entries();
	test_claims();
	rm_rf(dir);
	return done_testing();
}
