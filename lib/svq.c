/* SPDX-License-Identifier: MIT */
/*
 * lib/svq.c - the shadow virtqueue: a device half on the guest's ring, a
 * driver half on a shadow ring the device reads, GPA -> IOVA translation in
 * between, and the dirty log of what the device wrote.
 *
 * Per-descriptor work allocates nothing: every scratch array is sized at
 * creation from the two ring sizes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvdpastate/svq.h>

#include "internal.h"
#include "ring.h"

#define PAGE 4096ULL
#define F(bit) (1ULL << (bit))

struct head_info {
	uint16_t guest_head; /* the guest's id for this chain */
	uint16_t avail_pos;  /* guest avail index it was taken from */
	uint32_t write_len;  /* writable bytes posted to the device */
};

/*
 * One piece of guest memory as the data path needs it: host address for
 * validation and indirect tables, IOVA for the shadow ring.  Built from the
 * memory table and the IOVA tree at start, so that a descriptor costs one
 * lookup (usually the most recently used entry) instead of a memory-table
 * search plus an IOVA-tree walk.  A miss falls back to those, so the table
 * is only ever a cache of them.
 */
#define XC_BITS 9
#define XC_SETS (1u << XC_BITS)

struct xent { /* 32 bytes: a cache line holds two */
	uint64_t first, last; /* GPA */
	uint64_t iova;
	uint32_t writable;
	uint32_t has_iova;
};

struct svq_as {
	struct vds_as as;
	struct vdpastate_svq *q;
};

/* Page -> table entry, like a TLB: buffers keep coming from the same
 * pages, even spread over many regions.  Two ways per set, the most
 * recent first; sets chosen by a multiplicative hash, so buffers at a
 * power-of-two stride do not pile into a few sets. */
struct xcache {
	uint64_t page_plus1[2]; /* 0: empty */
	uint32_t idx[2];
	uint64_t pad;
};

/*
 * What the data path reads on every pass comes first, so that it shares
 * as few cache lines as it can; the page cache lives apart.
 */
struct vdpastate_svq {
	struct vds_vdev g;   /* toward the guest */
	struct vds_vdrv s;   /* toward the device */
	struct head_info *hi;      /* [snum] by shadow head */
	/* GPA -> (IOVA, host) table built at start; see xlate_build(). */
	struct xent *xt;
	uintptr_t *xhva;           /* [xn] host address of xt[i].first */
	unsigned int xn, xmru;
	struct xcache *xc;         /* [XC_SETS] */
	int err;
	bool running, blocked;     /* blocked: guest chains wait for room */
	bool no_iova;              /* the walk met memory without IOVA */
	int fd_gkick, fd_gcall, fd_dkick, fd_dcall;
	uint64_t *bitmap;
	vdpastate_svq_dirty_fn dirty_fn;
	uint64_t used_gpa; /* guest used ring, for logging our own writes */
	struct vdpastate_svq_stats st;

	unsigned int num;  /* guest ring */
	unsigned int snum; /* shadow ring */
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	uint64_t gfeat, dfeat;
	struct svq_as gas;   /* guest memory as the SVQ reads it */
	bool ring_set;
	uint16_t base_avail, base_used;

	void *ro, *rw;
	uint64_t ro_size, rw_size, ro_iova, rw_iova;
	bool ro_mapped, rw_mapped;

	struct vds_seg *seg;       /* [snum] scratch: a guest chain, resolved */
	uint32_t *order;           /* [snum] scratch for in-flight listing */
	uint64_t *xlast;           /* xt[i].last, searched compactly */
	uint64_t bitmap_pages;
	void *dirty_arg;
};

/* key -> idx as the set's most recent way (the other way keeps the
 * previous front unless that was key). */
static void xc_front(struct xcache *c, uint64_t key, uint32_t idx)
{
	if (c->page_plus1[0] != key) {
		c->page_plus1[1] = c->page_plus1[0];
		c->idx[1] = c->idx[0];
	}
	c->page_plus1[0] = key;
	c->idx[0] = idx;
}

static const struct xent *xfind(struct vdpastate_svq *q, uint64_t gpa)
{
	uint64_t key = (gpa >> 12) + 1;
	const struct xent *e;
	struct xcache *c;
	unsigned int lo, w;

	if (vds_unlikely(!q->xn))
		return NULL;
	e = &q->xt[q->xmru];
	if (vds_likely(gpa >= e->first && gpa <= e->last))
		return e;
	c = &q->xc[(key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - XC_BITS)];
	for (w = 0; w < 2; w++) {
		if (c->page_plus1[w] != key)
			continue;
		e = &q->xt[c->idx[w]];
		/* An entry may cover only part of the page: check. */
		if (gpa < e->first || gpa > e->last)
			break;
		q->xmru = c->idx[w];
		if (w)
			xc_front(c, key, q->xmru);
		return e;
	}
	lo = vds_first_end_ge(q->xlast, q->xn, gpa);
	if (lo == q->xn || q->xt[lo].first > gpa)
		return NULL;
	q->xmru = lo;
	xc_front(c, key, lo);
	return &q->xt[lo];
}

static int __attribute__((noinline, cold))
no_iova(uint64_t gpa)
{
	return vds_fail(-ENXIO, "svq: GPA 0x%llx is guest memory but has no IOVA "
			"mapping", (unsigned long long)gpa);
}

/*
 * Guest memory as the SVQ reads it: each piece comes back with its host
 * address (for indirect tables) and its IOVA (for the shadow ring), split
 * wherever either is discontiguous.  Unknown to the table (it was built at
 * start): ask the memory table and the IOVA tree themselves.
 */
static int __attribute__((noinline))
svq_as_slow(struct vdpastate_svq *q, uint64_t addr, uint64_t len, bool write,
	    struct vds_seg *segs, unsigned int max)
{
	struct vdpastate_mem_seg ms[8];
	unsigned int n = 0;
	int r = vdpastate_mem_range(q->mem, addr, len, write, ms, 8);

