/* SPDX-License-Identifier: MIT */
/*
 * lib/blob.c - the save format: a header, the virtio 1.4 device parts
 * (struct virtio_dev_part_hdr + value, little-endian; DRV_FEATURES and one
 * VIRTIO_NET_DEV_PART_CVQ_CFG_PART per {class, command} selector the spec
 * defines, the VLAN_ADD part holding the whole VLAN table), then library
 * records for what the spec does not cover: NET_CONFIG and one CVQ_STATE
 * record per remaining command (guest offloads, coalescing).
 * The byte layout is documented in libvdpastate(7), "Save format".
 *
 * Loading parses into fresh objects and swaps them in only when everything
 * checked out, so a bad blob never leaves partial state behind.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/netstate.h>

#include "bytes.h"
#include "cvq_int.h"
#include "internal.h"

#define BLOB_MAGIC "VDSB"
#define BLOB_VERSION 1
#define HDR_LEN 24
#define PART_HDR_LEN 16
#define REC_HDR_LEN 8
#define NET_CONFIG_LEN 20
#define REC_NET_CONFIG 1
#define REC_CVQ_STATE 2
#define VLAN_IDS 4096

struct part {
	uint16_t type;
	uint8_t flags;
	uint8_t sel[8];
	uint32_t len;
	uint8_t *val;
};

struct rec {
	uint16_t type;
	uint8_t flags;
	uint32_t len;
	uint8_t *val;
};

struct vdpastate_blob {
	struct vdpastate_netstate *ns;
	struct part *parts; /* common parts the caller added, by type */
	size_t n_parts;
	struct rec *recs;   /* caller records */
	size_t n_recs;
};

/* ------------------------------------------------------------ CRC-32C */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc_update)(uint32_t crc, const uint8_t *p, size_t len);

static uint32_t crc_update_table(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
/* The SSE4.2 crc32 instruction computes the same CRC-32C step, 8 bytes
 * at a time; the blob load of a small state is dominated by the checksum
 * otherwise. */
__attribute__((target("sse4.2"))) static uint32_t
crc_update_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc, v;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		for (c = i, j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0); /* Castagnoli */
		crc_table[i] = c;
	}
	crc_update = crc_update_table;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		crc_update = crc_update_sse42;
#endif
}

/* CRC-32C of the blob with its checksum field (bytes 12..15) taken as 0. */
static uint32_t blob_crc(const uint8_t *p, size_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = 0xffffffffu;

	pthread_once(&crc_once, crc_init);
	crc = crc_update(crc, p, 12);
	crc = crc_update(crc, zero, 4);
	crc = crc_update(crc, p + 16, len - 16);
	return crc ^ 0xffffffffu;
}

/* ------------------------------------------------------------ object */

static void free_content(struct vdpastate_blob *b)
{
	size_t i;

	vdpastate_netstate_free(b->ns);
	for (i = 0; i < b->n_parts; i++)
		free(b->parts[i].val);
	for (i = 0; i < b->n_recs; i++)
		free(b->recs[i].val);
	free(b->parts);
	free(b->recs);
	memset(b, 0, sizeof(*b));
}

VDPASTATE_API struct vdpastate_blob *vdpastate_blob_new(void)
{
	struct vdpastate_blob *b = calloc(1, sizeof(*b));

	if (!b)
		return vds_fail_ptr(-ENOMEM, "blob: out of memory");
	return b;
}

VDPASTATE_API void vdpastate_blob_free(struct vdpastate_blob *blob)
{
	if (!blob)
		return;
	free_content(blob);
	free(blob);
}

VDPASTATE_API int vdpastate_blob_set_netstate(struct vdpastate_blob *blob,
					      const struct vdpastate_netstate *state)
{
	struct vdpastate_netstate *c;

	if (!blob || !state)
		return vds_fail(-EINVAL, "blob: set_netstate: NULL argument");
	c = vdpastate_netstate_copy(state);
	if (!c)
		return -ENOMEM;
	vdpastate_netstate_free(blob->ns);
	blob->ns = c;
	return 0;
}

VDPASTATE_API const struct vdpastate_netstate *
vdpastate_blob_netstate(const struct vdpastate_blob *blob)
{
	if (!blob || !blob->ns)
		return vds_fail_ptr(-ENOENT, "blob: no netstate");
	return blob->ns;
}

static uint8_t *dup_val(const void *value, uint32_t len, int *err)
{
	uint8_t *v = malloc(len ? len : 1);

	if (!v)
		*err = vds_fail(-ENOMEM, "blob: out of memory for %u bytes", len);
	else if (len)
		memcpy(v, value, len);
	return v;
}

