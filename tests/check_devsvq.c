/* SPDX-License-Identifier: MIT */
/*
 * tests/check_devsvq.c - switching a running device's data queues onto
 * shadow virtqueues and back (vdpastate_dev_set_svq, vdpastate_dev_switch)
 * on the simulated device: traffic continues byte-exact across each
 * switch, receive buffers the guest posted before a switch are not lost,
 * the dirty log records what the device wrote while shadowed, and a save
 * taken while shadowed carries the guest rings' positions to a
 * destination that runs them directly, and to a switch on the source
 * after it; a broken queue stays broken across switches and saves.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "passthru_transport.h"
#include "ring.h"
#include "sim_int.h"
#include "suites.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
#define GPA 0x100000ull
#define GSIZE (4ull << 20)
#define QNUM 32
#define SLOT 2048
#define HDR 12 /* virtio_net_hdr with VERSION_1 */
#define FRAME 60
#define NQ 2 /* rx 0, tx 1 */

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x56, 0x44, 0x01 };

struct gq {
	struct vds_vdrv drv;
	uint64_t desc, avail, used, slot0;
	int kick, call;             /* the guest's eventfds */
	int dkick, dcall;           /* the device side of its SVQ */
	struct vdpastate_svq *svq;
};

struct box {
	uint8_t *ram;
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	struct vdpastate_transport *t;
	struct vdpastate_transport *sim_t; /* t, or what t forwards to */
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	uint64_t features;
	struct gq q[NQ];
	uint64_t sent, got; /* frames */
	uint64_t rx_heads;  /* receive heads used (bit per head) */
	uint64_t *bitmap;
};

static uint8_t *host(struct box *b, uint64_t gpa)
{
	return b->ram + (gpa - GPA);
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Guest memory, a device, a handle; the data rings laid out in guest
 * memory and given to the handle at IOVA = GPA.  With passthru the handle
 * sees the device through a transport of the VMM's own that has no
 * backend features (no SUSPEND). */
static void box_new_on(struct box *b, uint8_t *ram, bool passthru,
		       uint32_t sim_flags)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .flags = sim_flags);
	VDPASTATE_OPTS(vdpastate_iova_map_opts, mo, .iova = GPA,
		       .flags = VDPASTATE_IOVA_MAP_FIXED);
	uint64_t offered, at = GPA;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->ram = ram;
	b->mem = vdpastate_mem_new();
	ck_assert_int_eq(vdpastate_mem_add(b->mem, GPA, GSIZE, ram, 0), 0);
	b->iova = vdpastate_iova_new(0x1000, (1ull << 40) - 1);
	ck_assert_ptr_nonnull(b->iova);
	ck_assert_int_eq(vdpastate_iova_map(b->iova, VDPASTATE_IOVA_GPA, GPA,
					    GSIZE, &mo, NULL),
			 0);
	b->sim_t = vdpastate_sim_new(&so);
	ck_assert_ptr_nonnull(b->sim_t);
	b->sim = vdpastate_sim_from_transport(b->sim_t);
	b->t = passthru ? vdpastate_transport_new(&passthru_ops,
						  sizeof(passthru_ops), b->sim_t)
			: b->sim_t;
	ck_assert_ptr_nonnull(b->t);
	b->dev = vdpastate_dev_open(b->t, NULL);
	ck_assert_ptr_nonnull(b->dev);
	ck_assert_int_eq(vdpastate_transport_get_device_features(b->t, &offered), 0);
	b->features = offered & (RB(VERSION_1) | RB(ACCESS_PLATFORM) |
				 RB(EVENT_IDX) | FB(MAC) | FB(CTRL_VQ) |
				 FB(CTRL_RX) | FB(CTRL_MAC_ADDR));
	ck_assert_int_eq(vdpastate_transport_dma_map(b->t, 0, GPA, GSIZE, ram,
						     VDPASTATE_DMA_READ |
							     VDPASTATE_DMA_WRITE),
			 0);
	for (i = 0; i < NQ; i++) {
		struct gq *q = &b->q[i];
		VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = QNUM);

		q->desc = at;
		q->avail = at + 0x1000;
		q->used = at + 0x2000;
		q->slot0 = at + 0x3000;
		at += 0x3000 + QNUM * SLOT;
		q->kick = efd();
		q->call = efd();
		q->dkick = efd();
		q->dcall = efd();
		vr.desc = q->desc;
		vr.avail = q->avail;
		vr.used = q->used;
		vr.kick_fd = q->kick;
		vr.call_fd = q->call;
		ck_assert_int_eq(vdpastate_dev_set_vring(b->dev, i, &vr), 0);
	}
	b->bitmap = calloc(GSIZE / 4096 / 8 + GPA / 4096 / 8 + 8, 1);
	ck_assert_ptr_nonnull(b->bitmap);
}

