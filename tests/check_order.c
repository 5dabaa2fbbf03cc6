/* SPDX-License-Identifier: MIT */
/*
 * tests/check_order.c - the order in which the device handle drives a
 * device, as the simulated device recorded it (lib/sim_int.h) and as its
 * traffic shows.  A restore puts the control queue's group in address
 * space 1 and maps the control ring there only, so the guest's space is
 * the VMM's alone; it enables the data queues only once every command is
 * answered.  A save or switch suspends before it reads a base, so no
 * frame is transmitted twice.  An early restore keeps the data queues
 * disabled until the commit, which sends only the delta.  The data
 * queues are enabled after DRIVER_OK whether or not the device offers
 * ENABLE_AFTER_DRIVER_OK, acked where offered, and the log says which.
 * A device accepts most of these done wrong; the record, and the
 * traffic, tell.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "ring.h"
#include "sim_int.h"
#include "suites.h"
#include "tests_rand.h"

#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
#define GPA 0x100000ull
#define GSIZE (1ull << 20)
#define QNUM 16
#define SLOT 2048
#define HDR 12 /* virtio_net_hdr with VERSION_1 */
#define FRAME 60
#define NDATA 2 /* one pair: rx 0, tx 1; the control queue is 2 */
/* Where the handle puts its control ring: inside the guest's memory as
 * address space 0 sees it, which is harmless only in space 1. */
#define CVQ_IOVA (GPA + 0x80000)

/* A guest of one queue pair: its memory, a device, a handle. */
struct vm {
	uint8_t *ram;
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	uint64_t features;
	struct vds_vdrv tx; /* the guest's driver of its transmit ring */
};

/* Queue i's rings, then its buffer slots, from here in guest memory. */
static uint64_t ring_at(unsigned int i)
{
	return GPA + (uint64_t)i * 0x10000;
}

/* sim_flags: VDPASTATE_SIM_F_* of the device. */
static void vm_new_sim(struct vm *m, uint32_t sim_flags)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_iova = CVQ_IOVA,
		       .cvq_ring_size = 16);
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .flags = sim_flags);
	uint64_t offered;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->ram = aligned_alloc(4096, GSIZE);
	ck_assert_ptr_nonnull(m->ram);
	memset(m->ram, 0, GSIZE);
	m->t = vdpastate_sim_new(&so);
	ck_assert_ptr_nonnull(m->t);
	m->sim = vdpastate_sim_from_transport(m->t);
	ck_assert_int_eq(vdpastate_transport_dma_map(m->t, 0, GPA, GSIZE, m->ram,
						     VDPASTATE_DMA_READ |
							     VDPASTATE_DMA_WRITE),
			 0);
	m->dev = vdpastate_dev_open(m->t, &d);
	ck_assert_ptr_nonnull(m->dev);
	for (i = 0; i < NDATA; i++) {
		VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = QNUM,
			       .desc = ring_at(i), .avail = ring_at(i) + 0x1000,
			       .used = ring_at(i) + 0x2000, .kick_fd = -1,
			       .call_fd = -1);

		ck_assert_int_eq(vdpastate_dev_set_vring(m->dev, i, &vr), 0);
	}
	ck_assert_int_eq(vdpastate_transport_get_device_features(m->t, &offered),
			 0);
	m->features = offered & (VDS_TEST_FEATURES | RB(VERSION_1) |
				 RB(ACCESS_PLATFORM) | RB(EVENT_IDX));
}

static void vm_new(struct vm *m)
{
	vm_new_sim(m, 0);
}

static void vm_free(struct vm *m)
{
	vdpastate_dev_free(m->dev);
	vdpastate_transport_free(m->t);
	vds_vdrv_fini(&m->tx);
	free(m->ram);
}

static void start(struct vm *m)
{
	ck_assert_msg(vdpastate_dev_start(m->dev, m->features) == 0, "%s",
		      vdpastate_last_error());
}

