/* SPDX-License-Identifier: MIT */
/*
 * tests/check_svq.c - the shadow virtqueue end to end: an in-process guest
 * (driver half over guest memory), the SVQ, and a device (device half over
 * IOVA).  Payloads are checked byte for byte in both directions, order and
 * completeness are checked, and every malicious-guest and malicious-device
 * case is shown to disable only the queue it hits.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"
#include "ringenv.h"
#include "suites.h"

#define F(b) (1ULL << (b))
#define EV F(VDPASTATE_F_EVENT_IDX)
#define IND F(VDPASTATE_F_INDIRECT_DESC)
#define V1 F(VDPASTATE_F_VERSION_1)
#define ERRMSG_HAS(s)                                                        \
	ck_assert_msg(strstr(vdpastate_last_error(), (s)) != NULL,           \
		      "last error \"%s\" lacks \"%s\"", vdpastate_last_error(), \
		      (s))

static int eventfd_nb(void)
{
	return eventfd(0, EFD_NONBLOCK);
}

static unsigned long env_count(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v ? strtoul(v, NULL, 0) : def;
}

/* Chain counts are divided by VDS_SVQ_DIV (the valgrind run sets it). */
static uint64_t scaled(uint64_t n)
{
	uint64_t d = env_count("VDS_SVQ_DIV", 1);

	return d > 1 ? n / d + 1 : n;
}

static struct env *mkenv(unsigned int num, uint64_t gf, uint64_t df,
			 unsigned int regions, uint64_t rsize, uint64_t gap,
			 unsigned int shadow)
{
	struct env_cfg c = {
		.num = num,
		.shadow_num = shadow,
		.guest_features = gf | V1,
		.device_features = df | V1,
		.regions = regions,
		.region_size = rsize,
		.gap = gap,
	};
	struct env *e = env_new(&c);

	ck_assert_msg(e != NULL, "env_new: %s", vdpastate_last_error());
	return e;
}

/*
 * Drive chains through guest -> SVQ -> device -> SVQ -> guest until
 * `chains` chains have completed, checking everything on the way.
 */
/*
 * Drive guest -> SVQ -> device -> SVQ -> guest until the guest has posted
 * and reaped `target` chains in all, checking everything on the way.
 */
static void run_to(struct env *e, uint64_t target, uint64_t seed,
		   unsigned int dev_batch)
{
	uint64_t rng = seed | 1, guard = 0, start = e->reaped;

	while (e->reaped < target) {
		unsigned int posted = 0;
		int r;

		while (e->next_seq < target && posted < 64 &&
		       env_guest_post(e, &rng))
			posted++;
		if (posted)
			env_guest_kick(e);
		r = vdpastate_svq_handle_guest_kick(e->svq);
		ck_assert_msg(r >= 0, "guest kick: %s", vdpastate_last_error());
		r = env_device_run(e, dev_batch);
		ck_assert_msg(r >= 0, "device: %s", vdpastate_last_error());
		r = vdpastate_svq_handle_device_call(e->svq);
		ck_assert_msg(r >= 0, "device call: %s", vdpastate_last_error());
		r = env_guest_reap(e);
		ck_assert_msg(r >= 0, "guest reap: %s", e->last_mismatch);
		ck_assert_msg(e->errors == 0, "payload: %s", e->last_mismatch);
		ck_assert_msg(++guard < (target - start) * 4 + 1000,
			      "no progress at %llu", (unsigned long long)e->reaped);
	}
	ck_assert_uint_eq(e->dev_seq, target);
	ck_assert_uint_eq(vdpastate_svq_error(e->svq), 0);
}

/* Post and complete `chains` more chains. */
static void pump(struct env *e, uint64_t chains, uint64_t seed,
		 unsigned int dev_batch)
{
	run_to(e, e->next_seq + chains, seed, dev_batch);
}

/* The SVQ's bitmap holds every page the device wrote, and beyond that
 * only pages of the guest's used ring (which the SVQ writes itself). */
static void check_dirty(struct env *e)
{
	uint64_t w, used_first = e->used_gpa / 4096,
		    used_last = (e->used_gpa + vdpastate_vring_used_size(
						  e->cfg.num, true) - 1) / 4096;

	for (w = 0; w < e->truth_words; w++) {
		uint64_t extra = e->bitmap[w] & ~e->truth[w], b;

		ck_assert_msg((e->truth[w] & ~e->bitmap[w]) == 0,
			      "page %llu written by the device not logged",
			      (unsigned long long)(w * 64 +
						   __builtin_ctzll(e->truth[w] & ~e->bitmap[w])));
		for (b = 0; b < 64; b++)
			if (extra & (1ULL << b))
				ck_assert_msg(w * 64 + b >= used_first &&
						      w * 64 + b <= used_last,
					      "page %llu logged but not written",
					      (unsigned long long)(w * 64 + b));
	}
}

struct relay_case {
	unsigned int num;
	uint64_t gf, df;
	unsigned int regions;
	uint64_t rsize, gap;
	uint64_t chains;
};

static const struct relay_case relay_cases[] = {
	{ 256, 0, 0, 1, 8 << 20, 0, 20000 },
	{ 256, EV, EV, 1, 8 << 20, 0, 20000 },
	{ 256, IND, 0, 1, 8 << 20, 0, 20000 },
	{ 256, EV | IND, EV, 4, 2 << 20, 0, 20000 },   /* adjacent regions */
	{ 256, EV | IND, 0, 4, 2 << 20, 1 << 20, 20000 }, /* holes */
	{ 1, 0, 0, 1, 1 << 20, 0, 3000 },
	{ 2, EV, EV, 1, 1 << 20, 0, 3000 },
	{ 32768, EV | IND, EV, 1, 64 << 20, 0, 40000 },
	{ 1024, EV, 0, 64, 256 << 10, 0, 20000 },      /* many regions */
};

