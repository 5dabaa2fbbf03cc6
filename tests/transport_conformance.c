/* SPDX-License-Identifier: MIT */
/*
 * tests/transport_conformance.c - the transport conformance checks: the
 * virtio status state machine, feature negotiation, queue setup and
 * vring bases, groups and address spaces, DMA mappings, suspend/resume,
 * and -EOPNOTSUPP (never a crash) for what a transport does not do.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libvdpastate/common.h>

#include "transport_conformance.h"

#define ACK VDPASTATE_STATUS_ACKNOWLEDGE
#define DRV VDPASTATE_STATUS_DRIVER
#define FOK VDPASTATE_STATUS_FEATURES_OK
#define DOK VDPASTATE_STATUS_DRIVER_OK
#define PAGE 4096ULL

struct ctx {
	struct vdpastate_transport *t;
	const struct vds_tc_desc *d;
	char *why;
	size_t why_len;
};

/* Record why the check failed; returns -1. */
static int fail(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->why_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* r must be 0; else fail naming what and the library's message. */
#define OK(c, r, what)                                                     \
	do {                                                               \
		int r_ = (r);                                              \
		if (r_ != 0)                                               \
			return fail((c), "%s: returned %d (%s)", (what), r_, \
				    vdpastate_last_error());               \
	} while (0)

/* r must be exactly the negative errno e. */
#define ERR(c, r, e, what)                                                 \
	do {                                                               \
		int r_ = (r);                                              \
		if (r_ != (e))                                             \
			return fail((c), "%s: returned %d, expected %d (%s)", \
				    (what), r_, (e),                       \
				    r_ ? vdpastate_last_error() : "success"); \
	} while (0)

/* r must be a failure (any negative errno). */
#define NEG(c, r, what)                                                    \
	do {                                                               \
		int r_ = (r);                                              \
		if (r_ >= 0)                                               \
			return fail((c), "%s: succeeded, expected a failure", \
				    (what));                               \
	} while (0)

#define EXPECT(c, cond, ...)                     \
	do {                                     \
		if (!(cond))                     \
			return fail((c), __VA_ARGS__); \
	} while (0)

static int status_is(struct ctx *c, uint8_t want, const char *when)
{
	uint8_t s = 0xff;

	OK(c, vdpastate_transport_get_status(c->t, &s), "get_status");
	EXPECT(c, s == want, "%s: status 0x%02x, expected 0x%02x", when, s,
	       want);
	return 0;
}

/* Reset, then ACKNOWLEDGE, DRIVER, the described features, FEATURES_OK. */
static int negotiate(struct ctx *c)
{
	OK(c, vdpastate_transport_reset(c->t), "reset");
	OK(c, vdpastate_transport_set_status(c->t, ACK), "set_status ACK");
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV),
	   "set_status ACK|DRIVER");
	OK(c, vdpastate_transport_set_driver_features(c->t, c->d->features),
	   "set_driver_features");
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV | FOK),
	   "set_status FEATURES_OK");
	return status_is(c, ACK | DRV | FOK, "after FEATURES_OK");
}

/* Ack every backend feature offered (ASID, suspend, ...). */
static int ack_backend(struct ctx *c)
{
	uint64_t f = 0;

	OK(c, vdpastate_transport_get_backend_features(c->t, &f),
	   "get_backend_features");
	OK(c, vdpastate_transport_set_backend_features(c->t, f),
	   "set_backend_features (all offered)");
	return 0;
}

static unsigned int pow2_floor(unsigned int n)
{
	unsigned int p = 1;

	while (p * 2 <= n)
		p *= 2;
	return p;
}

static int c_identity(struct ctx *c)
{
	uint32_t id = 0, n = 0, g = 0, as = 0;
	uint64_t f = 0;

	OK(c, vdpastate_transport_get_device_id(c->t, &id), "get_device_id");
	EXPECT(c, id == c->d->device_id, "device id %u, expected %u", id,
	       c->d->device_id);
	OK(c, vdpastate_transport_get_vq_count(c->t, &n), "get_vq_count");
	EXPECT(c, n == c->d->vq_count, "vq count %u, expected %u", n,
	       c->d->vq_count);
	OK(c, vdpastate_transport_get_device_features(c->t, &f),
	   "get_device_features");
	EXPECT(c, (f & c->d->features) == c->d->features,
	       "features 0x%llx lack 0x%llx", (unsigned long long)f,
	       (unsigned long long)(c->d->features & ~f));
	OK(c, vdpastate_transport_get_group_num(c->t, &g), "get_group_num");
	EXPECT(c, g == c->d->groups, "%u groups, expected %u", g,
	       c->d->groups);
	OK(c, vdpastate_transport_get_as_num(c->t, &as), "get_as_num");
	EXPECT(c, as == c->d->as_num, "%u address spaces, expected %u", as,
	       c->d->as_num);
	return 0;
}