	if (r < 0 && r != -ENOBUFS)
		return r; /* the whole range was checked first */
	while (len) {
		uint64_t mc, ic, iova, piece;
		void *hva = vdpastate_mem_lookup(q->mem, addr, &mc);

		if (!hva)
			return -EFAULT;
		bool mapped = !vdpastate_iova_translate(q->iova, VDPASTATE_IOVA_GPA,
							addr, &iova, &ic);

		if (!mapped) {
			/* Readable by the SVQ (an indirect table), not by the
			 * device: relay() refuses such a piece. */
			iova = 0;
			ic = mc;
			q->no_iova = true;
		}
		if (n == max)
			return -ENOBUFS;
		piece = len < mc ? len : mc;
		piece = piece < ic ? piece : ic;
		vds_seg_set(&segs[n], addr, iova, (uintptr_t)hva, piece, write);
		segs[n++].no_xaddr = !mapped;
		addr += piece;
		len -= piece;
	}
	return (int)n;
}

static int svq_as_range(struct vds_as *as, uint64_t addr, uint64_t len,
			bool write, struct vds_seg *segs, unsigned int max)
{
	struct vdpastate_svq *q = ((struct svq_as *)as)->q;
	const struct xent *e;
	unsigned int n = 0;
	uint64_t at = addr, left = len;

	if (!len)
		return 0;
	if (len - 1 > UINT64_MAX - addr)
		return -EFAULT;
	e = xfind(q, addr);
	/* Usually one entry holds the whole buffer. */
	while (vds_likely(e != NULL)) {
		uint64_t piece = e->last - at;

		/* No IOVA in the table: it may have been mapped since. */
		if (vds_unlikely((write && !e->writable) || !e->has_iova))
			break;
		if (n == max)
			return -ENOBUFS;
		piece = left - 1 < piece ? left : piece + 1;
		vds_seg_set(&segs[n++], at, e->iova + (at - e->first),
			q->xhva[e - q->xt] + (uintptr_t)(at - e->first), piece,
			write);
		left -= piece;
		if (!left)
			return (int)n;
		at += piece;
		e = e + 1 < q->xt + q->xn && e[1].first == at ? e + 1 : NULL;
	}
	return svq_as_slow(q, addr, len, write, segs, max);
}

struct gmap {
	uint64_t gpa, size, iova;
};

static int gmap_collect(const struct vdpastate_iova_mapping *m, void *arg)
{
	struct gmap **cur = arg;

	if (m->kind == VDPASTATE_IOVA_GPA) {
		(*cur)->gpa = m->addr;
		(*cur)->size = m->size;
		(*cur)->iova = m->iova;
		(*cur)++;
	}
	return 0;
}

static int gmap_cmp(const void *a, const void *b)
{
	const struct gmap *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static int xadd(struct xent *xt, uintptr_t *xhva, unsigned int *n,
		unsigned int cap, uint64_t first, uint64_t last, uintptr_t hva,
		bool writable, bool has_iova, uint64_t iova)
{
	if (*n == cap)
		return -ENOMEM;
	xt[*n] = (struct xent){ first, last, iova, writable, has_iova };
	xhva[*n] = hva;
	(*n)++;
	return 0;
}

/* Sweep the memory regions and the GPA mappings, both sorted by GPA. */
static int xlate_build(struct vdpastate_svq *q)
{
	size_t nm = vdpastate_iova_count(q->iova, VDPASTATE_IOVA_GPA);
	unsigned int nr = vdpastate_mem_count(q->mem), i, j = 0, n = 0;
	unsigned int cap = nr + 2 * (unsigned int)nm + 1;
	struct gmap *maps = calloc(nm + 1, sizeof(*maps)), *cur = maps;
	struct xent *xt = NULL;
	uintptr_t *xhva = calloc(cap, sizeof(*xhva));
	uint64_t *xlast;
	int err = 0;

	/* Line-aligned, so that no entry straddles two cache lines. */
	if (!maps || !xhva || posix_memalign((void **)&xt, 64, cap * sizeof(*xt))) {
		xt = NULL;
		err = -ENOMEM;
		goto out;
	}
	vdpastate_iova_foreach(q->iova, gmap_collect, &cur);
	qsort(maps, nm, sizeof(*maps), gmap_cmp);
	for (i = 0; i < nr && !err; i++) {
		struct vdpastate_mem_region r;
		uint64_t at, last;

		vdpastate_mem_get(q->mem, i, &r);
		at = r.gpa;
		last = r.gpa + r.size - 1;
		for (;;) {
			uintptr_t hva = (uintptr_t)r.hva + (uintptr_t)(at - r.gpa);
			bool w = !(r.flags & VDPASTATE_MEM_READONLY);
			uint64_t end;

			while (j < nm && maps[j].gpa + maps[j].size - 1 < at)
				j++;
			if (j < nm && maps[j].gpa <= at) {
				uint64_t mlast = maps[j].gpa + maps[j].size - 1;

				end = mlast < last ? mlast : last;
				err = xadd(xt, xhva, &n, cap, at, end, hva, w,
					   true, maps[j].iova + (at - maps[j].gpa));
			} else {
				end = j < nm && maps[j].gpa - 1 < last ? maps[j].gpa - 1
								       : last;
				err = xadd(xt, xhva, &n, cap, at, end, hva, w,
					   false, 0);
			}
			if (err || end == last)
				break;
			at = end + 1;
		}
	}
out:
	free(maps);
	xlast = err ? NULL : malloc((n + 1) * sizeof(*xlast));
	if (err || !xlast) {
		free(xt);
		free(xhva);
		return vds_fail(-ENOMEM, "svq: start: out of memory");
	}
	for (i = 0; i < n; i++)
		xlast[i] = xt[i].last;
	free(q->xt);
	free(q->xhva);
	free(q->xlast);
	q->xt = xt;
	q->xhva = xhva;
	q->xlast = xlast;
	q->xn = n;
	q->xmru = 0;
	/* The cache's entries point into the old table. */
	memset(q->xc, 0, XC_SETS * sizeof(*q->xc));
	return 0;
}

static bool pow2_in(uint64_t n, uint64_t max)
{
	return n && n <= max && !(n & (n - 1));
}

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE - 1) & ~(PAGE - 1);
}

