/* SPDX-License-Identifier: MIT */
/*
 * UTF-8: the one decoder of wikifs, and its policy for text that comes from
 * a repository, a config file or a model.
 *
 * Decoding is strict RFC 3629: a character is one ASCII byte, or a lead byte
 * C2..F4 followed by the right number of continuation bytes 80..BF, with no
 * overlong form, no surrogate (U+D800..U+DFFF) and nothing past U+10FFFF.
 * Anything else is invalid, and it is invalid one byte at a time: the
 * decoder reports the byte as an error and resynchronises on the next one
 * (so "\xe2\x82x" is two errors then 'x', and a valid character right after
 * a bad byte is never swallowed). Each error, wherever text is repaired,
 * becomes one U+FFFD.
 *
 * The text below is always valid UTF-8, because pages are read by people
 * and by strict decoders, progress.json is JSON, and the LLM APIs reject a
 * request body that is not UTF-8 (cJSON copies bytes as they are). What
 * each kind of text accepts, and what happens to the rest:
 *
 *   repository names   mount.conf: valid UTF-8 without C0 controls, DEL or
 *                      '\' (conf_repo_name_valid()); anything else is a
 *                      config error naming file:line. Nothing is repaired.
 *   page slugs         file names, made by plan_slugify(): invalid bytes are
 *                      dropped, controls and punctuation become '-', and a
 *                      character that does not fit the length is left out.
 *   page titles        builtin planner: invalid bytes and C0/DEL become
 *                      U+FFFD. LLM planner: invalid bytes become U+FFFD,
 *                      C0/DEL a space, cut to whole characters.
 *   pages              md.h: invalid bytes and every code point
 *                      utf8_is_unsafe() names (controls, line separators,
 *                      bidi formatting, BOM) become U+FFFD; inline text
 *                      turns tab, CR and LF into a space first.
 *   prompts            names, subjects and descriptions: invalid bytes
 *                      become U+FFFD, C0/DEL '?', cut to whole characters.
 *                      Source text: invalid bytes become U+FFFD, controls
 *                      stay (the JSON encoder escapes them; a file with a
 *                      NUL is binary and left out before this).
 *
 * utf8_sanitize() does the repairing for titles and prompts; md.c decodes
 * with utf8_decode() because it escapes Markdown at the same time. Error
 * messages (struct wf_err) are not repaired yet: one cut at its buffer's
 * size may end inside a character.
 *
 * Pure functions: thread-safe, no state.
 */
#ifndef WIKIFS_UTF8_H
#define WIKIFS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* U+FFFD REPLACEMENT CHARACTER, encoded. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/* The code point utf8_decode() reports for an invalid byte (no code point is this large). */
#define UTF8_INVALID UINT32_C(0xffffffff)

/*
 * Decodes the character at @s, of which @n bytes may be read: returns its
 * length (1 to 4) and sets *@cp to its code point; or, when the bytes at @s
 * do not start a valid sequence (one cut short by @n included), returns 1
 * and sets *@cp to UTF8_INVALID. A NUL is an ordinary byte (U+0000).
 * Returns 0 only when @n is 0.
 */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* true if the NUL-terminated @s, or the @n bytes at @s, are strict UTF-8. */
bool utf8_valid(const char *s);
bool utf8_validn(const char *s, size_t n);

/*
 * What a page never shows (md.h turns each into U+FFFD): UTF8_INVALID, C0
 * controls, DEL, C1 controls, U+2028/U+2029 (line and paragraph separators),
 * the bidi embeddings, overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069) that can reorder what a reader sees, and U+FEFF.
 */
bool utf8_is_unsafe(uint32_t cp);

/*
 * Appends the @n bytes at @s to @out as valid UTF-8, at most @max bytes,
 * and never half a character: each invalid byte becomes U+FFFD, each C0
 * control or DEL becomes the string @ctl ("?", " ", UTF8_REPLACEMENT, ...)
 * or stays as it is when @ctl is NULL, and everything else is copied.
 * Returns 0, or -ENOMEM / -E2BIG from @out, which is then unchanged.
 */
int utf8_sanitize(struct buf *out, const char *s, size_t n, const char *ctl, size_t max);

#endif
