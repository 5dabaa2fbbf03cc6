/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_datapath.c - VM case 3: the SVQ datapath against the
 * kernel's vdpa_sim_net through vhost-vdpa.  A guest driver (the
 * library's own driver half) posts frames on its TX ring and buffers on
 * its RX ring in "guest memory"; two shadow virtqueues relay them to the
 * device, which reads and writes only through its IOTLB (guest memory
 * and the shadow rings are DMA-mapped); vdpa_sim_net loops every frame
 * addressed to its MAC back into RX.  Every frame must come back once,
 * in order, byte-exact, and the ring indexes must wrap (more than 65,536
 * frames through rings of 64).
 *
 * Usage: vm_datapath [DEVICE_NAME [FRAMES]]   (vdpa0, 70000)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvdpastate/cvq.h>
#include <libvdpastate/libvdpastate.h>

#include "ring.h"
#include "vmtest.h"

#define RING 64u
#define PAGE 4096ull
#define GPA 0x100000ull
#define MEM_SIZE (512 * 1024ull)
#define BUF 2048u
#define HDR 12u /* virtio_net_hdr_v1 */
#define F(b) ((uint64_t)1 << (b))
#define GUEST_F F(VDPASTATE_F_VERSION_1)
#define DEVICE_F                                                         \
	(F(VDPASTATE_F_VERSION_1) | F(VDPASTATE_F_ACCESS_PLATFORM) |     \
	 F(VDPASTATE_NET_F_MAC))
#define RXQ 0u
#define TXQ 1u

struct q {
	struct vds_vdrv drv;     /* the guest's driver half */
	uint64_t ring_gpa;       /* desc, avail at +0x800, used at +0x1000 */
	uint64_t buf_gpa;        /* RING buffers of BUF bytes, by head */
	struct vdpastate_svq *svq;
	int kick, call;          /* eventfds between the SVQ and the device */
};

struct dp {
	uint8_t *mem_host;
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	uint64_t mem_iova;
	struct vdpastate_transport *t;
	struct q q[2];
	uint8_t mac[6];
	char why[1024];
};

static uint8_t *host(struct dp *d, uint64_t gpa)
{
	return d->mem_host + (gpa - GPA);
}

/* Frame seq: header, Ethernet to the device's MAC, seq, a pattern. */
static uint32_t frame(const struct dp *d, uint64_t seq, uint8_t *p)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	uint32_t len = HDR + 14 + 8 + (uint32_t)((seq * 7) % 200), i;

	memset(p, 0, HDR);
	memcpy(p + HDR, d->mac, 6);
	memcpy(p + HDR + 6, src, 6);
	p[HDR + 12] = 0x88; /* local experimental ethertype */
	p[HDR + 13] = 0xb5;
	memcpy(p + HDR + 14, &seq, 8);
	for (i = HDR + 22; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 17);
	return len;
}

