/* SPDX-License-Identifier: MIT */
/*
 * bench/switch.c - the cost of vdpastate_dev_switch() (data queues onto
 * shadow virtqueues and back) and of vdpastate_dev_restore() onto a fresh
 * device, with guest memory of 1, 64 and 1024 regions, on the simulated
 * device on a thread of its own.
 *
 * The handle sees the device through a counting transport: a custom ops
 * table, as a VMM supplies, that forwards every call to the sim's
 * transport and counts maps, unmaps, batches and all calls, so the
 * library is measured as it is.  The VMM's part (guest memory mapped at
 * IOVA = GPA, one mapping per region in one batch, the SVQs' shadow
 * rings) is done outside the measured calls.
 *
 * Baselines measured in the same run: each operation against the same
 * operation with 1 region, and each switch and restore against a
 * "replay" variant of it, where the transport puts every mapping back
 * after each reset, one unmap and one map per mapping without a batch:
 * what lib/transport_vdpa.c does on /dev/vhost-vdpa-N (replay_maps()),
 * and what a VMM has to do on a device that drops its mappings at reset.
 * VDS_BENCH_TURNS sets the turns.
 *
 * Fails on a wrong answer (a call failing, a state or a queue position
 * that is not the expected one, the library mapping guest memory, a map
 * count that grows with the regions), never on timing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "bench.h"

#define FB(b) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##b)
#define RB(b) (UINT64_C(1) << VDPASTATE_F_##b)

#define PAIRS 4
#define NQ (2 * PAIRS) /* data queues: rx0, tx0, rx1, tx1, ... */
#define QNUM 256
#define TXQ 1          /* tx0: the queue the guest sends on */
#define TX_CHAINS 5    /* frames sent before the first switch */
#define HDR 12         /* virtio_net_hdr with VERSION_1 */
#define FRAME 60

/* Guest memory: regions of 2 MiB (a huge page, a virtio-mem block), each
 * followed by a 2 MiB hole, from 1 GiB up.  Only region 0 is touched. */
#define REG (UINT64_C(2) << 20)
#define GPA_BASE (UINT64_C(1) << 30)
#define STRIDE (2 * REG)
static const unsigned int nregions[] = { 1, 64, 1024 };
#define NSIZES (sizeof(nregions) / sizeof(nregions[0]))
#define MAX_REGIONS 1024

/* The control ring: a read-only range and a writable one (lib/dev.c). */
#define CVQ_MAPS 2

#define TURNS 100
#define MAX_TURNS 400
#define BUDGET_S 40.0

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x56, 0x44, 0x01 };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

static void wrong(const char *what, unsigned int n, unsigned long long got,
		  unsigned long long want)
{
	fprintf(stderr, "bench: %u regions: %s: %llu, expected %llu\n", n, what,
		got, want);
	exit(1);
}

static uint64_t features(void)
{
	return RB(VERSION_1) | RB(ACCESS_PLATFORM) | FB(MAC) | FB(CTRL_VQ) |
	       FB(CTRL_RX) | FB(CTRL_VLAN) | FB(CTRL_MAC_ADDR) | FB(MQ);
}

/* ------------------------------------------------ the counting transport */

enum { C_MAP, C_UNMAP, C_BATCH, C_CALLS, C_GUEST, NC };

struct live_map {
	uint32_t asid, perm;
	uint64_t iova, size;
	void *hva;
};

/*
 * ctx of the counting ops: the sim's transport, the counters, and the
 * mappings alive (for the replay variant and to tell guest memory apart).
 */
struct ctr {
	struct vdpastate_transport *in;
	uint64_t c[NC];
	struct live_map *m;
	size_t n, cap;
	int open_batches;
	bool replay; /* put every mapping back after a reset */
};

static bool is_guest(uint32_t asid, uint64_t iova)
{
	return asid == 0 && iova >= GPA_BASE &&
	       iova < GPA_BASE + (uint64_t)MAX_REGIONS * STRIDE;
}

