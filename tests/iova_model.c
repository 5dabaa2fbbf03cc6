/* SPDX-License-Identifier: MIT */
/*
 * tests/iova_model.c - the naive IOVA model and the lock-step driver (see
 * iova_model.h).  The model knows nothing of trees: it keeps mappings in
 * an unsorted array and answers every question by scanning all of them.
 * First fit: the lowest feasible start is the aligned start of some hole,
 * and every hole starts at the space's first IOVA or just after a mapping,
 * so it tries each of those candidates against every mapping.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "iova_internal.h"
#include "iova_model.h"

#define IM_CAP 160 /* live mappings; keeps the O(n^2) first fit cheap */

struct im_ent {
	uint64_t iova, last, addr;
	uint32_t kind;
};

struct im {
	struct vdpastate_iova *t;
	uint64_t first, last;
	struct im_ent e[IM_CAP];
	unsigned int n;
	char msg[512];
};

static const struct { uint64_t first, last; } configs[IM_NCONFIGS] = {
	{ 0x1000, 0x100fff },                          /* 1 MiB, page-aligned */
	{ 0x1234, 0x12ffff },                          /* unaligned start */
	{ UINT64_MAX - 0xfffff, UINT64_MAX },          /* ends at 2^64 */
	{ 0, UINT64_MAX },                             /* everything */
	{ 0, 0x7fff },                                 /* tiny: ENOSPC often */
	{ 0xfffff000, 0x1000fffff },                   /* crosses 4 GiB */
};

typedef unsigned long long ull;

static int fail(struct im *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct im *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *im_msg(const struct im *m)
{
	return m->msg;
}

struct im *im_new(unsigned int cfg)
{
	struct im *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	cfg %= IM_NCONFIGS;
	m->first = configs[cfg].first;
	m->last = configs[cfg].last;
	m->t = vdpastate_iova_new(m->first, m->last);
	if (!m->t) {
		free(m);
		return NULL;
	}
	return m;
}

void im_free(struct im *m)
{
	if (!m)
		return;
	vdpastate_iova_free(m->t);
	free(m);
}

/* A value in [0, bound) (bound 0: any 64-bit value). */
static uint64_t draw(struct im_src *s, uint64_t bound)
{
	unsigned int nb = bound == 0 || bound > 0xffffffffu ? 8 :
			  bound > 0xffff ? 4 : bound > 0xff ? 2 : 1;
	uint64_t v = s->raw(s, nb);

	return bound ? v % bound : v;
}

static uint64_t rng_raw(struct im_src *s, unsigned int nbytes)
{
	struct im_rng *r = (struct im_rng *)s;

	/* xorshift64* */
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * 0x2545f4914f6cdd1dull;
}

void im_rng_init(struct im_rng *r, uint64_t seed)
{
	r->src.raw = rng_raw;
	r->src.exhausted = false;
	r->state = seed ? seed : 1;
}

/* ------------------------------------------------------------ the model */

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

static uint64_t ent_addr_last(const struct im_ent *e)
{
	return e->addr + (e->last - e->iova);
}

static const struct im_ent *model_find_iova(const struct im *m, uint64_t iova)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].iova <= iova && iova <= m->e[i].last)
			return &m->e[i];
	return NULL;
}

static bool model_iova_free(const struct im *m, uint64_t first, uint64_t last)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (overlaps(first, last, m->e[i].iova, m->e[i].last))
			return false;
	return true;
}

static bool model_alloc(const struct im *m, uint64_t size, uint64_t align,
			uint64_t *out)
{
	bool found = false;
	unsigned int i;

	for (i = 0; i <= m->n; i++) {
		uint64_t c, s;

		if (i == m->n)
			c = m->first;
		else if (m->e[i].last == UINT64_MAX)
			continue;
		else
			c = m->e[i].last + 1;
		/* Round up without a mask: a different way from the library. */
		if (c % align) {
			if (UINT64_MAX - c < align - c % align)
				continue;
			c += align - c % align;
		}
		s = c;
		if (size - 1 > UINT64_MAX - s || s + (size - 1) > m->last)
			continue;
		if (model_iova_free(m, s, s + (size - 1)) && (!found || s < *out)) {
			*out = s;
			found = true;
		}
	}
	return found;
}

