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
#include "watch.h"
#include "log.h"
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fixed once started; the thread only reads them. */
struct watch {
	const char *mountpoint;
	struct wiki *wiki;
	long mount_id;
	int stop_pipe[2]; /* a byte on [1] stops the thread */
	pthread_t thread;
};

struct wikifs_at {
	const char *point;
	long id;
};

static int wikifs_at_point(void *ctx, const struct mount_entry *e)
{
	struct wikifs_at *w = ctx;

	if (!strcmp(e->fstype, WIKIFS_FSTYPE) && !strcmp(e->point, w->point))
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
	struct watch *wt = data;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLPRI },
				       { .fd = wt->stop_pipe[0], .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if ((p[0].revents & (POLLPRI | POLLERR)) && !mount_id_present(wt->mount_id)) {
			/* also seen on a plain unmount, racing DESTROY: harmless */
			log_info("'%s' is no longer mounted: answering waiting requests",
				 wt->mountpoint);
			wiki_shutdown(wt->wiki);
			break;
		}
	}
	close(fd);
	return NULL;
}

int watch_start(struct watch **ret, const char *mountpoint, struct wiki *wiki)
{
	struct wikifs_at at = { .point = mountpoint, .id = -1 };
	struct watch *wt;
	int r;

	mountinfo_foreach(wikifs_at_point, &at);
	if (at.id < 0)
		return -ENOENT; /* not visible here (another namespace): nothing to watch */
	wt = calloc(1, sizeof(*wt));
	if (!wt)
		return -ENOMEM;
	wt->mountpoint = mountpoint;
	wt->wiki = wiki;
	wt->mount_id = at.id;
	if (pipe2(wt->stop_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_free_watch;
	}
	if (pthread_create(&wt->thread, NULL, watch_main, wt) != 0) {
		r = -EAGAIN;
		goto out_close_pipe;
	}
	*ret = wt;
	return 0;

out_close_pipe:
	close(wt->stop_pipe[0]);
	close(wt->stop_pipe[1]);
out_free_watch:
	free(wt);
	return r;
}

void watch_stop(struct watch *wt)
{
	if (!wt)
		return;
	if (write(wt->stop_pipe[1], "x", 1) < 0)
		log_warn("cannot stop the mount watcher: %s", strerror(errno));
	pthread_join(wt->thread, NULL);
	close(wt->stop_pipe[0]);
	close(wt->stop_pipe[1]);
	free(wt);
}
