/* SPDX-License-Identifier: MIT */
/*
 * tests/ringenv.c - guest + shadow virtqueue + device in one process, for
 * tests, fuzzers and the benchmark (see ringenv.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringenv.h"

#define PAGE 4096ULL
#define F(b) (1ULL << (b))
#define GPA_BASE 0x10000ULL

uint8_t *env_host(struct env *e, uint64_t gpa)
{
	return vdpastate_mem_lookup(e->mem, gpa, NULL);
}

/* Visit [gpa, gpa + len) of guest memory piece by piece. */
static void env_walk(struct env *e, uint64_t gpa, uint64_t len,
		     void (*fn)(uint8_t *p, uint64_t n, uint64_t off, void *a),
		     void *arg)
{
	uint64_t off = 0;

	while (len) {
		uint64_t contig, n;
		uint8_t *p = vdpastate_mem_lookup(e->mem, gpa, &contig);

		if (!p)
			abort(); /* the test placed a buffer outside memory */
		n = len < contig ? len : contig;
		fn(p, n, off, arg);
		gpa += n;
		len -= n;
		off += n;
	}
}

/* Bump allocator over guest memory; contiguous areas stay in one region. */
static uint64_t cursor_alloc(struct env *e, uint64_t *cur, uint64_t size,
			     uint64_t align, bool one_region)
{
	unsigned int i;

	for (i = 0; i < e->cfg.regions; i++) {
		struct env_region *r = &e->reg[i];
		uint64_t at = (*cur + align - 1) & ~(align - 1);

		if (at < r->gpa)
			at = r->gpa;
		if (at >= r->gpa + r->size)
			continue;
		if (one_region && at + size > r->gpa + r->size)
			continue;
		if (!one_region && e->cfg.gap == 0) {
			/* Adjacent regions: may cross, must end in memory. */
			struct env_region *l = &e->reg[e->cfg.regions - 1];

			if (at + size > l->gpa + l->size)
				return 0;
		} else if (at + size > r->gpa + r->size) {
			continue;
		}
		*cur = at + size;
		return at;
	}
	return 0;
}

struct env *env_new(const struct env_cfg *cfg)
{
	struct env *e = calloc(1, sizeof(*e));
	uint64_t cur, max_gpa, words, i;
	unsigned int num = cfg->num;
	bool gev = cfg->guest_features & F(VDPASTATE_F_EVENT_IDX);

	if (!e)
		return NULL;
	e->cfg = *cfg;
	if (e->cfg.regions == 0)
		e->cfg.regions = 1;
	e->mem = vdpastate_mem_new();
	e->iova = vdpastate_iova_new(0x1000, (1ULL << 48) - 1);
	e->chains = calloc(num, sizeof(*e->chains));
	e->slot_gpa = calloc(num, sizeof(*e->slot_gpa));
	e->dsegs_max = 4 * (num > cfg->shadow_num ? num : cfg->shadow_num);
	e->dsegs = calloc(e->dsegs_max, sizeof(*e->dsegs));
	if (!e->mem || !e->iova || !e->chains || !e->dsegs || !e->slot_gpa)
		goto fail;
	for (i = 0; i < e->cfg.regions; i++) {
		struct env_region *r = &e->reg[i];

		r->gpa = GPA_BASE + i * (cfg->region_size + cfg->gap);
		r->size = cfg->region_size;
		r->host = aligned_alloc(PAGE, r->size);
		if (!r->host)
			goto fail;
		memset(r->host, 0, r->size);
		if (vdpastate_mem_add(e->mem, r->gpa, r->size, r->host, 0))
			goto fail;
	}
	/* Map guest memory into the device's space, last region first, so
	 * neighbours in GPA are not neighbours in IOVA. */
	for (i = e->cfg.regions; i-- > 0;)
		if (vdpastate_iova_map(e->iova, VDPASTATE_IOVA_GPA, e->reg[i].gpa,
				       e->reg[i].size, NULL, NULL))
			goto fail;