static void box_new(struct box *b, uint8_t *ram)
{
	box_new_on(b, ram, false, 0);
}

/* The guest driver's rings (fresh, or as the RAM copy left them). */
static void guest_rings(struct box *b, bool fresh)
{
	unsigned int i;

	for (i = 0; i < NQ; i++) {
		struct gq *q = &b->q[i];

		if (fresh)
			ck_assert_int_eq(vds_vdrv_init(&q->drv, QNUM, b->features,
						       host(b, q->desc),
						       host(b, q->avail),
						       host(b, q->used)),
					 0);
		vds_vdrv_want_calls(&q->drv, true);
	}
}

static void box_free(struct box *b)
{
	unsigned int i;

	vdpastate_dev_free(b->dev);
	if (b->t != b->sim_t)
		vdpastate_transport_free(b->t);
	vdpastate_transport_free(b->sim_t);
	for (i = 0; i < NQ; i++) {
		struct gq *q = &b->q[i];

		vdpastate_svq_free(q->svq);
		vds_vdrv_fini(&q->drv);
		close(q->kick);
		close(q->call);
		close(q->dkick);
		close(q->dcall);
	}
	vdpastate_iova_free(b->iova);
	vdpastate_mem_free(b->mem);
	free(b->bitmap);
}

/* Everything runs once: the SVQs both ways and the (inline) device. */
static void run(struct box *b)
{
	unsigned int i, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < NQ; i++)
			if (b->q[i].svq)
				ck_assert_int_ge(vdpastate_svq_poll(b->q[i].svq), 0);
		ck_assert_int_ge(vdpastate_sim_poll(b->sim), 0);
	}
	for (i = 0; i < NQ; i++)
		if (b->q[i].svq)
			ck_assert_int_ge(vdpastate_svq_poll(b->q[i].svq), 0);
}

static void kick(struct gq *q)
{
	uint64_t one = 1;

	vds_vdrv_publish(&q->drv);
	ck_assert_int_eq(write(q->kick, &one, sizeof(one)), sizeof(one));
}

static void post_rx(struct box *b, unsigned int n)
{
	struct gq *q = &b->q[0];

	while (n--) {
		struct vds_seg s = { 0 };

		s.xaddr = q->slot0 + (uint64_t)q->drv.free_head * SLOT;
		s.len = SLOT;
		s.flags = VDPASTATE_VRING_DESC_F_WRITE;
		ck_assert_int_ge(vds_vdrv_add(&q->drv, &s, 1), 0);
	}
	kick(q);
}

