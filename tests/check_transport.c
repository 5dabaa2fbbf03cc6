/* SPDX-License-Identifier: MIT */
/*
 * tests/check_transport.c - the transport layer: the handle and its ops
 * table (sizes, missing callbacks, close once), every wrapper's argument
 * checks and messages, reset, mapping an SVQ's shadow ring through a
 * recording transport (calls, permissions, batching, rollback), the
 * vhost-vdpa transport's error paths, and the conformance suite run
 * against every transport in `subjects`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libvdpastate/svq.h>
#include <libvdpastate/transport.h>
#include <libvdpastate/vring.h>

#include <libvdpastate/libvdpastate.h>

#include "fake_transport.h"
#include "internal.h"
#include "passthru_transport.h"
#include "suites.h"
#include "transport_conformance.h"
#include "transport_int.h"

#define ERRMSG_HAS(s)                                                        \
	ck_assert_msg(strstr(vdpastate_last_error(), (s)) != NULL,           \
		      "last error \"%s\" lacks \"%s\"", vdpastate_last_error(), \
		      (s))
#define OPS_SZ sizeof(struct vdpastate_transport_ops)
#define PAGE 4096u

/* ------------------------------------------------ conformance subjects */

/*
 * Every transport the conformance suite runs against.  To add one: an
 * entry {name, open, arg, description}.
 */
/* The simulated device: one queue pair and a control queue (3 queues),
 * the data queues and the control queue in two groups, two address
 * spaces, virtio_net_config up to supported_hash_types (24 bytes). */
#define SIM_FEATURES                                                      \
	((1ULL << VDPASTATE_F_VERSION_1) | (1ULL << VDPASTATE_NET_F_MAC) | \
	 (1ULL << VDPASTATE_NET_F_CTRL_VQ) | (1ULL << VDPASTATE_NET_F_MTU))

static struct vdpastate_transport *sim_open(void *arg)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .device_features = SIM_FEATURES);

	return vdpastate_sim_new(&o);
}

static const struct vds_tc_subject subjects[] = {
	{ "fake", fake_transport_open, NULL,
	  { .device_id = FAKE_DEVICE_ID,
	    .vq_count = FAKE_VQS,
	    .features = FAKE_FEATURES,
	    .config_len = FAKE_CONFIG_LEN,
	    .groups = FAKE_GROUPS,
	    .as_num = FAKE_AS,
	    .has_suspend = true,
	    .has_resume = true,
	    .rejects_overlap = true } },
	{ "sim", sim_open, NULL,
	  { .device_id = 1,
	    .vq_count = 3,
	    .features = SIM_FEATURES,
	    .config_len = 24,
	    .groups = 2,
	    .as_num = 2,
	    .has_suspend = true,
	    .has_resume = true,
	    .rejects_overlap = true } },
};
#define NSUBJECTS (sizeof(subjects) / sizeof(subjects[0]))

START_TEST(conformance)
{
	const struct vds_tc_subject *s = &subjects[_i / vds_tc_count()];
	size_t check = _i % vds_tc_count();
	char why[VDS_ERRMSG_MAX + 256] = "";

	ck_assert_msg(vds_tc_run(s, check, why, sizeof(why)) == 0, "%s/%s: %s",
		      s->name, vds_tc_name(check), why);
}
END_TEST

/* The conformance checks can fail: a device that breaks each rule. */
static int lax_set_status(void *ctx, uint8_t status)
{
	struct fake_dev *d = ctx;

	d->status = status; /* no state machine at all */
	return 0;
}

static struct vdpastate_transport *lax_open(void *arg)
{
	struct vdpastate_transport_ops ops = fake_ops;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;

	ops.set_status = lax_set_status;
	ops.dma_batch_begin = NULL; /* batching is optional: no effect */
	t = vdpastate_transport_new(&ops, sizeof(ops), d);
	if (!t)
		free(d);
	return t;
}

START_TEST(conformance_catches)
{
	struct vds_tc_subject s = subjects[0];
	char why[VDS_ERRMSG_MAX + 256];
	size_t i, failed = 0;

	s.name = "lax";
	s.open = lax_open;
	for (i = 0; i < vds_tc_count(); i++)
		if (vds_tc_run(&s, i, why, sizeof(why)))
			failed++;
	/* features-offered-only and status-no-clearing at least. */
	ck_assert_uint_ge(failed, 2);
	why[0] = 0;
	for (i = 0; i < vds_tc_count(); i++)
		if (!strcmp(vds_tc_name(i), "status-no-clearing"))
			ck_assert_int_eq(vds_tc_run(&s, i, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "clearing FEATURES_OK"), "why: %s", why);

	/* A wrong description fails too. */
	s = subjects[0];
	s.desc.vq_count++;
	ck_assert_int_eq(vds_tc_run(&s, 0, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "vq count"), "why: %s", why);
	ck_assert_ptr_null(vds_tc_name(vds_tc_count()));
}
END_TEST

/* --------------------------------------------------- calling by index */

