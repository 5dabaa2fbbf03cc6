/* SPDX-License-Identifier: MIT */
/*
 * tests/check_netstate.c - the virtio-net state model: reset defaults,
 * apply, and the property tests: applying to_cmds(s) to a reset device
 * gives s, and applying diff(a, b) to a gives b, for random states.
 * VDS_PROPERTY_CASES sets the number of random cases (default 10000).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "suites.h"
#include "tests_rand.h"

#define FB(b) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##b)

static const uint8_t MAC0[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };

/* The features every random state uses: all CVQ classes and offloads. */
const uint64_t VDS_TEST_FEATURES =
	FB(CTRL_VQ) | FB(CTRL_RX) | FB(CTRL_RX_EXTRA) | FB(CTRL_MAC_ADDR) |
	FB(CTRL_VLAN) | FB(GUEST_ANNOUNCE) | FB(MQ) | FB(RSS) |
	FB(HASH_REPORT) | FB(CTRL_GUEST_OFFLOADS) | FB(NOTF_COAL) |
	FB(VQ_NOTF_COAL) | FB(STATUS) | FB(MTU) | FB(MAC) | FB(GUEST_CSUM) |
	FB(GUEST_TSO4) | FB(GUEST_TSO6) | FB(GUEST_USO4);

void vds_test_config(struct vdpastate_netstate_config *c, uint64_t features,
		     uint16_t pairs)
{
	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	c->features = features;
	memcpy(c->mac, MAC0, 6);
	c->status = VDPASTATE_NET_S_LINK_UP | VDPASTATE_NET_S_ANNOUNCE;
	c->max_virtqueue_pairs = pairs;
	c->mtu = 1500;
	c->rss_max_indirection_table_length = 128;
	c->rss_max_key_size = 40;
	c->supported_hash_types = VDPASTATE_NET_HASH_ALL;
}

static struct vdpastate_netstate *reset_state(uint64_t features, uint16_t pairs)
{
	struct vdpastate_netstate_config c;

	vds_test_config(&c, features, pairs);
	return vdpastate_netstate_new(&c);
}

unsigned long vds_test_cases(unsigned long def)
{
	const char *e = getenv("VDS_PROPERTY_CASES");

	return e && *e ? strtoul(e, NULL, 10) : def;
}

static void rand_mac(struct vds_rand *r, uint8_t *m, bool multi)
{
	unsigned int i;

	for (i = 0; i < 6; i++)
		m[i] = (uint8_t)vds_rand(r);
	m[0] = multi ? (m[0] | 1) : (m[0] & 0xfe);
}

