/* SPDX-License-Identifier: MIT */
/*
 * Anthropic Messages responses through the wire description
 * (anthropic_wire, llm_wire_parse). The first byte chooses the form: bit 0 set,
 * an SSE stream fed in pieces of (byte >> 1) bytes (0 = all at once, as a
 * network read may cut anywhere); clear, a plain JSON answer. Promises
 * checked: a success appends a non-empty page, a failure appends nothing
 * and says why, and the page stays within the limit. The same stream cut
 * into different pieces must give the same result.
 */
#include "fuzz.h"

#include <string.h>

#include "anthropic.h"

#define OUT_MAX (1u << 20)

static int parse(const char *body, size_t size, bool stream, size_t chunk, struct buf *out,
		 struct gen_err *err)
{
	struct gen_usage usage = { 0 };

	buf_init(out, OUT_MAX);
	return llm_wire_parse(&anthropic_wire, body, size, stream, chunk, out, &usage, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gen_err err = { 0 }, err2 = { 0 };
	struct buf out, out2;
	bool stream;
	size_t chunk;
	char *body;
	int r, r2;

	if (size < 1)
		return 0;
	stream = data[0] & 1;
	chunk = data[0] >> 1;
	body = malloc(size);
	if (!body)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	r = parse(body, size - 1, stream, chunk, &out, &err);
	if (r == 0) {
		FUZZ_CHECK(out.len > 0 && out.len <= OUT_MAX);
	} else {
		FUZZ_CHECK(r < 0);
		FUZZ_CHECK(out.len == 0);
		FUZZ_CHECK(err.e.msg[0] != '\0');
	}
	if (stream && chunk) {
		/* how the network cuts the stream must not matter */
		r2 = parse(body, size - 1, true, 0, &out2, &err2);
		FUZZ_CHECK(r2 == r);
		FUZZ_CHECK(out2.len == out.len &&
			   (!out.len || !memcmp(out.data, out2.data, out.len)));
		buf_done(&out2);
	}
	buf_done(&out);
	free(body);
	return 0;
}