START_TEST(relay_shapes)
{
	const struct relay_case *c = &relay_cases[_i];
	struct env *e = mkenv(c->num, c->gf, c->df, c->regions, c->rsize,
			      c->gap, 0);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };

	pump(e, scaled(c->chains), 0x9e3779b97f4a7c15ULL + (uint64_t)_i, 64);
	check_dirty(e);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.guest_chains, scaled(c->chains));
	ck_assert_uint_eq(st.used, scaled(c->chains));
	ck_assert_uint_eq(st.clamped_len, 0);
	ck_assert_uint_eq(st.dirty_dropped, 0);
	if (c->regions > 1 && c->gap == 0)
		ck_assert_msg(st.shadow_descs > 0, "no descriptors relayed");
	env_free(e);
}
END_TEST

START_TEST(relay_index_wrap)
{
	uint64_t chains = env_count("VDS_SVQ_WRAP_CHAINS", 80000);
	/* 80,000 chains of 1..8 descriptors: well over 70,000 descriptors,
	 * so the guest, shadow and used indexes all wrap. */
	struct env *e = mkenv(256, EV, EV, 1, 8 << 20, 0, 0);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint16_t la, ui;

	pump(e, chains, 7, 32);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_ge(st.shadow_descs, chains > 70000 ? 70000 : 0);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, (uint16_t)chains);
	ck_assert_uint_eq(ui, (uint16_t)chains);
	check_dirty(e);
	env_free(e);
}
END_TEST

START_TEST(split_at_region_boundary)
{
	/* Two adjacent 64 KiB regions: a buffer across the boundary becomes
	 * two shadow descriptors with different IOVAs. */
	struct env *e = mkenv(8, 0, 0, 2, 64 << 10, 0, 0);
	uint32_t lens[2] = { 4096, 4096 };
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint64_t boundary = e->reg[1].gpa;

	/* Place chain 0's data so it straddles the boundary. */
	e->slot_gpa[e->guest.free_head] = boundary - 4096 - 100;
	ck_assert(env_guest_post_shape(e, lens, 2, 1, false));
	env_guest_kick(e);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.shadow_descs, 3);
	ck_assert_int_eq(env_device_run(e, 8), 1);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	ck_assert_int_eq(env_guest_reap(e), 1);
	ck_assert_uint_eq(e->errors, 0);
	check_dirty(e);
	env_free(e);
}
END_TEST

START_TEST(backpressure_full_shadow)
{
	/* Guest ring 256, shadow ring 8: most chains wait, in order. */
	struct env *e = mkenv(256, EV | IND, EV, 1, 8 << 20, 0, 8);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint64_t rng = 3;
	int n = 0;

	while (n < 200 && env_guest_post(e, &rng))
		n++;
	env_guest_kick(e);
	ck_assert_int_gt(vdpastate_svq_handle_guest_kick(e->svq), 0);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_lt(st.guest_chains, (uint64_t)n);
	ck_assert_uint_ge(st.ring_full, 1);
	/* Further kicks do not lose or reorder anything. */
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 0);
	run_to(e, (uint64_t)n, 0, 3);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.guest_chains, (uint64_t)n);
	check_dirty(e);
	env_free(e);
}
END_TEST

START_TEST(notification_suppression)
{
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint32_t lens[1] = { 64 };

	/* Device asks for no kicks, guest asks for no interrupts. */
	e->dev.used->flags = VDPASTATE_VRING_USED_F_NO_NOTIFY;
	e->guest.avail->flags = VDPASTATE_VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert(env_guest_post_shape(e, lens, 1, 1, false));
	env_guest_kick(e);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	ck_assert_int_eq(env_device_run(e, 8), 1);
	e->dev.used->flags = VDPASTATE_VRING_USED_F_NO_NOTIFY; /* run() cleared it */
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.device_kicks, 0);
	ck_assert_uint_eq(st.guest_signals, 0);
	/* Both ask again. */
	e->dev.used->flags = 0;
	e->guest.avail->flags = 0;
	ck_assert(env_guest_post_shape(e, lens, 1, 1, false));
	env_guest_kick(e);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	ck_assert_int_eq(env_device_run(e, 8), 1);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.device_kicks, 1);
	ck_assert_uint_eq(st.guest_signals, 1);
	ck_assert_int_eq(env_guest_reap(e), 2);
	env_free(e);
}
END_TEST

START_TEST(notification_event_idx)
{
	struct env *e = mkenv(16, EV, EV, 1, 1 << 20, 0, 0);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint32_t lens[1] = { 64 };
	int i;

	/* The guest wants an interrupt only after its 3rd used entry. */
	*vds_used_event(e->guest.avail, 16) = 2;
	for (i = 0; i < 4; i++) {
		ck_assert(env_guest_post_shape(e, lens, 1, 1, false));
		env_guest_kick(e);
		ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
		ck_assert_int_eq(env_device_run(e, 8), 1);
		ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	}
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.guest_signals, 1);
	/* The device's avail_event was kept current by its half: one kick
	 * per batch. */
	ck_assert_uint_eq(st.device_kicks, 4);
	/* The SVQ asks the guest for the next kick at its last_avail. */
	ck_assert_uint_eq(*vds_avail_event(e->guest.used, 16), 4);
	ck_assert_int_eq(env_guest_reap(e), 4);
	env_free(e);
}
END_TEST

