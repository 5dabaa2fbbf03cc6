/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/cvq.h - typed virtio-net control-virtqueue (CVQ) commands:
 * one builder per command of every class, an encoder that writes the exact
 * wire layout of the virtio specification (struct virtio_net_ctrl header
 * {u8 class; u8 command;} followed by the little-endian command-specific
 * data; the device-written ack byte is not part of it), and a decoder that
 * validates wire bytes against the negotiated features and the device's
 * limits.  Commands and command lists are opaque handles.
 */
#ifndef LIBVDPASTATE_CVQ_H
#define LIBVDPASTATE_CVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* virtio-net feature bit numbers (virtio spec, "Network Device / Feature bits"). */
#define VDPASTATE_NET_F_CSUM 0
#define VDPASTATE_NET_F_GUEST_CSUM 1
#define VDPASTATE_NET_F_CTRL_GUEST_OFFLOADS 2
#define VDPASTATE_NET_F_MTU 3
#define VDPASTATE_NET_F_MAC 5
#define VDPASTATE_NET_F_GUEST_TSO4 7
#define VDPASTATE_NET_F_GUEST_TSO6 8
#define VDPASTATE_NET_F_GUEST_ECN 9
#define VDPASTATE_NET_F_GUEST_UFO 10
#define VDPASTATE_NET_F_HOST_TSO4 11
#define VDPASTATE_NET_F_HOST_TSO6 12
#define VDPASTATE_NET_F_HOST_ECN 13
#define VDPASTATE_NET_F_HOST_UFO 14
#define VDPASTATE_NET_F_MRG_RXBUF 15
#define VDPASTATE_NET_F_STATUS 16
#define VDPASTATE_NET_F_CTRL_VQ 17
#define VDPASTATE_NET_F_CTRL_RX 18
#define VDPASTATE_NET_F_CTRL_VLAN 19
#define VDPASTATE_NET_F_CTRL_RX_EXTRA 20
#define VDPASTATE_NET_F_GUEST_ANNOUNCE 21
#define VDPASTATE_NET_F_MQ 22
#define VDPASTATE_NET_F_CTRL_MAC_ADDR 23
#define VDPASTATE_NET_F_DEVICE_STATS 50
#define VDPASTATE_NET_F_HASH_TUNNEL 51
#define VDPASTATE_NET_F_VQ_NOTF_COAL 52
#define VDPASTATE_NET_F_NOTF_COAL 53
#define VDPASTATE_NET_F_GUEST_USO4 54
#define VDPASTATE_NET_F_GUEST_USO6 55
#define VDPASTATE_NET_F_HOST_USO 56
#define VDPASTATE_NET_F_HASH_REPORT 57
#define VDPASTATE_NET_F_GUEST_HDRLEN 59
#define VDPASTATE_NET_F_RSS 60
#define VDPASTATE_NET_F_RSC_EXT 61
#define VDPASTATE_NET_F_STANDBY 62
#define VDPASTATE_NET_F_SPEED_DUPLEX 63

/* The feature mask of a bit number, for building a features word. */
#define VDPASTATE_NET_FBIT(bit) (UINT64_C(1) << (bit))

/* Offload bits GUEST_OFFLOADS_SET may carry (spec, "Setting Offloads State"). */
#define VDPASTATE_NET_OFFLOADS_MASK                                      \
	(VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_CSUM) |                \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_TSO4) |                \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_TSO6) |                \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_ECN) |                 \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_UFO) |                 \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_USO4) |                \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_GUEST_USO6))

/* Control classes and their commands (values from the spec). */
#define VDPASTATE_CVQ_RX 0
#define VDPASTATE_CVQ_RX_PROMISC 0
#define VDPASTATE_CVQ_RX_ALLMULTI 1
#define VDPASTATE_CVQ_RX_ALLUNI 2
#define VDPASTATE_CVQ_RX_NOMULTI 3
#define VDPASTATE_CVQ_RX_NOUNI 4
#define VDPASTATE_CVQ_RX_NOBCAST 5

#define VDPASTATE_CVQ_MAC 1
#define VDPASTATE_CVQ_MAC_TABLE_SET 0
#define VDPASTATE_CVQ_MAC_ADDR_SET 1

