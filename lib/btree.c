/* SPDX-License-Identifier: MIT */
/*
 * lib/btree.c - a B+tree from uint64_t keys to pointers (see btree.h).
 *
 * Insertion and removal are iterative: they record the path from the root
 * to the leaf (node and slot per level), change the leaf, then walk the
 * path back up splitting full nodes (insertion) or refilling short ones
 * from a sibling or merging them into it (removal), and keep every inner
 * key equal to the lowest key of its child.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "btree.h"

_Static_assert(VDS_BT_MAX >= 4 && VDS_BT_MIN >= 2,
	       "a node must split into two halves of at least two slots");
_Static_assert(sizeof(struct vds_bt_node) % 64 == 0,
	       "a node is a whole number of cache lines");

long vds_bt_fail_alloc_in;

static struct vds_bt_node *node_new(void)
{
	struct vds_bt_node *x;

	if (vds_bt_fail_alloc_in > 0 && --vds_bt_fail_alloc_in == 0)
		return NULL;
	/* aligned_alloc (C11) wants a size that is a multiple of 64. */
	x = aligned_alloc(64, sizeof(*x));

	if (x) {
		x->n = 0;
		x->pad = 0;
	}
	return x;
}

/* Size of a slot's value (leaf) or child pointer (inner node). */
static size_t esz(bool leaf)
{
	return leaf ? sizeof(struct vds_bt_val) : sizeof(struct vds_bt_node *);
}

/* Slot i's value or child pointer. */
static void *pay(struct vds_bt_node *x, bool leaf, unsigned int i)
{
	return (char *)x->val + i * esz(leaf);
}

/* Put key and the value or child at p in slot pos of x, which has room. */
static void slot_insert(struct vds_bt_node *x, bool leaf, unsigned int pos,
			uint64_t key, const void *p)
{
	memmove(&x->key[pos + 1], &x->key[pos], (x->n - pos) * sizeof(x->key[0]));
	memmove(pay(x, leaf, pos + 1), pay(x, leaf, pos), (x->n - pos) * esz(leaf));
	x->key[pos] = key;
	memcpy(pay(x, leaf, pos), p, esz(leaf));
	x->n++;
}

static void slot_remove(struct vds_bt_node *x, bool leaf, unsigned int pos)
{
	x->n--;
	memmove(&x->key[pos], &x->key[pos + 1], (x->n - pos) * sizeof(x->key[0]));
	memmove(pay(x, leaf, pos), pay(x, leaf, pos + 1), (x->n - pos) * esz(leaf));
}

/* Append slots [from, x->n) of x to y; x keeps [0, from). */
static void move_tail(struct vds_bt_node *x, bool leaf, unsigned int from,
		      struct vds_bt_node *y)
{
	unsigned int k = x->n - from;

	memcpy(&y->key[y->n], &x->key[from], k * sizeof(x->key[0]));
	memcpy(pay(y, leaf, y->n), pay(x, leaf, from), k * esz(leaf));
	y->n += k;
	x->n = from;
}

/*
 * x is full: share its slots and (key, p), which belongs at slot pos,
 * between x (the lower half) and the empty node r (the upper half).
 */
static void split_insert(struct vds_bt_node *x, struct vds_bt_node *r,
			 bool leaf, unsigned int pos, uint64_t key,
			 const void *p)
{
	const unsigned int half = (VDS_BT_MAX + 1) / 2;

	if (pos < half) {
		move_tail(x, leaf, half - 1, r);
		slot_insert(x, leaf, pos, key, p);
	} else {
		move_tail(x, leaf, half, r);
		slot_insert(r, leaf, pos - half, key, p);
	}
}