static void svq_release(struct vdpastate_svq *q)
{
	if (q->ro_mapped)
		vdpastate_iova_unmap(q->iova, q->ro_iova);
	if (q->rw_mapped)
		vdpastate_iova_unmap(q->iova, q->rw_iova);
	vds_vdrv_fini(&q->s);
	vds_vdev_fini(&q->g);
	free(q->xt);
	free(q->xhva);
	free(q->xlast);
	free(q->xc);
	vds_dma_free(q->ro, q->ro_size);
	vds_dma_free(q->rw, q->rw_size);
	free(q->hi);
	free(q->seg);
	free(q->order);
	free(q);
}

VDPASTATE_API struct vdpastate_svq *
vdpastate_svq_new(unsigned int num, struct vdpastate_mem *mem,
		  struct vdpastate_iova *iova,
		  const struct vdpastate_svq_opts *opts)
{
	struct vdpastate_svq *q;
	uint64_t snum;
	bool dev_ev;
	int err;

	if (!mem || !iova)
		return vds_fail_ptr(-EINVAL, "svq: new: %s is NULL",
				    mem ? "iova" : "mem");
	if (!pow2_in(num, VDPASTATE_VRING_MAX_NUM))
		return vds_fail_ptr(-EINVAL,
				    "svq: new: ring size %u is not a power of "
				    "two in 1..32768", num);
	err = VDS_OPTS_VALID(opts, vdpastate_svq_opts);
	if (err) {
		errno = -err; /* the message names the options struct */
		return NULL;
	}
	snum = VDS_OPTS_GET(opts, shadow_num, 0);
	if (!snum)
		snum = num;
	if (!pow2_in(snum, VDPASTATE_VRING_MAX_NUM))
		return vds_fail_ptr(-EINVAL,
				    "svq: new: shadow ring size %llu is not a "
				    "power of two in 1..32768",
				    (unsigned long long)snum);
	if ((VDS_OPTS_GET(opts, guest_features, 0) |
	     VDS_OPTS_GET(opts, device_features, 0)) & F(VDPASTATE_F_RING_PACKED))
		return vds_fail_ptr(-EOPNOTSUPP,
				    "svq: new: VIRTIO_F_RING_PACKED is not "
				    "supported (split rings only)");

	q = calloc(1, sizeof(*q));
	if (!q)
		return vds_fail_ptr(-ENOMEM, "svq: new: out of memory");
	q->num = num;
	q->snum = (unsigned int)snum;
	q->mem = mem;
	q->iova = iova;
	q->gfeat = VDS_OPTS_GET(opts, guest_features, 0);
	q->dfeat = VDS_OPTS_GET(opts, device_features, 0);
	q->fd_gkick = q->fd_gcall = q->fd_dkick = q->fd_dcall = -1;
	q->gas.as.range = svq_as_range;
	q->gas.q = q;
	dev_ev = q->dfeat & F(VDPASTATE_F_EVENT_IDX);

	q->ro_size = page_up(vdpastate_vring_desc_size(q->snum) +
			     vdpastate_vring_avail_size(q->snum, dev_ev));
	q->rw_size = page_up(vdpastate_vring_used_size(q->snum, dev_ev));
	q->ro = vds_dma_alloc(q->ro_size);
	q->rw = vds_dma_alloc(q->rw_size);
	if (!q->ro || !q->rw) {
		svq_release(q);
		return vds_fail_ptr(-ENOMEM, "svq: new: out of memory");
	}
	q->hi = calloc(q->snum, sizeof(*q->hi));
	q->seg = calloc(q->snum, sizeof(*q->seg));
	q->order = calloc(q->snum, sizeof(*q->order));
	if (posix_memalign((void **)&q->xc, 64, XC_SETS * sizeof(*q->xc)))
		q->xc = NULL;
	else
		memset(q->xc, 0, XC_SETS * sizeof(*q->xc));
	if (!q->hi || !q->seg || !q->order || !q->xc ||
	    vds_vdrv_init(&q->s, (uint16_t)q->snum, q->dfeat, q->ro,
			  (char *)q->ro + vdpastate_vring_desc_size(q->snum),
			  q->rw)) {
		svq_release(q);
		return vds_fail_ptr(-ENOMEM, "svq: new: out of memory");
	}
	vds_vdrv_want_calls(&q->s, true);

	err = vdpastate_iova_map(iova, VDPASTATE_IOVA_HVA, (uintptr_t)q->ro,
				 q->ro_size, NULL, &q->ro_iova);
	if (!err) {
		q->ro_mapped = true;
		err = vdpastate_iova_map(iova, VDPASTATE_IOVA_HVA,
					 (uintptr_t)q->rw, q->rw_size, NULL,
					 &q->rw_iova);
		q->rw_mapped = !err;
	}
	if (err) {
		char msg[VDS_ERRMSG_MAX];

		memcpy(msg, vdpastate_last_error(), sizeof(msg));
		svq_release(q);
		return vds_fail_ptr(err, "svq: new: mapping the shadow ring: %s",
				    msg);
	}
	return q;
}

VDPASTATE_API void vdpastate_svq_free(struct vdpastate_svq *svq)
{
	if (svq)
		svq_release(svq);
}

VDPASTATE_API int vdpastate_svq_get_shadow(const struct vdpastate_svq *svq,
					   struct vdpastate_svq_shadow *out)
{
	struct vdpastate_svq_shadow sh = { .sz = sizeof(sh) };

