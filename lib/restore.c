/* SPDX-License-Identifier: MIT */
/*
 * lib/restore.c - the restore sequence of the device handle (seed 001 in
 * DESIGN.md, "Data flows"): reset, features, address spaces, the control
 * queue first, every command in parallel and acknowledged, then the data
 * queues.  Also start, save, the SVQ switch, and early restore (begin,
 * then a commit that sends only the delta).  Every failure after the
 * first reset resets the device again, so the VMM never inherits a
 * half-restored device.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/dev.h>
#include <libvdpastate/sim.h>
#include <libvdpastate/svq.h>
#include <libvdpastate/vring.h>

#include "bytes.h"
#include "internal.h"
#include "ring.h"
#include "transport_int.h"
#include "dev_int.h"

/* ------------------------------------------------------------ setup */

static void stop_svqs(struct vdpastate_dev *dev);

/* The entry of data queue idx, or with guest the guest control queue's. */
static const struct vr_ent *vr_find(const struct vr_set *s, uint32_t idx,
				    bool guest)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (s->e[i].idx == idx &&
		    !!(s->e[i].flags & VR_F_GUEST_CVQ) == guest)
			return &s->e[i];
	return NULL;
}

/* A restored guest control queue continues where the saved one stopped. */
static void guest_from_vr(struct vdpastate_dev *dev, const struct vr_set *vr)
{
	const struct vr_ent *e = vr_find(vr, dev->cvq, true);

	if (!e || !dev->g.on)
		return;
	vds_dev_guest_drop(&dev->g);
	dev->g.broken = false;
	dev->g.cfg.last_avail_idx = dev->g.cfg.used_idx = e->base;
}

static int read_config(struct vdpastate_dev *dev, uint64_t features,
		       struct vdpastate_netstate_config *c)
{
	uint8_t b[CFG_LONG] = { 0 };
	uint32_t len = features & (FB(RSS) | FB(HASH_REPORT)) ? CFG_LONG : CFG_SHORT;
	int err;

	if ((err = vdpastate_transport_get_config(dev->t, 0, b, len)))
		return err;
	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	c->features = features;
	memcpy(c->mac, b, 6);
	c->status = vds_get_le16(b + 6);
	c->max_virtqueue_pairs = vds_get_le16(b + CFG_MAX_PAIRS);
	c->mtu = vds_get_le16(b + 10);
	c->rss_max_key_size = b[17];
	c->rss_max_indirection_table_length = vds_get_le16(b + 18);
	c->supported_hash_types = vds_get_le32(b + 20);
	if (!(features & FB(MAC)))
		memset(c->mac, 0, 6);
	if (!(features & FB(STATUS)))
		c->status = 0;
	if (!(features & FB(MTU)))
		c->mtu = 0;
	if (!(features & (FB(MQ) | FB(RSS))))
		c->max_virtqueue_pairs = 0;
	if (!(features & (FB(RSS) | FB(HASH_REPORT)))) {
		c->rss_max_key_size = 0;
		c->rss_max_indirection_table_length = 0;
		c->supported_hash_types = 0;
	}
	return 0;
}

/* max_virtqueue_pairs as the device reports it (1 without MQ). */
static int device_pairs(struct vdpastate_dev *dev, uint64_t features,
			uint16_t *pairs)
{
	uint8_t b[2];
	int err;

	/* The spec: N is max_virtqueue_pairs with MQ or RSS, else 1. */
	*pairs = 1;
	if (!(features & (FB(MQ) | FB(RSS))))
		return 0;
	if ((err = vdpastate_transport_get_config(dev->t, CFG_MAX_PAIRS, b, 2)))
		return err;
	*pairs = vds_get_le16(b);
	if (*pairs == 0 || *pairs > VDPASTATE_CVQ_VQ_PAIRS_MAX)
		return vds_fail(-VDPASTATE_EDEVICE, "dev: the device reports %u "
				"queue pairs", *pairs);
	return 0;
}

static int set_status(struct vdpastate_dev *dev, uint8_t st)
{
	return vdpastate_transport_set_status(dev->t, st);
}

#define ST_FEAT                                                          \
	(VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER |        \
	 VDPASTATE_STATUS_FEATURES_OK)

/*
 * Steps 1 to 5 of the restore sequence: reset, features, backend
 * features, address spaces, vrings (bases from vr), the control queue
 * enabled, DRIVER_OK.  Data queues stay disabled.
 */
