/* SPDX-License-Identifier: MIT */
/*
 * examples/vdpa-migrate-guest.c - the guest of examples/vdpa-migrate.c: a
 * tiny virtio-net driver over split rings in guest RAM.  It negotiates
 * neither EVENT_IDX nor INDIRECT_DESC, gives buffer i of a data queue
 * descriptor i, and expects (and checks) the in-order completion the
 * simulated device gives.
 */
#define _DEFAULT_SOURCE /* endian.h */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vdpa-migrate-guest.h"

/* RAM layout: the driver's state, a page per ring, then buffers. */
#define RING_OFF 0x1000 /* ring q at RING_OFF + q pages: desc, avail, used */
#define AVAIL_AT 0x400
#define USED_AT 0x800
#define CVQ_SLOTS (NUM / 4) /* a command takes 2 or 3 descriptors */
#define CVQ_SLOT 0x400      /* command bytes, the ack in the last byte */
#define CVQ_ACK_AT (CVQ_SLOT - 1)
#define CVQ_BUF_OFF (RING_OFF + NQ * 0x1000)
#define DATA_BUF_OFF (CVQ_BUF_OFF + CVQ_SLOTS * CVQ_SLOT)
#define BUF_LEN 2048
#define HDR_LEN 12 /* virtio_net_hdr_v1 (VERSION_1, no HASH_REPORT) */

/* Split ring (virtio 1.x), little-endian in guest RAM. */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vavail {
	uint16_t flags, idx, ring[];
};
struct vused {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[];
};

/* A buffer: offset in RAM, length, device-writable or not. */
struct seg {
	uint64_t off;
	uint32_t len;
	bool write;
};

/* What the guest configures. */
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t uni_tab[2 * 6] = { 0x52, 0x54, 0x00, 0xaa, 0x00, 0x01,
					0x52, 0x54, 0x00, 0xaa, 0x00, 0x02 };
static const uint8_t multi_tab[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint16_t guest_vids[] = { 100, 200, 4094 };

__attribute__((format(printf, 2, 3)))
static int gfail(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
	va_end(ap);
	return -EIO;
}

int guest_init(struct guest *g)
{
	unsigned int q;

	memset(g, 0, sizeof(*g));
	for (q = 0; q < NQ; q++)
		g->kick[q] = g->call[q] = -1;
	if (!(g->ram = aligned_alloc(4096, RAM_SIZE)))
		return -ENOMEM;
	memset(g->ram, 0, RAM_SIZE);
	g->drv = (struct guest_drv *)g->ram;
	for (q = 0; q < NQ; q++) {
		g->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g->call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (g->kick[q] < 0 || g->call[q] < 0)
			return -errno;
	}
	return 0;
}

void guest_fini(struct guest *g)
{
	unsigned int q;

	for (q = 0; q < NQ; q++) {
		if (g->kick[q] >= 0)
			close(g->kick[q]);
		if (g->call[q] >= 0)
			close(g->call[q]);
	}
	free(g->ram);
}

void guest_ring(unsigned int q, uint64_t *desc, uint64_t *avail, uint64_t *used)
{
	*desc = RAM_GPA + RING_OFF + q * 0x1000;
	*avail = *desc + AVAIL_AT;
	*used = *desc + USED_AT;
}

/* ------------------------------------------------------------ rings */

static uint8_t *ring_at(struct guest *g, unsigned int q, unsigned int at)
{
	return g->ram + RING_OFF + q * 0x1000 + at;
}

/* Chain n buffers in descriptors head.. and make the chain available. */
static void vq_add(struct guest *g, unsigned int q, uint16_t head,
		   const struct seg *s, unsigned int n)
{
	struct vdesc *d = (struct vdesc *)ring_at(g, q, 0);
	struct vavail *a = (struct vavail *)ring_at(g, q, AVAIL_AT);
	uint16_t *idx = &g->drv->avail_idx[q];
	unsigned int i;

	for (i = 0; i < n; i++) {
		d[head + i].addr = htole64(RAM_GPA + s[i].off);
		d[head + i].len = htole32(s[i].len);
		d[head + i].flags = htole16(
			(s[i].write ? VDPASTATE_VRING_DESC_F_WRITE : 0) |
			(i + 1 < n ? VDPASTATE_VRING_DESC_F_NEXT : 0));
		d[head + i].next = htole16((uint16_t)(head + i + 1));
	}
	a->ring[*idx % NUM] = htole16(head);
	/* The entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	a->idx = htole16(++*idx);
}

static void vq_kick(struct guest *g, unsigned int q)
{
	uint64_t one = 1;

	if (write(g->kick[q], &one, sizeof(one)) != sizeof(one))
		perror("kick");
}

/* The next used entry, which must name descriptor head: 1, 0 when there
 * is none, -EIO. */
static int vq_used(struct guest *g, unsigned int q, uint32_t head, uint32_t *len)
{
	struct vused *u = (struct vused *)ring_at(g, q, USED_AT);
	uint16_t *last = &g->drv->last_used[q];
	uint32_t id;
	uint64_t v;

	if (read(g->call[q], &v, sizeof(v)) < 0) {
		/* Not signalled: the ring is read anyway. */
	}
	if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) == *last)
		return 0;
	id = le32toh(u->ring[*last % NUM].id);
	*len = le32toh(u->ring[*last % NUM].len);
	if (id != head)
		return gfail(g, "queue %u: used entry %u names descriptor %u, "
			     "%u expected", q, *last, id, head);
	++*last;
	return 1;
}