	if (!svq)
		return vds_fail(-EINVAL, "svq: get_shadow: svq is NULL");
	sh.num = svq->snum;
	sh.desc_iova = svq->ro_iova;
	sh.avail_iova = svq->ro_iova + vdpastate_vring_desc_size(svq->snum);
	sh.used_iova = svq->rw_iova;
	sh.ro_iova = svq->ro_iova;
	sh.ro_size = svq->ro_size;
	sh.ro_hva = svq->ro;
	sh.rw_iova = svq->rw_iova;
	sh.rw_size = svq->rw_size;
	sh.rw_hva = svq->rw;
	return vds_out_copy(out, &sh, sizeof(sh), "vdpastate_svq_shadow");
}

/* Resolve one guest ring area, which must sit in one region. */
static int ring_area(struct vdpastate_svq *q, const char *what, uint64_t gpa,
		     uint64_t len, uint64_t align, bool write, void **out)
{
	struct vdpastate_mem_seg seg;
	int n;

	if (gpa & (align - 1))
		return vds_fail(-EINVAL,
				"svq: guest ring: %s at 0x%llx is not %llu-byte "
				"aligned",
				what, (unsigned long long)gpa,
				(unsigned long long)align);
	n = vdpastate_mem_range(q->mem, gpa, len, write, &seg, 1);
	if (n == 1) {
		*out = seg.hva;
		return 0;
	}
	if (n == -EROFS)
		return vds_fail(-EROFS,
				"svq: guest ring: %s [0x%llx, +0x%llx] is read-only",
				what, (unsigned long long)gpa,
				(unsigned long long)len);
	return vds_fail(-EFAULT,
			"svq: guest ring: %s [0x%llx, +0x%llx] is not inside "
			"one guest memory region",
			what, (unsigned long long)gpa, (unsigned long long)len);
}

VDPASTATE_API int vdpastate_svq_set_guest_ring(struct vdpastate_svq *svq,
					       uint64_t desc_gpa,
					       uint64_t avail_gpa,
					       uint64_t used_gpa)
{
	bool ev;
	void *d, *a, *u;
	int err;

	if (!svq)
		return vds_fail(-EINVAL, "svq: set_guest_ring: svq is NULL");
	if (svq->running)
		return vds_fail(-EBUSY, "svq: set_guest_ring: stop the SVQ first");
	ev = svq->gfeat & F(VDPASTATE_F_EVENT_IDX);
	err = ring_area(svq, "descriptor table", desc_gpa,
			vdpastate_vring_desc_size(svq->num),
			VDPASTATE_VRING_DESC_ALIGN, false, &d);
	if (!err)
		err = ring_area(svq, "avail ring", avail_gpa,
				vdpastate_vring_avail_size(svq->num, ev),
				VDPASTATE_VRING_AVAIL_ALIGN, false, &a);
	if (!err)
		err = ring_area(svq, "used ring", used_gpa,
				vdpastate_vring_used_size(svq->num, ev),
				VDPASTATE_VRING_USED_ALIGN, true, &u);
	if (err)
		return err;
	vds_vdev_fini(&svq->g);
	svq->ring_set = false;
	if (vds_vdev_init(&svq->g, (uint16_t)svq->num, svq->gfeat,
			  &svq->gas.as, d, a, u))
		return vds_fail(-ENOMEM, "svq: set_guest_ring: out of memory");
	svq->g.last_avail = svq->base_avail;
	svq->g.used_idx = svq->g.signalled_used = svq->base_used;
	svq->used_gpa = used_gpa;
	svq->ring_set = true;
	return 0;
}

static int check_fd(int fd, bool reads, const char *name)
{
	int fl;

	if (fd < 0)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return vds_fail(-EBADF, "svq: set_fds: %s fd %d is not open",
				name, fd);
	if (reads && !(fl & O_NONBLOCK))
		return vds_fail(-EINVAL,
				"svq: set_fds: %s fd %d must be non-blocking "
				"(EFD_NONBLOCK)", name, fd);
	return 0;
}

VDPASTATE_API int vdpastate_svq_set_fds(struct vdpastate_svq *svq,
					int guest_kick, int guest_call,
					int device_kick, int device_call)
{
	int err;

	if (!svq)
		return vds_fail(-EINVAL, "svq: set_fds: svq is NULL");
	if (svq->running)
		return vds_fail(-EBUSY, "svq: set_fds: stop the SVQ first");
	if ((err = check_fd(guest_kick, true, "guest kick")) ||
	    (err = check_fd(guest_call, false, "guest call")) ||
	    (err = check_fd(device_kick, false, "device kick")) ||
	    (err = check_fd(device_call, true, "device call")))
		return err;
	svq->fd_gkick = guest_kick;
	svq->fd_gcall = guest_call;
	svq->fd_dkick = device_kick;
	svq->fd_dcall = device_call;
	return 0;
}

VDPASTATE_API int vdpastate_svq_set_dirty_log(struct vdpastate_svq *svq,
					      uint64_t *bitmap,
					      uint64_t bitmap_bytes,
					      vdpastate_svq_dirty_fn fn,
					      void *arg)
{
	if (!svq)
		return vds_fail(-EINVAL, "svq: set_dirty_log: svq is NULL");
	if (bitmap && (bitmap_bytes == 0 || bitmap_bytes % 8))
		return vds_fail(-EINVAL,
				"svq: set_dirty_log: bitmap size %llu is not a "
				"non-zero multiple of 8 bytes",
				(unsigned long long)bitmap_bytes);
	svq->bitmap = bitmap;
	svq->bitmap_pages = bitmap ? bitmap_bytes * 8 : 0;
	svq->dirty_fn = bitmap ? NULL : fn;
	svq->dirty_arg = arg;
	return 0;
}

