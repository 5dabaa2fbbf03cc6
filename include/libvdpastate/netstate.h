/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/netstate.h - the virtio-net device state model and its save
 * format.  A netstate is what acknowledged control-virtqueue commands have
 * made of a device since its reset, plus the configuration-space fields the
 * device exposes.  It turns into the minimal command list that rebuilds it
 * on a reset device, into the delta between two states, and into a blob
 * (virtio 1.4 device parts + library records) and back.
 */
#ifndef LIBVDPASTATE_NETSTATE_H
#define LIBVDPASTATE_NETSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>
#include <libvdpastate/cvq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_netstate;

/*
 * The device side of a state: negotiated features and the virtio_net_config
 * fields.  A field that only exists with a feature is ignored (taken as
 * its neutral value) when that feature is not negotiated.
 */
struct vdpastate_netstate_config {
	size_t sz;
	uint64_t features;       /* negotiated virtio-net feature bits */
	uint8_t mac[6];          /* config-space mac: the reset MAC */
	uint16_t status;         /* VIRTIO_NET_S_LINK_UP (1), _ANNOUNCE (2) */
	uint16_t max_virtqueue_pairs;              /* with MQ or RSS: 1..0x8000 */
	uint16_t mtu;                              /* with MTU: 68..65535 */
	uint16_t rss_max_indirection_table_length; /* with RSS: >= 128 */
	uint8_t rss_max_key_size;                  /* with RSS/HASH_REPORT: >= 40 */
	uint8_t reserved0;
	uint32_t supported_hash_types;             /* with RSS/HASH_REPORT */
	uint32_t reserved1;
};

/* config-space status bits */
#define VDPASTATE_NET_S_LINK_UP 1
#define VDPASTATE_NET_S_ANNOUNCE 2

/* RX mode bits of vdpastate_netstate_rx_mode(): 1 << VDPASTATE_CVQ_RX_*. */
#define VDPASTATE_NETSTATE_RX_PROMISC (1u << VDPASTATE_CVQ_RX_PROMISC)
#define VDPASTATE_NETSTATE_RX_ALLMULTI (1u << VDPASTATE_CVQ_RX_ALLMULTI)
#define VDPASTATE_NETSTATE_RX_ALLUNI (1u << VDPASTATE_CVQ_RX_ALLUNI)
#define VDPASTATE_NETSTATE_RX_NOMULTI (1u << VDPASTATE_CVQ_RX_NOMULTI)
#define VDPASTATE_NETSTATE_RX_NOUNI (1u << VDPASTATE_CVQ_RX_NOUNI)
#define VDPASTATE_NETSTATE_RX_NOBCAST (1u << VDPASTATE_CVQ_RX_NOBCAST)

/* Entries of a device MAC filter table like QEMU's; see _mac_table_overflow(). */
#define VDPASTATE_NETSTATE_MAC_TABLE_ENTRIES 64

/*
 * A state as the device is right after reset and feature negotiation (see
 * libvdpastate(7), "Reset defaults").  NULL config: no feature, zero MAC.
 * NULL with errno EINVAL (a config field out of the spec's range, unknown
 * option) or ENOMEM.
 */
VDPASTATE_API struct vdpastate_netstate *
vdpastate_netstate_new(const struct vdpastate_netstate_config *config);
/* Free; NULL is a no-op. */
VDPASTATE_API void vdpastate_netstate_free(struct vdpastate_netstate *state);
/* A deep copy, or NULL with errno ENOMEM. */
VDPASTATE_API struct vdpastate_netstate *
vdpastate_netstate_copy(const struct vdpastate_netstate *state);
/* Same configuration and same state (NULL equals only NULL). */
VDPASTATE_API bool vdpastate_netstate_equal(const struct vdpastate_netstate *a,
					    const struct vdpastate_netstate *b);
/*
 * What a migration must keep, across hosts: the same negotiated features
 * and the same state the driver set (the MAC in use, receive modes, MAC
 * and VLAN filters, queue pairs, RSS and hash configuration, offloads,
 * coalescing).  The devices' own configuration (config-space MAC, limits,
 * MTU, status) may differ.  NULL when a and b have the same such state,
 * else the name of the first part that differs ("features", "mac",
 * "rx mode", "mac table", "vlan filter", "queue pairs", "rss", "hash
 * config", "guest offloads", "coalescing", "per-virtqueue coalescing";
 * "state" when only one of them is NULL).
 */
VDPASTATE_API const char *
vdpastate_netstate_state_diff(const struct vdpastate_netstate *a,
			      const struct vdpastate_netstate *b);

/*
 * What the device does with a command it acknowledged.  The command is
 * checked against the state's features and limits as vdpastate_cvq_decode()
 * does, and against the state: NOTF_COAL_VQ_GET of a queue that is not
 * enabled (not below 2 * active pairs) is -EINVAL, as the spec has the
 * device answer ERR; NOTF_COAL_VQ_SET of such a queue (below
 * max_virtqueue_pairs) succeeds and records nothing, as Linux's ethtool -G
 * needs (vdpastate_netstate_apply(3), NOTES).  Queries change nothing.  On
 * error the state is unchanged.
 */
