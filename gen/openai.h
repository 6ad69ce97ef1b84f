/* SPDX-License-Identifier: MIT */
/*
 * The OpenAI Chat Completions protocol as a wire description (llm_wire.h),
 * for backend = openai. Pure data and pure functions: thread-safe.
 */
#ifndef WIKIFS_OPENAI_H
#define WIKIFS_OPENAI_H

#include "llm_wire.h"

extern const struct llm_wire openai_wire;

#endif