VDPASTATE_API int vdpastate_svq_get_state(const struct vdpastate_svq *svq,
					  uint16_t *last_avail_idx,
					  uint16_t *used_idx)
{
	if (!svq || !last_avail_idx || !used_idx)
		return vds_fail(-EINVAL, "svq: get_state: NULL argument");
	*last_avail_idx = svq->ring_set ? svq->g.last_avail : svq->base_avail;
	*used_idx = svq->ring_set ? svq->g.used_idx : svq->base_used;
	return 0;
}

VDPASTATE_API int vdpastate_svq_set_state(struct vdpastate_svq *svq,
					  uint16_t last_avail_idx,
					  uint16_t used_idx)
{
	if (!svq)
		return vds_fail(-EINVAL, "svq: set_state: svq is NULL");
	if (svq->running)
		return vds_fail(-EBUSY, "svq: set_state: stop the SVQ first");
	svq->base_avail = last_avail_idx;
	svq->base_used = used_idx;
	if (svq->ring_set) {
		svq->g.last_avail = last_avail_idx;
		svq->g.used_idx = svq->g.signalled_used = used_idx;
	}
	return 0;
}

/* ------------------------------------------------------------ data path */

static int disable(struct vdpastate_svq *q, int err)
{
	q->err = err;
	return err;
}

static int check_usable(struct vdpastate_svq *q, const char *what)
{
	if (vds_unlikely(q->err))
		return vds_fail(-VDPASTATE_EDISABLED,
				"svq: %s: disabled by an earlier error (%s)", what,
				vdpastate_strerror(q->err));
	return 0;
}

static void drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending; anything else is the VMM's fd. */
	}
}

static void signal_fd(int fd, const char *what)
{
	if (fd >= 0 && !vds_fd_signal(fd))
		vds_log(VDPASTATE_LOG_WARN, "svq: signalling the %s fd %d failed",
			what, fd);
}

static void mark_dirty(struct vdpastate_svq *q, uint64_t gpa, uint64_t len);

/*
 * The walk met guest memory without an IOVA: fine if that was only an
 * indirect table (the SVQ reads those itself), an error if a buffer is.
 */
static int __attribute__((noinline, cold))
first_no_iova(struct vdpastate_svq *q, int k)
{
	int j;

	for (j = 0; j < k; j++)
		if (q->seg[j].no_xaddr)
			return no_iova(q->seg[j].addr);
	return 0;
}

/*
 * The fast path of relay(), for up to n waiting chains: as long as the
 * next chain is one direct, non-empty descriptor whose buffer lies in one
 * translation-table entry with an IOVA (writable if the buffer is), and
 * the shadow ring has room, it is posted as one shadow descriptor.  Stops
 * at the first chain that is anything else, or in any doubt (a bad head
 * included), and returns how many it took; relay()'s walk then reads and
 * checks that chain on its own.  Each guest descriptor is read once.
 *
 * The ring state lives in locals for the loop: the rings are uint16_t
 * arrays, and every store to them would otherwise make the compiler
 * reload the indexes from the structures.
 */
static unsigned int relay_fast(struct vdpastate_svq *q, unsigned int n)
{
	const struct vds_desc *gdesc = q->g.desc;
	const uint16_t *gring = q->g.avail->ring;
	const unsigned int gmask = q->g.mask; /* ring size - 1 */
	unsigned int last = q->g.last_avail;
	struct vds_vdrv *s = &q->s;
	struct vds_desc *sdesc = s->desc;
	uint16_t *sring = s->avail->ring, *snext = s->next;
	struct vds_piece *piece = s->piece;
	struct head_info *hi = q->hi;
	const unsigned int smask = s->mask;
	unsigned int fh = s->free_head, aidx = s->avail_idx, k;
	const struct xent *e; /* the table entry of the last buffer */

	if (vds_unlikely(!q->xn))
		return 0; /* no table: every buffer takes the walk */
	e = &q->xt[q->xmru];
	if (n > s->num_free)
		n = s->num_free;
	for (k = 0; k < n; k++) {
		unsigned int head = VDS_READ_ONCE(gring[last & gmask]), sh;
		const volatile struct vds_desc *vd;
		uint64_t addr;
		unsigned int len, flags;

		if (vds_unlikely(head > gmask))
			break;
		vd = &gdesc[head];
		addr = vd->addr;
		len = vd->len;
		flags = vd->flags;
		if (vds_unlikely(addr - e->first > e->last - e->first)) {
			if (!(e = xfind(q, addr)))
				break;
		}
		/* One direct descriptor, non-empty, inside an entry with an
		 * IOVA, writable only where the memory is (else: the walk). */
		if (vds_unlikely((flags & ~VDPASTATE_VRING_DESC_F_WRITE) || !len ||
				 len - 1 > e->last - addr || !e->has_iova ||
				 (flags && !e->writable)))
			break;
		sh = fh;
		fh = snext[sh];
		sdesc[sh].addr = e->iova + (addr - e->first);
		sdesc[sh].len = len;
		sdesc[sh].flags = (uint16_t)flags;
		sdesc[sh].next = (uint16_t)fh;
		piece[sh].cookie = addr;
		piece[sh].len = len;
		piece[sh].flags = flags;
		s->chain_len[sh] = 1;
		hi[sh] = (struct head_info){ .guest_head = (uint16_t)head,
					     .avail_pos = (uint16_t)last,
					     .write_len = flags ? len : 0 };
		sring[aidx & smask] = (uint16_t)sh;
		aidx++;
		last++;
	}
	q->g.last_avail = (uint16_t)last;
	s->free_head = (uint16_t)fh;
	s->num_free = (uint16_t)(s->num_free - k);
	s->avail_idx = (uint16_t)aidx;
	return k;
}

/* The guest's kicks: asked for again once its ring is drained. */
static void guest_kicks_on(struct vdpastate_svq *q)
{
	if (q->g.event_idx)
		VDS_WRITE_ONCE(*vds_avail_event(q->g.used, q->g.num),
			       q->g.last_avail);
	else
		VDS_WRITE_ONCE(q->g.used->flags, 0);
	if (q->bitmap || q->dirty_fn)
		mark_dirty(q, q->g.event_idx ?
			      q->used_gpa + 4 + (uint64_t)q->num * 8 :
			      q->used_gpa, 2);
}

