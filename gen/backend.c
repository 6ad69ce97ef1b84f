/* SPDX-License-Identifier: MIT */
/* Maps the configured backend to its operations. */
#include "backend.h"

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
