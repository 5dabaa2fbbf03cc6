/* SPDX-License-Identifier: MIT */
/*
 * lib/iova.c - the IOVA allocator and its translations.
 *
 * Every mapping or reservation is one node that sits in up to two
 * indexes: the AVL tree by first IOVA (all nodes), and the B+tree of its
 * kind (GPA or HVA; reservations have no key) by first key address.
 * Keeping GPA and HVA keys apart means two guest ranges backed by the same
 * host memory (an alias) never shadow each other.  The key indexes are
 * B+trees (btree.h) because a translation is a floor search on them: a
 * few cache-line-sized nodes per search instead of one cache miss per
 * level of a binary tree.  Their leaves hold, for each first address, the
 * mapping's first IOVA and last address (a copy of what its node says,
 * set once: mappings never change), so a translation reads no node.
 *
 * The IOVA tree is augmented: each node knows the lowest and highest IOVA
 * of its subtree and the largest free gap between two nodes of its
 * subtree.  That gap depends only on the subtree's contents, not on its
 * neighbours, so it is kept right by the tree's own rebalancing.  The
 * lowest-address first fit then descends to the leftmost subtree whose
 * largest gap is big enough: O(log n).  With an alignment, a gap can be big
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

#include "avl.h"
#include "btree.h"
#include "internal.h"
#include "iova_internal.h"

struct iova_node {
	struct vds_avl by_iova; /* key: first IOVA */
	uint64_t addr;          /* first GPA or HVA; 0 if reserved */
	uint64_t last;          /* last IOVA */
	uint32_t kind;
	/* Augmentation of the by_iova subtree rooted here. */
	uint64_t sub_first, sub_last; /* lowest and highest IOVA */
	uint64_t sub_gap;             /* largest free gap between its nodes */
};

struct vdpastate_iova {
	uint64_t first, last;
	struct vds_avl *by_iova;
	/* GPA, HVA: first address -> { first IOVA, last address } */
	struct vds_bt by_addr[2];
	size_t count[4];            /* by kind; [0] unused */
};

#define NODE(a) ((struct iova_node *)((char *)(a) - offsetof(struct iova_node, by_iova)))

#define DEFAULT_ALIGN 4096u
#define KNOWN_MAP_FLAGS VDPASTATE_IOVA_MAP_FIXED

static const char *const kind_name[] = { "?", "GPA", "HVA", "reserved" };

typedef unsigned long long ull;

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void update(struct vds_avl *a)
{
	struct iova_node *n = NODE(a);
	uint64_t gap = 0;

	n->sub_first = a->l ? NODE(a->l)->sub_first : a->key;
	n->sub_last = a->r ? NODE(a->r)->sub_last : n->last;
	if (a->l)
		gap = max64(NODE(a->l)->sub_gap, a->key - NODE(a->l)->sub_last - 1);
	if (a->r)
		gap = max64(gap, max64(NODE(a->r)->sub_gap,
				       NODE(a->r)->sub_first - n->last - 1));
	n->sub_gap = gap;
}

