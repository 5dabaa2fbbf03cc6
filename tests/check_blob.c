/* SPDX-License-Identifier: MIT */
/*
 * tests/check_blob.c - the save format: golden layouts of small blobs,
 * round trips of random states, every truncation and every single-bit flip
 * (rejected, caller's blob untouched), blobs built by hand with unknown
 * optional/mandatory parts and records, and inconsistent content; the
 * CVQ_CFG_PART rules of virtio 1.4 (one part per selector, only the 13
 * selectors the spec defines, the VLAN part as a whole table) and the
 * CVQ_STATE records for the commands the spec has no part for.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "crc32c.h"

#include "suites.h"
#include "tests_rand.h"

#define FB(b) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##b)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Set the checksum field of a blob of n bytes. */
static void fix_crc(uint8_t *b, size_t n)
{
	put32(b + 12, 0);
	put32(b + 12, vds_test_crc32c(b, n));
}

static uint8_t *save(const struct vdpastate_blob *b, size_t *n)
{
	long need = vdpastate_blob_save(b, NULL, 0);
	uint8_t *buf;

	ck_assert_int_gt(need, 0);
	buf = malloc((size_t)need);
	ck_assert_int_eq(vdpastate_blob_save(b, buf, (size_t)need), need);
	*n = (size_t)need;
	return buf;
}

static struct vdpastate_blob *blob_of(const struct vdpastate_netstate *s)
{
	struct vdpastate_blob *b = vdpastate_blob_new();

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(vdpastate_blob_set_netstate(b, s), 0);
	return b;
}

/* A state: features CTRL_VQ|CTRL_VLAN|MQ, 4 pairs, VLAN 5, 2 pairs. */
static struct vdpastate_netstate *small_state(void)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	struct vdpastate_cvq_cmd *cmd;

	vds_test_config(&c, FB(CTRL_VQ) | FB(CTRL_VLAN) | FB(MQ), 4);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	cmd = vdpastate_cvq_cmd_vlan_add(5);
	ck_assert_int_eq(vdpastate_netstate_apply(s, cmd), 0);
	vdpastate_cvq_cmd_free(cmd);
	cmd = vdpastate_cvq_cmd_mq_vq_pairs_set(2);
	ck_assert_int_eq(vdpastate_netstate_apply(s, cmd), 0);
	vdpastate_cvq_cmd_free(cmd);
	return s;
}

/* The bytes of small_state(), by hand from libvdpastate(7). */
static const uint8_t SMALL[] = {
	/* header: magic, version 1, header length 24, total 112, crc, parts 60, reserved */
	'V', 'D', 'S', 'B', 0x01, 0x00, 0x18, 0x00, 0x70, 0x00, 0x00, 0x00,
	0, 0, 0, 0, 0x3c, 0x00, 0x00, 0x00, 0, 0, 0, 0,
	/* DRV_FEATURES 0x101: flags 0, selector 0, length 8, features */
	0x01, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* CVQ part 0x200, selector {MQ 4, VQ_PAIRS_SET 0}, length 2, pairs 2 */
	0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x00,
	0x02, 0x00,
	/* CVQ part 0x200, selector {VLAN 2, ADD 0}, length 2, vid 5 */
	0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x00,
	0x05, 0x00,
	/* NET_CONFIG record 1: flags 0, length 20 */
	0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
	0x52, 0x54, 0x00, 0x00, 0x00, 0x01, /* mac */
	0x00, 0x00,                         /* status (no STATUS feature) */
	0x04, 0x00,                         /* max_virtqueue_pairs */
	0x00, 0x00,                         /* mtu (no MTU feature) */
	0x00, 0x00, 0x00, 0x00,             /* indirection length, key size, reserved */
	0x00, 0x00, 0x00, 0x00,             /* supported_hash_types */
};

/* s saves to exactly want, and want loads to a state equal to s. */
static void expect_golden(const struct vdpastate_netstate *s,
			  const uint8_t *want, size_t want_n)
{
	struct vdpastate_blob *b = blob_of(s), *l = vdpastate_blob_new();
	size_t n;
	uint8_t *buf = save(b, &n);

	ck_assert_uint_eq(n, want_n);
	ck_assert_mem_eq(buf, want, want_n);
	ck_assert_int_eq(vdpastate_blob_load(l, want, want_n), 0);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(l), s));
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(l);
}

START_TEST(golden_small)
{
	struct vdpastate_netstate *s = small_state();
	uint8_t want[sizeof(SMALL)];

	memcpy(want, SMALL, sizeof(SMALL));
	fix_crc(want, sizeof(want));
	expect_golden(s, want, sizeof(want));
	vdpastate_netstate_free(s);
}
END_TEST

/* The 0x200 parts of a blob, by walking the parts section. */
struct cvq_part {
	uint8_t cls, cmd, flags;
	uint32_t len;
	const uint8_t *val;
};

static size_t cvq_parts(const uint8_t *b, struct cvq_part *out, size_t max)
{
	size_t off = 24, end = 24 + get32(b + 16), n = 0;

	while (off < end) {
		uint32_t len = get32(b + off + 12);

		if ((b[off] | b[off + 1] << 8) == 0x200) {
			ck_assert_uint_lt(n, max);
			out[n].cls = b[off + 4];
			out[n].cmd = b[off + 5];
			out[n].flags = b[off + 2];
			out[n].len = len;
			out[n].val = b + off + 16;
			n++;
		}
		off += 16 + len;
	}
	ck_assert_uint_eq(off, end);
	return n;
}

/* Every 0x200 selector at most once, and one of the spec's 13: RX, MAC,
 * VLAN_ADD, ANNOUNCE_ACK, MQ.  Returns the VLAN part or NULL. */
static const struct cvq_part *check_selectors(const uint8_t *b,
					      struct cvq_part *p, size_t max)
{
	const struct cvq_part *vlan = NULL;
	size_t n = cvq_parts(b, p, max), i, j;