static void frame_bytes(uint8_t *f, uint64_t seq)
{
	unsigned int i;

	memcpy(f, MAC, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (i = 14; i < FRAME; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

/* Send n frames to the device's MAC, one at a time, each checked back. */
static void traffic(struct box *b, unsigned int n)
{
	struct gq *tx = &b->q[1], *rx = &b->q[0];

	while (n--) {
		uint8_t f[FRAME];
		struct vds_seg s = { 0 };
		uint16_t id;
		uint32_t len;

		frame_bytes(f, b->sent);
		s.xaddr = tx->slot0 + (uint64_t)tx->drv.free_head * SLOT;
		s.len = HDR + FRAME;
		memset(host(b, s.xaddr), 0, HDR);
		memcpy(host(b, s.xaddr) + HDR, f, FRAME);
		ck_assert_int_ge(vds_vdrv_add(&tx->drv, &s, 1), 0);
		kick(tx);
		b->sent++;
		run(b);
		ck_assert_int_eq(vds_vdrv_get_used(&tx->drv, &id, &len), 1);
		vds_vdrv_free(&tx->drv, id);
		ck_assert_msg(vds_vdrv_get_used(&rx->drv, &id, &len) == 1,
			      "frame %llu did not come back",
			      (unsigned long long)b->sent - 1);
		ck_assert_uint_eq(len, HDR + FRAME);
		ck_assert_int_eq(memcmp(host(b, rx->slot0 + (uint64_t)id * SLOT) + HDR,
					f, FRAME),
				 0);
		vds_vdrv_free(&rx->drv, id);
		b->rx_heads |= UINT64_C(1) << id;
		b->got++;
		post_rx(b, 1);
	}
}

/* Data queue i onto a new SVQ (shadow ring mapped in address space 0). */
static void shadow_on(struct box *b, unsigned int i)
{
	VDPASTATE_OPTS(vdpastate_svq_opts, o, .guest_features = b->features,
		       .device_features = b->features);
	struct gq *q = &b->q[i];

	q->svq = vdpastate_svq_new(QNUM, b->mem, b->iova, &o);
	ck_assert_ptr_nonnull(q->svq);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q->svq, q->desc, q->avail,
						      q->used),
			 0);
	ck_assert_int_eq(vdpastate_svq_set_fds(q->svq, q->kick, q->call, q->dkick,
					       q->dcall),
			 0);
	ck_assert_int_eq(vdpastate_svq_set_dirty_log(q->svq, b->bitmap,
						     (GPA + GSIZE) / 4096 / 8,
						     NULL, NULL),
			 0);
	ck_assert_int_eq(vdpastate_transport_map_svq(b->t, 0, q->svq), 0);
	ck_assert_int_eq(vdpastate_dev_set_svq(b->dev, i, q->svq, q->dkick,
					       q->dcall),
			 0);
}

static void shadow_off(struct box *b, unsigned int i)
{
	ck_assert_int_eq(vdpastate_dev_set_svq(b->dev, i, NULL, -1, -1), 0);
}

/* After the switch that stopped it: unmapped and freed. */
static void shadow_free(struct box *b, unsigned int i)
{
	struct gq *q = &b->q[i];

	ck_assert_int_eq(vdpastate_transport_unmap_svq(b->t, 0, q->svq), 0);
	vdpastate_svq_free(q->svq);
	q->svq = NULL;
}

static bool dirty(struct box *b, uint64_t gpa)
{
	uint64_t page = gpa / 4096;

	return b->bitmap[page / 64] >> (page % 64) & 1;
}

/* A source with both queues shadowed, 8 rx buffers and frames sent. */
static void shadowed_source(struct box *b, uint8_t *ram, uint8_t *ram2,
			    unsigned int frames)
{
	unsigned int i;

	ck_assert_ptr_nonnull(ram);
	ck_assert_ptr_nonnull(ram2);
	memset(ram, 0, GSIZE);
	box_new(b, ram);
	guest_rings(b, true);
	for (i = 0; i < NQ; i++)
		shadow_on(b, i);
	ck_assert_int_eq(vdpastate_dev_start(b->dev, b->features), 0);
	post_rx(b, 8);
	traffic(b, frames);
}

/* A source on the guest's own rings: 8 rx buffers posted, frames sent. */
static void direct_source(struct box *b, uint8_t *ram, unsigned int frames)
{
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, GSIZE);
	box_new(b, ram);
	guest_rings(b, true);
	ck_assert_int_eq(vdpastate_dev_start(b->dev, b->features), 0);
	post_rx(b, 8);
	traffic(b, frames);
}

