/* SPDX-License-Identifier: MIT */
/*
 * tests/check_guestcvq.c - the device handle as the device of the guest's
 * control queue: a guest (the ring's driver half over guest memory) posts
 * commands, the handle copies them out, validates, forwards them to a
 * simulated device and answers the guest.  Checked: acks and state for
 * OK, device ERR, refused commands, timeouts, random sequences against
 * the device's own state, a broken guest ring, the position across a
 * migration, and bad input.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "fake_transport.h"
#include "ring.h"
#include "suites.h"
#include "tests_rand.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
#define PAIRS 4
#define G_NUM 16
#define G_GPA 0x40000000ull
#define G_SIZE (1u << 20)
/* Guest memory layout (offsets from G_GPA). */
#define G_DESC 0x0
#define G_AVAIL 0x4000 /* room for a 1024-entry ring */
#define G_USED 0x5000
#define G_NUM_MAX 1024
#define G_CMD 0x10000 /* per head: command bytes */
#define G_CMD_SLOT 0x4000
#define G_ACK 0x80000 /* per head: ack and result */
#define NET_OK 0
#define NET_ERR 1

struct guest {
	uint8_t *ram;
	struct vdpastate_mem *mem;
	struct vds_vdrv drv;
	uint64_t features;
	uint16_t num;
	int kick, call;
};

struct side {
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	struct guest g;
};

static void guest_init_num(struct guest *g, uint64_t features, uint16_t num)
{
	g->ram = aligned_alloc(4096, G_SIZE);
	ck_assert_ptr_nonnull(g->ram);
	memset(g->ram, 0, G_SIZE);
	g->mem = vdpastate_mem_new();
	ck_assert_int_eq(vdpastate_mem_add(g->mem, G_GPA, G_SIZE, g->ram, 0), 0);
	g->features = features;
	g->num = num;
	ck_assert_uint_le(num, G_NUM_MAX);
	ck_assert_int_eq(vds_vdrv_init(&g->drv, num, features, g->ram + G_DESC,
				       g->ram + G_AVAIL, g->ram + G_USED),
			 0);
	g->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	g->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(g->kick, 0);
	ck_assert_int_ge(g->call, 0);
}

static void guest_init(struct guest *g, uint64_t features)
{
	guest_init_num(g, features, G_NUM);
}

static void guest_fini(struct guest *g)
{
	vds_vdrv_fini(&g->drv);
	vdpastate_mem_free(g->mem);
	free(g->ram);
	close(g->kick);
	close(g->call);
}

static struct vdpastate_dev_guest_cvq guest_cfg(struct guest *g)
{
	struct vdpastate_dev_guest_cvq c = {
		.sz = sizeof(c),
		.mem = g->mem,
		.desc = G_GPA + G_DESC,
		.avail = G_GPA + G_AVAIL,
		.used = G_GPA + G_USED,
		.num = g->num,
		.kick_fd = g->kick,
		.call_fd = g->call,
		.guest_features = g->features,
	};
	return c;
}

/* Post wire bytes with an ack slot of wlen bytes (0: none); the head. */
static int guest_post_raw(struct guest *g, const void *wire, size_t len,
			  uint32_t wlen)
{
	struct vds_seg seg[2];
	unsigned int n = 0;
	int head = g->drv.free_head;

	/* Heads beyond G_NUM share command slots (same bytes, read only). */
	memcpy(g->ram + G_CMD + (size_t)(head % G_NUM) * G_CMD_SLOT, wire, len);
	memset(g->ram + G_ACK + (size_t)head * 16, 0xee, 16);
	memset(seg, 0, sizeof(seg));
	seg[n].xaddr = G_GPA + G_CMD + (uint64_t)(head % G_NUM) * G_CMD_SLOT;
	seg[n++].len = (uint32_t)len;
	if (wlen) {
		seg[n].xaddr = G_GPA + G_ACK + (uint64_t)head * 16;
		seg[n].len = wlen;
		seg[n++].flags = VDPASTATE_VRING_DESC_F_WRITE;
	}
	head = vds_vdrv_add(&g->drv, seg, n);
	ck_assert_int_ge(head, 0);
	return head;
}

static int guest_post(struct guest *g, const struct vdpastate_cvq_cmd *c)
{
	uint8_t wire[G_CMD_SLOT];
	size_t w = vdpastate_cvq_cmd_wire_size(c);

	ck_assert_uint_le(w, sizeof(wire));
	ck_assert_uint_eq(vdpastate_cvq_cmd_encode(c, wire, sizeof(wire)), w);
	return guest_post_raw(g, wire, w, 1);
}

static void guest_kick(struct guest *g)
{
	uint64_t one = 1;

	vds_vdrv_want_calls(&g->drv, true);
	vds_vdrv_publish(&g->drv);
	ck_assert_int_eq(write(g->kick, &one, sizeof(one)), sizeof(one));
}

/* The ack of the next used entry, which must be head. */
static uint8_t guest_ack(struct guest *g, int head)
{
	uint16_t id;
	uint32_t len;

	ck_assert_int_eq(vds_vdrv_get_used(&g->drv, &id, &len), 1);
	ck_assert_int_eq(id, head);
	ck_assert_uint_ge(len, 1);
	vds_vdrv_free(&g->drv, id);
	return g->ram[G_ACK + (size_t)head * 16];
}

static uint64_t test_features(struct side *s)
{
	uint64_t offered;

	ck_assert_int_eq(vdpastate_transport_get_device_features(s->t, &offered), 0);
	return offered & (VDS_TEST_FEATURES | RB(VERSION_1) |
			  RB(ACCESS_PLATFORM) | RB(EVENT_IDX) |
			  RB(INDIRECT_DESC));
}

