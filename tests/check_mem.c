/* SPDX-License-Identifier: MIT */
/*
 * tests/check_mem.c - the guest memory table: every function and every
 * error, edges at 0 and 2^64, concurrent readers, and a randomized run
 * against a naive model.  Host pointers are fake: the table never
 * dereferences them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "suites.h"

#define HVA(x) ((void *)(uintptr_t)(x))
#define ERRMSG_HAS(s) ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), (s)))

static struct vdpastate_mem *mem;

static void setup(void)
{
	mem = vdpastate_mem_new();
	ck_assert_ptr_nonnull(mem);
}

static void teardown(void)
{
	vdpastate_mem_free(mem);
	mem = NULL;
}

START_TEST(new_free)
{
	ck_assert_uint_eq(vdpastate_mem_count(mem), 0);
	vdpastate_mem_free(NULL);
	ck_assert_uint_eq(vdpastate_mem_count(NULL), 0);
}
END_TEST

START_TEST(add_invalid)
{
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x1000, 0, HVA(0x1000), 0), -EINVAL);
	ERRMSG_HAS("size 0");
	ck_assert_int_eq(vdpastate_mem_add(mem, UINT64_MAX, 2, HVA(0x1000), 0), -EINVAL);
	ERRMSG_HAS("wraps past 2^64");
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x1000, 0x1000, NULL, 0), -EINVAL);
	ERRMSG_HAS("NULL");
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x1000, 0x1000,
					   HVA(UINTPTR_MAX - 0xffe), 0), -EINVAL);
	ERRMSG_HAS("wraps");
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x1000, 0x1000, HVA(0x1000), 2), -EINVAL);
	ERRMSG_HAS("unknown flags 0x2");
	ck_assert_int_eq(vdpastate_mem_add(NULL, 0x1000, 0x1000, HVA(0x1000), 0), -EINVAL);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 0);
}
END_TEST

START_TEST(add_edges_of_64bit_space)
{
	struct vdpastate_mem_region r;

	/* Ends exactly at 2^64: no wrap. */
	ck_assert_int_eq(vdpastate_mem_add(mem, UINT64_MAX - 0xfff, 0x1000, HVA(0x10000), 0), 0);
	/* Starts at 0. */
	ck_assert_int_eq(vdpastate_mem_add(mem, 0, 1, HVA(0x1), 0), 0);
	/* The host range may end at the top of the address space too. */
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x1000, 0x1000,
					   HVA(UINTPTR_MAX - 0xfff), 0), 0);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 3);
	ck_assert_int_eq(vdpastate_mem_get(mem, 2, &r), 0);
	ck_assert_uint_eq(r.gpa, UINT64_MAX - 0xfff);
	ck_assert_uint_eq(r.size, 0x1000);
	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, UINT64_MAX, NULL), HVA(0x10fff));
}
END_TEST

START_TEST(add_overlaps)
{
	static const struct { uint64_t gpa, size; } bad[] = {
		{ 0x10000, 0x1000 },  /* same */
		{ 0xf000, 0x1001 },   /* last byte of it overlaps the first */
		{ 0x13fff, 0x10 },    /* first byte overlaps the last */
		{ 0x11000, 0x100 },   /* inside */
		{ 0x0, 0x100000 },    /* around */
	};
	size_t i;

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x4000, HVA(0x100000), 0), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(vdpastate_mem_add(mem, bad[i].gpa, bad[i].size,
						   HVA(0x200000), 0), -EEXIST);
		ERRMSG_HAS("overlaps region [0x10000, 0x13fff]");
	}
	ck_assert_uint_eq(vdpastate_mem_count(mem), 1);
	/* Adjacent on both sides is fine and stays separate. */
	ck_assert_int_eq(vdpastate_mem_add(mem, 0xf000, 0x1000, HVA(0x200000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x14000, 0x1000, HVA(0x104000), 0), 0);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 3);
	/* A region overlapping only the second of two neighbours. */
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x20000, 0x1000, HVA(0x1), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x18000, 0x8001, HVA(0x1), 0), -EEXIST);
	ERRMSG_HAS("[0x20000, 0x20fff]");
}
END_TEST

