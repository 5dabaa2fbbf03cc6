/* SPDX-License-Identifier: MIT */
/*
 * lib/netstate.c - the virtio-net state model: reset defaults, what an
 * acknowledged CVQ command changes, the minimal command list that rebuilds
 * a state on a reset device, and the delta between two states.
 *
 * to_cmds() and diff() share one generator that emits a command only when
 * the target differs from a scratch copy of the starting state, applies
 * each command to that copy as it goes (so every command is checked against
 * the features exactly as a device would take it), and compares the copy
 * with the target at the end: a state the commands cannot reach is an
 * error, never a silent partial restore.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/netstate.h>

#include "cvq_int.h"
#include "internal.h"

#define FB(bit) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##bit)
#define MAC_LEN 6
#define VLAN_WORDS (4096 / 64)

struct coal {
	uint32_t pk, us;
};

/* A per-virtqueue coalescing value that differs from its class value. */
struct coal_ovr {
	uint32_t vq; /* 32 bits: no padding, so memcmp compares values */
	struct coal c;
};

struct vdpastate_netstate {
	struct vdpastate_netstate_config cfg; /* normalized; status unused */
	struct vds_cvq_lim lim;
	uint8_t mac[MAC_LEN];
	uint16_t status;
	uint32_t rx;
	uint32_t n_uni, n_multi;
	uint8_t *macs;
	uint64_t vlans[VLAN_WORDS];
	uint16_t pairs;
	bool rss;
	uint32_t rss_hash;
	uint32_t rss_len;
	uint16_t *rss_table;
	uint16_t rss_unclassified, rss_max_tx_vq;
	uint8_t rss_key_len;
	uint8_t hash_key_len;
	uint8_t rss_key[VDPASTATE_CVQ_KEY_MAX];
	uint8_t hash_key[VDPASTATE_CVQ_KEY_MAX];
	uint32_t hash_types;
	uint64_t offloads;
	struct coal tx, rxc;
	struct coal_ovr *ovr; /* sorted by vq */
	uint32_t n_ovr, cap_ovr;
};

/* ------------------------------------------------------------ lifetime */

static int normalize(const struct vdpastate_netstate_config *in,
		     struct vdpastate_netstate_config *c, uint16_t *status)
{
	const char *n = "netstate_config";
	uint64_t f;
	int err = VDS_OPTS_VALID(in, vdpastate_netstate_config);

	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	if (in)
		memcpy((char *)c + sizeof(size_t), (const char *)in + sizeof(size_t),
		       (in->sz < sizeof(*c) ? in->sz : sizeof(*c)) - sizeof(size_t));
	f = c->features;
	if (c->reserved0 || c->reserved1)
		return vds_fail(-EINVAL, "%s: reserved fields must be zero", n);
	*status = 0;
	if (f & FB(STATUS)) {
		if (c->status & ~(VDPASTATE_NET_S_LINK_UP | VDPASTATE_NET_S_ANNOUNCE))
			return vds_fail(-EINVAL, "%s: status 0x%x has undefined "
					"bits", n, c->status);
		*status = c->status;
	}
	c->status = 0;
	if (f & (FB(MQ) | FB(RSS))) {
		if (c->max_virtqueue_pairs < 1 ||
		    c->max_virtqueue_pairs > VDPASTATE_CVQ_VQ_PAIRS_MAX)
			return vds_fail(-EINVAL, "%s: max_virtqueue_pairs %u out of "
					"range (1..0x8000)", n,
					c->max_virtqueue_pairs);
	} else {
		c->max_virtqueue_pairs = 1;
	}
	if (f & FB(MTU)) {
		if (c->mtu < 68)
			return vds_fail(-EINVAL, "%s: mtu %u below 68", n, c->mtu);
	} else {
		c->mtu = 0;
	}
	if (f & FB(RSS)) {
		if (c->rss_max_indirection_table_length < 128)
			return vds_fail(-EINVAL, "%s: rss_max_indirection_table_length"
					" %u below 128", n,
					c->rss_max_indirection_table_length);
	} else {
		c->rss_max_indirection_table_length = 0;
	}
	if (f & (FB(RSS) | FB(HASH_REPORT))) {
		if (c->rss_max_key_size < 40)
			return vds_fail(-EINVAL, "%s: rss_max_key_size %u below 40",
					n, c->rss_max_key_size);
		if (c->supported_hash_types & ~VDPASTATE_NET_HASH_ALL)
			return vds_fail(-EINVAL, "%s: supported_hash_types 0x%x has "
					"undefined bits", n,
					c->supported_hash_types);
	} else {
		c->rss_max_key_size = 0;
		c->supported_hash_types = 0;
	}
	return 0;
}

