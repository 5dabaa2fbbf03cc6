/* SPDX-License-Identifier: MIT */
/*
 * tests/check_dev.c - the device handle against simulated devices: random
 * command sequences on a source migrated to a destination (full and early
 * restore), every answer the device can give (ERR, none), every transport
 * call failing at every step of a restore, the compatibility report, a
 * custom transport, batching, and bad input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvdpastate/libvdpastate.h>

#include "bytes.h"
#include "crc32c.h"
#include "fake_transport.h"
#include "internal.h"
#include "passthru_transport.h"
#include "ring.h"
#include "suites.h"
#include "tests_rand.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
#define RING_F (RB(VERSION_1) | RB(ACCESS_PLATFORM) | RB(EVENT_IDX) | \
		RB(INDIRECT_DESC))
#define ST_ALL                                                        \
	(VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER |      \
	 VDPASTATE_STATUS_FEATURES_OK | VDPASTATE_STATUS_DRIVER_OK)
#define PAIRS 4

struct side {
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
};

static void side_open(struct side *s, struct vdpastate_sim_opts *o,
		      const struct vdpastate_dev_opts *dopts)
{
	s->t = vdpastate_sim_new(o);
	ck_assert_msg(s->t != NULL, "%s", vdpastate_last_error());
	s->sim = vdpastate_sim_from_transport(s->t);
	s->dev = vdpastate_dev_open(s->t, dopts);
	ck_assert_msg(s->dev != NULL, "%s", vdpastate_last_error());
}

static void side_new(struct side *s, uint16_t pairs)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = pairs);

	side_open(s, &o, NULL);
}

static void side_free(struct side *s)
{
	vdpastate_dev_free(s->dev);
	vdpastate_transport_free(s->t);
}

static uint8_t status_of(struct side *s)
{
	uint8_t st = 0xee;

	ck_assert_int_eq(vdpastate_transport_get_status(s->t, &st), 0);
	return st;
}

/* Random features: the ring bits and CTRL_VQ always, the rest by chance. */
static uint64_t rand_features(struct vds_rand *r, struct side *s)
{
	uint64_t offered, f;

	ck_assert_int_eq(vdpastate_transport_get_device_features(s->t, &offered), 0);
	f = offered & (VDS_TEST_FEATURES | RING_F);
	/* MQ stays: the sim keeps its control queue at 2 * max pairs. */
	f &= ~((uint64_t)vds_rand(r) &
	       (FB(RSS) | FB(CTRL_VLAN) | FB(CTRL_RX_EXTRA) |
		FB(NOTF_COAL) | FB(VQ_NOTF_COAL) | RB(EVENT_IDX)));
	return f;
}

/* n random commands the tracked state accepts, sent through the handle. */
static void drive(struct vds_rand *r, struct side *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct vdpastate_netstate *ns = vdpastate_dev_netstate(s->dev);
		struct vdpastate_netstate *model = vdpastate_netstate_copy(ns);
		struct vdpastate_cvq_cmd *c = vds_test_rand_cmd(r, ns);

		ck_assert_ptr_nonnull(c);
		if (vdpastate_netstate_apply(model, c) == 0) {
			int e = vdpastate_dev_send(s->dev, c);

			ck_assert_msg(e == 0, "send %s: %s",
				      vdpastate_cvq_cmd_name(c),
				      vdpastate_last_error());
			ck_assert(vdpastate_netstate_equal(model,
							   vdpastate_dev_netstate(s->dev)));
		} else {
			/* Refused by the model: refused by the handle, unsent. */
			ck_assert_int_lt(vdpastate_dev_send(s->dev, c), 0);
		}
		vdpastate_cvq_cmd_free(c);
		vdpastate_netstate_free(model);
	}
}

/* Random bases on the (not enabled) data queues of the source, set while
 * it is suspended (a device past DRIVER_OK takes a base only then). */
static void rand_bases(struct vds_rand *r, struct side *s, uint32_t *bases)
{
	uint32_t i;

	ck_assert_int_eq(vdpastate_transport_suspend(s->t), 0);
	for (i = 0; i < 2 * PAIRS; i++) {
		bases[i] = vds_rand(r) & 0xffff;
		ck_assert_int_eq(vdpastate_transport_set_vring_base(s->t, i, bases[i]),
				 0);
	}
	ck_assert_int_eq(vdpastate_transport_resume(s->t), 0);
}

static void assert_same_device(struct side *a, struct side *b)
{
	struct vdpastate_netstate *x = vdpastate_sim_netstate(a->sim);
	struct vdpastate_netstate *y = vdpastate_sim_netstate(b->sim);

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_msg(vdpastate_netstate_equal(x, y), "destination differs");
	ck_assert(vdpastate_netstate_equal(y, vdpastate_dev_netstate(b->dev)));
	vdpastate_netstate_free(x);
	vdpastate_netstate_free(y);
	ck_assert_uint_eq(status_of(b), ST_ALL);
}

/* Save through the wire form, as a migration stream carries it. */
static struct vdpastate_blob *save_wire(struct side *s)
{
	struct vdpastate_blob *b = vdpastate_blob_new(), *w = vdpastate_blob_new();
	long len;
	void *buf;

	ck_assert_msg(vdpastate_dev_save(s->dev, b) == 0, "%s",
		      vdpastate_last_error());
	len = vdpastate_blob_save(b, NULL, 0);
	if (len < 0) {
		size_t cap = 1 << 20;

		buf = malloc(cap);
		len = vdpastate_blob_save(b, buf, cap);
	} else {
		buf = malloc((size_t)len);
		len = vdpastate_blob_save(b, buf, (size_t)len);
	}
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(vdpastate_blob_load(w, buf, (size_t)len), 0);
	free(buf);
	vdpastate_blob_free(b);
	/* The source goes on after a cancelled migration. */
	ck_assert_int_eq(vdpastate_transport_resume(s->t), 0);
	return w;
}

static void assert_bases(struct side *s, const uint32_t *bases)
{
	uint32_t i, b;

	for (i = 0; i < 2 * PAIRS; i++) {
		ck_assert_int_eq(vdpastate_transport_get_vring_base(s->t, i, &b), 0);
		ck_assert_uint_eq(b, bases[i]);
	}
}

static void assert_compatible(struct side *s, const struct vdpastate_blob *b)
{
	struct vdpastate_dev_report *rep = NULL;

	ck_assert_int_eq(vdpastate_dev_check(s->dev, b, &rep), 0);
	ck_assert_msg(vdpastate_dev_report_count(rep) == 0, "%s",
		      vdpastate_dev_report_get(rep, 0, NULL));
	vdpastate_dev_report_free(rep);
}