	cur = GPA_BASE;
	e->desc_gpa = cursor_alloc(e, &cur, vdpastate_vring_desc_size(num), 16, true);
	e->avail_gpa = cursor_alloc(e, &cur, vdpastate_vring_avail_size(num, gev), 2, true);
	e->used_gpa = cursor_alloc(e, &cur, vdpastate_vring_used_size(num, gev), 4, true);
	e->ind_gpa = cursor_alloc(e, &cur, (uint64_t)num * ENV_MAX_ELEMS * 16, 16,
				  e->cfg.gap != 0);
	max_gpa = e->reg[e->cfg.regions - 1].gpa + cfg->region_size;
	{
		/* Data slots fill what is left; with holes, none crosses one. */
		uint64_t left = 0, start = cur;

		for (i = 0; i < e->cfg.regions; i++) {
			uint64_t end = e->reg[i].gpa + e->reg[i].size;
			uint64_t from = cur > e->reg[i].gpa ? cur : e->reg[i].gpa;

			left += end > from ? end - from : 0;
		}

		e->slot = left / num;
		if (e->slot > 16384)
			e->slot = 16384;
		e->slot &= ~15ULL;
		for (;;) {
			cur = start;
			for (i = 0; i < num && e->slot >= 64; i++) {
				e->slot_gpa[i] = cursor_alloc(e, &cur, e->slot, 16,
							      cfg->gap != 0);
				if (!e->slot_gpa[i])
					break;
			}
			if (i == num || e->slot < 64)
				break;
			e->slot = (e->slot * 3 / 4) & ~15ULL;
		}
	}
	if (!e->desc_gpa || !e->avail_gpa || !e->used_gpa || !e->ind_gpa ||
	    e->slot < 64) {
		fprintf(stderr, "ringenv: guest memory too small for ring %u\n", num);
		goto fail;
	}
	e->buf_gpa = e->slot_gpa[0];
	if (vds_vdrv_init(&e->guest, (uint16_t)num, cfg->guest_features,
			  env_host(e, e->desc_gpa), env_host(e, e->avail_gpa),
			  env_host(e, e->used_gpa)))
		goto fail;
	vds_vdrv_want_calls(&e->guest, true);

	words = (max_gpa / PAGE + 63) / 64;
	e->truth = calloc(words, 8);
	e->bitmap = calloc(words, 8);
	e->truth_words = words;
	if (!e->truth || !e->bitmap)
		goto fail;

	if (cfg->no_svq) {
		vds_as_mem_init(&e->gas, e->mem);
		if (vds_vdev_init(&e->dev, (uint16_t)num, cfg->guest_features,
				  &e->gas.as, env_host(e, e->desc_gpa),
				  env_host(e, e->avail_gpa), env_host(e, e->used_gpa)))
			goto fail;
		return e;
	} else {
		VDPASTATE_OPTS(vdpastate_svq_opts, o,
			       .guest_features = cfg->guest_features,
			       .device_features = cfg->device_features,
			       .shadow_num = cfg->shadow_num);
		struct vdpastate_svq_shadow sh = { .sz = sizeof(sh) };
		bool dev_ev = cfg->device_features & F(VDPASTATE_F_EVENT_IDX);

		e->svq = vdpastate_svq_new(num, e->mem, e->iova, &o);
		if (!e->svq ||
		    vdpastate_svq_set_guest_ring(e->svq, e->desc_gpa, e->avail_gpa,
						 e->used_gpa) ||
		    (!cfg->no_dirty_log &&
		     vdpastate_svq_set_dirty_log(e->svq, e->bitmap, words * 8, NULL,
						 NULL)) ||
		    vdpastate_svq_get_shadow(e->svq, &sh))
			goto fail;
		if (vds_as_iova_init(&e->das, e->iova, e->mem))
			goto fail;
		if (vds_vdev_init(&e->dev, (uint16_t)sh.num, cfg->device_features,
				  &e->das.as,
				  vds_as_contig(&e->das.as, sh.desc_iova,
						vdpastate_vring_desc_size(sh.num), false),
				  vds_as_contig(&e->das.as, sh.avail_iova,
						vdpastate_vring_avail_size(sh.num, dev_ev),
						false),
				  vds_as_contig(&e->das.as, sh.used_iova,
						vdpastate_vring_used_size(sh.num, dev_ev),
						true)))
			goto fail;
		if (!e->dev.desc || !e->dev.avail || !e->dev.used ||
		    vdpastate_svq_start(e->svq) < 0)
			goto fail;
	}
	return e;
fail:
	fprintf(stderr, "ringenv: setup failed: %s\n", vdpastate_last_error());
	env_free(e);
	return NULL;
}

void env_free(struct env *e)
{
	unsigned int i;

	if (!e)
		return;
	vdpastate_svq_free(e->svq);
	vds_vdev_fini(&e->dev);
	vds_as_iova_fini(&e->das);
	vds_vdrv_fini(&e->guest);
	vdpastate_iova_free(e->iova);
	vdpastate_mem_free(e->mem);
	for (i = 0; i < e->cfg.regions; i++)
		free(e->reg[i].host);
	free(e->chains);
	free(e->dsegs);
	free(e->slot_gpa);
	free(e->truth);
	free(e->bitmap);
	free(e);
}