static void reset(struct vdpastate_netstate *s, uint16_t status)
{
	const struct vdpastate_netstate_config *c = &s->cfg;

	memcpy(s->mac, c->mac, MAC_LEN);
	s->status = status;
	s->rx = VDPASTATE_NETSTATE_RX_PROMISC;
	s->pairs = 1;
	s->offloads = c->features & VDPASTATE_NET_OFFLOADS_MASK;
	s->lim.max_pairs = c->max_virtqueue_pairs;
	s->lim.max_table = c->rss_max_indirection_table_length;
	s->lim.max_key = c->rss_max_key_size;
	s->lim.hash_types = c->supported_hash_types;
}

VDPASTATE_API struct vdpastate_netstate *
vdpastate_netstate_new(const struct vdpastate_netstate_config *config)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	uint16_t status = 0;
	int err = normalize(config, &c, &status);

	if (err) {
		errno = -err; /* the message is already recorded */
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return vds_fail_ptr(-ENOMEM, "netstate: out of memory");
	s->cfg = c;
	reset(s, status);
	return s;
}

static void release(struct vdpastate_netstate *s)
{
	free(s->macs);
	free(s->rss_table);
	free(s->ovr);
}

VDPASTATE_API void vdpastate_netstate_free(struct vdpastate_netstate *state)
{
	if (!state)
		return;
	release(state);
	free(state);
}

static void *dup_or_null(const void *p, size_t len, int *err)
{
	void *q;

	if (!len)
		return NULL;
	q = malloc(len);
	if (!q)
		*err = -ENOMEM;
	else
		memcpy(q, p, len);
	return q;
}

VDPASTATE_API struct vdpastate_netstate *
vdpastate_netstate_copy(const struct vdpastate_netstate *state)
{
	struct vdpastate_netstate *s;
	int err = 0;

	if (!state)
		return vds_fail_ptr(-EINVAL, "netstate: copy: NULL state");
	s = malloc(sizeof(*s));
	if (!s)
		return vds_fail_ptr(-ENOMEM, "netstate: out of memory");
	*s = *state;
	s->macs = dup_or_null(state->macs,
			      ((size_t)state->n_uni + state->n_multi) * MAC_LEN,
			      &err);
	s->rss_table = dup_or_null(state->rss_table,
				   (size_t)state->rss_len * sizeof(uint16_t), &err);
	s->ovr = dup_or_null(state->ovr, (size_t)state->n_ovr * sizeof(*s->ovr),
			     &err);
	s->cap_ovr = state->n_ovr;
	if (err) {
		vdpastate_netstate_free(s);
		return vds_fail_ptr(err, "netstate: out of memory");
	}
	return s;
}

/* ------------------------------------------------------------ equality */

static bool cfg_equal(const struct vdpastate_netstate_config *a,
		      const struct vdpastate_netstate_config *b)
{
	return a->features == b->features && !memcmp(a->mac, b->mac, MAC_LEN) &&
	       a->max_virtqueue_pairs == b->max_virtqueue_pairs &&
	       a->mtu == b->mtu &&
	       a->rss_max_indirection_table_length ==
		       b->rss_max_indirection_table_length &&
	       a->rss_max_key_size == b->rss_max_key_size &&
	       a->supported_hash_types == b->supported_hash_types;
}

/*
 * The first field (by name) in which the CVQ-controlled state of a and b
 * differs, or NULL.  status is configuration space, not compared here.
 */
static const char *first_diff(const struct vdpastate_netstate *a,
			      const struct vdpastate_netstate *b)
{
	size_t nm = ((size_t)a->n_uni + a->n_multi) * MAC_LEN;

	if (memcmp(a->mac, b->mac, MAC_LEN))
		return "mac";
	if (a->rx != b->rx)
		return "rx mode";
	if (a->n_uni != b->n_uni || a->n_multi != b->n_multi ||
	    (nm && memcmp(a->macs, b->macs, nm)))
		return "mac table";
	if (memcmp(a->vlans, b->vlans, sizeof(a->vlans)))
		return "vlan filter";
	if (a->pairs != b->pairs)
		return "queue pairs";
	if (a->rss != b->rss || a->rss_hash != b->rss_hash ||
	    a->rss_len != b->rss_len || a->rss_unclassified != b->rss_unclassified ||
	    a->rss_max_tx_vq != b->rss_max_tx_vq ||
	    a->rss_key_len != b->rss_key_len ||
	    memcmp(a->rss_key, b->rss_key, a->rss_key_len) ||
	    (a->rss_len &&
	     memcmp(a->rss_table, b->rss_table, a->rss_len * sizeof(uint16_t))))
		return "rss";
	if (a->hash_types != b->hash_types || a->hash_key_len != b->hash_key_len ||
	    memcmp(a->hash_key, b->hash_key, a->hash_key_len))
		return "hash config";
	if (a->offloads != b->offloads)
		return "guest offloads";
	if (memcmp(&a->tx, &b->tx, sizeof(a->tx)) ||
	    memcmp(&a->rxc, &b->rxc, sizeof(a->rxc)))
		return "coalescing";
	if (a->n_ovr != b->n_ovr ||
	    (a->n_ovr && memcmp(a->ovr, b->ovr, a->n_ovr * sizeof(*a->ovr))))
		return "per-virtqueue coalescing";
	return NULL;
}

