/* SPDX-License-Identifier: MIT */
/*
 * core/utf8: the decoder at every boundary RFC 3629 draws (each range's
 * first and last code point, overlong forms, surrogates, past U+10FFFF,
 * truncated sequences, lone continuation bytes, bytes never used), each
 * with its exact length and code point; then every 1-, 2- and 3-byte input
 * and every 4-byte one with a possible lead byte, against an oracle written
 * from the RFC's grammar (utf8-oracle.h); the set of code points pages
 * never show; and utf8_sanitize(): replacements, control characters, the
 * byte limit that never cuts a character, and a full buffer left unchanged.
 */
#include "buf.h"
#include "tap.h"
#include "utf8.h"
#include "utf8-oracle.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define BAD UTF8_INVALID

struct dcase {
	const char *what;
	const char *s;
	size_t n;    /* bytes readable */
	size_t len;  /* wanted length */
	uint32_t cp; /* wanted code point */
};

static const struct dcase dcases[] = {
	/* valid, at the edges of each length */
	{ "NUL is U+0000", "\0", 1, 1, 0 },
	{ "U+007F, the last 1-byte", "\x7f", 1, 1, 0x7f },
	{ "U+0080, the first 2-byte", "\xc2\x80", 2, 2, 0x80 },
	{ "U+07FF, the last 2-byte", "\xdf\xbf", 2, 2, 0x7ff },
	{ "U+0800, the first 3-byte", "\xe0\xa0\x80", 3, 3, 0x800 },
	{ "U+D7FF, just below the surrogates", "\xed\x9f\xbf", 3, 3, 0xd7ff },
	{ "U+E000, just above the surrogates", "\xee\x80\x80", 3, 3, 0xe000 },
	{ "U+FFFD", "\xef\xbf\xbd", 3, 3, 0xfffd },
	{ "U+FFFF, the last 3-byte", "\xef\xbf\xbf", 3, 3, 0xffff },
	{ "U+10000, the first 4-byte", "\xf0\x90\x80\x80", 4, 4, 0x10000 },
	{ "U+1F600", "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
	{ "U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
	{ "a character followed by more reads one", "\xc3\xa9x", 3, 2, 0xe9 },
	/* overlong forms */
	{ "overlong '/' in 2 bytes (C0 AF)", "\xc0\xaf", 2, 1, BAD },
	{ "overlong NUL in 2 bytes (C0 80)", "\xc0\x80", 2, 1, BAD },
	{ "overlong U+007F in 2 bytes (C1 BF)", "\xc1\xbf", 2, 1, BAD },
	{ "overlong U+0000 in 3 bytes", "\xe0\x80\x80", 3, 1, BAD },
	{ "overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", 3, 1, BAD },
	{ "overlong U+0000 in 4 bytes", "\xf0\x80\x80\x80", 4, 1, BAD },
	{ "overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 4, 1, BAD },
	/* surrogates */
	{ "U+D800, the first surrogate", "\xed\xa0\x80", 3, 1, BAD },
	{ "U+DBFF|U+DC00 halves", "\xed\xaf\xbf", 3, 1, BAD },
	{ "U+DFFF, the last surrogate", "\xed\xbf\xbf", 3, 1, BAD },
	{ "a surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80", 6, 1, BAD },
	/* past U+10FFFF, and bytes never used */
	{ "U+110000", "\xf4\x90\x80\x80", 4, 1, BAD },
	{ "U+1FFFFF (F7 BF BF BF)", "\xf7\xbf\xbf\xbf", 4, 1, BAD },
	{ "lead byte F5", "\xf5\x80\x80\x80", 4, 1, BAD },
	{ "5-byte form (F8)", "\xf8\x88\x80\x80\x80", 5, 1, BAD },
	{ "6-byte form (FC)", "\xfc\x84\x80\x80\x80\x80", 6, 1, BAD },
	{ "byte FE", "\xfe", 1, 1, BAD },
	{ "byte FF", "\xff", 1, 1, BAD },
	/* truncated */
	{ "2-byte lead alone", "\xc3", 1, 1, BAD },
	{ "2-byte lead then ASCII", "\xc3(", 2, 1, BAD },
	{ "3-byte cut after 2", "\xe2\x82", 2, 1, BAD },
	{ "3-byte cut after 2, then ASCII", "\xe2\x82x", 3, 1, BAD },
	{ "3-byte, second byte not a continuation", "\xe2(\xa1", 3, 1, BAD },
	{ "4-byte cut after 3", "\xf0\x9f\x98", 3, 1, BAD },
	{ "4-byte cut after 1", "\xf0", 1, 1, BAD },
	{ "4-byte, NUL as the last byte", "\xf0\x9f\x98\0", 4, 1, BAD },
	{ "valid bytes past @n are not read", "\xe2\x82\xac", 2, 1, BAD },
	{ "valid bytes past @n (4-byte)", "\xf0\x9f\x98\x80", 3, 1, BAD },
	/* lone continuation bytes */
	{ "lone 80", "\x80", 1, 1, BAD },
	{ "lone BF", "\xbf", 1, 1, BAD },
	{ "continuation after a valid character is its own error", "\x80\xc3\xa9", 3, 1, BAD },
};

static void test_decode_cases(void)
{
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *d = &dcases[i];
		uint32_t cp = 12345;
		size_t len = utf8_decode(d->s, d->n, &cp);

		if (!ok(len == d->len && cp == d->cp, "decode: %s", d->what))
			diag("got length %zu, code point %#x; want %zu, %#x", len, (unsigned)cp,
			     d->len, (unsigned)d->cp);
	}
	{
		uint32_t cp = 0;

		is_int(utf8_decode("x", 0, &cp), 0, "decode: nothing to read gives 0");
		ok(cp == BAD, "decode: and no code point");
	}
}

/* Resynchronisation: each bad byte one error, the good characters kept. */
static void test_decode_stream(void)
{
	static const char s[] = "a\xe2\x82x\xc3\xa9\x80\xf0\x9f\x98\x80\xed\xa0\x80z";
	static const uint32_t want[] = {
		'a', BAD, BAD, 'x', 0xe9, BAD, 0x1f600, BAD, BAD, BAD, 'z'
	};
	uint32_t got[32];
	size_t n = 0;

	for (size_t i = 0, len; i < sizeof(s) - 1 && n < 32; i += len)
		len = utf8_decode(s + i, sizeof(s) - 1 - i, &got[n++]);
	ok(n == sizeof(want) / sizeof(want[0]) && !memcmp(got, want, sizeof(want)),
	   "decode: a mixed stream resynchronises on the byte after each error (%zu)", n);
}

/* An encoder written from the definition, to check that decoding inverts it. */
static size_t encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void test_every_code_point(void)
{
	size_t wrong = 0;

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		unsigned char b[4];
		size_t n = encode(cp, b), len;
		uint32_t got;
		bool sur = cp >= 0xd800 && cp <= 0xdfff;

		len = utf8_decode((const char *)b, n, &got);
		if (sur ? (len != 1 || got != BAD) : (len != n || got != cp)) {
			if (wrong++ < 5)
				diag("code point %#x decoded as %#x, length %zu", (unsigned)cp,
				     (unsigned)got, len);
		}
	}
	is_int(wrong, 0, "decode: every code point's encoding decodes back, surrogates refused");
}

/* One input of @n bytes: decode and the oracle agree on validity and length. */
static bool agrees(const unsigned char *b, size_t n)
{
	uint32_t cp;
	size_t want = oracle_utf8_seq(b, n), len = utf8_decode((const char *)b, n, &cp);

	if (want)
		return len == want && cp != BAD;
	return len == 1 && cp == BAD;
}

static void test_exhaustive(void)
{
	size_t wrong = 0, tried = 0;
	unsigned char b[4];

	for (unsigned x = 0; x < 256; x++) {
		b[0] = (unsigned char)x;
		wrong += !agrees(b, 1), tried++;
		for (unsigned y = 0; y < 256; y++) {
			b[1] = (unsigned char)y;
			wrong += !agrees(b, 2), tried++;
			for (unsigned z = 0; z < 256; z++) {
				b[2] = (unsigned char)z;
				wrong += !agrees(b, 3), tried++;
			}
		}
	}
	is_int(wrong, 0, "decode: all %zu inputs of 1 to 3 bytes agree with RFC 3629", tried);

	/* 4 bytes: every lead from F0, each later byte 7F, 80..BF or C0 */
	wrong = tried = 0;
	for (unsigned x = 0xf0; x < 256; x++) {
		b[0] = (unsigned char)x;
		for (unsigned y = 0x7f; y <= 0xc0; y++)
			for (unsigned z = 0x7f; z <= 0xc0; z++)
				for (unsigned w = 0x7f; w <= 0xc0; w++) {
					b[1] = (unsigned char)y;
					b[2] = (unsigned char)z;
					b[3] = (unsigned char)w;
					wrong += !agrees(b, 4), tried++;
				}
	}
	is_int(wrong, 0, "decode: all %zu 4-byte inputs with lead F0..FF agree with RFC 3629",
	       tried);
}

static void test_valid(void)
{
	ok(utf8_valid("") && utf8_valid("plain") && utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80"),
	   "valid: ASCII, accents and emoji");
	ok(!utf8_valid("caf\xe9"), "valid: Latin-1 is not");
	ok(!utf8_valid("a\xed\xa0\x80"), "valid: a surrogate is not");
	ok(!utf8_valid("a\xc0\xaf"), "valid: an overlong is not");
	ok(!utf8_valid("a\xf4\x90\x80\x80"), "valid: past U+10FFFF is not");
	ok(!utf8_valid("ends cut \xe2\x82"), "valid: a cut last character is not");
	ok(utf8_valid("stops at NUL\0\xff"), "valid: a string ends at its NUL");
	ok(utf8_validn("nul\0inside", 10), "validn: an embedded NUL is U+0000");
	ok(!utf8_validn("nul\0\xff", 5), "validn: reads past a NUL");
	ok(!utf8_validn("\xe2\x82\xac", 2), "validn: @n cuts the character");
	ok(utf8_validn("\xe2\x82\xac", 3), "validn: the whole character");
}

static void test_unsafe(void)
{
	static const struct {
		uint32_t cp;
		bool unsafe;
	} cps[] = {
		{ 0x00, true },	     { 0x09, true },	 { 0x1f, true },   { 0x20, false },
		{ 0x7e, false },     { 0x7f, true },	 { 0x80, true },   { 0x85, true },
		{ 0x9f, true },	     { 0xa0, false },	 { 0xe9, false },  { 0x2027, false },
		{ 0x2028, true },    { 0x2029, true },	 { 0x202a, true }, { 0x202e, true },
		{ 0x202f, false },   { 0x2065, false },	 { 0x2066, true }, { 0x2069, true },
		{ 0x206a, false },   { 0xfefe, false },	 { 0xfeff, true }, { 0xfffd, false },
		{ 0x10ffff, false }, { 0x110000, true }, { BAD, true },
	};

	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++)
		ok(utf8_is_unsafe(cps[i].cp) == cps[i].unsafe, "unsafe: U+%04X is %s",
		   (unsigned)cps[i].cp, cps[i].unsafe ? "unsafe" : "shown");
}