	for (i = 0; i < n; i++) {
		ck_assert_uint_le(p[i].cls, VDPASTATE_CVQ_MQ);
		if (p[i].cls == VDPASTATE_CVQ_VLAN) {
			ck_assert_uint_eq(p[i].cmd, VDPASTATE_CVQ_VLAN_ADD);
			vlan = &p[i];
		}
		for (j = 0; j < i; j++)
			ck_assert(p[j].cls != p[i].cls || p[j].cmd != p[i].cmd);
	}
	return vlan;
}

/* The offset of record number i (0: the first after the parts). */
static size_t rec_off(const uint8_t *b, size_t i)
{
	size_t off = 24 + get32(b + 16);

	while (i--)
		off += 8 + get32(b + off + 4);
	return off;
}

static void apply_free(struct vdpastate_netstate *s, struct vdpastate_cvq_cmd *c)
{
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(vdpastate_netstate_apply(s, c) == 0, "%s",
		      vdpastate_last_error());
	vdpastate_cvq_cmd_free(c);
}

/* Save s, load it back: equal state, same bytes.  Returns the bytes. */
static uint8_t *roundtrip(const struct vdpastate_netstate *s, size_t *n)
{
	struct vdpastate_blob *b = blob_of(s), *l = vdpastate_blob_new();
	uint8_t *buf = save(b, n), *again;
	size_t m;

	ck_assert_msg(vdpastate_blob_load(l, buf, *n) == 0, "%s",
		      vdpastate_last_error());
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(l), s));
	again = save(l, &m);
	ck_assert_uint_eq(m, *n);
	ck_assert_mem_eq(again, buf, m);
	free(again);
	vdpastate_blob_free(b);
	vdpastate_blob_free(l);
	return buf;
}

START_TEST(roundtrip_random)
{
	unsigned long n = vds_test_cases(10000) / 5, k;

	for (k = 0; k < n; k++) {
		struct vds_rand r = vds_rand_seed(k + 77);
		struct vdpastate_netstate *s =
			vds_test_rand_state(&r, (uint16_t)(1 + vds_rand(&r) % 8));
		struct cvq_part p[16];
		size_t len;
		uint8_t *buf = roundtrip(s, &len);

		check_selectors(buf, p, 16);
		free(buf);
		vdpastate_netstate_free(s);
	}
}
END_TEST

/* A blob with a bit of everything: random state, parts, records. */
static struct vdpastate_blob *rich_blob(uint64_t seed)
{
	struct vds_rand r = vds_rand_seed(seed);
	struct vdpastate_netstate *s = vds_test_rand_state(&r, 3);
	struct vdpastate_blob *b = blob_of(s);
	uint8_t vq[32] = { 0x00, 0x01 }, sel[8] = { 2 }, st = 0x0f, dev[8] = { 1 };

	vdpastate_netstate_free(s);
	ck_assert_int_eq(vdpastate_blob_add_part(b, VDPASTATE_DEV_PART_VQ_CFG, 0,
						 sel, vq, sizeof(vq)), 0);
	ck_assert_int_eq(vdpastate_blob_add_part(b, VDPASTATE_DEV_PART_DEVICE_STATUS,
						 0, NULL, &st, 1), 0);
	ck_assert_int_eq(vdpastate_blob_add_part(b, VDPASTATE_DEV_PART_DEV_FEATURES,
						 VDPASTATE_DEV_PART_F_OPTIONAL,
						 NULL, dev, 8), 0);
	ck_assert_int_eq(vdpastate_blob_add_record(b, 0x8001, 0, "vring", 5), 0);
	ck_assert_int_eq(vdpastate_blob_add_record(b, 0x9000,
						   VDPASTATE_BLOB_REC_F_OPTIONAL,
						   NULL, 0), 0);
	return b;
}

START_TEST(parts_and_records_roundtrip)
{
	struct vdpastate_blob *b = rich_blob(5), *l = vdpastate_blob_new();
	size_t n1, n2;
	uint8_t *b1 = save(b, &n1), *b2, sel[8], flags;
	uint16_t type;
	const void *v;
	uint32_t len;

	/* Sorted into the spec's order: DEV_FEATURES, DEVICE_STATUS, VQ_CFG. */
	ck_assert_uint_eq(vdpastate_blob_part_count(b), 3);
	ck_assert_int_eq(vdpastate_blob_part_get(b, 0, &type, &flags, sel, &v, &len), 0);
	ck_assert_uint_eq(type, 0x100);
	ck_assert_uint_eq(flags, 1);
	/* In the bytes DEV_FEATURES comes before DRV_FEATURES. */
	ck_assert_uint_eq(b1[24] | b1[25] << 8, 0x100);
	ck_assert_uint_eq(b1[24 + 24] | b1[25 + 24] << 8, 0x101);
	ck_assert_int_eq(vdpastate_blob_load(l, b1, n1), 0);
	ck_assert_uint_eq(vdpastate_blob_part_count(l), 3);
	ck_assert_int_eq(vdpastate_blob_part_get(l, 2, &type, NULL, sel, &v, &len), 0);
	ck_assert_uint_eq(type, VDPASTATE_DEV_PART_VQ_CFG);
	ck_assert_uint_eq(sel[0], 2);
	ck_assert_uint_eq(len, 32);
	ck_assert_int_eq(vdpastate_blob_record_count(l), 2);
	ck_assert_int_eq(vdpastate_blob_record_get(l, 0, &type, &flags, &v, &len), 0);
	ck_assert_uint_eq(type, 0x8001);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(v, "vring", 5);
	ck_assert_int_eq(vdpastate_blob_record_get(l, 2, &type, &flags, &v, &len),
			 -ENOENT);
	ck_assert_int_eq(vdpastate_blob_part_get(l, 3, &type, &flags, sel, &v, &len),
			 -ENOENT);
	b2 = save(l, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(b1, b2, n1);
	free(b1);
	free(b2);
	vdpastate_blob_free(b);
	vdpastate_blob_free(l);
}
END_TEST

/* Loading bad bytes must fail and leave the target exactly as it was. */
static void expect_reject(struct vdpastate_blob *target, const uint8_t *ref,
			  size_t ref_n, const uint8_t *bad, size_t bad_n,
			  const char *why)
{
	size_t n;
	uint8_t *after;
	int err = vdpastate_blob_load(target, bad, bad_n);

	ck_assert_msg(err == -EBADMSG, "%s: got %d", why, err);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "blob: load: "));
	after = save(target, &n);
	ck_assert_uint_eq(n, ref_n);
	ck_assert_mem_eq(after, ref, n);
	free(after);
}

