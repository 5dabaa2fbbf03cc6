/* SPDX-License-Identifier: MIT */
/*
 * tests/check_iova.c - the IOVA allocator: every function and every error,
 * the edges at 2^64, aliasing GPA/HVA keys, first fit with alignment, a
 * large space checked against the tree invariants, and the randomized
 * lock-step run against the naive model of iova_model.c.  The B+tree of
 * the GPA and HVA indexes (lib/btree.h) is also tested on its own: splits
 * and merges at every level, keys at 0 and 2^64 - 1, out of memory.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "btree.h"
#include "ivtree.h"
#include "iova_internal.h"
#include "iova_model.h"
#include "suites.h"
#include "tests_rand.h"

#define ERRMSG_HAS(s) ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), (s)))
#define GPA VDPASTATE_IOVA_GPA
#define HVA VDPASTATE_IOVA_HVA
#define RSV VDPASTATE_IOVA_RESERVED

static struct vdpastate_iova *sp;

/* A space [0x1000, 0xfffff] for most tests. */
static void setup(void)
{
	sp = vdpastate_iova_new(0x1000, 0xfffff);
	ck_assert_ptr_nonnull(sp);
}

static void teardown(void)
{
	ck_assert_int_eq(vds_iova_check(sp), 0);
	vdpastate_iova_free(sp);
	sp = NULL;
}

/* Map with an allocated IOVA and the default alignment; return the IOVA. */
static uint64_t map_ok(enum vdpastate_iova_kind kind, uint64_t addr, uint64_t size)
{
	uint64_t iova = 1;

	ck_assert_int_eq(vdpastate_iova_map(sp, kind, addr, size, NULL, &iova), 0);
	return iova;
}

static int map_at(enum vdpastate_iova_kind kind, uint64_t addr, uint64_t size,
		  uint64_t iova, uint64_t align)
{
	VDPASTATE_OPTS(vdpastate_iova_map_opts, o, .align = align, .iova = iova,
		       .flags = VDPASTATE_IOVA_MAP_FIXED);

	return vdpastate_iova_map(sp, kind, addr, size, &o, NULL);
}

static int map_aligned(enum vdpastate_iova_kind kind, uint64_t addr,
		       uint64_t size, uint64_t align, uint64_t *iova)
{
	VDPASTATE_OPTS(vdpastate_iova_map_opts, o, .align = align);

	return vdpastate_iova_map(sp, kind, addr, size, &o, iova);
}

static void expect_translate(enum vdpastate_iova_kind kind, uint64_t addr,
			     uint64_t iova, uint64_t contig)
{
	uint64_t i = 0, c = 0;

	ck_assert_int_eq(vdpastate_iova_translate(sp, kind, addr, &i, &c), 0);
	ck_assert_uint_eq(i, iova);
	ck_assert_uint_eq(c, contig);
}

START_TEST(new_and_free)
{
	struct vdpastate_iova *t;

	errno = 0;
	ck_assert_ptr_null(vdpastate_iova_new(2, 1));
	ck_assert_int_eq(errno, EINVAL);
	ERRMSG_HAS("first > last");
	t = vdpastate_iova_new(0, UINT64_MAX);
	ck_assert_ptr_nonnull(t);
	vdpastate_iova_free(t);
	/* A one-byte space. */
	t = vdpastate_iova_new(7, 7);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(vdpastate_iova_count(t, 0), 0);
	vdpastate_iova_free(t);
	vdpastate_iova_free(NULL);
}
END_TEST

START_TEST(alloc_and_translate)
{
	ck_assert_uint_eq(map_ok(GPA, 0x0, 0x2000), 0x1000);
	ck_assert_uint_eq(map_ok(GPA, 0x10000, 0x800), 0x3000);
	/* The next allocation starts on the next 4096 boundary. */
	ck_assert_uint_eq(map_ok(HVA, 0x7f0000000000, 0x1000), 0x4000);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 3);
	ck_assert_uint_eq(vdpastate_iova_count(sp, GPA), 2);
	ck_assert_uint_eq(vdpastate_iova_count(sp, HVA), 1);
	ck_assert_uint_eq(vdpastate_iova_count(sp, RSV), 0);

	expect_translate(GPA, 0x0, 0x1000, 0x2000);
	expect_translate(GPA, 0x1800, 0x2800, 0x800);
	expect_translate(GPA, 0x1fff, 0x2fff, 1);
	expect_translate(GPA, 0x107ff, 0x37ff, 1);
	expect_translate(HVA, 0x7f0000000abc, 0x4abc, 0x544);
	/* Outputs are optional. */
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0x10, NULL, NULL), 0);
}
END_TEST

START_TEST(translate_errors)
{
	uint64_t i = 5, c = 6;

	map_ok(GPA, 0x10000, 0x1000);
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0x11000, &i, &c), -ENOENT);
	ERRMSG_HAS("translate GPA 0x11000: not mapped");
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0xffff, &i, &c), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_translate(sp, HVA, 0x10000, &i, &c), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_translate(sp, RSV, 0x10000, &i, &c), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_translate(sp, 0, 0x10000, &i, &c), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_translate(sp, 9, 0x10000, &i, &c), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_translate(NULL, GPA, 0x10000, &i, &c), -EINVAL);
	ck_assert_uint_eq(i, 5);
	ck_assert_uint_eq(c, 6);
}
END_TEST

START_TEST(alias_keys_are_separate)
{
	uint64_t a, b, h;

	/* Two guest ranges and a host range with the same numbers. */
	a = map_ok(GPA, 0x0, 0x1000);
	b = map_ok(GPA, 0x10000, 0x1000);
	h = map_ok(HVA, 0x0, 0x1000);
	ck_assert_uint_ne(a, h);
	expect_translate(GPA, 0x10, a + 0x10, 0xff0);
	expect_translate(HVA, 0x10, h + 0x10, 0xff0);
	expect_translate(GPA, 0x10010, b + 0x10, 0xff0);
	/* Overlap is checked within a kind only. */
	ck_assert_int_eq(map_aligned(HVA, 0x800, 0x1000, 0, NULL), -EEXIST);
	ck_assert_int_eq(map_aligned(GPA, 0x800, 0x1000, 0, NULL), -EEXIST);
	/* Removing the guest mapping leaves the host one. */
	ck_assert_int_eq(vdpastate_iova_unmap(sp, a), 0);
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0x10, NULL, NULL), -ENOENT);
	expect_translate(HVA, 0x10, h + 0x10, 0xff0);
}
END_TEST

