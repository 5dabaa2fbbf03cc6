/* SPDX-License-Identifier: MIT */
/*
 * lib/dev.c - the device handle: orchestration over a transport.  It owns
 * a control ring of its own (the ring's driver half, lib/ring.h) mapped
 * into the control queue's address space, through which it posts the
 * commands a restore needs in batches of as many as the ring holds, and
 * the tracked state those commands build.  The restore sequence is the
 * one of seed 001 (DESIGN.md, "Data flows"); early restore the one of
 * seed 003.  Every failure after the first reset resets the device again,
 * so the VMM never inherits a half-restored device.
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

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define BB(bit) (UINT64_C(1) << VDPASTATE_BACKEND_F_##bit)
#define DEF_TIMEOUT_MS 5000
#define DEF_RING 64
#define BUF_SIZE (256u * 1024) /* command bytes one batch may carry */
#define ACK_SLOT 16
#define PAGE 4096u
#define NET_OK 0
#define VRING_REC_ENT 8
/* Flags of a vring record entry. */
#define VR_F_CONFIGURED 1 /* a data queue the VMM configured */
#define VR_F_GUEST_CVQ 2  /* the guest's control queue: its position */
/* Backend features the handle uses when offered. */
#define WANT_BACKEND                                                   \
	(BB(IOTLB_MSG_V2) | BB(IOTLB_BATCH) | BB(IOTLB_ASID) | BB(SUSPEND) | \
	 BB(RESUME))
/* Offsets in struct virtio_net_config. */
#define CFG_MAX_PAIRS 8
#define CFG_SHORT 12 /* mac, status, max_virtqueue_pairs, mtu */
#define CFG_LONG 24  /* ... up to supported_hash_types */

struct dev_vq {
	struct vdpastate_dev_vring cfg; /* num 0: not configured */
	/* The SVQ the device is to be given instead (NULL: none). */
	struct vdpastate_svq *svq;
	int32_t svq_kick, svq_call;
	/* The SVQ the handle started and has not stopped. */
	struct vdpastate_svq *running;
};

/* The guest's control queue, the handle being its device. */
struct guest_cvq {
	bool on;     /* configured */
	bool broken; /* the guest broke the ring: disabled until set again */
	bool live;   /* vd set up for the current features */
	struct vdpastate_dev_guest_cvq cfg; /* indexes kept current */
	struct vds_as_mem as;
	struct vds_vdev vd;
	struct vds_seg *segs;
	unsigned int segs_max;
	uint8_t *buf; /* a command copied out of guest memory */
};

struct vdpastate_dev {
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim; /* set when t is the simulated device */
	uint64_t cvq_iova_opt;
	uint32_t timeout_ms;
	uint16_t ring_opt;
	uint16_t inflight_opt;
	/* the control ring: one allocation, read-only part then writable */
	uint8_t *mem;
	size_t ro_size, rw_size, avail_off, buf_off, used_off, ack_off;
	uint16_t ring; /* entries allocated */
	uint64_t iova; /* where mem is mapped */
	uint32_t mapped_asid;
	unsigned int mapped; /* bit 0: read-only part, bit 1: writable part */
	int kick_fd, call_fd;
	struct vds_vdrv drv;
	bool drv_live;
	/* the device as last set up */
	bool up;
	uint64_t features, backend;
	uint32_t nvq, cvq; /* cvq == nvq: no control queue */
	uint32_t ndata;
	uint16_t cvq_num;
	uint32_t cvq_asid;
	uint64_t offered;
	struct dev_vq *vq; /* what set_vring configured */
	uint32_t ncfg;
	struct guest_cvq g;
	struct vdpastate_netstate *ns; /* tracked state */
	struct vdpastate_netstate *begun; /* early restore in progress */
	struct vdpastate_dev_stats st;
};

static void guest_free(struct guest_cvq *g);
static void stop_svqs(struct vdpastate_dev *dev);
static void guest_drop(struct guest_cvq *g);

