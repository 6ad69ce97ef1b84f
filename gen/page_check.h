/* SPDX-License-Identifier: MIT */
/*
 * Every backend's page is held to the builtin's standard before it is
 * committed, in one place (page_check(), called by the wiki on every
 * backend's output): strict UTF-8 (RFC 3629), no control character but
 * newline and tab, so no terminal escape from a model or a command reaches
 * `cat`.
 *
 * - A NUL or invalid UTF-8 is refused (-EILSEQ): those bytes are not text,
 *   and no repair would say what the model meant. The message names the
 *   backend, the byte and the line. The failure is retryable: a model
 *   samples, so its next answer may well be clean, and the attempt limit
 *   bounds the cost.
 * - Control characters are replaced, not refused: C0 controls but tab and
 *   newline (ESC, BEL, backspace, a lone CR), DEL, the C1 controls
 *   U+0080-U+009F (some terminals obey U+009B as CSI) and the bidi
 *   embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, which
 *   reorder what a terminal shows) become U+FFFD, as the builtin writes them;
 *   CR LF becomes LF. A stray escape is most often repository text the model
 *   quoted (a log with colours): the page is otherwise good, and asking
 *   again would likely pay for the same bytes.
 *
 * A page the model wrapped whole in one fence (```markdown, ```md or a
 * bare ```, though the prompt asks for none) is unwrapped, so it renders
 * as a page rather than as one code block. A page that merely holds fenced
 * blocks, or starts and ends with code, is left as it is: a bare opening
 * fence counts as a wrapper only when no bare fence closes it before the
 * last line (fences inside open and close blocks of their own).
 *
 * A JSON answer is checked before it is decoded (page_check_json()): cJSON
 * decodes "\u0000" to a NUL that ends its C string, which would cut the
 * page there without a word.
 *
 * Pure functions, thread-safe.
 */
#ifndef WIKIFS_PAGE_CHECK_H
#define WIKIFS_PAGE_CHECK_H

#include <stddef.h>

#include "backend.h"
#include "buf.h"

/*
 * Checks @page, a whole page from @backend, replaces its control characters
 * in place (the page may grow, up to page->max) and unwraps a whole-page
 * fence. 0; -EILSEQ for
 * a NUL or invalid UTF-8, -EFBIG when the replacements do not fit; @err is
 * filled and classified then, and @page is left as it was.
 */
int page_check(struct buf *page, const char *backend, struct gen_err *err);

/*
 * Refuses a JSON answer (@len bytes from '@where') that holds a NUL, raw or
 * as a "\u0000" escape in a string: -EILSEQ with @err filled (retryable),
 * else 0.
 */
int page_check_json(const char *json, size_t len, const char *where, struct gen_err *err);

#endif