/* The callbacks in table order, and their wrappers' names. */
static const size_t op_off[] = {
	offsetof(struct vdpastate_transport_ops, get_device_id),
	offsetof(struct vdpastate_transport_ops, get_device_features),
	offsetof(struct vdpastate_transport_ops, set_driver_features),
	offsetof(struct vdpastate_transport_ops, get_backend_features),
	offsetof(struct vdpastate_transport_ops, set_backend_features),
	offsetof(struct vdpastate_transport_ops, get_config),
	offsetof(struct vdpastate_transport_ops, get_status),
	offsetof(struct vdpastate_transport_ops, set_status),
	offsetof(struct vdpastate_transport_ops, get_vq_count),
	offsetof(struct vdpastate_transport_ops, get_vring_num_max),
	offsetof(struct vdpastate_transport_ops, set_vring_num),
	offsetof(struct vdpastate_transport_ops, set_vring_addr),
	offsetof(struct vdpastate_transport_ops, set_vring_base),
	offsetof(struct vdpastate_transport_ops, get_vring_base),
	offsetof(struct vdpastate_transport_ops, set_vring_kick),
	offsetof(struct vdpastate_transport_ops, set_vring_call),
	offsetof(struct vdpastate_transport_ops, set_vring_enable),
	offsetof(struct vdpastate_transport_ops, get_group_num),
	offsetof(struct vdpastate_transport_ops, get_as_num),
	offsetof(struct vdpastate_transport_ops, get_vring_group),
	offsetof(struct vdpastate_transport_ops, set_group_asid),
	offsetof(struct vdpastate_transport_ops, dma_map),
	offsetof(struct vdpastate_transport_ops, dma_unmap),
	offsetof(struct vdpastate_transport_ops, dma_batch_begin),
	offsetof(struct vdpastate_transport_ops, dma_batch_end),
	offsetof(struct vdpastate_transport_ops, get_iova_range),
	offsetof(struct vdpastate_transport_ops, suspend),
	offsetof(struct vdpastate_transport_ops, resume),
};
static const char *const op_name[] = {
	"get_device_id", "get_device_features", "set_driver_features",
	"get_backend_features", "set_backend_features", "get_config",
	"get_status", "set_status", "get_vq_count", "get_vring_num_max",
	"set_vring_num", "set_vring_addr", "set_vring_base", "get_vring_base",
	"set_vring_kick", "set_vring_call", "set_vring_enable", "get_group_num",
	"get_as_num", "get_vring_group", "set_group_asid", "dma_map",
	"dma_unmap", "dma_batch_begin", "dma_batch_end", "get_iova_range",
	"suspend", "resume",
};
#define NOPS (sizeof(op_off) / sizeof(op_off[0]))
_Static_assert(sizeof(op_name) / sizeof(op_name[0]) == NOPS, "names");
/* close is the last member: every other one is listed above. */
_Static_assert(sizeof(op_off) / sizeof(op_off[0]) ==
		       offsetof(struct vdpastate_transport_ops, close) /
			       sizeof(void (*)(void)),
	       "a callback is missing from op_off");

static unsigned char dma_buf[2 * PAGE] __attribute__((aligned(4096)));

/* Call wrapper i with valid arguments. */
static int call_op(struct vdpastate_transport *t, size_t i)
{
	uint64_t u64, u64b;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8, cfg[4];

	switch (i) {
	case 0: return vdpastate_transport_get_device_id(t, &u32);
	case 1: return vdpastate_transport_get_device_features(t, &u64);
	case 2: return vdpastate_transport_set_driver_features(t, 1ULL << 32);
	case 3: return vdpastate_transport_get_backend_features(t, &u64);
	case 4: return vdpastate_transport_set_backend_features(
			t, 1ULL << VDPASTATE_BACKEND_F_IOTLB_MSG_V2);
	case 5: return vdpastate_transport_get_config(t, 0, cfg, sizeof(cfg));
	case 6: return vdpastate_transport_get_status(t, &u8);
	case 7: return vdpastate_transport_set_status(t, 1);
	case 8: return vdpastate_transport_get_vq_count(t, &u32);
	case 9: return vdpastate_transport_get_vring_num_max(t, &u16);
	case 10: return vdpastate_transport_set_vring_num(t, 0, 64);
	case 11: return vdpastate_transport_set_vring_addr(t, 0, 0x1000, 0x2000,
							   0x3000);
	case 12: return vdpastate_transport_set_vring_base(t, 0, 5);
	case 13: return vdpastate_transport_get_vring_base(t, 0, &u32);
	case 14: return vdpastate_transport_set_vring_kick(t, 0, -1);
	case 15: return vdpastate_transport_set_vring_call(t, 0, -1);
	case 16: return vdpastate_transport_set_vring_enable(t, 0, true);
	case 17: return vdpastate_transport_get_group_num(t, &u32);
	case 18: return vdpastate_transport_get_as_num(t, &u32);
	case 19: return vdpastate_transport_get_vring_group(t, 0, &u32);
	case 20: return vdpastate_transport_set_group_asid(t, 0, 0);
	case 21: return vdpastate_transport_dma_map(t, 0, 0x10000, PAGE,
						    dma_buf, VDPASTATE_DMA_READ);
	case 22: return vdpastate_transport_dma_unmap(t, 0, 0x10000, PAGE);
	case 23: return vdpastate_transport_dma_batch_begin(t, 0);
	case 24: return vdpastate_transport_dma_batch_end(t, 0);
	case 25: return vdpastate_transport_get_iova_range(t, &u64, &u64b);
	case 26: return vdpastate_transport_suspend(t);
	case 27: return vdpastate_transport_resume(t);
	}
	ck_abort_msg("no op %zu", i);
	return 0;
}

/* A fake-device table with callback i removed. */
static struct vdpastate_transport_ops ops_without(size_t i)
{
	struct vdpastate_transport_ops ops = fake_ops;

	memset((char *)&ops + op_off[i], 0, sizeof(ops.close));
	return ops;
}

/* --------------------------------------------------------- the handle */

START_TEST(new_args)
{
	struct vdpastate_transport *t;
	struct fake_dev *d = fake_dev_new();

	errno = 0;
	ck_assert_ptr_null(vdpastate_transport_new(NULL, OPS_SZ, d));
	ck_assert_int_eq(errno, EINVAL);
	ERRMSG_HAS("NULL ops table");
	errno = 0;
	ck_assert_ptr_null(vdpastate_transport_new(&fake_ops, 0, d));
	ck_assert_int_eq(errno, EINVAL);
	ERRMSG_HAS("ops_size is 0");
	errno = 0;
	ck_assert_ptr_null(vdpastate_transport_new(&fake_ops, OPS_SZ - 1, d));
	ck_assert_int_eq(errno, EINVAL);
	ERRMSG_HAS("not a whole number of callbacks");
	ck_assert_ptr_null(vds_transport_new_named("", &fake_ops, OPS_SZ, d));
	ck_assert_int_eq(errno, EINVAL);

	t = vdpastate_transport_new(&fake_ops, OPS_SZ, d);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(vdpastate_transport_name(t), "custom");
	ck_assert_ptr_eq(vds_transport_ctx(t), d);
	ck_assert_str_eq(vdpastate_transport_name(NULL), "(null)");
	ck_assert_ptr_null(vds_transport_ctx(NULL));
	vdpastate_transport_free(t);
	vdpastate_transport_free(NULL);
}
END_TEST