static int c_reset(struct ctx *c)
{
	OK(c, vdpastate_transport_set_status(c->t, ACK), "set_status ACK");
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV),
	   "set_status ACK|DRIVER");
	if (status_is(c, ACK | DRV, "before reset"))
		return -1;
	OK(c, vdpastate_transport_reset(c->t), "reset");
	return status_is(c, 0, "after reset");
}

static int c_status_sequence(struct ctx *c)
{
	if (negotiate(c))
		return -1;
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV | FOK | DOK),
	   "set_status DRIVER_OK");
	if (status_is(c, ACK | DRV | FOK | DOK, "after DRIVER_OK"))
		return -1;
	OK(c, vdpastate_transport_reset(c->t), "reset from DRIVER_OK");
	if (status_is(c, 0, "after reset"))
		return -1;
	/* A second negotiation from scratch works as the first. */
	return negotiate(c);
}

static int c_features_offered_only(struct ctx *c)
{
	uint64_t offered = 0, extra = 0;
	uint8_t s = 0;
	unsigned int b;
	int r;

	OK(c, vdpastate_transport_get_device_features(c->t, &offered),
	   "get_device_features");
	for (b = 0; b < 64 && !extra; b++)
		if (!(offered & (1ULL << b)))
			extra = 1ULL << b;
	EXPECT(c, extra, "the device offers all 64 feature bits");
	OK(c, vdpastate_transport_reset(c->t), "reset");
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV),
	   "set_status ACK|DRIVER");
	/* The transport may refuse the write, or the device may refuse
	 * FEATURES_OK; it may not accept both. */
	r = vdpastate_transport_set_driver_features(c->t,
						    c->d->features | extra);
	if (r == 0) {
		r = vdpastate_transport_set_status(c->t, ACK | DRV | FOK);
		if (r == 0) {
			OK(c, vdpastate_transport_get_status(c->t, &s),
			   "get_status");
			EXPECT(c, !(s & FOK),
			       "FEATURES_OK stuck with unoffered bit 0x%llx",
			       (unsigned long long)extra);
		}
	}
	/* Refused: a clean negotiation still works. */
	return negotiate(c);
}

static int c_status_no_clearing(struct ctx *c)
{
	if (negotiate(c))
		return -1;
	ERR(c, vdpastate_transport_set_status(c->t, ACK | DRV), -EINVAL,
	    "set_status clearing FEATURES_OK");
	return status_is(c, ACK | DRV | FOK, "after a refused status write");
}

static int c_vring_num(struct ctx *c)
{
	uint16_t max = 0;
	uint32_t i, num;

	OK(c, vdpastate_transport_get_vring_num_max(c->t, &max),
	   "get_vring_num_max");
	EXPECT(c, max > 0, "vring num max is 0");
	if (negotiate(c))
		return -1;
	num = pow2_floor(max);
	for (i = 0; i < c->d->vq_count; i++)
		OK(c, vdpastate_transport_set_vring_num(c->t, i, num),
		   "set_vring_num (max)");
	OK(c, vdpastate_transport_set_vring_num(c->t, 0, 1), "set_vring_num 1");
	ERR(c, vdpastate_transport_set_vring_num(c->t, c->d->vq_count, num),
	    -EINVAL, "set_vring_num of a vq past the last");
	ERR(c, vdpastate_transport_set_vring_num(c->t, 0, 0), -EINVAL,
	    "set_vring_num 0");
	if (num >= 4)
		ERR(c, vdpastate_transport_set_vring_num(c->t, 0, num - 1),
		    -EINVAL, "set_vring_num not a power of two");
	if (num < 32768)
		NEG(c, vdpastate_transport_set_vring_num(c->t, 0, num * 2),
		    "set_vring_num above the maximum");
	return 0;
}

