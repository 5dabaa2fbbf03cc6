/* SPDX-License-Identifier: MIT */
/*
 * examples/vhost-user-proto.c - parsing and ordering of vhost-user
 * messages for examples/vhost-user-net.c; see vhost-user-proto.h.  No
 * system call and no allocation: everything here is covered by the fuzz
 * target tests/fuzz/fuzz_vhost_user.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vhost-user-proto.h"

static const char *const names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VU_IOTLB_MSG] = "IOTLB_MSG",
	[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
};

const char *vu_request_name(uint32_t request)
{
	return request < VU_REQUEST_MAX && names[request] ? names[request]
							   : "UNKNOWN";
}

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int vu_parse_header(const uint8_t hdr[VU_HDR_SIZE], struct vu_msg *msg,
		    char *err, size_t errlen)
{
	msg->request = get32(hdr);
	msg->flags = get32(hdr + 4);
	msg->size = get32(hdr + 8);
	if ((msg->flags & VU_VERSION_MASK) != VU_VERSION)
		return bad(err, errlen, "%s: protocol version %u, 1 expected",
			   vu_request_name(msg->request),
			   msg->flags & VU_VERSION_MASK);
	if (msg->flags & VU_FLAG_REPLY)
		return bad(err, errlen, "%s: a reply where a request was expected",
			   vu_request_name(msg->request));
	if (msg->size > VU_MAX_PAYLOAD)
		return bad(err, errlen, "%s: payload of %u bytes, at most %u",
			   vu_request_name(msg->request), msg->size,
			   VU_MAX_PAYLOAD);
	return 0;
}

/* Payload kinds. */
enum kind { K_NONE, K_U64, K_STATE, K_ADDR, K_MEM, K_FD, K_CONFIG, K_LOG, K_ONEFD };

static int payload_kind(uint32_t request)
{
	switch (request) {
	case VU_GET_FEATURES:
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
		return K_NONE;
	case VU_SET_FEATURES:
	case VU_SET_PROTOCOL_FEATURES:
		return K_U64;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		return K_STATE;
	case VU_SET_VRING_ADDR:
		return K_ADDR;
	case VU_SET_MEM_TABLE:
		return K_MEM;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return K_FD;
	case VU_GET_CONFIG:
		return K_CONFIG;
	case VU_SET_LOG_BASE:
		return K_LOG;
	case VU_SET_BACKEND_REQ_FD:
		return K_ONEFD;
	default:
		return -1;
	}
}