/* A handle on a simulated device made with o, started, with a guest. */
static void side_new_sim(struct side *s, const struct vdpastate_dev_opts *d,
			 const struct vdpastate_sim_opts *o)
{
	struct vdpastate_dev_guest_cvq c;

	s->t = vdpastate_sim_new(o);
	ck_assert_ptr_nonnull(s->t);
	s->sim = vdpastate_sim_from_transport(s->t);
	s->dev = vdpastate_dev_open(s->t, d);
	ck_assert_ptr_nonnull(s->dev);
	ck_assert_int_eq(vdpastate_dev_start(s->dev, test_features(s)), 0);
	guest_init(&s->g, test_features(s));
	c = guest_cfg(&s->g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s->dev, &c), 0);
}

static void side_new(struct side *s, const struct vdpastate_dev_opts *d)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);

	side_new_sim(s, d, &o);
}

static void side_free(struct side *s)
{
	vdpastate_dev_free(s->dev);
	vdpastate_transport_free(s->t);
	guest_fini(&s->g);
}

static uint64_t sim_commands(struct side *s)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);

	ck_assert_int_eq(vdpastate_sim_get_stats(s->sim, &st), 0);
	return st.cvq_commands;
}

static void assert_dev_equals_sim(struct side *s)
{
	struct vdpastate_netstate *x = vdpastate_sim_netstate(s->sim);

	ck_assert_ptr_nonnull(x);
	ck_assert_msg(vdpastate_netstate_equal(x, vdpastate_dev_netstate(s->dev)),
		      "tracked state differs from the device's");
	vdpastate_netstate_free(x);
}

/* The guest sets mac; the handle answers OK and tracks it, as the device. */
static void guest_sets_mac(struct side *s, const uint8_t mac[6])
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_mac_addr_set(mac);
	uint8_t got[6];
	int h;

	h = guest_post(&s->g, c);
	vdpastate_cvq_cmd_free(c);
	guest_kick(&s->g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s->dev), 1);
	ck_assert_int_eq(guest_ack(&s->g, h), NET_OK);
	ck_assert_int_eq(vdpastate_netstate_mac(vdpastate_dev_netstate(s->dev), got),
			 0);
	ck_assert_mem_eq(got, mac, 6);
	assert_dev_equals_sim(s);
}

START_TEST(ok_err_and_refused)
{
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	const uint8_t junk[4] = { 0xee, 0x01, 0, 0 };
	struct vdpastate_cvq_cmd *c;
	struct vdpastate_netstate *before;
	struct side s;
	uint64_t cmds;
	int h;

	side_new(&s, NULL);
	/* OK: applied to the tracked state and the device. */
	guest_sets_mac(&s, mac);

	/* The device answers ERR: the guest gets ERR, nothing is applied. */
	before = vdpastate_netstate_copy(vdpastate_dev_netstate(s.dev));
	ck_assert_int_eq(vdpastate_sim_cvq_err(s.sim, true, VDPASTATE_CVQ_VLAN,
					       VDPASTATE_SIM_ANY),
			 0);
	c = vdpastate_cvq_cmd_vlan_add(42);
	h = guest_post(&s.g, c);
	vdpastate_cvq_cmd_free(c);
	guest_kick(&s.g);
	cmds = sim_commands(&s);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	ck_assert_int_eq(guest_ack(&s.g, h), NET_ERR);
	ck_assert_uint_eq(sim_commands(&s), cmds + 1);
	ck_assert(vdpastate_netstate_equal(before, vdpastate_dev_netstate(s.dev)));
	assert_dev_equals_sim(&s);
	ck_assert_int_eq(vdpastate_sim_cvq_err(s.sim, false, 0, 0), 0);

	/* Malformed and invalid commands never reach the device. */
	h = guest_post_raw(&s.g, junk, sizeof(junk), 1);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	ck_assert_int_eq(guest_ack(&s.g, h), NET_ERR);
	{
		/* VLAN id 4096: the decoder refuses it. */
		const uint8_t bad[4] = { VDPASTATE_CVQ_VLAN, 0, 0x00, 0x10 };

		h = guest_post_raw(&s.g, bad, sizeof(bad), 1);
		guest_kick(&s.g);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_ERR);
	}
	ck_assert_uint_eq(sim_commands(&s), cmds + 1);
	ck_assert(vdpastate_netstate_equal(before, vdpastate_dev_netstate(s.dev)));
	vdpastate_netstate_free(before);

	/* Several in one kick: answered in order; nothing waiting: 0. */
	{
		int hs[3];
		unsigned int i;

		for (i = 0; i < 3; i++) {
			c = vdpastate_cvq_cmd_vlan_add((uint16_t)(100 + i));
			hs[i] = guest_post(&s.g, c);
			vdpastate_cvq_cmd_free(c);
		}
		guest_kick(&s.g);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 3);
		for (i = 0; i < 3; i++)
			ck_assert_int_eq(guest_ack(&s.g, hs[i]), NET_OK);
		ck_assert_uint_eq(vdpastate_netstate_vlan_count(
					  vdpastate_dev_netstate(s.dev)),
				  3);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 0);
	}
	assert_dev_equals_sim(&s);
	side_free(&s);
}
END_TEST

/* A query's result reaches the guest after the ack byte. */
/*
 * A driver that does not negotiate VIRTIO_NET_F_MAC (Linux then picks a
 * random MAC and, with CTRL_MAC_ADDR, sets it with MAC_ADDR_SET): the
 * config MAC is not valid for it, so neither the handle nor the device
 * holds a MAC until that command; then both hold the driver's.
 */