static bool common_part(uint16_t type)
{
	return type == VDPASTATE_DEV_PART_DEV_FEATURES ||
	       (type >= VDPASTATE_DEV_PART_PCI_COMMON_CFG &&
		type <= VDPASTATE_DEV_PART_VQ_NOTIFY_CFG);
}

/* Insert keeping parts sorted by type, stable for equal types. */
static int insert_part(struct part **v, size_t *n, const struct part *p)
{
	struct part *nv = realloc(*v, (*n + 1) * sizeof(**v));
	size_t i;

	if (!nv)
		return vds_fail(-ENOMEM, "blob: out of memory");
	*v = nv;
	for (i = *n; i > 0 && nv[i - 1].type > p->type; i--)
		nv[i] = nv[i - 1];
	nv[i] = *p;
	(*n)++;
	return 0;
}

static int push_rec(struct rec **v, size_t *n, const struct rec *r)
{
	struct rec *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return vds_fail(-ENOMEM, "blob: out of memory");
	*v = nv;
	nv[(*n)++] = *r;
	return 0;
}

VDPASTATE_API int vdpastate_blob_add_part(struct vdpastate_blob *blob,
					  uint16_t part_type, uint8_t flags,
					  const uint8_t selector[8],
					  const void *value, uint32_t len)
{
	struct part p = { part_type, flags, { 0 }, len, NULL };
	int err = 0;

	if (!blob || (!value && len))
		return vds_fail(-EINVAL, "blob: add_part: NULL argument");
	if (!common_part(part_type))
		return vds_fail(-EINVAL, "blob: add_part: type 0x%x is not a "
				"common part the caller provides (0x100, "
				"0x102..0x105)", part_type);
	if (flags & ~VDPASTATE_DEV_PART_F_OPTIONAL)
		return vds_fail(-EINVAL, "blob: add_part: flags 0x%x undefined",
				flags);
	/* The spec: "The VIRTIO_DEV_PART_DEV_FEATURES part is optional". */
	if (part_type == VDPASTATE_DEV_PART_DEV_FEATURES &&
	    !(flags & VDPASTATE_DEV_PART_F_OPTIONAL))
		return vds_fail(-EINVAL, "blob: add_part: DEV_FEATURES (0x100) must "
				"carry VDPASTATE_DEV_PART_F_OPTIONAL: the spec "
				"defines that part as optional");
	if (len > 0x10000000)
		return vds_fail(-EINVAL, "blob: add_part: %u bytes is too large",
				len);
	if (selector)
		memcpy(p.sel, selector, 8);
	p.val = dup_val(value, len, &err);
	if (err)
		return err;
	if ((err = insert_part(&blob->parts, &blob->n_parts, &p)))
		free(p.val);
	return err;
}

VDPASTATE_API size_t vdpastate_blob_part_count(const struct vdpastate_blob *blob)
{
	return blob ? blob->n_parts : 0;
}

VDPASTATE_API int vdpastate_blob_part_get(const struct vdpastate_blob *blob,
					  size_t i, uint16_t *part_type,
					  uint8_t *flags, uint8_t selector[8],
					  const void **value, uint32_t *len)
{
	const struct part *p;

	if (!blob || i >= blob->n_parts)
		return vds_fail(-ENOENT, "blob: no part %zu", i);
	p = &blob->parts[i];
	if (part_type)
		*part_type = p->type;
	if (flags)
		*flags = p->flags;
	if (selector)
		memcpy(selector, p->sel, 8);
	if (value)
		*value = p->val;
	if (len)
		*len = p->len;
	return 0;
}

static int add_rec(struct vdpastate_blob *blob, uint16_t type, uint8_t flags,
		   const void *value, uint32_t len)
{
	struct rec r = { type, flags, len, NULL };
	int err = 0;

	if (!blob || (!value && len))
		return vds_fail(-EINVAL, "blob: add_record: NULL argument");
	if (flags & ~VDPASTATE_BLOB_REC_F_OPTIONAL)
		return vds_fail(-EINVAL, "blob: add_record: flags 0x%x undefined",
				flags);
	if (len > 0x10000000)
		return vds_fail(-EINVAL, "blob: add_record: %u bytes is too large",
				len);
	r.val = dup_val(value, len, &err);
	if (err)
		return err;
	if ((err = push_rec(&blob->recs, &blob->n_recs, &r)))
		free(r.val);
	return err;
}

VDPASTATE_API int vdpastate_blob_add_record(struct vdpastate_blob *blob,
					    uint16_t type, uint8_t flags,
					    const void *value, uint32_t len)
{
	if (type < VDPASTATE_BLOB_REC_USER_MIN || type > VDPASTATE_BLOB_REC_USER_MAX)
		return vds_fail(-EINVAL, "blob: add_record: type 0x%x is in the "
				"library's range (callers use 0x%x..0x%x)", type,
				VDPASTATE_BLOB_REC_USER_MIN,
				VDPASTATE_BLOB_REC_USER_MAX);
	return add_rec(blob, type, flags, value, len);
}