START_TEST(remove_and_get)
{
	struct vdpastate_mem_region r;

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x30000, 0x1000, HVA(0x3000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x2000, HVA(0x1000),
					   VDPASTATE_MEM_READONLY), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x20000, 0x1000, HVA(0x2000), 0), 0);

	ck_assert_int_eq(vdpastate_mem_get(mem, 0, &r), 0);
	ck_assert_uint_eq(r.gpa, 0x10000);
	ck_assert_uint_eq(r.size, 0x2000);
	ck_assert_ptr_eq(r.hva, HVA(0x1000));
	ck_assert_uint_eq(r.flags, VDPASTATE_MEM_READONLY);
	ck_assert_uint_eq(r.reserved, 0);
	ck_assert_int_eq(vdpastate_mem_get(mem, 1, &r), 0);
	ck_assert_uint_eq(r.gpa, 0x20000);
	ck_assert_int_eq(vdpastate_mem_get(mem, 2, &r), 0);
	ck_assert_uint_eq(r.gpa, 0x30000);
	ck_assert_int_eq(vdpastate_mem_get(mem, 3, &r), -ENOENT);
	ERRMSG_HAS("index 3");
	ck_assert_int_eq(vdpastate_mem_get(mem, 0, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_mem_get(NULL, 0, &r), -EINVAL);

	/* Only the first GPA of a region names it. */
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x10001), -ENOENT);
	ERRMSG_HAS("0x10001");
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x5000), -ENOENT);
	ck_assert_int_eq(vdpastate_mem_remove(NULL, 0x5000), -EINVAL);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 3);
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x20000), 0);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 2);
	ck_assert_int_eq(vdpastate_mem_get(mem, 1, &r), 0);
	ck_assert_uint_eq(r.gpa, 0x30000);
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x20000), -ENOENT);
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x10000), 0);
	ck_assert_int_eq(vdpastate_mem_remove(mem, 0x30000), 0);
	ck_assert_uint_eq(vdpastate_mem_count(mem), 0);
	/* The freed space can be used again. */
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x30000, HVA(0x1), 0), 0);
}
END_TEST

START_TEST(lookup)
{
	uint64_t contig = 0;

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x2000, HVA(0x500000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x12000, 0x1000, HVA(0x900000), 0), 0);

	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, 0x10000, &contig), HVA(0x500000));
	ck_assert_uint_eq(contig, 0x2000);
	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, 0x11fff, &contig), HVA(0x501fff));
	ck_assert_uint_eq(contig, 1);
	/* contig stops at the region's end even if the next one is adjacent. */
	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, 0x12000, &contig), HVA(0x900000));
	ck_assert_uint_eq(contig, 0x1000);
	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, 0x12800, NULL), HVA(0x900800));

	contig = 42;
	errno = 0;
	ck_assert_ptr_null(vdpastate_mem_lookup(mem, 0x13000, &contig));
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_uint_eq(contig, 42);
	ERRMSG_HAS("0x13000 is not guest memory");
	errno = 0;
	ck_assert_ptr_null(vdpastate_mem_lookup(mem, 0xffff, NULL));
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_ptr_null(vdpastate_mem_lookup(mem, 0, NULL));
	ck_assert_ptr_null(vdpastate_mem_lookup(mem, UINT64_MAX, NULL));
	errno = 0;
	ck_assert_ptr_null(vdpastate_mem_lookup(NULL, 0x10000, NULL));
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