START_TEST(every_truncation)
{
	struct vdpastate_blob *b = rich_blob(9), *t = rich_blob(10);
	size_t n, tn, i;
	uint8_t *buf = save(b, &n), *ref = save(t, &tn);

	for (i = 0; i < n; i++)
		expect_reject(t, ref, tn, buf, i, "truncation");
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "truncated"));
	/* And one byte too many. */
	buf = realloc(buf, n + 1);
	buf[n] = 0;
	expect_reject(t, ref, tn, buf, n + 1, "oversized");
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "oversized"));
	free(buf);
	free(ref);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
}
END_TEST

START_TEST(every_bit_flip)
{
	struct vdpastate_blob *b = rich_blob(11), *t = rich_blob(12);
	size_t n, tn, i, flips = 0, ok = 0;
	uint8_t *buf = save(b, &n), *ref = save(t, &tn);

	/* Raw flips: the checksum (or the header) catches every one. */
	for (i = 0; i < n * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		expect_reject(t, ref, tn, buf, n, "bit flip");
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Flips with the checksum recomputed reach the parser: each is either
	 * rejected (target untouched) or loads a state that saves and loads
	 * again.  Optional unknown content is ignored. */
	for (i = 16 * 8; i < n * 8; i++, flips++) {
		struct vdpastate_blob *l = vdpastate_blob_new();

		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		fix_crc(buf, n);
		if (vdpastate_blob_load(t, buf, n) == 0) {
			size_t m;
			uint8_t *again = save(t, &m);

			ck_assert_int_eq(vdpastate_blob_load(l, again, m), 0);
			ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(l),
							   vdpastate_blob_netstate(t)));
			free(again);
			/* Restore the reference target. */
			ck_assert_int_eq(vdpastate_blob_load(t, ref, tn), 0);
			ok++;
		} else {
			size_t m;
			uint8_t *after = save(t, &m);

			ck_assert_uint_eq(m, tn);
			ck_assert_mem_eq(after, ref, m);
			free(after);
		}
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		vdpastate_blob_free(l);
	}
	fix_crc(buf, n);
	ck_assert_int_eq(vdpastate_blob_load(t, buf, n), 0);
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_lt(ok, flips);
	free(buf);
	free(ref);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
}
END_TEST

/* Splice extra bytes at offset off of the blob and fix up lengths/CRC. */
static uint8_t *splice(const uint8_t *src, size_t n, size_t off,
		       const uint8_t *ins, size_t ins_n, bool in_parts,
		       size_t *out_n)
{
	uint8_t *b = malloc(n + ins_n);

	memcpy(b, src, off);
	memcpy(b + off, ins, ins_n);
	memcpy(b + off + ins_n, src + off, n - off);
	*out_n = n + ins_n;
	put32(b + 8, (uint32_t)*out_n);
	if (in_parts)
		put32(b + 16, get32(b + 16) + (uint32_t)ins_n);
	fix_crc(b, *out_n);
	return b;
}