VDPASTATE_API bool vdpastate_netstate_equal(const struct vdpastate_netstate *a,
					    const struct vdpastate_netstate *b)
{
	if (!a || !b)
		return a == b;
	return cfg_equal(&a->cfg, &b->cfg) && a->status == b->status &&
	       !first_diff(a, b);
}

VDPASTATE_API const char *
vdpastate_netstate_state_diff(const struct vdpastate_netstate *a,
			      const struct vdpastate_netstate *b)
{
	if (!a || !b)
		return a == b ? NULL : "state";
	if (a->cfg.features != b->cfg.features)
		return "features";
	return first_diff(a, b);
}

/* ------------------------------------------------------------ apply */

static uint16_t active_pairs(const struct vdpastate_netstate *s)
{
	uint32_t i, m;

	if (!s->rss)
		return s->pairs;
	m = s->rss_max_tx_vq;
	if ((uint32_t)s->rss_unclassified + 1 > m)
		m = s->rss_unclassified + 1u;
	for (i = 0; i < s->rss_len; i++)
		if ((uint32_t)s->rss_table[i] + 1 > m)
			m = s->rss_table[i] + 1u;
	return (uint16_t)m;
}

static struct coal class_coal(const struct vdpastate_netstate *s, uint16_t vq)
{
	return (vq & 1) ? s->tx : s->rxc; /* odd indexes are transmitqs */
}

static struct coal vq_coal(const struct vdpastate_netstate *s, uint16_t vq)
{
	uint32_t i;

	for (i = 0; i < s->n_ovr; i++)
		if (s->ovr[i].vq == vq)
			return s->ovr[i].c;
	return class_coal(s, vq);
}

/* Keep overrides that pass keep(); the spec resets the others. */
static void prune_ovr(struct vdpastate_netstate *s, uint32_t vq_limit,
		      int parity)
{
	uint32_t i, j = 0;

	for (i = 0; i < s->n_ovr; i++) {
		if (s->ovr[i].vq >= vq_limit ||
		    (parity >= 0 && (s->ovr[i].vq & 1) == (unsigned)parity))
			continue;
		s->ovr[j++] = s->ovr[i];
	}
	s->n_ovr = j;
}

static int ovr_reserve(struct vdpastate_netstate *s)
{
	uint32_t cap;
	struct coal_ovr *v;

	if (s->n_ovr < s->cap_ovr)
		return 0;
	cap = s->cap_ovr ? 2 * s->cap_ovr : 8;
	v = realloc(s->ovr, cap * sizeof(*v));
	if (!v)
		return vds_fail(-ENOMEM, "netstate: out of memory");
	s->ovr = v;
	s->cap_ovr = cap;
	return 0;
}

/*
 * The spec's "enabled transmit or receive virtqueue" of VQ_SET and VQ_GET:
 * one of the queue pairs MQ turned on (VQ_PAIRS_SET's virtqueue_pairs, or
 * the queues RSS_CONFIG uses).  Transport-level enabling is not tracked.
 */
static bool vq_enabled(const struct vdpastate_netstate *s, uint16_t vq)
{
	return (uint32_t)vq < 2u * active_pairs(s);
}

int vds_netstate_vq_enabled(const struct vdpastate_netstate *s,
			    const struct vdpastate_cvq_cmd *c)
{
	if (vq_enabled(s, c->u16))
		return 0;
	return vds_fail(-EINVAL, "netstate: %s: vq_index %u is not an enabled "
			"data virtqueue (%u queue pairs in use)",
			vds_cvq_name(c->cls, c->cmd), c->u16, active_pairs(s));
}