START_TEST(migrate_property)
{
	unsigned long n = vds_test_cases(1000), k;
	struct vds_rand r = vds_rand_seed(7);

	if (n < 1000)
		n = 1000;
	for (k = 0; k < n; k++) {
		struct side src, dst;
		struct vdpastate_blob *b;
		uint32_t bases[2 * PAIRS];

		side_new(&src, PAIRS);
		side_new(&dst, PAIRS);
		ck_assert_int_eq(vdpastate_dev_start(src.dev, rand_features(&r, &src)),
				 0);
		drive(&r, &src, vds_rand(&r) % 24);
		rand_bases(&r, &src, bases);
		b = save_wire(&src);
		assert_compatible(&dst, b);
		ck_assert_msg(vdpastate_dev_restore(dst.dev, b) == 0, "case %lu: %s",
			      k, vdpastate_last_error());
		assert_same_device(&src, &dst);
		assert_bases(&dst, bases);
		vdpastate_blob_free(b);
		side_free(&src);
		side_free(&dst);
	}
}
END_TEST

START_TEST(early_restore_property)
{
	unsigned long n = vds_test_cases(1000), k;
	struct vds_rand r = vds_rand_seed(11);
	unsigned long reloads = 0;

	if (n < 1000)
		n = 1000;
	for (k = 0; k < n; k++) {
		VDPASTATE_OPTS(vdpastate_dev_stats, st);
		struct side src, dst;
		struct vdpastate_blob *b1, *b2;
		uint32_t bases[2 * PAIRS];
		bool restart = vds_rand(&r) % 8 == 0;

		side_new(&src, PAIRS);
		side_new(&dst, PAIRS);
		ck_assert_int_eq(vdpastate_dev_start(src.dev, rand_features(&r, &src)),
				 0);
		drive(&r, &src, vds_rand(&r) % 16);
		b1 = save_wire(&src);
		ck_assert_msg(vdpastate_dev_restore_begin(dst.dev, b1) == 0, "%s",
			      vdpastate_last_error());
		/* Data queues stay off until commit. */
		ck_assert_int_eq(vdpastate_dev_restore_begin(dst.dev, b1),
				 -EALREADY);
		if (restart) {
			/* The source renegotiated: a delta cannot carry that. */
			uint64_t f = vdpastate_netstate_features(
				vdpastate_dev_netstate(src.dev));

			ck_assert_int_eq(vdpastate_dev_start(src.dev,
							     f ^ FB(CTRL_VLAN)), 0);
		}
		drive(&r, &src, vds_rand(&r) % 16);
		rand_bases(&r, &src, bases);
		b2 = save_wire(&src);
		ck_assert_msg(vdpastate_dev_restore_commit(dst.dev, b2) == 0, "%s",
			      vdpastate_last_error());
		assert_same_device(&src, &dst);
		assert_bases(&dst, bases);
		ck_assert_int_eq(vdpastate_dev_restore_commit(dst.dev, b2), -ENOENT);
		ck_assert_int_eq(vdpastate_dev_get_stats(dst.dev, &st), 0);
		reloads += st.full_reloads;
		if (!restart)
			ck_assert_uint_eq(st.full_reloads, 0);
		vdpastate_blob_free(b1);
		vdpastate_blob_free(b2);
		side_free(&src);
		side_free(&dst);
	}
	/* Some restarts kept the features by chance; most did not. */
	ck_assert_uint_gt(reloads, 0);
}
END_TEST

/* A saved state with some of everything, from a driven source. */
static struct vdpastate_blob *rich_blob(struct side *src, unsigned int vlans)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct vdpastate_cvq_cmd *c;
	uint64_t offered;
	unsigned int i;
	struct vdpastate_blob *b;

	ck_assert_int_eq(vdpastate_transport_get_device_features(src->t, &offered), 0);
	ck_assert_int_eq(vdpastate_dev_start(src->dev, offered), 0);
	c = vdpastate_cvq_cmd_mac_addr_set(mac);
	ck_assert_int_eq(vdpastate_dev_send(src->dev, c), 0);
	vdpastate_cvq_cmd_free(c);
	c = vdpastate_cvq_cmd_mq_vq_pairs_set(2);
	ck_assert_int_eq(vdpastate_dev_send(src->dev, c), 0);
	vdpastate_cvq_cmd_free(c);
	for (i = 0; i < vlans; i++) {
		c = vdpastate_cvq_cmd_vlan_add((uint16_t)(4095 - i));
		ck_assert_int_eq(vdpastate_dev_send(src->dev, c), 0);
		vdpastate_cvq_cmd_free(c);
	}
	b = vdpastate_blob_new();
	ck_assert_int_eq(vdpastate_dev_save(src->dev, b), 0);
	return b;
}

/* The fault is gone: the same handle restores; then clean up. */
static void restore_and_finish(struct side *src, struct side *dst,
			       struct vdpastate_blob *b)
{
	ck_assert_int_eq(vdpastate_dev_restore(dst->dev, b), 0);
	ck_assert_int_eq(vdpastate_transport_resume(src->t), 0);
	assert_same_device(src, dst);
	vdpastate_blob_free(b);
	side_free(src);
	side_free(dst);
}

START_TEST(err_ack_names_command)
{
	struct side src, dst;
	struct vdpastate_blob *b;

	side_new(&src, PAIRS);
	side_new(&dst, PAIRS);
	b = rich_blob(&src, 3);
	ck_assert_int_eq(vdpastate_sim_cvq_err(dst.sim, true, VDPASTATE_CVQ_VLAN,
					       VDPASTATE_CVQ_VLAN_ADD), 0);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), -EIO);
	ck_assert_msg(strstr(vdpastate_last_error(), "VLAN_ADD vid 409") &&
		      strstr(vdpastate_last_error(), "VIRTIO_NET_ERR"),
		      "%s", vdpastate_last_error());
	ck_assert_uint_eq(status_of(&dst), 0);
	ck_assert_ptr_null(vdpastate_dev_netstate(dst.dev));
	/* The same handle restores once the device behaves. */
	ck_assert_int_eq(vdpastate_sim_cvq_err(dst.sim, false, VDPASTATE_SIM_ANY,
					       VDPASTATE_SIM_ANY), 0);
	restore_and_finish(&src, &dst, b);
}
END_TEST

START_TEST(timeout_when_device_hangs)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS,
		       .flags = (uint32_t)(_i ? VDPASTATE_SIM_F_THREAD : 0));
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_timeout_ms = 50);
	struct side src, dst;
	struct vdpastate_blob *b;
	struct timespec t0, t1;
	double s;

	side_new(&src, PAIRS);
	side_open(&dst, &o, &d);
	b = rich_blob(&src, 2);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(dst.sim, true), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(s >= 0.045, "took %.3f s", s);
	ck_assert_msg(strstr(vdpastate_last_error(), "MAC_ADDR_SET") != NULL, "%s",
		      vdpastate_last_error());
	ck_assert_uint_eq(status_of(&dst), 0);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(dst.sim, false), 0);
	restore_and_finish(&src, &dst, b);
}
END_TEST

