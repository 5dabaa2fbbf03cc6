/* SPDX-License-Identifier: MIT */
/*
 * lib/vring_dev.c - the device half of a split virtqueue: consume the avail
 * ring, walk and validate descriptor chains (direct and indirect), produce
 * used entries, and the notification decisions of a device.  Also the
 * address-space adapters and the public layout helpers.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mem_int.h"
#include "ring.h"

#define F(bit) (1ULL << (bit))

VDPASTATE_API size_t vdpastate_vring_desc_size(unsigned int num)
{
	return (size_t)num * sizeof(struct vds_desc);
}

VDPASTATE_API size_t vdpastate_vring_avail_size(unsigned int num,
						bool event_idx)
{
	return 4 + (size_t)num * 2 + (event_idx ? 2 : 0);
}

VDPASTATE_API size_t vdpastate_vring_used_size(unsigned int num,
					       bool event_idx)
{
	return 4 + (size_t)num * sizeof(struct vds_used_elem) +
	       (event_idx ? 2 : 0);
}

VDPASTATE_API bool vdpastate_vring_need_event(uint16_t event_idx,
					      uint16_t new_idx,
					      uint16_t old_idx)
{
	/* Notify iff event_idx lies in [old_idx, new_idx), modulo 2^16. */
	return vds_need_event(event_idx, new_idx, old_idx);
}

/* ------------------------------------------------------- address spaces */

static int as_mem_range(struct vds_as *as, uint64_t addr, uint64_t len,
			bool write, struct vds_seg *segs, unsigned int max)
{
	struct vds_as_mem *a = (struct vds_as_mem *)as;
	struct vdpastate_mem_seg ms[8];
	struct vds_mem_region r;
	unsigned int i, lim = max < 8 ? max : 8;
	int n;

	if (vds_likely(len && max && addr >= a->c_first && addr <= a->c_last &&
		       len - 1 <= a->c_last - addr &&
		       (!write || a->c_writable))) {
		vds_seg_set(segs, addr, addr, a->c_hva + (uintptr_t)(addr - a->c_first),
			len, write);
		return 1;
	}
	if (!len)
		return 0;
	/* Miss: one search for the region; most ranges fit in it. */
	if (!vds_mem_region(a->mem, addr, &r)) {
		a->c_first = r.first;
		a->c_last = r.last;
		a->c_hva = r.hva;
		a->c_writable = !(r.flags & VDPASTATE_MEM_READONLY);
		if (max && len - 1 <= r.last - addr && (!write || a->c_writable)) {
			vds_seg_set(segs, addr, addr, r.hva + (uintptr_t)(addr - r.first),
				len, write);
			return 1;
		}
	}
	/* Across regions: the table decides, 8 pieces at a time. */
	n = vdpastate_mem_range(a->mem, addr, len, write, ms, lim);
	if (n < 0 && n != -ENOBUFS)
		return n;
	for (i = 0; i < (n < 0 ? lim : (unsigned int)n); i++)
		vds_seg_set(&segs[i], ms[i].gpa, ms[i].gpa, (uintptr_t)ms[i].hva,
			ms[i].len, write);
	if (n == -ENOBUFS && max > 8) {
		uint64_t done = 0;
		int more;

		for (i = 0; i < 8; i++)
			done += ms[i].len;
		more = as_mem_range(as, addr + done, len - done, write, segs + 8,
				    max - 8);
		return more < 0 ? more : 8 + more;
	}
	return n;
}

void vds_as_mem_reset(struct vds_as_mem *a)
{
	a->c_first = 1;
	a->c_last = 0;
}

void vds_as_mem_init(struct vds_as_mem *a, const struct vdpastate_mem *mem)
{
	a->as.range = as_mem_range;
	a->mem = mem;
	vds_as_mem_reset(a);
}

static int iotlb_add(struct vds_as_iova *a, uint64_t first, uint64_t last,
		     uintptr_t hva, bool writable)
{
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 64;
		struct vds_iotlb_ent *e = realloc(a->ent, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		a->ent = e;
		a->cap = cap;
	}
	a->ent[a->n].first = first;
	a->ent[a->n].last = last;
	a->ent[a->n].hva = hva;
	a->ent[a->n].writable = writable;
	a->n++;
	return 0;
}

struct iotlb_build {
	struct vds_as_iova *a;
	const struct vdpastate_mem *mem;
};