START_TEST(named_and_close_once)
{
	unsigned int closed = 0;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;
	char longname[VDS_TRANSPORT_NAME_MAX * 2];

	d->closed = &closed;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	t = vds_transport_new_named(longname, &fake_ops, OPS_SZ, d);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(vdpastate_transport_name(t)),
			  VDS_TRANSPORT_NAME_MAX - 1);
	/* The wrappers never close. */
	ck_assert_int_eq(vdpastate_transport_reset(t), 0);
	ck_assert_uint_eq(closed, 0);
	vdpastate_transport_free(t);
	ck_assert_uint_eq(closed, 1);

	/* Without a close callback the context is the caller's. */
	{
		struct vdpastate_transport_ops ops = fake_ops;

		d = fake_dev_new();
		d->closed = &closed;
		ops.close = NULL;
		t = vds_transport_new_named("sim", &ops, sizeof(ops), d);
		ck_assert_str_eq(vdpastate_transport_name(t), "sim");
		vdpastate_transport_free(t);
		ck_assert_uint_eq(closed, 1);
		free(d);
	}
}
END_TEST

START_TEST(missing_each_op)
{
	size_t i = (size_t)_i;
	struct vdpastate_transport_ops ops = ops_without(i);
	unsigned int closed = 0;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;
	char want[96];

	d->closed = &closed;
	d->backend_acked = VDS_TEST_BACKEND_ALL; /* suspend/resume usable */
	t = vdpastate_transport_new(&ops, sizeof(ops), d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(call_op(t, i), -EOPNOTSUPP);
	snprintf(want, sizeof(want), "transport custom: %s not supported",
		 op_name[i]);
	ck_assert_str_eq(vdpastate_last_error(), want);
	/* The others are still there. */
	ck_assert_int_ne(call_op(t, (i + 1) % NOPS), -EOPNOTSUPP);
	vdpastate_transport_free(t);
	ck_assert_uint_eq(closed, 1);
}
END_TEST

START_TEST(short_table)
{
	/* A caller built against a table that ended before set_status. */
	size_t cut = offsetof(struct vdpastate_transport_ops, set_status);
	unsigned int closed = 0;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;
	size_t i;

	d->closed = &closed;
	t = vdpastate_transport_new(&fake_ops, cut, d);
	ck_assert_ptr_nonnull(t);
	for (i = 0; i < NOPS; i++) {
		int r = call_op(t, i);

		if (op_off[i] < cut)
			ck_assert_msg(r != -EOPNOTSUPP, "%s: %d (%s)", op_name[i],
				      r, vdpastate_last_error());
		else
			ck_assert_msg(r == -EOPNOTSUPP, "%s: %d", op_name[i], r);
	}
	ck_assert_int_eq(vdpastate_transport_reset(t), -EOPNOTSUPP);
	ERRMSG_HAS("reset not supported");
	/* close lies beyond the caller's table: not called. */
	vdpastate_transport_free(t);
	ck_assert_uint_eq(closed, 0);
	free(d);
}
END_TEST

START_TEST(long_table)
{
	/* A caller built against a newer library: unknown members zero. */
	struct {
		struct vdpastate_transport_ops ops;
		void (*future[4])(void);
	} big;
	unsigned int closed = 0;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;
	uint32_t id = 0;

	memset(&big, 0, sizeof(big));
	big.ops = fake_ops;
	d->closed = &closed;
	t = vdpastate_transport_new(&big.ops, sizeof(big), d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(vdpastate_transport_get_device_id(t, &id), 0);
	ck_assert_uint_eq(id, FAKE_DEVICE_ID);
	/* The library copied the table: changing it later has no effect. */
	big.ops.get_device_id = NULL;
	ck_assert_int_eq(vdpastate_transport_get_device_id(t, &id), 0);
	vdpastate_transport_free(t);
	ck_assert_uint_eq(closed, 1);
}
END_TEST

START_TEST(null_handle)
{
	size_t i;
	char want[96];

	for (i = 0; i < NOPS; i++) {
		ck_assert_int_eq(call_op(NULL, i), -EINVAL);
		snprintf(want, sizeof(want), "transport: %s: NULL transport",
			 op_name[i]);
		ck_assert_str_eq(vdpastate_last_error(), want);
	}
	ck_assert_int_eq(vdpastate_transport_reset(NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_map_svq(NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_unmap_svq(NULL, 0, NULL), -EINVAL);
}
END_TEST

START_TEST(null_outputs)
{
	struct vdpastate_transport *t = fake_transport_open(NULL);
	uint64_t u64;

	ck_assert_int_eq(vdpastate_transport_get_device_id(t, NULL), -EINVAL);
	ERRMSG_HAS("transport custom: get_device_id: NULL id");
	ck_assert_int_eq(vdpastate_transport_get_device_features(t, NULL),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_backend_features(t, NULL),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_config(t, 0, NULL, 4), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_status(t, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_vq_count(t, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_vring_num_max(t, NULL),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_vring_base(t, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_group_num(t, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_as_num(t, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_vring_group(t, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_iova_range(t, NULL, &u64),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_iova_range(t, &u64, NULL),
			 -EINVAL);
	ERRMSG_HAS("NULL last");
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, NULL), -EINVAL);
	ERRMSG_HAS("map_svq: NULL svq");
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, NULL), -EINVAL);
	vdpastate_transport_free(t);
}
END_TEST

/* ----------------------------------------- a transport that misbehaves */

struct spy {
	unsigned int calls;
	int ret;
	uint8_t status;
	bool own_message;
};

static int spy_get_status(void *ctx, uint8_t *status)
{
	struct spy *s = ctx;

	s->calls++;
	*status = 0x77; /* written even when failing */
	if (s->own_message)
		return vds_fail(s->ret, "spy: the device fell off the bus");
	return s->ret ? s->ret : (*status = s->status, 0);
}

static int spy_set_status(void *ctx, uint8_t status)
{
	struct spy *s = ctx;

	s->calls++;
	if (s->ret)
		return s->ret;
	/* A device that ignores reset. */
	s->status = status ? status : s->status;
	return 1; /* any non-negative value is success */
}

static int spy_get_config(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	struct spy *s = ctx;

	s->calls++;
	return 0;
}

static int spy_dma_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		       void *hva, uint32_t perm)
{
	struct spy *s = ctx;

	s->calls++;
	return 0;
}

static int spy_dma_unmap(void *ctx, uint32_t asid, uint64_t iova,
			 uint64_t size)
{
	struct spy *s = ctx;

	s->calls++;
	return 0;
}

static int spy_vring_fd(void *ctx, uint32_t idx, int fd)
{
	struct spy *s = ctx;

	s->calls++;
	return 0;
}

static int spy_iova_range(void *ctx, uint64_t *first, uint64_t *last)
{
	struct spy *s = ctx;

	s->calls++;
	*first = 0x2000;
	*last = 0x1000;
	return 0;
}

static const struct vdpastate_transport_ops spy_ops = {
	.get_status = spy_get_status,
	.set_status = spy_set_status,
	.get_config = spy_get_config,
	.dma_map = spy_dma_map,
	.dma_unmap = spy_dma_unmap,
	.set_vring_kick = spy_vring_fd,
	.set_vring_call = spy_vring_fd,
	.get_iova_range = spy_iova_range,
};

START_TEST(failure_messages)
{
	struct spy s = { .ret = -EIO };
	struct vdpastate_transport *t =
		vds_transport_new_named("spy", &spy_ops, sizeof(spy_ops), &s);
	uint8_t st = 0x11;

	ck_assert_int_eq(vdpastate_transport_set_status(t, 1), -EIO);
	ck_assert_str_eq(vdpastate_last_error(),
			 "transport spy: set_status 0x01: Input/output error");
	/* A stale message from an earlier failure is not blamed. */
	vds_fail(-EPERM, "stale message");
	ck_assert_int_eq(vdpastate_transport_get_status(t, &st), -EIO);
	ck_assert_str_eq(vdpastate_last_error(),
			 "transport spy: get_status: Input/output error");
	/* The output is written only on success. */
	ck_assert_uint_eq(st, 0x11);
	/* The callback's own message is kept, with the operation named. */
	s.own_message = true;
	s.ret = -ENODEV;
	ck_assert_int_eq(vdpastate_transport_get_status(t, &st), -ENODEV);
	ck_assert_str_eq(vdpastate_last_error(),
			 "transport spy: get_status: spy: the device fell off "
			 "the bus");
	ck_assert_uint_eq(st, 0x11);
	vdpastate_transport_free(t);
}
END_TEST

START_TEST(bad_arguments)
{
	struct spy s = { 0 };
	struct vdpastate_transport *t =
		vdpastate_transport_new(&spy_ops, sizeof(spy_ops), &s);
	uint8_t cfg[4];
	uint64_t f = 1, l = 2;

	ck_assert_int_eq(vdpastate_transport_get_config(t, 0, cfg, 0), -EINVAL);
	ERRMSG_HAS("get_config: len 0");
	ck_assert_int_eq(vdpastate_transport_get_config(t, UINT32_MAX - 1, cfg,
							4),
			 -EINVAL);
	ERRMSG_HAS("overflows");
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x1000, 0, dma_buf,
						     VDPASTATE_DMA_READ),
			 -EINVAL);
	ERRMSG_HAS("dma_map: size 0");
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, UINT64_MAX - 0xfff,
						     0x2000, dma_buf,
						     VDPASTATE_DMA_READ),
			 -EINVAL);
	ERRMSG_HAS("wraps");
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x1000, PAGE, NULL,
						     VDPASTATE_DMA_READ),
			 -EINVAL);
	ERRMSG_HAS("NULL hva");
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x1000, PAGE,
						     dma_buf, 0),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x1000, PAGE,
						     dma_buf, 4),
			 -EINVAL);
	ERRMSG_HAS("perm");
	ck_assert_int_eq(vdpastate_transport_dma_unmap(t, 0, 0x1000, 0),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_dma_unmap(t, 0, UINT64_MAX, 2),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_set_vring_kick(t, 0, -2), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_set_vring_call(t, 0, -2), -EINVAL);
	ERRMSG_HAS("fd below -1");
	/* None of them reached the transport. */
	ck_assert_uint_eq(s.calls, 0);
	/* A range ending exactly at 2^64 is fine. */
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, UINT64_MAX - 0xfff,
						     0x1000, dma_buf,
						     VDPASTATE_DMA_WRITE),
			 0);
	ck_assert_uint_eq(s.calls, 1);
	/* A transport's nonsense answer is refused, outputs untouched. */
	ck_assert_int_eq(vdpastate_transport_get_iova_range(t, &f, &l), -EIO);
	ERRMSG_HAS("first 0x2000 is above last 0x1000");
	ck_assert_uint_eq(f, 1);
	ck_assert_uint_eq(l, 2);
	vdpastate_transport_free(t);
}
END_TEST

