/* SPDX-License-Identifier: MIT */
/*
 * Content-addressed page cache with LRU eviction, shared by processes.
 *
 * The in-memory index is a chained hash table of entries plus a doubly
 * linked LRU list (most recent first). At start the pages directory is
 * scanned once (stale temp files removed, sizes and mtimes indexed, oldest
 * mtime = least recently used); later a miss looks at the disk, because
 * another process may share the directory (see page_cache.h for the
 * protocol). Each file is handled by page_file.c (format, verification,
 * trust, locks). An entry records the identity of the file it verified; an
 * open whose file has another identity verifies again, so a page replaced
 * by another process is never served at the old size.
 *
 * An entry is never freed while pinned: an open pins its entry before it
 * lets go of the lock to do its I/O, so a concurrent removal can only mark
 * it absent (the retry-vs-open use-after-free of issue 10). While
 * pinned by a commit or claim an entry holds the committed file open
 * (e->hold): the eviction of another process skips it, and its waiters read
 * it even if a `retry` removed the path meanwhile.
 *
 * Locking: pc->lock protects the index, the LRU list, the counters and
 * pc->stopping. No I/O is done under it except unlink() during eviction
 * and removal (with the open and flock that tell whether another process
 * uses the entry).
 */
#include "page_cache.h"
#include "fsutil.h"
#include "page_file.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE_CACHE_VERSION "wikifs-page 2"
#define CLAIM_POLL_MAX_MS  250

struct entry {
	char hex[SHA256_HEX];
	uint64_t size; /* content bytes, counted in pc->bytes; 0 when absent */
	unsigned pins;
	unsigned gen;  /* bumped when this process replaces or removes the file */
	bool present;  /* believed on disk; an absent entry lives only while pinned */
	bool verified; /* id is a file that passed verification */
	struct page_file_id id;
	int hold;	     /* while pinned: the committed or claimed file, shared lock; or -1 */
	uint64_t hold_size;  /* its content bytes */
	uint64_t read_size;  /* content bytes of the version last handed out */
	struct entry *hnext; /* hash chain */
	struct entry *prev, *next; /* LRU, most recent at head */
};

struct page_cache {
	char *dir;    /* CACHE_DIR/pages */
	char *claims; /* CACHE_DIR/page-claims: the claim locks */
	char *locks;  /* CACHE_DIR/page-locks: page_cache_lock() */
	uint64_t max_bytes;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* claim waiters, on page_cache_stop() */
	/* protected by lock */
	bool stopping;
	struct entry **table;
	size_t nbuckets, entries;
	uint64_t bytes, evicted, corrupt, adopted, busy;
	struct entry *head, *tail;
};

struct page_claim {
	int fd; /* its own open file description of pc->claims, holding the lock */
};

/* @url without what does not name another repository: case of scheme and host, "/", ".git". */
static void url_normal(const char *url, char *out, size_t n)
{
	const char *sep = strstr(url, "://");
	size_t len, host_end = 0;

	snprintf(out, n, "%s", url);
	len = strlen(out);
	if (sep)
		host_end = MIN(len, (size_t)(sep - url) + 3 + strcspn(sep + 3, "/"));
	for (size_t i = 0; i < host_end; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	if (len > 4 && !strcmp(out + len - 4, ".git"))
		out[len - 4] = '\0';
}

static void key_of_parts(struct page_key *k, const char *const *parts, size_t n)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];

	sha256_init(&s);
	for (size_t i = 0; i < n; i++) {
		const char *v = parts[i] ? parts[i] : "";

		sha256_update(&s, v, strlen(v) + 1); /* NUL separates fields */
	}
	sha256_final(&s, d);
	sha256_to_hex(d, k->hex);
}

void page_recipe_key(struct page_key *k, const struct page_key_parts *p)
{
	char url[4096];
	const char *lang = p->language && *p->language ? p->language : "en";

	url_normal(p->url ? p->url : "", url, sizeof(url));
	key_of_parts(k,
		     (const char *const[]){ PAGE_CACHE_VERSION, p->repo, url, p->slug, p->kind,
					    p->arg, p->backend, p->model, p->prompt_version, lang,
					    p->options },
		     11);
}

void page_cache_key(struct page_key *k, const struct page_key_parts *p)
{
	struct page_key recipe;

	page_recipe_key(&recipe, p);
	key_of_parts(k, (const char *const[]){ "wikifs-page-at 1", recipe.hex, p->commit }, 3);
}

