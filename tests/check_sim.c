/* SPDX-License-Identifier: MIT */
/*
 * tests/check_sim.c - the simulated device driven the way a VMM drives a
 * vDPA device: a guest (the ring's driver half over guest memory), one
 * shadow virtqueue per queue, guest memory and shadow rings DMA-mapped
 * into the device, the CVQ in its own group and address space.  Checks
 * that frames are looped or dropped exactly as the device state says,
 * that every control command does to the device what
 * vdpastate_netstate_apply() does to a state, every injected fault, the
 * device model (IOTLB, status, features, vring bases, suspend), in
 * inline and thread mode.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "internal.h"
#include "ring.h"
#include "sim_int.h"
#include "suites.h"
#include "transport_conformance.h"
#include "tests_rand.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
#define GPA_BASE 0x100000ULL
#define GMEM (8ULL << 20)
#define QNUM 64
#define SLOT 2048
#define CVQ_SLOT 8192
#define MAXQ 9
#define ST_ALL                                                        \
	(VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER |      \
	 VDPASTATE_STATUS_FEATURES_OK | VDPASTATE_STATUS_DRIVER_OK)

/* The transport calls, through the public wrappers. */
#define TCALL(h, op, ...) vdpastate_transport_##op((h)->t, __VA_ARGS__)
#define TCALL0(h, op) vdpastate_transport_##op((h)->t)

static const uint8_t DEV_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

struct hq {
	struct vds_vdrv drv;
	uint64_t desc, avail, used; /* GPAs of the guest ring */
	uint64_t slot0;             /* GPA of the data slot of head 0 */
	uint32_t slot;              /* bytes per slot */
	struct vdpastate_svq *svq;
	int kick, call;             /* device-side eventfds (thread mode) */
};

struct h {
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	uint8_t *g;
	uint64_t g_iova, bump;
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	uint64_t features;
	unsigned int nvq, cvq, pairs;
	bool thread;
	struct hq q[MAXQ];
};

static uint8_t *host(struct h *h, uint64_t gpa)
{
	return h->g + (gpa - GPA_BASE);
}

static uint64_t galloc(struct h *h, uint64_t size)
{
	uint64_t at = (h->bump + 4095) & ~4095ULL;

	ck_assert_uint_le(at + size, GPA_BASE + GMEM);
	h->bump = at + size;
	return at;
}

static void setup_queue(struct h *h, unsigned int i)
{
	struct hq *q = &h->q[i];
	bool ev = h->features & RB(EVENT_IDX);
	uint32_t asid = i == h->cvq ? 1 : 0;
	VDPASTATE_OPTS(vdpastate_svq_opts, o, .guest_features = h->features,
		       .device_features = h->features);
	struct vdpastate_svq_shadow sh = { .sz = sizeof(sh) };

	q->desc = galloc(h, vdpastate_vring_desc_size(QNUM));
	q->avail = galloc(h, vdpastate_vring_avail_size(QNUM, ev));
	q->used = galloc(h, vdpastate_vring_used_size(QNUM, ev));
	q->slot = i == h->cvq ? CVQ_SLOT : SLOT;
	q->slot0 = galloc(h, (uint64_t)QNUM * q->slot);
	ck_assert_int_eq(vds_vdrv_init(&q->drv, QNUM, h->features, host(h, q->desc),
				       host(h, q->avail), host(h, q->used)), 0);
	vds_vdrv_want_calls(&q->drv, true);
	q->svq = vdpastate_svq_new(QNUM, h->mem, h->iova, &o);
	ck_assert_ptr_nonnull(q->svq);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q->svq, q->desc, q->avail,
						      q->used), 0);
	ck_assert_int_eq(vdpastate_svq_get_shadow(q->svq, &sh), 0);
	ck_assert_int_eq(vdpastate_transport_map_svq(h->t, asid, q->svq), 0);
	ck_assert_int_eq(TCALL(h, set_vring_num, i, (uint32_t)sh.num), 0);
	ck_assert_int_eq(TCALL(h, set_vring_addr, i, sh.desc_iova, sh.avail_iova,
			       sh.used_iova), 0);
	ck_assert_int_eq(TCALL(h, set_vring_base, i, 0), 0);
	q->kick = q->call = -1;
	if (h->thread) {
		q->kick = eventfd(0, EFD_NONBLOCK);
		q->call = eventfd(0, EFD_NONBLOCK);
		ck_assert_int_ge(q->kick, 0);
		ck_assert_int_ge(q->call, 0);
		ck_assert_int_eq(vdpastate_svq_set_fds(q->svq, -1, -1, q->kick,
						       q->call), 0);
		ck_assert_int_eq(TCALL(h, set_vring_kick, i, q->kick), 0);
		ck_assert_int_eq(TCALL(h, set_vring_call, i, q->call), 0);
	}
	ck_assert_int_ge(vdpastate_svq_start(q->svq), 0);
}

/*
 * A device with these options, features = offered & want negotiated,
 * every queue set up behind an SVQ and enabled, DRIVER_OK.
 */
static struct h *h_new_opts(struct vdpastate_sim_opts *o, uint64_t want)
{
	struct h *h = calloc(1, sizeof(*h));
	uint64_t offered;
	uint32_t n, i;
	uint8_t st;

	ck_assert_ptr_nonnull(h);
	h->thread = o->flags & VDPASTATE_SIM_F_THREAD;
	h->g = aligned_alloc(4096, GMEM);
	ck_assert_ptr_nonnull(h->g);
	memset(h->g, 0, GMEM);
	h->mem = vdpastate_mem_new();
	h->iova = vdpastate_iova_new(0x1000, (1ULL << 48) - 1);
	ck_assert_int_eq(vdpastate_mem_add(h->mem, GPA_BASE, GMEM, h->g, 0), 0);
	ck_assert_int_eq(vdpastate_iova_map(h->iova, VDPASTATE_IOVA_GPA, GPA_BASE,
					    GMEM, NULL, &h->g_iova), 0);
	h->bump = GPA_BASE;
	h->t = vdpastate_sim_new(o);
	ck_assert_msg(h->t != NULL, "%s", vdpastate_last_error());
	h->sim = vdpastate_sim_from_transport(h->t);
	ck_assert_ptr_nonnull(h->sim);
	ck_assert_str_eq(vdpastate_transport_name(h->t), "sim");

	ck_assert_int_eq(TCALL(h, set_status, 0), 0);
	ck_assert_int_eq(TCALL(h, get_device_features, &offered), 0);
	h->features = offered & want;
	ck_assert_int_eq(TCALL(h, set_status, VDPASTATE_STATUS_ACKNOWLEDGE |
					      VDPASTATE_STATUS_DRIVER), 0);
	ck_assert_int_eq(TCALL(h, set_driver_features, h->features), 0);
	ck_assert_int_eq(TCALL(h, set_status, VDPASTATE_STATUS_ACKNOWLEDGE |
					      VDPASTATE_STATUS_DRIVER |
					      VDPASTATE_STATUS_FEATURES_OK), 0);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_int_ne(st & VDPASTATE_STATUS_FEATURES_OK, 0);
	ck_assert_int_eq(TCALL(h, get_vq_count, &n), 0);
	ck_assert_uint_le(n, MAXQ);
	h->nvq = n;
	h->cvq = (h->features & FB(CTRL_VQ)) ? n - 1 : n;
	h->pairs = h->cvq / 2;
	/* The CVQ alone in address space 1, as the restore sequence puts it. */
	ck_assert_int_eq(TCALL(h, set_group_asid, 1, 1), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 0, h->g_iova, GMEM, h->g,
			       VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 1, h->g_iova, GMEM, h->g,
			       VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE), 0);
	for (i = 0; i < n; i++) {
		setup_queue(h, i);
		ck_assert_int_eq(TCALL(h, set_vring_enable, i, true), 0);
	}
	ck_assert_int_eq(TCALL(h, set_status, ST_ALL), 0);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_uint_eq(st, ST_ALL);
	return h;
}