/* Direct: 8 receive buffers posted, 40 frames; then every queue shadowed
 * by a switch, so the SVQs start at guest ring position 40. */
static void switched_source(struct box *b, uint8_t *ram)
{
	unsigned int i;

	direct_source(b, ram, 40);
	for (i = 0; i < NQ; i++)
		shadow_on(b, i);
	ck_assert_int_eq(vdpastate_dev_switch(b->dev), 0);
}

START_TEST(switch_on_and_off)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	VDPASTATE_OPTS(vdpastate_dev_stats, st);
	struct box b;
	unsigned int i;

	/* On: the 8 posted receive buffers stay usable, nothing is lost. */
	switched_source(&b, ram);
	ck_assert_int_eq(vdpastate_svq_error(b.q[0].svq), 0);
	b.rx_heads = 0;
	traffic(&b, 40);
	/* The device wrote receive buffers while shadowed: all logged. */
	{
		uint16_t la, ui;

		ck_assert_int_eq(vdpastate_svq_get_state(b.q[1].svq, &la, &ui), 0);
		ck_assert_uint_eq(la, 80);
		ck_assert_uint_eq(ui, 80);
		ck_assert_uint_ne(b.rx_heads, 0);
		for (i = 0; i < QNUM; i++)
			if (b.rx_heads >> i & 1)
				ck_assert_msg(dirty(&b, b.q[0].slot0 +
							    (uint64_t)i * SLOT),
					      "rx slot %u not logged", i);
		ck_assert_msg(!dirty(&b, b.q[1].slot0), "tx slot logged");
	}

	/* Off again: the device continues on the guest rings. */
	for (i = 0; i < NQ; i++)
		shadow_off(&b, i);
	ck_assert_int_eq(vdpastate_dev_switch(b.dev), 0);
	for (i = 0; i < NQ; i++)
		shadow_free(&b, i);
	traffic(&b, 40);
	ck_assert_uint_eq(b.got, 120);
	ck_assert_int_eq(vdpastate_dev_get_stats(b.dev, &st), 0);
	ck_assert_uint_eq(st.restores, 3);
	box_free(&b);
	free(ram);
}
END_TEST

/* Saved while shadowed, restored on a destination that runs directly. */
START_TEST(save_while_shadowed)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE), *ram2 = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct box src, dst;
	unsigned int i;

	shadowed_source(&src, ram, ram2, 50);
	ck_assert_int_eq(vdpastate_dev_save(src.dev, blob), 0);
	/* Save stopped the SVQs: the guest ring positions are in the blob. */
	ck_assert_int_eq(vdpastate_svq_stop(src.q[0].svq, 0), -EINVAL);

	memcpy(ram2, ram, GSIZE);
	box_new(&dst, ram2);
	for (i = 0; i < NQ; i++) {
		dst.q[i].drv = src.q[i].drv; /* the guest driver, as in its RAM */
		memset(&src.q[i].drv, 0, sizeof(src.q[i].drv));
		dst.q[i].drv.desc = (void *)host(&dst, dst.q[i].desc);
		dst.q[i].drv.avail = (void *)host(&dst, dst.q[i].avail);
		dst.q[i].drv.used = (void *)host(&dst, dst.q[i].used);
	}
	guest_rings(&dst, false);
	dst.sent = src.sent;
	dst.got = src.got;
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, blob), 0);
	for (i = 0; i < NQ; i++) {
		uint32_t base;

		ck_assert_int_eq(vdpastate_transport_get_vring_base(dst.t, i, &base),
				 0);
		/* rx: 8 + 50 reposted, 50 used; tx: 50. */
		ck_assert_uint_eq(base, 50);
	}
	traffic(&dst, 30);
	ck_assert_uint_eq(dst.got, 80);
	vdpastate_blob_free(blob);
	for (i = 0; i < NQ; i++)
		shadow_free(&src, i);
	box_free(&src);
	box_free(&dst);
	free(ram);
	free(ram2);
}
END_TEST