/* The number the first @n hex digits of a key spell. */
static uint64_t hex_prefix(const char *hex, int n)
{
	uint64_t h = 0;

	for (int i = 0; i < n && hex[i]; i++)
		h = h * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return h;
}

/* The key is already a hash: its first 16 hex digits pick the bucket. */
static size_t bucket_of(const char *hex, size_t nbuckets)
{
	return (size_t)(hex_prefix(hex, 16) % nbuckets);
}

static struct entry *find(struct page_cache *pc, const char *hex)
{
	for (struct entry *e = pc->table[bucket_of(hex, pc->nbuckets)]; e; e = e->hnext)
		if (!memcmp(e->hex, hex, SHA256_HEX))
			return e;
	return NULL;
}

static void lru_unlink(struct page_cache *pc, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		pc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		pc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct page_cache *pc, struct entry *e)
{
	e->prev = NULL;
	e->next = pc->head;
	if (pc->head)
		pc->head->prev = e;
	pc->head = e;
	if (!pc->tail)
		pc->tail = e;
}

static void table_grow(struct page_cache *pc)
{
	size_t n = pc->nbuckets * 2;
	struct entry **t = calloc(n, sizeof(*t));

	if (!t)
		return; /* keep the longer chains */
	for (size_t i = 0; i < pc->nbuckets; i++) {
		for (struct entry *e = pc->table[i], *next; e; e = next) {
			size_t b = bucket_of(e->hex, n);

			next = e->hnext;
			e->hnext = t[b];
			t[b] = e;
		}
	}
	free(pc->table);
	pc->table = t;
	pc->nbuckets = n;
}

/* A new entry, absent (size 0) until set_present(), at the LRU head. */
static struct entry *insert(struct page_cache *pc, const char *hex)
{
	struct entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	memcpy(e->hex, hex, SHA256_HEX);
	e->hold = -1;
	if (pc->entries + 1 > pc->nbuckets)
		table_grow(pc);
	b = bucket_of(hex, pc->nbuckets);
	e->hnext = pc->table[b];
	pc->table[b] = e;
	pc->entries++;
	lru_push_front(pc, e);
	return e;
}

static struct entry *find_or_insert(struct page_cache *pc, const char *hex)
{
	struct entry *e = find(pc, hex);

	return e ? e : insert(pc, hex);
}

static void set_present(struct page_cache *pc, struct entry *e, uint64_t size)
{
	pc->bytes = pc->bytes - e->size + size;
	e->size = size;
	e->present = true;
}

static void set_absent(struct page_cache *pc, struct entry *e)
{
	pc->bytes -= e->size;
	e->size = 0;
	e->present = false;
	e->verified = false;
}

static void touch(struct page_cache *pc, struct entry *e)
{
	lru_unlink(pc, e);
	lru_push_front(pc, e);
}

/* Frees @e, which must not be pinned: nobody else holds its address. */
static void forget(struct page_cache *pc, struct entry *e)
{
	struct entry **pp = &pc->table[bucket_of(e->hex, pc->nbuckets)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(pc, e);
	pc->entries--;
	pc->bytes -= e->size;
	if (e->hold >= 0)
		close(e->hold);
	free(e);
}

static void entry_path(const struct page_cache *pc, const char *hex, char *out, size_t n)
{
	snprintf(out, n, "%s/%.2s/%s", pc->dir, hex, hex);
}

/* Called with the lock held. Absent entries are pinned: they are skipped. */
static void evict(struct page_cache *pc)
{
	struct entry *e = pc->tail;
	char path[4096];

	while (pc->bytes > pc->max_bytes && e) {
		struct entry *prev = e->prev;

		if (!e->pins && e->present) {
			entry_path(pc, e->hex, path, sizeof(path));
			if (page_file_unlink_unused(path)) {
				forget(pc, e);
				pc->evicted++;
			} else {
				pc->busy++;
			}
		}
		e = prev;
	}
}

/* @e may have lost its last pin: let go of its file, and of it if absent. */
static void settle(struct page_cache *pc, struct entry *e)
{
	if (e->pins)
		return;
	if (e->hold >= 0) {
		close(e->hold);
		e->hold = -1;
	}
	if (!e->present)
		forget(pc, e);
	else
		evict(pc);
}

struct scanned {
	char hex[SHA256_HEX];
	uint64_t size;
	int64_t mtime;
};

static int cmp_mtime(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->hex, y->hex);
}

static bool is_key(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == SHA256_HEX - 1;
}