START_TEST(unknown_content)
{
	struct vdpastate_netstate *s = small_state();
	struct vdpastate_blob *b = blob_of(s), *t = vdpastate_blob_new();
	size_t n, m, parts_end;
	uint8_t *buf = save(b, &n), *x;
	uint8_t rec_opt[] = { 0x05, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0xaa, 0xbb };
	uint8_t rec_man[] = { 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint8_t part_opt[] = { 0x01, 0x02, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
			       0x01, 0x00, 0x00, 0x00, 0x7f };
	uint8_t part_man[] = { 0x01, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
			       0x00, 0x00, 0x00, 0x00 };
	uint8_t part_low[] = { 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
			       0x00, 0x00, 0x00, 0x00 };

	parts_end = 24 + get32(buf + 16);
	/* An unknown optional library record is skipped. */
	x = splice(buf, n, n, rec_opt, sizeof(rec_opt), false, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), 0);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	ck_assert_uint_eq(vdpastate_blob_record_count(t), 0);
	free(x);
	/* An unknown mandatory one is rejected. */
	x = splice(buf, n, n, rec_man, sizeof(rec_man), false, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "unknown mandatory record type 0x5"));
	free(x);
	/* Likewise for device parts of a type this library does not know. */
	x = splice(buf, n, parts_end, part_opt, sizeof(part_opt), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), 0);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	free(x);
	x = splice(buf, n, parts_end, part_man, sizeof(part_man), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "unknown mandatory part type 0x201"));
	free(x);
	/* A part out of the spec's order. */
	x = splice(buf, n, parts_end, part_low, sizeof(part_low), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "breaks the spec's part order"));
	free(x);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(inconsistent_content)
{
	struct vdpastate_blob *t = vdpastate_blob_new();
	uint8_t b[sizeof(SMALL) + 8];

#define REJECT(text)                                                         \
	do {                                                                  \
		fix_crc(b, sizeof(SMALL));                                    \
		ck_assert_int_eq(vdpastate_blob_load(t, b, sizeof(SMALL)), -EBADMSG); \
		ck_assert_msg(strstr(vdpastate_last_error(), text), "%s",     \
			      vdpastate_last_error());                        \
		memcpy(b, SMALL, sizeof(SMALL));                              \
	} while (0)
	memcpy(b, SMALL, sizeof(SMALL));
	b[0] = 'X';
	REJECT("bad magic");
	b[4] = 2;
	REJECT("format version 2 not supported");
	b[6] = 25;
	REJECT("header length 25");
	b[20] = 1;
	REJECT("header reserved field");
	put32(b + 16, 200);
	REJECT("parts length 200 beyond");
	b[24 + 18] = 0x42; /* DRV_FEATURES without CTRL_VLAN: VLAN_ADD inconsistent */
	REJECT("part 2 (VLAN_ADD): cvq: VLAN_ADD: needs VIRTIO_NET_F_CTRL_VLAN");
	b[24 + 16 + 8] = 1; /* a feature bit above 63 */
	b[24 + 12] = 16;
	REJECT("part 0: DRV_FEATURES has feature bits above 63");
	b[24 + 12] = 12;
	REJECT("DRV_FEATURES length 12 is not a non-zero multiple of 8");
	b[24] = 0x00; /* type 0x300: unknown, mandatory */
	b[25] = 0x03;
	REJECT("unknown mandatory part type 0x300");
	b[24 + 24 + 6] = 1; /* CVQ selector reserved byte */
	REJECT("part 1: CVQ_CFG_PART selector reserved byte 2 not zero");
	b[24 + 24 + 4] = 8; /* a STATS query */
	REJECT("part 1: mandatory CVQ_CFG_PART with selector {class 8, command 0} "
	       "(STATS_QUERY), which is not one of the 13");
	b[24 + 24 + 4] = 2; /* {VLAN, ADD} twice */
	REJECT("part 2: second CVQ_CFG_PART with selector VLAN_ADD");
	b[24 + 24 + 5] = 1; /* {MQ, RSS_CONFIG} with a 2-byte value */
	REJECT("part 1 (MQ_RSS_CONFIG): cvq: MQ_RSS_CONFIG: payload is 2 bytes");
	b[24 + 24 + 16] = 0; /* VQ_PAIRS_SET 0 */
	REJECT("virtqueue_pairs 0 out of range");
	b[24 + 24 + 16] = 9; /* more than max_virtqueue_pairs 4 */
	REJECT("virtqueue_pairs 9 above max_virtqueue_pairs 4");
	b[24 + 24 + 12] = 3; /* payload length 3: the next header is misread */
	REJECT("part 2 (type 0x2): length 83886080 beyond");
	b[24 + 24 + 12] = 0xff;
	REJECT("length 255 beyond the parts section");
	b[24 + 2] = 2; /* undefined part flag */
	REJECT("undefined flags 0x2");
	b[24 + 3] = 1;
	REJECT("part 0: reserved byte not zero");
	b[84] = 3; /* NET_CONFIG -> unknown mandatory record 3 */
	REJECT("unknown mandatory record type 0x3");
	b[84] = 2; /* NET_CONFIG -> CVQ_STATE of class 0x52 */
	REJECT("record 0: CVQ_STATE carries {class 82, command 84} (UNKNOWN)");
	b[86] = 1; /* NET_CONFIG made optional: still known, still required */
	b[84] = 9;
	REJECT("no NET_CONFIG record");
	b[88] = 19;
	REJECT("length 19");
	b[92 + 15] = 1;
	REJECT("NET_CONFIG reserved byte");
	b[92 + 8] = 0; /* max_virtqueue_pairs 0 with MQ */
	REJECT("inconsistent configuration: netstate_config: max_virtqueue_pairs 0");
	b[86] = 4;
	REJECT("record 0: undefined flags 0x4");
	b[87] = 4;
	REJECT("record 0: reserved byte not zero");
	b[88] = 0xff;
	REJECT("record 0 (type 0x1): length 255 beyond the blob");
#undef REJECT
	/* Missing DRV_FEATURES: a blob with no parts at all. */
	{
		uint8_t m[24 + 28];

		memcpy(m, SMALL, 24);
		put32(m + 8, sizeof(m));
		put32(m + 16, 0);
		memcpy(m + 24, SMALL + 84, 28);
		fix_crc(m, sizeof(m));
		ck_assert_int_eq(vdpastate_blob_load(t, m, sizeof(m)), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "no DRV_FEATURES"));
	}
	ck_assert_int_eq(vdpastate_blob_load(t, NULL, 5), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_load(NULL, SMALL, 5), -EINVAL);
	vdpastate_blob_free(t);
}
END_TEST

/* ------------------------------------------------ CVQ parts and records */