struct fill_arg {
	uint64_t seq, base;
	int mode; /* 0 payload, 1 0xEE */
};

static void fill_fn(uint8_t *p, uint64_t n, uint64_t off, void *a)
{
	struct fill_arg *f = a;
	uint64_t i;

	for (i = 0; i < n; i++)
		p[i] = f->mode ? 0xEE : env_payload(f->seq, f->base + off + i);
}

bool env_guest_post_shape(struct env *e, const uint32_t *lens, unsigned int n,
			  unsigned int n_write, bool indirect)
{
	struct vds_seg b[ENV_MAX_ELEMS];
	uint16_t head = e->guest.free_head;
	struct env_chain *c = &e->chains[head];
	uint64_t gpa = e->slot_gpa[head], roff = 0;
	unsigned int i;
	int h;

	if (n == 0 || n > ENV_MAX_ELEMS || n_write > n ||
	    e->guest.num_free < (indirect ? 1 : n))
		return false;
	memset(c, 0, sizeof(*c));
	c->seq = e->next_seq;
	c->n = n;
	c->n_write = n_write;
	c->indirect = indirect;
	for (i = 0; i < n; i++) {
		struct fill_arg f = { c->seq, roff, i >= n - n_write };

		c->b[i].addr = c->b[i].xaddr = gpa;
		c->b[i].len = lens[i];
		c->b[i].flags = i >= n - n_write ? VDPASTATE_VRING_DESC_F_WRITE : 0;
		env_walk(e, gpa, lens[i], fill_fn, &f);
		if (i >= n - n_write)
			c->write_len += lens[i];
		else
			roff += lens[i];
		gpa += lens[i];
	}
	if (indirect) {
		uint64_t tgpa = e->ind_gpa + (uint64_t)head * ENV_MAX_ELEMS * 16;

		for (i = 0; i < n; i++) {
			struct vds_desc d = {
				.addr = c->b[i].addr,
				.len = c->b[i].len,
				.flags = (uint16_t)(c->b[i].flags |
						    (i + 1 < n ? VDPASTATE_VRING_DESC_F_NEXT : 0)),
				.next = (uint16_t)(i + 1),
			};
			uint64_t k;

			for (k = 0; k < sizeof(d); k++)
				*env_host(e, tgpa + i * 16 + k) = ((uint8_t *)&d)[k];
		}
		b[0].addr = b[0].xaddr = tgpa;
		b[0].len = n * 16;
		b[0].flags = VDPASTATE_VRING_DESC_F_INDIRECT;
		h = vds_vdrv_add(&e->guest, b, 1);
	} else {
		h = vds_vdrv_add(&e->guest, c->b, n);
	}
	if (h != head)
		abort();
	c->busy = true;
	e->next_seq++;
	return true;
}

bool env_guest_post(struct env *e, uint64_t *rng)
{
	uint32_t lens[ENV_MAX_ELEMS];
	unsigned int n, nw, i, maxn = ENV_MAX_ELEMS;
	bool ind = (e->cfg.guest_features & F(VDPASTATE_F_INDIRECT_DESC)) &&
		   (env_rand(rng) & 1);
	uint64_t budget = e->slot;

	if (!ind && maxn > e->guest.num_free)
		maxn = e->guest.num_free;
	if (maxn > e->cfg.num)
		maxn = e->cfg.num;
	if (maxn == 0 || e->guest.num_free == 0)
		return false;
	n = 1 + (unsigned int)(env_rand(rng) % maxn);
	nw = (unsigned int)(env_rand(rng) % (n + 1));
	for (i = 0; i < n; i++) {
		uint64_t share = budget / (n - i);

		lens[i] = (uint32_t)(env_rand(rng) % 8 == 0 ? 0 : env_rand(rng) % (share + 1));
		budget -= lens[i];
	}
	return env_guest_post_shape(e, lens, n, nw, ind);
}

void env_guest_kick(struct env *e)
{
	vds_vdrv_publish(&e->guest);
}

struct check_arg {
	struct env *e;
	uint64_t seq, used;
	uint64_t woff;
	bool bad;
};

