/* SPDX-License-Identifier: MIT */
/*
 * tests/crc32c.h - a bitwise CRC-32C (Castagnoli, reflected), written
 * independently of lib/blob.c so tests and fuzzers can forge checksums.
 */
#ifndef VDS_TEST_CRC32C_H
#define VDS_TEST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t vds_test_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	int k;

	while (n--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

#endif