static int c_vring_base(struct ctx *c)
{
	uint32_t i, base;

	if (negotiate(c))
		return -1;
	for (i = 0; i < c->d->vq_count; i++)
		OK(c, vdpastate_transport_set_vring_base(c->t, i,
							 (i * 4099 + 7) & 0xffff),
		   "set_vring_base");
	for (i = 0; i < c->d->vq_count; i++) {
		base = 0xdead0000;
		OK(c, vdpastate_transport_get_vring_base(c->t, i, &base),
		   "get_vring_base");
		EXPECT(c, base == ((i * 4099 + 7) & 0xffff),
		       "vq %u: base %u read back, %u written", i, base,
		       (i * 4099 + 7) & 0xffff);
	}
	OK(c, vdpastate_transport_set_vring_base(c->t, 0, 0xffff),
	   "set_vring_base 0xffff");
	OK(c, vdpastate_transport_get_vring_base(c->t, 0, &base),
	   "get_vring_base");
	EXPECT(c, base == 0xffff, "base %u read back, 65535 written", base);
	NEG(c, vdpastate_transport_set_vring_base(c->t, 0, 0x10000),
	    "set_vring_base above 0xffff (split ring)");
	ERR(c, vdpastate_transport_get_vring_base(c->t, c->d->vq_count, &base),
	    -EINVAL, "get_vring_base of a vq past the last");
	ERR(c, vdpastate_transport_set_vring_base(c->t, c->d->vq_count, 0),
	    -EINVAL, "set_vring_base of a vq past the last");
	return 0;
}

static int c_vring_setup(struct ctx *c)
{
	uint32_t n = c->d->vq_count;
	int kick = -1, call = -1, r = -1;

	if (negotiate(c))
		return -1;
	kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kick < 0 || call < 0) {
		fail(c, "eventfd failed");
		goto out;
	}
#define STEP(x, what)                                                  \
	do {                                                           \
		int s_ = (x);                                          \
		if (s_ != 0) {                                         \
			fail(c, "%s: returned %d (%s)", what, s_,      \
			     vdpastate_last_error());                  \
			goto out;                                      \
		}                                                      \
	} while (0)
#define STEP_EINVAL(x, what)                                           \
	do {                                                           \
		int s_ = (x);                                          \
		if (s_ != -EINVAL) {                                   \
			fail(c, "%s: returned %d, expected -EINVAL", what, \
			     s_);                                      \
			goto out;                                      \
		}                                                      \
	} while (0)
	STEP(vdpastate_transport_set_vring_addr(c->t, 0, 0x10000, 0x11000,
						0x12000),
	     "set_vring_addr");
	STEP(vdpastate_transport_set_vring_kick(c->t, 0, kick), "set_vring_kick");
	STEP(vdpastate_transport_set_vring_call(c->t, 0, call), "set_vring_call");
	STEP(vdpastate_transport_set_vring_call(c->t, 0, -1),
	     "set_vring_call -1 (unbind)");
	STEP(vdpastate_transport_set_vring_enable(c->t, 0, true),
	     "set_vring_enable on");
	STEP(vdpastate_transport_set_vring_enable(c->t, 0, false),
	     "set_vring_enable off");
	STEP_EINVAL(vdpastate_transport_set_vring_addr(c->t, n, 0x10000, 0x11000,
						       0x12000),
		    "set_vring_addr of a vq past the last");
	STEP_EINVAL(vdpastate_transport_set_vring_kick(c->t, n, kick),
		    "set_vring_kick of a vq past the last");
	STEP_EINVAL(vdpastate_transport_set_vring_call(c->t, n, call),
		    "set_vring_call of a vq past the last");
	STEP_EINVAL(vdpastate_transport_set_vring_enable(c->t, n, true),
		    "set_vring_enable of a vq past the last");
#undef STEP
#undef STEP_EINVAL
	r = 0;
out:
	/* Unbind before closing, as a VMM would. */
	vdpastate_transport_set_vring_kick(c->t, 0, -1);
	vdpastate_transport_set_vring_call(c->t, 0, -1);
	if (kick >= 0)
		close(kick);
	if (call >= 0)
		close(call);
	return r;
}

static int c_groups(struct ctx *c)
{
	uint32_t i, g = 0;

	for (i = 0; i < c->d->vq_count; i++) {
		OK(c, vdpastate_transport_get_vring_group(c->t, i, &g),
		   "get_vring_group");
		EXPECT(c, g < c->d->groups, "vq %u in group %u of %u", i, g,
		       c->d->groups);
	}
	ERR(c, vdpastate_transport_get_vring_group(c->t, c->d->vq_count, &g),
	    -EINVAL, "get_vring_group of a vq past the last");
	if (ack_backend(c) || negotiate(c))
		return -1;
	OK(c, vdpastate_transport_set_group_asid(c->t, c->d->groups - 1,
						 c->d->as_num - 1),
	   "set_group_asid (last group, last address space)");
	OK(c, vdpastate_transport_set_group_asid(c->t, c->d->groups - 1, 0),
	   "set_group_asid back to 0");
	ERR(c, vdpastate_transport_set_group_asid(c->t, c->d->groups, 0),
	    -EINVAL, "set_group_asid of a group past the last");
	ERR(c, vdpastate_transport_set_group_asid(c->t, 0, c->d->as_num),
	    -EINVAL, "set_group_asid of an address space past the last");
	return 0;
}