/* ------------------------------------------------------------ control queue */

unsigned int guest_boot_cmds(struct guest *g, struct vdpastate_cvq_cmd **c)
{
	uint16_t table[128];
	uint8_t key[40];
	unsigned int i, n = 0;

	for (i = 0; i < 128; i++)
		table[i] = (uint16_t)(i % PAIRS);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 17 + 3);
	c[n++] = vdpastate_cvq_cmd_mac_addr_set(guest_mac);
	c[n++] = vdpastate_cvq_cmd_rx_promisc(false);
	c[n++] = vdpastate_cvq_cmd_rx_allmulti(true);
	c[n++] = vdpastate_cvq_cmd_mac_table_set(uni_tab, 2, multi_tab, 1);
	for (i = 0; i < 3; i++)
		c[n++] = vdpastate_cvq_cmd_vlan_add(guest_vids[i]);
	c[n++] = vdpastate_cvq_cmd_mq_vq_pairs_set(PAIRS);
	c[n++] = vdpastate_cvq_cmd_mq_rss_config(
		VDPASTATE_NET_HASH_IPV4 | VDPASTATE_NET_HASH_TCPV4 |
			VDPASTATE_NET_HASH_UDPV4 | VDPASTATE_NET_HASH_IPV6 |
			VDPASTATE_NET_HASH_TCPV6 | VDPASTATE_NET_HASH_UDPV6,
		table, 128, 0, PAIRS, key, sizeof(key));
	memcpy(g->drv->mac, guest_mac, 6);
	memcpy(g->drv->vids, guest_vids, sizeof(guest_vids));
	g->drv->nvids = 3;
	return n;
}

/* Header, data and ack in descriptors of their own, as Linux posts them. */
int guest_cvq_post(struct guest *g, struct vdpastate_cvq_cmd **cmds,
		   unsigned int n)
{
	unsigned int i;
	int r = n > CVQ_SLOTS ? gfail(g, "%u commands at once", n) : 0;

	for (i = 0; i < n && !r; i++) {
		uint16_t slot = g->drv->avail_idx[QCVQ] % CVQ_SLOTS;
		uint64_t off = CVQ_BUF_OFF + (uint64_t)slot * CVQ_SLOT;
		struct seg s[3] = { { off, 2, false }, { off + 2, 0, false },
				    { off + CVQ_ACK_AT, 1, true } };
		int w = cmds[i] ? vdpastate_cvq_cmd_encode(cmds[i], g->ram + off,
							   CVQ_ACK_AT)
				: -errno;

		if (w < 2) {
			r = gfail(g, "command %u: %s (%s)", i, vdpastate_strerror(w),
				  vdpastate_last_error());
			break;
		}
		g->ram[off + CVQ_ACK_AT] = 0xff;
		s[1].len = (uint32_t)w - 2;
		if (w == 2) /* no data: header and ack */
			s[1] = s[2];
		vq_add(g, QCVQ, (uint16_t)(slot * 4), s, w > 2 ? 3 : 2);
	}
	for (i = 0; i < n; i++)
		vdpastate_cvq_cmd_free(cmds[i]);
	if (!r)
		vq_kick(g, QCVQ);
	return r;
}

int guest_cvq_reap(struct guest *g, uint8_t *acks, unsigned int n)
{
	unsigned int i;
	uint32_t len;
	int r;

	for (i = 0; i < n; i++) {
		uint16_t slot = g->drv->last_used[QCVQ] % CVQ_SLOTS;

		if ((r = vq_used(g, QCVQ, slot * 4u, &len)) <= 0)
			return r ? r : gfail(g, "command %u got no answer", i);
		acks[i] = g->ram[CVQ_BUF_OFF + slot * CVQ_SLOT + CVQ_ACK_AT];
	}
	return 0;
}

/* ------------------------------------------------------------ data queues */

