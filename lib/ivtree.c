/* SPDX-License-Identifier: MIT */
/*
 * lib/ivtree.c - the augmented B+tree of IOVA ranges (see ivtree.h).
 *
 * A gap is the number of free bytes between two neighbouring ranges a and
 * b: b.first - a.last - 1 (0 when they touch).  A node's gap is the
 * largest between two ranges of its subtree; the gaps before the tree's
 * first range and after its last are the caller's (vds_ivt_fit handles
 * them from the space's bounds).  A change recomputes the gap of each
 * node on its path, from the node's own slots: O(MAX) per level.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ivtree.h"

_Static_assert(VDS_IVT_MIN >= 2 && 2 * VDS_IVT_MIN <= VDS_IVT_MAX,
	       "a full node splits into two halves of at least MIN slots");
_Static_assert(sizeof(struct vds_ivt_node) % 64 == 0,
	       "a node is a whole number of cache lines");

long vds_ivt_fail_alloc_in;

static struct vds_ivt_node *node_new(bool leaf)
{
	struct vds_ivt_node *x;

	if (vds_ivt_fail_alloc_in > 0 && --vds_ivt_fail_alloc_in == 0)
		return NULL;
	x = aligned_alloc(64, sizeof(*x));
	if (x) {
		x->n = 0;
		x->leaf = leaf;
		x->gap = 0;
	}
	return x;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Free bytes between slot i and slot i + 1 of x. */
static uint64_t gap_after(const struct vds_ivt_node *x, unsigned int i)
{
	return x->first[i + 1] - x->last[i] - 1;
}

/* Recompute x->gap from its slots. */
static void regap(struct vds_ivt_node *x)
{
	uint64_t g = 0;
	unsigned int i;

	for (i = 0; i + 1 < x->n; i++)
		g = max64(g, gap_after(x, i));
	if (!x->leaf)
		for (i = 0; i < x->n; i++)
			g = max64(g, x->c.gap[i]);
	x->gap = g;
}

/* Refresh inner slot i of x from its child. */
static void pull(struct vds_ivt_node *x, unsigned int i)
{
	const struct vds_ivt_node *c = x->c.child[i];

	x->first[i] = c->first[0];
	x->last[i] = c->last[c->n - 1];
	x->c.gap[i] = c->gap;
}

/* Move cnt slots from s (at si) to d (at di); the nodes are of one kind
 * and may be the same node. */
static void mv(struct vds_ivt_node *d, unsigned int di,
	       const struct vds_ivt_node *s, unsigned int si, unsigned int cnt)
{
	memmove(&d->first[di], &s->first[si], cnt * sizeof(d->first[0]));
	memmove(&d->last[di], &s->last[si], cnt * sizeof(d->last[0]));
	if (s->leaf) {
		memmove(&d->e.addr[di], &s->e.addr[si], cnt * sizeof(d->e.addr[0]));
		memmove(&d->e.kind[di], &s->e.kind[si], cnt * sizeof(d->e.kind[0]));
	} else {
		memmove(&d->c.gap[di], &s->c.gap[si], cnt * sizeof(d->c.gap[0]));
		memmove(&d->c.child[di], &s->c.child[si],
			cnt * sizeof(d->c.child[0]));
	}
}

/* Index of the last slot whose first is <= key (0 if none is). */
static unsigned int slot(const struct vds_ivt_node *x, uint64_t key)
{
	unsigned int i, s = 0;

	/* No early exit: a fixed pattern of loads and compares. */
	for (i = 1; i < x->n; i++)
		s += x->first[i] <= key;
	return s;
}

/* ------------------------------------------------------------ insert */

struct pool {
	struct vds_ivt_node **x;
	unsigned int *n;
};

/* Split full x: its upper half goes to a node from the pool. */
static struct vds_ivt_node *split(struct vds_ivt_node *x, struct pool *p)
{
	struct vds_ivt_node *r = p->x[--*p->n];

	r->leaf = x->leaf;
	r->n = x->n - VDS_IVT_MAX / 2;
	mv(r, 0, x, VDS_IVT_MAX / 2, r->n);
	x->n = VDS_IVT_MAX / 2;
	return r;
}

/*
 * Put slot content at position pos of x, splitting x first when it is
 * full; returns the new right sibling, or NULL.  set() fills the slot.
 */
static struct vds_ivt_node *
put(struct vds_ivt_node *x, unsigned int pos, struct pool *p,
    void (*set)(struct vds_ivt_node *x, unsigned int i, const void *arg),
    const void *arg)
{
	struct vds_ivt_node *r = NULL, *into = x;

	if (x->n == VDS_IVT_MAX) {
		r = split(x, p);
		if (pos > x->n) {
			into = r;
			pos -= x->n;
		}
	}
	mv(into, pos + 1, into, pos, into->n - pos);
	into->n++;
	set(into, pos, arg);
	regap(x);
	if (r)
		regap(r);
	return r;
}