START_TEST(range_segments)
{
	struct vdpastate_mem_seg s[4];

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x1000, HVA(0xa0000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x11000, 0x1000, HVA(0xc0000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x12000, 0x1000, HVA(0xe0000), 0), 0);

	/* Inside one region. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10010, 0x20, false, s, 4), 1);
	ck_assert_uint_eq(s[0].gpa, 0x10010);
	ck_assert_uint_eq(s[0].len, 0x20);
	ck_assert_ptr_eq(s[0].hva, HVA(0xa0010));
	/* Exactly one whole region. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x11000, 0x1000, true, s, 1), 1);
	ck_assert_uint_eq(s[0].len, 0x1000);
	ck_assert_ptr_eq(s[0].hva, HVA(0xc0000));
	/* Across all three adjacent regions. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10ff0, 0x1020, true, s, 4), 3);
	ck_assert_uint_eq(s[0].gpa, 0x10ff0);
	ck_assert_uint_eq(s[0].len, 0x10);
	ck_assert_ptr_eq(s[0].hva, HVA(0xa0ff0));
	ck_assert_uint_eq(s[1].gpa, 0x11000);
	ck_assert_uint_eq(s[1].len, 0x1000);
	ck_assert_ptr_eq(s[1].hva, HVA(0xc0000));
	ck_assert_uint_eq(s[2].gpa, 0x12000);
	ck_assert_uint_eq(s[2].len, 0x10);
	ck_assert_ptr_eq(s[2].hva, HVA(0xe0000));
	/* Same range, exactly as many segments as needed, then one too few. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10ff0, 0x1020, false, s, 3), 3);
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10ff0, 0x1020, false, s, 2), -ENOBUFS);
	ERRMSG_HAS("needs 3 segments, room for 2");
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10ff0, 0x1020, false, NULL, 0), -ENOBUFS);
	/* Length 0 needs nothing and checks nothing. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10000, 0, true, NULL, 0), 0);
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x99999, 0, true, s, 4), 0);
	/* Bad arguments. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10000, 1, false, NULL, 1), -EINVAL);
	ck_assert_int_eq(vdpastate_mem_range(NULL, 0x10000, 1, false, s, 1), -EINVAL);
}
END_TEST

START_TEST(range_faults)
{
	struct vdpastate_mem_seg s[4];

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x1000, HVA(0xa0000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x12000, 0x1000, HVA(0xe0000), 0), 0);

	/* Start valid, end past the region (CVE-2018-1059). */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10fff, 2, false, s, 4), -EFAULT);
	ERRMSG_HAS("0x11000 is not guest memory");
	/* Start valid, end valid, a hole in between. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10000, 0x3000, false, s, 4), -EFAULT);
	ERRMSG_HAS("0x11000");
	/* Start before guest memory. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0xffff, 2, false, s, 4), -EFAULT);
	ERRMSG_HAS("0xffff is not guest memory");
	/* Entirely outside. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x50000, 1, false, s, 4), -EFAULT);
	/* Past the last region. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x12fff, 2, false, s, 4), -EFAULT);
	/* A length that wraps around 2^64 back into guest memory. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10000, UINT64_MAX, false, s, 4), -EFAULT);
	ERRMSG_HAS("wraps past 2^64");
	/* A fault is reported even when the segments would not fit either. */
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10000, 0x3000, false, s, 0), -EFAULT);
}
END_TEST