/* Every SVQ's guest used index is want. */
static void assert_svq_used(struct box *b, uint16_t want)
{
	unsigned int i;

	for (i = 0; i < NQ; i++) {
		uint16_t la, ui;

		ck_assert_int_eq(vdpastate_svq_get_state(b->q[i].svq, &la, &ui), 0);
		ck_assert_uint_eq(ui, want);
	}
}

/* Every queue back on the guest's rings by a switch, the SVQs freed. */
static void unshadow(struct box *b)
{
	unsigned int i;

	for (i = 0; i < NQ; i++)
		shadow_off(b, i);
	ck_assert_int_eq(vdpastate_dev_switch(b->dev), 0);
	for (i = 0; i < NQ; i++)
		shadow_free(b, i);
}

/*
 * A migration abandoned after a save, the SVQs (started at a position
 * other than 0 by a switch) then restarted by a switch: each guest ring
 * continues where its SVQ stopped, not at the shadow ring's base.
 */
START_TEST(switch_after_save)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct box b;

	switched_source(&b, ram);
	traffic(&b, 10);
	ck_assert_msg(vdpastate_dev_save(b.dev, blob) == 0, "%s",
		      vdpastate_last_error());
	/* Abandoned: the SVQs run again through a switch. */
	ck_assert_msg(vdpastate_dev_switch(b.dev) == 0, "%s",
		      vdpastate_last_error());
	assert_svq_used(&b, 50);
	traffic(&b, 10);
	ck_assert_uint_eq(b.got, 60);
	vdpastate_blob_free(blob);
	unshadow(&b);
	traffic(&b, 5);
	box_free(&b);
	free(ram);
}
END_TEST

/* The vring record entry of queue idx in a saved blob: base and flags. */
static void vring_rec(const struct vdpastate_blob *blob, uint16_t idx,
		      uint16_t *base, uint16_t *flags)
{
	size_t i, n = vdpastate_blob_record_count(blob);

	for (i = 0; i < n; i++) {
		const uint8_t *v;
		const void *vv;
		uint16_t type, k, cnt;
		uint8_t fl;
		uint32_t len;

		ck_assert_int_eq(vdpastate_blob_record_get(blob, i, &type, &fl, &vv,
							   &len),
				 0);
		if (type != VDPASTATE_DEV_REC_VRINGS)
			continue;
		v = vv;
		cnt = (uint16_t)(v[0] | v[1] << 8);
		for (k = 0; k < cnt; k++) {
			const uint8_t *e = v + 4 + (size_t)k * 8;

			if ((e[0] | e[1] << 8) != idx)
				continue;
			*base = (uint16_t)(e[4] | e[5] << 8);
			*flags = (uint16_t)(e[6] | e[7] << 8);
			return;
		}
	}
	ck_abort_msg("no vring record for queue %u", idx);
}

static char warned[512];

static void keep_warning(enum vdpastate_log_level l, const char *m, void *u)
{
	(void)u;
	if (l == VDPASTATE_LOG_WARN && strstr(m, "broken"))
		snprintf(warned, sizeof(warned), "%s", m);
}

/*
 * A guest breaks its shadowed TX ring.  _i 0: save goes on, the broken
 * queue saved where it stopped and marked broken, and the destination
 * keeps it disabled while its control queue runs; _i 1: switch goes on,
 * the control queue alive.
 */