/* ------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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
static const char *feature_list(uint64_t mask, char *buf, size_t len)
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

static void drv_drop(struct vdpastate_dev *dev)
{
	if (dev->drv_live)
		vds_vdrv_fini(&dev->drv);
	dev->drv_live = false;
}

VDPASTATE_API void vdpastate_dev_free(struct vdpastate_dev *dev)
{
	if (!dev)
		return;
	unmap_cvq(dev);
	drv_drop(dev);
	free(dev->mem);
	free(dev->vq);
	guest_free(&dev->g);
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
static int ring_alloc(struct vdpastate_dev *dev, uint16_t ring)
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
	drv_drop(dev);
	free(dev->mem);
	dev->avail_off = desc;
	dev->buf_off = round_page(desc + avail);
	dev->ro_size = dev->buf_off + BUF_SIZE;
	dev->used_off = 0;
	dev->ack_off = (used + 63) & ~(size_t)63;
	dev->rw_size = round_page(dev->ack_off + (size_t)ring * ACK_SLOT);
	dev->mem = aligned_alloc(PAGE, dev->ro_size + dev->rw_size);
	if (!dev->mem)
		return vds_fail(-ENOMEM, "dev: out of memory for the control ring");
	memset(dev->mem, 0, dev->ro_size + dev->rw_size);
	dev->ring = ring;
	return 0;
}

static int map_cvq(struct vdpastate_dev *dev, uint32_t asid)
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

/* The device's answer to one command: the bytes it wrote (ack first). */
struct reply {
	uint8_t b[ACK_SLOT];
	uint32_t len;
};

/*
 * Post cmds[0..n) in batches of what the ring and buffer area hold (or
 * cvq_max_inflight), one kick per batch, and check every answer: the
 * first that is not OK fails with -EIO naming the command.  With rep
 * (n entries), the answers are returned there instead of checked, and
 * no batch is posted after one with an answer that is not OK; *answered
 * then receives how many commands were answered.  what names the
 * operation in messages.
 */
static int post_cmds(struct vdpastate_dev *dev, const char *what,
		     const struct vdpastate_cvq_cmd *const *cmds, size_t n,
		     struct reply *rep, size_t *answered)
{
	unsigned int per = dev->cvq_num / 2;
	uint16_t *slot_of = NULL;
	uint32_t *len_of = NULL;
	bool *done = NULL;
	size_t i = 0;
	int err = 0;

	if (n == 0)
		return 0;
	if (dev->inflight_opt && dev->inflight_opt < per)
		per = dev->inflight_opt;
	if (dev->cvq >= dev->nvq)
		return vds_fail(-VDPASTATE_EINCOMPAT, "%s: %zu control commands "
				"but CTRL_VQ is not negotiated", what, n);
	if (answered)
		*answered = 0;
	slot_of = calloc(dev->cvq_num, sizeof(*slot_of));
	done = calloc(per, sizeof(*done));
	len_of = calloc(per, sizeof(*len_of));
	if (!slot_of || !done || !len_of) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
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
			err = vds_fail(-ETIMEDOUT, "%s: %s: no answer from the "
				       "device within %u ms", what, d,
				       dev->timeout_ms);
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
	free(slot_of);
	free(done);
	free(len_of);
	return err;
}

/* ------------------------------------------------------------ setup */

/* Saved vring state per data queue. */
struct vr_ent {
	uint16_t idx, num, base, flags;
};