START_TEST(range_top_of_space)
{
	struct vdpastate_mem_seg s[2];

	ck_assert_int_eq(vdpastate_mem_add(mem, UINT64_MAX - 0x1fff, 0x1000, HVA(0x1000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, UINT64_MAX - 0xfff, 0x1000, HVA(0x8000), 0), 0);
	/* Ends exactly at 2^64. */
	ck_assert_int_eq(vdpastate_mem_range(mem, UINT64_MAX - 0x1fff, 0x2000, false, s, 2), 2);
	ck_assert_uint_eq(s[1].gpa, UINT64_MAX - 0xfff);
	ck_assert_uint_eq(s[1].len, 0x1000);
	ck_assert_int_eq(vdpastate_mem_range(mem, UINT64_MAX, 1, false, s, 2), 1);
	ck_assert_ptr_eq(s[0].hva, HVA(0x8fff));
	/* One byte more wraps. */
	ck_assert_int_eq(vdpastate_mem_range(mem, UINT64_MAX, 2, false, s, 2), -EFAULT);
	ck_assert_int_eq(vdpastate_mem_range(mem, UINT64_MAX - 0x1fff, 0x2001, false, s, 2),
			 -EFAULT);
}
END_TEST

START_TEST(range_readonly)
{
	struct vdpastate_mem_seg s[2];

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, 0x1000, HVA(0xa0000), 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x11000, 0x1000, HVA(0xb0000),
					   VDPASTATE_MEM_READONLY), 0);
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10800, 0x1000, false, s, 2), 2);
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10800, 0x1000, true, s, 2), -EROFS);
	ERRMSG_HAS("region at 0x11000 is read-only");
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x10800, 0x800, true, s, 2), 1);
	ck_assert_int_eq(vdpastate_mem_range(mem, 0x11000, 1, true, s, 2), -EROFS);
	/* Lookup is read access; the flag shows through get. */
	ck_assert_ptr_eq(vdpastate_mem_lookup(mem, 0x11000, NULL), HVA(0xb0000));
}
END_TEST

/* ---------------------------------------------------------- concurrency */

#define READERS 4

static void *reader(void *arg)
{
	const struct vdpastate_mem *m = arg;
	struct vdpastate_mem_seg s[2];
	uintptr_t bad = 0;
	unsigned int i;

	for (i = 0; i < 20000; i++) {
		uint64_t gpa = (uint64_t)(i % 64) * 0x1000 + 1 + (i % 0xffe);

		if (vdpastate_mem_lookup(m, gpa, NULL) != HVA(0x100000 + gpa))
			bad++;
		if (vdpastate_mem_range(m, gpa, 0x1000, false, s, 2) != 2 ||
		    s[0].hva != HVA(0x100000 + gpa))
			bad++;
	}
	return (void *)bad;
}

