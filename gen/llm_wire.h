/* SPDX-License-Identifier: MIT */
/*
 * An LLM wire protocol as data. Each HTTP protocol (openai.c, anthropic.c)
 * exports one const struct llm_wire: where a request goes, which headers it
 * carries and how the API key is sent, how the body is built and how an
 * answer is parsed, whole or streamed. The one code path that sends a
 * request (llm.c) reads this description; it alone builds the URL and the
 * headers, wipes the key's header, classifies HTTP statuses, redacts the key
 * from messages and drops a half page. A protocol file therefore never sees
 * the key, a curl handle or a status code of a whole response.
 *
 * The functions of a description are pure: no network, no global state,
 * thread-safe. The parsers append the page to @out (bounded by its max),
 * add token counts to @usage, and fill @err (message and retry
 * classification) on failure; @where names the endpoint in messages (a URL
 * already stripped of userinfo and query).
 */
#ifndef WIKIFS_LLM_WIRE_H
#define WIKIFS_LLM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"
#include "conf.h"

struct cJSON;

/* Fixed header lines of a protocol, at most this many. */
#define LLM_WIRE_MAX_HEADERS 4

struct llm_wire {
	const char *name;	  /* "openai", "anthropic": messages and the fuzz driver */
	const char *default_base; /* used when generator.base_url is empty */
	const char *path;	  /* appended to the base: "/chat/completions" */
	/* "Name: value" lines sent with every request, NULL-terminated. */
	const char *headers[LLM_WIRE_MAX_HEADERS + 1];
	/*
	 * The key's header up to the key ("Authorization: Bearer "); sent only
	 * when a key is configured and set (local servers need none).
	 */
	const char *key_header;
	/*
	 * Optional: one more header line made from the configuration (a
	 * protocol version); malloc'd, freed by the caller; NULL = out of memory.
	 */
	char *(*conf_header)(const struct conf *c);
	size_t max_response; /* bytes received, body or stream */

	/* The request body (JSON, cJSON-printed): malloc'd, NULL = out of memory. */
	char *(*build)(const struct conf *c, const char *system, const char *user);
	/* A whole 2xx JSON answer of @len bytes (NUL-terminated at @len). */
	int (*parse)(const char *body, size_t len, const char *where, struct buf *out,
		     struct gen_usage *usage, struct gen_err *err);

	/*
	 * Streaming, all NULL for a protocol that answers in one document.
	 * The request then asks for a stream; a 2xx "text/event-stream" answer
	 * is fed to stream_feed() chunk by chunk as it arrives (any cut), and
	 * judged by stream_end() once the transfer ended with @r (0 or the
	 * transfer's -errno, @err filled then), which returns the attempt's
	 * result. A stream that reports an error mid-answer makes stream_feed()
	 * return -errno with @err classified, which ends the transfer.
	 * stream_new() remembers @out, @err and @where; stream_free() accepts
	 * NULL.
	 */
	int (*stream_new)(void **ret, struct buf *out, struct gen_err *err, const char *where);
	int (*stream_feed)(void *stream, const char *data, size_t len);
	int (*stream_end)(void *stream, int r, struct gen_usage *usage);
	void (*stream_free)(void *stream);
};

/*
 * Parses a whole answer @body of @len bytes (NUL-terminated at @len) with
 * @w, without the network: as a stream fed @chunk bytes at a time (0 = at
 * once) when @stream, else as one JSON document. What the post path does
 * after a 2xx answer, minus the transfer: the fuzz harnesses and unit tests
 * use it. The page is appended to @out, nothing on failure; 0 or -errno
 * with @err filled (-EINVAL for @stream with a protocol that has no stream
 * parser). Pure and thread-safe.
 */
int llm_wire_parse(const struct llm_wire *w, const char *body, size_t len, bool stream,
		   size_t chunk, struct buf *out, struct gen_usage *usage, struct gen_err *err);

/*
 * A token count from a response: a non-negative number below 2^63, else 0.
 * (NaN, infinities and huge values would make the cast undefined; the
 * fuzzers found 1e400.)
 */
uint64_t llm_wire_u64(const struct cJSON *obj, const char *name);

/* Appends {"role": @role, "content": @content} to the array @msgs: 0 or -ENOMEM. */
int llm_wire_add_message(struct cJSON *msgs, const char *role, const char *content);

#endif