int vds_bt_insert(struct vds_bt *t, uint64_t key, const struct vds_bt_val *val)
{
	struct vds_bt_node *path[VDS_BT_DEPTH], *spare[VDS_BT_DEPTH + 1], *x, *r;
	struct vds_bt_node *carry = NULL; /* the node the last split made */
	unsigned int idx[VDS_BT_DEPTH], h = t->height, lvl, need = 0, pos, i;
	uint64_t ck = key;   /* the slot to insert at this level: ck, p */
	const void *p = val; /* a value at the leaf, then &carry */
	bool newmin;

	if (!t->root) {
		x = node_new();
		if (!x)
			return -ENOMEM;
		x->n = 1;
		x->key[0] = key;
		x->val[0] = *val;
		t->root = x;
		t->height = 1;
		t->count = 1;
		return 0;
	}
	/* A new lowest key goes down the leftmost edge, to slot 0. */
	newmin = key < t->root->key[0];
	for (x = t->root, lvl = 0; lvl < h; lvl++) {
		path[lvl] = x;
		idx[lvl] = newmin ? 0 : vds_bt_slot(x, key);
		if (lvl + 1 < h)
			x = x->child[idx[lvl]];
	}
	if (!newmin && x->key[idx[h - 1]] == key)
		return -EEXIST;

	/* Every full node from the leaf up splits; all full: a new root. */
	for (lvl = h; lvl-- > 0 && path[lvl]->n == VDS_BT_MAX;)
		need++;
	if (need == h)
		need++;
	for (i = 0; i < need; i++) {
		spare[i] = node_new();
		if (!spare[i]) {
			while (i--)
				free(spare[i]);
			return -ENOMEM;
		}
	}

	/* Nothing can fail from here on. */
	pos = newmin ? 0 : idx[h - 1] + 1;
	for (lvl = h; lvl-- > 0;) {
		x = path[lvl];
		if (x->n < VDS_BT_MAX) {
			slot_insert(x, lvl == h - 1, pos, ck, p);
			break;
		}
		r = spare[--need];
		split_insert(x, r, lvl == h - 1, pos, ck, p);
		/* The parent gains a slot for r, just after x's. */
		ck = r->key[0];
		carry = r;
		p = &carry;
		if (lvl > 0) {
			pos = idx[lvl - 1] + 1;
		} else {
			x = spare[--need];
			x->n = 2;
			x->key[0] = t->root->key[0];
			x->child[0] = t->root;
			x->key[1] = ck;
			x->child[1] = r;
			t->root = x;
			t->height++;
		}
	}
	if (newmin) /* the leftmost edge: every node's lowest key is key */
		for (x = t->root, lvl = 0; lvl < t->height; lvl++) {
			x->key[0] = key;
			if (lvl + 1 < t->height)
				x = x->child[0];
		}
	t->count++;
	return 0;
}

/*
 * Child pi of parent is one slot short of VDS_BT_MIN: take a slot from a
 * sibling that can spare one, or else merge with a sibling (the parent
 * loses a slot).  parent has at least two children; leaf says whether
 * they are leaves.
 */
static void refill(struct vds_bt_node *parent, unsigned int pi, bool leaf)
{
	struct vds_bt_node *x = parent->child[pi], *l, *r;

	if (pi > 0) {
		l = parent->child[pi - 1];
		if (l->n > VDS_BT_MIN) {
			slot_insert(x, leaf, 0, l->key[l->n - 1],
				    pay(l, leaf, l->n - 1));
			l->n--;
			parent->key[pi] = x->key[0];
			return;
		}
	}
	if (pi + 1 < parent->n) {
		r = parent->child[pi + 1];
		if (r->n > VDS_BT_MIN) {
			slot_insert(x, leaf, x->n, r->key[0], pay(r, leaf, 0));
			slot_remove(r, leaf, 0);
			parent->key[pi + 1] = r->key[0];
			parent->key[pi] = x->key[0];
			return;
		}
	}
	if (pi > 0) {
		/* Into the left sibling: its lowest key stays. */
		move_tail(x, leaf, 0, parent->child[pi - 1]);
		free(x);
		slot_remove(parent, false, pi);
	} else {
		r = parent->child[1];
		move_tail(r, leaf, 0, x);
		free(r);
		slot_remove(parent, false, 1);
		parent->key[0] = x->key[0];
	}
}