static uint8_t *host(struct vm *m, uint64_t gpa)
{
	return m->ram + (gpa - GPA);
}

/* The guest queues n frames on its transmit ring; the device is not run. */
static void guest_transmits(struct vm *m, unsigned int n)
{
	uint64_t r = ring_at(1);

	ck_assert_int_eq(vds_vdrv_init(&m->tx, QNUM, m->features, host(m, r),
				       host(m, r + 0x1000), host(m, r + 0x2000)),
			 0);
	while (n--) {
		struct vds_seg s = { 0 };

		s.xaddr = r + 0x3000 + (uint64_t)m->tx.free_head * SLOT;
		s.len = HDR + FRAME;
		memset(host(m, s.xaddr), 0, HDR);
		memset(host(m, s.xaddr) + HDR, 0xff, FRAME); /* broadcast */
		ck_assert_int_ge(vds_vdrv_add(&m->tx, &s, 1), 0);
	}
	vds_vdrv_publish(&m->tx);
}

static uint64_t tx_frames(struct vm *m)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);

	ck_assert_int_eq(vdpastate_sim_get_stats(m->sim, &st), 0);
	return st.tx_frames;
}

static void send_all(struct vm *m, struct vdpastate_cvq_cmd **c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_msg(vdpastate_dev_send(m->dev, c[i]) == 0, "%s",
			      vdpastate_last_error());
		vdpastate_cvq_cmd_free(c[i]);
	}
}

static struct vdpastate_blob *save(struct vm *m)
{
	struct vdpastate_blob *b = vdpastate_blob_new();

	ck_assert_msg(vdpastate_dev_save(m->dev, b) == 0, "%s",
		      vdpastate_last_error());
	return b;
}

/* A source started with a MAC, PROMISC and vlans VLANs: its blob. */
static struct vdpastate_blob *saved_source(struct vm *src, unsigned int vlans)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct vdpastate_cvq_cmd *c[2] = { vdpastate_cvq_cmd_mac_addr_set(mac),
					   vdpastate_cvq_cmd_rx_promisc(true) };
	unsigned int i;

	start(src);
	send_all(src, c, 2);
	for (i = 0; i < vlans; i++) {
		c[0] = vdpastate_cvq_cmd_vlan_add((uint16_t)(100 + i));
		send_all(src, c, 1);
	}
	return save(src);
}

static size_t count_cmds(struct vdpastate_cvq_cmdlist *l)
{
	size_t n;

	ck_assert_ptr_nonnull(l);
	n = vdpastate_cvq_cmdlist_count(l);
	vdpastate_cvq_cmdlist_free(l);
	return n;
}

/* The commands a restore of blob sends. */
static size_t restore_cmds(const struct vdpastate_blob *b)
{
	const struct vdpastate_netstate *ns = vdpastate_blob_netstate(b);
	struct vdpastate_cvq_cmdlist *l = NULL;

	ck_assert_int_eq(vdpastate_netstate_to_cmds(ns,
						    vdpastate_netstate_features(ns),
						    &l),
			 0);
	return count_cmds(l);
}

/* The source device's state is the destination's. */
static void assert_same_state(struct vm *src, struct vm *dst)
{
	struct vdpastate_netstate *ns[2] = { vdpastate_sim_netstate(src->sim),
					     vdpastate_sim_netstate(dst->sim) };

	ck_assert_msg(ns[0] && ns[1] && vdpastate_netstate_equal(ns[0], ns[1]),
		      "destination differs");
	vdpastate_netstate_free(ns[0]);
	vdpastate_netstate_free(ns[1]);
}

/* What the device recorded since recording began; it stops. */
struct rec {
	struct vds_sim_event *e;
	size_t n;
};

static struct rec recorded(struct vm *m)
{
	struct rec r;

	ck_assert_int_eq(vds_sim_events(m->sim, &r.e, &r.n), 0);
	vds_sim_record(m->sim, false);
	return r;
}