static int apply_vq_coal(struct vdpastate_netstate *s,
			 const struct vdpastate_cvq_cmd *c)
{
	struct coal v = { c->max_packets, c->max_usecs }, cls;
	uint32_t i;
	int err;

	/*
	 * A data queue of the device that is not enabled: taken, as Linux's
	 * ethtool -G needs (it sets every queue below max_virtqueue_pairs),
	 * but not recorded: enabled later the queue has its class value
	 * (spec), and a restore must not send a VQ_SET a device may refuse.
	 */
	if (!vq_enabled(s, c->u16))
		return 0;
	if ((err = ovr_reserve(s)))
		return err;
	cls = class_coal(s, c->u16);
	for (i = 0; i < s->n_ovr && s->ovr[i].vq < c->u16; i++)
		;
	if (i < s->n_ovr && s->ovr[i].vq == c->u16) {
		if (!memcmp(&v, &cls, sizeof(v))) /* back to the class value */
			memmove(&s->ovr[i], &s->ovr[i + 1],
				(s->n_ovr-- - i - 1) * sizeof(*s->ovr));
		else
			s->ovr[i].c = v;
		return 0;
	}
	if (!memcmp(&v, &cls, sizeof(v)))
		return 0;
	memmove(&s->ovr[i + 1], &s->ovr[i], (s->n_ovr - i) * sizeof(*s->ovr));
	s->ovr[i].vq = c->u16;
	s->ovr[i].c = v;
	s->n_ovr++;
	return 0;
}

static void clear_rss(struct vdpastate_netstate *s)
{
	free(s->rss_table);
	s->rss_table = NULL;
	s->rss = false;
	s->rss_hash = 0;
	s->rss_len = 0;
	s->rss_unclassified = 0;
	s->rss_max_tx_vq = 0;
	s->rss_key_len = 0;
	memset(s->rss_key, 0, sizeof(s->rss_key));
}

static void set_hash(struct vdpastate_netstate *s, uint32_t types,
		     const uint8_t *key, uint8_t key_len)
{
	s->hash_types = types;
	s->hash_key_len = key_len;
	memset(s->hash_key, 0, sizeof(s->hash_key));
	if (key_len)
		memcpy(s->hash_key, key, key_len);
}

static int apply_mq(struct vdpastate_netstate *s,
		    const struct vdpastate_cvq_cmd *c)
{
	uint16_t *table;

	switch (c->cmd) {
	case VDPASTATE_CVQ_MQ_VQ_PAIRS_SET:
		/* Automatic steering: RSS off, the hash config stays. */
		clear_rss(s);
		s->pairs = c->u16;
		break;
	case VDPASTATE_CVQ_MQ_RSS_CONFIG:
		/* The last MQ command defines the mode (spec). */
		table = malloc((size_t)c->n * sizeof(*table));
		if (!table)
			return vds_fail(-ENOMEM, "netstate: out of memory");
		memcpy(table, c->table, (size_t)c->n * sizeof(*table));
		clear_rss(s);
		set_hash(s, 0, NULL, 0);
		s->rss = true;
		s->rss_table = table;
		s->rss_len = c->n;
		s->rss_hash = c->hash_types;
		s->rss_unclassified = c->unclassified;
		s->rss_max_tx_vq = c->max_tx_vq;
		/* As QEMU: the transmit queues in use become the pairs. */
		s->pairs = c->max_tx_vq;
		s->rss_key_len = c->key_len;
		if (c->key_len)
			memcpy(s->rss_key, c->key, c->key_len);
		break;
	default: /* HASH_CONFIG: automatic steering with configured hashing */
		clear_rss(s);
		set_hash(s, c->hash_types, c->key, c->key_len);
		break;
	}
	prune_ovr(s, 2u * active_pairs(s), -1);
	return 0;
}

static int apply_mac_table(struct vdpastate_netstate *s,
			   const struct vdpastate_cvq_cmd *c)
{
	size_t len = ((size_t)c->n_uni + c->n_multi) * MAC_LEN;
	uint8_t *m = NULL;

	if (len && !(m = malloc(len)))
		return vds_fail(-ENOMEM, "netstate: out of memory");
	if (len)
		memcpy(m, c->macs, len);
	free(s->macs);
	s->macs = m;
	s->n_uni = c->n_uni;
	s->n_multi = c->n_multi;
	return 0;
}

