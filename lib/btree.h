/* SPDX-License-Identifier: MIT */
/*
 * lib/btree.h - a cache-conscious ordered index: a B+tree from unique
 * uint64_t keys to small values (two uint64_t words, stored in the leaves
 * themselves), with a floor search (greatest key <= a key).  Used by the
 * IOVA allocator for its GPA and HVA indexes, whose translations are floor
 * searches: the leaf holds the whole answer, so a search touches nothing
 * but tree nodes.  Never installed.
 *
 * Every node is VDS_BT_MAX slots: a compact, sorted array of keys (the
 * first cache lines of the node, searched without branches) followed by
 * the values (in a leaf) or the children (in an inner node).  Slot i of
 * an inner node holds the lowest key under child i, so a node's key[0] is
 * always the lowest key of its subtree and a descent never has to back
 * up.  Nodes are 64-byte aligned, a whole number of cache lines.
 *
 * Every node but the root holds at least VDS_BT_MIN slots; all leaves are
 * at the same depth.  So with n keys the tree has O(log n) levels (at most
 * 16 for 2^64 keys) and every operation is O(log n), each level costing a
 * few cache lines of one node instead of one line per binary step.
 *
 * Insertion may allocate (a split per full level on the path); it
 * allocates everything it needs before it changes anything, so -ENOMEM
 * leaves the tree as it was.  Removal and search never allocate.
 */
#ifndef VDS_BTREE_H
#define VDS_BTREE_H

#include <stddef.h>
#include <stdint.h>

#define VDS_BT_MAX 31                /* slots per node */
#define VDS_BT_MIN (VDS_BT_MAX / 2)  /* slots in every node but the root */
#define VDS_BT_DEPTH 24              /* more levels than 2^64 keys need */

/* What a key maps to: two words, their meaning the caller's. */
struct vds_bt_val {
	uint64_t v[2];
};

struct vds_bt_node {
	uint32_t n;                   /* slots in use, 1..VDS_BT_MAX */
	uint32_t pad;
	uint64_t key[VDS_BT_MAX];     /* sorted; inner: lowest key of child */
	union {
		struct vds_bt_node *child[VDS_BT_MAX]; /* inner nodes */
		struct vds_bt_val val[VDS_BT_MAX];     /* leaves */
	};
} __attribute__((aligned(64)));

struct vds_bt {
	struct vds_bt_node *root;     /* NULL when empty */
	unsigned int height;          /* levels: 0 empty, 1 a lone leaf */
	size_t count;                 /* keys */
};

/* Index of the last slot whose key is <= key; the caller knows key[0] is. */
static inline unsigned int vds_bt_slot(const struct vds_bt_node *x,
				       uint64_t key)
{
	unsigned int i, s = 0;

	/* No early exit: a fixed pattern of loads and compares. */
	for (i = 1; i < x->n; i++)
		s += x->key[i] <= key;
	return s;
}

/*
 * The value of the greatest key <= key, its key in *found; NULL (and
 * *found untouched) if every key is greater or the tree is empty.  The
 * value lives in the tree: valid until the tree next changes.
 */
static inline const struct vds_bt_val *vds_bt_floor(const struct vds_bt *t,
						    uint64_t key,
						    uint64_t *found)
{
	const struct vds_bt_node *x = t->root;
	unsigned int h, s;

	if (!x || key < x->key[0])
		return NULL;
	for (h = t->height; h > 1; h--) {
		/* Fetch the child lines while the keys are compared. */
		for (s = 0; s < VDS_BT_MAX; s += 8)
			__builtin_prefetch(&x->child[s]);
		x = x->child[vds_bt_slot(x, key)];
	}
	for (s = 0; s < VDS_BT_MAX; s += 4)
		__builtin_prefetch(&x->val[s]);
	s = vds_bt_slot(x, key);
	*found = x->key[s];
	return &x->val[s];
}

/* Add key -> *val.  0; -EEXIST if key is present; -ENOMEM (nothing changed). */
int vds_bt_insert(struct vds_bt *t, uint64_t key, const struct vds_bt_val *val);

/* Remove key, its value to *val (may be NULL).  0, or -ENOENT. */
int vds_bt_remove(struct vds_bt *t, uint64_t key, struct vds_bt_val *val);

/* Free every node (not the values); the tree is empty afterwards. */
void vds_bt_free(struct vds_bt *t);

/*
 * Check every invariant: slot counts, sorted keys across the whole tree,
 * inner keys equal to their child's lowest key, leaves at one depth, the
 * height and the count.  If fn is not NULL, it is called for each key and
 * value in key order and a non-zero return fails the check.  Returns the
 * number of keys, or -1.  For tests.
 */
long vds_bt_check(const struct vds_bt *t,
		  int (*fn)(uint64_t key, const struct vds_bt_val *val, void *arg),
		  void *arg);

/*
 * For tests: when set to k > 0, the k-th node allocation from now on fails
 * (as if out of memory).  0: never.  Not thread-safe; never set otherwise.
 */
extern long vds_bt_fail_alloc_in;

#endif /* VDS_BTREE_H */