START_TEST(broken_queue)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);
	uint8_t *ram = aligned_alloc(4096, GSIZE), *ram2 = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_rx_promisc(true);
	struct box src, dst;
	uint16_t base, flags;
	unsigned int i;
	uint32_t b32;
	uint8_t status = 0;

	shadowed_source(&src, ram, ram2, 20);
	/* The guest's avail index runs past its ring: the SVQ disables. */
	((struct vds_avail *)host(&src, src.q[1].avail))->idx += QNUM + 1;
	{
		uint64_t one = 1;

		ck_assert_int_eq(write(src.q[1].kick, &one, sizeof(one)),
				 sizeof(one));
	}
	ck_assert_int_lt(vdpastate_svq_poll(src.q[1].svq), 0);
	/* The warning names the queue. */
	warned[0] = 0;
	vdpastate_set_log(keep_warning, NULL, VDPASTATE_LOG_WARN);
	if (_i == 1) {
		ck_assert_msg(vdpastate_dev_switch(src.dev) == 0, "%s",
			      vdpastate_last_error());
		vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR);
		ck_assert_msg(strstr(warned, "switch: data queue 1 is broken"), "%s",
			      warned);
		ck_assert_int_eq(vdpastate_transport_get_status(src.t, &status), 0);
		ck_assert(status & VDPASTATE_STATUS_DRIVER_OK);
		ck_assert_msg(vdpastate_dev_send(src.dev, c) == 0, "%s",
			      vdpastate_last_error());
		/* Still broken, still where it stopped, for the next save. */
		ck_assert_msg(vdpastate_dev_save(src.dev, blob) == 0, "%s",
			      vdpastate_last_error());
		vring_rec(blob, 1, &base, &flags);
		ck_assert_uint_eq(base, 20);
		ck_assert_uint_eq(flags, 1 | 4);
		goto out;
	}
	ck_assert_msg(vdpastate_dev_save(src.dev, blob) == 0, "%s",
		      vdpastate_last_error());
	vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR);
	ck_assert_msg(strstr(warned, "save: data queue 1 is broken") &&
		      strstr(warned, "position 20"), "%s", warned);
	vring_rec(blob, 1, &base, &flags);
	ck_assert_uint_eq(base, 20); /* where the guest's TX ring stopped */
	ck_assert_uint_eq(flags, 1 | 4);
	vring_rec(blob, 0, &base, &flags);
	ck_assert_uint_eq(base, 20);
	ck_assert_uint_eq(flags, 1);
	memcpy(ram2, ram, GSIZE);
	box_new(&dst, ram2);
	ck_assert_msg(vdpastate_dev_restore(dst.dev, blob) == 0, "%s",
		      vdpastate_last_error());
	ck_assert_int_eq(vdpastate_transport_get_vring_base(dst.t, 0, &b32), 0);
	ck_assert_uint_eq(b32, 20);
	/* The broken TX ring is not run: kicking it breaks nothing. */
	{
		uint64_t one = 1;

		ck_assert_int_eq(write(dst.q[1].kick, &one, sizeof(one)),
				 sizeof(one));
	}
	ck_assert_int_ge(vdpastate_sim_poll(dst.sim), 0);
	ck_assert_int_eq(vdpastate_sim_get_stats(dst.sim, &st), 0);
	ck_assert_uint_eq(st.queue_errors, 0);
	ck_assert_uint_eq(st.tx_frames, 0);
	ck_assert_msg(vdpastate_dev_send(dst.dev, c) == 0, "%s",
		      vdpastate_last_error());
	box_free(&dst);
out:
	vdpastate_cvq_cmd_free(c);
	vdpastate_blob_free(blob);
	for (i = 0; i < NQ; i++)
		shadow_free(&src, i);
	box_free(&src);
	free(ram);
	free(ram2);
}
END_TEST

/*
 * A device without SUSPEND whose data queues are all shadowed: save goes
 * ahead, the positions coming from the SVQs, and a second save finds
 * them where the first stopped the SVQs.
 */
