/* SPDX-License-Identifier: MIT */
/* Maps the configured backend to its operations; classifies a shortage of descriptors. */
#include "backend.h"

#include <errno.h>
#include <string.h>

#define FD_SHORTAGE "out of file descriptors"

const struct backend_ops *backend_for(enum conf_backend b)
{
	switch (b) {
	case BACKEND_OPENAI:
		return &backend_openai;
	case BACKEND_ANTHROPIC:
		return &backend_anthropic;
	case BACKEND_COMMAND:
		return &backend_command;
	case BACKEND_BUILTIN:
		break;
	}
	return &backend_builtin;
}

bool gen_err_fd_shortage(int r, struct gen_err *err)
{
	char cause[sizeof(err->e.msg)];

	/* strerror(ENFILE) starts with strerror(EMFILE): "Too many open files" */
	if (r != -EMFILE && r != -ENFILE && !strstr(err->e.msg, strerror(EMFILE)))
		return false;
	err->retryable = true;
	err->resource = true;
	err->budget = false;
	if (strncmp(err->e.msg, FD_SHORTAGE, strlen(FD_SHORTAGE))) {
		snprintf(cause, sizeof(cause), "%s", err->e.msg[0] ? err->e.msg : strerror(-r));
		wf_err_set(&err->e, r, FD_SHORTAGE " (%.440s)", cause);
	}
	return true;
}