START_TEST(map_einval)
{
	uint64_t out = 0x77;
	struct { size_t sz; uint64_t align, iova, flags, future; } big = {
		.sz = sizeof(big), .future = 1,
	};

	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, 0x1000, 0, NULL, &out), -EINVAL);
	ERRMSG_HAS("size 0");
	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, UINT64_MAX, 2, NULL, &out), -EINVAL);
	ERRMSG_HAS("wraps past 2^64");
	ck_assert_int_eq(vdpastate_iova_map(sp, 0, 0x1000, 0x1000, NULL, &out), -EINVAL);
	ERRMSG_HAS("bad kind 0");
	ck_assert_int_eq(vdpastate_iova_map(sp, RSV, 0x1000, 0x1000, NULL, &out), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_map(sp, 4, 0x1000, 0x1000, NULL, &out), -EINVAL);
	ck_assert_int_eq(map_aligned(GPA, 0x1000, 0x1000, 0x3000, &out), -EINVAL);
	ERRMSG_HAS("alignment 0x3000 is not a power of two");
	{
		VDPASTATE_OPTS(vdpastate_iova_map_opts, o, .flags = 2);
		ck_assert_int_eq(vdpastate_iova_map(sp, GPA, 0, 0x1000, &o, &out), -EINVAL);
		ERRMSG_HAS("unknown flags 0x2");
	}
	/* An option this library does not know. */
	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, 0, 0x1000,
					    (const struct vdpastate_iova_map_opts *)&big,
					    &out), -EINVAL);
	ERRMSG_HAS("vdpastate_iova_map_opts");
	/* Fixed: misaligned, outside, wrapping. */
	ck_assert_int_eq(map_at(GPA, 0, 0x1000, 0x1800, 0), -EINVAL);
	ERRMSG_HAS("not aligned to 0x1000");
	ck_assert_int_eq(map_at(GPA, 0, 0x1000, 0x1800, 0x1000), -EINVAL);
	ck_assert_int_eq(map_at(GPA, 0, 0x1000, 0x0, 0), -EINVAL);
	ERRMSG_HAS("outside the space [0x1000, 0xfffff]");
	ck_assert_int_eq(map_at(GPA, 0, 0x1000, 0xff000 + 0x1000, 0), -EINVAL);
	ck_assert_int_eq(map_at(GPA, 0, 0x1001, 0xff000, 0), -EINVAL);
	ck_assert_int_eq(map_at(GPA, 0, 0x2000, UINT64_MAX - 0xfff, 0), -EINVAL);
	ERRMSG_HAS("wraps past 2^64");
	ck_assert_int_eq(vdpastate_iova_map(NULL, GPA, 0, 0x1000, NULL, &out), -EINVAL);

	ck_assert_uint_eq(out, 0x77);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 0);
	/* After all that the first allocation still lands at the bottom. */
	ck_assert_uint_eq(map_ok(GPA, 0, 0x1000), 0x1000);
}
END_TEST

START_TEST(map_eexist)
{
	uint64_t out = 0x77;

	ck_assert_int_eq(map_at(GPA, 0x10000, 0x4000, 0x8000, 0), 0);
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x20000, 0x20fff), 0);
	/* Key overlaps: same, left edge, right edge, around, inside. */
	ck_assert_int_eq(map_aligned(GPA, 0x10000, 0x4000, 0, &out), -EEXIST);
	ERRMSG_HAS("overlaps GPA [0x10000, 0x13fff] mapped at IOVA 0x8000");
	ck_assert_int_eq(map_aligned(GPA, 0xf000, 0x1001, 0, &out), -EEXIST);
	ck_assert_int_eq(map_aligned(GPA, 0x13fff, 0x1, 0, &out), -EEXIST);
	ck_assert_int_eq(map_aligned(GPA, 0x0, 0x100000, 0, &out), -EEXIST);
	ck_assert_int_eq(map_aligned(GPA, 0x11000, 0x10, 0, &out), -EEXIST);
	/* Fixed IOVA over a mapping or a reservation. */
	ck_assert_int_eq(map_at(HVA, 0, 0x1000, 0xb000, 0), -EEXIST);
	ERRMSG_HAS("overlaps GPA mapping at IOVA [0x8000, 0xbfff]");
	ck_assert_int_eq(map_at(HVA, 0, 0x2000, 0x7000, 0), -EEXIST);
	ck_assert_int_eq(map_at(HVA, 0, 0x1000, 0x20000, 0), -EEXIST);
	ERRMSG_HAS("overlaps reserved mapping");
	ck_assert_int_eq(map_at(HVA, 0, 0x10, 0x20ff0, 0x10), -EEXIST);
	ck_assert_uint_eq(out, 0x77);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 2);
	/* Adjacent on both sides is fine. */
	ck_assert_int_eq(map_at(GPA, 0xf000, 0x1000, 0x7000, 0), 0);
	ck_assert_int_eq(map_at(GPA, 0x14000, 0x1000, 0xc000, 0), 0);
	ck_assert_int_eq(map_at(HVA, 0, 0x1000, 0x1f000, 0), 0);
	ck_assert_int_eq(map_at(HVA, 0x1000, 0x1000, 0x21000, 0), 0);
}
END_TEST

START_TEST(map_enospc)
{
	uint64_t out = 0x77;

	/* The space holds 0xff000 bytes. */
	ck_assert_int_eq(map_aligned(GPA, 0, 0xff001, 0, &out), -ENOSPC);
	ERRMSG_HAS("no free IOVA range");
	ck_assert_uint_eq(map_ok(GPA, 0, 0xff000), 0x1000);
	ck_assert_int_eq(map_aligned(HVA, 0, 1, 1, &out), -ENOSPC);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, 0x1000), 0);
	/* Alignment can rule out every place: 0x100000 > the last IOVA. */
	ck_assert_int_eq(map_aligned(GPA, 0, 0x1000, 0x100000, &out), -ENOSPC);
	ck_assert_int_eq(map_aligned(GPA, 0, 0x80000, 0x80000, &out), 0);
	ck_assert_uint_eq(out, 0x80000);
	out = 0x77;
	ck_assert_int_eq(map_aligned(GPA, 0x100000, 0x80000, 0x80000, &out), -ENOSPC);
	ck_assert_uint_eq(out, 0x77);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 1);
}
END_TEST

