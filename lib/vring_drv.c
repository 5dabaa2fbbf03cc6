/* SPDX-License-Identifier: MIT */
/*
 * lib/vring_drv.c - the driver half of a split virtqueue: post chains,
 * decide kicks, reap used entries.  Free-list links and chain lengths are
 * kept privately, so a device that scribbles on shared memory can make the
 * driver report an error but never corrupt its bookkeeping.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

int vds_vdrv_init(struct vds_vdrv *r, uint16_t num, uint64_t features,
		  void *desc, void *avail, void *used)
{
	unsigned int i;
	bool ev = features & (1ULL << VDPASTATE_F_EVENT_IDX);

	memset(r, 0, sizeof(*r));
	r->num = num;
	r->mask = num - 1;
	r->event_idx = ev;
	r->desc = desc;
	r->avail = avail;
	r->used = used;
	r->next = calloc(num, sizeof(*r->next));
	r->chain_len = calloc(num, sizeof(*r->chain_len));
	r->piece = calloc(num, sizeof(*r->piece));
	if (!r->next || !r->chain_len || !r->piece) {
		vds_vdrv_fini(r);
		return -ENOMEM;
	}
	memset(desc, 0, vdpastate_vring_desc_size(num));
	memset(avail, 0, vdpastate_vring_avail_size(num, ev));
	memset(used, 0, vdpastate_vring_used_size(num, ev));
	for (i = 0; i < num; i++)
		r->next[i] = (uint16_t)(i + 1);
	r->free_head = 0;
	r->num_free = num;
	return 0;
}

void vds_vdrv_fini(struct vds_vdrv *r)
{
	free(r->next);
	free(r->chain_len);
	free(r->piece);
	r->next = NULL;
	r->chain_len = NULL;
	r->piece = NULL;
}

int vds_vdrv_add(struct vds_vdrv *r, const struct vds_seg *segs,
		 unsigned int n)
{
	uint16_t head = r->free_head, i = head;
	unsigned int k;

	if (n == 0 || n > r->num_free)
		return -ENOSPC;
	for (k = 0; k < n; k++) {
		struct vds_desc *d = &r->desc[i];

		d->addr = segs[k].xaddr;
		d->len = segs[k].len;
		d->flags = (uint16_t)(segs[k].flags |
				      (k + 1 < n ? VDPASTATE_VRING_DESC_F_NEXT : 0));
		d->next = r->next[i];
		r->piece[i].cookie = segs[k].addr;
		r->piece[i].len = segs[k].len;
		r->piece[i].flags = segs[k].flags;
		i = r->next[i];
	}
	return vds_vdrv_commit(r, head, i, n);
}

int vds_vdrv_used_fail(const struct vds_vdrv *r, uint16_t idx, uint32_t eid)
{
	uint16_t pending = idx - r->last_used;

	if (pending > r->num)
		return vds_fail(-VDPASTATE_EDEVICE,
				"vring: used idx moved from %u to %u, more than "
				"the ring size %u",
				r->last_used, idx, r->num);
	if (eid >= r->num)
		return vds_fail(-VDPASTATE_EDEVICE,
				"vring: used[%u]: id %u >= ring size %u",
				r->last_used & r->mask, eid, r->num);
	return vds_fail(-VDPASTATE_EDEVICE,
			"vring: used[%u]: id %u is not in flight "
			"(never posted or already used)",
			r->last_used & r->mask, eid);
}

bool vds_vdrv_publish(struct vds_vdrv *r)
{
	vds_vdrv_expose(r);
	/* The device's suppression must be read after the index is seen. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vds_vdrv_need_kick(r);
}

bool vds_vdrv_more_used(struct vds_vdrv *r)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) != r->last_used;
}