#define VDPASTATE_CVQ_VLAN 2
#define VDPASTATE_CVQ_VLAN_ADD 0
#define VDPASTATE_CVQ_VLAN_DEL 1

#define VDPASTATE_CVQ_ANNOUNCE 3
#define VDPASTATE_CVQ_ANNOUNCE_ACK 0

#define VDPASTATE_CVQ_MQ 4
#define VDPASTATE_CVQ_MQ_VQ_PAIRS_SET 0
#define VDPASTATE_CVQ_MQ_RSS_CONFIG 1
#define VDPASTATE_CVQ_MQ_HASH_CONFIG 2

#define VDPASTATE_CVQ_GUEST_OFFLOADS 5
#define VDPASTATE_CVQ_GUEST_OFFLOADS_SET 0

#define VDPASTATE_CVQ_NOTF_COAL 6
#define VDPASTATE_CVQ_NOTF_COAL_TX_SET 0
#define VDPASTATE_CVQ_NOTF_COAL_RX_SET 1
#define VDPASTATE_CVQ_NOTF_COAL_VQ_SET 2
#define VDPASTATE_CVQ_NOTF_COAL_VQ_GET 3

#define VDPASTATE_CVQ_STATS 8
#define VDPASTATE_CVQ_STATS_QUERY 0
#define VDPASTATE_CVQ_STATS_GET 1

/* Hash types (spec, "Supported/enabled hash types"). */
#define VDPASTATE_NET_HASH_IPV4 (1u << 0)
#define VDPASTATE_NET_HASH_TCPV4 (1u << 1)
#define VDPASTATE_NET_HASH_UDPV4 (1u << 2)
#define VDPASTATE_NET_HASH_IPV6 (1u << 3)
#define VDPASTATE_NET_HASH_TCPV6 (1u << 4)
#define VDPASTATE_NET_HASH_UDPV6 (1u << 5)
#define VDPASTATE_NET_HASH_IP_EX (1u << 6)
#define VDPASTATE_NET_HASH_TCP_EX (1u << 7)
#define VDPASTATE_NET_HASH_UDP_EX (1u << 8)
#define VDPASTATE_NET_HASH_ALL 0x1ffu

/* Spec limits that do not depend on a device. */
#define VDPASTATE_CVQ_VQ_PAIRS_MAX 0x8000 /* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX */
#define VDPASTATE_CVQ_VLAN_MAX 4095
#define VDPASTATE_CVQ_RSS_TABLE_MAX 32768 /* largest power of two in le16 */
#define VDPASTATE_CVQ_KEY_MAX 255         /* hash_key_length is a u8 */
#define VDPASTATE_CVQ_HDR_LEN 2           /* class + command */

struct vdpastate_cvq_cmd;
struct vdpastate_cvq_cmdlist;

/*
 * Device limits the decoder checks, read from the device's virtio_net_config.
 * A NULL pointer, or a zero field, means "the spec's own maximum":
 * max_virtqueue_pairs 0x8000, indirection table 32768 entries, key 255
 * bytes, every defined hash type.
 */
struct vdpastate_cvq_limits {
	size_t sz;
	uint16_t max_virtqueue_pairs;
	uint16_t rss_max_indirection_table_length;
	uint8_t rss_max_key_size;
	uint8_t reserved0;
	uint16_t reserved1;
	uint32_t supported_hash_types;
	uint32_t reserved2;
};

/*
 * Builders.  Each returns a new command (free with vdpastate_cvq_cmd_free())
 * or NULL with errno set: EINVAL for a value the spec forbids whatever the
 * device (VLAN id above 4095, 0 or more than 0x8000 queue pairs, an
 * indirection table whose length is not a power of two or is above
 * VDPASTATE_CVQ_RSS_TABLE_MAX, a receive queue
 * id with its reserved bit 15 set, a hash type or offload bit the spec does
 * not define, a NULL array with a non-zero count); ENOMEM.  Arrays are copied.
 */
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_promisc(bool on);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_allmulti(bool on);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_alluni(bool on);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nomulti(bool on);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nouni(bool on);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_rx_nobcast(bool on);
/* uni: n_uni unicast addresses, multi: n_multi multicast, 6 bytes each. */
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mac_table_set(const uint8_t *uni, uint32_t n_uni,
				const uint8_t *multi, uint32_t n_multi);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mac_addr_set(const uint8_t mac[6]);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_vlan_add(uint16_t vid);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_vlan_del(uint16_t vid);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_announce_ack(void);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_vq_pairs_set(uint16_t pairs);