/* One random command that a device in state s accepts. */
struct vdpastate_cvq_cmd *vds_test_rand_cmd(struct vds_rand *r,
					    const struct vdpastate_netstate *s)
{
	struct vdpastate_netstate_config c = { .sz = sizeof(c) };
	uint8_t macs[6 * 140], key[40];
	uint16_t table[128];
	uint32_t i, nu, nm, tl;
	uint16_t mp, act;

	vdpastate_netstate_get_config(s, &c);
	mp = c.max_virtqueue_pairs;
	act = vdpastate_netstate_active_pairs(s);
	switch (vds_rand(r) % 16) {
	case 0:
	case 1:
		switch (vds_rand(r) % 6) {
		case 0: return vdpastate_cvq_cmd_rx_promisc(vds_rand(r) & 1);
		case 1: return vdpastate_cvq_cmd_rx_allmulti(vds_rand(r) & 1);
		case 2: return vdpastate_cvq_cmd_rx_alluni(vds_rand(r) & 1);
		case 3: return vdpastate_cvq_cmd_rx_nomulti(vds_rand(r) & 1);
		case 4: return vdpastate_cvq_cmd_rx_nouni(vds_rand(r) & 1);
		default: return vdpastate_cvq_cmd_rx_nobcast(vds_rand(r) & 1);
		}
	case 2:
		rand_mac(r, macs, false);
		return vdpastate_cvq_cmd_mac_addr_set(macs);
	case 3:
		nu = vds_rand(r) % 8 ? vds_rand(r) % 4 : 60 + vds_rand(r) % 10;
		nm = vds_rand(r) % 4;
		for (i = 0; i < nu + nm; i++)
			rand_mac(r, macs + 6 * i, i >= nu);
		return vdpastate_cvq_cmd_mac_table_set(macs, nu, macs + 6 * nu, nm);
	case 4:
	case 5:
	case 6:
		/* A small id range so adds and dels meet. */
		i = vds_rand(r) % 4 ? vds_rand(r) % 64 : vds_rand(r) % 4096;
		return vds_rand(r) % 3 ? vdpastate_cvq_cmd_vlan_add((uint16_t)i)
				       : vdpastate_cvq_cmd_vlan_del((uint16_t)i);
	case 7:
		return vdpastate_cvq_cmd_mq_vq_pairs_set(
			(uint16_t)(1 + vds_rand(r) % mp));
	case 8:
		tl = 1u << (vds_rand(r) % 8);
		for (i = 0; i < tl; i++)
			table[i] = (uint16_t)(vds_rand(r) % mp);
		for (i = 0; i < 40; i++)
			key[i] = (uint8_t)vds_rand(r);
		return vdpastate_cvq_cmd_mq_rss_config(
			vds_rand(r) & VDPASTATE_NET_HASH_ALL, table, tl,
			(uint16_t)(vds_rand(r) % mp), (uint16_t)(1 + vds_rand(r) % mp),
			key, (uint8_t)(vds_rand(r) % 41));
	case 9:
		for (i = 0; i < 40; i++)
			key[i] = (uint8_t)vds_rand(r);
		return vdpastate_cvq_cmd_mq_hash_config(
			vds_rand(r) % 3 ? vds_rand(r) & VDPASTATE_NET_HASH_ALL : 0,
			key, (uint8_t)(vds_rand(r) % 41));
	case 10:
		return vdpastate_cvq_cmd_guest_offloads_set(
			vds_rand64(r) & c.features & VDPASTATE_NET_OFFLOADS_MASK);
	case 11:
		return vdpastate_cvq_cmd_notf_coal_tx_set(vds_rand(r) % 3,
							  vds_rand(r) % 3);
	case 12:
		return vdpastate_cvq_cmd_notf_coal_rx_set(vds_rand(r) % 3,
							  vds_rand(r) % 3);
	case 13:
	case 14:
		/* Now and then a queue not in use, as Linux's ethtool -G. */
		i = vds_rand(r) % 4 ? act : mp;
		i = vds_rand(r) % (2u * i);
		return vdpastate_cvq_cmd_notf_coal_vq_set(
			(uint16_t)i, vds_rand(r) % 3, vds_rand(r) % 3);
	default:
		return vds_rand(r) & 1 ? vdpastate_cvq_cmd_notf_coal_vq_get(0)
				       : vdpastate_cvq_cmd_stats_query();
	}
}

void vds_test_mutate(struct vds_rand *r, struct vdpastate_netstate *s,
		     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct vdpastate_cvq_cmd *c = vds_test_rand_cmd(r, s);
		int err;

		ck_assert_ptr_nonnull(c);
		if (vdpastate_cvq_cmd_class(c) == VDPASTATE_CVQ_STATS) {
			/* Not negotiated in the test features: rejected, no change. */
			ck_assert_int_eq(vdpastate_netstate_apply(s, c),
					 -VDPASTATE_EFEATURE);
			vdpastate_cvq_cmd_free(c);
			continue;
		}
		err = vdpastate_netstate_apply(s, c);
		ck_assert_msg(err == 0, "apply %s: %s", vdpastate_cvq_cmd_name(c),
			      vdpastate_last_error());
		vdpastate_cvq_cmd_free(c);
	}
}

struct vdpastate_netstate *vds_test_rand_state(struct vds_rand *r,
					       uint16_t pairs)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, pairs);

	ck_assert_ptr_nonnull(s);
	vds_test_mutate(r, s, vds_rand(r) % 40);
	return s;
}

static void apply_list(struct vdpastate_netstate *s,
		       const struct vdpastate_cvq_cmdlist *l)
{
	size_t i;

	for (i = 0; i < vdpastate_cvq_cmdlist_count(l); i++) {
		const struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmdlist_get(l, i);

		ck_assert_msg(vdpastate_netstate_apply(s, c) == 0, "cmd %zu %s: %s",
			      i, vdpastate_cvq_cmd_name(c), vdpastate_last_error());
	}
}