START_TEST(eventfds)
{
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	int gk = eventfd_nb(), gc = eventfd_nb(), dk = eventfd_nb(),
	    dc = eventfd_nb(), blocking = eventfd(0, 0);
	uint32_t lens[1] = { 64 };
	uint64_t v;

	ck_assert_int_eq(vdpastate_svq_set_fds(e->svq, gk, gc, dk, dc), -EBUSY);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	ck_assert_int_eq(vdpastate_svq_set_fds(e->svq, blocking, -1, -1, -1),
			 -EINVAL);
	ERRMSG_HAS("non-blocking");
	ck_assert_int_eq(vdpastate_svq_set_fds(e->svq, 999, -1, -1, -1), -EBADF);
	ck_assert_int_eq(vdpastate_svq_set_fds(e->svq, gk, gc, dk, dc), 0);
	ck_assert_int_ge(vdpastate_svq_start(e->svq), 0);
	ck_assert(env_guest_post_shape(e, lens, 1, 1, false));
	env_guest_kick(e);
	v = 1;
	ck_assert_int_eq(write(gk, &v, 8), 8);
	ck_assert_int_eq(vdpastate_svq_poll(e->svq), 1);
	ck_assert_int_eq(read(gk, &v, 8), -1); /* drained */
	ck_assert_int_eq(read(dk, &v, 8), 8);  /* device kicked */
	ck_assert_int_eq(env_device_run(e, 8), 1);
	ck_assert_int_eq(write(dc, &v, 8), 8);
	ck_assert_int_eq(vdpastate_svq_poll(e->svq), 1);
	ck_assert_int_eq(read(gc, &v, 8), 8);  /* guest interrupted */
	ck_assert_int_eq(env_guest_reap(e), 1);
	env_free(e);
	close(gk);
	close(gc);
	close(dk);
	close(dc);
	close(blocking);
}
END_TEST

/* ------------------------------------------------- malicious guest cases */

static void graw(struct env *e, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	struct vds_desc *d = &e->guest.desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void gavail(struct env *e, uint16_t head)
{
	e->guest.avail->ring[e->guest.avail_idx & e->guest.mask] = head;
	e->guest.avail_idx++;
	__atomic_store_n(&e->guest.avail->idx, e->guest.avail_idx,
			 __ATOMIC_RELEASE);
}

/* Write an indirect table of n descriptors into guest memory at gpa. */
static void gtable(struct env *e, uint64_t gpa, const struct vds_desc *t,
		   unsigned int n)
{
	memcpy(env_host(e, gpa), t, n * sizeof(*t));
}

#define NEXT VDPASTATE_VRING_DESC_F_NEXT
#define WR VDPASTATE_VRING_DESC_F_WRITE
#define INDF VDPASTATE_VRING_DESC_F_INDIRECT

struct bad_guest {
	const char *name;
	bool indirect;
	void (*inject)(struct env *e);
	const char *msg;
};

static uint64_t data(struct env *e)
{
	return e->buf_gpa;
}

static void bg_cve(struct env *e)
{
	struct env_region *r = &e->reg[e->cfg.regions - 1];

	/* Starts inside guest memory, ends 48 bytes past its end. */
	graw(e, 0, r->gpa + r->size - 16, 64, 0, 0);
	gavail(e, 0);
}

static void bg_head_oob(struct env *e)
{
	gavail(e, 16);
}

static void bg_next_oob(struct env *e)
{
	graw(e, 0, data(e), 16, NEXT, 16);
	gavail(e, 0);
}

static void bg_loop(struct env *e)
{
	graw(e, 0, data(e), 16, NEXT, 1);
	graw(e, 1, data(e), 16, NEXT, 0);
	gavail(e, 0);
}

static void bg_nested(struct env *e)
{
	struct vds_desc t[2] = {
		{ data(e) + 4096, 32, INDF, 0 },
		{ data(e), 16, 0, 0 },
	};

	gtable(e, data(e) + 8192, t, 2);
	graw(e, 0, data(e) + 8192, 32, INDF, 0);
	gavail(e, 0);
}

static void bg_ind_len(struct env *e)
{
	graw(e, 0, data(e) + 8192, 24, INDF, 0);
	gavail(e, 0);
}

static void bg_ind_zero(struct env *e)
{
	graw(e, 0, data(e) + 8192, 0, INDF, 0);
	gavail(e, 0);
}

static void bg_ind_big(struct env *e)
{
	graw(e, 0, data(e) + 8192, 17 * 16, INDF, 0);
	gavail(e, 0);
}

static void bg_ind_next(struct env *e)
{
	graw(e, 0, data(e) + 8192, 32, INDF | NEXT, 1);
	graw(e, 1, data(e), 16, 0, 0);
	gavail(e, 0);
}

static void bg_ind_outside(struct env *e)
{
	struct env_region *r = &e->reg[e->cfg.regions - 1];

	graw(e, 0, r->gpa + r->size - 16, 32, INDF, 0);
	gavail(e, 0);
}

static void bg_ind_loop(struct env *e)
{
	struct vds_desc t[2] = {
		{ data(e), 16, NEXT, 1 },
		{ data(e), 16, NEXT, 0 },
	};

	gtable(e, data(e) + 8192, t, 2);
	graw(e, 0, data(e) + 8192, 32, INDF, 0);
	gavail(e, 0);
}

static void bg_read_after_write(struct env *e)
{
	graw(e, 0, data(e), 16, WR | NEXT, 1);
	graw(e, 1, data(e) + 16, 16, 0, 0);
	gavail(e, 0);
}

static void bg_avail_jump(struct env *e)
{
	e->guest.avail_idx = (uint16_t)(e->guest.avail_idx + 17);
	__atomic_store_n(&e->guest.avail->idx, e->guest.avail_idx,
			 __ATOMIC_RELEASE);
}

static void bg_overflow(struct env *e)
{
	/* A 3 GiB region that is never touched: only validated. */
	const uint64_t big = 1ULL << 40;

	ck_assert_int_eq(vdpastate_mem_add(e->mem, big, 3ULL << 30,
					   (void *)(uintptr_t)0x10000, 0), 0);
	ck_assert_int_eq(vdpastate_iova_map(e->iova, VDPASTATE_IOVA_GPA, big,
					    3ULL << 30, NULL, NULL), 0);
	graw(e, 0, big, 0xC0000000u, NEXT, 1);
	graw(e, 1, big, 0xC0000000u, 0, 0);
	gavail(e, 0);
}

static void bg_write_readonly(struct env *e)
{
	static uint8_t rom[4096] __attribute__((aligned(4096)));
	const uint64_t gpa = 1ULL << 41;

	ck_assert_int_eq(vdpastate_mem_add(e->mem, gpa, sizeof(rom), rom,
					   VDPASTATE_MEM_READONLY), 0);
	graw(e, 0, gpa, 64, WR, 0);
	gavail(e, 0);
}

static void bg_write_readonly_known(struct env *e)
{
	/* The same, with the region in the translation table from start. */
	static uint8_t rom2[4096] __attribute__((aligned(4096)));
	const uint64_t gpa = 3ULL << 41;

	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(e->mem, gpa, sizeof(rom2), rom2,
					   VDPASTATE_MEM_READONLY), 0);
	ck_assert_int_eq(vdpastate_iova_map(e->iova, VDPASTATE_IOVA_GPA, gpa,
					    sizeof(rom2), NULL, NULL), 0);
	ck_assert_int_ge(vdpastate_svq_start(e->svq), 0);
	graw(e, 0, gpa, 64, WR, 0);
	gavail(e, 0);
}