START_TEST(one_vlan_part)
{
	static const uint16_t ids[] = { 4095, 7, 100, 0, 2048, 8, 63, 64, 1000 };
	static const uint16_t sorted[] = { 0, 7, 8, 63, 64, 100, 1000, 2048, 4095 };
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	const struct cvq_part *v;
	struct cvq_part p[16];
	size_t n, i;
	uint8_t *buf;

	vds_test_config(&c, VDS_TEST_FEATURES, 4);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		apply_free(s, vdpastate_cvq_cmd_vlan_add(ids[i]));
	buf = roundtrip(s, &n);
	v = check_selectors(buf, p, 16);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->len, 2 * sizeof(sorted) / sizeof(sorted[0]));
	for (i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++)
		ck_assert_uint_eq(v->val[2 * i] | v->val[2 * i + 1] << 8, sorted[i]);
	free(buf);
	/* All 4096 ids: one part of 8192 bytes. */
	for (i = 0; i <= VDPASTATE_CVQ_VLAN_MAX; i++)
		apply_free(s, vdpastate_cvq_cmd_vlan_add((uint16_t)i));
	buf = roundtrip(s, &n);
	v = check_selectors(buf, p, 16);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->len, 8192);
	ck_assert_uint_eq(v->val[8190] | v->val[8191] << 8, 4095);
	free(buf);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(duplicate_selector)
{
	struct vdpastate_netstate *s = small_state();
	struct vdpastate_blob *b = blob_of(s), *t = blob_of(s);
	size_t n, m, parts_end;
	uint8_t *buf = save(b, &n), *x;
	/* A second {MQ, VQ_PAIRS_SET} part, and a second VLAN table. */
	uint8_t pairs[] = { 0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0,
			    0x02, 0x00, 0x00, 0x00, 0x02, 0x00 };
	uint8_t vlan[] = { 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0,
			   0x02, 0x00, 0x00, 0x00, 0x06, 0x00 };

	parts_end = 24 + get32(buf + 16);
	x = splice(buf, n, parts_end, pairs, sizeof(pairs), true, &m);
	expect_reject(t, buf, n, x, m, "second VQ_PAIRS_SET part");
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "part 3: second CVQ_CFG_PART with selector "
				     "MQ_VQ_PAIRS_SET"));
	free(x);
	/* Even flagged optional: the selector is known, so it is a duplicate. */
	pairs[2] = VDPASTATE_DEV_PART_F_OPTIONAL;
	x = splice(buf, n, parts_end, pairs, sizeof(pairs), true, &m);
	expect_reject(t, buf, n, x, m, "second optional VQ_PAIRS_SET part");
	free(x);
	x = splice(buf, n, parts_end, vlan, sizeof(vlan), true, &m);
	expect_reject(t, buf, n, x, m, "second VLAN part");
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "second CVQ_CFG_PART with selector VLAN_ADD"));
	free(x);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(selector_outside_spec)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	struct vdpastate_blob *b, *t = vdpastate_blob_new();
	size_t n, m, parts_end;
	uint8_t *buf, *x;
	/* {GUEST_OFFLOADS 5, SET 0}, value le64 0: a command the device
	 * would accept, but the spec defines no such part. */
	uint8_t off[] = { 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0, 0, 0, 0, 0, 0,
			  0x08, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	/* {VLAN 2, DEL 1} and {NOTF_COAL 6, TX_SET 0}: not parts either. */
	uint8_t del[] = { 0x00, 0x02, 0x00, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0,
			  0x02, 0x00, 0x00, 0x00, 0x05, 0x00 };
	uint8_t coal[] = { 0x00, 0x02, 0x00, 0x00, 0x06, 0x00, 0, 0, 0, 0, 0, 0,
			   0x08, 0x00, 0x00, 0x00, 1, 0, 0, 0, 1, 0, 0, 0 };

	vds_test_config(&c, VDS_TEST_FEATURES, 2);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	apply_free(s, vdpastate_cvq_cmd_vlan_add(5));
	b = blob_of(s);
	buf = save(b, &n);
	parts_end = 24 + get32(buf + 16);
	x = splice(buf, n, parts_end, off, sizeof(off), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_msg(strstr(vdpastate_last_error(),
			     "mandatory CVQ_CFG_PART with selector {class 5, "
			     "command 0} (GUEST_OFFLOADS_SET), which is not one "
			     "of the 13 device parts the spec defines"),
		      "%s", vdpastate_last_error());
	ck_assert_ptr_null(vdpastate_blob_netstate(t));
	free(x);
	/* Flagged optional: skipped, the offloads stay as saved. */
	off[2] = VDPASTATE_DEV_PART_F_OPTIONAL;
	x = splice(buf, n, parts_end, off, sizeof(off), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), 0);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	ck_assert_uint_ne(vdpastate_netstate_guest_offloads(vdpastate_blob_netstate(t)), 0);
	free(x);
	/* Skipped optional parts are not counted as selectors either. */
	x = splice(buf, n, parts_end, off, sizeof(off), true, &m);
	{
		size_t m2;
		uint8_t *y = splice(x, m, 24 + get32(x + 16), off, sizeof(off),
				    true, &m2);

		ck_assert_int_eq(vdpastate_blob_load(t, y, m2), 0);
		free(y);
	}
	free(x);
	x = splice(buf, n, parts_end, del, sizeof(del), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "(VLAN_DEL), which is not"));
	free(x);
	x = splice(buf, n, parts_end, coal, sizeof(coal), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "(NOTF_COAL_TX_SET), which is not"));
	free(x);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
	vdpastate_netstate_free(s);
}
END_TEST

/* buf (n bytes) with the value of the part at off replaced by len bytes. */
static uint8_t *with_value(const uint8_t *buf, size_t n, size_t off,
			   const uint8_t *val, uint32_t len, size_t *m)
{
	uint32_t old = get32(buf + off + 12);
	uint8_t *x = malloc(n - old + len + 1);

	memcpy(x, buf, off + 16);
	memcpy(x + off + 16, val, len);
	memcpy(x + off + 16 + len, buf + off + 16 + old, n - off - 16 - old);
	*m = n - old + len;
	put32(x + off + 12, len);
	put32(x + 8, (uint32_t)*m);
	put32(x + 16, get32(buf + 16) - old + len);
	fix_crc(x, *m);
	return x;
}

START_TEST(vlan_part_rules)
{
	static const struct {
		uint8_t val[6];
		uint32_t len;
		const char *msg;
	} bad[] = {
		{ { 0 }, 0, "part 2: VLAN_ADD table length 0 is not a non-zero "
			    "multiple of 2" },
		{ { 5, 0, 9 }, 3, "part 2: VLAN_ADD table length 3 is not" },
		{ { 5, 0, 0x00, 0x10 }, 4, "part 2: VLAN_ADD table entry 1: id "
					   "4096 above 4095" },
		{ { 7, 0, 5, 0, 7, 0 }, 6, "part 2: VLAN_ADD table entry 2: id 7 "
					   "appears twice" },
	};
	/* Not ascending is read (the saver writes ascending). */
	static const uint8_t unsorted[] = { 0xa0, 0x0f, 5, 0, 9, 0 };
	struct vdpastate_netstate *s = small_state();
	struct vdpastate_blob *b = blob_of(s), *t = blob_of(s), *l;
	size_t n, m, i, vpart = 24 + 24 + 18;
	uint8_t *buf = save(b, &n), *x;

	/* SMALL: DRV_FEATURES, VQ_PAIRS_SET, then the VLAN part. */
	ck_assert_uint_eq(buf[vpart + 4], VDPASTATE_CVQ_VLAN);
	ck_assert_uint_eq(get32(buf + vpart + 12), 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = with_value(buf, n, vpart, bad[i].val, bad[i].len, &m);
		expect_reject(t, buf, n, x, m, bad[i].msg);
		ck_assert_msg(strstr(vdpastate_last_error(), bad[i].msg), "%s",
			      vdpastate_last_error());
		free(x);
	}
	x = with_value(buf, n, vpart, unsorted, sizeof(unsorted), &m);
	l = vdpastate_blob_new();
	ck_assert_int_eq(vdpastate_blob_load(l, x, m), 0);
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(vdpastate_blob_netstate(l)), 3);
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_blob_netstate(l), 4000), 1);
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_blob_netstate(l), 9), 1);
	vdpastate_blob_free(l);
	free(x);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
	vdpastate_netstate_free(s);
}
END_TEST