/*
 * Frame seq of pair p: to the device MAC, a MAC-table address, broadcast
 * or multicast in turn, every third one tagged with a configured VLAN
 * (a vid not 0 forces that tag), and a payload that names pair and seq.
 */
static size_t frame_make(const struct guest_drv *d, unsigned int p,
			 uint32_t seq, uint16_t vid, uint8_t *f)
{
	size_t len = 60 + (seq * 97u + p * 31u) % 1400, off = 12, i;

	switch (seq % 4) {
	case 0: memcpy(f, d->mac, 6); break;
	case 1: memcpy(f, uni_tab, 6); break;
	case 2: memset(f, 0xff, 6); break;
	default: memcpy(f, multi_tab, 6); break;
	}
	memcpy(f + 6, peer_mac, 6);
	if (!vid && seq % 3 == 1 && d->nvids)
		vid = d->vids[seq % d->nvids];
	if (vid) {
		memcpy(f + 12, "\x81\x00", 2);
		f[14] = (uint8_t)(vid >> 8);
		f[15] = (uint8_t)vid;
		off = 16;
	}
	memcpy(f + off, "\x88\xb5", 2); /* local experimental EtherType */
	for (i = off + 2; i < len; i++)
		f[i] = (uint8_t)(seq * 13 + p * 7 + i);
	f[off + 2] = (uint8_t)p;
	memcpy(f + off + 3, &seq, sizeof(seq));
	return len;
}

/* The buffer of descriptor slot of data queue q. */
static uint8_t *data_buf(struct guest *g, unsigned int q, unsigned int slot)
{
	return g->ram + DATA_BUF_OFF + ((size_t)q * NUM + slot) * BUF_LEN;
}

/* Post a buffer of len bytes on queue q (writable on a receive queue). */
static void data_post(struct guest *g, unsigned int q, uint32_t len)
{
	uint16_t slot = g->drv->avail_idx[q] % NUM;
	struct seg s = { (uint64_t)(data_buf(g, q, slot) - g->ram), len, !(q % 2) };

	vq_add(g, q, slot, &s, 1);
}

/* Post frame seq on pair p's transmit ring (vid as frame_make()). */
static void tx_post(struct guest *g, unsigned int p, uint32_t seq, uint16_t vid)
{
	uint8_t *b = data_buf(g, 2 * p + 1, g->drv->avail_idx[2 * p + 1] % NUM);

	memset(b, 0, HDR_LEN);
	data_post(g, 2 * p + 1,
		  (uint32_t)(HDR_LEN + frame_make(g->drv, p, seq, vid, b + HDR_LEN)));
}

/* Keep pair p's receive ring full. */
static void rx_fill(struct guest *g, unsigned int p)
{
	while ((uint16_t)(g->drv->avail_idx[2 * p] - g->drv->last_used[2 * p]) < NUM)
		data_post(g, 2 * p, BUF_LEN);
	vq_kick(g, 2 * p);
}

void guest_send(struct guest *g, unsigned int pairs)
{
	unsigned int p, k;

	for (p = 0; p < pairs; p++) {
		rx_fill(g, p);
		for (k = 0; k < FRAMES; k++)
			tx_post(g, p, g->drv->tx_seq[p]++, 0);
		if (p == 0)
			tx_post(g, 0, UINT32_MAX, PROBE_VID);
		vq_kick(g, 2 * p + 1);
	}
}

int guest_receive(struct guest *g, unsigned int pairs, unsigned int *tx,
		  unsigned int *rx)
{
	struct guest_drv *d = g->drv;
	uint8_t want[BUF_LEN], hdr[HDR_LEN] = { [10] = 1 }; /* num_buffers */
	unsigned int p;
	uint32_t len;
	int r = 0;

	for (p = 0; p < pairs && r >= 0; p++) {
		while ((r = vq_used(g, 2 * p + 1, d->last_used[2 * p + 1] % NUM,
				    &len)) > 0)
			++*tx;
		while (!r) {
			uint16_t slot = d->last_used[2 * p] % NUM;
			const uint8_t *got = data_buf(g, 2 * p, slot);
			size_t wl = frame_make(d, p, d->rx_seq[p], 0, want);

			if ((r = vq_used(g, 2 * p, slot, &len)) <= 0)
				break;
			if (len != HDR_LEN + wl || memcmp(got, hdr, HDR_LEN) ||
			    memcmp(got + HDR_LEN, want, wl))
				return gfail(g, "rx%u: frame %u came back wrong (%u "
					     "bytes, %zu expected)", p, d->rx_seq[p],
					     len, HDR_LEN + wl);
			d->rx_seq[p]++;
			++*rx;
			r = 0;
		}
		rx_fill(g, p);
	}
	return r < 0 ? r : 0;
}
