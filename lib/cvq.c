/* SPDX-License-Identifier: MIT */
/*
 * lib/cvq.c - virtio-net control-virtqueue commands: builders, the wire
 * encoder, and the decoder that checks length, features and the spec's
 * semantic limits.  Layouts follow the virtio spec, "Network Device /
 * Device Operation / Control Virtqueue".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cvq_int.h"
#include "internal.h"

#define FB(bit) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##bit)
#define MAC_LEN 6

/* ------------------------------------------------------------------ names */

static const char *const rx_names[] = { "RX_PROMISC", "RX_ALLMULTI",
					"RX_ALLUNI",  "RX_NOMULTI",
					"RX_NOUNI",   "RX_NOBCAST" };
static const char *const mac_names[] = { "MAC_TABLE_SET", "MAC_ADDR_SET" };
static const char *const vlan_names[] = { "VLAN_ADD", "VLAN_DEL" };
static const char *const announce_names[] = { "ANNOUNCE_ACK" };
static const char *const mq_names[] = { "MQ_VQ_PAIRS_SET", "MQ_RSS_CONFIG",
					"MQ_HASH_CONFIG" };
static const char *const offl_names[] = { "GUEST_OFFLOADS_SET" };
static const char *const coal_names[] = { "NOTF_COAL_TX_SET",
					  "NOTF_COAL_RX_SET",
					  "NOTF_COAL_VQ_SET",
					  "NOTF_COAL_VQ_GET" };
static const char *const stats_names[] = { "STATS_QUERY", "STATS_GET" };

static const struct {
	const char *const *names;
	unsigned int n;
} classes[] = {
	[VDPASTATE_CVQ_RX] = { rx_names, VDS_ARRAY_SIZE(rx_names) },
	[VDPASTATE_CVQ_MAC] = { mac_names, VDS_ARRAY_SIZE(mac_names) },
	[VDPASTATE_CVQ_VLAN] = { vlan_names, VDS_ARRAY_SIZE(vlan_names) },
	[VDPASTATE_CVQ_ANNOUNCE] = { announce_names,
				     VDS_ARRAY_SIZE(announce_names) },
	[VDPASTATE_CVQ_MQ] = { mq_names, VDS_ARRAY_SIZE(mq_names) },
	[VDPASTATE_CVQ_GUEST_OFFLOADS] = { offl_names,
					   VDS_ARRAY_SIZE(offl_names) },
	[VDPASTATE_CVQ_NOTF_COAL] = { coal_names, VDS_ARRAY_SIZE(coal_names) },
	[VDPASTATE_CVQ_STATS] = { stats_names, VDS_ARRAY_SIZE(stats_names) },
};

static bool known(uint8_t cls, uint8_t cmd)
{
	return cls < VDS_ARRAY_SIZE(classes) && classes[cls].names &&
	       cmd < classes[cls].n;
}

const char *vds_cvq_name(uint8_t cls, uint8_t cmd)
{
	return known(cls, cmd) ? classes[cls].names[cmd] : "UNKNOWN";
}

/* ------------------------------------------------------------ limits */

int vds_cvq_lim_resolve(const struct vdpastate_cvq_limits *in,
			struct vds_cvq_lim *out)
{
	uint32_t pairs, table, key, hash;
	int err = VDS_OPTS_VALID(in, vdpastate_cvq_limits);

	if (err)
		return err;
	pairs = VDS_OPTS_GET(in, max_virtqueue_pairs, 0);
	table = VDS_OPTS_GET(in, rss_max_indirection_table_length, 0);
	key = VDS_OPTS_GET(in, rss_max_key_size, 0);
	hash = VDS_OPTS_GET(in, supported_hash_types, 0);
	if (pairs > VDPASTATE_CVQ_VQ_PAIRS_MAX)
		return vds_fail(-EINVAL,
				"cvq_limits: max_virtqueue_pairs %u above the "
				"spec maximum 0x8000", pairs);
	if (hash & ~VDPASTATE_NET_HASH_ALL)
		return vds_fail(-EINVAL,
				"cvq_limits: supported_hash_types 0x%x has "
				"undefined bits", hash);
	out->max_pairs = pairs ? pairs : VDPASTATE_CVQ_VQ_PAIRS_MAX;
	out->max_table = table ? table : VDPASTATE_CVQ_RSS_TABLE_MAX;
	out->max_key = key ? key : VDPASTATE_CVQ_KEY_MAX;
	out->hash_types = hash ? hash : VDPASTATE_NET_HASH_ALL;
	return 0;
}

/* ------------------------------------------------------------ builders */