static void model_add(struct im *m, uint32_t kind, uint64_t addr,
		      uint64_t iova, uint64_t size)
{
	m->e[m->n++] = (struct im_ent){ .iova = iova, .last = iova + (size - 1),
					.addr = addr, .kind = kind };
}

static size_t model_count(const struct im *m, uint32_t kind)
{
	size_t c = 0;
	unsigned int i;

	for (i = 0; i < m->n; i++)
		c += kind == 0 || m->e[i].kind == kind;
	return c;
}

/* --------------------------------------------------------- the arguments */

static uint64_t draw_size(struct im_src *s)
{
	uint64_t r = draw(s, 32);

	if (r == 0)
		return 0;
	if (r == 1)
		return UINT64_MAX - draw(s, 0x10000);
	if (r == 2)
		return 0x80000 + draw(s, 0x100000); /* about the space's size */
	if (r < 12)
		return 1 + draw(s, 0x3000);
	return (1 + draw(s, 8)) * 0x1000;
}

/* Guest and host keys come from one window, so they alias on purpose. */
static uint64_t draw_addr(struct im_src *s)
{
	uint64_t r = draw(s, 16);

	if (r == 0)
		return UINT64_MAX - draw(s, 0x4000);
	if (r == 1)
		return draw(s, 0);
	return draw(s, 256) * 0x1000 + (r == 2 ? draw(s, 0x1000) : 0);
}

/* An IOVA near or inside the space, sometimes outside it. */
static uint64_t draw_iova(const struct im *m, struct im_src *s)
{
	uint64_t span = m->last - m->first, r = draw(s, 16), off;

	if (r == 0)
		return draw(s, 0);
	if (r == 1 && m->first > 0)
		return m->first - 1 - draw(s, 0x1000 < m->first ? 0x1000 : m->first);
	if (r == 2 && m->n > 0)
		return m->e[draw(s, m->n)].last + 1;
	off = draw(s, span < 0x200000 ? span + 1 : 0x200000);
	if (r == 3)
		return m->last - off;
	return m->first + off;
}

/* ------------------------------------------------------------ the steps */

static int step_map(struct im *m, struct im_src *s, bool fixed)
{
	uint32_t kind = draw(s, 16) == 0 ? (uint32_t)draw(s, 8) : 1 + (uint32_t)draw(s, 2);
	uint64_t addr = draw_addr(s), size = draw_size(s);
	uint64_t r = draw(s, 16), align = r == 0 ? 0 : r == 1 ? 3 + draw(s, 1000) * 2 :
				   1ull << draw(s, 21);
	uint64_t eff = align ? align : 4096, want_iova = 0, got_iova = 0x5a5a;
	VDPASTATE_OPTS(vdpastate_iova_map_opts, o, .align = align);
	bool use_opts = fixed || draw(s, 8) != 0;
	unsigned int i;
	int want = 0, got;

	if (m->n == IM_CAP)
		return 0;
	if (fixed) {
		o.flags = VDPASTATE_IOVA_MAP_FIXED;
		o.iova = draw_iova(m, s);
		if (draw(s, 4) != 0 && !(eff & (eff - 1)))
			o.iova &= ~(eff - 1);
	}
	if (draw(s, 32) == 0)
		o.flags |= 1ull << (1 + draw(s, 63));
	if (!use_opts)
		eff = 4096;

	if (kind != VDPASTATE_IOVA_GPA && kind != VDPASTATE_IOVA_HVA)
		want = -EINVAL;
	else if (size == 0 || size - 1 > UINT64_MAX - addr)
		want = -EINVAL;
	else if (use_opts && ((eff & (eff - 1)) || (o.flags & ~1ull)))
		want = -EINVAL;
	else if (fixed && (o.iova % eff || size - 1 > UINT64_MAX - o.iova ||
			   o.iova < m->first || o.iova + (size - 1) > m->last))
		want = -EINVAL;
	if (want == 0)
		for (i = 0; i < m->n; i++)
			if (m->e[i].kind == kind &&
			    overlaps(addr, addr + (size - 1), m->e[i].addr,
				     ent_addr_last(&m->e[i])))
				want = -EEXIST;
	if (want == 0 && fixed) {
		if (model_iova_free(m, o.iova, o.iova + (size - 1)))
			want_iova = o.iova;
		else
			want = -EEXIST;
	} else if (want == 0 && !model_alloc(m, size, eff, &want_iova)) {
		want = -ENOSPC;
	}

	got = vdpastate_iova_map(m->t, kind, addr, size, use_opts ? &o : NULL,
				 &got_iova);
	if (got != want)
		return fail(m, "map kind %u addr 0x%llx size 0x%llx align 0x%llx flags 0x%llx iova 0x%llx: got %d, model %d (%s)",
			    kind, (ull)addr, (ull)size, (ull)align, (ull)o.flags,
			    (ull)o.iova, got, want, vdpastate_last_error());
	if (got == 0) {
		if (got_iova != want_iova)
			return fail(m, "map kind %u addr 0x%llx size 0x%llx align 0x%llx: IOVA 0x%llx, model 0x%llx",
				    kind, (ull)addr, (ull)size, (ull)eff,
				    (ull)got_iova, (ull)want_iova);
		model_add(m, kind, addr, want_iova, size);
	} else if (got_iova != 0x5a5a) {
		return fail(m, "map failed with %d but wrote *iova_out", got);
	}
	return 0;
}

