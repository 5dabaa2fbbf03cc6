/* SPDX-License-Identifier: MIT */
/*
 * lib/guest_cvq.c - the guest's control queue, the device handle being its
 * device: each guest command is decoded, checked against the tracked
 * state, relayed to the device through the handle's control ring, and
 * the device's answer goes back to the guest.
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

/* ------------------------------------------------------------ guest CVQ */

#define GUEST_SEGS_EXTRA 64 /* segments beyond two per descriptor */

void vds_dev_guest_drop(struct guest_cvq *g)
{
	if (g->live)
		vds_vdev_fini(&g->vd);
	g->live = false;
}

void vds_dev_guest_free(struct guest_cvq *g)
{
	vds_dev_guest_drop(g);
	free(g->segs);
	free(g->buf);
	memset(g, 0, sizeof(*g));
}

VDPASTATE_API int
vdpastate_dev_set_guest_cvq(struct vdpastate_dev *dev,
			    const struct vdpastate_dev_guest_cvq *gc)
{
	const char *what = "dev: set_guest_cvq";
	struct vdpastate_dev_guest_cvq c = { 0 };
	struct guest_cvq g = { 0 };
	struct vds_as_mem as;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "%s: NULL handle", what);
	if (!gc) {
		vds_dev_guest_free(&dev->g);
		dev->late.guest = false; /* its answer goes to no guest */
		return 0;
	}
	if ((err = VDS_OPTS_VALID(gc, vdpastate_dev_guest_cvq)))
		return err;
	if (!VDS_OPTS_HAS(gc, call_fd))
		return vds_fail(-EINVAL, "%s: struct too small", what);
	memcpy(&c, gc, gc->sz < sizeof(c) ? gc->sz : sizeof(c));
	c.sz = sizeof(c);
	if (!c.mem)
		return vds_fail(-EINVAL, "%s: NULL guest memory", what);
	if (c.reserved0)
		return vds_fail(-EINVAL, "%s: reserved0 not zero", what);
	if (!c.num || c.num > 32768 || (c.num & (c.num - 1)))
		return vds_fail(-EINVAL, "%s: ring size %u is not a power of two "
				"up to 32768", what, c.num);
	if (c.desc % 16 || c.avail % 2 || c.used % 4)
		return vds_fail(-EINVAL, "%s: ring areas misaligned (16/2/4)",
				what);
	if (c.kick_fd < -1 || c.call_fd < -1)
		return vds_fail(-EBADF, "%s: bad fd", what);
	/* The areas without event fields must be guest memory already. */
	vds_as_mem_init(&as, c.mem);
	if (!vds_as_contig(&as.as, c.desc, vdpastate_vring_desc_size(c.num),
			   false) ||
	    !vds_as_contig(&as.as, c.avail,
			   vdpastate_vring_avail_size(c.num, false), false) ||
	    !vds_as_contig(&as.as, c.used,
			   vdpastate_vring_used_size(c.num, false), true))
		return vds_fail(-EFAULT, "%s: a ring area is not in one writable "
				"(used) guest memory region", what);
	g.segs_max = 2 * c.num + GUEST_SEGS_EXTRA;
	g.segs = calloc(g.segs_max, sizeof(*g.segs));
	g.buf = malloc(BUF_SIZE);
	if (!g.segs || !g.buf) {
		free(g.segs);
		free(g.buf);
		return vds_fail(-ENOMEM, "%s: out of memory", what);
	}
	g.on = true;
	g.cfg = c;
	/* A command late on the device stays the guest's when its chain is
	 * still at the head of the same ring (a new memory table, say): it
	 * is answered when the device answers, never sent again.  On any
	 * other ring its answer goes to no guest. */
	if (dev->g.held && dev->g.cfg.desc == c.desc &&
	    dev->g.cfg.avail == c.avail && dev->g.cfg.used == c.used &&
	    dev->g.cfg.num == c.num &&
	    dev->g.cfg.last_avail_idx == c.last_avail_idx) {
		g.held = true;
		g.late_ready = dev->g.late_ready;
		g.late_rep = dev->g.late_rep;
	} else {
		dev->late.guest = false;
	}
	vds_dev_guest_free(&dev->g);
	dev->g = g;
	return 0;
}

VDPASTATE_API int vdpastate_dev_guest_cvq_state(const struct vdpastate_dev *dev,
						uint16_t *last_avail_idx,
						uint16_t *used_idx)
{
	if (!dev || !last_avail_idx || !used_idx)
		return vds_fail(-EINVAL, "dev: guest_cvq_state: NULL argument");
	if (!dev->g.on)
		return vds_fail(-ENOENT, "dev: guest_cvq_state: no guest control "
				"queue");
	*last_avail_idx = dev->g.cfg.last_avail_idx;
	*used_idx = dev->g.cfg.used_idx;
	return 0;
}

