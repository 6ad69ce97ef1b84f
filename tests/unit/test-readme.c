/* SPDX-License-Identifier: MIT */
/*
 * README rewriting (gen/readme.c): what the Home page makes of a README.
 * Relative links pinned to the commit, HTML comments and badges dropped,
 * code blocks kept behind fences of our own, a line that starts with a link
 * kept whole, the quick start found, a non-Markdown README quoted as text,
 * and hostile input that cannot open a block the page does not close.
 */
#include "readme.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE   "https://github.com/acme/demo"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static char *render_with(const char *text, const char *path, const char *base, bool quick)
{
	const struct readme_opts o = { path, base, COMMIT };
	struct md m = { .err = 0 };

	buf_init(&m.b, 1 << 20);
	if (quick)
		readme_quick_start(&m, text, &o);
	else
		readme_render(&m, text, &o);
	if (m.err) {
		buf_done(&m.b);
		return NULL;
	}
	return buf_steal(&m.b, NULL);
}

static char *render(const char *text)
{
	return render_with(text, "README.md", BASE, false);
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

#define HAS(s, needle, ...)                                                     \
	do {                                                                    \
		if (!ok(has(s, needle), __VA_ARGS__))                           \
			diag("missing: %s\nin:\n%s", needle, s ? s : "(null)"); \
	} while (0)
#define HASNT(s, needle, ...)                                                   \
	do {                                                                    \
		if (!ok(s && !has(s, needle), __VA_ARGS__))                     \
			diag("present: %s\nin:\n%s", needle, s ? s : "(null)"); \
	} while (0)

/* Lines outside fenced code (backtick fences of any length, matched by length). */
static bool heading_outside_code(const char *s, const char *heading)
{
	size_t fence = 0, hl = strlen(heading);

	for (const char *l = s; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t k = strspn(l, "`");

		if (k >= 3 && (fence == 0 || k >= fence)) {
			fence = fence ? 0 : k;
			continue;
		}
		if (!fence && !strncmp(l, heading, hl))
			return true;
	}
	return false;
}

static bool fences_balanced(const char *s)
{
	size_t fence = 0;

	for (const char *l = s; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t k = strspn(l, "`");

		if (k >= 3 && (fence == 0 || k >= fence))
			fence = fence ? 0 : k;
	}
	return fence == 0;
}

static void test_links(void)
{
	char *r = render("# Demo\n\n"
			 "Demo is **fast**, see [the guide](docs/guide.md#intro) and\n"
			 "[Node.js](https://nodejs.org) or [up](../escape.md).\n"
			 "![logo](img/logo.png) [site](javascript:alert(1)) [top](#usage)\n"
			 "[ref link][r] and [Shortcut].\n\n"
			 "[r]: ./CONTRIBUTING.md\n[shortcut]: https://example.org/s\n");

	HAS(r,
	    "Demo is **fast**, see [the guide](" BASE "/blob/" COMMIT "/docs/guide.md#intro) and\n",
	    "relative link pinned to the commit, emphasis kept");
	HAS(r, "[Node.js](https://nodejs.org)", "absolute link kept");
	HAS(r, "or up.", "a link out of the tree is text");
	HAS(r, "![logo](" BASE "/raw/" COMMIT "/img/logo.png)", "image pinned through /raw/");
	HAS(r, " site top\n", "javascript: and in-page anchors become text");
	HASNT(r, "javascript", "no javascript: URL");
	HAS(r, "[ref link](" BASE "/blob/" COMMIT "/CONTRIBUTING.md)", "reference link resolved");
	HAS(r, "[Shortcut](https://example.org/s)", "shortcut reference, case-insensitive");
	HASNT(r, "[r]:", "link definitions dropped");
	HASNT(r, "Demo\n\n", "the title is left out");
	free(r);

	r = render_with("See [the guide](docs/guide.md) and ![x](a.png).\n", "README.md", "",
			false);
	HAS(r, "See the guide (`docs/guide.md`) and .", "off a forge: text and repository path");
	HASNT(r, "](", "off a forge: no relative link at all");
	free(r);
}

static void test_comments_badges(void)
{
	char *r =
	    render("<!-- a comment\nover lines -->\n"
		   "[![Build](https://img.shields.io/x.svg)](https://ci.example/x)\n"
		   "[![CI](https://github.com/a/b/actions/workflows/ci.yml/badge.svg)](u)\n"
		   "Text <!-- inline --> stays.\n\n"
		   "<p align=\"center\">\n  <img src=\"logo.png\"\n   width=\"100\">\n</p>\n\n"
		   "<script>alert(1)</script>\n\nAfter.\n");

	HASNT(r, "comment", "HTML comment dropped");
	HASNT(r, "<!--", "no comment marker");
	HASNT(r, "shields", "shield badge dropped");
	HASNT(r, "badge", "workflow badge dropped");
	HAS(r, "Text  stays.", "inline comment dropped, text kept");
	HASNT(r, "<p", "HTML tags dropped");
	HASNT(r, "width", "a tag over several lines dropped whole");
	HASNT(r, "alert", "script content dropped");
	HAS(r, "After.", "text after HTML kept");
	free(r);
}

static void test_blocks(void)
{
	char *r = render("# T\n\nIntro with a `code span` and a list:\n\n"
			 "- one\n  - nested [link](https://x.org)\n1. first\n\n"
			 "| a | b |\n|---|---|\n| `x\\|y` | 2 |\n\n"
			 "````python\nprint(1)\n```\nstill code\n````\n\n"
			 "Is this available through the\n"
			 "[npm registry](https://www.npmjs.com/) today?\n\n"
			 "Sub\n---\n\n    indented code\n\n## Next\n\ntext\n");

	HAS(r, "Intro with a `code span` and a list:", "code span kept");
	HAS(r, "- one\n  - nested [link](https://x.org)\n1. first\n", "lists kept with nesting");
	HAS(r, "| a | b |\n|---|---|\n| `x\\|y` | 2 |\n", "table kept");
	HAS(r, "````python\nprint(1)\n```\nstill code\n````\n",
	    "code block kept behind a longer fence");
	HAS(r, "Is this available through the\n[npm registry](https://www.npmjs.com/) today?",
	    "a line that starts with a link is kept: the sentence is whole");
	HAS(r, "### Sub\n", "setext heading demoted");
	HAS(r, "```\nindented code\n```\n", "indented code fenced");
	HAS(r, "### Next\n", "heading demoted below the page's ##");
	ok(fences_balanced(r), "fences balanced");
	free(r);
}

static void test_quick_start(void)
{
	const char *text = "# X\n\nA tool.\n\n## Usage\n\n```js\nx()\n```\n\n"
			   "```console\n$ make install\n```\n";
	char *r = render_with(text, "README.md", BASE, true), *body = render(text);

	is_str(r, "```js\nx()\n```\n", "first block under a usage heading");
	HASNT(body, "x()", "the quick start block is not repeated in the section");
	HAS(body, "$ make install", "other blocks stay");
	free(r);
	free(body);
	r = render_with("Tool.\n\n```\nnot usage\n```\n\n```sh\n./configure && make\n```\n",
			"README.md", BASE, true);
	is_str(r, "```sh\n./configure && make\n```\n", "a shell fence anywhere");
	free(r);
	r = render_with("Tool\n===\n\nBuilding\n---\n\nIt is simple:\n\n    % make\n\n"
			"Done.\n",
			"README.md", BASE, true);
	is_str(r, "```\n% make\n```\n", "an indented block under a setext usage heading");
	free(r);
	r = render_with("Tool.\n\n```c\nint x;\n```\n", "README.md", BASE, true);
	is_str(r, "", "no usage block: nothing");
	free(r);
}

static void test_text_readme(void)
{
	char *r = render_with("Project\n=======\n\nA *plain* text <b>README</b>.\n```\n",
			      "README.rst", BASE, false);

	HAS(r, "A *plain* text <b>README</b>.", "reStructuredText quoted as it is");
	ok(r && !strncmp(r, "````text\n", 9), "inside a text block longer than any fence inside");
	ok(fences_balanced(r), "fences balanced");
	free(r);
}

static void test_hostile(void)
{
	char *r = render("# Title\n\n## Heading\n```\nunclosed fence\n\n# Injected\n");

	ok(fences_balanced(r), "an unclosed fence is closed");
	ok(!heading_outside_code(r, "# Injected") && !heading_outside_code(r, "## Heading"),
	   "no level 1-2 heading outside code");
	free(r);
	r = render("Line one\n<b># Injected</b>\n[- item](#x)\n<br>> quote\n"
		   "[![b](https://img.shields.io/b)](x)# More\n\n"
		   "[a](https://x.org/\"onclick=) <https://ok.org> <notatag 1 < 2\n"
		   "\x01 ctl \xff bad \xe2\x80\xae bidi\n");
	ok(!heading_outside_code(r, "# ") && !has(r, "\n- item") && !has(r, "\n> quote"),
	   "text left at a line start by a dropped tag or link opens no block");
	HASNT(r, "\"onclick", "quotes in URLs escaped");
	HAS(r, "<https://ok.org>", "autolink kept");
	HAS(r, "&lt;notatag 1 &lt; 2", "a '<' that opens nothing is escaped");
	HASNT(r, "\x01", "control character replaced");
	HASNT(r, "\xe2\x80\xae", "bidi override replaced");
	free(r);
	/* 64 KiB (what facts keep of a README) of each construct that looks ahead */
	for (size_t k = 0; k < 6; k++) {
		static const char *const unit[] = { "[", "` ", "<a", "![x](", "<http", "- [a]\n" };
		size_t n = 64 << 10, ul = strlen(unit[k]);
		char *big = malloc(n + 1);
		struct timespec t0, t1;

		for (size_t i = 0; i + ul <= n; i += ul)
			memcpy(big + i, unit[k], ul);
		big[n - n % ul] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = render(big);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ok(r && (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 <
			    1.0,
		   "64 KiB of pattern %zu renders in under a second", k);
		free(r);
		free(big);
	}
}

int main(void)
{
	test_links();
	test_comments_badges();
	test_blocks();
	test_quick_start();
	test_text_readme();
	test_hostile();
	return done_testing();
}