#define CX(p) struct ctr *x = (p); x->c[C_CALLS]++

static int k_id(void *p, uint32_t *id)
{
	CX(p);
	return vdpastate_transport_get_device_id(x->in, id);
}
static int k_dfeat(void *p, uint64_t *f)
{
	CX(p);
	return vdpastate_transport_get_device_features(x->in, f);
}
static int k_sfeat(void *p, uint64_t f)
{
	CX(p);
	return vdpastate_transport_set_driver_features(x->in, f);
}
static int k_gbf(void *p, uint64_t *f)
{
	CX(p);
	return vdpastate_transport_get_backend_features(x->in, f);
}
static int k_sbf(void *p, uint64_t f)
{
	CX(p);
	return vdpastate_transport_set_backend_features(x->in, f);
}
static int k_cfg(void *p, uint32_t off, void *buf, uint32_t len)
{
	CX(p);
	return vdpastate_transport_get_config(x->in, off, buf, len);
}
static int k_gst(void *p, uint8_t *s)
{
	CX(p);
	return vdpastate_transport_get_status(x->in, s);
}
static int k_nvq(void *p, uint32_t *n)
{
	CX(p);
	return vdpastate_transport_get_vq_count(x->in, n);
}
static int k_nmax(void *p, uint16_t *n)
{
	CX(p);
	return vdpastate_transport_get_vring_num_max(x->in, n);
}
static int k_num(void *p, uint32_t i, uint32_t n)
{
	CX(p);
	return vdpastate_transport_set_vring_num(x->in, i, n);
}
static int k_addr(void *p, uint32_t i, uint64_t d, uint64_t a, uint64_t u)
{
	CX(p);
	return vdpastate_transport_set_vring_addr(x->in, i, d, a, u);
}
static int k_sbase(void *p, uint32_t i, uint32_t b)
{
	CX(p);
	return vdpastate_transport_set_vring_base(x->in, i, b);
}
static int k_gbase(void *p, uint32_t i, uint32_t *b)
{
	CX(p);
	return vdpastate_transport_get_vring_base(x->in, i, b);
}
static int k_kick(void *p, uint32_t i, int fd)
{
	CX(p);
	return vdpastate_transport_set_vring_kick(x->in, i, fd);
}
static int k_call(void *p, uint32_t i, int fd)
{
	CX(p);
	return vdpastate_transport_set_vring_call(x->in, i, fd);
}
static int k_en(void *p, uint32_t i, bool e)
{
	CX(p);
	return vdpastate_transport_set_vring_enable(x->in, i, e);
}
static int k_ngrp(void *p, uint32_t *n)
{
	CX(p);
	return vdpastate_transport_get_group_num(x->in, n);
}
static int k_nas(void *p, uint32_t *n)
{
	CX(p);
	return vdpastate_transport_get_as_num(x->in, n);
}
static int k_grp(void *p, uint32_t i, uint32_t *g)
{
	CX(p);
	return vdpastate_transport_get_vring_group(x->in, i, g);
}
static int k_gasid(void *p, uint32_t g, uint32_t as)
{
	CX(p);
	return vdpastate_transport_set_group_asid(x->in, g, as);
}
static int k_range(void *p, uint64_t *f, uint64_t *l)
{
	CX(p);
	return vdpastate_transport_get_iova_range(x->in, f, l);
}
static int k_susp(void *p)
{
	CX(p);
	return vdpastate_transport_suspend(x->in);
}
static int k_res(void *p)
{
	CX(p);
	return vdpastate_transport_resume(x->in);
}

static int k_map(void *p, uint32_t as, uint64_t iova, uint64_t size, void *hva,
		 uint32_t perm)
{
	int r;

	CX(p);
	x->c[C_MAP]++;
	if (is_guest(as, iova))
		x->c[C_GUEST]++;
	r = vdpastate_transport_dma_map(x->in, as, iova, size, hva, perm);
	if (r)
		return r;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct live_map *m = realloc(x->m, cap * sizeof(*m));

		if (!m)
			return -ENOMEM; /* the bench stops on it */
		x->m = m;
		x->cap = cap;
	}
	x->m[x->n++] = (struct live_map){ as, perm, iova, size, hva };
	return 0;
}