static int scan_push(struct scanned **v, size_t *n, size_t *cap, const char *hex,
		     const struct stat *st)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct scanned *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	memcpy((*v)[*n].hex, hex, SHA256_HEX);
	(*v)[*n].size = (uint64_t)st->st_size - PAGE_CACHE_HDR_LEN;
	(*v)[*n].mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	(*n)++;
	return 0;
}

/* Indexes existing entries, oldest first so the LRU order follows mtime. */
static int scan(struct page_cache *pc)
{
	struct scanned *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	for (int i = 0; i < 256 && r == 0; i++) {
		char sub[4096];
		DIR *d;
		struct dirent *de;

		snprintf(sub, sizeof(sub), "%s/%02x", pc->dir, i);
		remove_stale_temps(sub, NULL); /* only temps no live process holds */
		d = opendir(sub);
		if (!d)
			continue;
		while (r == 0 && (de = readdir(d))) {
			struct stat st;

			if (is_key(de->d_name) &&
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    page_file_trusted(&st) && st.st_size >= PAGE_CACHE_HDR_LEN)
				r = scan_push(&v, &n, &cap, de->d_name, &st);
		}
		closedir(d);
	}
	if (r == 0 && n)
		qsort(v, n, sizeof(*v), cmp_mtime);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct entry *e = insert(pc, v[i].hex);

		if (!e)
			r = -ENOMEM;
		else
			set_present(pc, e, v[i].size);
	}
	free(v);
	return r;
}

int page_cache_new(struct page_cache **ret, const char *cache_dir, uint64_t max_bytes)
{
	struct page_cache *pc = calloc(1, sizeof(*pc));
	pthread_condattr_t ca;
	int r = -ENOMEM;

	if (!pc)
		return -ENOMEM;
	pthread_mutex_init(&pc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pc->wake, &ca);
	pthread_condattr_destroy(&ca);
	pc->max_bytes = max_bytes;
	pc->nbuckets = 1024;
	pc->table = calloc(pc->nbuckets, sizeof(*pc->table));
	if (!pc->table || asprintf(&pc->dir, "%s/pages", cache_dir) < 0) {
		pc->dir = NULL;
		goto out_free;
	}
	if (asprintf(&pc->claims, "%s/page-claims", cache_dir) < 0) {
		pc->claims = NULL;
		goto out_free;
	}
	if (asprintf(&pc->locks, "%s/page-locks", cache_dir) < 0) {
		pc->locks = NULL;
		goto out_free;
	}
	r = mkdir_p(pc->dir, 0700);
	for (int i = 0; i < 256 && r == 0; i++) {
		char sub[4096];

		snprintf(sub, sizeof(sub), "%s/%02x", pc->dir, i);
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r == 0)
		r = scan(pc);
	if (r < 0)
		goto out_free;
	pthread_mutex_lock(&pc->lock);
	evict(pc);
	pthread_mutex_unlock(&pc->lock);
	*ret = pc;
	return 0;

out_free:
	page_cache_free(pc);
	return r;
}

void page_cache_free(struct page_cache *pc)
{
	if (!pc)
		return;
	while (pc->head)
		forget(pc, pc->head);
	free(pc->table);
	free(pc->dir);
	free(pc->claims);
	free(pc->locks);
	pthread_cond_destroy(&pc->wake);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

int page_cache_lookup(struct page_cache *pc, const struct page_key *k, uint64_t *size)
{
	char path[4096];
	struct entry *e;
	uint64_t len;
	int r = -ENOENT;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e && e->present) {
		if (size)
			*size = e->size;
		r = 0;
	}
	pthread_mutex_unlock(&pc->lock);
	if (r == 0)
		return 0;
	/* not in the index: another process sharing the directory may have made it */
	entry_path(pc, k->hex, path, sizeof(path));
	if (page_file_stat(path, &len) < 0)
		return -ENOENT;
	if (size)
		*size = len;
	pthread_mutex_lock(&pc->lock);
	e = find_or_insert(pc, k->hex);
	if (e && !e->present) {
		set_present(pc, e, len);
		pc->adopted++;
	}
	pthread_mutex_unlock(&pc->lock);
	return 0;
}

int page_cache_size(struct page_cache *pc, const struct page_key *k, uint64_t *size)
{
	struct entry *e;
	bool held;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	held = e && !e->present && e->pins && e->read_size;
	if (held)
		*size = e->read_size;
	pthread_mutex_unlock(&pc->lock);
	return held ? 0 : page_cache_lookup(pc, k, size);
}