static int setup(struct vdpastate_dev *dev, uint64_t features,
		 const struct vr_set *vr, const char *what)
{
	uint64_t offered, boffered = 0;
	uint32_t vqs, i;
	uint16_t pairs;
	uint8_t st;
	char names[256];
	int err;

	dev->up = false;
	dev->saved = false;
	stop_svqs(dev); /* a reset ends what they relayed */
	for (i = 0; i < dev->ncfg; i++)
		dev->vq[i].parked = dev->vq[i].broken = false;
	vds_dev_guest_drop(&dev->g); /* set up again for the new features */
	/* Backend features before the reset: with IOTLB_PERSIST acked the
	 * device keeps its mappings through it (none replayed). */
	err = vdpastate_transport_get_backend_features(dev->t, &boffered);
	if (err == -EOPNOTSUPP)
		boffered = 0;
	else if (err)
		return err;
	dev->backend = boffered & WANT_BACKEND;
	if (boffered && (err = vdpastate_transport_set_backend_features(dev->t,
								       dev->backend)))
		return err;
	if ((err = vdpastate_transport_reset(dev->t)))
		return err;
	vds_dev_late_drop(dev); /* the reset ended what was in flight */
	if ((err = vdpastate_transport_get_device_features(dev->t, &offered)))
		return err;
	if (features & ~offered)
		return vds_fail(-VDPASTATE_EINCOMPAT, "%s: the device does not offer "
				"%s", what,
				vds_dev_feature_list(features & ~offered,
						     names, sizeof(names)));
	if ((err = set_status(dev, VDPASTATE_STATUS_ACKNOWLEDGE |
					   VDPASTATE_STATUS_DRIVER)) ||
	    (err = vdpastate_transport_set_driver_features(dev->t, features)) ||
	    (err = set_status(dev, ST_FEAT)) ||
	    (err = vdpastate_transport_get_status(dev->t, &st)))
		return err;
	if (!(st & VDPASTATE_STATUS_FEATURES_OK))
		return vds_fail(-EIO, "%s: the device refused FEATURES_OK for "
				"features 0x%llx", what, (unsigned long long)features);
	if ((err = device_pairs(dev, features, &pairs)) ||
	    (err = vdpastate_transport_get_vq_count(dev->t, &vqs)))
		return err;
	dev->features = features;
	dev->offered = offered;
	dev->ndata = 2u * pairs;
	dev->cvq = dev->ndata;
	dev->nvq = dev->ndata + ((features & FB(CTRL_VQ)) ? 1 : 0);
	if (vqs < dev->nvq)
		return vds_fail(-VDPASTATE_EDEVICE, "%s: the device has %u queues, "
				"%u expected", what, vqs, dev->nvq);
	if (dev->cvq < dev->nvq) {
		uint32_t groups = 0, ases = 0, g_cvq = 0, g_data = 0;
		uint16_t maxnum, ring;

		dev->cvq_asid = 0;
		if ((dev->backend & BB(IOTLB_ASID)) &&
		    !vdpastate_transport_get_group_num(dev->t, &groups) &&
		    !vdpastate_transport_get_as_num(dev->t, &ases) && groups > 1 &&
		    ases > 1) {
			if ((err = vdpastate_transport_get_vring_group(dev->t, dev->cvq,
								       &g_cvq)) ||
			    (err = vdpastate_transport_get_vring_group(dev->t, 0,
								       &g_data)))
				return err;
			if (g_cvq != g_data) {
				if ((err = vdpastate_transport_set_group_asid(dev->t,
									      g_cvq, 1)))
					return err;
				dev->cvq_asid = 1;
			}
		}
		if ((err = vdpastate_transport_get_vring_num_max(dev->t, &maxnum)))
			return err;
		ring = dev->ring_opt ? dev->ring_opt : DEF_RING;
		while (ring > maxnum)
			ring /= 2;
		if (ring < 2)
			return vds_fail(-VDPASTATE_EDEVICE, "%s: the device's largest "
					"ring has %u entries", what, maxnum);
		if ((err = vds_dev_ring_alloc(dev, ring)) ||
		    (err = vds_dev_map_cvq(dev, dev->cvq_asid)))
			return err;
		vds_dev_drv_drop(dev);
		if ((err = vds_vdrv_init(&dev->drv, ring, features, dev->mem,
					 dev->mem + dev->avail_off,
					 dev->mem + dev->ro_size + dev->used_off)))
			return vds_fail(err, "%s: out of memory", what);
		dev->drv_live = true;
		dev->cvq_num = ring;
		if ((err = vdpastate_transport_set_vring_num(dev->t, dev->cvq, ring)) ||
		    (err = vdpastate_transport_set_vring_addr(
			     dev->t, dev->cvq, dev->iova,
			     dev->iova + dev->avail_off,
			     dev->iova + dev->ro_size + dev->used_off)) ||
		    (err = vdpastate_transport_set_vring_base(dev->t, dev->cvq, 0)) ||
		    (err = vdpastate_transport_set_vring_kick(dev->t, dev->cvq,
							      dev->kick_fd)) ||
		    (err = vdpastate_transport_set_vring_call(dev->t, dev->cvq,
							      dev->call_fd)))
			return err;
	}
	for (i = 0; i < dev->ndata; i++) {
		const struct dev_vq *q = i < dev->ncfg ? &dev->vq[i] : NULL;
		const struct vdpastate_dev_vring *c = q ? &q->cfg : NULL;
		const struct vr_ent *b = vr_find(vr, i, false);

		if (q && q->svq) {
			/* The shadow ring, empty: base 0.  The guest ring's
			 * position goes to the SVQ when it starts. */
			VDPASTATE_OPTS(vdpastate_svq_shadow, sh);

			if ((err = vdpastate_svq_get_shadow(q->svq, &sh)) ||
			    (err = vdpastate_transport_set_vring_num(dev->t, i,
								     (uint32_t)sh.num)) ||
			    (err = vdpastate_transport_set_vring_addr(
				     dev->t, i, sh.desc_iova, sh.avail_iova,
				     sh.used_iova)) ||
			    (err = vdpastate_transport_set_vring_kick(dev->t, i,
								      q->svq_kick)) ||
			    (err = vdpastate_transport_set_vring_call(dev->t, i,
								      q->svq_call)) ||
			    (err = vdpastate_transport_set_vring_base(dev->t, i, 0)))
				return err;
			continue;
		}
		if (c && c->num &&
		    ((err = vdpastate_transport_set_vring_num(dev->t, i, c->num)) ||
		     (err = vdpastate_transport_set_vring_addr(dev->t, i, c->desc,
							       c->avail, c->used)) ||
		     (err = vdpastate_transport_set_vring_kick(dev->t, i,
							       c->kick_fd)) ||
		     (err = vdpastate_transport_set_vring_call(dev->t, i,
							       c->call_fd))))
			return err;
		if (b && (err = vdpastate_transport_set_vring_base(dev->t, i,
								   b->base)))
			return err;
	}
	if (dev->cvq < dev->nvq &&
	    (err = vdpastate_transport_set_vring_enable(dev->t, dev->cvq, true)))
		return err;
	if ((err = set_status(dev, ST_FEAT | VDPASTATE_STATUS_DRIVER_OK)))
		return err;
	dev->up = true;
	return 0;
}

