/* SPDX-License-Identifier: MIT */
/*
 * libcurl, used by its contract: one easy handle per worker thread, reset to
 * the common options before each request so nothing leaks from the previous
 * one, CURLOPT_NOSIGNAL because we are threaded, and every bound set on the
 * handle (timeouts, stall, size) rather than re-implemented. Response headers
 * are read after the fact with curl_easy_header(), and the status and
 * content type with curl_easy_getinfo(), so no header is parsed by hand.
 *
 * Abort: the XFERINFO callback runs at least once a second even when the
 * socket is idle and returns non-zero once the abort flag is set, which
 * makes curl fail with CURLE_ABORTED_BY_CALLBACK (-ECANCELED).
 */
#include "http.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cJSON.h>
#include <curl/curl.h>

#define REDACTED "[redacted]"

struct http_client {
	CURL *curl;
	char *ca_bundle;
	unsigned timeout_s, connect_timeout_s;
	const int *abort_flag;
	char errbuf[CURL_ERROR_SIZE];
};

/* Per-transfer state for the callbacks. */
struct xfer {
	struct http_client *h;
	const struct http_request *rq;
	struct http_response *resp;
	size_t received;
	bool too_big;
	bool stream_checked;
	int stream_err;	  /* from rq->on_stream */
	int socket_errno; /* socket() failed so (curl words it "couldn't connect") */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return http_curl_errno(global_rc);
}

int http_client_new(struct http_client **ret, const struct http_client_opts *o)
{
	struct http_client *h;
	int r;

	r = http_global_init();
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->curl = curl_easy_init();
	if (o->ca_bundle && *o->ca_bundle)
		h->ca_bundle = strdup(o->ca_bundle);
	if (!h->curl || (o->ca_bundle && *o->ca_bundle && !h->ca_bundle)) {
		http_client_free(h);
		return -ENOMEM;
	}
	h->timeout_s = o->timeout_s;
	h->connect_timeout_s = o->connect_timeout_s;
	h->abort_flag = o->abort_flag;
	*ret = h;
	return 0;
}

void http_client_free(struct http_client *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h);
}

void http_response_done(struct http_response *resp)
{
	buf_done(&resp->body);
}

int http_curl_errno(int code)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return 0;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return -ECONNRESET;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR: /* only ever caused by our size limit */
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_UNKNOWN_OPTION: /* from curl_easy_setopt() only */
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return -EINVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
		return -EKEYREJECTED;
	default:
		return -EIO;
	}
}

/* Transport failures worth another attempt: the server or the path may recover. */
static bool errno_retryable(int e)
{
	switch (e) {
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EIO:
		return true;
	default:
		return false;
	}
}

void http_url_redact(const char *url, char *out, size_t n)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	size_t len;

	if (n == 0)
		return;
	if (at) {
		/* scheme + everything after the userinfo */
		snprintf(out, n, "%.*s%s", (int)(host - url), url, at + 1);
	} else {
		snprintf(out, n, "%s", url);
	}
	len = strcspn(out, "?#");
	out[len] = '\0';
}

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '*' || c == '.' ||
	       c == '+' || c == '/' || c == '=';
}

/* Replaces [start, start+len) of @s by "[redacted]" if it fits. */
static size_t replace_span(char *s, size_t n, size_t start, size_t len)
{
	size_t total = strlen(s), rl = strlen(REDACTED);

	if (total - len + rl + 1 > n) {
		/* no room: blank it out instead */
		memset(s + start, '*', len);
		return len;
	}
	memmove(s + start + rl, s + start + len, total - start - len + 1);
	memcpy(s + start, REDACTED, rl);
	return rl;
}

