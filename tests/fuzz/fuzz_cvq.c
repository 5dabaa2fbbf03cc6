/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_cvq.c - libFuzzer target for the CVQ decoder.  Input:
 * 8 bytes of negotiated features, 1 byte selecting device limits, then
 * the command bytes.  A decoded command must re-encode to the same size
 * (MQ_RSS_CONFIG and MQ_HASH_CONFIG: or one byte less, Linux's padding
 * after the key),
 * decode again to the same bytes, and apply to a state or be rejected
 * without changing it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VDPASTATE_OPTS(vdpastate_cvq_limits, lim, .max_virtqueue_pairs = 8,
		       .rss_max_indirection_table_length = 128,
		       .rss_max_key_size = 40,
		       .supported_hash_types = VDPASTATE_NET_HASH_ALL);
	VDPASTATE_OPTS(vdpastate_netstate_config, cfg, .max_virtqueue_pairs = 8,
		       .mtu = 1500, .rss_max_indirection_table_length = 128,
		       .rss_max_key_size = 40,
		       .supported_hash_types = VDPASTATE_NET_HASH_ALL);
	struct vdpastate_cvq_cmd *c = NULL, *d = NULL;
	struct vdpastate_netstate *s, *before;
	uint8_t *buf, *buf2;
	uint64_t features = 0;
	size_t n;
	int len;

	if (size < 9)
		return 0;
	memcpy(&features, data, 8);
	if (vdpastate_cvq_decode(data + 9, size - 9, features,
				 data[8] & 1 ? &lim : NULL, &c))
		return 0;
	n = vdpastate_cvq_cmd_wire_size(c);
	buf = malloc(n);
	buf2 = malloc(n);
	len = vdpastate_cvq_cmd_encode(c, buf, n);
	if (len != (int)n ||
	    ((size_t)len != size - 9 &&
	     !((size_t)len + 1 == size - 9 && data[9] == 4 &&
	       (data[10] == 1 || data[10] == 2))))
		abort();
	if (vdpastate_cvq_decode(buf, n, features, data[8] & 1 ? &lim : NULL, &d))
		abort();
	if (vdpastate_cvq_cmd_encode(d, buf2, n) != len || memcmp(buf, buf2, n))
		abort();
	cfg.features = features;
	s = vdpastate_netstate_new(&cfg);
	if (s) {
		before = vdpastate_netstate_copy(s);
		if (vdpastate_netstate_apply(s, c) &&
		    !vdpastate_netstate_equal(s, before))
			abort();
		vdpastate_netstate_free(before);
		vdpastate_netstate_free(s);
	}
	free(buf);
	free(buf2);
	vdpastate_cvq_cmd_free(c);
	vdpastate_cvq_cmd_free(d);
	return 0;
}