/*
 * table: table_len receive-queue ids (vq index / 2), table_len a power of
 * two from 1 to 32768 (rss_max_indirection_table_length is 16 bits, so no
 * device takes 65536); unclassified: receive-queue id; max_tx_vq: transmit
 * queues the driver uses; key: key_len bytes.
 */
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_rss_config(uint32_t hash_types, const uint16_t *table,
				uint32_t table_len, uint16_t unclassified,
				uint16_t max_tx_vq, const uint8_t *key,
				uint8_t key_len);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_mq_hash_config(uint32_t hash_types, const uint8_t *key,
				 uint8_t key_len);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_guest_offloads_set(uint64_t offloads);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_tx_set(uint32_t max_packets, uint32_t max_usecs);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_rx_set(uint32_t max_packets, uint32_t max_usecs);
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_vq_set(uint16_t vq_index, uint32_t max_packets,
				   uint32_t max_usecs);
/* Queries: they decode, but never change or form part of saved state. */
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_notf_coal_vq_get(uint16_t vq_index);
VDPASTATE_API struct vdpastate_cvq_cmd *vdpastate_cvq_cmd_stats_query(void);
/* n entries {vq_index[i], types[i]}, n >= 1. */
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_stats_get(const uint16_t *vq_index, const uint64_t *types,
			    uint32_t n);

/* Free a command; NULL is a no-op. */
VDPASTATE_API void vdpastate_cvq_cmd_free(struct vdpastate_cvq_cmd *cmd);
/* A deep copy, or NULL with errno ENOMEM. */
VDPASTATE_API struct vdpastate_cvq_cmd *
vdpastate_cvq_cmd_copy(const struct vdpastate_cvq_cmd *cmd);

/* Bytes the wire form takes: header + command-specific data. */
VDPASTATE_API size_t
vdpastate_cvq_cmd_wire_size(const struct vdpastate_cvq_cmd *cmd);
/*
 * Write the wire form into buf.  Returns the number of bytes written, or
 * -ENOBUFS (nothing written, the message names the size needed) when
 * buflen is smaller than vdpastate_cvq_cmd_wire_size().
 */
VDPASTATE_API int vdpastate_cvq_cmd_encode(const struct vdpastate_cvq_cmd *cmd,
					   void *buf, size_t buflen);

/*
 * Decode and validate len wire bytes (header + command-specific data, no
 * ack byte) sent with the negotiated features, under the device limits
 * (NULL: spec maxima).  On success *out receives a new command and 0 is
 * returned; on failure *out is untouched and the last-error message names
 * the command and the field:
 *   -EBADMSG            shorter than a header, or a payload length that is
 *                       not exactly what the command's layout gives;
 *   -EOPNOTSUPP         unknown class or command;
 *   VDPASTATE_EFEATURE  (negative) the command or a bit it sets needs a
 *                       feature that was not negotiated (CTRL_VQ first);
 *   -EINVAL             a value the spec forbids (an RX value other than 0
 *                       or 1, VLAN id > 4095, pairs 0, non-power-of-two
 *                       table, a queue id's reserved bit 15 set, unicast
 *                       table holding a multicast address, ...);
 *   -ERANGE             a value beyond the device limits (pairs, table
 *                       length, key size, queue ids, unsupported hash types);
 *   -ENOMEM.
 * Reserved fields other than queue ids' bit 15 are ignored and encoded as
 * zero: those the spec has the device ignore, and MQ_HASH_CONFIG's
 * reserved[4], where Linux sends its queue pairs in use.
 */
VDPASTATE_API int vdpastate_cvq_decode(const void *buf, size_t len,
				       uint64_t features,
				       const struct vdpastate_cvq_limits *limits,
				       struct vdpastate_cvq_cmd **out);

