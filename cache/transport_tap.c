/* SPDX-License-Identifier: MIT */
/*
 * Transport tap (see transport_tap.h). A pkt-line is four hex digits of
 * length (header included) and a payload; "0000" to "0003" carry none. The
 * reader follows the headers across reads; the payload of a pkt is kept
 * (its first bytes only) when it may be a message: one starting with
 * "ERR ", or side-band channel 2 or 3 (first byte 2 or 3; refs, ACK and
 * NAK lines start with a letter or a hex digit, pack data with 1). A header
 * that is not hex means the stream is not pkt-lines (pack data without
 * side-band): the tap stops reading it.
 *
 * libgit2's stateful subtransports (git, ssh) hand out the same stream for
 * the listing and the fetch, and libgit2 asserts it gets the same one back:
 * the tap keeps the last (inner, wrapper) pair to answer in kind.
 */
#include "transport_tap.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2/sys/transport.h>

#define KEEP_MAX 512 /* payload bytes of one pkt looked at */

struct tap_stream {
	git_smart_subtransport_stream parent;
	git_smart_subtransport_stream *inner;
	struct tap_sub *sub;
	char hdr[4];
	unsigned hdr_len;
	size_t left;  /* payload bytes of the current pkt still to come */
	bool keeping; /* the current pkt may be a message */
	bool first;   /* the next payload byte is the pkt's first */
	bool stopped; /* not pkt-lines: stop looking */
	char keep[KEEP_MAX + 1];
	size_t kept;
	char line[KEEP_MAX + 1]; /* progress text up to its end of line */
	size_t line_len;
};

struct tap_sub {
	git_smart_subtransport parent;
	git_smart_subtransport *inner;
	struct transport_tap *tap;
	git_smart_subtransport_stream *last_inner;
	struct tap_stream *last;
};

/* Appends one message line to the tap's record (the latest wins when full). */
static void note(struct transport_tap *tap, const char *s, size_t n)
{
	size_t have = strlen(tap->remote_msg);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	while (n > 0 && (*s == '\n' || *s == '\r' || *s == ' ')) {
		s++;
		n--;
	}
	if (n == 0 || (have && memmem(tap->remote_msg, have, s, n)))
		return;
	if (have + n + 3 >= sizeof(tap->remote_msg))
		have = 0; /* keep the latest: it is usually the cause */
	snprintf(tap->remote_msg + have, sizeof(tap->remote_msg) - have, "%s%.*s", have ? "; " : "",
		 (int)n, s);
}

/*
 * Progress-channel text, whose lines may be split across pkts: only its
 * "error:" and "fatal:" lines are messages.
 */
static void note_progress(struct tap_stream *s, const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (c != '\n' && c != '\r') {
			if (s->line_len < KEEP_MAX)
				s->line[s->line_len++] = c;
			continue;
		}
		s->line[s->line_len] = '\0';
		if (!strncasecmp(s->line, "error", 5) || !strncasecmp(s->line, "fatal", 5))
			note(s->sub->tap, s->line, s->line_len);
		s->line_len = 0;
	}
}