/*
 * The open of page_cache_open() and page_cache_claim(): pins the entry, then
 * opens and checks its file without the lock. With @use_hold, the file a
 * commit or claim holds is the fallback when the path has none now. 1 when
 * the file is not the one indexed (another process replaced it).
 */
static int entry_open(struct page_cache *pc, const char *hex, bool use_hold, int *fd_out,
		      uint64_t *len_out)
{
	uint64_t len = 0, hold_len = 0, had_size;
	struct page_file_id known, id;
	char path[4096];
	int fd = -1, hold = -1, r;
	bool know, had, changed;
	struct entry *e;
	unsigned gen;

	pthread_mutex_lock(&pc->lock);
	e = find_or_insert(pc, hex);
	if (!e) {
		pthread_mutex_unlock(&pc->lock);
		return -ENOMEM;
	}
	e->pins++; /* from here on nobody frees e */
	gen = e->gen;
	had = e->present;
	had_size = e->size;
	know = e->present && e->verified;
	known = e->id;
	if (use_hold && e->hold >= 0) {
		hold = fcntl(e->hold, F_DUPFD_CLOEXEC, 0);
		hold_len = e->hold_size;
	}
	pthread_mutex_unlock(&pc->lock);

	entry_path(pc, hex, path, sizeof(path));
	r = page_file_open(path, know ? &known : NULL, &fd, &id, &len);
	changed = r == 0 && had && (know ? !page_file_id_eq(&known, &id) : len != had_size);
	if (r == -EBADMSG)
		page_file_drop(path, &id); /* corrupt or not ours: it is regenerated */
	pthread_mutex_lock(&pc->lock);
	if (r == -EBADMSG)
		pc->corrupt++;
	if (e->gen != gen)
		changed = false; /* this process replaced it: it said so itself */
	if (e->gen == gen && r == 0) {
		set_present(pc, e, len);
		e->verified = true;
		e->id = id;
	} else if (e->gen == gen && (r == -ENOENT || r == -EBADMSG)) {
		set_absent(pc, e);
	}
	if ((r == -ENOENT || r == -EBADMSG) && hold >= 0) {
		fd = TAKE_FD(hold);
		len = hold_len;
		r = 0;
	}
	if (r == 0) {
		e->read_size = len;
		touch(pc, e);
	} else {
		e->pins--;
		settle(pc, e);
	}
	pthread_mutex_unlock(&pc->lock);
	if (hold >= 0)
		close(hold);
	if (r < 0)
		return r == -EBADMSG ? -ENOENT : r;
	*fd_out = fd;
	*len_out = len;
	return changed;
}

int page_cache_open(struct page_cache *pc, const struct page_key *k, int *fd_out, uint64_t *size)
{
	return entry_open(pc, k->hex, true, fd_out, size);
}

