/* SPDX-License-Identifier: MIT */
/*
 * OpenAI Chat Completions responses through the wire description
 * (openai_wire, llm_wire_parse): the input is the HTTP body. Promises
 * checked: a success appends a non-empty page, a failure appends nothing and
 * says why, and the page never exceeds the buffer's limit.
 */
#include "fuzz.h"

#include <string.h>

#include "openai.h"

#define OUT_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);
	struct gen_usage usage = { 0 };
	struct gen_err err = { 0 };
	struct buf out;
	int r;

	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	buf_init(&out, OUT_MAX);
	r = llm_wire_parse(&openai_wire, body, size, false, 0, &out, &usage, &err);
	if (r == 0) {
		FUZZ_CHECK(out.len > 0 && out.len <= OUT_MAX);
		FUZZ_CHECK(strlen(out.data) <= out.len);
	} else {
		FUZZ_CHECK(r < 0);
		FUZZ_CHECK(out.len == 0);
		FUZZ_CHECK(err.e.msg[0] != '\0');
	}
	buf_done(&out);
	free(body);
	return 0;
}