/* Fail transport call nth of a restore, for every n: clean error, reset. */
static void fail_every_call(bool early)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);
	struct side src, dst;
	struct vdpastate_blob *b;
	unsigned int nth, failures = 0;

	side_new(&src, PAIRS);
	side_new(&dst, PAIRS);
	b = rich_blob(&src, 40);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	for (nth = 1;; nth++) {
		uint64_t failed_before;
		int err;

		ck_assert_int_eq(vdpastate_sim_get_stats(dst.sim, &st), 0);
		failed_before = st.calls_failed;
		ck_assert_int_eq(vdpastate_sim_fail_call(dst.sim, nth, -EIO), 0);
		if (early) {
			err = vdpastate_dev_restore_begin(dst.dev, b);
			if (!err)
				err = vdpastate_dev_restore_commit(dst.dev, b);
		} else {
			err = vdpastate_dev_restore(dst.dev, b);
		}
		ck_assert_int_eq(vdpastate_sim_fail_call(dst.sim, 0, -EIO), 0);
		ck_assert_int_eq(vdpastate_sim_get_stats(dst.sim, &st), 0);
		if (st.calls_failed == failed_before) {
			ck_assert_int_eq(err, 0);
			break; /* nth lies beyond the last call */
		}
		if (err) {
			failures++;
			ck_assert_msg(*vdpastate_last_error(), "no message");
			ck_assert_uint_eq(status_of(&dst), 0);
		} else {
			/* A call whose failure cannot matter (an unmap). */
			assert_same_device(&src, &dst);
		}
	}
	ck_assert_uint_gt(nth, 30);
	ck_assert_uint_gt(failures, 20);
	assert_same_device(&src, &dst);
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}

START_TEST(fail_every_call_restore)
{
	fail_every_call(false);
}
END_TEST

START_TEST(fail_every_call_early)
{
	fail_every_call(true);
}
END_TEST

static bool has_kind(struct vdpastate_dev_report *r, enum vdpastate_dev_problem k,
		     const char *text)
{
	size_t i;

	for (i = 0; i < vdpastate_dev_report_count(r); i++) {
		enum vdpastate_dev_problem kk;
		const char *m = vdpastate_dev_report_get(r, i, &kk);

		if (kk == k && strstr(m, text))
			return true;
	}
	return false;
}

START_TEST(compat_report)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = 2,
		       .max_ring_size = 64, .mtu = 9000);
	VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = 256, .kick_fd = -1,
		       .call_fd = -1);
	struct vdpastate_dev_report *rep = NULL;
	struct side src, dst;
	struct vdpastate_blob *b;
	uint64_t offered;

	side_new(&src, PAIRS);
	/* A ring the destination cannot hold (configured, never enabled:
	 * its address is not mapped, so only its size matters here). */
	ck_assert_int_eq(vdpastate_dev_set_vring(src.dev, 3, &vr), 0);
	ck_assert_int_eq(vdpastate_transport_get_device_features(src.t, &offered),
			 0);
	ck_assert_int_eq(vdpastate_dev_start(src.dev, offered & ~RB(EVENT_IDX)), -0);
	b = vdpastate_blob_new();
	ck_assert_int_eq(vdpastate_dev_save(src.dev, b), 0);

	o.device_features = offered & ~(FB(CTRL_VQ) | FB(CTRL_RX) | FB(CTRL_VLAN) |
					FB(CTRL_RX_EXTRA) | FB(CTRL_MAC_ADDR) |
					FB(CTRL_GUEST_OFFLOADS) | FB(RSS) |
					FB(GUEST_ANNOUNCE) | FB(NOTF_COAL) |
					FB(VQ_NOTF_COAL));
	side_open(&dst, &o, NULL);
	ck_assert_int_eq(vdpastate_dev_check(dst.dev, b, &rep), 0);
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_FEATURES, "RSS"));
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_FEATURES, "CTRL_VLAN"));
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_NO_CVQ, "CTRL_VQ"));
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_QUEUE_PAIRS, "4 queue pairs"));
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_MTU, "MTU 1500"));
	ck_assert(has_kind(rep, VDPASTATE_DEV_PROBLEM_RING_SIZE, "queue 3: ring "
			   "size 256 above the device maximum 64"));
	ck_assert_uint_eq(vdpastate_dev_report_count(rep), 5);
	ck_assert_ptr_null(vdpastate_dev_report_get(rep, 5, NULL));
	/* The check changed nothing on the device. */
	ck_assert_uint_eq(status_of(&dst), 0);
	vdpastate_dev_report_free(rep);
	/* Restore refuses with the missing bits named, device reset. */
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), -VDPASTATE_EINCOMPAT);
	ck_assert_msg(strstr(vdpastate_last_error(), "CTRL_VQ"), "%s",
		      vdpastate_last_error());
	ck_assert_uint_eq(status_of(&dst), 0);
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/*
 * A device the handle cannot run itself (a threaded sim behind a custom
 * transport, as a real device is) that answers a batch slowly, so the
 * handle reads part of it before it waits: it must be woken by the rest.
 * A liveness check, not a timing one: a lost wakeup waits out the 20 s
 * timeout once per batch, so the restore must simply end well before one
 * timeout has passed.
 */
START_TEST(no_lost_wakeup)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS,
		       .cvq_latency_ns = 20000, .flags = VDPASTATE_SIM_F_THREAD);
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_ring_size = 16,
		       .cvq_timeout_ms = 20000);
	VDPASTATE_OPTS(vdpastate_dev_stats, st);
	struct vdpastate_transport *inner = vdpastate_sim_new(&o);
	struct vdpastate_transport *t = vdpastate_transport_new(&passthru_ops,
							      sizeof(passthru_ops),
							      inner);
	struct vdpastate_dev *dev = vdpastate_dev_open(t, &d);
	struct side src;
	struct vdpastate_blob *b;
	struct timespec t0, t1;
	double secs;

	ck_assert_ptr_nonnull(dev);
	side_new(&src, PAIRS);
	b = rich_blob(&src, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(vdpastate_dev_restore(dev, b) == 0, "%s",
		      vdpastate_last_error());
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_int_eq(vdpastate_dev_get_stats(dev, &st), 0);
	ck_assert_uint_gt(st.cvq_batches, 10);
	ck_assert_msg(secs < 10, "restore of %llu batches took %.1f s: a lost "
		      "wakeup", (unsigned long long)st.cvq_batches, secs);
	vdpastate_blob_free(b);
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
	vdpastate_transport_free(inner);
	side_free(&src);
}
END_TEST

