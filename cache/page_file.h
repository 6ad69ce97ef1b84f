/* SPDX-License-Identifier: MIT */
/*
 * One page file of the page cache, on its own: the format (a 64-byte header
 * of magic, content length and SHA-256 of the content, then the content),
 * its verification, its identity, who may have written it, and the locks
 * that readers and evictors of several processes take on it.
 *
 * Locks (flock(2)): a reader holds a shared lock on every fd it reads, a
 * committer on the file it just wrote; an evictor removes a file only with
 * its exclusive lock, taken without waiting. A reader that finds the file
 * locked exclusively (being evicted) reads on without a lock: its fd reads
 * the whole file even once it is unlinked.
 *
 * Only a regular file owned by this user and writable by nobody else is
 * trusted; anything else is treated as corrupt.
 *
 * Stateless and thread-safe; 0 or -errno.
 */
#ifndef WIKIFS_PAGE_FILE_H
#define WIKIFS_PAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define PAGE_FILE_HDR_LEN 64

/* What says that a file is still the one verified. */
struct page_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

bool page_file_id_eq(const struct page_file_id *a, const struct page_file_id *b);

/* Could only this user have written it? (A regular file, ours, 0600-ish.) */
bool page_file_trusted(const struct stat *st);

/* Content bytes of a trusted file at @path, without reading it; -ENOENT if not. */
int page_file_stat(const char *path, uint64_t *len);

/*
 * Writes @data as the page file at @path atomically (write_atomic_hold()).
 * On success *fd (the caller's) reads it, holding a shared lock, and *id
 * names it.
 */
int page_file_write(const char *path, const void *data, size_t len, int *fd,
		    struct page_file_id *id);

/*
 * Opens @path for reading with a shared lock and checks it: trusted, and
 * verified unless it is the very file @known (may be NULL) names. On
 * success *fd (the caller's) reads the content at PAGE_FILE_HDR_LEN, *len
 * bytes. -ENOENT when missing, -EBADMSG when corrupt or untrusted (then *id
 * names the bad file, for page_file_drop()), or -errno.
 */
int page_file_open(const char *path, const struct page_file_id *known, int *fd,
		   struct page_file_id *id, uint64_t *len);

/* Removes the bad file @id at @path, not a good one that replaced it since. */
void page_file_drop(const char *path, const struct page_file_id *id);

/*
 * Removes @path unless another process has it open (a shared lock) or it
 * was replaced between the lock and the unlink. True when it is gone.
 */
bool page_file_unlink_unused(const char *path);

#endif