int vu_parse(const struct vu_msg *msg, struct vu_parsed *out, char *err,
	     size_t errlen)
{
	const char *name = vu_request_name(msg->request);
	const uint8_t *p = msg->payload;
	unsigned int want_fds = 0, i;
	uint32_t size = msg->size, need = 0;
	int kind = payload_kind(msg->request);

	memset(out, 0, sizeof(*out));
	out->request = msg->request;
	out->need_reply = msg->flags & VU_FLAG_NEED_REPLY;
	if (kind < 0)
		return bad(err, errlen, "request %u (%s) is not supported",
			   msg->request, name);
	switch (kind) {
	case K_NONE:
		need = 0;
		break;
	case K_ONEFD:
		need = 0;
		want_fds = 1;
		break;
	case K_U64:
	case K_STATE:
		need = 8;
		break;
	case K_FD:
		need = 8;
		break;
	case K_ADDR:
		need = 40;
		break;
	case K_LOG:
		need = 16;
		want_fds = 1;
		break;
	case K_CONFIG:
		need = VU_CONFIG_HDR;
		break;
	case K_MEM:
		need = 8;
		break;
	}
	if (kind == K_MEM || kind == K_CONFIG ? size < need : size != need)
		return bad(err, errlen, "%s: payload of %u bytes, %s%u expected",
			   name, size, kind == K_MEM || kind == K_CONFIG ?
			   "at least " : "", need);
	switch (kind) {
	case K_U64:
		out->u64 = get64(p);
		break;
	case K_STATE:
		out->index = get32(p);
		out->num = get32(p + 4);
		break;
	case K_FD:
		out->u64 = get64(p);
		if (out->u64 & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD))
			return bad(err, errlen, "%s: unknown bits in 0x%llx", name,
				   (unsigned long long)out->u64);
		out->index = (uint32_t)(out->u64 & VU_VRING_IDX_MASK);
		out->has_fd = !(out->u64 & VU_VRING_NOFD);
		want_fds = out->has_fd;
		break;
	case K_ADDR:
		out->index = get32(p);
		out->addr_flags = get32(p + 4);
		out->desc = get64(p + 8);
		out->used = get64(p + 16);
		out->avail = get64(p + 24);
		out->log = get64(p + 32);
		break;
	case K_LOG:
		out->log_size = get64(p);
		out->log_offset = get64(p + 8);
		break;
	case K_CONFIG:
		out->cfg_offset = get32(p);
		out->cfg_size = get32(p + 4);
		out->cfg_flags = get32(p + 8);
		if (out->cfg_size > VU_CONFIG_MAX ||
		    out->cfg_offset > VU_CONFIG_MAX - out->cfg_size)
			return bad(err, errlen, "%s: config range %u+%u beyond %u bytes",
				   name, out->cfg_offset, out->cfg_size,
				   VU_CONFIG_MAX);
		if (size != VU_CONFIG_HDR + out->cfg_size)
			return bad(err, errlen, "%s: payload of %u bytes for %u "
				   "config bytes", name, size, out->cfg_size);
		break;
	case K_MEM:
		out->nregions = get32(p);
		if (out->nregions < 1 || out->nregions > VU_MAX_REGIONS)
			return bad(err, errlen, "%s: %u regions (1..%u)", name,
				   out->nregions, VU_MAX_REGIONS);
		/* Linux's virtio_uml always sends room for two regions. */
		if (size < 8 + out->nregions * VU_REGION_SIZE ||
		    size > 8 + VU_MAX_REGIONS * VU_REGION_SIZE ||
		    (size - 8) % VU_REGION_SIZE)
			return bad(err, errlen, "%s: payload of %u bytes for %u "
				   "regions", name, size, out->nregions);
		for (i = 0; i < out->nregions; i++) {
			const uint8_t *r = p + 8 + i * VU_REGION_SIZE;
			struct vu_region *g = &out->regions[i];

			g->gpa = get64(r);
			g->size = get64(r + 8);
			g->uaddr = get64(r + 16);
			g->mmap_offset = get64(r + 24);
			if (!g->size || g->gpa + g->size < g->gpa ||
			    g->uaddr + g->size < g->uaddr ||
			    g->mmap_offset + g->size < g->mmap_offset)
				return bad(err, errlen, "%s: region %u (gpa 0x%llx, "
					   "size 0x%llx) is empty or wraps", name, i,
					   (unsigned long long)g->gpa,
					   (unsigned long long)g->size);
		}
		want_fds = out->nregions;
		break;
	}
	if (msg->nfds != want_fds)
		return bad(err, errlen, "%s: %u file descriptors, %u expected",
			   name, msg->nfds, want_fds);
	return 0;
}

void vu_session_init(struct vu_session *s, uint64_t features,
		     uint64_t protocol, uint32_t queues, uint32_t max_ring)
{
	memset(s, 0, sizeof(*s));
	s->offered_features = features;
	s->offered_protocol = protocol;
	s->queues = queues > VU_MAX_QUEUES ? VU_MAX_QUEUES : queues;
	s->max_ring = max_ring;
}

static bool overlaps(const struct vu_region *a, const struct vu_region *b)
{
	return a->gpa < b->gpa + b->size && b->gpa < a->gpa + a->size;
}

/* Whether a ring area of len bytes at a front-end address is in memory. */
static int area(const struct vu_session *s, uint64_t uaddr, uint64_t len,
		const char *what, uint32_t idx, char *err, size_t errlen)
{
	uint64_t gpa;

	if (vu_session_uaddr_to_gpa(s, uaddr, len, &gpa))
		return bad(err, errlen, "SET_VRING_ADDR: vring %u: %s area 0x%llx "
			   "(+%llu) is not in the memory table", idx, what,
			   (unsigned long long)uaddr, (unsigned long long)len);
	return 0;
}