static void bg_cve_known(struct env *e)
{
	/* Starts in a table entry, runs 1 byte past it into a hole. */
	struct env_region *r = &e->reg[0];

	graw(e, 0, r->gpa + r->size - 64, 65, WR, 0);
	gavail(e, 0);
}

static void bg_no_iova(struct env *e)
{
	/* Guest memory the VMM forgot to map for the device. */
	static uint8_t extra[4096] __attribute__((aligned(4096)));
	const uint64_t gpa = 1ULL << 42;

	ck_assert_int_eq(vdpastate_mem_add(e->mem, gpa, sizeof(extra), extra, 0), 0);
	graw(e, 0, gpa, 64, 0, 0);
	gavail(e, 0);
}

static const struct bad_guest bad_guests[] = {
	{ "cve-2018-1059", false, bg_cve, "not entirely in memory" },
	{ "head out of range", false, bg_head_oob, "head 16 >= ring size 16" },
	{ "next out of range", false, bg_next_oob, "next 16 >= ring size 16" },
	{ "loop", false, bg_loop, "a loop" },
	{ "nested indirect", true, bg_nested, "nested indirect" },
	{ "indirect len % 16", true, bg_ind_len, "multiple of 16" },
	{ "indirect len 0", true, bg_ind_zero, "multiple of 16" },
	{ "indirect too big", true, bg_ind_big, "exceeds the ring size" },
	{ "indirect with next", true, bg_ind_next, "with NEXT" },
	{ "indirect outside", true, bg_ind_outside, "indirect table" },
	{ "indirect loop", true, bg_ind_loop, "a loop" },
	{ "indirect not negotiated", false, bg_nested, "not negotiated" },
	{ "readable after writable", false, bg_read_after_write,
	  "readable descriptor after a writable" },
	{ "avail jump", false, bg_avail_jump, "more than the ring size" },
	{ "length overflow", false, bg_overflow, "2^32" },
	{ "write to read-only", false, bg_write_readonly, "writable memory" },
	{ "write to read-only (in table)", false, bg_write_readonly_known,
	  "writable memory" },
	{ "one byte past memory", false, bg_cve_known, "not entirely in memory" },
	{ "no IOVA mapping", false, bg_no_iova, "no IOVA mapping" },
};

