/* SPDX-License-Identifier: MIT */
/*
 * tests/fake_transport.c - a small virtio-net device with honest state:
 * the status state machine (no clearing bits, FEATURES_OK only for
 * offered features, DRIVER_OK only after FEATURES_OK), queues that can
 * only be configured while stopped, groups and address spaces, an IOTLB
 * per address space that rejects overlaps, batching, suspend/resume.
 * Errors are plain negative errnos, as a VMM's own transport would give.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/vring.h>

#include "fake_transport.h"

#define BIT(b) (1ULL << (b))
#define BACKEND_ALL                                                       \
	(BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |                          \
	 BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH) |                           \
	 BIT(VDPASTATE_BACKEND_F_IOTLB_ASID) |                            \
	 BIT(VDPASTATE_BACKEND_F_SUSPEND) | BIT(VDPASTATE_BACKEND_F_RESUME))
#define STATUS_KNOWN                                                      \
	(VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER |          \
	 VDPASTATE_STATUS_DRIVER_OK | VDPASTATE_STATUS_FEATURES_OK |       \
	 VDPASTATE_STATUS_NEEDS_RESET | VDPASTATE_STATUS_FAILED)

static bool running(const struct fake_dev *d)
{
	return (d->status & VDPASTATE_STATUS_DRIVER_OK) && !d->suspended;
}

static void reset(struct fake_dev *d)
{
	static const uint8_t cfg[FAKE_CONFIG_LEN] = {
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* mac */
		0x01, 0x00,                         /* status: LINK_UP */
		0x02, 0x00,                         /* max_virtqueue_pairs */
		0xdc, 0x05,                         /* mtu 1500 */
	};
	unsigned int i;

	d->status = 0;
	d->drv_features = 0;
	d->suspended = false;
	memcpy(d->config, cfg, sizeof(cfg));
	memset(d->vq, 0, sizeof(d->vq));
	for (i = 0; i < FAKE_VQS; i++)
		d->vq[i].kick = d->vq[i].call = -1;
	memset(d->group_asid, 0, sizeof(d->group_asid));
	/* vhost-vdpa keeps its IOTLB across a reset (some parent drivers
	 * do not); this device keeps the mappings. */
}

struct fake_dev *fake_dev_new(void)
{
	struct fake_dev *d = calloc(1, sizeof(*d));

	if (d) {
		reset(d);
		d->backend_acked = BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2);
	}
	return d;
}

static int get_device_id(void *ctx, uint32_t *id)
{
	*id = FAKE_DEVICE_ID;
	return 0;
}

static int get_device_features(void *ctx, uint64_t *features)
{
	*features = FAKE_FEATURES;
	return 0;
}

static int set_driver_features(void *ctx, uint64_t features)
{
	struct fake_dev *d = ctx;

	if (!(d->status & VDPASTATE_STATUS_DRIVER))
		return -EINVAL;
	if (d->status & VDPASTATE_STATUS_FEATURES_OK)
		return -EBUSY;
	/* Stored as written; FEATURES_OK is where the device says no. */
	d->drv_features = features;
	return 0;
}

static int get_backend_features(void *ctx, uint64_t *features)
{
	*features = BACKEND_ALL;
	return 0;
}

static int set_backend_features(void *ctx, uint64_t features)
{
	struct fake_dev *d = ctx;

	if (features & ~BACKEND_ALL)
		return -EOPNOTSUPP;
	d->backend_acked = features;
	return 0;
}

static int get_config(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
	struct fake_dev *d = ctx;

	if (offset > FAKE_CONFIG_LEN || len > FAKE_CONFIG_LEN - offset)
		return -EINVAL;
	memcpy(buf, d->config + offset, len);
	return 0;
}

static int get_status(void *ctx, uint8_t *status)
{
	struct fake_dev *d = ctx;

	*status = d->status;
	return 0;
}