#define TRY(d, call)                                                      \
	do {                                                              \
		int r_ = (call);                                          \
		if (r_ < 0) {                                             \
			snprintf((d)->why, sizeof((d)->why), "%s: %d (%s)", \
				 #call, r_, vdpastate_last_error());      \
			return -1;                                        \
		}                                                         \
	} while (0)

static int q_setup(struct dp *d, unsigned int idx)
{
	VDPASTATE_OPTS(vdpastate_svq_opts, so, .guest_features = GUEST_F,
		       .device_features = DEVICE_F, .shadow_num = RING);
	VDPASTATE_OPTS(vdpastate_svq_shadow, sh);
	struct q *q = &d->q[idx];
	uint8_t *r;

	q->ring_gpa = GPA + idx * 0x2000;
	q->buf_gpa = GPA + 0x10000 + idx * RING * BUF;
	r = host(d, q->ring_gpa);
	TRY(d, vds_vdrv_init(&q->drv, RING, GUEST_F, r, r + 0x800, r + 0x1000));
	q->svq = vdpastate_svq_new(RING, d->mem, d->iova, &so);
	if (!q->svq) {
		snprintf(d->why, sizeof(d->why), "svq_new: %s",
			 vdpastate_last_error());
		return -1;
	}
	TRY(d, vdpastate_svq_set_guest_ring(q->svq, q->ring_gpa,
					    q->ring_gpa + 0x800,
					    q->ring_gpa + 0x1000));
	q->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick < 0 || q->call < 0) {
		snprintf(d->why, sizeof(d->why), "eventfd: %s", strerror(errno));
		return -1;
	}
	TRY(d, vdpastate_svq_set_fds(q->svq, -1, -1, q->kick, q->call));
	TRY(d, vdpastate_svq_get_shadow(q->svq, &sh));
	TRY(d, vdpastate_transport_map_svq(d->t, 0, q->svq));
	TRY(d, vdpastate_transport_set_vring_num(d->t, idx, (uint32_t)sh.num));
	TRY(d, vdpastate_transport_set_vring_addr(d->t, idx, sh.desc_iova,
						  sh.avail_iova, sh.used_iova));
	TRY(d, vdpastate_transport_set_vring_base(d->t, idx, 0));
	TRY(d, vdpastate_transport_set_vring_kick(d->t, idx, q->kick));
	TRY(d, vdpastate_transport_set_vring_call(d->t, idx, q->call));
	TRY(d, vdpastate_transport_set_vring_enable(d->t, idx, true));
	return 0;
}

static int setup(struct dp *d, const char *path)
{
	uint64_t first = 0, last = 0;
	const uint8_t st = VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER;
	unsigned int i;

	d->mem_host = aligned_alloc(PAGE, MEM_SIZE);
	d->mem = vdpastate_mem_new();
	d->t = vdpastate_transport_open_vhost_vdpa(path, NULL);
	if (!d->mem_host || !d->mem || !d->t) {
		snprintf(d->why, sizeof(d->why), "setup: %s",
			 d->t ? "out of memory" : vdpastate_last_error());
		return -1;
	}
	memset(d->mem_host, 0, MEM_SIZE);
	TRY(d, vdpastate_transport_get_config(d->t, 0, d->mac, 6));
	TRY(d, vdpastate_transport_reset(d->t));
	TRY(d, vdpastate_transport_set_status(d->t, VDPASTATE_STATUS_ACKNOWLEDGE));
	TRY(d, vdpastate_transport_set_status(d->t, st));
	TRY(d, vdpastate_transport_set_driver_features(d->t, DEVICE_F));
	TRY(d, vdpastate_transport_set_status(d->t,
					      st | VDPASTATE_STATUS_FEATURES_OK));
	TRY(d, vdpastate_transport_get_iova_range(d->t, &first, &last));
	d->iova = vdpastate_iova_new(first < PAGE ? PAGE : first, last);
	if (!d->iova) {
		snprintf(d->why, sizeof(d->why), "iova_new: %s",
			 vdpastate_last_error());
		return -1;
	}
	TRY(d, vdpastate_mem_add(d->mem, GPA, MEM_SIZE, d->mem_host, 0));
	TRY(d, vdpastate_iova_map(d->iova, VDPASTATE_IOVA_GPA, GPA, MEM_SIZE,
				  NULL, &d->mem_iova));
	TRY(d, vdpastate_transport_dma_map(d->t, 0, d->mem_iova, MEM_SIZE,
					   d->mem_host,
					   VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE));
	for (i = 0; i < 2; i++)
		if (q_setup(d, i))
			return -1;
	TRY(d, vdpastate_transport_set_status(d->t,
					      st | VDPASTATE_STATUS_FEATURES_OK |
						      VDPASTATE_STATUS_DRIVER_OK));
	for (i = 0; i < 2; i++)
		TRY(d, vdpastate_svq_start(d->q[i].svq));
	return 0;
}