static void pkt_done(struct tap_stream *s)
{
	struct transport_tap *tap = s->sub->tap;

	s->keep[s->kept] = '\0';
	if (s->keeping && s->kept) {
		if (!strncmp(s->keep, "ERR ", 4))
			note(tap, s->keep + 4, s->kept - 4);
		else if (s->keep[0] == 3)
			note(tap, s->keep + 1, s->kept - 1);
		else if (s->keep[0] == 2)
			note_progress(s, s->keep + 1, s->kept - 1);
	}
	s->keeping = false;
	s->kept = 0;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Follows the pkt-lines in @p (@n bytes just read). */
static void scan(struct tap_stream *s, const char *p, size_t n)
{
	while (n > 0 && !s->stopped) {
		if (s->left == 0) {
			size_t len = 0;

			s->hdr[s->hdr_len++] = *p++;
			n--;
			if (s->hdr_len < 4)
				continue;
			s->hdr_len = 0;
			for (int i = 0; i < 4; i++) {
				if (!isxdigit((unsigned char)s->hdr[i])) {
					s->stopped = true;
					return;
				}
				len = len * 16 + (size_t)hexval(s->hdr[i]);
			}
			s->left = len > 4 ? len - 4 : 0;
			s->first = true;
			continue;
		}
		if (s->first) {
			s->keeping = *p == 2 || *p == 3 || *p == 'E';
			s->first = false;
		}
		size_t take = MIN(n, s->left);

		if (s->keeping) {
			size_t room = KEEP_MAX - s->kept;

			memcpy(s->keep + s->kept, p, MIN(take, room));
			s->kept += MIN(take, room);
		}
		p += take;
		n -= take;
		s->left -= take;
		if (s->left == 0)
			pkt_done(s);
	}
}

static int tap_read(git_smart_subtransport_stream *stream, char *buffer, size_t buf_size,
		    size_t *bytes_read)
{
	struct tap_stream *s = (struct tap_stream *)stream;
	int r = s->inner->read(s->inner, buffer, buf_size, bytes_read);

	if (r < 0 || *bytes_read == 0)
		s->sub->tap->eof = true;
	else
		scan(s, buffer, *bytes_read);
	return r;
}

static int tap_write(git_smart_subtransport_stream *stream, const char *buffer, size_t len)
{
	struct tap_stream *s = (struct tap_stream *)stream;

	return s->inner->write(s->inner, buffer, len);
}

static void tap_stream_free(git_smart_subtransport_stream *stream)
{
	struct tap_stream *s = (struct tap_stream *)stream;

	if (s->sub->last == s) {
		s->sub->last = NULL;
		s->sub->last_inner = NULL;
	}
	s->inner->free(s->inner);
	free(s);
}

static int tap_action(git_smart_subtransport_stream **out, git_smart_subtransport *transport,
		      const char *url, git_smart_service_t action)
{
	struct tap_sub *t = (struct tap_sub *)transport;
	git_smart_subtransport_stream *inner = NULL;
	struct tap_stream *s;
	int r = t->inner->action(&inner, t->inner, url, action);

	if (r < 0)
		return r;
	if (inner == t->last_inner && t->last) {
		*out = &t->last->parent;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		inner->free(inner);
		git_error_set_oom();
		return -1;
	}
	s->parent.subtransport = transport;
	s->parent.read = tap_read;
	s->parent.write = tap_write;
	s->parent.free = tap_stream_free;
	s->inner = inner;
	s->sub = t;
	t->last = s;
	t->last_inner = inner;
	*out = &s->parent;
	return 0;
}

static int tap_close(git_smart_subtransport *transport)
{
	struct tap_sub *t = (struct tap_sub *)transport;

	return t->inner->close(t->inner);
}

static void tap_free(git_smart_subtransport *transport)
{
	struct tap_sub *t = (struct tap_sub *)transport;

	t->inner->free(t->inner);
	free(t);
}

static int tap_sub_new(git_smart_subtransport **out, git_transport *owner, void *param)
{
	struct transport_tap *tap = param;
	git_smart_subtransport_cb inner_cb = tap->inner;
	struct tap_sub *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		git_error_set_oom();
		return -1;
	}
	r = inner_cb(&t->inner, owner, NULL);
	if (r < 0) {
		free(t);
		return r;
	}
	t->parent.action = tap_action;
	t->parent.close = tap_close;
	t->parent.free = tap_free;
	t->tap = tap;
	*out = &t->parent;
	return 0;
}

int transport_tap_new(git_transport **out, git_remote *owner, const char *url,
		      struct transport_tap *tap)
{
	static const struct {
		const char *prefix;
		git_smart_subtransport_cb cb;
		int rpc;
	} kinds[] = {
		{ "git://", git_smart_subtransport_git, 0 },
		{ "http://", git_smart_subtransport_http, 1 },
		{ "https://", git_smart_subtransport_http, 1 },
		{ "ssh://", git_smart_subtransport_ssh, 0 },
		{ "ssh+git://", git_smart_subtransport_ssh, 0 },
		{ "git+ssh://", git_smart_subtransport_ssh, 0 },
	};
	git_smart_subtransport_definition def = { tap_sub_new, 0, tap };
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	bool scp = colon && !strstr(url, "://") && (!slash || colon < slash);

	tap->inner = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!strncasecmp(url, kinds[i].prefix, strlen(kinds[i].prefix))) {
			tap->inner = kinds[i].cb;
			def.rpc = (unsigned)kinds[i].rpc;
		}
	}
	if (!tap->inner && scp)
		tap->inner = git_smart_subtransport_ssh;
	if (!tap->inner)
		return git_transport_new(out, owner, url);
	tap->rpc = (int)def.rpc;
	return git_transport_smart(out, owner, &def);
}