int vds_bt_remove(struct vds_bt *t, uint64_t key, struct vds_bt_val *val)
{
	struct vds_bt_node *path[VDS_BT_DEPTH], *x;
	unsigned int idx[VDS_BT_DEPTH], h = t->height, lvl;

	if (!t->root || key < t->root->key[0])
		return -ENOENT;
	for (x = t->root, lvl = 0; lvl < h; lvl++) {
		path[lvl] = x;
		idx[lvl] = vds_bt_slot(x, key);
		if (lvl + 1 < h)
			x = x->child[idx[lvl]];
	}
	if (x->key[idx[h - 1]] != key)
		return -ENOENT;
	if (val)
		*val = x->val[idx[h - 1]];
	slot_remove(x, true, idx[h - 1]);

	/* Back up: refill short nodes, keep inner keys = lowest keys. */
	for (lvl = h - 1; lvl > 0; lvl--) {
		struct vds_bt_node *parent = path[lvl - 1];

		x = path[lvl];
		if (x->n >= VDS_BT_MIN)
			parent->key[idx[lvl - 1]] = x->key[0];
		else
			refill(parent, idx[lvl - 1], lvl == h - 1);
	}
	x = t->root;
	if (h > 1 && x->n == 1) {
		t->root = x->child[0];
		t->height--;
		free(x);
	} else if (h == 1 && x->n == 0) {
		t->root = NULL;
		t->height = 0;
		free(x);
	}
	t->count--;
	return 0;
}

static void free_sub(struct vds_bt_node *x, unsigned int h)
{
	unsigned int i;

	if (h > 1)
		for (i = 0; i < x->n; i++)
			free_sub(x->child[i], h - 1);
	free(x);
}

void vds_bt_free(struct vds_bt *t)
{
	if (t->root)
		free_sub(t->root, t->height);
	t->root = NULL;
	t->height = 0;
	t->count = 0;
}

struct check_ctx {
	int (*fn)(uint64_t key, const struct vds_bt_val *val, void *arg);
	void *arg;
	uint64_t prev; /* the last key seen, if seen */
	bool seen;
	long count;
};

/* Check the subtree at x, h levels high (1: a leaf). */
static int check_sub(const struct vds_bt_node *x, unsigned int h, bool root,
		     struct check_ctx *c)
{
	unsigned int i;

	if (x->n < 1 || x->n > VDS_BT_MAX || (!root && x->n < VDS_BT_MIN) ||
	    (root && h > 1 && x->n < 2))
		return -1;
	for (i = 0; i < x->n; i++) {
		if (i > 0 && x->key[i] <= x->key[i - 1])
			return -1;
		if (h > 1) {
			const struct vds_bt_node *y = x->child[i];

			if (!y || y->key[0] != x->key[i] ||
			    check_sub(y, h - 1, false, c))
				return -1;
			continue;
		}
		if (c->seen && x->key[i] <= c->prev)
			return -1;
		if (c->fn && c->fn(x->key[i], &x->val[i], c->arg))
			return -1;
		c->prev = x->key[i];
		c->seen = true;
		c->count++;
	}
	return 0;
}

long vds_bt_check(const struct vds_bt *t,
		  int (*fn)(uint64_t key, const struct vds_bt_val *val, void *arg),
		  void *arg)
{
	struct check_ctx c = { .fn = fn, .arg = arg };

	if (!t->root)
		return t->height == 0 && t->count == 0 ? 0 : -1;
	if (t->height < 1 || t->height > VDS_BT_DEPTH ||
	    check_sub(t->root, t->height, true, &c) || (size_t)c.count != t->count)
		return -1;
	return c.count;
}
