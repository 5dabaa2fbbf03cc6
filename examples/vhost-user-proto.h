/* SPDX-License-Identifier: MIT */
/*
 * examples/vhost-user-proto.h - the vhost-user messages the back-end of
 * examples/vhost-user-net.c takes (QEMU docs/interop/vhost-user.rst): the
 * wire layout, a parser that validates one message (header, payload size,
 * file descriptors), and a session that checks the order of messages and
 * the values they carry against what was negotiated, with no side effect,
 * so that a fuzz target (tests/fuzz/fuzz_vhost_user.c) can cover both.
 */
#ifndef VHOST_USER_PROTO_H
#define VHOST_USER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Requests (front-end to back-end). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_REQUEST_MAX = 26
};

/* Header flags. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* Feature bits of the virtio features word. */
#define VU_F_LOG_ALL 26
#define VU_F_PROTOCOL_FEATURES 30
/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_RARP 2
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_MTU 4
#define VU_PROTOCOL_F_BACKEND_REQ 5
#define VU_PROTOCOL_F_CONFIG 9

/* Vring file-descriptor messages: index bits, and "no fd" (polling). */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

#define VU_HDR_SIZE 12u
#define VU_MAX_REGIONS 8u
#define VU_REGION_SIZE 32u
#define VU_CONFIG_HDR 12u
#define VU_CONFIG_MAX 256u /* config-space bytes a GET/SET_CONFIG may carry */
#define VU_MAX_PAYLOAD (VU_CONFIG_HDR + VU_CONFIG_MAX)
#define VU_MAX_FDS 8u
#define VU_MAX_QUEUES 64u /* virtqueues a session may address */
#define VU_MAX_RING 32768u

struct vu_region {
	uint64_t gpa, size, uaddr, mmap_offset;
};

/* One message as received: header fields, payload, descriptors. */
struct vu_msg {
	uint32_t request, flags, size;
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

/* What a valid message carries, decoded from the little-endian payload. */
struct vu_parsed {
	uint32_t request;
	bool need_reply;
	uint64_t u64;          /* features, protocol features, fd-message word */
	uint32_t index, num;   /* vring state; vring index of fd messages */
	bool has_fd;           /* fd messages: a descriptor came */
	uint32_t addr_flags;   /* SET_VRING_ADDR */
	uint64_t desc, used, avail, log;
	uint32_t nregions;     /* SET_MEM_TABLE */
	struct vu_region regions[VU_MAX_REGIONS];
	uint32_t cfg_offset, cfg_size, cfg_flags; /* GET/SET_CONFIG */
	uint64_t log_size, log_offset;            /* SET_LOG_BASE */
};

/* The name of a request ("SET_VRING_ADDR"), "UNKNOWN" for others. */
const char *vu_request_name(uint32_t request);

/*
 * Check a header (12 bytes, little-endian): version 1, not a reply, a
 * payload that fits.  0, or -EPROTO with err filled in.
 */
int vu_parse_header(const uint8_t hdr[VU_HDR_SIZE], struct vu_msg *msg,
		    char *err, size_t errlen);

/*
 * Validate a whole message and decode it: known request, payload size
 * exactly what the request takes (a memory table: room for its regions),
 * the file descriptors it must come with and no others.  0, or -EPROTO
 * with err filled in.
 */
int vu_parse(const struct vu_msg *msg, struct vu_parsed *out, char *err,
	     size_t errlen);

/* One virtqueue as the front-end configured it. */
struct vu_vring {
	uint32_t num;
	bool addr_set, kick_set, call_set, enabled;
	uint64_t desc, used, avail; /* front-end addresses */
	uint16_t base;
};

/* What the session offers and has negotiated so far. */
struct vu_session {
	uint64_t offered_features, offered_protocol;
	uint32_t queues;     /* virtqueues the device has */
	uint32_t max_ring;   /* largest ring size the device takes */
	bool owner, features_set, protocol_set, mem_set, log_set;
	uint64_t features, protocol;
	uint32_t nregions;
	struct vu_region regions[VU_MAX_REGIONS];
	struct vu_vring vr[VU_MAX_QUEUES];
};

void vu_session_init(struct vu_session *s, uint64_t features,
		     uint64_t protocol, uint32_t queues, uint32_t max_ring);

/*
 * Check that a parsed message may come now and carries values in range,
 * and record it in the session (no other side effect).  0, or -EPROTO
 * with err filled in (the connection should then be closed).
 */
int vu_session_apply(struct vu_session *s, const struct vu_parsed *p,
		     char *err, size_t errlen);

/* Whether the front-end asked for REPLY_ACK on this message: negotiated,
 * flag set, and the request has no reply of its own. */
bool vu_wants_ack(const struct vu_session *s, const struct vu_parsed *p);

/*
 * Translate a front-end address of the memory table into a guest-physical
 * address, checking that [uaddr, uaddr + len) lies in one region.  0 or
 * -EFAULT.
 */
int vu_session_uaddr_to_gpa(const struct vu_session *s, uint64_t uaddr,
			    uint64_t len, uint64_t *gpa);

/* Replies: fill msg (header + payload, no fds); returns the bytes to send. */
size_t vu_reply_u64(struct vu_msg *msg, uint32_t request, uint64_t value);
size_t vu_reply_state(struct vu_msg *msg, uint32_t request, uint32_t index,
		      uint32_t num);
/* GET_CONFIG: cfg holds cfg_len device config bytes; the reply carries
 * [offset, offset + size) of it, zero past cfg_len. */
size_t vu_reply_config(struct vu_msg *msg, const struct vu_parsed *p,
		       const uint8_t *cfg, size_t cfg_len);
/* Serialize the reply's header into its first 12 bytes of out (out must
 * hold VU_HDR_SIZE + msg->size). */
size_t vu_serialize(const struct vu_msg *msg, uint8_t *out);

#endif /* VHOST_USER_PROTO_H */
