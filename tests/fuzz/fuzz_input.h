/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_input.h - the fuzz targets' input, read front to back.
 */
#ifndef VDS_FUZZ_INPUT_H
#define VDS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct in {
	const uint8_t *p;
	size_t n;
};

/* The next len bytes into dst; -1 (nothing taken) if fewer are left. */
static inline int take(struct in *in, void *dst, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(dst, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

#endif /* VDS_FUZZ_INPUT_H */
