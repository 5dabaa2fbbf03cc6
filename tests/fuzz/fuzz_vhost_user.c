/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_vhost_user.c - a malicious vhost-user front-end against
 * the message parser and session of examples/vhost-user-net.c
 * (examples/vhost-user-proto.c, compiled in here).  The input is a stream
 * of messages, each: one byte saying how many file descriptors came with
 * it (modulo 9), the 12-byte header, then as much of the payload as the
 * header announces and the input still holds.  Parsing stops at the first
 * rejected message, as the back-end closes the connection there.  Nothing
 * may crash or read out of bounds; an accepted message must have had the
 * payload size and descriptors its request takes; replies must fit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"

#include "../../examples/vhost-user-proto.c"

#define PAIRS 4u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_msg m, out;
	static uint8_t wire[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	struct in in = { data, size };
	struct vu_session s;
	struct vu_parsed p;
	uint8_t hdr[VU_HDR_SIZE], nfds, cfg[24];
	char err[256];
	unsigned int i;
	uint64_t gpa;

	memset(cfg, 0x5a, sizeof(cfg));
	vu_session_init(&s, ~0ull, (1ull << VU_PROTOCOL_F_MQ) |
			(1ull << VU_PROTOCOL_F_REPLY_ACK) |
			(1ull << VU_PROTOCOL_F_CONFIG), 2 * PAIRS + 1, 256);
	while (!take(&in, &nfds, 1) && !take(&in, hdr, sizeof(hdr))) {
		size_t n;

		if (vu_parse_header(hdr, &m, err, sizeof(err)))
			break;
		if (m.size > VU_MAX_PAYLOAD)
			abort(); /* the header check must bound it */
		n = m.size < in.n ? m.size : in.n;
		take(&in, m.payload, n);
		m.size = (uint32_t)n; /* a short read is a short payload */
		m.nfds = nfds % (VU_MAX_FDS + 1);
		for (i = 0; i < m.nfds; i++)
			m.fds[i] = -1;
		if (vu_parse(&m, &p, err, sizeof(err)))
			break;
		if (p.request == VU_SET_MEM_TABLE &&
		    (m.nfds != p.nregions || p.nregions > VU_MAX_REGIONS))
			abort();
		if (vu_session_apply(&s, &p, err, sizeof(err)))
			break;
		if (p.request == VU_GET_CONFIG) {
			if (vu_reply_config(&out, &p, cfg, sizeof(cfg)) > sizeof(wire))
				abort();
			vu_serialize(&out, wire);
		}
		if (vu_wants_ack(&s, &p))
			vu_serialize((vu_reply_u64(&out, p.request, 0), &out), wire);
		if (p.request == VU_SET_VRING_ADDR &&
		    vu_session_uaddr_to_gpa(&s, p.desc, 16, &gpa))
			abort(); /* accepted addresses translate */
	}
	return 0;
}
