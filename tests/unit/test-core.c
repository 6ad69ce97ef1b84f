/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the small core/ helpers: buf (bounded growth, printf,
 * steal), sha256 (FIPS 180-4 / NIST vectors plus block-boundary lengths and
 * chunked updates) and fsutil (atomic writes, stale temporaries, rm_rf that
 * never follows symlinks, path helpers) and url (passwords masked in URLs and
 * in free text, stripped for storage). Everything on disk happens below a
 * fresh mkdtemp() directory that is removed at the end. Temps that another
 * process holds locked are live; mkdir_private() refuses directories others
 * could write.
 */
#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "sha256.h"
#include "tap.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[PATH_MAX];

static void test_buf_bounded(void)
{
	struct buf b;

	buf_init(&b, 8);
	is_str(buf_str(&b), "", "buf: empty buffer reads as \"\"");
	is_int(buf_adds(&b, "12345678"), 0, "buf: filling up to max succeeds");
	is_int(b.len, 8, "buf: len is 8");
	is_int(buf_addc(&b, 'x'), -E2BIG, "buf: one byte past max is -E2BIG");
	is_int(b.len, 8, "buf: len unchanged after -E2BIG");
	is_str(buf_str(&b), "12345678", "buf: contents unchanged after -E2BIG");
	is_int(buf_printf(&b, "%d", 1), -E2BIG, "buf: printf past max is -E2BIG");
	is_str(buf_str(&b), "12345678", "buf: contents unchanged after printf -E2BIG");
	ok(b.cap <= b.max + 1, "buf: capacity never exceeds max + 1 (cap %zu)", b.cap);
	buf_reset(&b);
	is_int(b.len, 0, "buf: reset empties");
	is_str(buf_str(&b), "", "buf: reset leaves \"\"");
	is_int(buf_add(&b, "123456789", 9), -E2BIG, "buf: a single add larger than max fails");
	is_int(b.len, 0, "buf: still empty after oversized add");
	is_int(buf_add(&b, "", 0), 0, "buf: empty add succeeds");
	buf_done(&b);
	ok(b.data == NULL && b.len == 0 && b.max == 8, "buf: done frees and keeps max");

	/* overflow of len + extra must not wrap around the limit check */
	buf_init(&b, SIZE_MAX);
	is_int(buf_adds(&b, "hello"), 0, "buf: max = SIZE_MAX (unbounded) works");
	is_str(buf_str(&b), "hello", "buf: unbounded contents");
	ok(b.cap >= b.len + 1, "buf: unbounded capacity holds the NUL (cap %zu)", b.cap);
	is_int(buf_add(&b, "x", SIZE_MAX), -E2BIG, "buf: len + SIZE_MAX does not wrap");
	buf_done(&b);
}

static void test_buf_printf_steal(void)
{
	struct buf b;
	char *s;
	size_t len = 99;
	int r = 0;

	buf_init(&b, 1 << 20);
	is_int(buf_printf(&b, "%s=%d", "x", 42), 0, "buf: printf");
	is_int(buf_printf(&b, "/%05.1f", 2.5), 0, "buf: printf appends");
	is_str(buf_str(&b), "x=42/002.5", "buf: printf result");
	for (int i = 0; i < 1000 && r == 0; i++)
		r = buf_printf(&b, "%04d", i);
	is_int(r, 0, "buf: printf grows past the first allocation");
	is_int(b.len, 10 + 4000, "buf: grown length");
	ok(b.data[b.len] == '\0', "buf: NUL-terminated after growth");
	ok(!memcmp(b.data + 10 + 4 * 999, "0999", 4), "buf: last printf in place");

	s = buf_steal(&b, &len);
	ok(s && strlen(s) == 4010, "buf: steal hands out the bytes");
	is_int(len, 4010, "buf: steal reports the length");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "buf: empty after steal");
	is_int(b.max, 1 << 20, "buf: max kept after steal");
	free(s);

	s = buf_steal(&b, &len);
	ok(s && *s == '\0', "buf: steal of an empty buffer gives an allocated \"\"");
	is_int(len, 0, "buf: steal of empty reports 0");
	free(s);
	buf_done(&b);
}