static int k_unmap(void *p, uint32_t as, uint64_t iova, uint64_t size)
{
	size_t i;
	int r;

	CX(p);
	x->c[C_UNMAP]++;
	if (is_guest(as, iova))
		x->c[C_GUEST]++;
	r = vdpastate_transport_dma_unmap(x->in, as, iova, size);
	if (r)
		return r;
	/* From the end: the library's own mappings are the latest. */
	for (i = x->n; i-- > 0;)
		if (x->m[i].asid == as && x->m[i].iova == iova) {
			x->m[i] = x->m[--x->n];
			break;
		}
	return 0;
}

static int k_bbegin(void *p, uint32_t as)
{
	int r;

	CX(p);
	x->c[C_BATCH]++;
	r = vdpastate_transport_dma_batch_begin(x->in, as);
	x->open_batches += !r;
	return r;
}

static int k_bend(void *p, uint32_t as)
{
	int r;

	CX(p);
	r = vdpastate_transport_dma_batch_end(x->in, as);
	x->open_batches -= !r;
	return r;
}

/*
 * Reset.  In replay mode, afterwards every mapping is invalidated and
 * added again, one call each, in no batch: what the vhost-vdpa transport
 * does after every reset (lib/transport_vdpa.c, replay_maps()).
 */
static int k_sst(void *p, uint8_t s)
{
	size_t i;
	int r;

	CX(p);
	r = vdpastate_transport_set_status(x->in, s);
	if (r || s || !x->replay)
		return r;
	for (i = 0; i < x->n; i++) {
		const struct live_map *m = &x->m[i];

		x->c[C_CALLS] += 2;
		x->c[C_MAP]++;
		x->c[C_UNMAP]++;
		if ((r = vdpastate_transport_dma_unmap(x->in, m->asid, m->iova,
						       m->size)) ||
		    (r = vdpastate_transport_dma_map(x->in, m->asid, m->iova,
						     m->size, m->hva, m->perm)))
			return r;
	}
	return 0;
}

static const struct vdpastate_transport_ops counting_ops = {
	.get_device_id = k_id, .get_device_features = k_dfeat,
	.set_driver_features = k_sfeat, .get_backend_features = k_gbf,
	.set_backend_features = k_sbf, .get_config = k_cfg,
	.get_status = k_gst, .set_status = k_sst, .get_vq_count = k_nvq,
	.get_vring_num_max = k_nmax, .set_vring_num = k_num,
	.set_vring_addr = k_addr, .set_vring_base = k_sbase,
	.get_vring_base = k_gbase, .set_vring_kick = k_kick,
	.set_vring_call = k_call, .set_vring_enable = k_en,
	.get_group_num = k_ngrp, .get_as_num = k_nas,
	.get_vring_group = k_grp, .set_group_asid = k_gasid,
	.dma_map = k_map, .dma_unmap = k_unmap, .dma_batch_begin = k_bbegin,
	.dma_batch_end = k_bend, .get_iova_range = k_range,
	.suspend = k_susp, .resume = k_res,
};


/* ------------------------------------------------------- guest and device */

/* Guest RAM of n regions: reserved, only region 0 (the rings) touched. */
static uint8_t *ram_new(unsigned int n)
{
	void *p = mmap(NULL, (size_t)n * REG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		perror("bench: mmap of guest memory");
		exit(1);
	}
	return p;
}

/* Queue i's rings in region 0: descriptors, avail, used, a page each. */
static uint64_t ring_gpa(unsigned int i, unsigned int part)
{
	return GPA_BASE + ((uint64_t)i * 4 + part) * 4096;
}

static void *hva_of(uint8_t *ram, uint64_t gpa)
{
	return ram + (gpa - GPA_BASE); /* region 0 only */
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) {
		perror("bench: eventfd");
		exit(1);
	}
	return fd;
}