void http_text_redact(char *s, size_t n, const char *secret)
{
	size_t i = 0;

	if (secret && strlen(secret) >= 4) {
		char *p;

		while ((p = strstr(s, secret)))
			replace_span(s, n, (size_t)(p - s), strlen(secret));
	}
	while (s[i]) {
		size_t len = 0;
		bool digit = false, alpha = false;

		if (!key_char(s[i]) || (i > 0 && key_char(s[i - 1]))) {
			i++;
			continue;
		}
		while (key_char(s[i + len])) {
			digit |= isdigit((unsigned char)s[i + len]) != 0;
			alpha |= isalpha((unsigned char)s[i + len]) != 0;
			len++;
		}
		/* "sk-...", "sk-ant-...", masked echoes "sk-abc***xyz", long random runs */
		if ((len >= 8 && (!strncmp(s + i, "sk-", 3) || !strncmp(s + i, "key-", 4))) ||
		    (len >= 32 && digit && alpha && !memchr(s + i, '/', len)))
			len = replace_span(s, n, i, len);
		i += len;
	}
}

int64_t http_retry_after_ms(const char *retry_after, const char *retry_after_ms, int64_t now_s)
{
	const int64_t cap = 3600 * 1000;
	char *end;

	if (retry_after_ms && *retry_after_ms) {
		double v = strtod(retry_after_ms, &end);

		if (end != retry_after_ms && v > 0)
			return v > (double)cap ? cap : (int64_t)v;
	}
	if (retry_after && *retry_after) {
		long long v;
		time_t t;

		if (isdigit((unsigned char)*retry_after)) {
			v = strtoll(retry_after, &end, 10);
			while (isspace((unsigned char)*end))
				end++;
			if (*end == '\0')
				return v > cap / 1000 ? cap : (int64_t)v * 1000;
		}
		t = curl_getdate(retry_after, NULL);
		if (t != (time_t)-1 && (int64_t)t > now_s)
			return (int64_t)t - now_s > cap / 1000 ? cap : ((int64_t)t - now_s) * 1000;
	}
	return 0;
}

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* error.code or error.type of a provider's error body ({"error": {...}}). */
static bool error_field_is(const cJSON *root, const char *const *names, size_t n)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const char *const fields[] = { "code", "type" };

	for (size_t f = 0; cJSON_IsObject(e) && f < ARRAY_SIZE(fields); f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, fields[f]);

		for (size_t i = 0; cJSON_IsString(v) && i < n; i++)
			if (!strcmp(v->valuestring, names[i]))
				return true;
	}
	return false;
}

/*
 * Billing, credit and quota errors: another attempt cannot succeed. The
 * provider's error code or type says so where it has one (OpenAI
 * "insufficient_quota", Anthropic "billing_error"); otherwise phrases only
 * such errors use. A bare "billing" is not one: OpenAI's ordinary rate
 * limit message for new accounts links to the billing page, and a rate
 * limit must be retried.
 */
static bool body_is_budget(long status, const char *body)
{
	static const char *const codes[] = {
		"insufficient_quota",
		"billing_error",
		"billing_hard_limit_reached",
	};
	static const char *const marks[] = {
		"insufficient_quota",
		"credit balance",
		"spend limit",
		"spending limit",
		"exceeded your current quota",
		"billing hard limit",
		"api usage limits",
		"payment required",
	};
	const char *end = NULL;
	bool budget = status == 402;
	cJSON *j;

	if (!budget && body && *body) {
		j = cJSON_ParseWithOpts(body, &end, false);
		budget = j && error_field_is(j, codes, ARRAY_SIZE(codes));
		cJSON_Delete(j);
	}
	for (size_t i = 0; !budget && i < ARRAY_SIZE(marks); i++)
		budget = contains_ci(body, marks[i]);
	return budget;
}