static struct h *h_new(uint16_t pairs, bool thread)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = pairs,
		       .flags = thread ? VDPASTATE_SIM_F_THREAD : 0);

	memcpy(o.mac, DEV_MAC, 6);
	return h_new_opts(&o, ~0ULL);
}

static void h_free(struct h *h)
{
	unsigned int i;

	/* The device goes first: its thread must not touch freed rings. */
	vdpastate_transport_free(h->t);
	for (i = 0; i < h->nvq; i++) {
		vdpastate_svq_free(h->q[i].svq);
		vds_vdrv_fini(&h->q[i].drv);
		if (h->q[i].kick >= 0)
			close(h->q[i].kick);
		if (h->q[i].call >= 0)
			close(h->q[i].call);
	}
	vdpastate_iova_free(h->iova);
	vdpastate_mem_free(h->mem);
	free(h->g);
	free(h);
}

/* Used entries the guest has not reaped yet on queue i. */
static unsigned int pending_used(struct h *h, unsigned int i)
{
	struct hq *q = &h->q[i];

	return (uint16_t)(__atomic_load_n(&q->drv.used->idx, __ATOMIC_ACQUIRE) -
			  q->drv.last_used);
}

/* One round: every SVQ relays both ways, the inline device runs. */
static void h_round(struct h *h)
{
	unsigned int i;

	for (i = 0; i < h->nvq; i++)
		ck_assert_int_ge(vdpastate_svq_poll(h->q[i].svq), 0);
	if (!h->thread)
		ck_assert_int_ge(vdpastate_sim_poll(h->sim), 0);
	for (i = 0; i < h->nvq; i++)
		ck_assert_int_ge(vdpastate_svq_poll(h->q[i].svq), 0);
}

/* Run until queue i has want used entries waiting; false on timeout. */
static bool h_wait(struct h *h, unsigned int i, unsigned int want)
{
	unsigned int k, rounds = h->thread ? 4000 : 4;

	for (k = 0; k < rounds; k++) {
		h_round(h);
		if (pending_used(h, i) >= want) {
			h_round(h); /* what the same pass produced elsewhere */
			return true;
		}
		if (h->thread)
			usleep(500);
	}
	return false;
}

static void guest_publish(struct h *h, unsigned int i)
{
	vds_vdrv_publish(&h->q[i].drv);
	ck_assert_int_ge(vdpastate_svq_handle_guest_kick(h->q[i].svq), 0);
}

/* Post n receive buffers on pair p. */
static void post_rx(struct h *h, unsigned int p, unsigned int n)
{
	struct hq *q = &h->q[2 * p];

	while (n--) {
		struct vds_seg s = { 0 };

		s.addr = s.xaddr = q->slot0 + (uint64_t)q->drv.free_head * q->slot;
		s.len = q->slot;
		s.flags = VDPASTATE_VRING_DESC_F_WRITE;
		ck_assert_int_ge(vds_vdrv_add(&q->drv, &s, 1), 0);
	}
	guest_publish(h, 2 * p);
}

static size_t net_hdr_len(const struct h *h)
{
	return (h->features & FB(HASH_REPORT)) ? 20 : 12;
}

/* Queue one frame for transmission on pair p (published, not run). */
static void send_frame(struct h *h, unsigned int p, const uint8_t *f, size_t len)
{
	struct hq *q = &h->q[2 * p + 1];
	struct vds_seg s = { 0 };
	size_t hl = net_hdr_len(h);

	s.addr = s.xaddr = q->slot0 + (uint64_t)q->drv.free_head * q->slot;
	s.len = (uint32_t)(hl + len);
	ck_assert_uint_le(s.len, q->slot);
	memset(host(h, s.addr), 0, hl);
	memcpy(host(h, s.addr) + hl, f, len);
	ck_assert_int_ge(vds_vdrv_add(&q->drv, &s, 1), 0);
	guest_publish(h, 2 * p + 1);
}

/* Reap every used entry of queue i; returns how many. */
static unsigned int reap_all(struct h *h, unsigned int i)
{
	unsigned int n = 0;
	uint16_t id;
	uint32_t len;

	while (vds_vdrv_get_used(&h->q[i].drv, &id, &len) == 1) {
		vds_vdrv_free(&h->q[i].drv, id);
		n++;
	}
	return n;
}

/*
 * Send a frame on pair p and say whether it came back on p's receive
 * queue (checking header and bytes when it did).
 */
static bool loop_frame(struct h *h, unsigned int p, const uint8_t *f, size_t len)
{
	struct hq *rq = &h->q[2 * p];
	size_t hl = net_hdr_len(h);
	uint16_t id;
	uint32_t ulen;
	int r;

	send_frame(h, p, f, len);
	ck_assert_msg(h_wait(h, 2 * p + 1, 1), "TX not completed");
	ck_assert_uint_eq(reap_all(h, 2 * p + 1), 1);
	r = vds_vdrv_get_used(&rq->drv, &id, &ulen);
	ck_assert_int_ge(r, 0);
	if (r == 0)
		return false;
	{
		const uint8_t *b = host(h, rq->slot0 + (uint64_t)id * rq->slot);
		uint8_t zero[20] = { 0 };

		ck_assert_uint_eq(ulen, hl + len);
		ck_assert_int_eq(memcmp(b, zero, 10), 0);
		ck_assert_uint_eq(b[10] | b[11] << 8, 1); /* num_buffers */
		ck_assert_int_eq(memcmp(b + hl, f, len), 0);
	}
	vds_vdrv_free(&rq->drv, id);
	/* Give the buffer back so the next frame has one. */
	post_rx(h, p, 1);
	return true;
}

/*
 * Post a control command on the guest's CVQ and run the device.  Returns
 * the ack (0 OK, 1 ERR), or -1 if the device did not answer.  result
 * receives res_len bytes after the ack.
 */
static int cvq_post(struct h *h, const struct vdpastate_cvq_cmd *c, bool wait,
		    uint8_t *result, size_t res_len)
{
	struct hq *q = &h->q[h->cvq];
	struct vds_seg s[2] = { { 0 }, { 0 } };
	uint64_t slot = q->slot0 + (uint64_t)q->drv.free_head * q->slot;
	size_t wire = vdpastate_cvq_cmd_wire_size(c);
	uint8_t *ack = host(h, slot + q->slot - 64);
	uint16_t id;
	uint32_t len;
	int ret;

	ck_assert_uint_le(wire, q->slot - 64);
	ck_assert_int_eq(vdpastate_cvq_cmd_encode(c, host(h, slot), wire), (int)wire);
	s[0].addr = s[0].xaddr = slot;
	s[0].len = (uint32_t)wire;
	s[1].addr = s[1].xaddr = slot + q->slot - 64;
	s[1].len = (uint32_t)(1 + res_len);
	s[1].flags = VDPASTATE_VRING_DESC_F_WRITE;
	memset(ack, 0xaa, 1 + res_len);
	ck_assert_int_ge(vds_vdrv_add(&q->drv, s, 2), 0);
	guest_publish(h, h->cvq);
	if (!wait)
		return -1;
	if (!h_wait(h, h->cvq, 1))
		return -1;
	ck_assert_int_eq(vds_vdrv_get_used(&q->drv, &id, &len), 1);
	ck_assert_uint_ge(len, 1);
	ret = ack[0];
	if (result)
		memcpy(result, ack + 1, res_len);
	vds_vdrv_free(&q->drv, id);
	return ret;
}