/*
 * A device on its own thread behind the counting transport, guest
 * memory mapped at IOVA = GPA (one mapping per region, one batch: the
 * VMM's part, returned in *t and the counters), a handle with the data
 * queues set (fds -1 for a destination, whose queues get no kicks).
 */
struct side {
	struct vdpastate_transport *sim_t, *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	struct ctr ctr;
};

static void side_open(struct side *s, uint8_t *ram, unsigned int nreg,
		      const int *kick, const int *call, double *t)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .device_features = features(),
		       .max_queue_pairs = PAIRS, .max_ring_size = QNUM,
		       .flags = VDPASTATE_SIM_F_THREAD);
	unsigned int i;
	double t0;

	memset(s, 0, sizeof(*s));
	memcpy(so.mac, MAC, 6);
	s->sim_t = vdpastate_sim_new(&so);
	if (!s->sim_t || !(s->sim = vdpastate_sim_from_transport(s->sim_t)))
		bench_die("sim_new");
	s->ctr.in = s->sim_t;
	s->t = vdpastate_transport_new(&counting_ops, sizeof(counting_ops),
				       &s->ctr);
	if (!s->t)
		bench_die("transport_new");
	t0 = bench_now();
	if (vdpastate_transport_dma_batch_begin(s->t, 0))
		bench_die("dma_batch_begin");
	for (i = 0; i < nreg; i++)
		if (vdpastate_transport_dma_map(s->t, 0, GPA_BASE + i * STRIDE,
						REG, ram + (size_t)i * REG,
						VDPASTATE_DMA_READ |
							VDPASTATE_DMA_WRITE))
			bench_die("dma_map of guest memory");
	if (vdpastate_transport_dma_batch_end(s->t, 0))
		bench_die("dma_batch_end");
	*t = bench_now() - t0;
	s->dev = vdpastate_dev_open(s->t, NULL);
	if (!s->dev)
		bench_die("dev_open");
	for (i = 0; i < NQ; i++) {
		VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = QNUM,
			       .desc = ring_gpa(i, 0), .avail = ring_gpa(i, 1),
			       .used = ring_gpa(i, 2),
			       .kick_fd = kick ? kick[i] : -1,
			       .call_fd = call ? call[i] : -1);

		if (vdpastate_dev_set_vring(s->dev, i, &vr))
			bench_die("dev_set_vring");
	}
}

static void side_close(struct side *s)
{
	vdpastate_dev_free(s->dev);
	vdpastate_transport_free(s->t);
	vdpastate_transport_free(s->sim_t);
	free(s->ctr.m);
}

static void send(struct vdpastate_dev *dev, struct vdpastate_cvq_cmd *c)
{
	if (!c || vdpastate_dev_send(dev, c))
		bench_die("dev_send");
	vdpastate_cvq_cmd_free(c);
}

static void put16(uint8_t *ram, uint64_t gpa, uint16_t v)
{
	memcpy(hva_of(ram, gpa), &v, 2); /* little-endian host, as the sim */
}

/* The guest sends TX_CHAINS frames on tx0 (no receive buffers: the
 * device drops them) and waits until the device used them all. */