/* An ANNOUNCE_ACK part: the saver never writes one (NET_CONFIG carries the
 * status); a reader applies it as the command, clearing ANNOUNCE. */
START_TEST(announce_ack_part)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	struct vdpastate_blob *b, *t = vdpastate_blob_new();
	struct cvq_part p[16];
	size_t n, m, i, np;
	uint8_t *buf, *x, *again;
	uint8_t ack[] = { 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0,
			  0x00, 0x00, 0x00, 0x00 };

	vds_test_config(&c, FB(CTRL_VQ) | FB(STATUS) | FB(GUEST_ANNOUNCE), 1);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(vdpastate_netstate_status(s),
			  VDPASTATE_NET_S_LINK_UP | VDPASTATE_NET_S_ANNOUNCE);
	b = blob_of(s);
	buf = save(b, &n);
	np = cvq_parts(buf, p, 16);
	for (i = 0; i < np; i++)
		ck_assert_uint_ne(p[i].cls, VDPASTATE_CVQ_ANNOUNCE);
	x = splice(buf, n, 24 + get32(buf + 16), ack, sizeof(ack), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), 0);
	ck_assert_uint_eq(vdpastate_netstate_status(vdpastate_blob_netstate(t)),
			  VDPASTATE_NET_S_LINK_UP);
	/* Same as applying the command; saved again without the part. */
	apply_free(s, vdpastate_cvq_cmd_announce_ack());
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	free(x);
	again = save(t, &m);
	ck_assert_uint_eq(m, n);
	ck_assert_uint_eq(again[rec_off(again, 0) + 8 + 6], VDPASTATE_NET_S_LINK_UP);
	free(again);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_netstate_free(s);
	/* Without GUEST_ANNOUNCE the part is inconsistent; with a value, too. */
	vds_test_config(&c, FB(CTRL_VQ) | FB(STATUS), 1);
	s = vdpastate_netstate_new(&c);
	b = blob_of(s);
	buf = save(b, &n);
	x = splice(buf, n, 24 + get32(buf + 16), ack, sizeof(ack), true, &m);
	ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "(ANNOUNCE_ACK)"));
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "GUEST_ANNOUNCE"));
	free(x);
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(t);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(cvq_state_records)
{
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	struct vdpastate_blob *b, *t;
	struct cvq_part p[16];
	size_t n, m, i, np, off;
	uint8_t *buf, *x;
	uint32_t pk, us;
	static const uint8_t want[][2] = {
		{ VDPASTATE_CVQ_GUEST_OFFLOADS, VDPASTATE_CVQ_GUEST_OFFLOADS_SET },
		{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_TX_SET },
		{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_RX_SET },
		{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_VQ_SET },
		{ VDPASTATE_CVQ_NOTF_COAL, VDPASTATE_CVQ_NOTF_COAL_VQ_SET },
	};

	vds_test_config(&c, VDS_TEST_FEATURES, 4);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	apply_free(s, vdpastate_cvq_cmd_mq_vq_pairs_set(2));
	apply_free(s, vdpastate_cvq_cmd_guest_offloads_set(FB(GUEST_CSUM)));
	apply_free(s, vdpastate_cvq_cmd_notf_coal_tx_set(32, 100));
	apply_free(s, vdpastate_cvq_cmd_notf_coal_rx_set(16, 50));
	apply_free(s, vdpastate_cvq_cmd_notf_coal_vq_set(3, 7, 9));
	apply_free(s, vdpastate_cvq_cmd_notf_coal_vq_set(0, 1, 2));
	buf = roundtrip(s, &n);
	/* No part of a class the spec has no part for. */
	np = cvq_parts(buf, p, 16);
	for (i = 0; i < np; i++)
		ck_assert_uint_le(p[i].cls, VDPASTATE_CVQ_MQ);
	/* NET_CONFIG, then one mandatory CVQ_STATE record per command in
	 * to_cmds order (VQ_SET by queue), then nothing. */
	ck_assert_uint_eq(buf[rec_off(buf, 0)], 1);
	for (i = 0; i < 5; i++) {
		off = rec_off(buf, 1 + i);
		ck_assert_uint_eq(buf[off] | buf[off + 1] << 8, 2);
		ck_assert_uint_eq(buf[off + 2], 0);
		ck_assert_uint_eq(buf[off + 8], want[i][0]);
		ck_assert_uint_eq(buf[off + 9], want[i][1]);
	}
	off = rec_off(buf, 1);
	ck_assert_uint_eq(get32(buf + off + 4), 2 + 8);
	ck_assert_uint_eq(buf[off + 10], FB(GUEST_CSUM));
	off = rec_off(buf, 2);
	ck_assert_uint_eq(get32(buf + off + 4), 2 + 8);
	ck_assert_uint_eq(get32(buf + off + 10), 32);
	ck_assert_uint_eq(get32(buf + off + 14), 100);
	off = rec_off(buf, 4);
	ck_assert_uint_eq(get32(buf + off + 4), 2 + 12);
	ck_assert_uint_eq(buf[off + 10], 0); /* vq 0 first */
	ck_assert_uint_eq(rec_off(buf, 6), n);
	/* The loaded state has them. */
	t = vdpastate_blob_new();
	ck_assert_int_eq(vdpastate_blob_load(t, buf, n), 0);
	ck_assert_uint_eq(vdpastate_netstate_guest_offloads(vdpastate_blob_netstate(t)),
			  FB(GUEST_CSUM));
	ck_assert_int_eq(vdpastate_netstate_coal_vq(vdpastate_blob_netstate(t), 3,
						    &pk, &us), 0);
	ck_assert_uint_eq(pk, 7);
	ck_assert_uint_eq(us, 9);
	/* Records are replayed after the parts: a VQ_SET of queue 3 needs
	 * the 2 pairs of the VQ_PAIRS_SET part.  Drop that part: rejected. */
	{
		size_t q = 24, e = 24 + get32(buf + 16);

		while (q < e && !(buf[q] == 0 && buf[q + 1] == 2 &&
				  buf[q + 4] == VDPASTATE_CVQ_MQ))
			q += 16 + get32(buf + q + 12);
		ck_assert_uint_lt(q, e);
		x = malloc(n);
		memcpy(x, buf, q);
		memcpy(x + q, buf + q + 18, n - q - 18);
		m = n - 18;
		put32(x + 8, (uint32_t)m);
		put32(x + 16, get32(buf + 16) - 18);
		fix_crc(x, m);
		ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
		ck_assert_msg(strstr(vdpastate_last_error(),
				     "record 5 (NOTF_COAL_VQ_SET): netstate: "
				     "NOTF_COAL_VQ_SET: vq_index 3 is not an "
				     "enabled"),
			      "%s", vdpastate_last_error());
		free(x);
	}
	/* A CVQ_STATE record must carry one of the four commands. */
	x = malloc(n);
	memcpy(x, buf, n);
	off = rec_off(x, 1);
	x[off + 8] = VDPASTATE_CVQ_MAC;
	x[off + 9] = VDPASTATE_CVQ_MAC_ADDR_SET;
	fix_crc(x, n);
	ck_assert_int_eq(vdpastate_blob_load(t, x, n), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "record 1: CVQ_STATE carries {class 1, command "
				     "1} (MAC_ADDR_SET); only GUEST_OFFLOADS_SET"));
	x[off + 8] = VDPASTATE_CVQ_NOTF_COAL;
	x[off + 9] = VDPASTATE_CVQ_NOTF_COAL_VQ_GET;
	fix_crc(x, n);
	ck_assert_int_eq(vdpastate_blob_load(t, x, n), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "(NOTF_COAL_VQ_GET)"));
	x[off + 8] = VDPASTATE_CVQ_GUEST_OFFLOADS;
	x[off + 9] = 0;
	x[off + 10] = 0xff; /* offloads not negotiated */
	fix_crc(x, n);
	ck_assert_int_eq(vdpastate_blob_load(t, x, n), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
				     "record 1 (GUEST_OFFLOADS_SET)"));
	x[off + 10] = FB(GUEST_CSUM);
	put32(x + off + 4, 9); /* 1 byte short: the next header is misread */
	fix_crc(x, n);
	ck_assert_int_eq(vdpastate_blob_load(t, x, n), -EBADMSG);
	free(x);
	/* Length below 2: at the end of the blob, so the rest stays valid. */
	{
		uint8_t r1[] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 5 };

		x = splice(buf, n, n, r1, sizeof(r1), false, &m);
		ck_assert_int_eq(vdpastate_blob_load(t, x, m), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(vdpastate_last_error(),
					     "CVQ_STATE length 1, shorter than "
					     "class and command"));
		free(x);
	}
	/* The loaded blob is untouched by all that. */
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	vdpastate_blob_free(t);
	free(buf);
	/* And with caller records after them. */
	b = blob_of(s);
	ck_assert_int_eq(vdpastate_blob_add_record(b, 0x8000, 0, "x", 1), 0);
	buf = save(b, &n);
	ck_assert_uint_eq(buf[rec_off(buf, 6)] | buf[rec_off(buf, 6) + 1] << 8,
			  0x8000);
	t = vdpastate_blob_new();
	ck_assert_int_eq(vdpastate_blob_load(t, buf, n), 0);
	ck_assert_uint_eq(vdpastate_blob_record_count(t), 1);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(t), s));
	vdpastate_blob_free(t);
	vdpastate_blob_free(b);
	free(buf);
	vdpastate_netstate_free(s);
}
END_TEST