int vu_session_apply(struct vu_session *s, const struct vu_parsed *p,
		     char *err, size_t errlen)
{
	const char *name = vu_request_name(p->request);
	struct vu_vring *vr = NULL;
	uint32_t i, j;
	int r;

	switch (p->request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_SET_OWNER:
		break;
	default:
		if (!s->owner && p->request != VU_SET_PROTOCOL_FEATURES)
			return bad(err, errlen, "%s before SET_OWNER", name);
	}
	switch (p->request) {
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
	case VU_SET_VRING_ADDR:
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		if (p->index >= s->queues)
			return bad(err, errlen, "%s: vring %u, the device has %u",
				   name, p->index, s->queues);
		vr = &s->vr[p->index];
		break;
	}
	switch (p->request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
		break;
	case VU_SET_OWNER:
		if (s->owner)
			return bad(err, errlen, "SET_OWNER twice");
		s->owner = true;
		break;
	case VU_RESET_OWNER:
		vu_session_init(s, s->offered_features, s->offered_protocol,
				s->queues, s->max_ring);
		break;
	case VU_SET_FEATURES:
		if (p->u64 & ~s->offered_features)
			return bad(err, errlen, "SET_FEATURES 0x%llx: bits 0x%llx "
				   "were not offered", (unsigned long long)p->u64,
				   (unsigned long long)(p->u64 & ~s->offered_features));
		/* Only LOG_ALL may change while rings run (dirty logging
		 * starts and stops that way). */
		for (i = 0; i < s->queues; i++)
			if (s->vr[i].enabled && s->features_set &&
			    ((s->features ^ p->u64) & ~(1ull << VU_F_LOG_ALL)))
				return bad(err, errlen, "SET_FEATURES changes the "
					   "features while vring %u runs", i);
		s->features = p->u64;
		s->features_set = true;
		break;
	case VU_SET_PROTOCOL_FEATURES:
		if (p->u64 & ~s->offered_protocol)
			return bad(err, errlen, "SET_PROTOCOL_FEATURES 0x%llx: bits "
				   "0x%llx were not offered",
				   (unsigned long long)p->u64,
				   (unsigned long long)(p->u64 & ~s->offered_protocol));
		s->protocol = p->u64;
		s->protocol_set = true;
		break;
	case VU_GET_QUEUE_NUM:
		if (!(s->protocol & (1ull << VU_PROTOCOL_F_MQ)))
			return bad(err, errlen, "GET_QUEUE_NUM without the MQ "
				   "protocol feature");
		break;
	case VU_GET_CONFIG:
		if (!(s->protocol & (1ull << VU_PROTOCOL_F_CONFIG)))
			return bad(err, errlen, "GET_CONFIG without the CONFIG "
				   "protocol feature");
		break;
	case VU_SET_LOG_BASE:
		if (!(s->protocol & (1ull << VU_PROTOCOL_F_LOG_SHMFD)))
			return bad(err, errlen, "SET_LOG_BASE without the LOG_SHMFD "
				   "protocol feature");
		if (!p->log_size || p->log_size % 8 || p->log_offset % 8 ||
		    p->log_offset + p->log_size < p->log_offset)
			return bad(err, errlen, "SET_LOG_BASE: %llu bytes at offset "
				   "%llu (a non-zero multiple of 8 at a multiple of 8)",
				   (unsigned long long)p->log_size,
				   (unsigned long long)p->log_offset);
		s->log_set = true;
		break;
	case VU_SET_BACKEND_REQ_FD:
		if (!(s->protocol & (1ull << VU_PROTOCOL_F_BACKEND_REQ)))
			return bad(err, errlen, "SET_BACKEND_REQ_FD without the "
				   "BACKEND_REQ protocol feature");
		break;
	case VU_SET_MEM_TABLE:
		for (i = 0; i < p->nregions; i++)
			for (j = 0; j < i; j++)
				if (overlaps(&p->regions[i], &p->regions[j]))
					return bad(err, errlen, "SET_MEM_TABLE: regions "
						   "%u and %u overlap", j, i);
		s->nregions = p->nregions;
		memcpy(s->regions, p->regions, sizeof(s->regions));
		s->mem_set = true;
		break;
	case VU_SET_VRING_NUM:
		if (!p->num || p->num > s->max_ring || (p->num & (p->num - 1)))
			return bad(err, errlen, "SET_VRING_NUM: vring %u size %u (a "
				   "power of two up to %u)", p->index, p->num,
				   s->max_ring);
		if (vr->enabled)
			return bad(err, errlen, "SET_VRING_NUM: vring %u is enabled",
				   p->index);
		vr->num = p->num;
		break;
	case VU_SET_VRING_BASE:
		if (p->num > 0xffff)
			return bad(err, errlen, "SET_VRING_BASE: vring %u base %u "
				   "(split rings: 0..65535)", p->index, p->num);
		if (vr->enabled)
			return bad(err, errlen, "SET_VRING_BASE: vring %u is enabled",
				   p->index);
		vr->base = (uint16_t)p->num;
		break;
	case VU_GET_VRING_BASE:
		/* Stops the vring (the caller reads the position first). */
		vr->enabled = false;
		vr->kick_set = false;
		break;
	case VU_SET_VRING_ADDR:
		if (!s->mem_set)
			return bad(err, errlen, "SET_VRING_ADDR before SET_MEM_TABLE");
		if (!vr->num)
			return bad(err, errlen, "SET_VRING_ADDR: vring %u before "
				   "SET_VRING_NUM", p->index);
		if (p->addr_flags & ~1u)
			return bad(err, errlen, "SET_VRING_ADDR: flags 0x%x",
				   p->addr_flags);
		if ((r = area(s, p->desc, 16ull * vr->num, "descriptor", p->index,
			      err, errlen)) ||
		    (r = area(s, p->avail, 6ull + 2ull * vr->num, "driver", p->index,
			      err, errlen)) ||
		    (r = area(s, p->used, 6ull + 8ull * vr->num, "device", p->index,
			      err, errlen)))
			return r;
		if (vr->enabled)
			return bad(err, errlen, "SET_VRING_ADDR: vring %u is enabled",
				   p->index);
		vr->desc = p->desc;
		vr->avail = p->avail;
		vr->used = p->used;
		vr->addr_set = true;
		break;
	case VU_SET_VRING_KICK:
		if (!p->has_fd)
			return bad(err, errlen, "SET_VRING_KICK: vring %u without a "
				   "descriptor (polling is not supported)", p->index);
		vr->kick_set = true;
		/* Without protocol features a kick fd starts the ring. */
		if (!(s->features & (1ull << VU_F_PROTOCOL_FEATURES)))
			vr->enabled = true;
		break;
	case VU_SET_VRING_CALL:
		vr->call_set = p->has_fd;
		break;
	case VU_SET_VRING_ERR:
		break;
	case VU_SET_VRING_ENABLE:
		if (p->num > 1)
			return bad(err, errlen, "SET_VRING_ENABLE: vring %u value %u",
				   p->index, p->num);
		if (!(s->features & (1ull << VU_F_PROTOCOL_FEATURES)))
			return bad(err, errlen, "SET_VRING_ENABLE without protocol "
				   "features");
		if (p->num && (!vr->num || !vr->addr_set || !vr->kick_set))
			return bad(err, errlen, "SET_VRING_ENABLE: vring %u is not "
				   "set up (size, addresses, kick)", p->index);
		vr->enabled = p->num;
		break;
	default:
		return bad(err, errlen, "%s is not supported", name);
	}
	return 0;
}