START_TEST(reset_checks_status)
{
	struct spy s = { .status = 3 };
	struct vdpastate_transport *t =
		vdpastate_transport_new(&spy_ops, sizeof(spy_ops), &s);
	struct vdpastate_transport *f = fake_transport_open(NULL);
	uint8_t st = 0xff;

	/* The spy ignores a write of 0. */
	ck_assert_int_eq(vdpastate_transport_set_status(t, 3), 0);
	ck_assert_int_eq(vdpastate_transport_reset(t), -EIO);
	ck_assert_str_eq(vdpastate_last_error(),
			 "transport custom: reset: status is 0x03 after "
			 "writing 0");
	vdpastate_transport_free(t);

	ck_assert_int_eq(vdpastate_transport_set_status(f, 1), 0);
	ck_assert_int_eq(vdpastate_transport_reset(f), 0);
	ck_assert_int_eq(vdpastate_transport_get_status(f, &st), 0);
	ck_assert_uint_eq(st, 0);
	vdpastate_transport_free(f);
}
END_TEST

/* ------------------------------------------------ mapping an SVQ ring */

enum rec_kind { REC_MAP, REC_UNMAP, REC_BEGIN, REC_END };

struct rec_call {
	enum rec_kind kind;
	uint32_t asid, perm;
	uint64_t iova, size;
	void *hva;
};

struct rec {
	struct rec_call call[16];
	unsigned int n;
	unsigned int fail_mask; /* bit i: fail the i-th call (1-based) */
	unsigned int live;       /* mappings in place */
};