START_TEST(malicious_guest)
{
	const struct bad_guest *b = &bad_guests[_i];
	struct env *bad = mkenv(16, b->indirect ? IND : 0, 0, 1, 1 << 20, 0, 0);
	struct env *good = mkenv(16, EV | IND, EV, 1, 1 << 20, 0, 0);
	int r, want;

	pump(good, 50, 1, 8);
	b->inject(bad);
	r = vdpastate_svq_handle_guest_kick(bad->svq);
	want = b->inject == bg_no_iova ? -ENXIO : -VDPASTATE_EGUEST;
	ck_assert_msg(r == want, "%s: got %d (%s)", b->name, r,
		      vdpastate_last_error());
	ERRMSG_HAS(b->msg);
	ck_assert_int_eq(vdpastate_svq_error(bad->svq), want);
	/* Nothing reached the device. */
	ck_assert_int_eq(env_device_run(bad, 16), 0);
	/* The queue stays disabled ... */
	ck_assert_int_eq(vdpastate_svq_poll(bad->svq), -VDPASTATE_EDISABLED);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(bad->svq),
			 -VDPASTATE_EDISABLED);
	ERRMSG_HAS("disabled by an earlier error");
	/* Stopping reports the error; nothing brings the SVQ back. */
	ck_assert_int_eq(vdpastate_svq_stop(bad->svq, 0), want);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(bad->svq, bad->desc_gpa,
						      bad->avail_gpa, bad->used_gpa), 0);
	ck_assert_int_eq(vdpastate_svq_start(bad->svq), -VDPASTATE_EDISABLED);
	/* ... and the other one keeps working. */
	pump(good, 100, 2, 8);
	env_free(bad);
	env_free(good);
}
END_TEST

START_TEST(indirect_table_outside_iova)
{
	/* The SVQ reads indirect tables itself: a table in guest memory the
	 * device cannot reach is fine, its buffers are what must be mapped. */
	static uint8_t extra[4096] __attribute__((aligned(4096)));
	struct env *e = mkenv(16, IND, 0, 1, 1 << 20, 0, 0);
	const uint64_t tgpa = 1ULL << 42;
	struct vds_desc t[2] = {
		{ data(e), 64, NEXT, 1 },
		{ data(e) + 64, 64, WR, 0 },
	};

	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(e->mem, tgpa, sizeof(extra), extra, 0), 0);
	ck_assert_int_ge(vdpastate_svq_start(e->svq), 0);
	memcpy(extra, t, sizeof(t));
	graw(e, 0, tgpa, sizeof(t), INDF, 0);
	gavail(e, 0);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_error(e->svq), 0);
	env_free(e);
}
END_TEST

START_TEST(mapping_added_while_running)
{
	/* Guest memory known at start without an IOVA mapping, mapped while
	 * the SVQ runs: the SVQ sees the new mapping. */
	static uint8_t extra[4096] __attribute__((aligned(4096)));
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	const uint64_t gpa = 1ULL << 42;
	uint64_t iova;
	uint16_t id;

	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(e->mem, gpa, sizeof(extra), extra, 0), 0);
	ck_assert_int_ge(vdpastate_svq_start(e->svq), 0);
	ck_assert_int_eq(vdpastate_iova_map(e->iova, VDPASTATE_IOVA_GPA, gpa,
					    sizeof(extra), NULL, &iova), 0);
	graw(e, 0, gpa + 64, 128, 0, 0);
	gavail(e, 0);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_error(e->svq), 0);
	ck_assert_int_eq(vds_vdev_avail(&e->dev), 1);
	ck_assert_int_eq(vds_vdev_peek_head(&e->dev, &id), 0);
	ck_assert_uint_eq(e->dev.desc[id].addr, iova + 64);
	ck_assert_uint_eq(e->dev.desc[id].len, 128);
	env_free(e);
}
END_TEST

/* ------------------------------------------------ malicious device cases */

/* One chain with 64 writable bytes relayed to the device. */
/*
 * One chain in flight: shape 0 is a readable and a writable descriptor
 * (the SVQ's general path), shape 1 one writable descriptor (its fast
 * path); the device's used entry must be checked the same on both.
 */
static struct env *one_inflight(int shape)
{
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	uint32_t lens[2] = { 32, 64 };

	if (shape == 0)
		ck_assert(env_guest_post_shape(e, lens, 2, 1, false));
	else
		ck_assert(env_guest_post_shape(e, lens + 1, 1, 1, false));
	env_guest_kick(e);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 1);
	return e;
}

static void draw(struct env *e, uint32_t id, uint32_t len)
{
	e->dev.used->ring[e->dev.used_idx & e->dev.mask].id = id;
	e->dev.used->ring[e->dev.used_idx & e->dev.mask].len = len;
	e->dev.used_idx++;
	__atomic_store_n(&e->dev.used->idx, e->dev.used_idx, __ATOMIC_RELEASE);
}

START_TEST(malicious_device_id_range)
{
	struct env *e = one_inflight(_i), *good = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);

	draw(e, 16, 0);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq),
			 -VDPASTATE_EDEVICE);
	ERRMSG_HAS("id 16 >= ring size 16");
	ck_assert_int_eq(vdpastate_svq_poll(e->svq), -VDPASTATE_EDISABLED);
	pump(good, 100, 5, 4);
	env_free(e);
	env_free(good);
}
END_TEST

START_TEST(malicious_device_not_inflight)
{
	struct env *e = one_inflight(_i), *good = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);

	draw(e, 5, 0);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq),
			 -VDPASTATE_EDEVICE);
	ERRMSG_HAS("id 5 is not in flight");
	pump(good, 100, 5, 4);
	env_free(e);
	env_free(good);
}
END_TEST

START_TEST(malicious_device_twice)
{
	struct env *e = one_inflight(_i), *good = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);

	ck_assert_int_eq(env_device_run(e, 4), 1);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	ck_assert_int_eq(env_guest_reap(e), 1);
	draw(e, 0, 0); /* chain 0 again */
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq),
			 -VDPASTATE_EDEVICE);
	ERRMSG_HAS("id 0 is not in flight");
	ck_assert_int_eq(env_guest_reap(e), 0); /* the guest saw nothing more */
	pump(good, 100, 5, 4);
	env_free(e);
	env_free(good);
}
END_TEST