/* The documented order: MAC, MQ, offloads, RX, MAC table, VLAN, coalescing. */
static int rank(const struct vdpastate_cvq_cmd *c)
{
	switch (vdpastate_cvq_cmd_class(c)) {
	case VDPASTATE_CVQ_MAC:
		return vdpastate_cvq_cmd_command(c) == VDPASTATE_CVQ_MAC_ADDR_SET ? 0 : 4;
	case VDPASTATE_CVQ_MQ: return 1;
	case VDPASTATE_CVQ_GUEST_OFFLOADS: return 2;
	case VDPASTATE_CVQ_RX: return 3;
	case VDPASTATE_CVQ_VLAN: return 5;
	default: return 6;
	}
}

START_TEST(reset_defaults)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, 4);
	struct vdpastate_cvq_cmdlist *l = NULL;
	uint8_t mac[6];
	uint32_t nu = 9, nm = 9, ht = 9, pk = 9, us = 9;
	uint8_t kl = 9;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(vdpastate_netstate_mac(s, mac), 0);
	ck_assert_mem_eq(mac, MAC0, 6);
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(s), VDPASTATE_NETSTATE_RX_PROMISC);
	ck_assert_int_eq(vdpastate_netstate_mac_table(s, NULL, &nu, NULL, &nm), 0);
	ck_assert_uint_eq(nu + nm, 0);
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(s), 0);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(s), 1);
	ck_assert_uint_eq(vdpastate_netstate_active_pairs(s), 1);
	ck_assert(!vdpastate_netstate_rss_enabled(s));
	ck_assert_int_eq(vdpastate_netstate_rss(s, NULL, NULL, NULL, NULL, NULL,
						NULL, NULL), -ENOENT);
	ck_assert_int_eq(vdpastate_netstate_hash_config(s, &ht, NULL, &kl), 0);
	ck_assert_uint_eq(ht + kl, 0);
	ck_assert_uint_eq(vdpastate_netstate_guest_offloads(s),
			  VDS_TEST_FEATURES & VDPASTATE_NET_OFFLOADS_MASK);
	ck_assert_int_eq(vdpastate_netstate_coal_tx(s, &pk, &us), 0);
	ck_assert_uint_eq(pk + us, 0);
	ck_assert_int_eq(vdpastate_netstate_coal_vq(s, 7, &pk, &us), 0);
	ck_assert_uint_eq(pk + us, 0);
	ck_assert_int_eq(vdpastate_netstate_coal_vq(s, 8, &pk, &us), -EINVAL);
	ck_assert_uint_eq(vdpastate_netstate_status(s), 3);
	ck_assert_uint_eq(vdpastate_netstate_features(s), VDS_TEST_FEATURES);

	/* A reset state still needs the MAC and the six RX modes: the spec
	 * gives no reset value for them.  Everything else is left out. */
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES, &l), 0);
	ck_assert_uint_eq(vdpastate_cvq_cmdlist_count(l), 7);
	ck_assert_str_eq(vdpastate_cvq_cmd_name(vdpastate_cvq_cmdlist_get(l, 0)),
			 "MAC_ADDR_SET");
	ck_assert_str_eq(vdpastate_cvq_cmd_name(vdpastate_cvq_cmdlist_get(l, 1)),
			 "RX_PROMISC");
	ck_assert_int_eq(vdpastate_cvq_cmd_rx_value(vdpastate_cvq_cmdlist_get(l, 1)), 1);
	vdpastate_cvq_cmdlist_free(l);
	/* Without CTRL_RX, RX_EXTRA and CTRL_MAC_ADDR there is nothing to send. */
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES &
						    ~(FB(CTRL_RX) | FB(CTRL_RX_EXTRA) |
						      FB(CTRL_MAC_ADDR)), &l), 0);
	ck_assert_uint_eq(vdpastate_cvq_cmdlist_count(l), 0);
	vdpastate_cvq_cmdlist_free(l);
	vdpastate_netstate_free(s);
	vdpastate_netstate_free(NULL);

	/* NULL config: no feature; no command can apply. */
	s = vdpastate_netstate_new(NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(vdpastate_netstate_guest_offloads(s), 0);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, 0, &l), 0);
	ck_assert_uint_eq(vdpastate_cvq_cmdlist_count(l), 0);
	vdpastate_cvq_cmdlist_free(l);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(config_rejects)
{
	struct vdpastate_netstate_config c;

#define BAD(field, value, text)                                              \
	do {                                                                  \
		vds_test_config(&c, VDS_TEST_FEATURES, 4);                    \
		c.field = value;                                              \
		errno = 0;                                                    \
		ck_assert_ptr_null(vdpastate_netstate_new(&c));               \
		ck_assert_int_eq(errno, EINVAL);                              \
		ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), text));  \
	} while (0)
	BAD(max_virtqueue_pairs, 0, "max_virtqueue_pairs 0 out of range");
	BAD(max_virtqueue_pairs, 0x8001, "max_virtqueue_pairs 32769");
	BAD(mtu, 67, "mtu 67 below 68");
	BAD(rss_max_indirection_table_length, 127, "rss_max_indirection_table_length 127");
	BAD(rss_max_key_size, 39, "rss_max_key_size 39 below 40");
	BAD(supported_hash_types, 0x200, "supported_hash_types 0x200");
	BAD(status, 4, "status 0x4 has undefined bits");
	BAD(reserved0, 1, "reserved fields");
	BAD(reserved1, 1, "reserved fields");