VDPASTATE_API int vdpastate_netstate_apply(struct vdpastate_netstate *state,
					   const struct vdpastate_cvq_cmd *cmd)
{
	struct vdpastate_netstate *s = state;
	const struct vdpastate_cvq_cmd *c = cmd;
	struct coal v;
	int err;

	if (!s || !c)
		return vds_fail(-EINVAL, "netstate: apply: NULL state or command");
	if ((err = vds_cvq_validate(c, s->cfg.features, &s->lim)))
		return err;
	switch (c->cls) {
	case VDPASTATE_CVQ_RX:
		if (c->rx)
			s->rx |= 1u << c->cmd;
		else
			s->rx &= ~(1u << c->cmd);
		return 0;
	case VDPASTATE_CVQ_MAC:
		if (c->cmd == VDPASTATE_CVQ_MAC_TABLE_SET)
			return apply_mac_table(s, c);
		memcpy(s->mac, c->mac, MAC_LEN);
		return 0;
	case VDPASTATE_CVQ_VLAN:
		if (c->cmd == VDPASTATE_CVQ_VLAN_ADD)
			s->vlans[c->u16 / 64] |= UINT64_C(1) << (c->u16 % 64);
		else
			s->vlans[c->u16 / 64] &= ~(UINT64_C(1) << (c->u16 % 64));
		return 0;
	case VDPASTATE_CVQ_ANNOUNCE:
		s->status &= (uint16_t)~VDPASTATE_NET_S_ANNOUNCE;
		return 0;
	case VDPASTATE_CVQ_MQ:
		return apply_mq(s, c);
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		s->offloads = c->offloads;
		return 0;
	case VDPASTATE_CVQ_NOTF_COAL:
		v.pk = c->max_packets;
		v.us = c->max_usecs;
		switch (c->cmd) {
		case VDPASTATE_CVQ_NOTF_COAL_TX_SET:
			s->tx = v;
			prune_ovr(s, UINT32_MAX, 1);
			return 0;
		case VDPASTATE_CVQ_NOTF_COAL_RX_SET:
			s->rxc = v;
			prune_ovr(s, UINT32_MAX, 0);
			return 0;
		case VDPASTATE_CVQ_NOTF_COAL_VQ_SET:
			return apply_vq_coal(s, c);
		default: /* VQ_GET: a query, of an enabled virtqueue only */
			return vds_netstate_vq_enabled(s, c);
		}
	default:
		return 0; /* STATS: queries */
	}
}

/* ------------------------------------------------------- to_cmds, diff */

struct gen {
	struct vdpastate_netstate *cur; /* scratch, follows every command */
	const struct vdpastate_netstate *to;
	struct vdpastate_cvq_cmdlist *l;
	const char *who;
	int err;
};

/* Apply c to the scratch state and append it; c is consumed. */
static void emit(struct gen *g, struct vdpastate_cvq_cmd *c, int init_err)
{
	int err = init_err;

	if (g->err) {
		vds_cvq_cmd_release(c);
		return;
	}
	if (!err && (err = vdpastate_netstate_apply(g->cur, c)) &&
	    err != -ENOMEM) {
		char why[VDS_ERRMSG_MAX];

		snprintf(why, sizeof(why), "%s", vdpastate_last_error());
		err = vds_fail(-VDPASTATE_EINCOMPAT, "netstate: %s: %s cannot be "
			       "sent: %s", g->who, vds_cvq_name(c->cls, c->cmd),
			       why);
	}
	if (!err)
		err = vds_cmdlist_push(g->l, c);
	else
		vds_cvq_cmd_release(c);
	g->err = err;
}

static bool has(const struct gen *g, int bit)
{
	return g->cur->cfg.features & VDPASTATE_NET_FBIT(bit);
}

static bool rss_differs(const struct vdpastate_netstate *a,
			const struct vdpastate_netstate *b)
{
	return a->rss != b->rss || a->rss_hash != b->rss_hash ||
	       a->rss_len != b->rss_len || a->rss_unclassified != b->rss_unclassified ||
	       a->rss_max_tx_vq != b->rss_max_tx_vq ||
	       a->rss_key_len != b->rss_key_len ||
	       memcmp(a->rss_key, b->rss_key, a->rss_key_len) ||
	       (a->rss_len && memcmp(a->rss_table, b->rss_table,
				     a->rss_len * sizeof(uint16_t)));
}

static void gen_mq(struct gen *g)
{
	const struct vdpastate_netstate *to = g->to;
	struct vdpastate_cvq_cmd c;

	if (to->rss) {
		if (rss_differs(g->cur, to))
			emit(g, &c, vds_cvq_init_rss(&c, to->rss_hash, to->rss_table,
						     to->rss_len,
						     to->rss_unclassified,
						     to->rss_max_tx_vq, to->rss_key,
						     to->rss_key_len));
		return;
	}
	if (g->cur->pairs != to->pairs ||
	    (g->cur->rss && has(g, VDPASTATE_NET_F_MQ)))
		emit(g, &c, vds_cvq_init_pairs(&c, to->pairs));
	/* Without MQ, HASH_CONFIG is how automatic steering comes back. */
	if (g->cur->rss || g->cur->hash_types != to->hash_types ||
	    g->cur->hash_key_len != to->hash_key_len ||
	    memcmp(g->cur->hash_key, to->hash_key, to->hash_key_len))
		emit(g, &c, vds_cvq_init_hash(&c, to->hash_types, to->hash_key,
					      to->hash_key_len));
}