static int step_reserve(struct im *m, struct im_src *s)
{
	uint64_t first = draw_iova(m, s), last = first + draw(s, 0x4000) - 0x100;
	int want = 0, got;

	if (m->n == IM_CAP)
		return 0;
	if (first > last || first < m->first || last > m->last)
		want = -EINVAL;
	else if (!model_iova_free(m, first, last))
		want = -EEXIST;
	got = vdpastate_iova_reserve(m->t, first, last);
	if (got != want)
		return fail(m, "reserve [0x%llx, 0x%llx]: got %d, model %d (%s)",
			    (ull)first, (ull)last, got, want,
			    vdpastate_last_error());
	if (got == 0)
		model_add(m, VDPASTATE_IOVA_RESERVED, 0, first, last - first + 1);
	return 0;
}

static int step_unmap(struct im *m, struct im_src *s)
{
	uint64_t iova = m->n && draw(s, 4) ? m->e[draw(s, m->n)].iova : draw_iova(m, s);
	unsigned int i;
	int want = -ENOENT, got;

	for (i = 0; i < m->n && want; i++)
		if (m->e[i].iova == iova)
			want = 0;
	got = vdpastate_iova_unmap(m->t, iova);
	if (got != want)
		return fail(m, "unmap 0x%llx: got %d, model %d", (ull)iova, got, want);
	if (got == 0)
		m->e[i - 1] = m->e[--m->n];
	return 0;
}

/* An address inside, just before or just after a random entry. */
static uint64_t near_entry(const struct im_ent *e, uint64_t first, uint64_t last,
			   struct im_src *s)
{
	uint64_t r = draw(s, 8);

	if (r == 0)
		return first - 1;
	if (r == 1)
		return last + 1;
	if (r == 2)
		return last;
	return first + draw(s, last - first == UINT64_MAX ? 0 : last - first + 1);
}

static int step_translate(struct im *m, struct im_src *s)
{
	uint32_t kind = draw(s, 16) == 0 ? (uint32_t)draw(s, 8) : 1 + (uint32_t)draw(s, 2);
	uint64_t addr, got_iova = 1, got_contig = 2, want_iova = 1, want_contig = 2;
	const struct im_ent *e = m->n ? &m->e[draw(s, m->n)] : NULL;
	unsigned int i;
	int want = -ENOENT, got;

	addr = e && draw(s, 4) ? near_entry(e, e->addr, ent_addr_last(e), s) : draw_addr(s);
	if (kind != VDPASTATE_IOVA_GPA && kind != VDPASTATE_IOVA_HVA)
		want = -EINVAL;
	for (i = 0; i < m->n && want == -ENOENT; i++) {
		e = &m->e[i];
		if (e->kind == kind && e->addr <= addr && addr <= ent_addr_last(e)) {
			want = 0;
			want_iova = e->iova + (addr - e->addr);
			want_contig = ent_addr_last(e) - addr + 1;
		}
	}
	got = vdpastate_iova_translate(m->t, kind, addr, &got_iova, &got_contig);
	if (got != want || got_iova != want_iova || got_contig != want_contig)
		return fail(m, "translate kind %u 0x%llx: got %d iova 0x%llx contig 0x%llx, model %d 0x%llx 0x%llx",
			    kind, (ull)addr, got, (ull)got_iova, (ull)got_contig,
			    want, (ull)want_iova, (ull)want_contig);
	return 0;
}