int page_cache_read(struct page_cache *pc, const struct page_key *k, size_t max, char **ret,
		    size_t *len)
{
	uint64_t size;
	char *data = NULL;
	int fd, r = page_cache_open(pc, k, &fd, &size);

	if (r < 0)
		return r;
	r = size > max ? -EFBIG : 0;
	if (r == 0) {
		data = malloc(size + 1);
		r = data ? 0 : -ENOMEM;
	}
	for (size_t got = 0; r == 0 && got < size;) {
		ssize_t n = pread(fd, data + got, size - got, PAGE_CACHE_HDR_LEN + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	close(fd);
	page_cache_unpin(pc, k);
	if (r < 0) {
		free(data);
		return r;
	}
	data[size] = '\0';
	*ret = data;
	*len = size;
	return 0;
}

int page_cache_commit(struct page_cache *pc, const struct page_key *k, const void *data, size_t len)
{
	struct page_file_id id;
	char path[4096];
	struct entry *e;
	int fd = -1, r;

	entry_path(pc, k->hex, path, sizeof(path));
	r = page_file_write(path, data, len, &fd, &id);
	if (r < 0)
		return r;
	pthread_mutex_lock(&pc->lock);
	e = find_or_insert(pc, k->hex);
	if (e) {
		set_present(pc, e, len);
		e->verified = true;
		e->id = id;
		e->gen++; /* an open that verified the old file keeps it to itself */
		if (e->hold >= 0)
			close(e->hold);
		e->hold = fd;
		e->hold_size = e->read_size = len;
		e->pins++;
		touch(pc, e);
		evict(pc);
	} else {
		close(fd);
		r = -ENOMEM;
	}
	pthread_mutex_unlock(&pc->lock);
	return r;
}

void page_cache_unpin(struct page_cache *pc, const struct page_key *k)
{
	struct entry *e;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e && e->pins) {
		e->pins--;
		settle(pc, e);
	}
	pthread_mutex_unlock(&pc->lock);
}

void page_cache_remove(struct page_cache *pc, const struct page_key *k)
{
	char path[4096];
	struct entry *e;

	entry_path(pc, k->hex, path, sizeof(path));
	pthread_mutex_lock(&pc->lock);
	unlink(path);
	e = find(pc, k->hex);
	if (e) {
		e->gen++;
		set_absent(pc, e);
		settle(pc, e); /* pinned: unlisted, freed by its last unpin */
	}
	pthread_mutex_unlock(&pc->lock);
}

/* ---- claims ---- */

/*
 * 1 with the entry pinned and held when its file is on disk and sound (made
 * by another process, or by this one for another job), 0 when it is not.
 */
static int take_present(struct page_cache *pc, const struct page_key *k)
{
	struct entry *e;
	uint64_t len;
	int fd, r = entry_open(pc, k->hex, false, &fd, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex); /* pinned by entry_open(): there */
	if (e->hold >= 0)
		close(e->hold);
	e->hold = fd;
	e->hold_size = len;
	pthread_mutex_unlock(&pc->lock);
	return 1;
}

/*
 * One step of a claim wait. A blocked fcntl lock cannot be woken for
 * shutdown without a signal, so the wait polls (10 ms doubling to 250 ms),
 * which also lets it see the page appear.
 */
static int claim_wait(struct page_cache *pc, int64_t deadline, int64_t *step)
{
	int64_t now = now_ms();
	int r = 0;

	pthread_mutex_lock(&pc->lock);
	if (pc->stopping) {
		r = -ESHUTDOWN;
	} else if (now >= deadline) {
		r = -ETIMEDOUT;
	} else {
		struct timespec ts = deadline_ts(MIN(now + *step, deadline));

		pthread_cond_timedwait(&pc->wake, &pc->lock, &ts);
	}
	pthread_mutex_unlock(&pc->lock);
	*step = MIN(*step * 2, CLAIM_POLL_MAX_MS);
	return r;
}

int page_cache_claim(struct page_cache *pc, const struct page_key *k, int64_t timeout_ms,
		     struct page_claim **claim)
{
	/* 60 bits of the key: one byte of the claims file per page */
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_start = (off_t)hex_prefix(k->hex, 15),
			    .l_len = 1 };
	_cleanup_close_ int fd = open(pc->claims, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int64_t deadline = now_ms() + timeout_ms, step = 10;
	int r;

	*claim = NULL;
	if (fd < 0)
		return -errno;
	for (;;) {
		r = take_present(pc, k);
		if (r != 0)
			return r;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES)
			return -errno;
		r = claim_wait(pc, deadline, &step);
		if (r < 0)
			return r;
	}
	/* ours now: the previous holder may have made the page meanwhile */
	r = take_present(pc, k);
	if (r != 0)
		return r;
	*claim = malloc(sizeof(**claim));
	if (!*claim)
		return -ENOMEM;
	(*claim)->fd = TAKE_FD(fd);
	return 0;
}

void page_cache_release(struct page_claim *claim)
{
	if (!claim)
		return;
	close(claim->fd); /* ends the lock */
	free(claim);
}

int page_cache_lock(struct page_cache *pc, const struct page_key *k, int *fd_out)
{
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_start = (off_t)hex_prefix(k->hex, 15),
			    .l_len = 1 };
	int fd = open(pc->locks, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	*fd_out = fd;
	return 0;
}

void page_cache_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* ends the lock */
}

void page_cache_stop(struct page_cache *pc)
{
	pthread_mutex_lock(&pc->lock);
	pc->stopping = true;
	pthread_cond_broadcast(&pc->wake);
	pthread_mutex_unlock(&pc->lock);
}

void page_cache_stats(struct page_cache *pc, struct page_cache_stats *st)
{
	pthread_mutex_lock(&pc->lock);
	st->entries = pc->entries;
	st->bytes = pc->bytes;
	st->max_bytes = pc->max_bytes;
	st->evicted = pc->evicted;
	st->corrupt = pc->corrupt;
	st->adopted = pc->adopted;
	st->busy = pc->busy;
	pthread_mutex_unlock(&pc->lock);
}