static void gen_rx(struct gen *g, bool full)
{
	struct vdpastate_cvq_cmd c;
	uint8_t i;

	for (i = VDPASTATE_CVQ_RX_PROMISC; i <= VDPASTATE_CVQ_RX_NOBCAST; i++) {
		uint32_t bit = 1u << i;
		int feat = i <= VDPASTATE_CVQ_RX_ALLMULTI
				   ? VDPASTATE_NET_F_CTRL_RX
				   : VDPASTATE_NET_F_CTRL_RX_EXTRA;

		/* The spec defines no reset value for RX modes: always send. */
		if ((full && has(g, feat)) || ((g->cur->rx ^ g->to->rx) & bit))
			emit(g, &c, vds_cvq_init_rx(&c, i, g->to->rx & bit));
	}
}

static void gen_vlans(struct gen *g)
{
	struct vdpastate_cvq_cmd c;
	unsigned int w, b;

	for (w = 0; w < VLAN_WORDS; w++) {
		uint64_t d = g->cur->vlans[w] ^ g->to->vlans[w];

		while (d && !g->err) {
			b = (unsigned int)__builtin_ctzll(d);
			d &= d - 1;
			emit(g, &c, vds_cvq_init_vlan(
					    &c,
					    (g->to->vlans[w] >> b) & 1
						    ? VDPASTATE_CVQ_VLAN_ADD
						    : VDPASTATE_CVQ_VLAN_DEL,
					    (uint16_t)(w * 64 + b)));
		}
	}
}

static void gen_coal(struct gen *g)
{
	const struct vdpastate_netstate *to = g->to;
	struct vdpastate_cvq_cmd c;
	uint32_t i = 0, j = 0;

	if (memcmp(&g->cur->tx, &to->tx, sizeof(to->tx))) {
		vds_cvq_init_coal(&c, VDPASTATE_CVQ_NOTF_COAL_TX_SET, 0, to->tx.pk,
				  to->tx.us);
		emit(g, &c, 0);
	}
	if (memcmp(&g->cur->rxc, &to->rxc, sizeof(to->rxc))) {
		vds_cvq_init_coal(&c, VDPASTATE_CVQ_NOTF_COAL_RX_SET, 0, to->rxc.pk,
				  to->rxc.us);
		emit(g, &c, 0);
	}
	/* Walk the union of both sorted override lists; cur changes as we go,
	 * so snapshot the vq of each step before emitting. */
	while (!g->err && (i < g->cur->n_ovr || j < to->n_ovr)) {
		uint16_t vq;
		struct coal want, have;

		if (j >= to->n_ovr ||
		    (i < g->cur->n_ovr && g->cur->ovr[i].vq < to->ovr[j].vq))
			vq = g->cur->ovr[i].vq;
		else
			vq = to->ovr[j].vq;
		want = vq_coal(to, vq);
		have = vq_coal(g->cur, vq);
		if (memcmp(&want, &have, sizeof(want))) {
			vds_cvq_init_coal(&c, VDPASTATE_CVQ_NOTF_COAL_VQ_SET, vq,
					  want.pk, want.us);
			emit(g, &c, 0);
		}
		/* Advance past vq in both lists. */
		while (i < g->cur->n_ovr && g->cur->ovr[i].vq <= vq)
			i++;
		while (j < to->n_ovr && to->ovr[j].vq <= vq)
			j++;
	}
}

static int generate(struct vdpastate_netstate *cur,
		    const struct vdpastate_netstate *to, bool full,
		    const char *who, struct vdpastate_cvq_cmdlist **out)
{
	struct gen g = { cur, to, NULL, who, 0 };
	struct vdpastate_cvq_cmd c;
	const char *d;

	g.l = vds_cmdlist_new();
	if (!g.l)
		return -ENOMEM;
	if ((full && has(&g, VDPASTATE_NET_F_CTRL_MAC_ADDR)) ||
	    memcmp(cur->mac, to->mac, MAC_LEN)) {
		vds_cvq_init_mac_addr(&c, to->mac);
		emit(&g, &c, 0);
	}
	gen_mq(&g);
	if (cur->offloads != to->offloads)
		emit(&g, &c, vds_cvq_init_offloads(&c, to->offloads));
	gen_rx(&g, full);
	if (cur->n_uni != to->n_uni || cur->n_multi != to->n_multi ||
	    (to->macs && memcmp(cur->macs, to->macs,
				((size_t)to->n_uni + to->n_multi) * MAC_LEN)))
		emit(&g, &c, vds_cvq_init_mac_table(&c, to->macs, to->n_uni,
						    to->macs ? to->macs +
							       (size_t)to->n_uni * MAC_LEN
							     : NULL,
						    to->n_multi));
	gen_vlans(&g);
	gen_coal(&g);
	if (!g.err && (d = first_diff(cur, to)))
		g.err = vds_fail(-VDPASTATE_EINCOMPAT, "netstate: %s: %s cannot be "
				 "restored with features 0x%llx", who, d,
				 (unsigned long long)cur->cfg.features);
	if (g.err) {
		vdpastate_cvq_cmdlist_free(g.l);
		return g.err;
	}
	*out = g.l;
	return 0;
}