#undef BAD
	/* Fields a missing feature brings are ignored. */
	vds_test_config(&c, FB(CTRL_VQ), 0);
	c.mtu = 1;
	c.rss_max_key_size = 1;
	c.status = 0xff;
	ck_assert_ptr_nonnull(c.sz ? (void *)1 : NULL);
	{
		struct vdpastate_netstate *s = vdpastate_netstate_new(&c);
		struct vdpastate_netstate_config o = { .sz = sizeof(o) };

		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(vdpastate_netstate_get_config(s, &o), 0);
		ck_assert_uint_eq(o.mtu, 0);
		ck_assert_uint_eq(o.max_virtqueue_pairs, 1);
		ck_assert_uint_eq(o.status, 0);
		o.sz = 2;
		ck_assert_int_eq(vdpastate_netstate_get_config(s, &o), -EINVAL);
		vdpastate_netstate_free(s);
	}
}
END_TEST

START_TEST(apply_rejects_leave_state)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES & ~FB(CTRL_VLAN), 2);
	struct vdpastate_netstate *before = vdpastate_netstate_copy(s);
	struct vdpastate_cvq_cmd *c;
	uint16_t t[2] = { 0, 2 };

	c = vdpastate_cvq_cmd_vlan_add(5);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), -VDPASTATE_EFEATURE);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "CTRL_VLAN"));
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_notf_coal_vq_set(4, 1, 1); /* max pairs is 2 */
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), -ERANGE);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "vq_index 4 is not a data virtqueue"));
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_mq_rss_config(1, t, 2, 0, 1, NULL, 0);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), -ERANGE);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "indirection_table[1] 2"));
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_mq_vq_pairs_set(3);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), -ERANGE);
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_guest_offloads_set(FB(GUEST_UFO));
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), -VDPASTATE_EFEATURE);
	vdpastate_cvq_cmd_free(c);
	ck_assert(vdpastate_netstate_equal(s, before));
	ck_assert_int_eq(vdpastate_netstate_apply(s, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_netstate_apply(NULL, NULL), -EINVAL);
	vdpastate_netstate_free(s);
	vdpastate_netstate_free(before);
}
END_TEST

/*
 * NOTF_COAL_VQ_GET of a virtqueue that is not enabled: the spec has the
 * device answer ERR, so the model refuses it.  Enabled: within the pairs
 * VQ_PAIRS_SET turned on, or, with RSS, the queues RSS_CONFIG uses.
 */
START_TEST(vq_get_needs_enabled_queue)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, 4);
	struct vdpastate_netstate *before = vdpastate_netstate_copy(s);
	struct vdpastate_cvq_cmd *c;
	uint16_t t[2] = { 0, 2 };