static int c_backend_features(struct ctx *c)
{
	uint64_t f = 0;

	OK(c, vdpastate_transport_get_backend_features(c->t, &f),
	   "get_backend_features");
	EXPECT(c, f & (1ULL << VDPASTATE_BACKEND_F_IOTLB_MSG_V2),
	       "IOTLB_MSG_V2 not offered (0x%llx)", (unsigned long long)f);
	EXPECT(c, !(f & ~VDS_TEST_BACKEND_ALL),
	       "unknown backend bits offered: 0x%llx",
	       (unsigned long long)f);
	if (c->d->has_suspend)
		EXPECT(c, f & (1ULL << VDPASTATE_BACKEND_F_SUSPEND),
		       "SUSPEND not offered");
	if (c->d->has_resume)
		EXPECT(c, f & (1ULL << VDPASTATE_BACKEND_F_RESUME),
		       "RESUME not offered");
	OK(c, vdpastate_transport_set_backend_features(c->t, f),
	   "set_backend_features (all offered)");
	NEG(c, vdpastate_transport_set_backend_features(c->t, f | (1ULL << 63)),
	    "set_backend_features with an unknown bit");
	return 0;
}

static int c_config(struct ctx *c)
{
	size_t big = 65536;
	unsigned char *buf = calloc(1, big);
	int r;

	EXPECT(c, buf, "out of memory");
	r = vdpastate_transport_get_config(c->t, 0, buf, c->d->config_len);
	if (r == 0)
		r = vdpastate_transport_get_config(c->t, 0, buf, (uint32_t)big) <
				    0
			    ? 0
			    : 1;
	else
		r = -1;
	free(buf);
	EXPECT(c, r != -1, "get_config of %u bytes: %s", c->d->config_len,
	       vdpastate_last_error());
	EXPECT(c, r == 0, "get_config of 64 KiB succeeded");
	return 0;
}

/* DMA checks on a page-aligned host buffer of 4 pages. */
static int dma_checks(struct ctx *c, unsigned char *buf)
{
	uint64_t first = 0, last = 0, iova;
	int r;

	OK(c, vdpastate_transport_get_iova_range(c->t, &first, &last),
	   "get_iova_range");
	EXPECT(c, first <= last, "iova range [0x%llx, 0x%llx]",
	       (unsigned long long)first, (unsigned long long)last);
	iova = (first + PAGE - 1) & ~(PAGE - 1);
	EXPECT(c, iova >= first && last - iova >= 4 * PAGE - 1,
	       "iova range [0x%llx, 0x%llx] too small for 4 pages",
	       (unsigned long long)first, (unsigned long long)last);
	OK(c, vdpastate_transport_dma_map(c->t, 0, iova, 2 * PAGE, buf,
					  VDPASTATE_DMA_READ),
	   "dma_map");
	OK(c, vdpastate_transport_dma_unmap(c->t, 0, iova, 2 * PAGE),
	   "dma_unmap");
	/* The unmap really removed it: the same map works again. */
	OK(c, vdpastate_transport_dma_map(c->t, 0, iova, 2 * PAGE, buf,
					  VDPASTATE_DMA_READ |
						  VDPASTATE_DMA_WRITE),
	   "dma_map after unmap");
	if (c->d->rejects_overlap)
		ERR(c, vdpastate_transport_dma_map(c->t, 0, iova + PAGE,
						   2 * PAGE, buf + PAGE,
						   VDPASTATE_DMA_READ),
		    -EEXIST, "dma_map overlapping a mapping");
	OK(c, vdpastate_transport_dma_unmap(c->t, 0, iova, 2 * PAGE),
	   "dma_unmap");
	if (last <= UINT64_MAX - 2 * PAGE)
		NEG(c, vdpastate_transport_dma_map(c->t, 0, last + 1, PAGE, buf,
						   VDPASTATE_DMA_READ),
		    "dma_map above the iova range");
	NEG(c, vdpastate_transport_dma_map(c->t, c->d->as_num, iova, PAGE, buf,
					   VDPASTATE_DMA_READ),
	    "dma_map in an address space past the last");
	/* A batch of two maps, then a batch of two unmaps. */
	r = vdpastate_transport_dma_batch_begin(c->t, 0);
	EXPECT(c, r == 0 || r == -EOPNOTSUPP, "dma_batch_begin: %d (%s)", r,
	       vdpastate_last_error());
	OK(c, vdpastate_transport_dma_map(c->t, 0, iova, PAGE, buf,
					  VDPASTATE_DMA_READ),
	   "dma_map in a batch");
	OK(c, vdpastate_transport_dma_map(c->t, 0, iova + 2 * PAGE, PAGE,
					  buf + 2 * PAGE, VDPASTATE_DMA_WRITE),
	   "second dma_map in a batch");
	if (r == 0)
		OK(c, vdpastate_transport_dma_batch_end(c->t, 0),
		   "dma_batch_end");
	OK(c, vdpastate_transport_dma_unmap(c->t, 0, iova, PAGE), "dma_unmap");
	OK(c, vdpastate_transport_dma_unmap(c->t, 0, iova + 2 * PAGE, PAGE),
	   "dma_unmap");
	if (c->d->as_num > 1) {
		/* Address spaces are apart: the same IOVA in AS 1. */
		if (ack_backend(c))
			return -1;
		OK(c, vdpastate_transport_dma_map(c->t, 0, iova, PAGE, buf,
						  VDPASTATE_DMA_READ),
		   "dma_map in AS 0");
		OK(c, vdpastate_transport_dma_map(c->t, 1, iova, PAGE, buf,
						  VDPASTATE_DMA_READ),
		   "dma_map of the same IOVA in AS 1");
		OK(c, vdpastate_transport_dma_unmap(c->t, 1, iova, PAGE),
		   "dma_unmap in AS 1");
		OK(c, vdpastate_transport_dma_unmap(c->t, 0, iova, PAGE),
		   "dma_unmap in AS 0");
	}
	return 0;
}