/* Set up the device half on the guest ring for the current features. */
static int guest_live(struct vdpastate_dev *dev)
{
	struct guest_cvq *g = &dev->g;
	uint64_t f = g->cfg.guest_features ? g->cfg.guest_features
					    : dev->features;
	bool ev = f & (UINT64_C(1) << VDPASTATE_F_EVENT_IDX);
	void *desc, *avail, *used;

	if (g->live)
		return 0;
	vds_as_mem_init(&g->as, g->cfg.mem);
	desc = vds_as_contig(&g->as.as, g->cfg.desc,
			     vdpastate_vring_desc_size(g->cfg.num), false);
	avail = vds_as_contig(&g->as.as, g->cfg.avail,
			      vdpastate_vring_avail_size(g->cfg.num, ev), false);
	used = vds_as_contig(&g->as.as, g->cfg.used,
			     vdpastate_vring_used_size(g->cfg.num, ev), true);
	if (!desc || !avail || !used)
		return vds_fail(-EFAULT, "dev: guest control queue: a ring area "
				"left guest memory");
	if (vds_vdev_init(&g->vd, (uint16_t)g->cfg.num, f, &g->as.as, desc,
			  avail, used))
		return vds_fail(-ENOMEM, "dev: guest control queue: out of memory");
	g->vd.last_avail = g->cfg.last_avail_idx;
	g->vd.used_idx = g->vd.signalled_used = g->cfg.used_idx;
	g->live = true;
	return 0;
}

/*
 * One guest command: the answer for the guest into *rep.  Returns 0, or
 * a device-side error (the answer is then ERR).
 */
static int guest_one(struct vdpastate_dev *dev, const uint8_t *buf, size_t len,
		     struct reply *rep)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, c);
	struct vdpastate_cvq_cmd *cmd = NULL;
	struct vdpastate_netstate *copy = NULL;
	size_t answered;
	int err;

	rep->b[0] = 1; /* VIRTIO_NET_ERR */
	rep->len = 1;
	if ((err = vds_dev_late_collect(dev, "guest command")))
		return err;
	vdpastate_netstate_get_config(dev->ns, &c);
	{
		VDPASTATE_OPTS(vdpastate_cvq_limits, lim,
			       .max_virtqueue_pairs = c.max_virtqueue_pairs,
			       .rss_max_indirection_table_length =
				       c.rss_max_indirection_table_length,
			       .rss_max_key_size = c.rss_max_key_size,
			       .supported_hash_types = c.supported_hash_types);

		if (!lim.max_virtqueue_pairs)
			lim.max_virtqueue_pairs = 1;
		if (vdpastate_cvq_decode(buf, len, dev->features, &lim, &cmd)) {
			vds_log(VDPASTATE_LOG_INFO, "dev: guest command refused: %s",
				vdpastate_last_error());
			return 0;
		}
	}
	copy = vdpastate_netstate_copy(dev->ns);
	if (!copy) {
		vdpastate_cvq_cmd_free(cmd);
		return vds_fail(-ENOMEM, "dev: guest command: out of memory");
	}
	if (vdpastate_netstate_apply(copy, cmd)) {
		vds_log(VDPASTATE_LOG_INFO, "dev: guest command refused: %s",
			vdpastate_last_error());
		err = 0;
		goto out;
	}
	err = vds_dev_post_cmds(dev, "guest command",
				(const struct vdpastate_cvq_cmd *const *)&cmd, 1,
				rep, &answered);
	if (err == -ETIMEDOUT && dev->late.n) {
		/* The command is on the device: the guest waits for it. */
		dev->late.guest = true;
		dev->g.held = true;
		dev->g.late_ready = false;
		goto out;
	}
	if (err) {
		rep->b[0] = 1;
		rep->len = 1;
		goto out;
	}
	if (rep->b[0] != NET_OK) {
		rep->b[0] = 1; /* the guest sees OK or ERR, nothing else */
		rep->len = 1;
	} else {
		vdpastate_netstate_free(dev->ns);
		dev->ns = copy;
		copy = NULL;
	}
out:
	vdpastate_netstate_free(copy);
	vdpastate_cvq_cmd_free(cmd);
	return err;
}

static int guest_break(struct guest_cvq *g, int err)
{
	g->broken = true;
	return err;
}