static void set_ent(struct vds_ivt_node *x, unsigned int i, const void *arg)
{
	const struct vds_ivt_ent *e = arg;

	x->first[i] = e->first;
	x->last[i] = e->last;
	x->e.addr[i] = e->addr;
	x->e.kind[i] = e->kind;
}

static void set_child(struct vds_ivt_node *x, unsigned int i, const void *arg)
{
	x->c.child[i] = (struct vds_ivt_node *)arg;
	pull(x, i);
}

static struct vds_ivt_node *ins(struct vds_ivt_node *x,
				const struct vds_ivt_ent *e, struct pool *p)
{
	struct vds_ivt_node *nr;
	unsigned int i;

	if (x->leaf) {
		i = x->first[0] > e->first ? 0 : slot(x, e->first) + 1;
		return put(x, i, p, set_ent, e);
	}
	i = slot(x, e->first);
	nr = ins(x->c.child[i], e, p);
	pull(x, i);
	if (nr)
		return put(x, i + 1, p, set_child, nr);
	regap(x);
	return NULL;
}

int vds_ivt_insert(struct vds_ivt *t, const struct vds_ivt_ent *e)
{
	struct pool p = { t->spare, &t->nspare };
	struct vds_ivt_node *x, *nr;

	/* A split on every level and a new root at most. */
	while (t->nspare < t->height + 1) {
		if (!(x = node_new(false)))
			return -ENOMEM;
		t->spare[t->nspare++] = x;
	}
	if (!t->root) {
		x = t->spare[--t->nspare];
		x->leaf = 1;
		x->n = 1;
		set_ent(x, 0, e);
		regap(x);
		t->root = x;
		t->height = 1;
		t->count = 1;
		return 0;
	}
	nr = ins(t->root, e, &p);
	if (nr) {
		x = t->spare[--t->nspare];
		x->leaf = 0;
		x->c.child[0] = t->root;
		x->c.child[1] = nr;
		x->n = 2;
		pull(x, 0);
		pull(x, 1);
		regap(x);
		t->root = x;
		t->height++;
	}
	t->count++;
	return 0;
}

/* ------------------------------------------------------------ remove */

/* Child i of x fell below MIN: borrow from a neighbour or merge. */
static void fix(struct vds_ivt_node *x, unsigned int i)
{
	unsigned int l = i + 1 < x->n ? i : i - 1;
	struct vds_ivt_node *a = x->c.child[l], *b = x->c.child[l + 1];

	if (a->n + b->n <= VDS_IVT_MAX) {
		mv(a, a->n, b, 0, b->n);
		a->n += b->n;
		free(b);
		mv(x, l + 1, x, l + 2, x->n - l - 2);
		x->n--;
		regap(a);
		pull(x, l);
		return;
	}
	/* Even them out. */
	if (a->n < b->n) {
		unsigned int k = (b->n - a->n) / 2;

		mv(a, a->n, b, 0, k);
		a->n += k;
		mv(b, 0, b, k, b->n - k);
		b->n -= k;
	} else {
		unsigned int k = (a->n - b->n) / 2;

		mv(b, k, b, 0, b->n);
		mv(b, 0, a, a->n - k, k);
		b->n += k;
		a->n -= k;
	}
	regap(a);
	regap(b);
	pull(x, l);
	pull(x, l + 1);
}

static int rem(struct vds_ivt_node *x, uint64_t key, struct vds_ivt_ent *out)
{
	unsigned int i = slot(x, key);
	int r;

	if (x->first[i] > key)
		return -ENOENT;
	if (x->leaf) {
		if (x->first[i] != key)
			return -ENOENT;
		if (out)
			*out = (struct vds_ivt_ent){ x->first[i], x->last[i],
						     x->e.addr[i], x->e.kind[i] };
		mv(x, i, x, i + 1, x->n - i - 1);
		x->n--;
		regap(x);
		return 0;
	}
	if ((r = rem(x->c.child[i], key, out)))
		return r;
	if (x->c.child[i]->n < VDS_IVT_MIN && x->n > 1)
		fix(x, i);
	else
		pull(x, i);
	regap(x);
	return 0;
}

int vds_ivt_remove(struct vds_ivt *t, uint64_t first, struct vds_ivt_ent *out)
{
	struct vds_ivt_node *x = t->root;
	int r;

	if (!x)
		return -ENOENT;
	if ((r = rem(x, first, out)))
		return r;
	t->count--;
	if (x->leaf && x->n == 0) {
		free(x);
		t->root = NULL;
		t->height = 0;
	} else if (!x->leaf && x->n == 1) {
		t->root = x->c.child[0];
		t->height--;
		free(x);
	}
	return 0;
}