START_TEST(first_fit_lowest)
{
	uint64_t iova[8], out;
	int i;

	for (i = 0; i < 8; i++)
		iova[i] = map_ok(GPA, (uint64_t)i << 20, 0x2000);
	ck_assert_uint_eq(iova[7], 0xf000);
	/* Holes at 0x3000 (2 pages), 0x7000 (4 pages), 0xf000.. (rest). */
	ck_assert_int_eq(vdpastate_iova_unmap(sp, iova[1]), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, iova[3]), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, iova[4]), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, iova[7]), 0);
	/* Too big for the first hole, fits the second. */
	ck_assert_uint_eq(map_ok(HVA, 0, 0x3000), 0x7000);
	/* Fits the first hole. */
	ck_assert_uint_eq(map_ok(HVA, 0x10000, 0x1000), 0x3000);
	ck_assert_uint_eq(map_ok(HVA, 0x20000, 0x1000), 0x4000);
	ck_assert_uint_eq(map_ok(HVA, 0x30000, 0x1000), 0xa000);
	ck_assert_uint_eq(map_ok(HVA, 0x40000, 0x1000), 0xf000);
	/* Byte alignment packs right after the previous mapping. */
	ck_assert_int_eq(map_aligned(HVA, 0x50000, 0x10, 1, &out), 0);
	ck_assert_uint_eq(out, 0x10000);
	ck_assert_int_eq(map_aligned(HVA, 0x60000, 0x10, 1, &out), 0);
	ck_assert_uint_eq(out, 0x10010);
	ck_assert_int_eq(map_aligned(HVA, 0x70000, 0x10, 0x100, &out), 0);
	ck_assert_uint_eq(out, 0x10100);
}
END_TEST

START_TEST(one_byte_holes)
{
	uint64_t out, i;

	/* 16 mappings of 0xfff bytes at every page: a one-byte hole after each. */
	for (i = 1; i <= 16; i++)
		ck_assert_int_eq(map_at(GPA, i << 20, 0xfff, i << 12, 1), 0);
	for (i = 1; i <= 16; i++) {
		ck_assert_int_eq(map_aligned(HVA, i << 20, 1, 1, &out), 0);
		ck_assert_uint_eq(out, (i << 12) + 0xfff);
	}
	ck_assert_int_eq(map_aligned(HVA, 0, 2, 1, &out), 0);
	ck_assert_uint_eq(out, 17 << 12);
}
END_TEST

START_TEST(alignment_near_misses)
{
	uint64_t out, i;

	/*
	 * 31 holes of 0x2000 bytes, each starting 0x1000 past a 0x2000
	 * boundary: big enough for 0x2000 bytes but never aligned for it.
	 * The first real fit is after them, at 0x80000.
	 */
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(map_at(GPA, i << 20, 0x2000, 0x1000 + i * 0x4000, 0x1000), 0);
	ck_assert_int_eq(map_aligned(HVA, 0, 0x2000, 0x2000, &out), 0);
	ck_assert_uint_eq(out, 0x80000);
	/* With alignment 0x1000 the first hole fits. */
	ck_assert_uint_eq(map_ok(HVA, 0x10000, 0x2000), 0x3000);
	ck_assert_int_eq(vds_iova_check(sp), 0);
}
END_TEST

START_TEST(fixed_maps)
{
	uint64_t out = 0;

	ck_assert_int_eq(map_at(GPA, 0x5000, 0x1000, 0x80000, 0), 0);
	expect_translate(GPA, 0x5000, 0x80000, 0x1000);
	/* Any byte with alignment 1. */
	ck_assert_int_eq(map_at(GPA, 0x9000, 0x3, 0x1235, 1), 0);
	expect_translate(GPA, 0x9001, 0x1236, 2);
	/* The last byte of the space. */
	ck_assert_int_eq(map_at(HVA, 0x9000, 0x1000, 0xff000, 0), 0);
	{
		VDPASTATE_OPTS(vdpastate_iova_map_opts, o, .iova = 0xff000,
			       .flags = VDPASTATE_IOVA_MAP_FIXED);
		ck_assert_int_eq(vdpastate_iova_unmap(sp, 0xff000), 0);
		ck_assert_int_eq(vdpastate_iova_map(sp, HVA, 0x9000, 0x1000, &o, &out), 0);
		ck_assert_uint_eq(out, 0xff000);
	}
	/* Allocation goes around fixed mappings. */
	ck_assert_uint_eq(map_ok(HVA, 0, 0x1000), 0x2000);
}
END_TEST

START_TEST(top_of_64bit_space)
{
	enum vdpastate_iova_kind k;
	uint64_t a, c, out;

	vdpastate_iova_free(sp);
	sp = vdpastate_iova_new(UINT64_MAX - 0xffff, UINT64_MAX);
	ck_assert_ptr_nonnull(sp);
	/* A key range may end at 2^64 too. */
	ck_assert_uint_eq(map_ok(GPA, UINT64_MAX - 0xfff, 0x1000), UINT64_MAX - 0xffff);
	ck_assert_int_eq(map_aligned(GPA, UINT64_MAX - 0x1fff, 0x2001, 0, &out), -EINVAL);
	ck_assert_uint_eq(map_ok(HVA, 0, 0xf000), UINT64_MAX - 0xefff);
	ck_assert_int_eq(map_aligned(HVA, 0x100000, 1, 1, &out), -ENOSPC);
	expect_translate(GPA, UINT64_MAX, UINT64_MAX - 0xf000, 1);
	expect_translate(HVA, 0xeffe, UINT64_MAX - 1, 2);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, UINT64_MAX, &k, &a, &c), 0);
	ck_assert_int_eq(k, HVA);
	ck_assert_uint_eq(a, 0xefff);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, UINT64_MAX - 0xefff), 0);
	/* An alignment whose rounding would pass 2^64. */
	ck_assert_int_eq(map_aligned(HVA, 0, 0x1000, 1ull << 63, &out), -ENOSPC);
	ck_assert_int_eq(map_at(HVA, 0, 0x1000, UINT64_MAX - 0xfff, 0), 0);
	ck_assert_int_eq(map_at(HVA, 0x1000, 0x1001, UINT64_MAX - 0x1fff, 0), -EEXIST);
}
END_TEST

