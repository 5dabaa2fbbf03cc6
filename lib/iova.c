/* SPDX-License-Identifier: MIT */
/*
 * lib/iova.c - the IOVA allocator and its translations.
 *
 * Every mapping or reservation sits in up to two indexes: the IOVA index
 * by first IOVA (all of them, with their address and kind), and the
 * B+tree of its kind (GPA or HVA; reservations have no key) by first key
 * address.
 * Keeping GPA and HVA keys apart means two guest ranges backed by the same
 * host memory (an alias) never shadow each other.  The key indexes are
 * B+trees (btree.h) because a translation is a floor search on them: a
 * few cache-line-sized nodes per search instead of one cache miss per
 * level of a binary tree.  Their leaves hold, for each first address, the
 * mapping's first IOVA and last address (a copy of what the IOVA index
 * says, set once: mappings never change), so a translation reads nothing
 * else.
 *
 * The IOVA index (ivtree.h) is a B+tree of the ranges by first IOVA,
 * augmented with the largest free gap of each subtree and, in an inner
 * node, each child's lowest and highest IOVA, so the gap between two
 * children is read in their parent.  The lowest-address first fit is one
 * descent into the leftmost subtrees whose gap is big enough: O(log n),
 * a few cache lines per level.  With an alignment, a gap can be big
 * enough and still hold no aligned fit (its start is just past an aligned
 * address); the search then moves on to the next large-enough gap, so its
 * cost is O(log n) per such near miss.  With page-sized mappings in a
 * page-aligned space there are none.
 *
 * Ranges are kept by their last byte, never as start + size, so a range
 * that ends at 2^64 needs no special case.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <libvdpastate/iova.h>

#include "btree.h"
#include "internal.h"
#include "iova_internal.h"
#include "ivtree.h"

struct vdpastate_iova {
	uint64_t first, last;
	struct vds_ivt by_iova; /* every range: { first, last, addr, kind } */
	/* GPA, HVA: first address -> { first IOVA, last address } */
	struct vds_bt by_addr[2];
	size_t count[4];            /* by kind; [0] unused */
};

#define DEFAULT_ALIGN 4096u
#define KNOWN_MAP_FLAGS VDPASTATE_IOVA_MAP_FIXED

static const char *const kind_name[] = { "?", "GPA", "HVA", "reserved" };

typedef unsigned long long ull;

/* Last key address of a mapping. */
static uint64_t addr_last(const struct vds_ivt_ent *n)
{
	return n->addr + (n->last - n->first);
}

static bool kind_ok(enum vdpastate_iova_kind kind)
{
	return kind == VDPASTATE_IOVA_GPA || kind == VDPASTATE_IOVA_HVA;
}

VDPASTATE_API struct vdpastate_iova *vdpastate_iova_new(uint64_t first,
							uint64_t last)
{
	struct vdpastate_iova *iova;

	if (first > last)
		return vds_fail_ptr(-EINVAL, "iova: new [0x%llx, 0x%llx]: first > last",
				    (ull)first, (ull)last);
	iova = calloc(1, sizeof(*iova));
	if (!iova)
		return vds_fail_ptr(-ENOMEM, "iova: new: out of memory");
	iova->first = first;
	iova->last = last;
	return iova;
}

VDPASTATE_API void vdpastate_iova_free(struct vdpastate_iova *iova)
{
	if (!iova)
		return;
	vds_ivt_free(&iova->by_iova);
	vds_bt_free(&iova->by_addr[0]);
	vds_bt_free(&iova->by_addr[1]);
	free(iova);
}

/* The range that holds addr, into *n; false if none does. */
static bool find_iova(const struct vdpastate_iova *iova, uint64_t addr,
		      struct vds_ivt_ent *n)
{
	return vds_ivt_floor(&iova->by_iova, addr, n) && n->last >= addr;
}

/* A range overlapping [first, last], into *n; false if none does. */
static bool iova_overlap(const struct vdpastate_iova *iova, uint64_t first,
			 uint64_t last, struct vds_ivt_ent *n)
{
	/* Disjoint ranges are sorted by last byte too: only this one can. */
	return vds_ivt_floor(&iova->by_iova, last, n) && n->last >= first;
}