static int c_dma(struct ctx *c)
{
	/* Shared: a device on user virtual addresses maps only that. */
	unsigned char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int r;

	EXPECT(c, buf != MAP_FAILED, "out of memory");
	r = dma_checks(c, buf);
	munmap(buf, 4 * PAGE);
	return r;
}

static int c_suspend_resume(struct ctx *c)
{
	uint32_t base = 0;

	if (ack_backend(c) || negotiate(c))
		return -1;
	OK(c, vdpastate_transport_set_vring_num(c->t, 0, 1), "set_vring_num");
	OK(c, vdpastate_transport_set_vring_base(c->t, 0, 42),
	   "set_vring_base");
	OK(c, vdpastate_transport_set_status(c->t, ACK | DRV | FOK | DOK),
	   "set_status DRIVER_OK");
	if (!c->d->has_suspend) {
		ERR(c, vdpastate_transport_suspend(c->t), -EOPNOTSUPP,
		    "suspend on a transport without it");
		ERR(c, vdpastate_transport_resume(c->t), -EOPNOTSUPP,
		    "resume on a transport without it");
		return 0;
	}
	OK(c, vdpastate_transport_suspend(c->t), "suspend");
	OK(c, vdpastate_transport_get_vring_base(c->t, 0, &base),
	   "get_vring_base while suspended");
	EXPECT(c, base == 42, "base %u after suspend, 42 set (no traffic)",
	       base);
	if (status_is(c, ACK | DRV | FOK | DOK, "after suspend"))
		return -1;
	if (c->d->has_resume)
		OK(c, vdpastate_transport_resume(c->t), "resume");
	else
		ERR(c, vdpastate_transport_resume(c->t), -EOPNOTSUPP,
		    "resume on a transport without it");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct ctx *c);
} checks[] = {
	{ "identity", c_identity },
	{ "reset", c_reset },
	{ "status-sequence", c_status_sequence },
	{ "features-offered-only", c_features_offered_only },
	{ "status-no-clearing", c_status_no_clearing },
	{ "vring-num", c_vring_num },
	{ "vring-base", c_vring_base },
	{ "vring-setup", c_vring_setup },
	{ "groups", c_groups },
	{ "backend-features", c_backend_features },
	{ "config", c_config },
	{ "dma", c_dma },
	{ "suspend-resume", c_suspend_resume },
};

size_t vds_tc_count(void)
{
	return sizeof(checks) / sizeof(checks[0]);
}

const char *vds_tc_name(size_t i)
{
	return i < vds_tc_count() ? checks[i].name : NULL;
}

int vds_tc_run(const struct vds_tc_subject *s, size_t i, char *why,
	       size_t why_len)
{
	struct ctx c = { .d = &s->desc, .why = why, .why_len = why_len };
	int r;

	if (i >= vds_tc_count())
		return fail(&c, "no check %zu", i);
	c.t = s->open(s->arg);
	if (!c.t)
		return fail(&c, "open: %s", vdpastate_last_error());
	r = checks[i].fn(&c);
	vdpastate_transport_free(c.t);
	return r;
}
