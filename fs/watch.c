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

/* The mount ID of the fuse.wikifs mount at @mnt, or -1. */
static long find_mount_id(int fd, const char *mnt)
{
	char buf[65536], *save = NULL;
	size_t n = 0;
	ssize_t r;
	long id = -1;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char point[4096], *sep;
		long mid;

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS" */
		if (sscanf(line, "%ld %*d %*s %*s %4095s", &mid, point) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "fuse.wikifs ", 12))
			continue;
		if (!strcmp(point, mnt))
			id = mid; /* the last one wins: stacked mounts list in order */
	}
	return id;
}

static bool mount_id_present(int fd, long id)
{
	char buf[65536], *save = NULL;
	size_t n = 0;
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return true;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	if (n == sizeof(buf) - 1)
		return true; /* too many mounts to be sure: assume still there */
	buf[n] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strtol(line, NULL, 10) == id)
			return true;
	return false;
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
		if ((p[0].revents & (POLLPRI | POLLERR)) && !mount_id_present(fd, watch_mount_id)) {
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
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	watch_mount_id = find_mount_id(fd, fs->mountpoint);
	close(fd);
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
