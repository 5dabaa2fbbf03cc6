/* SPDX-License-Identifier: MIT */
/*
 * lib/ring.h - the two halves of a split virtqueue, shared by the shadow
 * virtqueue (a device toward the guest, a driver toward the device) and the
 * simulated device (a device toward the shadow ring).  Ring memory is
 * reached through host pointers resolved once; buffer and indirect-table
 * addresses are resolved through a small address-space interface, so the
 * same code serves guest-physical and IOVA address spaces.
 *
 * Both halves treat the other side as hostile: every index, length and
 * address read from shared memory is checked before use, and each value is
 * read exactly once.
 */
#ifndef VDS_RING_H
#define VDS_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <libvdpastate/iova.h>
#include <libvdpastate/mem.h>
#include <libvdpastate/vring.h>

/* Little-endian ring structures (this library runs little-endian hosts). */
struct vds_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vds_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
	/* uint16_t used_event follows ring[num] */
};

struct vds_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vds_used {
	uint16_t flags;
	uint16_t idx;
	struct vds_used_elem ring[];
	/* uint16_t avail_event follows ring[num] */
};

/* Ring memory layout helpers. */
static inline uint16_t *vds_used_event(struct vds_avail *a, uint16_t num)
{
	return &a->ring[num];
}

static inline uint16_t *vds_avail_event(struct vds_used *u, uint16_t num)
{
	return (uint16_t *)&u->ring[num];
}

/* vdpastate_vring_need_event(), inlined for the data path. */
static inline bool vds_need_event(uint16_t event_idx, uint16_t new_idx,
				  uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) <
	       (uint16_t)(new_idx - old_idx);
}

/*
 * The other side's wish for a notification about the index moving from
 * *last to now (both halves, both directions): its event field with
 * EVENT_IDX, else its suppression flag.  *last becomes now.
 */
static inline bool vds_notify_wanted(uint16_t *last, uint16_t now,
				     bool event_idx, const uint16_t *event,
				     const uint16_t *flags, uint16_t suppress)
{
	uint16_t old = *last;

	*last = now;
	if (event_idx)
		return vds_need_event(__atomic_load_n(event, __ATOMIC_RELAXED),
				      now, old);
	return !(__atomic_load_n(flags, __ATOMIC_RELAXED) & suppress);
}

/*
 * A resolved piece of a buffer: where it is in the ring's address space
 * (addr), what the address space translates it to (xaddr: the same GPA for
 * guest memory, the IOVA for the shadow virtqueue's view of guest memory,
 * the IOVA for a device's IOTLB), and where it lives in the host.
 */
struct vds_seg {
	uint64_t addr;
	uint64_t xaddr;
	void *hva;
	uint32_t len;
	uint16_t flags; /* VDPASTATE_VRING_DESC_F_WRITE or 0 */
	uint16_t no_xaddr; /* reachable by the host, no translation */
};

/* Fill one resolved piece (no_xaddr cleared). */
static inline void vds_seg_set(struct vds_seg *s, uint64_t addr,
			       uint64_t xaddr, uintptr_t hva, uint64_t len,
			       bool write)
{
	s->addr = addr;
	s->xaddr = xaddr;
	s->hva = (void *)hva;
	s->len = (uint32_t)len;
	s->flags = write ? VDPASTATE_VRING_DESC_F_WRITE : 0;
	s->no_xaddr = 0;
}

/*
 * An address space: resolve [addr, addr + len) into at most max segments,
 * each contiguous in the host and in the translation.  Returns the number
 * of segments (0 for len 0), -EFAULT if any byte is unreachable, -EROFS if
 * write and some byte is read-only, -ENOBUFS if more than max segments are
 * needed (the first max are filled in), or another negative errno with a
 * message of its own.  An address space may cache; one instance is used by
 * one thread at a time.
 */
struct vds_as {
	int (*range)(struct vds_as *as, uint64_t addr, uint64_t len, bool write,
		     struct vds_seg *segs, unsigned int max);
};

/* The guest-physical address space of a memory table, with a one-region
 * cache (the memory table must not change while it is used; reset it
 * after a change). */