/*
 * Shadow entries posted since the last exposure become visible to the
 * device.  The device's calls are armed first: with nothing in flight,
 * reap() leaves them to this point, and the device reads the armed value
 * after it has seen these entries, so no re-check is needed here.
 */
static void shadow_expose(struct vdpastate_svq *q)
{
	vds_vdrv_want_calls(&q->s, true);
	vds_vdrv_expose(&q->s);
}

static int relay(struct vdpastate_svq *q)
{
	/* Chains taken, of them exposed to the device, and shadow
	 * descriptors beyond one per chain (the walk's longer chains). */
	unsigned int total = 0, exposed = 0, extra = 0;
	int err = 0;

	q->blocked = false;
	for (;;) {
		int n = vds_vdev_avail(&q->g);

		if (n < 0) {
			err = n;
			break;
		}
		while (n > 0) {
			uint64_t wlen;
			uint16_t head;
			unsigned int f;
			int k, sh;

			/* Most chains: one direct descriptor inside one table
			 * entry.  Anything else, or any doubt, takes the walk. */
			f = relay_fast(q, (unsigned int)n);
			total += f;
			n -= (int)f;
			if (!n)
				break;
			if ((k = vds_vdev_peek_head(&q->g, &head)) < 0) {
				err = k;
				goto fail;
			}
			q->no_iova = false;
			k = vds_vdev_chain(&q->g, head, q->seg, q->snum, &wlen);
			if (vds_unlikely(k <= 0)) {
				if (k < 0) {
					err = k;
					goto fail;
				}
				/* Only empty buffers: the device still needs one. */
				q->seg[0] = (struct vds_seg){ .flags = 0 };
				k = 1;
			}
			if (vds_unlikely(q->no_iova) && (err = first_no_iova(q, k)))
				goto fail;
			if ((unsigned int)k > q->s.num_free) {
				q->st.ring_full++;
				q->blocked = true;
				goto out;
			}
			sh = vds_vdrv_add(&q->s, q->seg, (unsigned int)k);
			q->hi[sh] = (struct head_info){
				.guest_head = head,
				.avail_pos = q->g.last_avail,
				.write_len = (uint32_t)wlen,
			};
			vds_vdev_pop(&q->g);
			extra += (unsigned int)k - 1;
			total++;
			n--;
		}
		/* Drained: ask the guest for a kick and expose what was
		 * posted; one fence orders both before the reads below. */
		guest_kicks_on(q);
		if (total != exposed) {
			shadow_expose(q);
			exposed = total;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&q->g.avail->idx, __ATOMIC_ACQUIRE) ==
		    q->g.last_avail)
			break;
	}
	if (err)
		goto fail;
out:
	q->st.shadow_descs += total + extra;
	if (total) {
		q->st.guest_chains += total;
		if (total != exposed) {
			shadow_expose(q);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		}
		/* After the fence that followed the last exposure: one kick
		 * for the whole batch, if the device asks for it. */
		if (vds_vdrv_need_kick(&q->s)) {
			q->st.device_kicks++;
			signal_fd(q->fd_dkick, "device kick");
		}
	}
	return (int)total;
fail:
	/* Chains taken but not exposed stay in flight for stop() to return
	 * (the queue is disabled); exposed ones the device may use. */
	q->st.shadow_descs += total + extra;
	return disable(q, err);
}

static void mark_dirty(struct vdpastate_svq *q, uint64_t gpa, uint64_t len)
{
	uint64_t p, first, last;

	q->st.dirty_bytes += len;
	if (!q->bitmap) {
		q->dirty_fn(gpa, len, q->dirty_arg);
		return;
	}
	first = gpa / PAGE;
	last = (gpa + len - 1) / PAGE;
	for (p = first; p <= last; p++) {
		if (vds_unlikely(p >= q->bitmap_pages)) {
			q->st.dirty_dropped += last - p + 1;
			vds_log(VDPASTATE_LOG_ERROR,
				"svq: dirty page 0x%llx is beyond the %llu-page "
				"bitmap", (unsigned long long)p,
				(unsigned long long)q->bitmap_pages);
			return;
		}
		__atomic_fetch_or(&q->bitmap[p / 64], 1ULL << (p % 64),
				  __ATOMIC_RELAXED);
	}
}

/*
 * The SVQ itself writes guest memory (the used ring); the hypervisor's
 * dirty tracking does not see those writes, so they are logged here.
 */
/* Guest-physical address of the guest's used element at index idx. */
static uint64_t used_elem_gpa(const struct vdpastate_svq *q, unsigned int idx)
{
	return q->used_gpa + 4 + (uint64_t)(idx & q->g.mask) * 8;
}

static void push_used(struct vdpastate_svq *q, uint16_t head, uint32_t len)
{
	if (q->bitmap || q->dirty_fn)
		mark_dirty(q, used_elem_gpa(q, q->g.used_idx), 8);
	vds_vdev_push_used(&q->g, head, len);
}

static void log_used_idx(struct vdpastate_svq *q)
{
	if (q->bitmap || q->dirty_fn)
		mark_dirty(q, q->used_gpa, 4);
}

/* The device wrote the first len writable bytes of the chain at head. */
static void log_writes(struct vdpastate_svq *q, uint16_t head, uint32_t len)
{
	uint16_t i = head, j, n = q->s.chain_len[head];

	for (j = 0; j < n && len; j++, i = q->s.next[i]) {
		const struct vds_piece *p = &q->s.piece[i];
		uint32_t w;

		if (!p->flags || !p->len)
			continue;
		w = p->len < len ? p->len : len;
		mark_dirty(q, p->cookie, w);
		len -= w;
	}
}

/* The used entries written so far become visible to the guest (and, the
 * SVQ having written the index, are logged as dirty). */