/* What the device recorded while blob was restored, begun or committed. */
static struct rec restored(struct vm *m,
			   int (*restore)(struct vdpastate_dev *,
					  const struct vdpastate_blob *),
			   const struct vdpastate_blob *blob)
{
	vds_sim_record(m->sim, true);
	ck_assert_msg(restore(m->dev, blob) == 0, "%s", vdpastate_last_error());
	return recorded(m);
}

/*
 * The order a bring-up (full) or a commit (not full) promises, as the
 * device saw it.  A bring-up: a reset; the control queue's group put in
 * space 1 and the control ring mapped only there; the control queue and
 * no data queue enabled before DRIVER_OK.  Both: ncmds commands, each
 * answered OK, and data_on data queues enabled, each only once every
 * command was answered.  A commit neither resets nor maps.
 */
static void assert_order(struct vm *m, const struct rec *r, bool full,
			 size_t ncmds, unsigned int data_on)
{
	size_t i, reset = SIZE_MAX, asid = SIZE_MAX, dok = SIZE_MAX;
	size_t cvq_on = SIZE_MAX, acks = 0, maps = 0;
	unsigned int on = 0;
	uint32_t group;

	ck_assert_int_eq(vdpastate_transport_get_vring_group(m->t, NDATA, &group),
			 0);
	for (i = 0; i < r->n; i++) {
		const struct vds_sim_event *e = &r->e[i];

		switch (e->kind) {
		case VDS_SIM_EV_STATUS:
			ck_assert_msg(full || e->a, "event %zu: a commit that resets",
				      i);
			if (!e->a && reset == SIZE_MAX)
				reset = i;
			if ((e->b & VDPASTATE_STATUS_DRIVER_OK) && dok == SIZE_MAX)
				dok = i;
			break;
		case VDS_SIM_EV_GROUP_ASID:
			if (e->a == group && e->b == 1)
				asid = i;
			break;
		case VDS_SIM_EV_MAP:
			ck_assert_msg(full && e->a == 1 && i < dok,
				      "event %zu: [0x%llx, +0x%llx] mapped in "
				      "address space %u", i,
				      (unsigned long long)e->v,
				      (unsigned long long)e->w, e->a);
			maps++;
			break;
		case VDS_SIM_EV_ENABLE:
			if (!e->a)
				break;
			if (e->cvq) {
				cvq_on = i;
				break;
			}
			ck_assert_msg(acks == ncmds, "event %zu: data queue %u "
				      "enabled after %zu answers, %zu expected "
				      "first", i, e->q, acks, ncmds);
			on++;
			break;
		case VDS_SIM_EV_CVQ:
			ck_assert_msg(e->b == 0, "event %zu: command 0x%x answered "
				      "%u", i, e->a, e->b);
			acks++;
			break;
		default:
			break;
		}
	}
	ck_assert_msg(acks == ncmds, "%zu commands answered, %zu expected", acks,
		      ncmds);
	ck_assert_msg(on == data_on, "%u data queues enabled, %u expected", on,
		      data_on);
	if (!full)
		return;
	ck_assert_msg(reset < asid && asid < dok, "reset at event %zu, control "
		      "group to space 1 at %zu, DRIVER_OK at %zu", reset, asid,
		      dok);
	ck_assert_uint_gt(maps, 0);
	ck_assert_msg(cvq_on < dok, "control queue enabled at event %zu, "
		      "DRIVER_OK at %zu", cvq_on, dok);
}

/*
 * Restore onto a destination whose guest memory, in address space 0,
 * covers the IOVA of the handle's control ring: the ring goes to space 1
 * only, and the data queues start after the last answer.
 */
START_TEST(restore_order)
{
	struct vm src, dst;
	struct vdpastate_blob *b;
	struct rec r;

	vm_new(&src);
	vm_new(&dst);
	b = saved_source(&src, 20);
	r = restored(&dst, vdpastate_dev_restore, b);
	assert_order(&dst, &r, true, restore_cmds(b), NDATA);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	assert_same_state(&src, &dst);
	free(r.e);
	vdpastate_blob_free(b);
	vm_free(&src);
	vm_free(&dst);
}
END_TEST

