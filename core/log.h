/* SPDX-License-Identifier: MIT */
/*
 * The one logger. Only fs/ and the program's main call it: library layers
 * (core, cache, gen) return errors and let the caller decide what to say.
 * Messages are lowercase, failure first, user strings quoted.
 *
 * Thread-safe: one line is written with one write(2).
 */
#ifndef WIKIFS_LOG_H
#define WIKIFS_LOG_H

#include "util.h"

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

/* Not thread-safe: call before starting threads. @path only for LOG_TO_FILE. */
int log_open(enum log_target target, const char *path, enum log_level level);
void log_close(void);
int log_level_parse(const char *s, enum log_level *ret);

void log_msg(enum log_level level, const char *fmt, ...) PRINTF(2, 3);

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