static int set_status(void *ctx, uint8_t status)
{
	struct fake_dev *d = ctx;
	uint8_t added = status & ~d->status;

	if (status == 0) {
		reset(d);
		return 0;
	}
	if ((d->status & ~status) || (status & ~STATUS_KNOWN))
		return -EINVAL;
	if ((added & VDPASTATE_STATUS_DRIVER_OK) &&
	    !(status & VDPASTATE_STATUS_FEATURES_OK))
		return -EINVAL;
	/* A device refuses features by not setting FEATURES_OK. */
	if ((added & VDPASTATE_STATUS_FEATURES_OK) &&
	    (d->drv_features & ~FAKE_FEATURES))
		status &= ~VDPASTATE_STATUS_FEATURES_OK;
	d->status = status;
	return 0;
}

static int get_vq_count(void *ctx, uint32_t *count)
{
	*count = FAKE_VQS;
	return 0;
}

static int get_vring_num_max(void *ctx, uint16_t *num)
{
	*num = FAKE_NUM_MAX;
	return 0;
}

/* The queue idx, if it exists and may be configured now. */
static struct fake_vq *cfg_vq(struct fake_dev *d, uint32_t idx, int *err)
{
	if (idx >= FAKE_VQS) {
		*err = -EINVAL;
		return NULL;
	}
	if (running(d)) {
		*err = -EBUSY;
		return NULL;
	}
	return &d->vq[idx];
}

static int set_vring_num(void *ctx, uint32_t idx, uint32_t num)
{
	int err = 0;
	struct fake_vq *q = cfg_vq(ctx, idx, &err);

	if (!q)
		return err;
	if (num == 0 || (num & (num - 1)) || num > FAKE_NUM_MAX)
		return -EINVAL;
	q->num = num;
	return 0;
}

static int set_vring_addr(void *ctx, uint32_t idx, uint64_t desc,
			  uint64_t avail, uint64_t used)
{
	int err = 0;
	struct fake_vq *q = cfg_vq(ctx, idx, &err);

	if (!q)
		return err;
	/* Split-ring alignment: 16, 2, 4. */
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	return 0;
}

static int set_vring_base(void *ctx, uint32_t idx, uint32_t base)
{
	int err = 0;
	struct fake_vq *q = cfg_vq(ctx, idx, &err);

	if (!q)
		return err;
	if (base > 0xffff)
		return -EINVAL;
	q->base = base;
	return 0;
}

static int get_vring_base(void *ctx, uint32_t idx, uint32_t *base)
{
	struct fake_dev *d = ctx;

	if (idx >= FAKE_VQS)
		return -EINVAL;
	*base = d->vq[idx].base;
	return 0;
}

static int set_vring_fd(struct fake_dev *d, uint32_t idx, int fd, bool kick)
{
	if (idx >= FAKE_VQS)
		return -EINVAL;
	if (fd != -1 && fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (kick)
		d->vq[idx].kick = fd;
	else
		d->vq[idx].call = fd;
	return 0;
}

static int set_vring_kick(void *ctx, uint32_t idx, int fd)
{
	return set_vring_fd(ctx, idx, fd, true);
}

static int set_vring_call(void *ctx, uint32_t idx, int fd)
{
	return set_vring_fd(ctx, idx, fd, false);
}

static int set_vring_enable(void *ctx, uint32_t idx, bool enable)
{
	struct fake_dev *d = ctx;

	if (idx >= FAKE_VQS)
		return -EINVAL;
	d->vq[idx].enabled = enable;
	return 0;
}

static int get_group_num(void *ctx, uint32_t *groups)
{
	*groups = FAKE_GROUPS;
	return 0;
}

static int get_as_num(void *ctx, uint32_t *as_num)
{
	*as_num = FAKE_AS;
	return 0;
}

static int get_vring_group(void *ctx, uint32_t idx, uint32_t *group)
{
	if (idx >= FAKE_VQS)
		return -EINVAL;
	*group = idx == FAKE_VQS - 1 ? 1 : 0;
	return 0;
}

/* Address space asid exists and may be used (> 0 needs ASID acked). */
static bool asid_ok(const struct fake_dev *d, uint32_t asid)
{
	return asid < FAKE_AS &&
	       (asid == 0 ||
		(d->backend_acked & BIT(VDPASTATE_BACKEND_F_IOTLB_ASID)));
}

static int set_group_asid(void *ctx, uint32_t group, uint32_t asid)
{
	struct fake_dev *d = ctx;

	if (group >= FAKE_GROUPS || !asid_ok(d, asid))
		return -EINVAL;
	if (running(d))
		return -EBUSY;
	d->group_asid[group] = asid;
	return 0;
}

static bool overlaps(const struct fake_map *m, uint32_t asid, uint64_t iova,
		     uint64_t size)
{
	return m->asid == asid && iova <= m->iova + (m->size - 1) &&
	       m->iova <= iova + (size - 1);
}

static int dma_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		   void *hva, uint32_t perm)
{
	struct fake_dev *d = ctx;
	unsigned int i;

	if (!asid_ok(d, asid) || iova < FAKE_IOVA_FIRST ||
	    iova > FAKE_IOVA_LAST || size - 1 > FAKE_IOVA_LAST - iova)
		return -EINVAL;
	for (i = 0; i < d->nmaps; i++)
		if (overlaps(&d->map[i], asid, iova, size))
			return -EEXIST;
	if (d->nmaps == FAKE_MAPS)
		return -ENOSPC;
	d->map[d->nmaps++] = (struct fake_map){
		.asid = asid, .perm = perm, .iova = iova, .size = size,
		.hva = hva,
	};
	return 0;
}