static int cvq(struct h *h, struct vdpastate_cvq_cmd *c)
{
	int r;

	ck_assert_ptr_nonnull(c);
	r = cvq_post(h, c, true, NULL, 0);
	vdpastate_cvq_cmd_free(c);
	return r;
}

static struct vdpastate_netstate *sim_state(struct h *h)
{
	struct vdpastate_netstate *ns = vdpastate_sim_netstate(h->sim);

	ck_assert_ptr_nonnull(ns);
	return ns;
}

static struct vdpastate_sim_stats stats(struct h *h)
{
	struct vdpastate_sim_stats st = { .sz = sizeof(st) };

	ck_assert_int_eq(vdpastate_sim_get_stats(h->sim, &st), 0);
	return st;
}

/* An Ethernet frame to dst, optionally 802.1Q-tagged with vid (-1: none). */
static size_t mkframe(uint8_t *f, const uint8_t *dst, int vid, uint8_t seed)
{
	static const uint8_t src[6] = { 0x02, 0x99, 0, 0, 0, 7 };
	size_t n = 0, i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	n = 12;
	if (vid >= 0) {
		f[n++] = 0x81;
		f[n++] = 0x00;
		f[n++] = (uint8_t)(vid >> 8);
		f[n++] = (uint8_t)vid;
	}
	f[n++] = 0x08;
	f[n++] = 0x00;
	for (i = 0; i < 60; i++)
		f[n++] = (uint8_t)(seed + i * 7);
	return n;
}

/* ------------------------------------------------------------ filtering */

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t OTHER[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t UNI_T[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t MC_T[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t MC_O[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02 };

enum { D_DEV, D_OTHER, D_UNI_T, D_BCAST, D_MC_T, D_MC_O, D_N };
static const uint8_t *const DSTS[D_N] = { DEV_MAC, OTHER, UNI_T, BCAST, MC_T,
					  MC_O };

struct filter_case {
	const char *name;
	uint32_t rx;       /* VDPASTATE_NETSTATE_RX_* to turn on (PROMISC off otherwise) */
	bool table;        /* install {UNI_T} / {MC_T} */
	int vlan_add;      /* VLAN to add, -1 none */
	int vid;           /* frames tagged with vid, -1 untagged */
	bool accept[D_N];  /* expected per destination */
};

static const struct filter_case filter_cases[] = {
	{ "default filter", 0, false, -1, -1,
	  { true, false, false, true, false, false } },
	{ "promisc", VDPASTATE_NETSTATE_RX_PROMISC, false, -1, -1,
	  { true, true, true, true, true, true } },
	{ "mac table", 0, true, -1, -1, { true, false, true, true, true, false } },
	{ "allmulti", VDPASTATE_NETSTATE_RX_ALLMULTI, false, -1, -1,
	  { true, false, false, true, true, true } },
	{ "alluni", VDPASTATE_NETSTATE_RX_ALLUNI, false, -1, -1,
	  { true, true, true, true, false, false } },
	{ "nobcast", VDPASTATE_NETSTATE_RX_NOBCAST, false, -1, -1,
	  { true, false, false, false, false, false } },
	{ "nomulti beats allmulti, not broadcast",
	  VDPASTATE_NETSTATE_RX_NOMULTI | VDPASTATE_NETSTATE_RX_ALLMULTI, true,
	  -1, -1, { true, false, true, true, false, false } },
	{ "nouni drops all unicast",
	  VDPASTATE_NETSTATE_RX_NOUNI | VDPASTATE_NETSTATE_RX_ALLUNI, true, -1,
	  -1, { false, false, false, true, true, false } },
	{ "tagged, VLAN not in filter", 0, false, -1, 5,
	  { false, false, false, false, false, false } },
	{ "tagged, VLAN in filter", 0, true, 5, 5,
	  { true, false, true, true, true, false } },
	{ "tagged, other VLAN in filter", 0, false, 6, 5,
	  { false, false, false, false, false, false } },
	{ "untagged frames ignore the VLAN filter", 0, false, 6, -1,
	  { true, false, false, true, false, false } },
	{ "promisc ignores the VLAN filter", VDPASTATE_NETSTATE_RX_PROMISC,
	  false, -1, 9, { true, true, true, true, true, true } },
};

/* The six RX mode commands, by VDPASTATE_CVQ_RX_* number. */
static struct vdpastate_cvq_cmd *rx_cmd(unsigned int which, bool on)
{
	switch (which) {
	case VDPASTATE_CVQ_RX_PROMISC:
		return vdpastate_cvq_cmd_rx_promisc(on);
	case VDPASTATE_CVQ_RX_ALLMULTI:
		return vdpastate_cvq_cmd_rx_allmulti(on);
	case VDPASTATE_CVQ_RX_ALLUNI:
		return vdpastate_cvq_cmd_rx_alluni(on);
	case VDPASTATE_CVQ_RX_NOMULTI:
		return vdpastate_cvq_cmd_rx_nomulti(on);
	case VDPASTATE_CVQ_RX_NOUNI:
		return vdpastate_cvq_cmd_rx_nouni(on);
	default:
		return vdpastate_cvq_cmd_rx_nobcast(on);
	}
}

static void run_filter_case(const struct filter_case *fc, bool thread)
{
	struct h *h = h_new(1, thread);
	uint8_t f[128];
	unsigned int d, bit, delivered = 0, dropped = 0;
	struct vdpastate_sim_stats st;
	struct vdpastate_netstate *ns;

	post_rx(h, 0, 8);
	for (bit = 0; bit < 6; bit++)
		ck_assert_int_eq(cvq(h, rx_cmd(bit, (fc->rx >> bit) & 1)), 0);
	if (fc->table)
		ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mac_table_set(UNI_T, 1,
									MC_T, 1)),
				 0);
	if (fc->vlan_add >= 0)
		ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(
						(uint16_t)fc->vlan_add)),
				 0);
	ns = sim_state(h);
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(ns), fc->rx);
	vdpastate_netstate_free(ns);
	for (d = 0; d < D_N; d++) {
		bool got;
		size_t n = mkframe(f, DSTS[d], fc->vid, (uint8_t)d);

		got = loop_frame(h, 0, f, n);
		ck_assert_msg(got == fc->accept[d],
			      "%s: destination %u: %s, expected %s", fc->name, d,
			      got ? "delivered" : "dropped",
			      fc->accept[d] ? "delivered" : "dropped");
		if (got)
			delivered++;
		else
			dropped++;
	}
	st = stats(h);
	ck_assert_uint_eq(st.rx_frames, delivered);
	ck_assert_uint_eq(st.dropped_filter, dropped);
	ck_assert_uint_eq(st.tx_frames, D_N);
	h_free(h);
}