/* utf8_sanitize() of @s (@n bytes) into an empty buffer; "(failed)" on an error. */
static const char *san(struct buf *b, const char *s, size_t n, const char *ctl, size_t max)
{
	buf_reset(b);
	return utf8_sanitize(b, s, n, ctl, max) == 0 ? buf_str(b) : "(failed)";
}

#define R UTF8_REPLACEMENT

static void test_sanitize(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	is_str(san(&b, "caf\xc3\xa9", 5, "?", SIZE_MAX), "caf\xc3\xa9",
	       "sanitize: valid text kept");
	is_str(san(&b, "caf\xe9!", 5, "?", SIZE_MAX), "caf" R "!",
	       "sanitize: Latin-1 byte replaced");
	is_str(san(&b, "\xe2\x82x", 3, "?", SIZE_MAX), R R "x",
	       "sanitize: a cut character is one U+FFFD per byte, the next kept");
	is_str(san(&b, "\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80", 11, NULL, SIZE_MAX),
	       R R R "|" R R "|" R R R R, "sanitize: surrogate, overlong, past U+10FFFF");
	is_str(san(&b, "a\x01\x1b[1m\x7f\tb", 9, "?", SIZE_MAX), "a??[1m??b",
	       "sanitize: C0 and DEL become @ctl");
	is_str(san(&b, "a\x01\x7f", 3, R, SIZE_MAX), "a" R R, "sanitize: @ctl may be U+FFFD");
	is_str(san(&b, "a\x01\x7f\n", 4, NULL, SIZE_MAX), "a\x01\x7f\n",
	       "sanitize: @ctl NULL keeps control characters");
	is_str(san(&b, "nel\xc2\x85 bidi\xe2\x80\xae", 13, "?", SIZE_MAX),
	       "nel\xc2\x85 bidi\xe2\x80\xae", "sanitize: C1 and bidi are valid text, kept");
	ok(!strcmp(san(&b, "a\0b", 3, "?", SIZE_MAX), "a?b") && b.len == 3,
	   "sanitize: NUL is a control character");

	is_str(san(&b, "ab\xe2\x82\xac", 5, "?", 4), "ab", "sanitize: @max never cuts a character");
	is_str(san(&b, "ab\xe2\x82\xac", 5, "?", 5), "ab\xe2\x82\xac", "sanitize: @max fits it");
	is_str(san(&b, "a\xff", 2, "?", 3), "a", "sanitize: @max counts U+FFFD's three bytes");
	is_str(san(&b, "a\x01", 2, "?", 2), "a?", "sanitize: @max counts @ctl");
	is_str(san(&b, "abc", 3, "?", 0), "", "sanitize: @max 0 adds nothing");
	buf_done(&b);

	/* the buffer's limit: an error, and nothing half-written */
	buf_init(&b, 6);
	buf_adds(&b, "xy");
	is_int(utf8_sanitize(&b, "ab\xffz", 4, "?", SIZE_MAX), -E2BIG,
	       "sanitize: past the buffer's limit is -E2BIG");
	ok(b.len == 2 && !strcmp(buf_str(&b), "xy"), "sanitize: the buffer is left unchanged");
	is_int(utf8_sanitize(&b, "a\xff", 2, "?", SIZE_MAX), 0, "sanitize: what fits is added");
	is_str(buf_str(&b), "xya" R, "sanitize: appended after what was there");
	buf_done(&b);
}

