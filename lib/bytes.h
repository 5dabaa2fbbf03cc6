/* SPDX-License-Identifier: MIT */
/*
 * lib/bytes.h - little-endian loads and stores for wire formats (CVQ
 * commands, save blobs).  Byte by byte so they work at any alignment and
 * on any host; compilers turn them into single moves.  Never installed.
 */
#ifndef VDS_BYTES_H
#define VDS_BYTES_H

#include <stdint.h>

static inline uint16_t vds_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t vds_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t vds_get_le64(const uint8_t *p)
{
	return (uint64_t)vds_get_le32(p) | (uint64_t)vds_get_le32(p + 4) << 32;
}

static inline void vds_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vds_put_le32(uint8_t *p, uint32_t v)
{
	vds_put_le16(p, (uint16_t)v);
	vds_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void vds_put_le64(uint8_t *p, uint64_t v)
{
	vds_put_le32(p, (uint32_t)v);
	vds_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* VDS_BYTES_H */
