/* SPDX-License-Identifier: MIT */
/*
 * lib/cvq_int.h - the inside of a CVQ command and command list, shared by
 * cvq.c (build, encode, decode), netstate.c (apply, to_cmds, diff) and
 * blob.c (device parts carry command payloads).  Never installed.
 */
#ifndef VDS_CVQ_INT_H
#define VDS_CVQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/cvq.h>

struct vds_stats_entry {
	uint16_t vq_index;
	uint64_t types;
};

/*
 * One command.  Fixed fields live inline; variable arrays are on the heap
 * and owned by the command.  Kept small because command lists hold these
 * by value (no allocation per VLAN_ADD).
 */
struct vdpastate_cvq_cmd {
	uint8_t cls;
	uint8_t cmd;
	uint8_t rx;           /* RX class: 0 or 1 */
	uint8_t key_len;      /* RSS_CONFIG, HASH_CONFIG */
	uint8_t mac[6];       /* MAC_ADDR_SET */
	uint16_t u16;         /* vid, pairs, coal vq_index */
	uint16_t unclassified; /* RSS_CONFIG */
	uint16_t max_tx_vq;    /* RSS_CONFIG */
	uint32_t hash_types;  /* RSS_CONFIG, HASH_CONFIG */
	uint32_t max_packets; /* NOTF_COAL */
	uint32_t max_usecs;   /* NOTF_COAL */
	uint32_t n_uni;       /* MAC_TABLE_SET */
	uint32_t n_multi;
	uint32_t n;           /* RSS table length, STATS_GET entries */
	uint64_t offloads;    /* GUEST_OFFLOADS_SET */
	uint8_t *macs;        /* n_uni then n_multi addresses */
	uint16_t *table;      /* RSS indirection table */
	uint8_t *key;         /* hash key */
	struct vds_stats_entry *stats;
};

struct vdpastate_cvq_cmdlist {
	struct vdpastate_cvq_cmd *v;
	size_t n, cap;
};

/* Device limits with the defaults resolved. */
struct vds_cvq_lim {
	uint32_t max_pairs;
	uint32_t max_table;
	uint32_t max_key;
	uint32_t hash_types;
};

/* Resolve a caller's limits struct (NULL: spec maxima).  0 or -EINVAL. */
int vds_cvq_lim_resolve(const struct vdpastate_cvq_limits *in,
			struct vds_cvq_lim *out);

/*
 * Builders into caller storage (c is zeroed first).  Those that allocate
 * return 0 or -ENOMEM; all return -EINVAL (with a message) for values the
 * spec forbids.
 */
int vds_cvq_init_rx(struct vdpastate_cvq_cmd *c, uint8_t cmd, bool on);
void vds_cvq_init_mac_addr(struct vdpastate_cvq_cmd *c, const uint8_t mac[6]);
int vds_cvq_init_mac_table(struct vdpastate_cvq_cmd *c, const uint8_t *uni,
			   uint32_t n_uni, const uint8_t *multi,
			   uint32_t n_multi);
int vds_cvq_init_vlan(struct vdpastate_cvq_cmd *c, uint8_t cmd, uint16_t vid);
int vds_cvq_init_pairs(struct vdpastate_cvq_cmd *c, uint16_t pairs);
int vds_cvq_init_rss(struct vdpastate_cvq_cmd *c, uint32_t hash_types,
		     const uint16_t *table, uint32_t table_len,
		     uint16_t unclassified, uint16_t max_tx_vq,
		     const uint8_t *key, uint8_t key_len);
int vds_cvq_init_hash(struct vdpastate_cvq_cmd *c, uint32_t hash_types,
		      const uint8_t *key, uint8_t key_len);
int vds_cvq_init_offloads(struct vdpastate_cvq_cmd *c, uint64_t offloads);
void vds_cvq_init_coal(struct vdpastate_cvq_cmd *c, uint8_t cmd,
		       uint16_t vq_index, uint32_t max_packets,
		       uint32_t max_usecs);

/* Free what c owns (not c itself) and zero it. */
void vds_cvq_cmd_release(struct vdpastate_cvq_cmd *c);
/* Deep copy into dst.  0 or -ENOMEM (dst then zeroed). */
int vds_cvq_cmd_clone(struct vdpastate_cvq_cmd *dst,
		      const struct vdpastate_cvq_cmd *src);

/* Bytes of the command-specific data. */
size_t vds_cvq_payload_size(const struct vdpastate_cvq_cmd *c);
/* Write the command-specific data (vds_cvq_payload_size() bytes). */
void vds_cvq_write_payload(const struct vdpastate_cvq_cmd *c, uint8_t *p);

/*
 * Parse the command-specific data of class/command and validate it; on
 * success out owns what it points to.  Errors as vdpastate_cvq_decode().
 * lim NULL: structure only (the caller validates, e.g. by applying).
 */
int vds_cvq_parse(uint8_t cls, uint8_t cmd, const uint8_t *p, size_t len,
		  uint64_t features, const struct vds_cvq_lim *lim,
		  struct vdpastate_cvq_cmd *out);
/* Feature and semantic checks of a built or parsed command. */
int vds_cvq_validate(const struct vdpastate_cvq_cmd *c, uint64_t features,
		     const struct vds_cvq_lim *lim);

/* "VLAN_ADD" etc., or "UNKNOWN". */
const char *vds_cvq_name(uint8_t cls, uint8_t cmd);

/* Command lists. */
struct vdpastate_cvq_cmdlist *vds_cmdlist_new(void);
/* Append c, taking what it owns (c is zeroed).  0 or -ENOMEM (c released). */
int vds_cmdlist_push(struct vdpastate_cvq_cmdlist *l,
		     struct vdpastate_cvq_cmd *c);

#endif /* VDS_CVQ_INT_H */