static void check_fn(uint8_t *p, uint64_t n, uint64_t off, void *a)
{
	struct check_arg *c = a;
	uint64_t i;

	for (i = 0; i < n && !c->bad; i++) {
		uint64_t o = c->woff + off + i;
		uint8_t want = o < c->used ? env_pattern(c->seq, o) : 0xEE;

		if (p[i] != want) {
			c->bad = true;
			snprintf(c->e->last_mismatch, sizeof(c->e->last_mismatch),
				 "guest: chain seq %llu writable byte %llu is 0x%02x, "
				 "want 0x%02x (used len %llu)",
				 (unsigned long long)c->seq, (unsigned long long)o,
				 p[i], want, (unsigned long long)c->used);
		}
	}
}

int env_guest_reap(struct env *e)
{
	int total = 0;

	for (;;) {
		uint16_t id;
		uint32_t len;
		int r = vds_vdrv_get_used(&e->guest, &id, &len);
		struct env_chain *c;
		struct check_arg ca = { e, 0, 0, 0, false };
		unsigned int i;

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		c = &e->chains[id];
		if (!c->busy || len > c->write_len) {
			snprintf(e->last_mismatch, sizeof(e->last_mismatch),
				 "guest: used id %u busy %d len %u > %u", id, c->busy,
				 len, c->write_len);
			e->errors++;
			return -1;
		}
		ca.seq = c->seq;
		ca.used = len;
		for (i = c->n - c->n_write; i < c->n; i++) {
			env_walk(e, c->b[i].addr, c->b[i].len, check_fn, &ca);
			ca.woff += c->b[i].len;
		}
		if (ca.bad)
			e->errors++;
		c->busy = false;
		vds_vdrv_free(&e->guest, id);
		e->reaped++;
		total++;
	}
	vds_vdrv_want_calls(&e->guest, true);
	return total;
}

/* The GPA of a host address inside guest memory (the device sees IOVAs). */
static uint64_t env_gpa_of(struct env *e, const uint8_t *p)
{
	unsigned int i;

	for (i = 0; i < e->cfg.regions; i++)
		if (p >= e->reg[i].host && p < e->reg[i].host + e->reg[i].size)
			return e->reg[i].gpa + (uint64_t)(p - e->reg[i].host);
	abort();
}

/* Device: check readable bytes, write the pattern into writable ones. */
static void device_chain(struct env *e, const struct vds_seg *sg, unsigned int n,
			 uint32_t used)
{
	uint64_t roff = 0, woff = 0;
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint8_t *p = sg[k].hva;
		bool w = sg[k].flags & VDPASTATE_VRING_DESC_F_WRITE;
		uint64_t j, gpa = w && sg[k].len ? env_gpa_of(e, p) : 0;

		for (j = 0; j < sg[k].len; j++) {
			if (!w) {
				if (p[j] != env_payload(e->dev_seq, roff)) {
					e->errors++;
					snprintf(e->last_mismatch, sizeof(e->last_mismatch),
						 "device: chain %llu readable byte %llu is "
						 "0x%02x, want 0x%02x",
						 (unsigned long long)e->dev_seq,
						 (unsigned long long)roff, p[j],
						 env_payload(e->dev_seq, roff));
					return;
				}
				roff++;
			} else if (woff < used) {
				p[j] = env_pattern(e->dev_seq, woff);
				e->truth[((gpa + j) / PAGE) / 64] |=
					1ULL << (((gpa + j) / PAGE) % 64);
				woff++;
			}
		}
	}
}

int env_device_run(struct env *e, unsigned int max)
{
	unsigned int done = 0;
	int n;

	n = vds_vdev_avail(&e->dev);
	if (n < 0)
		return n;
	while (n > 0 && done < max) {
		uint16_t head;
		uint64_t wlen;
		uint32_t used;
		int c, r;

		if ((r = vds_vdev_peek_head(&e->dev, &head)) < 0)
			return r;
		c = vds_vdev_chain(&e->dev, head, e->dsegs, e->dsegs_max, &wlen);
		if (c < 0)
			return c;
		/* Use all writable space for most chains, part of it for some. */
		used = (uint32_t)wlen;
		if (e->dev_seq % 3 == 1)
			used /= 2;
		device_chain(e, e->dsegs, (unsigned int)c, used);
		vds_vdev_push_used(&e->dev, head, used);
		vds_vdev_pop(&e->dev);
		e->dev_seq++;
		done++;
		n--;
	}
	if (done)
		vds_vdev_publish_used(&e->dev);
	vds_vdev_enable_kicks(&e->dev);
	return (int)done;
}