static int rec_push(struct rec *r, struct rec_call c)
{
	ck_assert_uint_lt(r->n, 16);
	r->call[r->n++] = c;
	return r->fail_mask >> r->n & 1 ? -EIO : 0;
}

static int rec_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		   void *hva, uint32_t perm)
{
	struct rec *r = ctx;
	int e = rec_push(r, (struct rec_call){ REC_MAP, asid, perm, iova, size,
					       hva });

	if (!e)
		r->live++;
	return e;
}

static int rec_unmap(void *ctx, uint32_t asid, uint64_t iova, uint64_t size)
{
	struct rec *r = ctx;
	int e = rec_push(r, (struct rec_call){ REC_UNMAP, asid, 0, iova, size,
					       NULL });

	if (!e) {
		ck_assert_uint_gt(r->live, 0);
		r->live--;
	}
	return e;
}

static int rec_begin(void *ctx, uint32_t asid)
{
	return rec_push(ctx, (struct rec_call){ .kind = REC_BEGIN, .asid = asid });
}

static int rec_end(void *ctx, uint32_t asid)
{
	return rec_push(ctx, (struct rec_call){ .kind = REC_END, .asid = asid });
}

static const struct vdpastate_transport_ops rec_ops = {
	.dma_map = rec_map,
	.dma_unmap = rec_unmap,
	.dma_batch_begin = rec_begin,
	.dma_batch_end = rec_end,
};

struct svq_env {
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	struct vdpastate_svq *svq;
	struct vdpastate_svq_shadow sh;
};

static void svq_env_init(struct svq_env *e)
{
	VDPASTATE_OPTS(vdpastate_svq_opts, o,
		       .guest_features = 1ULL << VDPASTATE_F_VERSION_1,
		       .device_features = 1ULL << VDPASTATE_F_VERSION_1);

	e->mem = vdpastate_mem_new();
	e->iova = vdpastate_iova_new(0x1000, (1ULL << 48) - 1);
	ck_assert_ptr_nonnull(e->mem);
	ck_assert_ptr_nonnull(e->iova);
	e->svq = vdpastate_svq_new(256, e->mem, e->iova, &o);
	ck_assert_msg(e->svq != NULL, "svq_new: %s", vdpastate_last_error());
	e->sh.sz = sizeof(e->sh);
	ck_assert_int_eq(vdpastate_svq_get_shadow(e->svq, &e->sh), 0);
}

static void svq_env_fini(struct svq_env *e)
{
	vdpastate_svq_free(e->svq);
	vdpastate_iova_free(e->iova);
	vdpastate_mem_free(e->mem);
}

static void expect_call(const struct rec *r, unsigned int i,
			enum rec_kind kind, uint32_t asid, uint64_t iova,
			uint64_t size, void *hva, uint32_t perm)
{
	const struct rec_call *c = &r->call[i];

	ck_assert_uint_lt(i, r->n);
	ck_assert_msg(c->kind == kind, "call %u: kind %d, expected %d", i,
		      c->kind, kind);
	ck_assert_uint_eq(c->asid, asid);
	if (kind == REC_BEGIN || kind == REC_END)
		return;
	ck_assert_uint_eq(c->iova, iova);
	ck_assert_uint_eq(c->size, size);
	if (kind == REC_MAP) {
		ck_assert_ptr_eq(c->hva, hva);
		ck_assert_uint_eq(c->perm, perm);
	}
}

#define RO(e) (e)->sh.ro_iova, (e)->sh.ro_size, (e)->sh.ro_hva
#define RW(e) (e)->sh.rw_iova, (e)->sh.rw_size, (e)->sh.rw_hva
#define RD VDPASTATE_DMA_READ
#define RDWR (VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE)

START_TEST(map_svq_batched)
{
	struct svq_env e;
	struct rec r = { 0 };
	struct vdpastate_transport *t;

	svq_env_init(&e);
	t = vdpastate_transport_new(&rec_ops, sizeof(rec_ops), &r);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), 0);
	ck_assert_uint_eq(r.n, 4);
	expect_call(&r, 0, REC_BEGIN, 1, 0, 0, NULL, 0);
	expect_call(&r, 1, REC_MAP, 1, RO(&e), RD);
	expect_call(&r, 2, REC_MAP, 1, RW(&e), RDWR);
	expect_call(&r, 3, REC_END, 1, 0, 0, NULL, 0);
	ck_assert_uint_eq(r.live, 2);
	/* The ranges are what the SVQ's rings need. */
	ck_assert_uint_eq(e.sh.desc_iova, e.sh.ro_iova);
	ck_assert_uint_eq(e.sh.used_iova, e.sh.rw_iova);

	r.n = 0;
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 1, e.svq), 0);
	ck_assert_uint_eq(r.n, 4);
	expect_call(&r, 0, REC_BEGIN, 1, 0, 0, NULL, 0);
	expect_call(&r, 1, REC_UNMAP, 1, RW(&e), 0);
	expect_call(&r, 2, REC_UNMAP, 1, RO(&e), 0);
	expect_call(&r, 3, REC_END, 1, 0, 0, NULL, 0);
	ck_assert_uint_eq(r.live, 0);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

/*
 * The counts of a transport that is not vhost-vdpa: the dma calls that
 * succeeded (a failed one and a refused argument add nothing); the
 * replay counts stay 0.  NULL arguments are refused.
 */
START_TEST(stats_count_calls)
{
	VDPASTATE_OPTS(vdpastate_transport_stats, st);
	struct svq_env e;
	struct rec r = { 0 };
	struct vdpastate_transport *t;
	static uint8_t page[4096];

	svq_env_init(&e);
	t = vdpastate_transport_new(&rec_ops, sizeof(rec_ops), &r);
	ck_assert_int_eq(vdpastate_transport_get_stats(t, &st), 0);
	ck_assert_uint_eq(st.dma_maps + st.dma_unmaps + st.batches, 0);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), 0);
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x10000, 4096, page,
						     VDPASTATE_DMA_READ),
			 0);
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x10000, 0, page,
						     VDPASTATE_DMA_READ),
			 -EINVAL);
	ck_assert_int_eq(vdpastate_transport_dma_unmap(t, 0, 0x10000, 4096), 0);
	ck_assert_int_eq(vdpastate_transport_get_stats(t, &st), 0);
	ck_assert_uint_eq(st.dma_maps, 3);
	ck_assert_uint_eq(st.dma_unmaps, 1);
	ck_assert_uint_eq(st.batches, 1);
	ck_assert_uint_eq(st.replays, 0);
	ck_assert_uint_eq(st.replayed_maps, 0);
	ck_assert_uint_eq(st.sz, sizeof(st));
	ck_assert_int_eq(vdpastate_transport_get_stats(NULL, &st), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_get_stats(t, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 1, e.svq), 0);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