struct vr_set {
	struct vr_ent *e;
	size_t n;
};

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
	guest_drop(&dev->g);
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
	stop_svqs(dev); /* a reset ends what they relayed */
	guest_drop(&dev->g); /* set up again for the new features */
	if ((err = vdpastate_transport_reset(dev->t)))
		return err;
	if ((err = vdpastate_transport_get_device_features(dev->t, &offered)))
		return err;
	if (features & ~offered)
		return vds_fail(-VDPASTATE_EINCOMPAT, "%s: the device does not offer "
				"%s", what,
				feature_list(features & ~offered, names,
					     sizeof(names)));
	if ((err = set_status(dev, VDPASTATE_STATUS_ACKNOWLEDGE |
					   VDPASTATE_STATUS_DRIVER)) ||
	    (err = vdpastate_transport_set_driver_features(dev->t, features)) ||
	    (err = set_status(dev, ST_FEAT)) ||
	    (err = vdpastate_transport_get_status(dev->t, &st)))
		return err;
	if (!(st & VDPASTATE_STATUS_FEATURES_OK))
		return vds_fail(-EIO, "%s: the device refused FEATURES_OK for "
				"features 0x%llx", what, (unsigned long long)features);
	err = vdpastate_transport_get_backend_features(dev->t, &boffered);
	if (err == -EOPNOTSUPP)
		boffered = 0;
	else if (err)
		return err;
	dev->backend = boffered & WANT_BACKEND;
	if (boffered && (err = vdpastate_transport_set_backend_features(dev->t,
								       dev->backend)))
		return err;
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
		if ((err = ring_alloc(dev, ring)) ||
		    (err = map_cvq(dev, dev->cvq_asid)))
			return err;
		drv_drop(dev);
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
 * Enable the configured data queues, then start the SVQs they are given,
 * guest rings at vr's bases (position 0 without vr).
 */