static int iotlb_build_fn(const struct vdpastate_iova_mapping *m, void *arg)
{
	struct iotlb_build *b = arg;
	unsigned int i, nr;

	if (m->kind == VDPASTATE_IOVA_HVA)
		return iotlb_add(b->a, m->iova, m->iova + m->size - 1,
				 (uintptr_t)m->addr, true);
	if (m->kind != VDPASTATE_IOVA_GPA)
		return 0;
	/* Split a GPA mapping at memory-region edges; holes stay unmapped. */
	nr = vdpastate_mem_count(b->mem);
	for (i = 0; i < nr; i++) {
		struct vdpastate_mem_region r;
		uint64_t lo, hi, mlast = m->addr + m->size - 1;
		int err;

		vdpastate_mem_get(b->mem, i, &r);
		lo = r.gpa > m->addr ? r.gpa : m->addr;
		hi = r.gpa + r.size - 1 < mlast ? r.gpa + r.size - 1 : mlast;
		if (lo > hi)
			continue;
		err = iotlb_add(b->a, m->iova + (lo - m->addr),
				m->iova + (hi - m->addr),
				(uintptr_t)r.hva + (uintptr_t)(lo - r.gpa),
				!(r.flags & VDPASTATE_MEM_READONLY));
		if (err)
			return err;
	}
	return 0;
}

static const struct vds_iotlb_ent *iotlb_find(struct vds_as_iova *a,
					      uint64_t addr)
{
	unsigned int lo = vds_first_end_ge(a->last, a->n, addr);

	if (lo == a->n || a->ent[lo].first > addr)
		return NULL;
	a->mru = lo;
	return &a->ent[lo];
}

static int as_iova_range(struct vds_as *as, uint64_t addr, uint64_t len,
			 bool write, struct vds_seg *segs, unsigned int max)
{
	struct vds_as_iova *a = (struct vds_as_iova *)as;
	const struct vds_iotlb_ent *e;
	unsigned int n = 0;

	if (vds_likely(a->n && len && max)) {
		e = &a->ent[a->mru];
		if (addr >= e->first && addr <= e->last &&
		    len - 1 <= e->last - addr && (!write || e->writable)) {
			vds_seg_set(segs, addr, addr, e->hva + (uintptr_t)(addr - e->first),
				len, write);
			return 1;
		}
	}
	if (len && len - 1 > UINT64_MAX - addr)
		return -EFAULT;
	while (len) {
		uint64_t piece;

		if (!(e = iotlb_find(a, addr)))
			return -EFAULT;
		if (write && !e->writable)
			return -EROFS;
		if (n == max)
			return -ENOBUFS;
		piece = e->last - addr;
		piece = len - 1 < piece ? len : piece + 1;
		vds_seg_set(&segs[n++], addr, addr, e->hva + (uintptr_t)(addr - e->first),
			piece, write);
		addr += piece;
		len -= piece;
	}
	return (int)n;
}

int vds_as_iova_init(struct vds_as_iova *a, const struct vdpastate_iova *iova,
		     const struct vdpastate_mem *mem)
{
	struct iotlb_build b = { a, mem };
	unsigned int i;

	memset(a, 0, sizeof(*a));
	a->as.range = as_iova_range;

	if (vdpastate_iova_foreach(iova, iotlb_build_fn, &b) ||
	    !(a->last = malloc((a->n + 1) * sizeof(*a->last)))) {
		vds_as_iova_fini(a);
		return -ENOMEM;
	}
	for (i = 0; i < a->n; i++)
		a->last[i] = a->ent[i].last;
	return 0;
}

void vds_as_iova_fini(struct vds_as_iova *a)
{
	free(a->ent);
	free(a->last);
	a->ent = NULL;
	a->last = NULL;
	a->n = a->cap = 0;
}

void *vds_as_contig(struct vds_as *as, uint64_t addr, uint64_t len,
		    bool write)
{
	struct vds_seg seg;

	if (as->range(as, addr, len, write, &seg, 1) != 1)
		return NULL;
	return seg.hva;
}

/* ------------------------------------------------------------ device half */

int vds_vdev_init(struct vds_vdev *d, uint16_t num, uint64_t features,
		  struct vds_as *as, void *desc, void *avail,
		  void *used)
{
	memset(d, 0, sizeof(*d));
	d->num = num;
	d->mask = num - 1;
	d->event_idx = features & F(VDPASTATE_F_EVENT_IDX);
	d->indirect = features & F(VDPASTATE_F_INDIRECT_DESC);
	d->as = as;
	d->desc = desc;
	d->avail = avail;
	d->used = used;
	if (d->indirect) {
		d->ind_copy = malloc(vdpastate_vring_desc_size(num));
		if (!d->ind_copy)
			return -ENOMEM;
	}
	return 0;
}