/*
 * The data queues are enabled after DRIVER_OK, once the state is in
 * place, which a device promises to honour only with
 * ENABLE_AFTER_DRIVER_OK.  Without it the handle enables them after
 * DRIVER_OK all the same: enabled earlier they could run before the
 * state is restored.  The log says which it was.
 */
static void log_enable_path(const struct vdpastate_dev *dev, const char *what,
			    unsigned int n)
{
	if (dev->backend & BB(ENABLE_AFTER_DRIVER_OK))
		vds_log(VDPASTATE_LOG_INFO, "%s: %u data queue(s) enabled after "
			"DRIVER_OK (ENABLE_AFTER_DRIVER_OK acked)", what, n);
	else
		vds_log(VDPASTATE_LOG_WARN, "%s: %u data queue(s) enabled after "
			"DRIVER_OK although the device does not offer "
			"ENABLE_AFTER_DRIVER_OK (enabled earlier they could run "
			"before the state is restored; a device that ignores a "
			"late enable leaves them stopped)", what, n);
}

/*
 * Enable the configured data queues, then start the SVQs they are given,
 * guest rings at vr's bases (position 0 without vr).
 */
static int enable_data(struct vdpastate_dev *dev, const struct vr_set *vr,
		       const char *what)
{
	unsigned int n = 0;
	uint32_t i;
	int err;

	for (i = 0; i < dev->ndata && i < dev->ncfg; i++) {
		const struct vr_ent *b = vr_find(vr, i, false);
		struct dev_vq *q = &dev->vq[i];

		/* A broken ring stays disabled, and saved as broken. */
		q->broken = q->parked = b && (b->flags & VR_F_BROKEN);
		q->parked_pos = b ? b->base : 0;
		if (!(q->cfg.num || q->svq) || q->broken)
			continue;
		if ((err = vdpastate_transport_set_vring_enable(dev->t, i, true)))
			return err;
		n++;
	}
	if (n)
		log_enable_path(dev, what, n);
	for (i = 0; i < dev->ndata && i < dev->ncfg; i++) {
		struct dev_vq *q = &dev->vq[i];
		const struct vr_ent *b = vr_find(vr, i, false);
		uint16_t pos = b ? b->base : 0;

		if (!q->svq || q->broken)
			continue;
		if ((err = vdpastate_svq_set_state(q->svq, pos, pos)) ||
		    (err = vdpastate_svq_start(q->svq)) < 0)
			return vds_fail(err, "dev: queue %u: SVQ start: %s", i,
					vdpastate_last_error());
		q->running = q->svq;
	}
	return 0;
}

/*
 * Stop the SVQ the handle runs on data queue i, in-flight chains rewound
 * to the guest; *pos receives its guest-ring position.  Returns the error
 * that disabled the SVQ, if any (it is stopped regardless), without
 * recording a message: the caller says what it means.
 */
static int stop_svq(struct vdpastate_dev *dev, uint32_t i, uint16_t *pos)
{
	struct dev_vq *q = &dev->vq[i];
	uint16_t ui;
	int r;

	r = vdpastate_svq_stop(q->running, VDPASTATE_SVQ_STOP_REWIND);
	vdpastate_svq_get_state(q->running, pos, &ui);
	q->running = NULL;
	return r < 0 ? r : 0;
}