START_TEST(map_svq_unbatched)
{
	struct svq_env e;
	struct rec r = { 0 };
	struct vdpastate_transport_ops ops = rec_ops;
	struct vdpastate_transport *t;

	/* Only one of the pair: the transport does not batch. */
	ops.dma_batch_end = NULL;
	svq_env_init(&e);
	t = vdpastate_transport_new(&ops, sizeof(ops), &r);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, e.svq), 0);
	ck_assert_uint_eq(r.n, 2);
	expect_call(&r, 0, REC_MAP, 0, RO(&e), RD);
	expect_call(&r, 1, REC_MAP, 0, RW(&e), RDWR);
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, e.svq), 0);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_uint_eq(r.live, 0);
	vdpastate_transport_free(t);

	/* No dma_unmap: map_svq could not roll back, so it refuses. */
	ops = rec_ops;
	ops.dma_unmap = NULL;
	r.n = 0;
	t = vdpastate_transport_new(&ops, sizeof(ops), &r);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, e.svq), -EOPNOTSUPP);
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, e.svq),
			 -EOPNOTSUPP);
	ck_assert_uint_eq(r.n, 0);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

START_TEST(map_svq_rollback)
{
	struct svq_env e;
	struct rec r = { 0 };
	struct vdpastate_transport *t;

	svq_env_init(&e);
	t = vdpastate_transport_new(&rec_ops, sizeof(rec_ops), &r);

	/* The used-ring map (3rd call) fails: the first is undone inside
	 * the batch, which is then closed. */
	r.fail_mask = 1u << 3;
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EIO);
	ERRMSG_HAS("map_svq asid 1: dma_map of the used range: Input/output");
	ck_assert_uint_eq(r.n, 5);
	expect_call(&r, 3, REC_UNMAP, 1, RO(&e), 0);
	expect_call(&r, 4, REC_END, 1, 0, 0, NULL, 0);
	ck_assert_uint_eq(r.live, 0);

	/* The first map fails: nothing to undo, the batch is closed. */
	r = (struct rec){ .fail_mask = 1u << 2 };
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EIO);
	ck_assert_uint_eq(r.n, 3);
	expect_call(&r, 2, REC_END, 1, 0, 0, NULL, 0);
	ck_assert_uint_eq(r.live, 0);

	/* batch_begin fails: no map at all. */
	r = (struct rec){ .fail_mask = 1u << 1 };
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EIO);
	ERRMSG_HAS("dma_batch_begin");
	ck_assert_uint_eq(r.n, 1);

	/* batch_end fails: both maps are undone, outside a batch. */
	r = (struct rec){ .fail_mask = 1u << 4 };
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EIO);
	ERRMSG_HAS("dma_batch_end");
	ck_assert_uint_eq(r.n, 6);
	expect_call(&r, 4, REC_UNMAP, 1, RW(&e), 0);
	expect_call(&r, 5, REC_UNMAP, 1, RO(&e), 0);
	ck_assert_uint_eq(r.live, 0);

	/* The undo fails too: said so, and what stays mapped is counted. */
	r = (struct rec){ .fail_mask = 1u << 3 | 1u << 4 };
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EIO);
	ERRMSG_HAS("dma_map of the used range: Input/output error (undoing");
	ERRMSG_HAS("mappings may remain");
	ck_assert_uint_eq(r.live, 1);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

START_TEST(unmap_svq_keeps_going)
{
	struct svq_env e;
	struct rec r = { 0 };
	struct vdpastate_transport *t;

	svq_env_init(&e);
	t = vdpastate_transport_new(&rec_ops, sizeof(rec_ops), &r);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, e.svq), 0);
	/* The first unmap fails: the second is still done, the batch
	 * closed, the first failure reported. */
	r.n = 0;
	r.fail_mask = 1u << 2;
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, e.svq), -EIO);
	ERRMSG_HAS("unmap_svq asid 0: dma_unmap of the used range");
	ck_assert_uint_eq(r.n, 4);
	expect_call(&r, 2, REC_UNMAP, 0, RO(&e), 0);
	expect_call(&r, 3, REC_END, 0, 0, 0, NULL, 0);
	ck_assert_uint_eq(r.live, 1);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

/* A map_svq through the fake device lands in its IOTLB. */
START_TEST(map_svq_fake)
{
	struct svq_env e;
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t =
		vdpastate_transport_new(&fake_ops, OPS_SZ, d);

	svq_env_init(&e);
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, e.svq), 0);
	ck_assert_uint_eq(d->nmaps, 2);
	ck_assert_uint_eq(d->map[0].perm, RD);
	ck_assert_uint_eq(d->map[1].perm, RDWR);
	ck_assert(!d->in_batch);
	/* Twice: the device refuses the overlap, nothing else changes. */
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 0, e.svq), -EEXIST);
	ck_assert_uint_eq(d->nmaps, 2);
	ck_assert(!d->in_batch);
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, e.svq), 0);
	ck_assert_uint_eq(d->nmaps, 0);
	/* ASID 1 without IOTLB_ASID acked: refused, nothing mapped. */
	ck_assert_int_eq(vdpastate_transport_map_svq(t, 1, e.svq), -EINVAL);
	ck_assert_uint_eq(d->nmaps, 0);
	vdpastate_transport_free(t);
	svq_env_fini(&e);
}
END_TEST

/* ---------------------------------------------------------- vhost-vdpa */

static int fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

/* Opening path fails with errno e and a message holding each of want. */
static void vdpa_open_fails(const char *path,
			    const struct vdpastate_vhost_vdpa_opts *opts, int e,
			    const char *want1, const char *want2)
{
	int before = fd_count();

	errno = 0;
	ck_assert_ptr_null(vdpastate_transport_open_vhost_vdpa(path, opts));
	ck_assert_msg(errno == e, "%s: errno %d, expected %d (%s)",
		      path ? path : "NULL", errno, e, vdpastate_last_error());
	if (want1)
		ERRMSG_HAS(want1);
	if (want2)
		ERRMSG_HAS(want2);
	ck_assert_int_eq(fd_count(), before);
}