/*
 * Golden bytes worked out by hand from libvdpastate(7): features
 * GUEST_CSUM, CTRL_GUEST_OFFLOADS, GUEST_TSO4, CTRL_VQ, CTRL_VLAN,
 * CTRL_MAC_ADDR; MAC 02:00:00:00:00:aa set; VLANs 300 and 5 added;
 * guest offloads reduced to GUEST_CSUM.
 */
static const uint8_t MIXED[] = {
	/* header: magic, version 1, header length 24, total 136 (0x88),
	 * CRC-32C (filled in below), parts length 66 (0x42), reserved */
	'V', 'D', 'S', 'B', 0x01, 0x00, 0x18, 0x00, 0x88, 0x00, 0x00, 0x00,
	0, 0, 0, 0, 0x42, 0x00, 0x00, 0x00, 0, 0, 0, 0,
	/* 24: DRV_FEATURES 0x101, flags 0, selector 0, length 8,
	 * features 0x8a0086 = bits 1, 2, 7, 17, 19, 23 */
	0x01, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x00, 0x00,
	0x86, 0x00, 0x8a, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 48: 0x200, selector {MAC 1, MAC_ADDR_SET 1}, length 6, the MAC */
	0x00, 0x02, 0x00, 0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0x06, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	/* 70: 0x200, selector {VLAN 2, VLAN_ADD 0}, length 4: the whole
	 * table, le16 ids ascending: 5, 300 (0x12c) */
	0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x2c, 0x01,
	/* 90: record NET_CONFIG 1, flags 0, length 20 */
	0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
	0x52, 0x54, 0x00, 0x00, 0x00, 0x01, /* configuration-space mac */
	0x00, 0x00,                         /* status (no STATUS feature) */
	0x01, 0x00,                         /* max_virtqueue_pairs (no MQ: 1) */
	0x00, 0x00,                         /* mtu (no MTU feature) */
	0x00, 0x00, 0x00, 0x00,             /* indirection length, key size, reserved */
	0x00, 0x00, 0x00, 0x00,             /* supported_hash_types */
	/* 118: record CVQ_STATE 2, flags 0 (mandatory), length 10: class
	 * GUEST_OFFLOADS 5, command SET 0, le64 offloads 0x2 (GUEST_CSUM) */
	0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* CRC-32C, bit by bit from the polynomial (reflected 0x1edc6f41). */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc ^ 0xffffffffu;
}