START_TEST(filter_table)
{
	run_filter_case(&filter_cases[_i], false);
}
END_TEST

START_TEST(filter_table_thread)
{
	run_filter_case(&filter_cases[_i], true);
}
END_TEST

/* MAC_ADDR_SET moves the unicast filter; the old MAC is then foreign. */
START_TEST(mac_addr_set_moves_filter)
{
	struct h *h = h_new(1, false);
	uint8_t f[128];

	post_rx(h, 0, 8);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(false)), 0);
	ck_assert(loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1)));
	ck_assert(!loop_frame(h, 0, f, mkframe(f, OTHER, -1, 2)));
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mac_addr_set(OTHER)), 0);
	ck_assert(!loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 3)));
	ck_assert(loop_frame(h, 0, f, mkframe(f, OTHER, -1, 4)));
	h_free(h);
}
END_TEST

/* A table longer than the device's 64 entries takes the whole class. */
START_TEST(mac_table_overflow)
{
	struct h *h = h_new(1, false);
	uint8_t uni[6 * 65], f[128];
	unsigned int i;

	for (i = 0; i < 65; i++) {
		memcpy(uni + 6 * i, UNI_T, 6);
		uni[6 * i + 4] = (uint8_t)(0x40 + i);
	}
	post_rx(h, 0, 8);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(false)), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mac_table_set(uni, 64, NULL, 0)),
			 0);
	ck_assert(!loop_frame(h, 0, f, mkframe(f, OTHER, -1, 1)));
	ck_assert(loop_frame(h, 0, f, mkframe(f, uni + 6 * 63, -1, 2)));
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mac_table_set(uni, 65, NULL, 0)),
			 0);
	ck_assert(loop_frame(h, 0, f, mkframe(f, OTHER, -1, 3)));
	ck_assert(!loop_frame(h, 0, f, mkframe(f, MC_O, -1, 4)));
	h_free(h);
}
END_TEST

/* VLAN_DEL takes a VLAN out of the filter again. */
START_TEST(vlan_add_del)
{
	struct h *h = h_new(1, false);
	uint8_t f[128];

	post_rx(h, 0, 8);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(false)), 0);
	ck_assert(!loop_frame(h, 0, f, mkframe(f, DEV_MAC, 4095, 1)));
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(4095)), 0);
	ck_assert(loop_frame(h, 0, f, mkframe(f, DEV_MAC, 4095, 2)));
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_del(4095)), 0);
	ck_assert(!loop_frame(h, 0, f, mkframe(f, DEV_MAC, 4095, 3)));
	h_free(h);
}
END_TEST

/* Without a receive buffer a frame is counted as dropped, not queued. */
START_TEST(no_rx_buffer)
{
	struct h *h = h_new(1, false);
	uint8_t f[128];
	struct vdpastate_sim_stats st;

	ck_assert(!loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1)));
	st = stats(h);
	ck_assert_uint_eq(st.dropped_no_buffer, 1);
	ck_assert_uint_eq(st.dropped_filter, 0);
	post_rx(h, 0, 1);
	ck_assert(loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 2)));
	/* A runt frame is invalid. */
	send_frame(h, 0, f, 10);
	ck_assert(h_wait(h, 1, 1));
	reap_all(h, 1);
	ck_assert_uint_eq(stats(h).dropped_invalid, 1);
	h_free(h);
}
END_TEST

/* Frames loop on their own pair; pairs beyond VQ_PAIRS_SET do not run. */
START_TEST(multiqueue_same_pair)
{
	struct h *h = h_new(4, false);
	uint8_t f[128];
	unsigned int p;

	ck_assert_uint_eq(h->pairs, 4);
	for (p = 0; p < 4; p++)
		post_rx(h, p, 4);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(4)), 0);
	for (p = 0; p < 4; p++) {
		unsigned int o;

		ck_assert(loop_frame(h, p, f, mkframe(f, DEV_MAC, -1, (uint8_t)p)));
		for (o = 0; o < 4; o++)
			ck_assert_uint_eq(pending_used(h, 2 * o), 0);
	}
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(2)), 0);
	send_frame(h, 3, f, mkframe(f, DEV_MAC, -1, 9));
	ck_assert(!h_wait(h, 7, 1)); /* pair 3 is not in use */
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(4)), 0);
	ck_assert(h_wait(h, 7, 1));
	ck_assert_uint_eq(reap_all(h, 7), 1);
	ck_assert(h_wait(h, 6, 1));
	h_free(h);
}
END_TEST

/* ------------------------------------------------------------ CVQ vs netstate */

/* Random valid commands: the device ends where netstate_apply() does. */
START_TEST(cvq_matches_netstate_apply)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = 4,
		       .device_features = VDS_TEST_FEATURES | RB(VERSION_1) |
					  RB(EVENT_IDX) | RB(INDIRECT_DESC),
		       .cvq_latency_ns = 0);
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *model, *dev;
	struct vds_rand r = vds_rand_seed(42);
	unsigned long n = vds_test_cases(10000) / 10 + 20, i;
	struct h *h;

	vds_test_config(&c, 0, 4);
	memcpy(o.mac, c.mac, 6);
	o.rss_max_indirection_table_length = c.rss_max_indirection_table_length;
	o.rss_max_key_size = c.rss_max_key_size;
	o.supported_hash_types = c.supported_hash_types;
	h = h_new_opts(&o, ~0ULL);
	model = sim_state(h);
	ck_assert_uint_eq(vdpastate_netstate_features(model), h->features);
	for (i = 0; i < n; i++) {
		struct vdpastate_cvq_cmd *cmd = vds_test_rand_cmd(&r, model);
		int want, ack;

		ck_assert_ptr_nonnull(cmd);
		if (vdpastate_cvq_cmd_wire_size(cmd) > CVQ_SLOT - 64) {
			vdpastate_cvq_cmd_free(cmd);
			continue;
		}
		want = vdpastate_netstate_apply(model, cmd) ? 1 : 0;
		if (vdpastate_cvq_cmd_class(cmd) == VDPASTATE_CVQ_STATS)
			want = 1; /* STATS not negotiated here */
		ack = cvq_post(h, cmd, true, NULL,
			       vdpastate_cvq_cmd_class(cmd) == VDPASTATE_CVQ_NOTF_COAL
				       ? 8
				       : 0);
		ck_assert_msg(ack == want, "case %lu: %s acked %d, apply said %d", i,
			      vdpastate_cvq_cmd_name(cmd), ack, want);
		vdpastate_cvq_cmd_free(cmd);
		if (i % 16 == 0 || i == n - 1) {
			dev = sim_state(h);
			ck_assert_msg(vdpastate_netstate_equal(dev, model),
				      "case %lu: device state differs from the model",
				      i);
			vdpastate_netstate_free(dev);
		}
	}
	vdpastate_netstate_free(model);
	h_free(h);
}
END_TEST

