/* SPDX-License-Identifier: MIT */
/*
 * The one libcurl module. Each worker thread owns one struct http_client (one
 * curl easy handle, reused so connections stay alive between pages). Every
 * transfer is bounded: connect timeout, total timeout, optional stall
 * (low-speed) limit, maximum response size, and an abort flag polled from the
 * progress callback so that unmount ends transfers within about a second.
 *
 * Failures come back as 0/-errno plus a struct gen_err classified for the
 * retry policy of the worker pool: transport errors by http_curl_errno() and
 * HTTP statuses by http_classify(), the only two places where a foreign error
 * space becomes errno. No message produced here ever contains a request
 * header (API keys travel only in headers), a URL's userinfo or query, or the
 * secret handed in for redaction.
 *
 * Threading: http_global_init() is called once by a backend's init() on the
 * main thread, before worker threads exist (curl_global_init is not
 * guaranteed thread-safe on every libcurl build); curl_global_cleanup() is
 * never called, the process exit reclaims it. An http_client is used by one
 * thread at a time; the abort flag it watches may be set from any thread.
 */
#ifndef WIKIFS_HTTP_H
#define WIKIFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"

struct http_client;

struct http_client_opts {
	unsigned timeout_s;	    /* whole transfer; conf gen_timeout */
	unsigned connect_timeout_s; /* TCP + TLS handshake */
	const char *ca_bundle;	    /* PEM file, NULL = the system's store; copied */
	const int *abort_flag;	    /* non-zero (read atomically) ends transfers; may be NULL */
};

/* One response: status, body, and the headers the retry policy needs (NUL-terminated, bounded). */
struct http_response {
	long status;	 /* 0 until a status line arrived */
	struct buf body; /* the body, unless it was streamed to on_stream */
	bool streamed;	 /* the body went to on_stream */
	char content_type[128];
	char retry_after[64];	 /* Retry-After: seconds or an HTTP date */
	char retry_after_ms[32]; /* retry-after-ms (OpenAI, Anthropic) */
	char should_retry[8];	 /* x-should-retry: "true" / "false" */
	char request_id[96];	 /* x-request-id / request-id, for messages */
};

struct http_request {
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated; never echoed,
				     * and curl's copies are wiped after the transfer */
	const char *body;	    /* POST body (JSON) */
	size_t body_len;
	size_t max_response; /* bytes received, body or stream; past it: -EFBIG */
	unsigned stall_s;    /* fail when under 1 byte/s for this long; 0 = off */
	const char *secret;  /* redacted from every message; may be NULL */
	/*
	 * Optional: a 2xx "text/event-stream" body is handed here chunk by
	 * chunk instead of being stored. A negative return (-errno) ends the
	 * transfer and becomes http_request()'s result; the callback fills
	 * whatever error detail it wants through @ctx.
	 */
	int (*on_stream)(void *ctx, const char *data, size_t len);
	void *ctx;
};

/* curl_global_init() once per process (pthread_once). 0 or -EIO. */
int http_global_init(void);

/* A client for one worker thread. Caller frees with http_client_free(). */
int http_client_new(struct http_client **ret, const struct http_client_opts *o);
void http_client_free(struct http_client *h); /* NULL is fine */

/*
 * POSTs @rq and fills @resp (initialised here; the caller releases it with
 * http_response_done(), also on failure). Returns 0 when a whole HTTP
 * response arrived, whatever its status (see http_classify()); -errno when
 * the transfer failed, with @err filled and classified (-ECANCELED after an
 * abort, -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET... retryable; -EFBIG not).
 */
int http_post(struct http_client *h, const struct http_request *rq, struct http_response *resp,
	      struct gen_err *err);
void http_response_done(struct http_response *resp);

/* The single CURLcode -> errno map (@code is a CURLcode). */
int http_curl_errno(int code);

/*
 * The single HTTP status -> errno and retry classification. @body is the
 * response body (may be NULL), used for the provider's message and for
 * billing / quota errors, which are never retried (budget = true, -EDQUOT).
 * Retries 408, 409, 429, 5xx and 529, honouring Retry-After / retry-after-ms
 * and x-should-retry from @resp (may be NULL). Returns the -errno, also put
 * in @err with a message "http 429 from 'URL': detail" (URL without userinfo
 * or query, detail redacted of @secret and anything that looks like a key).
 */
int http_classify(long status, const char *body, const struct http_response *resp, const char *url,
		  const char *secret, struct gen_err *err);

/*
 * Milliseconds the server asked to wait: retry-after-ms wins over
 * Retry-After (delta seconds or an HTTP date, relative to @now_s, wall-clock
 * seconds). 0 when absent, unparsable or in the past; capped at one hour.
 */
int64_t http_retry_after_ms(const char *retry_after, const char *retry_after_ms, int64_t now_s);

/* Copies @url to @out without userinfo, query or fragment (for messages). */
void http_url_redact(const char *url, char *out, size_t n);

/*
 * Rewrites @s in place: @secret (if any) and any token that looks like an
 * API key ("sk-...", long base64-like runs) become "[redacted]". @s must
 * have room for @n bytes including the NUL.
 */
void http_text_redact(char *s, size_t n, const char *secret);

#endif