static void guest_send(uint8_t *ram, int kick)
{
	uint64_t buf = ring_gpa(NQ, 0), one = 1;
	uint8_t *f = hva_of(ram, buf);
	uint16_t *avail_idx = hva_of(ram, ring_gpa(TXQ, 1) + 2);
	uint16_t *used_idx = hva_of(ram, ring_gpa(TXQ, 2) + 2);
	uint32_t len = HDR + FRAME;
	unsigned int i;
	double t0;

	memset(f, 0, HDR + FRAME);
	memcpy(f + HDR, MAC, 6);
	memcpy(f + HDR + 6, MAC2, 6);
	f[HDR + 12] = 0x08;
	for (i = 0; i < TX_CHAINS; i++) {
		uint64_t d = ring_gpa(TXQ, 0) + i * 16;

		memcpy(hva_of(ram, d), &buf, 8);
		memcpy(hva_of(ram, d + 8), &len, 4);
		put16(ram, d + 12, 0);
		put16(ram, d + 14, 0);
		put16(ram, ring_gpa(TXQ, 1) + 4 + 2 * i, (uint16_t)i);
	}
	__atomic_store_n(avail_idx, (uint16_t)TX_CHAINS, __ATOMIC_RELEASE);
	if (write(kick, &one, sizeof(one)) != sizeof(one)) {
		perror("bench: kick");
		exit(1);
	}
	for (t0 = bench_now(); __atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != TX_CHAINS;
	     usleep(100))
		if (bench_now() - t0 > 5.0) {
			fprintf(stderr, "bench: the device did not use the "
				"guest's %d frames\n", TX_CHAINS);
			exit(1);
		}
}

/*
 * The device's state must be want, and with bases every data queue at
 * its position on the guest's rings: tx0 after the frames, the others 0.
 */
static void check_device(struct side *s, const struct vdpastate_netstate *want,
			 bool bases, unsigned int nreg, const char *after)
{
	struct vdpastate_netstate *got = vdpastate_sim_netstate(s->sim);
	unsigned int i;

	if (!got || !want || !vdpastate_netstate_equal(got, want)) {
		fprintf(stderr, "bench: %u regions: after %s the device's state "
			"is not the expected one\n", nreg, after);
		exit(1);
	}
	vdpastate_netstate_free(got);
	for (i = 0; bases && i < NQ; i++) {
		uint32_t base;

		if (vdpastate_transport_get_vring_base(s->sim_t, i, &base))
			bench_die("get_vring_base");
		if (base != (i == TXQ ? TX_CHAINS : 0))
			wrong(after, nreg, base, i == TXQ ? TX_CHAINS : 0);
	}
}

/* ------------------------------------------------------------ the runs */

enum {
	SW_ON, SW_OFF, RESTORE, SW_ON_REPLAY, SW_OFF_REPLAY, RESTORE_REPLAY,
	VMM_MAP, NOPS
};
static const char *const op_name[NOPS] = {
	"switch on",	      "switch off",	    "restore",
	"switch on, replay", "switch off, replay", "restore, replay",
	"VMM maps memory"
};

static bool is_replay(int op)
{
	return op == SW_ON_REPLAY || op == SW_OFF_REPLAY || op == RESTORE_REPLAY;
}

struct result {
	double ms[MAX_TURNS];
	uint64_t c[NC];
	bool seen;
};
static struct result res[NSIZES][NOPS];

static void record(struct result *r, unsigned int turn, double t,
		   const uint64_t *c0, const struct ctr *x, unsigned int nreg,
		   int op)
{
	uint64_t c[NC];
	unsigned int k;

	if (x->open_batches) {
		fprintf(stderr, "bench: %u regions: %s left a DMA batch open\n",
			nreg, op_name[op]);
		exit(1);
	}
	for (k = 0; k < NC; k++)
		c[k] = x->c[k] - (c0 ? c0[k] : 0);
	/* Every turn of an operation makes the same calls. */
	if (r->seen && memcmp(c, r->c, sizeof(c))) {
		fprintf(stderr, "bench: %u regions: %s: the transport calls "
			"differ between turns\n", nreg, op_name[op]);
		exit(1);
	}
	memcpy(r->c, c, sizeof(c));
	r->seen = true;
	r->ms[turn] = t * 1e3;
}

/* A source: its guest RAM, device and handle, SVQs over every data
 * queue (shadow rings mapped), started with a state, frames sent, and
 * the blob saved from it. */
struct source {
	unsigned int nreg;
	uint8_t *ram;
	struct side s;
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	struct vdpastate_svq *svq[NQ];
	int kick[NQ], call[NQ], dkick[NQ], dcall[NQ];
	struct vdpastate_blob *blob;
};