START_TEST(malicious_device_idx_jump)
{
	struct env *e = one_inflight(_i), *good = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);

	e->dev.used_idx = 17;
	__atomic_store_n(&e->dev.used->idx, 17, __ATOMIC_RELEASE);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq),
			 -VDPASTATE_EDEVICE);
	ERRMSG_HAS("used idx moved from 0 to 17");
	pump(good, 100, 5, 4);
	env_free(e);
	env_free(good);
}
END_TEST

START_TEST(malicious_device_len_clamped)
{
	struct env *e = one_inflight(_i);
	struct vdpastate_svq_stats st = { .sz = sizeof(st) };
	uint16_t id;
	uint32_t len;

	/* Consume properly (payload written), then claim 100000 bytes. */
	ck_assert_int_eq(vds_vdev_avail(&e->dev), 1);
	ck_assert_int_eq(vds_vdev_peek_head(&e->dev, &id), 0);
	vds_vdev_pop(&e->dev);
	draw(e, id, 100000);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 1);
	ck_assert_int_eq(vdpastate_svq_error(e->svq), 0);
	ck_assert_int_eq(vdpastate_svq_get_stats(e->svq, &st), 0);
	ck_assert_uint_eq(st.clamped_len, 1);
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(len, 64);
	env_free(e);
}
END_TEST

/* ------------------------------------------------------ stop and state */

static struct env *three_relayed(void)
{
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	uint32_t lens[2] = { 32, 64 };
	int i;

	for (i = 0; i < 3; i++)
		ck_assert(env_guest_post_shape(e, lens, 2, 1, false));
	env_guest_kick(e);
	ck_assert_int_eq(vdpastate_svq_handle_guest_kick(e->svq), 3);
	return e;
}

START_TEST(stop_keep_lists_inflight)
{
	struct env *e = three_relayed();
	uint16_t heads[8], la, ui;

	ck_assert_int_eq(env_device_run(e, 1), 1); /* first one completes */
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, VDPASTATE_SVQ_STOP_KEEP), 2);
	ck_assert_int_eq(vdpastate_svq_inflight(e->svq, heads, 8), 2);
	ck_assert_uint_eq(heads[0], 2); /* guest heads in avail order */
	ck_assert_uint_eq(heads[1], 4);
	ck_assert_int_eq(vdpastate_svq_inflight(e->svq, heads, 1), 2);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, 3);
	ck_assert_uint_eq(ui, 1);
	/* Resume on the same device: the rest completes. */
	ck_assert_int_ge(vdpastate_svq_start(e->svq), 0);
	ck_assert_int_eq(env_device_run(e, 8), 2);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 2);
	ck_assert_int_eq(env_guest_reap(e), 3);
	ck_assert_uint_eq(e->errors, 0);
	env_free(e);
}
END_TEST

START_TEST(stop_complete)
{
	struct env *e = three_relayed();
	uint16_t la, ui, id;
	uint32_t len;

	ck_assert_int_eq(env_device_run(e, 1), 1);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, VDPASTATE_SVQ_STOP_COMPLETE), 0);
	ck_assert_int_eq(vdpastate_svq_inflight(e->svq, NULL, 0), 0);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, 3);
	ck_assert_uint_eq(ui, 3);
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(len, 64);
	vds_vdrv_free(&e->guest, id);
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(len, 0);
	vds_vdrv_free(&e->guest, id);
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(len, 0);
	vds_vdrv_free(&e->guest, id);
	env_free(e);
}
END_TEST

START_TEST(stop_rewind_then_new_device)
{
	struct env *e = three_relayed();
	struct vdpastate_svq_shadow sh = { .sz = sizeof(sh) };
	uint16_t la, ui;

	ck_assert_int_eq(env_device_run(e, 1), 1);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, VDPASTATE_SVQ_STOP_REWIND), 0);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, 1); /* chains 2 and 3 will be taken again */
	ck_assert_uint_eq(ui, 1);
	/* A reset device starts the shadow ring at 0. */
	ck_assert_int_eq(vdpastate_svq_get_shadow(e->svq, &sh), 0);
	vds_vdev_fini(&e->dev);
	ck_assert_int_eq(vds_vdev_init(&e->dev, (uint16_t)sh.num, V1, &e->das.as,
				       sh.ro_hva,
				       (char *)sh.ro_hva + vdpastate_vring_desc_size(sh.num),
				       sh.rw_hva), 0);
	ck_assert_int_eq(vdpastate_svq_start(e->svq), 2);
	ck_assert_int_eq(env_device_run(e, 8), 2);
	ck_assert_int_eq(vdpastate_svq_handle_device_call(e->svq), 2);
	ck_assert_int_eq(env_guest_reap(e), 3);
	ck_assert_uint_eq(e->errors, 0);
	ck_assert_uint_eq(e->dev_seq, 3);
	env_free(e);
}
END_TEST