int vds_blob_add_lib_record(struct vdpastate_blob *blob, uint16_t type,
			    uint8_t flags, const void *value, uint32_t len)
{
	size_t i;

	for (i = 0; blob && i < blob->n_recs; i++)
		if (blob->recs[i].type == type)
			return vds_fail(-EEXIST, "blob: library record 0x%x is "
					"already there", type);
	return add_rec(blob, type, flags, value, len);
}

bool vds_blob_has_netstate(const struct vdpastate_blob *blob)
{
	return blob && blob->ns;
}

VDPASTATE_API size_t
vdpastate_blob_record_count(const struct vdpastate_blob *blob)
{
	return blob ? blob->n_recs : 0;
}

VDPASTATE_API int vdpastate_blob_record_get(const struct vdpastate_blob *blob,
					    size_t i, uint16_t *type,
					    uint8_t *flags, const void **value,
					    uint32_t *len)
{
	const struct rec *r;

	if (!blob || i >= blob->n_recs)
		return vds_fail(-ENOENT, "blob: no record %zu", i);
	r = &blob->recs[i];
	if (type)
		*type = r->type;
	if (flags)
		*flags = r->flags;
	if (value)
		*value = r->val;
	if (len)
		*len = r->len;
	return 0;
}

/* ------------------------------------------------------------ save */

static uint8_t *put_part(uint8_t *p, uint16_t type, uint8_t flags,
			 const uint8_t sel[8], uint32_t len)
{
	vds_put_le16(p, type);
	p[2] = flags;
	p[3] = 0;
	memcpy(p + 4, sel, 8);
	vds_put_le32(p + 12, len);
	return p + PART_HDR_LEN;
}

static uint8_t *put_rec(uint8_t *p, uint16_t type, uint8_t flags, uint32_t len)
{
	vds_put_le16(p, type);
	p[2] = flags;
	p[3] = 0;
	vds_put_le32(p + 4, len);
	return p + REC_HDR_LEN;
}

static uint8_t *put_common(uint8_t *p, const struct vdpastate_blob *b,
			   size_t *i, uint16_t below)
{
	for (; *i < b->n_parts && b->parts[*i].type < below; (*i)++) {
		const struct part *c = &b->parts[*i];

		p = put_part(p, c->type, c->flags, c->sel, c->len);
		if (c->len)
			memcpy(p, c->val, c->len);
		p += c->len;
	}
	return p;
}

/*
 * The 13 {class, command} selectors of VIRTIO_NET_DEV_PART_CVQ_CFG_PART
 * (virtio 1.4, net "Device parts"): an index 0..12, or -1 for a command
 * the spec does not define as a part.
 */
static int spec_part(uint8_t cls, uint8_t cmd)
{
	switch (cls) {
	case VDPASTATE_CVQ_RX:
		return cmd <= VDPASTATE_CVQ_RX_NOBCAST ? cmd : -1;
	case VDPASTATE_CVQ_MAC:
		return cmd <= VDPASTATE_CVQ_MAC_ADDR_SET ? 6 + cmd : -1;
	case VDPASTATE_CVQ_VLAN:
		return cmd == VDPASTATE_CVQ_VLAN_ADD ? 8 : -1;
	case VDPASTATE_CVQ_ANNOUNCE:
		return cmd == VDPASTATE_CVQ_ANNOUNCE_ACK ? 9 : -1;
	case VDPASTATE_CVQ_MQ:
		return cmd <= VDPASTATE_CVQ_MQ_HASH_CONFIG ? 10 + cmd : -1;
	default:
		return -1;
	}
}
#define SPEC_PARTS 13

/* The state commands outside the 13 that a CVQ_STATE record carries. */
static bool cvq_state_cmd(uint8_t cls, uint8_t cmd)
{
	return (cls == VDPASTATE_CVQ_GUEST_OFFLOADS &&
		cmd == VDPASTATE_CVQ_GUEST_OFFLOADS_SET) ||
	       (cls == VDPASTATE_CVQ_NOTF_COAL &&
		cmd <= VDPASTATE_CVQ_NOTF_COAL_VQ_SET);
}

static bool is_vlan_add(const struct vdpastate_cvq_cmd *c)
{
	return c->cls == VDPASTATE_CVQ_VLAN && c->cmd == VDPASTATE_CVQ_VLAN_ADD;
}

/*
 * Sizes of the 0x200 parts and of the CVQ_STATE records for the command
 * list l.  A reset device has no VLAN, so every VLAN command of to_cmds is
 * a VLAN_ADD, in ascending id order: they make one part of 2 bytes each.
 * Any other selector of the 13 occurs at most once in to_cmds.
 */