struct vds_as_mem {
	struct vds_as as;
	const struct vdpastate_mem *mem;
	uint64_t c_first, c_last;
	uintptr_t c_hva;
	bool c_writable;
};
void vds_as_mem_init(struct vds_as_mem *a, const struct vdpastate_mem *mem);
void vds_as_mem_reset(struct vds_as_mem *a);

/*
 * An IOVA address space as a device sees it through its IOTLB: a snapshot,
 * taken at init, of an IOVA tree's mappings resolved to host memory (GPA
 * mappings through the memory table).  Sorted, searched in O(log n), with
 * a most-recently-used entry in front.
 */
struct vds_iotlb_ent {
	uint64_t first, last;
	uintptr_t hva;
	uint64_t writable;
};

struct vds_as_iova {
	struct vds_as as;
	struct vds_iotlb_ent *ent;
	uint64_t *last; /* ent[i].last, searched compactly */
	unsigned int n, cap, mru;
};
int vds_as_iova_init(struct vds_as_iova *a, const struct vdpastate_iova *iova,
		     const struct vdpastate_mem *mem);
void vds_as_iova_fini(struct vds_as_iova *a);

/* Resolve a ring area that must be contiguous host memory. */
void *vds_as_contig(struct vds_as *as, uint64_t addr, uint64_t len,
		    bool write);

/* ------------------------------------------------------------ device half */

struct vds_vdev {
	uint16_t num;
	uint16_t mask;
	bool event_idx;
	bool indirect;
	struct vds_desc *desc;
	struct vds_avail *avail;
	struct vds_used *used;
	struct vds_as *as;
	uint16_t last_avail;  /* next avail entry to consume */
	uint16_t used_idx;    /* next used entry to write */
	uint16_t signalled_used; /* used idx at the last signal decision */
	/* Scratch for an indirect table that is not contiguous in the host. */
	struct vds_desc *ind_copy;
};

int vds_vdev_init(struct vds_vdev *d, uint16_t num, uint64_t features,
		  struct vds_as *as, void *desc, void *avail,
		  void *used);
void vds_vdev_fini(struct vds_vdev *d);

/*
 * Number of avail entries waiting, or -VDPASTATE_EGUEST if the driver's
 * index jumped by more than the ring size.  Includes the acquire barrier
 * that makes the entries' contents visible.
 */
int vds_vdev_avail_fail(const struct vds_vdev *d, uint16_t idx)
	__attribute__((cold, noinline));