void vds_vdev_fini(struct vds_vdev *d)
{
	free(d->ind_copy);
	d->ind_copy = NULL;
}

int vds_vdev_avail_fail(const struct vds_vdev *d, uint16_t idx)
{
	return vds_fail(-VDPASTATE_EGUEST,
			"vring: avail idx moved from %u to %u, more than the "
			"ring size %u", d->last_avail, idx, d->num);
}

int vds_vdev_head_fail(const struct vds_vdev *d, uint16_t h)
{
	return vds_fail(-VDPASTATE_EGUEST,
			"vring: avail[%u] = head %u >= ring size %u",
			d->last_avail & d->mask, h, d->num);
}

/* Read a descriptor once, so later checks see what was validated. */
static inline void read_desc(const struct vds_desc *src, struct vds_desc *dst)
{
	const volatile struct vds_desc *v = src;

	dst->addr = v->addr;
	dst->len = v->len;
	dst->flags = v->flags;
	dst->next = v->next;
}

/* Resolve an indirect table; copy it if it is not contiguous in the host. */
static const struct vds_desc *indirect_table(struct vds_vdev *d,
					     const struct vds_desc *ind,
					     uint16_t head)
{
	struct vds_seg segs[8];
	uint64_t off = 0;
	unsigned int i, got;
	int n;

	for (;;) {
		n = d->as->range(d->as, ind->addr + off, ind->len - off, false,
				 segs, VDS_ARRAY_SIZE(segs));
		if (n == 1 && off == 0)
			return segs[0].hva;
		if (n < 0 && n != -ENOBUFS)
			break;
		got = n < 0 ? VDS_ARRAY_SIZE(segs) : (unsigned int)n;
		for (i = 0; i < got; i++) {
			memcpy((char *)d->ind_copy + off, segs[i].hva, segs[i].len);
			off += segs[i].len;
		}
		if (off == ind->len)
			return d->ind_copy;
	}
	vds_fail(-VDPASTATE_EGUEST,
		 "vring: chain %u: indirect table [0x%llx, +0x%x] is not "
		 "entirely in memory",
		 head, (unsigned long long)ind->addr, ind->len);
	return NULL;
}