START_TEST(mac_not_negotiated)
{
	const uint8_t mac[6] = { 0x02, 0x5e, 0x11, 0x22, 0x33, 0x44 };
	const uint8_t zero[6] = { 0 };
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	struct vdpastate_dev_guest_cvq gc;
	struct side s;
	uint8_t got[6];
	uint64_t f;

	memset(&s, 0, sizeof(s));
	s.t = vdpastate_sim_new(&o);
	ck_assert_ptr_nonnull(s.t);
	s.sim = vdpastate_sim_from_transport(s.t);
	s.dev = vdpastate_dev_open(s.t, NULL);
	ck_assert_ptr_nonnull(s.dev);
	f = test_features(&s) & ~FB(MAC);
	ck_assert(f & FB(CTRL_MAC_ADDR));
	ck_assert_int_eq(vdpastate_dev_start(s.dev, f), 0);
	guest_init(&s.g, f);
	gc = guest_cfg(&s.g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, &gc), 0);
	ck_assert_int_eq(vdpastate_netstate_mac(vdpastate_dev_netstate(s.dev), got), 0);
	ck_assert_mem_eq(got, zero, 6);
	assert_dev_equals_sim(&s);

	guest_sets_mac(&s, mac);
	side_free(&s);
}
END_TEST

START_TEST(query_result)
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_notf_coal_vq_get(0);
	struct vdpastate_cvq_cmd *set = vdpastate_cvq_cmd_notf_coal_vq_set(0, 16,
									   250);
	struct side s;
	uint16_t id;
	uint32_t len;
	int h;

	side_new(&s, NULL);
	ck_assert_msg(vdpastate_netstate_features(vdpastate_dev_netstate(s.dev)) &
			      FB(VQ_NOTF_COAL),
		      "the simulated device should offer VQ_NOTF_COAL");
	ck_assert_int_eq(vdpastate_dev_send(s.dev, set), 0);
	{
		uint8_t wire[64];
		int w = vdpastate_cvq_cmd_encode(c, wire, sizeof(wire));

		ck_assert_int_gt(w, 0);
		h = guest_post_raw(&s.g, wire, (size_t)w, 9);
	}
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	ck_assert_int_eq(vds_vdrv_get_used(&s.g.drv, &id, &len), 1);
	ck_assert_int_eq(id, h);
	ck_assert_uint_eq(len, 9);
	/* ack, then le32 max_packets and le32 max_usecs */
	ck_assert_int_eq(s.g.ram[G_ACK + (size_t)h * 16], NET_OK);
	ck_assert_int_eq(s.g.ram[G_ACK + (size_t)h * 16 + 1], 16);
	ck_assert_int_eq(s.g.ram[G_ACK + (size_t)h * 16 + 5], 250);
	vds_vdrv_free(&s.g.drv, id);
	vdpastate_cvq_cmd_free(c);
	vdpastate_cvq_cmd_free(set);
	side_free(&s);
}
END_TEST

/*
 * NOTF_COAL_VQ_GET of a queue that is not enabled (pair 2 of 4 while one
 * pair is on): ERR per spec, answered by the handle without asking the
 * device, and no result bytes are written.
 */
START_TEST(vq_get_not_enabled)
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_notf_coal_vq_get(2);
	struct side s;
	uint8_t wire[16];
	uint64_t cmds;
	int h, w;

	side_new(&s, NULL);
	w = vdpastate_cvq_cmd_encode(c, wire, sizeof(wire));
	ck_assert_int_gt(w, 0);
	cmds = sim_commands(&s);
	h = guest_post_raw(&s.g, wire, (size_t)w, 9);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	ck_assert_int_eq(guest_ack(&s.g, h), NET_ERR);
	ck_assert_int_eq(s.g.ram[G_ACK + (size_t)h * 16 + 1], 0xee);
	ck_assert_uint_eq(sim_commands(&s), cmds);
	vdpastate_cvq_cmd_free(c);
	side_free(&s);
}
END_TEST

/* Post wire bytes with a one-byte ack, run the handle, return the ack. */
static uint8_t guest_send_raw(struct side *s, const uint8_t *wire, size_t len)
{
	int h = guest_post_raw(&s->g, wire, len, 1);

	guest_kick(&s->g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s->dev), 1);
	return guest_ack(&s->g, h);
}

/*
 * How many commands of {cls, cmd} the commands a restore of ns sends hold
 * (vdpastate_netstate_to_cmds() with its features); the last into *found.
 * The list goes to *l_out, for the caller to free.
 */
static size_t restore_finds(const struct vdpastate_netstate *ns, uint8_t cls,
			    uint8_t cmd, struct vdpastate_cvq_cmdlist **l_out,
			    const struct vdpastate_cvq_cmd **found)
{
	size_t i, n = 0;

	ck_assert_int_eq(vdpastate_netstate_to_cmds(ns,
						    vdpastate_netstate_features(ns),
						    l_out), 0);
	for (i = 0; i < vdpastate_cvq_cmdlist_count(*l_out); i++) {
		const struct vdpastate_cvq_cmd *c =
			vdpastate_cvq_cmdlist_get(*l_out, i);

		if (vdpastate_cvq_cmd_class(c) == cls &&
		    vdpastate_cvq_cmd_command(c) == cmd) {
			*found = c;
			n++;
		}
	}
	return n;
}