#define GET(vq, want)                                                   \
	do {                                                            \
		c = vdpastate_cvq_cmd_notf_coal_vq_get(vq);             \
		ck_assert_int_eq(vdpastate_netstate_apply(s, c), want); \
		vdpastate_cvq_cmd_free(c);                              \
	} while (0)
	GET(0, 0);
	GET(1, 0);
	GET(2, -EINVAL);
	ck_assert_msg(strstr(vdpastate_last_error(), "NOTF_COAL_VQ_GET: vq_index 2 "
			     "is not an enabled data virtqueue (1 queue pairs "
			     "in use)"), "%s", vdpastate_last_error());
	GET(7, -EINVAL);
	ck_assert(vdpastate_netstate_equal(s, before));
	c = vdpastate_cvq_cmd_mq_vq_pairs_set(2);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);
	vdpastate_cvq_cmd_free(c);
	GET(3, 0);
	GET(4, -EINVAL);
	/* RSS: receive queue 2 is in the table, so pairs 0..2 are on. */
	c = vdpastate_cvq_cmd_mq_rss_config(1, t, 2, 0, 1, NULL, 0);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);
	vdpastate_cvq_cmd_free(c);
	GET(5, 0);
	GET(6, -EINVAL);
#undef GET
	vdpastate_netstate_free(s);
	vdpastate_netstate_free(before);
}
END_TEST

/*
 * NOTF_COAL_VQ_SET of a virtqueue below max_virtqueue_pairs but beyond
 * the pairs in use (Linux's ethtool -G sends one for every queue): taken,
 * and nothing recorded, since a queue enabled later starts with the class
 * value (spec) and a restore must not send VQ_SET to a disabled queue.
 */
START_TEST(vq_set_disabled_queue_records_nothing)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, 4);
	struct vdpastate_netstate *before;
	struct vdpastate_cvq_cmdlist *l;
	struct vdpastate_cvq_cmd *c;
	uint32_t pk, us;
	size_t i;

#define DO(expr)                                                       \
	do {                                                            \
		c = (expr);                                             \
		ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);    \
		vdpastate_cvq_cmd_free(c);                              \
	} while (0)
	DO(vdpastate_cvq_cmd_mq_vq_pairs_set(2));
	DO(vdpastate_cvq_cmd_notf_coal_rx_set(16, 50));
	before = vdpastate_netstate_copy(s);
	c = vdpastate_cvq_cmd_notf_coal_vq_set(6, 9, 9);
	ck_assert_msg(vdpastate_netstate_apply(s, c) == 0, "%s",
		      vdpastate_last_error());
	vdpastate_cvq_cmd_free(c);
	ck_assert(vdpastate_netstate_equal(s, before));
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES, &l), 0);
	for (i = 0; i < vdpastate_cvq_cmdlist_count(l); i++) {
		c = (struct vdpastate_cvq_cmd *)vdpastate_cvq_cmdlist_get(l, i);
		ck_assert(vdpastate_cvq_cmd_class(c) != VDPASTATE_CVQ_NOTF_COAL ||
			  vdpastate_cvq_cmd_command(c) !=
				  VDPASTATE_CVQ_NOTF_COAL_VQ_SET);
	}
	vdpastate_cvq_cmdlist_free(l);
	/* Enabled later, the queue has the class value. */
	DO(vdpastate_cvq_cmd_mq_vq_pairs_set(4));
	ck_assert_int_eq(vdpastate_netstate_coal_vq(s, 6, &pk, &us), 0);
	ck_assert_uint_eq(pk, 16);
	ck_assert_uint_eq(us, 50);
	/* An enabled queue's own value is kept, as before. */
	DO(vdpastate_cvq_cmd_notf_coal_vq_set(6, 9, 9));
	ck_assert_int_eq(vdpastate_netstate_coal_vq(s, 6, &pk, &us), 0);
	ck_assert_uint_eq(pk * 100 + us, 909);
#undef DO
	vdpastate_netstate_free(before);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(apply_semantics)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, 4);
	struct vdpastate_cvq_cmd *c;
	uint8_t macs[6 * 70];
	uint16_t t[4] = { 0, 1, 2, 0 }, uc, mt;
	const uint16_t *tt;
	uint32_t pk, us, ht, tl, i;
	bool ou, om;