static inline int vds_vdev_avail(struct vds_vdev *d)
{
	uint16_t idx = __atomic_load_n(&d->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t n = idx - d->last_avail;

	if (__builtin_expect(n > d->num, 0))
		return vds_vdev_avail_fail(d, idx);
	return n;
}

/* Reports a bad head (cold path of vds_vdev_peek_head). */
int vds_vdev_head_fail(const struct vds_vdev *d, uint16_t h)
	__attribute__((cold, noinline));

/*
 * Head of the next waiting chain (vds_vdev_avail() must have said > 0);
 * -VDPASTATE_EGUEST if the head index is out of range.
 */
static inline int vds_vdev_peek_head(struct vds_vdev *d, uint16_t *head)
{
	uint16_t h = __atomic_load_n(&d->avail->ring[d->last_avail & d->mask],
				     __ATOMIC_RELAXED);

	if (__builtin_expect(h >= d->num, 0)) {
		vds_vdev_head_fail(d, h);
		return -VDPASTATE_EGUEST;
	}
	*head = h;
	return 0;
}

/*
 * Walk and validate the chain at head, resolving every buffer through the
 * address space into out[0..max): direct descriptors then at most one
 * indirect table (which must be the chain's last descriptor), readable
 * before writable, every byte reachable (writable where written), total
 * length < 2^32, no loop, at most the ring size of descriptors per table.
 * Returns the number of segments; -VDPASTATE_EGUEST with a message naming
 * the violation; -E2BIG if the buffers need more than max segments; or an
 * error of the address space's own.  *write_len receives the writable
 * bytes.
 */
int vds_vdev_chain(struct vds_vdev *d, uint16_t head, struct vds_seg *out,
		   unsigned int max, uint64_t *write_len);

/* Consume the peeked entry. */
static inline void vds_vdev_pop(struct vds_vdev *d)
{
	d->last_avail++;
}

/* Queue a used entry (not yet visible to the driver). */
static inline void vds_vdev_push_used(struct vds_vdev *d, uint16_t id,
				      uint32_t len)
{
	struct vds_used_elem *e = &d->used->ring[d->used_idx & d->mask];

	__atomic_store_n(&e->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	d->used_idx++;
}

/*
 * Publish queued used entries (release barrier) and say whether the driver
 * wants a notification for them (flags / used_event).
 */
bool vds_vdev_publish_used(struct vds_vdev *d);

/*
 * vds_vdev_publish_used() in two steps (see vds_vdrv_expose()): expose
 * the used index (release); after a full fence, decide whether the driver
 * wants a notification for everything exposed since the last decision.
 */
static inline void vds_vdev_expose_used(struct vds_vdev *d)
{
	__atomic_store_n(&d->used->idx, d->used_idx, __ATOMIC_RELEASE);
}
static inline bool vds_vdev_need_signal(struct vds_vdev *d)
{
	return vds_notify_wanted(&d->signalled_used, d->used_idx, d->event_idx,
				 vds_used_event(d->avail, d->num),
				 &d->avail->flags,
				 VDPASTATE_VRING_AVAIL_F_NO_INTERRUPT);
}

/*
 * Ask the driver for a kick when new entries arrive (avail_event or the
 * NO_NOTIFY flag), then re-check: true if entries arrived meanwhile.
 */
bool vds_vdev_enable_kicks(struct vds_vdev *d);

/*
 * Copy out up to max bytes of a resolved chain's readable part; *len
 * receives all its readable bytes (more than returned: truncated).
 */
size_t vds_segs_gather(const struct vds_seg *segs, int n, uint8_t *dst,
		       size_t max, uint64_t *len);
/* Write len bytes into the chain's writable part; the bytes written. */
uint32_t vds_segs_scatter(const struct vds_seg *segs, int n, const uint8_t *src,
			  size_t len);

/* ------------------------------------------------------------ driver half */

struct vds_vdrv {
	uint16_t num;
	uint16_t mask;
	bool event_idx;
	struct vds_desc *desc;
	struct vds_avail *avail;
	struct vds_used *used;
	uint16_t avail_idx;   /* next avail slot to fill */
	uint16_t kicked_avail; /* avail idx at the last kick decision */
	uint16_t last_used;   /* next used entry to read */
	uint16_t free_head;
	uint16_t num_free;
	/* Private per-descriptor state: never read back from shared memory. */
	uint16_t *next;     /* free list and chain links */
	uint16_t *chain_len; /* at a head: descriptors in its chain; 0 = free */
	struct vds_piece *piece; /* what each descriptor was posted with */
};

/* The driver's own record of a posted descriptor. */
struct vds_piece {
	uint64_t cookie; /* the poster's address for it (e.g. the GPA) */
	uint32_t len;
	uint32_t flags;
};

/*
 * Set up a driver on a ring the caller allocated (zeroed here).  The ring
 * areas must not be writable by the device except used.
 */
int vds_vdrv_init(struct vds_vdrv *r, uint16_t num, uint64_t features,
		  void *desc, void *avail, void *used);
void vds_vdrv_fini(struct vds_vdrv *r);

/*
 * Post a chain (readable pieces first) and make it available (not yet
 * visible): descriptor i gets segs[i].xaddr, len and flags (a flag the
 * ring knows, e.g. INDIRECT, passes through); the driver's own record
 * keeps segs[i].addr as a cookie.  Returns the head, or -ENOSPC if fewer
 * than n descriptors are free (nothing changed).
 */
int vds_vdrv_add(struct vds_vdrv *r, const struct vds_seg *segs,
		 unsigned int n);

/* Make the chain at head (n descriptors, free list now at i) available. */
static inline int vds_vdrv_commit(struct vds_vdrv *r, uint16_t head,
				  uint16_t i, unsigned int n)
{
	r->free_head = i;
	r->num_free = (uint16_t)(r->num_free - n);
	r->chain_len[head] = (uint16_t)n;
	r->avail->ring[r->avail_idx & r->mask] = head;
	r->avail_idx++;
	return head;
}

/* Publish new avail entries; true if the device wants a kick. */
bool vds_vdrv_publish(struct vds_vdrv *r);

/*
 * vds_vdrv_publish() in two steps, for a caller that shares one full
 * fence with other work: expose the avail index (release), then, after
 * a full fence, decide whether the device wants a kick for everything
 * exposed since the last decision.
 */
static inline void vds_vdrv_expose(struct vds_vdrv *r)
{
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
}
static inline bool vds_vdrv_need_kick(struct vds_vdrv *r)
{
	return vds_notify_wanted(&r->kicked_avail, r->avail_idx, r->event_idx,
				 vds_avail_event(r->used, r->num),
				 &r->used->flags, VDPASTATE_VRING_USED_F_NO_NOTIFY);
}

/* Reports a bad used entry (cold path of the used-ring readers). */
int vds_vdrv_used_fail(const struct vds_vdrv *r, uint16_t idx, uint32_t eid)
	__attribute__((cold, noinline));

/*
 * The number of used entries waiting (one acquire load of the index for
 * all of them), or -VDPASTATE_EDEVICE if the device moved its index by
 * more than the ring size.
 */
static inline int vds_vdrv_used_pending(struct vds_vdrv *r)
{
	uint16_t idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = idx - r->last_used;

	if (__builtin_expect(pending > r->num, 0)) {
		vds_vdrv_used_fail(r, idx, 0);
		return -VDPASTATE_EDEVICE;
	}
	return pending;
}

/*
 * Take the next of the entries vds_vdrv_used_pending() counted: 1, or
 * -VDPASTATE_EDEVICE for an id out of range or not in flight.  Free each
 * chain before taking the next.
 */
static inline int vds_vdrv_take_used(struct vds_vdrv *r, uint16_t *id,
				     uint32_t *len)
{
	struct vds_used_elem *e = &r->used->ring[r->last_used & r->mask];
	uint32_t eid = __atomic_load_n(&e->id, __ATOMIC_RELAXED);

	if (__builtin_expect(eid >= r->num || !r->chain_len[eid], 0)) {
		vds_vdrv_used_fail(r, (uint16_t)(r->last_used + 1), eid);
		return -VDPASTATE_EDEVICE;
	}
	*id = (uint16_t)eid;
	*len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	r->last_used++;
	return 1;
}

/*
 * Take the next used entry: 1 with *id and *len set, 0 if none, or
 * -VDPASTATE_EDEVICE (message says why) if the device reported an id out
 * of range, an id not in flight, or moved its index by more than the ring.
 * The chain stays allocated until vds_vdrv_free(), so the caller can walk
 * it (r->next from id, r->chain_len[id] descriptors); free it before the
 * next get_used so a repeated id is caught.
 */
static inline int vds_vdrv_get_used(struct vds_vdrv *r, uint16_t *id,
				    uint32_t *len)
{
	int n = vds_vdrv_used_pending(r);

	return n <= 0 ? n : vds_vdrv_take_used(r, id, len);
}

/* Return the chain at head to the free list. */
static inline void vds_vdrv_free(struct vds_vdrv *r, uint16_t head)
{
	uint16_t n = r->chain_len[head], tail = head, k;

	for (k = 1; k < n; k++)
		tail = r->next[tail];
	r->next[tail] = r->free_head;
	r->free_head = head;
	r->num_free = (uint16_t)(r->num_free + n);
	r->chain_len[head] = 0;
}

/* After re-enabling calls: true if used entries arrived meanwhile. */
bool vds_vdrv_more_used(struct vds_vdrv *r);

/* Request (or stop requesting) used-buffer notifications. */
static inline void vds_vdrv_want_calls(struct vds_vdrv *r, bool on)
{
	if (r->event_idx) {
		if (on)
			__atomic_store_n(vds_used_event(r->avail, r->num),
					 r->last_used, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&r->avail->flags,
				 on ? 0 : VDPASTATE_VRING_AVAIL_F_NO_INTERRUPT,
				 __ATOMIC_RELAXED);
	}
}


/* Index of the first of n sorted ends >= key (n if none). */
static inline unsigned int vds_first_end_ge(const uint64_t *ends,
					    unsigned int n, uint64_t key)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (ends[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define VDS_READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define VDS_WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#endif /* VDS_RING_H */