/* The provider's own words: error.message (OpenAI, Anthropic) or the body's start. */
static void body_detail(const char *body, char *out, size_t n)
{
	const char *end = NULL;
	cJSON *j;

	out[0] = '\0';
	if (!body || !*body)
		return;
	j = cJSON_ParseWithOpts(body, &end, false);
	if (j) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message")
						   : cJSON_GetObjectItemCaseSensitive(j, "message");

		if (cJSON_IsString(e))
			m = e;
		if (cJSON_IsString(m))
			snprintf(out, n, "%s", m->valuestring);
		cJSON_Delete(j);
	}
	if (!out[0])
		snprintf(out, n, "%.200s", body);
	for (char *s = out; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static const char *status_reason(long status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 401:
		return "unauthorized (check the api key)";
	case 402:
		return "payment required";
	case 403:
		return "forbidden";
	case 404:
		return "not found (check base_url and model)";
	case 408:
		return "request timeout";
	case 409:
		return "conflict";
	case 413:
		return "request too large";
	case 429:
		return "rate limited";
	case 529:
		return "overloaded";
	default:
		return status >= 500 ? "server error" : "unexpected status";
	}
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
		return -EACCES;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
	case 529:
		return -EBUSY;
	case 413:
		return -E2BIG;
	case 429:
	case 503:
		return -EAGAIN;
	default:
		return status >= 500 ? -EIO : -EPROTO;
	}
}

int http_classify(long status, const char *body, const struct http_response *resp, const char *url,
		  const char *secret, struct gen_err *err)
{
	char where[256], detail[256];
	int r = status_errno(status);

	http_url_redact(url ? url : "", where, sizeof(where));
	body_detail(body, detail, sizeof(detail));
	err->budget = body_is_budget(status, body);
	err->retry_after_ms = 0;
	err->retryable = status == 408 || status == 409 || status == 429 || status >= 500;
	if (resp && !err->budget) {
		/* the SDKs let the server overrule the status */
		if (!strcasecmp(resp->should_retry, "true"))
			err->retryable = true;
		else if (!strcasecmp(resp->should_retry, "false"))
			err->retryable = false;
	}
	if (err->budget) {
		err->retryable = false;
		r = -EDQUOT;
	}
	if (err->retryable && resp)
		err->retry_after_ms =
		    http_retry_after_ms(resp->retry_after, resp->retry_after_ms, wall_ms() / 1000);
	wf_err_set(&err->e, r, "http %ld from '%s': %s%s%s%s%s", status, where,
		   err->budget ? "billing or quota exhausted" : status_reason(status),
		   detail[0] ? ": " : "", detail, resp && resp->request_id[0] ? " (request " : "",
		   resp && resp->request_id[0] ? resp->request_id : "");
	if (resp && resp->request_id[0])
		strncat(err->e.msg, ")", sizeof(err->e.msg) - strlen(err->e.msg) - 1);
	http_text_redact(err->e.msg, sizeof(err->e.msg), secret);
	return r;
}

static int xferinfo_cb(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct http_client *h = p;

	return h->abort_flag && __atomic_load_n(h->abort_flag, __ATOMIC_ACQUIRE) ? 1 : 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t n = size * nmemb;

	if (n > x->rq->max_response || x->received > x->rq->max_response - n) {
		x->too_big = true;
		return 0;
	}
	x->received += n;
	if (!x->stream_checked) {
		char *ct = NULL;
		long status = 0;

		x->stream_checked = true;
		curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->h->curl, CURLINFO_CONTENT_TYPE, &ct);
		x->resp->streamed = x->rq->on_stream && status >= 200 && status < 300 && ct &&
				    !strncasecmp(ct, "text/event-stream", 17);
	}
	if (x->resp->streamed) {
		x->stream_err = x->rq->on_stream(x->rq->ctx, data, n);
		return x->stream_err < 0 ? 0 : n;
	}
	if (buf_add(&x->resp->body, data, n) < 0) {
		x->too_big = true;
		return 0;
	}
	return n;
}

static void copy_header(CURL *c, const char *name, char *out, size_t n)
{
	struct curl_header *hd;

	if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
		snprintf(out, n, "%s", hd->value);
}

static void capture_headers(struct http_client *h, struct http_response *resp)
{
	char *ct = NULL;

	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	copy_header(h->curl, "retry-after", resp->retry_after, sizeof(resp->retry_after));
	copy_header(h->curl, "retry-after-ms", resp->retry_after_ms, sizeof(resp->retry_after_ms));
	copy_header(h->curl, "x-should-retry", resp->should_retry, sizeof(resp->should_retry));
	copy_header(h->curl, "request-id", resp->request_id, sizeof(resp->request_id));
	if (!resp->request_id[0])
		copy_header(h->curl, "x-request-id", resp->request_id, sizeof(resp->request_id));
}

