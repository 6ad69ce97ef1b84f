/* SPDX-License-Identifier: MIT */
/*
 * core/utf8 against the independent strict validator of fuzz.h. The input's
 * first byte picks a byte limit, the rest is the text. Promises checked:
 * utf8_validn() agrees with the oracle; utf8_decode() steps through any
 * bytes in 1..4-byte steps, each character it accepts being valid on its own
 * and each error one byte; utf8_sanitize() always gives strict UTF-8 within
 * its limit, copies valid text without control characters unchanged, and
 * gives its own output back unchanged (with the same @ctl).
 */
#include "fuzz.h"

#include <string.h>

#include "buf.h"
#include "utf8.h"

static void check_decode(const char *s, size_t n)
{
	bool all_valid = true;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		FUZZ_CHECK(len >= 1 && len <= 4 && len <= n - i);
		if (cp == UTF8_INVALID) {
			FUZZ_CHECK(len == 1);
			all_valid = false;
		} else {
			FUZZ_CHECK(cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff));
			FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)s + i, len));
		}
		i += len;
	}
	FUZZ_CHECK(all_valid == fuzz_utf8_valid((const unsigned char *)s, n));
	FUZZ_CHECK(utf8_validn(s, n) == all_valid);
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static void check_sanitize(const char *s, size_t n, size_t max)
{
	struct buf a, b;

	buf_init(&a, SIZE_MAX);
	buf_init(&b, SIZE_MAX);
	if (utf8_sanitize(&a, s, n, "?", max) == 0) {
		FUZZ_CHECK(a.len <= max);
		FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)buf_str(&a), a.len));
		FUZZ_CHECK(!has_control(buf_str(&a), a.len));
		if (n <= max && !has_control(s, n) && fuzz_utf8_valid((const unsigned char *)s, n))
			FUZZ_CHECK(a.len == n && !memcmp(buf_str(&a), s, n));
		if (utf8_sanitize(&b, buf_str(&a), a.len, "?", SIZE_MAX) == 0)
			FUZZ_CHECK(b.len == a.len && !memcmp(buf_str(&b), buf_str(&a), a.len));
	}
	buf_reset(&b);
	if (utf8_sanitize(&b, s, n, NULL, SIZE_MAX) == 0)
		FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)buf_str(&b), b.len));
	buf_done(&a);
	buf_done(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = size ? (size_t)data[0] * 4 : 0;

	if (size == 0)
		return 0;
	check_decode((const char *)data + 1, size - 1);
	check_sanitize((const char *)data + 1, size - 1, max);
	return 0;
}