START_TEST(save_without_suspend)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob[2] = { vdpastate_blob_new(),
					   vdpastate_blob_new() };
	uint16_t base, flags;
	struct box b;
	unsigned int i, k;

	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, GSIZE);
	box_new_on(&b, ram, true, 0);
	guest_rings(&b, true);
	for (i = 0; i < NQ; i++)
		shadow_on(&b, i);
	ck_assert_int_eq(vdpastate_dev_start(b.dev, b.features), 0);
	post_rx(&b, 8);
	traffic(&b, 20);
	for (k = 0; k < 2; k++) {
		ck_assert_msg(vdpastate_dev_save(b.dev, blob[k]) == 0, "%s",
			      vdpastate_last_error());
		for (i = 0; i < NQ; i++) {
			vring_rec(blob[k], (uint16_t)i, &base, &flags);
			ck_assert_uint_eq(base, 20);
			ck_assert_uint_eq(flags, 1);
		}
		vdpastate_blob_free(blob[k]);
	}
	for (i = 0; i < NQ; i++)
		shadow_free(&b, i);
	box_free(&b);
	free(ram);
}
END_TEST

/* Events of kind k the simulated device recorded. */
static unsigned int sim_count(struct box *b, enum vds_sim_ev k, bool resets)
{
	struct vds_sim_event *ev = NULL;
	size_t n = 0, i;
	unsigned int c = 0;

	ck_assert_int_eq(vds_sim_events(b->sim, &ev, &n), 0);
	for (i = 0; i < n; i++)
		if (ev[i].kind == k && (!resets || ev[i].a == 0))
			c++;
	free(ev);
	return c;
}

/*
 * A migration cancelled after the save, the data queues shadowed: the
 * save gave the in-flight receive buffers back to the guest and emptied
 * the shadow rings, so the device is brought up again (RESTARTED) even
 * though it offers RESUME; the tracked state is kept, traffic goes on
 * from the saved positions.  A second resume has nothing to undo.
 */
START_TEST(resume_shadowed)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE), *ram2 = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct vdpastate_netstate *before;
	struct box b;

	shadowed_source(&b, ram, ram2, 30);
	ck_assert_int_eq(vdpastate_dev_save(b.dev, blob), 0);
	before = vdpastate_netstate_copy(vdpastate_dev_netstate(b.dev));
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), VDPASTATE_DEV_RESTARTED);
	ck_assert(vdpastate_netstate_equal(before, vdpastate_dev_netstate(b.dev)));
	assert_svq_used(&b, 30);
	traffic(&b, 20);
	ck_assert_uint_eq(b.got, 50);
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "not saved"));
	traffic(&b, 5);
	ck_assert_uint_eq(b.got, 55);
	vdpastate_netstate_free(before);
	vdpastate_blob_free(blob);
	unshadow(&b);
	box_free(&b);
	free(ram);
	free(ram2);
}
END_TEST

/*
 * The data queues on the guest's rings and a device with SUSPEND and
 * RESUME: cancelled after the save, the device resumes in place (one
 * RESUME, no reset, no restore), the queues go on where they stood.
 */
START_TEST(resume_in_place)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	VDPASTATE_OPTS(vdpastate_dev_stats, st0);
	VDPASTATE_OPTS(vdpastate_dev_stats, st1);
	struct box b;

	direct_source(&b, ram, 30);
	vds_sim_record(b.sim, true);
	ck_assert_int_eq(vdpastate_dev_save(b.dev, blob), 0);
	ck_assert_uint_eq(sim_count(&b, VDS_SIM_EV_SUSPEND, false), 1);
	ck_assert_int_eq(vdpastate_dev_get_stats(b.dev, &st0), 0);
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), VDPASTATE_DEV_RESUMED);
	ck_assert_int_eq(vdpastate_dev_get_stats(b.dev, &st1), 0);
	ck_assert_uint_eq(sim_count(&b, VDS_SIM_EV_RESUME, false), 1);
	ck_assert_uint_eq(sim_count(&b, VDS_SIM_EV_STATUS, true), 0);
	ck_assert_uint_eq(st1.restores, st0.restores);
	traffic(&b, 20);
	ck_assert_uint_eq(b.got, 50);
	vdpastate_blob_free(blob);
	box_free(&b);
	free(ram);
}
END_TEST