static int dma_unmap(void *ctx, uint32_t asid, uint64_t iova, uint64_t size)
{
	struct fake_dev *d = ctx;
	unsigned int i;

	if (!asid_ok(d, asid))
		return -EINVAL;
	/* Whole mappings only: refuse before changing anything. */
	for (i = 0; i < d->nmaps; i++)
		if (overlaps(&d->map[i], asid, iova, size) &&
		    (d->map[i].iova < iova ||
		     d->map[i].iova + (d->map[i].size - 1) > iova + (size - 1)))
			return -EINVAL;
	for (i = 0; i < d->nmaps;)
		if (overlaps(&d->map[i], asid, iova, size))
			d->map[i] = d->map[--d->nmaps];
		else
			i++;
	return 0;
}

static int dma_batch_begin(void *ctx, uint32_t asid)
{
	struct fake_dev *d = ctx;

	if (!asid_ok(d, asid))
		return -EINVAL;
	if (d->in_batch)
		return -EBUSY;
	d->in_batch = true;
	d->batch_asid = asid;
	return 0;
}

static int dma_batch_end(void *ctx, uint32_t asid)
{
	struct fake_dev *d = ctx;

	if (!d->in_batch || d->batch_asid != asid)
		return -EINVAL;
	d->in_batch = false;
	return 0;
}

static int get_iova_range(void *ctx, uint64_t *first, uint64_t *last)
{
	*first = FAKE_IOVA_FIRST;
	*last = FAKE_IOVA_LAST;
	return 0;
}

static int suspend(void *ctx)
{
	struct fake_dev *d = ctx;

	if (!(d->backend_acked & BIT(VDPASTATE_BACKEND_F_SUSPEND)))
		return -EOPNOTSUPP;
	d->suspended = true;
	return 0;
}

static int resume(void *ctx)
{
	struct fake_dev *d = ctx;

	if (!(d->backend_acked & BIT(VDPASTATE_BACKEND_F_RESUME)))
		return -EOPNOTSUPP;
	d->suspended = false;
	return 0;
}

static void fake_close(void *ctx)
{
	struct fake_dev *d = ctx;

	if (d->closed)
		++*d->closed;
	free(d);
}

