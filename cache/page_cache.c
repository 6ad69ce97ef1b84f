/* SPDX-License-Identifier: MIT */
/*
 * Content-addressed page cache with LRU eviction.
 *
 * The in-memory index is a chained hash table of entries plus a doubly
 * linked LRU list (most recent first). At start the pages directory is
 * scanned once (stale temp files removed, sizes and mtimes indexed, oldest
 * mtime = least recently used). Verification happens lazily on the first
 * open in this process, then the entry is trusted: the file cannot change
 * underneath us except by our own commit, which replaces it atomically.
 *
 * Locking: pc->lock protects the index, the LRU list and the counters. No
 * I/O is done under it except unlink() during eviction.
 */
#include "page_cache.h"
#include "fsutil.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE_CACHE_VERSION "wikifs-page 1"
#define MAGIC		   "WIKIFSP1"

struct entry {
	char hex[SHA256_HEX];
	uint64_t size; /* content bytes */
	unsigned pins;
	bool verified;
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU, most recent at head */
};

struct page_cache {
	char *dir; /* CACHE_DIR/pages */
	uint64_t max_bytes;
	pthread_mutex_t lock;
	/* protected by lock */
	struct entry **table;
	size_t nbuckets, entries;
	uint64_t bytes, evicted, corrupt;
	struct entry *head, *tail;
};

void page_cache_key(struct page_key *k, const struct page_key_parts *p)
{
	const char *model = p->model ? p->model : "", *repo = p->repo ? p->repo : "";
	const char *parts[] = { PAGE_CACHE_VERSION, repo,  p->url,	     p->commit, p->slug,
				p->backend,	    model, p->prompt_version };
	struct sha256 s;
	uint8_t d[SHA256_LEN];

	sha256_init(&s);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		sha256_update(&s, parts[i], strlen(parts[i]) + 1); /* NUL separates fields */
	sha256_final(&s, d);
	sha256_to_hex(d, k->hex);
}

/* The key is already a hash: its first 16 hex digits pick the bucket. */
static size_t bucket_of(const char *hex, size_t nbuckets)
{
	uint64_t h = 0;

	for (int i = 0; i < 16 && hex[i]; i++)
		h = h * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return (size_t)(h % nbuckets);
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

static struct entry *insert(struct page_cache *pc, const char *hex, uint64_t size)
{
	struct entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	memcpy(e->hex, hex, SHA256_HEX);
	e->size = size;
	if (pc->entries + 1 > pc->nbuckets)
		table_grow(pc);
	b = bucket_of(hex, pc->nbuckets);
	e->hnext = pc->table[b];
	pc->table[b] = e;
	pc->entries++;
	pc->bytes += size;
	return e;
}

static void forget(struct page_cache *pc, struct entry *e)
{
	struct entry **pp = &pc->table[bucket_of(e->hex, pc->nbuckets)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(pc, e);
	pc->entries--;
	pc->bytes -= e->size;
	free(e);
}

static void entry_path(const struct page_cache *pc, const char *hex, char *out, size_t n)
{
	snprintf(out, n, "%s/%.2s/%s", pc->dir, hex, hex);
}

/* Called with the lock held. */
static void evict(struct page_cache *pc)
{
	struct entry *e = pc->tail;

	while (pc->bytes > pc->max_bytes && e) {
		struct entry *prev = e->prev;

		if (!e->pins) {
			char path[4096];

			entry_path(pc, e->hex, path, sizeof(path));
			unlink(path);
			forget(pc, e);
			pc->evicted++;
		}
		e = prev;
	}
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
		remove_stale_temps(sub, NULL);
		d = opendir(sub);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			struct stat st;

			if (!is_key(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode) || st.st_size < PAGE_CACHE_HDR_LEN)
				continue;
			if (n == cap) {
				struct scanned *nv = realloc(v, (cap ? cap * 2 : 256) * sizeof(*v));

				if (!nv) {
					r = -ENOMEM;
					break;
				}
				v = nv;
				cap = cap ? cap * 2 : 256;
			}
			memcpy(v[n].hex, de->d_name, SHA256_HEX);
			v[n].size = (uint64_t)st.st_size - PAGE_CACHE_HDR_LEN;
			v[n].mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			n++;
		}
		closedir(d);
	}
	if (r == 0 && n)
		qsort(v, n, sizeof(*v), cmp_mtime);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct entry *e = insert(pc, v[i].hex, v[i].size);

		if (!e)
			r = -ENOMEM;
		else
			lru_push_front(pc, e);
	}
	free(v);
	return r;
}