START_TEST(custom_transport)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS,
		       .flags = VDPASTATE_SIM_F_THREAD);
	struct vdpastate_transport *inner[2], *t[2];
	struct vdpastate_dev *dev[2];
	struct vds_rand r = vds_rand_seed(3);
	struct vdpastate_blob *b = vdpastate_blob_new();
	struct vdpastate_netstate *x, *y;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		inner[i] = vdpastate_sim_new(&o);
		t[i] = vdpastate_transport_new(&passthru_ops,
							      sizeof(passthru_ops), inner[i]);
		ck_assert_ptr_nonnull(t[i]);
		ck_assert_str_eq(vdpastate_transport_name(t[i]), "custom");
		dev[i] = vdpastate_dev_open(t[i], NULL);
		ck_assert_ptr_nonnull(dev[i]);
	}
	{
		struct side s = { t[0], vdpastate_sim_from_transport(inner[0]), dev[0] };
		uint64_t f;

		ck_assert_int_eq(vdpastate_transport_get_device_features(t[0], &f), 0);
		ck_assert_int_eq(vdpastate_dev_start(dev[0], f & (VDS_TEST_FEATURES |
								   RING_F)), 0);
		drive(&r, &s, 30);
	}
	ck_assert_int_eq(vdpastate_dev_save(dev[0], b), 0);
	ck_assert_msg(vdpastate_dev_restore(dev[1], b) == 0, "%s",
		      vdpastate_last_error());
	x = vdpastate_sim_netstate(vdpastate_sim_from_transport(inner[0]));
	y = vdpastate_sim_netstate(vdpastate_sim_from_transport(inner[1]));
	ck_assert(vdpastate_netstate_equal(x, y));
	vdpastate_netstate_free(x);
	vdpastate_netstate_free(y);
	vdpastate_blob_free(b);
	for (i = 0; i < 2; i++) {
		vdpastate_dev_free(dev[i]);
		vdpastate_transport_free(t[i]);
		vdpastate_transport_free(inner[i]);
	}
}
END_TEST

/* _i: cvq_max_inflight 0 (the ring's 8), 1, 3, 100 (more than the ring). */
START_TEST(batches_fill_the_ring)
{
	static const uint16_t inflight[] = { 0, 1, 3, 100 };
	static const unsigned int per[] = { 8, 1, 3, 8 };
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_ring_size = 16,
		       .cvq_max_inflight = inflight[_i]);
	VDPASTATE_OPTS(vdpastate_dev_stats, st);
	VDPASTATE_OPTS(vdpastate_dev_stats, st0);
	struct side src, dst;
	struct vdpastate_blob *b;
	struct vdpastate_cvq_cmdlist *l;
	size_t n;

	side_new(&src, PAIRS);
	side_open(&dst, &o, &d);
	b = rich_blob(&src, 100);
	ck_assert_int_eq(vdpastate_netstate_to_cmds(vdpastate_blob_netstate(b),
						    vdpastate_netstate_features(
							    vdpastate_blob_netstate(b)),
						    &l), 0);
	n = vdpastate_cvq_cmdlist_count(l);
	vdpastate_cvq_cmdlist_free(l);
	ck_assert_int_eq(vdpastate_dev_get_stats(dst.dev, &st0), 0);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), 0);
	ck_assert_int_eq(vdpastate_dev_get_stats(dst.dev, &st), 0);
	/* 16 entries, two descriptors a command: at most 8 per kick. */
	ck_assert_uint_eq(st.cvq_commands - st0.cvq_commands, n);
	ck_assert_uint_eq(st.cvq_batches - st0.cvq_batches,
			  (n + per[_i] - 1) / per[_i]);
	ck_assert_uint_gt(st.last_restore_ns, 0);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	assert_same_device(&src, &dst);
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/* The tracked state equals the device's own. */
static void assert_dev_equals_sim(struct side *s)
{
	struct vdpastate_netstate *x = vdpastate_sim_netstate(s->sim);

	ck_assert_ptr_nonnull(x);
	ck_assert(vdpastate_netstate_equal(x, vdpastate_dev_netstate(s->dev)));
	vdpastate_netstate_free(x);
}

/* A list of commands, pipelined, against the device's own state. */
START_TEST(send_list)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_ring_size = 16);
	VDPASTATE_OPTS(vdpastate_dev_stats, st0);
	VDPASTATE_OPTS(vdpastate_dev_stats, st);
	VDPASTATE_OPTS(vdpastate_sim_stats, ss0);
	VDPASTATE_OPTS(vdpastate_sim_stats, ss);
	struct vdpastate_cvq_cmd *c[20];
	struct vdpastate_netstate *before;
	struct side s;
	size_t i, answered = 99;
	uint64_t f;

	side_open(&s, &o, &d);
	ck_assert_int_eq(vdpastate_transport_get_device_features(s.t, &f), 0);
	ck_assert_int_eq(vdpastate_dev_start(s.dev, f & (VDS_TEST_FEATURES |
							   RING_F)),
			 0);
	for (i = 0; i < 20; i++)
		c[i] = vdpastate_cvq_cmd_vlan_add((uint16_t)(i + 1));
	/* 20 commands, 8 a batch on a ring of 16: 3 kicks. */
	ck_assert_int_eq(vdpastate_dev_get_stats(s.dev, &st0), 0);
	ck_assert_int_eq(vdpastate_dev_send_list(s.dev,
						 (const struct vdpastate_cvq_cmd *const *)c,
						 20, &answered),
			 0);
	ck_assert_uint_eq(answered, 20);
	ck_assert_int_eq(vdpastate_dev_get_stats(s.dev, &st), 0);
	ck_assert_uint_eq(st.cvq_batches - st0.cvq_batches, 3);
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(vdpastate_dev_netstate(s.dev)),
			  20);
	assert_dev_equals_sim(&s);
	for (i = 0; i < 20; i++)
		vdpastate_cvq_cmd_free(c[i]);

	/* One the state refuses (more pairs than the device has): nothing
	 * is sent. */
	for (i = 0; i < 20; i++)
		c[i] = i == 5 ? vdpastate_cvq_cmd_mq_vq_pairs_set(PAIRS + 1)
			      : vdpastate_cvq_cmd_vlan_add((uint16_t)(100 + i));
	before = vdpastate_netstate_copy(vdpastate_dev_netstate(s.dev));
	ck_assert_int_eq(vdpastate_sim_get_stats(s.sim, &ss0), 0);
	ck_assert_int_lt(vdpastate_dev_send_list(s.dev,
						 (const struct vdpastate_cvq_cmd *const *)c,
						 20, &answered),
			 0);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "command 5"));
	ck_assert_uint_eq(answered, 0);
	ck_assert_int_eq(vdpastate_sim_get_stats(s.sim, &ss), 0);
	ck_assert_uint_eq(ss.cvq_commands, ss0.cvq_commands);
	ck_assert(vdpastate_netstate_equal(before, vdpastate_dev_netstate(s.dev)));
	vdpastate_cvq_cmd_free(c[5]);

	/* The device refuses command 5: its batch (0..7) is processed, the
	 * OK ones applied, no later batch posted, -EIO names it. */
	c[5] = vdpastate_cvq_cmd_rx_promisc(true);
	ck_assert_int_eq(vdpastate_sim_cvq_err(s.sim, true, VDPASTATE_CVQ_RX,
					       VDPASTATE_SIM_ANY),
			 0);
	ck_assert_int_eq(vdpastate_dev_send_list(s.dev,
						 (const struct vdpastate_cvq_cmd *const *)c,
						 20, &answered),
			 -EIO);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "RX_PROMISC"));
	ck_assert_uint_eq(answered, 8);
	ck_assert_int_eq(vdpastate_sim_get_stats(s.sim, &ss), 0);
	ck_assert_uint_eq(ss.cvq_commands, ss0.cvq_commands + 8);
	ck_assert_uint_eq(vdpastate_netstate_vlan_count(vdpastate_dev_netstate(s.dev)),
			  20 + 7);
	assert_dev_equals_sim(&s);
	ck_assert_int_eq(vdpastate_sim_cvq_err(s.sim, false, 0, 0), 0);
	for (i = 0; i < 20; i++)
		vdpastate_cvq_cmd_free(c[i]);
	vdpastate_netstate_free(before);

	/* Nothing to send; bad arguments. */
	ck_assert_int_eq(vdpastate_dev_send_list(s.dev, NULL, 0, &answered), 0);
	ck_assert_uint_eq(answered, 0);
	ck_assert_int_eq(vdpastate_dev_send_list(s.dev, NULL, 1, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_send_list(NULL, NULL, 0, NULL), -EINVAL);
	{
		const struct vdpastate_cvq_cmd *nul[2] = { NULL, NULL };

		ck_assert_int_eq(vdpastate_dev_send_list(s.dev, nul, 2, NULL),
				 -EINVAL);
	}
	side_free(&s);
}
END_TEST