/* Queries answer per spec and change nothing. */
START_TEST(cvq_queries)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = 2,
		       .device_features = VDS_TEST_FEATURES | RB(VERSION_1) |
					  FB(DEVICE_STATS));
	uint8_t res[8];
	uint16_t vq = 1;
	uint64_t types = 1;
	struct vdpastate_cvq_cmd *c;
	struct h *h = h_new_opts(&o, ~0ULL);

	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(2)), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_notf_coal_vq_set(3, 17, 99)), 0);
	c = vdpastate_cvq_cmd_notf_coal_vq_get(3);
	ck_assert_int_eq(cvq_post(h, c, true, res, 8), 0);
	vdpastate_cvq_cmd_free(c);
	ck_assert_uint_eq(res[0] | res[1] << 8, 17);
	ck_assert_uint_eq(res[4] | res[5] << 8, 99);
	c = vdpastate_cvq_cmd_stats_query();
	memset(res, 0xff, sizeof(res));
	ck_assert_int_eq(cvq_post(h, c, true, res, 8), 0);
	vdpastate_cvq_cmd_free(c);
	ck_assert_uint_eq(res[0] | res[7], 0); /* no type supported */
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_stats_get(&vq, &types, 1)), 1);
	/* A result that does not fit: ERR. */
	c = vdpastate_cvq_cmd_notf_coal_vq_get(3);
	ck_assert_int_eq(cvq_post(h, c, true, res, 4), 1);
	vdpastate_cvq_cmd_free(c);
	h_free(h);
}
END_TEST

/*
 * The spec: "The device MUST respond to VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET
 * and VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET commands with VIRTIO_NET_ERR if
 * the designated virtqueue is not an enabled transmit or receive
 * virtqueue."  Enabled: within the queue pairs MQ has turned on.
 */
START_TEST(cvq_vq_get_not_enabled)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = 2,
		       .device_features = VDS_TEST_FEATURES | RB(VERSION_1));
	uint8_t res[8];
	struct vdpastate_cvq_cmd *c;
	struct h *h = h_new_opts(&o, ~0ULL);

	/* After reset one pair is on: vq 0 and 1 answer, 2 and 3 do not. */
	c = vdpastate_cvq_cmd_notf_coal_vq_get(1);
	ck_assert_int_eq(cvq_post(h, c, true, res, 8), 0);
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_notf_coal_vq_get(2);
	memset(res, 0xaa, sizeof(res));
	ck_assert_int_eq(cvq_post(h, c, true, res, 8), 1);
	vdpastate_cvq_cmd_free(c);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(2)), 0);
	c = vdpastate_cvq_cmd_notf_coal_vq_get(3);
	ck_assert_int_eq(cvq_post(h, c, true, res, 8), 0);
	vdpastate_cvq_cmd_free(c);
	h_free(h);
}
END_TEST

/* Bytes the decoder refuses are answered ERR and change nothing. */
START_TEST(cvq_bad_command)
{
	struct h *h = h_new(1, false);
	struct vdpastate_netstate *before = sim_state(h), *after;
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(7);
	struct hq *q = &h->q[h->cvq];
	struct vds_seg s[2] = { { 0 }, { 0 } };
	uint64_t slot = q->slot0 + (uint64_t)q->drv.free_head * q->slot;
	uint16_t id;
	uint32_t len;

	/* VLAN_ADD with one byte of its id missing. */
	vdpastate_cvq_cmd_encode(c, host(h, slot), 16);
	vdpastate_cvq_cmd_free(c);
	s[0].addr = s[0].xaddr = slot;
	s[0].len = 3;
	s[1].addr = s[1].xaddr = slot + 64;
	s[1].len = 1;
	s[1].flags = VDPASTATE_VRING_DESC_F_WRITE;
	ck_assert_int_ge(vds_vdrv_add(&q->drv, s, 2), 0);
	guest_publish(h, h->cvq);
	ck_assert(h_wait(h, h->cvq, 1));
	ck_assert_int_eq(vds_vdrv_get_used(&q->drv, &id, &len), 1);
	vds_vdrv_free(&q->drv, id);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(*host(h, slot + 64), 1);
	after = sim_state(h);
	ck_assert(vdpastate_netstate_equal(before, after));
	vdpastate_netstate_free(before);
	vdpastate_netstate_free(after);
	ck_assert_uint_eq(stats(h).cvq_err, 1);
	h_free(h);
}
END_TEST

/* ------------------------------------------------------------ injection */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

START_TEST(inject_latency)
{
	struct h *h = h_new(1, _i);
	uint64_t t0, t;
	unsigned int i;

	t0 = now_ns();
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_allmulti(i & 1)), 0);
	t = now_ns() - t0;
	ck_assert_int_eq(vdpastate_sim_cvq_latency(h->sim, 20000000), 0);
	t0 = now_ns();
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_allmulti(i & 1)), 0);
	ck_assert_uint_ge(now_ns() - t0, 3 * 20000000ULL);
	ck_assert_uint_lt(t, 3 * 20000000ULL);
	h_free(h);
}
END_TEST

/* The Nth call fails with the chosen error and changes nothing. */
START_TEST(inject_fail_nth_call)
{
	struct h *h = h_new(1, false);
	struct vdpastate_sim_stats st0 = stats(h), st;
	uint32_t base;
	uint8_t status;

	ck_assert_int_eq(vdpastate_sim_fail_call(h->sim, 3, -EIO), 0);
	ck_assert_int_eq(TCALL0(h, suspend), 0);                    /* 1 */
	ck_assert_int_eq(TCALL(h, set_vring_base, 0, 77), 0);       /* 2 */
	ck_assert_int_eq(TCALL(h, set_vring_base, 0, 99), -EIO);    /* 3 */
	ck_assert(strstr(vdpastate_last_error(), "set_vring_base") != NULL);
	ck_assert_int_eq(TCALL(h, get_vring_base, 0, &base), 0);   /* 4 */
	ck_assert_uint_eq(base, 77);
	ck_assert_int_eq(TCALL(h, set_vring_base, 0, 0), 0);
	ck_assert_int_eq(TCALL0(h, resume), 0);
	/* set_status failing leaves the status as it was. */
	ck_assert_int_eq(vdpastate_sim_fail_call(h->sim, 1, -ENODEV), 0);
	ck_assert_int_eq(TCALL(h, set_status, 0), -ENODEV);
	ck_assert_int_eq(TCALL(h, get_status, &status), 0);
	ck_assert_uint_eq(status, ST_ALL);
	/* Disarmed: nothing fails any more. */
	ck_assert_int_eq(vdpastate_sim_fail_call(h->sim, 2, -EIO), 0);
	ck_assert_int_eq(vdpastate_sim_fail_call(h->sim, 0, 0), 0);
	ck_assert_int_eq(TCALL(h, get_status, &status), 0);
	ck_assert_int_eq(TCALL(h, get_status, &status), 0);
	st = stats(h);
	ck_assert_uint_eq(st.calls_failed - st0.calls_failed, 2);
	ck_assert_uint_eq(st.calls - st0.calls, 10);
	ck_assert_int_eq(vdpastate_sim_fail_call(h->sim, 1, 5), -EINVAL);
	h_free(h);
}
END_TEST

/* ERR for the chosen command only; the others still apply. */
START_TEST(inject_cvq_err)
{
	struct h *h = h_new(1, _i);
	struct vdpastate_netstate *ns;

	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, true, VDPASTATE_CVQ_VLAN,
					       VDPASTATE_CVQ_VLAN_ADD), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(10)), 1);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_del(10)), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(false)), 0);
	ns = sim_state(h);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 10), 0);
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(ns), 0);
	vdpastate_netstate_free(ns);
	/* Any command of a class. */
	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, true, VDPASTATE_CVQ_RX,
					       VDPASTATE_SIM_ANY), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_nobcast(true)), 1);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(10)), 0);
	/* Any command at all. */
	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, true, VDPASTATE_SIM_ANY,
					       VDPASTATE_SIM_ANY), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mac_addr_set(OTHER)), 1);
	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, false, 0, 0), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_nobcast(true)), 0);
	ns = sim_state(h);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 10), 1);
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(ns),
			  VDPASTATE_NETSTATE_RX_NOBCAST);
	vdpastate_netstate_free(ns);
	ck_assert_uint_eq(stats(h).cvq_err, 3);
	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, true, 256, 0), -EINVAL);
	ck_assert_int_eq(vdpastate_sim_cvq_err(h->sim, true, 0, -2), -EINVAL);
	h_free(h);
}
END_TEST