START_TEST(whole_64bit_space)
{
	enum vdpastate_iova_kind k = 0;
	uint64_t c = 0, out;

	vdpastate_iova_free(sp);
	sp = vdpastate_iova_new(0, UINT64_MAX);
	ck_assert_ptr_nonnull(sp);
	ck_assert_uint_eq(map_ok(GPA, 1, UINT64_MAX), 0);
	expect_translate(GPA, UINT64_MAX, UINT64_MAX - 1, 1);
	ck_assert_int_eq(map_aligned(HVA, 0, 1, 1, &out), 0);
	ck_assert_uint_eq(out, UINT64_MAX);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, 0), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, UINT64_MAX), 0);
	/* A reservation of all 2^64 IOVAs: contig saturates. */
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0, UINT64_MAX), 0);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, 0, &k, NULL, &c), 0);
	ck_assert_int_eq(k, RSV);
	ck_assert_uint_eq(c, UINT64_MAX);
	ck_assert_int_eq(map_aligned(HVA, 0, 1, 1, &out), -ENOSPC);
}
END_TEST

START_TEST(reserve)
{
	enum vdpastate_iova_kind k = 0;
	uint64_t a = 9, c = 0;

	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x1000, 0x1fff), 0);
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x3000, 0x3fff), 0);
	ck_assert_uint_eq(vdpastate_iova_count(sp, RSV), 2);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 2);
	ck_assert_uint_eq(map_ok(GPA, 0, 0x1000), 0x2000);
	ck_assert_uint_eq(map_ok(GPA, 0x1000, 0x1000), 0x4000);

	ck_assert_int_eq(vdpastate_iova_lookup(sp, 0x3800, &k, &a, &c), 0);
	ck_assert_int_eq(k, RSV);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(c, 0x800);

	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x2fff, 0x2fff), -EEXIST);
	ERRMSG_HAS("reserve IOVA [0x2fff, 0x2fff]: overlaps GPA mapping");
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x1800, 0x1800), -EEXIST);
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x0, 0x1000), -EINVAL);
	ERRMSG_HAS("not a range inside the space");
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0xfffff, 0x100000), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x9000, 0x8fff), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_reserve(NULL, 0x9000, 0x9fff), -EINVAL);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 4);
	/* The whole rest of the space, then nothing fits. */
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x5000, 0xfffff), 0);
	ck_assert_int_eq(map_aligned(HVA, 0, 1, 1, NULL), -ENOSPC);
	/* A reservation is removed like a mapping. */
	ck_assert_int_eq(vdpastate_iova_unmap(sp, 0x1000), 0);
	ck_assert_uint_eq(vdpastate_iova_count(sp, RSV), 2);
	ck_assert_uint_eq(map_ok(HVA, 0, 0x1000), 0x1000);
}
END_TEST

START_TEST(unmap)
{
	uint64_t a = map_ok(GPA, 0x10000, 0x3000);

	ck_assert_int_eq(vdpastate_iova_unmap(sp, a + 0x1000), -ENOENT);
	ERRMSG_HAS("unmap IOVA 0x2000: no mapping starts there");
	ck_assert_int_eq(vdpastate_iova_unmap(sp, 0x80000), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_unmap(NULL, a), -EINVAL);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 1);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, a), 0);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 0);
	ck_assert_uint_eq(vdpastate_iova_count(sp, GPA), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, a), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0x10000, NULL, NULL), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, a, NULL, NULL, NULL), -ENOENT);
	/* Both the IOVA and the key range are free again. */
	ck_assert_uint_eq(map_ok(GPA, 0x10000, 0x3000), a);
}
END_TEST

START_TEST(lookup)
{
	enum vdpastate_iova_kind k = 0;
	uint64_t a = 0, c = 0, g, h;

	g = map_ok(GPA, 0x123000, 0x2000);
	h = map_ok(HVA, 0x7f00000, 0x1000);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, g + 0x1001, &k, &a, &c), 0);
	ck_assert_int_eq(k, GPA);
	ck_assert_uint_eq(a, 0x124001);
	ck_assert_uint_eq(c, 0xfff);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, h, &k, &a, &c), 0);
	ck_assert_int_eq(k, HVA);
	ck_assert_uint_eq(a, 0x7f00000);
	ck_assert_uint_eq(c, 0x1000);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, h, NULL, NULL, NULL), 0);
	k = 0;
	a = c = 7;
	ck_assert_int_eq(vdpastate_iova_lookup(sp, h + 0x1000, &k, &a, &c), -ENOENT);
	ERRMSG_HAS("lookup IOVA 0x4000: not mapped");
	ck_assert_int_eq(vdpastate_iova_lookup(sp, 0xfff, &k, &a, &c), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_lookup(sp, UINT64_MAX, &k, &a, &c), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_lookup(NULL, h, &k, &a, &c), -EINVAL);
	ck_assert_int_eq(k, 0);
	ck_assert_uint_eq(a, 7);
	ck_assert_uint_eq(c, 7);
}
END_TEST

struct collect {
	struct vdpastate_iova_mapping m[8];
	int n, stop_at;
};

static int collect_fn(const struct vdpastate_iova_mapping *m, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->stop_at)
		return 42;
	c->m[c->n++] = *m;
	return 0;
}

START_TEST(foreach_and_count)
{
	struct collect c = { .stop_at = -1 };

	ck_assert_int_eq(vdpastate_iova_foreach(sp, collect_fn, &c), 0);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(map_at(HVA, 0xaa000, 0x1000, 0x9000, 0), 0);
	ck_assert_int_eq(vdpastate_iova_reserve(sp, 0x5000, 0x5fff), 0);
	ck_assert_int_eq(map_at(GPA, 0xbb000, 0x2000, 0x2000, 0), 0);
	ck_assert_int_eq(vdpastate_iova_foreach(sp, collect_fn, &c), 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert_uint_eq(c.m[0].iova, 0x2000);
	ck_assert_uint_eq(c.m[0].size, 0x2000);
	ck_assert_uint_eq(c.m[0].addr, 0xbb000);
	ck_assert_uint_eq(c.m[0].kind, GPA);
	ck_assert_uint_eq(c.m[0].reserved, 0);
	ck_assert_uint_eq(c.m[1].iova, 0x5000);
	ck_assert_uint_eq(c.m[1].addr, 0);
	ck_assert_uint_eq(c.m[1].kind, RSV);
	ck_assert_uint_eq(c.m[2].iova, 0x9000);
	ck_assert_uint_eq(c.m[2].kind, HVA);
	/* fn's first non-zero value stops the walk and is returned. */
	c.n = 0;
	c.stop_at = 1;
	ck_assert_int_eq(vdpastate_iova_foreach(sp, collect_fn, &c), 42);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(vdpastate_iova_foreach(sp, NULL, &c), -EINVAL);
	ck_assert_int_eq(vdpastate_iova_foreach(NULL, collect_fn, &c), -EINVAL);

	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), 3);
	ck_assert_uint_eq(vdpastate_iova_count(sp, GPA), 1);
	ck_assert_uint_eq(vdpastate_iova_count(sp, HVA), 1);
	ck_assert_uint_eq(vdpastate_iova_count(sp, RSV), 1);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 4), 0);
	ck_assert_uint_eq(vdpastate_iova_count(NULL, 0), 0);
}
END_TEST