START_TEST(bad_input)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_ring_size = 12);
	VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = 100);
	struct vdpastate_dev_report *rep = (void *)1;
	struct side s;
	struct vdpastate_blob *b = vdpastate_blob_new(), *e = vdpastate_blob_new();
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_rx_promisc(true);
	uint64_t f;

	side_new(&s, PAIRS);
	ck_assert_ptr_null(vdpastate_dev_open(NULL, NULL));
	ck_assert_ptr_null(vdpastate_dev_open(s.t, &d));
	ck_assert_int_eq(errno, EINVAL);
	vdpastate_dev_free(NULL);
	ck_assert_int_eq(vdpastate_dev_set_vring(s.dev, 0, &vr), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_send(s.dev, c), -ENOENT);
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), -ENOENT);
	ck_assert_ptr_null(vdpastate_dev_netstate(s.dev));
	ck_assert_int_eq(vdpastate_dev_restore(s.dev, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_restore(s.dev, e), -EINVAL);
	ck_assert_int_eq(vdpastate_dev_restore_commit(s.dev, e), -ENOENT);
	ck_assert_int_eq(vdpastate_dev_check(s.dev, e, &rep), -EINVAL);
	ck_assert_ptr_eq(rep, (void *)1);
	/* Nothing above touched the device. */
	ck_assert_uint_eq(status_of(&s), 0);
	ck_assert_int_eq(vdpastate_transport_get_device_features(s.t, &f), 0);
	ck_assert_int_eq(vdpastate_dev_start(s.dev, f & ~FB(CTRL_RX)), 0);
	/* A command the negotiated features forbid is refused, unsent. */
	ck_assert_int_eq(vdpastate_dev_send(s.dev, c), -VDPASTATE_EFEATURE);
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), 0);
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), -EINVAL); /* not empty */
	vdpastate_cvq_cmd_free(c);
	vdpastate_blob_free(b);
	vdpastate_blob_free(e);
	side_free(&s);
}
END_TEST

/*
 * The device answers past cvq_timeout_ms once, then recovers (_i: 0 send,
 * 1 send_list).  The late batch is never mistaken for a later command's
 * answer: nothing new is sent while it is out, a save refuses (the state
 * is not known), and once it comes back the tracked state is the
 * device's, each command having reached the device once.
 */
START_TEST(late_answer)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_timeout_ms = 20);
	VDPASTATE_OPTS(vdpastate_sim_stats, st);
	struct vdpastate_cvq_cmd *a[3], *next = vdpastate_cvq_cmd_vlan_add(200);
	struct vdpastate_blob *b = vdpastate_blob_new();
	struct vdpastate_netstate *x;
	const struct vdpastate_netstate *ns;
	size_t answered = 99;
	uint64_t offered, before;
	unsigned int i, n = _i ? 3 : 1;
	struct side s;

	for (i = 0; i < 3; i++)
		a[i] = vdpastate_cvq_cmd_vlan_add((uint16_t)(100 + i));
	side_open(&s, &o, &d);
	ck_assert_int_eq(vdpastate_transport_get_device_features(s.t, &offered), 0);
	ck_assert_int_eq(vdpastate_dev_start(s.dev, offered &
					     (VDS_TEST_FEATURES | RING_F)), 0);
	ck_assert_int_eq(vdpastate_sim_get_stats(s.sim, &st), 0);
	before = st.cvq_commands;
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, true), 0);
	if (_i)
		ck_assert_int_eq(vdpastate_dev_send_list(
					 s.dev, (const struct vdpastate_cvq_cmd *const *)a,
					 3, &answered),
				 -ETIMEDOUT);
	else
		ck_assert_int_eq(vdpastate_dev_send(s.dev, a[0]), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "VLAN_ADD vid 100"));
	if (_i)
		ck_assert_uint_eq(answered, 0);
	ns = vdpastate_dev_netstate(s.dev);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 100), 0);
	/* Still out: nothing new goes, and the state cannot be saved. */
	ck_assert_int_eq(vdpastate_dev_send(s.dev, next), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "still not"));
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), -ETIMEDOUT);
	ck_assert_uint_eq(vdpastate_blob_part_count(b), 0);
	ck_assert_uint_eq(vdpastate_blob_record_count(b), 0);
	ck_assert_uint_eq(status_of(&s), ST_ALL); /* nothing stopped */
	/* The device recovers. */
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
	ck_assert_msg(vdpastate_dev_send(s.dev, next) == 0, "%s",
		      vdpastate_last_error());
	ns = vdpastate_dev_netstate(s.dev);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(vdpastate_netstate_vlan(ns, (uint16_t)(100 + i)), 1);
	ck_assert_int_eq(vdpastate_netstate_vlan(ns, 200), 1);
	x = vdpastate_sim_netstate(s.sim);
	ck_assert_msg(vdpastate_netstate_equal(x, ns), "tracked state differs");
	vdpastate_netstate_free(x);
	ck_assert_int_eq(vdpastate_sim_get_stats(s.sim, &st), 0);
	ck_assert_uint_eq(st.cvq_commands - before, n + 1);
	ck_assert_int_eq(vdpastate_dev_save(s.dev, b), 0);
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_blob_netstate(b), 100),
			 1);
	vdpastate_blob_free(b);
	for (i = 0; i < 3; i++)
		vdpastate_cvq_cmd_free(a[i]);
	vdpastate_cvq_cmd_free(next);
	side_free(&s);
}
END_TEST

