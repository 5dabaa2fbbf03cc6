/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_blob.c - libFuzzer target for the blob loader.  The
 * checksum is recomputed over the input first (when it is long enough to
 * hold a header) so the fuzzer reaches the parser.  A blob that loads must
 * save and load again to an equal state; one that fails must leave the
 * target blob as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "../crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vdpastate_blob *t = vdpastate_blob_new(), *u;
	uint8_t *b = malloc(size + 1), *again;
	long n;

	memcpy(b, data, size);
	if (size >= 24) {
		uint32_t crc;

		memset(b + 12, 0, 4);
		crc = vds_test_crc32c(b, size);
		memcpy(b + 12, &crc, 4); /* little-endian hosts */
	}
	if (vdpastate_blob_load(t, b, size) == 0) {
		n = vdpastate_blob_save(t, NULL, 0);
		if (n <= 0)
			abort();
		again = malloc((size_t)n);
		if (vdpastate_blob_save(t, again, (size_t)n) != n)
			abort();
		u = vdpastate_blob_new();
		if (vdpastate_blob_load(u, again, (size_t)n) ||
		    !vdpastate_netstate_equal(vdpastate_blob_netstate(u),
					      vdpastate_blob_netstate(t)))
			abort();
		vdpastate_blob_free(u);
		free(again);
	} else if (vdpastate_blob_netstate(t) || vdpastate_blob_part_count(t)) {
		abort(); /* a failed load left something behind */
	}
	vdpastate_blob_free(t);
	free(b);
	return 0;
}