/* A hung CVQ leaves the command unread; releasing it answers. */
START_TEST(inject_cvq_hang)
{
	struct h *h = h_new(1, _i);
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(3);
	struct hq *q = &h->q[h->cvq];
	uint16_t heads[4];
	uint32_t base;
	uint16_t id;
	uint32_t len;
	struct vdpastate_netstate *ns;

	ck_assert_int_eq(vdpastate_sim_cvq_hang(h->sim, true), 0);
	cvq_post(h, c, false, NULL, 0);
	vdpastate_cvq_cmd_free(c);
	ck_assert(!h_wait(h, h->cvq, 1));
	ck_assert_int_eq(vdpastate_svq_inflight(q->svq, heads, 4), 1);
	ck_assert_int_eq(TCALL(h, get_vring_base, h->cvq, &base), 0);
	ck_assert_uint_eq(base, 0); /* not even read */
	ns = sim_state(h);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 3), 0);
	vdpastate_netstate_free(ns);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(h->sim, false), 0);
	ck_assert(h_wait(h, h->cvq, 1));
	ck_assert_int_eq(vds_vdrv_get_used(&q->drv, &id, &len), 1);
	vds_vdrv_free(&q->drv, id);
	ns = sim_state(h);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 3), 1);
	vdpastate_netstate_free(ns);
	h_free(h);
}
END_TEST

/* ------------------------------------------------------------ device model */

START_TEST(suspend_resume_vring_base)
{
	struct h *h = h_new(1, _i);
	uint8_t f[128];
	uint32_t base, base2;
	unsigned int k;

	post_rx(h, 0, 8);
	ck_assert(loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1)));
	ck_assert_int_eq(TCALL0(h, suspend), 0);
	/* Kicks while suspended are not processed. */
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 2));
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 3));
	ck_assert(!h_wait(h, 1, 1));
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base), 0);
	ck_assert_uint_eq(base, 1); /* one frame taken before the suspend */
	for (k = 0; k < 3; k++)
		h_round(h);
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base2), 0);
	ck_assert_uint_eq(base2, base);
	/* Vring layout may change while suspended, not while running. */
	ck_assert_int_eq(TCALL(h, set_vring_base, 1, base), 0);
	ck_assert_int_eq(TCALL0(h, resume), 0);
	ck_assert_int_eq(TCALL(h, set_vring_base, 1, base), -EBUSY);
	ck_assert(h_wait(h, 1, 2));
	ck_assert_uint_eq(reap_all(h, 1), 2);
	ck_assert(h_wait(h, 0, 2));
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base), 0);
	ck_assert_uint_eq(base, 3);
	h_free(h);
}
END_TEST

/* A base set on a queue before it runs is where it starts. */
START_TEST(vring_base_roundtrip)
{
	struct h *h = h_new(1, false);
	uint32_t b;
	unsigned int i;

	ck_assert_int_eq(TCALL(h, set_status, 0), 0);
	for (i = 0; i < h->nvq; i++) {
		ck_assert_int_eq(TCALL(h, set_vring_base, i, 1000 + i), 0);
		ck_assert_int_eq(TCALL(h, get_vring_base, i, &b), 0);
		ck_assert_uint_eq(b, 1000 + i);
	}
	ck_assert_int_eq(TCALL(h, set_vring_base, 0, 65536), -EINVAL);
	ck_assert_int_eq(TCALL(h, get_vring_base, h->nvq, &b), -EINVAL);
	/* Reset forgets bases. */
	ck_assert_int_eq(TCALL(h, set_status, 0), 0);
	ck_assert_int_eq(TCALL(h, get_vring_base, 0, &b), 0);
	ck_assert_uint_eq(b, 0);
	h_free(h);
}
END_TEST

/*
 * The base of a running queue is where it stood when read, and the device
 * goes on at once, as vdpa_sim's worker and hardware do: the value is
 * stale by the time the caller has it.  Suspended, it is where the queue
 * stays.  The record says which reads were of a running queue.
 */
START_TEST(running_base_is_stale)
{
	struct h *h = h_new(1, false);
	struct vds_sim_event *e;
	const bool stale[3] = { true, true, false };
	uint8_t f[128];
	uint32_t base;
	size_t n, i, k = 0;

	vds_sim_record(h->sim, true);
	post_rx(h, 0, 8);
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1));
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 2));
	ck_assert_uint_eq(stats(h).tx_frames, 0);
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base), 0);
	ck_assert_uint_eq(base, 0);
	ck_assert_uint_eq(stats(h).tx_frames, 2); /* taken meanwhile */
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base), 0);
	ck_assert_uint_eq(base, 2);
	ck_assert_int_eq(TCALL0(h, suspend), 0);
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 3));
	ck_assert_int_eq(TCALL(h, get_vring_base, 1, &base), 0);
	ck_assert_uint_eq(base, 2);
	h_round(h);
	ck_assert_uint_eq(stats(h).tx_frames, 2);
	ck_assert_int_eq(vds_sim_events(h->sim, &e, &n), 0);
	for (i = 0; i < n; i++) {
		if (e[i].kind != VDS_SIM_EV_GET_BASE)
			continue;
		ck_assert_uint_lt(k, 3);
		ck_assert_uint_eq(e[i].q, 1);
		ck_assert(!e[i].cvq);
		ck_assert_msg(e[i].running == stale[k], "read %zu", k);
		k++;
	}
	ck_assert_uint_eq(k, 3);
	free(e);
	h_free(h);
}
END_TEST

/*
 * A queue reaches memory only through its group's address space.  The
 * control queue (group 1, in space 1): _i 0, guest memory gone from
 * space 0: it still answers, the transmit queue breaks; _i 1, gone from
 * space 1: the transmit queue still loops, the control queue breaks;
 * _i 2, its group back in space 0, where its ring is not mapped: it
 * breaks, the transmit queue loops.
 */
START_TEST(queue_through_its_group_as)
{
	struct h *h = h_new(1, false);
	uint8_t f[128], st;

	post_rx(h, 0, 4);
	if (_i < 2)
		ck_assert_int_eq(TCALL(h, dma_unmap, (uint32_t)_i, h->g_iova, GMEM),
				 0);
	else
		ck_assert_int_eq(TCALL(h, set_group_asid, 1, 0), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(true)),
			 _i == 0 ? 0 : -1);
	if (_i == 0) {
		send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1));
		ck_assert(!h_wait(h, 1, 1));
	} else {
		ck_assert(loop_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1)));
	}
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_int_ne(st & VDPASTATE_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(stats(h).queue_errors, 1);
	h_free(h);
}
END_TEST

