/* SPDX-License-Identifier: MIT */
/*
 * lib/ivtree.h - the IOVA allocator's index of its ranges: a B+tree of
 * disjoint [first, last] ranges keyed by first, each with an address and
 * a kind, augmented for first-fit allocation.  Every node knows the
 * largest free gap between two ranges of its subtree, and an inner node
 * knows, for each child, the child's lowest first, highest last and
 * largest gap; so the gap between two neighbouring children is read in
 * the parent, and the lowest gap of a given size is found by one descent
 * that enters only subtrees holding such a gap.  Never installed.
 *
 * A node is VDS_IVT_MAX slots in parallel arrays (a few cache lines per
 * array, scanned in order), so a search touches a handful of nodes where
 * a binary tree of the same size touches one node per level; every node
 * but the root holds at least VDS_IVT_MIN slots and all leaves are at one
 * depth, so every operation is O(log n).
 *
 * Insertion takes the nodes of its splits from spares it refills before
 * it changes anything, so -ENOMEM leaves the tree as it was.  Removal and
 * searches never allocate.
 */
#ifndef VDS_IVTREE_H
#define VDS_IVTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VDS_IVT_MAX 16
#define VDS_IVT_MIN (VDS_IVT_MAX / 2)
#define VDS_IVT_DEPTH 24 /* more levels than 2^64 ranges need */

/* One range: [first, last], what it maps to, and its kind. */
struct vds_ivt_ent {
	uint64_t first, last;
	uint64_t addr;
	uint32_t kind;
};

struct vds_ivt_node {
	uint32_t n;    /* slots in use */
	uint32_t leaf;
	uint64_t gap;  /* largest free gap between two ranges of the subtree */
	/* Leaf: the ranges.  Inner: the lowest first and highest last of
	 * child i's subtree. */
	uint64_t first[VDS_IVT_MAX];
	uint64_t last[VDS_IVT_MAX];
	union {
		struct {
			uint64_t addr[VDS_IVT_MAX];
			uint32_t kind[VDS_IVT_MAX];
		} e; /* leaf */
		struct {
			uint64_t gap[VDS_IVT_MAX]; /* child i's gap */
			struct vds_ivt_node *child[VDS_IVT_MAX];
		} c; /* inner */
	};
} __attribute__((aligned(64)));

struct vds_ivt {
	struct vds_ivt_node *root; /* NULL when empty */
	unsigned int height;       /* 0 empty, 1 a lone leaf */
	size_t count;
	/* Nodes kept for the splits of the next insertion: it may need
	 * height + 1, and takes them from here, so it allocates only to
	 * refill (before it changes anything) and needs no extra descent
	 * to count its splits. */
	struct vds_ivt_node *spare[VDS_IVT_DEPTH + 1];
	unsigned int nspare;
};

/* Add e, which overlaps no range of the tree.  0 or -ENOMEM (unchanged). */
int vds_ivt_insert(struct vds_ivt *t, const struct vds_ivt_ent *e);

/* Remove the range that starts at first, into *out (may be NULL).
 * 0 or -ENOENT. */
int vds_ivt_remove(struct vds_ivt *t, uint64_t first, struct vds_ivt_ent *out);

/* The range with the greatest first <= key, into *out; false if none. */
bool vds_ivt_floor(const struct vds_ivt *t, uint64_t key,
		   struct vds_ivt_ent *out);

/*
 * The lowest start s, a multiple of mask + 1, of size free bytes
 * [s, s + size - 1] inside [lo, hi] and outside every range; false if
 * there is none.  Every range of the tree lies in [lo, hi]; size >= 1.
 */
bool vds_ivt_fit(const struct vds_ivt *t, uint64_t lo, uint64_t hi,
		 uint64_t size, uint64_t mask, uint64_t *out);

/* Call fn for each range in order; stops at and returns a non-zero
 * return of fn. */
int vds_ivt_walk(const struct vds_ivt *t,
		 int (*fn)(const struct vds_ivt_ent *e, void *arg), void *arg);

/* Free every node; the tree is empty afterwards. */
void vds_ivt_free(struct vds_ivt *t);

/*
 * Check every invariant: slot counts, ranges sorted and disjoint across
 * the tree, each inner slot equal to its child's summary, every gap equal
 * to what the ranges give, leaves at one depth, the height and the count.
 * Returns the number of ranges, or -1.  For tests.
 */
long vds_ivt_check(const struct vds_ivt *t);

/* For tests: when set to k > 0, the k-th node allocation from now on
 * fails.  0: never.  Not thread-safe. */
extern long vds_ivt_fail_alloc_in;

#endif /* VDS_IVTREE_H */