/* Stop every SVQ the handle runs (the device is about to be reset). */
static void stop_svqs(struct vdpastate_dev *dev)
{
	uint32_t i;
	uint16_t pos;

	for (i = 0; i < dev->ncfg; i++)
		if (dev->vq[i].running)
			stop_svq(dev, i, &pos);
}

/* After a failure: the device back to reset, the handle to "not up". */
static int fail_reset(struct vdpastate_dev *dev, int err)
{
	char msg[VDS_ERRMSG_MAX];

	/* Keep the message of the failure, not of the clean-up. */
	snprintf(msg, sizeof(msg), "%s", vdpastate_last_error());
	stop_svqs(dev);
	if (vdpastate_transport_reset(dev->t))
		vdpastate_transport_reset(dev->t);
	vds_dev_late_drop(dev);
	dev->up = false;
	dev->saved = false;
	vds_dev_drv_drop(dev);
	vdpastate_netstate_free(dev->begun);
	dev->begun = NULL;
	return vds_fail(err, "%s", msg);
}

/* ------------------------------------------------------------ blob records */

static int vr_parse(const struct vdpastate_blob *blob, struct vr_set *out)
{
	size_t i, n = vdpastate_blob_record_count(blob);

	out->e = NULL;
	out->n = 0;
	for (i = 0; i < n; i++) {
		uint16_t type;
		uint8_t flags;
		const void *v;
		uint32_t len, k, cnt;
		const uint8_t *p;

		if (vdpastate_blob_record_get(blob, i, &type, &flags, &v, &len) ||
		    type != VDPASTATE_DEV_REC_VRINGS)
			continue;
		p = v;
		if (out->e || len < 4 ||
		    (len - 4) % VRING_REC_ENT ||
		    (cnt = vds_get_le16(p)) != (len - 4) / VRING_REC_ENT ||
		    vds_get_le16(p + 2)) {
			free(out->e);
			out->e = NULL;
			return vds_fail(-EBADMSG, "dev: the blob's vring record is "
					"malformed or repeated");
		}
		out->e = calloc(cnt ? cnt : 1, sizeof(*out->e));
		if (!out->e)
			return vds_fail(-ENOMEM, "dev: out of memory");
		for (k = 0; k < cnt; k++) {
			const uint8_t *q = p + 4 + (size_t)k * VRING_REC_ENT;

			out->e[k].idx = vds_get_le16(q);
			out->e[k].num = vds_get_le16(q + 2);
			out->e[k].base = vds_get_le16(q + 4);
			out->e[k].flags = vds_get_le16(q + 6);
		}
		out->n = cnt;
	}
	return 0;
}

/* The blob's state and vrings, checked before the device is touched. */
int vds_dev_blob_input(const struct vdpastate_blob *blob, const char *what,
		       const struct vdpastate_netstate **ns, struct vr_set *vr)
{
	if (!blob)
		return vds_fail(-EINVAL, "%s: NULL blob", what);
	*ns = vdpastate_blob_netstate(blob);
	if (!*ns)
		return vds_fail(-EINVAL, "%s: the blob holds no state", what);
	return vr_parse(blob, vr);
}

/* The destination must have the queue pairs the guest was told of. */
static int enough_pairs(struct vdpastate_dev *dev,
			const struct vdpastate_netstate *ns, const char *what)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, saved);

	vdpastate_netstate_get_config(ns, &saved);
	if ((dev->features & (FB(MQ) | FB(RSS))) &&
	    saved.max_virtqueue_pairs > dev->ndata / 2)
		return vds_fail(-VDPASTATE_EINCOMPAT, "%s: the state has %u queue "
				"pairs, the device %u", what,
				saved.max_virtqueue_pairs, dev->ndata / 2);
	return 0;
}

/*
 * The tracked state once cmds[0..n) are acknowledged on this device: on
 * top of base (NULL: the device's state after reset, its own
 * configuration space), each command applied.  So the tracked state is
 * the device's own, even when its configuration (MAC, limits) is not the
 * source's.  *io holds the state the commands were made from; it is
 * replaced, or kept with a warning if the model refuses a command the
 * device took.
 */
static int rebase(struct vdpastate_dev *dev, const struct vdpastate_netstate *base,
		  const struct vdpastate_cvq_cmd *const *cmds, size_t n,
		  struct vdpastate_netstate **io, const char *what)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, c);
	struct vdpastate_netstate *s;
	size_t i;
	int err;

	if (base) {
		s = vdpastate_netstate_copy(base);
	} else {
		if ((err = read_config(dev, dev->features, &c)))
			return err;
		s = vdpastate_netstate_new(&c);
	}
	if (!s)
		return vds_fail(-ENOMEM, "%s: out of memory", what);
	for (i = 0; i < n; i++)
		if (vdpastate_netstate_apply(s, cmds[i])) {
			vds_log(VDPASTATE_LOG_WARN, "%s: the state model refuses "
				"%s on this device's configuration, which the "
				"device acknowledged: %s; the saved state is "
				"tracked as it is", what,
				vdpastate_cvq_cmd_name(cmds[i]),
				vdpastate_last_error());
			vdpastate_netstate_free(s);
			return 0;
		}
	vdpastate_netstate_free(*io);
	*io = s;
	return 0;
}