#define DO(expr)                                                       \
	do {                                                            \
		c = (expr);                                             \
		ck_assert_ptr_nonnull(c);                               \
		ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);    \
		vdpastate_cvq_cmd_free(c);                              \
	} while (0)
	DO(vdpastate_cvq_cmd_announce_ack());
	ck_assert_uint_eq(vdpastate_netstate_status(s), VDPASTATE_NET_S_LINK_UP);
	DO(vdpastate_cvq_cmd_rx_promisc(false));
	DO(vdpastate_cvq_cmd_rx_nobcast(true));
	ck_assert_uint_eq(vdpastate_netstate_rx_mode(s), VDPASTATE_NETSTATE_RX_NOBCAST);
	DO(vdpastate_cvq_cmd_vlan_add(4095));
	DO(vdpastate_cvq_cmd_vlan_add(4095));
	DO(vdpastate_cvq_cmd_vlan_add(0));
	DO(vdpastate_cvq_cmd_vlan_del(7)); /* absent: no change */
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(s), 2);
	ck_assert_int_eq(vdpastate_netstate_vlan(s, 4095), 1);
	ck_assert_int_eq(vdpastate_netstate_vlan(s, 7), 0);
	ck_assert_int_eq(vdpastate_netstate_vlan(s, 4096), -EINVAL);

	/* MAC table overflow: QEMU's 64 entries, unicast first. */
	for (i = 0; i < 70; i++) {
		memset(macs + 6 * i, (int)i, 6);
		macs[6 * i] = (uint8_t)(i < 65 ? 2 * i : 2 * i + 1);
	}
	DO(vdpastate_cvq_cmd_mac_table_set(macs, 65, macs + 6 * 65, 5));
	ck_assert_int_eq(vdpastate_netstate_mac_table_overflow(s, &ou, &om), 0);
	ck_assert(ou);
	ck_assert(!om);
	DO(vdpastate_cvq_cmd_mac_table_set(macs, 60, macs + 6 * 65, 5));
	vdpastate_netstate_mac_table_overflow(s, &ou, &om);
	ck_assert(!ou);
	ck_assert(om);

	/* Coalescing: class values, per-queue values, and their interplay. */
	DO(vdpastate_cvq_cmd_mq_vq_pairs_set(2));
	DO(vdpastate_cvq_cmd_notf_coal_rx_set(5, 6));
	DO(vdpastate_cvq_cmd_notf_coal_vq_set(2, 7, 8));
	DO(vdpastate_cvq_cmd_notf_coal_vq_set(3, 9, 9));
	vdpastate_netstate_coal_vq(s, 0, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 506);
	vdpastate_netstate_coal_vq(s, 2, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 708);
	DO(vdpastate_cvq_cmd_notf_coal_tx_set(1, 1)); /* overrides vq 3 */
	vdpastate_netstate_coal_vq(s, 3, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 101);
	vdpastate_netstate_coal_vq(s, 2, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 708);
	DO(vdpastate_cvq_cmd_mq_vq_pairs_set(1)); /* vq 2 disabled: reset */
	DO(vdpastate_cvq_cmd_mq_vq_pairs_set(2));
	vdpastate_netstate_coal_vq(s, 2, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 506);

	/* MQ modes: the last command wins. */
	DO(vdpastate_cvq_cmd_mq_hash_config(3, macs, 4));
	DO(vdpastate_cvq_cmd_mq_rss_config(0x11, t, 4, 3, 2, macs, 40));
	ck_assert(vdpastate_netstate_rss_enabled(s));
	ck_assert_uint_eq(vdpastate_netstate_active_pairs(s), 4);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(s), 2);
	ck_assert_int_eq(vdpastate_netstate_rss(s, &ht, &tt, &tl, &uc, &mt, NULL,
						NULL), 0);
	ck_assert_uint_eq(ht, 0x11);
	ck_assert_uint_eq(tl, 4);
	ck_assert_uint_eq(tt[2], 2);
	ck_assert_uint_eq(uc, 3);
	ck_assert_uint_eq(mt, 2);
	vdpastate_netstate_hash_config(s, &ht, NULL, NULL);
	ck_assert_uint_eq(ht, 0);
	DO(vdpastate_cvq_cmd_notf_coal_vq_set(7, 1, 2));
	DO(vdpastate_cvq_cmd_mq_hash_config(3, macs, 4));
	ck_assert(!vdpastate_netstate_rss_enabled(s));
	ck_assert_uint_eq(vdpastate_netstate_active_pairs(s), 2);
	vdpastate_netstate_coal_vq(s, 7, &pk, &us);
	ck_assert_uint_eq(pk * 100 + us, 101); /* queue 7 was disabled */
	/* Queries change nothing. */
	{
		struct vdpastate_netstate *before = vdpastate_netstate_copy(s);

		DO(vdpastate_cvq_cmd_notf_coal_vq_get(1));
		ck_assert(vdpastate_netstate_equal(s, before));
		vdpastate_netstate_free(before);
	}