START_TEST(stop_rewind_out_of_order)
{
	struct env *e = three_relayed();
	uint16_t h[3], la, ui, id;
	uint32_t len;
	int i;

	/* The device takes all three and completes only the middle one. */
	ck_assert_int_eq(vds_vdev_avail(&e->dev), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(vds_vdev_peek_head(&e->dev, &h[i]), 0);
		vds_vdev_pop(&e->dev);
	}
	draw(e, h[1], 0);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, VDPASTATE_SVQ_STOP_REWIND), 0);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, 2); /* the newest one is offered again */
	ck_assert_uint_eq(ui, 2); /* middle (device) + oldest (length 0) */
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(id, 2);
	vds_vdrv_free(&e->guest, id);
	ck_assert_int_eq(vds_vdrv_get_used(&e->guest, &id, &len), 1);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 0);
	env_free(e);
}
END_TEST

START_TEST(state_roundtrip)
{
	struct env *e = mkenv(16, 0, 0, 1, 1 << 20, 0, 0);
	uint16_t la, ui;

	ck_assert_int_eq(vdpastate_svq_set_state(e->svq, 5, 5), -EBUSY);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	ck_assert_int_eq(vdpastate_svq_set_state(e->svq, 65530, 65529), 0);
	ck_assert_int_eq(vdpastate_svq_get_state(e->svq, &la, &ui), 0);
	ck_assert_uint_eq(la, 65530);
	ck_assert_uint_eq(ui, 65529);
	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), -EINVAL);
	ERRMSG_HAS("not running");
	env_free(e);
}
END_TEST

START_TEST(restored_indexes_continue)
{
	/* A guest whose ring was restored at index 65530: relaying goes on
	 * across the wrap from the restored positions. */
	struct env *e = mkenv(16, EV, EV, 1, 1 << 20, 0, 0);

	ck_assert_int_eq(vdpastate_svq_stop(e->svq, 0), 0);
	e->guest.avail_idx = e->guest.kicked_avail = 65530;
	e->guest.last_used = 65530;
	e->guest.avail->idx = 65530;
	e->guest.used->idx = 65530;
	ck_assert_int_eq(vdpastate_svq_set_state(e->svq, 65530, 65530), 0);
	ck_assert_int_eq(vdpastate_svq_start(e->svq), 0);
	pump(e, 100, 11, 8);
	env_free(e);
}
END_TEST

/* ------------------------------------------------------------ API errors */

START_TEST(api_errors)
{
	struct vdpastate_mem *mem = vdpastate_mem_new();
	struct vdpastate_iova *iova = vdpastate_iova_new(0x1000, 0xffffffff);
	struct vdpastate_svq_opts big[2];
	struct vdpastate_svq *q;
	static uint8_t ram[1 << 16] __attribute__((aligned(4096)));
	static uint8_t rom[4096] __attribute__((aligned(4096)));
	struct vdpastate_svq_shadow sh;
	size_t small = offsetof(struct vdpastate_svq_shadow, desc_iova);

	ck_assert_int_eq(vdpastate_mem_add(mem, 0x10000, sizeof(ram), ram, 0), 0);
	ck_assert_int_eq(vdpastate_mem_add(mem, 0x40000, sizeof(rom), rom,
					   VDPASTATE_MEM_READONLY), 0);
	vdpastate_svq_free(NULL);

	ck_assert_ptr_null(vdpastate_svq_new(0, mem, iova, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(vdpastate_svq_new(3, mem, iova, NULL));
	ck_assert_ptr_null(vdpastate_svq_new(65536, mem, iova, NULL));
	ck_assert_ptr_null(vdpastate_svq_new(16, NULL, iova, NULL));
	{
		VDPASTATE_OPTS(vdpastate_svq_opts, o, .shadow_num = 12);
		ck_assert_ptr_null(vdpastate_svq_new(16, mem, iova, &o));
		ERRMSG_HAS("shadow ring size 12");
	}
	{
		VDPASTATE_OPTS(vdpastate_svq_opts, o,
			       .guest_features = 1ULL << VDPASTATE_F_RING_PACKED);
		ck_assert_ptr_null(vdpastate_svq_new(16, mem, iova, &o));
		ck_assert_int_eq(errno, EOPNOTSUPP);
	}
	memset(big, 0, sizeof(big));
	big[0].sz = sizeof(big);
	((uint8_t *)big)[sizeof(big[0]) + 3] = 1;
	ck_assert_ptr_null(vdpastate_svq_new(16, mem, iova, big));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(vdpastate_iova_count(iova, 0), 0); /* nothing left */

	q = vdpastate_svq_new(16, mem, iova, NULL);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(vdpastate_iova_count(iova, VDPASTATE_IOVA_HVA), 2);
	ck_assert_int_eq(vdpastate_svq_start(q), -EINVAL);
	ERRMSG_HAS("guest ring not set");
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10008, 0x11000, 0x12000),
			 -EINVAL);
	ERRMSG_HAS("not 16-byte aligned");
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11001, 0x12000),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11000, 0x12002),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11000, 0x90000),
			 -EFAULT);
	ERRMSG_HAS("used ring");
	/* Ends past guest memory: the whole area is checked. */
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000 + sizeof(ram) - 16,
						      0x11000, 0x12000), -EFAULT);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11000, 0x40000),
			 -EROFS);
	ck_assert_int_eq(vdpastate_svq_set_dirty_log(q, (uint64_t *)ram, 12, NULL,
						     NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11000, 0x12000), 0);
	sh.sz = small;
	sh.num = 12345;
	ck_assert_int_eq(vdpastate_svq_get_shadow(q, &sh), 0);
	ck_assert_uint_eq(sh.num, 16);
	ck_assert_uint_eq(sh.sz, small);
	sh.sz = 3;
	ck_assert_int_eq(vdpastate_svq_get_shadow(q, &sh), -EINVAL);
	ck_assert_int_eq(vdpastate_svq_start(q), 0);
	ck_assert_int_eq(vdpastate_svq_start(q), -EBUSY);
	ck_assert_int_eq(vdpastate_svq_set_guest_ring(q, 0x10000, 0x11000, 0x12000),
			 -EBUSY);
	ck_assert_int_eq(vdpastate_svq_stop(q, 7), -EINVAL);
	vdpastate_svq_free(q);
	ck_assert_uint_eq(vdpastate_iova_count(iova, 0), 0);
	vdpastate_iova_free(iova);
	vdpastate_mem_free(mem);
}
END_TEST