static int insert(struct vdpastate_iova *iova, uint32_t kind, uint64_t addr,
		  uint64_t first, uint64_t last)
{
	const struct vds_ivt_ent e = { first, last, addr, kind };
	const struct vds_bt_val v = { { first, addr + (last - first) } };

	/* Both indexes may allocate: the IOVA index first, then the key
	 * index, undoing the first (removal never allocates) if it fails. */
	if (vds_ivt_insert(&iova->by_iova, &e))
		goto nomem;
	if (kind != VDPASTATE_IOVA_RESERVED &&
	    vds_bt_insert(&iova->by_addr[kind - 1], addr, &v)) {
		vds_ivt_remove(&iova->by_iova, first, NULL);
		goto nomem;
	}
	iova->count[kind]++;
	return 0;
nomem:
	return vds_fail(-ENOMEM, "iova: %s [0x%llx, 0x%llx]: out of memory",
			kind_name[kind], (ull)first, (ull)last);
}

static int overlap_fail(uint32_t kind, uint64_t first, uint64_t last,
			const struct vds_ivt_ent *o)
{
	return vds_fail(-EEXIST,
			"iova: %s IOVA [0x%llx, 0x%llx]: overlaps %s mapping at IOVA [0x%llx, 0x%llx]",
			kind == VDPASTATE_IOVA_RESERVED ? "reserve" : "map",
			(ull)first, (ull)last, kind_name[o->kind],
			(ull)o->first, (ull)o->last);
}

VDPASTATE_API int vdpastate_iova_reserve(struct vdpastate_iova *iova,
					 uint64_t first, uint64_t last)
{
	struct vds_ivt_ent o;

	if (!iova)
		return vds_fail(-EINVAL, "iova: reserve: no IOVA space");
	if (first > last || first < iova->first || last > iova->last)
		return vds_fail(-EINVAL,
				"iova: reserve [0x%llx, 0x%llx]: not a range inside the space [0x%llx, 0x%llx]",
				(ull)first, (ull)last, (ull)iova->first,
				(ull)iova->last);
	if (iova_overlap(iova, first, last, &o))
		return overlap_fail(VDPASTATE_IOVA_RESERVED, first, last, &o);
	return insert(iova, VDPASTATE_IOVA_RESERVED, 0, first, last);
}