/* Say so when the MAC the guest used does not survive the restore. */
static void mac_kept(const struct vdpastate_netstate *saved,
		     const struct vdpastate_netstate *now, const char *what)
{
	uint8_t a[6], b[6];

	if (!vdpastate_netstate_mac(saved, a) && !vdpastate_netstate_mac(now, b) &&
	    memcmp(a, b, 6))
		vds_log(VDPASTATE_LOG_WARN, "%s: the guest's MAC changes from "
			"%02x:%02x:%02x:%02x:%02x:%02x to the device's "
			"%02x:%02x:%02x:%02x:%02x:%02x (CTRL_MAC_ADDR not "
			"negotiated)", what, a[0], a[1], a[2], a[3], a[4], a[5],
			b[0], b[1], b[2], b[3], b[4], b[5]);
}

static int do_restore(struct vdpastate_dev *dev, const struct vdpastate_netstate *ns,
		      const struct vr_set *vr, bool enable, const char *what)
{
	struct vdpastate_cvq_cmdlist *list = NULL;
	const struct vdpastate_cvq_cmd **cmds = NULL;
	struct vdpastate_netstate *copy;
	uint64_t t0 = now_ns();
	size_t i, n;
	int err;

	copy = vdpastate_netstate_copy(ns);
	if (!copy)
		return vds_fail(-ENOMEM, "%s: out of memory", what);
	if ((err = vdpastate_netstate_to_cmds(ns, vdpastate_netstate_features(ns),
					      &list))) {
		vdpastate_netstate_free(copy);
		return err;
	}
	n = vdpastate_cvq_cmdlist_count(list);
	cmds = calloc(n ? n : 1, sizeof(*cmds));
	if (!cmds) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
	for (i = 0; i < n; i++)
		cmds[i] = vdpastate_cvq_cmdlist_get(list, i);
	vdpastate_netstate_free(dev->begun);
	dev->begun = NULL;
	err = setup(dev, vdpastate_netstate_features(ns), vr, what);
	if (!err)
		err = enough_pairs(dev, ns, what);
	if (!err)
		err = vds_dev_post_cmds(dev, what, cmds, n, NULL, NULL);
	if (!err && enable)
		err = enable_data(dev, vr, what);
	if (!err)
		err = rebase(dev, NULL, cmds, n, &copy, what);
	if (err) {
		err = fail_reset(dev, err);
		goto out;
	}
	mac_kept(ns, copy, what);
	vdpastate_netstate_free(dev->ns);
	dev->ns = copy;
	copy = NULL;
	guest_from_vr(dev, vr);
	dev->st.restores++;
	dev->st.last_restore_ns = now_ns() - t0;
out:
	vdpastate_netstate_free(copy);
	vdpastate_cvq_cmdlist_free(list);
	free(cmds);
	return err;
}

VDPASTATE_API int vdpastate_dev_restore(struct vdpastate_dev *dev,
					const struct vdpastate_blob *blob)
{
	const struct vdpastate_netstate *ns;
	struct vr_set vr;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "restore: NULL handle");
	if ((err = vds_dev_blob_input(blob, "restore", &ns, &vr)))
		return err;
	err = do_restore(dev, ns, &vr, true, "restore");
	free(vr.e);
	return err;
}

VDPASTATE_API int vdpastate_dev_start(struct vdpastate_dev *dev,
				      uint64_t features)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, c);
	struct vdpastate_netstate *ns;
	uint64_t t0 = now_ns();
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "start: NULL handle");
	vdpastate_netstate_free(dev->begun);
	dev->begun = NULL;
	if ((err = setup(dev, features, NULL, "start")) ||
	    (err = read_config(dev, features, &c)) ||
	    (err = enable_data(dev, NULL, "start")))
		return fail_reset(dev, err);
	ns = vdpastate_netstate_new(&c);
	if (!ns)
		return fail_reset(dev, -errno);
	vdpastate_netstate_free(dev->ns);
	dev->ns = ns;
	dev->st.restores++;
	dev->st.last_restore_ns = now_ns() - t0;
	return 0;
}

/* ------------------------------------------------------------ SVQ switch */

/* The guest ring size of a configured data queue (0: not configured). */
static uint32_t ring_num(const struct dev_vq *q)
{
	VDPASTATE_OPTS(vdpastate_svq_shadow, sh);

	if (q->cfg.num || !q->svq)
		return q->cfg.num;
	return vdpastate_svq_get_shadow(q->svq, &sh) ? 0 : (uint32_t)sh.num;
}

/*
 * Where each data queue's guest ring stands, the device suspended: the
 * SVQs the handle runs are stopped (in flight rewound to the guest) and
 * give their guest-side position, kept for a later save or switch; a
 * queue that does not run (parked) where it stopped; the others' the
 * device's vring base.
 */