static void init(struct vdpastate_cvq_cmd *c, uint8_t cls, uint8_t cmd)
{
	memset(c, 0, sizeof(*c));
	c->cls = cls;
	c->cmd = cmd;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int dup_bytes(void **dst, const void *src, size_t len)
{
	if (!len)
		return 0;
	*dst = malloc(len);
	if (!*dst)
		return vds_fail(-ENOMEM, "cvq: out of memory for %zu bytes", len);
	memcpy(*dst, src, len);
	return 0;
}

int vds_cvq_init_rx(struct vdpastate_cvq_cmd *c, uint8_t cmd, bool on)
{
	if (cmd > VDPASTATE_CVQ_RX_NOBCAST)
		return vds_fail(-EINVAL, "cvq: RX: unknown command %u", cmd);
	init(c, VDPASTATE_CVQ_RX, cmd);
	c->rx = on;
	return 0;
}

void vds_cvq_init_mac_addr(struct vdpastate_cvq_cmd *c, const uint8_t mac[6])
{
	init(c, VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_ADDR_SET);
	memcpy(c->mac, mac, MAC_LEN);
}

int vds_cvq_init_mac_table(struct vdpastate_cvq_cmd *c, const uint8_t *uni,
			   uint32_t n_uni, const uint8_t *multi,
			   uint32_t n_multi)
{
	size_t nu = (size_t)n_uni * MAC_LEN, nm = (size_t)n_multi * MAC_LEN;

	init(c, VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_TABLE_SET);
	if ((n_uni && !uni) || (n_multi && !multi))
		return vds_fail(-EINVAL, "cvq: MAC_TABLE_SET: NULL table "
				"with a non-zero count");
	if (nu + nm) {
		c->macs = malloc(nu + nm);
		if (!c->macs)
			return vds_fail(-ENOMEM, "cvq: MAC_TABLE_SET: out of "
					"memory for %zu bytes", nu + nm);
		if (nu)
			memcpy(c->macs, uni, nu);
		if (nm)
			memcpy(c->macs + nu, multi, nm);
	}
	c->n_uni = n_uni;
	c->n_multi = n_multi;
	return 0;
}

int vds_cvq_init_vlan(struct vdpastate_cvq_cmd *c, uint8_t cmd, uint16_t vid)
{
	init(c, VDPASTATE_CVQ_VLAN, cmd);
	if (vid > VDPASTATE_CVQ_VLAN_MAX)
		return vds_fail(-EINVAL, "cvq: %s: vid %u out of range (max %u)",
				vds_cvq_name(c->cls, cmd), vid,
				VDPASTATE_CVQ_VLAN_MAX);
	c->u16 = vid;
	return 0;
}

int vds_cvq_init_pairs(struct vdpastate_cvq_cmd *c, uint16_t pairs)
{
	init(c, VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_VQ_PAIRS_SET);
	if (pairs < 1 || pairs > VDPASTATE_CVQ_VQ_PAIRS_MAX)
		return vds_fail(-EINVAL, "cvq: MQ_VQ_PAIRS_SET: virtqueue_pairs "
				"%u out of range (1..0x8000)", pairs);
	c->u16 = pairs;
	return 0;
}

static int check_hash_types(const char *name, uint32_t t)
{
	if (t & ~VDPASTATE_NET_HASH_ALL)
		return vds_fail(-EINVAL, "cvq: %s: hash_types 0x%x sets "
				"undefined bits 0x%x", name, t,
				t & ~VDPASTATE_NET_HASH_ALL);
	return 0;
}

int vds_cvq_init_rss(struct vdpastate_cvq_cmd *c, uint32_t hash_types,
		     const uint16_t *table, uint32_t table_len,
		     uint16_t unclassified, uint16_t max_tx_vq,
		     const uint8_t *key, uint8_t key_len)
{
	const char *n = "MQ_RSS_CONFIG";
	uint32_t i;
	int err;

	init(c, VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_RSS_CONFIG);
	if ((err = check_hash_types(n, hash_types)))
		return err;
	if (!is_pow2(table_len))
		return vds_fail(-EINVAL, "cvq: %s: indirection table length "
				"%u is not a power of two", n, table_len);
	/* rss_max_indirection_table_length is a le16: no device allows more. */
	if (table_len > VDPASTATE_CVQ_RSS_TABLE_MAX)
		return vds_fail(-EINVAL, "cvq: %s: indirection table length "
				"%u above %u, the most any device can allow", n,
				table_len, VDPASTATE_CVQ_RSS_TABLE_MAX);
	if (!table || (key_len && !key))
		return vds_fail(-EINVAL, "cvq: %s: NULL table or key", n);
	if (unclassified & 0x8000)
		return vds_fail(-EINVAL, "cvq: %s: unclassified_queue 0x%x has "
				"reserved bit 15 set", n, unclassified);
	for (i = 0; i < table_len; i++)
		if (table[i] & 0x8000)
			return vds_fail(-EINVAL, "cvq: %s: indirection_table[%u] "
					"0x%x has reserved bit 15 set", n, i,
					table[i]);
	c->hash_types = hash_types;
	c->n = table_len;
	c->unclassified = unclassified;
	c->max_tx_vq = max_tx_vq;
	c->key_len = key_len;
	if ((err = dup_bytes((void **)&c->table, table,
			     (size_t)table_len * sizeof(*table))) ||
	    (err = dup_bytes((void **)&c->key, key, key_len))) {
		vds_cvq_cmd_release(c);
		return err;
	}
	return 0;
}

int vds_cvq_init_hash(struct vdpastate_cvq_cmd *c, uint32_t hash_types,
		      const uint8_t *key, uint8_t key_len)
{
	int err;

	init(c, VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_HASH_CONFIG);
	if ((err = check_hash_types("MQ_HASH_CONFIG", hash_types)))
		return err;
	if (key_len && !key)
		return vds_fail(-EINVAL, "cvq: MQ_HASH_CONFIG: NULL key");
	c->hash_types = hash_types;
	c->key_len = key_len;
	return dup_bytes((void **)&c->key, key, key_len);
}

int vds_cvq_init_offloads(struct vdpastate_cvq_cmd *c, uint64_t offloads)
{
	init(c, VDPASTATE_CVQ_GUEST_OFFLOADS, VDPASTATE_CVQ_GUEST_OFFLOADS_SET);
	if (offloads & ~VDPASTATE_NET_OFFLOADS_MASK)
		return vds_fail(-EINVAL, "cvq: GUEST_OFFLOADS_SET: offloads bit "
				"%d is not an offload",
				__builtin_ctzll(offloads &
						~VDPASTATE_NET_OFFLOADS_MASK));
	c->offloads = offloads;
	return 0;
}

void vds_cvq_init_coal(struct vdpastate_cvq_cmd *c, uint8_t cmd,
		       uint16_t vq_index, uint32_t max_packets,
		       uint32_t max_usecs)
{
	init(c, VDPASTATE_CVQ_NOTF_COAL, cmd);
	c->u16 = vq_index;
	c->max_packets = max_packets;
	c->max_usecs = max_usecs;
}

void vds_cvq_cmd_release(struct vdpastate_cvq_cmd *c)
{
	free(c->macs);
	free(c->table);
	free(c->key);
	free(c->stats);
	memset(c, 0, sizeof(*c));
}

int vds_cvq_cmd_clone(struct vdpastate_cvq_cmd *dst,
		      const struct vdpastate_cvq_cmd *src)
{
	int err;

	*dst = *src;
	dst->macs = NULL;
	dst->table = NULL;
	dst->key = NULL;
	dst->stats = NULL;
	if ((err = dup_bytes((void **)&dst->macs, src->macs,
			     ((size_t)src->n_uni + src->n_multi) * MAC_LEN)) ||
	    (err = dup_bytes((void **)&dst->key, src->key, src->key_len)) ||
	    (src->table &&
	     (err = dup_bytes((void **)&dst->table, src->table,
			      (size_t)src->n * sizeof(*src->table)))) ||
	    (src->stats &&
	     (err = dup_bytes((void **)&dst->stats, src->stats,
			      (size_t)src->n * sizeof(*src->stats))))) {
		vds_cvq_cmd_release(dst);
		return err;
	}
	return 0;
}

/* Public builders: allocate the handle around an internal builder. */
static struct vdpastate_cvq_cmd *alloc_cmd(void)
{
	struct vdpastate_cvq_cmd *c = calloc(1, sizeof(*c));

	if (!c)
		vds_fail_ptr(-ENOMEM, "cvq: out of memory for a command");
	return c;
}

static struct vdpastate_cvq_cmd *finish(struct vdpastate_cvq_cmd *c, int err)
{
	if (!err)
		return c;
	free(c);
	errno = -err;
	return NULL;
}

static struct vdpastate_cvq_cmd *new_rx(uint8_t cmd, bool on)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_rx(c, cmd, on)) : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_promisc(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_PROMISC, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_allmulti(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_ALLMULTI, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_alluni(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_ALLUNI, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nomulti(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_NOMULTI, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nouni(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_NOUNI, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nobcast(bool on)
{
	return new_rx(VDPASTATE_CVQ_RX_NOBCAST, on);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mac_table_set(const uint8_t *uni, uint32_t n_uni,
				const uint8_t *multi, uint32_t n_multi)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_mac_table(c, uni, n_uni, multi,
						    n_multi))
		 : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mac_addr_set(const uint8_t mac[6])
{
	struct vdpastate_cvq_cmd *c;

	if (!mac)
		return vds_fail_ptr(-EINVAL, "cvq: MAC_ADDR_SET: NULL mac");
	c = alloc_cmd();
	if (c)
		vds_cvq_init_mac_addr(c, mac);
	return c;
}

static struct vdpastate_cvq_cmd *new_vlan(uint8_t cmd, uint16_t vid)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_vlan(c, cmd, vid)) : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_vlan_add(uint16_t vid)
{
	return new_vlan(VDPASTATE_CVQ_VLAN_ADD, vid);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_vlan_del(uint16_t vid)
{
	return new_vlan(VDPASTATE_CVQ_VLAN_DEL, vid);
}

static struct vdpastate_cvq_cmd *new_plain(uint8_t cls, uint8_t cmd)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	if (c)
		init(c, cls, cmd);
	return c;
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_announce_ack(void)
{
	return new_plain(VDPASTATE_CVQ_ANNOUNCE, VDPASTATE_CVQ_ANNOUNCE_ACK);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_vq_pairs_set(uint16_t pairs)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_pairs(c, pairs)) : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_rss_config(uint32_t hash_types, const uint16_t *table,
				uint32_t table_len, uint16_t unclassified,
				uint16_t max_tx_vq, const uint8_t *key,
				uint8_t key_len)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_rss(c, hash_types, table, table_len,
					      unclassified, max_tx_vq, key,
					      key_len))
		 : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_hash_config(uint32_t hash_types, const uint8_t *key,
				 uint8_t key_len)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_hash(c, hash_types, key, key_len))
		 : NULL;
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_guest_offloads_set(uint64_t offloads)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	return c ? finish(c, vds_cvq_init_offloads(c, offloads)) : NULL;
}

static struct vdpastate_cvq_cmd *new_coal(uint8_t cmd, uint16_t vq,
					  uint32_t pk, uint32_t us)
{
	struct vdpastate_cvq_cmd *c = alloc_cmd();

	if (c)
		vds_cvq_init_coal(c, cmd, vq, pk, us);
	return c;
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_tx_set(uint32_t max_packets, uint32_t max_usecs)
{
	return new_coal(VDPASTATE_CVQ_NOTF_COAL_TX_SET, 0, max_packets,
			max_usecs);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_rx_set(uint32_t max_packets, uint32_t max_usecs)
{
	return new_coal(VDPASTATE_CVQ_NOTF_COAL_RX_SET, 0, max_packets,
			max_usecs);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_vq_set(uint16_t vq_index, uint32_t max_packets,
				   uint32_t max_usecs)
{
	return new_coal(VDPASTATE_CVQ_NOTF_COAL_VQ_SET, vq_index, max_packets,
			max_usecs);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_vq_get(uint16_t vq_index)
{
	return new_coal(VDPASTATE_CVQ_NOTF_COAL_VQ_GET, vq_index, 0, 0);
}

VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_stats_query(void)
{
	return new_plain(VDPASTATE_CVQ_STATS, VDPASTATE_CVQ_STATS_QUERY);
}

/* Statistic types the spec defines (virtio_net_stats_capabilities). */
#define STATS_TYPES_KNOWN (UINT64_C(0xf) | UINT64_C(0xf) << 16 | UINT64_C(1) << 32)

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_stats_get(const uint16_t *vq_index, const uint64_t *types,
			    uint32_t n)
{
	struct vdpastate_cvq_cmd *c;
	uint32_t i;

	if (!n || !vq_index || !types)
		return vds_fail_ptr(-EINVAL, "cvq: STATS_GET: needs at least "
				    "one entry");
	for (i = 0; i < n; i++)
		if (types[i] & ~STATS_TYPES_KNOWN)
			return vds_fail_ptr(-EINVAL, "cvq: STATS_GET: entry %u "
					    "types_bitmap 0x%llx has undefined "
					    "types", i,
					    (unsigned long long)types[i]);
	c = new_plain(VDPASTATE_CVQ_STATS, VDPASTATE_CVQ_STATS_GET);
	if (!c)
		return NULL;
	c->stats = calloc(n, sizeof(*c->stats));
	if (!c->stats) {
		free(c);
		return vds_fail_ptr(-ENOMEM, "cvq: STATS_GET: out of memory");
	}
	for (i = 0; i < n; i++) {
		c->stats[i].vq_index = vq_index[i];
		c->stats[i].types = types[i];
	}
	c->n = n;
	return c;
}

VDPASTATE_API void vdpastate_cvq_cmd_free(struct vdpastate_cvq_cmd *cmd)
{
	if (!cmd)
		return;
	vds_cvq_cmd_release(cmd);
	free(cmd);
}

VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_copy(const struct vdpastate_cvq_cmd *cmd)
{
	struct vdpastate_cvq_cmd *c;

	if (!cmd)
		return vds_fail_ptr(-EINVAL, "cvq: copy: NULL command");
	c = alloc_cmd();
	return c ? finish(c, vds_cvq_cmd_clone(c, cmd)) : NULL;
}

/* ------------------------------------------------------------- encoder */

size_t vds_cvq_payload_size(const struct vdpastate_cvq_cmd *c)
{
	switch (c->cls) {
	case VDPASTATE_CVQ_RX:
		return 1;
	case VDPASTATE_CVQ_MAC:
		if (c->cmd == VDPASTATE_CVQ_MAC_ADDR_SET)
			return MAC_LEN;
		return 8 + ((size_t)c->n_uni + c->n_multi) * MAC_LEN;
	case VDPASTATE_CVQ_VLAN:
		return 2;
	case VDPASTATE_CVQ_MQ:
		if (c->cmd == VDPASTATE_CVQ_MQ_VQ_PAIRS_SET)
			return 2;
		if (c->cmd == VDPASTATE_CVQ_MQ_RSS_CONFIG)
			return 11 + (size_t)c->n * 2 + c->key_len;
		return 13 + (size_t)c->key_len;
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		return 8;
	case VDPASTATE_CVQ_NOTF_COAL:
		if (c->cmd == VDPASTATE_CVQ_NOTF_COAL_VQ_SET)
			return 12;
		if (c->cmd == VDPASTATE_CVQ_NOTF_COAL_VQ_GET)
			return 4;
		return 8;
	case VDPASTATE_CVQ_STATS:
		return c->cmd == VDPASTATE_CVQ_STATS_GET ? (size_t)c->n * 16 : 0;
	default: /* ANNOUNCE_ACK */
		return 0;
	}
}

static uint8_t *put_macs(uint8_t *p, const uint8_t *macs, uint32_t n)
{
	vds_put_le32(p, n);
	if (n)
		memcpy(p + 4, macs, (size_t)n * MAC_LEN);
	return p + 4 + (size_t)n * MAC_LEN;
}

void vds_cvq_write_payload(const struct vdpastate_cvq_cmd *c, uint8_t *p)
{
	uint32_t i;

	switch (c->cls) {
	case VDPASTATE_CVQ_RX:
		p[0] = c->rx;
		break;
	case VDPASTATE_CVQ_MAC:
		if (c->cmd == VDPASTATE_CVQ_MAC_ADDR_SET) {
			memcpy(p, c->mac, MAC_LEN);
			break;
		}
		p = put_macs(p, c->macs, c->n_uni);
		put_macs(p, c->macs ? c->macs + (size_t)c->n_uni * MAC_LEN : NULL,
			 c->n_multi);
		break;
	case VDPASTATE_CVQ_VLAN:
		vds_put_le16(p, c->u16);
		break;
	case VDPASTATE_CVQ_MQ:
		if (c->cmd == VDPASTATE_CVQ_MQ_VQ_PAIRS_SET) {
			vds_put_le16(p, c->u16);
			break;
		}
		vds_put_le32(p, c->hash_types);
		if (c->cmd == VDPASTATE_CVQ_MQ_RSS_CONFIG) {
			vds_put_le16(p + 4, (uint16_t)(c->n - 1));
			vds_put_le16(p + 6, c->unclassified);
			p += 8;
			for (i = 0; i < c->n; i++, p += 2)
				vds_put_le16(p, c->table[i]);
			vds_put_le16(p, c->max_tx_vq);
			p += 2;
		} else {
			memset(p + 4, 0, 8); /* reserved[4] */
			p += 12;
		}
		p[0] = c->key_len;
		if (c->key_len)
			memcpy(p + 1, c->key, c->key_len);
		break;
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		vds_put_le64(p, c->offloads);
		break;
	case VDPASTATE_CVQ_NOTF_COAL:
		if (c->cmd >= VDPASTATE_CVQ_NOTF_COAL_VQ_SET) {
			vds_put_le16(p, c->u16);
			vds_put_le16(p + 2, 0); /* reserved */
			if (c->cmd == VDPASTATE_CVQ_NOTF_COAL_VQ_GET)
				break;
			p += 4;
		}
		vds_put_le32(p, c->max_packets);
		vds_put_le32(p + 4, c->max_usecs);
		break;
	case VDPASTATE_CVQ_STATS:
		for (i = 0; i < c->n && c->cmd == VDPASTATE_CVQ_STATS_GET;
		     i++, p += 16) {
			vds_put_le16(p, c->stats[i].vq_index);
			memset(p + 2, 0, 6); /* reserved[3] */
			vds_put_le64(p + 8, c->stats[i].types);
		}
		break;
	default:
		break;
	}
}

VDPASTATE_API size_t
vdpastate_cvq_cmd_wire_size(const struct vdpastate_cvq_cmd *cmd)
{
	return cmd ? VDPASTATE_CVQ_HDR_LEN + vds_cvq_payload_size(cmd) : 0;
}

VDPASTATE_API int vdpastate_cvq_cmd_encode(const struct vdpastate_cvq_cmd *cmd,
					   void *buf, size_t buflen)
{
	uint8_t *p = buf;
	size_t need;

	if (!cmd || (!buf && buflen))
		return vds_fail(-EINVAL, "cvq: encode: NULL command or buffer");
	need = VDPASTATE_CVQ_HDR_LEN + vds_cvq_payload_size(cmd);
	if (buflen < need)
		return vds_fail(-ENOBUFS, "cvq: encode %s: needs %zu bytes, "
				"buffer has %zu", vds_cvq_name(cmd->cls, cmd->cmd),
				need, buflen);
	if (need > 0x7fffffff)
		return vds_fail(-EOVERFLOW, "cvq: encode: %zu bytes do not fit "
				"an int", need);
	p[0] = cmd->cls;
	p[1] = cmd->cmd;
	vds_cvq_write_payload(cmd, p + VDPASTATE_CVQ_HDR_LEN);
	return (int)need;
}

/* ------------------------------------------------------------- decoder */

static int need_len(const char *name, const char *what, size_t len,
		    size_t want)
{
	if (len == want)
		return 0;
	return vds_fail(-EBADMSG, "cvq: %s: %s: payload is %zu bytes, the "
			"layout gives %zu", name, what, len, want);
}

static int parse_macs(const char *name, const char *which, const uint8_t **p,
		      size_t *left, uint32_t *n)
{
	if (*left < 4)
		return vds_fail(-EBADMSG, "cvq: %s: %s entries: %zu bytes left, "
				"need 4", name, which, *left);
	*n = vds_get_le32(*p);
	*p += 4;
	*left -= 4;
	if (*n > *left / MAC_LEN)
		return vds_fail(-EBADMSG, "cvq: %s: %s entries %u: needs %llu "
				"bytes, %zu left", name, which, *n,
				(unsigned long long)*n * MAC_LEN, *left);
	*p += (size_t)*n * MAC_LEN;
	*left -= (size_t)*n * MAC_LEN;
	return 0;
}

static int parse_mac_table(const uint8_t *p, size_t len,
			   struct vdpastate_cvq_cmd *c)
{
	const char *n = "MAC_TABLE_SET";
	const uint8_t *q = p, *uni, *multi;
	size_t left = len;
	uint32_t nu, nm;
	int err;

	if ((err = parse_macs(n, "unicast", &q, &left, &nu)))
		return err;
	uni = p + 4;
	multi = q + 4;
	if ((err = parse_macs(n, "multicast", &q, &left, &nm)))
		return err;
	if (left)
		return vds_fail(-EBADMSG, "cvq: %s: %zu bytes after the "
				"multicast table", n, left);
	return vds_cvq_init_mac_table(c, uni, nu, multi, nm);
}

/*
 * The key ends the payload: fixed bytes up to and with hash_key_length,
 * then klen key bytes.  Linux (6.11 on) sends RSS_CONFIG and HASH_CONFIG
 * alike from struct virtio_net_rss_config_trailer, whose size
 * (struct_size(): le16 max_tx_vq, u8 hash_key_length, key, padded to 2)
 * puts one byte of structure padding after the key.  That one byte is
 * accepted and ignored, as QEMU does; the command encodes without it.
 */
static int need_key_len(const char *name, size_t len, size_t fixed,
			uint8_t klen)
{
	if (len == fixed + (size_t)klen + 1)
		len--;
	return need_len(name, "hash_key_length", len, fixed + klen);
}

static int parse_rss(const uint8_t *p, size_t len,
		     struct vdpastate_cvq_cmd *c)
{
	const char *n = "MQ_RSS_CONFIG";
	uint32_t tlen, i;
	size_t fixed;
	uint8_t klen;
	uint16_t *table;
	int err;

	if (len < 8)
		return vds_fail(-EBADMSG, "cvq: %s: payload is %zu bytes, "
				"shorter than hash_types, indirection_table_mask "
				"and unclassified_queue (8)", n, len);
	tlen = (uint32_t)vds_get_le16(p + 4) + 1;
	fixed = 8 + (size_t)tlen * 2 + 3;
	if (len < fixed)
		return vds_fail(-EBADMSG, "cvq: %s: indirection_table_mask 0x%x "
				"needs %zu bytes before the key, payload is %zu",
				n, tlen - 1, fixed, len);
	klen = p[fixed - 1];
	if ((err = need_key_len(n, len, fixed, klen)))
		return err;
	if (!is_pow2(tlen))
		return vds_fail(-EINVAL, "cvq: %s: indirection_table_mask 0x%x: "
				"table length %u is not a power of two", n,
				tlen - 1, tlen);
	table = malloc((size_t)tlen * sizeof(*table));
	if (!table)
		return vds_fail(-ENOMEM, "cvq: %s: out of memory", n);
	for (i = 0; i < tlen; i++)
		table[i] = vds_get_le16(p + 8 + 2 * i);
	err = vds_cvq_init_rss(c, vds_get_le32(p), table, tlen,
			       vds_get_le16(p + 6),
			       vds_get_le16(p + fixed - 3), p + fixed, klen);
	free(table);
	return err;
}

static int parse_hash(const uint8_t *p, size_t len,
		      struct vdpastate_cvq_cmd *c)
{
	const char *n = "MQ_HASH_CONFIG";
	int err;

	if (len < 13)
		return vds_fail(-EBADMSG, "cvq: %s: payload is %zu bytes, "
				"shorter than the 13 before the key", n, len);
	if ((err = need_key_len(n, len, 13, p[12])))
		return err;
	/*
	 * reserved[4] (p + 4..11) is ignored, not kept: Linux sends its
	 * virtio_net_ctrl_rss there (max_tx_vq = the queue pairs in use) and
	 * QEMU ignores it.  The command encodes it as zero.
	 */
	return vds_cvq_init_hash(c, vds_get_le32(p), p + 13, p[12]);
}

static int parse_stats_get(const uint8_t *p, size_t len,
			   struct vdpastate_cvq_cmd *c)
{
	uint32_t i, n;

	if (!len || len % 16)
		return vds_fail(-EBADMSG, "cvq: STATS_GET: payload is %zu bytes, "
				"not a non-zero multiple of 16", len);
	if (len / 16 > UINT32_MAX)
		return vds_fail(-EBADMSG, "cvq: STATS_GET: too many entries");
	n = (uint32_t)(len / 16);
	init(c, VDPASTATE_CVQ_STATS, VDPASTATE_CVQ_STATS_GET);
	c->stats = calloc(n, sizeof(*c->stats));
	if (!c->stats)
		return vds_fail(-ENOMEM, "cvq: STATS_GET: out of memory");
	c->n = n;
	for (i = 0; i < n; i++) {
		c->stats[i].vq_index = vds_get_le16(p + 16 * i);
		c->stats[i].types = vds_get_le64(p + 16 * i + 8);
	}
	return 0;
}

/* Structure only: lengths and the values the wire cannot represent. */
static int parse_payload(uint8_t cls, uint8_t cmd, const uint8_t *p,
			 size_t len, struct vdpastate_cvq_cmd *c)
{
	const char *n = vds_cvq_name(cls, cmd);
	int err;

	switch (cls) {
	case VDPASTATE_CVQ_RX:
		if ((err = need_len(n, "on/off byte", len, 1)))
			return err;
		if (p[0] > 1)
			return vds_fail(-EINVAL, "cvq: %s: value %u, must be 0 "
					"(off) or 1 (on)", n, p[0]);
		return vds_cvq_init_rx(c, cmd, p[0]);
	case VDPASTATE_CVQ_MAC:
		if (cmd == VDPASTATE_CVQ_MAC_TABLE_SET)
			return parse_mac_table(p, len, c);
		if ((err = need_len(n, "mac", len, MAC_LEN)))
			return err;
		vds_cvq_init_mac_addr(c, p);
		return 0;
	case VDPASTATE_CVQ_VLAN:
		if ((err = need_len(n, "vid", len, 2)))
			return err;
		return vds_cvq_init_vlan(c, cmd, vds_get_le16(p));
	case VDPASTATE_CVQ_ANNOUNCE:
		if ((err = need_len(n, "no data", len, 0)))
			return err;
		init(c, cls, cmd);
		return 0;
	case VDPASTATE_CVQ_MQ:
		if (cmd == VDPASTATE_CVQ_MQ_RSS_CONFIG)
			return parse_rss(p, len, c);
		if (cmd == VDPASTATE_CVQ_MQ_HASH_CONFIG)
			return parse_hash(p, len, c);
		if ((err = need_len(n, "virtqueue_pairs", len, 2)))
			return err;
		return vds_cvq_init_pairs(c, vds_get_le16(p));
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		if ((err = need_len(n, "offloads", len, 8)))
			return err;
		return vds_cvq_init_offloads(c, vds_get_le64(p));
	case VDPASTATE_CVQ_NOTF_COAL:
		switch (cmd) {
		case VDPASTATE_CVQ_NOTF_COAL_VQ_SET:
			/* The device ignores reserved (spec); so do we. */
			if ((err = need_len(n, "virtio_net_ctrl_coal_vq", len, 12)))
				return err;
			vds_cvq_init_coal(c, cmd, vds_get_le16(p),
					  vds_get_le32(p + 4),
					  vds_get_le32(p + 8));
			return 0;
		case VDPASTATE_CVQ_NOTF_COAL_VQ_GET:
			if ((err = need_len(n, "vq_index and reserved", len, 4)))
				return err;
			vds_cvq_init_coal(c, cmd, vds_get_le16(p), 0, 0);
			return 0;
		default:
			if ((err = need_len(n, "virtio_net_ctrl_coal", len, 8)))
				return err;
			vds_cvq_init_coal(c, cmd, 0, vds_get_le32(p),
					  vds_get_le32(p + 4));
			return 0;
		}
	default: /* STATS */
		if (cmd == VDPASTATE_CVQ_STATS_GET)
			return parse_stats_get(p, len, c);
		if ((err = need_len(n, "no data", len, 0)))
			return err;
		init(c, cls, cmd);
		return 0;
	}
}

static const struct {
	uint8_t cls;
	uint8_t cmd; /* 0xff: every command of the class */
	uint8_t bit;
	const char *fname;
} needs[] = {
	{ VDPASTATE_CVQ_RX, VDPASTATE_CVQ_RX_PROMISC, VDPASTATE_NET_F_CTRL_RX,
	  "CTRL_RX" },
	{ VDPASTATE_CVQ_RX, VDPASTATE_CVQ_RX_ALLMULTI, VDPASTATE_NET_F_CTRL_RX,
	  "CTRL_RX" },
	{ VDPASTATE_CVQ_RX, 0xff, VDPASTATE_NET_F_CTRL_RX_EXTRA,
	  "CTRL_RX_EXTRA" },
	{ VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_TABLE_SET,
	  VDPASTATE_NET_F_CTRL_RX, "CTRL_RX" },
	{ VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_ADDR_SET,
	  VDPASTATE_NET_F_CTRL_MAC_ADDR, "CTRL_MAC_ADDR" },
	{ VDPASTATE_CVQ_VLAN, 0xff, VDPASTATE_NET_F_CTRL_VLAN, "CTRL_VLAN" },
	{ VDPASTATE_CVQ_ANNOUNCE, 0xff, VDPASTATE_NET_F_GUEST_ANNOUNCE,
	  "GUEST_ANNOUNCE" },
	{ VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_VQ_PAIRS_SET, VDPASTATE_NET_F_MQ,
	  "MQ" },
	{ VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_RSS_CONFIG, VDPASTATE_NET_F_RSS,
	  "RSS" },
	{ VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_HASH_CONFIG,
	  VDPASTATE_NET_F_HASH_REPORT, "HASH_REPORT" },
	{ VDPASTATE_CVQ_GUEST_OFFLOADS, 0xff,
	  VDPASTATE_NET_F_CTRL_GUEST_OFFLOADS, "CTRL_GUEST_OFFLOADS" },
	{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_TX_SET,
	  VDPASTATE_NET_F_NOTF_COAL, "NOTF_COAL" },
	{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_RX_SET,
	  VDPASTATE_NET_F_NOTF_COAL, "NOTF_COAL" },
	{ VDPASTATE_CVQ_NOTF_COAL, 0xff, VDPASTATE_NET_F_VQ_NOTF_COAL,
	  "VQ_NOTF_COAL" },
	{ VDPASTATE_CVQ_STATS, 0xff, VDPASTATE_NET_F_DEVICE_STATS,
	  "DEVICE_STATS" },
};

static int check_feature(uint8_t cls, uint8_t cmd, uint64_t features)
{
	size_t i;

	if (!(features & FB(CTRL_VQ)))
		return vds_fail(-VDPASTATE_EFEATURE, "cvq: %s: needs "
				"VIRTIO_NET_F_CTRL_VQ, not negotiated",
				vds_cvq_name(cls, cmd));
	/* The first matching row wins: specific commands come first. */
	for (i = 0; i < VDS_ARRAY_SIZE(needs); i++) {
		if (needs[i].cls != cls ||
		    (needs[i].cmd != 0xff && needs[i].cmd != cmd))
			continue;
		if (features & VDPASTATE_NET_FBIT(needs[i].bit))
			return 0;
		return vds_fail(-VDPASTATE_EFEATURE, "cvq: %s: needs "
				"VIRTIO_NET_F_%s (bit %u), not negotiated",
				vds_cvq_name(cls, cmd), needs[i].fname,
				needs[i].bit);
	}
	return 0;
}

static int check_queue(const char *name, const char *field, uint32_t q,
		       const struct vds_cvq_lim *lim)
{
	if (q >= lim->max_pairs)
		return vds_fail(-ERANGE, "cvq: %s: %s %u is not a receive queue "
				"of the device (max_virtqueue_pairs %u)", name,
				field, q, lim->max_pairs);
	return 0;
}

static int check_hash_limits(const char *name,
			     const struct vdpastate_cvq_cmd *c,
			     const struct vds_cvq_lim *lim)
{
	if (c->hash_types & ~lim->hash_types)
		return vds_fail(-ERANGE, "cvq: %s: hash_types 0x%x: types 0x%x "
				"not supported by the device (supported_hash_types "
				"0x%x)", name, c->hash_types,
				c->hash_types & ~lim->hash_types,
				lim->hash_types);
	if (c->key_len > lim->max_key)
		return vds_fail(-ERANGE, "cvq: %s: hash_key_length %u above "
				"rss_max_key_size %u", name, c->key_len,
				lim->max_key);
	return 0;
}

static int validate_rss(const struct vdpastate_cvq_cmd *c,
			const struct vds_cvq_lim *lim)
{
	const char *n = "MQ_RSS_CONFIG";
	char field[40];
	uint32_t i;
	int err;

	if (c->n > lim->max_table)
		return vds_fail(-ERANGE, "cvq: %s: indirection table length %u "
				"above rss_max_indirection_table_length %u", n,
				c->n, lim->max_table);
	if ((err = check_queue(n, "unclassified_queue", c->unclassified, lim)))
		return err;
	for (i = 0; i < c->n; i++) {
		if (c->table[i] < lim->max_pairs)
			continue;
		snprintf(field, sizeof(field), "indirection_table[%u]", i);
		return check_queue(n, field, c->table[i], lim);
	}
	if (!c->max_tx_vq)
		return vds_fail(-EINVAL, "cvq: %s: max_tx_vq is 0", n);
	if (c->max_tx_vq > lim->max_pairs)
		return vds_fail(-ERANGE, "cvq: %s: max_tx_vq %u above "
				"max_virtqueue_pairs %u", n, c->max_tx_vq,
				lim->max_pairs);
	return check_hash_limits(n, c, lim);
}

int vds_cvq_validate(const struct vdpastate_cvq_cmd *c, uint64_t features,
		     const struct vds_cvq_lim *lim)
{
	const char *n = vds_cvq_name(c->cls, c->cmd);
	uint64_t off, m;
	uint32_t i;
	int err;

	if (!known(c->cls, c->cmd))
		return vds_fail(-EOPNOTSUPP, "cvq: unknown class %u command %u",
				c->cls, c->cmd);
	if ((err = check_feature(c->cls, c->cmd, features)))
		return err;
	switch (c->cls) {
	case VDPASTATE_CVQ_MAC:
		if (c->cmd != VDPASTATE_CVQ_MAC_TABLE_SET)
			return 0;
		/* The spec: unicast table first, then multicast addresses. */
		for (m = 0; m < (uint64_t)c->n_uni + c->n_multi; m++) {
			bool multi = c->macs[m * MAC_LEN] & 1;

			if (m < c->n_uni && multi)
				return vds_fail(-EINVAL, "cvq: %s: unicast entry "
						"%llu is a multicast address", n,
						(unsigned long long)m);
			if (m >= c->n_uni && !multi)
				return vds_fail(-EINVAL, "cvq: %s: multicast entry "
						"%llu is not a multicast address",
						n, (unsigned long long)(m - c->n_uni));
		}
		return 0;
	case VDPASTATE_CVQ_MQ:
		if (c->cmd == VDPASTATE_CVQ_MQ_VQ_PAIRS_SET) {
			if (c->u16 > lim->max_pairs)
				return vds_fail(-ERANGE, "cvq: %s: virtqueue_pairs "
						"%u above max_virtqueue_pairs %u",
						n, c->u16, lim->max_pairs);
			return 0;
		}
		if (c->cmd == VDPASTATE_CVQ_MQ_RSS_CONFIG)
			return validate_rss(c, lim);
		return check_hash_limits(n, c, lim);
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		off = c->offloads & ~features;
		if (off)
			return vds_fail(-VDPASTATE_EFEATURE, "cvq: %s: offloads bit "
					"%d set but that feature was not "
					"negotiated", n, __builtin_ctzll(off));
		return 0;
	case VDPASTATE_CVQ_NOTF_COAL:
		if (c->cmd >= VDPASTATE_CVQ_NOTF_COAL_VQ_SET &&
		    c->u16 >= 2 * lim->max_pairs)
			return vds_fail(-ERANGE, "cvq: %s: vq_index %u is not a "
					"data virtqueue (max_virtqueue_pairs %u)",
					n, c->u16, lim->max_pairs);
		return 0;
	case VDPASTATE_CVQ_STATS:
		for (i = 0; i < c->n && c->cmd == VDPASTATE_CVQ_STATS_GET; i++) {
			if (c->stats[i].types & ~STATS_TYPES_KNOWN)
				return vds_fail(-EINVAL, "cvq: %s: entry %u "
						"types_bitmap 0x%llx has undefined "
						"types", n, i,
						(unsigned long long)c->stats[i].types);
			if (c->stats[i].vq_index > 2 * lim->max_pairs)
				return vds_fail(-ERANGE, "cvq: %s: entry %u "
						"vq_index %u beyond the control "
						"virtqueue", n, i,
						c->stats[i].vq_index);
		}
		return 0;
	default:
		return 0;
	}
}

int vds_cvq_parse(uint8_t cls, uint8_t cmd, const uint8_t *p, size_t len,
		  uint64_t features, const struct vds_cvq_lim *lim,
		  struct vdpastate_cvq_cmd *out)
{
	int err;

	if (!known(cls, cmd))
		return vds_fail(-EOPNOTSUPP, "cvq: unknown class %u command %u",
				cls, cmd);
	/* Features first: a command the driver may not send is rejected as such. */
	if (lim && (err = check_feature(cls, cmd, features)))
		return err;
	if ((err = parse_payload(cls, cmd, p, len, out))) {
		vds_cvq_cmd_release(out);
		return err;
	}
	if (lim && (err = vds_cvq_validate(out, features, lim))) {
		vds_cvq_cmd_release(out);
		return err;
	}
	return 0;
}

VDPASTATE_API int vdpastate_cvq_decode(const void *buf, size_t len,
				       uint64_t features,
				       const struct vdpastate_cvq_limits *limits,
				       struct vdpastate_cvq_cmd **out)
{
	const uint8_t *p = buf;
	struct vdpastate_cvq_cmd tmp, *c;
	struct vds_cvq_lim lim;
	int err;

	if (!out || (!buf && len))
		return vds_fail(-EINVAL, "cvq: decode: NULL buffer or out");
	if ((err = vds_cvq_lim_resolve(limits, &lim)))
		return err;
	if (len < VDPASTATE_CVQ_HDR_LEN)
		return vds_fail(-EBADMSG, "cvq: decode: %zu bytes, shorter than "
				"the class/command header", len);
	memset(&tmp, 0, sizeof(tmp));
	if ((err = vds_cvq_parse(p[0], p[1], p + 2, len - 2, features, &lim,
				 &tmp)))
		return err;
	c = malloc(sizeof(*c));
	if (!c) {
		vds_cvq_cmd_release(&tmp);
		return vds_fail(-ENOMEM, "cvq: decode: out of memory");
	}
	*c = tmp;
	*out = c;
	return 0;
}

/* ------------------------------------------------------------- getters */

VDPASTATE_API uint8_t vdpastate_cvq_cmd_class(const struct vdpastate_cvq_cmd *cmd)
{
	return cmd ? cmd->cls : 0xff;
}

VDPASTATE_API uint8_t
vdpastate_cvq_cmd_command(const struct vdpastate_cvq_cmd *cmd)
{
	return cmd ? cmd->cmd : 0xff;
}

VDPASTATE_API const char *
vdpastate_cvq_cmd_name(const struct vdpastate_cvq_cmd *cmd)
{
	return cmd ? vds_cvq_name(cmd->cls, cmd->cmd) : "UNKNOWN";
}

static int nofield(const struct vdpastate_cvq_cmd *c, const char *getter)
{
	return vds_fail(-EINVAL, "cvq: %s: command %s has no such field",
			getter, c ? vds_cvq_name(c->cls, c->cmd) : "NULL");
}

static int is(const struct vdpastate_cvq_cmd *c, uint8_t cls, int cmd,
	      const char *getter)
{
	if (c && c->cls == cls && (cmd < 0 || c->cmd == cmd))
		return 0;
	return nofield(c, getter);
}

VDPASTATE_API int vdpastate_cvq_cmd_rx_value(const struct vdpastate_cvq_cmd *cmd)
{
	int err = is(cmd, VDPASTATE_CVQ_RX, -1, "rx_value");

	return err ? err : cmd->rx;
}

VDPASTATE_API int vdpastate_cvq_cmd_mac(const struct vdpastate_cvq_cmd *cmd,
					uint8_t mac[6])
{
	int err = is(cmd, VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_ADDR_SET, "mac");

	if (!err && mac)
		memcpy(mac, cmd->mac, MAC_LEN);
	return err;
}

VDPASTATE_API int
vdpastate_cvq_cmd_mac_table(const struct vdpastate_cvq_cmd *cmd,
			    const uint8_t **uni, uint32_t *n_uni,
			    const uint8_t **multi, uint32_t *n_multi)
{
	int err = is(cmd, VDPASTATE_CVQ_MAC, VDPASTATE_CVQ_MAC_TABLE_SET,
		     "mac_table");

	if (err)
		return err;
	if (uni)
		*uni = cmd->n_uni ? cmd->macs : NULL;
	if (n_uni)
		*n_uni = cmd->n_uni;
	if (multi)
		*multi = cmd->n_multi ? cmd->macs + (size_t)cmd->n_uni * MAC_LEN
				      : NULL;
	if (n_multi)
		*n_multi = cmd->n_multi;
	return 0;
}

VDPASTATE_API int vdpastate_cvq_cmd_vlan_id(const struct vdpastate_cvq_cmd *cmd)
{
	int err = is(cmd, VDPASTATE_CVQ_VLAN, -1, "vlan_id");

	return err ? err : cmd->u16;
}

VDPASTATE_API int
vdpastate_cvq_cmd_vq_pairs(const struct vdpastate_cvq_cmd *cmd)
{
	int err = is(cmd, VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_VQ_PAIRS_SET,
		     "vq_pairs");

	return err ? err : cmd->u16;
}

VDPASTATE_API int vdpastate_cvq_cmd_hash(const struct vdpastate_cvq_cmd *cmd,
					 uint32_t *hash_types,
					 const uint8_t **key, uint8_t *key_len)
{
	if (!cmd || cmd->cls != VDPASTATE_CVQ_MQ ||
	    cmd->cmd == VDPASTATE_CVQ_MQ_VQ_PAIRS_SET)
		return nofield(cmd, "hash");
	if (hash_types)
		*hash_types = cmd->hash_types;
	if (key)
		*key = cmd->key;
	if (key_len)
		*key_len = cmd->key_len;
	return 0;
}

VDPASTATE_API int vdpastate_cvq_cmd_rss(const struct vdpastate_cvq_cmd *cmd,
					const uint16_t **table,
					uint32_t *table_len,
					uint16_t *unclassified,
					uint16_t *max_tx_vq)
{
	int err = is(cmd, VDPASTATE_CVQ_MQ, VDPASTATE_CVQ_MQ_RSS_CONFIG, "rss");

	if (err)
		return err;
	if (table)
		*table = cmd->table;
	if (table_len)
		*table_len = cmd->n;
	if (unclassified)
		*unclassified = cmd->unclassified;
	if (max_tx_vq)
		*max_tx_vq = cmd->max_tx_vq;
	return 0;
}

VDPASTATE_API int
vdpastate_cvq_cmd_offloads(const struct vdpastate_cvq_cmd *cmd,
			   uint64_t *offloads)
{
	int err = is(cmd, VDPASTATE_CVQ_GUEST_OFFLOADS, -1, "offloads");

	if (!err && offloads)
		*offloads = cmd->offloads;
	return err;
}

VDPASTATE_API int vdpastate_cvq_cmd_coal(const struct vdpastate_cvq_cmd *cmd,
					 uint32_t *max_packets,
					 uint32_t *max_usecs)
{
	int err = is(cmd, VDPASTATE_CVQ_NOTF_COAL, -1, "coal");

	if (!err && cmd->cmd == VDPASTATE_CVQ_NOTF_COAL_VQ_GET)
		err = nofield(cmd, "coal");
	if (err)
		return err;
	if (max_packets)
		*max_packets = cmd->max_packets;
	if (max_usecs)
		*max_usecs = cmd->max_usecs;
	return 0;
}

VDPASTATE_API int
vdpastate_cvq_cmd_coal_vq(const struct vdpastate_cvq_cmd *cmd)
{
	int err = is(cmd, VDPASTATE_CVQ_NOTF_COAL, -1, "coal_vq");

	if (!err && cmd->cmd < VDPASTATE_CVQ_NOTF_COAL_VQ_SET)
		err = nofield(cmd, "coal_vq");
	return err ? err : cmd->u16;
}

VDPASTATE_API int
vdpastate_cvq_cmd_stats_count(const struct vdpastate_cvq_cmd *cmd)
{
	int err = is(cmd, VDPASTATE_CVQ_STATS, VDPASTATE_CVQ_STATS_GET,
		     "stats_count");

	return err ? err : (int)cmd->n;
}

VDPASTATE_API int
vdpastate_cvq_cmd_stats_entry(const struct vdpastate_cvq_cmd *cmd, uint32_t i,
			      uint16_t *vq_index, uint64_t *types)
{
	int err = is(cmd, VDPASTATE_CVQ_STATS, VDPASTATE_CVQ_STATS_GET,
		     "stats_entry");

	if (err)
		return err;
	if (i >= cmd->n)
		return vds_fail(-ENOENT, "cvq: stats_entry: entry %u of %u", i,
				cmd->n);
	if (vq_index)
		*vq_index = cmd->stats[i].vq_index;
	if (types)
		*types = cmd->stats[i].types;
	return 0;
}

/* ------------------------------------------------------------- lists */

struct vdpastate_cvq_cmdlist *vds_cmdlist_new(void)
{
	struct vdpastate_cvq_cmdlist *l = calloc(1, sizeof(*l));

	if (!l)
		vds_fail_ptr(-ENOMEM, "cvq: out of memory for a command list");
	return l;
}

int vds_cmdlist_push(struct vdpastate_cvq_cmdlist *l,
		     struct vdpastate_cvq_cmd *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct vdpastate_cvq_cmd *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			vds_cvq_cmd_release(c);
			return vds_fail(-ENOMEM, "cvq: out of memory for %zu "
					"commands", cap);
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

VDPASTATE_API size_t
vdpastate_cvq_cmdlist_count(const struct vdpastate_cvq_cmdlist *list)
{
	return list ? list->n : 0;
}

VDPASTATE_API const struct vdpastate_cvq_cmd *
vdpastate_cvq_cmdlist_get(const struct vdpastate_cvq_cmdlist *list, size_t i)
{
	if (!list || i >= list->n)
		return vds_fail_ptr(-ENOENT, "cvq: cmdlist: no command %zu (of %zu)",
				    i, list ? list->n : 0);
	return &list->v[i];
}

VDPASTATE_API void vdpastate_cvq_cmdlist_free(struct vdpastate_cvq_cmdlist *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		vds_cvq_cmd_release(&list->v[i]);
	free(list->v);
	free(list);
}
