/* SPDX-License-Identifier: MIT */
/*
 * The Anthropic Messages protocol, streamed, as a wire description
 * (llm_wire.h), for backend = anthropic. Pure data and pure functions:
 * thread-safe; one stream parser per request.
 */
#ifndef WIKIFS_ANTHROPIC_H
#define WIKIFS_ANTHROPIC_H

#include "llm_wire.h"

extern const struct llm_wire anthropic_wire;

#endif