int page_cache_new(struct page_cache **ret, const char *cache_dir, uint64_t max_bytes)
{
	struct page_cache *pc = calloc(1, sizeof(*pc));
	int r = -ENOMEM;

	if (!pc)
		return -ENOMEM;
	pthread_mutex_init(&pc->lock, NULL);
	pc->max_bytes = max_bytes;
	pc->nbuckets = 1024;
	pc->table = calloc(pc->nbuckets, sizeof(*pc->table));
	if (!pc->table || asprintf(&pc->dir, "%s/pages", cache_dir) < 0) {
		pc->dir = NULL;
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
	for (struct entry *e = pc->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	free(pc->table);
	free(pc->dir);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

int page_cache_lookup(struct page_cache *pc, const struct page_key *k, uint64_t *size)
{
	struct entry *e;
	int r = -ENOENT;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e) {
		if (size)
			*size = e->size;
		r = 0;
	}
	pthread_mutex_unlock(&pc->lock);
	return r;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void make_header(uint8_t hdr[PAGE_CACHE_HDR_LEN], const void *data, size_t len)
{
	memset(hdr, 0, PAGE_CACHE_HDR_LEN);
	memcpy(hdr, MAGIC, 8);
	put_u64(hdr + 8, len);
	sha256_digest(data, len, hdr + 16);
}

/* Reads the whole entry and checks magic, length and checksum. */
static int verify_fd(int fd, uint64_t *size)
{
	uint8_t hdr[PAGE_CACHE_HDR_LEN], sum[SHA256_LEN], buf[65536];
	struct sha256 s;
	uint64_t len, got = 0;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || memcmp(hdr, MAGIC, 8))
		return -EBADMSG;
	len = get_u64(hdr + 8);
	if ((uint64_t)st.st_size != len + PAGE_CACHE_HDR_LEN)
		return -EBADMSG;
	sha256_init(&s);
	while (got < len) {
		ssize_t r = pread(fd, buf, (size_t)MIN(sizeof(buf), len - got),
				  (off_t)(PAGE_CACHE_HDR_LEN + got));

		if (r <= 0)
			return r < 0 ? -errno : -EBADMSG;
		sha256_update(&s, buf, (size_t)r);
		got += (uint64_t)r;
	}
	sha256_final(&s, sum);
	if (memcmp(sum, hdr + 16, SHA256_LEN))
		return -EBADMSG;
	*size = len;
	return 0;
}

int page_cache_open(struct page_cache *pc, const struct page_key *k, int *fd_out, uint64_t *size)
{
	char path[4096];
	struct entry *e;
	bool verified;
	uint64_t len = 0;
	int fd, r;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (!e) {
		pthread_mutex_unlock(&pc->lock);
		return -ENOENT;
	}
	e->pins++;
	verified = e->verified;
	len = e->size;
	lru_unlink(pc, e);
	lru_push_front(pc, e);
	pthread_mutex_unlock(&pc->lock);

	entry_path(pc, k->hex, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	if (r == 0 && !verified) {
		r = verify_fd(fd, &len);
		if (r == -EBADMSG) {
			unlink(path); /* corrupt: drop it so it is regenerated */
			r = -ENOENT;
		}
	}
	pthread_mutex_lock(&pc->lock);
	if (r == 0) {
		e->verified = true;
		pc->bytes = pc->bytes - e->size + len;
		e->size = len;
	} else {
		e->pins--;
		if (r == -ENOENT) {
			pc->corrupt++;
			if (!e->pins)
				forget(pc, e);
		}
	}
	pthread_mutex_unlock(&pc->lock);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*fd_out = fd;
	*size = len;
	return 0;
}

int page_cache_commit(struct page_cache *pc, const struct page_key *k, const void *data, size_t len)
{
	uint8_t hdr[PAGE_CACHE_HDR_LEN];
	char path[4096];
	struct entry *e;
	int r;

	make_header(hdr, data, len);
	entry_path(pc, k->hex, path, sizeof(path));
	r = write_atomic(path, hdr, sizeof(hdr), data, len, 0600);
	if (r < 0)
		return r;
	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e) {
		pc->bytes = pc->bytes - e->size + len;
		e->size = len;
		lru_unlink(pc, e);
	} else {
		e = insert(pc, k->hex, len);
	}
	if (e) {
		e->verified = true;
		e->pins++;
		lru_push_front(pc, e);
		evict(pc);
	} else {
		r = -ENOMEM;
	}
	pthread_mutex_unlock(&pc->lock);
	return r;
}

void page_cache_pin(struct page_cache *pc, const struct page_key *k)
{
	struct entry *e;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e)
		e->pins++;
	pthread_mutex_unlock(&pc->lock);
}

void page_cache_unpin(struct page_cache *pc, const struct page_key *k)
{
	struct entry *e;

	pthread_mutex_lock(&pc->lock);
	e = find(pc, k->hex);
	if (e && e->pins) {
		e->pins--;
		if (!e->pins)
			evict(pc);
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
	if (e)
		forget(pc, e); /* pins are by key: a later unpin finds nothing */
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
	pthread_mutex_unlock(&pc->lock);
}