static int read_positions(struct vdpastate_dev *dev, const char *what,
			  struct vr_ent *e)
{
	uint32_t i, base;
	int err = 0, r;

	for (i = 0; i < dev->ndata; i++) {
		uint32_t num = i < dev->ncfg ? ring_num(&dev->vq[i]) : 0;
		uint16_t pos = 0;

		e[i].idx = (uint16_t)i;
		e[i].num = (uint16_t)num;
		e[i].flags = num ? VR_F_CONFIGURED : 0;
		if (i < dev->ncfg && dev->vq[i].running) {
			struct dev_vq *q = &dev->vq[i];

			/* A ring the guest (or device) broke is saved where
			 * it stopped, marked broken; the others go on. */
			r = stop_svq(dev, i, &pos);
			q->parked = true;
			q->parked_pos = pos;
			q->broken = r != 0;
			if (r)
				vds_log(VDPASTATE_LOG_WARN, "%s: data queue %u is "
					"broken (%s): saved at position %u and "
					"kept disabled", what, i,
					vdpastate_strerror(r), pos);
		} else if (i < dev->ncfg && dev->vq[i].parked) {
			/* The shadow ring's base is not the guest ring's. */
			pos = dev->vq[i].parked_pos;
		} else if (!(r = vdpastate_transport_get_vring_base(dev->t, i,
								      &base))) {
			pos = (uint16_t)base;
		} else if (!err) {
			err = vds_fail(r, "%s: data queue %u: reading its vring "
				       "base: %s", what, i, vdpastate_last_error());
		}
		e[i].base = pos;
		if (i < dev->ncfg && dev->vq[i].broken)
			e[i].flags |= VR_F_BROKEN;
	}
	return err;
}

/*
 * Without SUSPEND a running device's vring bases move under the reader:
 * only SVQ positions (or a device the VMM has quiesced) can be saved.
 */
static int need_quiesced(struct vdpastate_dev *dev, const char *what)
{
	uint32_t i;

	if ((dev->backend & BB(SUSPEND)) || (dev->flags & VDPASTATE_DEV_F_QUIESCED))
		return 0;
	for (i = 0; i < dev->ndata && i < dev->ncfg; i++)
		if (ring_num(&dev->vq[i]) && !dev->vq[i].running &&
		    !dev->vq[i].parked)
			return vds_fail(-VDPASTATE_EFEATURE, "%s: the device does "
					"not offer SUSPEND (VHOST_BACKEND_F_SUSPEND) "
					"and data queue %u is not shadowed, so its "
					"position cannot be read from the running "
					"device; shadow every data queue, or open "
					"the handle with VDPASTATE_DEV_F_QUIESCED "
					"when the device is stopped another way",
					what, i);
	return 0;
}

VDPASTATE_API int vdpastate_dev_switch(struct vdpastate_dev *dev)
{
	const char *what = "switch";
	struct vdpastate_netstate *ns;
	struct vr_set vr = { 0 };
	uint32_t i;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "%s: NULL handle", what);
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "%s: the device is not started", what);
	if (dev->begun)
		return vds_fail(-EBUSY, "%s: an early restore is in progress", what);
	if ((err = vds_dev_late_collect(dev, what)) ||
	    (err = need_quiesced(dev, what)))
		return err; /* nothing touched yet */
	vds_dev_guest_flush(dev);
	vr.e = calloc(dev->ndata ? dev->ndata : 1, sizeof(*vr.e));
	ns = vdpastate_netstate_copy(dev->ns);
	if (!vr.e || !ns) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
	if ((dev->backend & BB(SUSPEND)) &&
	    (err = vdpastate_transport_suspend(dev->t))) {
		err = fail_reset(dev, err);
		goto out;
	}
	if ((err = read_positions(dev, what, vr.e))) {
		err = fail_reset(dev, err);
		goto out;
	}
	for (i = 0; i < dev->ndata; i++)
		vr.e[i].flags |= VR_F_CONFIGURED;
	vr.n = dev->ndata;
	err = do_restore(dev, ns, &vr, true, what);
out:
	vdpastate_netstate_free(ns);
	free(vr.e);
	return err;
}

/* ------------------------------------------------------------ save */

VDPASTATE_API int vdpastate_dev_save(struct vdpastate_dev *dev,
				     struct vdpastate_blob *blob)
{
	struct vdpastate_blob *tmp = NULL;
	uint8_t *rec = NULL, feat[8];
	struct vr_ent *pos = NULL;
	void *buf = NULL;
	size_t reclen;
	long len;
	uint32_t i, nent;
	int err;