static void check_sha(const void *p, size_t n, const char *want, const char *what)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX];

	sha256_digest(p, n, d);
	sha256_to_hex(d, hex);
	is_str(hex, want, "sha256: %s", what);
}

static void test_sha256(void)
{
	static const char *const a_lens[][2] = {
		{ "55", "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ "56", "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ "63", "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ "64", "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ "65", "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ "119", "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ "120", "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			   "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	const char *mil = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	_cleanup_free_ char *a = malloc(1000000);
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX];
	struct sha256 s;

	if (!a)
		abort();
	memset(a, 'a', 1000000);
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "empty message");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "\"abc\"");
	check_sha(m448, strlen(m448),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  "448-bit message");
	check_sha(m896, strlen(m896),
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
		  "896-bit message");
	check_sha(a, 1000000, mil, "1,000,000 x 'a' in one update");
	for (size_t i = 0; i < ARRAY_SIZE(a_lens); i++)
		check_sha(a, strtoul(a_lens[i][0], NULL, 10), a_lens[i][1],
			  "padding boundary: 'a' x length");

	/* The same million bytes in awkward chunk sizes, crossing block edges. */
	sha256_init(&s);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 97 + 1)
		sha256_update(&s, a + off, MIN(step, 1000000 - off));
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	is_str(hex, mil, "sha256: 1,000,000 x 'a' in chunks of 1..97 bytes");

	sha256_init(&s);
	for (int i = 0; i < 1000000; i++)
		sha256_update(&s, "a", 1);
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	is_str(hex, mil, "sha256: 1,000,000 x 'a' one byte at a time");
}

static char *tpath(const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmp, rel) < 0)
		abort();
	return p;
}

static void touch(const char *rel, const char *content)
{
	_cleanup_free_ char *p = tpath(rel);
	FILE *f = fopen(p, "w");

	if (!f || fputs(content, f) < 0 || fclose(f) != 0)
		abort();
}