VDPASTATE_API int vdpastate_netstate_to_cmds(const struct vdpastate_netstate *state,
					     uint64_t features,
					     struct vdpastate_cvq_cmdlist **out)
{
	struct vdpastate_netstate_config cfg;
	struct vdpastate_netstate *cur;
	int err;

	if (!state || !out)
		return vds_fail(-EINVAL, "netstate: to_cmds: NULL state or out");
	cfg = state->cfg;
	cfg.features = features;
	cfg.status = state->status;
	/* Fields a feature brings must be valid; on the target they exist. */
	if (!(features & FB(STATUS)))
		cfg.status = 0;
	cur = vdpastate_netstate_new(&cfg);
	if (!cur) {
		char why[VDS_ERRMSG_MAX];

		if (errno == ENOMEM)
			return -ENOMEM;
		snprintf(why, sizeof(why), "%s", vdpastate_last_error());
		return vds_fail(-VDPASTATE_EINCOMPAT, "netstate: to_cmds: features "
				"0x%llx: %s", (unsigned long long)features, why);
	}
	err = generate(cur, state, true, "to_cmds", out);
	vdpastate_netstate_free(cur);
	return err;
}

VDPASTATE_API int vdpastate_netstate_diff(const struct vdpastate_netstate *from,
					  const struct vdpastate_netstate *to,
					  struct vdpastate_cvq_cmdlist **out)
{
	struct vdpastate_netstate *cur;
	int err;

	if (!from || !to || !out)
		return vds_fail(-EINVAL, "netstate: diff: NULL state or out");
	if (!cfg_equal(&from->cfg, &to->cfg))
		return vds_fail(-VDPASTATE_EINCOMPAT, "netstate: diff: the "
				"configurations differ (features 0x%llx vs 0x%llx);"
				" a full reload is needed",
				(unsigned long long)from->cfg.features,
				(unsigned long long)to->cfg.features);
	cur = vdpastate_netstate_copy(from);
	if (!cur)
		return -ENOMEM;
	err = generate(cur, to, false, "diff", out);
	vdpastate_netstate_free(cur);
	return err;
}

/* ------------------------------------------------------------ getters */

#define CHECK_STATE(s, name)                                                \
	do {                                                                \
		if (!(s))                                                   \
			return vds_fail(-EINVAL, "netstate: %s: NULL state", \
					name);                              \
	} while (0)

VDPASTATE_API int
vdpastate_netstate_get_config(const struct vdpastate_netstate *state,
			      struct vdpastate_netstate_config *out)
{
	struct vdpastate_netstate_config c;
	size_t n;

	CHECK_STATE(state, "get_config");
	if (!out || out->sz < sizeof(size_t))
		return vds_fail(-EINVAL, "netstate: get_config: out or its sz "
				"invalid");
	c = state->cfg;
	c.status = state->status;
	n = out->sz < sizeof(c) ? out->sz : sizeof(c);
	memcpy((char *)out + sizeof(size_t), (char *)&c + sizeof(size_t),
	       n - sizeof(size_t));
	return 0;
}

VDPASTATE_API uint64_t
vdpastate_netstate_features(const struct vdpastate_netstate *state)
{
	return state ? state->cfg.features : 0;
}

VDPASTATE_API uint16_t
vdpastate_netstate_status(const struct vdpastate_netstate *state)
{
	return state ? state->status : 0;
}

VDPASTATE_API int vdpastate_netstate_mac(const struct vdpastate_netstate *state,
					 uint8_t mac[6])
{
	CHECK_STATE(state, "mac");
	if (mac)
		memcpy(mac, state->mac, MAC_LEN);
	return 0;
}

VDPASTATE_API uint32_t
vdpastate_netstate_rx_mode(const struct vdpastate_netstate *state)
{
	return state ? state->rx : 0;
}

VDPASTATE_API int
vdpastate_netstate_mac_table(const struct vdpastate_netstate *state,
			     const uint8_t **uni, uint32_t *n_uni,
			     const uint8_t **multi, uint32_t *n_multi)
{
	CHECK_STATE(state, "mac_table");
	if (uni)
		*uni = state->n_uni ? state->macs : NULL;
	if (n_uni)
		*n_uni = state->n_uni;
	if (multi)
		*multi = state->n_multi
				 ? state->macs + (size_t)state->n_uni * MAC_LEN
				 : NULL;
	if (n_multi)
		*n_multi = state->n_multi;
	return 0;
}