START_TEST(iotlb_rules)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o);
	struct h hh = { 0 }, *h = &hh;
	static uint8_t buf[3 * 4096];
	uint64_t first, last;

	h->t = vdpastate_sim_new(&o);
	ck_assert_ptr_nonnull(h->t);
	h->sim = vdpastate_sim_from_transport(h->t);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x10000, 0x2000, buf,
			       VDPASTATE_DMA_READ), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x11000, 0x2000, buf,
			       VDPASTATE_DMA_READ), -EEXIST);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0xf000, 0x1001, buf,
			       VDPASTATE_DMA_READ), -EEXIST);
	/* Address spaces are separate. */
	ck_assert_int_eq(TCALL(h, dma_map, 1, 0x11000, 0x2000, buf,
			       VDPASTATE_DMA_WRITE), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x12000, 0x1000, buf + 0x2000,
			       VDPASTATE_DMA_WRITE), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 2, 0x20000, 0x1000, buf,
			       VDPASTATE_DMA_READ), -EINVAL);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x20000, 0, buf, VDPASTATE_DMA_READ),
			 -EINVAL);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x20000, 0x1000, buf, 0), -EINVAL);
	ck_assert_int_eq(TCALL(h, dma_map, 0, UINT64_MAX, 2, buf,
			       VDPASTATE_DMA_READ), -EINVAL);
	/* Unmap only what was mapped, exactly. */
	ck_assert_int_eq(TCALL(h, dma_unmap, 0, 0x10000, 0x1000), -ENOENT);
	ck_assert_int_eq(TCALL(h, dma_unmap, 0, 0x11000, 0x1000), -ENOENT);
	ck_assert_int_eq(TCALL(h, dma_unmap, 1, 0x10000, 0x2000), -ENOENT);
	ck_assert_int_eq(TCALL(h, dma_unmap, 0, 0x10000, 0x2000), 0);
	ck_assert_int_eq(TCALL(h, dma_unmap, 0, 0x10000, 0x2000), -ENOENT);
	ck_assert_int_eq(TCALL(h, dma_map, 0, 0x10000, 0x2000, buf,
			       VDPASTATE_DMA_READ), 0);
	/* Batches nest no deeper than one. */
	ck_assert_int_eq(TCALL(h, dma_batch_end, 0), -EINVAL);
	ck_assert_int_eq(TCALL(h, dma_batch_begin, 0), 0);
	ck_assert_int_eq(TCALL(h, dma_batch_begin, 0), -EBUSY);
	ck_assert_int_eq(TCALL(h, dma_batch_end, 0), 0);
	ck_assert_int_eq(TCALL(h, get_iova_range, &first, &last), 0);
	ck_assert_uint_eq(first, 0);
	ck_assert_uint_eq(last, UINT64_MAX);
	vdpastate_transport_free(h->t);
}
END_TEST

/* The device writes the used ring: a read-only mapping makes it fail. */
START_TEST(iotlb_perm_enforced)
{
	struct h *h = h_new(1, false);
	struct vdpastate_svq_shadow sh = { .sz = sizeof(sh) };
	uint8_t f[128], st;

	post_rx(h, 0, 2);
	ck_assert_int_eq(vdpastate_svq_get_shadow(h->q[1].svq, &sh), 0);
	ck_assert_int_eq(TCALL(h, dma_unmap, 0, sh.rw_iova, sh.rw_size), 0);
	ck_assert_int_eq(TCALL(h, dma_map, 0, sh.rw_iova, sh.rw_size, sh.rw_hva,
			       VDPASTATE_DMA_READ), 0);
	send_frame(h, 0, f, mkframe(f, DEV_MAC, -1, 1));
	ck_assert(!h_wait(h, 1, 1));
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_int_ne(st & VDPASTATE_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(stats(h).queue_errors, 1);
	h_free(h);
}
END_TEST

START_TEST(status_and_features)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = 2, .mtu = 9000);
	struct h hh = { 0 }, *h = &hh;
	uint64_t offered, be;
	uint32_t id, n, g;
	uint16_t max;
	uint8_t st, cfg[24];
	static const uint8_t defmac[6] = { 0x52, 0x54, 0x00, 0x56, 0x44, 0x01 };

	h->t = vdpastate_sim_new(&o);
	ck_assert_ptr_nonnull(h->t);
	h->sim = vdpastate_sim_from_transport(h->t);
	ck_assert_int_eq(TCALL(h, get_device_id, &id), 0);
	ck_assert_uint_eq(id, 1);
	ck_assert_int_eq(TCALL(h, get_device_features, &offered), 0);
	ck_assert(offered & FB(CTRL_VQ));
	ck_assert_int_eq(TCALL(h, get_vq_count, &n), 0);
	ck_assert_uint_eq(n, 5);
	/* The control queue is queue 2 unless MQ (or RSS) is negotiated,
	 * then queue 2 * max_virtqueue_pairs (virtio; mlx5 does the same). */
	ck_assert_int_eq(TCALL(h, get_vring_group, 2, &g), 0);
	ck_assert_uint_eq(g, 1);
	ck_assert_int_eq(TCALL(h, get_vring_group, 4, &g), 0);
	ck_assert_uint_eq(g, 0);
	ck_assert_int_eq(TCALL(h, set_driver_features,
			       offered & ~FB(MQ) & ~FB(RSS)), 0);
	ck_assert_int_eq(TCALL(h, get_vring_group, 2, &g), 0);
	ck_assert_uint_eq(g, 1);
	ck_assert_int_eq(TCALL(h, set_driver_features, offered), 0);
	ck_assert_int_eq(TCALL(h, get_vring_group, 4, &g), 0);
	ck_assert_uint_eq(g, 1);
	ck_assert_int_eq(TCALL(h, get_vring_group, 2, &g), 0);
	ck_assert_uint_eq(g, 0);
	ck_assert_int_eq(TCALL(h, get_vring_group, 3, &g), 0);
	ck_assert_uint_eq(g, 0);
	ck_assert_int_eq(TCALL(h, set_driver_features, 0), 0);
	ck_assert_int_eq(TCALL(h, get_vring_num_max, &max), 0);
	ck_assert_uint_eq(max, 256);
	ck_assert_int_eq(TCALL(h, set_vring_num, 0, 512), -EINVAL);
	ck_assert_int_eq(TCALL(h, set_vring_num, 0, 96), -EINVAL);
	ck_assert_int_eq(TCALL(h, get_backend_features, &be), 0);
	/* All the library knows but IOTLB_PERSIST: the simulated device
	 * keeps its mappings at reset whatever the caller acks. */
	ck_assert_uint_eq(be, VDS_TEST_BACKEND_ALL &
				      ~(1ULL << VDPASTATE_BACKEND_F_IOTLB_PERSIST));
	ck_assert_int_eq(TCALL(h, set_backend_features, 1ULL << 7), -EOPNOTSUPP);
	ck_assert_int_eq(TCALL(h, set_group_asid, 2, 0), -EINVAL);
	ck_assert_int_eq(TCALL(h, set_group_asid, 1, 2), -EINVAL);
	/* Config space. */
	ck_assert_int_eq(TCALL(h, get_config, 0, cfg, 24), 0);
	ck_assert_int_eq(memcmp(cfg, defmac, 6), 0);
	ck_assert_uint_eq(cfg[6], VDPASTATE_NET_S_LINK_UP);
	ck_assert_uint_eq(cfg[8], 2);
	ck_assert_uint_eq(cfg[10] | cfg[11] << 8, 9000);
	ck_assert_uint_eq(cfg[17], 40);
	ck_assert_int_eq(TCALL(h, get_config, 20, cfg, 5), -EINVAL);
	/* No netstate before FEATURES_OK. */
	ck_assert_ptr_null(vdpastate_sim_netstate(h->sim));
	ck_assert_int_eq(errno, ENOENT);
	/* FEATURES_OK does not stick for features not offered. */
	ck_assert_int_eq(TCALL(h, set_status, 3), 0);
	ck_assert_int_eq(TCALL(h, set_driver_features,
			       offered | FB(HOST_USO)), 0);
	ck_assert_int_eq(TCALL(h, set_status, 3 | VDPASTATE_STATUS_FEATURES_OK), 0);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_uint_eq(st, 3);
	ck_assert_int_eq(TCALL(h, set_status, 3 | VDPASTATE_STATUS_DRIVER_OK),
			 -EINVAL);
	ck_assert_int_eq(TCALL(h, set_driver_features, offered), 0);
	ck_assert_int_eq(TCALL(h, set_status, 3 | VDPASTATE_STATUS_FEATURES_OK), 0);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_uint_eq(st, 3 | VDPASTATE_STATUS_FEATURES_OK);
	ck_assert_int_eq(TCALL(h, set_driver_features, offered), -EBUSY);
	/* Bits are only cleared by a reset. */
	ck_assert_int_eq(TCALL(h, set_status, 1), -EINVAL);
	ck_assert_int_eq(TCALL(h, set_status, 0), 0);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_uint_eq(st, 0);
	vdpastate_transport_free(h->t);
}
END_TEST