/*
 * Linux 6.12 on a device with HASH_REPORT but not RSS, 4 queue pairs and
 * 4 vCPUs: virtnet_probe() sends the default hash configuration
 * (virtnet_init_default_rss(), virtnet_commit_rss_command()) with
 * max_tx_vq = curr_queue_pairs in what the spec calls reserved[3], then
 * _virtnet_set_queues() sends MQ_VQ_PAIRS_SET 4.  Both are OK; a restore
 * sends the hash configuration with reserved[] zero, as a device that
 * insists on the spec's zeroes wants.
 */
START_TEST(linux_hash_config)
{
	static const uint8_t hash_config[2 + 13 + 40] = {
		0x04, 0x02,             /* MQ, MQ_HASH_CONFIG */
		0x3f, 0x00, 0x00, 0x00, /* all nine types but the _EX ones */
		0x00, 0x00,             /* indirection_table_mask */
		0x00, 0x00,             /* unclassified_queue */
		0x00, 0x00,             /* hash_cfg_reserved */
		0x04, 0x00,             /* max_tx_vq: curr_queue_pairs */
		40,                     /* hash_key_length */
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
		0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
		0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
	};
	static const uint8_t pairs4[4] = { 0x04, 0x00, 0x04, 0x00 };
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS,
		       .device_features = (VDS_TEST_FEATURES & ~FB(RSS)) |
					  RB(VERSION_1) | RB(ACCESS_PLATFORM) |
					  RB(EVENT_IDX));
	static const uint8_t zero[8];
	const struct vdpastate_netstate *ns;
	const struct vdpastate_cvq_cmd *c = NULL;
	struct vdpastate_cvq_cmdlist *l;
	const uint8_t *key;
	uint8_t kl, wire[64];
	uint32_t types;
	struct side s;

	side_new_sim(&s, NULL, &o);
	ns = vdpastate_dev_netstate(s.dev);
	ck_assert(vdpastate_netstate_features(ns) & FB(HASH_REPORT));
	ck_assert(!(vdpastate_netstate_features(ns) & FB(RSS)));
	ck_assert_int_eq(guest_send_raw(&s, hash_config, sizeof(hash_config)),
			 NET_OK);
	ck_assert_int_eq(guest_send_raw(&s, pairs4, sizeof(pairs4)), NET_OK);
	ns = vdpastate_dev_netstate(s.dev);
	ck_assert_int_eq(vdpastate_netstate_hash_config(ns, &types, &key, &kl), 0);
	ck_assert_uint_eq(types, 0x3f);
	ck_assert_uint_eq(kl, 40);
	ck_assert_mem_eq(key, hash_config + 15, 40);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(ns), 4);
	assert_dev_equals_sim(&s);
	/* The commands a restore sends: HASH_CONFIG with zero reserved[]. */
	ck_assert_uint_eq(restore_finds(ns, VDPASTATE_CVQ_MQ,
					VDPASTATE_CVQ_MQ_HASH_CONFIG, &l, &c), 1);
	ck_assert_int_eq(vdpastate_cvq_cmd_encode(c, wire, sizeof(wire)),
			 (int)sizeof(hash_config));
	ck_assert_mem_eq(wire, hash_config, 6);
	ck_assert_mem_eq(wire + 6, zero, 8);
	ck_assert_mem_eq(wire + 14, hash_config + 14, 41);
	vdpastate_cvq_cmdlist_free(l);
	side_free(&s);
}
END_TEST

/* The bytes of NOTF_COAL_VQ_SET as Linux's virtnet_send_ctrl_coal_vq_cmd()
 * writes them: le16 vqn, le16 reserved (zeroed), le32 max_packets, le32
 * max_usecs. */
static void linux_coal_vq(uint8_t b[14], uint16_t vqn, uint32_t max_usecs,
			  uint32_t max_packets)
{
	memset(b, 0, 14);
	b[0] = 0x06; /* VIRTIO_NET_CTRL_NOTF_COAL */
	b[1] = 0x02; /* VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET */
	b[2] = (uint8_t)vqn;
	b[3] = (uint8_t)(vqn >> 8);
	b[6] = (uint8_t)max_packets;
	b[7] = (uint8_t)(max_packets >> 8);
	b[10] = (uint8_t)max_usecs;
	b[11] = (uint8_t)(max_usecs >> 8);
}

/*
 * Linux 6.12, 4 queue pairs of which 2 are in use: "ethtool -C eth0
 * tx-frames 32 tx-usecs 64 rx-frames 16 rx-usecs 50" sends TX_SET and RX_SET
 * (virtnet_send_tx_notf_coal_cmds(), virtnet_send_rx_notf_coal_cmds()),
 * then "ethtool -G" resizes every queue below max_queue_pairs and, per
 * pair i, sends VQ_SET for txq2vq(i) then rxq2vq(i) with the class values
 * (virtnet_set_ringparam(), virtnet_send_{tx,rx}_ctrl_coal_vq_cmd()),
 * pairs 2 and 3 included.  Every one must be OK, or the resize fails; the
 * state keeps only the class values, and a restore sends no VQ_SET.
 */