START_TEST(vdpa_no_device)
{
	vdpa_open_fails("/nonexistent/vhost-vdpa-99", NULL, ENOENT,
			"vhost-vdpa /nonexistent/vhost-vdpa-99: open: ",
			"No such file");
	vdpa_open_fails(NULL, NULL, EINVAL, "no device path", NULL);
	vdpa_open_fails("", NULL, EINVAL, "no device path", NULL);
}
END_TEST

START_TEST(vdpa_not_vhost_vdpa)
{
	char tmpl[] = "/tmp/vds-transport-XXXXXX";
	char dir[] = "/tmp/vds-transport-dir-XXXXXX";
	int fd = mkstemp(tmpl);

	vdpa_open_fails("/dev/null", NULL, ENOTTY,
			"vhost-vdpa /dev/null: not a vhost-vdpa device",
			"VHOST_VDPA_GET_DEVICE_ID");
	/* A regular file. */
	ck_assert_int_ge(fd, 0);
	close(fd);
	vdpa_open_fails(tmpl, NULL, ENOTTY, "not a vhost-vdpa device",
			"not a character device");
	unlink(tmpl);
	/* A directory. */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	vdpa_open_fails(dir, NULL, EISDIR, dir, "open: Is a directory");
	rmdir(dir);
}
END_TEST

START_TEST(vdpa_bad_options)
{
	struct {
		struct vdpastate_vhost_vdpa_opts o;
		uint64_t future;
	} big = { { .sz = sizeof(big) }, 1 };
	VDPASTATE_OPTS(vdpastate_vhost_vdpa_opts, ok);
	char longpath[400];

	vdpa_open_fails("/dev/null", &big.o, EINVAL,
			"vdpastate_vhost_vdpa_opts", NULL);
	/* A zero tail and the exact size are fine: the device is what fails. */
	big.future = 0;
	vdpa_open_fails("/dev/null", &big.o, ENOTTY, "not a vhost-vdpa", NULL);
	vdpa_open_fails("/dev/null", &ok, ENOTTY, "not a vhost-vdpa", NULL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	vdpa_open_fails(longpath, NULL, ENAMETOOLONG, "path longer", NULL);
}
END_TEST

/*
 * The kernel answers EFAULT for every refused IOTLB message, an overlap
 * included (found on Linux 6.1 in the VM stage); the transport records
 * what the kernel accepted to report an overlap as -EEXIST.
 */
START_TEST(vdpa_maps_record)
{
	struct vds_vdpa_maps m = { 0 };
	const struct vds_vdpa_range *o;
	uint64_t i;

	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0, UINT64_MAX));
	ck_assert_int_eq(vds_vdpa_maps_add(&m, 0x5000, 0x5fff, 0, 0), 0);
	ck_assert_int_eq(vds_vdpa_maps_add(&m, 0x1000, 0x2fff, 0, 0), 0);
	ck_assert_int_eq(vds_vdpa_maps_add(&m, 0x9000, 0x9fff, 0, 0), 0);
	/* Inside, over either end, around, and the gaps between. */
	o = vds_vdpa_maps_overlap(&m, 0x2000, 0x2000);
	ck_assert(o && o->first == 0x1000 && o->last == 0x2fff);
	o = vds_vdpa_maps_overlap(&m, 0x4000, 0x5000);
	ck_assert(o && o->first == 0x5000);
	o = vds_vdpa_maps_overlap(&m, 0x5fff, 0x8000);
	ck_assert(o && o->first == 0x5000);
	o = vds_vdpa_maps_overlap(&m, 0, UINT64_MAX);
	ck_assert(o && o->first == 0x1000);
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0x3000, 0x4fff));
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0x6000, 0x8fff));
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0xa000, UINT64_MAX));
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0, 0xfff));
	/* An invalidate drops every range it touches, whole. */
	vds_vdpa_maps_remove(&m, 0x2fff, 0x5000);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0, 0x8fff));
	ck_assert_ptr_nonnull(vds_vdpa_maps_overlap(&m, 0x9800, 0x9800));
	vds_vdpa_maps_remove(&m, 0, 0x8fff); /* touches nothing */
	ck_assert_uint_eq(m.n, 1);
	vds_vdpa_maps_remove(&m, 0x9fff, 0x9fff);
	ck_assert_uint_eq(m.n, 0);
	/* Many, added out of order, stay sorted. */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(vds_vdpa_maps_add(&m, ((i * 7919) % 1000) * 0x2000,
						   ((i * 7919) % 1000) * 0x2000 + 0xfff,
						   0, 0),
				 0);
	for (i = 1; i < m.n; i++)
		ck_assert_uint_gt(m.r[i].first, m.r[i - 1].last);
	ck_assert_ptr_null(vds_vdpa_maps_overlap(&m, 0x1000, 0x1fff));
	o = vds_vdpa_maps_overlap(&m, 0x1000, 0x2000);
	ck_assert(o && o->first == 0x2000);
	vds_vdpa_maps_fini(&m);
	ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(vdpa_backend_bits)
{
	unsigned int b;

	/* The library's bits are the kernel's VHOST_BACKEND_F_* (1 .. 5). */
	ck_assert_uint_eq(VDPASTATE_BACKEND_F_IOTLB_MSG_V2, 1);
	ck_assert_uint_eq(VDPASTATE_BACKEND_F_RESUME, 5);
	ck_assert_uint_eq(VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK, 6);
	ck_assert_uint_eq(VDPASTATE_BACKEND_F_DESC_ASID, 7);
	ck_assert_uint_eq(VDPASTATE_BACKEND_F_IOTLB_PERSIST, 8);
	for (b = VDPASTATE_BACKEND_F_IOTLB_MSG_V2;
	     b <= VDPASTATE_BACKEND_F_IOTLB_PERSIST; b++) {
		if (b == VDPASTATE_BACKEND_F_DESC_ASID)
			continue;
		ck_assert_uint_eq(vds_vdpa_backend_to_kernel(1ULL << b), 1ULL << b);
		ck_assert_uint_eq(vds_vdpa_backend_from_kernel(1ULL << b), 1ULL << b);
	}
	/* Bits the library does not ack (yet) are dropped both ways. */
	ck_assert_uint_eq(vds_vdpa_backend_from_kernel((1ULL << 0) |
						       (1ULL << 7) | (1ULL << 9)),
			  0);
	ck_assert_uint_eq(vds_vdpa_backend_to_kernel((1ULL << 0) | (1ULL << 7)), 0);
}
END_TEST