/* Last key address of a mapping. */
static uint64_t addr_last(const struct iova_node *n)
{
	return n->addr + (n->last - n->by_iova.key);
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

static void free_tree(struct vds_avl *a)
{
	while (a) {
		struct vds_avl *r = a->r;

		free_tree(a->l);
		free(NODE(a));
		a = r;
	}
}

VDPASTATE_API void vdpastate_iova_free(struct vdpastate_iova *iova)
{
	if (!iova)
		return;
	free_tree(iova->by_iova);
	vds_bt_free(&iova->by_addr[0]);
	vds_bt_free(&iova->by_addr[1]);
	free(iova);
}

/* The node whose IOVA range holds addr, or NULL. */
static struct iova_node *find_iova(const struct vdpastate_iova *iova,
				   uint64_t addr)
{
	struct vds_avl *a = vds_avl_floor(iova->by_iova, addr);

	return a && NODE(a)->last >= addr ? NODE(a) : NULL;
}

/* Some node overlapping [first, last] in the IOVA tree, or NULL. */
static struct iova_node *iova_overlap(const struct vdpastate_iova *iova,
				      uint64_t first, uint64_t last)
{
	/* Disjoint nodes are sorted by last byte too: only this one can. */
	struct vds_avl *a = vds_avl_floor(iova->by_iova, last);

	return a && NODE(a)->last >= first ? NODE(a) : NULL;
}

/* Does [a, b] hold size bytes starting at a multiple of mask + 1? */
static bool fit(uint64_t a, uint64_t b, uint64_t size, uint64_t mask,
		uint64_t *out)
{
	uint64_t s;

	if (a > ~mask) /* rounding up would pass 2^64 */
		return false;
	s = (a + mask) & ~mask;
	if (s > b || b - s < size - 1)
		return false;
	*out = s;
	return true;
}

/* Lowest aligned fit in a gap between two nodes of the subtree at a. */
static bool fit_subtree(const struct vds_avl *a, uint64_t size, uint64_t mask,
			uint64_t *out)
{
	while (a && NODE(a)->sub_gap >= size) {
		const struct iova_node *n = NODE(a);

		if (a->l) {
			const struct iova_node *l = NODE(a->l);

			if (fit_subtree(a->l, size, mask, out))
				return true;
			if (a->key - l->sub_last > 1 &&
			    fit(l->sub_last + 1, a->key - 1, size, mask, out))
				return true;
		}
		if (a->r) {
			const struct iova_node *r = NODE(a->r);

			if (r->sub_first - n->last > 1 &&
			    fit(n->last + 1, r->sub_first - 1, size, mask, out))
				return true;
		}
		a = a->r;
	}
	return false;
}

/* Lowest aligned fit in the whole space: before, between, after nodes. */
static bool alloc_range(const struct vdpastate_iova *iova, uint64_t size,
			uint64_t mask, uint64_t *out)
{
	const struct iova_node *root;

	if (!iova->by_iova)
		return fit(iova->first, iova->last, size, mask, out);
	root = NODE(iova->by_iova);
	return (root->sub_first > iova->first &&
		fit(iova->first, root->sub_first - 1, size, mask, out)) ||
	       fit_subtree(iova->by_iova, size, mask, out) ||
	       (root->sub_last < iova->last &&
		fit(root->sub_last + 1, iova->last, size, mask, out));
}

static int insert(struct vdpastate_iova *iova, uint32_t kind, uint64_t addr,
		  uint64_t first, uint64_t last)
{
	struct iova_node *n = malloc(sizeof(*n));
	const struct vds_bt_val v = { { first, addr + (last - first) } };

	/* The key index may allocate too: insert there first, then the
	 * AVL tree, which cannot fail. */
	if (!n || (kind != VDPASTATE_IOVA_RESERVED &&
		   vds_bt_insert(&iova->by_addr[kind - 1], addr, &v))) {
		free(n);
		return vds_fail(-ENOMEM, "iova: %s [0x%llx, 0x%llx]: out of memory",
				kind_name[kind], (ull)first, (ull)last);
	}
	n->by_iova.key = first;
	n->addr = addr;
	n->last = last;
	n->kind = kind;
	iova->by_iova = vds_avl_insert(iova->by_iova, &n->by_iova, update);
	iova->count[kind]++;
	return 0;
}

static int overlap_fail(uint32_t kind, uint64_t first, uint64_t last,
			const struct iova_node *o)
{
	return vds_fail(-EEXIST,
			"iova: %s IOVA [0x%llx, 0x%llx]: overlaps %s mapping at IOVA [0x%llx, 0x%llx]",
			kind == VDPASTATE_IOVA_RESERVED ? "reserve" : "map",
			(ull)first, (ull)last, kind_name[o->kind],
			(ull)o->by_iova.key, (ull)o->last);
}

VDPASTATE_API int vdpastate_iova_reserve(struct vdpastate_iova *iova,
					 uint64_t first, uint64_t last)
{
	const struct iova_node *o;

	if (!iova)
		return vds_fail(-EINVAL, "iova: reserve: no IOVA space");
	if (first > last || first < iova->first || last > iova->last)
		return vds_fail(-EINVAL,
				"iova: reserve [0x%llx, 0x%llx]: not a range inside the space [0x%llx, 0x%llx]",
				(ull)first, (ull)last, (ull)iova->first,
				(ull)iova->last);
	o = iova_overlap(iova, first, last);
	if (o)
		return overlap_fail(VDPASTATE_IOVA_RESERVED, first, last, o);
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
		const struct iova_node *o = iova_overlap(iova, first, first + (size - 1));

		if (o)
			return overlap_fail(kind, first, first + (size - 1), o);
	} else if (!alloc_range(iova, size, align - 1, &first)) {
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
	struct vds_avl *a;
	struct iova_node *n;

	if (!iova)
		return vds_fail(-EINVAL, "iova: unmap: no IOVA space");
	iova->by_iova = vds_avl_remove(iova->by_iova, iova_addr, update, &a);
	if (!a)
		return vds_fail(-ENOENT, "iova: unmap IOVA 0x%llx: no mapping starts there",
				(ull)iova_addr);
	n = NODE(a);
	if (n->kind != VDPASTATE_IOVA_RESERVED)
		vds_bt_remove(&iova->by_addr[n->kind - 1], n->addr, NULL);
	iova->count[n->kind]--;
	free(n);
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
	const struct iova_node *n;

	if (!iova)
		return vds_fail(-EINVAL, "iova: lookup: no IOVA space");
	n = find_iova(iova, iova_addr);
	if (!n)
		return vds_fail(-ENOENT, "iova: lookup IOVA 0x%llx: not mapped",
				(ull)iova_addr);
	if (kind)
		*kind = n->kind;
	if (addr)
		*addr = n->kind == VDPASTATE_IOVA_RESERVED ?
				0 : n->addr + (iova_addr - n->by_iova.key);
	if (contig) /* a reservation of all 2^64 IOVAs saturates */
		*contig = n->last - iova_addr == UINT64_MAX ?
				  UINT64_MAX : n->last - iova_addr + 1;
	return 0;
}

static int walk(const struct vds_avl *a,
		int (*fn)(const struct vdpastate_iova_mapping *m, void *arg),
		void *arg)
{
	for (; a; a = a->r) {
		const struct iova_node *n = NODE(a);
		struct vdpastate_iova_mapping m;
		int rc = walk(a->l, fn, arg);

		if (rc)
			return rc;
		m = (struct vdpastate_iova_mapping){
			.iova = a->key,
			.size = n->last - a->key + 1,
			.addr = n->addr,
			.kind = n->kind,
		};
		rc = fn(&m, arg);
		if (rc)
			return rc;
	}
	return 0;
}

VDPASTATE_API int vdpastate_iova_foreach(
	const struct vdpastate_iova *iova,
	int (*fn)(const struct vdpastate_iova_mapping *m, void *arg),
	void *arg)
{
	if (!iova || !fn)
		return vds_fail(-EINVAL, "iova: foreach: no IOVA space or no function");
	return walk(iova->by_iova, fn, arg);
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

/* Recheck one subtree's augmentation against its nodes. */
static int check_aug(const struct vds_avl *a)
{
	const struct iova_node *n = NODE(a);
	struct iova_node want = *n;

	if (n->last < a->key || (a->l && check_aug(a->l)) ||
	    (a->r && check_aug(a->r)))
		return -1;
	if (a->l && NODE(a->l)->sub_last >= a->key)
		return -1;
	if (a->r && NODE(a->r)->sub_first <= n->last)
		return -1;
	update(&want.by_iova);
	return want.sub_first == n->sub_first && want.sub_last == n->sub_last &&
			       want.sub_gap == n->sub_gap ? 0 : -1;
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
	const struct iova_node *n = find_iova(((struct key_check *)arg)->iova, v->v[0]);
	struct key_check *c = arg;

	if (!n || n->by_iova.key != v->v[0] || n->kind != c->kind ||
	    n->addr != key || n->last - n->by_iova.key > UINT64_MAX - key ||
	    addr_last(n) != v->v[1] || (c->seen && key <= c->prev_last))
		return -1;
	c->seen = true;
	c->prev_last = v->v[1];
	return 0;
}

int vds_iova_check(const struct vdpastate_iova *iova)
{
	struct key_check gc = { iova, VDPASTATE_IOVA_GPA, false, 0 };
	struct key_check hc = { iova, VDPASTATE_IOVA_HVA, false, 0 };
	long n = vds_avl_check(iova->by_iova);
	long g = vds_bt_check(&iova->by_addr[0], check_key, &gc);
	long h = vds_bt_check(&iova->by_addr[1], check_key, &hc);

	if (n < 0 || g < 0 || h < 0 || (size_t)g != iova->count[1] ||
	    (size_t)h != iova->count[2] ||
	    (size_t)n != iova->count[1] + iova->count[2] + iova->count[3])
		return -1;
	if (iova->by_iova && (check_aug(iova->by_iova) ||
			      NODE(iova->by_iova)->sub_first < iova->first ||
			      NODE(iova->by_iova)->sub_last > iova->last))
		return -1;
	return 0;
}
