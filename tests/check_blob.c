/* SPDX-License-Identifier: MIT */
/*
 * tests/check_blob.c - the save format: golden layout of a small blob,
 * round trips of random states, every truncation and every single-bit flip
 * (rejected, caller's blob untouched), blobs built by hand with unknown
 * optional/mandatory parts and records, and inconsistent content.
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

START_TEST(golden_small)
{
	struct vdpastate_netstate *s = small_state();
	struct vdpastate_blob *b = blob_of(s), *l = vdpastate_blob_new();
	uint8_t want[sizeof(SMALL)];
	size_t n;
	uint8_t *buf = save(b, &n);

	memcpy(want, SMALL, sizeof(SMALL));
	fix_crc(want, sizeof(want));
	ck_assert_uint_eq(n, sizeof(SMALL));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(vdpastate_blob_load(l, want, sizeof(want)), 0);
	ck_assert(vdpastate_netstate_equal(vdpastate_blob_netstate(l), s));
	free(buf);
	vdpastate_blob_free(b);
	vdpastate_blob_free(l);
	vdpastate_netstate_free(s);
}
END_TEST

START_TEST(roundtrip_random)
{
	unsigned long n = vds_test_cases(10000) / 5, k;

	for (k = 0; k < n; k++) {
		struct vds_rand r = vds_rand_seed(k + 77);
		struct vdpastate_netstate *s =
			vds_test_rand_state(&r, (uint16_t)(1 + vds_rand(&r) % 8));
		struct vdpastate_blob *b = blob_of(s), *l = vdpastate_blob_new();
		size_t n1, n2;
		uint8_t *b1 = save(b, &n1), *b2;

		ck_assert_msg(vdpastate_blob_load(l, b1, n1) == 0, "case %lu: %s", k,
			      vdpastate_last_error());
		ck_assert_msg(vdpastate_netstate_equal(vdpastate_blob_netstate(l), s),
			      "case %lu", k);
		b2 = save(l, &n2);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(b1, b2, n1);
		free(b1);
		free(b2);
		vdpastate_blob_free(b);
		vdpastate_blob_free(l);
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
	REJECT("CVQ part 1 (VLAN_ADD): cvq: VLAN_ADD: needs VIRTIO_NET_F_CTRL_VLAN");
	b[24 + 16 + 8] = 1; /* a feature bit above 63 */
	b[24 + 12] = 16;
	REJECT("part 0: DRV_FEATURES has feature bits above 63");
	b[24 + 12] = 12;
	REJECT("DRV_FEATURES length 12 is not a non-zero multiple of 8");
	b[24] = 0x00; /* type 0x300: unknown, mandatory */
	b[25] = 0x03;
	REJECT("unknown mandatory part type 0x300");
	b[24 + 24 + 6] = 1; /* CVQ selector reserved byte */
	REJECT("selector reserved byte 2 not zero");
	b[24 + 24 + 4] = 8; /* a STATS query */
	REJECT("STATS_QUERY is a query, not state");
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
	b[84] = 2; /* NET_CONFIG -> unknown mandatory record 2 */
	REJECT("unknown mandatory record type 0x2");
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
	suite_add_tcase(s, tc);
	return s;
}