START_TEST(linux_ethtool_ring_resize)
{
	static const uint8_t pairs2[4] = { 0x04, 0x00, 0x02, 0x00 };
	static const uint8_t tx_set[10] = { 0x06, 0x00, 0x20, 0, 0, 0,
					    0x40, 0, 0, 0 };
	static const uint8_t rx_set[10] = { 0x06, 0x01, 0x10, 0, 0, 0,
					    0x32, 0, 0, 0 };
	const struct vdpastate_netstate *ns;
	const struct vdpastate_cvq_cmd *c = NULL;
	struct vdpastate_cvq_cmdlist *l;
	uint32_t pk, us;
	uint8_t b[14];
	uint16_t i;
	struct side s;

	side_new(&s, NULL);
	ck_assert_int_eq(guest_send_raw(&s, pairs2, sizeof(pairs2)), NET_OK);
	ck_assert_int_eq(guest_send_raw(&s, tx_set, sizeof(tx_set)), NET_OK);
	ck_assert_int_eq(guest_send_raw(&s, rx_set, sizeof(rx_set)), NET_OK);
	for (i = 0; i < PAIRS; i++) {
		linux_coal_vq(b, (uint16_t)(2 * i + 1), 64, 32);
		ck_assert_msg(guest_send_raw(&s, b, sizeof(b)) == NET_OK,
			      "VQ_SET of transmitq %u refused", i);
		linux_coal_vq(b, (uint16_t)(2 * i), 50, 16);
		ck_assert_msg(guest_send_raw(&s, b, sizeof(b)) == NET_OK,
			      "VQ_SET of receiveq %u refused", i);
	}
	ns = vdpastate_dev_netstate(s.dev);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(ns), 2);
	for (i = 0; i < 2 * PAIRS; i++) {
		ck_assert_int_eq(vdpastate_netstate_coal_vq(ns, i, &pk, &us), 0);
		ck_assert_uint_eq(pk, i & 1 ? 32 : 16);
		ck_assert_uint_eq(us, i & 1 ? 64 : 50);
	}
	assert_dev_equals_sim(&s);
	ck_assert_uint_eq(restore_finds(ns, VDPASTATE_CVQ_NOTF_COAL,
					VDPASTATE_CVQ_NOTF_COAL_VQ_SET, &l, &c), 0);
	vdpastate_cvq_cmdlist_free(l);
	side_free(&s);
}
END_TEST

/* Random sequences: the tracked state equals the device's after each. */
START_TEST(random_sequences)
{
	unsigned long n = vds_test_cases(200), k;
	struct vds_rand r = vds_rand_seed(23);

	for (k = 0; k < n; k++) {
		struct side s;
		unsigned int i, len = vds_rand(&r) % 24;

		side_new(&s, NULL);
		for (i = 0; i < len; i++) {
			const struct vdpastate_netstate *ns =
				vdpastate_dev_netstate(s.dev);
			struct vdpastate_netstate *model = vdpastate_netstate_copy(ns);
			struct vdpastate_cvq_cmd *c = vds_test_rand_cmd(&r, ns);
			bool ok = vdpastate_netstate_apply(model, c) == 0;
			int h = guest_post(&s.g, c);

			guest_kick(&s.g);
			ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
			ck_assert_int_eq(guest_ack(&s.g, h), ok ? NET_OK : NET_ERR);
			if (ok)
				ck_assert(vdpastate_netstate_equal(
					model, vdpastate_dev_netstate(s.dev)));
			vdpastate_cvq_cmd_free(c);
			vdpastate_netstate_free(model);
		}
		assert_dev_equals_sim(&s);
		side_free(&s);
	}
}
END_TEST

/* No answer: -ETIMEDOUT, the guest gets ERR, the state is unchanged. */
/* Is the next used entry there (without taking it)? */
static bool guest_has_used(struct guest *g)
{
	return vds_vdrv_more_used(&g->drv);
}

/*
 * The device answers late: past cvq_timeout_ms once, then it recovers.
 * The guest's command stays unanswered (never ERR for what the device
 * may still apply, never sent twice), later calls wait for that answer,
 * and the tracked state follows the device.  _i: 0 the next guest call
 * collects the answer, 1 the VMM's own send does (the guest is answered
 * at the next call), 2 a save does (the guest is answered before the
 * vring position is saved).
 */
START_TEST(timeout)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_timeout_ms = 20);
	struct vdpastate_netstate *before;
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(7);
	struct vdpastate_cvq_cmd *c2 = vdpastate_cvq_cmd_vlan_add(9);
	struct side s;
	uint64_t cmds;
	uint16_t la, ui;
	int h, h2;

	side_new(&s, &d);
	before = vdpastate_netstate_copy(vdpastate_dev_netstate(s.dev));
	cmds = sim_commands(&s);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, true), 0);
	h = guest_post(&s.g, c);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "VLAN_ADD"));
	/* Not answered: the device may still apply it. */
	ck_assert(!guest_has_used(&s.g));
	ck_assert(vdpastate_netstate_equal(before, vdpastate_dev_netstate(s.dev)));
	/* Still hanging: another call waits again and sends nothing new. */
	h2 = guest_post(&s.g, c2);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "still not"));
	ck_assert(!guest_has_used(&s.g));
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(s.dev, &la, &ui), 0);
	ck_assert_uint_eq(la, 0);
	ck_assert_uint_eq(ui, 0);
	/* The device recovers. */
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
	if (_i == 1) {
		struct vdpastate_cvq_cmd *v = vdpastate_cvq_cmd_vlan_add(11);

		ck_assert_int_eq(vdpastate_dev_send(s.dev, v), 0);
		vdpastate_cvq_cmd_free(v);
		ck_assert_int_eq(vdpastate_netstate_vlan(
					 vdpastate_dev_netstate(s.dev), 11), 1);
	} else if (_i == 2) {
		struct vdpastate_blob *b = vdpastate_blob_new();

		ck_assert_int_eq(vdpastate_dev_save(s.dev, b), 0);
		ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_blob_netstate(b),
							 7), 1);
		/* Answered before the position was taken. */
		ck_assert_int_eq(vdpastate_dev_guest_cvq_state(s.dev, &la, &ui), 0);
		ck_assert_uint_eq(la, 1);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
		vdpastate_blob_free(b);
		ck_assert_int_eq(vdpastate_transport_resume(s.t), 0);
	}
	if (_i != 2) {
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 2);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
	} else {
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	}
	ck_assert_int_eq(guest_ack(&s.g, h2), NET_OK);
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_dev_netstate(s.dev), 7),
			 1);
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_dev_netstate(s.dev), 9),
			 1);
	assert_dev_equals_sim(&s);
	/* Each command reached the device once. */
	ck_assert_uint_eq(sim_commands(&s) - cmds, _i == 1 ? 3 : 2);
	vdpastate_netstate_free(before);
	vdpastate_cvq_cmd_free(c);
	vdpastate_cvq_cmd_free(c2);
	side_free(&s);
}
END_TEST