/* curl's socket(), close-on-exec, keeping why it failed (EMFILE: retry later). */
static curl_socket_t open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = clientp;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	if (fd < 0)
		x->socket_errno = errno;
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int setup(struct http_client *h, const struct http_request *rq, struct curl_slist *hdrs,
		 struct xfer *x)
{
	CURL *c = h->curl;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(c); /* keeps live connections, drops the last request's options */
#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(c, opt, val); \
	} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, rq->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_TIMEOUT, (long)h->timeout_s);
	SET(CURLOPT_CONNECTTIMEOUT, (long)h->connect_timeout_s);
	if (rq->stall_s) {
		SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SET(CURLOPT_LOW_SPEED_TIME, (long)rq->stall_s);
	}
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_response);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_bundle)
		SET(CURLOPT_CAINFO, h->ca_bundle);
	SET(CURLOPT_FOLLOWLOCATION, 0L);  /* a redirect would re-send the key elsewhere */
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	SET(CURLOPT_XFERINFODATA, h);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	SET(CURLOPT_OPENSOCKETDATA, x);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_USERAGENT, "wikifs/0.1");
#undef SET
	return http_curl_errno(rc);
}

/* curl's copies of the header lines: one may hold the API key. */
static void headers_free(struct curl_slist *hdrs)
{
	for (struct curl_slist *n = hdrs; n; n = n->next)
		explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(hdrs);
}

int http_post(struct http_client *h, const struct http_request *rq, struct http_response *resp,
	      struct gen_err *err)
{
	struct curl_slist *hdrs = NULL;
	struct xfer x = { .h = h, .rq = rq, .resp = resp };
	char where[256];
	CURLcode rc;
	int r;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, rq->max_response);
	http_url_redact(rq->url, where, sizeof(where));
	err->retryable = false;
	err->retry_after_ms = 0;
	err->budget = false;
	for (const char *const *hd = rq->headers; hd && *hd; hd++) {
		struct curl_slist *n = curl_slist_append(hdrs, *hd);

		if (!n) {
			r = wf_err_set(&err->e, -ENOMEM, "out of memory for a request to '%s'",
				       where);
			goto out_free_headers;
		}
		hdrs = n;
	}
	r = setup(h, rq, hdrs, &x);
	if (r < 0) {
		wf_err_set(&err->e, r, "cannot set up a request to '%s'", where);
		goto out_free_headers;
	}
	h->errbuf[0] = '\0';
	if (h->abort_flag && __atomic_load_n(h->abort_flag, __ATOMIC_ACQUIRE))
		rc = CURLE_ABORTED_BY_CALLBACK;
	else
		rc = curl_easy_perform(h->curl);
	capture_headers(h, resp);
	if (rc == CURLE_OK) {
		r = 0;
	} else if (x.stream_err < 0) {
		r = x.stream_err; /* the stream consumer filled @err through its ctx */
	} else {
		bool no_fd = x.socket_errno == EMFILE || x.socket_errno == ENFILE;

		r = no_fd ? -x.socket_errno : x.too_big ? -EFBIG : http_curl_errno(rc);
		err->retryable = no_fd || errno_retryable(r);
		if (no_fd)
			wf_err_set(&err->e, r, "request to '%s' failed: cannot open a socket: %s",
				   where, strerror(-r));
		else if (r == -EFBIG)
			wf_err_set(&err->e, r, "response from '%s' larger than %zu bytes", where,
				   rq->max_response);
		else if (r == -ECANCELED)
			wf_err_set(&err->e, r, "request to '%s' aborted", where);
		else
			wf_err_set(&err->e, r, "request to '%s' failed: %s", where,
				   h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		http_text_redact(err->e.msg, sizeof(err->e.msg), rq->secret);
	}
out_free_headers:
	/* curl keeps pointers to the request's options: drop them first */
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdrs);
	return r;
}