#undef DO
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(prop_to_cmds_rebuilds)
{
	unsigned long n = vds_test_cases(10000), k;

	for (k = 0; k < n; k++) {
		struct vds_rand r = vds_rand_seed(k + 1);
		uint16_t pairs = (uint16_t)(1 + vds_rand(&r) % 8);
		struct vdpastate_netstate *s = vds_test_rand_state(&r, pairs);
		struct vdpastate_netstate *d = reset_state(VDS_TEST_FEATURES, pairs);
		struct vdpastate_cvq_cmdlist *l = NULL;
		size_t i;
		int last = -1;

		/* The destination reset state shares s's status (config space). */
		if (!(vdpastate_netstate_status(s) & VDPASTATE_NET_S_ANNOUNCE)) {
			struct vdpastate_cvq_cmd *a = vdpastate_cvq_cmd_announce_ack();

			vdpastate_netstate_apply(d, a);
			vdpastate_cvq_cmd_free(a);
		}
		ck_assert_msg(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES, &l) == 0,
			      "case %lu: %s", k, vdpastate_last_error());
		for (i = 0; i < vdpastate_cvq_cmdlist_count(l); i++) {
			int rk = rank(vdpastate_cvq_cmdlist_get(l, i));

			ck_assert_msg(rk >= last, "case %lu: order", k);
			last = rk;
		}
		apply_list(d, l);
		ck_assert_msg(vdpastate_netstate_equal(d, s), "case %lu", k);
		vdpastate_cvq_cmdlist_free(l);
		vdpastate_netstate_free(s);
		vdpastate_netstate_free(d);
	}
}
END_TEST

START_TEST(prop_diff_applies)
{
	unsigned long n = vds_test_cases(10000), k;

	for (k = 0; k < n; k++) {
		struct vds_rand r = vds_rand_seed(k + 1000003);
		uint16_t pairs = (uint16_t)(1 + vds_rand(&r) % 8);
		struct vdpastate_netstate *a = vds_test_rand_state(&r, pairs), *b;
		struct vdpastate_cvq_cmdlist *l = NULL;

		if (vds_rand(&r) & 1) {
			b = vdpastate_netstate_copy(a); /* a small delta */
			vds_test_mutate(&r, b, 1 + vds_rand(&r) % 4);
		} else {
			b = vds_test_rand_state(&r, pairs);
		}
		ck_assert_msg(vdpastate_netstate_diff(a, b, &l) == 0, "case %lu: %s",
			      k, vdpastate_last_error());
		apply_list(a, l);
		/* status is configuration space, not carried by commands. */
		ck_assert_msg(vdpastate_netstate_equal(a, b) ||
			      vdpastate_netstate_status(a) != vdpastate_netstate_status(b),
			      "case %lu", k);
		vdpastate_cvq_cmdlist_free(l);
		ck_assert_int_eq(vdpastate_netstate_diff(b, b, &l), 0);
		ck_assert_uint_eq(vdpastate_cvq_cmdlist_count(l), 0);
		vdpastate_cvq_cmdlist_free(l);
		vdpastate_netstate_free(a);
		vdpastate_netstate_free(b);
	}
}
END_TEST

/*
 * What a migration must keep: the negotiated features and what the driver
 * set, not the devices' own configuration (MTU, limits, status).
 */