static int cvq_sizes(const struct vdpastate_cvq_cmdlist *l, size_t *parts,
		     size_t *recs)
{
	unsigned int seen = 0;
	size_t i, nvlan = 0;
	int k;

	*parts = *recs = 0;
	for (i = 0; i < l->n; i++) {
		const struct vdpastate_cvq_cmd *c = &l->v[i];
		size_t len = vds_cvq_payload_size(c);

		if (is_vlan_add(c)) {
			nvlan++;
		} else if ((k = spec_part(c->cls, c->cmd)) >= 0) {
			if (seen & (1u << k))
				return vds_fail(-EPROTO, "blob: save: internal "
						"error: %s twice in the command "
						"list", vds_cvq_name(c->cls, c->cmd));
			seen |= 1u << k;
			*parts += PART_HDR_LEN + len;
		} else if (cvq_state_cmd(c->cls, c->cmd)) {
			*recs += REC_HDR_LEN + 2 + len;
		} else {
			return vds_fail(-EPROTO, "blob: save: internal error: "
					"%s in the command list",
					vds_cvq_name(c->cls, c->cmd));
		}
	}
	if (nvlan)
		*parts += PART_HDR_LEN + 2 * nvlan;
	return 0;
}

/* The VLAN part: every VLAN_ADD of l from index i on, le16 ids. */
static uint8_t *put_vlan_part(uint8_t *p, const struct vdpastate_cvq_cmdlist *l,
			      size_t i)
{
	static const uint8_t sel[8] = { VDPASTATE_CVQ_VLAN,
					VDPASTATE_CVQ_VLAN_ADD };
	uint8_t *h = p;
	size_t n = 0;

	p += PART_HDR_LEN;
	for (; i < l->n; i++)
		if (is_vlan_add(&l->v[i])) {
			vds_cvq_write_payload(&l->v[i], p); /* le16 vid */
			p += 2;
			n++;
		}
	put_part(h, VDPASTATE_NET_DEV_PART_CVQ_CFG_PART, 0, sel,
		 (uint32_t)(2 * n));
	return p;
}

VDPASTATE_API long vdpastate_blob_save(const struct vdpastate_blob *blob,
				       void *buf, size_t buflen)
{
	static const uint8_t zero_sel[8];
	struct vdpastate_netstate_config cfg = { .sz = sizeof(cfg) };
	struct vdpastate_cvq_cmdlist *l = NULL;
	uint8_t *out = buf, *p, sel[8] = { 0 };
	size_t need, parts, cvq_parts, cvq_recs, i, ci = 0;
	bool vlan_done = false;
	int err;

	if (!blob || (!buf && buflen))
		return vds_fail(-EINVAL, "blob: save: NULL argument");
	if (!blob->ns)
		return vds_fail(-ENOENT, "blob: save: no netstate set");
	vdpastate_netstate_get_config(blob->ns, &cfg);
	if ((err = vdpastate_netstate_to_cmds(blob->ns, cfg.features, &l)))
		return err;
	if ((err = cvq_sizes(l, &cvq_parts, &cvq_recs))) {
		vdpastate_cvq_cmdlist_free(l);
		return err;
	}
	parts = PART_HDR_LEN + 8 + cvq_parts; /* DRV_FEATURES, CVQ parts */
	for (i = 0; i < blob->n_parts; i++)
		parts += PART_HDR_LEN + blob->parts[i].len;
	need = HDR_LEN + parts + REC_HDR_LEN + NET_CONFIG_LEN + cvq_recs;
	for (i = 0; i < blob->n_recs; i++)
		need += REC_HDR_LEN + blob->recs[i].len;
	if (need > 0x7fffffff) {
		vdpastate_cvq_cmdlist_free(l);
		return vds_fail(-EOVERFLOW, "blob: save: %zu bytes", need);
	}
	if (!buf) {
		vdpastate_cvq_cmdlist_free(l);
		return (long)need;
	}
	if (buflen < need) {
		vdpastate_cvq_cmdlist_free(l);
		return vds_fail(-ENOBUFS, "blob: save: needs %zu bytes, buffer "
				"has %zu", need, buflen);
	}
	memcpy(out, BLOB_MAGIC, 4);
	vds_put_le16(out + 4, BLOB_VERSION);
	vds_put_le16(out + 6, HDR_LEN);
	vds_put_le32(out + 8, (uint32_t)need);
	vds_put_le32(out + 12, 0);
	vds_put_le32(out + 16, (uint32_t)parts);
	vds_put_le32(out + 20, 0);
	p = out + HDR_LEN;
	p = put_common(p, blob, &ci, VDPASTATE_DEV_PART_DRV_FEATURES);
	p = put_part(p, VDPASTATE_DEV_PART_DRV_FEATURES, 0, zero_sel, 8);
	vds_put_le64(p, cfg.features);
	p = put_common(p + 8, blob, &ci, VDPASTATE_NET_DEV_PART_CVQ_CFG_PART);
	/* One 0x200 part per selector, in to_cmds order. */
	for (i = 0; i < l->n; i++) {
		const struct vdpastate_cvq_cmd *c = &l->v[i];
		uint32_t len = (uint32_t)vds_cvq_payload_size(c);

		if (is_vlan_add(c)) {
			if (!vlan_done)
				p = put_vlan_part(p, l, i);
			vlan_done = true;
		} else if (spec_part(c->cls, c->cmd) >= 0) {
			sel[0] = c->cls;
			sel[1] = c->cmd;
			p = put_part(p, VDPASTATE_NET_DEV_PART_CVQ_CFG_PART, 0,
				     sel, len);
			vds_cvq_write_payload(c, p);
			p += len;
		}
	}
	p = put_rec(p, REC_NET_CONFIG, 0, NET_CONFIG_LEN);
	memcpy(p, cfg.mac, 6);
	vds_put_le16(p + 6, cfg.status);
	vds_put_le16(p + 8, cfg.max_virtqueue_pairs);
	vds_put_le16(p + 10, cfg.mtu);
	vds_put_le16(p + 12, cfg.rss_max_indirection_table_length);
	p[14] = cfg.rss_max_key_size;
	p[15] = 0;
	vds_put_le32(p + 16, cfg.supported_hash_types);
	p += NET_CONFIG_LEN;
	/* The other commands: one CVQ_STATE record each, in to_cmds order. */
	for (i = 0; i < l->n; i++) {
		const struct vdpastate_cvq_cmd *c = &l->v[i];
		uint32_t len = (uint32_t)vds_cvq_payload_size(c);

		if (!cvq_state_cmd(c->cls, c->cmd))
			continue;
		p = put_rec(p, REC_CVQ_STATE, 0, 2 + len);
		p[0] = c->cls;
		p[1] = c->cmd;
		vds_cvq_write_payload(c, p + 2);
		p += 2 + len;
	}
	vdpastate_cvq_cmdlist_free(l);
	for (i = 0; i < blob->n_recs; i++) {
		p = put_rec(p, blob->recs[i].type, blob->recs[i].flags,
			    blob->recs[i].len);
		if (blob->recs[i].len)
			memcpy(p, blob->recs[i].val, blob->recs[i].len);
		p += blob->recs[i].len;
	}
	vds_put_le32(out + 12, blob_crc(out, need));
	return (long)need;
}