VDPASTATE_API int vdpastate_iova_map(struct vdpastate_iova *iova,
				     enum vdpastate_iova_kind kind,
				     uint64_t addr, uint64_t size,
				     const struct vdpastate_iova_map_opts *opts,
				     uint64_t *iova_out)
{
	uint64_t align, flags, first = 0, last, key = 0;
	const struct vds_bt_val *k;
	int err;

	if (!iova)
		return vds_fail(-EINVAL, "iova: map: no IOVA space");
	if (!kind_ok(kind))
		return vds_fail(-EINVAL, "iova: map: bad kind %d", (int)kind);
	if (size == 0)
		return vds_fail(-EINVAL, "iova: map %s 0x%llx: size 0",
				kind_name[kind], (ull)addr);
	if (size - 1 > UINT64_MAX - addr)
		return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx]: wraps past 2^64",
				kind_name[kind], (ull)addr, (ull)size);
	err = VDS_OPTS_VALID(opts, vdpastate_iova_map_opts);
	if (err)
		return err;
	align = VDS_OPTS_GET(opts, align, 0);
	flags = VDS_OPTS_GET(opts, flags, 0);
	if (align == 0)
		align = DEFAULT_ALIGN;
	if (align & (align - 1))
		return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx]: alignment 0x%llx is not a power of two",
				kind_name[kind], (ull)addr, (ull)size, (ull)align);
	if (flags & ~(uint64_t)KNOWN_MAP_FLAGS)
		return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx]: unknown flags 0x%llx",
				kind_name[kind], (ull)addr, (ull)size,
				(ull)(flags & ~(uint64_t)KNOWN_MAP_FLAGS));
	if (flags & VDPASTATE_IOVA_MAP_FIXED) {
		first = VDS_OPTS_GET(opts, iova, 0);
		if (first & (align - 1))
			return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx] at IOVA 0x%llx: not aligned to 0x%llx",
					kind_name[kind], (ull)addr, (ull)size,
					(ull)first, (ull)align);
		if (size - 1 > UINT64_MAX - first)
			return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx] at IOVA 0x%llx: wraps past 2^64",
					kind_name[kind], (ull)addr, (ull)size,
					(ull)first);
		if (first < iova->first || first + (size - 1) > iova->last)
			return vds_fail(-EINVAL, "iova: map %s [0x%llx, +0x%llx] at IOVA 0x%llx: outside the space [0x%llx, 0x%llx]",
					kind_name[kind], (ull)addr, (ull)size,
					(ull)first, (ull)iova->first,
					(ull)iova->last);
	}

	/* Same kind, overlapping key range: the floor is the only candidate. */
	k = vds_bt_floor(&iova->by_addr[kind - 1], addr + (size - 1), &key);
	if (k && k->v[1] >= addr)
		return vds_fail(-EEXIST, "iova: map %s [0x%llx, +0x%llx]: overlaps %s [0x%llx, 0x%llx] mapped at IOVA 0x%llx",
				kind_name[kind], (ull)addr, (ull)size,
				kind_name[kind], (ull)key, (ull)k->v[1],
				(ull)k->v[0]);

	if (flags & VDPASTATE_IOVA_MAP_FIXED) {
		struct vds_ivt_ent o;

		if (iova_overlap(iova, first, first + (size - 1), &o))
			return overlap_fail(kind, first, first + (size - 1), &o);
	} else if (!vds_ivt_fit(&iova->by_iova, iova->first, iova->last, size,
				align - 1, &first)) {
		return vds_fail(-ENOSPC, "iova: map %s [0x%llx, +0x%llx]: no free IOVA range of that size aligned to 0x%llx in [0x%llx, 0x%llx]",
				kind_name[kind], (ull)addr, (ull)size,
				(ull)align, (ull)iova->first, (ull)iova->last);
	}
	last = first + (size - 1);
	err = insert(iova, kind, addr, first, last);
	if (err)
		return err;
	if (iova_out)
		*iova_out = first;
	return 0;
}

VDPASTATE_API int vdpastate_iova_unmap(struct vdpastate_iova *iova,
				       uint64_t iova_addr)
{
	struct vds_ivt_ent n;

	if (!iova)
		return vds_fail(-EINVAL, "iova: unmap: no IOVA space");
	if (vds_ivt_remove(&iova->by_iova, iova_addr, &n))
		return vds_fail(-ENOENT, "iova: unmap IOVA 0x%llx: no mapping starts there",
				(ull)iova_addr);
	if (n.kind != VDPASTATE_IOVA_RESERVED)
		vds_bt_remove(&iova->by_addr[n.kind - 1], n.addr, NULL);
	iova->count[n.kind]--;
	return 0;
}

VDPASTATE_API int vdpastate_iova_translate(const struct vdpastate_iova *iova,
					   enum vdpastate_iova_kind kind,
					   uint64_t addr, uint64_t *iova_out,
					   uint64_t *contig)
{
	const struct vds_bt_val *v;
	uint64_t key = 0, end;

	if (!iova || !kind_ok(kind))
		return vds_fail(-EINVAL, "iova: translate: %s",
				iova ? "bad kind" : "no IOVA space");
	v = vds_bt_floor(&iova->by_addr[kind - 1], addr, &key);
	if (!v || (end = v->v[1]) < addr)
		return vds_fail(-ENOENT, "iova: translate %s 0x%llx: not mapped",
				kind_name[kind], (ull)addr);
	if (iova_out)
		*iova_out = v->v[0] + (addr - key);
	if (contig)
		*contig = end - addr + 1;
	return 0;
}