static bool has_control(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* Pseudo-random bytes (a fixed xorshift): the output is always valid and bounded. */
static void test_sanitize_random(void)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	size_t bad = 0, over = 0, changed = 0;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (int round = 0; round < 20000; round++) {
		unsigned char in[32];
		size_t n = (size_t)(round % 32), max = (size_t)(round % 41);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly high bytes, so sequences form and break */
			in[i] = (unsigned char)(x & 1 ? 0x80 | (x >> 8 & 0x7f) : x >> 8);
		}
		buf_reset(&b);
		if (utf8_sanitize(&b, (const char *)in, n, "?", max) < 0) {
			bad++;
			continue;
		}
		bad += !oracle_utf8_valid(buf_str(&b), b.len);
		over += b.len > max;
		/* valid input without controls, within @max, comes out as it went in */
		if (oracle_utf8_valid(in, n) && n <= max && !has_control(in, n))
			changed += b.len != n || memcmp(buf_str(&b), in, n) != 0;
	}
	is_int(bad, 0, "sanitize: 20,000 random inputs all come out strict UTF-8");
	is_int(over, 0, "sanitize: never more than @max bytes");
	is_int(changed, 0, "sanitize: valid input is copied");
	buf_done(&b);
}

int main(void)
{
	test_decode_cases();
	test_decode_stream();
	test_every_code_point();
	test_exhaustive();
	test_valid();
	test_unsafe();
	test_sanitize();
	test_sanitize_random();
	return done_testing();
}