static void source_open(struct source *src, unsigned int nreg)
{
	VDPASTATE_OPTS(vdpastate_iova_map_opts, mo,
		       .flags = VDPASTATE_IOVA_MAP_FIXED);
	VDPASTATE_OPTS(vdpastate_svq_opts, so, .guest_features = features(),
		       .device_features = features());
	unsigned int i;
	double t;
	uint16_t v;

	src->nreg = nreg;
	src->ram = ram_new(nreg);
	for (i = 0; i < NQ; i++) {
		src->kick[i] = efd();
		src->call[i] = efd();
		src->dkick[i] = efd();
		src->dcall[i] = efd();
	}
	side_open(&src->s, src->ram, nreg, src->kick, src->call, &t);
	src->mem = vdpastate_mem_new();
	src->iova = vdpastate_iova_new(0x1000, (UINT64_C(1) << 48) - 1);
	if (!src->mem || !src->iova)
		bench_die("mem_new/iova_new");
	for (i = 0; i < nreg; i++) {
		uint64_t gpa = GPA_BASE + i * STRIDE;

		mo.iova = gpa;
		if (vdpastate_mem_add(src->mem, gpa, REG,
				      src->ram + (size_t)i * REG, 0) ||
		    vdpastate_iova_map(src->iova, VDPASTATE_IOVA_GPA, gpa, REG,
				       &mo, NULL))
			bench_die("mem_add/iova_map");
	}
	for (i = 0; i < NQ; i++) {
		src->svq[i] = vdpastate_svq_new(QNUM, src->mem, src->iova, &so);
		if (!src->svq[i] ||
		    vdpastate_svq_set_guest_ring(src->svq[i], ring_gpa(i, 0),
						 ring_gpa(i, 1), ring_gpa(i, 2)) ||
		    vdpastate_svq_set_fds(src->svq[i], src->kick[i],
					  src->call[i], src->dkick[i],
					  src->dcall[i]) ||
		    vdpastate_transport_map_svq(src->s.t, 0, src->svq[i]))
			bench_die("svq setup");
	}
	if (vdpastate_dev_start(src->s.dev, features()))
		bench_die("dev_start");
	send(src->s.dev, vdpastate_cvq_cmd_mq_vq_pairs_set(PAIRS));
	send(src->s.dev, vdpastate_cvq_cmd_mac_addr_set(MAC2));
	send(src->s.dev, vdpastate_cvq_cmd_rx_promisc(true));
	for (v = 1; v <= 16; v++)
		send(src->s.dev, vdpastate_cvq_cmd_vlan_add(v));
	guest_send(src->ram, src->kick[TXQ]);
	check_device(&src->s, vdpastate_dev_netstate(src->s.dev), true, nreg,
		     "start");
	/* Saved once; the switches that follow resume the device. */
	if (!(src->blob = vdpastate_blob_new()) ||
	    vdpastate_dev_save(src->s.dev, src->blob))
		bench_die("dev_save");
}

static void source_close(struct source *src)
{
	unsigned int i;

	side_close(&src->s); /* the device first: it may read the rings */
	for (i = 0; i < NQ; i++) {
		vdpastate_svq_free(src->svq[i]);
		close(src->kick[i]);
		close(src->call[i]);
		close(src->dkick[i]);
		close(src->dcall[i]);
	}
	vdpastate_blob_free(src->blob);
	vdpastate_iova_free(src->iova);
	vdpastate_mem_free(src->mem);
	munmap(src->ram, (size_t)src->nreg * REG);
}