START_TEST(opts_rejected)
{
	struct {
		struct vdpastate_sim_opts o;
		uint64_t tail;
	} big = { .o = { .sz = sizeof(big) }, .tail = 1 };
	VDPASTATE_OPTS(vdpastate_sim_opts, o);

	ck_assert_ptr_null(vdpastate_sim_new(&big.o));
	ck_assert_int_eq(errno, EINVAL);
	o.max_ring_size = 100;
	ck_assert_ptr_null(vdpastate_sim_new(&o));
	o.max_ring_size = 0;
	o.flags = 8;
	ck_assert_ptr_null(vdpastate_sim_new(&o));
	o.flags = 0;
	o.device_features = FB(CTRL_VQ);
	ck_assert_ptr_null(vdpastate_sim_new(&o));
	ck_assert(strstr(vdpastate_last_error(), "VERSION_1") != NULL);
	o.device_features = RB(VERSION_1) | FB(CTRL_VQ);
	o.max_queue_pairs = 2;
	ck_assert_ptr_null(vdpastate_sim_new(&o));
	o.max_queue_pairs = 0;
	o.mtu = 20;
	ck_assert_ptr_null(vdpastate_sim_new(&o));
	ck_assert_int_eq(vdpastate_sim_poll(NULL), -EINVAL);
	ck_assert_ptr_null(vdpastate_sim_netstate(NULL));
	ck_assert_ptr_null(vdpastate_sim_from_transport(NULL));
}
END_TEST

static void noop_close(void *ctx)
{
	(void)ctx;
}

/* Only a sim's transport gives a sim. */
START_TEST(from_other_transport)
{
	struct vdpastate_transport_ops ops = { .close = noop_close };
	struct vdpastate_transport *t = vdpastate_transport_new(&ops, sizeof(ops),
								NULL);

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(vdpastate_sim_from_transport(t));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(strstr(vdpastate_last_error(), "custom") != NULL);
	vdpastate_transport_free(t);
}
END_TEST

/* Reset: state back to defaults, mappings kept, the device usable again. */
START_TEST(reset_semantics)
{
	struct h *h = h_new(1, false);
	struct vdpastate_netstate *ns;
	uint8_t st;

	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(100)), 0);
	ck_assert_int_eq(TCALL(h, set_status, 0), 0);
	ck_assert_ptr_null(vdpastate_sim_netstate(h->sim));
	/* Mappings survive: mapping the guest again collides. */
	ck_assert_int_eq(TCALL(h, dma_map, 0, h->g_iova, GMEM, h->g,
			       VDPASTATE_DMA_READ), -EEXIST);
	ck_assert_int_eq(TCALL(h, set_status, 3), 0);
	ck_assert_int_eq(TCALL(h, set_driver_features, h->features), 0);
	ck_assert_int_eq(TCALL(h, set_status, 3 | VDPASTATE_STATUS_FEATURES_OK), 0);
	ns = sim_state(h);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 100), 0);
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(ns),
			  VDPASTATE_NETSTATE_RX_PROMISC);
	vdpastate_netstate_free(ns);
	ck_assert_int_eq(TCALL(h, get_status, &st), 0);
	ck_assert_uint_eq(st, 3 | VDPASTATE_STATUS_FEATURES_OK);
	h_free(h);
}
END_TEST

/* ------------------------------------------------------------ threads */

/* Traffic and commands with the device on its own thread (TSan case). */
START_TEST(thread_traffic)
{
	struct h *h = h_new(2, true);
	uint8_t f[128];
	unsigned int i;

	post_rx(h, 0, 16);
	post_rx(h, 1, 16);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_mq_vq_pairs_set(2)), 0);
	ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_rx_promisc(false)), 0);
	for (i = 0; i < 40; i++) {
		unsigned int p = i % 2;
		bool mine = i % 3 != 0;

		ck_assert(loop_frame(h, p, f,
				     mkframe(f, mine ? DEV_MAC : OTHER, -1,
					     (uint8_t)i)) == mine);
		if (i == 20)
			ck_assert_int_eq(cvq(h, vdpastate_cvq_cmd_vlan_add(1)), 0);
	}
	ck_assert_uint_eq(stats(h).dropped_filter, 14);
	h_free(h);
}
END_TEST

Suite *sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("filter");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, filter_table, 0, VDS_ARRAY_SIZE(filter_cases));
	tcase_add_test(tc, mac_addr_set_moves_filter);
	tcase_add_test(tc, mac_table_overflow);
	tcase_add_test(tc, vlan_add_del);
	tcase_add_test(tc, no_rx_buffer);
	tcase_add_test(tc, multiqueue_same_pair);
	suite_add_tcase(s, tc);

	tc = tcase_create("cvq");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cvq_matches_netstate_apply);
	tcase_add_test(tc, cvq_queries);
	tcase_add_test(tc, cvq_vq_get_not_enabled);
	tcase_add_test(tc, cvq_bad_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("inject");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, inject_latency, 0, 2);
	tcase_add_test(tc, inject_fail_nth_call);
	tcase_add_loop_test(tc, inject_cvq_err, 0, 2);
	tcase_add_loop_test(tc, inject_cvq_hang, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, suspend_resume_vring_base, 0, 2);
	tcase_add_test(tc, vring_base_roundtrip);
	tcase_add_test(tc, running_base_is_stale);
	tcase_add_loop_test(tc, queue_through_its_group_as, 0, 3);
	tcase_add_test(tc, iotlb_rules);
	tcase_add_test(tc, iotlb_perm_enforced);
	tcase_add_test(tc, status_and_features);
	tcase_add_test(tc, opts_rejected);
	tcase_add_test(tc, from_other_transport);
	tcase_add_test(tc, reset_semantics);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, filter_table_thread, 0, VDS_ARRAY_SIZE(filter_cases));
	tcase_add_test(tc, thread_traffic);
	suite_add_tcase(s, tc);
	return s;
}