/* Why a chain was rejected; kept out of line so the walk stays small. */
static int __attribute__((noinline, cold, format(printf, 3, 4)))
chain_fail(int err, uint16_t head, const char *fmt, ...)
{
	char msg[VDS_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vds_fail(err, "vring: chain %u: %s", head, msg);
}

static int __attribute__((noinline, cold))
buffer_fail(int err, uint16_t head, const struct vds_desc *dsc,
	    unsigned int max)
{
	bool w = dsc->flags & VDPASTATE_VRING_DESC_F_WRITE;

	if (err == -ENOBUFS)
		return chain_fail(-E2BIG, head,
				  "needs more than %u buffer pieces", max);
	if (err != -EFAULT && err != -EROFS)
		return err; /* the address space said why */
	return chain_fail(-VDPASTATE_EGUEST, head,
			  "%s buffer [0x%llx, +0x%x] is not entirely in %smemory",
			  w ? "writable" : "readable",
			  (unsigned long long)dsc->addr, dsc->len,
			  err == -EROFS ? "writable " : "");
}

static int __attribute__((noinline, cold))
indirect_check(const struct vds_vdev *d, bool in_indirect,
	       const struct vds_desc *dsc, uint16_t head)
{
	if (!d->indirect)
		return chain_fail(-VDPASTATE_EGUEST, head,
				  "INDIRECT flag but VIRTIO_F_INDIRECT_DESC not "
				  "negotiated");
	if (in_indirect)
		return chain_fail(-VDPASTATE_EGUEST, head, "nested indirect table");
	if (dsc->flags & VDPASTATE_VRING_DESC_F_NEXT)
		return chain_fail(-VDPASTATE_EGUEST, head,
				  "indirect descriptor with NEXT set");
	if (dsc->len == 0 || dsc->len % sizeof(struct vds_desc))
		return chain_fail(-VDPASTATE_EGUEST, head,
				  "indirect table length %u is not a non-zero "
				  "multiple of 16", dsc->len);
	if (dsc->len / sizeof(struct vds_desc) > d->num)
		return chain_fail(-VDPASTATE_EGUEST, head,
				  "indirect table of %u entries exceeds the ring "
				  "size %u",
				  (unsigned int)(dsc->len / sizeof(struct vds_desc)),
				  d->num);
	return 0;
}

int vds_vdev_chain(struct vds_vdev *d, uint16_t head, struct vds_seg *out,
		   unsigned int max, uint64_t *write_len)
{
	const struct vds_desc *table = d->desc;
	unsigned int tsize = d->num, steps = 0, n = 0;
	uint64_t total = 0, wlen = 0;
	bool indirect = false, writing = false;
	uint16_t i = head;
	struct vds_desc dsc;
	int r;

	/* The common chain: one direct descriptor (head < num: peeked). */
	read_desc(&table[head], &dsc);
	if (vds_likely(!(dsc.flags & (VDPASTATE_VRING_DESC_F_NEXT |
				      VDPASTATE_VRING_DESC_F_INDIRECT)))) {
		bool w = dsc.flags & VDPASTATE_VRING_DESC_F_WRITE;

		r = d->as->range(d->as, dsc.addr, dsc.len, w, out, max);
		if (vds_unlikely(r < 0))
			return buffer_fail(r, head, &dsc, max);
		*write_len = w ? dsc.len : 0;
		return r;
	}
	for (;;) {
		bool w;

		if (vds_unlikely(i >= tsize))
			return chain_fail(-VDPASTATE_EGUEST, head,
					  "next %u >= %s size %u", i,
					  indirect ? "indirect table" : "ring", tsize);
		if (vds_unlikely(++steps > tsize))
			return chain_fail(-VDPASTATE_EGUEST, head,
					  "longer than the %s (%u): a loop",
					  indirect ? "indirect table" : "ring", tsize);
		read_desc(&table[i], &dsc);

		if (vds_unlikely(dsc.flags & VDPASTATE_VRING_DESC_F_INDIRECT)) {
			if ((r = indirect_check(d, indirect, &dsc, head)))
				return r;
			table = indirect_table(d, &dsc, head);
			if (!table)
				return -VDPASTATE_EGUEST;
			tsize = dsc.len / sizeof(struct vds_desc);
			indirect = true;
			steps = 0;
			i = 0;
			continue;
		}

		w = dsc.flags & VDPASTATE_VRING_DESC_F_WRITE;
		if (w) {
			writing = true;
			wlen += dsc.len;
		} else if (vds_unlikely(writing)) {
			return chain_fail(-VDPASTATE_EGUEST, head,
					  "readable descriptor after a writable one");
		}
		total += dsc.len;
		if (vds_unlikely(total > UINT32_MAX))
			return chain_fail(-VDPASTATE_EGUEST, head,
					  "total length exceeds 2^32 - 1");
		r = d->as->range(d->as, dsc.addr, dsc.len, w, out + n, max - n);
		if (vds_unlikely(r < 0))
			return buffer_fail(r, head, &dsc, max);
		n += (unsigned int)r;
		if (!(dsc.flags & VDPASTATE_VRING_DESC_F_NEXT))
			break;
		i = dsc.next;
	}
	*write_len = wlen;
	return (int)n;
}

bool vds_vdev_publish_used(struct vds_vdev *d)
{
	vds_vdev_expose_used(d);
	/* The driver's suppression must be read after the index is seen. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vds_vdev_need_signal(d);
}

bool vds_vdev_enable_kicks(struct vds_vdev *d)
{
	if (d->event_idx)
		VDS_WRITE_ONCE(*vds_avail_event(d->used, d->num), d->last_avail);
	else
		VDS_WRITE_ONCE(d->used->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&d->avail->idx, __ATOMIC_ACQUIRE) != d->last_avail;
}

/* ------------------------------------------------------------ buffers */

size_t vds_segs_gather(const struct vds_seg *segs, int n, uint8_t *dst,
		       size_t max, uint64_t *len)
{
	size_t got = 0;
	int i;

	*len = 0;
	for (i = 0; i < n && !(segs[i].flags & VDPASTATE_VRING_DESC_F_WRITE); i++) {
		size_t c = segs[i].len;

		*len += c;
		if (got < max) {
			c = c < max - got ? c : max - got;
			memcpy(dst + got, segs[i].hva, c);
			got += c;
		}
	}
	return got;
}

uint32_t vds_segs_scatter(const struct vds_seg *segs, int n, const uint8_t *src,
			  size_t len)
{
	size_t off = 0;
	int i;

	for (i = 0; i < n && off < len; i++) {
		size_t c;

		if (!(segs[i].flags & VDPASTATE_VRING_DESC_F_WRITE))
			continue;
		c = segs[i].len < len - off ? segs[i].len : len - off;
		memcpy(segs[i].hva, src + off, c);
		off += c;
	}
	return (uint32_t)off;
}
