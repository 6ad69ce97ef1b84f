/* SPDX-License-Identifier: MIT */
/*
 * The operations a read-only tree refuses: every one that would create,
 * remove or rename a name answers EROFS (pages, directories and control
 * files alike; the control file is written, never created).
 */
#include "fs.h"

#include <errno.h>

void fs_ro_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
	(void)parent, (void)name, (void)mode, (void)rdev;
}

void fs_ro_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EROFS);
	(void)parent, (void)name, (void)mode;
}

void fs_ro_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
	(void)parent, (void)name;
}

void fs_ro_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		  const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
}

void fs_ro_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
	(void)link, (void)parent, (void)name;
}

void fs_ro_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EROFS);
	(void)ino, (void)newparent, (void)newname;
}

void fs_ro_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
	(void)parent, (void)name, (void)mode, (void)fi;
}