/*
 * Begin brings the device up without its data queues; the source goes
 * on; commit sends only the difference, without a reset, then enables
 * them.
 */
START_TEST(early_restore_order)
{
	struct vdpastate_cvq_cmd *c[3] = { vdpastate_cvq_cmd_vlan_del(100),
					   vdpastate_cvq_cmd_vlan_add(7),
					   vdpastate_cvq_cmd_rx_promisc(false) };
	struct vdpastate_cvq_cmdlist *diff = NULL;
	struct vdpastate_blob *b1, *b2;
	struct vm src, dst;
	struct rec r;
	size_t ndiff;

	vm_new(&src);
	vm_new(&dst);
	b1 = saved_source(&src, 20);
	r = restored(&dst, vdpastate_dev_restore_begin, b1);
	assert_order(&dst, &r, true, restore_cmds(b1), 0);
	free(r.e);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	send_all(&src, c, 3);
	b2 = save(&src);
	ck_assert_int_eq(vdpastate_netstate_diff(vdpastate_blob_netstate(b1),
						 vdpastate_blob_netstate(b2),
						 &diff),
			 0);
	ndiff = count_cmds(diff);
	ck_assert_uint_lt(ndiff, restore_cmds(b2));
	r = restored(&dst, vdpastate_dev_restore_commit, b2);
	assert_order(&dst, &r, false, ndiff, NDATA);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	assert_same_state(&src, &dst);
	free(r.e);
	vdpastate_blob_free(b1);
	vdpastate_blob_free(b2);
	vm_free(&src);
	vm_free(&dst);
}
END_TEST

/*
 * The guest queued 3 frames its device has not taken yet.  _i 0: save,
 * then restore on a destination with a copy of the guest's memory; _i 1:
 * switch on the same device.  Either way each frame is transmitted once:
 * the base is read from a suspended device, which takes nothing after.
 * Read from a running one it misses what the device takes meanwhile,
 * and the frames go out again from where it was read.
 */
START_TEST(base_read_suspended)
{
	struct vm src, dst;
	struct vdpastate_blob *b = NULL;
	struct rec r;
	uint64_t frames;
	size_t i, reads = 0;

	vm_new(&src);
	start(&src);
	guest_transmits(&src, 3);
	vds_sim_record(src.sim, true);
	if (_i == 0) {
		b = save(&src);
		r = recorded(&src);
		vm_new(&dst);
		memcpy(dst.ram, src.ram, GSIZE);
		ck_assert_msg(vdpastate_dev_restore(dst.dev, b) == 0, "%s",
			      vdpastate_last_error());
		ck_assert_int_ge(vdpastate_sim_poll(dst.sim), 0);
		ck_assert_int_ge(vdpastate_sim_poll(src.sim), 0);
		frames = tx_frames(&src) + tx_frames(&dst);
		vm_free(&dst);
	} else {
		ck_assert_msg(vdpastate_dev_switch(src.dev) == 0, "%s",
			      vdpastate_last_error());
		r = recorded(&src);
		ck_assert_int_ge(vdpastate_sim_poll(src.sim), 0);
		frames = tx_frames(&src);
	}
	ck_assert_msg(frames == 3, "%llu frames transmitted for the guest's 3: "
		      "the base read missed what the device took after",
		      (unsigned long long)frames);
	for (i = 0; i < r.n; i++) {
		if (r.e[i].kind != VDS_SIM_EV_GET_BASE)
			continue;
		ck_assert_msg(!r.e[i].running, "event %zu: base of queue %u read "
			      "while it ran", i, r.e[i].q);
		reads++;
	}
	ck_assert_uint_eq(reads, NDATA);
	free(r.e);
	vdpastate_blob_free(b);
	vm_free(&src);
}
END_TEST