/*
 * A device on user virtual addresses: vhost-vdpa maps only shared
 * mappings of files for it and skips the rest.  vds_mem_shared() tells
 * them apart from /proc/self/maps; the vhost-vdpa transport refuses a map
 * it would skip with it.
 */
START_TEST(vdpa_shared_memory)
{
	const size_t pg = 4096;
	uint8_t *sh = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *pr = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *heap = malloc(3 * pg);
	void *d = vds_dma_alloc(2 * pg);

	ck_assert(sh != MAP_FAILED && pr != MAP_FAILED && heap && d);
	ck_assert_int_eq(vds_mem_shared(sh, 3 * pg), 1);
	ck_assert_int_eq(vds_mem_shared(sh + 10, pg), 1);
	ck_assert_int_eq(vds_mem_shared(pr, pg), 0);
	ck_assert_int_eq(vds_mem_shared(heap, 3 * pg), 0);
	ck_assert_int_eq(vds_mem_shared(d, 2 * pg), 1);
	/* The middle page of the private range made shared: only it is. */
	ck_assert(mmap(pr + pg, pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == pr + pg);
	ck_assert_int_eq(vds_mem_shared(pr + pg, pg), 1);
	ck_assert_int_eq(vds_mem_shared(pr + pg, 2 * pg), 0);
	ck_assert_int_eq(vds_mem_shared(pr, 2 * pg), 0);
	/* A hole after a shared page. */
	ck_assert_int_eq(munmap(sh + 2 * pg, pg), 0);
	ck_assert_int_eq(vds_mem_shared(sh, 2 * pg), 1);
	ck_assert_int_eq(vds_mem_shared(sh, 3 * pg), 0);
	munmap(sh, 2 * pg);
	munmap(pr, 3 * pg);
	free(heap);
	vds_dma_free(d, 2 * pg);
}
END_TEST

/* A device on user virtual addresses, modelled: a map of memory that is
 * not shared would be skipped by vhost-vdpa, so it fails here. */
static int va_dma_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		      void *hva, uint32_t perm)
{
	if (vds_mem_shared(hva, size) != 1)
		return vds_fail(-EFAULT, "va device: [%p, +0x%llx] is not shared "
				"memory", hva, (unsigned long long)size);
	return passthru_ops.dma_map(ctx, asid, iova, size, hva, perm);
}

/* What the library maps of its own (the handle's control ring, an SVQ's
 * shadow ring) is shared memory, which such a device can use. */
START_TEST(vdpa_library_memory_shared)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .flags = VDPASTATE_SIM_F_THREAD);
	struct vdpastate_transport_ops ops = passthru_ops;
	struct vdpastate_transport *sim = vdpastate_sim_new(&so), *t;
	struct vdpastate_mem *mem = vdpastate_mem_new();
	struct vdpastate_iova *iova = vdpastate_iova_new(0, UINT64_MAX);
	struct vdpastate_svq *svq;
	struct vdpastate_dev *dev;
	uint64_t f = 0;

	ck_assert(sim && mem && iova);
	ops.dma_map = va_dma_map;
	t = vdpastate_transport_new(&ops, sizeof(ops), sim);
	ck_assert_ptr_nonnull(t);
	dev = vdpastate_dev_open(t, NULL);
	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(vdpastate_transport_get_device_features(t, &f), 0);
	ck_assert_msg(vdpastate_dev_start(dev, f & ((1ULL << VDPASTATE_F_VERSION_1) |
						 (1ULL << VDPASTATE_NET_F_CTRL_VQ) |
						 (1ULL << VDPASTATE_NET_F_MAC))) == 0,
		      "%s", vdpastate_last_error());
	svq = vdpastate_svq_new(64, mem, iova, NULL);
	ck_assert_ptr_nonnull(svq);
	ck_assert_msg(vdpastate_transport_map_svq(t, 0, svq) == 0, "%s",
		      vdpastate_last_error());
	ck_assert_int_eq(vdpastate_transport_unmap_svq(t, 0, svq), 0);
	vdpastate_svq_free(svq);
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
	vdpastate_transport_free(sim);
	vdpastate_iova_free(iova);
	vdpastate_mem_free(mem);
}
END_TEST

Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("handle");

	tcase_add_test(tc, new_args);
	tcase_add_test(tc, named_and_close_once);
	tcase_add_loop_test(tc, missing_each_op, 0, NOPS);
	tcase_add_test(tc, short_table);
	tcase_add_test(tc, long_table);
	tcase_add_test(tc, null_handle);
	tcase_add_test(tc, null_outputs);
	tcase_add_test(tc, failure_messages);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, reset_checks_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("svq");
	tcase_add_test(tc, map_svq_batched);
	tcase_add_test(tc, stats_count_calls);
	tcase_add_test(tc, map_svq_unbatched);
	tcase_add_test(tc, map_svq_rollback);
	tcase_add_test(tc, unmap_svq_keeps_going);
	tcase_add_test(tc, map_svq_fake);
	suite_add_tcase(s, tc);

	tc = tcase_create("vhost-vdpa");
	tcase_add_test(tc, vdpa_no_device);
	tcase_add_test(tc, vdpa_not_vhost_vdpa);
	tcase_add_test(tc, vdpa_bad_options);
	tcase_add_test(tc, vdpa_backend_bits);
	tcase_add_test(tc, vdpa_maps_record);
	tcase_add_test(tc, vdpa_shared_memory);
	tcase_add_test(tc, vdpa_library_memory_shared);
	suite_add_tcase(s, tc);

	tc = tcase_create("conformance");
	tcase_add_loop_test(tc, conformance, 0,
			    (int)(NSUBJECTS * vds_tc_count()));
	tcase_add_test(tc, conformance_catches);
	suite_add_tcase(s, tc);
	return s;
}