START_TEST(concurrent_readers)
{
	pthread_t t[READERS];
	unsigned int i;
	void *bad;

	/* 65 pages so every 0x1000-byte range from pages 0..63 crosses into the next. */
	for (i = 0; i < 65; i++)
		ck_assert_int_eq(vdpastate_mem_add(mem, i * 0x1000ull, 0x1000,
						   HVA(0x100000 + i * 0x1000ull), 0), 0);
	for (i = 0; i < READERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader, mem), 0);
	for (i = 0; i < READERS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

/* ---------------------------------------------------- randomized model */

/*
 * The model: one byte per page of a small guest space says which region
 * (by index into a list) covers it.  Naive on purpose.
 */
#define M_PAGES 256
#define M_PAGE 16u
#define M_MAXR 64

struct model {
	int owner[M_PAGES]; /* region index or -1 */
	struct { uint64_t gpa, size; uintptr_t hva; uint32_t flags; bool used; } r[M_MAXR];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int model_owner(const struct model *m, uint64_t gpa)
{
	return gpa / M_PAGE < M_PAGES ? m->owner[gpa / M_PAGE] : -1;
}

static void model_step(struct model *m)
{
	uint64_t gpa = (rnd() % M_PAGES) * M_PAGE;
	uint64_t size = (1 + rnd() % 8) * M_PAGE;
	unsigned int op = rnd() % 4, i, slot = M_MAXR;
	int want, got;

	if (op == 0) { /* add */
		uint32_t flags = rnd() % 3 == 0 ? VDPASTATE_MEM_READONLY : 0;
		uintptr_t hva = 0x1000000 + (uintptr_t)(rnd() % 1000) * 0x10000;

		want = 0;
		for (i = 0; i < size / M_PAGE; i++)
			if (gpa / M_PAGE + i >= M_PAGES || m->owner[gpa / M_PAGE + i] >= 0)
				want = gpa / M_PAGE + i >= M_PAGES ? 1 : -EEXIST;
		for (i = 0; i < M_MAXR && slot == M_MAXR; i++)
			if (!m->r[i].used)
				slot = i;
		if (want == 1 || slot == M_MAXR)
			return; /* outside the model's space or the model is full */
		got = vdpastate_mem_add(mem, gpa, size, HVA(hva), flags);
		ck_assert_int_eq(got, want);
		if (got == 0) {
			m->r[slot].gpa = gpa;
			m->r[slot].size = size;
			m->r[slot].hva = hva;
			m->r[slot].flags = flags;
			m->r[slot].used = true;
			for (i = 0; i < size / M_PAGE; i++)
				m->owner[gpa / M_PAGE + i] = (int)slot;
		}
	} else if (op == 1) { /* remove */
		int o = model_owner(m, gpa);

		want = o >= 0 && m->r[o].gpa == gpa ? 0 : -ENOENT;
		ck_assert_int_eq(vdpastate_mem_remove(mem, gpa), want);
		if (want == 0) {
			m->r[o].used = false;
			for (i = 0; i < M_PAGES; i++)
				if (m->owner[i] == o)
					m->owner[i] = -1;
		}
	} else if (op == 2) { /* lookup */
		uint64_t a = rnd() % (M_PAGES * M_PAGE + 32), contig = 0;
		int o = model_owner(m, a);
		void *p = vdpastate_mem_lookup(mem, a, &contig);

		if (o < 0) {
			ck_assert_ptr_null(p);
		} else {
			ck_assert_ptr_eq(p, HVA(m->r[o].hva + (a - m->r[o].gpa)));
			ck_assert_uint_eq(contig, m->r[o].gpa + m->r[o].size - a);
		}
	} else { /* range */
		struct vdpastate_mem_seg s[4];
		uint64_t a = rnd() % (M_PAGES * M_PAGE + 32), len = rnd() % 80;
		unsigned int max = rnd() % 5, nseg = 0, k;
		bool write = rnd() & 1;
		int prev = -2;

		want = 0;
		for (k = 0; k < len; k++) {
			int o = model_owner(m, a + k);

			if (o < 0) {
				want = -EFAULT;
				break;
			}
			if (write && (m->r[o].flags & VDPASTATE_MEM_READONLY)) {
				want = -EROFS;
				break;
			}
			if (o != prev)
				nseg++;
			prev = o;
		}
		if (want == 0 && nseg > max)
			want = -ENOBUFS;
		got = vdpastate_mem_range(mem, a, len, write, s, max);
		ck_assert_int_eq(got, want == 0 ? (int)nseg : want);
		for (k = 0; want == 0 && k < nseg; k++) {
			int o = model_owner(m, s[k].gpa);

			ck_assert_int_ge(o, 0);
			ck_assert_ptr_eq(s[k].hva, HVA(m->r[o].hva + (s[k].gpa - m->r[o].gpa)));
		}
	}
	for (i = 0, slot = 0; i < M_MAXR; i++)
		slot += m->r[i].used;
	ck_assert_uint_eq(vdpastate_mem_count(mem), slot);
}

START_TEST(random_model)
{
	struct model m;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	memset(m.owner, 0xff, sizeof(m.owner));
	rng_state = 0x9e3779b97f4a7c15ull;
	for (i = 0; i < 50000; i++)
		model_step(&m);
}
END_TEST

Suite *mem_suite(void)
{
	Suite *s = suite_create("mem");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_free);
	tcase_add_test(tc, add_invalid);
	tcase_add_test(tc, add_edges_of_64bit_space);
	tcase_add_test(tc, add_overlaps);
	tcase_add_test(tc, remove_and_get);
	tcase_add_test(tc, lookup);
	suite_add_tcase(s, tc);

	tc = tcase_create("range");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, range_segments);
	tcase_add_test(tc, range_faults);
	tcase_add_test(tc, range_top_of_space);
	tcase_add_test(tc, range_readonly);
	tcase_add_test(tc, concurrent_readers);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, random_model);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