static void guest_expose(struct vdpastate_svq *q)
{
	log_used_idx(q);
	vds_vdev_expose_used(&q->g);
}

/* After the fence that followed the last exposure of the guest's used
 * index: one guest signal for all of it, if the guest asks for it. */
static void guest_signal(struct vdpastate_svq *q)
{
	if (vds_vdev_need_signal(&q->g)) {
		q->st.guest_signals++;
		signal_fd(q->fd_gcall, "guest call");
	}
}

/*
 * The fast path of reap(), for up to n used entries the index announced:
 * as long as the next entry names a one-descriptor chain in flight and a
 * length within what was posted, the chain is freed and its guest head
 * goes to the guest's used ring (not yet exposed).  Stops at anything
 * else, which reap()'s general loop then reads and checks on its own.
 * Returns how many it took.  Ring state in locals, as in relay_fast().
 */
static inline __attribute__((always_inline)) unsigned int
reap_fast_(struct vdpastate_svq *q, unsigned int n, bool log)
{
	struct vds_vdrv *s = &q->s;
	const struct vds_used_elem *sring = s->used->ring;
	uint16_t *snext = s->next, *clen = s->chain_len;
	const struct vds_piece *piece = s->piece;
	const struct head_info *hi = q->hi;
	struct vds_used_elem *gring = q->g.used->ring;
	const unsigned int smask = s->mask, snum = s->num, gmask = q->g.mask;
	unsigned int lu = s->last_used, fh = s->free_head, uidx = q->g.used_idx;
	unsigned int k;

	for (k = 0; k < n; k++) {
		const struct vds_used_elem *e = &sring[lu & smask];
		uint32_t id = VDS_READ_ONCE(e->id), len = VDS_READ_ONCE(e->len);
		struct vds_used_elem *ge;
		struct head_info h;

		if (vds_unlikely(id >= snum))
			break;
		h = hi[id];
		if (vds_unlikely(clen[id] != 1 || len > h.write_len))
			break;
		if (log) {
			if (len)
				mark_dirty(q, piece[id].cookie, len);
			mark_dirty(q, used_elem_gpa(q, uidx), 8);
		}
		lu++;
		snext[id] = (uint16_t)fh;
		fh = id;
		clen[id] = 0;
		ge = &gring[uidx & gmask];
		VDS_WRITE_ONCE(ge->id, h.guest_head);
		VDS_WRITE_ONCE(ge->len, len);
		uidx++;
	}
	s->last_used = (uint16_t)lu;
	s->free_head = (uint16_t)fh;
	s->num_free = (uint16_t)(s->num_free + k);
	q->g.used_idx = (uint16_t)uidx;
	return k;
}

static unsigned int reap_fast(struct vdpastate_svq *q, unsigned int n,
			      bool log)
{
	return log ? reap_fast_(q, n, true) : reap_fast_(q, n, false);
}

static int reap(struct vdpastate_svq *q)
{
	struct vds_vdrv *s = &q->s;
	bool log = q->bitmap || q->dirty_fn;
	unsigned int total = 0, exposed = 0;
	int err = 0;

	for (;;) {
		bool in_flight;
		int n = vds_vdrv_used_pending(s);

		if (n < 0) {
			err = n;
			break;
		}
		while (n > 0) {
			unsigned int f = reap_fast(q, (unsigned int)n, log);
			uint16_t id;
			uint32_t len;

			total += f;
			n -= (int)f;
			if (!n)
				break;
			if (vds_unlikely(vds_vdrv_take_used(s, &id, &len) < 0)) {
				err = -VDPASTATE_EDEVICE;
				goto done;
			}
			if (vds_unlikely(len > q->hi[id].write_len)) {
				q->st.clamped_len++;
				vds_log(VDPASTATE_LOG_WARN,
					"svq: device used chain %u with length %u "
					"but only %u writable bytes were posted; "
					"clamped", q->hi[id].guest_head, len,
					q->hi[id].write_len);
				len = q->hi[id].write_len;
			}
			if (len && log)
				log_writes(q, id, len);
			vds_vdrv_free(s, id);
			push_used(q, q->hi[id].guest_head, len);
			total++;
			n--;
		}
		/*
		 * Drained as far as the index said.  Expose what reached the
		 * guest; while chains are still in flight, arm the device's
		 * calls and look again after the fence (an entry used in
		 * between would raise no call).  With nothing in flight,
		 * relay() arms them when it posts.
		 */
		in_flight = s->num_free != s->num;
		if (total == exposed && !in_flight)
			break;
		if (total != exposed) {
			guest_expose(q);
			exposed = total;
		}
		if (in_flight)
			vds_vdrv_want_calls(s, true);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!in_flight || __atomic_load_n(&s->used->idx, __ATOMIC_ACQUIRE) ==
				  s->last_used)
			break;
	}
