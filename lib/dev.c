/* SPDX-License-Identifier: MIT */
/*
 * lib/dev.c - the device handle: orchestration over a transport.  It owns
 * a control ring of its own (the ring's driver half, lib/ring.h) mapped
 * into the control queue's address space, through which it posts the
 * commands a restore needs in batches of as many as the ring holds, and
 * the tracked state those commands build.  This file: open and free, the
 * vring configuration, the control ring and the commands a VMM sends.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
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

/* ------------------------------------------------------------ helpers */

static size_t round_page(size_t n)
{
	return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static const char *const feature_names[64] = {
	[VDPASTATE_NET_F_CSUM] = "CSUM",
	[VDPASTATE_NET_F_GUEST_CSUM] = "GUEST_CSUM",
	[VDPASTATE_NET_F_CTRL_GUEST_OFFLOADS] = "CTRL_GUEST_OFFLOADS",
	[VDPASTATE_NET_F_MTU] = "MTU",
	[VDPASTATE_NET_F_MAC] = "MAC",
	[VDPASTATE_NET_F_GUEST_TSO4] = "GUEST_TSO4",
	[VDPASTATE_NET_F_GUEST_TSO6] = "GUEST_TSO6",
	[VDPASTATE_NET_F_GUEST_ECN] = "GUEST_ECN",
	[VDPASTATE_NET_F_GUEST_UFO] = "GUEST_UFO",
	[VDPASTATE_NET_F_HOST_TSO4] = "HOST_TSO4",
	[VDPASTATE_NET_F_HOST_TSO6] = "HOST_TSO6",
	[VDPASTATE_NET_F_HOST_ECN] = "HOST_ECN",
	[VDPASTATE_NET_F_HOST_UFO] = "HOST_UFO",
	[VDPASTATE_NET_F_MRG_RXBUF] = "MRG_RXBUF",
	[VDPASTATE_NET_F_STATUS] = "STATUS",
	[VDPASTATE_NET_F_CTRL_VQ] = "CTRL_VQ",
	[VDPASTATE_NET_F_CTRL_RX] = "CTRL_RX",
	[VDPASTATE_NET_F_CTRL_VLAN] = "CTRL_VLAN",
	[VDPASTATE_NET_F_CTRL_RX_EXTRA] = "CTRL_RX_EXTRA",
	[VDPASTATE_NET_F_GUEST_ANNOUNCE] = "GUEST_ANNOUNCE",
	[VDPASTATE_NET_F_MQ] = "MQ",
	[VDPASTATE_NET_F_CTRL_MAC_ADDR] = "CTRL_MAC_ADDR",
	[VDPASTATE_F_INDIRECT_DESC] = "INDIRECT_DESC",
	[VDPASTATE_F_EVENT_IDX] = "EVENT_IDX",
	[VDPASTATE_F_VERSION_1] = "VERSION_1",
	[VDPASTATE_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
	[VDPASTATE_F_RING_PACKED] = "RING_PACKED",
	[VDPASTATE_F_IN_ORDER] = "IN_ORDER",
	[VDPASTATE_NET_F_DEVICE_STATS] = "DEVICE_STATS",
	[VDPASTATE_NET_F_HASH_TUNNEL] = "HASH_TUNNEL",
	[VDPASTATE_NET_F_VQ_NOTF_COAL] = "VQ_NOTF_COAL",
	[VDPASTATE_NET_F_NOTF_COAL] = "NOTF_COAL",
	[VDPASTATE_NET_F_GUEST_USO4] = "GUEST_USO4",
	[VDPASTATE_NET_F_GUEST_USO6] = "GUEST_USO6",
	[VDPASTATE_NET_F_HOST_USO] = "HOST_USO",
	[VDPASTATE_NET_F_HASH_REPORT] = "HASH_REPORT",
	[VDPASTATE_NET_F_GUEST_HDRLEN] = "GUEST_HDRLEN",
	[VDPASTATE_NET_F_RSS] = "RSS",
	[VDPASTATE_NET_F_RSC_EXT] = "RSC_EXT",
	[VDPASTATE_NET_F_STANDBY] = "STANDBY",
	[VDPASTATE_NET_F_SPEED_DUPLEX] = "SPEED_DUPLEX",
};

/* "MQ, RSS" for the bits of mask, into buf. */
const char *vds_dev_feature_list(uint64_t mask, char *buf, size_t len)
{
	size_t at = 0;
	unsigned int b;

	buf[0] = 0;
	for (b = 0; b < 64 && at < len; b++) {
		char one[24];
		int n;

		if (!(mask >> b & 1))
			continue;
		if (feature_names[b])
			snprintf(one, sizeof(one), "%s", feature_names[b]);
		else
			snprintf(one, sizeof(one), "bit %u", b);
		n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", one);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}

/* A command for messages: its name and the value that tells it apart. */
static void cmd_desc(const struct vdpastate_cvq_cmd *cmd, char *buf, size_t len)
{
	unsigned int what = (unsigned int)vdpastate_cvq_cmd_class(cmd) << 8 |
			    vdpastate_cvq_cmd_command(cmd);
	const char *name = vdpastate_cvq_cmd_name(cmd);

	/* Only the getter that fits: the others report a failure. */
	if (what == (VDPASTATE_CVQ_VLAN << 8 | VDPASTATE_CVQ_VLAN_ADD) ||
	    what == (VDPASTATE_CVQ_VLAN << 8 | VDPASTATE_CVQ_VLAN_DEL))
		snprintf(buf, len, "%s vid %d", name, vdpastate_cvq_cmd_vlan_id(cmd));
	else if (what == (VDPASTATE_CVQ_MQ << 8 | VDPASTATE_CVQ_MQ_VQ_PAIRS_SET))
		snprintf(buf, len, "%s pairs %d", name,
			 vdpastate_cvq_cmd_vq_pairs(cmd));
	else if (what == (VDPASTATE_CVQ_NOTF_COAL << 8 |
			  VDPASTATE_CVQ_NOTF_COAL_VQ_SET))
		snprintf(buf, len, "%s vq %d", name, vdpastate_cvq_cmd_coal_vq(cmd));
	else
		snprintf(buf, len, "%s", name);
}

/* ------------------------------------------------------------ open/free */

VDPASTATE_API struct vdpastate_dev *
vdpastate_dev_open(struct vdpastate_transport *t,
		   const struct vdpastate_dev_opts *opts)
{
	struct vdpastate_dev *dev;
	int err;

	if (!t)
		return vds_fail_ptr(-EINVAL, "dev: open: NULL transport");
	if ((err = VDS_OPTS_VALID(opts, vdpastate_dev_opts)))
		return vds_fail_ptr(err, "dev: open: bad options");
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vds_fail_ptr(-ENOMEM, "dev: open: out of memory");
	dev->t = t;
	dev->cvq_iova_opt = VDS_OPTS_GET(opts, cvq_iova, 0);
	dev->timeout_ms = VDS_OPTS_GET(opts, cvq_timeout_ms, 0);
	if (!dev->timeout_ms)
		dev->timeout_ms = DEF_TIMEOUT_MS;
	dev->ring_opt = VDS_OPTS_GET(opts, cvq_ring_size, 0);
	dev->inflight_opt = VDS_OPTS_GET(opts, cvq_max_inflight, 0);
	dev->flags = VDS_OPTS_GET(opts, flags, 0);
	if (dev->flags & ~VDPASTATE_DEV_F_QUIESCED) {
		uint32_t bad = dev->flags & ~VDPASTATE_DEV_F_QUIESCED;

		free(dev);
		return vds_fail_ptr(-EINVAL, "dev: open: flags 0x%x undefined",
				    bad);
	}
	dev->kick_fd = dev->call_fd = -1;
	if (dev->ring_opt & (dev->ring_opt - 1) ||
	    dev->cvq_iova_opt % PAGE) {
		free(dev);
		return vds_fail_ptr(-EINVAL, "dev: open: cvq_ring_size must be a "
				    "power of two and cvq_iova page aligned");
	}
	/* Only this library names a transport "sim"; in inline mode nobody
	 * else would run the device while the handle waits for it.  A sim
	 * on its own thread is waited for like any device. */
	if (!strcmp(vdpastate_transport_name(t), "sim") &&
	    !vds_sim_threaded(vds_transport_ctx(t)))
		dev->sim = vds_transport_ctx(t);
	dev->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dev->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->kick_fd < 0 || dev->call_fd < 0) {
		err = -errno;
		vdpastate_dev_free(dev);
		return vds_fail_ptr(err, "dev: open: eventfd: %s",
				    vdpastate_strerror(err));
	}
	return dev;
}

/*
 * Undo what is mapped.  A device that lost its mappings on reset answers
 * -ENOENT, which means the same: the range is free.  Any other failure
 * keeps the part as mapped so the next attempt unmaps it again.
 */
static int unmap_cvq(struct vdpastate_dev *dev)
{
	int err = 0, e;

	if (dev->mapped & 1) {
		e = vdpastate_transport_dma_unmap(dev->t, dev->mapped_asid,
						  dev->iova, dev->ro_size);
		if (!e || e == -ENOENT)
			dev->mapped &= ~1u;
		else
			err = e;
	}
	if (dev->mapped & 2) {
		e = vdpastate_transport_dma_unmap(dev->t, dev->mapped_asid,
						  dev->iova + dev->ro_size,
						  dev->rw_size);
		if (!e || e == -ENOENT)
			dev->mapped &= ~2u;
		else if (!err)
			err = e;
	}
	return err;
}

void vds_dev_drv_drop(struct vdpastate_dev *dev)
{
	if (dev->drv_live)
		vds_vdrv_fini(&dev->drv);
	dev->drv_live = false;
}

/*
 * Ring memory the device may still reach (its unmap failed) is never
 * freed or reused: it stays on this list for the life of the process.
 */
struct kept_ring {
	void *mem;
	struct kept_ring *next;
};
static struct kept_ring *kept_rings;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void quarantine(void *mem)
{
	struct kept_ring *k = malloc(sizeof(*k));

	if (!k)
		return; /* still never freed, only not listed */
	k->mem = mem;
	pthread_mutex_lock(&kept_lock);
	k->next = kept_rings;
	kept_rings = k;
	pthread_mutex_unlock(&kept_lock);
}

/* The control ring's bookkeeping: per ring entry and per batch slot. */
static void free_slots(struct vdpastate_dev *dev)
{
	free(dev->slot_of);
	free(dev->done);
	free(dev->len_of);
	dev->slot_of = NULL;
	dev->done = NULL;
	dev->len_of = NULL;
}

VDPASTATE_API void vdpastate_dev_free(struct vdpastate_dev *dev)
{
	if (!dev)
		return;
	if (unmap_cvq(dev))
		vds_log(VDPASTATE_LOG_ERROR, "dev: free: unmapping the control ring "
			"(IOVA 0x%llx, address space %u) failed: %s; its %zu "
			"bytes stay allocated so the device cannot write into "
			"reused memory: reset the device before reusing that "
			"IOVA range", (unsigned long long)dev->iova,
			dev->mapped_asid, vdpastate_last_error(),
			dev->ro_size + dev->rw_size);
	vds_dev_late_drop(dev);
	vds_dev_drv_drop(dev);
	free_slots(dev);
	if (!dev->mapped)
		vds_dma_free(dev->mem, dev->ro_size + dev->rw_size);
	else
		quarantine(dev->mem);
	free(dev->vq);
	vds_dev_guest_free(&dev->g);
	vdpastate_netstate_free(dev->ns);
	vdpastate_netstate_free(dev->begun);
	if (dev->kick_fd >= 0)
		close(dev->kick_fd);
	if (dev->call_fd >= 0)
		close(dev->call_fd);
	free(dev);
}

VDPASTATE_API int vdpastate_dev_set_vring(struct vdpastate_dev *dev,
					  uint32_t idx,
					  const struct vdpastate_dev_vring *vr)
{
	struct vdpastate_dev_vring c = { 0 };
	int err;

	if (!dev || !vr)
		return vds_fail(-EINVAL, "dev: set_vring: NULL argument");
	if ((err = VDS_OPTS_VALID(vr, vdpastate_dev_vring)))
		return err;
	memcpy(&c, vr, vr->sz < sizeof(c) ? vr->sz : sizeof(c));
	c.sz = sizeof(c);
	if (!VDS_OPTS_HAS(vr, call_fd))
		return vds_fail(-EINVAL, "dev: set_vring: struct too small");
	if (c.reserved0)
		return vds_fail(-EINVAL, "dev: set_vring: reserved0 not zero");
	if (idx >= VDPASTATE_CVQ_VQ_PAIRS_MAX * 2)
		return vds_fail(-EINVAL, "dev: set_vring: queue %u is no data queue",
				idx);
	if (c.num && (c.num > 32768 || (c.num & (c.num - 1))))
		return vds_fail(-EINVAL, "dev: set_vring: queue %u: size %u is not "
				"a power of two up to 32768", idx, c.num);
	if (c.kick_fd < -1 || c.call_fd < -1)
		return vds_fail(-EBADF, "dev: set_vring: queue %u: bad fd", idx);
	if (idx >= dev->ncfg) {
		uint32_t n = idx + 1;
		struct dev_vq *q = realloc(dev->vq, n * sizeof(*q));

		if (!q)
			return vds_fail(-ENOMEM, "dev: set_vring: out of memory");
		memset(q + dev->ncfg, 0, (n - dev->ncfg) * sizeof(*q));
		dev->vq = q;
		dev->ncfg = n;
	}
	dev->vq[idx].cfg = c;
	return 0;
}

/* ------------------------------------------------------------ control ring */

/* Allocate the ring memory for ring entries, once (the size never shrinks). */
int vds_dev_ring_alloc(struct vdpastate_dev *dev, uint16_t ring)
{
	bool ev = true; /* room for the event fields whatever is negotiated */
	size_t desc = vdpastate_vring_desc_size(ring);
	size_t avail = vdpastate_vring_avail_size(ring, ev);
	size_t used = vdpastate_vring_used_size(ring, ev);

	int err;

	if (dev->mem && dev->ring == ring)
		return 0;
	if ((err = unmap_cvq(dev)))
		return err;
	vds_dev_drv_drop(dev);
	vds_dma_free(dev->mem, dev->ro_size + dev->rw_size);
	dev->mem = NULL;
	dev->avail_off = desc;
	dev->buf_off = round_page(desc + avail);
	dev->ro_size = dev->buf_off + BUF_SIZE;
	dev->used_off = 0;
	dev->ack_off = (used + 63) & ~(size_t)63;
	dev->rw_size = round_page(dev->ack_off + (size_t)ring * ACK_SLOT);
	free_slots(dev);
	dev->ring = 0;
	dev->mem = vds_dma_alloc(dev->ro_size + dev->rw_size);
	dev->slot_of = calloc(ring, sizeof(*dev->slot_of));
	dev->done = calloc(ring, sizeof(*dev->done));
	dev->len_of = calloc(ring, sizeof(*dev->len_of));
	if (!dev->mem || !dev->slot_of || !dev->done || !dev->len_of) {
		vds_dma_free(dev->mem, dev->ro_size + dev->rw_size);
		dev->mem = NULL;
		free_slots(dev);
		return vds_fail(-ENOMEM, "dev: out of memory for the control ring");
	}
	memset(dev->mem, 0, dev->ro_size + dev->rw_size);
	dev->ring = ring;
	return 0;
}

int vds_dev_map_cvq(struct vdpastate_dev *dev, uint32_t asid)
{
	uint64_t first, last, size = dev->ro_size + dev->rw_size;
	int err;

	if ((err = unmap_cvq(dev)))
		return err;
	if (dev->cvq_iova_opt) {
		dev->iova = dev->cvq_iova_opt;
	} else {
		if ((err = vdpastate_transport_get_iova_range(dev->t, &first, &last)))
			return err;
		if (last - first < size)
			return vds_fail(-ENOSPC, "dev: the device's IOVA range "
					"[0x%llx, 0x%llx] cannot hold the control "
					"ring", (unsigned long long)first,
					(unsigned long long)last);
		dev->iova = ((last - size + 1) & ~(uint64_t)(PAGE - 1));
	}
	if ((err = vdpastate_transport_dma_map(dev->t, asid, dev->iova,
					       dev->ro_size, dev->mem,
					       VDPASTATE_DMA_READ)))
		return err;
	dev->mapped_asid = asid;
	dev->mapped = 1;
	if ((err = vdpastate_transport_dma_map(dev->t, asid,
					       dev->iova + dev->ro_size,
					       dev->rw_size,
					       dev->mem + dev->ro_size,
					       VDPASTATE_DMA_READ |
						       VDPASTATE_DMA_WRITE)))
		return err;
	dev->mapped = 3;
	return 0;
}

static uint8_t *ack_at(struct vdpastate_dev *dev, unsigned int i)
{
	return dev->mem + dev->ro_size + dev->ack_off + (size_t)i * ACK_SLOT;
}

/*
 * Run the device until it used n more chains or time runs out.  Before
 * sleeping, ask for a call at the next used entry and look once more: an
 * entry that arrived between the last read and the request would
 * otherwise raise no call (with EVENT_IDX the request names the next
 * entry to read) and the wait would last until the deadline.
 */
static int wait_used(struct vdpastate_dev *dev, unsigned int n,
		     const uint16_t *slot_of, bool *done, uint32_t *len_of,
		     uint64_t deadline)
{
	unsigned int got = 0;

	while (got < n) {
		uint16_t id;
		uint32_t len;
		uint64_t now;
		int r;

		if (dev->sim)
			vdpastate_sim_poll(dev->sim);
		while ((r = vds_vdrv_get_used(&dev->drv, &id, &len)) == 1) {
			unsigned int s = slot_of[id];

			vds_vdrv_free(&dev->drv, id);
			if (len < 1) {
				/* No ack byte written: treat as not OK. */
				ack_at(dev, s)[0] = 0xff;
			}
			done[s] = true;
			if (len_of)
				len_of[s] = len;
			got++;
		}
		if (r < 0)
			return r;
		if (got >= n)
			break;
		vds_vdrv_want_calls(&dev->drv, true);
		if (vds_vdrv_more_used(&dev->drv))
			continue;
		now = now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		{
			struct pollfd p = { .fd = dev->call_fd, .events = POLLIN };
			uint64_t left_ms = (deadline - now + 999999) / 1000000;
			uint64_t v;

			/* The inline simulator runs only when polled. */
			if (dev->sim && left_ms > 1)
				left_ms = 1;
			if (poll(&p, 1, (int)left_ms) == 1 &&
			    read(dev->call_fd, &v, sizeof(v)) < 0) {
				/* Drained by an earlier read. */
			}
		}
	}
	return 0;
}

static int kick(struct vdpastate_dev *dev)
{
	uint64_t one = 1;

	if (write(dev->kick_fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		return vds_fail(-errno, "dev: kick: %s", vdpastate_strerror(-errno));
	return 0;
}

void vds_dev_late_drop(struct vdpastate_dev *dev)
{
	unsigned int k;

	for (k = 0; dev->late.cmds && k < dev->late.n; k++)
		vdpastate_cvq_cmd_free(dev->late.cmds[k]);
	free(dev->late.cmds);
	dev->late.cmds = NULL;
	dev->late.n = 0;
	dev->late.guest = false;
	dev->g.held = dev->g.late_ready = false;
}

/* Keep a timed-out batch (slots 0..cnt of cmds) as the late batch. */
static int late_keep(struct vdpastate_dev *dev,
		     const struct vdpastate_cvq_cmd *const *cmds, unsigned int cnt)
{
	unsigned int k;

	dev->late.cmds = calloc(cnt, sizeof(*dev->late.cmds));
	for (k = 0; dev->late.cmds && k < cnt; k++)
		if (!(dev->late.cmds[k] = vdpastate_cvq_cmd_copy(cmds[k])))
			break;
	dev->late.n = dev->late.cmds ? k : 0;
	dev->late.guest = false;
	if (k < cnt) {
		/* Without the copies the state cannot follow the device:
		 * the batch must still not be reused.  Keep it, unknown. */
		dev->late.n = cnt;
		return vds_fail(-ENOMEM, "dev: out of memory keeping a control "
				"batch the device did not answer");
	}
	return 0;
}

/*
 * Wait (up to the timeout) for the late batch to come back, then apply
 * the commands it answered OK to the tracked state, in order; the
 * guest's command gets its answer kept for it.  0 when no batch is late
 * any more; -ETIMEDOUT (nothing changed) while it still is.
 */
int vds_dev_late_collect(struct vdpastate_dev *dev, const char *what)
{
	unsigned int k, missing = 0;
	char d[64];
	int err;

	if (!dev->late.n)
		return 0;
	for (k = 0; k < dev->late.n; k++)
		missing += !dev->done[k];
	err = wait_used(dev, missing, dev->slot_of, dev->done, dev->len_of,
			now_ns() + (uint64_t)dev->timeout_ms * 1000000);
	if (err == -ETIMEDOUT) {
		for (k = 0; k < dev->late.n && dev->done[k]; k++)
			;
		if (dev->late.cmds && dev->late.cmds[k])
			cmd_desc(dev->late.cmds[k], d, sizeof(d));
		else
			snprintf(d, sizeof(d), "a command");
		return vds_fail(-ETIMEDOUT, "%s: the device has still not "
				"answered %s of an earlier batch (another %u ms "
				"waited); nothing new is sent until it does or "
				"the device is restored", what, d, dev->timeout_ms);
	}
	if (err)
		return err;
	for (k = 0; k < dev->late.n; k++) {
		const struct vdpastate_cvq_cmd *c =
			dev->late.cmds ? dev->late.cmds[k] : NULL;
		uint8_t ack = dev->len_of[k] ? VDS_READ_ONCE(ack_at(dev, k)[0]) : 1;

		if (!c)
			continue;
		cmd_desc(c, d, sizeof(d));
		vds_log(VDPASTATE_LOG_WARN, "%s: late answer from the device to "
			"%s: %s%s", what, d, ack == NET_OK ? "OK" : "not OK",
			ack == NET_OK ? ", applied to the tracked state" : "");
		if (ack == NET_OK && dev->ns &&
		    vdpastate_netstate_apply(dev->ns, c))
			vds_log(VDPASTATE_LOG_WARN, "%s: the state model refuses "
				"the late command: %s", what,
				vdpastate_last_error());
		if (dev->late.guest) {
			struct reply *r = &dev->g.late_rep;

			r->b[0] = ack == NET_OK ? NET_OK : 1;
			r->len = 1;
			if (ack == NET_OK && dev->len_of[k] > 1) {
				r->len = dev->len_of[k] < ACK_SLOT ? dev->len_of[k]
								   : ACK_SLOT;
				memcpy(r->b + 1, ack_at(dev, k) + 1, r->len - 1);
			}
			dev->g.late_ready = true;
		}
	}
	for (k = 0; dev->late.cmds && k < dev->late.n; k++)
		vdpastate_cvq_cmd_free(dev->late.cmds[k]);
	free(dev->late.cmds);
	dev->late.cmds = NULL;
	dev->late.n = 0;
	dev->late.guest = false;
	return 0;
}

/*
 * Post cmds[0..n) in batches of what the ring and buffer area hold (or
 * cvq_max_inflight), one kick per batch, and check every answer: the
 * first that is not OK fails with -EIO naming the command.  With rep
 * (n entries), the answers are returned there instead of checked, and
 * no batch is posted after one with an answer that is not OK; *answered
 * then receives how many commands were answered.  what names the
 * operation in messages.
 */
int vds_dev_post_cmds(struct vdpastate_dev *dev, const char *what,
		      const struct vdpastate_cvq_cmd *const *cmds, size_t n,
		      struct reply *rep, size_t *answered)
{
	unsigned int per = dev->cvq_num / 2;
	uint16_t *slot_of = dev->slot_of;
	uint32_t *len_of = dev->len_of;
	bool *done = dev->done;
	size_t i = 0;
	int err = 0;

	if (answered)
		*answered = 0;
	if (n == 0)
		return 0;
	if (dev->inflight_opt && dev->inflight_opt < per)
		per = dev->inflight_opt;
	if (dev->cvq >= dev->nvq)
		return vds_fail(-VDPASTATE_EINCOMPAT, "%s: %zu control commands "
				"but CTRL_VQ is not negotiated", what, n);
	/* Nothing new while an earlier batch still owns ring and slots. */
	if ((err = vds_dev_late_collect(dev, what)))
		return err;
	while (i < n) {
		size_t first = i, off = 0, k;
		unsigned int cnt = 0;

		while (i < n && cnt < per) {
			const struct vdpastate_cvq_cmd *c = cmds[i];
			size_t w = vdpastate_cvq_cmd_wire_size(c);
			struct vds_seg seg[2];
			int head;

			if (w > BUF_SIZE) {
				err = vds_fail(-E2BIG, "%s: %s takes %zu bytes, more "
					       "than the %u the control buffer "
					       "holds", what,
					       vdpastate_cvq_cmd_name(c), w,
					       BUF_SIZE);
				goto out;
			}
			if (off + w > BUF_SIZE)
				break;
			vdpastate_cvq_cmd_encode(c, dev->mem + dev->buf_off + off,
						 BUF_SIZE - off);
			memset(ack_at(dev, cnt), 0xff, ACK_SLOT);
			memset(seg, 0, sizeof(seg));
			seg[0].xaddr = dev->iova + dev->buf_off + off;
			seg[0].len = (uint32_t)w;
			seg[1].xaddr = dev->iova + dev->ro_size + dev->ack_off +
				       (uint64_t)cnt * ACK_SLOT;
			seg[1].len = ACK_SLOT; /* ack, and a query's result */
			seg[1].flags = VDPASTATE_VRING_DESC_F_WRITE;
			head = vds_vdrv_add(&dev->drv, seg, 2);
			if (head < 0) {
				err = vds_fail(-VDPASTATE_EDEVICE, "%s: control ring "
					       "full", what);
				goto out;
			}
			slot_of[head] = (uint16_t)cnt;
			done[cnt] = false;
			off += (w + 7) & ~(size_t)7;
			cnt++;
			i++;
		}
		vds_vdrv_publish(&dev->drv);
		/* Always kick: a batch is rare and a missed kick would hang. */
		if ((err = kick(dev)))
			goto out;
		dev->st.cvq_batches++;
		dev->st.cvq_commands += cnt;
		err = wait_used(dev, cnt, slot_of, done, len_of,
				now_ns() + (uint64_t)dev->timeout_ms * 1000000);
		if (err == -ETIMEDOUT) {
			char d[64];

			for (k = 0; k < cnt && done[k]; k++)
				;
			cmd_desc(cmds[first + k], d, sizeof(d));
			err = late_keep(dev, cmds + first, cnt);
			if (!err)
				err = vds_fail(-ETIMEDOUT, "%s: %s: no answer from "
					       "the device within %u ms; its batch "
					       "of %u stays in flight and is "
					       "applied if answered OK later",
					       what, d, dev->timeout_ms, cnt);
			goto out;
		}
		if (err)
			goto out;
		if (rep) {
			bool all_ok = true;

			for (k = 0; k < cnt; k++) {
				struct reply *r = &rep[first + k];

				memcpy(r->b, ack_at(dev, (unsigned int)k), ACK_SLOT);
				r->len = len_of[k] < ACK_SLOT ? len_of[k] : ACK_SLOT;
				if (r->len == 0) {
					r->b[0] = 1; /* no ack written: ERR */
					r->len = 1;
				}
				all_ok &= r->b[0] == NET_OK;
			}
			*answered = i;
			if (!all_ok)
				break;
			continue;
		}
		for (k = 0; k < cnt; k++) {
			const struct vdpastate_cvq_cmd *c = cmds[first + k];
			uint8_t ack = VDS_READ_ONCE(ack_at(dev, (unsigned int)k)[0]);
			char d[64];

			if (ack != NET_OK) {
				cmd_desc(c, d, sizeof(d));
				err = vds_fail(-EIO, "%s: %s: device answered %s", what,
					       d, ack == 1 ? "VIRTIO_NET_ERR"
							   : "no valid ack");
				goto out;
			}
		}
	}
out:
	return err;
}

static int send_list(struct vdpastate_dev *dev, const char *what,
		     const struct vdpastate_cvq_cmd *const *cmds, size_t n,
		     size_t *answered)
{
	struct vdpastate_netstate *check = NULL, *ns = NULL;
	struct reply *rep = NULL;
	size_t i, got = 0;
	int err = 0;

	if (answered)
		*answered = 0;
	if (!dev || (!cmds && n))
		return vds_fail(-EINVAL, "%s: NULL argument", what);
	for (i = 0; i < n; i++)
		if (!cmds[i])
			return vds_fail(-EINVAL, "%s: command %zu is NULL", what, i);
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "%s: the device is not started", what);
	if (dev->cvq >= dev->nvq)
		return vds_fail(-VDPASTATE_EFEATURE, "%s: CTRL_VQ not negotiated",
				what);
	if (n == 0)
		return 0;
	/* A late batch changes the state the list is checked against. */
	if ((err = vds_dev_late_collect(dev, what)))
		return err;
	/* The whole list must be acceptable before anything is sent. */
	check = vdpastate_netstate_copy(dev->ns);
	ns = vdpastate_netstate_copy(dev->ns);
	rep = calloc(n, sizeof(*rep));
	if (!check || !ns || !rep) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((err = vdpastate_netstate_apply(check, cmds[i]))) {
			char d[64];

			cmd_desc(cmds[i], d, sizeof(d));
			err = vds_fail(err, "%s: command %zu (%s) refused, nothing "
				       "sent: %s", what, i, d,
				       vdpastate_last_error());
			goto out;
		}
	err = vds_dev_post_cmds(dev, what, cmds, n, rep, &got);
	/* What the device acknowledged is the state, even after a failure. */
	for (i = 0; i < got; i++)
		if (rep[i].b[0] == NET_OK && vdpastate_netstate_apply(ns, cmds[i]))
			vds_log(VDPASTATE_LOG_WARN, "%s: the device acknowledged "
				"command %zu, which the state model refuses "
				"after an earlier refusal: %s", what, i,
				vdpastate_last_error());
	vdpastate_netstate_free(dev->ns);
	dev->ns = ns;
	ns = NULL;
	if (answered)
		*answered = got;
	if (err)
		goto out;
	for (i = 0; i < got; i++)
		if (rep[i].b[0] != NET_OK) {
			char d[64];

			cmd_desc(cmds[i], d, sizeof(d));
			err = vds_fail(-EIO, "%s: %s: device answered %s", what, d,
				       rep[i].b[0] == 1 ? "VIRTIO_NET_ERR"
							: "no valid ack");
			break;
		}
out:
	vdpastate_netstate_free(check);
	vdpastate_netstate_free(ns);
	free(rep);
	return err;
}

VDPASTATE_API int vdpastate_dev_send(struct vdpastate_dev *dev,
				     const struct vdpastate_cvq_cmd *cmd)
{
	if (!cmd)
		return vds_fail(-EINVAL, "send: NULL argument");
	return send_list(dev, "send", &cmd, 1, NULL);
}

VDPASTATE_API int
vdpastate_dev_send_list(struct vdpastate_dev *dev,
			const struct vdpastate_cvq_cmd *const *cmds, size_t n,
			size_t *answered)
{
	return send_list(dev, "send_list", cmds, n, answered);
}

VDPASTATE_API const struct vdpastate_netstate *
vdpastate_dev_netstate(const struct vdpastate_dev *dev)
{
	if (!dev)
		return vds_fail_ptr(-EINVAL, "dev: netstate: NULL handle");
	if (!dev->ns)
		return vds_fail_ptr(-ENOENT, "dev: netstate: not started");
	return dev->ns;
}

/* ------------------------------------------------------------ SVQs */

VDPASTATE_API int vdpastate_dev_set_svq(struct vdpastate_dev *dev, uint32_t idx,
					struct vdpastate_svq *svq, int kick_fd,
					int call_fd)
{
	VDPASTATE_OPTS(vdpastate_svq_shadow, sh);
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "dev: set_svq: NULL handle");
	if (idx >= VDPASTATE_CVQ_VQ_PAIRS_MAX * 2)
		return vds_fail(-EINVAL, "dev: set_svq: queue %u is no data queue",
				idx);
	if (svq && (kick_fd < -1 || call_fd < -1))
		return vds_fail(-EBADF, "dev: set_svq: queue %u: bad fd", idx);
	if (svq && (err = vdpastate_svq_get_shadow(svq, &sh)))
		return err;
	if (idx >= dev->ncfg) {
		struct vdpastate_dev_vring none = { .sz = sizeof(none),
						    .kick_fd = -1,
						    .call_fd = -1 };

		if (!svq)
			return 0;
		if ((err = vdpastate_dev_set_vring(dev, idx, &none)))
			return err;
	}
	dev->vq[idx].svq = svq;
	dev->vq[idx].svq_kick = svq ? kick_fd : -1;
	dev->vq[idx].svq_call = svq ? call_fd : -1;
	return 0;
}

VDPASTATE_API int vdpastate_dev_get_stats(const struct vdpastate_dev *dev,
					  struct vdpastate_dev_stats *out)
{
	struct vdpastate_dev_stats full;

	if (!dev || !out)
		return vds_fail(-EINVAL, "dev: get_stats: NULL argument");
	full = dev->st;
	full.sz = sizeof(full);
	return vds_out_copy(out, &full, sizeof(full), "vdpastate_dev_stats");
}
