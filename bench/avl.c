/* SPDX-License-Identifier: MIT */
/*
 * bench/avl.c - an intrusive, augmentable AVL tree (see avl.h).  Every node
 * whose subtree changes is passed through fix() on the way back up, so an
 * update hook always sees correct children.
 */
#include "config.h"

#include <stddef.h>

#include "avl.h"

static int height(const struct vds_avl *n)
{
	return n ? n->h : 0;
}

static void fix(struct vds_avl *n, vds_avl_update_fn update)
{
	int hl = height(n->l), hr = height(n->r);

	n->h = 1 + (hl > hr ? hl : hr);
	if (update)
		update(n);
}

static struct vds_avl *rot_right(struct vds_avl *n, vds_avl_update_fn update)
{
	struct vds_avl *l = n->l;

	n->l = l->r;
	l->r = n;
	fix(n, update);
	fix(l, update);
	return l;
}

static struct vds_avl *rot_left(struct vds_avl *n, vds_avl_update_fn update)
{
	struct vds_avl *r = n->r;

	n->r = r->l;
	r->l = n;
	fix(n, update);
	fix(r, update);
	return r;
}

/* n's children are balanced trees whose heights differ by at most 2. */
static struct vds_avl *balance(struct vds_avl *n, vds_avl_update_fn update)
{
	int bf = height(n->l) - height(n->r);

	if (bf > 1) {
		if (height(n->l->l) < height(n->l->r))
			n->l = rot_left(n->l, update);
		return rot_right(n, update);
	}
	if (bf < -1) {
		if (height(n->r->r) < height(n->r->l))
			n->r = rot_right(n->r, update);
		return rot_left(n, update);
	}
	fix(n, update);
	return n;
}

struct vds_avl *vds_avl_insert(struct vds_avl *root, struct vds_avl *n,
			       vds_avl_update_fn update)
{
	if (!root) {
		n->l = n->r = NULL;
		fix(n, update);
		return n;
	}
	if (n->key < root->key)
		root->l = vds_avl_insert(root->l, n, update);
	else
		root->r = vds_avl_insert(root->r, n, update);
	return balance(root, update);
}

static struct vds_avl *remove_min(struct vds_avl *n, vds_avl_update_fn update,
				  struct vds_avl **min)
{
	if (!n->l) {
		*min = n;
		return n->r;
	}
	n->l = remove_min(n->l, update, min);
	return balance(n, update);
}

struct vds_avl *vds_avl_remove(struct vds_avl *root, uint64_t key,
			       vds_avl_update_fn update, struct vds_avl **out)
{
	struct vds_avl *m, *r;

	if (!root) {
		*out = NULL;
		return NULL;
	}
	if (key < root->key) {
		root->l = vds_avl_remove(root->l, key, update, out);
	} else if (key > root->key) {
		root->r = vds_avl_remove(root->r, key, update, out);
	} else {
		*out = root;
		if (!root->l)
			return root->r;
		if (!root->r)
			return root->l;
		/* The successor takes the removed node's place. */
		r = remove_min(root->r, update, &m);
		m->l = root->l;
		m->r = r;
		root = m;
	}
	if (!*out)
		return root; /* nothing changed below */
	return balance(root, update);
}

/* Height of n, or -1 if the subtree is not a valid AVL tree in (lo, hi]. */
static int check(const struct vds_avl *n, const uint64_t *lo,
		 const uint64_t *hi, long *count)
{
	int hl, hr;

	if (!n)
		return 0;
	if ((lo && n->key <= *lo) || (hi && n->key >= *hi))
		return -1;
	hl = check(n->l, lo, &n->key, count);
	hr = check(n->r, &n->key, hi, count);
	if (hl < 0 || hr < 0 || hl - hr > 1 || hr - hl > 1 ||
	    n->h != 1 + (hl > hr ? hl : hr))
		return -1;
	++*count;
	return n->h;
}

long vds_avl_check(const struct vds_avl *n)
{
	long count = 0;

	return check(n, NULL, NULL, &count) < 0 ? -1 : count;
}