START_TEST(opts_sizes)
{
	/* A caller built against a header with only sz and align. */
	struct { size_t sz; uint64_t align; } old = { sizeof(old), 0x10000 };
	uint64_t out;

	map_ok(GPA, 0, 0x1000);
	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, 0x1000, 0x1000,
					    (const struct vdpastate_iova_map_opts *)&old,
					    &out), 0);
	ck_assert_uint_eq(out, 0x10000);
	/* A NULL opts means the defaults. */
	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, 0x2000, 0x10, NULL, &out), 0);
	ck_assert_uint_eq(out, 0x2000);
}
END_TEST

START_TEST(many_mappings)
{
	const uint64_t n = 100000;
	uint64_t i, out;

	vdpastate_iova_free(sp);
	sp = vdpastate_iova_new(0, (1ull << 40) - 1);
	ck_assert_ptr_nonnull(sp);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(map_ok(i & 1 ? HVA : GPA, i << 16, 0x1000), i << 12);
	ck_assert_int_eq(vds_iova_check(sp), 0);
	/* Punch every third page; allocation refills them bottom up. */
	for (i = 0; i < n; i += 3)
		ck_assert_int_eq(vdpastate_iova_unmap(sp, i << 12), 0);
	ck_assert_int_eq(vds_iova_check(sp), 0);
	for (i = 0; i < n; i += 3) {
		ck_assert_int_eq(map_aligned(GPA, (n + i) << 16, 0x1000, 0, &out), 0);
		ck_assert_uint_eq(out, i << 12);
	}
	expect_translate(HVA, (n - 3) << 16, (n - 3) << 12, 0x1000);
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), n);
	ck_assert_int_eq(vds_iova_check(sp), 0);
}
END_TEST

/* ------------------------------------------------- the B+tree on its own */

static struct vds_bt_val bt_v(uint64_t key)
{
	return (struct vds_bt_val){ { key ^ 0x5555, ~key } };
}

/* Every value is bt_v(key). */
static int bt_val_ok(uint64_t key, const struct vds_bt_val *v, void *arg)
{
	(void)arg;
	return v->v[0] == (key ^ 0x5555) && v->v[1] == ~key ? 0 : -1;
}

static void bt_insert_ok(struct vds_bt *t, uint64_t key)
{
	struct vds_bt_val v = bt_v(key);

	ck_assert_int_eq(vds_bt_insert(t, key, &v), 0);
}

/* floor(key) is the entry at want (or none). */
static void bt_floor_is(const struct vds_bt *t, uint64_t key, bool found,
			uint64_t want)
{
	uint64_t got = 0x1234;
	const struct vds_bt_val *v = vds_bt_floor(t, key, &got);

	if (!found) {
		ck_assert_ptr_null(v);
		ck_assert_uint_eq(got, 0x1234);
		return;
	}
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(got, want);
	ck_assert_uint_eq(v->v[0], want ^ 0x5555);
	ck_assert_uint_eq(v->v[1], ~want);
}

static void bt_check_is(const struct vds_bt *t, long count)
{
	ck_assert_int_eq(vds_bt_check(t, bt_val_ok, NULL), count);
	ck_assert_uint_eq(t->count, (size_t)count);
}

START_TEST(bt_empty_and_extremes)
{
	struct vds_bt t = { 0 };
	struct vds_bt_val v = bt_v(7), out;

	bt_check_is(&t, 0);
	bt_floor_is(&t, 0, false, 0);
	bt_floor_is(&t, UINT64_MAX, false, 0);
	ck_assert_int_eq(vds_bt_remove(&t, 0, &out), -ENOENT);
	ck_assert_int_eq(vds_bt_remove(&t, UINT64_MAX, NULL), -ENOENT);

	bt_insert_ok(&t, UINT64_MAX);
	bt_floor_is(&t, UINT64_MAX - 1, false, 0);
	bt_floor_is(&t, UINT64_MAX, true, UINT64_MAX);
	bt_insert_ok(&t, 0);
	bt_floor_is(&t, 0, true, 0);
	bt_floor_is(&t, UINT64_MAX - 1, true, 0);
	bt_floor_is(&t, UINT64_MAX, true, UINT64_MAX);
	ck_assert_int_eq(vds_bt_insert(&t, 0, &v), -EEXIST);
	ck_assert_int_eq(vds_bt_insert(&t, UINT64_MAX, &v), -EEXIST);
	bt_check_is(&t, 2);
	ck_assert_int_eq(vds_bt_remove(&t, 1, NULL), -ENOENT);
	ck_assert_int_eq(vds_bt_remove(&t, 0, &out), 0);
	ck_assert_uint_eq(out.v[1], ~(uint64_t)0);
	bt_floor_is(&t, UINT64_MAX - 1, false, 0);
	bt_check_is(&t, 1);
	ck_assert_int_eq(vds_bt_remove(&t, UINT64_MAX, &out), 0);
	ck_assert_uint_eq(out.v[0], UINT64_MAX ^ 0x5555);
	bt_check_is(&t, 0);
	ck_assert_ptr_null(t.root);
	ck_assert_uint_eq(t.height, 0);
	vds_bt_free(&t);
}
END_TEST

/* One node holds VDS_BT_MAX keys; one more splits it; one less merges. */
START_TEST(bt_split_and_merge_one_level)
{
	struct vds_bt t = { 0 };
	uint64_t i;

	for (i = 0; i < VDS_BT_MAX; i++)
		bt_insert_ok(&t, i * 10);
	ck_assert_uint_eq(t.height, 1);
	bt_check_is(&t, VDS_BT_MAX);
	bt_insert_ok(&t, 5); /* into the lower half */
	ck_assert_uint_eq(t.height, 2);
	ck_assert_uint_eq(t.root->n, 2);
	bt_check_is(&t, VDS_BT_MAX + 1);
	ck_assert_int_eq(vds_bt_remove(&t, 5, NULL), 0);
	bt_check_is(&t, VDS_BT_MAX);
	/* Down to one leaf again: the root collapses. */
	for (i = 0; t.height > 1; i++)
		ck_assert_int_eq(vds_bt_remove(&t, i * 10, NULL), 0);
	bt_check_is(&t, (long)(VDS_BT_MAX - i));
	bt_floor_is(&t, i * 10 - 1, false, 0);
	bt_floor_is(&t, UINT64_MAX, true, (VDS_BT_MAX - 1) * 10);
	vds_bt_free(&t);
	bt_check_is(&t, 0);
}
END_TEST