/* One measured switch: every data queue onto its SVQ (on) or back. */
static void do_switch(struct source *src, size_t si, bool on, bool replay,
		      unsigned int turn)
{
	int op = on ? (replay ? SW_ON_REPLAY : SW_ON)
		    : (replay ? SW_OFF_REPLAY : SW_OFF);
	uint64_t c0[NC];
	unsigned int i;
	double t0, t;

	for (i = 0; i < NQ; i++)
		if (vdpastate_dev_set_svq(src->s.dev, i, on ? src->svq[i] : NULL,
					  on ? src->dkick[i] : -1,
					  on ? src->dcall[i] : -1))
			bench_die("dev_set_svq");
	src->s.ctr.replay = replay;
	memcpy(c0, src->s.ctr.c, sizeof(c0));
	t0 = bench_now();
	if (vdpastate_dev_switch(src->s.dev))
		bench_die(op_name[op]);
	t = bench_now() - t0;
	src->s.ctr.replay = false;
	record(&res[si][op], turn, t, c0, &src->s.ctr, src->nreg, op);
	check_device(&src->s, vdpastate_dev_netstate(src->s.dev), !on,
		     src->nreg, op_name[op]);
	/* On: the device on the empty shadow rings at base 0, each SVQ
	 * continuing its guest ring where the device stood. */
	for (i = 0; on && i < NQ; i++) {
		uint16_t la, ui, want = i == TXQ ? TX_CHAINS : 0;
		uint32_t base;

		if (vdpastate_svq_get_state(src->svq[i], &la, &ui) ||
		    vdpastate_transport_get_vring_base(src->s.sim_t, i, &base))
			bench_die("svq_get_state/get_vring_base");
		if (la != want || ui != want)
			wrong("an SVQ's guest position after switch on",
			      src->nreg, la, want);
		if (base)
			wrong("a shadow ring's base after switch on", src->nreg,
			      base, 0);
	}
}

/* One measured restore of the source's blob onto a fresh device. */
static void do_restore(struct source *src, size_t si, bool replay,
		       unsigned int turn)
{
	int op = replay ? RESTORE_REPLAY : RESTORE;
	struct side d;
	uint64_t c0[NC];
	double t0, t;

	side_open(&d, src->ram, src->nreg, NULL, NULL, &t);
	if (!replay)
		record(&res[si][VMM_MAP], turn, t, NULL, &d.ctr, src->nreg,
		       VMM_MAP);
	d.ctr.replay = replay;
	memcpy(c0, d.ctr.c, sizeof(c0));
	t0 = bench_now();
	if (vdpastate_dev_restore(d.dev, src->blob))
		bench_die(op_name[op]);
	t = bench_now() - t0;
	record(&res[si][op], turn, t, c0, &d.ctr, src->nreg, op);
	check_device(&d, vdpastate_blob_netstate(src->blob), true, src->nreg,
		     "restore");
	side_close(&d);
}

/*
 * What the design says.  The library maps only its control ring (two
 * ranges), again at every reset, never guest memory: a switch unmaps and
 * maps the ring, a restore onto a fresh device maps it.  The replay
 * variant adds one unmap and one map for every mapping alive at the
 * reset: the regions, two per shadow ring, the control ring (on a
 * fresh device: the regions).  The VMM maps each region once, in one
 * batch.
 */
static void check_counts(size_t si)
{
	unsigned int n = nregions[si];
	uint64_t alive = n + 2 * NQ + CVQ_MAPS;
	int op;

	for (op = 0; op < NOPS; op++) {
		const uint64_t *c = res[si][op].c;
		uint64_t maps = CVQ_MAPS, unmaps = CVQ_MAPS, batches = 0;

		if (op == RESTORE || op == RESTORE_REPLAY)
			unmaps = 0;
		if (op == RESTORE_REPLAY) {
			maps += n;
			unmaps += n;
		} else if (is_replay(op)) {
			maps += alive;
			unmaps += alive;
		}
		if (op == VMM_MAP) {
			maps = n;
			unmaps = 0;
			batches = 1;
		}
		if (c[C_MAP] != maps)
			wrong(op_name[op], n, c[C_MAP], maps);
		if (c[C_UNMAP] != unmaps)
			wrong(op_name[op], n, c[C_UNMAP], unmaps);
		if (op == VMM_MAP && c[C_BATCH] != batches)
			wrong("VMM batches", n, c[C_BATCH], batches);
		if (op != VMM_MAP && !is_replay(op) && c[C_GUEST])
			wrong("library calls on guest memory", n, c[C_GUEST], 0);
		/* Apart from the replay, nothing grows with the regions. */
		if (op != VMM_MAP && !is_replay(op) &&
		    c[C_CALLS] != res[0][op].c[C_CALLS])
			wrong("transport calls against 1 region", n, c[C_CALLS],
			      res[0][op].c[C_CALLS]);
	}
}

