/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for gen/page_check: clean pages pass untouched; terminal
 * escapes, other C0 controls, DEL, C1 controls and bidi overrides become
 * U+FFFD and CR LF becomes LF; a NUL and every kind of invalid UTF-8 are
 * refused with the byte and line, retryable, the page left as it was; a
 * page that outgrows its limit once cleaned is -EFBIG; a JSON answer with
 * "\u0000" (or a raw NUL) is refused before cJSON could cut it. A page
 * wrapped whole in a ```markdown, ```md or bare ``` fence is unwrapped; one
 * that merely holds fenced blocks is untouched.
 */
#include "page_check.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

struct res {
	int r;
	struct gen_err err;
	struct buf page;
};

static void check(const char *in, size_t n, size_t max, struct res *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->page, max);
	if (buf_add(&res->page, in, n) < 0)
		abort();
	res->r = page_check(&res->page, "test", &res->err);
}

/* A string literal, without its terminating NUL. */
#define CHECK(lit, max, res) check(lit, sizeof(lit) - 1, max, res)

static bool has_control(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static void test_clean(void)
{
	static const char page[] = "# Title\n\n\tcode\n| a | b |\nünïcödé ✓ 😀\n";
	struct res res;
	const char *before;

	check(page, sizeof(page) - 1, 1 << 20, &res);
	before = res.page.data;
	ok(res.r == 0 && res.page.data == before && !strcmp(buf_str(&res.page), page),
	   "a clean page passes untouched");
	buf_done(&res.page);
	check("", 0, 16, &res);
	is_int(res.r, 0, "an empty page is not this check's business");
	buf_done(&res.page);
}

static void test_replaced(void)
{
	static const char esc[] = "# T\n\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07\n";
	struct res res;

	check(esc, sizeof(esc) - 1, 1 << 20, &res);
	ok(res.r == 0 && !strchr(buf_str(&res.page), 0x1b) && !has_control(&res.page),
	   "ESC, OSC and BEL are gone");
	is_str(buf_str(&res.page),
	       "# T\n\xef\xbf\xbd[31mred\xef\xbf\xbd[0m \xef\xbf\xbd]0;title\xef\xbf\xbd "
	       "bell\xef\xbf\xbd\n",
	       "each control byte became U+FFFD, the text around it stayed");
	buf_done(&res.page);

	CHECK("a\r\nb\rc\x7f\x08\n", 1 << 20, &res);
	is_str(buf_str(&res.page),
	       "a\nb\xef\xbf\xbd"
	       "c\xef\xbf\xbd\xef\xbf\xbd\n",
	       "CR LF becomes LF; a lone CR, DEL and backspace become U+FFFD");
	buf_done(&res.page);

	CHECK("x\xc2\x9b"
	      "31m \xc2\x85 \xc2\xa0y",
	      1 << 20, &res);
	is_str(buf_str(&res.page),
	       "x\xef\xbf\xbd"
	       "31m \xef\xbf\xbd \xc2\xa0y",
	       "C1 controls (U+009B CSI, U+0085) become U+FFFD; U+00A0 stays");
	buf_done(&res.page);

	CHECK("a\xe2\x80\xae"
	      "b\xe2\x81\xa6"
	      "c\xe2\x80\x94",
	      1 << 20, &res);
	is_str(buf_str(&res.page),
	       "a\xef\xbf\xbd"
	       "b\xef\xbf\xbd"
	       "c\xe2\x80\x94",
	       "bidi override U+202E and isolate U+2066 become U+FFFD; an em dash stays");
	buf_done(&res.page);

	CHECK("\x1b\x1b\x1b\x1b", 8, &res);
	ok(res.r == -EFBIG && !res.err.retryable && res.page.len == 4,
	   "a page that outgrows its limit once cleaned: -EFBIG, page untouched (%s)",
	   res.err.e.msg);
	buf_done(&res.page);
}

static void test_refused(void)
{
	static const struct {
		const char *in;
		size_t n, off, line;
		const char *what;
	} bad[] = {
		{ "# T\nab\0cd\n", 10, 6, 2, "NUL byte" },
		{ "ok\xff", 3, 2, 1, "not valid UTF-8" },
		{ "\n\n\xc0\x80", 4, 2, 3, "not valid UTF-8" },	     /* overlong NUL */
		{ "x\xed\xa0\x80", 4, 1, 1, "not valid UTF-8" },     /* surrogate */
		{ "x\xf4\x90\x80\x80", 5, 1, 1, "not valid UTF-8" }, /* past U+10FFFF */
		{ "end \xe2\x82", 6, 4, 1, "not valid UTF-8" },	     /* cut sequence */
		{ "\x1b[1m\xe2\x28\xa1", 7, 4, 1, "not valid UTF-8" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];
		struct res res;

		snprintf(want, sizeof(want), "at byte %zu (line %zu)", bad[i].off, bad[i].line);
		check(bad[i].in, bad[i].n, 1 << 20, &res);
		ok(res.r == -EILSEQ && res.err.retryable && strstr(res.err.e.msg, bad[i].what) &&
		       strstr(res.err.e.msg, want) && strstr(res.err.e.msg, "backend 'test'") &&
		       res.page.len == bad[i].n && !memcmp(res.page.data, bad[i].in, bad[i].n),
		   "refused %zu: %s", i, res.err.e.msg);
		buf_done(&res.page);
	}
}

static void test_json(void)
{
	static const char nul[] = "{\"content\":\"before\\u0000after\"}";
	static const char esc_bs[] = "{\"content\":\"a\\\\u0000 is text\"}";
	static const char raw[] = "{\"content\":\"a\0b\"}";
	struct gen_err err = { 0 };

	ok(page_check_json(nul, sizeof(nul) - 1, "http://h/x", &err) == -EILSEQ && err.retryable &&
	       strstr(err.e.msg, "NUL") && strstr(err.e.msg, "http://h/x"),
	   "\\u0000 in a JSON string is refused (%s)", err.e.msg);
	is_int(page_check_json(esc_bs, sizeof(esc_bs) - 1, "w", &err), 0,
	       "an escaped backslash before u0000 is just text");
	is_int(page_check_json("{\"a\":\"\\\"\\u0000\"}", 16, "w", &err), -EILSEQ,
	       "\\u0000 after an escaped quote is still inside the string");
	is_int(page_check_json(raw, sizeof(raw) - 1, "w", &err), -EILSEQ,
	       "a raw NUL inside the answer is refused");
	is_int(page_check_json("{\"a\":\"\\u00001\"}", 15, "w", &err), -EILSEQ,
	       "\\u0000 followed by a digit");
	is_int(page_check_json("{\"a\":\"\\u0001\\u1000\"}", 20, "w", &err), 0,
	       "other escapes pass (the page check replaces controls later)");
}

/* page_check(@in) gives @want. */
static void fenced(const char *in, const char *want, const char *what)
{
	struct res res;

	check(in, strlen(in), 1 << 20, &res);
	ok(res.r == 0 && !strcmp(buf_str(&res.page), want), "%s", what);
	if (res.r || strcmp(buf_str(&res.page), want))
		diag("got: '%s'", buf_str(&res.page));
	buf_done(&res.page);
}

static void test_fences(void)
{
	static const char page[] = "# Title\n\nText.\n\n```mermaid\ngraph LR\n  a --> b\n```\n\n"
				   "```c\nint x;\n```\n\nEnd.\n";
	static const char starts_and_ends[] = "```\nmake\n```\n\nText between.\n\n```\nmake "
					      "test\n```\n";
	char *in;

	if (asprintf(&in, "```markdown\n%s```\n", page) < 0)
		abort();
	fenced(in, page, "a page wrapped in ```markdown is unwrapped, its inner fences kept");
	free(in);
	if (asprintf(&in, "\n```md\n%s```  \n\n", page) < 0)
		abort();
	fenced(in, page, "```md, blank lines around, trailing spaces: unwrapped");
	free(in);
	if (asprintf(&in, "```\n%s```", page) < 0)
		abort();
	fenced(in, page, "a bare ``` wrapper with inner ```mermaid and ```c blocks: unwrapped");
	free(in);
	if (asprintf(&in, "````markdown\n%s````\n", page) < 0)
		abort();
	fenced(in, page, "a four-backtick wrapper: unwrapped");
	free(in);
	fenced(page, page, "a page that merely holds fenced blocks is untouched");
	fenced(starts_and_ends, starts_and_ends,
	       "a page that starts and ends with bare code blocks is untouched");
	fenced("```python\nprint(1)\n```\n", "```python\nprint(1)\n```\n",
	       "a page that is one python block is untouched");
	fenced("```markdown\n# T\n", "```markdown\n# T\n",
	       "an unclosed ```markdown fence is left as it is");
	fenced("Here it is:\n```markdown\n# T\n```\n", "Here it is:\n```markdown\n# T\n```\n",
	       "a fence after a preamble is not a whole-page wrapper");
}

int main(void)
{
	test_clean();
	test_replaced();
	test_refused();
	test_json();
	test_fences();
	return done_testing();
}