	if (!dev || !blob)
		return vds_fail(-EINVAL, "save: NULL argument");
	if (vdpastate_blob_part_count(blob) || vdpastate_blob_record_count(blob) ||
	    vds_blob_has_netstate(blob))
		return vds_fail(-EINVAL, "save: the blob is not empty");
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "save: the device is not started");
	if (dev->ndata >= UINT16_MAX)
		return vds_fail(-ERANGE, "save: too many queues");
	/* A batch still on the device leaves the state unknown. */
	if ((err = vds_dev_late_collect(dev, "save")) ||
	    (err = need_quiesced(dev, "save")))
		return err;
	vds_dev_guest_flush(dev);
	if ((dev->backend & BB(SUSPEND)) &&
	    (err = vdpastate_transport_suspend(dev->t)))
		return err;
	nent = dev->ndata + (dev->g.on ? 1 : 0);
	reclen = 4 + (size_t)nent * VRING_REC_ENT;
	rec = calloc(1, reclen);
	pos = calloc(dev->ndata ? dev->ndata : 1, sizeof(*pos));
	tmp = vdpastate_blob_new();
	if (!rec || !tmp || !pos) {
		err = vds_fail(-ENOMEM, "save: out of memory");
		goto out;
	}
	vds_put_le16(rec, (uint16_t)nent);
	if (dev->g.on) {
		uint8_t *q = rec + 4 + (size_t)dev->ndata * VRING_REC_ENT;

		vds_put_le16(q, (uint16_t)dev->cvq);
		vds_put_le16(q + 2, (uint16_t)dev->g.cfg.num);
		vds_put_le16(q + 4, dev->g.cfg.last_avail_idx);
		vds_put_le16(q + 6, VR_F_GUEST_CVQ);
	}
	if ((err = read_positions(dev, "save", pos)))
		goto out;
	for (i = 0; i < dev->ndata; i++) {
		uint8_t *q = rec + 4 + (size_t)i * VRING_REC_ENT;

		vds_put_le16(q, pos[i].idx);
		vds_put_le16(q + 2, pos[i].num);
		vds_put_le16(q + 4, pos[i].base);
		vds_put_le16(q + 6, pos[i].flags);
	}
	vds_put_le64(feat, dev->offered);
	if ((err = vdpastate_blob_set_netstate(tmp, dev->ns)) ||
	    (err = vdpastate_blob_add_part(tmp, VDPASTATE_DEV_PART_DEV_FEATURES,
					   VDPASTATE_DEV_PART_F_OPTIONAL, NULL, feat,
					   8)) ||
	    (err = vds_blob_add_lib_record(tmp, VDPASTATE_DEV_REC_VRINGS, 0, rec,
					   (uint32_t)reclen)))
		goto out;
	/* Through the wire form, so blob changes all at once or not at all. */
	{
		size_t cap = 4096;

		for (;;) {
			buf = malloc(cap);
			if (!buf) {
				err = vds_fail(-ENOMEM, "save: out of memory");
				goto out;
			}
			len = vdpastate_blob_save(tmp, buf, cap);
			if (len != -ENOBUFS)
				break;
			free(buf);
			buf = NULL;
			cap *= 4;
		}
		if (len < 0) {
			err = (int)len;
			goto out;
		}
	}
	err = vdpastate_blob_load(blob, buf, (size_t)len);
out:
	/* Suspended and stopped from here on, even when the blob is not
	 * written: resume brings the device back either way. */
	dev->saved = true;
	free(buf);
	free(rec);
	free(pos);
	vdpastate_blob_free(tmp);
	return err;
}

/*
 * A migration cancelled after the save: the source goes on.  In place
 * when the device can resume (RESUME negotiated) and the save parked no
 * shadowed queue: every data queue runs on the guest's rings, which the
 * suspended device left where they were.  Otherwise the shadow rings no
 * longer match the device (the save gave their in-flight chains back to
 * the guest and emptied them), or the device cannot resume: it is brought
 * up again as a switch does, with the tracked state, each queue at its
 * saved position.
 */
VDPASTATE_API int vdpastate_dev_resume(struct vdpastate_dev *dev)
{
	const char *why = NULL;
	uint32_t i;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "resume: NULL handle");
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "resume: the device is not started");
	if (!dev->saved)
		return vds_fail(-EINVAL, "resume: the device was not saved "
				"(nothing to resume)");
	for (i = 0; i < dev->ndata && i < dev->ncfg && !why; i++)
		if (dev->vq[i].parked)
			why = "a shadowed queue was stopped by the save";
	if (!why && !(dev->backend & BB(SUSPEND)))
		why = "the device was not suspended (no SUSPEND)";
	if (!why && !(dev->backend & BB(RESUME)))
		why = "the device does not offer RESUME";
	if (!why) {
		if (!(err = vdpastate_transport_resume(dev->t))) {
			dev->saved = false;
			vds_log(VDPASTATE_LOG_INFO, "resume: the device resumed "
				"in place (RESUME)");
			return VDPASTATE_DEV_RESUMED;
		}
		vds_log(VDPASTATE_LOG_WARN, "resume: RESUME failed (%s): the "
			"device is brought up again", vdpastate_last_error());
		why = "RESUME failed";
	}
	vds_log(VDPASTATE_LOG_INFO, "resume: %s: the device is brought up again "
		"with the tracked state", why);
	for (i = 0; i < dev->ndata && i < dev->ncfg; i++)
		if (dev->vq[i].parked && dev->vq[i].broken)
			vds_log(VDPASTATE_LOG_WARN, "resume: data queue %u stays "
				"disabled (broken)", i);
	if ((err = vdpastate_dev_switch(dev)))
		return err;
	return VDPASTATE_DEV_RESTARTED;
}