START_TEST(vring_layout)
{
	ck_assert_uint_eq(vdpastate_vring_desc_size(256), 4096);
	ck_assert_uint_eq(vdpastate_vring_avail_size(256, false), 516);
	ck_assert_uint_eq(vdpastate_vring_avail_size(256, true), 518);
	ck_assert_uint_eq(vdpastate_vring_used_size(256, false), 2052);
	ck_assert_uint_eq(vdpastate_vring_used_size(256, true), 2054);
	ck_assert_uint_eq(vdpastate_vring_desc_size(32768), 524288);
	/* need_event: notify iff event in [old, new), modulo 2^16. */
	ck_assert(vdpastate_vring_need_event(0, 1, 0));
	ck_assert(!vdpastate_vring_need_event(1, 1, 0));
	ck_assert(vdpastate_vring_need_event(5, 10, 3));
	ck_assert(!vdpastate_vring_need_event(10, 10, 3));
	ck_assert(!vdpastate_vring_need_event(2, 10, 3));
	ck_assert(vdpastate_vring_need_event(65535, 2, 65534));
	ck_assert(vdpastate_vring_need_event(0, 2, 65534));
	ck_assert(!vdpastate_vring_need_event(2, 2, 65534));
	ck_assert(!vdpastate_vring_need_event(65533, 2, 65534));
	ck_assert(!vdpastate_vring_need_event(7, 7, 7));
}
END_TEST

/* ------------------------------------------------------------- threads */

struct thr {
	struct env *e;
	uint64_t chains;
};

static void *thr_pump(void *arg)
{
	struct thr *t = arg;

	pump(t->e, t->chains, (uint64_t)(uintptr_t)t, 16);
	return NULL;
}

START_TEST(two_threads)
{
	struct env *a = mkenv(256, EV | IND, EV, 2, 4 << 20, 0, 0);
	struct env *b = mkenv(256, IND, 0, 2, 4 << 20, 0, 0);
	uint64_t n = scaled(env_count("VDS_SVQ_THREAD_CHAINS", 20000)), w;
	struct thr ta = { a, n }, tb = { b, n };
	pthread_t t1, t2;

	/* Both SVQs log into one bitmap, as the queues of a device do. */
	ck_assert_int_eq(vdpastate_svq_stop(b->svq, 0), 0);
	ck_assert_int_eq(vdpastate_svq_set_dirty_log(b->svq, a->bitmap,
						     a->truth_words * 8, NULL, NULL), 0);
	ck_assert_int_ge(vdpastate_svq_start(b->svq), 0);
	ck_assert_int_eq(pthread_create(&t1, NULL, thr_pump, &ta), 0);
	ck_assert_int_eq(pthread_create(&t2, NULL, thr_pump, &tb), 0);
	ck_assert_int_eq(pthread_join(t1, NULL), 0);
	ck_assert_int_eq(pthread_join(t2, NULL), 0);
	for (w = 0; w < a->truth_words; w++)
		a->truth[w] |= b->truth[w];
	/* Same GPA layout in both: a's check covers both truths. */
	check_dirty(a);
	env_free(a);
	env_free(b);
}
END_TEST

Suite *svq_suite(void)
{
	Suite *s = suite_create("svq");
	TCase *tc = tcase_create("relay");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, relay_shapes, 0, VDS_ARRAY_SIZE(relay_cases));
	tcase_add_test(tc, relay_index_wrap);
	tcase_add_test(tc, split_at_region_boundary);
	tcase_add_test(tc, backpressure_full_shadow);
	tcase_add_test(tc, notification_suppression);
	tcase_add_test(tc, notification_event_idx);
	tcase_add_test(tc, eventfds);
	suite_add_tcase(s, tc);

	tc = tcase_create("malicious");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, malicious_guest, 0, VDS_ARRAY_SIZE(bad_guests));
	tcase_add_test(tc, indirect_table_outside_iova);
	tcase_add_test(tc, mapping_added_while_running);
	tcase_add_loop_test(tc, malicious_device_id_range, 0, 2);
	tcase_add_loop_test(tc, malicious_device_not_inflight, 0, 2);
	tcase_add_loop_test(tc, malicious_device_twice, 0, 2);
	tcase_add_loop_test(tc, malicious_device_idx_jump, 0, 2);
	tcase_add_loop_test(tc, malicious_device_len_clamped, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, stop_keep_lists_inflight);
	tcase_add_test(tc, stop_complete);
	tcase_add_test(tc, stop_rewind_then_new_device);
	tcase_add_test(tc, stop_rewind_out_of_order);
	tcase_add_test(tc, state_roundtrip);
	tcase_add_test(tc, restored_indexes_continue);
	tcase_add_test(tc, api_errors);
	tcase_add_test(tc, vring_layout);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, two_threads);
	suite_add_tcase(s, tc);
	return s;
}