/*
 * RESUME offered but failing (the device refuses the call): resume falls
 * back to bringing the device up again, the queues go on all the same.
 */
START_TEST(resume_fails_restarts)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct box b;

	direct_source(&b, ram, 30);
	ck_assert_int_eq(vdpastate_dev_save(b.dev, blob), 0);
	/* The next transport call, the resume itself, fails. */
	ck_assert_int_eq(vdpastate_sim_fail_call(b.sim, 1, -EIO), 0);
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), VDPASTATE_DEV_RESTARTED);
	traffic(&b, 20);
	ck_assert_uint_eq(b.got, 50);
	vdpastate_blob_free(blob);
	box_free(&b);
	free(ram);
}
END_TEST

/*
 * A device without SUSPEND or RESUME (the forwarding transport offers no
 * backend features), queues shadowed: resume brings it up again.  The
 * device runs on its own thread: the handle waits for the answers to
 * the restored state's commands as for any device.
 */
START_TEST(resume_without_resume)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct vdpastate_blob *blob = vdpastate_blob_new();
	struct box b;
	unsigned int i;

	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, GSIZE);
	box_new_on(&b, ram, true, VDPASTATE_SIM_F_THREAD);
	guest_rings(&b, true);
	for (i = 0; i < NQ; i++)
		shadow_on(&b, i);
	ck_assert_int_eq(vdpastate_dev_start(b.dev, b.features), 0);
	post_rx(&b, 8);
	traffic(&b, 25);
	ck_assert_int_eq(vdpastate_dev_save(b.dev, blob), 0);
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), VDPASTATE_DEV_RESTARTED);
	traffic(&b, 25);
	ck_assert_uint_eq(b.got, 50);
	vdpastate_blob_free(blob);
	unshadow(&b);
	box_free(&b);
	free(ram);
}
END_TEST

START_TEST(bad_input)
{
	uint8_t *ram = aligned_alloc(4096, GSIZE);
	struct box b;

	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, GSIZE);
	box_new(&b, ram);
	ck_assert_int_eq(vdpastate_dev_set_svq(NULL, 0, NULL, -1, -1), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_set_svq(b.dev, 70000, NULL, -1, -1), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_switch(NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_switch(b.dev), -ENOENT);
	ck_assert_int_eq(vdpastate_dev_resume(NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_resume(b.dev), -ENOENT);
	shadow_on(&b, 0);
	ck_assert_int_eq(vdpastate_dev_set_svq(b.dev, 0, b.q[0].svq, -5, -1),
			 -EBADF);
	/* Nothing sent to the device by any of those. */
	{
		uint8_t st = 0xee;

		ck_assert_int_eq(vdpastate_transport_get_status(b.t, &st), 0);
		ck_assert_uint_eq(st, 0);
	}
	shadow_off(&b, 0);
	shadow_free(&b, 0);
	box_free(&b);
	free(ram);
}
END_TEST

Suite *devsvq_suite(void)
{
	Suite *s = suite_create("devsvq");
	TCase *tc = tcase_create("switch");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, switch_on_and_off);
	tcase_add_test(tc, save_while_shadowed);
	tcase_add_loop_test(tc, broken_queue, 0, 2);
	tcase_add_test(tc, switch_after_save);
	tcase_add_test(tc, save_without_suspend);
	tcase_add_test(tc, resume_shadowed);
	tcase_add_test(tc, resume_in_place);
	tcase_add_test(tc, resume_fails_restarts);
	tcase_add_test(tc, resume_without_resume);
	suite_add_tcase(s, tc);
	return s;
}