/* ------------------------------------------------------------ early restore */

VDPASTATE_API int vdpastate_dev_restore_begin(struct vdpastate_dev *dev,
					      const struct vdpastate_blob *blob)
{
	const struct vdpastate_netstate *ns;
	struct vr_set vr;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "restore_begin: NULL handle");
	if (dev->begun)
		return vds_fail(-EALREADY, "restore_begin: an early restore is "
				"already in progress");
	if ((err = vds_dev_blob_input(blob, "restore_begin", &ns, &vr)))
		return err;
	err = do_restore(dev, ns, &vr, false, "restore_begin");
	free(vr.e);
	if (err)
		return err;
	dev->begun = vdpastate_netstate_copy(ns);
	if (!dev->begun)
		return fail_reset(dev, vds_fail(-ENOMEM, "restore_begin: out of "
						"memory"));
	return 0;
}

/*
 * The final vring bases of an early restore, on a device past DRIVER_OK,
 * which vhost-vdpa of Linux 6.12 takes only while the device is
 * suspended (EINVAL otherwise).  With SUSPEND and RESUME acked the
 * device is suspended around them; without RESUME it could not run
 * again, and they are set on the running device, as Linux 6.1 takes
 * them.  A shadowed queue's base goes to its SVQ instead.
 */
static int final_bases(struct vdpastate_dev *dev, const struct vr_set *vr)
{
	bool pause = (dev->backend & BB(SUSPEND)) && (dev->backend & BB(RESUME));
	uint32_t q, n = 0;
	int err = 0, r;

	for (q = 0; q < dev->ndata; q++)
		if (!(q < dev->ncfg && dev->vq[q].svq) && vr_find(vr, q, false))
			n++;
	if (!n)
		return 0;
	if (pause && (err = vdpastate_transport_suspend(dev->t)))
		return err;
	for (q = 0; q < dev->ndata && !err; q++) {
		const struct vr_ent *b = vr_find(vr, q, false);

		if (b && !(q < dev->ncfg && dev->vq[q].svq))
			err = vdpastate_transport_set_vring_base(dev->t, q, b->base);
	}
	if (pause && (r = vdpastate_transport_resume(dev->t)) && !err)
		err = r;
	return err;
}

VDPASTATE_API int
vdpastate_dev_restore_commit(struct vdpastate_dev *dev,
			     const struct vdpastate_blob *blob)
{
	const char *what = "restore_commit";
	const struct vdpastate_netstate *ns;
	struct vdpastate_cvq_cmdlist *list = NULL;
	const struct vdpastate_cvq_cmd **cmds = NULL;
	struct vdpastate_netstate *copy = NULL;
	uint64_t t0 = now_ns();
	struct vr_set vr;
	size_t i, n;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "%s: NULL handle", what);
	if (!dev->begun || !dev->up)
		return vds_fail(-ENOENT, "%s: no early restore in progress", what);
	if ((err = vds_dev_blob_input(blob, what, &ns, &vr)))
		return err;
	err = vdpastate_netstate_diff(dev->begun, ns, &list);
	if (err == -VDPASTATE_EINCOMPAT) {
		/* Features or configuration changed: start over in full. */
		vds_log(VDPASTATE_LOG_INFO, "%s: full reload: %s", what,
			vdpastate_last_error());
		dev->st.full_reloads++;
		err = do_restore(dev, ns, &vr, true, what);
		free(vr.e);
		return err;
	}
	if (err)
		goto out;
	n = vdpastate_cvq_cmdlist_count(list);
	cmds = calloc(n ? n : 1, sizeof(*cmds));
	copy = vdpastate_netstate_copy(ns);
	if (!cmds || !copy) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto fail;
	}
	for (i = 0; i < n; i++)
		cmds[i] = vdpastate_cvq_cmdlist_get(list, i);
	if ((err = vds_dev_post_cmds(dev, what, cmds, n, NULL, NULL)) ||
	    (err = final_bases(dev, &vr)) ||
	    (err = enable_data(dev, &vr, what)) ||
	    (err = rebase(dev, dev->ns, cmds, n, &copy, what)))
		goto fail;
	vdpastate_netstate_free(dev->ns);
	dev->ns = copy;
	copy = NULL;
	vdpastate_netstate_free(dev->begun);
	dev->begun = NULL;
	guest_from_vr(dev, &vr);
	dev->st.last_restore_ns = now_ns() - t0;
	goto out;
fail:
	err = fail_reset(dev, err);
out:
	vdpastate_netstate_free(copy);
	vdpastate_cvq_cmdlist_free(list);
	free(cmds);
	free(vr.e);
	return err;
}