START_TEST(state_diff)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *a = reset_state(VDS_TEST_FEATURES, 4), *b, *f;
	struct vdpastate_cvq_cmd *v = vdpastate_cvq_cmd_vlan_add(7);

	vds_test_config(&c, VDS_TEST_FEATURES, 8);
	c.mtu = 9000;
	c.status = VDPASTATE_NET_S_LINK_UP;
	b = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(b);
	ck_assert(!vdpastate_netstate_equal(a, b));
	ck_assert_ptr_null(vdpastate_netstate_state_diff(a, b));
	/* Features that change no default are still features. */
	f = reset_state(VDS_TEST_FEATURES & ~FB(NOTF_COAL), 4);
	ck_assert_str_eq(vdpastate_netstate_state_diff(a, f), "features");
	ck_assert_int_eq(vdpastate_netstate_apply(b, v), 0);
	ck_assert_str_eq(vdpastate_netstate_state_diff(a, b), "vlan filter");
	ck_assert_ptr_null(vdpastate_netstate_state_diff(NULL, NULL));
	ck_assert_str_eq(vdpastate_netstate_state_diff(a, NULL), "state");
	vdpastate_cvq_cmd_free(v);
	vdpastate_netstate_free(a);
	vdpastate_netstate_free(b);
	vdpastate_netstate_free(f);
}
END_TEST

START_TEST(incompatible)
{
	struct vdpastate_netstate *s = reset_state(VDS_TEST_FEATURES, 4);
	struct vdpastate_netstate *o = reset_state(VDS_TEST_FEATURES, 2);
	struct vdpastate_cvq_cmdlist *l = NULL;
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(10);
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };

	ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);
	vdpastate_cvq_cmd_free(c);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES & ~FB(CTRL_VLAN),
						    &l), -VDPASTATE_EINCOMPAT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "to_cmds: VLAN_ADD cannot be sent"));
	ck_assert_ptr_null(l);
	ck_assert_int_eq(vdpastate_netstate_diff(s, o, &l), -VDPASTATE_EINCOMPAT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "full reload"));
	/* A MAC that cannot be sent without CTRL_MAC_ADDR. */
	c = vdpastate_cvq_cmd_mac_addr_set(mac);
	ck_assert_int_eq(vdpastate_netstate_apply(s, c), 0);
	vdpastate_cvq_cmd_free(c);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(s, VDS_TEST_FEATURES &
						    ~FB(CTRL_MAC_ADDR), &l),
			 -VDPASTATE_EINCOMPAT);
	ck_assert_msg(strstr(vdpastate_last_error(), "MAC_ADDR_SET cannot be sent"),
		      "%s", vdpastate_last_error());
	/* Features whose config fields the state lacks. */
	vdpastate_netstate_free(o);
	o = reset_state(FB(CTRL_VQ), 1);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(o, FB(CTRL_VQ) | FB(RSS), &l),
			 -VDPASTATE_EINCOMPAT);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(NULL, 0, &l), -EINVAL);
	ck_assert_int_eq(vdpastate_netstate_diff(s, NULL, &l), -EINVAL);
	ck_assert(!vdpastate_netstate_equal(s, NULL));
	ck_assert(vdpastate_netstate_equal(NULL, NULL));
	ck_assert_ptr_null(vdpastate_netstate_copy(NULL));
	vdpastate_netstate_free(s);
	vdpastate_netstate_free(o);
}
END_TEST

Suite *netstate_suite(void)
{
	Suite *s = suite_create("netstate");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, reset_defaults);
	tcase_add_test(tc, config_rejects);
	tcase_add_test(tc, apply_rejects_leave_state);
	tcase_add_test(tc, apply_semantics);
	tcase_add_test(tc, vq_get_needs_enabled_queue);
	tcase_add_test(tc, vq_set_disabled_queue_records_nothing);
	tcase_add_test(tc, incompatible);
	tcase_add_test(tc, state_diff);
	suite_add_tcase(s, tc);

	tc = tcase_create("property");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, prop_to_cmds_rebuilds);
	tcase_add_test(tc, prop_diff_applies);
	suite_add_tcase(s, tc);
	return s;
}
