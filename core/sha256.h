/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4). Used for page-cache keys and entry checksums, so core/
 * needs no crypto library. Not constant-time; not for secrets.
 */
#ifndef WIKIFS_SHA256_H
#define WIKIFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX (SHA256_LEN * 2 + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* One-shot helpers. */
void sha256_digest(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void sha256_to_hex(const uint8_t d[SHA256_LEN], char out[SHA256_HEX]);

#endif