VDPASTATE_API int
vdpastate_netstate_mac_table_overflow(const struct vdpastate_netstate *state,
				      bool *uni, bool *multi)
{
	bool u;

	CHECK_STATE(state, "mac_table_overflow");
	/* Like QEMU: unicast first; multicast gets what is left. */
	u = state->n_uni > VDPASTATE_NETSTATE_MAC_TABLE_ENTRIES;
	if (uni)
		*uni = u;
	if (multi)
		*multi = (uint64_t)(u ? 0 : state->n_uni) + state->n_multi >
			 VDPASTATE_NETSTATE_MAC_TABLE_ENTRIES;
	return 0;
}

VDPASTATE_API int vdpastate_netstate_vlan(const struct vdpastate_netstate *state,
					  uint16_t vid)
{
	CHECK_STATE(state, "vlan");
	if (vid > VDPASTATE_CVQ_VLAN_MAX)
		return vds_fail(-EINVAL, "netstate: vlan: vid %u out of range "
				"(max 4095)", vid);
	return (int)((state->vlans[vid / 64] >> (vid % 64)) & 1);
}

VDPASTATE_API unsigned int
vdpastate_netstate_vlan_count(const struct vdpastate_netstate *state)
{
	unsigned int i, n = 0;

	for (i = 0; state && i < VLAN_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(state->vlans[i]);
	return n;
}

VDPASTATE_API uint16_t
vdpastate_netstate_queue_pairs(const struct vdpastate_netstate *state)
{
	return state ? state->pairs : 0;
}

VDPASTATE_API uint16_t
vdpastate_netstate_active_pairs(const struct vdpastate_netstate *state)
{
	return state ? active_pairs(state) : 0;
}

VDPASTATE_API bool
vdpastate_netstate_rss_enabled(const struct vdpastate_netstate *state)
{
	return state && state->rss;
}

VDPASTATE_API int vdpastate_netstate_rss(const struct vdpastate_netstate *state,
					 uint32_t *hash_types,
					 const uint16_t **table,
					 uint32_t *table_len,
					 uint16_t *unclassified,
					 uint16_t *max_tx_vq,
					 const uint8_t **key, uint8_t *key_len)
{
	CHECK_STATE(state, "rss");
	if (!state->rss)
		return vds_fail(-ENOENT, "netstate: rss: RSS is not enabled");
	if (hash_types)
		*hash_types = state->rss_hash;
	if (table)
		*table = state->rss_table;
	if (table_len)
		*table_len = state->rss_len;
	if (unclassified)
		*unclassified = state->rss_unclassified;
	if (max_tx_vq)
		*max_tx_vq = state->rss_max_tx_vq;
	if (key)
		*key = state->rss_key;
	if (key_len)
		*key_len = state->rss_key_len;
	return 0;
}

VDPASTATE_API int
vdpastate_netstate_hash_config(const struct vdpastate_netstate *state,
			       uint32_t *hash_types, const uint8_t **key,
			       uint8_t *key_len)
{
	CHECK_STATE(state, "hash_config");
	if (hash_types)
		*hash_types = state->hash_types;
	if (key)
		*key = state->hash_key;
	if (key_len)
		*key_len = state->hash_key_len;
	return 0;
}

VDPASTATE_API uint64_t
vdpastate_netstate_guest_offloads(const struct vdpastate_netstate *state)
{
	return state ? state->offloads : 0;
}

static int get_coal(const struct vdpastate_netstate *state, struct coal v,
		    uint32_t *max_packets, uint32_t *max_usecs)
{
	if (max_packets)
		*max_packets = v.pk;
	if (max_usecs)
		*max_usecs = v.us;
	return 0;
}

VDPASTATE_API int
vdpastate_netstate_coal_tx(const struct vdpastate_netstate *state,
			   uint32_t *max_packets, uint32_t *max_usecs)
{
	CHECK_STATE(state, "coal_tx");
	return get_coal(state, state->tx, max_packets, max_usecs);
}

VDPASTATE_API int
vdpastate_netstate_coal_rx(const struct vdpastate_netstate *state,
			   uint32_t *max_packets, uint32_t *max_usecs)
{
	CHECK_STATE(state, "coal_rx");
	return get_coal(state, state->rxc, max_packets, max_usecs);
}

VDPASTATE_API int
vdpastate_netstate_coal_vq(const struct vdpastate_netstate *state,
			   uint16_t vq_index, uint32_t *max_packets,
			   uint32_t *max_usecs)
{
	CHECK_STATE(state, "coal_vq");
	if ((uint32_t)vq_index >= 2u * state->cfg.max_virtqueue_pairs)
		return vds_fail(-EINVAL, "netstate: coal_vq: vq_index %u is not a "
				"data virtqueue", vq_index);
	return get_coal(state, vq_coal(state, vq_index), max_packets, max_usecs);
}