/*
 * A batch is late when the device is reset (_i 0: start, 1: restore) or
 * the handle freed (_i 2).  The reset ends the batch: the same handle
 * sends again at once, and the tracked state is the device's; a freed
 * handle leaves nothing the device can still reach or the process leak.
 */
START_TEST(late_then_reset)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_dev_opts, d, .cvq_timeout_ms = 20);
	struct vdpastate_cvq_cmd *a = vdpastate_cvq_cmd_vlan_add(100);
	struct vdpastate_cvq_cmd *next = vdpastate_cvq_cmd_vlan_add(200);
	struct vdpastate_blob *b = NULL;
	struct side s, src;
	uint64_t offered;

	side_open(&s, &o, &d);
	if (_i == 1) {
		side_new(&src, PAIRS);
		b = rich_blob(&src, 2);
		side_free(&src);
	}
	ck_assert_int_eq(vdpastate_transport_get_device_features(s.t, &offered), 0);
	ck_assert_int_eq(vdpastate_dev_start(s.dev, offered &
					     (VDS_TEST_FEATURES | RING_F)), 0);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, true), 0);
	ck_assert_int_eq(vdpastate_dev_send(s.dev, a), -ETIMEDOUT);
	ck_assert_int_eq(vdpastate_sim_cvq_hang(s.sim, false), 0);
	if (_i == 2) {
		vdpastate_dev_free(s.dev);
		ck_assert_int_ge(vdpastate_sim_poll(s.sim), 0);
		vdpastate_transport_free(s.t);
		goto out;
	}
	if (_i == 0)
		ck_assert_int_eq(vdpastate_dev_start(s.dev, offered &
						     (VDS_TEST_FEATURES | RING_F)),
				 0);
	else
		ck_assert_msg(vdpastate_dev_restore(s.dev, b) == 0, "%s",
			      vdpastate_last_error());
	ck_assert_msg(vdpastate_dev_send(s.dev, next) == 0, "%s",
		      vdpastate_last_error());
	/* The reset undid what the device applied. */
	ck_assert_int_eq(vdpastate_netstate_vlan(vdpastate_dev_netstate(s.dev), 100),
			 0);
	assert_dev_equals_sim(&s);
	side_free(&s);
out:
	vdpastate_blob_free(b);
	vdpastate_cvq_cmd_free(a);
	vdpastate_cvq_cmd_free(next);
}
END_TEST

/*
 * A device answers a late batch out of order, one answer without an ack
 * byte (the fake transport's control queue, run by the test).  Nothing is
 * posted while the batch is out; each answer counts for the command of
 * its used id, not of its arrival; only those answered OK are applied.
 */
START_TEST(late_out_of_order)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, o, .cvq_timeout_ms = 20);
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t = vdpastate_transport_new(&fake_ops,
							      sizeof(fake_ops), d);
	struct vdpastate_dev *dev = vdpastate_dev_open(t, &o);
	struct vdpastate_cvq_cmd *c[3] = { vdpastate_cvq_cmd_mq_vq_pairs_set(2),
					   vdpastate_cvq_cmd_mq_vq_pairs_set(1),
					   vdpastate_cvq_cmd_mq_vq_pairs_set(2) };
	struct vdpastate_cvq_cmd *next = vdpastate_cvq_cmd_mq_vq_pairs_set(2);
	struct vdpastate_blob *b = vdpastate_blob_new();
	struct fake_cvq q;
	unsigned int i;

	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(vdpastate_dev_start(dev, FAKE_FEATURES), 0);
	ck_assert_int_eq(fake_cvq_attach(&q, d), 0);
	ck_assert_int_eq(vdpastate_dev_send_list(dev,
						 (const struct vdpastate_cvq_cmd *const *)c,
						 3, NULL),
			 -ETIMEDOUT);
	ck_assert_int_eq(fake_cvq_take(&q, 3), 0);
	ck_assert_int_eq(vdpastate_dev_send(dev, next), -ETIMEDOUT);
	ck_assert_int_eq(vds_vdev_avail(&q.vd), 0); /* nothing new posted */
	/* The second, the third (no ack byte), then the first. */
	fake_cvq_answer(&q, 1, 0);
	fake_cvq_answer(&q, 2, -1);
	fake_cvq_answer(&q, 0, 0);
	/* Collected: pairs 2 then 1 applied, the third not.  The next
	 * command is posted once, and is late in its turn. */
	ck_assert_int_eq(vdpastate_dev_send(dev, next), -ETIMEDOUT);
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(vdpastate_dev_netstate(dev)),
			  1);
	ck_assert_int_eq(fake_cvq_take(&q, 1), 0);
	fake_cvq_answer(&q, 0, 0);
	ck_assert_msg(vdpastate_dev_save(dev, b) == 0, "%s", vdpastate_last_error());
	ck_assert_uint_eq(vdpastate_netstate_queue_pairs(vdpastate_blob_netstate(b)),
			  2);
	ck_assert_int_eq(vds_vdev_avail(&q.vd), 0);
	for (i = 0; i < 3; i++)
		vdpastate_cvq_cmd_free(c[i]);
	vdpastate_cvq_cmd_free(next);
	vdpastate_blob_free(b);
	fake_cvq_detach(&q);
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
}
END_TEST

static unsigned int n_errors;
static char last_logged[512];

static void count_errors(enum vdpastate_log_level l, const char *m, void *u)
{
	(void)u;
	if (l == VDPASTATE_LOG_ERROR) {
		n_errors++;
		snprintf(last_logged, sizeof(last_logged), "%s", m);
	}
}

/*
 * A save/check/restore cycle that succeeds logs nothing at error level
 * and leaves no error message; the destination, whose config-space MAC
 * differs, tracks its own state, which is the source's across hosts.
 */