/* ------------------------------------------------------------ load */

struct loader {
	const uint8_t *buf;
	size_t len;
	struct vdpastate_blob nb; /* the new content, swapped in on success */
	bool have_features, have_config;
	uint64_t features;
	struct vdpastate_netstate_config cfg;
	/* The 0x200 parts to apply, in blob order: at most one per selector. */
	const uint8_t *cvq[SPEC_PARTS];
	size_t cvq_idx[SPEC_PARTS]; /* part index, for messages */
	size_t n_cvq;
	unsigned int cvq_seen;      /* 1 << spec_part() */
	size_t recs_off;            /* where the records start */
};

static int bad(const char *fmt, ...) VDS_PRINTF(1, 2);

static int bad(const char *fmt, ...)
{
	char msg[VDS_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vds_fail(-EBADMSG, "blob: load: %s", msg);
}

static int load_header(struct loader *ld, size_t *parts_end)
{
	const uint8_t *b = ld->buf;
	uint32_t total, parts;

	if (ld->len < HDR_LEN)
		return bad("truncated: %zu bytes, the header alone is %u",
			   ld->len, HDR_LEN);
	if (memcmp(b, BLOB_MAGIC, 4))
		return bad("bad magic %02x %02x %02x %02x (want \"VDSB\")", b[0],
			   b[1], b[2], b[3]);
	if (vds_get_le16(b + 4) != BLOB_VERSION)
		return bad("format version %u not supported (this library reads "
			   "%u)", vds_get_le16(b + 4), BLOB_VERSION);
	if (vds_get_le16(b + 6) != HDR_LEN)
		return bad("header length %u, version 1 has %u",
			   vds_get_le16(b + 6), HDR_LEN);
	total = vds_get_le32(b + 8);
	if (total != ld->len)
		return bad("%s: header says %u bytes, got %zu",
			   total > ld->len ? "truncated" : "oversized", total,
			   ld->len);
	if (vds_get_le32(b + 12) != blob_crc(b, ld->len))
		return bad("checksum mismatch (stored 0x%08x, computed 0x%08x)",
			   vds_get_le32(b + 12), blob_crc(b, ld->len));
	parts = vds_get_le32(b + 16);
	if (parts > total - HDR_LEN)
		return bad("parts length %u beyond the %u bytes after the "
			   "header", parts, total - HDR_LEN);
	if (vds_get_le32(b + 20))
		return bad("header reserved field is not zero");
	*parts_end = HDR_LEN + (size_t)parts;
	return 0;
}

static int load_features(struct loader *ld, const uint8_t *sel,
			 const uint8_t *v, uint32_t len, size_t idx)
{
	uint32_t i;

	if (ld->have_features)
		return bad("part %zu: second DRV_FEATURES", idx);
	if (!len || len % 8)
		return bad("part %zu: DRV_FEATURES length %u is not a non-zero "
			   "multiple of 8", idx, len);
	for (i = 0; i < 8; i++)
		if (sel[i])
			return bad("part %zu: DRV_FEATURES selector not zero", idx);
	for (i = 8; i < len; i++)
		if (v[i])
			return bad("part %zu: DRV_FEATURES has feature bits above "
				   "63, which this library does not know", idx);
	ld->features = vds_get_le64(v);
	ld->have_features = true;
	return 0;
}

/*
 * A VIRTIO_NET_DEV_PART_CVQ_CFG_PART: its selector must be one of the 13
 * the spec defines (else it is skipped when optional, rejected when not),
 * with reserved bytes zero, and unique in the blob.  Kept for pass 2.
 */
static int load_cvq_part(struct loader *ld, const uint8_t *h, size_t idx)
{
	const uint8_t *sel = h + 4;
	unsigned int i;
	int k = spec_part(sel[0], sel[1]);

	if (k < 0) {
		if (h[2] & VDPASTATE_DEV_PART_F_OPTIONAL)
			return 0; /* not a part this library knows: skipped */
		return bad("part %zu: mandatory CVQ_CFG_PART with selector "
			   "{class %u, command %u} (%s), which is not one of the "
			   "13 device parts the spec defines", idx, sel[0],
			   sel[1], vds_cvq_name(sel[0], sel[1]));
	}
	for (i = 2; i < 8; i++)
		if (sel[i])
			return bad("part %zu: CVQ_CFG_PART selector reserved byte "
				   "%u not zero", idx, i);
	if (ld->cvq_seen & (1u << k))
		return bad("part %zu: second CVQ_CFG_PART with selector %s (each "
			   "selector identifies one part)", idx,
			   vds_cvq_name(sel[0], sel[1]));
	ld->cvq_seen |= 1u << k;
	ld->cvq[ld->n_cvq] = h;
	ld->cvq_idx[ld->n_cvq++] = idx;
	return 0;
}

/* Pass 1 over the parts: structure, order, and the common parts. */
static int load_parts(struct loader *ld, size_t end)
{
	size_t off = HDR_LEN, idx = 0;
	uint16_t prev = 0;
	int err;

	for (; off < end; idx++) {
		const uint8_t *h = ld->buf + off, *v;
		uint16_t type;
		uint32_t len;

		if (end - off < PART_HDR_LEN)
			return bad("part %zu: truncated header (%zu bytes left)",
				   idx, end - off);
		type = vds_get_le16(h);
		len = vds_get_le32(h + 12);
		v = h + PART_HDR_LEN;
		if (len > end - off - PART_HDR_LEN)
			return bad("part %zu (type 0x%x): length %u beyond the "
				   "parts section", idx, type, len);
		if (h[3])
			return bad("part %zu: reserved byte not zero", idx);
		if (h[2] & ~VDPASTATE_DEV_PART_F_OPTIONAL)
			return bad("part %zu: undefined flags 0x%x", idx, h[2]);
		if (type < prev)
			return bad("part %zu: type 0x%x after 0x%x breaks the "
				   "spec's part order", idx, type, prev);
		prev = type;
		off += PART_HDR_LEN + (size_t)len;
		if (type == VDPASTATE_DEV_PART_DRV_FEATURES) {
			if ((err = load_features(ld, h + 4, v, len, idx)))
				return err;
		} else if (type == VDPASTATE_NET_DEV_PART_CVQ_CFG_PART) {
			if ((err = load_cvq_part(ld, h, idx)))
				return err;
		} else if (common_part(type)) {
			struct part p = { type, h[2], { 0 }, len, NULL };

			if (type == VDPASTATE_DEV_PART_DEVICE_STATUS && len != 1)
				return bad("part %zu: DEVICE_STATUS length %u, "
					   "want 1", idx, len);
			if (type == VDPASTATE_DEV_PART_VQ_CFG && len != 32)
				return bad("part %zu: VQ_CFG length %u, want 32",
					   idx, len);
			if (type == VDPASTATE_DEV_PART_VQ_NOTIFY_CFG && len != 8)
				return bad("part %zu: VQ_NOTIFY_CFG length %u, "
					   "want 8", idx, len);
			memcpy(p.sel, h + 4, 8);
			p.val = dup_val(v, len, &err);
			if (!p.val)
				return err;
			if ((err = insert_part(&ld->nb.parts, &ld->nb.n_parts, &p))) {
				free(p.val);
				return err;
			}
		} else if (!(h[2] & VDPASTATE_DEV_PART_F_OPTIONAL)) {
			return bad("part %zu: unknown mandatory part type 0x%x",
				   idx, type);
		} /* unknown optional part: skipped */
	}
	return 0;
}

static int load_config(struct loader *ld, const uint8_t *v, uint32_t len,
		       size_t idx)
{
	struct vdpastate_netstate_config *c = &ld->cfg;

	if (ld->have_config)
		return bad("record %zu: second NET_CONFIG", idx);
	if (len != NET_CONFIG_LEN)
		return bad("record %zu: NET_CONFIG length %u, want %u", idx, len,
			   NET_CONFIG_LEN);
	if (v[15])
		return bad("record %zu: NET_CONFIG reserved byte not zero", idx);
	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	memcpy(c->mac, v, 6);
	c->status = vds_get_le16(v + 6);
	c->max_virtqueue_pairs = vds_get_le16(v + 8);
	c->mtu = vds_get_le16(v + 10);
	c->rss_max_indirection_table_length = vds_get_le16(v + 12);
	c->rss_max_key_size = v[14];
	c->supported_hash_types = vds_get_le32(v + 16);
	ld->have_config = true;
	return 0;
}

static int load_records(struct loader *ld, size_t off)
{
	size_t idx = 0;
	int err;

	ld->recs_off = off;
	for (; off < ld->len; idx++) {
		const uint8_t *h = ld->buf + off, *v = h + REC_HDR_LEN;
		uint16_t type;
		uint32_t len;

		if (ld->len - off < REC_HDR_LEN)
			return bad("record %zu: truncated header (%zu bytes left)",
				   idx, ld->len - off);
		type = vds_get_le16(h);
		len = vds_get_le32(h + 4);
		if (len > ld->len - off - REC_HDR_LEN)
			return bad("record %zu (type 0x%x): length %u beyond the "
				   "blob", idx, type, len);
		if (h[3])
			return bad("record %zu: reserved byte not zero", idx);
		if (h[2] & ~VDPASTATE_BLOB_REC_F_OPTIONAL)
			return bad("record %zu: undefined flags 0x%x", idx, h[2]);
		off += REC_HDR_LEN + (size_t)len;
		if (type == REC_NET_CONFIG) {
			if ((err = load_config(ld, v, len, idx)))
				return err;
		} else if (type == REC_CVQ_STATE) {
			/* Structure here; applied after the parts in pass 2. */
			if (len < 2)
				return bad("record %zu: CVQ_STATE length %u, shorter "
					   "than class and command", idx, len);
			if (!cvq_state_cmd(v[0], v[1]))
				return bad("record %zu: CVQ_STATE carries {class %u, "
					   "command %u} (%s); only GUEST_OFFLOADS_SET "
					   "and NOTF_COAL TX_SET, RX_SET, VQ_SET "
					   "belong there", idx, v[0], v[1],
					   vds_cvq_name(v[0], v[1]));
		} else if (type >= VDPASTATE_BLOB_REC_USER_MIN) {
			struct rec r = { type, h[2], len, NULL };
			size_t k;

			for (k = 0; type > VDPASTATE_BLOB_REC_USER_MAX &&
				    k < ld->nb.n_recs; k++)
				if (ld->nb.recs[k].type == type)
					return bad("record %zu: library record "
						   "0x%x repeated", idx, type);

			r.val = dup_val(v, len, &err);
			if (!r.val)
				return err;
			if ((err = push_rec(&ld->nb.recs, &ld->nb.n_recs, &r))) {
				free(r.val);
				return err;
			}
		} else if (!(h[2] & VDPASTATE_BLOB_REC_F_OPTIONAL)) {
			return bad("record %zu: unknown mandatory record type 0x%x",
				   idx, type);
		} /* unknown optional library record: skipped */
	}
	return 0;
}

/* Parse one command's data and apply it to the new state. */
static int replay(struct loader *ld, uint8_t cls, uint8_t cmd,
		  const uint8_t *v, uint32_t len, const char *what, size_t idx)
{
	char why[VDS_ERRMSG_MAX];
	struct vdpastate_cvq_cmd c;
	int err;

	memset(&c, 0, sizeof(c));
	/* Structure only here; apply checks features and limits. */
	err = vds_cvq_parse(cls, cmd, v, len, ld->features, NULL, &c);
	/* apply takes a VQ_SET of a disabled queue and drops it; the saver
	 * never writes one, so a blob that has one lost something. */
	if (!err && cls == VDPASTATE_CVQ_NOTF_COAL &&
	    cmd == VDPASTATE_CVQ_NOTF_COAL_VQ_SET)
		err = vds_netstate_vq_enabled(ld->nb.ns, &c);
	if (!err)
		err = vdpastate_netstate_apply(ld->nb.ns, &c);
	vds_cvq_cmd_release(&c);
	if (err == -ENOMEM)
		return err;
	if (err) {
		snprintf(why, sizeof(why), "%s", vdpastate_last_error());
		return bad("%s %zu (%s): %s", what, idx, vds_cvq_name(cls, cmd),
			   why);
	}
	return 0;
}

/*
 * The VLAN_ADD part: the whole VLAN table as le16 ids (the library's
 * reading of the spec's "a whole VLAN table"), each applied as a VLAN_ADD.
 * The saver writes them ascending; any order is read, but not twice.
 */
static int load_vlans(struct loader *ld, const uint8_t *v, uint32_t len,
		      size_t idx)
{
	uint64_t seen[VLAN_IDS / 64] = { 0 };
	uint32_t i;
	int err;

	if (!len || len % 2)
		return bad("part %zu: VLAN_ADD table length %u is not a non-zero "
			   "multiple of 2", idx, len);
	for (i = 0; i < len; i += 2) {
		uint16_t vid = vds_get_le16(v + i);

		if (vid >= VLAN_IDS)
			return bad("part %zu: VLAN_ADD table entry %u: id %u "
				   "above 4095", idx, i / 2, vid);
		if (seen[vid / 64] & (UINT64_C(1) << (vid % 64)))
			return bad("part %zu: VLAN_ADD table entry %u: id %u "
				   "appears twice", idx, i / 2, vid);
		seen[vid / 64] |= UINT64_C(1) << (vid % 64);
		if ((err = replay(ld, VDPASTATE_CVQ_VLAN, VDPASTATE_CVQ_VLAN_ADD,
				  v + i, 2, "part", idx)))
			return err;
	}
	return 0;
}

/*
 * Pass 2: rebuild the state on a reset state with the saved features and
 * configuration: the CVQ parts in blob order, then the CVQ_STATE records
 * in blob order.  An ANNOUNCE_ACK part does what the command does: it
 * clears VIRTIO_NET_S_ANNOUNCE in the status NET_CONFIG carries.
 */
static int load_state(struct loader *ld)
{
	char why[VDS_ERRMSG_MAX];
	size_t i, off, idx;
	int err;

	if (!ld->have_features)
		return bad("no DRV_FEATURES part");
	if (!ld->have_config)
		return bad("no NET_CONFIG record");
	ld->cfg.features = ld->features;
	ld->nb.ns = vdpastate_netstate_new(&ld->cfg);
	if (!ld->nb.ns) {
		if (errno == ENOMEM)
			return -ENOMEM;
		snprintf(why, sizeof(why), "%s", vdpastate_last_error());
		return bad("inconsistent configuration: %s", why);
	}
	for (i = 0; i < ld->n_cvq; i++) {
		const uint8_t *h = ld->cvq[i];
		uint32_t len = vds_get_le32(h + 12);

		if (h[4] == VDPASTATE_CVQ_VLAN)
			err = load_vlans(ld, h + PART_HDR_LEN, len, ld->cvq_idx[i]);
		else
			err = replay(ld, h[4], h[5], h + PART_HDR_LEN, len, "part",
				     ld->cvq_idx[i]);
		if (err)
			return err;
	}
	for (off = ld->recs_off, idx = 0; off < ld->len; idx++) {
		const uint8_t *h = ld->buf + off;
		uint32_t len = vds_get_le32(h + 4);

		off += REC_HDR_LEN + (size_t)len;
		if (vds_get_le16(h) == REC_CVQ_STATE &&
		    (err = replay(ld, h[REC_HDR_LEN], h[REC_HDR_LEN + 1],
				  h + REC_HDR_LEN + 2, len - 2, "record", idx)))
			return err;
	}
	return 0;
}

VDPASTATE_API int vdpastate_blob_load(struct vdpastate_blob *blob,
				      const void *buf, size_t len)
{
	struct loader ld;
	size_t parts_end = 0;
	int err;

	if (!blob || (!buf && len))
		return vds_fail(-EINVAL, "blob: load: NULL argument");
	memset(&ld, 0, sizeof(ld));
	ld.buf = buf;
	ld.len = len;
	if ((err = load_header(&ld, &parts_end)) ||
	    (err = load_parts(&ld, parts_end)) ||
	    (err = load_records(&ld, parts_end)) || (err = load_state(&ld))) {
		free_content(&ld.nb);
		return err;
	}
	free_content(blob);
	*blob = ld.nb;
	return 0;
}