/* ------------------------------------------------------------ searches */

bool vds_ivt_floor(const struct vds_ivt *t, uint64_t key,
		   struct vds_ivt_ent *out)
{
	const struct vds_ivt_node *x = t->root;
	unsigned int i;

	if (!x || key < x->first[0])
		return false;
	while (!x->leaf)
		x = x->c.child[slot(x, key)];
	i = slot(x, key);
	*out = (struct vds_ivt_ent){ x->first[i], x->last[i], x->e.addr[i],
				     x->e.kind[i] };
	return true;
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

/* The lowest fit in a gap between two ranges of x's subtree. */
static bool fit_in(const struct vds_ivt_node *x, uint64_t size, uint64_t mask,
		   uint64_t *out)
{
	unsigned int i;

	for (i = 0; i < x->n; i++) {
		if (!x->leaf && x->c.gap[i] >= size &&
		    fit_in(x->c.child[i], size, mask, out))
			return true;
		if (i + 1 < x->n && gap_after(x, i) >= size &&
		    fit(x->last[i] + 1, x->first[i + 1] - 1, size, mask, out))
			return true;
	}
	return false;
}

bool vds_ivt_fit(const struct vds_ivt *t, uint64_t lo, uint64_t hi,
		 uint64_t size, uint64_t mask, uint64_t *out)
{
	const struct vds_ivt_node *x = t->root;

	if (!x)
		return fit(lo, hi, size, mask, out);
	return (x->first[0] > lo && fit(lo, x->first[0] - 1, size, mask, out)) ||
	       (x->gap >= size && fit_in(x, size, mask, out)) ||
	       (x->last[x->n - 1] < hi &&
		fit(x->last[x->n - 1] + 1, hi, size, mask, out));
}

static int walk(const struct vds_ivt_node *x,
		int (*fn)(const struct vds_ivt_ent *e, void *arg), void *arg)
{
	unsigned int i;
	int r;

	for (i = 0; i < x->n; i++) {
		if (x->leaf) {
			struct vds_ivt_ent e = { x->first[i], x->last[i],
						 x->e.addr[i], x->e.kind[i] };

			r = fn(&e, arg);
		} else {
			r = walk(x->c.child[i], fn, arg);
		}
		if (r)
			return r;
	}
	return 0;
}

int vds_ivt_walk(const struct vds_ivt *t,
		 int (*fn)(const struct vds_ivt_ent *e, void *arg), void *arg)
{
	return t->root ? walk(t->root, fn, arg) : 0;
}

static void free_node(struct vds_ivt_node *x)
{
	unsigned int i;

	if (!x->leaf)
		for (i = 0; i < x->n; i++)
			free_node(x->c.child[i]);
	free(x);
}

void vds_ivt_free(struct vds_ivt *t)
{
	if (t->root)
		free_node(t->root);
	while (t->nspare)
		free(t->spare[--t->nspare]);
	t->root = NULL;
	t->height = 0;
	t->count = 0;
}

/* ------------------------------------------------------------ check */

struct chk {
	bool seen;
	uint64_t prev_last;
	long count;
};

static int check_node(const struct vds_ivt_node *x, unsigned int depth,
		      unsigned int height, bool root, struct chk *c)
{
	struct vds_ivt_node want;
	unsigned int i;

	if (x->n < (root ? (x->leaf ? 1u : 2u) : VDS_IVT_MIN) ||
	    x->n > VDS_IVT_MAX || (bool)x->leaf != (depth + 1 == height))
		return -1;
	for (i = 0; i < x->n; i++) {
		if (x->leaf) {
			if (x->first[i] > x->last[i] ||
			    (c->seen && x->first[i] <= c->prev_last))
				return -1;
			c->seen = true;
			c->prev_last = x->last[i];
			c->count++;
			continue;
		}
		if (check_node(x->c.child[i], depth + 1, height, false, c))
			return -1;
		want.c.child[0] = x->c.child[i];
		pull(&want, 0);
		if (want.first[0] != x->first[i] || want.last[0] != x->last[i] ||
		    want.c.gap[0] != x->c.gap[i])
			return -1;
	}
	want = *x;
	regap(&want);
	return want.gap == x->gap ? 0 : -1;
}

long vds_ivt_check(const struct vds_ivt *t)
{
	struct chk c = { false, 0, 0 };

	if (!t->root)
		return t->height == 0 && t->count == 0 ? 0 : -1;
	if (t->height == 0 || t->height > VDS_IVT_DEPTH ||
	    check_node(t->root, 0, t->height, true, &c) ||
	    (size_t)c.count != t->count)
		return -1;
	return c.count;
}