/* The chain at the head of the guest ring into g->segs: its pieces. */
static int take_chain(struct guest_cvq *g, uint16_t *head)
{
	uint64_t wlen;
	int n;

	if ((n = vds_vdev_peek_head(&g->vd, head)) < 0)
		return n;
	n = vds_vdev_chain(&g->vd, *head, g->segs, g->segs_max, &wlen);
	if (n == -E2BIG)
		return vds_fail(-VDPASTATE_EGUEST, "dev: guest control chain %u "
				"has more than %u pieces", *head, g->segs_max);
	if (n >= 0 && wlen < 1)
		return vds_fail(-VDPASTATE_EGUEST, "dev: guest control chain %u "
				"has no writable ack byte", *head);
	return n;
}

/* Answer the guest's chain held for a late answer that has arrived. */
void vds_dev_guest_flush(struct vdpastate_dev *dev)
{
	struct guest_cvq *g = &dev->g;
	uint16_t head;
	int n;

	if (!g->held || !g->late_ready || !g->live)
		return;
	if ((n = take_chain(g, &head)) < 0) {
		guest_break(g, n);
		return;
	}
	vds_vdev_pop(&g->vd);
	vds_vdev_push_used(&g->vd, head,
			   vds_segs_scatter(g->segs, n, g->late_rep.b,
					    g->late_rep.len));
	g->cfg.last_avail_idx = g->vd.last_avail;
	g->cfg.used_idx = g->vd.used_idx;
	g->held = g->late_ready = false;
	if (vds_vdev_publish_used(&g->vd))
		vds_fd_signal(g->cfg.call_fd);
}

VDPASTATE_API int vdpastate_dev_handle_guest_cvq(struct vdpastate_dev *dev)
{
	struct guest_cvq *g;
	int avail, handled = 0, err = 0;
	bool budget_out = false;

	if (!dev)
		return vds_fail(-EINVAL, "dev: handle_guest_cvq: NULL handle");
	g = &dev->g;
	if (!g->on)
		return vds_fail(-ENOENT, "dev: handle_guest_cvq: no guest control "
				"queue");
	if (g->broken)
		return vds_fail(-VDPASTATE_EGUEST, "dev: handle_guest_cvq: the "
				"guest broke its control ring; set it again");
	if (!dev->up || !dev->ns || dev->cvq >= dev->nvq)
		return vds_fail(-ENOENT, "dev: handle_guest_cvq: the device is not "
				"started with a control queue");
	if ((err = guest_live(dev)))
		return guest_break(g, err);
	vds_fd_drain(g->cfg.kick_fd);
again:
	if ((avail = vds_vdev_avail(&g->vd)) < 0)
		err = guest_break(g, avail);
	while (avail-- > 0 && !err) {
		struct reply rep;
		uint64_t rlen;
		uint16_t head;
		size_t got;
		int n;

		if (handled >= VDPASTATE_DEV_GUEST_CVQ_BUDGET) {
			/* The rest on the next call, as vhost does: the kick
			 * fd fires again (CVE-2019-3900). */
			budget_out = true;
			break;
		}
		if ((n = take_chain(g, &head)) < 0) {
			err = guest_break(g, n);
			break;
		}
		if (g->held) {
			/* Its command is on the device: wait for that answer,
			 * never send it again. */
			if (!g->late_ready &&
			    (err = vds_dev_late_collect(dev, "guest command")))
				break;
			rep = g->late_rep;
			g->held = g->late_ready = false;
		} else {
			got = vds_segs_gather(g->segs, n, g->buf, BUF_SIZE, &rlen);
			if (got != rlen) {
				vds_log(VDPASTATE_LOG_INFO, "dev: guest command of "
					"%llu bytes refused (at most %u)",
					(unsigned long long)rlen, BUF_SIZE);
				rep.b[0] = 1;
				rep.len = 1;
			} else {
				err = guest_one(dev, g->buf, got, &rep);
				if (g->held)
					break; /* unanswered: stays available */
			}
		}
		vds_vdev_pop(&g->vd);
		vds_vdev_push_used(&g->vd, head,
				   vds_segs_scatter(g->segs, n, rep.b, rep.len));
		g->cfg.last_avail_idx = g->vd.last_avail;
		g->cfg.used_idx = g->vd.used_idx;
		handled++;
	}
	/* What was answered reaches the guest, even before a failure. */
	if (vds_vdev_publish_used(&g->vd))
		vds_fd_signal(g->cfg.call_fd);
	if (budget_out) {
		vds_fd_signal(g->cfg.kick_fd);
		return handled;
	}
	if (!err && vds_vdev_enable_kicks(&g->vd))
		goto again;
	return err ? err : handled;
}