static int enable_data(struct vdpastate_dev *dev, const struct vr_set *vr)
{
	uint32_t i;
	int err;

	for (i = 0; i < dev->ndata && i < dev->ncfg; i++)
		if ((dev->vq[i].cfg.num || dev->vq[i].svq) &&
		    (err = vdpastate_transport_set_vring_enable(dev->t, i, true)))
			return err;
	for (i = 0; i < dev->ndata && i < dev->ncfg; i++) {
		struct dev_vq *q = &dev->vq[i];
		const struct vr_ent *b = vr_find(vr, i, false);
		uint16_t pos = b ? b->base : 0;

		if (!q->svq)
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
 * the SVQ reports (it is stopped regardless).
 */
static int stop_svq(struct vdpastate_dev *dev, uint32_t i, uint16_t *pos)
{
	struct dev_vq *q = &dev->vq[i];
	uint16_t ui;
	int r;

	r = vdpastate_svq_stop(q->running, VDPASTATE_SVQ_STOP_REWIND);
	vdpastate_svq_get_state(q->running, pos, &ui);
	q->running = NULL;
	if (r < 0)
		return vds_fail(r, "dev: queue %u: SVQ: %s", i,
				vdpastate_last_error());
	return 0;
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
	dev->up = false;
	drv_drop(dev);
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
static int blob_input(const struct vdpastate_blob *blob, const char *what,
		      const struct vdpastate_netstate **ns, struct vr_set *vr)
{
	if (!blob)
		return vds_fail(-EINVAL, "%s: NULL blob", what);
	*ns = vdpastate_blob_netstate(blob);
	if (!*ns)
		return vds_fail(-EINVAL, "%s: the blob holds no state", what);
	return vr_parse(blob, vr);
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
		err = post_cmds(dev, what, cmds, n, NULL, NULL);
	if (!err && enable)
		err = enable_data(dev, vr);
	if (err) {
		err = fail_reset(dev, err);
		goto out;
	}
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
	if ((err = blob_input(blob, "restore", &ns, &vr)))
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
	    (err = enable_data(dev, NULL)))
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
	err = post_cmds(dev, what, cmds, n, rep, &got);
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

/* ------------------------------------------------------------ guest CVQ */

#define GUEST_SEGS_EXTRA 64 /* segments beyond two per descriptor */

static void guest_drop(struct guest_cvq *g)
{
	if (g->live)
		vds_vdev_fini(&g->vd);
	g->live = false;
}

static void guest_free(struct guest_cvq *g)
{
	guest_drop(g);
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
		guest_free(&dev->g);
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
	guest_free(&dev->g);
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
	err = post_cmds(dev, "guest command",
			(const struct vdpastate_cvq_cmd *const *)&cmd, 1, rep,
			&answered);
	if (err) {
		rep->b[0] = 1;
		rep->len = 1;
		goto out;
	}
	if (rep->b[0] == NET_OK) {
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

VDPASTATE_API int vdpastate_dev_handle_guest_cvq(struct vdpastate_dev *dev)
{
	struct guest_cvq *g;
	int avail, handled = 0, err = 0;

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
		uint64_t wlen, rlen;
		uint16_t head;
		size_t got;
		int n;

		if ((n = vds_vdev_peek_head(&g->vd, &head)) < 0) {
			err = guest_break(g, n);
			break;
		}
		n = vds_vdev_chain(&g->vd, head, g->segs, g->segs_max, &wlen);
		if (n == -E2BIG)
			n = vds_fail(-VDPASTATE_EGUEST, "dev: guest control chain %u "
				     "has more than %u pieces", head, g->segs_max);
		if (n >= 0 && wlen < 1)
			n = vds_fail(-VDPASTATE_EGUEST, "dev: guest control chain %u "
				     "has no writable ack byte", head);
		if (n < 0) {
			err = guest_break(g, n);
			break;
		}
		got = vds_segs_gather(g->segs, n, g->buf, BUF_SIZE, &rlen);
		if (got != rlen) {
			vds_log(VDPASTATE_LOG_INFO, "dev: guest command of %llu "
				"bytes refused (at most %u)",
				(unsigned long long)rlen, BUF_SIZE);
			rep.b[0] = 1;
			rep.len = 1;
		} else {
			err = guest_one(dev, g->buf, got, &rep);
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
	if (!err && vds_vdev_enable_kicks(&g->vd))
		goto again;
	return err ? err : handled;
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
 * give their guest-side position; the others' the device's vring base.
 */
static int read_positions(struct vdpastate_dev *dev, const char *what,
			  uint16_t *pos)
{
	uint32_t i, base;
	int err = 0, e;

	for (i = 0; i < dev->ndata; i++) {
		if (i < dev->ncfg && dev->vq[i].running)
			e = stop_svq(dev, i, &pos[i]);
		else if (!(e = vdpastate_transport_get_vring_base(dev->t, i, &base)))
			pos[i] = (uint16_t)base;
		if (e && !err)
			err = vds_fail(e, "%s: %s", what, vdpastate_last_error());
	}
	return err;
}

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

VDPASTATE_API int vdpastate_dev_switch(struct vdpastate_dev *dev)
{
	const char *what = "switch";
	struct vdpastate_netstate *ns;
	struct vr_set vr = { 0 };
	uint16_t *pos;
	uint32_t i;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "%s: NULL handle", what);
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "%s: the device is not started", what);
	if (dev->begun)
		return vds_fail(-EBUSY, "%s: an early restore is in progress", what);
	pos = calloc(dev->ndata ? dev->ndata : 1, sizeof(*pos));
	vr.e = calloc(dev->ndata ? dev->ndata : 1, sizeof(*vr.e));
	ns = vdpastate_netstate_copy(dev->ns);
	if (!pos || !vr.e || !ns) {
		err = vds_fail(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
	if ((dev->backend & BB(SUSPEND)) &&
	    (err = vdpastate_transport_suspend(dev->t))) {
		err = fail_reset(dev, err);
		goto out;
	}
	if ((err = read_positions(dev, what, pos))) {
		err = fail_reset(dev, err);
		goto out;
	}
	for (i = 0; i < dev->ndata; i++) {
		vr.e[i].idx = (uint16_t)i;
		vr.e[i].base = pos[i];
		vr.e[i].flags = VR_F_CONFIGURED;
	}
	vr.n = dev->ndata;
	err = do_restore(dev, ns, &vr, true, what);
out:
	vdpastate_netstate_free(ns);
	free(vr.e);
	free(pos);
	return err;
}

/* ------------------------------------------------------------ save */

VDPASTATE_API int vdpastate_dev_save(struct vdpastate_dev *dev,
				     struct vdpastate_blob *blob)
{
	struct vdpastate_blob *tmp = NULL;
	uint8_t *rec = NULL, feat[8];
	uint16_t *pos = NULL;
	void *buf = NULL;
	size_t reclen;
	long len;
	uint32_t i, nent;
	int err;

	if (!dev || !blob)
		return vds_fail(-EINVAL, "save: NULL argument");
	if (vdpastate_blob_part_count(blob) || vdpastate_blob_record_count(blob) ||
	    vdpastate_blob_netstate(blob))
		return vds_fail(-EINVAL, "save: the blob is not empty");
	if (!dev->up || !dev->ns)
		return vds_fail(-ENOENT, "save: the device is not started");
	if (dev->ndata >= UINT16_MAX)
		return vds_fail(-ERANGE, "save: too many queues");
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
		uint32_t num = i < dev->ncfg ? ring_num(&dev->vq[i]) : 0;

		vds_put_le16(q, (uint16_t)i);
		vds_put_le16(q + 2, (uint16_t)num);
		vds_put_le16(q + 4, pos[i]);
		vds_put_le16(q + 6, num ? VR_F_CONFIGURED : 0);
	}
	vds_put_le64(feat, dev->offered);
	if ((err = vdpastate_blob_set_netstate(tmp, dev->ns)) ||
	    (err = vdpastate_blob_add_part(tmp, VDPASTATE_DEV_PART_DEV_FEATURES,
					   VDPASTATE_DEV_PART_F_OPTIONAL, NULL, feat,
					   8)) ||
	    (err = vdpastate_blob_add_record(tmp, VDPASTATE_DEV_REC_VRINGS, 0, rec,
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
	free(buf);
	free(rec);
	free(pos);
	vdpastate_blob_free(tmp);
	return err;
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
	if ((err = blob_input(blob, "restore_begin", &ns, &vr)))
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
	uint32_t q;
	int err;

	if (!dev)
		return vds_fail(-EINVAL, "%s: NULL handle", what);
	if (!dev->begun || !dev->up)
		return vds_fail(-ENOENT, "%s: no early restore in progress", what);
	if ((err = blob_input(blob, what, &ns, &vr)))
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
	if ((err = post_cmds(dev, what, cmds, n, NULL, NULL)))
		goto fail;
	for (q = 0; q < dev->ndata; q++) {
		const struct vr_ent *b = vr_find(&vr, q, false);

		if (q < dev->ncfg && dev->vq[q].svq)
			continue; /* the guest ring's base goes to the SVQ */
		if (b && (err = vdpastate_transport_set_vring_base(dev->t, q,
								   b->base)))
			goto fail;
	}
	if ((err = enable_data(dev, &vr)))
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

/* ------------------------------------------------------------ compatibility */

struct vdpastate_dev_report {
	size_t n;
	struct {
		enum vdpastate_dev_problem kind;
		char *msg;
	} *p;
};

VDS_PRINTF(3, 4)
static int report_add(struct vdpastate_dev_report *r,
		      enum vdpastate_dev_problem kind, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	void *np;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	np = realloc(r->p, (r->n + 1) * sizeof(*r->p));
	if (!np)
		return -ENOMEM;
	r->p = np;
	r->p[r->n].kind = kind;
	r->p[r->n].msg = strdup(buf);
	if (!r->p[r->n].msg)
		return -ENOMEM;
	r->n++;
	return 0;
}

VDPASTATE_API void vdpastate_dev_report_free(struct vdpastate_dev_report *report)
{
	size_t i;

	if (!report)
		return;
	for (i = 0; i < report->n; i++)
		free(report->p[i].msg);
	free(report->p);
	free(report);
}

VDPASTATE_API size_t
vdpastate_dev_report_count(const struct vdpastate_dev_report *report)
{
	return report ? report->n : 0;
}

VDPASTATE_API const char *
vdpastate_dev_report_get(const struct vdpastate_dev_report *report, size_t i,
			 enum vdpastate_dev_problem *kind)
{
	if (!report || i >= report->n)
		return vds_fail_ptr(-ENOENT, "dev: report: no problem %zu", i);
	if (kind)
		*kind = report->p[i].kind;
	return report->p[i].msg;
}

static int check_into(struct vdpastate_dev *dev, const struct vdpastate_netstate *ns,
		      const struct vr_set *vr, struct vdpastate_dev_report *r)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, saved);
	uint64_t f = vdpastate_netstate_features(ns), offered, missing;
	uint8_t b[CFG_LONG] = { 0 };
	uint16_t maxnum, dpairs = 1, dmtu;
	char names[256];
	size_t i;
	int err = 0;

	vdpastate_netstate_get_config(ns, &saved);
	if ((err = vdpastate_transport_get_device_features(dev->t, &offered)) ||
	    (err = vdpastate_transport_get_vring_num_max(dev->t, &maxnum)) ||
	    (err = vdpastate_transport_get_config(
		     dev->t, 0, b,
		     offered & (FB(RSS) | FB(HASH_REPORT)) ? CFG_LONG : CFG_SHORT)))
		return err;
	missing = f & ~offered;
	if ((missing & ~FB(CTRL_VQ)) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_FEATURES, "feature bits "
			      "not offered: %s",
			      feature_list(missing & ~FB(CTRL_VQ), names,
					   sizeof(names)))))
		return err;
	if ((missing & FB(CTRL_VQ)) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_NO_CVQ, "the device has no "
			      "control virtqueue (CTRL_VQ not offered)")))
		return err;
	if (offered & (FB(MQ) | FB(RSS)))
		dpairs = vds_get_le16(b + CFG_MAX_PAIRS);
	if ((f & (FB(MQ) | FB(RSS))) && saved.max_virtqueue_pairs > dpairs &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_QUEUE_PAIRS, "%u queue "
			      "pairs saved, the device has %u",
			      saved.max_virtqueue_pairs, dpairs)))
		return err;
	dmtu = vds_get_le16(b + 10);
	if ((f & FB(MTU)) && (offered & FB(MTU)) && dmtu != saved.mtu &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_MTU, "MTU %u saved, the "
			      "device has %u", saved.mtu, dmtu)))
		return err;
	if ((f & (FB(RSS) | FB(HASH_REPORT))) &&
	    (offered & (FB(RSS) | FB(HASH_REPORT))) &&
	    (b[17] < saved.rss_max_key_size ||
	     vds_get_le16(b + 18) < saved.rss_max_indirection_table_length ||
	     (saved.supported_hash_types & ~vds_get_le32(b + 20))) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_LIMITS, "RSS limits: key "
			      "%u, table %u, hash types 0x%x saved; the device "
			      "has %u, %u, 0x%x", saved.rss_max_key_size,
			      saved.rss_max_indirection_table_length,
			      saved.supported_hash_types, b[17],
			      vds_get_le16(b + 18), vds_get_le32(b + 20))))
		return err;
	for (i = 0; i < vr->n; i++)
		if (!(vr->e[i].flags & VR_F_GUEST_CVQ) && vr->e[i].num > maxnum &&
		    (err = report_add(r, VDPASTATE_DEV_PROBLEM_RING_SIZE, "queue "
				      "%u: ring size %u above the device "
				      "maximum %u", vr->e[i].idx, vr->e[i].num,
				      maxnum)))
			return err;
	return 0;
}

VDPASTATE_API int vdpastate_dev_check(struct vdpastate_dev *dev,
				      const struct vdpastate_blob *blob,
				      struct vdpastate_dev_report **out)
{
	const struct vdpastate_netstate *ns;
	struct vdpastate_dev_report *r;
	struct vr_set vr;
	int err;

	if (!dev || !out)
		return vds_fail(-EINVAL, "check: NULL argument");
	if ((err = blob_input(blob, "check", &ns, &vr)))
		return err;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(vr.e);
		return vds_fail(-ENOMEM, "check: out of memory");
	}
	err = check_into(dev, ns, &vr, r);
	free(vr.e);
	if (err) {
		vdpastate_dev_report_free(r);
		return err == -ENOMEM ? vds_fail(err, "check: out of memory") : err;
	}
	*out = r;
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