bool vu_wants_ack(const struct vu_session *s, const struct vu_parsed *p)
{
	switch (p->request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_VRING_BASE:
	case VU_GET_QUEUE_NUM:
	case VU_GET_CONFIG:
	case VU_SET_LOG_BASE: /* replies with u64 0 of its own */
		return false;
	}
	return p->need_reply && (s->protocol & (1ull << VU_PROTOCOL_F_REPLY_ACK));
}

int vu_session_uaddr_to_gpa(const struct vu_session *s, uint64_t uaddr,
			    uint64_t len, uint64_t *gpa)
{
	uint32_t i;

	for (i = 0; i < s->nregions; i++) {
		const struct vu_region *g = &s->regions[i];

		if (uaddr >= g->uaddr && uaddr - g->uaddr < g->size &&
		    len <= g->size - (uaddr - g->uaddr)) {
			*gpa = g->gpa + (uaddr - g->uaddr);
			return 0;
		}
	}
	return -EFAULT;
}

size_t vu_reply_u64(struct vu_msg *msg, uint32_t request, uint64_t value)
{
	msg->request = request;
	msg->flags = VU_VERSION | VU_FLAG_REPLY;
	msg->size = 8;
	msg->nfds = 0;
	put64(msg->payload, value);
	return VU_HDR_SIZE + msg->size;
}

size_t vu_reply_state(struct vu_msg *msg, uint32_t request, uint32_t index,
		      uint32_t num)
{
	msg->request = request;
	msg->flags = VU_VERSION | VU_FLAG_REPLY;
	msg->size = 8;
	msg->nfds = 0;
	put32(msg->payload, index);
	put32(msg->payload + 4, num);
	return VU_HDR_SIZE + msg->size;
}

size_t vu_reply_config(struct vu_msg *msg, const struct vu_parsed *p,
		       const uint8_t *cfg, size_t cfg_len)
{
	uint32_t i;

	msg->request = VU_GET_CONFIG;
	msg->flags = VU_VERSION | VU_FLAG_REPLY;
	msg->size = VU_CONFIG_HDR + p->cfg_size;
	msg->nfds = 0;
	put32(msg->payload, p->cfg_offset);
	put32(msg->payload + 4, p->cfg_size);
	put32(msg->payload + 8, p->cfg_flags);
	for (i = 0; i < p->cfg_size; i++)
		msg->payload[VU_CONFIG_HDR + i] =
			p->cfg_offset + i < cfg_len ? cfg[p->cfg_offset + i] : 0;
	return VU_HDR_SIZE + msg->size;
}

size_t vu_serialize(const struct vu_msg *msg, uint8_t *out)
{
	put32(out, msg->request);
	put32(out + 4, msg->flags);
	put32(out + 8, msg->size);
	memcpy(out + VU_HDR_SIZE, msg->payload, msg->size);
	return VU_HDR_SIZE + msg->size;
}