/*
 * The VMM sets the guest ring again while a guest command is late on the
 * device.  _i 0: the same ring at the same position (a new memory table):
 * the command is still the guest's, never sent twice, answered when the
 * device answers.  _i 1: the ring removed, then a fresh one set (the
 * guest reset its control queue): the old answer reaches no guest, and
 * the next command that is late waits for its own answer.
 */
START_TEST(set_again_while_late)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_timeout_ms = 20);
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_rx_promisc(true);
	struct vdpastate_cvq_cmd *c2 = vdpastate_cvq_cmd_vlan_add(9);
	struct vdpastate_dev_guest_cvq cfg;
	struct side s;
	uint64_t cmds;
	int h;

	side_new(&s, &d);
	cmds = sim_commands(&s);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, true), 0);
	h = guest_post(&s.g, c);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -ETIMEDOUT);
	if (_i == 0) {
		cfg = guest_cfg(&s.g);
		ck_assert_int_eq(vdpastate_dev_guest_cvq_state(s.dev,
							       &cfg.last_avail_idx,
							       &cfg.used_idx),
				 0);
		ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, &cfg), 0);
		ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
		ck_assert_uint_eq(sim_commands(&s) - cmds, 1);
	} else {
		struct vdpastate_cvq_cmd *v = vdpastate_cvq_cmd_vlan_add(11);

		ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, NULL), 0);
		guest_fini(&s.g);
		guest_init(&s.g, test_features(&s));
		cfg = guest_cfg(&s.g);
		ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, &cfg), 0);
		/* The VMM's send collects the old answer. */
		ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
		ck_assert_int_eq(vdpastate_dev_send(s.dev, v), 0);
		vdpastate_cvq_cmd_free(v);
		ck_assert(!guest_has_used(&s.g));
		/* A new guest command, late too: it gets its own answer. */
		ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, true), 0);
		h = guest_post(&s.g, c2);
		guest_kick(&s.g);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -ETIMEDOUT);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -ETIMEDOUT);
		ck_assert(!guest_has_used(&s.g));
		ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
		ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_dev_netstate(s.dev),
							 9), 1);
		ck_assert_uint_eq(sim_commands(&s) - cmds, 3);
	}
	ck_assert(!guest_has_used(&s.g));
	ck_assert(vdpastate_netstate_rx_mode(vdpastate_dev_netstate(s.dev)) &
		  1u << VDPASTATE_CVQ_RX_PROMISC);
	assert_dev_equals_sim(&s);
	vdpastate_cvq_cmd_free(c);
	vdpastate_cvq_cmd_free(c2);
	side_free(&s);
}
END_TEST

struct odd_device {
	struct fake_cvq q;
	int ack;
};

/* The device's answer in time: from another thread, while the handle
 * waits for it. */
static void *odd_answer(void *arg)
{
	struct odd_device *o = arg;

	while (fake_cvq_take(&o->q, 1) == -EAGAIN)
		usleep(100);
	fake_cvq_answer(&o->q, 0, o->ack);
	return NULL;
}

/*
 * A device that answers neither OK nor ERR (an ack of 0x7f, or no ack
 * byte): the guest sees VIRTIO_NET_ERR and the tracked state does not
 * change.  _i 0, 1: in time (a thread plays the device of the fake
 * transport's control queue); 2, 3: late.
 */
START_TEST(odd_answer_is_err)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, o, .cvq_timeout_ms = _i < 2 ? 5000 : 20);
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t = vdpastate_transport_new(&fake_ops,
							      sizeof(fake_ops), d);
	struct vdpastate_dev *dev = vdpastate_dev_open(t, &o);
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_mq_vq_pairs_set(2);
	struct vdpastate_dev_guest_cvq cfg;
	struct odd_device od = { .ack = _i % 2 ? -1 : 0x7f };
	struct guest g;
	pthread_t th;
	int h;

	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(vdpastate_dev_start(dev, FAKE_FEATURES), 0);
	ck_assert_int_eq(fake_cvq_attach(&od.q, d), 0);
	guest_init(&g, FAKE_FEATURES);
	cfg = guest_cfg(&g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(dev, &cfg), 0);
	h = guest_post(&g, c);
	guest_kick(&g);
	if (_i < 2) {
		ck_assert_int_eq(pthread_create(&th, NULL, odd_answer, &od), 0);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(dev), 1);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
	} else {
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(dev), -ETIMEDOUT);
		ck_assert_int_eq(fake_cvq_take(&od.q, 1), 0);
		fake_cvq_answer(&od.q, 0, od.ack);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(dev), 1);
	}
	ck_assert_int_eq(guest_ack(&g, h), NET_ERR);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(vdpastate_dev_netstate(dev)),
			  1);
	vdpastate_cvq_cmd_free(c);
	fake_cvq_detach(&od.q);
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
	guest_fini(&g);
}
END_TEST

