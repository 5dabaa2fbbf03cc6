/* SPDX-License-Identifier: MIT */
/*
 * bench/avl.h - an intrusive AVL tree keyed by a uint64_t, with an optional
 * per-node "update" hook that recomputes augmented data from the children
 * whenever the tree changes shape.  The benchmark's QEMU-like baseline
 * (a balanced tree like GLib's GTree) uses it.
 *
 * Keys are unique in a tree: callers check before inserting.  Operations
 * are recursive; an AVL tree of 2^32 nodes is at most 46 levels deep.
 */
#ifndef VDS_AVL_H
#define VDS_AVL_H

#include <stdint.h>

struct vds_avl {
	struct vds_avl *l, *r;
	uint64_t key;
	int h; /* height of the subtree; a leaf is 1 */
};

/* Recompute the augmentation of n from n->l and n->r (both up to date). */
typedef void (*vds_avl_update_fn)(struct vds_avl *n);

/* Insert n (its key set, its key not in the tree); returns the new root. */
struct vds_avl *vds_avl_insert(struct vds_avl *root, struct vds_avl *n,
			       vds_avl_update_fn update);

/*
 * Unlink the node with this key, stored in *out (NULL if there is none);
 * returns the new root.
 */
struct vds_avl *vds_avl_remove(struct vds_avl *root, uint64_t key,
			       vds_avl_update_fn update, struct vds_avl **out);

/* The node with the greatest key <= key, or NULL.  No allocation. */
static inline struct vds_avl *vds_avl_floor(struct vds_avl *n, uint64_t key)
{
	struct vds_avl *best = NULL;

	while (n) {
		if (n->key <= key) {
			best = n;
			n = n->r;
		} else {
			n = n->l;
		}
	}
	return best;
}

/*
 * Check the tree's shape: keys in order, heights right, balanced.
 * Returns the number of nodes, or -1.  For tests.
 */
long vds_avl_check(const struct vds_avl *n);

#endif /* VDS_AVL_H */
