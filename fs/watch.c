/* SPDX-License-Identifier: MIT */
/*
 * The mount watcher. A lazy unmount (fusermount3 -uz, or umount -l while a
 * reader waits inside the mount) detaches the mount at once, but the kernel
 * sends DESTROY only when the last reference is gone, and a request parked
 * on a long generation holds one. Without help the reader would wait for
 * open_timeout. So a thread polls /proc/self/mountinfo, which signals
 * POLLPRI whenever the mount table changes; when our mount's ID is no longer
 * in it, the wiki is shut down: every parked request is answered with an
 * error, running generations are aborted, and the references drop, so the
 * kernel ends the session and the daemon exits normally.
 */
#include "fs.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

static pthread_t watch_thread;
static bool watch_started;
static int watch_stop_pipe[2] = { -1, -1 };
static long watch_mount_id = -1;

struct wikifs_at {
	const char *point;
	long id;
};

static int wikifs_at_point(void *ctx, const struct mount_entry *e)
{
	struct wikifs_at *w = ctx;

	if (!strcmp(e->fstype, "fuse.wikifs") && !strcmp(e->point, w->point))
		w->id = e->id; /* the last one wins: stacked mounts list in order */
	return 0;
}

static int has_id(void *ctx, const struct mount_entry *e)
{
	return e->id == *(const long *)ctx;
}

/* true unless the table was read and our mount is not in it */
static bool mount_id_present(long id)
{
	return mountinfo_foreach(has_id, &id) != 0;
}

static void *watch_main(void *data)
{
	struct fs *fs = data;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLPRI },
				       { .fd = watch_stop_pipe[0], .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if ((p[0].revents & (POLLPRI | POLLERR)) && !mount_id_present(watch_mount_id)) {
			/* also seen on a plain unmount, racing DESTROY: harmless */
			log_info("'%s' is no longer mounted: answering waiting requests",
				 fs->mountpoint);
			wiki_shutdown(fs->wiki);
			break;
		}
	}
	close(fd);
	return NULL;
}

int fs_watch_start(struct fs *fs)
{
	struct wikifs_at w = { .point = fs->mountpoint, .id = -1 };

	mountinfo_foreach(wikifs_at_point, &w);
	watch_mount_id = w.id;
	if (watch_mount_id < 0)
		return -ENOENT; /* not visible here (another namespace): nothing to watch */
	if (pipe2(watch_stop_pipe, O_CLOEXEC) < 0)
		return -errno;
	if (pthread_create(&watch_thread, NULL, watch_main, fs) != 0) {
		close(watch_stop_pipe[0]);
		close(watch_stop_pipe[1]);
		return -EAGAIN;
	}
	watch_started = true;
	return 0;
}

void fs_watch_stop(void)
{
	if (!watch_started)
		return;
	if (write(watch_stop_pipe[1], "x", 1) < 0)
		log_warn("cannot stop the mount watcher: %s", strerror(errno));
	pthread_join(watch_thread, NULL);
	close(watch_stop_pipe[0]);
	close(watch_stop_pipe[1]);
	watch_started = false;
}