/*
 * A guest that keeps posting cannot keep one call looping: at most
 * VDPASTATE_DEV_GUEST_CVQ_BUDGET commands per call, then the kick fd is
 * signalled so the VMM calls again (CVE-2019-3900).
 */
START_TEST(budget)
{
	const unsigned int n = VDPASTATE_DEV_GUEST_CVQ_BUDGET + 44;
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(5);
	struct vdpastate_dev_guest_cvq cfg;
	struct side s;
	uint64_t v = 0;
	unsigned int i;
	int heads[VDPASTATE_DEV_GUEST_CVQ_BUDGET + 44];

	side_new(&s, NULL);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, NULL), 0);
	guest_fini(&s.g);
	guest_init_num(&s.g, test_features(&s), G_NUM_MAX);
	cfg = guest_cfg(&s.g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, &cfg), 0);
	for (i = 0; i < n; i++)
		heads[i] = guest_post(&s.g, c);
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev),
			 VDPASTATE_DEV_GUEST_CVQ_BUDGET);
	/* The kick fd fires again for the rest. */
	ck_assert_int_eq(read(s.g.kick, &v, sizeof(v)), sizeof(v));
	ck_assert_uint_ge(v, 1);
	ck_assert_int_eq(write(s.g.kick, &v, sizeof(v)), sizeof(v));
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 44);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(guest_ack(&s.g, heads[i]),
				 NET_OK);
	/* Nothing left: no self-kick. */
	ck_assert_int_lt(read(s.g.kick, &v, sizeof(v)), 0);
	assert_dev_equals_sim(&s);
	vdpastate_cvq_cmd_free(c);
	side_free(&s);
}
END_TEST

/*
 * _i: how the guest breaks its ring: 0 no writable ack byte, 1 a buffer
 * that starts in guest memory and ends outside it (CVE-2018-1059), 2 an
 * avail index that jumps by more than the ring.
 */
START_TEST(broken_guest_ring)
{
	const uint8_t promisc[3] = { VDPASTATE_CVQ_RX, VDPASTATE_CVQ_RX_PROMISC, 1 };
	struct vdpastate_dev_guest_cvq c;
	struct side s;
	uint64_t cmds;
	int h, good = -1;

	side_new(&s, NULL);
	if (_i < 2) {
		/* A good command first, in the same kick: it is answered. */
		struct vdpastate_cvq_cmd *cmd = vdpastate_cvq_cmd_vlan_add(8);

		good = guest_post(&s.g, cmd);
		vdpastate_cvq_cmd_free(cmd);
	}
	cmds = sim_commands(&s);
	if (_i == 0) {
		guest_post_raw(&s.g, promisc, sizeof(promisc), 0);
		guest_kick(&s.g);
	} else if (_i == 1) {
		struct vds_desc *d;

		h = guest_post_raw(&s.g, promisc, sizeof(promisc), 1);
		d = (struct vds_desc *)(s.g.ram + G_DESC) + h;
		d->addr = G_GPA + G_SIZE - 2; /* 3 bytes: one past the end */
		guest_kick(&s.g);
	} else {
		guest_kick(&s.g);
		((struct vds_avail *)(s.g.ram + G_AVAIL))->idx = G_NUM + 1;
	}
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -VDPASTATE_EGUEST);
	if (_i < 2) {
		ck_assert_int_eq(guest_ack(&s.g, good), NET_OK);
		cmds++;
	}
	/* Disabled until set again; nothing else reached the device. */
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), -VDPASTATE_EGUEST);
	ck_assert_uint_eq(sim_commands(&s), cmds);
	/* The handle's own control ring still works. */
	{
		struct vdpastate_cvq_cmd *cmd = vdpastate_cvq_cmd_vlan_add(9);

		ck_assert_int_eq(vdpastate_dev_send(s.dev, cmd), 0);
		vdpastate_cvq_cmd_free(cmd);
	}
	/* A fresh guest ring after a guest reset works again. */
	guest_fini(&s.g);
	guest_init(&s.g, test_features(&s));
	c = guest_cfg(&s.g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(s.dev, &c), 0);
	{
		struct vdpastate_cvq_cmd *cmd = vdpastate_cvq_cmd_vlan_add(10);

		h = guest_post(&s.g, cmd);
		vdpastate_cvq_cmd_free(cmd);
	}
	guest_kick(&s.g);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
	ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
	assert_dev_equals_sim(&s);
	side_free(&s);
}
END_TEST

/*
 * The guest's ring position travels in the blob: the destination's guest
 * (a copy of the source's memory, as RAM migration gives it) continues.
 * _i: 0 full restore, 1 early restore.
 */