/* Getters.  Those for a field the command does not carry return -EINVAL. */
VDPASTATE_API uint8_t vdpastate_cvq_cmd_class(const struct vdpastate_cvq_cmd *cmd);
VDPASTATE_API uint8_t
vdpastate_cvq_cmd_command(const struct vdpastate_cvq_cmd *cmd);
/* Static name such as "VLAN_ADD" or "RX_PROMISC". */
VDPASTATE_API const char *
vdpastate_cvq_cmd_name(const struct vdpastate_cvq_cmd *cmd);
/* RX class: 0 or 1. */
VDPASTATE_API int vdpastate_cvq_cmd_rx_value(const struct vdpastate_cvq_cmd *cmd);
/* MAC_ADDR_SET. */
VDPASTATE_API int vdpastate_cvq_cmd_mac(const struct vdpastate_cvq_cmd *cmd,
					uint8_t mac[6]);
/* MAC_TABLE_SET: pointers stay valid while cmd lives; any may be NULL. */
VDPASTATE_API int
vdpastate_cvq_cmd_mac_table(const struct vdpastate_cvq_cmd *cmd,
			    const uint8_t **uni, uint32_t *n_uni,
			    const uint8_t **multi, uint32_t *n_multi);
/* VLAN_ADD, VLAN_DEL: the VLAN id. */
VDPASTATE_API int vdpastate_cvq_cmd_vlan_id(const struct vdpastate_cvq_cmd *cmd);
/* VQ_PAIRS_SET: the number of pairs. */
VDPASTATE_API int
vdpastate_cvq_cmd_vq_pairs(const struct vdpastate_cvq_cmd *cmd);
/* RSS_CONFIG and HASH_CONFIG: hash types and key (any pointer may be NULL). */
VDPASTATE_API int vdpastate_cvq_cmd_hash(const struct vdpastate_cvq_cmd *cmd,
					 uint32_t *hash_types,
					 const uint8_t **key, uint8_t *key_len);
/* RSS_CONFIG only (any pointer may be NULL). */
VDPASTATE_API int vdpastate_cvq_cmd_rss(const struct vdpastate_cvq_cmd *cmd,
					const uint16_t **table,
					uint32_t *table_len,
					uint16_t *unclassified,
					uint16_t *max_tx_vq);
/* GUEST_OFFLOADS_SET. */
VDPASTATE_API int
vdpastate_cvq_cmd_offloads(const struct vdpastate_cvq_cmd *cmd,
			   uint64_t *offloads);
/* NOTF_COAL TX_SET, RX_SET, VQ_SET (either pointer may be NULL). */
VDPASTATE_API int vdpastate_cvq_cmd_coal(const struct vdpastate_cvq_cmd *cmd,
					 uint32_t *max_packets,
					 uint32_t *max_usecs);
/* NOTF_COAL VQ_SET, VQ_GET: the virtqueue index. */
VDPASTATE_API int
vdpastate_cvq_cmd_coal_vq(const struct vdpastate_cvq_cmd *cmd);
/* STATS_GET: number of entries, and entry i. */
VDPASTATE_API int
vdpastate_cvq_cmd_stats_count(const struct vdpastate_cvq_cmd *cmd);
VDPASTATE_API int
vdpastate_cvq_cmd_stats_entry(const struct vdpastate_cvq_cmd *cmd, uint32_t i,
			      uint16_t *vq_index, uint64_t *types);

/* Command lists, as returned by vdpastate_netstate_to_cmds() and _diff(). */
VDPASTATE_API size_t
vdpastate_cvq_cmdlist_count(const struct vdpastate_cvq_cmdlist *list);
/* Command i (owned by the list), or NULL with errno ENOENT. */
VDPASTATE_API const struct vdpastate_cvq_cmd *
vdpastate_cvq_cmdlist_get(const struct vdpastate_cvq_cmdlist *list, size_t i);
/* Free the list and its commands; NULL is a no-op. */
VDPASTATE_API void vdpastate_cvq_cmdlist_free(struct vdpastate_cvq_cmdlist *list);

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_CVQ_H */