VDPASTATE_API int vdpastate_iova_lookup(const struct vdpastate_iova *iova,
					uint64_t iova_addr,
					enum vdpastate_iova_kind *kind,
					uint64_t *addr, uint64_t *contig)
{
	struct vds_ivt_ent n;

	if (!iova)
		return vds_fail(-EINVAL, "iova: lookup: no IOVA space");
	if (!find_iova(iova, iova_addr, &n))
		return vds_fail(-ENOENT, "iova: lookup IOVA 0x%llx: not mapped",
				(ull)iova_addr);
	if (kind)
		*kind = n.kind;
	if (addr)
		*addr = n.kind == VDPASTATE_IOVA_RESERVED ?
				0 : n.addr + (iova_addr - n.first);
	if (contig) /* a reservation of all 2^64 IOVAs saturates */
		*contig = n.last - iova_addr == UINT64_MAX ?
				  UINT64_MAX : n.last - iova_addr + 1;
	return 0;
}

struct walk_arg {
	int (*fn)(const struct vdpastate_iova_mapping *m, void *arg);
	void *arg;
};

static int walk_one(const struct vds_ivt_ent *e, void *arg)
{
	const struct walk_arg *w = arg;
	const struct vdpastate_iova_mapping m = {
		.iova = e->first,
		.size = e->last - e->first + 1,
		.addr = e->addr,
		.kind = e->kind,
	};

	return w->fn(&m, w->arg);
}

VDPASTATE_API int vdpastate_iova_foreach(
	const struct vdpastate_iova *iova,
	int (*fn)(const struct vdpastate_iova_mapping *m, void *arg),
	void *arg)
{
	struct walk_arg w = { fn, arg };

	if (!iova || !fn)
		return vds_fail(-EINVAL, "iova: foreach: no IOVA space or no function");

	return vds_ivt_walk(&iova->by_iova, walk_one, &w);
}

VDPASTATE_API size_t vdpastate_iova_count(const struct vdpastate_iova *iova,
					  enum vdpastate_iova_kind kind)
{
	if (!iova || (unsigned)kind > VDPASTATE_IOVA_RESERVED)
		return 0;
	if (kind == 0)
		return iova->count[1] + iova->count[2] + iova->count[3];
	return iova->count[kind];
}

struct key_check {
	const struct vdpastate_iova *iova;
	uint32_t kind;
	bool seen;
	uint64_t prev_last; /* last key address of the previous mapping */
};

/*
 * One entry of a key index: the first address of a mapping of that kind
 * that starts at IOVA v[0] and ends at address v[1], not overlapping the
 * one before it.
 */
static int check_key(uint64_t key, const struct vds_bt_val *v, void *arg)
{
	struct key_check *c = arg;
	struct vds_ivt_ent n;

	if (!find_iova(c->iova, v->v[0], &n) || n.first != v->v[0] ||
	    n.kind != c->kind || n.addr != key ||
	    n.last - n.first > UINT64_MAX - key || addr_last(&n) != v->v[1] ||
	    (c->seen && key <= c->prev_last))
		return -1;
	c->seen = true;
	c->prev_last = v->v[1];
	return 0;
}

int vds_iova_check(const struct vdpastate_iova *iova)
{
	struct key_check gc = { iova, VDPASTATE_IOVA_GPA, false, 0 };
	struct key_check hc = { iova, VDPASTATE_IOVA_HVA, false, 0 };
	long n = vds_ivt_check(&iova->by_iova);
	long g = vds_bt_check(&iova->by_addr[0], check_key, &gc);
	long h = vds_bt_check(&iova->by_addr[1], check_key, &hc);

	if (n < 0 || g < 0 || h < 0 || (size_t)g != iova->count[1] ||
	    (size_t)h != iova->count[2] ||
	    (size_t)n != iova->count[1] + iova->count[2] + iova->count[3])
		return -1;
	if (iova->by_iova.root &&
	    (iova->by_iova.root->first[0] < iova->first ||
	     iova->by_iova.root->last[iova->by_iova.root->n - 1] > iova->last))
		return -1;
	return 0;
}