static int step_lookup(struct im *m, struct im_src *s)
{
	const struct im_ent *e = m->n ? &m->e[draw(s, m->n)] : NULL;
	uint64_t iova = e && draw(s, 4) ? near_entry(e, e->iova, e->last, s) : draw_iova(m, s);
	uint64_t got_addr = 1, got_contig = 2, want_addr = 1, want_contig = 2;
	enum vdpastate_iova_kind got_kind = 0, want_kind = 0;
	int want = -ENOENT, got;

	e = model_find_iova(m, iova);
	if (e) {
		want = 0;
		want_kind = e->kind;
		want_addr = e->kind == VDPASTATE_IOVA_RESERVED ? 0 : e->addr + (iova - e->iova);
		want_contig = e->last - iova == UINT64_MAX ? UINT64_MAX : e->last - iova + 1;
	}
	got = vdpastate_iova_lookup(m->t, iova, &got_kind, &got_addr, &got_contig);
	if (got != want || got_kind != want_kind || got_addr != want_addr ||
	    got_contig != want_contig)
		return fail(m, "lookup 0x%llx: got %d kind %d addr 0x%llx contig 0x%llx, model %d %d 0x%llx 0x%llx",
			    (ull)iova, got, got_kind, (ull)got_addr,
			    (ull)got_contig, want, want_kind, (ull)want_addr,
			    (ull)want_contig);
	return 0;
}

int im_step(struct im *m, struct im_src *s)
{
	unsigned int op = (unsigned int)draw(s, 16);
	int rc;

	switch (op) {
	case 0: case 1: case 2: case 3: rc = step_map(m, s, false); break;
	case 4: rc = step_map(m, s, true); break;
	case 5: rc = step_reserve(m, s); break;
	case 6: case 7: case 8: rc = step_unmap(m, s); break;
	case 9: case 10: case 11: rc = step_translate(m, s); break;
	case 12: case 13: case 14: rc = step_lookup(m, s); break;
	default: rc = im_verify(m); break;
	}
	if (rc == 0 && vdpastate_iova_count(m->t, 0) != m->n)
		rc = fail(m, "after op %u: count %zu, model %u", op,
			  vdpastate_iova_count(m->t, 0), m->n);
	return rc;
}

/* ------------------------------------------------------------ full check */

static int cmp_ent(const void *a, const void *b)
{
	const struct im_ent *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

struct walk_ctx {
	struct im_ent sorted[IM_CAP];
	unsigned int n, seen;
	int bad;
};

static int walk_fn(const struct vdpastate_iova_mapping *mp, void *arg)
{
	struct walk_ctx *w = arg;
	const struct im_ent *e = &w->sorted[w->seen];

	if (w->seen >= w->n || mp->iova != e->iova ||
	    mp->size != e->last - e->iova + 1 || mp->addr != e->addr ||
	    mp->kind != e->kind || mp->reserved != 0) {
		w->bad = 1;
		return 1;
	}
	w->seen++;
	return 0;
}

int im_verify(struct im *m)
{
	static struct walk_ctx w; /* large; tests run one model at a time */
	uint32_t k;

	if (vds_iova_check(m->t))
		return fail(m, "tree invariants broken");
	for (k = 0; k <= VDPASTATE_IOVA_RESERVED; k++)
		if (vdpastate_iova_count(m->t, k) != model_count(m, k))
			return fail(m, "count kind %u: %zu, model %zu", k,
				    vdpastate_iova_count(m->t, k), model_count(m, k));
	memcpy(w.sorted, m->e, m->n * sizeof(m->e[0]));
	qsort(w.sorted, m->n, sizeof(m->e[0]), cmp_ent);
	w.n = m->n;
	w.seen = 0;
	w.bad = 0;
	if (vdpastate_iova_foreach(m->t, walk_fn, &w) != w.bad || w.bad ||
	    w.seen != m->n)
		return fail(m, "foreach differs from the model at mapping %u of %u",
			    w.seen, m->n);
	return 0;
}