START_TEST(clean_cycle)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_sim_opts, doo, .max_queue_pairs = PAIRS,
		       .mac = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 });
	struct vdpastate_dev_report *rep = NULL;
	struct vdpastate_netstate *x;
	struct vdpastate_blob *b;
	struct side src, dst;
	char before[VDS_ERRMSG_MAX];

	side_open(&src, &so, NULL);
	side_open(&dst, &doo, NULL);
	vds_fail(-EIO, "a message from before the cycle");
	snprintf(before, sizeof(before), "%s", vdpastate_last_error());
	n_errors = 0;
	vdpastate_set_log(count_errors, NULL, VDPASTATE_LOG_DEBUG);
	b = rich_blob(&src, 3);
	ck_assert_int_eq(vdpastate_dev_check(dst.dev, b, &rep), 0);
	ck_assert_uint_eq(vdpastate_dev_report_count(rep), 0);
	vdpastate_dev_report_free(rep);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), 0);
	vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR);
	ck_assert_msg(n_errors == 0, "%u errors logged, last: %s", n_errors,
		      last_logged);
	ck_assert_str_eq(vdpastate_last_error(), before);
	/* The tracked state is the destination device's own ... */
	x = vdpastate_sim_netstate(dst.sim);
	ck_assert_msg(vdpastate_netstate_equal(x, vdpastate_dev_netstate(dst.dev)),
		      "tracked state is not the destination's");
	vdpastate_netstate_free(x);
	/* ... and what the migration must keep is the source's. */
	ck_assert_ptr_null(vdpastate_netstate_state_diff(
		vdpastate_blob_netstate(b), vdpastate_dev_netstate(dst.dev)));
	ck_assert(!vdpastate_netstate_equal(vdpastate_blob_netstate(b),
					    vdpastate_dev_netstate(dst.dev)));
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/*
 * Early restore onto a destination with another config-space MAC: after
 * the commit, too, the tracked state is the destination device's own.
 */
START_TEST(early_restore_other_mac)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, doo, .max_queue_pairs = PAIRS,
		       .mac = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 });
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_vlan_add(7);
	struct vdpastate_blob *b, *b2 = vdpastate_blob_new();
	struct side src, dst;

	side_new(&src, PAIRS);
	side_open(&dst, &doo, NULL);
	b = rich_blob(&src, 3);
	ck_assert_int_eq(vdpastate_dev_restore_begin(dst.dev, b), 0);
	ck_assert_int_eq(vdpastate_transport_resume(src.t), 0);
	ck_assert_int_eq(vdpastate_dev_send(src.dev, c), 0);
	ck_assert_int_eq(vdpastate_dev_save(src.dev, b2), 0);
	ck_assert_msg(vdpastate_dev_restore_commit(dst.dev, b2) == 0, "%s",
		      vdpastate_last_error());
	assert_dev_equals_sim(&dst);
	ck_assert_ptr_null(vdpastate_netstate_state_diff(
		vdpastate_blob_netstate(b2), vdpastate_dev_netstate(dst.dev)));
	vdpastate_cvq_cmd_free(c);
	vdpastate_blob_free(b);
	vdpastate_blob_free(b2);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/*
 * Without CTRL_MAC_ADDR a destination with another config-space MAC
 * would change the guest's MAC: the check reports it, and the state the
 * migration must keep differs in "mac".
 */
START_TEST(mac_not_settable)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_sim_opts, doo, .max_queue_pairs = PAIRS,
		       .mac = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 });
	struct vdpastate_dev_report *rep = NULL;
	struct vdpastate_blob *b = vdpastate_blob_new();
	enum vdpastate_dev_problem kind = 0;
	struct side src, dst;
	uint64_t offered;

	side_open(&src, &so, NULL);
	side_open(&dst, &doo, NULL);
	ck_assert_int_eq(vdpastate_transport_get_device_features(src.t, &offered), 0);
	ck_assert_int_eq(vdpastate_dev_start(src.dev, offered & ~FB(CTRL_MAC_ADDR)),
			 0);
	ck_assert_int_eq(vdpastate_dev_save(src.dev, b), 0);
	ck_assert_int_eq(vdpastate_dev_check(dst.dev, b, &rep), 0);
	ck_assert_uint_eq(vdpastate_dev_report_count(rep), 1);
	ck_assert_ptr_nonnull(strstr(vdpastate_dev_report_get(rep, 0, &kind),
				     "52:54:00:11:22:33"));
	ck_assert_int_eq(kind, VDPASTATE_DEV_PROBLEM_MAC);
	vdpastate_dev_report_free(rep);
	/* Same MAC on both: nothing to report. */
	ck_assert_int_eq(vdpastate_dev_check(src.dev, b, &rep), 0);
	ck_assert_uint_eq(vdpastate_dev_report_count(rep), 0);
	vdpastate_dev_report_free(rep);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), 0);
	ck_assert_str_eq(vdpastate_netstate_state_diff(vdpastate_blob_netstate(b),
						       vdpastate_dev_netstate(dst.dev)),
			 "mac");
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/* Too few queue pairs on the destination: EINCOMPAT, as dev.h promises. */
START_TEST(too_few_pairs)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);
	struct side src, dst;
	struct vdpastate_blob *b;

	side_new(&src, PAIRS);
	side_new(&dst, 1);
	b = rich_blob(&src, 1);
	ck_assert_int_eq(vdpastate_dev_restore(dst.dev, b), -VDPASTATE_EINCOMPAT);
	ck_assert_msg(strstr(vdpastate_last_error(), "4 queue pairs, the device 1"),
		      "%s", vdpastate_last_error());
	ck_assert_uint_eq(status_of(&dst), 0);
	/* Refused before any command was sent. */
	ck_assert_int_eq(vdpastate_sim_get_stats(dst.sim, &st), 0);
	ck_assert_uint_eq(st.cvq_commands, 0);
	vdpastate_blob_free(b);
	side_free(&src);
	side_free(&dst);
}
END_TEST

/* The library's record types are not the caller's; repeats do not load. */
START_TEST(library_records)
{
	struct side src;
	struct vdpastate_blob *b, *w = vdpastate_blob_new();
	uint8_t *buf, *rec, one[4] = { 0 };
	long len;
	size_t i, at = 0;

	ck_assert_int_eq(vdpastate_blob_add_record(w, VDPASTATE_DEV_REC_VRINGS, 0,
						   one, 4), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_record(w, 0xffff, 0, one, 4), -EINVAL);
	ck_assert_int_eq(vdpastate_blob_add_record(w, VDPASTATE_BLOB_REC_USER_MAX,
						   0, one, 4), 0);
	ck_assert_uint_eq(vdpastate_blob_record_count(w), 1);
	vdpastate_blob_free(w);
	/* A saved blob with its vring record written twice. */
	side_new(&src, PAIRS);
	b = rich_blob(&src, 1);
	len = vdpastate_blob_save(b, NULL, 0);
	ck_assert_int_gt(len, 0);
	buf = malloc((size_t)len * 2);
	ck_assert_int_eq(vdpastate_blob_save(b, buf, (size_t)len), len);
	/* Records follow the parts: find the 0xff00 header and repeat it. */
	for (i = 0; i + 8 <= (size_t)len; i++)
		if (buf[i] == 0x00 && buf[i + 1] == 0xff && buf[i + 2] == 0 &&
		    buf[i + 3] == 0)
			at = i;
	ck_assert_uint_gt(at, 0);
	rec = buf + at;
	{
		uint32_t rl = (uint32_t)rec[4] | (uint32_t)rec[5] << 8 |
			      (uint32_t)rec[6] << 16 | (uint32_t)rec[7] << 24;
		size_t whole = 8 + rl;

		ck_assert_uint_eq(at + whole, (size_t)len); /* the last record */
		memcpy(buf + len, rec, whole);
		vds_put_le32(buf + 8, (uint32_t)((size_t)len + whole));
		vds_put_le32(buf + 12, 0);
		vds_put_le32(buf + 12, vds_test_crc32c(buf, (size_t)len + whole));
		w = vdpastate_blob_new();
		ck_assert_int_lt(vdpastate_blob_load(w, buf, (size_t)len + whole), 0);
		ck_assert_msg(strstr(vdpastate_last_error(), "repeated"), "%s",
			      vdpastate_last_error());
		ck_assert_uint_eq(vdpastate_blob_record_count(w), 0);
		vdpastate_blob_free(w);
	}
	free(buf);
	vdpastate_blob_free(b);
	side_free(&src);
}
END_TEST