/* The library's messages, a line each: "W: ..." (WARN), "I: ..." (INFO). */
static void log_keep(enum vdpastate_log_level level, const char *msg,
		     void *user)
{
	char *text = user;
	size_t n = strlen(text);

	snprintf(text + n, 4096 - n, "%c: %s\n", "EWID"[level], msg);
}

/*
 * _i 0: the device offers ENABLE_AFTER_DRIVER_OK, _i 1: it does not
 * (VDPASTATE_SIM_F_NO_ENABLE_AFTER_DRIVER_OK, as Linux 6.1's vdpa_sim).
 * A restore acks it where offered, and only there; either way the data
 * queues are enabled after DRIVER_OK, once every command is answered,
 * and the state arrives; the log says which path it was: an INFO where
 * acked, a WARN where not offered.
 */
START_TEST(enable_after_driver_ok)
{
	const uint64_t eadok = UINT64_C(1)
			       << VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK;
	static char text[4096];
	struct vdpastate_blob *b;
	struct vm src, dst;
	uint64_t offered = 0, acked = 0;
	size_t i, backend = 0, dok = SIZE_MAX, first_on = SIZE_MAX;
	struct rec r;

	vm_new(&src);
	vm_new_sim(&dst, _i ? VDPASTATE_SIM_F_NO_ENABLE_AFTER_DRIVER_OK : 0);
	ck_assert_int_eq(vdpastate_transport_get_backend_features(dst.t,
								  &offered),
			 0);
	ck_assert_int_eq(!!(offered & eadok), !_i);
	b = saved_source(&src, 3);
	text[0] = '\0';
	ck_assert_int_eq(vdpastate_set_log(log_keep, text, VDPASTATE_LOG_INFO),
			 0);
	r = restored(&dst, vdpastate_dev_restore, b);
	vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR);
	assert_order(&dst, &r, true, restore_cmds(b), NDATA);
	for (i = 0; i < r.n; i++) {
		const struct vds_sim_event *e = &r.e[i];

		if (e->kind == VDS_SIM_EV_BACKEND) {
			acked = e->v;
			backend++;
		} else if (e->kind == VDS_SIM_EV_STATUS &&
			   (e->b & VDPASTATE_STATUS_DRIVER_OK) && dok == SIZE_MAX) {
			dok = i;
		} else if (e->kind == VDS_SIM_EV_ENABLE && e->a && !e->cvq &&
			   first_on == SIZE_MAX) {
			first_on = i;
		}
	}
	ck_assert_uint_eq(backend, 1);
	ck_assert_msg(!!(acked & eadok) == !_i, "backend features 0x%llx acked, "
		      "0x%llx offered", (unsigned long long)acked,
		      (unsigned long long)offered);
	ck_assert_msg(dok < first_on && first_on != SIZE_MAX,
		      "DRIVER_OK at event %zu, first data queue enabled at %zu",
		      dok, first_on);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	assert_same_state(&src, &dst);
	if (!_i)
		ck_assert_msg(strstr(text, "I: restore: 2 data queue(s) enabled "
				     "after DRIVER_OK (ENABLE_AFTER_DRIVER_OK "
				     "acked)\n") &&
				      !strstr(text, "does not offer"),
			      "log: %s", text);
	else
		ck_assert_msg(strstr(text, "W: restore: 2 data queue(s) enabled "
				     "after DRIVER_OK although the device does "
				     "not offer ENABLE_AFTER_DRIVER_OK") &&
				      !strstr(text, "acked)"),
			      "log: %s", text);
	free(r.e);
	vdpastate_blob_free(b);
	vm_free(&src);
	vm_free(&dst);
}
END_TEST

Suite *order_suite(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("order");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, restore_order);
	tcase_add_test(tc, early_restore_order);
	tcase_add_loop_test(tc, base_read_suspended, 0, 2);
	tcase_add_loop_test(tc, enable_after_driver_ok, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