static bool exists(const char *rel)
{
	_cleanup_free_ char *p = tpath(rel);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void test_write_new(void)
{
	_cleanup_free_ char *dir = tpath("wn"), *file = tpath("wn/plan.json"),
			    *link = tpath("wn/link"), *target = tpath("wn/target");
	char *data = NULL;
	size_t len = 0;

	is_int(mkdir_p(dir, 0700), 0, "write_new: its directory");
	is_int(write_new(file, "{}", 2, 0644), 0, "write_new: writes a new file");
	is_int(read_file(file, 1024, &data, &len), 0, "write_new: readable");
	ok(len == 2 && data && !strcmp(data, "{}"), "write_new: its bytes");
	free(data);
	is_int(write_new(file, "x", 1, 0644), -EEXIST, "write_new: never replaces a file");
	ok(symlink(target, link) == 0, "write_new: a symlink planted where it writes");
	is_int(write_new(link, "x", 1, 0644), -EEXIST, "write_new: not followed");
	ok(access(target, F_OK) < 0, "write_new: nothing created through it");
}

static void test_write_atomic(void)
{
	_cleanup_free_ char *dir = tpath("wa"), *file = tpath("wa/page"),
			    *missing = tpath("nodir/page");
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	mode_t old = umask(077);

	is_int(mkdir_p(dir, 0700), 0, "fsutil: mkdir_p");
	is_int(write_atomic(file, "HDR:", 4, "body", 4, 0644), 0, "write_atomic: writes");
	umask(old);
	is_int(read_file(file, 1024, &data, &len), 0, "write_atomic: file readable");
	is_str(data, "HDR:body", "write_atomic: header then data");
	is_int(len, 8, "write_atomic: length");
	free(data);
	ok(stat(file, &st) == 0 && (st.st_mode & 07777) == 0644,
	   "write_atomic: mode 0644 despite umask 077 (got %o)", st.st_mode & 07777);

	is_int(write_atomic(file, NULL, 0, "new", 3, 0600), 0, "write_atomic: replaces");
	is_int(read_file(file, 1024, &data, &len), 0, "write_atomic: replaced readable");
	is_str(data, "new", "write_atomic: replaced content, no header");
	free(data);
	ok(stat(file, &st) == 0 && (st.st_mode & 07777) == 0600, "write_atomic: new mode 0600");
	is_int(dir_is_empty(dir), 0, "dir_is_empty: 0 with a file");
	{
		_cleanup_free_ char *d2 = tpath("wa");
		size_t n = 0;

		is_int(remove_stale_temps(d2, &n), 0, "write_atomic: no temp left behind");
		is_int(n, 0, "write_atomic: zero stale temporaries");
	}

	is_int(write_atomic(file, NULL, 0, "", 0, 0600), 0, "write_atomic: empty content");
	is_int(read_file(file, 1024, &data, &len), 0, "write_atomic: empty readable");
	is_int(len, 0, "write_atomic: empty length");
	free(data);

	is_int(write_atomic(missing, NULL, 0, "x", 1, 0600), -ENOENT,
	       "write_atomic: missing directory is -ENOENT");
	ok(!exists("nodir"), "write_atomic: did not create the missing directory");

	is_int(read_file(file, 1024, &data, &len), 0, "read_file: ok");
	free(data);
	touch("wa/big", "0123456789");
	{
		_cleanup_free_ char *big = tpath("wa/big"), *none = tpath("wa/none");

		data = NULL;
		is_int(read_file(big, 9, &data, &len), -EFBIG, "read_file: past max is -EFBIG");
		ok(data == NULL, "read_file: nothing returned on error");
		is_int(read_file(big, 10, &data, &len), 0, "read_file: exactly max is fine");
		free(data);
		is_int(read_file(none, 10, &data, &len), -ENOENT, "read_file: missing is -ENOENT");
	}
}

static void test_stale_temps(void)
{
	_cleanup_free_ char *dir = tpath("st"), *sub = tpath("st/clone.tmp.Ab12Cd"),
			    *missing = tpath("st-missing");
	static const char *const keep[] = { "st/keep.md", "st/x.tmp", "st/tmp.x", "st/tmpfile",
					    "st/a.tmpx.b" };
	static const char *const gone[] = { "st/page.tmp.XyZ123", "st/.tmp.q",
					    "st/clone.tmp.Ab12Cd" };
	size_t n = 0;

	is_int(mkdir_p(dir, 0700), 0, "stale temps: mkdir");
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		touch(keep[i], "k");
	touch(gone[0], "t");
	touch(gone[1], "t");
	is_int(mkdir_p(sub, 0700), 0, "stale temps: a temporary clone directory");
	touch("st/clone.tmp.Ab12Cd/inner", "i");

	is_int(remove_stale_temps(dir, &n), 0, "remove_stale_temps: succeeds");
	is_int(n, 3, "remove_stale_temps: counted the three *.tmp.* entries");
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		ok(!exists(gone[i]), "remove_stale_temps: removed %s", gone[i]);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		ok(exists(keep[i]), "remove_stale_temps: kept %s", keep[i]);
	n = 7;
	is_int(remove_stale_temps(missing, &n), 0, "remove_stale_temps: missing dir is fine");
	is_int(n, 7, "remove_stale_temps: adds nothing for a missing dir");
}

static void test_rm_rf(void)
{
	_cleanup_free_ char *root = tpath("rm"), *deep = tpath("rm/a/b/c"),
			    *outside = tpath("outside"), *precious = tpath("outside/precious"),
			    *link_dir = tpath("rm/a/to-outside"),
			    *link_file = tpath("rm/a/b/to-file"), *dangling = tpath("rm/dangling"),
			    *top_link = tpath("top-link");

	is_int(mkdir_p(deep, 0700), 0, "rm_rf: build a tree");
	is_int(mkdir_p(outside, 0700), 0, "rm_rf: build an outside dir");
	touch("outside/precious", "keep me");
	touch("rm/a/b/c/f1", "1");
	touch("rm/a/f2", "2");
	ok(symlink(outside, link_dir) == 0, "rm_rf: symlink to an outside directory");
	ok(symlink(precious, link_file) == 0, "rm_rf: symlink to an outside file");
	ok(symlink("/nonexistent/target", dangling) == 0, "rm_rf: dangling symlink");

	is_int(rm_rf(root), 0, "rm_rf: removes the tree");
	ok(!exists("rm"), "rm_rf: tree is gone");
	ok(exists("outside/precious"), "rm_rf: did not follow the symlinks out of the tree");
	is_int(rm_rf(root), 0, "rm_rf: a missing path is success");

	ok(symlink(outside, top_link) == 0, "rm_rf: symlink as the argument itself");
	is_int(rm_rf(top_link), 0, "rm_rf: removes a symlink argument");
	ok(!exists("top-link"), "rm_rf: the link is gone");
	ok(exists("outside/precious"), "rm_rf: its target is untouched");

	is_int(rm_rf(precious), 0, "rm_rf: removes a plain file");
	ok(!exists("outside/precious"), "rm_rf: file gone");
}

static void test_dir_is_empty(void)
{
	_cleanup_free_ char *d = tpath("empty"), *f = tpath("empty/f"), *none = tpath("none");

	is_int(mkdir_p(d, 0700), 0, "dir_is_empty: mkdir");
	is_int(dir_is_empty(d), 1, "dir_is_empty: 1 for an empty dir");
	touch("empty/f", "x");
	is_int(dir_is_empty(d), 0, "dir_is_empty: 0 with one file");
	touch("empty/.hidden", "x");
	unlink(f);
	is_int(dir_is_empty(d), 0, "dir_is_empty: 0 with a dot file");
	is_int(dir_is_empty(none), -ENOENT, "dir_is_empty: -ENOENT when missing");
	is_int(dir_is_empty(f), -ENOENT, "dir_is_empty: -ENOENT for a removed file");
	touch("empty/f", "x");
	is_int(dir_is_empty(f), -ENOTDIR, "dir_is_empty: -ENOTDIR for a file");
}

static void test_mkdir_p(void)
{
	_cleanup_free_ char *p = tpath("mk/x/y/z"), *mid = tpath("mk/x"), *slash = tpath("mk/s/");
	struct stat st;
	mode_t old = umask(0);

	is_int(mkdir_p(p, 0750), 0, "mkdir_p: creates every level");
	ok(stat(mid, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750,
	   "mkdir_p: intermediate levels get the mode");
	umask(old);
	is_int(mkdir_p(p, 0750), 0, "mkdir_p: existing path is fine");
	is_int(mkdir_p(slash, 0700), 0, "mkdir_p: trailing slash");
	ok(exists("mk/s"), "mkdir_p: trailing slash created the dir");
}

/* A child process holds @rel's lock until told (one byte on @go), like a
 * maker of a temp in flight (see fsutil.h); it says it holds it on @ready. */
static pid_t hold_lock_in_child(const char *rel, bool dir, int ready, int go)
{
	pid_t pid = fork();

	if (pid == 0) {
		_cleanup_free_ char *p = tpath(rel);
		char c;
		int fd = dir ? open(p, O_RDONLY | O_DIRECTORY) : open(p, O_RDWR);

		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready, "r", 1) != 1 ||
		    read(go, &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	return pid;
}

static void test_live_temps(void)
{
	_cleanup_free_ char *dir = tpath("live"), *tmpl = tpath("live/repo.git.tmp.XXXXXX"),
			    *clone = tpath("live/clone.tmp.GhIjKl");
	int ready[2], go[2], status, lock = -1;
	pid_t a, b;
	size_t n = 0;
	char c;

	is_int(mkdir_p(dir, 0700), 0, "live temps: mkdir");
	touch("live/page.tmp.AbCdEf", "half a page");
	is_int(mkdir_p(clone, 0700), 0, "live temps: a clone dir");
	touch("live/dead.tmp.MnOpQr", "from a crash");
	if (pipe(ready) < 0 || pipe(go) < 0)
		abort();
	a = hold_lock_in_child("live/page.tmp.AbCdEf", false, ready[1], go[0]);
	b = hold_lock_in_child("live/clone.tmp.GhIjKl", true, ready[1], go[0]);
	ok(read(ready[0], &c, 1) == 1 && read(ready[0], &c, 1) == 1,
	   "live temps: another process holds two temps locked");
	is_int(remove_stale_temps(dir, &n), 0, "live temps: sweep");
	is_int(n, 1, "live temps: only the unlocked temp counts as stale");
	ok(!exists("live/dead.tmp.MnOpQr"), "live temps: the crashed one is removed");
	ok(exists("live/page.tmp.AbCdEf") && exists("live/clone.tmp.GhIjKl/."),
	   "live temps: the locked file and directory stay (in flight elsewhere)");
	ok(write(go[1], "gg", 2) == 2, "live temps: the other process ends");
	waitpid(a, &status, 0);
	waitpid(b, &status, 0);
	n = 0;
	is_int(remove_stale_temps(dir, &n), 0, "live temps: sweep again");
	is_int(n, 2, "live temps: its locks died with it: both are stale now");
	ok(!exists("live/page.tmp.AbCdEf") && !exists("live/clone.tmp.GhIjKl"),
	   "live temps: and removed");

	/* mkdtemp_locked(): live until its lock is closed */
	is_int(mkdtemp_locked(tmpl, &lock), 0, "mkdtemp_locked: made");
	ok(strstr(tmpl, ".tmp.") && !strstr(tmpl, "XXXXXX"), "mkdtemp_locked: %s", tmpl);
	n = 0;
	remove_stale_temps(dir, &n);
	ok(n == 0 && access(tmpl, F_OK) == 0, "mkdtemp_locked: a sweep leaves it alone");
	close(lock);
	remove_stale_temps(dir, &n);
	ok(n == 1 && access(tmpl, F_OK) < 0, "mkdtemp_locked: unlocked, it is stale");
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

static void test_mkdir_private(void)
{
	_cleanup_free_ char *p = tpath("priv/a/cache"), *open_parent = tpath("priv/open"),
			    *below = tpath("priv/open/cache"), *file = tpath("priv/file"),
			    *want = NULL;
	struct wf_err err = { "" };
	struct stat st;

	is_int(mkdir_private(p, &err), 0, "mkdir_private: creates a missing directory");
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700, "mkdir_private: 0700");
	is_int(mkdir_private(p, &err), 0, "mkdir_private: an existing private one is fine");
	chmod(p, 0777);
	is_int(mkdir_private(p, &err), -EPERM, "mkdir_private: mode 0777 is refused");
	if (asprintf(&want, "run 'chmod 700 %s'", p) < 0)
		abort();
	ok(strstr(err.msg, "writable by group or others") && strstr(err.msg, want),
	   "mkdir_private: the message names the fix: %s", err.msg);
	chmod(p, 0750);
	is_int(mkdir_private(p, &err), 0, "mkdir_private: group-readable is fine");
	chmod(p, 0770);
	is_int(mkdir_private(p, &err), -EPERM, "mkdir_private: group-writable is refused");
	chmod(p, 0700);
	if (geteuid() == 0) {
		ok(chown(p, 65534, 65534) == 0, "mkdir_private: chown to nobody");
		is_int(mkdir_private(p, &err), -EPERM, "mkdir_private: another owner is refused");
		ok(strstr(err.msg, "owned by uid 65534") && strstr(err.msg, "run 'chown 0 "),
		   "mkdir_private: the message names the owner and the fix: %s", err.msg);
		ok(chown(p, 0, 0) == 0, "mkdir_private: chown back");
	} else {
		ok(1, "# SKIP another owner: needs root");
		ok(1, "# SKIP its message: needs root");
		ok(1, "# SKIP chown back");
	}
	is_int(mkdir_p(open_parent, 0700), 0, "mkdir_private: a parent");
	chmod(open_parent, 0777);
	is_int(mkdir_private(below, &err), -EPERM,
	       "mkdir_private: below a world-writable directory is refused");
	ok(strstr(err.msg, "chmod go-w") && strstr(err.msg, open_parent),
	   "mkdir_private: the message names the parent: %s", err.msg);
	chmod(open_parent, 01777);
	is_int(mkdir_private(below, &err), 0, "mkdir_private: a sticky one (like /tmp) is fine");
	touch("priv/file", "x");
	is_int(mkdir_private(file, &err), -ENOTDIR, "mkdir_private: a file in the way is an error");
}

static void test_paths(void)
{
	static const struct {
		const char *path, *dir;
		int want;
	} below[] = {
		{ "/a/b", "/a/b", 1 },	  { "/a/b/c", "/a/b", 1 }, { "/a/bc", "/a/b", 0 },
		{ "/a/b", "/a/bc", 0 },	  { "/a", "/a/b", 0 },	   { "/a/b", "/a/b/", 1 },
		{ "/a/b/c", "/a/b/", 1 }, { "/a/bc", "/a/b/", 0 }, { "/x", "/", 1 },
		{ "/", "/", 1 },	  { "/ab", "/a", 0 },	   { "/b/a", "/a", 0 },
	};
	static const struct {
		const char *home, *in, *want;
	} exp[] = {
		{ "/home/u", "~/x/y", "/home/u/x/y" },
		{ "/home/u", "~", "/home/u" },
		{ "/home/u/", "~/x", "/home/u/x" },
		{ "/home/u", "~user/x", "~user/x" },
		{ "/home/u", "/abs/~/x", "/abs/~/x" },
		{ "/home/u", "rel/x", "rel/x" },
		{ "/home/u", "", "" },
		{ NULL, "~/x", "/x" },
		{ "", "~/x", "/x" },
		{ "/", "~/x", "/x" },
		{ "/", "~", "/" },
	};
	const char *saved = getenv("HOME");
	_cleanup_free_ char *home = saved ? strdup(saved) : NULL;

	for (size_t i = 0; i < ARRAY_SIZE(below); i++)
		is_int(path_is_below(below[i].path, below[i].dir), below[i].want,
		       "path_is_below(\"%s\", \"%s\")", below[i].path, below[i].dir);
	for (size_t i = 0; i < ARRAY_SIZE(exp); i++) {
		_cleanup_free_ char *got = NULL;

		if (exp[i].home)
			setenv("HOME", exp[i].home, 1);
		else
			unsetenv("HOME");
		got = path_expand_home(exp[i].in);
		is_str(got, exp[i].want, "path_expand_home(\"%s\") with HOME=%s", exp[i].in,
		       exp[i].home ? exp[i].home : "(unset)");
	}
	if (home)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
}

static void test_url(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "https://ada:s3cret@example.org/o/r.git", "https://ada:***@example.org/o/r.git" },
		{ "https://ada:s3cret@example.org", "https://ada:***@example.org" },
		{ "https://ada:@example.org/r", "https://ada:***@example.org/r" },
		{ "https://ada@example.org/r", "https://ada@example.org/r" },
		{ "https://example.org/a@b:c", "https://example.org/a@b:c" },
		{ "https://ada:p%40ss:w@host:8080/r", "https://ada:***@host:8080/r" },
		{ "https://ada:p#s?s@host/r", "https://ada:***@host/r" },
		{ "git@github.com:o/r.git", "git@github.com:o/r.git" },
		{ "/srv/git/r.git", "/srv/git/r.git" },
		{ "clone of 'http://u:pw@h/r.git' failed: x; fetch of 'git://v:qq@g' too",
		  "clone of 'http://u:***@h/r.git' failed: x; fetch of 'git://v:***@g' too" },
		{ "https://ada:***@example.org/r", "https://ada:***@example.org/r" },
		{ "ends with ://", "ends with ://" },
	};
	char out[256], small[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		url_redact(cases[i].in, out, sizeof(out));
		is_str(out, cases[i].want, "url_redact: case %zu", i);
	}
	/* a one-letter password grows to "***": the tail is cut, not the mask */
	snprintf(small, sizeof(small), "%s", "x https://u:p@h/abcdefg");
	url_redact_text(small, 24);
	is_str(small, "x https://u:***@h/abcde", "url_redact_text: cuts the tail to fit");
	snprintf(small, sizeof(small), "%s", "0123456789 https://u:p@h");
	url_redact_text(small, 20);
	ok(!strstr(small, ":p@"), "url_redact_text: no room for the mask cuts the password away");
	is_int(url_strip_password("https://ada:s3cret@host/r", out, sizeof(out)), 0,
	       "url_strip_password: succeeds");
	is_str(out, "https://ada@host/r", "url_strip_password: the user stays, the password goes");
	url_strip_password("git://host/r", out, sizeof(out));
	is_str(out, "git://host/r", "url_strip_password: a URL without one is unchanged");
	is_int(url_strip_password("https://ada:s3cret@host/r", small, 8), -ENAMETOOLONG,
	       "url_strip_password: -ENAMETOOLONG when it does not fit");
	ok(url_has_password("https://a:b@h/r") && url_has_password("https://a:@h"),
	   "url_has_password: yes with a password, even an empty one");
	ok(!url_has_password("https://a@h/r") && !url_has_password("https://h/r:x@y") &&
	       !url_has_password(NULL),
	   "url_has_password: no without one");
}

/* Whoever formats a log line, a URL's password does not reach the log. */
static void test_log_redacts(void)
{
	char path[PATH_MAX + 16], *data = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/log", tmp);
	is_int(log_open(LOG_TO_FILE, path, LOG_LVL_INFO), 0, "log: opens a file");
	log_err("clone of '%s' failed", "https://ada:hunter2@example.org/r.git");
	log_close();
	is_int(read_file(path, 1 << 16, &data, &len), 0, "log: the file reads back");
	ok(data && !strstr(data, "hunter2") && strstr(data, "'https://ada:***@example.org/r.git'"),
	   "log: the password is masked");
	free(data);
}

static void test_fd_headroom(void)
{
	struct rlimit old, low;
	int fds[64], n = 0, before, r;

	is_int(fd_headroom(8), 0, "fd_headroom: 8 descriptors are free");
	before = fcntl(0, F_DUPFD_CLOEXEC, 0);
	close(before);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = MIN(old.rlim_cur, (rlim_t)before + 6);
	setrlimit(RLIMIT_NOFILE, &low);
	is_int(fd_headroom(4), 0, "fd_headroom: 4 of the 6 left are free");
	is_int(fd_headroom(8), -EMFILE, "fd_headroom: not 8 of them");
	while (n < (int)ARRAY_SIZE(fds) && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	r = fd_headroom(1);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	is_int(r, -EMFILE, "fd_headroom: none left");
	is_int(fcntl(0, F_DUPFD_CLOEXEC, 0), before, "fd_headroom: closes what it opened");
	close(before);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/wikifs-test-core.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_buf_bounded();
	test_buf_printf_steal();
	test_sha256();
	test_write_atomic();
	test_write_new();
	test_stale_temps();
	test_rm_rf();
	test_dir_is_empty();
	test_mkdir_p();
	test_live_temps();
	test_mkdir_private();
	test_paths();
	test_url();
	test_log_redacts();
	test_fd_headroom();
	is_int(rm_rf(tmp), 0, "cleanup: temporary directory removed");
	return done_testing();
}