/*
 * Ascending, descending (a new lowest key every time) and middle-out
 * insertions, then removals from either end: splits and merges of inner
 * nodes up to a new root and back.
 */
START_TEST(bt_ordered_runs)
{
	const uint64_t n = 40000;
	struct vds_bt t = { 0 };
	unsigned int pass;
	uint64_t i, k;

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			k = pass == 0 ? i : pass == 1 ? n - 1 - i :
			    i & 1 ? n / 2 + i / 2 : n / 2 - 1 - i / 2;
			bt_insert_ok(&t, k * 4 + 1);
			if (i % 4999 == 0)
				bt_check_is(&t, (long)i + 1);
		}
		bt_check_is(&t, (long)n);
		ck_assert_uint_ge(t.height, 4);
		bt_floor_is(&t, 0, false, 0);
		bt_floor_is(&t, 1, true, 1);
		bt_floor_is(&t, 4 * n, true, 4 * n - 3);
		bt_floor_is(&t, UINT64_MAX, true, 4 * n - 3);
		for (i = 0; i < n; i += 97)
			bt_floor_is(&t, i * 4 + 3, true, i * 4 + 1);
		for (i = 0; i < n; i++) {
			k = pass == 1 ? i : n - 1 - i;
			ck_assert_int_eq(vds_bt_remove(&t, k * 4 + 1, NULL), 0);
			if (i % 4999 == 0)
				bt_check_is(&t, (long)(n - 1 - i));
		}
		bt_check_is(&t, 0);
		ck_assert_uint_eq(t.height, 0);
	}
	vds_bt_free(&t);
}
END_TEST

static uint64_t bt_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Random inserts, removes and floors against a bitmap of a small range. */
START_TEST(bt_random_against_bitmap)
{
	enum { RANGE = 1 << 15 };
	static unsigned char in[RANGE];
	struct vds_bt t = { 0 };
	uint64_t s = 0xb7ee, base = UINT64_MAX - RANGE + 1, i;
	long count = 0;

	memset(in, 0, sizeof(in));
	for (i = 0; i < 400000; i++) {
		uint64_t r = bt_rnd(&s), k = (r >> 8) % RANGE, lo;
		struct vds_bt_val v = bt_v(base + k), out;
		uint64_t phase = i / 50000; /* grow, shrink, grow... */
		bool grow = (phase & 1) == 0;

		/* Keys sit at the top of the 64-bit space, up to 2^64 - 1. */
		switch (r & 3) {
		case 0:
		case 1:
			if (grow == ((r & 1) == 0)) {
				ck_assert_int_eq(vds_bt_insert(&t, base + k, &v),
						 in[k] ? -EEXIST : 0);
				count += !in[k];
				in[k] = 1;
			} else {
				ck_assert_int_eq(vds_bt_remove(&t, base + k, &out),
						 in[k] ? 0 : -ENOENT);
				if (in[k])
					ck_assert_uint_eq(out.v[1], ~(base + k));
				count -= in[k];
				in[k] = 0;
			}
			break;
		case 2:
			if (grow) {
				ck_assert_int_eq(vds_bt_insert(&t, base + k, &v),
						 in[k] ? -EEXIST : 0);
				count += !in[k];
				in[k] = 1;
			} else {
				ck_assert_int_eq(vds_bt_remove(&t, base + k, NULL),
						 in[k] ? 0 : -ENOENT);
				count -= in[k];
				in[k] = 0;
			}
			break;
		default:
			for (lo = k; lo > 0 && !in[lo]; lo--)
				;
			bt_floor_is(&t, base + k, in[lo] != 0, base + lo);
			break;
		}
		if (i % 20011 == 0)
			bt_check_is(&t, count);
	}
	bt_check_is(&t, count);
	bt_floor_is(&t, base - 1, false, 0);
	vds_bt_free(&t);
}
END_TEST

/* A failed node allocation anywhere in a split leaves the tree as it was. */
START_TEST(bt_enomem_changes_nothing)
{
	struct vds_bt t = { 0 };
	struct vds_bt_val v = bt_v(1);
	uint64_t k, i, n = 0;
	long fail;

	ck_assert_int_eq(vds_bt_insert(&t, 1, &v), 0);
	vds_bt_free(&t);
	vds_bt_fail_alloc_in = 1;
	ck_assert_int_eq(vds_bt_insert(&t, 1, &v), -ENOMEM);
	bt_check_is(&t, 0);
	/* Ascending keys leave every node on the rightmost path full. */
	for (k = 0; t.height < 3 || t.root->n < VDS_BT_MAX; k++, n++)
		bt_insert_ok(&t, k);
	while (t.root->child[t.root->n - 1]->n < VDS_BT_MAX ||
	       t.root->child[t.root->n - 1]->child[VDS_BT_MAX - 1]->n < VDS_BT_MAX)
		bt_insert_ok(&t, k++), n++;
	/* The next key splits the leaf, its parent and the root: 4 nodes. */
	for (fail = 1; fail <= 4; fail++) {
		vds_bt_fail_alloc_in = fail;
		v = bt_v(k);
		ck_assert_int_eq(vds_bt_insert(&t, k, &v), -ENOMEM);
		ck_assert_uint_eq(t.height, 3);
		bt_check_is(&t, (long)n);
	}
	vds_bt_fail_alloc_in = 5;
	bt_insert_ok(&t, k);
	vds_bt_fail_alloc_in = 0;
	ck_assert_uint_eq(t.height, 4);
	bt_check_is(&t, (long)n + 1);
	for (i = 0; i <= k; i++)
		bt_floor_is(&t, i, true, i);

	/* Through the IOVA space: -ENOMEM, nothing mapped. */
	vds_bt_free(&t);
	for (k = 0; k < VDS_BT_MAX; k++)
		map_ok(GPA, k << 12, 0x1000);
	vds_bt_fail_alloc_in = 1; /* the leaf split */
	ck_assert_int_eq(vdpastate_iova_map(sp, GPA, k << 12, 0x1000, NULL, NULL),
			 -ENOMEM);
	vds_bt_fail_alloc_in = 0;
	ck_assert_uint_eq(vdpastate_iova_count(sp, 0), VDS_BT_MAX);
	ck_assert_int_eq(vds_iova_check(sp), 0);
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, k << 12, NULL, NULL),
			 -ENOENT);
	map_ok(GPA, k << 12, 0x1000);
	expect_translate(GPA, (k << 12) + 5, (VDS_BT_MAX + 1) << 12 | 5, 0x1000 - 5);
}
END_TEST