/* A device without SUSPEND and a data queue it reads itself. */
START_TEST(save_needs_suspend)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, o, .max_queue_pairs = PAIRS);
	VDPASTATE_OPTS(vdpastate_dev_opts, q, .flags = VDPASTATE_DEV_F_QUIESCED);
	VDPASTATE_OPTS(vdpastate_dev_opts, bad, .flags = 2);
	VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = 64, .desc = 0x100000,
		       .avail = 0x101000, .used = 0x102000, .kick_fd = -1,
		       .call_fd = -1);
	struct vdpastate_transport *inner = vdpastate_sim_new(&o);
	struct vdpastate_transport *t = vdpastate_transport_new(&passthru_ops,
							      sizeof(passthru_ops),
							      inner);
	struct vdpastate_blob *b = vdpastate_blob_new();
	void *ram = aligned_alloc(4096, 0x4000);
	struct vdpastate_dev *dev;
	struct side s;
	uint64_t f;
	int k;

	ck_assert_ptr_null(vdpastate_dev_open(t, &bad));
	memset(ram, 0, 0x4000);
	ck_assert_int_eq(vdpastate_transport_dma_map(t, 0, 0x100000, 0x4000, ram,
						     VDPASTATE_DMA_READ |
							     VDPASTATE_DMA_WRITE),
			 0);
	ck_assert_int_eq(vdpastate_transport_get_device_features(t, &f), 0);
	for (k = 0; k < 2; k++) {
		dev = vdpastate_dev_open(t, k ? &q : NULL);
		ck_assert_ptr_nonnull(dev);
		ck_assert_int_eq(vdpastate_dev_set_vring(dev, 0, &vr), 0);
		ck_assert_int_eq(vdpastate_dev_start(dev, f & (VDS_TEST_FEATURES |
							       RING_F)), 0);
		s = (struct side){ t, NULL, dev };
		if (!k) {
			ck_assert_int_eq(vdpastate_dev_save(dev, b),
					 -VDPASTATE_EFEATURE);
			ck_assert_msg(strstr(vdpastate_last_error(), "SUSPEND") &&
				      strstr(vdpastate_last_error(), "queue 0"),
				      "%s", vdpastate_last_error());
			ck_assert_uint_eq(vdpastate_blob_record_count(b), 0);
			ck_assert_int_eq(vdpastate_dev_switch(dev),
					 -VDPASTATE_EFEATURE);
			ck_assert_uint_eq(status_of(&s), ST_ALL); /* untouched */
		} else {
			ck_assert_msg(vdpastate_dev_save(dev, b) == 0, "%s",
				      vdpastate_last_error());
		}
		vdpastate_dev_free(dev);
	}
	vdpastate_blob_free(b);
	vdpastate_transport_free(t);
	vdpastate_transport_free(inner);
	free(ram);
}
END_TEST

static unsigned int n_unmap_logged;

static void count_unmap(enum vdpastate_log_level l, const char *m, void *u)
{
	(void)u;
	if (l == VDPASTATE_LOG_ERROR && strstr(m, "stay allocated"))
		n_unmap_logged++;
}

/* free: a failed unmap of the control ring is said, not ignored. */
START_TEST(free_unmap_fails)
{
	struct side s;
	uint64_t f;

	side_new(&s, PAIRS);
	ck_assert_int_eq(vdpastate_transport_get_device_features(s.t, &f), 0);
	ck_assert_int_eq(vdpastate_dev_start(s.dev, f & (VDS_TEST_FEATURES |
							 RING_F)), 0);
	n_unmap_logged = 0;
	vdpastate_set_log(count_unmap, NULL, VDPASTATE_LOG_ERROR);
	ck_assert_int_eq(vdpastate_sim_fail_call(s.sim, 1, -EIO), 0);
	vdpastate_dev_free(s.dev);
	vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR);
	ck_assert_uint_eq(n_unmap_logged, 1);
	vdpastate_transport_free(s.t);
}
END_TEST

static void log_stderr(enum vdpastate_log_level l, const char *m, void *u)
{
	(void)u;
	fprintf(stderr, "[%d] %s\n", l, m);
}

Suite *dev_suite(void)
{
	if (getenv("VDS_DEV_LOG"))
		vdpastate_set_log(log_stderr, NULL, VDPASTATE_LOG_DEBUG);
	Suite *s = suite_create("dev");
	TCase *tc = tcase_create("restore");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, send_list);
	tcase_add_loop_test(tc, batches_fill_the_ring, 0, 4);
	tcase_add_test(tc, err_ack_names_command);
	tcase_add_loop_test(tc, timeout_when_device_hangs, 0, 2);
	tcase_add_test(tc, compat_report);
	tcase_add_test(tc, custom_transport);
	tcase_add_test(tc, no_lost_wakeup);
	tcase_add_test(tc, fail_every_call_restore);
	tcase_add_test(tc, fail_every_call_early);
	tcase_add_test(tc, migrate_property);
	tcase_add_test(tc, early_restore_property);
	tcase_add_loop_test(tc, late_answer, 0, 2);
	tcase_add_loop_test(tc, late_then_reset, 0, 3);
	tcase_add_test(tc, late_out_of_order);
	tcase_add_test(tc, clean_cycle);
	tcase_add_test(tc, early_restore_other_mac);
	tcase_add_test(tc, mac_not_settable);
	tcase_add_test(tc, too_few_pairs);
	tcase_add_test(tc, library_records);
	tcase_add_test(tc, save_needs_suspend);
	tcase_add_test(tc, free_unmap_fails);
	suite_add_tcase(s, tc);
	return s;
}