START_TEST(position_migrates)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	struct vdpastate_dev_guest_cvq c;
	struct vdpastate_blob *b = vdpastate_blob_new();
	struct vdpastate_transport *t2;
	struct vdpastate_dev *d2;
	struct guest g2;
	struct side s;
	uint16_t la, ui;
	unsigned int i;
	int h;

	side_new(&s, NULL);
	/* 21 commands: the 16-entry ring wraps once. */
	for (i = 0; i < 21; i++) {
		struct vdpastate_cvq_cmd *cmd = vdpastate_cvq_cmd_vlan_add(
			(uint16_t)(200 + i));

		h = guest_post(&s.g, cmd);
		vdpastate_cvq_cmd_free(cmd);
		guest_kick(&s.g);
		ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(s.dev), 1);
		ck_assert_int_eq(guest_ack(&s.g, h), NET_OK);
	}
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(s.dev, &la, &ui), 0);
	ck_assert_uint_eq(la, 21);
	ck_assert_uint_eq(ui, 21);
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), 0);

	/* Destination: guest memory copied, ring set up from position 0. */
	t2 = vdpastate_sim_new(&o);
	ck_assert_ptr_nonnull(t2);
	d2 = vdpastate_dev_open(t2, NULL);
	ck_assert_ptr_nonnull(d2);
	guest_init(&g2, s.g.features);
	memcpy(g2.ram, s.g.ram, G_SIZE);
	vds_vdrv_fini(&g2.drv);
	g2.drv = s.g.drv; /* the guest driver's own state, as in its RAM */
	memset(&s.g.drv, 0, sizeof(s.g.drv));
	g2.drv.desc = (void *)(g2.ram + G_DESC);
	g2.drv.avail = (void *)(g2.ram + G_AVAIL);
	g2.drv.used = (void *)(g2.ram + G_USED);
	c = guest_cfg(&g2);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d2, &c), 0);
	if (_i == 0) {
		ck_assert_int_eq(vdpastate_dev_restore(d2, b), 0);
	} else {
		ck_assert_int_eq(vdpastate_dev_restore_begin(d2, b), 0);
		ck_assert_int_eq(vdpastate_dev_restore_commit(d2, b), 0);
	}
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d2, &la, &ui), 0);
	ck_assert_uint_eq(la, 21);
	ck_assert_uint_eq(ui, 21);
	{
		struct vdpastate_cvq_cmd *cmd = vdpastate_cvq_cmd_vlan_add(300);
		uint64_t one = 1;

		h = guest_post(&g2, cmd);
		vdpastate_cvq_cmd_free(cmd);
		vds_vdrv_want_calls(&g2.drv, true);
		vds_vdrv_publish(&g2.drv);
		ck_assert_int_eq(write(g2.kick, &one, sizeof(one)), sizeof(one));
	}
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(d2), 1);
	ck_assert_int_eq(guest_ack(&g2, h), NET_OK);
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(vdpastate_dev_netstate(d2)),
			  22);
	{
		uint64_t v;

		/* The guest asked for notifications: its call fd fired. */
		ck_assert_int_eq(read(g2.call, &v, sizeof(v)), sizeof(v));
	}
	vdpastate_blob_free(b);
	vdpastate_dev_free(d2);
	vdpastate_transport_free(t2);
	guest_fini(&g2);
	side_free(&s);
}
END_TEST

START_TEST(bad_input)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o);
	struct vdpastate_transport *t = vdpastate_sim_new(&o);
	struct vdpastate_dev *d = vdpastate_dev_open(t, NULL);
	struct vdpastate_dev_guest_cvq c, bad;
	struct guest g;
	uint16_t la = 77, ui = 77;

	guest_init(&g, 0);
	c = guest_cfg(&g);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(NULL, &c), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(d), -ENOENT);
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, &la, &ui), -ENOENT);
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, NULL, &ui), -EINVAL);
	bad = c;
	bad.num = 0;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	bad.num = 12;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	bad = c;
	bad.desc += 8;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	bad = c;
	bad.used = G_GPA + G_SIZE - 8; /* the used ring leaves guest memory */
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EFAULT);
	bad = c;
	bad.mem = NULL;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	bad = c;
	bad.reserved0 = 1;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	bad = c;
	bad.kick_fd = -2;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EBADF);
	bad = c;
	bad.sz = 1;
	ck_assert_int_lt(vdpastate_dev_set_guest_cvq(d, &bad), 0);
	/* None of those set anything. */
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, &la, &ui), -ENOENT);
	ck_assert_uint_eq(la, 77);
	/* Set, but the device is not started. */
	c.last_avail_idx = c.used_idx = 5;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &c), 0);
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, &la, &ui), 0);
	ck_assert_uint_eq(la, 5);
	ck_assert_uint_eq(ui, 5);
	ck_assert_int_eq(vdpastate_dev_handle_guest_cvq(d), -ENOENT);
	/* A bad replacement keeps the one set. */
	bad = c;
	bad.num = 3;
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, &bad), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, &la, &ui), 0);
	ck_assert_uint_eq(la, 5);
	ck_assert_int_eq(vdpastate_dev_set_guest_cvq(d, NULL), 0);
	ck_assert_int_eq(vdpastate_dev_guest_cvq_state(d, &la, &ui), -ENOENT);
	vdpastate_dev_free(d);
	vdpastate_transport_free(t);
	guest_fini(&g);
}
END_TEST

Suite *guestcvq_suite(void)
{
	Suite *s = suite_create("guestcvq");
	TCase *tc = tcase_create("guestcvq");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, ok_err_and_refused);
	tcase_add_test(tc, mac_not_negotiated);
	tcase_add_test(tc, query_result);
	tcase_add_test(tc, vq_get_not_enabled);
	tcase_add_test(tc, linux_hash_config);
	tcase_add_test(tc, linux_ethtool_ring_resize);
	tcase_add_loop_test(tc, timeout, 0, 3);
	tcase_add_test(tc, budget);
	tcase_add_loop_test(tc, set_again_while_late, 0, 2);
	tcase_add_loop_test(tc, odd_answer_is_err, 0, 4);
	tcase_add_loop_test(tc, broken_guest_ring, 0, 3);
	tcase_add_loop_test(tc, position_migrates, 0, 2);
	tcase_add_test(tc, random_sequences);
	suite_add_tcase(s, tc);
	return s;
}