/* Post RX buffer head-slot (every slot maps to one fixed buffer). */
static int rx_post(struct dp *d)
{
	struct q *q = &d->q[RXQ];
	int n = 0;

	while (q->drv.num_free) {
		/* The buffer of a descriptor slot is found through its head. */
		uint16_t head = q->drv.free_head;
		struct vds_seg s = { .addr = q->buf_gpa + (uint64_t)head * BUF,
				     .xaddr = q->buf_gpa + (uint64_t)head * BUF,
				     .len = BUF,
				     .flags = VDPASTATE_VRING_DESC_F_WRITE };
		int h = vds_vdrv_add(&q->drv, &s, 1);

		if (h < 0)
			break;
		memset(host(d, s.addr), 0xee, 64);
		n++;
	}
	vds_vdrv_publish(&q->drv);
	return n;
}

static int run(struct dp *d, uint64_t frames, double *secs)
{
	struct q *tx = &d->q[TXQ], *rx = &d->q[RXQ];
	uint64_t sent = 0, got = 0, tx_done = 0;
	uint8_t want[BUF];
	double t0 = vmt_now(), last_progress = t0;

	rx_post(d);
	TRY(d, vdpastate_svq_handle_guest_kick(rx->svq));
	while (got < frames) {
		struct pollfd pf[2] = { { .fd = tx->call, .events = POLLIN },
					{ .fd = rx->call, .events = POLLIN } };
		uint16_t id;
		uint32_t len;
		int r, posted = 0;

		/* TX while RX has a buffer for every frame in flight. */
		while (sent < frames && sent - got < RING - 1 &&
		       tx->drv.num_free) {
			uint64_t gpa = tx->buf_gpa +
				       (uint64_t)tx->drv.free_head * BUF;
			struct vds_seg s = { .addr = gpa, .xaddr = gpa };

			s.len = frame(d, sent, host(d, gpa));
			if (vds_vdrv_add(&tx->drv, &s, 1) < 0)
				break;
			sent++;
			posted++;
		}
		if (posted) {
			vds_vdrv_publish(&tx->drv);
			TRY(d, vdpastate_svq_handle_guest_kick(tx->svq));
		}
		r = poll(pf, 2, 200);
		if (r < 0 && errno != EINTR) {
			snprintf(d->why, sizeof(d->why), "poll: %s",
				 strerror(errno));
			return -1;
		}
		TRY(d, vdpastate_svq_handle_device_call(tx->svq));
		while ((r = vds_vdrv_get_used(&tx->drv, &id, &len)) > 0) {
			vds_vdrv_free(&tx->drv, id);
			tx_done++;
		}
		TRY(d, r);
		TRY(d, vdpastate_svq_handle_device_call(rx->svq));
		while ((r = vds_vdrv_get_used(&rx->drv, &id, &len)) > 0) {
			const uint8_t *p = host(d, rx->buf_gpa + (uint64_t)id * BUF);
			uint32_t wl = frame(d, got, want);

			if (len != wl || memcmp(p, want, wl)) {
				uint64_t seq = 0;

				memcpy(&seq, p + HDR + 14, 8);
				snprintf(d->why, sizeof(d->why),
					 "frame %" PRIu64 ": came back with "
					 "length %u (sent %u), seq %" PRIu64
					 ", bytes %s",
					 got, len, wl, seq,
					 len == wl ? "differ" : "-");
				return -1;
			}
			vds_vdrv_free(&rx->drv, id);
			got++;
			last_progress = vmt_now();
		}
		TRY(d, r);
		if (rx->drv.num_free) {
			rx_post(d);
			TRY(d, vdpastate_svq_handle_guest_kick(rx->svq));
		}
		if (vmt_now() - last_progress > 10) {
			snprintf(d->why, sizeof(d->why),
				 "stalled: %" PRIu64 " frames sent, %" PRIu64
				 " completed by TX, %" PRIu64 " received; "
				 "nothing for 10 s",
				 sent, tx_done, got);
			return -1;
		}
	}
	*secs = vmt_now() - t0;
	return 0;
}

