/* SPDX-License-Identifier: MIT */
/*
 * Human detail for an error. Functions return 0 or -errno; when the caller
 * wants to know *why*, it passes a struct wf_err and the callee fills msg
 * (lowercase, failure first, user strings quoted). Never a global.
 */
#ifndef WIKIFS_ERR_H
#define WIKIFS_ERR_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct wf_err {
	char msg[512];
};

/* @e may be NULL. Returns @code, so "return wf_err_set(e, -EIO, ...)" reads well. */
static inline int wf_err_set(struct wf_err *e, int code, const char *fmt, ...) PRINTF(3, 4);
static inline int wf_err_set(struct wf_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static inline void wf_err_clear(struct wf_err *e)
{
	if (e)
		e->msg[0] = '\0';
}

#endif