done:
	/* What the device did complete still reaches the guest. */
	if (total != exposed) {
		guest_expose(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	if (total) {
		q->st.used += total;
		guest_signal(q);
	}
	return err ? disable(q, err) : (int)total;
}

VDPASTATE_API int vdpastate_svq_start(struct vdpastate_svq *svq)
{
	int err;

	if (!svq)
		return vds_fail(-EINVAL, "svq: start: svq is NULL");
	if ((err = check_usable(svq, "start")))
		return err;
	if (!svq->ring_set)
		return vds_fail(-EINVAL, "svq: start: guest ring not set");
	if (svq->running)
		return vds_fail(-EBUSY, "svq: start: already running");
	/* The memory table and IOVA tree may have changed while stopped. */
	if ((err = xlate_build(svq)))
		return err;
	svq->running = true;
	return relay(svq);
}

VDPASTATE_API int vdpastate_svq_handle_guest_kick(struct vdpastate_svq *svq)
{
	int err;

	if (!svq)
		return vds_fail(-EINVAL, "svq: handle_guest_kick: svq is NULL");
	drain(svq->fd_gkick);
	if ((err = check_usable(svq, "handle_guest_kick")))
		return err;
	if (!svq->running || svq->blocked)
		return 0;
	return relay(svq);
}

VDPASTATE_API int vdpastate_svq_handle_device_call(struct vdpastate_svq *svq)
{
	int used, more;

	if (!svq)
		return vds_fail(-EINVAL, "svq: handle_device_call: svq is NULL");
	drain(svq->fd_dcall);
	if ((used = check_usable(svq, "handle_device_call")))
		return used;
	if (!svq->running)
		return 0;
	used = reap(svq);
	if (used < 0 || !svq->blocked)
		return used;
	more = relay(svq);
	return more < 0 ? more : used;
}

VDPASTATE_API int vdpastate_svq_poll(struct vdpastate_svq *svq)
{
	int used, relayed;

	if (!svq)
		return vds_fail(-EINVAL, "svq: poll: svq is NULL");
	drain(svq->fd_gkick);
	drain(svq->fd_dcall);
	if ((used = check_usable(svq, "poll")))
		return used;
	if (!svq->running)
		return 0;
	used = reap(svq);
	if (used < 0)
		return used;
	relayed = relay(svq);
	return relayed < 0 ? relayed : used + relayed;
}

/* In-flight shadow heads, oldest (in guest avail order) first. */
static unsigned int inflight_sorted(const struct vdpastate_svq *q,
				    uint32_t *order)
{
	unsigned int i, n = 0, j;

	for (i = 0; i < q->snum; i++) {
		if (!q->s.chain_len[i])
			continue;
		/* Insertion by age; ages are distinct avail positions. */
		uint16_t age = (uint16_t)(q->g.last_avail - q->hi[i].avail_pos);

		for (j = n; j > 0; j--) {
			uint16_t aj = (uint16_t)(q->g.last_avail -
						 q->hi[order[j - 1]].avail_pos);
			if (aj >= age)
				break;
			order[j] = order[j - 1];
		}
		order[j] = i;
		n++;
	}
	return n;
}

VDPASTATE_API int vdpastate_svq_inflight(const struct vdpastate_svq *svq,
					 uint16_t *heads, unsigned int max)
{
	unsigned int i, n;

	uint32_t *order;

	if (!svq || (!heads && max))
		return vds_fail(-EINVAL, "svq: inflight: NULL argument");
	order = malloc(svq->snum * sizeof(*order));
	if (!order)
		return vds_fail(-ENOMEM, "svq: inflight: out of memory");
	n = inflight_sorted(svq, order);
	for (i = 0; i < n && i < max; i++)
		heads[i] = svq->hi[order[i]].guest_head;
	free(order);
	return (int)n;
}

VDPASTATE_API int vdpastate_svq_stop(struct vdpastate_svq *svq,
				     unsigned int flags)
{
	unsigned int n, i, keep_tail = 0;
	bool completed = false;

	if (!svq)
		return vds_fail(-EINVAL, "svq: stop: svq is NULL");
	if (flags > VDPASTATE_SVQ_STOP_COMPLETE)
		return vds_fail(-EINVAL, "svq: stop: unknown flags 0x%x", flags);
	if (!svq->running)
		return vds_fail(-EINVAL, "svq: stop: not running");
	if (!svq->err)
		reap(svq); /* an error here is kept in svq->err */
	svq->running = false;
	n = inflight_sorted(svq, svq->order);
	if (flags == VDPASTATE_SVQ_STOP_KEEP)
		goto out;

	if (flags == VDPASTATE_SVQ_STOP_REWIND) {
		/* The newest chains, if they are the last avail entries taken,
		 * go back to the guest's avail ring to be taken again. */
		while (keep_tail < n &&
		       svq->hi[svq->order[n - 1 - keep_tail]].avail_pos ==
			       (uint16_t)(svq->g.last_avail - 1 - keep_tail))
			keep_tail++;
		svq->g.last_avail = (uint16_t)(svq->g.last_avail - keep_tail);
	}
	for (i = 0; i < n - keep_tail; i++) {
		push_used(svq, svq->hi[svq->order[i]].guest_head, 0);
		completed = true;
	}
	if (completed)
		log_used_idx(svq);
	if (completed && vds_vdev_publish_used(&svq->g)) {
		svq->st.guest_signals++;
		signal_fd(svq->fd_gcall, "guest call");
	}
	/* Nothing of the shadow ring survives: it restarts empty at 0. */
	{
		struct vds_vdrv fresh;

		svq->base_avail = svq->g.last_avail;
		svq->base_used = svq->g.used_idx;
		if (vds_vdrv_init(&fresh, (uint16_t)svq->snum, svq->dfeat, svq->ro,
				  (char *)svq->ro +
					  vdpastate_vring_desc_size(svq->snum),
				  svq->rw))
			return disable(svq, vds_fail(-ENOMEM,
						     "svq: stop: out of memory"));
		vds_vdrv_fini(&svq->s);
		svq->s = fresh;
	}
	vds_vdrv_want_calls(&svq->s, true);
	n = 0;
out:
	svq->base_avail = svq->g.last_avail;
	svq->base_used = svq->g.used_idx;
	/* Stopped either way; a device that broke the ring is reported. */
	return svq->err ? svq->err : (int)n;
}

VDPASTATE_API int vdpastate_svq_error(const struct vdpastate_svq *svq)
{
	if (!svq)
		return vds_fail(-EINVAL, "svq: error: svq is NULL");
	return svq->err;
}

VDPASTATE_API int vdpastate_svq_get_stats(const struct vdpastate_svq *svq,
					  struct vdpastate_svq_stats *out)
{
	struct vdpastate_svq_stats st;

	if (!svq)
		return vds_fail(-EINVAL, "svq: get_stats: svq is NULL");
	st = svq->st;
	st.sz = sizeof(st);
	return vds_out_copy(out, &st, sizeof(st), "vdpastate_svq_stats");
}