static void teardown(struct dp *d)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct q *q = &d->q[i];

		if (q->svq) {
			if (d->t)
				vdpastate_transport_unmap_svq(d->t, 0, q->svq);
			vdpastate_svq_free(q->svq);
		}
		vds_vdrv_fini(&q->drv);
		if (q->kick >= 0)
			close(q->kick);
		if (q->call >= 0)
			close(q->call);
	}
	if (d->t) {
		vdpastate_transport_reset(d->t);
		if (d->mem_iova)
			vdpastate_transport_dma_unmap(d->t, 0, d->mem_iova,
						      MEM_SIZE);
		vdpastate_transport_free(d->t);
	}
	vdpastate_iova_free(d->iova);
	vdpastate_mem_free(d->mem);
	free(d->mem_host);
}

int main(int argc, char **argv)
{
	static const uint8_t mac[6] = VMT_MAC0;
	const char *dev = argc > 1 ? argv[1] : "vdpa0";
	uint64_t frames = argc > 2 ? strtoull(argv[2], NULL, 0) : 70000;
	struct dp d = { .q = { { .kick = -1, .call = -1 },
			       { .kick = -1, .call = -1 } } };
	char path[64], why[512];
	double secs = 0;
	uint32_t base_rx = 0, base_tx = 0;

	vmt_case("datapath");
	if (vmt_dev_create(dev, mac, path, sizeof(path), why, sizeof(why))) {
		vmt_fail("setup", "%s", why);
		return vmt_exit();
	}
	if (setup(&d, path)) {
		vmt_fail("setup", "%s", d.why);
		goto out;
	}
	vmt_pass("setup", "%s: rx and tx through SVQs, rings of %u, guest "
			  "memory at IOVA 0x%" PRIx64,
		 path, RING, d.mem_iova);
	if (run(&d, frames, &secs)) {
		vmt_fail("loopback", "%s", d.why);
		goto out;
	}
	vmt_pass("loopback",
		 "%" PRIu64 " frames to %02x:%02x:%02x:%02x:%02x:%02x back "
		 "byte-exact in order, %.1f s (%.0f frames/s)",
		 frames, d.mac[0], d.mac[1], d.mac[2], d.mac[3], d.mac[4],
		 d.mac[5], secs, frames / (secs > 0 ? secs : 1));
	/* The device's own indexes: 16 bits, wrapped with the guest's. */
	if (vdpastate_transport_suspend(d.t) ||
	    vdpastate_transport_get_vring_base(d.t, RXQ, &base_rx) ||
	    vdpastate_transport_get_vring_base(d.t, TXQ, &base_tx)) {
		vmt_fail("wrap", "suspend/get_vring_base: %s",
			 vdpastate_last_error());
	} else {
		uint16_t lai_rx = 0, lai_tx = 0, ui = 0;

		vdpastate_svq_get_state(d.q[TXQ].svq, &lai_tx, &ui);
		vdpastate_svq_get_state(d.q[RXQ].svq, &lai_rx, &ui);
		if (frames <= 65536 || base_tx != (frames & 0xffff) ||
		    lai_tx != (uint16_t)frames)
			vmt_fail("wrap",
				 "%" PRIu64 " frames: device TX base %u, guest "
				 "TX avail %u (expected %u for both, after a "
				 "wrap)",
				 frames, base_tx, lai_tx,
				 (unsigned int)(frames & 0xffff));
		else
			vmt_pass("wrap",
				 "indexes wrapped: TX base %u = %" PRIu64
				 " mod 65536; RX base %u, guest RX avail %u",
				 base_tx, frames, base_rx, lai_rx);
	}
out:
	teardown(&d);
	if (vmt_dev_destroy(dev, why, sizeof(why)))
		vmt_fail("teardown", "%s", why);
	return vmt_exit();
}