VDPASTATE_API int vdpastate_netstate_apply(struct vdpastate_netstate *state,
					   const struct vdpastate_cvq_cmd *cmd);

/*
 * The minimal ordered command list that brings a device freshly reset
 * with the negotiated features to this state: MAC_ADDR_SET, MQ
 * (VQ_PAIRS_SET or RSS_CONFIG), HASH_CONFIG, GUEST_OFFLOADS_SET, RX modes,
 * MAC_TABLE_SET, VLAN_ADDs, coalescing.  A command is left out only when
 * the spec guarantees the reset value equals the state.  0, or
 * -VDPASTATE_EINCOMPAT when the state needs a feature not in features
 * (the message names the field), -ENOMEM.
 */
VDPASTATE_API int vdpastate_netstate_to_cmds(const struct vdpastate_netstate *state,
					     uint64_t features,
					     struct vdpastate_cvq_cmdlist **out);

/*
 * The commands that turn a device in state from into state to (early
 * restore).  -VDPASTATE_EINCOMPAT when the two configurations differ or
 * the change cannot be made incrementally (a full reload is needed).
 */
VDPASTATE_API int vdpastate_netstate_diff(const struct vdpastate_netstate *from,
					  const struct vdpastate_netstate *to,
					  struct vdpastate_cvq_cmdlist **out);

/* Getters.  Pointers returned stay valid until the state is changed. */
/* The configuration; fills min(out->sz, library size) bytes. */
VDPASTATE_API int
vdpastate_netstate_get_config(const struct vdpastate_netstate *state,
			      struct vdpastate_netstate_config *out);
VDPASTATE_API uint64_t
vdpastate_netstate_features(const struct vdpastate_netstate *state);
/* Config-space status (ANNOUNCE_ACK clears VDPASTATE_NET_S_ANNOUNCE). */
VDPASTATE_API uint16_t
vdpastate_netstate_status(const struct vdpastate_netstate *state);
/* The current default MAC (MAC_ADDR_SET), config-space mac after reset. */
VDPASTATE_API int vdpastate_netstate_mac(const struct vdpastate_netstate *state,
					 uint8_t mac[6]);
/* VDPASTATE_NETSTATE_RX_* bits that are on. */
VDPASTATE_API uint32_t
vdpastate_netstate_rx_mode(const struct vdpastate_netstate *state);
VDPASTATE_API int
vdpastate_netstate_mac_table(const struct vdpastate_netstate *state,
			     const uint8_t **uni, uint32_t *n_uni,
			     const uint8_t **multi, uint32_t *n_multi);
/* Whether a 64-entry device table overflows (it then accepts all of the class). */
VDPASTATE_API int
vdpastate_netstate_mac_table_overflow(const struct vdpastate_netstate *state,
				      bool *uni, bool *multi);
/* 1 if vid is in the VLAN filter, 0 if not, -EINVAL above 4095. */
VDPASTATE_API int vdpastate_netstate_vlan(const struct vdpastate_netstate *state,
					  uint16_t vid);
VDPASTATE_API unsigned int
vdpastate_netstate_vlan_count(const struct vdpastate_netstate *state);
/* Pairs set by VQ_PAIRS_SET, or max_tx_vq of RSS_CONFIG (1 after reset). */
VDPASTATE_API uint16_t
vdpastate_netstate_queue_pairs(const struct vdpastate_netstate *state);
/* Queue pairs in use: VQ_PAIRS_SET pairs, or with RSS those RSS_CONFIG uses. */
VDPASTATE_API uint16_t
vdpastate_netstate_active_pairs(const struct vdpastate_netstate *state);
VDPASTATE_API bool
vdpastate_netstate_rss_enabled(const struct vdpastate_netstate *state);
/* RSS_CONFIG in force (-ENOENT when RSS is off); pointers may be NULL. */
VDPASTATE_API int vdpastate_netstate_rss(const struct vdpastate_netstate *state,
					 uint32_t *hash_types,
					 const uint16_t **table,
					 uint32_t *table_len,
					 uint16_t *unclassified,
					 uint16_t *max_tx_vq,
					 const uint8_t **key, uint8_t *key_len);
/* HASH_CONFIG in force (hash types 0 and no key after reset). */
VDPASTATE_API int
vdpastate_netstate_hash_config(const struct vdpastate_netstate *state,
			       uint32_t *hash_types, const uint8_t **key,
			       uint8_t *key_len);
VDPASTATE_API uint64_t
vdpastate_netstate_guest_offloads(const struct vdpastate_netstate *state);
/* TX_SET / RX_SET values (0 after reset). */
VDPASTATE_API int
vdpastate_netstate_coal_tx(const struct vdpastate_netstate *state,
			   uint32_t *max_packets, uint32_t *max_usecs);
VDPASTATE_API int
vdpastate_netstate_coal_rx(const struct vdpastate_netstate *state,
			   uint32_t *max_packets, uint32_t *max_usecs);