START_TEST(golden_mixed)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0xaa };
	struct vdpastate_netstate_config c;
	struct vdpastate_netstate *s;
	uint8_t want[sizeof(MIXED)];

	/* The check value of CRC-32C (RFC 3720, B.4). */
	ck_assert_uint_eq(crc32c_bitwise((const uint8_t *)"123456789", 9),
			  0xe3069283u);
	ck_assert_uint_eq(sizeof(MIXED), 136);
	memcpy(want, MIXED, sizeof(MIXED));
	put32(want + 12, crc32c_bitwise(want, sizeof(want)));
	vds_test_config(&c, FB(GUEST_CSUM) | FB(CTRL_GUEST_OFFLOADS) |
				    FB(GUEST_TSO4) | FB(CTRL_VQ) | FB(CTRL_VLAN) |
				    FB(CTRL_MAC_ADDR), 1);
	ck_assert_uint_eq(c.features, 0x8a0086);
	s = vdpastate_netstate_new(&c);
	ck_assert_ptr_nonnull(s);
	apply_free(s, vdpastate_cvq_cmd_mac_addr_set(mac));
	apply_free(s, vdpastate_cvq_cmd_vlan_add(300));
	apply_free(s, vdpastate_cvq_cmd_vlan_add(5));
	apply_free(s, vdpastate_cvq_cmd_guest_offloads_set(FB(GUEST_CSUM)));
	expect_golden(s, want, sizeof(want));
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(api_errors)
{
	struct vdpastate_blob *b = vdpastate_blob_new();
	struct vdpastate_netstate *s = small_state();
	uint8_t buf[16];

	errno = 0;
	ck_assert_ptr_null(vdpastate_blob_netstate(b));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(vdpastate_blob_save(b, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(vdpastate_blob_set_netstate(b, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_set_netstate(b, s), 0);
	ck_assert_int_eq(vdpastate_blob_save(b, buf, sizeof(buf)), -ENOBUFS);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "needs 112 bytes"));
	ck_assert_int_eq(vdpastate_blob_save(b, NULL, 0), 112);
	ck_assert_int_eq(vdpastate_blob_save(b, NULL, 4), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_part(b, 0x101, 0, NULL, buf, 8), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "type 0x101 is not"));
	ck_assert_int_eq(vdpastate_blob_add_part(b, 0x200, 0, NULL, buf, 2), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_part(b, 0x104, 2, NULL, buf, 2), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_part(b, 0x104, 0, NULL, NULL, 2), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_record(b, 0x7fff, 0, buf, 1), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "library's range"));
	ck_assert_int_eq(vdpastate_blob_add_record(b, 0x8000, 0x80, buf, 1), -EINVAL);
	ck_assert_uint_eq(vdpastate_blob_part_count(NULL), 0);
	ck_assert_uint_eq(vdpastate_blob_record_count(NULL), 0);
	vdpastate_blob_free(b);
	vdpastate_blob_free(NULL);
	vdpastate_netstate_free(s);
}
END_TEST

/*
 * The spec ("VIRTIO_DEV_PART_DEV_FEATURES"): that part is optional, with
 * VIRTIO_DEV_PART_F_OPTIONAL set.  Without the flag it is refused, and
 * the blob stays as it was.
 */
START_TEST(dev_features_needs_optional)
{
	struct vdpastate_blob *b = rich_blob(7);
	uint8_t dev[8] = { 0x20 }, *before, *after;
	size_t n1, n2, parts = vdpastate_blob_part_count(b);

	before = save(b, &n1);
	ck_assert_int_eq(vdpastate_blob_add_part(b, VDPASTATE_DEV_PART_DEV_FEATURES,
						 0, NULL, dev, 8), -EINVAL);
	ck_assert_msg(strstr(vdpastate_last_error(), "DEV_FEATURES (0x100) must "
			     "carry VDPASTATE_DEV_PART_F_OPTIONAL"),
		      "%s", vdpastate_last_error());
	ck_assert_uint_eq(vdpastate_blob_part_count(b), parts);
	after = save(b, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(before, after, n1);
	/* The flag is what the other common parts may leave off. */
	ck_assert_int_eq(vdpastate_blob_add_part(b, VDPASTATE_DEV_PART_VQ_NOTIFY_CFG,
						 0, NULL, dev, 8), 0);
	free(before);
	free(after);
	vdpastate_blob_free(b);
}
END_TEST

Suite *blob_suite(void)
{
	Suite *s = suite_create("blob");
	TCase *tc = tcase_create("format");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, golden_small);
	tcase_add_test(tc, roundtrip_random);
	tcase_add_test(tc, parts_and_records_roundtrip);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, every_bit_flip);
	tcase_add_test(tc, unknown_content);
	tcase_add_test(tc, inconsistent_content);
	tcase_add_test(tc, api_errors);
	tcase_add_test(tc, dev_features_needs_optional);
	tcase_add_test(tc, one_vlan_part);
	tcase_add_test(tc, duplicate_selector);
	tcase_add_test(tc, selector_outside_spec);
	tcase_add_test(tc, vlan_part_rules);
	tcase_add_test(tc, announce_ack_part);
	tcase_add_test(tc, cvq_state_records);
	tcase_add_test(tc, golden_mixed);
	suite_add_tcase(s, tc);
	return s;
}
