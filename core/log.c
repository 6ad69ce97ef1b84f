/* SPDX-License-Identifier: MIT */
/*
 * A line-oriented logger. Each message is formatted into a stack buffer and
 * written with a single write(2) so concurrent lines never interleave; to
 * syslog it goes through syslog(3), which is thread-safe in glibc. A URL's
 * password never reaches the log, whoever formatted the message: every line
 * goes through url_redact_text().
 */
#include "log.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

static enum log_target log_target = LOG_TO_STDERR;
static enum log_level log_max = LOG_LVL_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int log_open(enum log_target target, const char *path, enum log_level level)
{
	log_close();
	log_max = level;
	log_target = target;
	switch (target) {
	case LOG_TO_STDERR:
		log_fd = STDERR_FILENO;
		break;
	case LOG_TO_SYSLOG:
		openlog("wikifs", LOG_PID, LOG_DAEMON);
		break;
	case LOG_TO_FILE:
		log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (log_fd < 0) {
			log_target = LOG_TO_STDERR;
			log_fd = STDERR_FILENO;
			return -errno;
		}
		break;
	}
	return 0;
}

void log_close(void)
{
	if (log_target == LOG_TO_FILE && log_fd > STDERR_FILENO)
		close(log_fd);
	if (log_target == LOG_TO_SYSLOG)
		closelog();
	log_target = LOG_TO_STDERR;
	log_fd = STDERR_FILENO;
}

int log_level_parse(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	size_t n = 0;
	va_list ap;
	int saved = errno;

	if (level > log_max)
		return;
	if (log_target != LOG_TO_SYSLOG) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      ".%03ldZ wikifs[%d] %s: ", ts.tv_nsec / 1000000,
				      (int)getpid(), level_names[level]);
	}
	va_start(ap, fmt);
	int w = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (w < 0)
		w = 0;
	n = MIN(n + (size_t)w, sizeof(line) - 2);
	line[n] = '\0';
	url_redact_text(line, sizeof(line) - 1);
	n = strlen(line);
	if (log_target == LOG_TO_SYSLOG) {
		line[n] = '\0';
		syslog(syslog_prio[level], "%s", line);
	} else {
		line[n++] = '\n';
		ssize_t r = write(log_fd, line, n);
		(void)r;
	}
	errno = saved;
}
