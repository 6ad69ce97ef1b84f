/* SPDX-License-Identifier: MIT */
/*
 * Page files: format, verification, identity, trust and locks (see the
 * header). A file is verified by reading it whole against the SHA-256 of
 * its header, so a torn or tampered file is never served as a page; its
 * identity (device, inode, size, mtime, ctime) lets a cache skip that read
 * for the very file it verified before, and only for that one.
 */
#include "page_file.h"
#include "fsutil.h"
#include "sha256.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#define MAGIC "WIKIFSP1"

bool page_file_id_eq(const struct page_file_id *a, const struct page_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void id_of(const struct stat *st, struct page_file_id *id)
{
	*id = (struct page_file_id){ .dev = st->st_dev,
				     .ino = st->st_ino,
				     .size = st->st_size,
				     .mtime = st->st_mtim,
				     .ctime = st->st_ctim };
}

bool page_file_trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
	       !(st->st_mode & (S_IWGRP | S_IWOTH));
}

int page_file_stat(const char *path, uint64_t *len)
{
	struct stat st;

	if (lstat(path, &st) < 0 || !page_file_trusted(&st) || st.st_size < PAGE_FILE_HDR_LEN)
		return -ENOENT;
	*len = (uint64_t)st.st_size - PAGE_FILE_HDR_LEN;
	return 0;
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

static void make_header(uint8_t hdr[PAGE_FILE_HDR_LEN], const void *data, size_t len)
{
	memset(hdr, 0, PAGE_FILE_HDR_LEN);
	memcpy(hdr, MAGIC, 8);
	put_u64(hdr + 8, len);
	sha256_digest(data, len, hdr + 16);
}

/* Reads the whole entry and checks magic, length and checksum. */
static int verify_fd(int fd, const struct stat *st, uint64_t *size)
{
	uint8_t hdr[PAGE_FILE_HDR_LEN], sum[SHA256_LEN], buf[65536];
	struct sha256 s;
	uint64_t len, got = 0;

	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || memcmp(hdr, MAGIC, 8))
		return -EBADMSG;
	len = get_u64(hdr + 8);
	if ((uint64_t)st->st_size != len + PAGE_FILE_HDR_LEN)
		return -EBADMSG;
	sha256_init(&s);
	while (got < len) {
		ssize_t r = pread(fd, buf, (size_t)MIN(sizeof(buf), len - got),
				  (off_t)(PAGE_FILE_HDR_LEN + got));

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

int page_file_write(const char *path, const void *data, size_t len, int *fd,
		    struct page_file_id *id)
{
	uint8_t hdr[PAGE_FILE_HDR_LEN];
	struct stat st;
	int r;

	make_header(hdr, data, len);
	r = write_atomic_hold(path, hdr, sizeof(hdr), data, len, 0600, fd);
	if (r < 0)
		return r;
	if (fstat(*fd, &st) < 0) { /* after the rename, which may change ctime */
		r = -errno;
		close(*fd);
		*fd = -1;
		return r;
	}
	id_of(&st, id);
	return 0;
}

int page_file_open(const char *path, const struct page_file_id *known, int *fd_out,
		   struct page_file_id *id, uint64_t *len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP && lstat(path, &st) == 0) { /* a planted symlink */
			id_of(&st, id);
			return -EBADMSG;
		}
		return r;
	}
	/* shared: eviction elsewhere skips it. Busy: being evicted, still read whole. */
	(void)flock(fd, LOCK_SH | LOCK_NB);
	if (fstat(fd, &st) < 0)
		return -errno;
	id_of(&st, id);
	if (!page_file_trusted(&st))
		return -EBADMSG;
	if (known && page_file_id_eq(known, id))
		*len = (uint64_t)st.st_size - PAGE_FILE_HDR_LEN;
	else if ((r = verify_fd(fd, &st, len)) < 0)
		return r;
	*fd_out = TAKE_FD(fd);
	return 0;
}

void page_file_drop(const char *path, const struct page_file_id *id)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino)
		unlink(path);
}

bool page_file_unlink_unused(const char *path)
{
	struct stat a, b;
	bool gone = false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || unlink(path) == 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0) {
		if (lstat(path, &b) < 0)
			gone = errno == ENOENT;
		else if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			gone = unlink(path) == 0 || errno == ENOENT;
	}
	close(fd);
	return gone;
}