int main(void)
{
	static struct source src[NSIZES];
	double best[NSIZES][NOPS], med[NSIZES][NOPS], start;
	unsigned int n = bench_turns(TURNS, MAX_TURNS), turn, k;
	size_t si;
	int op;

	for (si = 0; si < NSIZES; si++)
		source_open(&src[si], nregions[si]);
	/*
	 * Turns alternate the sizes and the variants, in reverse order
	 * every other turn, so that a drifting host spreads over all.
	 */
	start = bench_now();
	for (turn = 0; turn < n; turn++) {
		for (k = 0; k < NSIZES; k++) {
			bool rev = turn % 2;

			si = rev ? NSIZES - 1 - k : k;
			do_switch(&src[si], si, true, rev, turn);
			do_switch(&src[si], si, false, rev, turn);
			do_switch(&src[si], si, true, !rev, turn);
			do_switch(&src[si], si, false, !rev, turn);
			do_restore(&src[si], si, rev, turn);
			do_restore(&src[si], si, !rev, turn);
		}
		if (turn >= 2 && bench_now() - start > BUDGET_S)
			n = turn + 1;
	}
	for (si = 0; si < NSIZES; si++)
		check_counts(si);

	printf("%7s %-19s %6s %6s %7s %6s %9s %9s %9s\n", "regions", "operation",
	       "maps", "unmaps", "batches", "calls", "best ms", "median ms",
	       "x1 region");
	for (si = 0; si < NSIZES; si++)
		for (op = 0; op < NOPS; op++) {
			struct result *r = &res[si][op];

			bench_best_median(r->ms, n, &best[si][op], &med[si][op]);
			printf("%7u %-19s %6llu %6llu %7llu %6llu %9.3f %9.3f %8.2fx\n",
			       nregions[si], op_name[op],
			       (unsigned long long)r->c[C_MAP],
			       (unsigned long long)r->c[C_UNMAP],
			       (unsigned long long)r->c[C_BATCH],
			       (unsigned long long)r->c[C_CALLS], best[si][op],
			       med[si][op], best[si][op] / best[0][op]);
		}
	printf("bench: sim on its own thread, %d queue pairs, regions of %llu "
	       "KiB at IOVA = GPA; best and median of %u alternating turns; "
	       "calls: transport calls per operation (maps, unmaps and batch "
	       "begins among them)\n", PAIRS,
	       (unsigned long long)(REG >> 10), n);
	/* Linear: the same cost per added region at 64 and at 1024. */
	for (op = 0; op < NOPS; op++)
		printf("bench: %-19s us per added region: %+.3f up to 64, "
		       "%+.3f up to 1024\n", op_name[op],
		       (best[1][op] - best[0][op]) * 1e3 / (nregions[1] - 1),
		       (best[NSIZES - 1][op] - best[0][op]) * 1e3 /
			       (nregions[NSIZES - 1] - 1));
	for (si = 0; si < NSIZES; si++)
		for (op = SW_ON; op <= RESTORE; op++)
			printf("bench: %4u regions: %-10s replay / library = "
			       "%.2fx (medians %.2fx), transport calls %llu / "
			       "%llu\n", nregions[si], op_name[op],
			       best[si][op + SW_ON_REPLAY] / best[si][op],
			       med[si][op + SW_ON_REPLAY] / med[si][op],
			       (unsigned long long)res[si][op + SW_ON_REPLAY].c[C_CALLS],
			       (unsigned long long)res[si][op].c[C_CALLS]);

	for (si = 0; si < NSIZES; si++)
		source_close(&src[si]);
	return 0;
}