/* Parameters in force for one data virtqueue (-EINVAL: not a data queue). */
VDPASTATE_API int
vdpastate_netstate_coal_vq(const struct vdpastate_netstate *state,
			   uint16_t vq_index, uint32_t *max_packets,
			   uint32_t *max_usecs);

/*
 * Save format.  A blob object holds a netstate plus what the device layer
 * adds: common device parts (virtio 1.4, types 0x100..0x105 other than
 * DRV_FEATURES, which the netstate provides) and caller library records
 * (types 0x8000..0xffff).  The byte layout is in libvdpastate(7).
 */
struct vdpastate_blob;

/* Part types (virtio 1.4 "Device parts"). */
#define VDPASTATE_DEV_PART_DEV_FEATURES 0x100
#define VDPASTATE_DEV_PART_DRV_FEATURES 0x101
#define VDPASTATE_DEV_PART_PCI_COMMON_CFG 0x102
#define VDPASTATE_DEV_PART_DEVICE_STATUS 0x103
#define VDPASTATE_DEV_PART_VQ_CFG 0x104
#define VDPASTATE_DEV_PART_VQ_NOTIFY_CFG 0x105
#define VDPASTATE_NET_DEV_PART_CVQ_CFG_PART 0x200
#define VDPASTATE_DEV_PART_F_OPTIONAL 0x01 /* flags bit 0 */
/*
 * Library record flags and the range callers may use: 0x8000..0xfeff.
 * Below 0x8000 and from 0xff00 up the types are the library's (0xff00:
 * the device handle's vring record, libvdpastate/dev.h); a blob that
 * repeats a library record does not load.
 */
#define VDPASTATE_BLOB_REC_F_OPTIONAL 0x01
#define VDPASTATE_BLOB_REC_USER_MIN 0x8000
#define VDPASTATE_BLOB_REC_USER_MAX 0xfeff

/* An empty blob (no netstate yet).  NULL with errno ENOMEM. */
VDPASTATE_API struct vdpastate_blob *vdpastate_blob_new(void);
VDPASTATE_API void vdpastate_blob_free(struct vdpastate_blob *blob);
/* Store a copy of state (replacing any).  0, -EINVAL, -ENOMEM. */
VDPASTATE_API int vdpastate_blob_set_netstate(struct vdpastate_blob *blob,
					      const struct vdpastate_netstate *state);
/* The netstate held (owned by the blob), or NULL with errno ENOENT. */
VDPASTATE_API const struct vdpastate_netstate *
vdpastate_blob_netstate(const struct vdpastate_blob *blob);
/*
 * Add a common device part: part_type 0x100, 0x102..0x105, selector the 8
 * selector bytes as the spec lays them out (NULL: zero), flags
 * VDPASTATE_DEV_PART_F_OPTIONAL or 0; DEV_FEATURES, which the spec
 * defines as optional, must carry VDPASTATE_DEV_PART_F_OPTIONAL (else
 * -EINVAL, the blob unchanged).  Parts are saved in the spec's
 * order (by type, then in the order added).
 */
VDPASTATE_API int vdpastate_blob_add_part(struct vdpastate_blob *blob,
					  uint16_t part_type, uint8_t flags,
					  const uint8_t selector[8],
					  const void *value, uint32_t len);
VDPASTATE_API size_t vdpastate_blob_part_count(const struct vdpastate_blob *blob);
VDPASTATE_API int vdpastate_blob_part_get(const struct vdpastate_blob *blob,
					  size_t i, uint16_t *part_type,
					  uint8_t *flags, uint8_t selector[8],
					  const void **value, uint32_t *len);
/* Add a caller record: type VDPASTATE_BLOB_REC_USER_MIN..USER_MAX. */
VDPASTATE_API int vdpastate_blob_add_record(struct vdpastate_blob *blob,
					    uint16_t type, uint8_t flags,
					    const void *value, uint32_t len);
VDPASTATE_API size_t
vdpastate_blob_record_count(const struct vdpastate_blob *blob);
VDPASTATE_API int vdpastate_blob_record_get(const struct vdpastate_blob *blob,
					    size_t i, uint16_t *type,
					    uint8_t *flags, const void **value,
					    uint32_t *len);
/*
 * Serialize into buf.  Returns the size, or -ENOBUFS (the message names the
 * size needed; nothing written) when buflen is too small, -ENOENT without a
 * netstate, -EOVERFLOW above 2 GiB.  buf NULL with buflen 0 only asks.
 */
VDPASTATE_API long vdpastate_blob_save(const struct vdpastate_blob *blob,
				       void *buf, size_t buflen);
/*
 * Replace blob's content with what buf holds.  -EBADMSG (with a message)
 * for anything truncated, oversized, mis-checksummed, of another format
 * version, or inconsistent; blob is then untouched.
 */
VDPASTATE_API int vdpastate_blob_load(struct vdpastate_blob *blob,
				      const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_NETSTATE_H */