const struct vdpastate_transport_ops fake_ops = {
	.get_device_id = get_device_id,
	.get_device_features = get_device_features,
	.set_driver_features = set_driver_features,
	.get_backend_features = get_backend_features,
	.set_backend_features = set_backend_features,
	.get_config = get_config,
	.get_status = get_status,
	.set_status = set_status,
	.get_vq_count = get_vq_count,
	.get_vring_num_max = get_vring_num_max,
	.set_vring_num = set_vring_num,
	.set_vring_addr = set_vring_addr,
	.set_vring_base = set_vring_base,
	.get_vring_base = get_vring_base,
	.set_vring_kick = set_vring_kick,
	.set_vring_call = set_vring_call,
	.set_vring_enable = set_vring_enable,
	.get_group_num = get_group_num,
	.get_as_num = get_as_num,
	.get_vring_group = get_vring_group,
	.set_group_asid = set_group_asid,
	.dma_map = dma_map,
	.dma_unmap = dma_unmap,
	.dma_batch_begin = dma_batch_begin,
	.dma_batch_end = dma_batch_end,
	.get_iova_range = get_iova_range,
	.suspend = suspend,
	.resume = resume,
	.close = fake_close,
};

struct vdpastate_transport *fake_transport_open(void *arg)
{
	struct fake_dev *d = fake_dev_new();
	struct vdpastate_transport *t;

	if (!d)
		return NULL;
	d->closed = arg;
	t = vdpastate_transport_new(&fake_ops, sizeof(fake_ops), d);
	if (!t)
		free(d);
	return t;
}

/* ------------------------------------------------------------ cvq device */

/* The fake's IOTLB for the control queue's address space. */
static int fake_cvq_range(struct vds_as *as, uint64_t addr, uint64_t len,
			  bool write, struct vds_seg *segs, unsigned int max)
{
	struct fake_cvq *c = (struct fake_cvq *)as;
	unsigned int i;

	for (i = 0; i < c->d->nmaps; i++) {
		const struct fake_map *m = &c->d->map[i];

		if (m->asid != c->asid || addr < m->iova ||
		    addr + len > m->iova + m->size)
			continue;
		if (write && !(m->perm & VDPASTATE_DMA_WRITE))
			return -EROFS;
		if (!len)
			return 0;
		if (!max)
			return -ENOBUFS;
		vds_seg_set(segs, addr, addr,
			    (uintptr_t)m->hva + (uintptr_t)(addr - m->iova), len,
			    write);
		return 1;
	}
	return -EFAULT;
}

int fake_cvq_attach(struct fake_cvq *c, struct fake_dev *d)
{
	const struct fake_vq *q = &d->vq[FAKE_VQS - 1];
	void *desc, *avail, *used;

	memset(c, 0, sizeof(*c));
	c->as.range = fake_cvq_range;
	c->d = d;
	c->asid = d->group_asid[1]; /* the control queue's group */
	desc = vds_as_contig(&c->as, q->desc, vdpastate_vring_desc_size(q->num),
			     false);
	avail = vds_as_contig(&c->as, q->avail,
			      vdpastate_vring_avail_size(q->num, false), false);
	used = vds_as_contig(&c->as, q->used,
			     vdpastate_vring_used_size(q->num, false), true);
	if (!desc || !avail || !used)
		return -EFAULT;
	return vds_vdev_init(&c->vd, (uint16_t)q->num, d->drv_features, &c->as,
			     desc, avail, used);
}

void fake_cvq_detach(struct fake_cvq *c)
{
	vds_vdev_fini(&c->vd);
}

int fake_cvq_take(struct fake_cvq *c, unsigned int n)
{
	unsigned int k;
	uint64_t wlen;

	if (n > FAKE_CVQ_TAKE || vds_vdev_avail(&c->vd) != (int)n)
		return -EAGAIN;
	for (k = 0; k < n; k++) {
		if (vds_vdev_peek_head(&c->vd, &c->head[k]) ||
		    vds_vdev_chain(&c->vd, c->head[k], c->seg[k], 2, &wlen) != 2)
			return -EPROTO;
		vds_vdev_pop(&c->vd);
	}
	return 0;
}

void fake_cvq_answer(struct fake_cvq *c, unsigned int k, int ack)
{
	uint8_t a = (uint8_t)ack;

	vds_vdev_push_used(&c->vd, c->head[k],
			   ack < 0 ? 0 : vds_segs_scatter(c->seg[k], 2, &a, 1));
	vds_vdev_publish_used(&c->vd);
}