/* Translations keyed at 0 and ending at 2^64 - 1, in a deep index. */
START_TEST(bt_iova_key_extremes)
{
	uint64_t i, iova;

	vdpastate_iova_free(sp);
	sp = vdpastate_iova_new(0, (1ull << 40) - 1);
	ck_assert_ptr_nonnull(sp);
	iova = map_ok(HVA, 0, 0x1000);
	ck_assert_int_eq(map_aligned(HVA, UINT64_MAX, 1, 1, NULL), 0);
	for (i = 1; i < 3000; i++)
		map_ok(HVA, UINT64_MAX - 1 - i * 0x2000, 0x1000);
	ck_assert_int_eq(vds_iova_check(sp), 0);
	expect_translate(HVA, 0, iova, 0x1000);
	expect_translate(HVA, 0xfff, iova + 0xfff, 1);
	ck_assert_int_eq(vdpastate_iova_translate(sp, HVA, 0x1000, NULL, NULL), -ENOENT);
	expect_translate(HVA, UINT64_MAX, 0x1000, 1);
	ck_assert_int_eq(vdpastate_iova_translate(sp, HVA, UINT64_MAX - 1, NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(vdpastate_iova_translate(sp, GPA, 0, NULL, NULL), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_map(sp, HVA, UINT64_MAX - 0xfff, 0x1000, NULL,
					    NULL), -EEXIST);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, iova), 0);
	ck_assert_int_eq(vdpastate_iova_unmap(sp, 0x1000), 0);
	ck_assert_int_eq(vdpastate_iova_translate(sp, HVA, 0, NULL, NULL), -ENOENT);
	ck_assert_int_eq(vdpastate_iova_translate(sp, HVA, UINT64_MAX, NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(vds_iova_check(sp), 0);
}
END_TEST

/* ------------------------------------------------------ randomized model */

/* ------------------------------------------------------------ ivtree */

/* Slot k of the reference is the range [k * 32, k * 32 + len[k] - 1]. */
#define IVT_SLOTS 4096
struct ivt_ref {
	uint8_t len[IVT_SLOTS]; /* 0: free */
	unsigned int n;
};

/* Does [a, b] hold size bytes at a multiple of mask + 1?  (a <= b) */
static bool ref_stretch(uint64_t a, uint64_t b, uint64_t size, uint64_t mask,
			uint64_t *out)
{
	uint64_t s = (a + mask) & ~mask;

	if (s < a || s > b || b - s < size - 1)
		return false;
	*out = s;
	return true;
}

/* Lowest aligned fit in [lo, hi] outside the reference's ranges, which
 * all lie in [lo, hi]. */
static bool ref_fit(const struct ivt_ref *r, uint64_t lo, uint64_t hi,
		    uint64_t size, uint64_t mask, uint64_t *out)
{
	uint64_t at = lo;
	unsigned int k;

	for (k = 0; k < IVT_SLOTS; k++) {
		uint64_t first = (uint64_t)k * 32;

		if (!r->len[k])
			continue;
		if (first > at && ref_stretch(at, first - 1, size, mask, out))
			return true;
		at = first + r->len[k];
	}
	return at <= hi && ref_stretch(at, hi, size, mask, out);
}

static void ivt_put(struct vds_ivt *t, struct ivt_ref *r, unsigned int k,
		    uint8_t len)
{
	const struct vds_ivt_ent e = { (uint64_t)k * 32,
				       (uint64_t)k * 32 + len - 1, k * 7ull,
				       k % 3 + 1 };

	ck_assert_int_eq(vds_ivt_insert(t, &e), 0);
	r->len[k] = len;
	r->n++;
}

static void ivt_take(struct vds_ivt *t, struct ivt_ref *r, unsigned int k)
{
	struct vds_ivt_ent e;

	ck_assert_int_eq(vds_ivt_remove(t, (uint64_t)k * 32, &e), 0);
	ck_assert_uint_eq(e.first, (uint64_t)k * 32);
	ck_assert_uint_eq(e.last, (uint64_t)k * 32 + r->len[k] - 1);
	ck_assert_uint_eq(e.addr, k * 7ull);
	ck_assert_uint_eq(e.kind, k % 3 + 1);
	r->len[k] = 0;
	r->n--;
}

/* Floors, fits and the whole structure against the reference. */
static void ivt_compare(const struct vds_ivt *t, const struct ivt_ref *r,
			struct vds_rand *rnd)
{
	unsigned int i;

	ck_assert_int_eq(vds_ivt_check(t), (long)r->n);
	for (i = 0; i < 64; i++) {
		uint64_t key = vds_rand(rnd) % (IVT_SLOTS * 32 + 64);
		uint64_t size = 1 + vds_rand(rnd) % 48, mask = 0, a = 0, b = 0;
		uint64_t lo = 0, hi = IVT_SLOTS * 32 + vds_rand(rnd) % 100;
		struct vds_ivt_ent e;
		long k = (long)(key / 32);
		bool want, got;

		while (k >= IVT_SLOTS || (k >= 0 && !r->len[k]))
			k--;
		got = vds_ivt_floor(t, key, &e);
		ck_assert_int_eq(got, k >= 0);
		if (got)
			ck_assert_uint_eq(e.first, (uint64_t)k * 32);
		if (vds_rand(rnd) % 2)
			mask = (1ull << (vds_rand(rnd) % 6)) - 1;
		want = ref_fit(r, lo, hi, size, mask, &a);
		got = vds_ivt_fit(t, lo, hi, size, mask, &b);
		ck_assert_msg(want == got && (!want || a == b),
			      "fit size %llu mask %llx in [%llu, %llu]: tree %d "
			      "0x%llx, reference %d 0x%llx",
			      (unsigned long long)size, (unsigned long long)mask,
			      (unsigned long long)lo, (unsigned long long)hi, got,
			      (unsigned long long)b, want, (unsigned long long)a);
	}
}

/* Grow to thousands of ranges (four levels), then shrink to nothing,
 * against a reference: every split, borrow and merge at every level. */
START_TEST(ivt_random_against_reference)
{
	static struct ivt_ref r;
	struct vds_rand rnd = vds_rand_seed(99);
	struct vds_ivt t = { 0 };
	unsigned int step, k, maxh = 0;

	memset(&r, 0, sizeof(r));
	for (step = 0; step < 60000; step++) {
		/* Mostly inserts in the first half, mostly removals after. */
		bool grow = vds_rand(&rnd) % 100 < (step < 30000 ? 80 : 15);

		k = vds_rand(&rnd) % IVT_SLOTS;
		if (!r.len[k] && grow)
			ivt_put(&t, &r, k, (uint8_t)(1 + vds_rand(&rnd) % 32));
		else if (r.len[k] && !grow)
			ivt_take(&t, &r, k);
		if (t.height > maxh)
			maxh = t.height;
		if (step % 997 == 0)
			ivt_compare(&t, &r, &rnd);
	}
	ck_assert_uint_ge(maxh, 4);
	for (k = 0; k < IVT_SLOTS; k++)
		if (r.len[k])
			ivt_take(&t, &r, k);
	ivt_compare(&t, &r, &rnd);
	ck_assert_ptr_null(t.root);
	ck_assert_int_eq(vds_ivt_remove(&t, 0, NULL), -ENOENT);
	vds_ivt_free(&t);
}
END_TEST

/* An allocation failing while the spares are refilled leaves the tree
 * as it was, whichever allocation fails. */
START_TEST(ivt_enomem_changes_nothing)
{
	struct vds_ivt t = { 0 };
	struct vds_ivt_ent e = { 0, 0, 0, 1 };
	uint64_t k = 0, n = 0;

	vds_ivt_fail_alloc_in = 1;
	ck_assert_int_eq(vds_ivt_insert(&t, &e), -ENOMEM);
	ck_assert_int_eq(vds_ivt_check(&t), 0);
	vds_ivt_fail_alloc_in = 0;
	/* Ascending keys leave every node on the rightmost path full. */
	for (;; k++, n++) {
		const struct vds_ivt_node *x = t.root;
		bool full = t.height >= 3;

		for (; full && x; x = x->leaf ? NULL : x->c.child[x->n - 1])
			full = x->n == VDS_IVT_MAX;
		if (full)
			break;
		e.first = e.last = k * 2;
		ck_assert_int_eq(vds_ivt_insert(&t, &e), 0);
	}
	/* The next key splits every level and adds a root: the four spares
	 * the last insertion left are all used, none is allocated. */
	ck_assert_uint_eq(t.nspare, 4);
	vds_ivt_fail_alloc_in = 1;
	e.first = e.last = k++ * 2;
	ck_assert_int_eq(vds_ivt_insert(&t, &e), 0);
	n++;
	ck_assert_uint_eq(t.height, 4);
	ck_assert_uint_eq(t.nspare, 0);
	/* The one after needs five spares: each try allocates one and fails
	 * on the next, until one more is all it needs. */
	e.first = e.last = k * 2;
	for (;;) {
		unsigned int before = t.nspare;
		int r;

		vds_ivt_fail_alloc_in = 2;
		r = vds_ivt_insert(&t, &e);
		vds_ivt_fail_alloc_in = 0;
		if (before + 1 == 5) {
			ck_assert_int_eq(r, 0);
			break;
		}
		ck_assert_int_eq(r, -ENOMEM);
		ck_assert_uint_eq(t.nspare, before + 1);
		ck_assert_uint_eq(t.height, 4);
		ck_assert_int_eq(vds_ivt_check(&t), (long)n);
		ck_assert_int_eq(vds_ivt_floor(&t, k * 2, &e), true);
		ck_assert_uint_eq(e.first, (k - 1) * 2); /* not inserted */
		e.first = e.last = k * 2;
	}
	ck_assert_int_eq(vds_ivt_check(&t), (long)n + 1);
	vds_ivt_free(&t);
	ck_assert_uint_eq(t.nspare, 0);
}
END_TEST

static unsigned long model_ops(void)
{
	const char *s = getenv("VDS_IOVA_MODEL_OPS");

	return s && *s ? strtoul(s, NULL, 0) : 100000;
}

START_TEST(random_model)
{
	unsigned long total = model_ops(), done = 0, per = total / IM_NCONFIGS + 1;
	unsigned int cfg;

	for (cfg = 0; cfg < IM_NCONFIGS; cfg++) {
		struct im *m = im_new(cfg);
		struct im_rng rng;
		unsigned long i;

		ck_assert_ptr_nonnull(m);
		im_rng_init(&rng, 0x5eed0000ull + cfg);
		for (i = 0; i < per; i++, done++)
			ck_assert_msg(im_step(m, &rng.src) == 0,
				      "config %u step %lu: %s", cfg, i, im_msg(m));
		ck_assert_msg(im_verify(m) == 0, "config %u: %s", cfg, im_msg(m));
		im_free(m);
	}
	ck_assert_uint_ge(done, total);
}
END_TEST

Suite *iova_suite(void)
{
	Suite *s = suite_create("iova");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_and_free);
	tcase_add_test(tc, alloc_and_translate);
	tcase_add_test(tc, translate_errors);
	tcase_add_test(tc, alias_keys_are_separate);
	tcase_add_test(tc, map_einval);
	tcase_add_test(tc, map_eexist);
	tcase_add_test(tc, map_enospc);
	tcase_add_test(tc, first_fit_lowest);
	tcase_add_test(tc, one_byte_holes);
	tcase_add_test(tc, alignment_near_misses);
	tcase_add_test(tc, fixed_maps);
	tcase_add_test(tc, top_of_64bit_space);
	tcase_add_test(tc, whole_64bit_space);
	tcase_add_test(tc, reserve);
	tcase_add_test(tc, unmap);
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, foreach_and_count);
	tcase_add_test(tc, opts_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, many_mappings);
	tcase_add_test(tc, random_model);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);

	tc = tcase_create("btree");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bt_empty_and_extremes);
	tcase_add_test(tc, bt_split_and_merge_one_level);
	tcase_add_test(tc, bt_ordered_runs);
	tcase_add_test(tc, bt_random_against_bitmap);
	tcase_add_test(tc, bt_enomem_changes_nothing);
	tcase_add_test(tc, bt_iova_key_extremes);
	tcase_add_test(tc, ivt_random_against_reference);
	tcase_add_test(tc, ivt_enomem_changes_nothing);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}
